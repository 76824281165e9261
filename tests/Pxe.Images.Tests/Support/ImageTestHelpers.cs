using TestTools = Pxe.Testing.Tools;
using System.Diagnostics;
using Pxe.Images.Building;

namespace Pxe.Images.Tests.Support;

/// <summary>A temporary folder removed at the end of the test.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = Directory.CreateDirectory(System.IO.Path.Combine(System.IO.Path.GetTempPath(), "pxe-images-" + Guid.NewGuid().ToString("N")[..12])).FullName;
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}

/// <summary>
/// A small root file system built from busybox: its applets as links, account files, os-release, and a stand-in kernel and
/// initrd in /boot (bytes, enough for every output but booting). Builds in milliseconds and needs no network.
/// </summary>
internal static class BusyboxTree
{
    public const string KernelVersion = "6.1.0-99-test";

    public static string Create(string folder)
    {
        var busybox = TestTools.Require("busybox");
        var root = Directory.CreateDirectory(folder).FullName;
        foreach (var dir in new[] { "bin", "sbin", "etc", "boot", "dev", "proc", "sys", "tmp", "root", "home", "var/log", "usr/lib/systemd/system", "etc/systemd/system", "etc/skel" })
        {
            Directory.CreateDirectory(Path.Combine(root, dir));
        }

        File.Copy(busybox, Path.Combine(root, "bin/busybox"));
        foreach (var applet in new[] { "sh", "ls", "cat", "mount", "echo", "sleep" })
        {
            File.CreateSymbolicLink(Path.Combine(root, "bin", applet), "busybox");
        }

        File.CreateSymbolicLink(Path.Combine(root, "sbin/init"), "/bin/busybox");
        File.WriteAllText(Path.Combine(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n");
        File.WriteAllText(Path.Combine(root, "etc/group"), "root:x:0:\ndaemon:x:1:\nwww-data:x:33:\nsudo:x:27:\n");
        File.WriteAllText(Path.Combine(root, "etc/shadow"), "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nwww-data:*:19000:0:99999:7:::\n");
        File.SetUnixFileMode(Path.Combine(root, "etc/shadow"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        File.WriteAllText(Path.Combine(root, "etc/gshadow"), "root:*::\ndaemon:*::\nwww-data:*::\nsudo:*::\n");
        File.WriteAllText(Path.Combine(root, "etc/os-release"), "PRETTY_NAME=\"Busybox test tree\"\nID=busybox\n");
        File.WriteAllText(Path.Combine(root, "etc/skel/.profile"), "# profile\n");
        File.WriteAllText(Path.Combine(root, "usr/lib/systemd/system/multi-user.target"), "[Unit]\nDescription=Multi-User System\n");
        File.WriteAllText(Path.Combine(root, "usr/lib/systemd/system/cron.service"), "[Unit]\nDescription=cron\n[Service]\nExecStart=/bin/sleep 1\n[Install]\nWantedBy=multi-user.target\nAlias=crond.service\n");
        var random = new Random(7);
        var kernel = new byte[3 << 20];
        random.NextBytes(kernel);
        File.WriteAllBytes(Path.Combine(root, "boot", "vmlinuz-" + KernelVersion), kernel);
        var initrd = new byte[2 << 20];
        random.NextBytes(initrd);
        File.WriteAllBytes(Path.Combine(root, "boot", "initrd.img-" + KernelVersion), initrd);
        return root;
    }
}

/// <summary>Collects progress reports synchronously (Progress&lt;T&gt; would post them later).</summary>
internal sealed class ProgressLog : IProgress<ImageBuildProgress>
{
    private readonly List<ImageBuildProgress> _reports = [];

    public IReadOnlyList<ImageBuildProgress> Reports
    {
        get
        {
            lock (_reports)
            {
                return [.. _reports];
            }
        }
    }

    public void Report(ImageBuildProgress value)
    {
        lock (_reports)
        {
            _reports.Add(value);
        }
    }

    public ImageBuildStage? StageOf(string step) => Reports.LastOrDefault(r => r.Step == step && r.Stage is ImageBuildStage.Cached or ImageBuildStage.Finished)?.Stage;
}

internal static class Run
{
    /// <summary>Runs a tool that the test needs (installed under CI) and returns its output; fails the test on a non-zero exit.</summary>
    public static string Tool(string tool, params string[] arguments)
    {
        var path = TestTools.Require(tool);
        var result = TestTools.Run(path, arguments, TimeSpan.FromMinutes(2));
        Assert.True(result.ExitCode == 0, $"{tool} {string.Join(' ', arguments)} exited with {result.ExitCode}: {result.Output}");
        return result.Stdout;
    }

    public static async Task<string> Sha256Async(string path)
    {
        await using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(await System.Security.Cryptography.SHA256.HashDataAsync(stream));
    }

    public static void Dd(string source, string target, long offset, long size)
    {
        Tool("dd", $"if={source}", $"of={target}", "bs=1M", $"skip={offset >> 20}", $"count={size >> 20}", "status=none");
    }

    public static bool ProcessExists(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
