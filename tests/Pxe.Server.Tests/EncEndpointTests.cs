using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Pxe.Server.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace Pxe.Server.Tests;

/// <summary>
/// The Puppet external node classifier, GET /api/v1/enc/{certname}: the YAML Puppet reads (parsed back here), the
/// lookup by certname, what it never shows, its errors, its authentication, and the exec script the README documents.
/// </summary>
public sealed class EncEndpointTests : IAsyncLifetime
{
    private const string Mac = "52:54:00:e0:00:01";

    private const string PuppetProfile = """
        kind: profile
        name: puppet-web
        parent: rhel9-base
        secrets: [site_key]
        variables:
          role: web
          puppet_classes: ["profile::base", "ntp", "role::web"]
          rack: a1
          api_token: s3cr3t-token-value
          site_key: K-123-declared
          bmc: {user: admin, password: hunter2, ports: [623]}
          legacy: "on"
          name: must-not-be-a-parameter
        handoff:
          client: puppet
          server: puppet.example.net
          environment: staging
        """;

    private PxeTestServer _server = null!;

    public async Task InitializeAsync()
    {
        var dirs = TestDirs.Create();
        dirs.WriteSpec("puppet-web.yaml", PuppetProfile);
        _server = await PxeTestServer.StartAsync(dirs);
        await PutMachine(Mac, new { profile = "puppet-web", hostname = "web01", domain = "example.net", variables = new { rack = "b7" } });
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _server.Dirs.Dispose();
    }

    private async Task PutMachine(string mac, object body) =>
        await _server.Http.PutAsJsonAsync($"/api/v1/machines/{mac}", body).EnsureOkAsync();

    private async Task<(string Text, YamlMappingNode Root)> Classify(string certname, HttpClient? http = null)
    {
        var response = await (http ?? _server.Http).GetAsync($"/api/v1/enc/{certname}");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET /api/v1/enc/{certname}: {(int)response.StatusCode} {text}");
        Assert.Equal("text/yaml", response.Content.Headers.ContentType?.MediaType);
        var yaml = new YamlStream();
        yaml.Load(new StringReader(text));
        return (text, (YamlMappingNode)yaml.Documents[0].RootNode);
    }

    private static string Scalar(YamlMappingNode map, string key) => ((YamlScalarNode)map[key]).Value!;

    private static List<string> Classes(YamlMappingNode root) =>
        ((YamlSequenceNode)root["classes"]).Children.Select(c => ((YamlScalarNode)c).Value!).ToList();

    [Fact]
    public async Task Enc_ByFqdn_GivesTheRoleClass_ParametersAndTheHandoffEnvironment()
    {
        var (_, root) = await Classify("web01.example.net");

        Assert.Equal(["role::web", "profile::base", "ntp"], Classes(root));
        Assert.Equal("staging", Scalar(root, "environment"));
        var parameters = (YamlMappingNode)root["parameters"];
        Assert.Equal("web01", Scalar(parameters, "hostname"));
        Assert.Equal("web01.example.net", Scalar(parameters, "fqdn"));
        Assert.Equal(Mac, Scalar(parameters, "mac"));
        Assert.Equal("puppet-web", Scalar(parameters, "profile"));
        Assert.Equal("web", Scalar(parameters, "role"));
        Assert.Equal("b7", Scalar(parameters, "rack"));
        Assert.Equal("Etc/UTC", Scalar(parameters, "timezone"));
        // YAML 1.1 readers (Puppet's Psych) take a plain on as true: strings are quoted.
        Assert.Equal(YamlDotNet.Core.ScalarStyle.DoubleQuoted, ((YamlScalarNode)parameters["legacy"]).Style);
        Assert.Equal("admin", Scalar((YamlMappingNode)parameters["bmc"], "user"));
        Assert.False(parameters.Children.ContainsKey("puppet_classes"));
        Assert.False(parameters.Children.ContainsKey("name"));
    }

    [Fact]
    public async Task Enc_NeverShowsSecrets()
    {
        var (text, root) = await Classify("web01.example.net");
        var parameters = (YamlMappingNode)root["parameters"];

        foreach (var secret in new[] { "s3cr3t-token-value", "K-123-declared", "hunter2", "$6$" })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }

        foreach (var key in new[] { "api_token", "site_key", "root_password_hash", "install_token", "events_url", "done_url", "handoff" })
        {
            Assert.False(parameters.Children.ContainsKey(key), $"parameter {key} must not be shown");
        }

