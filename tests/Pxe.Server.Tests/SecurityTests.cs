using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Pxe.Server.Tests.Support;

namespace Pxe.Server.Tests;

/// <summary>Who may do what on the API, what machines may see, and what the read API never shows.</summary>
public sealed class SecurityTests : IAsyncLifetime
{
    private const string Mac = "52:54:00:aa:bb:01";
    private PxeTestServer _server = null!;

    public async Task InitializeAsync() => _server = await PxeTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<string> Token(string name, string role)
    {
        var created = await (await _server.Http.PostAsJsonAsync("/api/v1/tokens", new { name, role }).EnsureOkAsync()).JsonAsync();
        return created["token"]!.GetValue<string>();
    }

    private async Task<List<(string Method, string Path)>> ApiRoutes()
    {
        var doc = await (await _server.Http.GetAsync("/api/v1/openapi.json")).JsonAsync();
        var routes = new List<(string, string)>();
        foreach (var (path, item) in doc["paths"]!.AsObject())
        {
            if (!path.StartsWith("/api/v1/", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (var (method, _) in item!.AsObject())
            {
                if (method is "get" or "put" or "post" or "delete" or "patch")
                {
                    routes.Add((method.ToUpperInvariant(), path.Replace("{mac}", Mac, StringComparison.Ordinal)
                        .Replace("{name}", "web", StringComparison.Ordinal).Replace("{file}", "install", StringComparison.Ordinal)));
                }
            }
        }

        return routes;
    }

    private static async Task<HttpStatusCode> Send(HttpClient http, string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method is not ("GET" or "DELETE"))
        {
            request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task EveryApiRoute_NeedsAToken_AndMutatingRoutesNeedTheirRole()
    {
        var routes = await ApiRoutes();
        Assert.True(routes.Count >= 20, $"only {routes.Count} API routes in the OpenAPI document");
        using var anonymous = _server.Client();
        using var viewer = _server.Client(await Token("view-only", "viewer"));
        using var op = _server.Client(await Token("ops-bob", "operator"));
        string[] operatorMay = [$"PUT /api/v1/machines/{Mac}", $"POST /api/v1/machines/{Mac}/reimage"];
        string[] adminOnlyReads = ["GET /api/v1/tokens"];
        var problems = new List<string>();
        foreach (var (method, path) in routes)
        {
            var route = $"{method} {path}";
            var none = await Send(anonymous, method, path);
            if (none != HttpStatusCode.Unauthorized)
            {
                problems.Add($"{route} without a token answered {(int)none}");
            }

            var asViewer = await Send(viewer, method, path);
            var mutating = method != "GET" || adminOnlyReads.Contains(route);
            if (mutating ? asViewer != HttpStatusCode.Forbidden : asViewer is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                problems.Add($"{route} as viewer answered {(int)asViewer}");
            }

            if (mutating)
            {
                var asOperator = await Send(op, method, path);
                var allowed = operatorMay.Contains(route);
                if (allowed ? asOperator is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden : asOperator != HttpStatusCode.Forbidden)
                {
                    problems.Add($"{route} as operator answered {(int)asOperator}");
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task ChangesAreAudited_WithTheTokensName()
    {
        using var op = _server.Client(await Token("ops-bob", "operator"));
        (await op.PutAsJsonAsync($"/api/v1/machines/{Mac}", new { profile = "web" })).EnsureSuccessStatusCode();
        (await op.PostAsync($"/api/v1/machines/{Mac}/reimage", null)).EnsureSuccessStatusCode();
        var events = (await (await _server.Http.GetAsync($"/api/v1/events?mac={Mac}")).JsonAsync()).AsArray();
        Assert.Contains(events, e => e!["kind"]!.GetValue<string>() == "reimage" && e["actor"]!.GetValue<string>() == "ops-bob");
        Assert.Contains(events, e => e!["kind"]!.GetValue<string>() == "machine.changed" && e["actor"]!.GetValue<string>() == "ops-bob");
        var created = (await (await _server.Http.GetAsync("/api/v1/events?kind=token.created")).JsonAsync()).AsArray();
        Assert.Contains(created, e => e!["message"]!.GetValue<string>().Contains("'ops-bob'", StringComparison.Ordinal) && e["actor"]!.GetValue<string>() == "admin");
    }

    [Fact]
    public async Task RevokedToken_StopsWorking_AndRefusalsAreEvents()
    {
        var secret = await Token("temp", "viewer");
        using var temp = _server.Client(secret);
        Assert.Equal(HttpStatusCode.OK, (await temp.GetAsync("/api/v1/machines")).StatusCode);
        (await _server.Http.DeleteAsync("/api/v1/tokens/temp")).EnsureSuccessStatusCode();
        var refused = await temp.GetAsync("/api/v1/machines");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("Bearer", refused.Headers.WwwAuthenticate.Single().Scheme);
        await _server.FlushEventsAsync();
        var denied = (await (await _server.Http.GetAsync("/api/v1/events?kind=access.denied")).JsonAsync()).AsArray();
        Assert.Contains(denied, e => e!["message"]!.GetValue<string>().Contains("invalid or revoked", StringComparison.Ordinal));
        var list = (await (await _server.Http.GetAsync("/api/v1/tokens")).JsonAsync()).AsArray();
        Assert.DoesNotContain(secret, list.ToJsonString(), StringComparison.Ordinal);
        Assert.NotNull(list.Single(t => t!["name"]!.GetValue<string>() == "temp")!["revoked"]);
    }

    [Fact]
    public async Task AnotherMachinesInstallFile_IsRefused()
    {
        const string other = "52:54:00:aa:bb:02";
        await _server.Http.PutAsJsonAsync($"/api/v1/machines/{Mac}", new { profile = "web" });
        await _server.Http.PutAsJsonAsync($"/api/v1/machines/{other}", new { profile = "web" });
        var (_, mine) = ProvisioningFlowTests.InstallUrl(ProvisioningFlowTests.Kernel(await _server.Http.GetStringAsync($"/boot/ipxe?mac={Mac}")), _server.Url);
        var (_, theirs) = ProvisioningFlowTests.InstallUrl(ProvisioningFlowTests.Kernel(await _server.Http.GetStringAsync($"/boot/ipxe?mac={other}")), _server.Url);
        Assert.Equal(HttpStatusCode.OK, (await _server.Http.GetAsync($"/boot/{Mac}/t/{mine}/install")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await _server.Http.GetAsync($"/boot/{other}/t/{mine}/install")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await _server.Http.GetAsync($"/boot/{other}/install")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await _server.Http.GetAsync($"/boot/{other}/install?token={mine}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _server.Http.GetAsync($"/boot/{other}/install?token={theirs}")).StatusCode);
        await _server.FlushEventsAsync();
        var denied = (await (await _server.Http.GetAsync($"/api/v1/events?mac={other}&kind=access.denied")).JsonAsync()).AsArray();
        Assert.Equal(3, denied.Count);
    }

    [Fact]
    public async Task Secrets_AreRendered_ButNeverReturnedByTheReadApi()
    {
        await _server.Http.PutAsJsonAsync($"/api/v1/machines/{Mac}", new { profile = "web", variables = new { bmc_password = "hunter2", rack = "a1" } });
        var hash = System.Text.RegularExpressions.Regex.Match(await File.ReadAllTextAsync(Path.Combine(_server.Dirs.Spec, "base.yaml")), @"\$6\$[^""]+").Value;
        Assert.StartsWith("$6$", hash, StringComparison.Ordinal);

        var reads = new[]
        {
            "/api/v1/profiles/rhel9-base", "/api/v1/profiles", "/api/v1/profiles/web/resolved", "/api/v1/profiles/rhel9-base/versions?yaml=true",
            $"/api/v1/machines/{Mac}", "/api/v1/machines", $"/api/v1/machines/{Mac}/variables", "/api/v1/events",
        };
        foreach (var url in reads)
        {
            var text = await _server.Http.GetStringAsync(url);
            Assert.DoesNotContain(hash, text, StringComparison.Ordinal);
            Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
        }

        Assert.Contains("(secret)", await _server.Http.GetStringAsync($"/api/v1/machines/{Mac}/variables"), StringComparison.Ordinal);
        Assert.Contains("a1", await _server.Http.GetStringAsync($"/api/v1/machines/{Mac}"), StringComparison.Ordinal);
        var (_, token) = ProvisioningFlowTests.InstallUrl(ProvisioningFlowTests.Kernel(await _server.Http.GetStringAsync($"/boot/ipxe?mac={Mac}")), _server.Url);
        Assert.Contains(hash, await _server.Http.GetStringAsync($"/boot/{Mac}/t/{token}/install"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdminTokenFile_IsOwnerOnly_AndCreatedOnlyOnce()
    {
        using var dirs = TestDirs.Create();
        var file = Path.Combine(dirs.Data, "admin-token");
        string first;
        await using (var s1 = await PxeTestServer.StartAsync(dirs))
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            first = await File.ReadAllTextAsync(file);
            Assert.StartsWith("pxe_", first, StringComparison.Ordinal);
        }

        await using var s2 = await PxeTestServer.StartAsync(dirs);
        Assert.Equal(first, await File.ReadAllTextAsync(file));
        var tokens = (await (await s2.Http.GetAsync("/api/v1/tokens")).JsonAsync()).AsArray();
        Assert.Equal("admin", Assert.Single(tokens)!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task ATokenThatFloods_GetsTooManyRequests()
    {
        await using var server = await PxeTestServer.StartAsync(configure: o => o with { ApiRequestsPerSecond = 5 });
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 40; i++)
        {
            statuses.Add((await server.Http.GetAsync("/api/v1/machines")).StatusCode);
        }

        Assert.Contains(HttpStatusCode.OK, statuses);
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        // Boot routes are not rate limited per token: firmware has none.
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/boot.ipxe")).StatusCode);
    }

    [Fact]
    public async Task OversizedBodies_AreRefused()
    {
        await using var server = await PxeTestServer.StartAsync(configure: o => o with { MaxRequestBodyBytes = 4096 });
        var big = new StringContent("[" + string.Join(",", Enumerable.Repeat("{\"mac\":\"52:54:00:00:00:01\"}", 500)) + "]", Encoding.UTF8, "application/json");
        var response = await server.Http.PostAsync("/api/v1/machines/import", big);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task WithACertificate_TheApiIsHttpsOnly_AndBootRoutesStayOnHttp()
    {
        using var dirs = TestDirs.Create();
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var certFile = Path.Combine(dirs.Root, "cert.pem");
        var keyFile = Path.Combine(dirs.Root, "key.pem");
        await File.WriteAllTextAsync(certFile, cert.ExportCertificatePem());
        await File.WriteAllTextAsync(keyFile, key.ExportPkcs8PrivateKeyPem());
        var httpsUrl = $"https://127.0.0.1:{PxeTestServer.FreePort()}";
        await using var server = await PxeTestServer.StartAsync(dirs, o => o with { HttpsUrl = httpsUrl, CertificateFile = certFile, CertificateKeyFile = keyFile });

        var plain = await server.Http.GetAsync("/api/v1/machines");
        Assert.Equal(HttpStatusCode.Forbidden, plain.StatusCode);
        Assert.Contains(httpsUrl, await plain.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/boot.ipxe")).StatusCode);

        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, c, _, _) => c!.Thumbprint == cert.Thumbprint };
        using var secure = new HttpClient(handler) { BaseAddress = new Uri(httpsUrl) };
        secure.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server.AdminToken);
        Assert.Equal(HttpStatusCode.OK, (await secure.GetAsync("/api/v1/machines")).StatusCode);
    }
}
