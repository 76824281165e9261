using Pxe.Profiles.Spec;
using Pxe.Profiles.Tests.Templates;

namespace Pxe.Profiles.Tests.Spec;

public class SpecDirectoryTests
{
    [Fact]
    public void ShippedProfiles_LoadAndValidate_AgainstShippedTemplates()
    {
        var (spec, errors) = new SpecDirectory(Path.Combine(TemplateTestSupport.RepoRoot, "profiles")).Load();
        Assert.Empty(errors);
        Assert.True(spec!.Profiles.Count >= 4);
        Assert.Contains("web", spec.Profiles.Keys);
        var library = TemplateTestSupport.Shipped;
        Assert.Empty(SpecValidator.Validate(spec, library, new HashSet<string>()));
    }

    [Fact]
    public void DuplicateNames_NameBothFiles()
    {
        var dir = Directory.CreateTempSubdirectory("pxe-spec-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "a.yaml"), "kind: profile\nname: web\ndistro: x\n");
            File.WriteAllText(Path.Combine(dir.FullName, "b.yaml"), "kind: profile\nname: web\ndistro: x\n");
            var (_, errors) = new SpecDirectory(dir.FullName).Load();
            var e = Assert.Single(errors);
            Assert.Equal("b.yaml", e.File);
            Assert.Contains("already defined in a.yaml:2", e.Message);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void RoleOverlays_InTheRolesFolder_AreNotReadAsSpecObjects()
    {
        var dir = Directory.CreateTempSubdirectory("pxe-spec-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "d.yaml"), "kind: distro\nname: d\narch: x86_64\nbreed: generic\nkernel: k\ninitrd: i\n");
            Directory.CreateDirectory(Path.Combine(dir.FullName, "roles"));
            File.WriteAllText(Path.Combine(dir.FullName, "roles", "web.yaml"), "kind: role\nname: web\npackages: [nginx-light]\n");
            var (spec, errors) = new SpecDirectory(dir.FullName).Load();
            Assert.Empty(errors);
            Assert.Equal("d", Assert.Single(spec!.Distros.Keys));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void MissingDirectory_IsAnError_NotAnException()
    {
        var (spec, errors) = new SpecDirectory("/nonexistent/pxe-spec").Load();
        Assert.Null(spec);
        Assert.Contains("does not exist", Assert.Single(errors).Message);
    }
}
