using Pxe.Profiles.Domain;
using Pxe.Profiles.Spec;

namespace Pxe.Profiles.Tests.Spec;

public class SpecYamlTests
{
    [Fact]
    public void Read_Distro_AllFields()
    {
        var r = SpecYaml.Read("""
            kind: distro
            name: rocky9
            arch: x86_64
            breed: redhat
            kernel: rocky9/vmlinuz
            initrd: rocky9/initrd.img
            install_tree: http://mirror/rocky
            kernel_args:
              console: ttyS0,115200
              quiet: ~
            variables:
              packages: [a, b]
              count: 3
              secure: true
            """, "distros/rocky9.yaml");
        Assert.Empty(r.Errors);
        var d = Assert.IsType<Distro>(r.Distro);
        Assert.Equal(DistroBreed.Redhat, d.Breed);
        Assert.Equal("ttyS0,115200", d.KernelArgs["console"]);
        Assert.Null(d.KernelArgs["quiet"]);
        Assert.Equal(new List<object?> { "a", "b" }, d.Variables["packages"]);
        Assert.Equal(3L, d.Variables["count"]);
        Assert.Equal(true, d.Variables["secure"]);
    }

    [Fact]
    public void Read_ReportsEveryProblem_WithLineAndField()
    {
        var r = SpecYaml.Read("""
            kind: profile
            name: web
            distro: rocky9
            parent: base
            boot_loader: floppy
            install_timeout: -5
            colour: blue
            kernel_args:
              bad: "a\tb"
            """, "web.yaml");
        Assert.Null(r.Profile);
        Assert.Contains(r.Errors, e => e.Field == "boot_loader" && e.Line == 5 && e.Message.Contains("ipxe, pxelinux or grub"));
        Assert.Contains(r.Errors, e => e.Field == "install_timeout" && e.Line == 6);
        Assert.Contains(r.Errors, e => e.Field == "colour" && e.Line == 7 && e.Message.Contains("known fields"));
        Assert.Contains(r.Errors, e => e.Field is "distro" or "parent" && e.Message.Contains("exactly one"));
        Assert.All(r.Errors, e => Assert.Equal("web.yaml", e.File));
    }

    [Theory]
    [InlineData("kind: profile\nname: [a\n", "invalid YAML")]
    [InlineData("- a\n- b\n", "must be a mapping")]
    [InlineData("name: x\n", "kind")]
    [InlineData("kind: machine\nname: x\n", "'machine' is not a kind")]
    [InlineData("kind: distro\nname: x\nkernel: k\n", "required")]
    [InlineData("kind: distro\nname: ../x\nkernel: k\ninitrd: i\n", "not a valid name")]
    [InlineData("kind: profile\nname: p\ndistro: d\nvariables:\n  1bad: x\n", "not a valid variable name")]
    [InlineData("kind: profile\nname: p\ndistro: d\nkernel_args: \"a=${x}\"\n", "iPXE")]
    [InlineData("", "exactly one document")]
    [InlineData("kind: profile\nname: p\ndistro: d\nsecrets: [a, b", "invalid YAML")]
    public void Read_Rejects_WithAMessageThatSaysWhatToFix(string yaml, string expected)
    {
        var r = SpecYaml.Read(yaml, "f.yaml");
        Assert.Null(r.Distro);
        Assert.Null(r.Profile);
        Assert.Contains(r.Errors, e => e.Message.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void InvalidYaml_NamesTheLine()
    {
        var r = SpecYaml.Read("kind: profile\nname: p\ndistro: d\nvariables:\n  a: [1, 2\n", "p.yaml");
        var e = Assert.Single(r.Errors);
        Assert.True(e.Line >= 5, e.ToString());
    }

    [Fact]
    public void Write_ThenRead_RoundTrips()
    {
        var profile = new Profile
        {
            Name = "web",
            Parent = "base",
            InstallTemplate = "install/rhel9.ks",
            BootLoader = BootLoader.Grub,
            InstallTimeout = TimeSpan.FromSeconds(45),
            InstallRetries = 3,
            KernelArgs = new Dictionary<string, string?> { ["console"] = "ttyS0,115200", ["!quiet"] = null, ["nomodeset"] = null },
            Variables = new Dictionary<string, object?>
            {
                ["packages"] = new List<object?> { "nginx", "curl" },
                ["port"] = 8080L,
                ["on"] = true,
                ["empty"] = "",
                ["yes_string"] = "yes",
                ["hash"] = "$6$salt$abc: #x",
                ["nested"] = new Dictionary<string, object?> { ["a"] = "b" },
                ["!removed"] = null,
            },
            Handoff = new Dictionary<string, object?> { ["client"] = "puppet" },
            Comment = "multi\nline",
        };
        var yaml = SpecYaml.Write(profile);
        var back = SpecYaml.Read(yaml, "x");
        Assert.Empty(back.Errors);
        Assert.Equal(yaml, SpecYaml.Write(back.Profile!));
        Assert.Equal("yes", back.Profile!.Variables["yes_string"]);
        Assert.Equal("", back.Profile.Variables["empty"]);
        Assert.Equal(8080L, back.Profile.Variables["port"]);
        Assert.Equal("$6$salt$abc: #x", back.Profile.Variables["hash"]);
        Assert.Equal(BootLoader.Grub, back.Profile.BootLoader);
        Assert.Equal("multi\nline", back.Profile.Comment);
    }
}
