using System.Net;
using System.Text.Json.Nodes;
using Pxe.Server.Tests.Support;

namespace Pxe.Server.Tests;

/// <summary>Bad input gets an RFC 7807 problem that says what to fix; a render failure is a 500 with the reason.</summary>
public sealed class ProblemDetailsTests : IAsyncLifetime
{
    private PxeTestServer _server = null!;

    public async Task InitializeAsync() => _server = await PxeTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("/api/v1/machines/52:54:00:12:34")]
    [InlineData("/api/v1/machines/not-a-mac")]
    [InlineData("/boot/ipxe?mac=zz:zz:zz:zz:zz:zz")]
    [InlineData("/boot/52-54-00-12-34-5/install")]
    public async Task MalformedMac_Is400_ListingTheAcceptedNotations(string url)
    {
        var detail = await (await _server.Http.GetAsync(url)).ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("is not a MAC address", detail, StringComparison.Ordinal);
        Assert.Contains("52:54:00:12:34:56, 52-54-00-12-34-56 or 5254.0012.3456", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingMacOnBootScript_Is400_SayingHowIpxeSendsIt()
    {
        var detail = await (await _server.Http.GetAsync("/boot/ipxe")).ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("${net0/mac}", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownProfileOnPut_Is422_ListingKnownProfiles_AndStoresNothing()
    {
        var response = await _server.Http.PutJsonAsync("/api/v1/machines/52:54:00:12:34:56", new { profile = "webb" });
        var detail = await response.ProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Contains("profile: profile 'webb' does not exist; known profiles: debian12, hello-disk, rhel9-base, ubuntu2404, web", detail, StringComparison.Ordinal);
        var errors = (await _server.Http.PutJsonAsync("/api/v1/machines/52:54:00:12:34:56", new { profile = "webb", ipv4 = "10.0.0.300/24" })).Content;
        var node = JsonNode.Parse(await errors.ReadAsStringAsync())!;
        var fields = node["errors"]!.AsArray().Select(e => e!["field"]!.GetValue<string>()).ToList();
        Assert.Contains("profile", fields);
        Assert.Contains("ipv4", fields);
        Assert.Equal(HttpStatusCode.NotFound, (await _server.Http.GetAsync("/api/v1/machines/52:54:00:12:34:56")).StatusCode);
    }

    [Theory]
    [InlineData("/api/v1/machines/52:54:00:12:34:56", "{\"profile\": \"web\",")]
    [InlineData("/api/v1/machines/52:54:00:12:34:56", "[1, 2]")]
    [InlineData("/api/v1/profiles/web", "{\"parent\": ")]
    [InlineData("/api/v1/profiles/web", "\"just a string\"")]
    public async Task InvalidJson_Is400Problem(string url, string body)
    {
        var response = await _server.Http.PutRawAsync(url, body, "application/json");
        await response.ProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task ProfileWithInheritanceCycle_Is422_NamingTheParentField_AndNothingChanges()
    {
        var before = await _server.Dirs.ReadSpecAsync("base.yaml");
        var response = await _server.Http.PutJsonAsync("/api/v1/profiles/rhel9-base", new { parent = "web", install_template = "install/rhel9.ks" });
        var detail = await response.ProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Contains("cycle", detail, StringComparison.Ordinal);
        var errors = (await response.JsonAsync())["errors"]!.AsArray();
        Assert.Contains(errors, e => e!["field"]?.GetValue<string>() == "parent");
        Assert.Equal(before, await _server.Dirs.ReadSpecAsync("base.yaml"));
        var current = await (await _server.Http.GetAsync("/api/v1/profiles/rhel9-base")).JsonAsync();
        Assert.Equal("rhel9-x86_64", current["distro"]!.GetValue<string>());
        Assert.Single((await (await _server.Http.GetAsync("/api/v1/profiles/rhel9-base/versions")).JsonAsync()).AsArray());
    }

    [Fact]
    public async Task ProfileWithUnknownDistro_Is422_NamingTheDistroField()
    {
        var response = await _server.Http.PutJsonAsync("/api/v1/profiles/centos", new { distro = "centos7", install_template = "install/rhel9.ks" });
        var detail = await response.ProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Contains("distro 'centos7' does not exist; known distros: debian12-amd64, pxe-installer, rhel9-x86_64, ubuntu2404-amd64", detail, StringComparison.Ordinal);
        Assert.Contains((await response.JsonAsync())["errors"]!.AsArray(), e => e!["field"]?.GetValue<string>() == "distro");
        Assert.False(File.Exists(Path.Combine(_server.Dirs.Spec, "centos.yaml")));
        Assert.Equal(HttpStatusCode.NotFound, (await _server.Http.GetAsync("/api/v1/profiles/centos")).StatusCode);
    }

    [Fact]
    public async Task ProfileWithUnknownField_Is422_NamingIt()
    {
        var response = await _server.Http.PutJsonAsync("/api/v1/profiles/web2", new { parent = "web", kernel_arguments = new { quiet = (string?)null } });
        var detail = await response.ProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Contains("kernel_arguments", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RenderFailure_IsA500WithTheReason_NeverA404OrA200()
    {
        // The machine removes a variable its profile's kickstart needs: the boot script still renders (it does not
        // use it), but the kickstart cannot, and the machine must hear why instead of installing a broken file.
        const string mac = "52:54:00:12:34:57";
        await _server.Http.PutJsonAsync($"/api/v1/machines/{mac}", new
        {
            profile = "web",
            variables = new Dictionary<string, object?> { ["!root_password_hash"] = null },
        }).EnsureOkAsync();
        var script = await _server.Http.GetStringAsync($"/boot/ipxe?mac={mac}");
        var (installUrl, _) = ProvisioningFlowTests.InstallUrl(ProvisioningFlowTests.Kernel(script), _server.Url);

        var response = await _server.Http.GetAsync(installUrl);
        var detail = await response.ProblemAsync(HttpStatusCode.InternalServerError);
        Assert.Contains("install/rhel9.ks", detail, StringComparison.Ordinal);
        Assert.Contains("root_password_hash", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", detail, StringComparison.Ordinal);

        var preview = await _server.Http.GetAsync($"/api/v1/machines/{mac}/render/install");
        Assert.Contains("root_password_hash", await preview.ProblemAsync(HttpStatusCode.InternalServerError), StringComparison.Ordinal);

        await _server.FlushEventsAsync();
        var failed = (await (await _server.Http.GetAsync($"/api/v1/events?mac={mac}&kind=render.failed")).JsonAsync()).AsArray();
        Assert.Contains("root_password_hash", Assert.Single(failed)!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownInstallSubFile_Is404_AndSaysWhatExists()
    {
        const string mac = "52:54:00:12:34:58";
        await _server.Http.PutJsonAsync($"/api/v1/machines/{mac}", new { profile = "web" }).EnsureOkAsync();
        var (_, token) = ProvisioningFlowTests.InstallUrl(ProvisioningFlowTests.Kernel(await _server.Http.GetStringAsync($"/boot/ipxe?mac={mac}")), _server.Url);
        var detail = await (await _server.Http.GetAsync($"/boot/{mac}/t/{token}/user-data")).ProblemAsync(HttpStatusCode.NotFound);
        Assert.Contains("has no install file 'user-data'", detail, StringComparison.Ordinal);
        var unknown = await (await _server.Http.GetAsync("/boot/52:54:00:99:99:99/install")).ProblemAsync(HttpStatusCode.NotFound);
        Assert.Contains("no machine has MAC 52:54:00:99:99:99", unknown, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReportWithoutStage_Is400_AndBadJsonReportIs400()
    {
        const string mac = "52:54:00:12:34:59";
        await _server.Http.PutJsonAsync($"/api/v1/machines/{mac}", new { profile = "web", boot_action = "local" }).EnsureOkAsync();
        Assert.Contains("stage", await (await _server.Http.PostAsync($"/boot/{mac}/events", null)).ProblemAsync(HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains("not valid JSON", await (await _server.Http.PostRawAsync($"/boot/{mac}/events", "{", "application/json")).ProblemAsync(HttpStatusCode.BadRequest), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadStateFilter_Is400_ListingStates()
    {
        var detail = await (await _server.Http.GetAsync("/api/v1/machines?state=booting")).ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("Discovered, Ready, Installing, Installed, Deployed, Failed", detail, StringComparison.Ordinal);
    }
}
