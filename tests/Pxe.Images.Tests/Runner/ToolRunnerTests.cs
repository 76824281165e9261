using System.Diagnostics;
using System.Text;
using Pxe.Images.Tests.Support;
using Pxe.Images.Tools;

namespace Pxe.Images.Tests.Runner;

public sealed class ToolRunnerTests
{
    [Theory]
    [InlineData("mksquashfs", "squashfs-tools")]
    [InlineData("mkfs.vfat", "dosfstools")]
    [InlineData("mcopy", "mtools")]
    [InlineData("sfdisk", "fdisk")]
    [InlineData("qemu-img", "qemu-utils")]
    [InlineData("debootstrap", "debootstrap")]
    [InlineData("mkfs.ext4", "e2fsprogs")]
    [InlineData("xorriso", "xorriso")]
    public async Task MissingTool_NamesItsDebianPackage(string tool, string package)
    {
        using var empty = new TempFolder();
        var runner = new ToolRunner([empty.Path]);

        var error = await Assert.ThrowsAsync<ToolException>(() => runner.RunAsync(tool, ["--version"], new ToolOptions { Step = "make the thing" }));

        Assert.True(error.IsMissing);
        Assert.Equal(tool, error.Tool);
        Assert.Equal(package, error.Package);
        Assert.Null(error.ExitCode);
        Assert.Contains($"{tool} is not installed", error.Message, StringComparison.Ordinal);
        Assert.Contains($"apt-get install {package}", error.Message, StringComparison.Ordinal);
        Assert.Contains("step 'make the thing' failed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailingStep_NamesStepExitCodeAndOutputTail()
    {
        var runner = new ToolRunner();

        var error = await Assert.ThrowsAsync<ToolException>(() => runner.RunAsync("sh", ["-c", "for i in $(seq 1 40); do echo line$i; done; echo 'disk full' >&2; exit 3"],
            new ToolOptions { Step = "format the root" }));

        Assert.False(error.IsMissing);
        Assert.Equal(3, error.ExitCode);
        Assert.Equal("format the root", error.Step);
        Assert.StartsWith("step 'format the root' failed: sh -c", error.Message, StringComparison.Ordinal);
        Assert.Contains("exited with code 3", error.Message, StringComparison.Ordinal);
        Assert.Contains("disk full", error.OutputTail, StringComparison.Ordinal);
        Assert.Contains("line40", error.OutputTail, StringComparison.Ordinal);
        // Only the tail is quoted, not all 41 lines.
        Assert.DoesNotContain("line1\n", error.OutputTail + "\n", StringComparison.Ordinal);
        Assert.Equal(ToolRunner.TailLines, error.OutputTail.Split('\n').Length);
    }

    [Fact]
    public async Task AllowFailure_ReturnsTheExitCodeAndOutput()
    {
        var result = await new ToolRunner().RunAsync("sh", ["-c", "echo out; echo err >&2; exit 4"], new ToolOptions { AllowFailure = true });

        Assert.Equal(4, result.ExitCode);
        Assert.Equal("out\n", result.StandardOutput);
        Assert.Equal("err\n", result.StandardError);
    }

    [Fact]
    public async Task Streams_PassBytesInAndOutUnchanged()
    {
        var input = new byte[300_000];
        new Random(1).NextBytes(input);
        using var output = new MemoryStream();

        var result = await new ToolRunner().RunAsync("cat", [], new ToolOptions { StandardInput = new MemoryStream(input), StandardOutput = output });

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(input, output.ToArray());
    }

    [Fact]
    public async Task ArgumentsAndEnvironment_ReachTheToolWithoutAShell()
    {
        using var folder = new TempFolder();
        var result = await new ToolRunner().RunAsync("sh", ["-c", "printf '%s|%s|%s' \"$1\" \"$PXE_TEST\" \"$(pwd)\"", "sh", "a b; $(rm -rf /)"],
            new ToolOptions { Environment = new Dictionary<string, string> { ["PXE_TEST"] = "value" }, WorkingDirectory = folder.Path });

        Assert.Equal($"a b; $(rm -rf /)|value|{folder.Path}", result.StandardOutput);
    }

    [Fact]
    public async Task Timeout_KillsTheWholeProcessTree()
    {
        using var folder = new TempFolder();
        var pidFile = folder.Combine("child.pid");
        var watch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<ToolException>(() => new ToolRunner().RunAsync("sh", ["-c", $"sleep 60 & echo $! > {pidFile}; wait"],
            new ToolOptions { Timeout = TimeSpan.FromMilliseconds(500), Step = "wait forever" }));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
        Assert.Contains("did not finish within", error.Message, StringComparison.Ordinal);
        var child = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 0; i < 50 && Run.ProcessExists(child); i++)
        {
            await Task.Delay(100);
        }

        Assert.False(Run.ProcessExists(child), "the tool's child process survived the timeout");
    }

    [Fact]
    public async Task Cancellation_KillsTheToolAndThrowsOperationCanceled()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var watch = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new ToolRunner().RunAsync("sleep", ["60"], cancellationToken: cancel.Token));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Log_GetsTheCommandLineOutputAndExitCode()
    {
        var log = new StringWriter(new StringBuilder());

        await new ToolRunner().RunAsync("sh", ["-c", "echo hello; echo warn >&2", "x y"], new ToolOptions { Log = log });

        var text = log.ToString();
        Assert.Contains("$ sh -c 'echo hello; echo warn >&2' 'x y'", text, StringComparison.Ordinal);
        Assert.Contains("hello", text, StringComparison.Ordinal);
        Assert.Contains("warn", text, StringComparison.Ordinal);
        Assert.Contains("exit code 0", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_FindsSystemFoldersAndAbsolutePaths()
    {
        var runner = new ToolRunner();

        Assert.Equal("/bin/sh", runner.Resolve("/bin/sh"));
        Assert.NotNull(runner.Resolve("sh"));
        Assert.Null(runner.Resolve("/nonexistent/tool"));
        Assert.Null(ToolRunner.PackageOf("no-such-tool"));
        Assert.Equal("mtools", ToolRunner.PackageOf("/usr/bin/mdir"));
    }
}
