using System.Net;
using System.Text.RegularExpressions;
using Pxe.Server.Tests.Support;

namespace Pxe.Server.Tests;

/// <summary>A machine's life through the real HTTP server: assign, boot, install, report, done, local boot, re-image.</summary>
public sealed partial class ProvisioningFlowTests
{
    private const string Mac = "52:54:00:12:34:56";

    [Fact]
    public async Task InstallThenDone_BootsLocalAfterwards_AndEventsShowEveryStepInOrder()
    {
        await using var server = await PxeTestServer.StartAsync();
        var http = server.Http;

        var put = await http.PutJsonAsync($"/api/v1/machines/{Mac}", new { profile = "web", hostname = "web01", domain = "example.net" }).EnsureOkAsync();
        var created = await put.JsonAsync();
        Assert.Equal("Ready", created["state"]!.GetValue<string>());
        Assert.Equal("install", created["boot_action"]!.GetValue<string>());

        var script = await http.GetStringAsync($"/boot/ipxe?mac={Mac}");
        Assert.StartsWith("#!ipxe\n", script, StringComparison.Ordinal);
        var kernel = script.Split('\n').Single(l => l.StartsWith("kernel ", StringComparison.Ordinal));
        Assert.StartsWith($"kernel {server.Url}/files/distros/rhel9-x86_64/vmlinuz ", kernel, StringComparison.Ordinal);
        Assert.Contains($"initrd --name initrd.img {server.Url}/files/distros/rhel9-x86_64/initrd.img", script, StringComparison.Ordinal);
        // web removes the distro's inst.text and adds inst.graphical; initrd= comes last for UEFI.
        Assert.DoesNotContain("inst.text", kernel, StringComparison.Ordinal);
        Assert.Contains("console=ttyS0,115200", kernel, StringComparison.Ordinal);
        Assert.Contains("inst.graphical", kernel, StringComparison.Ordinal);
        Assert.EndsWith(" initrd=initrd.img || goto failed", kernel, StringComparison.Ordinal);
        var (installUrl, token) = InstallUrl(kernel, server.Url);

        var installing = await (await http.GetAsync($"/api/v1/machines/{Mac}")).JsonAsync();
        Assert.Equal("Installing", installing["state"]!.GetValue<string>());
        Assert.Equal(1, installing["install"]!["attempt"]!.GetValue<int>());

        var kickstart = await http.GetStringAsync(installUrl);
        Assert.Contains("network --device=52:54:00:12:34:56 --bootproto=dhcp --hostname=web01.example.net --activate", kickstart, StringComparison.Ordinal);
        Assert.Contains("url --url=http://mirror.example.net/rocky/9/BaseOS/x86_64/os", kickstart, StringComparison.Ordinal);
        Assert.Contains("\nnginx\n", kickstart, StringComparison.Ordinal);
        Assert.Contains($"curl -fsS -m 30 -X POST '{server.Url}/boot/{Mac}/t/{token}/done'", kickstart, StringComparison.Ordinal);
        Assert.Contains($"'{server.Url}/boot/{Mac}/t/{token}/events'", kickstart, StringComparison.Ordinal);

        // Progress the way the kickstart's pxe_report sends it (JSON), and the way busybox wget can (a form).
        await http.PostRawAsync($"/boot/{Mac}/t/{token}/events", "{\"stage\":\"pre-install\"}", "application/json").EnsureOkAsync();
        await http.PostAsync($"/boot/{Mac}/t/{token}/events", new FormUrlEncodedContent([new("stage", "post-install"), new("message", "packages done")])).EnsureOkAsync();

        // A wrong token is refused and changes nothing.
        var forged = await http.PostAsync($"/boot/{Mac}/t/{ProvisioningServiceToken()}/done", null);
        var forgedDetail = await forged.ProblemAsync(HttpStatusCode.Forbidden);
        Assert.Contains("token", forgedDetail, StringComparison.Ordinal);
        var forgedQuery = await http.PostAsync($"/boot/{Mac}/done?token=nope", null);
        await forgedQuery.ProblemAsync(HttpStatusCode.Forbidden);
        var noToken = await http.PostAsync($"/boot/{Mac}/done", null);
        await noToken.ProblemAsync(HttpStatusCode.Forbidden);
        var forgedReport = await http.PostRawAsync($"/boot/{Mac}/t/nope/events", "{\"stage\":\"evil\"}", "application/json");
        await forgedReport.ProblemAsync(HttpStatusCode.Forbidden);
        var still = await (await http.GetAsync($"/api/v1/machines/{Mac}")).JsonAsync();
        Assert.Equal("Installing", still["state"]!.GetValue<string>());
        Assert.Equal("install", still["boot_action"]!.GetValue<string>());

        var done = await (await http.PostAsync($"/boot/{Mac}/t/{token}/done", null).EnsureOkAsync()).JsonAsync();
        Assert.Equal("Installed", done["state"]!.GetValue<string>());
        Assert.Equal("local", done["boot_action"]!.GetValue<string>());

        var local = await http.GetStringAsync($"/boot/ipxe?mac={Mac}");
        Assert.DoesNotContain(local.Split('\n'), l => l.StartsWith("kernel ", StringComparison.Ordinal) || l.StartsWith("initrd ", StringComparison.Ordinal));
        Assert.Contains("echo Booting web01.example.net from local disk", local, StringComparison.Ordinal);
        Assert.Contains("sanboot --no-describe --drive 0x80", local, StringComparison.Ordinal);

        // A second done for the same install is refused: the install is over.
        var again = await http.PostAsync($"/boot/{Mac}/t/{token}/done", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);

        await server.FlushEventsAsync();
        var all = (await (await http.GetAsync($"/api/v1/events?mac={Mac}")).JsonAsync()).AsArray();
        // Every refused callback above is in the audit log too; the steps are the rest.
        Assert.Equal(4, all.Count(e => e!["kind"]!.GetValue<string>() == "access.denied"));
        var events = all.Where(e => e!["kind"]!.GetValue<string>() != "access.denied").ToList();
        var steps = events.Select(e => $"{e!["kind"]} {e["message"]}").ToList();
        var kinds = events.Select(e => e!["kind"]!.GetValue<string>()).ToList();
        Assert.True(kinds.SequenceEqual(["machine.changed", "state.changed", "install.served", "install.progress", "install.progress", "install.done", "boot.served"]),
            "events: " + string.Join(" | ", steps));
        Assert.Contains("Ready -> Installing", steps[1], StringComparison.Ordinal);
        Assert.Contains("pre-install", steps[3], StringComparison.Ordinal);
        Assert.Contains("post-install: packages done", steps[4], StringComparison.Ordinal);
        Assert.Contains("Installing -> Installed", steps[5], StringComparison.Ordinal);
        Assert.Contains("boot from local disk", steps[6], StringComparison.Ordinal);
        Assert.DoesNotContain(steps, s => s.Contains("evil", StringComparison.Ordinal));
        var ids = events.Select(e => e!["id"]!.GetValue<long>()).ToList();
        Assert.Equal(ids.Order().ToList(), ids);
    }

