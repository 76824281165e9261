using System.Threading.Channels;
using Pxe.Dhcp.Protocol;

namespace Pxe.Dhcp.Server;

/// <summary>
/// Owns the in-memory <see cref="LeaseIndex"/> (a cache, under one lock) and the group commit to the
/// <see cref="ILeaseStore"/>: writes from all workers queue up, and one committer sends everything queued as one
/// batch, so one store transaction serves many clients. A write's task completes only after the store returned.
/// </summary>
internal sealed class LeaseManager
{
    private readonly Lock _lock = new();
    private readonly LeaseIndex _index = new();
    private readonly ILeaseStore _store;
    private readonly int _maxBatch;
    private readonly Channel<PendingWrite> _queue = Channel.CreateUnbounded<PendingWrite>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false, AllowSynchronousContinuations = false });

    public LeaseManager(ILeaseStore store, int maxBatch)
    {
        _store = store;
        _maxBatch = maxBatch;
    }

    /// <summary>Runs <paramref name="action"/> on the index under the lock.</summary>
    public T Read<T>(Func<LeaseIndex, T> action)
    {
        lock (_lock)
        {
            return action(_index);
        }
    }

    /// <summary>Runs <paramref name="action"/> on the index under the lock, with one argument (no closure).</summary>
    public T Read<TArg, T>(TArg argument, Func<LeaseIndex, TArg, T> action)
    {
        lock (_lock)
        {
            return action(_index, argument);
        }
    }

    /// <summary>Loads the store into the index; returns the number of rows.</summary>
    public async Task<int> LoadAsync(CancellationToken cancellationToken)
    {
        var leases = await _store.LoadAllAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            foreach (var lease in leases)
            {
                _index.Apply(lease);
            }
        }

        return leases.Count;
    }

    /// <summary>Queues a write for the next group commit; completes when the store has answered.</summary>
    public Task<LeaseWriteResult> CommitAsync(LeaseWrite write)
    {
        var pending = new PendingWrite(write);
        if (!_queue.Writer.TryWrite(pending))
        {
            return Task.FromException<LeaseWriteResult>(new InvalidOperationException("The lease committer has stopped."));
        }

        return pending.Completion.Task;
    }

    /// <summary>The committer loop: one store call per batch of queued writes.</summary>
    public async Task RunCommitterAsync(CancellationToken cancellationToken)
    {
        var reader = _queue.Reader;
        var batch = new List<PendingWrite>(_maxBatch);
        var writes = new List<LeaseWrite>(_maxBatch);
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                batch.Clear();
                writes.Clear();
                while (batch.Count < _maxBatch && reader.TryRead(out var pending))
                {
                    batch.Add(pending);
                    writes.Add(pending.Write);
                }

                IReadOnlyList<LeaseWriteResult> results;
                try
                {
                    results = await _store.CommitAsync(writes, cancellationToken).ConfigureAwait(false);
                    if (results.Count != writes.Count)
                    {
                        throw new InvalidOperationException($"The lease store returned {results.Count} results for {writes.Count} writes.");
                    }
                }
                catch (Exception ex)
                {
                    foreach (var pending in batch)
                    {
                        pending.Completion.TrySetException(ex);
                    }

                    continue;
                }

                lock (_lock)
                {
                    for (int i = 0; i < batch.Count; i++)
                    {
                        if (results[i].Current is { } row)
                        {
                            _index.Apply(row);
                        }
                    }
                }

                for (int i = 0; i < batch.Count; i++)
                {
                    batch[i].Completion.TrySetResult(results[i]);
                }

                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            _queue.Writer.TryComplete();
            var stopped = new OperationCanceledException("The DHCP service is stopping.");
            foreach (var pending in batch)
            {
                pending.Completion.TrySetException(stopped);
            }

            while (reader.TryRead(out var pending))
            {
                pending.Completion.TrySetException(stopped);
            }
        }
    }

    /// <summary>Leases of the index that ran out by <paramref name="now"/>, as Expire writes.</summary>
    public List<LeaseWrite> CollectExpired(DateTimeOffset now, int max)
    {
        var writes = new List<LeaseWrite>();
        lock (_lock)
        {
            foreach (var entry in _index.FindExpired(now, max))
            {
                writes.Add(new LeaseWrite(
                    LeaseWriteKind.Expire,
                    new DhcpLease
                    {
                        Address = DhcpServerOptionsValidator.FromUInt32(entry.Address),
                        ClientId = entry.ClientKey,
                        Mac = entry.Mac ?? System.Net.NetworkInformation.PhysicalAddress.None,
                        State = DhcpLeaseState.Expired,
                        Starts = entry.Starts,
                        Expires = entry.Expires,
                        HostName = entry.HostName,
                    },
                    now));

                // Expired leases are free by the store's rules too; the stored row replaces this entry when it comes back.
                entry.State = LeaseIndex.EntryState.Free;
            }
        }

        return writes;
    }

    private sealed class PendingWrite(LeaseWrite write)
    {
        public LeaseWrite Write { get; } = write;

        public TaskCompletionSource<LeaseWriteResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
