using System.Buffers.Binary;

namespace Pxe.Dhcp.Protocol;

/// <summary>Result of writing a message.</summary>
internal enum DhcpWriteStatus
{
    Ok,

    /// <summary>The message does not fit the buffer or the client's maximum message size.</summary>
    TooLarge,

    /// <summary>The boot file name does not fit the 128-byte file field with its terminating NUL (RFC 2131 §2).</summary>
    BootFileNameTooLong,

    /// <summary>The server name does not fit the 64-byte sname field with its terminating NUL (RFC 2131 §2).</summary>
    ServerNameTooLong,
}

/// <summary>
/// Writes a BOOTP/DHCPv4 message into a caller's buffer without allocating. Options longer than 255 bytes are
/// split into consecutive occurrences of the same code (RFC 3396 §5); the message ends with End and is padded
/// with zeros to the 300-byte BOOTP minimum (RFC 1542 §3.4). Overflow is sticky and reported by <see cref="Finish"/>.
/// </summary>
internal ref struct DhcpPacketWriter
{
    private readonly Span<byte> _buffer;
    private readonly int _limit;
    private int _position;
    private DhcpWriteStatus _status;

    /// <param name="buffer">Destination; at least 300 bytes.</param>
    /// <param name="limit">Largest message the peer accepts (from option 57 minus IP and UDP headers), capped at the buffer.</param>
    public DhcpPacketWriter(Span<byte> buffer, int limit)
    {
        _buffer = buffer;
        _limit = Math.Min(limit, buffer.Length);
        _position = 0;
        _status = _limit < DhcpPacket.MinimumBootpLength ? DhcpWriteStatus.TooLarge : DhcpWriteStatus.Ok;
    }

    public readonly int Position => _position;

    public readonly DhcpWriteStatus Status => _status;

    /// <summary>Writes the fixed header and the magic cookie (RFC 2131 §2, §3); sname and file are zeroed.</summary>
    public void WriteHeader(
        BootpOpCode op,
        byte hardwareType,
        byte hardwareAddressLength,
        uint transactionId,
        ushort seconds,
        ushort flags,
        uint clientAddress,
        uint yourAddress,
        uint serverAddress,
        uint relayAddress,
        scoped ReadOnlySpan<byte> clientHardwareAddressField)
    {
        if (_status != DhcpWriteStatus.Ok)
        {
            return;
        }

        var header = _buffer[..DhcpPacket.OptionsOffset];
        header.Clear();
        header[DhcpPacket.OpOffset] = (byte)op;
        header[DhcpPacket.HTypeOffset] = hardwareType;
        header[DhcpPacket.HLenOffset] = hardwareAddressLength;
        header[DhcpPacket.HopsOffset] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(header[DhcpPacket.XidOffset..], transactionId);
        BinaryPrimitives.WriteUInt16BigEndian(header[DhcpPacket.SecsOffset..], seconds);
        BinaryPrimitives.WriteUInt16BigEndian(header[DhcpPacket.FlagsOffset..], flags);
        BinaryPrimitives.WriteUInt32BigEndian(header[DhcpPacket.CiaddrOffset..], clientAddress);
        BinaryPrimitives.WriteUInt32BigEndian(header[DhcpPacket.YiaddrOffset..], yourAddress);
        BinaryPrimitives.WriteUInt32BigEndian(header[DhcpPacket.SiaddrOffset..], serverAddress);
        BinaryPrimitives.WriteUInt32BigEndian(header[DhcpPacket.GiaddrOffset..], relayAddress);
        var chaddr = clientHardwareAddressField.Length > DhcpPacket.ChaddrLength
            ? clientHardwareAddressField[..DhcpPacket.ChaddrLength]
            : clientHardwareAddressField;
        chaddr.CopyTo(header[DhcpPacket.ChaddrOffset..]);
        BinaryPrimitives.WriteUInt32BigEndian(header[DhcpPacket.MagicCookieOffset..], DhcpPacket.MagicCookie);
        _position = DhcpPacket.OptionsOffset;
    }

    /// <summary>Puts a boot file name in the file field, NUL-terminated; a name that does not fit is an error, never truncated.</summary>
    public void WriteFileField(scoped ReadOnlySpan<byte> bootFileName)
    {
        if (_status != DhcpWriteStatus.Ok)
        {
            return;
        }

        if (bootFileName.Length > DhcpPacket.FileLength - 1)
        {
            _status = DhcpWriteStatus.BootFileNameTooLong;
            return;
        }

        bootFileName.CopyTo(_buffer[DhcpPacket.FileOffset..]);
    }

    /// <summary>Puts a server host name in the sname field, NUL-terminated; too long is an error.</summary>
    public void WriteServerNameField(scoped ReadOnlySpan<byte> serverName)
    {
        if (_status != DhcpWriteStatus.Ok)
        {
            return;
        }

        if (serverName.Length > DhcpPacket.SnameLength - 1)
        {
            _status = DhcpWriteStatus.ServerNameTooLong;
            return;
        }

        serverName.CopyTo(_buffer[DhcpPacket.SnameOffset..]);
    }

    /// <summary>Writes an option, split into 255-byte occurrences when longer (RFC 3396 §5).</summary>
    public void WriteOption(DhcpOptionCode code, scoped ReadOnlySpan<byte> value)
    {
        if (_status != DhcpWriteStatus.Ok)
        {
            return;
        }

        do
        {
            int chunk = Math.Min(value.Length, 255);

            // Room for this occurrence plus the End option.
            if (_position + 2 + chunk + 1 > _limit)
            {
                _status = DhcpWriteStatus.TooLarge;
                return;
            }

            _buffer[_position] = (byte)code;
            _buffer[_position + 1] = (byte)chunk;
            value[..chunk].CopyTo(_buffer[(_position + 2)..]);
            _position += 2 + chunk;
            value = value[chunk..];
        }
        while (!value.IsEmpty);
    }

    /// <summary>A one-byte option (RFC 2132 §9.6 message type).</summary>
    public void WriteByte(DhcpOptionCode code, byte value)
    {
        Span<byte> bytes = [value];
        WriteOption(code, bytes);
    }

    /// <summary>A 32-bit option: seconds (RFC 2132 §9.2, §9.11, §9.12) or an IPv4 address (§3.3, §9.7).</summary>
    public void WriteUInt32(DhcpOptionCode code, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        WriteOption(code, bytes);
    }

    /// <summary>An address-list option (RFC 2132 §3.5 routers, §3.8 DNS servers).</summary>
    public void WriteAddresses(DhcpOptionCode code, scoped ReadOnlySpan<uint> addresses)
    {
        if (addresses.IsEmpty)
        {
            return;
        }

        Span<byte> bytes = stackalloc byte[Math.Min(addresses.Length, 63) * 4];
        for (int i = 0; i < bytes.Length / 4; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes[(i * 4)..], addresses[i]);
        }

        WriteOption(code, bytes);
    }

    /// <summary>Ends the options with End (RFC 2132 §3.2), pads to 300 bytes and returns the message length.</summary>
    public DhcpWriteStatus Finish(out int length)
    {
        length = 0;
        if (_status != DhcpWriteStatus.Ok)
        {
            return _status;
        }

        if (_position + 1 > _limit)
        {
            return _status = DhcpWriteStatus.TooLarge;
        }

        _buffer[_position++] = (byte)DhcpOptionCode.End;
        if (_position < DhcpPacket.MinimumBootpLength)
        {
            _buffer[_position..DhcpPacket.MinimumBootpLength].Clear();
            _position = DhcpPacket.MinimumBootpLength;
        }

        length = _position;
        return DhcpWriteStatus.Ok;
    }
}