    [Fact]
    public async Task ProgressThenDone_BackToBack_AreLoggedInThatOrder()
    {
        // The kickstart's last step reports install-done (a queued event) and at once calls done (stored with its
        // state change): the log must still show them in the order they happened, for every machine.
        await using var server = await PxeTestServer.StartAsync();
        var http = server.Http;
        var macs = Enumerable.Range(0, 16).Select(i => $"52:54:00:aa:00:{i:x2}").ToList();
        var tokens = new Dictionary<string, string>();
        foreach (var mac in macs)
        {
            await http.PutJsonAsync($"/api/v1/machines/{mac}", new { profile = "web" }).EnsureOkAsync();
            tokens[mac] = InstallUrl(Kernel(await http.GetStringAsync($"/boot/ipxe?mac={mac}")), server.Url).Token;
        }

        await Task.WhenAll(macs.Select(async mac =>
        {
            await http.PostRawAsync($"/boot/{mac}/t/{tokens[mac]}/events", "{\"stage\":\"install-done\"}", "application/json").EnsureOkAsync();
            await http.PostAsync($"/boot/{mac}/t/{tokens[mac]}/done", null).EnsureOkAsync();
        }));

        await server.FlushEventsAsync();
        foreach (var mac in macs)
        {
            var kinds = (await (await http.GetAsync($"/api/v1/events?mac={mac}")).JsonAsync()).AsArray().Select(e => e!["kind"]!.GetValue<string>()).ToList();
            Assert.Equal(["machine.changed", "state.changed", "install.progress", "install.done"], kinds);
        }
    }

