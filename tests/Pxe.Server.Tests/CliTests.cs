using Pxe.Server.Tests.Support;

namespace Pxe.Server.Tests;

/// <summary>The `pxe` admin commands against a running server, as an operator types them.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class CliTests : IAsyncLifetime
{
    private const string Mac = "52:54:00:12:34:56";
    private PxeTestServer _server = null!;

    public async Task InitializeAsync() => _server = await PxeTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private Task<(int Exit, string Out, string Error)> Pxe(params string[] args) => ConsoleCapture.RunAsync([.. args, "--server", _server.Url, "--token", _server.AdminToken]);

    private async Task<string> Ok(params string[] args)
    {
        var (exit, output, error) = await Pxe(args);
        Assert.True(exit == 0, $"pxe {string.Join(' ', args)} exited {exit}: {error}");
        Assert.Equal("", error);
        return output;
    }

    [Fact]
    public async Task Machines_AssignListShowReimage()
    {
        Assert.Equal($"{Mac}: profile web, state Ready, boot install\n",
            await Ok("machines", "assign", "52-54-00-12-34-56", "--profile", "web", "--hostname", "web01", "--ipv4", "10.0.0.21/24", "--gateway", "10.0.0.1"));
        Assert.Equal("52:54:00:12:34:57: profile debian12, state Ready, boot local\n",
            await Ok("machines", "assign", "52:54:00:12:34:57", "--profile", "debian12", "--local"));

        var list = await Ok("machines", "list");
        var row = Assert.Single(list.Split('\n'), l => l.Contains(Mac, StringComparison.Ordinal));
        Assert.Matches(@"52:54:00:12:34:56\s*│\s*web01\s*│\s*web\s*│\s*Ready\s*│\s*install\s*│\s*10\.0\.0\.21/24", row);
        Assert.Contains("52:54:00:12:34:57", list, StringComparison.Ordinal);
        var filtered = await Ok("machines", "list", "--profile", "debian12");
        Assert.DoesNotContain(Mac, filtered, StringComparison.Ordinal);
        Assert.Contains("52:54:00:12:34:57", filtered, StringComparison.Ordinal);

        var show = await Ok("machines", "show", Mac);
        Assert.Contains("\"hostname\": \"web01\"", show, StringComparison.Ordinal);
        Assert.Contains("\"ipv4\": \"10.0.0.21/24\"", show, StringComparison.Ordinal);
        Assert.Contains("machine.changed", show, StringComparison.Ordinal);
        Assert.Contains("machine created (profile web, boot install, state Ready)", show, StringComparison.Ordinal);

        // Install and finish, then re-image from the CLI.
        var (_, token) = ProvisioningFlowTests.InstallUrl(ProvisioningFlowTests.Kernel(await _server.Http.GetStringAsync($"/boot/ipxe?mac={Mac}")), _server.Url);
        await _server.Http.PostAsync($"/boot/{Mac}/t/{token}/done", null).EnsureOkAsync();
        Assert.Equal($"{Mac}: state Ready, boot install; power-cycle it to re-install\n", await Ok("machines", "reimage", Mac));
        Assert.Contains("inst.ks=", await _server.Http.GetStringAsync($"/boot/ipxe?mac={Mac}"), StringComparison.Ordinal);

        await _server.FlushEventsAsync();
        var events = await Ok("events", "--mac", Mac);
        var kinds = new[] { "machine.changed", "state.changed", "install.done", "reimage" };
        var positions = kinds.Select(k => events.IndexOf(k, StringComparison.Ordinal)).ToList();
        Assert.All(positions, p => Assert.True(p >= 0, events));
        Assert.Equal(positions.Order().ToList(), positions);
        Assert.DoesNotContain("52:54:00:12:34:57", events, StringComparison.Ordinal);
        var onlyReimage = await Ok("events", "--kind", "reimage");
        Assert.Contains("re-image requested", onlyReimage, StringComparison.Ordinal);
        Assert.DoesNotContain("machine.changed", onlyReimage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Machines_Watch_FollowsTheInstall_AndStopsAtTheTargetState()
    {
        await Ok("machines", "assign", Mac, "--profile", "web");
        var watch = Pxe("machines", "watch", Mac, "--until", "Installed", "--timeout", "60");
        await Task.Delay(TimeSpan.FromSeconds(2)); // watch shows events from its start on: let it start first
        var (_, token) = ProvisioningFlowTests.InstallUrl(ProvisioningFlowTests.Kernel(await _server.Http.GetStringAsync($"/boot/ipxe?mac={Mac}")), _server.Url);
        await _server.Http.PostAsync($"/boot/{Mac}/t/{token}/done", null).EnsureOkAsync();
        var (exit, output, error) = await watch;

        Assert.True(exit == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // The state is printed on a line of its own when it changes, after the events that led to it.
        var done = Array.FindIndex(lines, l => l.Contains("install.done", StringComparison.Ordinal));
        var installed = Array.FindIndex(lines, l => l.EndsWith("state Installed", StringComparison.Ordinal));
        Assert.True(done >= 0 && installed > done, output);
        Assert.Matches(@"^\[\d\d:\d\d\] Installed after \d+\.\d s$", lines[^1]);
        Assert.DoesNotContain(lines[..installed], l => l.Contains("Installed", StringComparison.Ordinal) && !l.Contains("install.done", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Machines_Errors_GoToStandardError_WithExitCode1()
    {
        var (exit, output, error) = await Pxe("machines", "assign", Mac, "--profile", "webb");
        Assert.Equal(1, exit);
        Assert.Equal("", output);
        Assert.Contains("known profiles: debian12, hello-disk, rhel9-base, ubuntu2404, web", error, StringComparison.Ordinal);

        (exit, _, error) = await Pxe("machines", "show", "52:54:00:99:99:99");
        Assert.Equal(1, exit);
        Assert.Equal("pxe: no machine has MAC 52:54:00:99:99:99\n", error);

        (exit, _, error) = await Pxe("machines", "reimage", "bad-mac");
        Assert.Equal(1, exit);
        Assert.Contains("is not a MAC address", error, StringComparison.Ordinal);

        var (down, _, unreachable) = await ConsoleCapture.RunAsync("machines", "list", "--server", $"http://127.0.0.1:{PxeTestServer.FreePort()}");
        Assert.Equal(1, down);
        Assert.Contains("cannot reach the PxeServer API", unreachable, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Profiles_ListShowVersionsRollbackRender()
    {
        var list = await Ok("profiles", "list");
        Assert.Matches(@"web\s*│\s*< rhel9-base", list);
        Assert.Matches(@"rhel9-base\s*│\s*rhel9-x86_64\s*│\s*install/rhel9\.ks", list);

        var show = await Ok("profiles", "show", "web");
        Assert.Contains("\"chain\": [\n    \"rhel9-base\",\n    \"web\"\n  ]", show, StringComparison.Ordinal);
        Assert.Contains("\"source\": \"profile:rhel9-base\"", show, StringComparison.Ordinal);

        await _server.Http.PutJsonAsync("/api/v1/profiles/web", new { parent = "rhel9-base", variables = new { role = "web", timezone = "Asia/Tokyo" } }).EnsureOkAsync();
        var versions = await Ok("profiles", "versions", "web");
        Assert.Matches(@"(?m)^\W*1\s*│.*│\s*spec-file\s*│", versions);
        Assert.Matches(@"(?m)^\W*2\s*│.*│\s*admin\s*│", versions);

        Assert.Contains("timezone Asia/Tokyo --utc", await Ok("profiles", "render", "web", "--mac", Mac), StringComparison.Ordinal);
        Assert.Equal("web: version 1 restored as version 3\n", await Ok("profiles", "rollback", "web", "1"));
        Assert.Matches(@"(?m)^\W*3\s*│.*│\s*admin\s*│\s*rollback to version 1", await Ok("profiles", "versions", "web"));

        var ks = await Ok("profiles", "render", "web", "--mac", Mac, "--file", "install");
        Assert.Contains("timezone Etc/UTC --utc", ks, StringComparison.Ordinal);
        Assert.Contains("network --device=52:54:00:12:34:56", ks, StringComparison.Ordinal);
        Assert.Contains("\nnginx\n", ks, StringComparison.Ordinal);
        var script = await Ok("profiles", "render", "debian12", "--file", "ipxe");
        Assert.Contains("Installing profile debian12 on host-52-54-00-00-00-01", script, StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await _server.Http.GetAsync($"/api/v1/machines/{Mac}")).StatusCode);

        var (exit, _, error) = await Pxe("profiles", "render", "nope");
        Assert.Equal(1, exit);
        Assert.Contains("profile 'nope' does not exist", error, StringComparison.Ordinal);
        (exit, _, error) = await Pxe("profiles", "rollback", "web", "7");
        Assert.Equal(1, exit);
        Assert.Contains("has no version 7; known versions: 1, 2, 3", error, StringComparison.Ordinal);
    }
}
