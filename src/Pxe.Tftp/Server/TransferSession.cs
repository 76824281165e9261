using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Pxe.Tftp.Files;
using Pxe.Tftp.Protocol;

namespace Pxe.Tftp.Server;

/// <summary>How a transfer ended.</summary>
internal enum TransferOutcome
{
    Running,
    Completed,
    SizeProbe,
    AbortedByClient,
    TimedOut,
    SendFailed,
    Cancelled,
}

/// <summary>
/// The transport of one read transfer: its own socket (the server's transfer ID), the receive loop, and the
/// execution of <see cref="TftpReadTransfer"/> steps. Timeouts arrive from the server's shared tick
/// (<see cref="OnTick"/>), so no timer or cancellation source is created per packet. Buffers are pooled and
/// reused for every packet of the transfer; hot content is a shared array, large files are read with
/// positioned reads (<c>pread</c>), which the page cache answers.
/// </summary>
internal sealed class TransferSession
{
    private readonly Lock _gate = new();
    private readonly Socket _socket;
    private readonly SocketAddress _client;
    private readonly SocketAddress _from;
    private readonly TftpReadTransfer _machine;
    private readonly ReadOnlyMemory<byte> _memory;
    private readonly SafeFileHandle? _file;
    private readonly TftpFileContent? _ownedContent;
    private readonly byte[]? _oack;
    private readonly byte[] _sendBuffer;
    private readonly byte[] _receiveBuffer;
    private readonly TftpServerMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ILogger _badPacketLogger;
    private readonly Func<TimeSpan> _clock;
    private readonly TimeSpan _started;
    private readonly int _retryLimit;
    private readonly Action<TransferSession> _released;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly byte[] _clientAddress;
    private readonly byte[] _fromAddress = new byte[28];
    private readonly byte[]? _batchBuffer;
    private readonly int _batchCapacity;
    private EpollReactor? _reactor;
    private long _reactorId;
    private int _releasedFlag;
    private long _deadlineTicks = long.MaxValue;
    private TransferOutcome _outcome;
    private TftpErrorCode _clientError;
    private bool _ended;

    public TransferSession(
        Socket socket,
        IPEndPoint client,
        string file,
        TftpReadTransfer machine,
        ReadOnlyMemory<byte> memory,
        TftpDiskFileContent? streamed,
        byte[]? oack,
        int blockSize,
        int retryLimit,
        TftpServerMetrics metrics,
        ILogger logger,
        ILogger badPacketLogger,
        Func<TimeSpan> clock,
        Action<TransferSession> released)
    {
        _released = released;
        _socket = socket;
        ClientEndPoint = client;
        _client = client.Serialize();
        _from = new SocketAddress(client.AddressFamily);
        File = file;
        _machine = machine;
        _memory = memory;
        _file = streamed?.Handle;
        _ownedContent = streamed;
        _oack = oack;
        _retryLimit = retryLimit;
        _metrics = metrics;
        _logger = logger;
        _badPacketLogger = badPacketLogger;
        _clock = clock;
        _started = clock();
        _sendBuffer = ArrayPool<byte>.Shared.Rent(TftpPacketWriter.HeaderSize + blockSize);
        _receiveBuffer = ArrayPool<byte>.Shared.Rent(1024);
        _clientAddress = ToSockaddr(client);
        if (machine.WindowSize > 1 && NativeUdp.CanSendBatch)
        {
            // Up to 64 KiB of datagrams per sendmmsg call.
            _batchCapacity = Math.Clamp(65536 / (TftpPacketWriter.HeaderSize + blockSize), 1, Math.Min(machine.WindowSize, NativeUdp.MaxBatch));
            _batchBuffer = _batchCapacity > 1 ? ArrayPool<byte>.Shared.Rent(_batchCapacity * (TftpPacketWriter.HeaderSize + blockSize)) : null;
        }
    }

    public IPEndPoint ClientEndPoint { get; }

    public string File { get; }

    /// <summary>The port of this transfer's socket (its transfer ID).</summary>
    public int LocalPort => ((IPEndPoint)_socket.LocalEndPoint!).Port;

    /// <summary>Completes when the transfer has ended and released everything.</summary>
    public Task Completion => _completion.Task;

    public TransferOutcome Outcome => _outcome;

    /// <summary>
    /// Sends the first packets and starts receiving: through the epoll reactor when given (Linux), else with an
    /// asynchronous receive loop.
    /// </summary>
    public void Start(EpollReactor? reactor)
    {
        lock (_gate)
        {
            if (reactor is not null)
            {
                _reactor = reactor;
                try
                {
                    _reactorId = reactor.Register(this, (int)_socket.SafeHandle.DangerousGetHandle());
                }
                catch (IOException e)
                {
                    Log.TransferSendFailed(_logger, File, ClientEndPoint, e);
                    End(TransferOutcome.SendFailed);
                }
            }

            if (!_ended)
            {
                Execute(_machine.Start(_clock()));
            }
        }

        if (reactor is null)
        {
            _ = ReceiveLoopAsync();
        }
        else
        {
            ReleaseIfEnded();
        }
    }

