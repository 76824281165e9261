namespace Pxe.Profiles.Domain;

/// <summary>How a machine's firmware is taken to the installer.</summary>
public enum BootLoader
{
    /// <summary>iPXE script over HTTP (the default: fastest, and works for BIOS and UEFI).</summary>
    Ipxe,

    /// <summary>pxelinux config over TFTP (BIOS only).</summary>
    Pxelinux,

    /// <summary>GRUB config over TFTP (UEFI).</summary>
    Grub,
}

/// <summary>
/// A profile as written: it names either a distro or a parent profile, and overrides or extends what it inherits.
/// Inheritance follows Cobbler: a scalar overrides, a dictionary merges parent-first, and a key written as
/// <c>!key</c> removes an inherited key. <see cref="Spec.ProfileResolver"/> turns the chain into a <see cref="Spec.ResolvedProfile"/>.
/// </summary>
public sealed record Profile
{
    /// <summary>Unique name.</summary>
    public required string Name { get; init; }

    /// <summary>The distro this profile installs (exactly one of Distro and Parent is set).</summary>
    public string? Distro { get; init; }

    /// <summary>The parent profile this one inherits from.</summary>
    public string? Parent { get; init; }

    /// <summary>Install template, relative to templates/ (e.g. <c>install/rhel9.ks</c>); inherited when null.</summary>
    public string? InstallTemplate { get; init; }

    /// <summary>Boot loader preference; inherited when null; <see cref="BootLoader.Ipxe"/> at the root.</summary>
    public BootLoader? BootLoader { get; init; }

    /// <summary>How long an install may take before the machine is marked Failed; inherited when null.</summary>
    public TimeSpan? InstallTimeout { get; init; }

    /// <summary>
    /// After an install times out: how many times the next network boot installs again before the machine falls back
    /// to booting from its disk (0: fall back at once); inherited when null.
    /// </summary>
    public int? InstallRetries { get; init; }

    /// <summary>Kernel arguments merged over the parent's (<c>!key</c> removes).</summary>
    public IReadOnlyDictionary<string, string?> KernelArgs { get; init; } = new Dictionary<string, string?>();

    /// <summary>Template variables merged over the parent's (<c>!key</c> removes).</summary>
    public IReadOnlyDictionary<string, object?> Variables { get; init; } = new Dictionary<string, object?>();

    /// <summary>First-boot hand-off settings (client and its parameters) merged over the parent's.</summary>
    public IReadOnlyDictionary<string, object?> Handoff { get; init; } = new Dictionary<string, object?>();

    /// <summary>
    /// Variables whose values are secrets (besides the names <see cref="Spec.SecretVariables"/> always treats as
    /// secret): rendered into install files, never shown by the read API.
    /// </summary>
    public IReadOnlyList<string> Secrets { get; init; } = [];

    /// <summary>Free text for operators.</summary>
    public string? Comment { get; init; }
}
