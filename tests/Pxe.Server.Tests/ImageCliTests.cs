using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Pxe.Server.Tests.Support;

namespace Pxe.Server.Tests;

/// <summary>`pxe images build|list|show|rm` against a running server, as an operator types them.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class ImageCliTests : IAsyncLifetime
{
    private PxeTestServer _server = null!;

    public async Task InitializeAsync()
    {
        var dirs = TestDirs.Create();
        ImageTree.WriteRole(dirs, "web");
        _server = await PxeTestServer.StartAsync(dirs);
    }

    public async Task DisposeAsync()
    {
        var dirs = _server.Dirs;
        await _server.DisposeAsync();
        dirs.Dispose();
    }

    private Task<(int Exit, string Out, string Error)> Pxe(params string[] args) => ConsoleCapture.RunAsync([.. args, "--server", _server.Url, "--token", _server.AdminToken]);

    /// <summary>The lines as a person sees them: a line redrawn with '\r' shows its last state.</summary>
    private static List<string> Lines(string output) => [.. output.Split('\n').Select(l => l[(l.LastIndexOf('\r') + 1)..])];

    [ToolFact("busybox", "mkfs.vfat=dosfstools", "mcopy=mtools", "sfdisk=fdisk", "mkfs.ext4=e2fsprogs")]
    public async Task Build_FollowsTheProgressPerStep_ThenListShowAndRemove()
    {
        var tree = ImageTree.Create(Path.Combine(_server.Dirs.Root, "tree"));

        var (exit, output, error) = await Pxe("images", "build", "web", "--role", "web", "--base", tree, "--format", "raw");

        Assert.True(exit == 0, $"exit {exit}: {error}\n{output}");
        Assert.Equal("", error);
        var lines = Lines(output);
        Assert.Equal("web/1: queued", lines[0]);
        foreach (var step in new[] { "base", "role", "disk", "store" })
        {
            Assert.Contains(lines, l => Regex.IsMatch(l, $@"^  {step} +finished +[0-9.]+ (B|KiB|MiB)"));
        }

        Assert.Contains(lines, l => l.StartsWith("web/1 built in ", StringComparison.Ordinal) && l.Contains("(0 of 3 steps from the cache)", StringComparison.Ordinal));
        var image = (await _server.Http.GetFromJsonAsync<JsonNode>("/api/v1/images/web/1"))!["artifacts"]![0]!;
        Assert.Contains(lines, l => l.StartsWith("  raw        disk", StringComparison.Ordinal)
            && l.Contains($"sha256 {image["sha256"]}  {_server.Url}/files/images/web/1/web-1.raw", StringComparison.Ordinal));
        Assert.Equal("install it with the profile or machine variable `image: web` (template install/image.plan)", lines[^2]);

        var list = Lines((await Pxe("images", "list")).Out);
        Assert.Contains(list, l => Regex.IsMatch(l, @"web\s*│\s*1\s*│\s*ready\s*│\s*web\s*│\s*raw\s*│\s*[0-9.]+ MiB"));

        var (showExit, show, _) = await Pxe("images", "show", "web", "--version", "1");
        Assert.Equal(0, showExit);
        Assert.Equal(image["sha256"]!.GetValue<string>(), JsonNode.Parse(show)!["artifacts"]![0]!["sha256"]!.GetValue<string>());

        var (rmExit, removed, rmError) = await Pxe("images", "rm", "web", "--version", "1");
        Assert.True(rmExit == 0, rmError);
        Assert.Equal("web: removed version 1\n", removed);
        var (missingExit, _, missing) = await Pxe("images", "show", "web");
        Assert.Equal(1, missingExit);
        Assert.Equal("pxe: no image is named 'web' (images: none); build it with `pxe images build web --role ROLE` (POST /api/v1/images)\n", missing);
    }

    [ToolFact("busybox")]
    public async Task FailedBuild_ExitsWith1_AndPrintsTheErrorAndTheLog()
    {
        var notATarball = Path.Combine(_server.Dirs.Root, "rootfs.tar");
        await File.WriteAllTextAsync(notATarball, "not a tar archive\n");

        var (exit, output, error) = await Pxe("images", "build", "broken", "--base", notATarball, "--format", "rootfs-tar");

        Assert.Equal(1, exit);
        Assert.StartsWith("broken/1: queued", output, StringComparison.Ordinal);
        Assert.StartsWith("pxe: broken/1 failed: ", error, StringComparison.Ordinal);
        Assert.Contains("; build log: ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadRequest_ExitsWith1_WithTheServersReason()
    {
        var (exit, output, error) = await Pxe("images", "build", "web", "--role", "nope", "--base", "/");

        Assert.Equal(1, exit);
        Assert.Equal("", output);
        Assert.Contains("/profiles/roles/nope.yaml does not exist (roles there: web)", error, StringComparison.Ordinal);
    }
}
