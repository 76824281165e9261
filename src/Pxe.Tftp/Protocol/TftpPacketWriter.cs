using System.Buffers.Binary;
using System.Text;

namespace Pxe.Tftp.Protocol;

/// <summary>Serialises TFTP packets into caller-provided buffers (RFC 1350 §5, RFC 2347 §2).</summary>
internal static class TftpPacketWriter
{
    /// <summary>Size of the DATA/ACK/ERROR header: opcode and block number or error code.</summary>
    public const int HeaderSize = 4;

    /// <summary>Writes the 4-byte DATA header; the payload follows at offset 4.</summary>
    public static void WriteDataHeader(Span<byte> destination, ushort block)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)TftpOpcode.Data);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], block);
    }

    /// <summary>Writes an ACK and returns its length (4).</summary>
    public static int WriteAck(Span<byte> destination, ushort block)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)TftpOpcode.Acknowledgement);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], block);
        return HeaderSize;
    }

    /// <summary>Builds the ERROR packet for a reason: its RFC code and fixed message.</summary>
    public static byte[] BuildError(TftpErrorReason reason) =>
        BuildError(TftpErrors.CodeOf(reason), TftpErrors.MessageOf(reason));

    /// <summary>Builds an ERROR packet with an ASCII message.</summary>
    public static byte[] BuildError(TftpErrorCode code, string message)
    {
        var packet = new byte[HeaderSize + Encoding.ASCII.GetByteCount(message) + 1];
        BinaryPrimitives.WriteUInt16BigEndian(packet, (ushort)TftpOpcode.Error);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)code);
        Encoding.ASCII.GetBytes(message, packet.AsSpan(HeaderSize));
        return packet;
    }

    /// <summary>Builds an OACK with the acknowledged options in order (RFC 2347 §2).</summary>
    public static byte[] BuildOptionAcknowledgement(IReadOnlyList<TftpOption> options)
    {
        var length = 2;
        foreach (var option in options)
        {
            length += Encoding.UTF8.GetByteCount(option.Name) + 1 + Encoding.UTF8.GetByteCount(option.Value) + 1;
        }

        var packet = new byte[length];
        BinaryPrimitives.WriteUInt16BigEndian(packet, (ushort)TftpOpcode.OptionAcknowledgement);
        var offset = 2;
        foreach (var option in options)
        {
            offset += Encoding.UTF8.GetBytes(option.Name, packet.AsSpan(offset));
            packet[offset++] = 0;
            offset += Encoding.UTF8.GetBytes(option.Value, packet.AsSpan(offset));
            packet[offset++] = 0;
        }

        return packet;
    }

    /// <summary>Builds an RRQ or WRQ (used by tests and tools acting as a client).</summary>
    public static byte[] BuildRequest(TftpOpcode opcode, string fileName, string mode, IReadOnlyList<TftpOption>? options = null)
    {
        var parts = new List<string> { fileName, mode };
        foreach (var option in options ?? [])
        {
            parts.Add(option.Name);
            parts.Add(option.Value);
        }

        var length = 2;
        foreach (var part in parts)
        {
            length += Encoding.UTF8.GetByteCount(part) + 1;
        }

        var packet = new byte[length];
        BinaryPrimitives.WriteUInt16BigEndian(packet, (ushort)opcode);
        var offset = 2;
        foreach (var part in parts)
        {
            offset += Encoding.UTF8.GetBytes(part, packet.AsSpan(offset));
            packet[offset++] = 0;
        }

        return packet;
    }
}
