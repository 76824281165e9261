using System.Net;
using System.Net.Http.Headers;
using Pxe.Server.Tests.Support;

namespace Pxe.Server.Tests;

/// <summary>/files through the real Kestrel: ranges, validators, HEAD, and nothing outside data/files is ever served.</summary>
public sealed class FilesEndpointTests : IAsyncLifetime
{
    private const string Secret = "SECRET-OUTSIDE-THE-FILES-FOLDER";
    private PxeTestServer _server = null!;
    private byte[] _kernel = [];

    public async Task InitializeAsync()
    {
        _server = await PxeTestServer.StartAsync();
        var files = _server.Dirs.Files;
        Directory.CreateDirectory(Path.Combine(files, "distros", "rhel9-x86_64"));
        _kernel = new byte[256 * 1024 + 17];
        new Random(42).NextBytes(_kernel);
        await File.WriteAllBytesAsync(Path.Combine(files, "distros", "rhel9-x86_64", "vmlinuz"), _kernel);

        // Outside data/files: a secret beside it, and links inside that point out.
        await File.WriteAllTextAsync(Path.Combine(_server.Dirs.Root, "secret.txt"), Secret);
        await File.WriteAllTextAsync(Path.Combine(_server.Dirs.Data, "secret.txt"), Secret);
        File.CreateSymbolicLink(Path.Combine(files, "escape.txt"), Path.Combine(_server.Dirs.Root, "secret.txt"));
        File.CreateSymbolicLink(Path.Combine(files, "relative-escape.txt"), "../../secret.txt");
        Directory.CreateSymbolicLink(Path.Combine(files, "outside"), _server.Dirs.Root);
        // A link that stays inside is fine.
        File.CreateSymbolicLink(Path.Combine(files, "current-kernel"), Path.Combine(files, "distros", "rhel9-x86_64", "vmlinuz"));
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Get_ServesTheWholeFile_WithLengthETagAndAcceptRanges()
    {
        using var response = await _server.Http.GetAsync("/files/distros/rhel9-x86_64/vmlinuz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(_kernel, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(_kernel.Length, response.Content.Headers.ContentLength);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(response.Headers.ETag);
        Assert.Contains("bytes", response.Headers.AcceptRanges);
        Assert.NotNull(response.Content.Headers.LastModified);
    }

    [Fact]
    public async Task Range_Returns206_WithExactlyThoseBytes()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/files/distros/rhel9-x86_64/vmlinuz");
        request.Headers.Range = new RangeHeaderValue(1000, 66535);
        using var response = await _server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(_kernel[1000..66536], await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(1000, response.Content.Headers.ContentRange!.From);
        Assert.Equal(66535, response.Content.Headers.ContentRange.To);
        Assert.Equal(_kernel.Length, response.Content.Headers.ContentRange.Length);

        using var suffix = new HttpRequestMessage(HttpMethod.Get, "/files/distros/rhel9-x86_64/vmlinuz");
        suffix.Headers.Range = new RangeHeaderValue(null, 100);
        using var tail = await _server.Http.SendAsync(suffix);
        Assert.Equal(HttpStatusCode.PartialContent, tail.StatusCode);
        Assert.Equal(_kernel[^100..], await tail.Content.ReadAsByteArrayAsync());

        using var open = new HttpRequestMessage(HttpMethod.Get, "/files/distros/rhel9-x86_64/vmlinuz");
        open.Headers.Range = new RangeHeaderValue(_kernel.Length - 10, null);
        using var rest = await _server.Http.SendAsync(open);
        Assert.Equal(_kernel[^10..], await rest.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task MultipleRanges_AreAnsweredWithTheWholeFile_AsAspNetCoreDoes()
    {
        // ASP.NET Core's static files do not produce multipart/byteranges; RFC 9110 §14.2 lets a server ignore Range.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/files/distros/rhel9-x86_64/vmlinuz");
        request.Headers.Range = new RangeHeaderValue();
        request.Headers.Range.Ranges.Add(new RangeItemHeaderValue(0, 9));
        request.Headers.Range.Ranges.Add(new RangeItemHeaderValue(100, 109));
        using var response = await _server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(_kernel, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task UnsatisfiableRange_Is416_WithTheLength()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/files/distros/rhel9-x86_64/vmlinuz");
        request.Headers.Range = new RangeHeaderValue(_kernel.Length + 10, null);
        using var response = await _server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal(_kernel.Length, response.Content.Headers.ContentRange?.Length);
    }

    [Fact]
    public async Task IfNoneMatch_WithTheETag_Is304_WithoutABody_AndIfRangeWithAStaleETagGivesTheWholeFile()
    {
        using var first = await _server.Http.GetAsync("/files/distros/rhel9-x86_64/vmlinuz");
        var etag = first.Headers.ETag!;

        using var conditional = new HttpRequestMessage(HttpMethod.Get, "/files/distros/rhel9-x86_64/vmlinuz");
        conditional.Headers.IfNoneMatch.Add(etag);
        using var notModified = await _server.Http.SendAsync(conditional);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());

        using var other = new HttpRequestMessage(HttpMethod.Get, "/files/distros/rhel9-x86_64/vmlinuz");
        other.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"something-else\""));
        using var modified = await _server.Http.SendAsync(other);
        Assert.Equal(HttpStatusCode.OK, modified.StatusCode);

        using var resume = new HttpRequestMessage(HttpMethod.Get, "/files/distros/rhel9-x86_64/vmlinuz");
        resume.Headers.Range = new RangeHeaderValue(0, 9);
        resume.Headers.IfRange = new RangeConditionHeaderValue(new EntityTagHeaderValue("\"stale\""));
        using var whole = await _server.Http.SendAsync(resume);
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal(_kernel.Length, (await whole.Content.ReadAsByteArrayAsync()).Length);

        using var fresh = new HttpRequestMessage(HttpMethod.Get, "/files/distros/rhel9-x86_64/vmlinuz");
        fresh.Headers.Range = new RangeHeaderValue(0, 9);
        fresh.Headers.IfRange = new RangeConditionHeaderValue(etag);
        using var part = await _server.Http.SendAsync(fresh);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(_kernel[..10], await part.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Head_GivesHeadersWithoutTheBody()
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, "/files/distros/rhel9-x86_64/vmlinuz");
        using var response = await _server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(_kernel.Length, response.Content.Headers.ContentLength);
        Assert.NotNull(response.Headers.ETag);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task MissingFile_AndFolders_Are404()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await _server.Http.GetAsync("/files/distros/rhel9-x86_64/initrd.img")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _server.Http.GetAsync("/files/distros/")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _server.Http.GetAsync("/files/distros")).StatusCode);
    }

