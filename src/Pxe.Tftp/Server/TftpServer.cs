using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pxe.Tftp.Files;
using Pxe.Tftp.Protocol;

namespace Pxe.Tftp.Server;

/// <summary>
/// A read-only TFTP server (RFC 1350, 2347, 2348, 2349, 7440). <see cref="RunAsync"/> owns the sockets: one
/// listening socket for requests (read with <c>ReceiveMessageFrom</c> to learn the receiving address and
/// interface), a bounded queue with a fixed set of workers for lookups, and one socket per transfer (its
/// transfer ID). A shared tick drives every transfer's retransmission timer.
/// </summary>
public sealed class TftpServer
{
    /// <summary>Log category of the server and its transfers.</summary>
    public const string LogCategory = "Pxe.Tftp.Server";

    /// <summary>Log category of malformed or stray datagrams (Debug only).</summary>
    public const string BadPacketLogCategory = "Pxe.Tftp.BadPackets";

    private readonly TftpServerOptions _options;
    private readonly ITftpFileSource _files;
    private readonly ILogger _logger;
    private readonly ILogger _badPacketLogger;
    private readonly HotFileCache _cache;
    private readonly InterfaceMtuCache _mtus = new();
    private readonly ConcurrentDictionary<TransferSession, byte> _sessions = new();
    private readonly TaskCompletionSource<IPEndPoint> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private Socket? _listener;
    private EpollReactor[] _reactors = [];
    private int _nextReactor;
    private int _running;
    private long _limitHitsReported;
    private long _queueFullReported;

    /// <summary>A server for the bootloaders in <see cref="TftpServerOptions.RootFolder"/> only.</summary>
    public TftpServer(TftpServerOptions options, ILoggerFactory? loggerFactory = null)
        : this(Validated(options), new RootFolderFileSource(options.RootFolder), loggerFactory)
    {
    }

    /// <summary>
    /// A server for a file source (typically a <see cref="CompositeFileSource"/> of generated configs and a
    /// <see cref="RootFolderFileSource"/>). Invalid options throw one exception listing every error.
    /// </summary>
    public TftpServer(TftpServerOptions options, ITftpFileSource files, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(files);
        TftpServerOptionsValidator.ThrowIfInvalid(options, requireRootFolder: false);
        _options = options;
        _files = files;
        loggerFactory ??= NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger(LogCategory);
        _badPacketLogger = loggerFactory.CreateLogger(BadPacketLogCategory);
        _cache = new HotFileCache(options.HotFileCacheSizeLimit, options.MaxCachedFileSize);
    }

    /// <summary>Counters for metrics.</summary>
    public TftpServerMetrics Metrics { get; } = new();

    /// <summary>Completes with the bound address and port (the real port when <see cref="TftpServerOptions.Port"/> is 0).</summary>
    public Task<IPEndPoint> Listening => _listening.Task;

    /// <summary>Receive transfer packets through epoll reactor threads (Linux); otherwise with asynchronous sockets.</summary>
    internal bool UseEpollReactor { get; init; } = EpollReactor.IsSupported;

    /// <summary>Bytes currently held by the hot-file cache.</summary>
    public long HotFileCacheSize => _cache.Size;

    /// <summary>Listens and serves until cancelled; then ends every transfer and releases every socket.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _running, 1) == 1)
        {
            throw new InvalidOperationException("RunAsync was already called; create a new TftpServer to run again.");
        }

        Socket listener;
        try
        {
            listener = Bind();
        }
        catch (Exception e)
        {
            _listening.TrySetException(e);
            throw;
        }

        _listener = listener;
        if (UseEpollReactor)
        {
            _reactors = [.. Enumerable.Range(0, Math.Clamp(Environment.ProcessorCount / 2, 1, 8)).Select(i => new EpollReactor($"TFTP reactor {i}", _logger))];
        }

        var local = (IPEndPoint)listener.LocalEndPoint!;
        Log.Listening(_logger, local);
        _listening.TrySetResult(local);

