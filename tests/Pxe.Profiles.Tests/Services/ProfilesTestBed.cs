using Pxe.Profiles.Rendering;
using Pxe.Profiles.Services;
using Pxe.Profiles.Spec;
using Pxe.Profiles.Storage;
using Pxe.Profiles.Tests.Templates;

namespace Pxe.Profiles.Tests.Services;

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;
}

/// <summary>
/// A private copy of the shipped profiles/ and templates/ in a temp folder, a fresh SQLite store, and the services
/// over them: what `pxe serve` wires up, without HTTP.
/// </summary>
internal sealed class ProfilesTestBed : IAsyncDisposable
{
    private ProfilesTestBed(string root) => Root = root;

    public string Root { get; }

    public string SpecDir => Path.Combine(Root, "profiles");

    public string TemplatesDir => Path.Combine(Root, "templates");

    public SqliteStore Store { get; private set; } = null!;

    public SpecService Spec { get; private set; } = null!;

    public EventLog Events { get; private set; } = null!;

    public ProvisioningService Provisioning { get; private set; } = null!;

    public ManualClock Clock { get; } = new(new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero));

    public static readonly RenderSettings Settings = new() { ServerUrl = "http://10.0.0.1:8080", NextServer = "10.0.0.1" };

    /// <summary>Creates the bed; <paramref name="initialize"/> false leaves the spec unloaded (to test start-up errors).</summary>
    public static async Task<ProfilesTestBed> CreateAsync(bool initialize = true, DiscoveryPolicy? discovery = null)
    {
        var root = Path.Combine(Path.GetTempPath(), "pxe-test-" + Guid.NewGuid().ToString("N"));
        var bed = new ProfilesTestBed(root);
        CopyDirectory(Path.Combine(TemplateTestSupport.RepoRoot, "profiles"), bed.SpecDir);
        CopyDirectory(Path.Combine(TemplateTestSupport.RepoRoot, "templates"), bed.TemplatesDir);
        await bed.OpenAsync(discovery ?? new DiscoveryPolicy());
        if (initialize)
        {
            var errors = await bed.Spec.InitializeAsync(CancellationToken.None);
            Assert.True(errors.Count == 0, "shipped spec did not load:\n" + string.Join("\n", errors));
        }

        return bed;
    }

    /// <summary>Closes and re-opens everything on the same files (a restart).</summary>
    public async Task RestartAsync(DiscoveryPolicy? discovery = null)
    {
        await Events.DisposeAsync();
        await OpenAsync(discovery ?? new DiscoveryPolicy());
        var errors = await Spec.InitializeAsync(CancellationToken.None);
        Assert.Empty(errors);
    }

    private async Task OpenAsync(DiscoveryPolicy discovery)
    {
        Store = await SqliteStore.OpenAsync(Path.Combine(Root, "pxe.db"), CancellationToken.None);
        Spec = new SpecService(Store, Store, new SpecDirectory(SpecDir), TemplatesDir, Settings);
        Events = new EventLog(Store);
        Provisioning = new ProvisioningService(Store, Events, Spec, discovery, Clock);
    }

    public void WriteSpecFile(string relative, string content) => File.WriteAllText(Path.Combine(SpecDir, relative), content);

    public async ValueTask DisposeAsync()
    {
        await Events.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by the runtime: the temp folder is cleaned by the OS later.
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(dir.Replace(from, to, StringComparison.Ordinal));
        }

        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, file.Replace(from, to, StringComparison.Ordinal));
        }
    }
}
