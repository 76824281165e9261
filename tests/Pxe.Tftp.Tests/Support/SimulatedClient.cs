using Pxe.Tftp.Protocol;

namespace Pxe.Tftp.Tests.Support;

/// <summary>
/// A TFTP receiver for simulations: RFC 1350 lock-step or RFC 7440 windows. It ACKs the end of each window and
/// the last block; on a gap it ACKs the last block received in order; like classic clients it re-ACKs duplicate
/// DATA (the behaviour that provokes the Sorcerer's Apprentice bug in a naive sender), and re-sends its last ACK
/// on its own timeout. After the last block it lingers (dallies) and re-ACKs retransmissions.
/// </summary>
internal sealed class SimulatedClient
{
    private readonly int _blockSize;
    private readonly int _windowSize;
    private readonly MemoryStream _received = new();
    private ushort _expected = 1;
    private int _sinceAck;

    public SimulatedClient(int blockSize, int windowSize, bool expectOack)
    {
        _blockSize = blockSize;
        _windowSize = windowSize;
        AwaitingOack = expectOack;
    }

    public bool AwaitingOack { get; private set; }

    public bool Done { get; private set; }

    public byte[] Content => _received.ToArray();

    public int AcksSent { get; private set; }

    /// <summary>Handles a datagram from the server; returns the datagrams to send back.</summary>
    public List<byte[]> OnDatagram(byte[] datagram)
    {
        var replies = new List<byte[]>();
        if (TftpPacket.TryParse(datagram, out var packet) != TftpParseStatus.Ok)
        {
            throw new InvalidOperationException("The server sent a malformed datagram.");
        }

        switch (packet.Opcode)
        {
            case TftpOpcode.OptionAcknowledgement:
                if (AwaitingOack || _expected == 1)
                {
                    AwaitingOack = false;
                    replies.Add(Ack(0));
                }

                break;

            case TftpOpcode.Data:
                if (AwaitingOack)
                {
                    throw new InvalidOperationException("DATA before the OACK was acknowledged.");
                }

                var delta = (ushort)(packet.Block - _expected);
                if (Done || delta >= 32768)
                {
                    replies.Add(Ack((ushort)(_expected - 1))); // duplicate: re-ACK, as classic clients do
                }
                else if (delta > 0)
                {
                    replies.Add(Ack((ushort)(_expected - 1))); // gap: ACK the last block received in order
                    _sinceAck = 0;
                }
                else
                {
                    if (packet.Body.Length > _blockSize)
                    {
                        throw new InvalidOperationException($"DATA of {packet.Body.Length} bytes exceeds blksize {_blockSize}.");
                    }

                    _received.Write(packet.Body);
                    var block = _expected;
                    _expected++;
                    _sinceAck++;
                    if (packet.Body.Length < _blockSize)
                    {
                        Done = true;
                        replies.Add(Ack(block));
                    }
                    else if (_sinceAck >= _windowSize)
                    {
                        replies.Add(Ack(block));
                    }
                }

                break;

            case TftpOpcode.Error:
                throw new InvalidOperationException($"The server sent ERROR {packet.ErrorCode}.");
        }

        return replies;
    }

    /// <summary>The client's timer: re-send the last ACK (ACK 0 while waiting for the OACK or the first DATA).</summary>
    public byte[] OnTimeout() => Ack(AwaitingOack ? (ushort)0 : (ushort)(_expected - 1));

    private byte[] Ack(ushort block)
    {
        _sinceAck = 0;
        AcksSent++;
        var ack = new byte[4];
        TftpPacketWriter.WriteAck(ack, block);
        return ack;
    }
}
