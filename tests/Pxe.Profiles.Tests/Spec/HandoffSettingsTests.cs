using Pxe.Profiles.Domain;
using Pxe.Profiles.Rendering;
using Pxe.Profiles.Spec;
using Pxe.Profiles.Tests.Templates;

namespace Pxe.Profiles.Tests.Spec;

/// <summary>
/// A profile's <c>handoff:</c> settings: what each client accepts and needs, the errors the spec validator reports
/// (with file, line and what to fix), inheritance, the template variable each machine gets, and its secret.
/// </summary>
public sealed class HandoffSettingsTests
{
    private const string Base = """
        kind: profile
        name: base
        distro: rocky9
        install_template: install/rhel9.ks
        variables:
          root_password_hash: "$6$x$y"
          ntp_servers: []
          ssh_authorized_keys: []
        """;

    private static readonly HashSet<string> NoServerVariables = [];

    private sealed class Catalog : ITemplateCatalog
    {
        public IReadOnlyCollection<string> Names => [.. BootTemplates.All, "install/rhel9.ks"];

        public bool Exists(string name) => Names.Contains(name);

        public IReadOnlySet<string> RequiredVariables(string name) => new HashSet<string>();
    }

    /// <summary>A spec read from YAML files (file name → text), with the rocky9 distro.</summary>
    private static SpecModel Spec(params (string File, string Yaml)[] files)
    {
        var profiles = new List<(Profile, SpecSource)>();
        foreach (var (file, yaml) in files)
        {
            var read = SpecYaml.Read(yaml, file);
            Assert.True(read.Errors.Count == 0, string.Join("\n", read.Errors));
            profiles.Add((read.Profile!, read.Source));
        }

        return new SpecModel([(ProfileResolverTests.Rocky, new SpecSource("distros/rocky9.yaml", 1))], profiles, 0);
    }

    private static IReadOnlyList<SpecError> Validate(params (string File, string Yaml)[] files) =>
        SpecValidator.Validate(Spec(files), new Catalog(), NoServerVariables);

    /// <summary>A profile "web" (parent base) whose body follows the header.</summary>
    private static (string, string) Web(string body) => ("web.yaml", "kind: profile\nname: web\nparent: base\n" + body);

    private static (HandoffSettings? Settings, IReadOnlyList<HandoffError> Errors) Parse(Dictionary<string, object?> values) =>
        HandoffSettings.Parse(values.ToDictionary(v => v.Key, v => new Sourced<object?>(v.Value, "profile:web")));

    [Fact]
    public void EmptyHandoff_IsClientNone()
    {
        var (settings, errors) = Parse([]);

        Assert.Empty(errors);
        Assert.Same(HandoffSettings.None, settings);
        Assert.Equal("none", settings!.TemplateValue(new HandoffMachine("web01", ""))["client"]);
    }

    [Fact]
    public void Puppet_FillsDefaults_CertnameIsTheLowerCaseFqdn()
    {
        var (settings, errors) = Parse(new() { ["client"] = "puppet", ["server"] = "puppet.example.net" });

        Assert.Empty(errors);
        var puppet = Assert.IsType<PuppetHandoff>(settings);
        Assert.Equal("production", puppet.Environment);
        Assert.True(puppet.Service);
        Assert.Equal("puppet-agent", puppet.Package);
        Assert.Equal(HandoffSettings.DefaultTimeout, puppet.Timeout);
        var value = puppet.TemplateValue(new HandoffMachine("Web01.Example.NET", "web"));
        Assert.Equal("web01.example.net", value["certname"]);
        Assert.Equal("web", value["role"]);
        Assert.Equal(3600L, value["timeout"]);
    }

