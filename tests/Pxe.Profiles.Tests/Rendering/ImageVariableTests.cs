using Pxe.Profiles.Domain;
using Pxe.Profiles.Rendering;
using Pxe.Profiles.Spec;
using Pxe.Profiles.Tests.Templates;

namespace Pxe.Profiles.Tests.Rendering;

/// <summary>
/// "Install image X": <c>image: NAME</c> on a profile or machine makes the shipped install/image.plan carry the library's
/// file, checksum and size; an image the library lacks is a render error that says how to build it; the spec validator
/// counts the image variables as defined; values set directly (the hello disk) keep working.
/// </summary>
public sealed class ImageVariableTests
{
    private const string WebSha = "5f1c0e8e2b4a7d9c3e6f8a1b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f2a4b6c8d";
    private const string WebV1Sha = "1111111111111111111111111111111111111111111111111111111111111111";
    private static readonly MacAddress Mac = MacAddress.Parse("52:54:00:12:34:56");

    /// <summary>A library holding web versions 1 and 2 (2 is the newest); no other image.</summary>
    private sealed class Library : IImageCatalog
    {
        public List<(string Name, string? Version)> Asked { get; } = [];

        public ImageReference? Find(string name, string? version)
        {
            Asked.Add((name, version));
            return (name, version) switch
            {
                ("web", null or "2") => new ImageReference("images/web/2/web-2.raw", WebSha, 75_497_472, "none"),
                ("web", "1") => new ImageReference("images/web/1/web-1.raw", WebV1Sha, 70_000_640, "none"),
                _ => null,
            };
        }
    }

    private static SpecModel Spec(params string[] profiles)
    {
        var distro = SpecYaml.Read(File.ReadAllText(Path.Combine(TemplateTestSupport.RepoRoot, "profiles", "distros", "pxe-installer.yaml")), "distros/pxe-installer.yaml");
        Assert.Empty(distro.Errors);
        var read = profiles.Select((yaml, i) => SpecYaml.Read(yaml, $"p{i}.yaml")).ToList();
        Assert.All(read, r => Assert.Empty(r.Errors));
        return new SpecModel([(distro.Distro!, distro.Source)], read.Select(r => (r.Profile!, r.Source)), 0);
    }

    private static string ImageProfile(string name, string variables) =>
        $"kind: profile\nname: {name}\ndistro: pxe-installer\ninstall_template: install/image.plan\nvariables:\n  disk: \"\"\n{variables}";

    private static MachineRenderer Renderer(IImageCatalog? images) =>
        new(TemplateTestSupport.Shipped, new RenderSettings { ServerUrl = "http://10.0.0.1:8080", NextServer = "10.0.0.1", Images = images });

    private static Machine Machine(string profile, Dictionary<string, object?>? variables = null) => new()
    {
        Macs = [Mac],
        Hostname = "web01",
        Profile = profile,
        BootAction = BootAction.Install,
        Variables = variables ?? [],
    };

    private static RenderOutcome RenderPlan(SpecModel spec, string profile, IImageCatalog? images, Dictionary<string, object?>? machineVariables = null) =>
        Renderer(images).RenderInstallFile(Machine(profile, machineVariables), ProfileResolver.Resolve(spec, profile).Profile!, "install", Mac, "tok");

