using Pxe.Server.Tests.Support;

namespace Pxe.Server.Tests;

/// <summary>Everything that matters is in the store: a restart on the same data directory loses nothing.</summary>
public sealed class PersistenceTests
{
    [Fact]
    public async Task MachinesEventsAndVersions_SurviveARestart_AndARunningInstallCanStillFinish()
    {
        using var dirs = TestDirs.Create();
        const string mac = "52:54:00:12:34:56";
        string token;
        await using (var first = await PxeTestServer.StartAsync(dirs))
        {
            await first.Http.PutJsonAsync($"/api/v1/machines/{mac}", new { profile = "web", hostname = "web01", tags = new[] { "rack:a1" } }).EnsureOkAsync();
            token = ProvisioningFlowTests.InstallUrl(ProvisioningFlowTests.Kernel(await first.Http.GetStringAsync($"/boot/ipxe?mac={mac}")), first.Url).Token;
            await first.Http.PostRawAsync($"/boot/{mac}/t/{token}/events", "{\"stage\":\"pre-install\"}", "application/json").EnsureOkAsync();
            await first.Http.GetStringAsync("/boot/ipxe?mac=aa:bb:cc:dd:ee:01");
            await first.Http.PutJsonAsync("/api/v1/profiles/web2", new { parent = "web", variables = new { timezone = "Europe/Paris" } }).EnsureOkAsync();
            await first.Http.PutJsonAsync("/api/v1/profiles/web2", new { parent = "web", variables = new { timezone = "Asia/Tokyo" } }).EnsureOkAsync();
            // No flush: stopping the server must write what is queued.
        }

        await using var second = await PxeTestServer.StartAsync(dirs);
        var http = second.Http;
        var machine = await (await http.GetAsync($"/api/v1/machines/{mac}").EnsureOkAsync()).JsonAsync();
        Assert.Equal("Installing", machine["state"]!.GetValue<string>());
        Assert.Equal("web01", machine["hostname"]!.GetValue<string>());
        Assert.Equal("rack:a1", machine["tags"]![0]!.GetValue<string>());
        Assert.Equal("Discovered", (await (await http.GetAsync("/api/v1/machines/aa:bb:cc:dd:ee:01").EnsureOkAsync()).JsonAsync())["state"]!.GetValue<string>());

        var kinds = (await (await http.GetAsync($"/api/v1/events?mac={mac}")).JsonAsync()).AsArray().Select(e => e!["kind"]!.GetValue<string>()).ToList();
        Assert.Equal(["machine.changed", "state.changed", "install.progress"], kinds);

        var versions = (await (await http.GetAsync("/api/v1/profiles/web2/versions")).JsonAsync()).AsArray();
        Assert.Equal([1, 2], versions.Select(v => v!["version"]!.GetValue<int>()));
        Assert.Single((await (await http.GetAsync("/api/v1/profiles/web/versions")).JsonAsync()).AsArray());
        var rolled = await (await http.PostJsonAsync("/api/v1/profiles/web2/rollback", new { version = 1 }).EnsureOkAsync()).JsonAsync();
        Assert.Equal(3, rolled["version"]!.GetValue<int>());

        // The install started before the restart finishes with its token.
        var done = await (await http.PostAsync($"/boot/{mac}/t/{token}/done", null).EnsureOkAsync()).JsonAsync();
        Assert.Equal("Installed", done["state"]!.GetValue<string>());
    }
}
