using System.Threading.Channels;
using Pxe.Profiles.Domain;
using Pxe.Profiles.Storage;

namespace Pxe.Profiles.Services;

/// <summary>
/// Batched writer for high-volume observational events (a file served, a progress report): callers never wait for the
/// disk, and one transaction stores many events. Events that change state are not written here: they are stored in the
/// same transaction as their change.
/// </summary>
public sealed class EventLog : IAsyncDisposable
{
    /// <summary>Most events held before new ones are dropped (and counted): bounded memory under a flood.</summary>
    public const int Capacity = 100_000;

    /// <summary>Most events written in one transaction.</summary>
    public const int MaxBatch = 2_000;

    private readonly Channel<MachineEvent> _queue = Channel.CreateBounded<MachineEvent>(
        new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    private readonly IEventStore _store;
    private readonly Task _writer;
    private long _dropped;
    private long _failed;
    private int _writing;

    /// <summary>Starts the background writer.</summary>
    public EventLog(IEventStore store)
    {
        _store = store;
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>Events dropped because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Events lost because the store refused a batch.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Queues an event; never blocks.</summary>
    public void Post(MachineEvent evt)
    {
        if (!_queue.Writer.TryWrite(evt))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>Waits until everything queued so far is stored (tests and shutdown).</summary>
    public async Task FlushAsync(CancellationToken ct)
    {
        while (_queue.Reader.Count > 0 || Volatile.Read(ref _writing) != 0)
        {
            await Task.Delay(5, ct);
        }
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<MachineEvent>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            Volatile.Write(ref _writing, 1);
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var e))
            {
                batch.Add(e);
            }

            try
            {
                await _store.AppendEventsAsync(batch, CancellationToken.None);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Interlocked.Add(ref _failed, batch.Count);
            }

            batch.Clear();
            Volatile.Write(ref _writing, 0);
        }
    }

    /// <summary>Stops accepting events and writes what is queued.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer;
    }
}
