namespace Pxe.Dhcp.Protocol;

/// <summary>What the client is, as far as booting is concerned.</summary>
/// <param name="Architecture">From option 93, else from <c>PXEClient:Arch:NNNNN</c> in option 60, else x86 BIOS.</param>
/// <param name="IsPxeClient">Option 60 starts with <c>PXEClient</c> (PXE 2.1 §2.2.5).</param>
/// <param name="IsHttpClient">Option 60 starts with <c>HTTPClient</c> (UEFI 2.5+ §24.7 HTTP boot).</param>
/// <param name="IsIpxe">Option 77 is the bare bytes <c>iPXE</c>, or option 175 is present (iPXE 1.0.0 sends both).</param>
internal readonly record struct ClientFirmware(
    ClientArchitecture Architecture,
    bool IsPxeClient,
    bool IsHttpClient,
    bool IsIpxe)
{
    /// <summary>A network-boot client that should get a boot file; anything else is an ordinary client.</summary>
    public bool IsBootClient => IsPxeClient || IsHttpClient || IsIpxe;

    /// <summary>x86 BIOS, classic PXE.</summary>
    public bool IsBios => Architecture is ClientArchitecture.X86Bios or ClientArchitecture.PcBiosHttp;

    /// <summary>x64 UEFI (EFI BC 7 or x86-64 9, and their HTTP variants).</summary>
    public bool IsUefiX64 => Architecture is ClientArchitecture.EfiByteCode or ClientArchitecture.EfiX64
        or ClientArchitecture.EfiX64Http or ClientArchitecture.EfiByteCodeHttp;

    /// <summary>ARM64 UEFI (11, or 19 over HTTP).</summary>
    public bool IsUefiArm64 => Architecture is ClientArchitecture.EfiArm64 or ClientArchitecture.EfiArm64Http;
}

/// <summary>Firmware classification from options 60, 77, 93 and 175 as iPXE, OVMF, the Debian installer and udhcpc send them.</summary>
internal static class ClientClassifier
{
    private static ReadOnlySpan<byte> PxeClientPrefix => "PXEClient"u8;

    private static ReadOnlySpan<byte> HttpClientPrefix => "HTTPClient"u8;

    private static ReadOnlySpan<byte> IpxeUserClass => "iPXE"u8;

    private static ReadOnlySpan<byte> ArchMarker => ":Arch:"u8;

    /// <summary>Classifies a client from the raw values of options 60, 77, 93 and whether 175 is present.</summary>
    public static ClientFirmware Classify(
        ReadOnlySpan<byte> vendorClass,
        ReadOnlySpan<byte> userClass,
        ReadOnlySpan<byte> architectureOption,
        bool hasIpxeEncapsulated)
    {
        bool pxe = vendorClass.StartsWith(PxeClientPrefix);
        bool http = vendorClass.StartsWith(HttpClientPrefix);

        // iPXE sends 77 as the raw bytes "iPXE", not RFC 3004 length-prefixed: compare raw bytes.
        bool ipxe = hasIpxeEncapsulated || DhcpOptionCodecs.TrimText(userClass).SequenceEqual(IpxeUserClass);

        if (!DhcpOptionCodecs.TryReadArchitecture(architectureOption, out var architecture)
            && !TryReadArchitectureFromVendorClass(vendorClass, out architecture))
        {
            architecture = ClientArchitecture.X86Bios;
        }

        return new ClientFirmware(architecture, pxe, http, ipxe);
    }

    /// <summary>Reads <c>NNNNN</c> from <c>PXEClient:Arch:NNNNN:UNDI:yyyzzz</c> (PXE 2.1 §2.2.5).</summary>
    public static bool TryReadArchitectureFromVendorClass(ReadOnlySpan<byte> vendorClass, out ClientArchitecture architecture)
    {
        architecture = default;
        int at = vendorClass.IndexOf(ArchMarker);
        if (at < 0 || vendorClass.Length < at + ArchMarker.Length + 5)
        {
            return false;
        }

        var digits = vendorClass.Slice(at + ArchMarker.Length, 5);
        int value = 0;
        foreach (byte d in digits)
        {
            if (d is < (byte)'0' or > (byte)'9')
            {
                return false;
            }

            value = (value * 10) + (d - '0');
        }

        if (value > ushort.MaxValue)
        {
            return false;
        }

        architecture = (ClientArchitecture)value;
        return true;
    }
}
