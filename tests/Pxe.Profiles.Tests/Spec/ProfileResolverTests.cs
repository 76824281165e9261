using Pxe.Profiles.Domain;
using Pxe.Profiles.Spec;

namespace Pxe.Profiles.Tests.Spec;

public class ProfileResolverTests
{
    internal static readonly Distro Rocky = new()
    {
        Name = "rocky9",
        Breed = DistroBreed.Redhat,
        Kernel = "rocky9/vmlinuz",
        Initrd = "rocky9/initrd.img",
        KernelArgs = new Dictionary<string, string?> { ["console"] = "ttyS0", ["quiet"] = null },
        Variables = new Dictionary<string, object?> { ["timezone"] = "UTC", ["packages"] = new List<object?> { "core" } },
    };

    internal static SpecModel Model(params Profile[] profiles) =>
        new([(Rocky, new SpecSource("distros/rocky9.yaml", 1))], profiles.Select(p => (p, new SpecSource(p.Name + ".yaml", 1))), 0);

    [Fact]
    public void Chain_ScalarsOverride_DictionariesMergeParentFirst_BangRemoves()
    {
        var spec = Model(
            new Profile
            {
                Name = "base", Distro = "rocky9", InstallTemplate = "install/rhel9.ks", InstallTimeout = TimeSpan.FromMinutes(30), InstallRetries = 2,
                Variables = new Dictionary<string, object?> { ["timezone"] = "Europe/Berlin", ["role"] = "none", ["ntp"] = "ntp1" },
                KernelArgs = new Dictionary<string, string?> { ["nomodeset"] = null },
            },
            new Profile
            {
                Name = "web", Parent = "base", BootLoader = BootLoader.Pxelinux,
                Variables = new Dictionary<string, object?> { ["role"] = "web", ["!ntp"] = null },
                KernelArgs = new Dictionary<string, string?> { ["!quiet"] = null, ["console"] = "ttyS1" },
            },
            new Profile { Name = "web-eu", Parent = "web", InstallTimeout = TimeSpan.FromMinutes(120) });

        var (p, error) = ProfileResolver.Resolve(spec, "web-eu");
        Assert.Null(error);
        Assert.Equal(["base", "web", "web-eu"], p!.Chain);
        Assert.Equal(new Sourced<string>("install/rhel9.ks", "profile:base"), p.InstallTemplate);
        Assert.Equal(new Sourced<BootLoader>(BootLoader.Pxelinux, "profile:web"), p.BootLoader);
        Assert.Equal(new Sourced<TimeSpan>(TimeSpan.FromMinutes(120), "profile:web-eu"), p.InstallTimeout);
        Assert.Equal(new Sourced<int>(2, "profile:base"), p.InstallRetries);
        Assert.Equal(new Sourced<object?>("web", "profile:web"), p.Variables["role"]);
        Assert.Equal(new Sourced<object?>("Europe/Berlin", "profile:base"), p.Variables["timezone"]);
        Assert.Equal("distro:rocky9", p.Variables["packages"].Source);
        Assert.False(p.Variables.ContainsKey("ntp"));
        // Order of first appearance is kept; a removed argument is gone; an override keeps its place.
        Assert.Equal(["console", "nomodeset"], p.KernelArgs.Select(a => a.Key));
        Assert.Equal(new Sourced<string?>("ttyS1", "profile:web"), p.KernelArgs[0].Value);
    }

    [Fact]
    public void Cycle_IsReportedWithThePath()
    {
        var spec = Model(new Profile { Name = "a", Parent = "b" }, new Profile { Name = "b", Parent = "a" });
        var (p, error) = ProfileResolver.Resolve(spec, "a");
        Assert.Null(p);
        Assert.Equal("inheritance cycle: a -> b -> a", error);
    }

    [Fact]
    public void UnknownProfile_ListsTheKnownOnes()
    {
        var (_, error) = ProfileResolver.Resolve(Model(new Profile { Name = "base", Distro = "rocky9" }), "web");
        Assert.Equal("profile 'web' does not exist; known profiles: base", error);
    }

    [Fact]
    public void MissingParent_NamesTheChild()
    {
        var (_, error) = ProfileResolver.Resolve(Model(new Profile { Name = "web", Parent = "gone" }), "web");
        Assert.Contains("profile 'web' names parent 'gone'", error);
    }

    [Fact]
    public void DeepChains_AreAccepted_UpToTheLimit()
    {
        var profiles = new List<Profile> { new() { Name = "p0", Distro = "rocky9" } };
        for (var i = 1; i < ProfileResolver.MaxDepth; i++)
        {
            profiles.Add(new Profile { Name = $"p{i}", Parent = $"p{i - 1}", Variables = new Dictionary<string, object?> { ["level"] = (long)i } });
        }

        var (p, error) = ProfileResolver.Resolve(Model([.. profiles]), $"p{ProfileResolver.MaxDepth - 1}");
        Assert.Null(error);
        Assert.Equal((long)(ProfileResolver.MaxDepth - 1), p!.Variables["level"].Value);
    }
}
