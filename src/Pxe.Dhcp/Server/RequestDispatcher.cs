using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Pxe.Dhcp.Server;

/// <summary>
/// Runs each received datagram's handler on the receive thread itself, as Kea's single thread does: parsing,
/// classifying, the lease index and the OFFER cost no thread hop. A REQUEST's handler stops at its lease write and
/// resumes on the committer's thread, which then writes and sends the ACK. At most <c>maxInFlight</c> handlers wait for
/// the store at once; past that the receive thread waits (datagrams queue in the socket's buffer meanwhile).
/// </summary>
internal sealed class RequestDispatcher
{
    private readonly DhcpRequestHandler _handler;
    private readonly LeaseManager _leases;
    private readonly DhcpTransport _transport;
    private readonly int _maxInFlight;
    private readonly ILogger _logger;
    private readonly CancellationToken _cancellationToken;
    private readonly ConcurrentQueue<byte[]> _replyBuffers = new();
    private readonly object _slots = new();
    private int _inFlight;
    private volatile bool _waitingForSlot;

    public RequestDispatcher(DhcpRequestHandler handler, LeaseManager leases, DhcpTransport transport, int maxInFlight, ILogger logger, CancellationToken cancellationToken)
    {
        _handler = handler;
        _leases = leases;
        _transport = transport;
        _maxInFlight = maxInFlight;
        _logger = logger;
        _cancellationToken = cancellationToken;
    }

    /// <summary>Called once on each receive thread before its first datagram.</summary>
    public static void EnterReceiveThread() => LeaseManager.DeferWakesOnThisThread();

    /// <summary>True when <see cref="Idle"/> has something to do (writes wait for the end of the socket's queue).</summary>
    public bool WantsIdle => _leases.HasDeferredWrites;

    /// <summary>Called by a receive thread when no datagram waits on its socket: the queued writes go to the store.</summary>
    public void Idle() => _leases.Flush();

    /// <summary>Handles one datagram; takes ownership of its pooled buffer.</summary>
    public void Dispatch(ReceivedDatagram datagram)
    {
        if (Interlocked.Increment(ref _inFlight) > _maxInFlight)
        {
            WaitForSlot();
        }

        _ = HandleAsync(datagram);
    }

    private void WaitForSlot()
    {
        // Every handler in flight waits for the store: let the committer have their writes, then wait for one to finish.
        _leases.Flush();
        lock (_slots)
        {
            _waitingForSlot = true;
            // The flag must be visible before the count is read (a handler finishing now reads them in the other order).
            Interlocked.MemoryBarrier();
            while (Volatile.Read(ref _inFlight) > _maxInFlight && !_cancellationToken.IsCancellationRequested)
            {
                Monitor.Wait(_slots, 100);
            }

            _waitingForSlot = false;
        }
    }

    private async Task HandleAsync(ReceivedDatagram item)
    {
        if (!_replyBuffers.TryDequeue(out var reply))
        {
            reply = new byte[DhcpTransport.ReplyBufferLength];
        }

        try
        {
            var info = new ReceiveInfo(item.Endpoint.Interface, item.Remote, item.Endpoint.BootServerPort);
            var decision = await _handler.HandleAsync(item.Buffer.AsMemory(0, item.Length), info, reply, _cancellationToken).ConfigureAwait(false);
            if (decision.Length > 0)
            {
                _transport.Send(item.Endpoint, reply.AsSpan(0, decision.Length), decision);
            }
        }
        catch (OperationCanceledException) when (_cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            Log.HandlerFailed(_logger, ex, item.Remote.ToString(), item.Endpoint.Interface);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(item.Buffer);
            _replyBuffers.Enqueue(reply);
            Interlocked.Decrement(ref _inFlight);
            if (_waitingForSlot)
            {
                lock (_slots)
                {
                    Monitor.PulseAll(_slots);
                }
            }
        }
    }
}
