using System.Buffers.Binary;

namespace Pxe.Tftp.Protocol;

/// <summary>
/// A view over one TFTP datagram. Layouts (RFC 1350 §5, RFC 2347 §2):
/// <code>
///  RRQ/WRQ  2 bytes   string    1 byte  string  1 byte  string 1 byte  string 1 byte
///          | 01/02 | Filename |   0  |  Mode  |   0  |  opt1 |  0   | value1 |  0  | ...
///  DATA     2 bytes   2 bytes   n bytes (0..blksize)
///          |  03   |  Block # |  Data   |
///  ACK      2 bytes   2 bytes
///          |  04   |  Block # |
///  ERROR    2 bytes   2 bytes     string   1 byte
///          |  05   | ErrorCode |  ErrMsg |   0  |
///  OACK     2 bytes   string  1 byte  string  1 byte
///          |  06   |  opt1  |   0  | value1 |   0  | ...
/// </code>
/// </summary>
internal readonly ref struct TftpPacket
{
    private TftpPacket(TftpOpcode opcode, ushort number, ReadOnlySpan<byte> body)
    {
        Opcode = opcode;
        Number = number;
        Body = body;
    }

    /// <summary>The opcode.</summary>
    public TftpOpcode Opcode { get; }

    /// <summary>The block number of DATA/ACK, or the error code of ERROR; 0 otherwise.</summary>
    public ushort Number { get; }

    /// <summary>DATA: payload. ERROR: message without its NUL. RRQ/WRQ/OACK: the string area after the opcode.</summary>
    public ReadOnlySpan<byte> Body { get; }

    /// <summary>The block number of a DATA or ACK packet.</summary>
    public ushort Block => Number;

    /// <summary>The error code of an ERROR packet.</summary>
    public TftpErrorCode ErrorCode => (TftpErrorCode)Number;

    /// <summary>Checks the minimum length for the opcode and splits header from body.</summary>
    public static TftpParseStatus TryParse(ReadOnlySpan<byte> datagram, out TftpPacket packet)
    {
        packet = default;
        if (datagram.Length < 2)
        {
            return TftpParseStatus.TooShort;
        }

        var opcode = (TftpOpcode)BinaryPrimitives.ReadUInt16BigEndian(datagram);
        switch (opcode)
        {
            case TftpOpcode.ReadRequest:
            case TftpOpcode.WriteRequest:
            case TftpOpcode.OptionAcknowledgement:
                var strings = datagram[2..];
                if (strings.Length > 0 && strings[^1] != 0)
                {
                    return TftpParseStatus.MissingTerminator;
                }

                packet = new TftpPacket(opcode, 0, strings);
                return TftpParseStatus.Ok;

            case TftpOpcode.Data:
            case TftpOpcode.Acknowledgement:
                if (datagram.Length < 4)
                {
                    return TftpParseStatus.TruncatedHeader;
                }

                // An ACK is exactly 4 bytes; trailing bytes some stacks pad with are ignored.
                var body = opcode == TftpOpcode.Data ? datagram[4..] : ReadOnlySpan<byte>.Empty;
                packet = new TftpPacket(opcode, BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]), body);
                return TftpParseStatus.Ok;

            case TftpOpcode.Error:
                if (datagram.Length < 4)
                {
                    return TftpParseStatus.TruncatedHeader;
                }

                // The message is informational: a missing NUL is tolerated, the text ends at the first NUL.
                var message = datagram[4..];
                var nul = message.IndexOf((byte)0);
                if (nul >= 0)
                {
                    message = message[..nul];
                }

                packet = new TftpPacket(opcode, BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]), message);
                return TftpParseStatus.Ok;

            default:
                return TftpParseStatus.UnknownOpcode;
        }
    }
}
