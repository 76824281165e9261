using System.Buffers.Binary;

namespace Pxe.Dhcp.Protocol;

/// <summary>
/// Finds options in a validated packet. A code that occurs several times is one option whose value is the
/// concatenation of the occurrences in order (RFC 3396 §7); a single occurrence is returned without copying.
/// </summary>
internal static class DhcpOptionReader
{
    /// <summary>Largest concatenated value the readers copy (stack scratch); a longer value is rejected.</summary>
    public const int MaxConcatenatedLength = 1024;

    public static bool Contains(DhcpPacket packet, DhcpOptionCode code)
    {
        foreach (var option in packet.GetOptions())
        {
            if (option.Code == code)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Gets the value of <paramref name="code"/>. Returns <see cref="DhcpOptionLookup.Absent"/> when missing,
    /// <see cref="DhcpOptionLookup.TooLong"/> when the concatenated value does not fit <paramref name="scratch"/>.
    /// </summary>
    public static DhcpOptionLookup TryGet(DhcpPacket packet, DhcpOptionCode code, Span<byte> scratch, out ReadOnlySpan<byte> value)
    {
        value = default;
        int occurrences = 0;
        int total = 0;
        ReadOnlySpan<byte> first = default;
        foreach (var option in packet.GetOptions())
        {
            if (option.Code != code)
            {
                continue;
            }

            if (occurrences == 0)
            {
                first = option.Value;
            }

            occurrences++;
            total += option.Value.Length;
        }

        if (occurrences == 0)
        {
            return DhcpOptionLookup.Absent;
        }

        if (occurrences == 1)
        {
            value = first;
            return DhcpOptionLookup.Found;
        }

        if (total > scratch.Length)
        {
            return DhcpOptionLookup.TooLong;
        }

        int written = 0;
        foreach (var option in packet.GetOptions())
        {
            if (option.Code == code)
            {
                option.Value.CopyTo(scratch[written..]);
                written += option.Value.Length;
            }
        }

        value = scratch[..written];
        return DhcpOptionLookup.Found;
    }
}

/// <summary>Result of an option lookup.</summary>
internal enum DhcpOptionLookup
{
    Absent,
    Found,
    TooLong,
}

/// <summary>One codec per option value type, each citing the RFC that defines the encoding.</summary>
internal static class DhcpOptionCodecs
{
    /// <summary>An IPv4 address option, 4 bytes in network order (RFC 2132 §3.3, §9.1, §9.7).</summary>
    public static bool TryReadAddress(ReadOnlySpan<byte> value, out uint address)
    {
        if (value.Length != 4)
        {
            address = 0;
            return false;
        }

        address = BinaryPrimitives.ReadUInt32BigEndian(value);
        return true;
    }

    /// <summary>A list of IPv4 addresses, a non-empty multiple of 4 bytes (RFC 2132 §3.5, §3.8).</summary>
    public static bool IsAddressList(ReadOnlySpan<byte> value) => value.Length >= 4 && value.Length % 4 == 0;

    /// <summary>A 32-bit count of seconds (RFC 2132 §9.2 lease time, §9.11 T1, §9.12 T2).</summary>
    public static bool TryReadSeconds(ReadOnlySpan<byte> value, out uint seconds)
    {
        if (value.Length != 4)
        {
            seconds = 0;
            return false;
        }

        seconds = BinaryPrimitives.ReadUInt32BigEndian(value);
        return true;
    }

    /// <summary>A 16-bit unsigned value (RFC 2132 §9.10 maximum DHCP message size, at least 576).</summary>
    public static bool TryReadUInt16(ReadOnlySpan<byte> value, out ushort result)
    {
        if (value.Length != 2)
        {
            result = 0;
            return false;
        }

        result = BinaryPrimitives.ReadUInt16BigEndian(value);
        return true;
    }

    /// <summary>
    /// Client system architecture list (RFC 4578 §2.1): one or more 16-bit IANA processor architecture types;
    /// the first is the one the client boots with.
    /// </summary>
    public static bool TryReadArchitecture(ReadOnlySpan<byte> value, out ClientArchitecture architecture)
    {
        if (value.Length < 2 || value.Length % 2 != 0)
        {
            architecture = default;
            return false;
        }

        architecture = (ClientArchitecture)BinaryPrimitives.ReadUInt16BigEndian(value);
        return true;
    }

    /// <summary>
    /// Client machine identifier (RFC 4578 §2.3): type 0 followed by a 16-byte GUID whose first three fields are
    /// little-endian (SMBIOS/EFI order, as iPXE and OVMF send it), which is exactly <see cref="Guid(ReadOnlySpan{byte})"/>'s layout.
    /// </summary>
    public static bool TryReadMachineIdentifier(ReadOnlySpan<byte> value, out Guid guid)
    {
        if (value.Length != 17 || value[0] != 0)
        {
            guid = Guid.Empty;
            return false;
        }

        guid = new Guid(value[1..]);
        return true;
    }

    /// <summary>Client network interface identifier (RFC 4578 §2.2): type 1, UNDI major, UNDI minor.</summary>
    public static bool TryReadNetworkInterfaceIdentifier(ReadOnlySpan<byte> value, out byte major, out byte minor)
    {
        if (value.Length != 3 || value[0] != 1)
        {
            major = minor = 0;
            return false;
        }

        major = value[1];
        minor = value[2];
        return true;
    }

    /// <summary>
    /// NVT ASCII text (RFC 2132 §2: not NUL-terminated, but some clients add one, as dnsmasq does for option 67);
    /// trailing NULs are ignored.
    /// </summary>
    public static ReadOnlySpan<byte> TrimText(ReadOnlySpan<byte> value)
    {
        int end = value.Length;
        while (end > 0 && value[end - 1] == 0)
        {
            end--;
        }

        return value[..end];
    }

    /// <summary>
    /// Finds a sub-option inside an encapsulated option that uses the option TLV format (RFC 2132 §8.4 vendor
    /// specific information, RFC 3046 §2.0 relay agent sub-options, iPXE option 175). Pad (0) and End (255) are
    /// honoured. Returns false when absent or when the encapsulation is malformed before it is found.
    /// </summary>
    public static bool TryFindSubOption(ReadOnlySpan<byte> encapsulated, byte code, out ReadOnlySpan<byte> value)
    {
        int i = 0;
        while (i < encapsulated.Length)
        {
            byte sub = encapsulated[i];
            if (sub == 0)
            {
                i++;
                continue;
            }

            if (sub == 255 || i + 1 >= encapsulated.Length)
            {
                break;
            }

            int length = encapsulated[i + 1];
            if (i + 2 + length > encapsulated.Length)
            {
                break;
            }

            if (sub == code)
            {
                value = encapsulated.Slice(i + 2, length);
                return true;
            }

            i += 2 + length;
        }

        value = default;
        return false;
    }
}