        Assert.False(((YamlMappingNode)parameters["bmc"]).Children.ContainsKey("password"));
    }

    [Theory]
    [InlineData("web01")]
    [InlineData("WEB01")]
    [InlineData("Web01.Example.NET")]
    public async Task Enc_MatchesTheFqdnOrShortHostName_IgnoringCase(string certname)
    {
        var (_, root) = await Classify(certname);

        Assert.Equal("web01.example.net", Scalar((YamlMappingNode)root["parameters"], "fqdn"));
    }

    [Fact]
    public async Task Enc_UnknownCertname_IsANotFoundProblem()
    {
        var detail = await (await _server.Http.GetAsync("/api/v1/enc/nobody.example.net")).ProblemAsync(HttpStatusCode.NotFound);

        Assert.Contains("no machine has certname 'nobody.example.net'", detail, StringComparison.Ordinal);
        Assert.Contains("could not find node", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Enc_BadCertname_IsABadRequest()
    {
        var detail = await (await _server.Http.GetAsync("/api/v1/enc/web01%20x")).ProblemAsync(HttpStatusCode.BadRequest);

        Assert.Contains("is not a certname", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Enc_NeedsAToken_AndAViewerTokenIsEnough()
    {
        using var anonymous = _server.Client();
        using var forged = _server.Client("pxe_not-a-real-token");
        var viewerToken = (await (await _server.Http.PostAsJsonAsync("/api/v1/tokens", new { name = "puppet-enc", role = "viewer" }).EnsureOkAsync()).JsonAsync())["token"]!.GetValue<string>();
        using var viewer = _server.Client(viewerToken);

        var none = await anonymous.GetAsync("/api/v1/enc/web01.example.net");
        await none.ProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", none.Headers.WwwAuthenticate.Single().Scheme);
        await (await forged.GetAsync("/api/v1/enc/web01.example.net")).ProblemAsync(HttpStatusCode.Unauthorized);
        var (_, root) = await Classify("web01.example.net", viewer);
        Assert.Equal("staging", Scalar(root, "environment"));
    }

    [Fact]
    public async Task Enc_OverPlainHttp_IsForbidden_WhenTheApiIsHttpsOnly()
    {
        using var dirs = TestDirs.Create();
        using var key = RSA.Create(2048);
        using var cert = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var certFile = Path.Combine(dirs.Root, "cert.pem");
        var keyFile = Path.Combine(dirs.Root, "key.pem");
        await File.WriteAllTextAsync(certFile, cert.ExportCertificatePem());
        await File.WriteAllTextAsync(keyFile, key.ExportPkcs8PrivateKeyPem());
        await using var server = await PxeTestServer.StartAsync(dirs, o => o with
        {
            HttpsUrl = $"https://127.0.0.1:{PxeTestServer.FreePort()}", CertificateFile = certFile, CertificateKeyFile = keyFile,
        });

        var detail = await (await server.Http.GetAsync("/api/v1/enc/web01.example.net")).ProblemAsync(HttpStatusCode.Forbidden);

        Assert.Contains("HTTPS only", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Enc_ShortNameOfTwoMachines_IsAConflict_TheirFqdnsAreNot()
    {
        await PutMachine("52:54:00:e0:00:02", new { profile = "puppet-web", hostname = "db01", domain = "a.example.net" });
        await PutMachine("52:54:00:e0:00:03", new { profile = "puppet-web", hostname = "db01", domain = "b.example.net" });

        var detail = await (await _server.Http.GetAsync("/api/v1/enc/db01")).ProblemAsync(HttpStatusCode.Conflict);

        Assert.Contains("matches the host name of 2 machines", detail, StringComparison.Ordinal);
        Assert.Equal("db01.b.example.net", Scalar((YamlMappingNode)(await Classify("db01.b.example.net")).Root["parameters"], "fqdn"));
    }

    [Fact]
    public async Task Enc_RoleThatCannotNameAClass_IsAConflictThatSaysWhy()
    {
        await PutMachine("52:54:00:e0:00:04", new { profile = "puppet-web", hostname = "odd01", variables = new { role = "Web-Tier" } });

        var detail = await (await _server.Http.GetAsync("/api/v1/enc/odd01")).ProblemAsync(HttpStatusCode.Conflict);

        Assert.Contains("role 'Web-Tier' cannot name the Puppet class role::Web-Tier", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Enc_ForAProfileWithAnotherClient_LeavesTheEnvironmentToTheAgent()
    {
        await PutMachine("52:54:00:e0:00:05", new { profile = "web", hostname = "plain01" });

        var (_, root) = await Classify("plain01");

        Assert.False(root.Children.ContainsKey("environment"));
        Assert.Equal(["role::web"], Classes(root));
    }

    [ToolFact("curl")]
    public async Task ExecScriptFromTheReadme_PrintsTheNode_AndFailsForAnUnknownNode()
    {
        var readme = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "README.md"));
        const string start = "```sh\n#!/bin/sh\n# /usr/local/bin/pxe-enc";
        var at = readme.IndexOf(start, StringComparison.Ordinal);
        Assert.True(at >= 0, "the README documents the ENC script in a ```sh block starting with #!/bin/sh and # /usr/local/bin/pxe-enc");
        var script = readme[(at + 6)..readme.IndexOf("```", at + 6, StringComparison.Ordinal)];
        var viewerToken = (await (await _server.Http.PostAsJsonAsync("/api/v1/tokens", new { name = "enc-script", role = "viewer" }).EnsureOkAsync()).JsonAsync())["token"]!.GetValue<string>();
        var tokenFile = Path.Combine(_server.Dirs.Root, "pxe-enc.token");
        var scriptFile = Path.Combine(_server.Dirs.Root, "pxe-enc");
        await File.WriteAllTextAsync(tokenFile, viewerToken + "\n");
        await File.WriteAllTextAsync(scriptFile, script
            .Replace("/etc/puppetlabs/puppet/pxe-enc.token", tokenFile, StringComparison.Ordinal)
            .Replace("https://pxe.example.net:8443", _server.Url, StringComparison.Ordinal));

        var found = Tools.Run("sh", [scriptFile, "web01.example.net"], TimeSpan.FromSeconds(30));
        var missing = Tools.Run("sh", [scriptFile, "nobody.example.net"], TimeSpan.FromSeconds(30));

        Assert.True(found.ExitCode == 0, found.Output);
        var yaml = new YamlStream();
        yaml.Load(new StringReader(found.Stdout));
        Assert.Equal("staging", Scalar((YamlMappingNode)yaml.Documents[0].RootNode, "environment"));
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Equal("", missing.Stdout);
    }
}
