namespace Pxe.Tftp.Protocol;

/// <summary>What the transport must do after a step of <see cref="TftpReadTransfer"/>.</summary>
internal enum TftpStepKind
{
    /// <summary>Nothing to send; keep waiting until <see cref="TftpReadTransfer.Deadline"/>.</summary>
    Wait,

    /// <summary>Send the OACK.</summary>
    SendOptionAcknowledgement,

    /// <summary>Send DATA blocks <see cref="TftpStep.FirstBlock"/> to <see cref="TftpStep.LastBlock"/>.</summary>
    SendBlocks,

    /// <summary>The packet was not meaningful here and was ignored (count it).</summary>
    Ignored,

    /// <summary>The last block was acknowledged: the transfer is complete.</summary>
    Completed,

    /// <summary>The client sent an ERROR: the transfer is over, nothing is sent.</summary>
    AbortedByClient,

    /// <summary>No ACK after the retry limit: send the ERROR for <see cref="TftpStep.Error"/> and stop.</summary>
    TimedOut,
}

/// <summary>The output of one step: packets to send, described without copying any data.</summary>
internal readonly record struct TftpStep(
    TftpStepKind Kind,
    long FirstBlock = 0,
    long LastBlock = 0,
    TftpErrorReason Error = TftpErrorReason.RetriesExhausted,
    TftpErrorCode ClientErrorCode = TftpErrorCode.NotDefined,
    bool IsRetransmission = false)
{
    /// <summary>True when the transfer has ended with this step.</summary>
    public bool IsFinal => Kind is TftpStepKind.Completed or TftpStepKind.AbortedByClient or TftpStepKind.TimedOut;
}

/// <summary>
/// The sender side of one read transfer, as a pure state machine: (packet from the client's TID, time) or
/// (time) in; packets to send and the next deadline out. It never touches a socket, a clock or the content:
/// DATA blocks are named by their absolute number (1, 2, …, past 65535) and the transport reads the bytes
/// of <see cref="GetBlockRange"/>.
/// <list type="bullet">
/// <item>RFC 1350 §2/§6: lock-step DATA/ACK; the last block is shorter than blksize (possibly empty).</item>
/// <item>RFC 2347 §2: with an OACK, DATA starts after ACK 0; an ERROR (8) from the client ends the transfer.</item>
/// <item>RFC 7440 §4: a window of blocks per ACK; an ACK of an earlier block in the window resends from the block after it.</item>
/// <item>RFC 1123 §4.2.3.1 (Sorcerer's Apprentice): a duplicate ACK never triggers a send; only the timer retransmits.</item>
/// <item>Block numbers wrap from 65535 to 0 (as tftp-hpa, curl and atftp expect), so files of any size transfer.</item>
/// </list>
/// </summary>
internal sealed class TftpReadTransfer
{
    private readonly int _blockSize;
    private readonly int _windowSize;
    private readonly TimeSpan _timeout;
    private readonly int _retryLimit;
    private readonly bool _sendOack;
    private bool _oackAcknowledged;
    private long _lastAcknowledged;
    private long _lastSent;
    private int _retries;
    private bool _finished;

    /// <param name="length">Bytes to send (after netascii conversion).</param>
    /// <param name="blockSize">Negotiated blksize.</param>
    /// <param name="windowSize">Negotiated windowsize (1 = lock-step).</param>
    /// <param name="timeout">Negotiated retransmission timeout.</param>
    /// <param name="retryLimit">Retransmissions of the same packet before giving up.</param>
    /// <param name="sendOack">True when options were acknowledged.</param>
    public TftpReadTransfer(long length, int blockSize, int windowSize, TimeSpan timeout, int retryLimit, bool sendOack)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(windowSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(windowSize, 32768);
        Length = length;
        _blockSize = blockSize;
        _windowSize = windowSize;
        _timeout = timeout;
        _retryLimit = retryLimit;
        _sendOack = sendOack;
        LastBlock = (length / blockSize) + 1;
    }

    /// <summary>Bytes to send.</summary>
    public long Length { get; }

    /// <summary>Negotiated windowsize.</summary>
    public int WindowSize => _windowSize;

    /// <summary>Absolute number of the last (short) block.</summary>
    public long LastBlock { get; }

    /// <summary>When the transport must call <see cref="OnTimeout"/>; <see cref="TimeSpan.MaxValue"/> once finished.</summary>
    public TimeSpan Deadline { get; private set; } = TimeSpan.MaxValue;