        var queue = Channel.CreateBounded<PendingRequest>(new BoundedChannelOptions(_options.RequestQueueLength)
        {
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var workers = new Task[_options.RequestWorkers];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(() => WorkerAsync(queue.Reader, stopping.Token), CancellationToken.None);
        }

        var ticker = Task.Run(() => TickAsync(stopping.Token), CancellationToken.None);
        try
        {
            await ReceiveRequestsAsync(listener, queue.Writer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            queue.Writer.TryComplete();
            await stopping.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(workers).ConfigureAwait(false);
            await ticker.ConfigureAwait(false);
            while (queue.Reader.TryRead(out var left))
            {
                ArrayPool<byte>.Shared.Return(left.Buffer);
            }

            var active = _sessions.Count;
            foreach (var session in _sessions.Keys)
            {
                session.Cancel();
            }

            await Task.WhenAll(_sessions.Keys.Select(s => s.Completion)).ConfigureAwait(false);
            foreach (var reactor in _reactors)
            {
                reactor.Dispose();
            }

            listener.Dispose();
            Log.Stopped(_logger, active);
        }
    }

    private static TftpServerOptions Validated(TftpServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        TftpServerOptionsValidator.ThrowIfInvalid(options);
        return options;
    }

    private Socket Bind()
    {
        var address = _options.BindAddress;
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (address.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.PacketInformation, true);
            }
            else
            {
                socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.PacketInformation, true);
            }