    [Fact]
    public async Task Reimage_AfterDone_InstallsAgainWithNewToken_AndOldTokenIsRefused()
    {
        await using var server = await PxeTestServer.StartAsync();
        var http = server.Http;
        await http.PutJsonAsync($"/api/v1/machines/{Mac}", new { profile = "web" }).EnsureOkAsync();
        var (_, first) = InstallUrl(Kernel(await http.GetStringAsync($"/boot/ipxe?mac={Mac}")), server.Url);
        await http.PostAsync($"/boot/{Mac}/t/{first}/done", null).EnsureOkAsync();

        var reimaged = await (await http.PostAsync($"/api/v1/machines/{Mac}/reimage", null).EnsureOkAsync()).JsonAsync();
        Assert.Equal("Ready", reimaged["state"]!.GetValue<string>());
        Assert.Equal("install", reimaged["boot_action"]!.GetValue<string>());

        var (installUrl, second) = InstallUrl(Kernel(await http.GetStringAsync($"/boot/ipxe?mac={Mac}")), server.Url);
        Assert.NotEqual(first, second);
        Assert.Contains("%packages", await http.GetStringAsync(installUrl), StringComparison.Ordinal);

        var stale = await http.PostAsync($"/boot/{Mac}/t/{first}/done", null);
        await stale.ProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal("Installing", (await (await http.GetAsync($"/api/v1/machines/{Mac}")).JsonAsync())["state"]!.GetValue<string>());

        var done = await (await http.PostAsync($"/boot/{Mac}/done?token={second}", null).EnsureOkAsync()).JsonAsync();
        Assert.Equal("Installed", done["state"]!.GetValue<string>());

        await server.FlushEventsAsync();
        var kinds = (await (await http.GetAsync($"/api/v1/events?mac={Mac}")).JsonAsync()).AsArray().Select(e => e!["kind"]!.GetValue<string>()).ToList();
        Assert.Equal(["machine.changed", "state.changed", "install.done", "reimage", "state.changed", "install.served", "access.denied", "install.done"], kinds);
    }

    [Fact]
    public async Task BootingAgainWhileInstalling_StartsAFreshAttempt_AndInvalidatesTheFirstToken()
    {
        await using var server = await PxeTestServer.StartAsync();
        var http = server.Http;
        await http.PutJsonAsync($"/api/v1/machines/{Mac}", new { profile = "web" }).EnsureOkAsync();
        var (_, first) = InstallUrl(Kernel(await http.GetStringAsync($"/boot/ipxe?mac={Mac}")), server.Url);
        var (_, second) = InstallUrl(Kernel(await http.GetStringAsync($"/ipxe/{Mac.Replace(':', '-')}.ipxe")), server.Url);
        Assert.NotEqual(first, second);
        Assert.Equal(2, (await (await http.GetAsync($"/api/v1/machines/{Mac}")).JsonAsync())["install"]!["attempt"]!.GetValue<int>());
        await (await http.PostAsync($"/boot/{Mac}/t/{first}/done", null)).ProblemAsync(HttpStatusCode.Forbidden);
        await http.PostAsync($"/boot/{Mac}/t/{second}/done", null).EnsureOkAsync();
    }

    [Fact]
    public async Task UnknownMac_IsRecordedAsDiscovered_WithAnEvent_AndBootsLocal()
    {
        await using var server = await PxeTestServer.StartAsync();
        var http = server.Http;
        const string unknown = "AA-BB-CC-00-11-22";

        var script = await http.GetStringAsync($"/boot/ipxe?mac={unknown}");
        Assert.DoesNotContain(script.Split('\n'), l => l.StartsWith("kernel ", StringComparison.Ordinal));
        Assert.Contains("echo Booting host-aa-bb-cc-00-11-22 from local disk", script, StringComparison.Ordinal);

        var machine = await (await http.GetAsync("/api/v1/machines/aa:bb:cc:00:11:22").EnsureOkAsync()).JsonAsync();
        Assert.Equal("Discovered", machine["state"]!.GetValue<string>());
        Assert.Equal("local", machine["boot_action"]!.GetValue<string>());
        Assert.Null(machine["profile"]);

        var discovered = await (await http.GetAsync("/api/v1/machines?state=discovered")).JsonAsync();
        Assert.Equal("aa:bb:cc:00:11:22", Assert.Single(discovered.AsArray())!["macs"]![0]!.GetValue<string>());

        await server.FlushEventsAsync();
        var events = (await (await http.GetAsync("/api/v1/events?mac=aa:bb:cc:00:11:22&kind=discovered")).JsonAsync()).AsArray();
        Assert.Contains("unknown MAC aa:bb:cc:00:11:22", Assert.Single(events)!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        // A second boot finds it known: no second discovery; assigning a profile makes it Ready to install.
        await http.GetStringAsync($"/boot/ipxe?mac={unknown}");
        var assigned = await (await http.PutJsonAsync("/api/v1/machines/aa:bb:cc:00:11:22", new { profile = "debian12" }).EnsureOkAsync()).JsonAsync();
        Assert.Equal("Ready", assigned["state"]!.GetValue<string>());
        Assert.Equal("install", assigned["boot_action"]!.GetValue<string>());
        Assert.Contains("url=" + server.Url + "/boot/aa:bb:cc:00:11:22/t/", Kernel(await http.GetStringAsync($"/boot/ipxe?mac={unknown}")), StringComparison.Ordinal);
        await server.FlushEventsAsync();
        Assert.Single((await (await http.GetAsync("/api/v1/events?mac=aa:bb:cc:00:11:22&kind=discovered")).JsonAsync()).AsArray());
    }

    [Fact]
    public async Task UnknownMac_IsNotRecorded_WhenDiscoveryIsOff()
    {
        await using var server = await PxeTestServer.StartAsync(configure: o => o with { RecordUnknownMachines = false });
        var script = await server.Http.GetStringAsync("/boot/ipxe?mac=aa:bb:cc:00:11:23");
        Assert.Contains("from local disk", script, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.GetAsync("/api/v1/machines/aa:bb:cc:00:11:23")).StatusCode);
    }

