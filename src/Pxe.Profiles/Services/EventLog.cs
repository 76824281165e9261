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
    private long _queued;
    private long _processed;

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
        // Counted before it is queued, so a flush never returns while an event posted before it is still unwritten.
        Interlocked.Increment(ref _queued);
        if (!_queue.Writer.TryWrite(evt))
        {
            Interlocked.Decrement(ref _queued);
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>
    /// Waits until every event queued before this call is stored (or its batch failed). Events queued meanwhile are
    /// not waited for, so a steady flood of events never holds a caller up for long.
    /// </summary>
    public async Task FlushAsync(CancellationToken ct)
    {
        var target = Interlocked.Read(ref _queued);
        while (Interlocked.Read(ref _processed) < target && !_writer.IsCompleted)
        {
            await Task.Delay(1, ct);
        }
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<MachineEvent>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
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

            Interlocked.Add(ref _processed, batch.Count);
            batch.Clear();
        }
    }

    /// <summary>Stops accepting events and writes what is queued.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer;
    }
}