    [Fact]
    public async Task SymlinkThatStaysInside_IsServed()
    {
        Assert.Equal(_kernel, await _server.Http.GetByteArrayAsync("/files/current-kernel"));
    }

    [Theory]
    [InlineData("/files/../secret.txt")]
    [InlineData("/files/../../secret.txt")]
    [InlineData("/files/%2e%2e/secret.txt")]
    [InlineData("/files/%2E%2E/%2e%2e/secret.txt")]
    [InlineData("/files/..%2fsecret.txt")]
    [InlineData("/files/..%2F..%2Fsecret.txt")]
    [InlineData("/files/distros/..%2f..%2f..%2fsecret.txt")]
    [InlineData("/files/..%5csecret.txt")]
    [InlineData("/files/..\\..\\secret.txt")]
    [InlineData("/files/distros\\..\\..\\secret.txt")]
    [InlineData("/files/%252e%252e/secret.txt")]
    [InlineData("/files/escape.txt")]
    [InlineData("/files/relative-escape.txt")]
    [InlineData("/files/outside/secret.txt")]
    [InlineData("/files/outside/data/secret.txt")]
    [InlineData("/files//etc/passwd")]
    [InlineData("/files/%2fetc%2fpasswd")]
    [InlineData("/files/distros/rhel9-x86_64/vmlinuz%00.txt")]
    [InlineData("/files/./../secret.txt")]
    [InlineData("/files/distros/./../../secret.txt")]
    [InlineData("/files/distros/rhel9-x86_64/../../../secret.txt")]
    [InlineData("/files/..;/secret.txt")]
    [InlineData("/files/%2e%2e%2fsecret.txt")]
    [InlineData("/files/%2e%2e%5csecret.txt")]
    [InlineData("/files/.%2e/secret.txt")]
    [InlineData("/files/%2e./secret.txt")]
    [InlineData("/files/%c0%ae%c0%ae/secret.txt")]
    [InlineData("/files/%c0%ae%c0%ae%c0%afsecret.txt")]
    [InlineData("/files/%e0%80%ae%e0%80%ae/secret.txt")]
    [InlineData("/files/..%c0%afsecret.txt")]
    [InlineData("/files/..%255csecret.txt")]
    [InlineData("/files/%252e%252e%252fsecret.txt")]
    [InlineData("/files/....//secret.txt")]
    [InlineData("/files/..../secret.txt")]
    [InlineData("/files/.../secret.txt")]
    [InlineData("/files/..%00/secret.txt")]
    [InlineData("/files/%00../secret.txt")]
    [InlineData("/files/secret.txt%00")]
    [InlineData("/files/../secret.txt%00.bin")]
    [InlineData("/files/%2e%2e/%2e%2e/%2e%2e/etc/passwd")]
    [InlineData("/files/../../../../../../../../etc/passwd")]
    [InlineData("/files/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd")]
    [InlineData("/files/\\etc\\passwd")]
    [InlineData("/files/%5cetc%5cpasswd")]
    [InlineData("/files/C:\\Windows\\win.ini")]
    [InlineData("/files/file:///etc/passwd")]
    [InlineData("/files/distros/../../../proc/self/environ")]
    [InlineData("/files/%2e%2e/%2e%2e/proc/self/cmdline")]
    [InlineData("/files/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/secret.txt")]
    [InlineData("/files/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")]
    [InlineData("/files/distros//..//..//secret.txt")]
    [InlineData("/files/distros/%2e%2e/%2e%2e/secret.txt")]
    [InlineData("/files/../data/pxe.db")]
    [InlineData("/files/../pxe.db")]
    [InlineData("/files/..%2fpxe.db")]
    [InlineData("/files/../admin-token")]
    [InlineData("/files/%2e%2e/admin-token")]
    public async Task TraversalAttempts_AreNeverServed(string target)
    {
        var (status, body) = await RawHttp.GetAsync(_server.Url, target);
        Assert.True(status is 400 or 404, $"{target} answered {status}");
        Assert.DoesNotContain(Secret, body, StringComparison.Ordinal);
        Assert.DoesNotContain("root:", body, StringComparison.Ordinal);
        Assert.DoesNotContain("SQLite format", body, StringComparison.Ordinal);
        Assert.DoesNotContain("pxe_", body, StringComparison.Ordinal);
    }
}
