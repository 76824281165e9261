using System.Net;
using System.Net.Sockets;
using Pxe.Server.Hosting;
using Pxe.Server.Tests.Support;

namespace Pxe.Server.Tests;

/// <summary>`pxe serve` with a bad configuration says what is wrong, once per problem, and exits non-zero.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class StartupTests : IDisposable
{
    private readonly TestDirs _dirs = TestDirs.Create();

    public void Dispose() => _dirs.Dispose();

    [Fact]
    public async Task InvalidConfiguration_GivesOneMessagePerProblem_AndNoApp()
    {
        var blocker = Path.Combine(_dirs.Root, "a-file");
        await File.WriteAllTextAsync(blocker, "");
        var options = new PxeOptions
        {
            SpecDirectory = Path.Combine(_dirs.Root, "no-such-spec"),
            TemplatesDirectory = _dirs.Templates,
            HttpUrl = "ftp://127.0.0.1:8080/x",
            DataDirectory = Path.Combine(blocker, "data"),
            NextServer = "pxe.example.net",
        };
        var (app, errors) = await ServerApp.BuildAsync(options, null, CancellationToken.None);
        Assert.Null(app);
        Assert.Equal(4, errors.Count);
        Assert.Single(errors, e => e.StartsWith("HttpUrl 'ftp://127.0.0.1:8080/x' must be an http(s) URL", StringComparison.Ordinal) && e.Contains("--http", StringComparison.Ordinal));
        Assert.Single(errors, e => e.Contains("no-such-spec' does not exist", StringComparison.Ordinal) && e.Contains("--spec-dir", StringComparison.Ordinal));
        Assert.Single(errors, e => e.StartsWith($"DataDirectory '{Path.Combine(blocker, "data")}' is not writable", StringComparison.Ordinal) && e.Contains("--data-dir", StringComparison.Ordinal));
        Assert.Single(errors, e => e.StartsWith("NextServer 'pxe.example.net' must be an IPv4 address", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Serve_WithInvalidConfiguration_PrintsEachProblem_AndExits2()
    {
        var blocker = Path.Combine(_dirs.Root, "a-file");
        await File.WriteAllTextAsync(blocker, "");
        var (exit, _, error) = await ConsoleCapture.RunAsync("serve",
            "--spec-dir", Path.Combine(_dirs.Root, "no-such-spec"), "--templates-dir", _dirs.Templates,
            "--data-dir", Path.Combine(blocker, "data"), "--http", "http://0.0.0.0:8080");
        Assert.Equal(2, exit);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.StartsWith("pxe: ", l, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("listens on all addresses", StringComparison.Ordinal) && l.Contains("--server-url", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("SpecDirectory", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("is not writable", StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_WithABrokenSpec_NamesTheFileAndLine_AndExits2()
    {
        _dirs.WriteSpec("web.yaml", "kind: profile\nname: web\nparent: rhel8-base\n");
        var (exit, _, error) = await ConsoleCapture.RunAsync("serve", "--spec-dir", _dirs.Spec, "--templates-dir", _dirs.Templates,
            "--data-dir", _dirs.Data, "--http", $"http://127.0.0.1:{PxeTestServer.FreePort()}");
        Assert.Equal(2, exit);
        Assert.Contains("pxe: spec: web.yaml:3: parent:", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_WithMissingConfigFile_Exits1()
    {
        var (exit, _, error) = await ConsoleCapture.RunAsync("serve", "--config", Path.Combine(_dirs.Root, "nope.json"));
        Assert.Equal(1, exit);
        Assert.Contains("nope.json' does not exist", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_OnAPortInUse_ExitsNonZero_SayingSo()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var started = DateTime.UtcNow;
        var (exit, _, error) = await ConsoleCapture.RunAsync("serve", "--spec-dir", _dirs.Spec, "--templates-dir", _dirs.Templates,
            "--data-dir", _dirs.Data, "--http", $"http://127.0.0.1:{port}");
        Assert.Equal(1, exit);
        Assert.Contains($"pxe: cannot listen on http://127.0.0.1:{port}", error, StringComparison.Ordinal);
        Assert.Contains("is another server using the port?", error, StringComparison.Ordinal);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(30));
    }
}
