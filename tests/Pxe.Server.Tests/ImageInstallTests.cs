using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Pxe.Server.Tests.Support;

namespace Pxe.Server.Tests;

/// <summary>
/// "Install image X" on the real server: a profile with <c>image: web</c> hands its machines an install plan that points
/// at the library's raw disk with its checksum and size; an image the library lacks is a render error that says how to
/// build it; the renderer sees builds and removals at once, and folders removed by hand within seconds.
/// </summary>
public sealed partial class ImageInstallTests : IAsyncLifetime
{
    private const string Mac = "52:54:00:aa:10:01";
    private const string Profile = """
        kind: profile
        name: web-image
        distro: pxe-installer
        install_template: install/image.plan
        variables:
          image: web
          disk: ""
        """;

    private PxeTestServer _server = null!;

    public async Task InitializeAsync()
    {
        var dirs = TestDirs.Create();
        ImageTree.WriteRole(dirs, "web");
        // A profile that names an image but sets neither image_file nor image_sha256: the spec validator accepts it.
        dirs.WriteSpec("web-image.yaml", Profile);
        _server = await PxeTestServer.StartAsync(dirs);
    }

    public async Task DisposeAsync()
    {
        var dirs = _server.Dirs;
        await _server.DisposeAsync();
        dirs.Dispose();
    }

    /// <summary>The install plan as the machine's installer fetches it: the pxe.install= URL of its boot script.</summary>
    private async Task<HttpResponseMessage> FetchPlanAsync()
    {
        var script = await _server.Http.GetStringAsync($"/boot/ipxe?mac={Mac}");
        var url = InstallArgument().Match(ProvisioningFlowTests.Kernel(script));
        Assert.True(url.Success, "no pxe.install= on the kernel line of:\n" + script);
        return await _server.Client().GetAsync(url.Groups["url"].Value);
    }