    /// <summary>The template variable contract: exactly these keys per client (README, "First-boot hand-off").</summary>
    [Theory]
    [InlineData("none", "")]
    [InlineData("puppet", "server environment certname service")]
    [InlineData("chef", "server_url run_list run_list_text node_name validation_client_name validation_key chef_license first_boot_json")]
    [InlineData("salt", "master minion_id grains grains_yaml service")]
    [InlineData("ansible-pull", "repository playbook branch extra_vars")]
    [InlineData("cloud-init", "user_data user_data_base64")]
    [InlineData("shell", "script script_base64 interpreter")]
    public void TemplateValue_HasTheDocumentedKeys(string client, string own)
    {
        var settings = HandoffTemplateTests.Parse(HandoffTemplateTests.SampleSettings(client));

        var keys = settings.TemplateValue(new HandoffMachine("web01.example.net", "web", "k")).Keys.Order(StringComparer.Ordinal);

        string[] common = ["client", "role", "timeout", "package", "release_package", "install_script"];
        Assert.Equal(common.Concat(own.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Order(StringComparer.Ordinal), keys);
    }

    [Fact]
    public void Chef_RedactsTheValidationKey_UnlessRendering()
    {
        var settings = HandoffTemplateTests.Parse(HandoffTemplateTests.SampleSettings("chef"));

        Assert.Equal(SecretVariables.Redacted, settings.TemplateValue(new HandoffMachine("web01", "web"))["validation_key"]);
        Assert.Equal("PEM", settings.TemplateValue(new HandoffMachine("web01", "web", "PEM"))["validation_key"]);
        Assert.Equal("{\"run_list\":[\"recipe[base]\",\"role[web]\"]}", settings.TemplateValue(new HandoffMachine("web01", "web"))["first_boot_json"]);
    }

    [Fact]
    public void Salt_AddsTheRoleToTheGrains_AsQuotedYaml()
    {
        var settings = HandoffTemplateTests.Parse(HandoffTemplateTests.SampleSettings("salt"));

        var value = settings.TemplateValue(new HandoffMachine("web01.example.net", "db"));

        Assert.Equal("db", ((IReadOnlyDictionary<string, object?>)value["grains"]!)["role"]);
        Assert.Equal("datacenter: \"fra1\"\nrack: \"on\"\ntier: 3\nrole: \"db\"\n", value["grains_yaml"]);
        Assert.Equal("web01.example.net", value["minion_id"]);
    }

    [Theory]
    [InlineData("client: frobnicate", "handoff.client", "'frobnicate' is not a configuration client; use one of puppet, chef, salt, ansible-pull, cloud-init, shell, none")]
    [InlineData("server: puppet.example.net", "handoff.client", "handoff sets server but no client; add client: puppet | chef | salt | ansible-pull | cloud-init | shell | none")]
    [InlineData("client: puppet", "handoff.server", "is required")]
    [InlineData("client: puppet\n  server: https://puppet.example.net:8140", "handoff.server", "is not a host name or IP address")]
    [InlineData("client: puppet\n  server: puppet\n  environment: Prod-1", "handoff.environment", "'Prod-1' is not a Puppet environment name")]
    [InlineData("client: puppet\n  server: puppet\n  service: \"yes\"", "handoff.service", "must be true or false")]
    [InlineData("client: puppet\n  server: puppet\n  serverr: x", "handoff.serverr", "unknown hand-off setting for client puppet (set in profile:web); puppet takes server (required)")]
    [InlineData("client: puppet\n  server: puppet\n  master: salt", "handoff.master", "'master' is a salt setting, but the client is puppet; remove it, or write '!master: ~'")]
    [InlineData("client: chef\n  run_list: [\"role[web]\"]", "handoff.server_url", "is required")]
    [InlineData("client: chef\n  server_url: chef.example.net\n  run_list: [\"role[web]\"]", "handoff.server_url", "is not an absolute http or https URL")]
    [InlineData("client: chef\n  server_url: https://chef\n  run_list: role[web]", "handoff.run_list", "must be a list of run-list items")]
    [InlineData("client: chef\n  server_url: https://chef\n  run_list: [\"role[web\", \"recipe[ok]\"]", "handoff.run_list", "'role[web' is not a run-list item")]
    [InlineData("client: chef\n  server_url: https://chef\n  run_list: []", "handoff.run_list", "is empty")]
    [InlineData("client: chef\n  server_url: https://chef\n  run_list: [base]\n  chef_license: yes", "handoff.chef_license", "'yes' is not allowed; use one of accept, accept-silent, accept-no-persist")]
    [InlineData("client: chef\n  server_url: https://chef\n  run_list: [base]\n  validation_key: \"-----BEGIN\"", "handoff.validation_key", "must be the name of a secret variable")]
    [InlineData("client: salt", "handoff.master", "is required")]
    [InlineData("client: salt\n  master: salt\n  grains: [a, b]", "handoff.grains", "must be a mapping of grain names to values")]
    [InlineData("client: salt\n  master: salt\n  grains: {dc: \"a\\nb\"}", "handoff.grains", "grains.dc must be one line")]
    [InlineData("client: ansible-pull\n  playbook: site.yml", "handoff.repository", "is required")]
    [InlineData("client: ansible-pull\n  repository: not a url\n  playbook: site.yml", "handoff.repository", "is not a git repository URL")]
    [InlineData("client: ansible-pull\n  repository: git@git.example.net:ops/site.git\n  playbook: ../site.yml", "handoff.playbook", "is not a playbook path inside the repository")]
    [InlineData("client: ansible-pull\n  repository: https://git.example.net/site.git\n  playbook: site.yml\n  branch: --upload-pack=x", "handoff.branch", "is not a branch or tag name")]
    [InlineData("client: cloud-init", "handoff.user_data", "is required")]
    [InlineData("client: cloud-init\n  user_data: \"packages: [htop]\"", "handoff.user_data", "must start with a cloud-init format header: #cloud-config")]
    [InlineData("client: shell", "handoff.script", "is required: the shell commands to run once on the first boot, written as a YAML block (script: |")]
    [InlineData("client: shell\n  script: [echo, hi]", "handoff.script", "must be text, not a list: the shell commands")]
    [InlineData("client: shell\n  script: \"  \"", "handoff.script", "is empty; write the shell commands")]
    [InlineData("client: shell\n  script: echo hi\n  interpreter: bash", "handoff.interpreter", "'bash' is not an absolute path to an interpreter, such as /bin/sh, /bin/bash or /usr/bin/python3")]
    [InlineData("client: shell\n  script: echo hi\n  interpreter: /usr/bin/env bash", "handoff.interpreter", "(one path starting with '/', of letters, digits, '.', '_', '+' and '-'; no arguments) (set in profile:web)")]
    [InlineData("client: shell\n  script: echo hi\n  install_script: https://x.example.net/i.sh", "handoff.install_script", "the shell client installs no configuration client: its script runs with interpreter")]
    [InlineData("client: shell\n  script: echo hi\n  scirpt: x", "handoff.scirpt", "unknown hand-off setting for client shell (set in profile:web); shell takes script (required: the commands, as a YAML block: script: |), interpreter (default /bin/sh; an absolute path), and timeout, package")]
    [InlineData("client: puppet\n  server: puppet\n  interpreter: /bin/sh", "handoff.interpreter", "'interpreter' is a shell setting, but the client is puppet")]
    [InlineData("client: none\n  timeout: 30s", "handoff.timeout", "'30s' must be a duration from 1m to 23h")]
    [InlineData("client: puppet\n  server: puppet\n  timeout: 2d", "handoff.timeout", "'2d' must be a duration from 1m to 23h")]
    [InlineData("client: puppet\n  server: puppet\n  release_package: https://x.example.net/puppet.tar.gz", "handoff.release_package", "must name a release package ending in .rpm or .deb")]
    [InlineData("client: salt\n  master: salt\n  install_script: ftp://x.example.net/i.sh", "handoff.install_script", "is not an absolute http or https URL")]
    [InlineData("client: salt\n  master: salt\n  package: Salt Minion", "handoff.package", "is not a package name")]
    public void BadHandoff_IsReported_AtTheHandoffLine_WithWhatToFix(string handoff, string field, string message)
    {
        var errors = Validate(("base.yaml", Base), Web($"comment: x\nhandoff:\n  {handoff}\n"));

        var error = Assert.Single(errors, e => e.File == "web.yaml");
        Assert.Equal(field, error.Field);
        Assert.Equal(5, error.Line);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("client: puppet\n  server: puppet.example.net\n  environment: staging\n  certname: web01.example.net\n  service: false\n  timeout: 2h")]
    [InlineData("client: puppet\n  server: 10.0.0.5\n  release_package: https://yum.puppet.com/puppet8-release-el-9.noarch.rpm")]
    [InlineData("client: chef\n  server_url: https://chef.example.net/organizations/ops\n  run_list: [\"recipe[base]\", \"role[web]\", \"nginx::default\"]\n  chef_license: accept")]
    [InlineData("client: salt\n  master: salt.example.net\n  grains: {dc: fra1, racks: [a1, a2], hw: {cpus: 8}}\n  install_script: https://github.com/saltstack/salt-bootstrap/releases/latest/download/bootstrap-salt.sh")]
    [InlineData("client: ansible-pull\n  repository: git@git.example.net:ops/site.git\n  playbook: playbooks/web.yml\n  branch: release/2026.11")]
    [InlineData("client: cloud-init\n  user_data: |\n    #cloud-config\n    packages: [htop]")]
    [InlineData("client: shell\n  script: |\n    set -e\n    echo \"configured\" >/etc/motd\n  timeout: 10m")]
    [InlineData("client: shell\n  interpreter: /usr/bin/python3\n  package: python3\n  script: |\n    print(\"configured\")")]
    [InlineData("client: none")]
    public void GoodHandoff_IsAccepted(string handoff)
    {
        Assert.Empty(Validate(("base.yaml", Base), Web($"handoff:\n  {handoff}\n")));
    }

    [Fact]
    public void Shell_RunsTheScriptWithBinSh_InstallsNothing_AndEncodesTheScriptAsBase64()
    {
        var (settings, errors) = Parse(new() { ["client"] = "shell", ["script"] = "echo \"é\"\nexit 0\n" });

        Assert.Empty(errors);
        var shell = Assert.IsType<ShellHandoff>(settings);
        Assert.Equal("/bin/sh", shell.Interpreter);
        Assert.Equal("", shell.Package);
        var value = shell.TemplateValue(new HandoffMachine("web01.example.net", "web"));
        Assert.Equal("echo \"é\"\nexit 0\n", System.Text.Encoding.UTF8.GetString(Convert.FromBase64String((string)value["script_base64"]!)));
        Assert.Equal("/bin/sh", value["interpreter"]);
        Assert.Equal("shell", value["client"]);
    }

    [Fact]
    public void ShellScript_IsLimitedInSize_AndMustBeText()
    {
        var (atLimit, _) = Parse(new() { ["client"] = "shell", ["script"] = new string('x', HandoffSettings.MaxScriptLength) });
        var (tooLong, longErrors) = Parse(new() { ["client"] = "shell", ["script"] = new string('x', HandoffSettings.MaxScriptLength + 1) });
        var (withNul, nulErrors) = Parse(new() { ["client"] = "shell", ["script"] = "echo a\0b\n" });

        Assert.IsType<ShellHandoff>(atLimit);
        Assert.Null(tooLong);
        var error = Assert.Single(longErrors);
        Assert.Equal("script", error.Field);
        Assert.StartsWith("is 65537 characters; at most 65536 are accepted (a longer script can be fetched and run by a short one", error.Message, StringComparison.Ordinal);
        Assert.Null(withNul);
        Assert.Contains("contains a NUL character", Assert.Single(nulErrors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShellChild_OfAClientNoneParent_MustDropTheInheritedInstallScript()
    {
        var basis = Base + "\nhandoff:\n  client: none\n  install_script: https://x.example.net/install.sh\n";

        var errors = Validate(("base.yaml", basis), Web("handoff:\n  client: shell\n  script: echo hi\n"));
        var fixedErrors = Validate(("base.yaml", basis), Web("handoff:\n  client: shell\n  script: echo hi\n  \"!install_script\": ~\n"));

        var error = Assert.Single(errors);
        Assert.Equal(("web.yaml", "handoff.install_script"), (error.File, error.Field));
        Assert.Contains("write '!install_script: ~' to drop the one inherited from profile:base", error.Message, StringComparison.Ordinal);
        Assert.Empty(fixedErrors);
    }

    [Fact]
    public void EveryProblem_IsReported_AtOnce()
    {
        var errors = Validate(("base.yaml", Base), Web("handoff:\n  client: chef\n  server_url: nope\n  run_list: x\n  frob: 1\n"));

        Assert.Equal(["handoff.frob", "handoff.run_list", "handoff.server_url"], errors.Select(e => e.Field!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ClientNone_InABaseProfile_SharesSettings_ThatAChildUsesWithItsClient()
    {
        var basis = Base + "\nhandoff:\n  client: none\n  environment: staging\n  server: puppet.example.net\n";

        var errors = Validate(("base.yaml", basis), Web("handoff:\n  client: puppet\n"));

        Assert.Empty(errors);
        var (resolved, _) = ProfileResolver.Resolve(Spec(("base.yaml", basis), Web("handoff:\n  client: puppet\n")), "web");
        var puppet = Assert.IsType<PuppetHandoff>(HandoffSettings.Parse(resolved!.Handoff).Settings);
        Assert.Equal("staging", puppet.Environment);
    }

    [Fact]
    public void ChildSwitchingClient_MustDropTheParentsSettings_AndTheErrorNamesTheParent()
    {
        var basis = Base + "\nhandoff:\n  client: puppet\n  server: puppet.example.net\n";

        var errors = Validate(("base.yaml", basis), Web("handoff:\n  client: salt\n  master: salt.example.net\n"));
        var fixedErrors = Validate(("base.yaml", basis), Web("handoff:\n  client: salt\n  master: salt.example.net\n  \"!server\": ~\n"));

        var error = Assert.Single(errors);
        Assert.Equal(("web.yaml", "handoff.server"), (error.File, error.Field));
        Assert.Contains("write '!server: ~' to drop the one inherited from profile:base", error.Message, StringComparison.Ordinal);
        Assert.Empty(fixedErrors);
    }

    [Fact]
    public void PuppetRole_MustNameAClass()
    {
        var errors = Validate(("base.yaml", Base), Web("variables:\n  role: Web-Server\nhandoff:\n  client: puppet\n  server: puppet\n"));
        var saltErrors = Validate(("base.yaml", Base), Web("variables:\n  role: Web-Server\nhandoff:\n  client: salt\n  master: salt\n"));

        var error = Assert.Single(errors);
        Assert.Equal("variables.role", error.Field);
        Assert.Contains("role 'Web-Server' cannot name the Puppet class role::Web-Server; use lowercase letters, digits and '_'", error.Message, StringComparison.Ordinal);
        Assert.Empty(saltErrors);
    }

    [Theory]
    [InlineData("", "names variable 'chef_key', which nothing defines")]
    [InlineData("variables:\n  chef_key: \"-----BEGIN RSA PRIVATE KEY-----\\nAAAA\\n-----END RSA PRIVATE KEY-----\"\n", "names variable 'chef_key', which is not secret, so the API would show the private key; list it under secrets:")]
    [InlineData("secrets: [chef_key]\nvariables:\n  chef_key: \"not a key\"\n", "must hold the validator's private key in PEM form")]
    [InlineData("secrets: [chef_key]\nvariables:\n  chef_key: \"-----BEGIN RSA PRIVATE KEY-----\\nAAAA\\n-----END RSA PRIVATE KEY-----\"\n", null)]
    public void ChefValidationKey_MustNameADefinedSecretVariableHoldingAPemKey(string variables, string? message)
    {
        var errors = Validate(("base.yaml", Base),
            Web(variables + "handoff:\n  client: chef\n  server_url: https://chef.example.net\n  run_list: [base]\n  validation_key: chef_key\n"));

        if (message is null)
        {
            Assert.Empty(errors);
        }
        else
        {
            Assert.Contains(message, Assert.Single(errors).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Renderer_ShowsTheKeyRedacted_ButRendersIt_AndRefusesABadMachineRole()
    {
        var key = HandoffTemplateTests.ValidatorKey.Replace("\n", "\\n", StringComparison.Ordinal);
        var spec = Spec(("base.yaml", Base + $"\nsecrets: [chef_key]\n"),
            Web($"variables:\n  role: web\n  chef_key: \"{key}\"\nhandoff:\n  client: chef\n  server_url: https://chef.example.net\n  run_list: [\"role[web]\"]\n  validation_key: chef_key\n"),
            ("pup.yaml", "kind: profile\nname: pup\nparent: base\nhandoff:\n  client: puppet\n  server: puppet.example.net\n"));
        var renderer = new MachineRenderer(TemplateTestSupport.Shipped, new RenderSettings { ServerUrl = "http://10.0.0.1:8080", NextServer = "10.0.0.1" });
        var mac = MacAddress.Parse("52:54:00:12:34:56");
        var machine = new Machine { Macs = [mac], Hostname = "web01", Domain = "example.net", Profile = "web", BootAction = BootAction.Install };
        var web = ProfileResolver.Resolve(spec, "web").Profile!;

        var view = (IReadOnlyDictionary<string, object?>)renderer.Variables(machine, web, mac, "tok")["handoff"].Value!;
        var install = renderer.RenderInstallFile(machine, web, "install", mac, "tok");

        Assert.Equal(SecretVariables.Redacted, view["validation_key"]);
        Assert.True(install.Succeeded, install.Error);
        Assert.Contains(HandoffTemplateTests.ValidatorKey, install.Text, StringComparison.Ordinal);
        Assert.Contains("chef-client -j /etc/chef/first-boot.json -o 'role[web]'", install.Text, StringComparison.Ordinal);

        var pup = ProfileResolver.Resolve(spec, "pup").Profile!;
        var badRole = machine with { Profile = "pup", Variables = new Dictionary<string, object?> { ["role"] = "Web Tier" } };
        var refused = renderer.RenderInstallFile(badRole, pup, "install", mac, "tok");
        var boot = renderer.RenderBoot(BootFileKind.Ipxe, badRole, pup, mac, "tok");
        Assert.False(refused.Succeeded);
        Assert.Contains("role 'Web Tier' cannot name the Puppet class", refused.Error, StringComparison.Ordinal);
        Assert.Contains("(variable role, from machine)", refused.Error, StringComparison.Ordinal);
        Assert.True(boot.Succeeded, "the boot script does not use the hand-off, so a bad role must not stop the machine from booting: " + boot.Error);
    }
}
