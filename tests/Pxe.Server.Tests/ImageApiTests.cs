using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Pxe.Server.Tests.Support;

namespace Pxe.Server.Tests;

/// <summary>
/// The image library through /api/v1/images: a build queued over the API runs in the background with progress events,
/// lands in the library, is served under /files with the SHA-256 the API states, and can be removed; bad requests are
/// 400s that say what to fix; only admins build and remove.
/// </summary>
public sealed class ImageApiTests : IAsyncLifetime
{
    private PxeTestServer _server = null!;
    private string _tree = null!;

    public async Task InitializeAsync()
    {
        var dirs = TestDirs.Create();
        ImageTree.WriteRole(dirs, "web");
        _server = await PxeTestServer.StartAsync(dirs);
        _tree = Path.Combine(dirs.Root, "tree");
    }

    public async Task DisposeAsync()
    {
        var dirs = _server.Dirs;
        await _server.DisposeAsync();
        dirs.Dispose();
    }

    private async Task<HttpResponseMessage> PostBuild(object body) => await _server.Http.PostAsJsonAsync("/api/v1/images", body);

    private async Task<(JsonNode Accepted, JsonNode Last, List<JsonNode> Progress)> BuildAsync(object body)
    {
        var response = await PostBuild(body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"HTTP {(int)response.StatusCode}: {text}");
        var accepted = JsonNode.Parse(text)!;
        var image = $"{accepted["name"]}/{accepted["version"]}";
        Assert.Equal($"/api/v1/images/{image}", response.Headers.Location?.OriginalString);
        var (last, progress) = await ImageTree.WaitForBuildAsync(_server.Http, image, accepted["events_after"]!.GetValue<long>(), TimeSpan.FromMinutes(3));
        return (accepted, last, progress);
    }

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    [ToolFact("busybox", "mkfs.vfat=dosfstools", "mcopy=mtools", "sfdisk=fdisk", "mkfs.ext4=e2fsprogs")]
    public async Task Build_RunsInTheBackground_WithProgressEvents_AndTheServedFileHasTheStatedSha256()
    {
        ImageTree.Create(_tree);

        var (accepted, last, progress) = await BuildAsync(new { name = "web", role = "web", @base = new { folder = _tree }, formats = new[] { "raw" } });

        Assert.Equal(("web", "1", "queued"), (accepted["name"]!.GetValue<string>(), accepted["version"]!.GetValue<string>(), accepted["status"]!.GetValue<string>()));
        Assert.True(last["kind"]!.GetValue<string>() == "image.built", last.ToJsonString());
        Assert.Equal("admin", last["actor"]!.GetValue<string>());
        Assert.Null(last["mac"]);
        var messages = progress.Select(e => e["message"]!.GetValue<string>()).ToList();
        Assert.StartsWith($"web/1 queued by admin: formats raw; base folder {_tree}; role web", messages[0], StringComparison.Ordinal);
        foreach (var step in new[] { "base", "role", "disk" })
        {
            Assert.Contains($"web/1 {step} started", messages);
            Assert.Contains(messages, m => m.StartsWith($"web/1 {step} finished: ", StringComparison.Ordinal) && m.EndsWith(" bytes", StringComparison.Ordinal));
        }

        Assert.Contains(messages, m => m.StartsWith("web/1 store finished: ", StringComparison.Ordinal));
        Assert.True(progress.Select(e => e["id"]!.GetValue<long>()).All(id => id < last["id"]!.GetValue<long>()), "image.built must be the build's last event");

        // The library: listed with its file, size, checksum and absolute URL under /files.
        var list = (await _server.Http.GetFromJsonAsync<JsonArray>("/api/v1/images"))!;
        var image = Assert.Single(list)!;
        Assert.Equal(("web", "1", "ready", "web"), (image["name"]!.GetValue<string>(), image["version"]!.GetValue<string>(), image["status"]!.GetValue<string>(), image["role"]!.GetValue<string>()));
        Assert.Equal(["raw"], image["formats"]!.AsArray().Select(f => f!.GetValue<string>()));
        var artifact = Assert.Single(image["artifacts"]!.AsArray())!;
        Assert.Equal(("raw", "disk", "web-1.raw"), (artifact["format"]!.GetValue<string>(), artifact["part"]!.GetValue<string>(), artifact["file"]!.GetValue<string>()));
        Assert.Equal("images/web/1/web-1.raw", artifact["path"]!.GetValue<string>());
        Assert.Equal($"{_server.Url}/files/images/web/1/web-1.raw", artifact["url"]!.GetValue<string>());
        Assert.Equal(image["size"]!.GetValue<long>(), artifact["size"]!.GetValue<long>());
        Assert.Contains($"raw disk web-1.raw {artifact["size"]} bytes sha256 {artifact["sha256"]}", last["message"]!.GetValue<string>(), StringComparison.Ordinal);

        // Served under /files: the bytes hash to the stated SHA-256, and a range request is answered as one.
        using var anonymous = _server.Client();
        var bytes = await anonymous.GetByteArrayAsync(artifact["url"]!.GetValue<string>());
        Assert.Equal(artifact["size"]!.GetValue<long>(), bytes.LongLength);
        Assert.Equal(artifact["sha256"]!.GetValue<string>(), Sha256(bytes));
        using var range = new HttpRequestMessage(HttpMethod.Get, artifact["url"]!.GetValue<string>()) { Headers = { Range = new RangeHeaderValue(510, 511) } };
        using var partial = await anonymous.SendAsync(range);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(bytes[510..512], await partial.Content.ReadAsByteArrayAsync());
        Assert.Contains("== disk: done", await anonymous.GetStringAsync(image["build_log"]!.GetValue<string>()), StringComparison.Ordinal);

        // The same inputs again: a new version, every step from the cache, the same disk.
        var (again, secondLast, secondProgress) = await BuildAsync(new { name = "web", role = "web", @base = new { folder = _tree }, formats = new[] { "raw" } });
        Assert.Equal("2", again["version"]!.GetValue<string>());
        Assert.Equal("image.built", secondLast["kind"]!.GetValue<string>());
        Assert.Contains("(3 of 3 steps from the cache)", secondLast["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains(secondProgress, e => e["message"]!.GetValue<string>().StartsWith("web/2 base cached: ", StringComparison.Ordinal));
        var second = await _server.Http.GetFromJsonAsync<JsonNode>("/api/v1/images/web/2");
        Assert.Equal(artifact["sha256"]!.GetValue<string>(), second!["artifacts"]![0]!["sha256"]!.GetValue<string>());
        Assert.Equal(2, (await _server.Http.GetFromJsonAsync<JsonArray>("/api/v1/images/web"))!.Count);

        // A version that exists is a conflict, not a second build.
        var conflict = await PostBuild(new { name = "web", version = "2", @base = new { folder = _tree } });
        Assert.Contains("image web version 2 already exists; remove it first", await conflict.ProblemAsync(HttpStatusCode.Conflict), StringComparison.Ordinal);

        // Removing one version: gone from the API, from /files, and audited.
        var removed = await (await _server.Http.DeleteAsync("/api/v1/images/web?version=1").EnsureOkAsync()).JsonAsync();
        Assert.Equal(["1"], removed["removed"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Contains("has no version '1'; its versions: 2", await (await _server.Http.GetAsync("/api/v1/images/web/1")).ProblemAsync(HttpStatusCode.NotFound), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync(artifact["url"]!.GetValue<string>())).StatusCode);
        Assert.Equal(["2"], (await _server.Http.GetFromJsonAsync<JsonArray>("/api/v1/images"))!.Select(i => i!["version"]!.GetValue<string>()));
        var audit = (await _server.Http.GetFromJsonAsync<JsonArray>("/api/v1/events?kind=image.removed"))!;
        Assert.Equal("web/1 removed by admin", Assert.Single(audit)!["message"]!.GetValue<string>());

        // Removing every version.
        await _server.Http.DeleteAsync("/api/v1/images/web").EnsureOkAsync();
        Assert.Empty((await _server.Http.GetFromJsonAsync<JsonArray>("/api/v1/images"))!);
        Assert.Contains("no image is named 'web'", await (await _server.Http.DeleteAsync("/api/v1/images/web")).ProblemAsync(HttpStatusCode.NotFound), StringComparison.Ordinal);
    }

    [ToolFact("busybox")]
    public async Task FailedBuild_IsAnImageFailedEvent_WithTheToolOutput_AndTheBuildLog()
    {
        var notATarball = Path.Combine(_server.Dirs.Root, "rootfs.tar");
        await File.WriteAllTextAsync(notATarball, "this is not a tar archive\n");

        var (_, last, _) = await BuildAsync(new { name = "broken", @base = new { tarball = notATarball }, formats = new[] { "rootfs-tar" } });

        Assert.Equal("image.failed", last["kind"]!.GetValue<string>());
        var message = last["message"]!.GetValue<string>();
        Assert.StartsWith("broken/1 failed: ", message, StringComparison.Ordinal);
        Assert.Contains("tar", message, StringComparison.Ordinal);
        Assert.Contains("exited with code", message, StringComparison.Ordinal);
        var log = message[(message.LastIndexOf("; build log: ", StringComparison.Ordinal) + "; build log: ".Length)..];
        Assert.True(File.Exists(log), $"the build log {log} named in the event does not exist");
        Assert.Contains("failed:", await File.ReadAllTextAsync(log), StringComparison.Ordinal);
        Assert.Empty((await _server.Http.GetFromJsonAsync<JsonArray>("/api/v1/images"))!);
    }

    [Theory]
    [InlineData("""{"name": "web", "role": "nope", "base": {"folder": "/"}}""", "role: ", "/profiles/roles/nope.yaml does not exist (roles there: web)")]
    [InlineData("""{"name": "web", "base": {"folder": "/"}, "formats": ["raw", "vmdk"]}""", "formats: 'vmdk' is not an image format; use raw, qcow2, netboot, iso, nocloud, rootfs-tar", null)]
    [InlineData("""{"role": "web", "base": {"folder": "/"}}""", "name: give the image's name", null)]
    [InlineData("""{"name": "Web Server", "base": {"folder": "/"}}""", "name: 'Web Server' is not an image name", null)]
    [InlineData("""{"name": "web", "base": {"folder": "/", "tarball": "/x.tar"}}""", "base: give exactly one of", null)]
    [InlineData("""{"name": "web", "base": {"folder": "/no/such/rootfs"}}""", "base.folder: '/no/such/rootfs' is not an existing folder on the server", null)]
    [InlineData("""{"name": "web", "base": {"tarball": "relative.tar"}}""", "base.tarball: 'relative.tar' is not an existing file on the server; give the absolute path", null)]
    [InlineData("""{"name": "web", "base": {"debootstrap": {"mirror": "ftp://mirror"}}}""", "base.debootstrap.mirror: 'ftp://mirror' is not an http(s) URL", null)]
    [InlineData("""{"name": "web", "base": {"folder": "/"}, "formats": ["iso"]}""", "iso: an ISO needs the install file it boots with", null)]
    [InlineData("""{"name": "web", "base": {"folder": "/"}, "format": ["raw"]}""", "the body is not a build request", "'format'")]
    [InlineData("""{"name": "web", "base": {"folder": "/"}, "formats": []}""", "formats: none given; choose at least one of", null)]
    public async Task BadBuildRequest_Is400_SayingWhatToFix(string body, string expected, string? alsoExpected)
    {
        var response = await _server.Http.PostAsync("/api/v1/images", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        var detail = await response.ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, detail, StringComparison.Ordinal);
        if (alsoExpected is not null)
        {
            Assert.Contains(alsoExpected, detail, StringComparison.Ordinal);
        }

        Assert.Empty((await _server.Http.GetFromJsonAsync<JsonArray>("/api/v1/images"))!);
    }

    [Fact]
    public async Task BadRoleFile_Is400_WithItsLineAndField()
    {
        ImageTree.WriteRole(_server.Dirs, "broken", "kind: role\nname: broken\nfiles:\n  - path: etc/motd\n    content: hi\n");

        var detail = await (await PostBuild(new { name = "web", role = "broken", @base = new { folder = "/" } })).ProblemAsync(HttpStatusCode.BadRequest);

        Assert.Contains("role: ", detail, StringComparison.Ordinal);
        Assert.Contains("roles/broken.yaml:4: files.path", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ViewerAndOperator_CannotBuildOrRemove_ButViewerCanList()
    {
        async Task<string> Token(string name, string role) =>
            (await (await _server.Http.PostAsJsonAsync("/api/v1/tokens", new { name, role }).EnsureOkAsync()).JsonAsync())["token"]!.GetValue<string>();
        using var viewer = _server.Client(await Token("viewer-1", "viewer"));
        using var op = _server.Client(await Token("ops-1", "operator"));
        var body = new { name = "web", @base = new { folder = "/" } };

        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/api/v1/images")).StatusCode);
        Assert.Contains("needs admin", await (await viewer.PostAsJsonAsync("/api/v1/images", body)).ProblemAsync(HttpStatusCode.Forbidden), StringComparison.Ordinal);
        Assert.Contains("needs admin", await (await op.PostAsJsonAsync("/api/v1/images", body)).ProblemAsync(HttpStatusCode.Forbidden), StringComparison.Ordinal);
        Assert.Contains("needs admin", await (await viewer.DeleteAsync("/api/v1/images/web")).ProblemAsync(HttpStatusCode.Forbidden), StringComparison.Ordinal);
        Assert.Contains("needs admin", await (await op.DeleteAsync("/api/v1/images/web?version=1")).ProblemAsync(HttpStatusCode.Forbidden), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _server.Client().GetAsync("/api/v1/images")).StatusCode);
    }

    [Fact]
    public void ShippedRoleOverlays_AreValid()
    {
        var roles = Pxe.Images.Roles.RoleYaml.LoadDirectory(Path.Combine(RepoPaths.Profiles, "roles"));

        var web = roles["web"];
        Assert.Equal(["nginx"], web.Packages);
        Assert.Contains(web.Units, u => u.Name == "nginx.service" && u.Enable);
    }

    [Fact]
    public async Task UnknownImage_Is404_NamingWhatExists()
    {
        var detail = await (await _server.Http.GetAsync("/api/v1/images/nope")).ProblemAsync(HttpStatusCode.NotFound);

        Assert.Contains("no image is named 'nope' (images: none); build it with `pxe images build nope --role ROLE`", detail, StringComparison.Ordinal);
    }
}