    /// <summary>The plan's simple assignments (NAME='value'…), quotes removed as the shell would; other lines are skipped.</summary>
    private static Dictionary<string, string> PlanValues(string plan)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in PlanAssignment().Matches(plan))
        {
            values[m.Groups["name"].Value] = m.Groups["value"].Value.Replace("'", "", StringComparison.Ordinal);
        }

        return values;
    }

    private async Task<JsonNode> BuildAsync(string version)
    {
        var response = await _server.Http.PostAsJsonAsync("/api/v1/images",
            new { name = "web", version, role = "web", @base = new { folder = Path.Combine(_server.Dirs.Root, "tree") }, formats = new[] { "raw" } });
        var accepted = await response.JsonAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, accepted.ToJsonString());
        var (last, _) = await ImageTree.WaitForBuildAsync(_server.Http, $"web/{version}", accepted["events_after"]!.GetValue<long>(), TimeSpan.FromMinutes(3));
        Assert.True(last["kind"]!.GetValue<string>() == "image.built", last.ToJsonString());
        return (await _server.Http.GetFromJsonAsync<JsonNode>($"/api/v1/images/web/{version}"))!["artifacts"]![0]!;
    }

    [ToolFact("busybox", "mkfs.vfat=dosfstools", "mcopy=mtools", "sfdisk=fdisk", "mkfs.ext4=e2fsprogs")]
    public async Task ProfileWithImage_InstallsTheLibrarysRawDisk_WithItsChecksum()
    {
        ImageTree.Create(Path.Combine(_server.Dirs.Root, "tree"));
        await _server.Http.PutAsJsonAsync($"/api/v1/machines/{Mac}", new { profile = "web-image", hostname = "web01" }).EnsureOkAsync();

        // Not built yet: the plan is a render error that says how to build it; the boot script itself still renders.
        var missing = await FetchPlanAsync();
        var error = await missing.ProblemAsync(HttpStatusCode.InternalServerError);
        Assert.Contains("image 'web' (variable image, from profile:web-image) is not in the image library", error, StringComparison.Ordinal);
        Assert.Contains("pxe images build web --role ROLE --format raw", error, StringComparison.Ordinal);

        var v1 = await BuildAsync("1");
        var v2 = await BuildAsync("2");

        // The installer's plan names the newest raw disk; downloading it gives the checksum and size the plan states.
        var plan = PlanValues(await (await FetchPlanAsync()).EnsureSuccessStatusCode().Content.ReadAsStringAsync());
        Assert.Equal($"{_server.Url}/files/images/web/2/web-2.raw", plan["image_url"]);
        Assert.Equal(v2["sha256"]!.GetValue<string>(), plan["image_sha256"]);
        Assert.Equal(v2["size"]!.GetValue<long>().ToString(System.Globalization.CultureInfo.InvariantCulture), plan["image_size"]);
        Assert.Equal("none", plan["image_compression"]);
        using var anonymous = _server.Client();
        var disk = await anonymous.GetByteArrayAsync(plan["image_url"]);
        Assert.Equal(plan["image_sha256"], Convert.ToHexStringLower(SHA256.HashData(disk)));
        Assert.Equal(disk.LongLength.ToString(System.Globalization.CultureInfo.InvariantCulture), plan["image_size"]);

        // A machine pins an older version.
        await _server.Http.PutAsJsonAsync($"/api/v1/machines/{Mac}", new { profile = "web-image", variables = new { image_version = "1" } }).EnsureOkAsync();
        var pinned = await _server.Http.GetStringAsync($"/api/v1/machines/{Mac}/render/install");
        Assert.Contains("'images/web/1/web-1.raw'", pinned, StringComparison.Ordinal);
        Assert.Contains($"image_sha256='{v1["sha256"]}'", pinned, StringComparison.Ordinal);

        // Removed through the API: the next render knows at once.
        await _server.Http.DeleteAsync("/api/v1/images/web?version=1").EnsureOkAsync();
        var gone = await _server.Http.GetAsync($"/api/v1/machines/{Mac}/render/install");
        Assert.Contains("image 'web' version 1 (variable image, from profile:web-image) is not in the image library",
            await gone.ProblemAsync(HttpStatusCode.InternalServerError), StringComparison.Ordinal);

        // Removed by hand: the renderer notices within seconds.
        await _server.Http.PutAsJsonAsync($"/api/v1/machines/{Mac}", new { profile = "web-image", variables = new { image_version = "" } }).EnsureOkAsync();
        Assert.Contains("'images/web/2/web-2.raw'", await _server.Http.GetStringAsync($"/api/v1/machines/{Mac}/render/install"), StringComparison.Ordinal);
        Directory.Delete(Path.Combine(_server.Dirs.Files, "images", "web"), recursive: true);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        HttpStatusCode status;
        do
        {
            await Task.Delay(250);
            status = (await _server.Http.GetAsync($"/api/v1/machines/{Mac}/render/install")).StatusCode;
        }
        while (status == HttpStatusCode.OK && DateTime.UtcNow < deadline);
        Assert.Equal(HttpStatusCode.InternalServerError, status);
    }

    [Fact]
    public async Task MachineNamingAnUnknownImage_GetsARenderErrorNamingIt_AndStillBoots()
    {
        await _server.Http.PutAsJsonAsync($"/api/v1/machines/{Mac}", new { profile = "web-image", variables = new { image = "db" } }).EnsureOkAsync();

        var preview = await _server.Http.GetAsync($"/api/v1/machines/{Mac}/render/install");
        var boot = await _server.Http.GetAsync($"/boot/ipxe?mac={Mac}");

        var detail = await preview.ProblemAsync(HttpStatusCode.InternalServerError);
        Assert.Contains("image 'db' (variable image, from machine) is not in the image library", detail, StringComparison.Ordinal);
        Assert.Contains("`pxe images build db --role ROLE --format raw`", detail, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, boot.StatusCode);
    }

    [GeneratedRegex(@"pxe\.install=(?<url>http://\S+)")]
    private static partial Regex InstallArgument();

    [GeneratedRegex(@"^(?<name>[a-z_0-9]+)=(?<value>'[^'\n]*'(?:/files/'[^'\n]*')?)$", RegexOptions.Multiline)]
    private static partial Regex PlanAssignment();
}
