using System.Text.RegularExpressions;
using Pxe.Profiles.Domain;
using Pxe.Profiles.Rendering;
using Pxe.Profiles.Services;
using Pxe.Profiles.Storage;

namespace Pxe.Profiles.Tests.Services;

public partial class ProvisioningServiceTests
{
    private static readonly MacAddress Mac = MacAddress.Parse("52:54:00:12:34:56");
    private static readonly CancellationToken Ct = CancellationToken.None;

    private static async Task<Machine> Assign(ProfilesTestBed bed, string profile = "web", string? bootAction = null)
    {
        var r = await bed.Provisioning.PutAsync(Mac, new MachineInput { Profile = profile, Hostname = "web01", Ipv4 = "10.0.0.21/24", Gateway = "10.0.0.1", Dns = ["10.0.0.53"], BootAction = bootAction }, "admin", Ct);
        Assert.True(r.Succeeded, r.Error + string.Join("; ", r.Errors ?? []));
        return r.Machine!;
    }

    private static string TokenOf(string script) => TokenPattern().Match(script).Groups[1].Value;

    [GeneratedRegex("/t/([A-Za-z0-9_-]{43})/")]
    private static partial Regex TokenPattern();

    [Fact]
    public async Task Assign_MakesTheMachineReady_ToInstall()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        var m = await Assign(bed);
        Assert.Equal((MachineState.Ready, BootAction.Install), (m.State, m.BootAction));
    }

    [Fact]
    public async Task Boot_WhenReady_StartsAnInstall_WithAFreshToken_AndTheRightKernelLine()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        await Assign(bed);
        var script = await bed.Provisioning.BootAsync(Mac, BootFileKind.Ipxe, Ct);
        Assert.True(script.Succeeded, script.Error);
        var token = TokenOf(script.Text!);
        Assert.NotEmpty(token);
        Assert.Contains("kernel http://10.0.0.1:8080/files/distros/rhel9-x86_64/vmlinuz console=ttyS0,115200 inst.graphical inst.ks=http://10.0.0.1:8080/boot/52:54:00:12:34:56/t/" + token + "/install initrd=initrd.img", script.Text);
        var m = (await bed.Provisioning.FindAsync(Mac, Ct))!;
        Assert.Equal(MachineState.Installing, m.State);
        Assert.Equal(ProvisioningService.Hash(token), m.Install!.TokenHash);
        Assert.Equal(bed.Clock.Now.AddMinutes(90), m.Install.Deadline);

        var again = await bed.Provisioning.BootAsync(Mac, BootFileKind.Ipxe, Ct);
        Assert.NotEqual(token, TokenOf(again.Text!));
        Assert.Equal(2, (await bed.Provisioning.FindAsync(Mac, Ct))!.Install!.Attempt);
    }

    [Fact]
    public async Task InstallFile_AfterTheTokenMatched_ANearMissOrAnOldInstallsToken_IsStillRefused()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        await Assign(bed);
        // Through the machine cache, as the server runs: repeated fetches see the same install session object.
        var svc = new ProvisioningService(new CachedMachineStore(bed.Store, bed.Clock), bed.Events, bed.Spec, new DiscoveryPolicy(), bed.Clock);
        var token = TokenOf((await svc.BootAsync(Mac, BootFileKind.Ipxe, Ct)).Text!);
        Assert.True((await svc.InstallFileAsync(Mac, "install", token, Ct)).Succeeded);
        Assert.True((await svc.InstallFileAsync(Mac, "install", token, Ct)).Succeeded);

        // The matched token is remembered: one character off, a prefix, or the token with more after it is not it.
        var last = token[^1] == 'A' ? 'B' : 'A';
        foreach (var wrong in new[] { token[..^1] + last, token[..^1], token + "A", "", new string('A', 4096) })
        {
            var refused = await svc.InstallFileAsync(Mac, "install", wrong, Ct);
            Assert.True(refused.Forbidden, $"'{wrong}' was not refused");
        }

        // A new boot is a new install with a new token; the old one no longer opens anything.
        var next = TokenOf((await svc.BootAsync(Mac, BootFileKind.Ipxe, Ct)).Text!);
        Assert.True((await svc.InstallFileAsync(Mac, "install", token, Ct)).Forbidden);
        Assert.True((await svc.InstallFileAsync(Mac, "install", next, Ct)).Succeeded);
        Assert.False((await svc.DoneAsync(Mac, token, Ct)).Succeeded);
        Assert.True((await svc.DoneAsync(Mac, next, Ct)).Succeeded);
    }

    [Fact]
    public async Task Done_WithTheToken_FlipsToLocalBoot_WrongTokenIsRefused()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        await Assign(bed);
        var token = TokenOf((await bed.Provisioning.BootAsync(Mac, BootFileKind.Ipxe, Ct)).Text!);

        var wrong = await bed.Provisioning.DoneAsync(Mac, "not-the-token", Ct);
        Assert.False(wrong.Succeeded);
        Assert.Contains("token does not match", wrong.Error);
        Assert.Equal(MachineState.Installing, (await bed.Provisioning.FindAsync(Mac, Ct))!.State);

        bed.Clock.Now = bed.Clock.Now.AddMinutes(7);
        var done = await bed.Provisioning.DoneAsync(Mac, token, Ct);
        Assert.True(done.Succeeded, done.Error);
        Assert.Equal((MachineState.Installed, BootAction.Local), (done.Machine!.State, done.Machine.BootAction));
        // The token keeps working for first-boot reports, for a day.
        Assert.Equal(bed.Clock.Now + ProvisioningService.FirstBootReportWindow, done.Machine.Install!.Deadline);

        var next = await bed.Provisioning.BootAsync(Mac, BootFileKind.Ipxe, Ct);
        Assert.DoesNotContain("kernel ", next.Text);
        Assert.Contains("sanboot", next.Text);
        var pxelinux = await bed.Provisioning.BootAsync(Mac, BootFileKind.Pxelinux, Ct);
        Assert.Contains("LOCALBOOT 0", pxelinux.Text);

        var events = await bed.Store.QueryEventsAsync(new EventQuery { Mac = Mac, Kind = EventKinds.Done }, Ct);
        Assert.Contains("after 420.0 s", Assert.Single(events).Message);
        // The install is over: a second done is a conflict, not a new install.
        var second = await bed.Provisioning.DoneAsync(Mac, token, Ct);
        Assert.False(second.Succeeded);
        Assert.False(second.Forbidden);
    }

    [Fact]
    public async Task Reimage_AfterDone_InstallsAgain_AndFirstBootDeploys()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        await Assign(bed);
        var t1 = TokenOf((await bed.Provisioning.BootAsync(Mac, BootFileKind.Ipxe, Ct)).Text!);
        await bed.Provisioning.DoneAsync(Mac, t1, Ct);
        Assert.True((await bed.Provisioning.ReportAsync(Mac, null, "firstboot", "ok", "no token", Ct)).Forbidden);
        var firstboot = await bed.Provisioning.ReportAsync(Mac, t1, "firstboot", "ok", "puppet applied role web", Ct);
        Assert.Equal(MachineState.Deployed, firstboot.Machine!.State);

        var reimage = await bed.Provisioning.ReimageAsync(Mac, "operator", Ct);
        Assert.Equal((MachineState.Ready, BootAction.Install), (reimage.Machine!.State, reimage.Machine.BootAction));
        var script = await bed.Provisioning.BootAsync(Mac, BootFileKind.Ipxe, Ct);
        Assert.Contains("inst.ks=", script.Text);
        Assert.NotEqual(t1, TokenOf(script.Text!));
        var reimageEvent = Assert.Single(await bed.Store.QueryEventsAsync(new EventQuery { Kind = EventKinds.Reimage }, Ct));
        Assert.Equal("operator", reimageEvent.Actor);
    }

    [Fact]
    public async Task Reimage_OfADiscoveredMachine_IsRefused_WithTheReason()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        await bed.Provisioning.BootAsync(Mac, BootFileKind.Ipxe, Ct);
        var r = await bed.Provisioning.ReimageAsync(Mac, "operator", Ct);
        Assert.False(r.Succeeded);
        Assert.Contains("cannot re-image a machine that is Discovered", r.Error);
    }

    [Fact]
    public async Task UnknownMac_IsRecordedAsDiscovered_AndBootsLocal()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        var script = await bed.Provisioning.BootAsync(Mac, BootFileKind.Ipxe, Ct);
        Assert.True(script.Succeeded, script.Error);
        Assert.Contains("sanboot", script.Text);
        var m = await bed.Provisioning.FindAsync(Mac, Ct);
        Assert.Equal(MachineState.Discovered, m!.State);
        Assert.Single(await bed.Store.QueryEventsAsync(new EventQuery { Kind = EventKinds.Discovered }, Ct));
        // Asking again does not duplicate it.
        await bed.Provisioning.BootAsync(Mac, BootFileKind.Ipxe, Ct);
        Assert.Equal(1, await bed.Store.CountMachinesAsync(Ct));
    }

    [Fact]
    public async Task UnknownMac_WithADefaultProfile_BootsThatProfile()
    {
        await using var bed = await ProfilesTestBed.CreateAsync(discovery: new DiscoveryPolicy { DefaultProfile = "debian12" });
        var script = await bed.Provisioning.BootAsync(Mac, BootFileKind.Ipxe, Ct);
        Assert.Contains("auto=true priority=critical url=", script.Text);
        Assert.Equal(MachineState.Discovered, (await bed.Provisioning.FindAsync(Mac, Ct))!.State);
    }

    [Fact]
    public async Task InstallTimeout_MarksTheMachineFailed_ByTheTimer()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        await Assign(bed);
        await bed.Provisioning.BootAsync(Mac, BootFileKind.Ipxe, Ct);
        bed.Clock.Now = bed.Clock.Now.AddMinutes(89);
        Assert.Equal(0, await bed.Provisioning.ExpireInstallsAsync(Ct));
        bed.Clock.Now = bed.Clock.Now.AddMinutes(2);
        Assert.Equal(1, await bed.Provisioning.ExpireInstallsAsync(Ct));
        var m = (await bed.Provisioning.FindAsync(Mac, Ct))!;
        Assert.Equal((MachineState.Failed, BootAction.Local), (m.State, m.BootAction));
        var e = (await bed.Store.QueryEventsAsync(new EventQuery { Mac = Mac, Actor = "timer" }, Ct)).Single();
        Assert.Contains("did not call done", e.Message);
    }

    [Fact]
    public async Task InstallTimeout_WithRetriesLeft_InstallsAgain_ThenFallsBackToLocalBoot()
    {
        await using var bed = await ProfilesTestBed.CreateAsync(initialize: false);
        bed.WriteSpecFile("web-retry.yaml", "kind: profile\nname: web-retry\nparent: web\ninstall_timeout: 45s\ninstall_retries: 1\n");
        await bed.RestartAsync();
        await Assign(bed, "web-retry");

        await bed.Provisioning.BootAsync(Mac, BootFileKind.Ipxe, Ct);
        bed.Clock.Now = bed.Clock.Now.AddSeconds(46);
        Assert.Equal(1, await bed.Provisioning.ExpireInstallsAsync(Ct));
        var m = (await bed.Provisioning.FindAsync(Mac, Ct))!;
        Assert.Equal((MachineState.Failed, BootAction.Install), (m.State, m.BootAction));

        // The retry: the next boot installs again as attempt 2, with a fresh deadline.
        var token = TokenOf((await bed.Provisioning.BootAsync(Mac, BootFileKind.Ipxe, Ct)).Text!);
        m = (await bed.Provisioning.FindAsync(Mac, Ct))!;
        Assert.Equal((MachineState.Installing, 2, bed.Clock.Now.AddSeconds(45)), (m.State, m.Install!.Attempt, m.Install.Deadline));
        Assert.True((await bed.Provisioning.InstallFileAsync(Mac, "install", token, Ct)).Succeeded);

        // No retries left: Failed, and the next boot is from disk.
        bed.Clock.Now = bed.Clock.Now.AddSeconds(46);
        Assert.Equal(1, await bed.Provisioning.ExpireInstallsAsync(Ct));
        m = (await bed.Provisioning.FindAsync(Mac, Ct))!;
        Assert.Equal((MachineState.Failed, BootAction.Local, null), (m.State, m.BootAction, m.Install));
        var messages = (await bed.Store.QueryEventsAsync(new EventQuery { Mac = Mac, Actor = "timer" }, Ct)).Select(e => e.Message).ToList();
        Assert.Contains(messages, x => x.Contains("attempt 1; the next network boot installs again (retry 1 of 1)", StringComparison.Ordinal));
        Assert.Contains(messages, x => x.Contains("attempt 2; no retries left of 1; the next boot is from disk", StringComparison.Ordinal));
        Assert.False((await bed.Provisioning.InstallFileAsync(Mac, "install", token, Ct)).Succeeded);
    }

    [Fact]
    public async Task InstallFile_RendersTheProfilesTemplate_AndSubFilesBesideIt()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        await Assign(bed);
        var token = TokenOf((await bed.Provisioning.BootAsync(Mac, BootFileKind.Ipxe, Ct)).Text!);
        var ks = await bed.Provisioning.InstallFileAsync(Mac, "install", token, Ct);
        Assert.Contains("network --device=52:54:00:12:34:56 --bootproto=static --ip=10.0.0.21", ks.Text);
        Assert.Contains("nginx", ks.Text);

        var missing = await bed.Provisioning.InstallFileAsync(Mac, "user-data", token, Ct);
        Assert.True(missing.NotFound);

        await bed.Provisioning.PutAsync(Mac, new MachineInput { Profile = "ubuntu2404" }, "admin", Ct);
        token = TokenOf((await bed.Provisioning.BootAsync(Mac, BootFileKind.Ipxe, Ct)).Text!);
        var userData = await bed.Provisioning.InstallFileAsync(Mac, "user-data", token, Ct);
        Assert.StartsWith("#cloud-config", userData.Text);
        var metaData = await bed.Provisioning.InstallFileAsync(Mac, "meta-data", token, Ct);
        Assert.Contains("local-hostname: web01", metaData.Text);
        var traversal = await bed.Provisioning.InstallFileAsync(Mac, "..%2frhel9.ks", token, Ct);
        Assert.True(traversal.NotFound);
    }

    [Fact]
    public async Task InstallFiles_NeedTheRunningInstallsToken()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        await Assign(bed);
        var notYet = await bed.Provisioning.InstallFileAsync(Mac, "install", ProvisioningService.NewToken(), Ct);
        Assert.True(notYet.Forbidden);
        Assert.Contains("not installing", notYet.Error);

        var token = TokenOf((await bed.Provisioning.BootAsync(Mac, BootFileKind.Ipxe, Ct)).Text!);
        Assert.True((await bed.Provisioning.InstallFileAsync(Mac, "install", null, Ct)).Forbidden);
        Assert.True((await bed.Provisioning.InstallFileAsync(Mac, "install", ProvisioningService.NewToken(), Ct)).Forbidden);
        Assert.True((await bed.Provisioning.InstallFileAsync(Mac, "install", token, Ct)).Succeeded);

        // Another machine's token does not open this machine's files.
        var other = MacAddress.Parse("52:54:00:12:34:57");
        await bed.Provisioning.PutAsync(other, new MachineInput { Profile = "web" }, "admin", Ct);
        var otherToken = TokenOf((await bed.Provisioning.BootAsync(other, BootFileKind.Ipxe, Ct)).Text!);
        Assert.True((await bed.Provisioning.InstallFileAsync(Mac, "install", otherToken, Ct)).Forbidden);

        // After its deadline the token is dead.
        bed.Clock.Now = bed.Clock.Now.AddMinutes(91);
        var expired = await bed.Provisioning.InstallFileAsync(Mac, "install", token, Ct);
        Assert.True(expired.Forbidden);
        Assert.Contains("expired", expired.Error);

        await bed.Events.FlushAsync(Ct);
        Assert.Equal(5, (await bed.Store.QueryEventsAsync(new EventQuery { Mac = Mac, Kind = EventKinds.AccessDenied }, Ct)).Count);
    }

    [Fact]
    public async Task RenderFailure_IsAnError_NotNotFound_AndIsAnEvent()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        await Assign(bed);
        // The machine removes a variable the kickstart needs.
        await bed.Provisioning.PutAsync(Mac, new MachineInput { Variables = new Dictionary<string, object?> { ["!root_password_hash"] = null } }, "admin", Ct);
        var token = TokenOf((await bed.Provisioning.BootAsync(Mac, BootFileKind.Ipxe, Ct)).Text!);
        var r = await bed.Provisioning.InstallFileAsync(Mac, "install", token, Ct);
        Assert.False(r.Succeeded);
        Assert.False(r.NotFound);
        Assert.Contains("root_password_hash", r.Error);
        await bed.Events.FlushAsync(Ct);
        Assert.Single(await bed.Store.QueryEventsAsync(new EventQuery { Kind = EventKinds.RenderFailed }, Ct));
    }

    [Fact]
    public async Task Variables_SayWhereEachValueComesFrom_MachineOverridesAll()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        await Assign(bed);
        await bed.Provisioning.PutAsync(Mac, new MachineInput { Variables = new Dictionary<string, object?> { ["timezone"] = "Asia/Tokyo" } }, "admin", Ct);
        var (vars, error, _) = await bed.Provisioning.VariablesAsync(Mac, Ct);
        Assert.Null(error);
        Assert.Equal(("Asia/Tokyo", "machine"), ((string?)vars!["timezone"].Value, vars["timezone"].Source));
        Assert.Equal("profile:web", vars["role"].Source);
        Assert.Equal("profile:rhel9-base", vars["locale"].Source);
        Assert.Equal("distro:rhel9-x86_64", vars["kernel_url"].Source);
        Assert.Equal("server", vars["server_url"].Source);
        Assert.Equal("resolved", vars["kernel_args"].Source);
    }

    [Theory]
    [InlineData("debian12", "auto=true priority=critical url=http://10.0.0.1:8080/boot/52:54:00:12:34:56/t/")]
    [InlineData("ubuntu2404", "autoinstall ds=nocloud-net;s=http://10.0.0.1:8080/boot/52:54:00:12:34:56/t/")]
    [InlineData("rhel9-base", "inst.text inst.ks=http://10.0.0.1:8080/boot/52:54:00:12:34:56/t/")]
    public async Task KernelLine_CarriesEachInstallersOwnArguments(string profile, string expected)
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        await Assign(bed, profile);
        var script = await bed.Provisioning.BootAsync(Mac, BootFileKind.Ipxe, Ct);
        Assert.Contains(expected, script.Text);
        Assert.Single(script.Text!.Split('\n'), l => l.StartsWith("kernel ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Put_ReportsEveryInvalidField()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        var r = await bed.Provisioning.PutAsync(Mac, new MachineInput
        {
            Profile = "nope", Hostname = "-bad-", Ipv4 = "10.0.0.300/24", BootAction = "reboot", Tags = ["ok", "not ok"],
            Variables = new Dictionary<string, object?> { ["9x"] = 1L },
        }, "admin", Ct);
        Assert.False(r.Succeeded);
        var fields = r.Errors!.Select(e => e.Field).ToList();
        Assert.Equal(["hostname", "ipv4", "profile", "boot_action", "variables.9x", "tags"], fields);
        Assert.Contains(r.Errors!, e => e.Message.Contains("known profiles: debian12, hello-disk, rhel9-base, ubuntu2404, web"));
        Assert.Null(await bed.Provisioning.FindAsync(Mac, Ct));
    }

    [Fact]
    public async Task Import_ValidatesEverythingFirst_ThenStoresAllInOneTransaction()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        var (bad, errors) = await bed.Provisioning.ImportAsync(
            [("52:54:00:00:00:01", new MachineInput { Profile = "web" }), ("zz", new MachineInput()), ("52:54:00:00:00:03", new MachineInput { Profile = "nope" })], "admin", Ct);
        Assert.Null(bad);
        Assert.Equal(2, errors.Count);
        Assert.StartsWith("item 2: mac:", errors[0]);
        Assert.StartsWith("item 3 (52:54:00:00:00:03): profile:", errors[1]);
        Assert.Equal(0, await bed.Store.CountMachinesAsync(Ct));

        var items = Enumerable.Range(1, 500).Select(i => ($"52:54:00:00:{i / 256:x2}:{i % 256:x2}", new MachineInput { Profile = "web" })).ToList();
        var (ok, none) = await bed.Provisioning.ImportAsync(items, "admin", Ct);
        Assert.Empty(none);
        Assert.Equal(500, ok!.Count);
        Assert.All(ok, m => Assert.Equal((MachineState.Ready, BootAction.Install), (m.State, m.BootAction)));
    }

    [Fact]
    public async Task Everything_SurvivesARestart()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        await Assign(bed);
        var token = TokenOf((await bed.Provisioning.BootAsync(Mac, BootFileKind.Ipxe, Ct)).Text!);
        await bed.RestartAsync();
        // The install that was running continues: its token still works.
        var done = await bed.Provisioning.DoneAsync(Mac, token, Ct);
        Assert.True(done.Succeeded, done.Error);
    }
}
