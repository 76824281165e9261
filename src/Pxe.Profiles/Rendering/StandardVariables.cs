namespace Pxe.Profiles.Rendering;

/// <summary>The variables the server itself defines for every render (see <see cref="MachineRenderer.Variables"/>).</summary>
public static class StandardVariables
{
    /// <summary>Their names.</summary>
    public static readonly IReadOnlySet<string> Names = new HashSet<string>(StringComparer.Ordinal)
    {
        "server_url", "next_server", "mac", "mac_hyphen", "hostname", "domain", "fqdn", "ip", "prefix", "netmask", "gateway",
        "dns", "profile", "distro", "boot_action", "kernel_url", "initrd_url", "initrd_name", "kernel_args", "kernel_cmdline", "install_url",
        "install_base_url", "done_url", "events_url", "install_token", "handoff",
    };
}

/// <summary>The boot-loader templates every profile relies on.</summary>
public static class BootTemplates
{
    /// <summary>iPXE script served at /boot/ipxe.</summary>
    public const string Ipxe = "boot/ipxe.ipxe";

    /// <summary>Per-MAC pxelinux config.</summary>
    public const string Pxelinux = "boot/pxelinux.cfg";

    /// <summary>Per-MAC GRUB config.</summary>
    public const string Grub = "boot/grub.cfg";

    /// <summary>The fixed /grub/grub.cfg that sources the per-MAC file.</summary>
    public const string GrubRoot = "boot/grub-root.cfg";

    /// <summary>All of them.</summary>
    public static readonly IReadOnlyList<string> All = [Ipxe, Pxelinux, Grub, GrubRoot];
}
