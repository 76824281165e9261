using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Pxe.Profiles.Domain;
using Pxe.Profiles.Rendering;
using Pxe.Profiles.Services;
using Pxe.Profiles.Spec;
using Pxe.Profiles.Storage;
using Pxe.Server.Tests.Support;

namespace Pxe.Server.Tests;

/// <summary>
/// The install file cache: a file fetched again comes from it byte for byte, every input of the render (machine,
/// spec, template, install token, image library) gives a fresh render when it changes, and no check on who may have
/// the file is skipped because a render is cached.
/// </summary>
public sealed class InstallFileCacheTests
{
    private const string Mac = "52:54:00:12:34:56";

    private static InstallFileCache Cache(PxeTestServer server) => server.App.Services.GetRequiredService<InstallFileCache>();

    /// <summary>Boots the machine (a new install session) and returns its install URL and token.</summary>
    private static async Task<(string Url, string Token)> BootAsync(PxeTestServer server) =>
        ProvisioningFlowTests.InstallUrl(ProvisioningFlowTests.Kernel(await server.Http.GetStringAsync($"/boot/ipxe?mac={Mac}")), server.Url);

    [Fact]
    public async Task InstallFile_FetchedAgain_IsServedFromTheCache_WithTheSameBytesAndHeaders()
    {
        await using var server = await PxeTestServer.StartAsync();
        await server.Http.PutJsonAsync($"/api/v1/machines/{Mac}", new { profile = "web", hostname = "web01" }).EnsureOkAsync();
        var (url, _) = await BootAsync(server);
        using var installer = server.Client();

        var first = await installer.GetAsync(url);
        var hits = Cache(server).Hits;
        var second = await installer.GetAsync(url);

        Assert.Equal(hits + 1, Cache(server).Hits);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("text/plain; charset=utf-8", second.Content.Headers.ContentType!.ToString());
        var bytes = await second.Content.ReadAsByteArrayAsync();
        Assert.Equal(bytes.LongLength, second.Content.Headers.ContentLength);
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), bytes);
        Assert.Contains("--hostname=web01", System.Text.Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);

        // Each fetch is still in the audit log, cached or not.
        await server.FlushEventsAsync();
        var served = (await (await server.Http.GetAsync($"/api/v1/events?mac={Mac}&kind=install.served")).JsonAsync()).AsArray();
        Assert.Equal(2, served.Count);
    }

    /// <summary>
    /// Boots the machine, fetches its install file twice (the second from the cache) showing <paramref name="before"/>,
    /// applies <paramref name="change"/> during the install, and checks the next fetch shows <paramref name="after"/>
    /// and no longer <paramref name="before"/>.
    /// </summary>
    private static async Task AssertRenderedAfreshAfter(object machine, string before, string after, Func<PxeTestServer, Task> change)
    {
        await using var server = await PxeTestServer.StartAsync();
        await server.Http.PutJsonAsync($"/api/v1/machines/{Mac}", machine).EnsureOkAsync();
        var (url, _) = await BootAsync(server);
        using var installer = server.Client();
        Assert.Contains(before, await installer.GetStringAsync(url), StringComparison.Ordinal);
        Assert.Contains(before, await installer.GetStringAsync(url), StringComparison.Ordinal);
        Assert.Equal(1, Cache(server).Hits);

        await change(server);

        var fresh = await installer.GetStringAsync(url);
        Assert.Contains(after, fresh, StringComparison.Ordinal);
        Assert.DoesNotContain(before, fresh, StringComparison.Ordinal);
    }

    [Fact]
    public Task InstallFile_AfterTheMachineChanges_IsRenderedAfresh() =>
        // Changed during the install (the install session and its token stay).
        AssertRenderedAfreshAfter(new { profile = "web", hostname = "web01" }, "--hostname=web01", "--hostname=web02",
            server => server.Http.PutJsonAsync($"/api/v1/machines/{Mac}", new { hostname = "web02" }).EnsureOkAsync());

    [Fact]
    public Task InstallFile_AfterASpecReload_IsRenderedAfresh() =>
        AssertRenderedAfreshAfter(new { profile = "web" }, "\nnginx\n", "\nhttpd\n", async server =>
        {
            var web = await server.Dirs.ReadSpecAsync("web.yaml");
            server.Dirs.WriteSpec("web.yaml", web.Replace("\"nginx\"", "\"httpd\"", StringComparison.Ordinal));
            await server.Http.PostAsync("/api/v1/spec/reload", null).EnsureOkAsync();
        });

    [Fact]
    public Task InstallFile_AfterATemplateChange_IsRenderedAfresh() =>
        AssertRenderedAfreshAfter(new { profile = "web" }, "selinux --enforcing", "selinux --permissive", async server =>
        {
            var template = Path.Combine(server.Dirs.Templates, "install", "rhel9.ks");
            await File.WriteAllTextAsync(template, (await File.ReadAllTextAsync(template)).Replace("selinux --enforcing", "selinux --permissive", StringComparison.Ordinal));
            await server.Http.PostAsync("/api/v1/spec/reload", null).EnsureOkAsync();
        });

    [Fact]
    public async Task InstallFile_AfterANewBoot_CarriesTheNewToken_AndTheCachedOldTokenIsRefused()
    {
        await using var server = await PxeTestServer.StartAsync();
        await server.Http.PutJsonAsync($"/api/v1/machines/{Mac}", new { profile = "web" }).EnsureOkAsync();
        var (oldUrl, oldToken) = await BootAsync(server);
        using var installer = server.Client();
        Assert.Contains($"/t/{oldToken}/done", await installer.GetStringAsync(oldUrl), StringComparison.Ordinal);
        Assert.Contains($"/t/{oldToken}/done", await installer.GetStringAsync(oldUrl), StringComparison.Ordinal);

        // The firmware boots again: a new install session with a new token.
        var (newUrl, newToken) = await BootAsync(server);
        Assert.NotEqual(oldToken, newToken);

        var fresh = await installer.GetStringAsync(newUrl);
        Assert.Contains($"/t/{newToken}/done", fresh, StringComparison.Ordinal);
        Assert.DoesNotContain(oldToken, fresh, StringComparison.Ordinal);
        await (await installer.GetAsync(oldUrl)).ProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task InstallFile_AfterDone_IsRefusedThoughCached_AndAReimageRendersItAfresh()
    {
        await using var server = await PxeTestServer.StartAsync();
        await server.Http.PutJsonAsync($"/api/v1/machines/{Mac}", new { profile = "web" }).EnsureOkAsync();
        var (url, token) = await BootAsync(server);
        using var installer = server.Client();
        await installer.GetStringAsync(url);
        await installer.GetStringAsync(url);
        Assert.Equal(1, Cache(server).Count);

        await installer.PostAsync($"/boot/{Mac}/t/{token}/done", null).EnsureOkAsync();
        await (await installer.GetAsync(url)).ProblemAsync(HttpStatusCode.Forbidden);
        await (await installer.GetAsync($"/boot/{Mac}/install")).ProblemAsync(HttpStatusCode.Forbidden);

        await server.Http.PostAsync($"/api/v1/machines/{Mac}/reimage", null).EnsureOkAsync();
        await (await installer.GetAsync(url)).ProblemAsync(HttpStatusCode.Forbidden);
        var (newUrl, newToken) = await BootAsync(server);
        var misses = Cache(server).Misses;
        var fresh = await installer.GetStringAsync(newUrl);
        Assert.Equal(misses + 1, Cache(server).Misses);
        Assert.Contains($"/t/{newToken}/done", fresh, StringComparison.Ordinal);
        await (await installer.GetAsync(url)).ProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task InstallFile_WithAWrongOrMissingToken_IsRefused_WhileTheRightOneIsCached()
    {
        await using var server = await PxeTestServer.StartAsync();
        await server.Http.PutJsonAsync($"/api/v1/machines/{Mac}", new { profile = "web" }).EnsureOkAsync();
        var (url, token) = await BootAsync(server);
        using var installer = server.Client();
        await installer.GetStringAsync(url);
        await installer.GetStringAsync(url);

        await (await installer.GetAsync(url.Replace(token, ProvisioningService.NewToken(), StringComparison.Ordinal))).ProblemAsync(HttpStatusCode.Forbidden);
        await (await installer.GetAsync($"/boot/{Mac}/install")).ProblemAsync(HttpStatusCode.Forbidden);
        await (await installer.GetAsync($"/boot/{Mac}/install?token=nope")).ProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.OK, (await installer.GetAsync($"/boot/{Mac}/install?token={token}")).StatusCode);
    }

    [Fact]
    public async Task InstallFileCacheBytesZero_TurnsTheCacheOff_AndFilesAreStillServed()
    {
        await using var server = await PxeTestServer.StartAsync(configure: o => o with { InstallFileCacheBytes = 0 });
        await server.Http.PutJsonAsync($"/api/v1/machines/{Mac}", new { profile = "web", hostname = "web01" }).EnsureOkAsync();
        var (url, _) = await BootAsync(server);
        using var installer = server.Client();

        Assert.Null(server.App.Services.GetService<InstallFileCache>());
        Assert.Equal(await installer.GetStringAsync(url), await installer.GetStringAsync(url));
        Assert.Contains("--hostname=web01", await installer.GetStringAsync(url), StringComparison.Ordinal);
    }

    [Fact]
    public void InstallFileCacheBytes_OutOfRange_IsAStartupErrorThatSaysTheRange()
    {
        var errors = new Hosting.PxeOptions { InstallFileCacheBytes = -1 }.Validate();
        Assert.Contains(errors, e => e.Contains("InstallFileCacheBytes -1 must be between 0 (no cache) and 64 GiB", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cache_StaysWithinItsBytes_AndStartsOverPastThem()
    {
        const int Machines = 30;
        await using var server = await PxeTestServer.StartAsync(configure: o => o with { InstallFileCacheBytes = 256 * 1024 });
        var urls = new List<string>();
        for (var i = 0; i < Machines; i++)
        {
            var mac = $"52:54:00:00:10:{i:x2}";
            await server.Http.PutJsonAsync($"/api/v1/machines/{mac}", new { profile = "web", hostname = $"web{i:d2}" }).EnsureOkAsync();
            var script = await server.Http.GetStringAsync($"/boot/ipxe?mac={mac}");
            urls.Add(ProvisioningFlowTests.InstallUrl(ProvisioningFlowTests.Kernel(script), server.Url).Url);
        }

        using var installer = server.Client();
        var cache = Cache(server);
        for (var i = 0; i < Machines; i++)
        {
            Assert.Contains($"--hostname=web{i:d2}", await installer.GetStringAsync(urls[i]), StringComparison.Ordinal);
            Assert.InRange(cache.Bytes, 1, cache.MaxBytes);
        }

        // More files than fit: the cache started over at least once and holds fewer than all of them.
        Assert.InRange(cache.Count, 1, Machines - 1);
        Assert.Equal(Machines, cache.Misses);
    }

    [Fact]
    public async Task InstallFile_WhenTheImageLibraryAnswersDifferently_IsRenderedAfresh()
    {
        using var dirs = TestDirs.Create();
        dirs.WriteSpec("web-image.yaml", """
            kind: profile
            name: web-image
            distro: pxe-installer
            install_template: install/image.plan
            variables:
              image: web
              disk: ""
            """);
        Directory.CreateDirectory(dirs.Data);
        var ct = CancellationToken.None;
        var store = await SqliteStore.OpenAsync(Path.Combine(dirs.Data, "pxe.db"), StoreDurability.Process, ct);
        var images = new Library { Disk = new ImageReference("images/web/1/web-1.raw", new string('a', 64), 1000, "none") };
        var spec = new SpecService(store, store, new SpecDirectory(dirs.Spec), dirs.Templates,
            new RenderSettings { ServerUrl = "http://127.0.0.1:8080", NextServer = "127.0.0.1", Images = images });
        Assert.Empty(await spec.InitializeAsync(ct));
        await using var events = new EventLog(store);
        var cache = new InstallFileCache(1024 * 1024);
        var svc = new ProvisioningService(new CachedMachineStore(store, TimeProvider.System), events, spec, new DiscoveryPolicy(), TimeProvider.System, cache);
        var mac = MacAddress.Parse(Mac);
        Assert.True((await svc.PutAsync(mac, new MachineInput { Profile = "web-image" }, "test", ct)).Succeeded);
        var script = (await svc.BootAsync(mac, BootFileKind.Ipxe, ct)).Text!;
        var token = System.Text.RegularExpressions.Regex.Match(script, "/t/(?<t>[A-Za-z0-9_-]{43})/install").Groups["t"].Value;

        var first = (await svc.InstallFileAsync(mac, "install", token, ct)).Text!;
        var again = (await svc.InstallFileAsync(mac, "install", token, ct)).Text!;
        Assert.Equal((1, 1), (cache.Misses, cache.Hits));
        Assert.Equal(first, again);
        Assert.Contains("images/web/1/web-1.raw", first, StringComparison.Ordinal);

        // A newer version in the library: the same request renders afresh and names it.
        images.Disk = new ImageReference("images/web/2/web-2.raw", new string('b', 64), 2000, "none");
        var rebuilt = (await svc.InstallFileAsync(mac, "install", token, ct)).Text!;
        Assert.Equal(2, cache.Misses);
        Assert.Contains("images/web/2/web-2.raw", rebuilt, StringComparison.Ordinal);
        Assert.Contains(new string('b', 64), rebuilt, StringComparison.Ordinal);

        // Gone from the library: the render's error, not the cached plan.
        images.Disk = null;
        var gone = await svc.InstallFileAsync(mac, "install", token, ct);
        Assert.False(gone.Succeeded);
        Assert.Contains("is not in the image library", gone.Error, StringComparison.Ordinal);
    }

    /// <summary>An image library with one image, <c>web</c>, whose raw disk the test swaps.</summary>
    private sealed class Library : IImageCatalog
    {
        public ImageReference? Disk { get; set; }

        public ImageReference? Find(string name, string? version) => name == "web" ? Disk : null;
    }
}
