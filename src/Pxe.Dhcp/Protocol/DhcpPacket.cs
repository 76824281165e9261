using System.Buffers.Binary;

namespace Pxe.Dhcp.Protocol;

/// <summary>
/// A read-only view of a BOOTP/DHCPv4 message over its datagram (RFC 2131 §2, figure 1):
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +---------------+---------------+---------------+---------------+
/// |     op (1)    |   htype (1)   |   hlen (1)    |   hops (1)    |
/// +---------------+---------------+---------------+---------------+
/// |                            xid (4)                            |
/// +-------------------------------+-------------------------------+
/// |           secs (2)            |           flags (2)           |
/// +-------------------------------+-------------------------------+
/// |                          ciaddr  (4)                          |
/// |                          yiaddr  (4)                          |
/// |                          siaddr  (4)                          |
/// |                          giaddr  (4)                          |
/// +---------------------------------------------------------------+
/// |                          chaddr  (16)                         |
/// |                          sname   (64)                         |
/// |                          file    (128)                        |
/// +---------------------------------------------------------------+
/// |              magic cookie 99.130.83.99 (RFC 2131 §3)          |
/// |                          options (variable)                   |
/// +---------------------------------------------------------------+
/// </code>
/// <see cref="TryParse"/> validates the whole option structure once (lengths, End, option 52), so the
/// accessors and <see cref="DhcpOptionEnumerator"/> never read out of bounds afterwards.
/// </summary>
internal readonly ref struct DhcpPacket
{
    public const int OpOffset = 0;
    public const int HTypeOffset = 1;
    public const int HLenOffset = 2;
    public const int HopsOffset = 3;
    public const int XidOffset = 4;
    public const int SecsOffset = 8;
    public const int FlagsOffset = 10;
    public const int CiaddrOffset = 12;
    public const int YiaddrOffset = 16;
    public const int SiaddrOffset = 20;
    public const int GiaddrOffset = 24;
    public const int ChaddrOffset = 28;
    public const int ChaddrLength = 16;
    public const int SnameOffset = 44;
    public const int SnameLength = 64;
    public const int FileOffset = 108;
    public const int FileLength = 128;
    public const int MagicCookieOffset = 236;
    public const int OptionsOffset = 240;

    /// <summary>99.130.83.99, RFC 2131 §3.</summary>
    public const uint MagicCookie = 0x63825363;

    /// <summary>Broadcast bit of the flags field (RFC 2131 §2, figure 2).</summary>
    public const ushort BroadcastFlag = 0x8000;

    /// <summary>Minimum BOOTP message length (RFC 1542 §3.4: 300 bytes); replies are padded up to it.</summary>
    public const int MinimumBootpLength = 300;

    private readonly ReadOnlySpan<byte> _data;

    private DhcpPacket(ReadOnlySpan<byte> data, DhcpOverload overload)
    {
        _data = data;
        Overload = overload;
    }

    /// <summary>The whole datagram.</summary>
    public ReadOnlySpan<byte> Data => _data;

    /// <summary>Which of sname/file carry options (option 52), already validated.</summary>
    public DhcpOverload Overload { get; }

    public BootpOpCode Op => (BootpOpCode)_data[OpOffset];

    public byte HardwareType => _data[HTypeOffset];

    public byte HardwareAddressLength => _data[HLenOffset];

    public byte Hops => _data[HopsOffset];

    public uint TransactionId => BinaryPrimitives.ReadUInt32BigEndian(_data[XidOffset..]);

    public ushort Seconds => BinaryPrimitives.ReadUInt16BigEndian(_data[SecsOffset..]);

    public ushort Flags => BinaryPrimitives.ReadUInt16BigEndian(_data[FlagsOffset..]);

    public bool IsBroadcast => (Flags & BroadcastFlag) != 0;

    public uint ClientAddress => BinaryPrimitives.ReadUInt32BigEndian(_data[CiaddrOffset..]);

    public uint YourAddress => BinaryPrimitives.ReadUInt32BigEndian(_data[YiaddrOffset..]);

    public uint ServerAddress => BinaryPrimitives.ReadUInt32BigEndian(_data[SiaddrOffset..]);

    public uint RelayAddress => BinaryPrimitives.ReadUInt32BigEndian(_data[GiaddrOffset..]);

    /// <summary>The first hlen bytes of chaddr.</summary>
    public ReadOnlySpan<byte> ClientHardwareAddress => _data.Slice(ChaddrOffset, HardwareAddressLength);

    /// <summary>The raw 16-byte chaddr field.</summary>
    public ReadOnlySpan<byte> ClientHardwareAddressField => _data.Slice(ChaddrOffset, ChaddrLength);

    /// <summary>The sname field (64 bytes); holds options instead when <see cref="Overload"/> says so.</summary>
    public ReadOnlySpan<byte> ServerNameField => _data.Slice(SnameOffset, SnameLength);

    /// <summary>The file field (128 bytes); holds options instead when <see cref="Overload"/> says so.</summary>
    public ReadOnlySpan<byte> FileField => _data.Slice(FileOffset, FileLength);

    /// <summary>The variable options field after the magic cookie.</summary>
    public ReadOnlySpan<byte> OptionsField => _data[OptionsOffset..];

    /// <summary>Enumerates options in RFC 2131 §4.1 order: options field, then file, then sname when overloaded.</summary>
    public DhcpOptionEnumerator GetOptions() => new(this);

    /// <summary>
    /// Parses and validates a datagram. Nothing is copied; the view borrows <paramref name="datagram"/>.
    /// Returns a status rather than throwing, because the input comes from the network.
    /// </summary>
    public static DhcpParseStatus TryParse(ReadOnlySpan<byte> datagram, out DhcpPacket packet)
    {
        packet = default;
        if (datagram.Length < OptionsOffset)
        {
            return DhcpParseStatus.TruncatedHeader;
        }

        byte op = datagram[OpOffset];
        if (op is not ((byte)BootpOpCode.BootRequest or (byte)BootpOpCode.BootReply))
        {
            return DhcpParseStatus.BadOpCode;
        }

        if (datagram[HLenOffset] > ChaddrLength)
        {
            return DhcpParseStatus.BadHardwareAddressLength;
        }

        if (BinaryPrimitives.ReadUInt32BigEndian(datagram[MagicCookieOffset..]) != MagicCookie)
        {
            return DhcpParseStatus.BadMagicCookie;
        }

        var status = ValidateArea(datagram[OptionsOffset..], requireEnd: true, out var overload);
        if (status != DhcpParseStatus.Ok)
        {
            return status;
        }

        // RFC 2132 §9.3: the overload option appears only in the options field, and is followed once.
        if ((overload & DhcpOverload.File) != 0)
        {
            status = ValidateArea(datagram.Slice(FileOffset, FileLength), requireEnd: false, out _);
            if (status != DhcpParseStatus.Ok)
            {
                return status;
            }
        }

        if ((overload & DhcpOverload.ServerName) != 0)
        {
            status = ValidateArea(datagram.Slice(SnameOffset, SnameLength), requireEnd: false, out _);
            if (status != DhcpParseStatus.Ok)
            {
                return status;
            }
        }

        packet = new DhcpPacket(datagram, overload);
        return DhcpParseStatus.Ok;
    }

    /// <summary>
    /// Walks one option area. The options field must end with End (RFC 2131 §4.1); an overloaded sname or file
    /// field may simply be filled up to its end. Option 52 is honoured only in the options field.
    /// </summary>
    private static DhcpParseStatus ValidateArea(ReadOnlySpan<byte> area, bool requireEnd, out DhcpOverload overload)
    {
        overload = DhcpOverload.None;
        int i = 0;
        while (i < area.Length)
        {
            byte code = area[i];
            if (code == (byte)DhcpOptionCode.Pad)
            {
                i++;
                continue;
            }

            if (code == (byte)DhcpOptionCode.End)
            {
                return DhcpParseStatus.Ok;
            }

            if (i + 1 >= area.Length)
            {
                return DhcpParseStatus.TruncatedOption;
            }

            int length = area[i + 1];
            if (i + 2 + length > area.Length)
            {
                return DhcpParseStatus.TruncatedOption;
            }

            if (code == (byte)DhcpOptionCode.OptionOverload)
            {
                if (!requireEnd)
                {
                    // Option 52 inside sname/file would ask to follow an overload twice; RFC 2132 §9.3 forbids it.
                    return DhcpParseStatus.BadOverload;
                }

                if (length != 1 || area[i + 2] is < 1 or > 3)
                {
                    return DhcpParseStatus.BadOverload;
                }

                overload = (DhcpOverload)area[i + 2];
            }

            i += 2 + length;
        }

        return requireEnd ? DhcpParseStatus.MissingEnd : DhcpParseStatus.Ok;
    }
}

/// <summary>Option 52 values (RFC 2132 §9.3).</summary>
[Flags]
internal enum DhcpOverload : byte
{
    None = 0,
    File = 1,
    ServerName = 2,
    Both = 3,
}
