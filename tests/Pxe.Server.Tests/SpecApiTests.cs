using System.Net;
using Pxe.Server.Tests.Support;

namespace Pxe.Server.Tests;

/// <summary>Spec reload from the files, and profile versions and rollback through the API.</summary>
public sealed class SpecApiTests
{
    private const string Mac = "52:54:00:12:34:56";

    [Fact]
    public async Task Reload_WithInvalidYaml_Is422WithFileAndLine_AndThePreviousSpecKeepsServing()
    {
        await using var server = await PxeTestServer.StartAsync();
        var http = server.Http;
        await http.PutJsonAsync($"/api/v1/machines/{Mac}", new { profile = "web" }).EnsureOkAsync();
        var good = await server.Dirs.ReadSpecAsync("web.yaml");

        server.Dirs.WriteSpec("web.yaml", "kind: profile\nname: web\nparent: rhel9-base\nvariables:\n  role: web\n   packages: x\n");
        var response = await http.PostAsync("/api/v1/spec/reload", null);
        var detail = await response.ProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Contains("web.yaml:", detail, StringComparison.Ordinal);
        var error = Assert.Single((await response.JsonAsync())["errors"]!.AsArray())!;
        Assert.Equal("web.yaml", error["file"]!.GetValue<string>());
        Assert.InRange(error["line"]!.GetValue<int>(), 5, 7);

        // Still serving the last good spec: the machine boots into its install.
        var script = await http.GetStringAsync($"/boot/ipxe?mac={Mac}");
        Assert.Contains("inst.ks=", ProvisioningFlowTests.Kernel(script), StringComparison.Ordinal);
        Assert.Single((await (await http.GetAsync("/api/v1/profiles/web/versions")).JsonAsync()).AsArray());

        await server.FlushEventsAsync();
        var rejected = (await (await http.GetAsync("/api/v1/events?kind=spec.rejected")).JsonAsync()).AsArray();
        Assert.Contains("web.yaml", Assert.Single(rejected)!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        // Fixed (and changed): accepted, and the change is a new version.
        server.Dirs.WriteSpec("web.yaml", good.Replace("role: web", "role: frontend", StringComparison.Ordinal));
        var accepted = await (await http.PostAsync("/api/v1/spec/reload", null).EnsureOkAsync()).JsonAsync();
        Assert.Equal(["profile web v2"], accepted["changed"]!.AsArray().Select(c => c!.GetValue<string>()));
        var versions = (await (await http.GetAsync("/api/v1/profiles/web/versions")).JsonAsync()).AsArray();
        Assert.Equal([1, 2], versions.Select(v => v!["version"]!.GetValue<int>()));
        var vars = await (await http.GetAsync($"/api/v1/machines/{Mac}/variables")).JsonAsync();
        Assert.Equal("frontend", vars["role"]!["value"]!.GetValue<string>());

        // Reloading unchanged files stores nothing new.
        var again = await (await http.PostAsync("/api/v1/spec/reload", null).EnsureOkAsync()).JsonAsync();
        Assert.Empty(again["changed"]!.AsArray());
    }

    [Fact]
    public async Task Reload_WithAnUnterminatedList_Is422NamingTheFile_NotA500()
    {
        await using var server = await PxeTestServer.StartAsync();
        server.Dirs.WriteSpec("web.yaml", "kind: profile\nname: web\nparent: rhel9-base\nvariables:\n  packages: [nginx\n");
        var response = await server.Http.PostAsync("/api/v1/spec/reload", null);
        Assert.Contains("invalid YAML", await response.ProblemAsync(HttpStatusCode.UnprocessableEntity), StringComparison.Ordinal);
        Assert.Equal("web.yaml", Assert.Single((await response.JsonAsync())["errors"]!.AsArray())!["file"]!.GetValue<string>());
    }

    [Fact]
    public async Task Reload_WithMissingParent_Is422NamingFileLineAndField()
    {
        await using var server = await PxeTestServer.StartAsync();
        var http = server.Http;
        await http.PutJsonAsync($"/api/v1/machines/{Mac}", new { profile = "web" }).EnsureOkAsync();
        server.Dirs.WriteSpec("web.yaml", "kind: profile\nname: web\nparent: rhel8-base\nvariables:\n  role: web\n");

        var response = await http.PostAsync("/api/v1/spec/reload", null);
        var detail = await response.ProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Contains("web.yaml:3: parent:", detail, StringComparison.Ordinal);
        Assert.Contains("rhel8-base", detail, StringComparison.Ordinal);
        var error = (await response.JsonAsync())["errors"]!.AsArray().First(e => e!["field"]?.GetValue<string>() == "parent")!;
        Assert.Equal("web.yaml", error["file"]!.GetValue<string>());
        Assert.Equal(3, error["line"]!.GetValue<int>());

        var resolved = await (await http.GetAsync("/api/v1/profiles/web/resolved").EnsureOkAsync()).JsonAsync();
        Assert.Equal(["rhel9-base", "web"], resolved["chain"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.Contains("inst.ks=", await http.GetStringAsync($"/boot/ipxe?mac={Mac}"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reload_WithTemplateNeedingAnUndefinedVariable_IsRejected_NamingTemplateAndVariable()
    {
        await using var server = await PxeTestServer.StartAsync();
        var ks = Path.Combine(server.Dirs.Templates, "install", "rhel9.ks");
        await File.AppendAllTextAsync(ks, "# rack {{rack_location}}\n");

        var response = await server.Http.PostAsync("/api/v1/spec/reload", null);
        var detail = await response.ProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Contains("rack_location", detail, StringComparison.Ordinal);
        Assert.Contains("install/rhel9.ks", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PutTwiceThenRollback_StoresANewVersionEqualToTheFirst_RewritesTheFile_AndRendersIt()
    {
        await using var server = await PxeTestServer.StartAsync();
        var http = server.Http;
        await http.PutJsonAsync("/api/v1/profiles/web2", new { parent = "web", variables = new { timezone = "Europe/Paris" }, comment = "first" }).EnsureOkAsync();
        var file = Path.Combine(server.Dirs.Spec, "web2.yaml");
        Assert.Contains("Europe/Paris", await File.ReadAllTextAsync(file), StringComparison.Ordinal);
        await http.PutJsonAsync("/api/v1/profiles/web2", new { parent = "web", variables = new { timezone = "Asia/Tokyo" } }).EnsureOkAsync();
        Assert.Contains("Asia/Tokyo", await File.ReadAllTextAsync(file), StringComparison.Ordinal);

        await http.PutJsonAsync($"/api/v1/machines/{Mac}", new { profile = "web2" }).EnsureOkAsync();
        Assert.Contains("timezone Asia/Tokyo --utc", await http.GetStringAsync($"/api/v1/machines/{Mac}/render/install"), StringComparison.Ordinal);

        var versions = (await (await http.GetAsync("/api/v1/profiles/web2/versions?yaml=true")).JsonAsync()).AsArray();
        Assert.Equal([1, 2], versions.Select(v => v!["version"]!.GetValue<int>()));
        Assert.All(versions, v => Assert.Equal("admin", v!["actor"]!.GetValue<string>()));
        var v1Yaml = versions[0]!["yaml"]!.GetValue<string>();

        var rolled = await (await http.PostJsonAsync("/api/v1/profiles/web2/rollback", new { version = 1 }).EnsureOkAsync()).JsonAsync();
        Assert.Equal(3, rolled["version"]!.GetValue<int>());
        Assert.Equal(1, rolled["restored"]!.GetValue<int>());

        var after = (await (await http.GetAsync("/api/v1/profiles/web2/versions?yaml=true")).JsonAsync()).AsArray();
        Assert.Equal([1, 2, 3], after.Select(v => v!["version"]!.GetValue<int>()));
        Assert.Equal(v1Yaml, after[2]!["yaml"]!.GetValue<string>());
        Assert.Equal("rollback to version 1", after[2]!["comment"]!.GetValue<string>());
        Assert.Contains("Europe/Paris", await File.ReadAllTextAsync(file), StringComparison.Ordinal);
        Assert.DoesNotContain("Asia/Tokyo", await File.ReadAllTextAsync(file), StringComparison.Ordinal);
        Assert.Contains("timezone Europe/Paris --utc", await http.GetStringAsync($"/api/v1/machines/{Mac}/render/install"), StringComparison.Ordinal);

        // The rewritten file is the spec: a reload from the files finds nothing to change.
        Assert.Empty((await (await http.PostAsync("/api/v1/spec/reload", null).EnsureOkAsync()).JsonAsync())["changed"]!.AsArray());

        var missing = await http.PostJsonAsync("/api/v1/profiles/web2/rollback", new { version = 9 });
        Assert.Contains("known versions: 1, 2, 3", await missing.ProblemAsync(HttpStatusCode.NotFound), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProfileRender_RendersAnyProfileForAnyMac_WithoutChangingAnything()
    {
        await using var server = await PxeTestServer.StartAsync();
        var http = server.Http;
        await http.PutJsonAsync($"/api/v1/machines/{Mac}", new { profile = "web", hostname = "db01", boot_action = "local" }).EnsureOkAsync();

        // A stored machine rendered with another profile keeps its own settings (host name).
        var preseed = await http.GetStringAsync($"/api/v1/profiles/debian12/render/install?mac={Mac}");
        Assert.Contains("d-i netcfg/get_hostname string db01", preseed, StringComparison.Ordinal);
        var script = await http.GetStringAsync($"/api/v1/profiles/debian12/render/ipxe?mac={Mac}");
        Assert.Contains("/files/distros/debian12-amd64/", ProvisioningFlowTests.Kernel(script), StringComparison.Ordinal);

        // An unknown MAC renders as a preview machine and is not recorded.
        var ks = await http.GetStringAsync("/api/v1/profiles/web/render/install?mac=52:54:00:77:77:77");
        Assert.Contains("--hostname=host-52-54-00-77-77-77", ks, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/v1/machines/52:54:00:77:77:77")).StatusCode);
        Assert.Contains("autoinstall", await http.GetStringAsync("/api/v1/profiles/ubuntu2404/render/user-data"), StringComparison.Ordinal);

        var machine = await (await http.GetAsync($"/api/v1/machines/{Mac}")).JsonAsync();
        Assert.Equal("web", machine["profile"]!.GetValue<string>());
        Assert.Equal("Ready", machine["state"]!.GetValue<string>());
        Assert.Equal(1, machine["revision"]!.GetValue<int>());

        Assert.Contains("known profiles: debian12, hello-disk, rhel9-base, ubuntu2404, web",
            await (await http.GetAsync("/api/v1/profiles/nope/render/install")).ProblemAsync(HttpStatusCode.NotFound), StringComparison.Ordinal);
        Assert.Contains("has no install file 'meta-data'",
            await (await http.GetAsync("/api/v1/profiles/web/render/meta-data")).ProblemAsync(HttpStatusCode.NotFound), StringComparison.Ordinal);
        await (await http.GetAsync("/api/v1/profiles/web/render/install?mac=nope")).ProblemAsync(HttpStatusCode.BadRequest);
    }
}
