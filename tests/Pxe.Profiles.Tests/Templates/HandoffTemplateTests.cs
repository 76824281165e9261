using System.Text;
using Pxe.Profiles.Spec;
using YamlDotNet.RepresentationModel;
using static Pxe.Profiles.Tests.Templates.TemplateTestSupport;

namespace Pxe.Profiles.Tests.Templates;

/// <summary>
/// The first-boot hand-off as the shipped install templates render it, for every client: golden files under
/// Templates/Golden/handoff/&lt;client&gt;/ (update them like the other golden files, with PXE_UPDATE_GOLDEN=1), the same
/// first-boot script in the kickstart, the preseed's setup file and the autoinstall late-command, and a script that the
/// shells and shellcheck accept.
/// </summary>
public sealed class HandoffTemplateTests
{
    private const string UpdateGoldenVariable = "PXE_UPDATE_GOLDEN";
    private const string ScriptStart = "cat >/usr/local/sbin/pxe-firstboot <<'PXE_FIRSTBOOT' || pxe_setup_ok=no\n";
    private const string ScriptEnd = "\nPXE_FIRSTBOOT\n";

    /// <summary>A dummy PEM key (not a real key): only its shape matters to the templates.</summary>
    internal const string ValidatorKey = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\nKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n-----END RSA PRIVATE KEY-----";

    /// <summary>The shell client's sample script: its lines would end the here-documents and the kickstart section if embedded as is.</summary>
    internal const string ShellScript = "echo \"first boot of $PXE_FQDN as $PXE_ROLE\"\ncat >/etc/motd <<'PXE_FIRSTBOOT'\n100% lab-managed\n%end\nPXE_FIRSTBOOT\n";

    private static readonly string[] InstallTemplates =
        ["install/rhel9.ks", "install/debian12.preseed", "install/ubuntu-autoinstall/user-data", "install/firstboot-setup.sh"];

    public static TheoryData<string> Clients() => new(HandoffSettings.ClientNames);