    /// <summary>True once the transfer has completed, timed out or been aborted.</summary>
    public bool IsFinished => _finished;

    /// <summary>Highest block acknowledged so far (0 before any).</summary>
    public long LastAcknowledged => _lastAcknowledged;

    /// <summary>True when the OACK was sent and not yet acknowledged.</summary>
    public bool AwaitingOptionAcknowledgement => _sendOack && !_oackAcknowledged;

    /// <summary>Offset and length in the content of an absolute block number.</summary>
    public (long Offset, int Length) GetBlockRange(long block)
    {
        var offset = (block - 1) * _blockSize;
        var length = (int)Math.Clamp(Length - offset, 0, _blockSize);
        return (offset, length);
    }

    /// <summary>The 16-bit number carried on the wire for an absolute block.</summary>
    public static ushort WireBlock(long block) => unchecked((ushort)block);

    /// <summary>Begins: the OACK, or the first window of DATA.</summary>
    public TftpStep Start(TimeSpan now)
    {
        Deadline = now + _timeout;
        return _sendOack ? new TftpStep(TftpStepKind.SendOptionAcknowledgement) : SendWindowAfter(0, retransmission: false);
    }

    /// <summary>A datagram from the client's transfer ID (the transport filters other TIDs).</summary>
    public TftpStep OnPacket(ReadOnlySpan<byte> datagram, TimeSpan now)
    {
        if (_finished)
        {
            return new TftpStep(TftpStepKind.Ignored);
        }

        if (TftpPacket.TryParse(datagram, out var packet) != TftpParseStatus.Ok)
        {
            return new TftpStep(TftpStepKind.Ignored);
        }

        switch (packet.Opcode)
        {
            case TftpOpcode.Error:
                Finish();
                return new TftpStep(TftpStepKind.AbortedByClient, ClientErrorCode: packet.ErrorCode);

            case TftpOpcode.Acknowledgement:
                return OnAck(packet.Block, now);

            default:
                return new TftpStep(TftpStepKind.Ignored);
        }
    }

    /// <summary>The deadline passed: retransmit from the last acknowledged point, or give up.</summary>
    public TftpStep OnTimeout(TimeSpan now)
    {
        if (_finished || now < Deadline)
        {
            return new TftpStep(TftpStepKind.Wait);
        }

        if (_retries >= _retryLimit)
        {
            Finish();
            return new TftpStep(TftpStepKind.TimedOut, Error: TftpErrorReason.RetriesExhausted);
        }

        _retries++;
        Deadline = now + _timeout;
        return AwaitingOptionAcknowledgement
            ? new TftpStep(TftpStepKind.SendOptionAcknowledgement, IsRetransmission: true)
            : SendWindowAfter(_lastAcknowledged, retransmission: true);
    }

    private TftpStep OnAck(ushort wireBlock, TimeSpan now)
    {
        if (AwaitingOptionAcknowledgement)
        {
            if (wireBlock != 0)
            {
                return new TftpStep(TftpStepKind.Ignored);
            }

            _oackAcknowledged = true;
            _retries = 0;
            Deadline = now + _timeout;
            return SendWindowAfter(0, retransmission: false);
        }

        // Map the 16-bit number onto the outstanding range [lastAcknowledged, lastSent]; the window is
        // at most 32768 blocks, so the mapping is unique and stale ACKs from before a wrap fall outside it.
        var delta = unchecked((ushort)(wireBlock - WireBlock(_lastAcknowledged)));
        if (delta == 0 || delta > _lastSent - _lastAcknowledged)
        {
            // Duplicate or stale ACK: never answered with a send (Sorcerer's Apprentice).
            return new TftpStep(TftpStepKind.Wait);
        }

        var acknowledged = _lastAcknowledged + delta;
        _lastAcknowledged = acknowledged;
        _retries = 0;
        if (acknowledged == LastBlock)
        {
            Finish();
            return new TftpStep(TftpStepKind.Completed);
        }

        Deadline = now + _timeout;
        return SendWindowAfter(acknowledged, retransmission: acknowledged < _lastSent);
    }

    private TftpStep SendWindowAfter(long acknowledged, bool retransmission)
    {
        var first = acknowledged + 1;
        var last = Math.Min(acknowledged + _windowSize, LastBlock);
        _lastSent = Math.Max(_lastSent, last);
        return new TftpStep(TftpStepKind.SendBlocks, first, last, IsRetransmission: retransmission);
    }

    private void Finish()
    {
        _finished = true;
        Deadline = TimeSpan.MaxValue;
    }
}