    [Fact]
    public void ImageVariable_FillsTheImagePlan_WithTheNewestRawDiskOfTheLibrary()
    {
        var spec = Spec(ImageProfile("web-disk", "  image: web\n"));

        var plan = RenderPlan(spec, "web-disk", new Library());

        Assert.True(plan.Succeeded, plan.Error);
        Assert.Contains("image_url='http://10.0.0.1:8080'/files/'images/web/2/web-2.raw'\n", plan.Text, StringComparison.Ordinal);
        Assert.Contains($"image_sha256='{WebSha}'\n", plan.Text, StringComparison.Ordinal);
        Assert.Contains("image_size='75497472'\n", plan.Text, StringComparison.Ordinal);
        Assert.Contains("image_compression='none'\n", plan.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void ImageVersion_PinsAnOlderVersion_AndAMachineMayOverrideTheProfile()
    {
        var spec = Spec(ImageProfile("web-disk", "  image: web\n  image_version: 1\n"));
        var library = new Library();

        var pinned = RenderPlan(spec, "web-disk", library);
        var newest = RenderPlan(spec, "web-disk", library, new() { ["image_version"] = "" });

        Assert.True(pinned.Succeeded, pinned.Error);
        Assert.Contains("'images/web/1/web-1.raw'", pinned.Text, StringComparison.Ordinal);
        Assert.Contains($"image_sha256='{WebV1Sha}'", pinned.Text, StringComparison.Ordinal);
        Assert.Contains(("web", "1"), library.Asked);
        Assert.True(newest.Succeeded, newest.Error);
        Assert.Contains("'images/web/2/web-2.raw'", newest.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void ImageVariable_ReplacesImageFileSetDirectly_WithProvenance()
    {
        var spec = Spec(ImageProfile("web-disk", "  image: web\n  image_file: images/stale.img\n  image_sha256: \"00\"\n"));
        var renderer = Renderer(new Library());
        var machine = Machine("web-disk");
        var profile = ProfileResolver.Resolve(spec, "web-disk").Profile!;

        var plan = renderer.RenderInstallFile(machine, profile, "install", Mac, "tok");

        Assert.True(plan.Succeeded, plan.Error);
        Assert.Contains("'images/web/2/web-2.raw'", plan.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("stale", plan.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("image_sha256='00'", plan.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownImage_IsARenderError_ThatSaysHowToBuildIt_ButTheMachineStillBoots()
    {
        var spec = Spec(ImageProfile("db-disk", "  image: db\n"));
        var renderer = Renderer(new Library());
        var machine = Machine("db-disk");
        var profile = ProfileResolver.Resolve(spec, "db-disk").Profile!;

        var plan = renderer.RenderInstallFile(machine, profile, "install", Mac, "tok");
        var boot = renderer.RenderBoot(BootFileKind.Ipxe, machine, profile, Mac, "tok");
        var local = renderer.RenderBoot(BootFileKind.Ipxe, machine with { BootAction = BootAction.Local }, profile, Mac, null);

        Assert.False(plan.Succeeded);
        Assert.Contains("image 'db' (variable image, from profile:db-disk) is not in the image library", plan.Error, StringComparison.Ordinal);
        Assert.Contains("pxe images build db --role ROLE --format raw", plan.Error, StringComparison.Ordinal);
        Assert.True(boot.Succeeded, "the boot script does not use the image: " + boot.Error);
        Assert.True(local.Succeeded, "a local boot must never fail for an image: " + local.Error);
    }

    [Fact]
    public void UnknownVersion_AndABadName_AreRenderErrors()
    {
        var library = new Library();
        var missingVersion = RenderPlan(Spec(ImageProfile("web-disk", "  image: web\n  image_version: 9\n")), "web-disk", library);
        var badName = RenderPlan(Spec(ImageProfile("web-disk", "  image: Web Server\n")), "web-disk", library);

        Assert.Contains("image 'web' version 9 (variable image, from profile:web-disk) is not in the image library", missingVersion.Error, StringComparison.Ordinal);
        Assert.Contains("'Web Server'", badName.Error, StringComparison.Ordinal);
        Assert.Contains("is not an image name", badName.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(("Web Server", null), library.Asked);
    }

    [Fact]
    public void ImageFileSetDirectly_StillWorks_WithOrWithoutALibrary()
    {
        // The shipped hello-disk profile sets image_file and image_sha256 itself.
        var hello = File.ReadAllText(Path.Combine(TemplateTestSupport.RepoRoot, "profiles", "hello-disk.yaml"));
        var spec = Spec(hello);

        foreach (var images in new IImageCatalog?[] { new Library(), null })
        {
            var plan = RenderPlan(spec, "hello-disk", images);
            Assert.True(plan.Succeeded, plan.Error);
            Assert.Contains("'images/hello-disk.img'", plan.Text, StringComparison.Ordinal);
            Assert.Contains("image_size=''\n", plan.Text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void WithoutALibrary_ImageDefinesNothing()
    {
        var plan = RenderPlan(Spec(ImageProfile("web-disk", "  image: web\n")), "web-disk", images: null);

        Assert.False(plan.Succeeded);
        Assert.Contains("image_file", plan.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void SpecValidator_CountsTheImageVariablesAsDefined_WhenImageIsSet_AndChecksTheName()
    {
        var ok = SpecValidator.Validate(Spec(ImageProfile("web-disk", "  image: web\n")), TemplateTestSupport.Shipped, new HashSet<string>());
        var without = SpecValidator.Validate(Spec(ImageProfile("bare-disk", "")), TemplateTestSupport.Shipped, new HashSet<string>());
        var badName = SpecValidator.Validate(Spec(ImageProfile("web-disk", "  image: Web_Server\n  image_version: \"v 1\"\n")), TemplateTestSupport.Shipped, new HashSet<string>());

        Assert.Empty(ok);
        Assert.Contains("needs variables image_file, image_sha256 that nothing defines", Assert.Single(without).Message, StringComparison.Ordinal);
        Assert.Equal(2, badName.Count);
        Assert.All(badName, e => Assert.Equal(("p0.yaml", "variables"), (e.File, e.Field)));
        Assert.Contains(badName, e => e.Message.StartsWith("image: 'Web_Server' (from profile:web-disk) is not an image name", StringComparison.Ordinal));
        Assert.Contains(badName, e => e.Message.StartsWith("image_version: 'v 1' is not an image version", StringComparison.Ordinal));
    }
}