    /// <summary>The reactor saw the socket readable: handle the next datagram.</summary>
    public void OnReadable()
    {
        lock (_gate)
        {
            // One datagram per readiness event: epoll is level-triggered, so anything left is reported again,
            // and a lock-step transfer saves the extra recvfrom that would only return EAGAIN.
            var addressLength = 0;
            var received = _ended ? -1 : NativeUdp.TryReceive(_socket.SafeHandle, _receiveBuffer, _fromAddress, out addressLength);
            if (received == -2)
            {
                // A socket error would be reported again and again by the level-triggered epoll: end the transfer.
                End(TransferOutcome.SendFailed);
            }
            else if (received >= 0)
            {
                if (SameAddress(_fromAddress.AsSpan(0, addressLength)))
                {
                    Execute(_machine.OnPacket(_receiveBuffer.AsSpan(0, received), _clock()));
                }
                else
                {
                    OnForeignDatagram(received, FromSockaddr(_fromAddress.AsSpan(0, addressLength)));
                }
            }
        }

        ReleaseIfEnded();
    }

    /// <summary>Ends the transfer after an unexpected failure in its transport.</summary>
    public void Fail()
    {
        lock (_gate)
        {
            End(TransferOutcome.SendFailed);
        }

        ReleaseIfEnded();
    }

    /// <summary>The server's periodic tick: retransmit or give up when the deadline has passed.</summary>
    public void OnTick(TimeSpan now)
    {
        if (now.Ticks < Volatile.Read(ref _deadlineTicks))
        {
            return;
        }

        lock (_gate)
        {
            if (!_ended)
            {
                Execute(_machine.OnTimeout(now));
            }
        }

        ReleaseIfEnded();
    }

