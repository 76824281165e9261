using Pxe.Profiles.Domain;
using Pxe.Profiles.Storage;

namespace Pxe.Profiles.Tests.Services;

public class SpecServiceTests
{
    [Fact]
    public async Task Initialize_StoresVersionOneOfEveryObject_AndReloadWithoutChangesStoresNothing()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        var versions = await bed.Store.ListVersionsAsync("profile", "web", CancellationToken.None);
        Assert.Equal(1, Assert.Single(versions).Version);
        var reload = await bed.Spec.ReloadAsync("test", CancellationToken.None);
        Assert.True(reload.Accepted);
        Assert.Empty(reload.Written);
    }

    [Fact]
    public async Task Reload_WithABrokenFile_KeepsTheLastGoodSpec_AndRecordsWhy()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        var before = bed.Spec.Current;
        bed.WriteSpecFile("web.yaml", "kind: profile\nname: web\nparent: nowhere\n");
        var result = await bed.Spec.ReloadAsync("test", CancellationToken.None);
        Assert.False(result.Accepted);
        var e = Assert.Single(result.Errors);
        Assert.Equal(("web.yaml", 3, "parent"), (e.File, e.Line, e.Field));
        Assert.Same(before, bed.Spec.Current);
        await bed.Events.FlushAsync(CancellationToken.None);
        var events = await bed.Store.QueryEventsAsync(new EventQuery { Kind = EventKinds.SpecRejected }, CancellationToken.None);
        Assert.Contains("web.yaml:3: parent", Assert.Single(events).Message);

        bed.WriteSpecFile("web.yaml", "kind: profile\nname: web\nparent: rhel9-base\nvariables:\n  role: web2\n");
        var fixedResult = await bed.Spec.ReloadAsync("test", CancellationToken.None);
        Assert.True(fixedResult.Accepted);
        Assert.Equal(2, Assert.Single(fixedResult.Written).Version);
        Assert.Equal("web2", bed.Spec.Current.Spec.Profiles["web"].Variables["role"]);
    }

    [Fact]
    public async Task Reload_WithInvalidYaml_NamesFileAndLine()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        bed.WriteSpecFile("broken.yaml", "kind: profile\nname: broken\ndistro: [unclosed\n");
        var result = await bed.Spec.ReloadAsync("test", CancellationToken.None);
        var e = Assert.Single(result.Errors);
        Assert.Equal("broken.yaml", e.File);
        Assert.True(e.Line >= 3);
        Assert.StartsWith("invalid YAML", e.Message);
    }

    [Fact]
    public async Task Put_WritesTheFile_StoresAVersion_AndRollbackRestores()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        var web = bed.Spec.Current.Spec.Profiles["web"];
        var changed = web with { Variables = new Dictionary<string, object?>(web.Variables) { ["role"] = "api" } };
        var put = await bed.Spec.PutProfileAsync(changed, "alice", null, CancellationToken.None);
        Assert.True(put.Accepted);
        Assert.Equal(2, Assert.Single(put.Written).Version);
        Assert.Contains("role: api", await File.ReadAllTextAsync(Path.Combine(bed.SpecDir, "web.yaml")));

        var rollback = await bed.Spec.RollbackAsync("profile", "web", 1, "bob", CancellationToken.None);
        Assert.True(rollback.Accepted);
        var v3 = Assert.Single(rollback.Written);
        Assert.Equal((3, "rollback to version 1"), (v3.Version, v3.Comment));
        Assert.Equal("web", bed.Spec.Current.Spec.Profiles["web"].Variables["role"]);
        Assert.Contains("role: web", await File.ReadAllTextAsync(Path.Combine(bed.SpecDir, "web.yaml")));
        var versions = await bed.Store.ListVersionsAsync("profile", "web", CancellationToken.None);
        Assert.Equal(versions[0].Yaml, versions[2].Yaml);
        Assert.Equal(["spec-file", "alice", "bob"], versions.Select(v => v.Actor));

        // What was written to the file is what the next reload reads: no new version.
        Assert.Empty((await bed.Spec.ReloadAsync("test", CancellationToken.None)).Written);
    }

    [Fact]
    public async Task Put_ThatFailsValidation_ChangesNeitherFileNorStore()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        var file = Path.Combine(bed.SpecDir, "web.yaml");
        var before = await File.ReadAllTextAsync(file);
        var cyc = bed.Spec.Current.Spec.Profiles["rhel9-base"] with { Distro = null, Parent = "web" };
        var result = await bed.Spec.PutProfileAsync(cyc, "t", null, CancellationToken.None);
        Assert.False(result.Accepted);
        Assert.Contains(result.Errors, e => e.Message.Contains("cycle"));
        Assert.Equal(before, await File.ReadAllTextAsync(file));
        Assert.Single(await bed.Store.ListVersionsAsync("profile", "rhel9-base", CancellationToken.None));
    }

    [Fact]
    public async Task NewProfile_ThroughTheApi_GetsItsOwnFile()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        var db = new Profile { Name = "db", Parent = "rhel9-base", Variables = new Dictionary<string, object?> { ["role"] = "db" } };
        Assert.True((await bed.Spec.PutProfileAsync(db, "t", null, CancellationToken.None)).Accepted);
        Assert.True(File.Exists(Path.Combine(bed.SpecDir, "db.yaml")));
        await bed.RestartAsync();
        Assert.Equal("db", bed.Spec.Current.Spec.Profiles["db"].Variables["role"]);
    }

    [Fact]
    public async Task Delete_IsRefused_WhileSomethingDependsOnIt()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        var result = await bed.Spec.DeleteProfileAsync("rhel9-base", "t", CancellationToken.None);
        Assert.Contains(result.Errors, e => e.Message.Contains("used by profile web"));
        Assert.True(File.Exists(Path.Combine(bed.SpecDir, "base.yaml")));

        Assert.True((await bed.Spec.DeleteProfileAsync("web", "t", CancellationToken.None)).Accepted);
        Assert.False(File.Exists(Path.Combine(bed.SpecDir, "web.yaml")));
        Assert.True((await bed.Store.ListVersionsAsync("profile", "web", CancellationToken.None))[^1].Deleted);
        // A deleted profile can be restored from its history.
        Assert.True((await bed.Spec.RollbackAsync("profile", "web", 1, "t", CancellationToken.None)).Accepted);
        Assert.True(bed.Spec.Current.Spec.Profiles.ContainsKey("web"));
    }

    [Fact]
    public async Task StartWithBrokenTemplate_ReportsTemplateFileAndLine()
    {
        await using var bed = await ProfilesTestBed.CreateAsync(initialize: false);
        await File.AppendAllTextAsync(Path.Combine(bed.TemplatesDir, "install", "rhel9.ks"), "\n{{#if x}}unclosed\n");
        var errors = await bed.Spec.InitializeAsync(CancellationToken.None);
        Assert.Contains(errors, e => e.File == "templates/install/rhel9.ks" && e.Line > 0);
        Assert.Throws<InvalidOperationException>(() => bed.Spec.Current);
    }
}
