using System.Text;
using YamlDotNet.RepresentationModel;
using static Pxe.Profiles.Tests.Templates.TemplateTestSupport;

namespace Pxe.Profiles.Tests.Templates;

/// <summary>
/// The templates shipped in the repository's templates/ folder, rendered with fixed sample machines and compared byte for
/// byte with the files under Templates/Golden/ (one folder per sample: static, dhcp, local).
/// To accept an intended change, run the tests once with the environment variable PXE_UPDATE_GOLDEN=1: every golden
/// file is rewritten from the current output (review the diff before committing), and the comparison tests then pass.
/// </summary>
public sealed class ShippedTemplateTests
{
    private const string UpdateGoldenVariable = "PXE_UPDATE_GOLDEN";

    public static TheoryData<string, string> GoldenCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var name in Shipped.Names)
        {
            data.Add("static", name);
            data.Add("dhcp", name);
            if (name.StartsWith("boot/", StringComparison.Ordinal))
            {
                data.Add("local", name);
            }
        }

        return data;
    }

    [Fact]
    public void ShippedTemplates_LoadWithoutErrors_AndIncludeEveryContractTemplate()
    {
        Assert.Superset(
            new HashSet<string>(["boot/ipxe.ipxe", "boot/pxelinux.cfg", "boot/grub.cfg", "boot/grub-root.cfg", "install/rhel9.ks",
                "install/debian12.preseed", "install/ubuntu-autoinstall/user-data", "install/ubuntu-autoinstall/meta-data"]),
            new HashSet<string>(Shipped.Names));
    }

    [Theory]
    [MemberData(nameof(GoldenCases))]
    public void ShippedTemplate_MatchesGoldenFile(string sample, string template)
    {
        var text = RenderOk(Shipped, template, Sample(sample));
        var golden = Path.Combine(GoldenDirectory, sample, template.Replace('/', '_'));

        if (Environment.GetEnvironmentVariable(UpdateGoldenVariable) == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(golden)!);
            File.WriteAllText(golden, text, new UTF8Encoding(false));
        }

        Assert.True(File.Exists(golden), $"golden file {golden} is missing; run the tests with {UpdateGoldenVariable}=1 to create it");
        Assert.Equal(File.ReadAllText(golden, Encoding.UTF8), text);
    }

    [Theory]
    [MemberData(nameof(GoldenCases))]
    public void ShippedTemplate_LeavesNoUnresolvedPlaceholder(string sample, string template)
    {
        var text = RenderOk(Shipped, template, Sample(sample));

        Assert.DoesNotContain("{{", text, StringComparison.Ordinal);
        Assert.DoesNotContain("}}", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("static")]
    [InlineData("dhcp")]
    public void Kickstart_HasValidStructure(string sample)
    {
        var text = RenderOk(Shipped, "install/rhel9.ks", Sample(sample));

        var problems = KickstartChecker.Check(text);

        Assert.True(problems.Count == 0, string.Join("\n", problems));
        var distro = (IReadOnlyDictionary<string, object?>)Sample(sample)["distro"]!;
        Assert.Contains($"url --url={distro["install_tree"]}\n", text, StringComparison.Ordinal);
        Assert.Contains("rootpw --iscrypted $6$", text, StringComparison.Ordinal);
        Assert.Contains("curl -fsS -m 30 -X POST '" + Sample(sample)["done_url"] + "'", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Kickstart_StaticMachine_HasStaticNetworkLine()
    {
        var text = RenderOk(Shipped, "install/rhel9.ks", StaticMachine());

        Assert.Contains(
            "network --device=52:54:00:12:34:56 --bootproto=static --ip=10.0.0.21 --netmask=255.255.255.0 --gateway=10.0.0.254 --nameserver=10.0.0.53,10.0.0.54 --hostname=web01.example.net --activate\n",
            text, StringComparison.Ordinal);
        Assert.Contains("disk='vda'", text, StringComparison.Ordinal);
    }

    [Fact]
    public void KickstartChecker_RejectsBrokenKickstarts()
    {
        Assert.NotEmpty(KickstartChecker.Check("text\n%packages\ncurl\n"));
        Assert.NotEmpty(KickstartChecker.Check("text\nfrobnicate --now\n"));
        Assert.NotEmpty(KickstartChecker.Check("text\n%end\n"));
        Assert.NotEmpty(KickstartChecker.Check("url --url={{distro.install_tree}}\n"));
        Assert.Empty(KickstartChecker.Check("text\n# c\n%packages\ncurl\n%end\n"));
    }

    [ToolFact("debconf-set-selections=debconf")]
    public void Preseed_PassesDebconfCheck()
    {
        var tool = Tools.Require("debconf-set-selections", "debconf");
        foreach (var sample in new[] { "static", "dhcp" })
        {
            var text = RenderOk(Shipped, "install/debian12.preseed", Sample(sample));
            var file = Path.Combine(Path.GetTempPath(), $"pxe-preseed-{Guid.NewGuid():N}.cfg");
            try
            {
                File.WriteAllText(file, text);
                var (code, output) = Run(tool, "--checkonly", file);
                Assert.True(code == 0 && output.Length == 0, $"debconf-set-selections --checkonly ({sample}) exit {code}: {output}");
            }
            finally
            {
                File.Delete(file);
            }
        }
    }

    [ToolFact("debconf-set-selections=debconf")]
    public void PreseedCheck_CatchesABrokenLine()
    {
        var tool = Tools.Require("debconf-set-selections", "debconf");
        var file = Path.Combine(Path.GetTempPath(), $"pxe-preseed-{Guid.NewGuid():N}.cfg");
        try
        {
            File.WriteAllText(file, "d-i debian-installer/locale\n");
            var (code, output) = Run(tool, "--checkonly", file);
            Assert.True(code != 0 || output.Length > 0, "a line without type and value must be reported");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Preseed_SplitsInstallTreeIntoMirrorHostAndDirectory()
    {
        var text = RenderOk(Shipped, "install/debian12.preseed", DhcpMachine());

        Assert.Contains("d-i mirror/protocol string https\n", text, StringComparison.Ordinal);
        Assert.Contains("d-i mirror/https/hostname string deb.example.net:8443\n", text, StringComparison.Ordinal);
        Assert.Contains("d-i mirror/https/directory string /debian\n", text, StringComparison.Ordinal);
        Assert.Contains("echo 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCdummy ops'\\''s key' >> /target/root/.ssh/authorized_keys; \\\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("netcfg/get_ipaddress", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("static")]
    [InlineData("dhcp")]
    public void AutoinstallUserData_IsYamlWithVersion1(string sample)
    {
        var variables = Sample(sample);
        var text = RenderOk(Shipped, "install/ubuntu-autoinstall/user-data", variables);

        Assert.StartsWith("#cloud-config\n", text, StringComparison.Ordinal);
        var yaml = new YamlStream();
        yaml.Load(new StringReader(text));
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        var autoinstall = (YamlMappingNode)root["autoinstall"];
        Assert.Equal("1", ((YamlScalarNode)autoinstall["version"]).Value);
        Assert.Equal(variables["hostname"], ((YamlScalarNode)((YamlMappingNode)autoinstall["identity"])["hostname"]).Value);
        var keys = (YamlSequenceNode)((YamlMappingNode)autoinstall["ssh"])["authorized-keys"];
        Assert.Equal(((List<object?>)variables["ssh_authorized_keys"]!).Cast<string>(), keys.Children.Select(k => ((YamlScalarNode)k).Value!));
        var late = (YamlSequenceNode)autoinstall["late-commands"];
        Assert.Contains(late.Children, c => ((YamlScalarNode)c).Value!.Contains((string)variables["done_url"]!, StringComparison.Ordinal));
        var ethernet = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)autoinstall["network"])["ethernets"])["pxe0"];
        Assert.Equal(sample == "static", ethernet.Children.ContainsKey("addresses"));
    }

    [Fact]
    public void AutoinstallMetaData_HasInstanceIdAndHostname()
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(RenderOk(Shipped, "install/ubuntu-autoinstall/meta-data", StaticMachine())));
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;

        Assert.Equal("pxe-52-54-00-12-34-56-tok123", ((YamlScalarNode)root["instance-id"]).Value);
        Assert.Equal("web01", ((YamlScalarNode)root["local-hostname"]).Value);
    }

    [Theory]
    [InlineData("static")]
    [InlineData("local")]
    public void IpxeScript_StartsWithShebang_AndBootsByAction(string sample)
    {
        var variables = Sample(sample);
        var text = RenderOk(Shipped, "boot/ipxe.ipxe", variables);

        Assert.StartsWith("#!ipxe\n", text, StringComparison.Ordinal);
        if (sample == "local")
        {
            Assert.Contains("sanboot --no-describe --drive 0x80", text, StringComparison.Ordinal);
            Assert.DoesNotContain("\nkernel ", text, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains($"\nkernel {variables["kernel_url"]} {variables["kernel_args"]} || goto failed\n", text, StringComparison.Ordinal);
            Assert.Contains($"\ninitrd --name initrd.img {variables["initrd_url"]} || goto failed\n", text, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("static")]
    [InlineData("dhcp")]
    public void PxelinuxConfig_AppendIsOneLineWithIpappend(string sample)
    {
        var variables = Sample(sample);
        var lines = RenderOk(Shipped, "boot/pxelinux.cfg", variables).Split('\n');

        var append = Assert.Single(lines, l => l.TrimStart().StartsWith("APPEND ", StringComparison.Ordinal));
        // No initrd= on APPEND: pxelinux would load that name (relative: over TFTP) instead of INITRD.
        Assert.Equal($"  APPEND {variables["kernel_cmdline"]}", append);
        Assert.DoesNotContain("initrd=", append, StringComparison.Ordinal);
        Assert.Contains($"  INITRD {variables["initrd_url"]}", lines);
        Assert.Contains("  IPAPPEND 2", lines);
        Assert.Contains($"  KERNEL {variables["kernel_url"]}", lines);
    }

    [Fact]
    public void PxelinuxConfig_LocalBoot_UsesLocalboot0()
    {
        var lines = RenderOk(Shipped, "boot/pxelinux.cfg", LocalBootMachine()).Split('\n');

        Assert.Contains("  LOCALBOOT 0", lines);
        Assert.DoesNotContain(lines, l => l.Contains("KERNEL", StringComparison.Ordinal));
    }

    [Fact]
    public void GrubConfig_Install_LoadsKernelOverHttpDevice_AndLocalNeverEndsInBareExit()
    {
        var install = RenderOk(Shipped, "boot/grub.cfg", StaticMachine());
        var local = RenderOk(Shipped, "boot/grub.cfg", LocalBootMachine());
        var root = RenderOk(Shipped, "boot/grub-root.cfg", new Dictionary<string, object?>());

        Assert.Contains("    linux (http,10.0.0.1,8080)/files/rocky9/vmlinuz 'inst.ks=http://10.0.0.1:8080/boot/52:54:00:12:34:56/install?token=tok123&x=1' ", install, StringComparison.Ordinal);
        Assert.Contains("    initrd (http,10.0.0.1,8080)/files/rocky9/initrd.img\n", install, StringComparison.Ordinal);
        Assert.Contains("search --no-floppy --file --set=root ${pxe_loader}", local, StringComparison.Ordinal);
        Assert.Contains("chainloader ${pxe_loader}", local, StringComparison.Ordinal);
        Assert.Contains("configfile \"/grub/mac/${net_default_mac}.cfg\"\n", root, StringComparison.Ordinal);
        Assert.Contains("chainloader", root, StringComparison.Ordinal);
        Assert.Empty(Shipped.RequiredVariables("boot/grub-root.cfg"));
    }

    [ToolFact("grub-script-check=grub-common")]
    public void GrubConfigs_PassGrubScriptCheck()
    {
        var checker = Tools.Require("grub-script-check", "grub-common");

        foreach (var (name, variables) in new[] { ("boot/grub.cfg", StaticMachine()), ("boot/grub.cfg", LocalBootMachine()), ("boot/grub-root.cfg", StaticMachine()) })
        {
            var file = Path.Combine(Path.GetTempPath(), $"pxe-grub-{Guid.NewGuid():N}.cfg");
            try
            {
                File.WriteAllText(file, RenderOk(Shipped, name, variables));
                var (code, output) = Run(checker, file);
                Assert.True(code == 0, $"grub-script-check {name}: {output}");
            }
            finally
            {
                File.Delete(file);
            }
        }
    }

    private static Dictionary<string, object?> Sample(string sample) => sample switch
    {
        "static" => StaticMachine(),
        "dhcp" => DhcpMachine(),
        "local" => LocalBootMachine(),
        _ => throw new ArgumentOutOfRangeException(nameof(sample), sample, "unknown sample"),
    };
}