    /// <summary>Ends the transfer because the server stops; tells the client.</summary>
    public void Cancel()
    {
        lock (_gate)
        {
            if (_ended)
            {
                return;
            }

            TrySend(TftpErrorPackets.Get(TftpErrorReason.ShuttingDown), _client);
            End(TransferOutcome.Cancelled);
        }

        ReleaseIfEnded();
    }

    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (true)
            {
                int received;
                try
                {
                    received = await _socket.ReceiveFromAsync(_receiveBuffer, SocketFlags.None, _from).ConfigureAwait(false);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize)
                {
                    continue;
                }

                lock (_gate)
                {
                    if (_ended)
                    {
                        break;
                    }

                    if (!_from.Equals(_client))
                    {
                        OnForeignDatagram(received, (IPEndPoint)ClientEndPoint.Create(_from));
                        continue;
                    }

                    Execute(_machine.OnPacket(_receiveBuffer.AsSpan(0, received), _clock()));
                    if (_ended)
                    {
                        break;
                    }
                }
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or OperationCanceledException or SocketException)
        {
            // The socket was closed because the transfer ended (timer, shutdown) or failed.
            lock (_gate)
            {
                if (!_ended)
                {
                    End(TransferOutcome.SendFailed);
                }
            }
        }
        finally
        {
            ReleaseIfEnded(fromReceiveLoop: true);
        }
    }

    /// <summary>RFC 1350 §4: a packet from another TID gets ERROR 5 and does not disturb the transfer. Gate held.</summary>
    private void OnForeignDatagram(int received, IPEndPoint from)
    {
        _metrics.UnknownTransferId();
        Log.UnknownTransferId(_badPacketLogger, File, from);
        if (TftpPacket.TryParse(_receiveBuffer.AsSpan(0, received), out var packet) == TftpParseStatus.Ok
            && packet.Opcode == TftpOpcode.Error)
        {
            return; // Never answer an error with an error.
        }

        try
        {
            _socket.SendTo(TftpErrorPackets.Get(TftpErrorReason.UnknownTransferId), SocketFlags.None, from);
        }
        catch (SocketException)
        {
            // Best effort.
        }
    }

    private bool SameAddress(ReadOnlySpan<byte> from) =>
        _clientAddress.Length == 16
            ? from.Length >= 8 && from[..8].SequenceEqual(_clientAddress.AsSpan(0, 8))
            : from.Length >= 24 && from[..4].SequenceEqual(_clientAddress.AsSpan(0, 4)) && from[8..24].SequenceEqual(_clientAddress.AsSpan(8, 16));

    /// <summary>The Linux <c>sockaddr_in</c>/<c>sockaddr_in6</c> bytes of an endpoint.</summary>
    private static byte[] ToSockaddr(IPEndPoint endPoint)
    {
        var ipv6 = endPoint.AddressFamily == AddressFamily.InterNetworkV6;
        var bytes = new byte[ipv6 ? 28 : 16];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, ipv6 ? (ushort)10 : (ushort)2);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), (ushort)endPoint.Port);
        endPoint.Address.TryWriteBytes(bytes.AsSpan(ipv6 ? 8 : 4), out _);
        return bytes;
    }

    private static IPEndPoint FromSockaddr(ReadOnlySpan<byte> address)
    {
        var port = BinaryPrimitives.ReadUInt16BigEndian(address[2..]);
        return BinaryPrimitives.ReadUInt16LittleEndian(address) == 10 && address.Length >= 24
            ? new IPEndPoint(new IPAddress(address[8..24], address.Length >= 28 ? BinaryPrimitives.ReadUInt32LittleEndian(address[24..]) : 0), port)
            : new IPEndPoint(new IPAddress(address.Slice(4, 4)), port);
    }

    /// <summary>Runs one step's output. Called with <see cref="_gate"/> held.</summary>
    private void Execute(TftpStep step)
    {
        switch (step.Kind)
        {
            case TftpStepKind.SendOptionAcknowledgement:
                TrySend(_oack!, _client);
                if (step.IsRetransmission)
                {
                    _metrics.Retransmitted(1);
                }

                break;

            case TftpStepKind.SendBlocks:
                SendBlocks(step.FirstBlock, step.LastBlock, step.IsRetransmission);
                break;

            case TftpStepKind.Ignored:
                _metrics.BadPacket();
                break;

            case TftpStepKind.Completed:
                End(TransferOutcome.Completed);
                break;

            case TftpStepKind.AbortedByClient:
                _clientError = step.ClientErrorCode;
                End(step.ClientErrorCode == TftpErrorCode.OptionRefused && _machine.AwaitingOptionAcknowledgement
                    ? TransferOutcome.SizeProbe
                    : TransferOutcome.AbortedByClient);
                break;

            case TftpStepKind.TimedOut:
                TrySend(TftpErrorPackets.Get(step.Error), _client);
                End(TransferOutcome.TimedOut);
                break;
        }

        Volatile.Write(ref _deadlineTicks, _ended ? long.MaxValue : _machine.Deadline.Ticks);
    }

    private void SendBlocks(long first, long last, bool retransmission)
    {
        if (_batchBuffer is not null && last > first)
        {
            SendBlocksBatched(first, last, retransmission);
            return;
        }

        long bytes = 0;
        long packets = 0;
        for (var block = first; block <= last && !_ended; block++)
        {
            if (!TryFillBlock(block, _sendBuffer, out var length))
            {
                break;
            }

            if (TrySend(_sendBuffer.AsSpan(0, TftpPacketWriter.HeaderSize + length), _client))
            {
                bytes += length;
                packets++;
            }
        }

        _metrics.DataSent(packets, bytes);
        if (retransmission)
        {
            _metrics.Retransmitted(packets);
        }
    }

    /// <summary>
    /// Writes DATA block <paramref name="block"/> (header and payload) at the start of <paramref name="packet"/>; on a
    /// read error ends the transfer and returns false.
    /// </summary>
    private bool TryFillBlock(long block, Span<byte> packet, out int length)
    {
        (var offset, length) = _machine.GetBlockRange(block);
        TftpPacketWriter.WriteDataHeader(packet, TftpReadTransfer.WireBlock(block));
        var payload = packet.Slice(TftpPacketWriter.HeaderSize, length);
        try
        {
            if (_file is null)
            {
                _memory.Span.Slice((int)offset, length).CopyTo(payload);
            }
            else
            {
                ReadExactly(offset, payload);
            }

            return true;
        }
        catch (IOException e)
        {
            Log.TransferSendFailed(_logger, File, ClientEndPoint, e);
            End(TransferOutcome.SendFailed);
            return false;
        }
    }

    /// <summary>A window with one <c>sendmmsg</c> per batch instead of one <c>sendto</c> per block.</summary>
    private void SendBlocksBatched(long first, long last, bool retransmission)
    {
        Span<int> lengths = stackalloc int[NativeUdp.MaxBatch];
        long bytes = 0;
        long packets = 0;
        var block = first;
        while (block <= last && !_ended)
        {
            var count = 0;
            var offset = 0;
            var payloadBytes = 0L;
            while (block <= last && count < _batchCapacity)
            {
                if (!TryFillBlock(block, _batchBuffer.AsSpan(offset), out var length))
                {
                    return;
                }

                lengths[count++] = TftpPacketWriter.HeaderSize + length;
                offset += TftpPacketWriter.HeaderSize + length;
                payloadBytes += length;
                block++;
            }

            var sent = NativeUdp.SendBatch(_socket.SafeHandle, _clientAddress, _batchBuffer.AsSpan(0, offset), lengths[..count]);
            if (sent == count)
            {
                packets += count;
                bytes += payloadBytes;
            }
            else if (sent > 0)
            {
                // Partly sent (socket buffer full): the rest counts as lost and the timer or the next ACK resends it.
                packets += sent;
            }
        }

        _metrics.DataSent(packets, bytes);
        if (retransmission)
        {
            _metrics.Retransmitted(packets);
        }
    }

    private void ReadExactly(long offset, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            var read = RandomAccess.Read(_file!, destination, offset);
            if (read == 0)
            {
                throw new IOException($"{File} became shorter during the transfer.");
            }

            destination = destination[read..];
            offset += read;
        }
    }

    private bool TrySend(ReadOnlySpan<byte> datagram, SocketAddress to)
    {
        if (NativeUdp.CanSendBatch && ReferenceEquals(to, _client))
        {
            // The client's sockaddr is prebuilt: one sendmmsg of one datagram, without managed address handling.
            // A failure counts as a lost packet; the retransmission timer recovers or ends the transfer.
            Span<int> length = [datagram.Length];
            return NativeUdp.SendBatch(_socket.SafeHandle, _clientAddress, datagram, length) == 1;
        }

        try
        {
            _socket.SendTo(datagram, SocketFlags.None, to);
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.NoBufferSpaceAvailable
                                            or SocketError.ConnectionRefused or SocketError.HostUnreachable
                                            or SocketError.NetworkUnreachable)
        {
            // A transient failure is a lost packet: the retransmission timer recovers.
            return false;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            if (!_ended)
            {
                Log.TransferSendFailed(_logger, File, ClientEndPoint, e);
                End(TransferOutcome.SendFailed);
            }

            return false;
        }
    }

    /// <summary>Marks the end and closes the socket, which ends the pending receive. Called with the gate held.</summary>
    private void End(TransferOutcome outcome)
    {
        if (_ended)
        {
            return;
        }

        _ended = true;
        _outcome = outcome;
        Volatile.Write(ref _deadlineTicks, long.MaxValue);
        _socket.Dispose();
    }

    /// <summary>
    /// Releases once after the end. With the asynchronous loop only the loop itself releases, so the receive
    /// buffer is never returned while a receive might still write into it.
    /// </summary>
    private void ReleaseIfEnded(bool fromReceiveLoop = false)
    {
        if (!Volatile.Read(ref _ended) || (_reactor is null && !fromReceiveLoop))
        {
            return;
        }

        if (Interlocked.Exchange(ref _releasedFlag, 1) == 0)
        {
            Release();
        }
    }

    private void Release()
    {
        lock (_gate)
        {
            End(_outcome == TransferOutcome.Running ? TransferOutcome.Cancelled : _outcome);
        }

        _reactor?.Unregister(_reactorId);

        ArrayPool<byte>.Shared.Return(_sendBuffer);
        ArrayPool<byte>.Shared.Return(_receiveBuffer);
        if (_batchBuffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_batchBuffer);
        }
        _ownedContent?.Dispose();

        var elapsed = _clock() - _started;
        switch (_outcome)
        {
            case TransferOutcome.Completed:
                _metrics.TransferCompleted();
                Log.TransferCompleted(_logger, File, ClientEndPoint, _machine.Length, (long)elapsed.TotalMilliseconds);
                break;
            case TransferOutcome.SizeProbe:
                _metrics.TransferAbortedByClient();
                Log.TransferSizeProbe(_logger, File, ClientEndPoint);
                break;
            case TransferOutcome.AbortedByClient:
                _metrics.TransferAbortedByClient();
                Log.TransferAbortedByClient(_logger, File, ClientEndPoint, _clientError);
                break;
            case TransferOutcome.TimedOut:
                _metrics.TransferFailed();
                Log.TransferTimedOut(_logger, File, ClientEndPoint, _machine.LastAcknowledged + 1, _retryLimit);
                break;
            default:
                _metrics.TransferFailed();
                break;
        }

        _released(this);
        _completion.TrySetResult();
    }
}

/// <summary>The fixed ERROR packets, built once.</summary>
internal static class TftpErrorPackets
{
    private static readonly byte[][] Packets = BuildAll();

    public static byte[] Get(TftpErrorReason reason) => Packets[(int)reason];

    private static byte[][] BuildAll()
    {
        var reasons = Enum.GetValues<TftpErrorReason>();
        var packets = new byte[reasons.Max(r => (int)r) + 1][];
        foreach (var reason in reasons)
        {
            packets[(int)reason] = TftpPacketWriter.BuildError(reason);
        }

        return packets;
    }
}
