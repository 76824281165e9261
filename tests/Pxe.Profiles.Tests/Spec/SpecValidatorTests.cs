using Pxe.Profiles.Domain;
using Pxe.Profiles.Rendering;
using Pxe.Profiles.Spec;

namespace Pxe.Profiles.Tests.Spec;

public class SpecValidatorTests
{
    private sealed class Catalog(Dictionary<string, string[]> templates) : ITemplateCatalog
    {
        public IReadOnlyCollection<string> Names => templates.Keys;

        public bool Exists(string name) => templates.ContainsKey(name);

        public IReadOnlySet<string> RequiredVariables(string name) => templates[name].ToHashSet();
    }

    private static Catalog Templates(params (string Name, string[] Needs)[] extra)
    {
        var d = BootTemplates.All.ToDictionary(b => b, _ => Array.Empty<string>());
        foreach (var (name, needs) in extra)
        {
            d[name] = needs;
        }

        return new Catalog(d);
    }

    private static readonly HashSet<string> NoServerVariables = [];

    [Fact]
    public void ValidSpec_HasNoErrors()
    {
        var spec = ProfileResolverTests.Model(new Profile { Name = "base", Distro = "rocky9", InstallTemplate = "install/ks" });
        Assert.Empty(SpecValidator.Validate(spec, Templates(("install/ks", ["timezone", "mac"])), NoServerVariables));
    }

    [Fact]
    public void EveryProblem_IsReported_WithFileAndField()
    {
        var spec = ProfileResolverTests.Model(
            new Profile { Name = "a", Parent = "b" },
            new Profile { Name = "b", Parent = "a" },
            new Profile { Name = "c", Distro = "debian" },
            new Profile { Name = "d", Parent = "nope" },
            new Profile { Name = "e", Distro = "rocky9", InstallTemplate = "install/missing" },
            new Profile { Name = "f", Distro = "rocky9", InstallTemplate = "install/ks" });
        var errors = SpecValidator.Validate(spec, Templates(("install/ks", ["disk", "timezone"])), NoServerVariables);

        Assert.Contains(errors, e => e.File == "a.yaml" && e.Field == "parent" && e.Message.Contains("cycle"));
        Assert.Contains(errors, e => e.File == "c.yaml" && e.Field == "distro" && e.Message == "distro 'debian' does not exist; known distros: rocky9");
        Assert.Contains(errors, e => e.File == "d.yaml" && e.Field == "parent" && e.Message.Contains("'nope' does not exist"));
        Assert.Contains(errors, e => e.File == "e.yaml" && e.Field == "install_template" && e.Message.Contains("known install templates: install/ks"));
        Assert.Contains(errors, e => e.File == "f.yaml" && e.Field == "variables" && e.Message.Contains("needs variable disk that nothing defines"));
        Assert.DoesNotContain(errors, e => e.Message.Contains("timezone"));
    }

    [Fact]
    public void ServerVariables_SatisfyTemplates()
    {
        var spec = ProfileResolverTests.Model(new Profile { Name = "f", Distro = "rocky9", InstallTemplate = "install/ks" });
        Assert.Empty(SpecValidator.Validate(spec, Templates(("install/ks", ["site"])), new HashSet<string> { "site" }));
    }

    [Fact]
    public void RedhatProfile_WithoutInstallTemplate_IsRejected()
    {
        var spec = ProfileResolverTests.Model(new Profile { Name = "bare", Distro = "rocky9" });
        var e = Assert.Single(SpecValidator.Validate(spec, Templates(), NoServerVariables));
        Assert.Equal("install_template", e.Field);
    }

    [Fact]
    public void TooLongKernelCommandLine_IsRejected()
    {
        var spec = ProfileResolverTests.Model(new Profile
        {
            Name = "long", Distro = "rocky9", InstallTemplate = "install/ks",
            KernelArgs = new Dictionary<string, string?> { ["x"] = new string('a', KernelCommandLine.MaxLength) },
        });
        var e = Assert.Single(SpecValidator.Validate(spec, Templates(("install/ks", [])), NoServerVariables));
        Assert.Equal("kernel_args", e.Field);
        Assert.Contains("limit is 2048", e.Message);
    }

    [Theory]
    [InlineData("../etc/passwd")]
    [InlineData("/boot/vmlinuz")]
    [InlineData("a\\b")]
    [InlineData("ftp://x/vmlinuz")]
    public void DistroFiles_MustStayBelowFiles_OrBeHttp(string kernel)
    {
        var distro = ProfileResolverTests.Rocky with { Kernel = kernel };
        var spec = new SpecModel([(distro, new SpecSource("d.yaml", 1))], [], 0);
        var e = Assert.Single(SpecValidator.Validate(spec, Templates(), NoServerVariables));
        Assert.Equal("kernel", e.Field);
    }
}
