namespace Pxe.Tftp;

/// <summary>Counters the host can expose as metrics. Thread-safe; values only grow except <see cref="ActiveTransfers"/>.</summary>
public sealed class TftpServerMetrics
{
    private long _transfersStarted;
    private long _transfersCompleted;
    private long _transfersFailed;
    private long _transfersAbortedByClient;
    private long _activeTransfers;
    private long _bytesSent;
    private long _packetsSent;
    private long _retransmissions;
    private long _concurrentLimitHits;
    private long _requestQueueFull;
    private long _badPackets;
    private long _unknownTransferIdPackets;
    private long _filesNotFound;
    private long _accessViolations;

    /// <summary>Transfers begun (OACK or first DATA sent).</summary>
    public long TransfersStarted => Interlocked.Read(ref _transfersStarted);

    /// <summary>Transfers whose last block was acknowledged.</summary>
    public long TransfersCompleted => Interlocked.Read(ref _transfersCompleted);

    /// <summary>Transfers abandoned after the retry limit or a send failure.</summary>
    public long TransfersFailed => Interlocked.Read(ref _transfersFailed);

    /// <summary>Transfers the client ended with an ERROR (including OVMF's size probe after the OACK).</summary>
    public long TransfersAbortedByClient => Interlocked.Read(ref _transfersAbortedByClient);

    /// <summary>Transfers running now.</summary>
    public long ActiveTransfers => Interlocked.Read(ref _activeTransfers);

    /// <summary>Payload bytes sent in DATA packets, retransmissions included.</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>DATA packets sent, retransmissions included.</summary>
    public long PacketsSent => Interlocked.Read(ref _packetsSent);

    /// <summary>DATA or OACK packets sent again after a timeout or a gap in a window.</summary>
    public long Retransmissions => Interlocked.Read(ref _retransmissions);

    /// <summary>Read requests dropped because <see cref="TftpServerOptions.MaxConcurrentTransfers"/> were running.</summary>
    public long ConcurrentLimitHits => Interlocked.Read(ref _concurrentLimitHits);

    /// <summary>Requests dropped because the request queue was full.</summary>
    public long RequestQueueFull => Interlocked.Read(ref _requestQueueFull);

    /// <summary>Malformed or unexpected datagrams.</summary>
    public long BadPackets => Interlocked.Read(ref _badPackets);

    /// <summary>Datagrams that reached a transfer from another transfer ID (answered with ERROR 5).</summary>
    public long UnknownTransferIdPackets => Interlocked.Read(ref _unknownTransferIdPackets);

    /// <summary>Requests answered "file not found".</summary>
    public long FilesNotFound => Interlocked.Read(ref _filesNotFound);

    /// <summary>Requests answered "access violation" (including refused writes and invalid names).</summary>
    public long AccessViolations => Interlocked.Read(ref _accessViolations);

    internal void TransferStarted() => Interlocked.Increment(ref _transfersStarted);

    internal void TransferCompleted() => Interlocked.Increment(ref _transfersCompleted);

    internal void TransferFailed() => Interlocked.Increment(ref _transfersFailed);

    internal void TransferAbortedByClient() => Interlocked.Increment(ref _transfersAbortedByClient);

    internal long IncrementActive() => Interlocked.Increment(ref _activeTransfers);

    internal void DecrementActive() => Interlocked.Decrement(ref _activeTransfers);

    internal void DataSent(long packets, long bytes)
    {
        Interlocked.Add(ref _packetsSent, packets);
        Interlocked.Add(ref _bytesSent, bytes);
    }

    internal void Retransmitted(long packets) => Interlocked.Add(ref _retransmissions, packets);

    internal void ConcurrentLimitHit() => Interlocked.Increment(ref _concurrentLimitHits);

    internal void QueueFull() => Interlocked.Increment(ref _requestQueueFull);

    internal void BadPacket() => Interlocked.Increment(ref _badPackets);

    internal void UnknownTransferId() => Interlocked.Increment(ref _unknownTransferIdPackets);

    internal void FileNotFound() => Interlocked.Increment(ref _filesNotFound);

    internal void AccessViolation() => Interlocked.Increment(ref _accessViolations);
}