    [Fact]
    public async Task MachineVariables_ShowValueAndSource_ThroughEveryLayer()
    {
        await using var server = await PxeTestServer.StartAsync(configure: o => o with { Variables = new() { ["site"] = "lab-1" } });
        var http = server.Http;
        await http.PutJsonAsync($"/api/v1/machines/{Mac}", new
        {
            profile = "web",
            hostname = "web01",
            ipv4 = "10.0.0.21/24",
            gateway = "10.0.0.1",
            dns = new[] { "10.0.0.2", "10.0.0.3" },
            variables = new Dictionary<string, object> { ["rack"] = "r12", ["timezone"] = "Europe/Paris" },
        }).EnsureOkAsync();

        var vars = await (await http.GetAsync($"/api/v1/machines/{Mac}/variables").EnsureOkAsync()).JsonAsync();
        void Has(string name, string value, string source)
        {
            Assert.True(vars[name] is not null, $"no variable {name}: {vars.ToJsonString()}");
            Assert.Equal(value, vars[name]!["value"]!.ToJsonString().Trim('"'));
            Assert.Equal(source, vars[name]!["source"]!.GetValue<string>());
        }

        Has("rack", "r12", "machine");
        Has("timezone", "Europe/Paris", "machine");
        Has("ip", "10.0.0.21", "machine");
        Has("netmask", "255.255.255.0", "machine");
        Has("role", "web", "profile:web");
        Has("packages", "[\"@core\",\"curl\",\"nginx\"]", "profile:web");
        Has("locale", "en_US.UTF-8", "profile:rhel9-base");
        Has("kernel_url", server.Url + "/files/distros/rhel9-x86_64/vmlinuz", "distro:rhel9-x86_64");
        Has("site", "lab-1", "server");
        Has("server_url", server.Url, "server");
        Assert.Equal("resolved", vars["kernel_args"]!["source"]!.GetValue<string>());
        Assert.Contains("inst.ks=", vars["kernel_args"]!["value"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    internal static string Kernel(string script) => script.Split('\n').Single(l => l.StartsWith("kernel ", StringComparison.Ordinal));

    /// <summary>The install URL on the kernel line (inst.ks= for RHEL, url= for Debian) and its per-install token.</summary>
    internal static (string Url, string Token) InstallUrl(string kernelLine, string serverUrl)
    {
        var m = InstallUrlPattern().Match(kernelLine);
        Assert.True(m.Success, "no install URL on: " + kernelLine);
        Assert.StartsWith(serverUrl + "/boot/", m.Groups["url"].Value, StringComparison.Ordinal);
        return (m.Groups["url"].Value, m.Groups["token"].Value);
    }

    private static string ProvisioningServiceToken() => Pxe.Profiles.Services.ProvisioningService.NewToken();

    [GeneratedRegex(@"(?:inst\.ks|url)=(?<url>http://[^ ]+/boot/[0-9a-f:]{17}/t/(?<token>[A-Za-z0-9_-]{43})/install)(?: |$)")]
    private static partial Regex InstallUrlPattern();
}
