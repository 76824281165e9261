using System.Buffers.Binary;

namespace Pxe.Dhcp.Protocol;

/// <summary>
/// PXE vendor sub-options carried in option 43 when option 60 is <c>PXEClient</c> (PXE 2.1 §2.2.6, table 2-1),
/// as the proxyDHCP offer and the boot-server ACK use them.
/// </summary>
internal static class PxeVendorOptions
{
    /// <summary>PXE_DISCOVERY_CONTROL.</summary>
    public const byte DiscoveryControl = 6;

    /// <summary>PXE_BOOT_SERVERS: type (2), count (1), addresses.</summary>
    public const byte BootServers = 8;

    /// <summary>PXE_BOOT_MENU: type (2), description length (1), description.</summary>
    public const byte BootMenu = 9;

    /// <summary>PXE_MENU_PROMPT: timeout in seconds (1), prompt text.</summary>
    public const byte MenuPrompt = 10;

    /// <summary>PXE_BOOT_ITEM: type (2), layer (2).</summary>
    public const byte BootItem = 71;

    /// <summary>Discovery control bit 0: disable broadcast discovery.</summary>
    public const byte DisableBroadcastDiscovery = 0x01;

    /// <summary>Discovery control bit 1: disable multicast discovery.</summary>
    public const byte DisableMulticastDiscovery = 0x02;

    /// <summary>Discovery control bit 2: only use and accept servers listed in PXE_BOOT_SERVERS.</summary>
    public const byte OnlyListedServers = 0x04;

    /// <summary>Discovery control bit 3: a boot file is in this offer; download it, no prompt, menu or discovery.</summary>
    public const byte UseBootFileInOffer = 0x08;

    /// <summary>
    /// Option 43 for an offer whose boot file is in the packet: discovery control 8, End. This is what makes a PXE
    /// ROM download the file from a proxyDHCP offer directly.
    /// </summary>
    public static int WriteDirectBoot(Span<byte> destination)
    {
        if (destination.Length < 4)
        {
            return -1;
        }

        destination[0] = DiscoveryControl;
        destination[1] = 1;
        destination[2] = UseBootFileInOffer;
        destination[3] = 255;
        return 4;
    }

    /// <summary>
    /// Option 43 for a boot menu: discovery control (unicast to listed servers only), the boot servers list with
    /// <paramref name="server"/> for every item type, the menu and the prompt, End. Returns the length, or -1 when
    /// it does not fit <paramref name="destination"/> or a sub-option would exceed 255 bytes.
    /// </summary>
    public static int WriteMenu(Span<byte> destination, uint server, IReadOnlyList<PxeMenuEntry> entries, byte timeoutSeconds, ReadOnlySpan<byte> prompt)
    {
        int p = 0;
        if (!Put(destination, ref p, DiscoveryControl, 1))
        {
            return -1;
        }

        destination[p++] = DisableBroadcastDiscovery | DisableMulticastDiscovery | OnlyListedServers;

        int serversLength = entries.Count * 7;
        if (serversLength > 255 || !Put(destination, ref p, BootServers, serversLength))
        {
            return -1;
        }

        foreach (var entry in entries)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination[p..], entry.Type);
            destination[p + 2] = 1;
            BinaryPrimitives.WriteUInt32BigEndian(destination[(p + 3)..], server);
            p += 7;
        }

        int menuLength = 0;
        foreach (var entry in entries)
        {
            menuLength += 3 + entry.Description.Length;
        }

        if (menuLength > 255 || !Put(destination, ref p, BootMenu, menuLength))
        {
            return -1;
        }

        foreach (var entry in entries)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination[p..], entry.Type);
            destination[p + 2] = (byte)entry.Description.Length;
            entry.Description.CopyTo(destination[(p + 3)..]);
            p += 3 + entry.Description.Length;
        }

        if (1 + prompt.Length > 255 || !Put(destination, ref p, MenuPrompt, 1 + prompt.Length))
        {
            return -1;
        }

        destination[p++] = timeoutSeconds;
        prompt.CopyTo(destination[p..]);
        p += prompt.Length;

        if (p >= destination.Length)
        {
            return -1;
        }

        destination[p++] = 255;
        return p;
    }

    /// <summary>Option 43 for a boot-server ACK: the requested boot item echoed (PXE 2.1 §2.2.6), End.</summary>
    public static int WriteBootItem(Span<byte> destination, ReadOnlySpan<byte> bootItem)
    {
        if (bootItem.Length != 4 || destination.Length < 7)
        {
            return -1;
        }

        destination[0] = BootItem;
        destination[1] = 4;
        bootItem.CopyTo(destination[2..]);
        destination[6] = 255;
        return 7;
    }

    private static bool Put(Span<byte> destination, ref int p, byte code, int length)
    {
        if (p + 2 + length > destination.Length)
        {
            return false;
        }

        destination[p] = code;
        destination[p + 1] = (byte)length;
        p += 2;
        return true;
    }
}

/// <summary>One PXE boot menu line (PXE 2.1 §2.2.6 PXE_BOOT_MENU): a server type and its ASCII description.</summary>
internal sealed record PxeMenuEntry(ushort Type, byte[] Description, string BootFile);