    public static TheoryData<string, string> GoldenCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var client in HandoffSettings.ClientNames)
        {
            foreach (var template in InstallTemplates)
            {
                data.Add(client, template);
            }
        }

        return data;
    }

    /// <summary>A profile's <c>handoff:</c> for each client, as a spec file would set it.</summary>
    internal static Dictionary<string, object?> SampleSettings(string client) => client switch
    {
        "puppet" => new() { ["client"] = "puppet", ["server"] = "puppet.example.net" },
        "chef" => new()
        {
            ["client"] = "chef",
            ["server_url"] = "https://chef.example.net/organizations/ops",
            ["run_list"] = new List<object?> { "recipe[base]", "role[web]" },
            ["validation_key"] = "chef_validation_key",
            ["validation_client_name"] = "ops-validator",
            ["chef_license"] = "accept",
        },
        "salt" => new()
        {
            ["client"] = "salt",
            ["master"] = "salt.example.net",
            ["grains"] = new Dictionary<string, object?> { ["datacenter"] = "fra1", ["rack"] = "on", ["tier"] = 3L },
        },
        "ansible-pull" => new() { ["client"] = "ansible-pull", ["repository"] = "https://git.example.net/ops/site.git", ["playbook"] = "site.yml" },
        "cloud-init" => new()
        {
            ["client"] = "cloud-init",
            ["user_data"] = "#cloud-config\npackages: [htop]\nruncmd:\n  - [sh, -c, 'echo \"100% done\" > /root/ready']\n%end\nPXE_FIRSTBOOT\n",
        },
        "shell" => new() { ["client"] = "shell", ["script"] = ShellScript },
        _ => new() { ["client"] = "none" },
    };

    /// <summary>The static sample machine (role web) handing off to <paramref name="client"/>, with the values the renderer builds.</summary>
    internal static Dictionary<string, object?> MachineFor(string client)
    {
        var settings = Parse(SampleSettings(client));
        var variables = StaticMachine();
        variables["role"] = "web";
        variables["handoff"] = settings.TemplateValue(new HandoffMachine((string)variables["fqdn"]!, "web", ValidatorKey));
        return variables;
    }

    internal static HandoffSettings Parse(Dictionary<string, object?> values)
    {
        var (settings, errors) = HandoffSettings.Parse(values.ToDictionary(v => v.Key, v => new Sourced<object?>(v.Value, "profile:web")));
        Assert.True(settings is not null, string.Join("; ", errors));
        return settings;
    }

    /// <summary>The first-boot script the setup writes, cut out of a rendered install file.</summary>
    internal static string FirstBootScript(string rendered)
    {
        var start = rendered.IndexOf(ScriptStart, StringComparison.Ordinal);
        Assert.True(start >= 0, "the rendered file does not write /usr/local/sbin/pxe-firstboot");
        start += ScriptStart.Length;
        var end = rendered.IndexOf(ScriptEnd, start, StringComparison.Ordinal);
        Assert.True(end > start, "the first-boot script's here-document is not closed");
        return rendered[start..end] + "\n";
    }

    /// <summary>The setup script of the autoinstall late-commands, as the installer's shell sees it (YAML parsed).</summary>
    internal static string AutoinstallSetupCommand(string userData)
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(userData));
        var autoinstall = (YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode)["autoinstall"];
        var late = (YamlSequenceNode)autoinstall["late-commands"];
        return Assert.Single(late.Children.Select(c => ((YamlScalarNode)c).Value!), c => c.Contains("PXE_SETUP", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(GoldenCases))]
    public void HandoffInstallFile_MatchesGoldenFile(string client, string template)
    {
        var text = RenderOk(Shipped, template, MachineFor(client));
        var golden = Path.Combine(GoldenDirectory, "handoff", client, template.Replace('/', '_'));

        if (Environment.GetEnvironmentVariable(UpdateGoldenVariable) == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(golden)!);
            File.WriteAllText(golden, text, new UTF8Encoding(false));
        }

        Assert.True(File.Exists(golden), $"golden file {golden} is missing; run the tests with {UpdateGoldenVariable}=1 to create it");
        Assert.Equal(File.ReadAllText(golden, Encoding.UTF8), text);
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public void Kickstart_WithHandoff_HasValidStructure_AndSetsUpTheServiceInPost(string client)
    {
        var text = RenderOk(Shipped, "install/rhel9.ks", MachineFor(client));

        var problems = KickstartChecker.Check(text);

        Assert.True(problems.Count == 0, string.Join("\n", problems));
        var post = text[text.IndexOf("%post --interpreter=/bin/sh --log=/root/pxe-post.log\n", StringComparison.Ordinal)..];
        post = post[..post.IndexOf("\n%end\n", StringComparison.Ordinal)];
        Assert.Contains(ScriptStart, post, StringComparison.Ordinal);
        Assert.Contains("systemctl enable pxe-firstboot.service", post, StringComparison.Ordinal);
    }

    [Fact]
    public void KickstartChecker_RejectsAPercentLineInsideASection()
    {
        Assert.NotEmpty(KickstartChecker.Check("text\n%post\ncat <<'X'\n  %packages\nX\n%end\n"));
        Assert.Empty(KickstartChecker.Check("text\n%post\nprintf '%s\\n' x\n%end\n"));
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public void TheSameFirstBootScript_IsWrittenByKickstartPreseedAndAutoinstall(string client)
    {
        var machine = MachineFor(client);
        var fromKickstart = FirstBootScript(RenderOk(Shipped, "install/rhel9.ks", machine));
        var fromPreseedFile = FirstBootScript(RenderOk(Shipped, "install/firstboot-setup.sh", machine));
        var fromAutoinstall = FirstBootScript(AutoinstallSetupCommand(RenderOk(Shipped, "install/ubuntu-autoinstall/user-data", machine)));

        Assert.Equal(fromKickstart, fromPreseedFile);
        Assert.Equal(fromKickstart, fromAutoinstall);
        Assert.StartsWith("#!/bin/sh\n", fromKickstart, StringComparison.Ordinal);
        Assert.Contains($"pxe_events_url='{machine["events_url"]}'\n", fromKickstart, StringComparison.Ordinal);
        Assert.Contains($"pxe_client='{client}'\n", fromKickstart, StringComparison.Ordinal);
    }

    [Fact]
    public void Preseed_LateCommand_FetchesAndRunsTheSetupInTarget_BeforeDone()
    {
        var machine = MachineFor("puppet");
        var text = RenderOk(Shipped, "install/debian12.preseed", machine);

        var setup = text.IndexOf($"if wget -q -O /target/root/pxe-firstboot-setup.sh '{machine["install_base_url"]}'firstboot-setup.sh; then in-target sh /root/pxe-firstboot-setup.sh;", StringComparison.Ordinal);
        var done = text.IndexOf($"wget -q -O /dev/null --post-data='' '{machine["done_url"]}'", StringComparison.Ordinal);
        Assert.True(setup > 0 && done > setup, "the late_command must run the setup before it calls done");
        Assert.True(Shipped.Exists("install/firstboot-setup.sh"), "the setup file the preseed fetches must be a template beside it");
    }

    [Fact]
    public void Autoinstall_LateCommands_RunTheSetupWithCurtinInTarget_BeforeDone()
    {
        var machine = MachineFor("salt");
        var yaml = new YamlStream();
        yaml.Load(new StringReader(RenderOk(Shipped, "install/ubuntu-autoinstall/user-data", machine)));
        var late = ((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode)["autoinstall"])["late-commands"])
            .Children.Select(c => ((YamlScalarNode)c).Value!).ToList();

        var setup = late.FindIndex(c => c.Contains("curtin in-target --target=/target -- sh /root/pxe-firstboot-setup.sh\n", StringComparison.Ordinal));
        var done = late.FindIndex(c => c.Contains((string)machine["done_url"]!, StringComparison.Ordinal));
        Assert.True(setup >= 0 && done > setup, "the setup late-command must come before done");
        Assert.StartsWith("cat >/target/root/pxe-firstboot-setup.sh <<'PXE_SETUP'\n", late[setup], StringComparison.Ordinal);
        Assert.Contains("\nPXE_SETUP\n", late[setup], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("puppet", "    puppet agent --onetime --no-daemonize --verbose --waitforcert 60 --detailed-exitcodes || pxe_rc=$?\n")]
    [InlineData("puppet", "    puppet config set --section main certname 'web01.example.net'\n")]
    [InlineData("puppet", "    printf '%s\\n' '---' 'extension_requests:' '  pp_role: \"web\"' >\"$pxe_csr\"\n")]
    [InlineData("chef", "    chef-client -j /etc/chef/first-boot.json -o 'recipe[base],role[web]'\n")]
    [InlineData("chef", "    printf '%s\\n' '{\"run_list\":[\"recipe[base]\",\"role[web]\"]}' >/etc/chef/first-boot.json\n")]
    [InlineData("chef", "    printf '%s\\n' '" + ValidatorKey + "' >/etc/chef/validation.pem\n")]
    [InlineData("chef", "rm -f \"$0\"\n")]
    [InlineData("salt", "    salt-call --retcode-passthrough --state-output=changes state.apply\n")]
    [InlineData("salt", "    printf '%s' 'datacenter: \"fra1\"\nrack: \"on\"\ntier: 3\nrole: \"web\"\n' >/etc/salt/grains\n")]
    [InlineData("ansible-pull", "    ansible-pull -U 'https://git.example.net/ops/site.git' -C 'main' -d \"$pxe_work/ansible\" -i localhost, \\\n        -e '{\"pxe_role\":\"web\"}' 'site.yml'\n")]
    [InlineData("cloud-init", "| base64 -d >/var/lib/cloud/seed/nocloud/user-data\n")]
    [InlineData("cloud-init", "    cloud-init modules --mode=final\n")]
    [InlineData("shell", "    pxe_interpreter='/bin/sh'\n")]
    [InlineData("shell", "    PXE_ROLE='web' PXE_FQDN='web01.example.net' \"$pxe_interpreter\" \"$pxe_work/script\"\n")]
    [InlineData("none", "    echo \"pxe-firstboot: no configuration client (client none); reporting the first boot\"\n")]
    public void FirstBootScript_RunsTheClientOnce(string client, string expected)
    {
        var script = FirstBootScript(RenderOk(Shipped, "install/firstboot-setup.sh", MachineFor(client)));

        Assert.Contains(expected, script, StringComparison.Ordinal);
        Assert.Contains("timeout -k 30 \"$pxe_timeout\" sh \"$0\" run >>\"$pxe_log\" 2>&1 </dev/null\n", script, StringComparison.Ordinal);
        Assert.Contains("systemctl disable pxe-firstboot.service", script, StringComparison.Ordinal);
        Assert.Equal(client == "chef", script.Contains("rm -f \"$0\"", StringComparison.Ordinal));
    }

    [Fact]
    public void CloudInitUserData_IsEmbeddedAsBase64_SoNoLineOfItCanEndTheScriptOrTheKickstartSection()
    {
        var machine = MachineFor("cloud-init");
        var script = FirstBootScript(RenderOk(Shipped, "install/rhel9.ks", machine));
        var userData = (string)SampleSettings("cloud-init")["user_data"]!;

        var encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes(userData));
        Assert.Contains($"    printf '%s' '{encoded}' | base64 -d >/var/lib/cloud/seed/nocloud/user-data\n", script, StringComparison.Ordinal);
        Assert.DoesNotContain("100% done", script, StringComparison.Ordinal);
    }

    [Fact]
    public void ShellScript_IsEmbeddedAsBase64_SoNoLineOfItCanEndTheScriptOrTheKickstartSection()
    {
        var text = RenderOk(Shipped, "install/rhel9.ks", MachineFor("shell"));
        var script = FirstBootScript(text);

        var encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes(ShellScript));
        Assert.Contains($"    printf '%s' '{encoded}' | base64 -d >\"$pxe_work/script\"\n", script, StringComparison.Ordinal);
        Assert.DoesNotContain("lab-managed", text, StringComparison.Ordinal);
        Assert.Empty(KickstartChecker.Check(text));
    }

    [Fact]
    public void ShellInterpreter_IsChecked_OrInstalledFromItsPackage()
    {
        var machine = MachineFor("shell");
        var withPackage = MachineFor("shell");
        withPackage["handoff"] = Parse(new() { ["client"] = "shell", ["script"] = "print('hi')\n", ["interpreter"] = "/usr/bin/python3", ["package"] = "python3" })
            .TemplateValue(new HandoffMachine("web01.example.net", "web"));

        var plain = FirstBootScript(RenderOk(Shipped, "install/firstboot-setup.sh", machine));
        var installing = FirstBootScript(RenderOk(Shipped, "install/firstboot-setup.sh", withPackage));

        Assert.Contains("    if [ ! -x \"$pxe_interpreter\" ]; then\n", plain, StringComparison.Ordinal);
        Assert.DoesNotContain("pxe_install_client \"$pxe_interpreter\"", plain, StringComparison.Ordinal);
        Assert.Contains("    pxe_interpreter='/usr/bin/python3'\n    pxe_install_client \"$pxe_interpreter\" 'python3' '' ''\n", installing, StringComparison.Ordinal);
        Assert.DoesNotContain("if [ ! -x \"$pxe_interpreter\" ]", installing, StringComparison.Ordinal);
    }

    [Fact]
    public void SetupUnit_IsOneshotAfterTheNetwork_AndRunsOnce()
    {
        var text = RenderOk(Shipped, "install/firstboot-setup.sh", MachineFor("puppet"));
        var unit = text[text.IndexOf("[Unit]\n", StringComparison.Ordinal)..text.IndexOf("PXE_FIRSTBOOT_UNIT\n", text.IndexOf("[Unit]", StringComparison.Ordinal), StringComparison.Ordinal)];

        Assert.Contains("Wants=network-online.target\n", unit, StringComparison.Ordinal);
        Assert.Contains("After=network-online.target cloud-final.service\n", unit, StringComparison.Ordinal);
        Assert.Contains("Type=oneshot\n", unit, StringComparison.Ordinal);
        Assert.Contains("ConditionPathExists=!/var/lib/pxe-firstboot/done\n", unit, StringComparison.Ordinal);
        Assert.Contains("WantedBy=multi-user.target\n", unit, StringComparison.Ordinal);
        Assert.Contains(": >\"$pxe_work/done\"\n", FirstBootScript(text), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public void FirstBootAndSetupScripts_PassShellSyntaxChecks(string client)
    {
        var machine = MachineFor(client);
        var setup = RenderOk(Shipped, "install/firstboot-setup.sh", machine);
        foreach (var (name, text) in new[] { ("pxe-firstboot", FirstBootScript(setup)), ("firstboot-setup.sh", setup) })
        {
            WithScript(text, file =>
            {
                foreach (var shell in new[] { "dash", "bash" })
                {
                    var (code, output) = Run(Tools.Require(shell), "-n", file);
                    Assert.True(code == 0, $"{shell} -n {name} ({client}): {output}");
                }
            });
        }
    }

    [ToolTheory("shellcheck")]
    [MemberData(nameof(Clients))]
    public void FirstBootAndSetupScripts_PassShellcheck(string client)
    {
        var shellcheck = Tools.Require("shellcheck");
        var setup = RenderOk(Shipped, "install/firstboot-setup.sh", MachineFor(client));
        foreach (var (name, text) in new[] { ("pxe-firstboot", FirstBootScript(setup)), ("firstboot-setup.sh", setup) })
        {
            WithScript(text, file =>
            {
                var (code, output) = Run(shellcheck, "--shell=sh", "--severity=style", "--format=gcc", file);
                Assert.True(code == 0, $"shellcheck {name} ({client}):\n{output}");
            });
        }
    }

    [ToolFact("shellcheck")]
    public void Shellcheck_CatchesABrokenScript()
    {
        var shellcheck = Tools.Require("shellcheck");
        WithScript("#!/bin/sh\nrm -rf $dir/*\n", file => Assert.NotEqual(0, Run(shellcheck, "--shell=sh", file).ExitCode));
    }

    [ToolFact("debconf-set-selections=debconf")]
    public void Preseed_WithEveryClient_PassesDebconfCheck()
    {
        var tool = Tools.Require("debconf-set-selections", "debconf");
        foreach (var client in HandoffSettings.ClientNames)
        {
            WithScript(RenderOk(Shipped, "install/debian12.preseed", MachineFor(client)), file =>
            {
                var (code, output) = Run(tool, "--checkonly", file);
                Assert.True(code == 0 && output.Length == 0, $"debconf-set-selections --checkonly ({client}) exit {code}: {output}");
            });
        }
    }

    private static void WithScript(string text, Action<string> check)
    {
        var file = Path.Combine(Path.GetTempPath(), $"pxe-handoff-{Guid.NewGuid():N}.sh");
        try
        {
            File.WriteAllText(file, text, new UTF8Encoding(false));
            check(file);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