            socket.ReceiveBufferSize = _options.ListenReceiveBufferSize;
            socket.Bind(new IPEndPoint(address, _options.Port));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task ReceiveRequestsAsync(Socket listener, ChannelWriter<PendingRequest> queue, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(65536);
        EndPoint any = new IPEndPoint(listener.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                SocketReceiveMessageFromResult result;
                try
                {
                    result = await listener.ReceiveMessageFromAsync(buffer, SocketFlags.None, any, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize)
                {
                    continue;
                }

                var copy = ArrayPool<byte>.Shared.Rent(Math.Max(result.ReceivedBytes, 1));
                buffer.AsSpan(0, result.ReceivedBytes).CopyTo(copy);
                var local = result.PacketInformation.Address;
                var request = new PendingRequest(copy, result.ReceivedBytes, (IPEndPoint)result.RemoteEndPoint, local, result.PacketInformation.Interface);
                if (!queue.TryWrite(request))
                {
                    Metrics.QueueFull();
                    ArrayPool<byte>.Shared.Return(copy);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task WorkerAsync(ChannelReader<PendingRequest> queue, CancellationToken cancellationToken)
    {
        try
        {
            while (await queue.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (queue.TryRead(out var request))
                {
                    try
                    {
                        await HandleAsync(request, cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        return;
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(request.Buffer);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task TickAsync(CancellationToken cancellationToken)
    {
        var period = TimeSpan.FromTicks(Math.Clamp(_options.DefaultTimeout.Ticks / 8, TimeSpan.FromMilliseconds(5).Ticks, TimeSpan.FromMilliseconds(100).Ticks));
        using var timer = new PeriodicTimer(period);
        var lastReport = TimeSpan.Zero;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var now = _clock.Elapsed;
                foreach (var session in _sessions.Keys)
                {
                    session.OnTick(now);
                }

                if (now - lastReport >= TimeSpan.FromSeconds(1))
                {
                    lastReport = now;
                    ReportDrops();
                }
            }
        }
        catch (OperationCanceledException)
        {
            ReportDrops();
        }
    }

    private void ReportDrops()
    {
        var hits = Metrics.ConcurrentLimitHits;
        if (hits != _limitHitsReported)
        {
            Log.ConcurrentLimitHit(_logger, _options.MaxConcurrentTransfers, hits - _limitHitsReported);
            _limitHitsReported = hits;
        }

        var full = Metrics.RequestQueueFull;
        if (full != _queueFullReported)
        {
            Log.RequestQueueFull(_logger, _options.RequestQueueLength, full - _queueFullReported);
            _queueFullReported = full;
        }
    }

    private async Task HandleAsync(PendingRequest pending, CancellationToken cancellationToken)
    {
        var client = pending.Client;
        var datagram = pending.Buffer.AsMemory(0, pending.Length);
        var status = TftpPacket.TryParse(datagram.Span, out var packet);
        if (status != TftpParseStatus.Ok)
        {
            Metrics.BadPacket();
            Log.MalformedDatagram(_badPacketLogger, client, status);
            if (status == TftpParseStatus.MissingTerminator)
            {
                Reply(TftpErrorReason.MalformedRequest, client);
            }

            return;
        }

        var opcode = packet.Opcode;
        if (opcode is not (TftpOpcode.ReadRequest or TftpOpcode.WriteRequest))
        {
            Metrics.BadPacket();
            Log.UnexpectedOpcode(_badPacketLogger, client, (int)opcode);
            if (opcode != TftpOpcode.Error)
            {
                Reply(TftpErrorReason.UnexpectedPacket, client);
            }

            return;
        }

        status = TftpRequest.TryParse(opcode, packet.Body, out var request);
        if (status != TftpParseStatus.Ok)
        {
            Metrics.BadPacket();
            Log.MalformedDatagram(_badPacketLogger, client, status);
            Reply(TftpErrorReason.MalformedRequest, client);
            return;
        }

        if (request!.Opcode == TftpOpcode.WriteRequest)
        {
            Metrics.AccessViolation();
            Log.WriteRefused(_logger, request.FileName, client);
            Reply(TftpErrorReason.WriteNotSupported, client);
            return;
        }

        if (request.Mode is not ("octet" or "netascii"))
        {
            Log.UnsupportedMode(_logger, request.FileName, client, request.Mode);
            Reply(TftpErrorReason.UnsupportedMode, client);
            return;
        }

        var pathStatus = TftpPath.TryNormalize(request.FileName, _options.MaxPathLength, out var path);
        if (pathStatus != TftpPathStatus.Ok)
        {
            Metrics.AccessViolation();
            Log.InvalidFileName(_logger, client, pathStatus);
            Reply(TftpErrorReason.InvalidFileName, client);
            return;
        }

        TftpFileLookup lookup;
        try
        {
            lookup = await _files.FindAsync(path, client, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.FileSourceFailed(_logger, path, client, e);
            Reply(TftpErrorReason.FileSourceFailed, client);
            return;
        }

        switch (lookup.Status)
        {
            case TftpLookupStatus.NotFound:
                Metrics.FileNotFound();
                Log.FileNotFound(_logger, path, client);
                Reply(TftpErrorReason.FileNotFound, client);
                return;
            case TftpLookupStatus.AccessViolation:
                Metrics.AccessViolation();
                Log.AccessViolation(_logger, path, client);
                Reply(TftpErrorReason.AccessViolation, client);
                return;
        }

        await StartTransferAsync(request, path, lookup.Content!, pending, cancellationToken).ConfigureAwait(false);
    }

    private async Task StartTransferAsync(TftpRequest request, string path, TftpFileContent content, PendingRequest pending, CancellationToken cancellationToken)
    {
        var client = pending.Client;
        if (Metrics.IncrementActive() > _options.MaxConcurrentTransfers)
        {
            // Dropped without an answer: the client's RRQ retransmission retries it, where an error would fail the boot.
            Metrics.DecrementActive();
            Metrics.ConcurrentLimitHit();
            content.Dispose();
            return;
        }

        var owned = content;
        Socket? socket = null;
        TftpDiskFileContent? streamed = null;
        try
        {
            ReadOnlyMemory<byte> memory = default;
            var netascii = request.Mode == "netascii";
            if (netascii && content.Length > _options.MaxNetasciiFileSize)
            {
                Log.NetasciiTooLarge(_logger, path, client, content.Length);
                Metrics.DecrementActive();
                Reply(TftpErrorReason.NetasciiFileTooLarge, client);
                content.Dispose();
                return;
            }

            switch (content)
            {
                case TftpMemoryContent inMemory:
                    memory = inMemory.Bytes;
                    break;
                case TftpDiskFileContent disk when _cache.IsCacheable(disk.Length):
                    memory = await _cache.GetOrLoadAsync(disk, cancellationToken).ConfigureAwait(false);
                    break;
                case TftpDiskFileContent disk when netascii:
                    memory = await HotFileCache.ReadAllAsync(disk, cancellationToken).ConfigureAwait(false);
                    break;
                case TftpDiskFileContent disk:
                    streamed = disk;
                    owned = null;
                    break;
                default:
                    throw new InvalidOperationException($"Unknown content type {content.GetType()}.");
            }

            if (netascii)
            {
                memory = Netascii.Encode(memory.Span);
            }

            var length = streamed?.Length ?? memory.Length;
            var ipv6 = client.AddressFamily == AddressFamily.InterNetworkV6;
            var maxBlock = _options.MaxBlockSize;
            if (_options.CapBlockSizeToMtu && _mtus.GetMtu(pending.InterfaceIndex, ipv6) is { } mtu)
            {
                maxBlock = Math.Clamp(TftpNegotiator.BlockSizeForMtu(mtu, ipv6), TftpNegotiator.MinBlockSize, maxBlock);
            }

            var negotiation = TftpNegotiator.Negotiate(request.Options, new TftpNegotiationLimits(maxBlock, _options.MaxWindowSize, _options.DefaultTimeout), length);
            if (negotiation.Refused)
            {
                Log.OptionRefused(_logger, path, client, negotiation.RefusedOption!);
                // Released before the reply, so anyone who has seen the error also sees the slot free again.
                Metrics.DecrementActive();
                Reply(TftpErrorReason.OptionRefused, client);
                return;
            }

            socket = new Socket(client.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(LocalAddressFor(pending), 0));
            var oack = negotiation.Acknowledged.Count > 0 ? TftpPacketWriter.BuildOptionAcknowledgement(negotiation.Acknowledged) : null;
            var machine = new TftpReadTransfer(length, negotiation.BlockSize, negotiation.WindowSize, negotiation.Timeout, _options.RetryLimit, oack is not null);
            var session = new TransferSession(socket, client, path, machine, memory, streamed, oack, negotiation.BlockSize, _options.RetryLimit, Metrics, _logger, _badPacketLogger, () => _clock.Elapsed, OnSessionReleased);
            socket = null;
            streamed = null;
            Log.TransferStarted(_logger, path, client, length, negotiation.BlockSize, negotiation.WindowSize, request.Mode);
            Metrics.TransferStarted();
            _sessions.TryAdd(session, 0);
            session.Start(_reactors.Length == 0 ? null : _reactors[(int)((uint)Interlocked.Increment(ref _nextReactor) % (uint)_reactors.Length)]);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            socket?.Dispose();
            Metrics.DecrementActive();
            Log.RequestFailed(_logger, path, client, e);
            Reply(TftpErrorReason.FileSourceFailed, client);
        }
        catch
        {
            socket?.Dispose();
            Metrics.DecrementActive();
            throw;
        }
        finally
        {
            if (owned is TftpDiskFileContent)
            {
                owned.Dispose();
            }

            streamed?.Dispose();
        }
    }

    private void OnSessionReleased(TransferSession session)
    {
        Metrics.DecrementActive();
        _sessions.TryRemove(session, out _);
    }

    private IPAddress LocalAddressFor(PendingRequest pending)
    {
        var local = pending.LocalAddress;
        var any = _options.BindAddress;
        if (local is null || local.Equals(IPAddress.Any) || local.Equals(IPAddress.IPv6Any) || local.AddressFamily != any.AddressFamily)
        {
            return any;
        }

        return local;
    }

    private void Reply(TftpErrorReason reason, IPEndPoint client)
    {
        try
        {
            _listener?.SendTo(TftpErrorPackets.Get(reason), SocketFlags.None, client);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Best effort: the client retransmits its request.
        }
    }

    private readonly record struct PendingRequest(byte[] Buffer, int Length, IPEndPoint Client, IPAddress? LocalAddress, int InterfaceIndex);
}
