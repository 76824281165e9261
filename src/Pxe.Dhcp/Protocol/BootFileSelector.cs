namespace Pxe.Dhcp.Protocol;

/// <summary>The boot file for a client, or none.</summary>
/// <param name="BootFile">File name or URL for the file field and option 67, or null for an ordinary client.</param>
/// <param name="EchoHttpClient">Send option 60 <c>HTTPClient</c>; UEFI HTTP boot ignores offers without it (UEFI 2.5 §24.7.2).</param>
internal readonly record struct BootDecision(string? BootFile, bool EchoHttpClient)
{
    public static BootDecision None => default;
}

/// <summary>Chooses the boot file from the client's firmware and the machine's loader (as observed with SeaBIOS/iPXE, OVMF, the Debian installer and udhcpc).</summary>
internal static class BootFileSelector
{
    /// <summary>
    /// The rules, first match wins:
    /// <list type="number">
    /// <item>Not PXEClient, HTTPClient or iPXE (for example udhcpc, the Debian installer): no boot file.</item>
    /// <item>UEFI HTTP boot (60 <c>HTTPClient</c>): the HTTP URL of the EFI loader for its architecture, 60 echoed.</item>
    /// <item>PXELINUX profile on BIOS (an iPXE ROM included): <c>pxelinux.0</c>; PXELINUX does no DHCP of its own.</item>
    /// <item>GRUB profile on UEFI: the GRUB network image for its architecture.</item>
    /// <item>Already iPXE (77 = <c>iPXE</c> or 175 present): the HTTP URL of its script, so it never chainloads itself.</item>
    /// <item>Otherwise the iPXE binary for the firmware: BIOS <c>undionly.kpxe</c>, x64 UEFI <c>ipxe.efi</c>, ARM64 its EFI build.</item>
    /// </list>
    /// Architectures with no loader configured get no boot file.
    /// </summary>
    public static BootDecision Select(ClientFirmware firmware, DhcpBootLoader loader, DhcpBootFileOptions files, string httpBase)
    {
        if (!firmware.IsBootClient)
        {
            return BootDecision.None;
        }

        if (firmware.IsHttpClient)
        {
            if (firmware.IsUefiArm64)
            {
                return new BootDecision(httpBase + files.HttpBootArm64Path, true);
            }

            return firmware.IsUefiX64 ? new BootDecision(httpBase + files.HttpBootX64Path, true) : BootDecision.None;
        }

        if (loader == DhcpBootLoader.Pxelinux && firmware.IsBios)
        {
            return new BootDecision(files.BiosPxelinux, false);
        }

        if (loader == DhcpBootLoader.Grub)
        {
            if (firmware.IsUefiX64)
            {
                return new BootDecision(files.UefiX64Grub, false);
            }

            if (firmware.IsUefiArm64)
            {
                return new BootDecision(files.UefiArm64Grub, false);
            }
        }

        if (firmware.IsIpxe)
        {
            return new BootDecision(httpBase + files.IpxeScriptPath, false);
        }

        if (firmware.IsBios)
        {
            return new BootDecision(files.BiosIpxe, false);
        }

        if (firmware.IsUefiX64)
        {
            return new BootDecision(files.UefiX64Ipxe, false);
        }

        return firmware.IsUefiArm64 ? new BootDecision(files.UefiArm64Ipxe, false) : BootDecision.None;
    }
}
