namespace Pxe.Profiles.Domain;

/// <summary>The installer family of a distro: decides which install arguments go on the kernel command line.</summary>
public enum DistroBreed
{
    /// <summary>RHEL, Rocky, Alma, Fedora, CentOS: Anaconda reads a kickstart (<c>inst.ks=</c>).</summary>
    Redhat,

    /// <summary>Debian: debian-installer reads a preseed (<c>url=</c>).</summary>
    Debian,

    /// <summary>Ubuntu server (subiquity): autoinstall from a NoCloud datasource.</summary>
    Ubuntu,

    /// <summary>SUSE: AutoYaST (<c>autoyast=</c>).</summary>
    Suse,

    /// <summary>Fedora CoreOS / Flatcar: Ignition (<c>ignition.config.url=</c>).</summary>
    Coreos,

    /// <summary>Anything else: only the configured kernel arguments.</summary>
    Generic,
}

/// <summary>An installable operating system: its kernel, initrd, arguments and install tree.</summary>
public sealed record Distro
{
    /// <summary>Unique name, e.g. <c>rhel9-x86_64</c>.</summary>
    public required string Name { get; init; }

    /// <summary>CPU architecture: <c>x86_64</c> or <c>aarch64</c>.</summary>
    public string Arch { get; init; } = "x86_64";

    /// <summary>Installer family.</summary>
    public DistroBreed Breed { get; init; } = DistroBreed.Generic;

    /// <summary>Kernel: a path below the data directory's files/ folder, or an absolute http(s) URL.</summary>
    public required string Kernel { get; init; }

    /// <summary>Initrd: a path below files/, or an absolute http(s) URL.</summary>
    public required string Initrd { get; init; }

    /// <summary>Kernel arguments (<c>key=value</c>; a null value is a bare flag).</summary>
    public IReadOnlyDictionary<string, string?> KernelArgs { get; init; } = new Dictionary<string, string?>();

    /// <summary>URL of the install tree (package repository), used by install templates.</summary>
    public string? InstallTree { get; init; }

    /// <summary>Variables every profile of this distro inherits.</summary>
    public IReadOnlyDictionary<string, object?> Variables { get; init; } = new Dictionary<string, object?>();

    /// <summary>
    /// Variables whose values are secrets (besides the names <see cref="Spec.SecretVariables"/> always treats as
    /// secret): rendered into install files, never shown by the read API.
    /// </summary>
    public IReadOnlyList<string> Secrets { get; init; } = [];

    /// <summary>Free text for operators.</summary>
    public string? Comment { get; init; }
}
