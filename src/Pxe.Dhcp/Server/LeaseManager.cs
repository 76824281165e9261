using Pxe.Dhcp.Protocol;

namespace Pxe.Dhcp.Server;

/// <summary>
/// Owns the in-memory <see cref="LeaseIndex"/> (a cache, under one lock) and the group commit to the
/// <see cref="ILeaseStore"/>: writes from all workers queue up, and one committer thread sends everything queued as
/// one batch, so one store transaction serves many clients. A write's task completes only after the store returned.
/// </summary>
internal sealed class LeaseManager
{
    private readonly Lock _lock = new();
    private readonly LeaseIndex _index = new();
    private readonly ILeaseStore _store;
    private readonly int _maxBatch;
    private readonly DhcpServerCounters _counters;
    private readonly TimeSpan _maxGather;
    private readonly Func<bool> _moreComing;

    // Writes waiting for the committer; Monitor.Wait/Pulse on _gate wake its thread directly (no pool hop).
    private readonly object _gate = new();
    private readonly Queue<PendingWrite> _waiting = new();
    private bool _stopped;

    /// <param name="store">Where leases are committed.</param>
    /// <param name="maxBatch">Largest number of writes in one store call.</param>
    /// <param name="counters">Counts the store calls and their writes.</param>
    /// <param name="maxGather">
    /// How long the committer may hold a batch back while <paramref name="moreComing"/> says that requests are still
    /// waiting to be handled (their writes then join the batch); zero commits at once.
    /// </param>
    /// <param name="moreComing">True while received requests wait for a handler; null when nothing can tell.</param>
    public LeaseManager(ILeaseStore store, int maxBatch, DhcpServerCounters counters, TimeSpan maxGather = default, Func<bool>? moreComing = null)
    {
        _store = store;
        _maxBatch = maxBatch;
        _counters = counters;
        _maxGather = maxGather;
        _moreComing = moreComing ?? (static () => false);
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
        lock (_gate)
        {
            if (_stopped)
            {
                return Task.FromException<LeaseWriteResult>(new InvalidOperationException("The lease committer has stopped."));
            }

            _waiting.Enqueue(pending);
            if (_waiting.Count == 1 || _waiting.Count == _maxBatch)
            {
                // The committer waits on an empty queue (this write is the one that wakes it), or gathers a batch until
                // it is full.
                Monitor.Pulse(_gate);
            }
        }

        return pending.Completion.Task;
    }

    /// <summary>
    /// Starts the committer on a thread of its own: one store call per batch of queued writes. A store may block
    /// (SQLite writes, and syncs, synchronously), and on a small machine the thread pool runs one work item at a time:
    /// a commit on a pool thread would stall every request behind it. The task completes when the thread has ended.
    /// </summary>
    public Task StartCommitter(CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                CommitLoop(cancellationToken);
                done.TrySetResult();
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
        })
        {
            IsBackground = true,
            Name = "dhcp-commit",
        };
        thread.Start();
        return done.Task;
    }

    private void CommitLoop(CancellationToken cancellationToken)
    {
        var batch = new List<PendingWrite>(_maxBatch);
        var writes = new List<LeaseWrite>(_maxBatch);
        var registration = cancellationToken.Register(Stop);
        try
        {
            while (true)
            {
                batch.Clear();
                writes.Clear();
                lock (_gate)
                {
                    while (_waiting.Count == 0 && !_stopped)
                    {
                        Monitor.Wait(_gate);
                    }

                    Gather();
                    if (_stopped)
                    {
                        break;
                    }

                    while (batch.Count < _maxBatch && _waiting.TryDequeue(out var pending))
                    {
                        batch.Add(pending);
                        writes.Add(pending.Write);
                    }
                }

                Commit(batch, writes, cancellationToken);
            }
        }
        finally
        {
            // Outside the lock: disposing waits for a running Stop, which takes the lock.
            registration.Dispose();
            Stop();
            var stopped = new OperationCanceledException("The DHCP service is stopping.");
            foreach (var pending in batch)
            {
                pending.Completion.TrySetException(stopped);
            }

            lock (_gate)
            {
                while (_waiting.TryDequeue(out var pending))
                {
                    pending.Completion.TrySetException(stopped);
                }
            }
        }
    }

    /// <summary>
    /// Under load, holds the batch back (at most the gather time) while requests still wait for a handler: on a busy
    /// server their writes arrive within a few hundred microseconds, and one store transaction for all of them costs
    /// far less than one each. An idle server commits at once. Called with <see cref="_gate"/> held.
    /// </summary>
    private void Gather()
    {
        if (_maxGather <= TimeSpan.Zero)
        {
            return;
        }

        long start = Environment.TickCount64;
        while (!_stopped && _waiting.Count < _maxBatch && _moreComing())
        {
            long left = (long)_maxGather.TotalMilliseconds - (Environment.TickCount64 - start);
            if (left <= 0)
            {
                return;
            }

            // Woken early by a full batch or a stop; otherwise the handlers run meanwhile.
            Monitor.Wait(_gate, 1);
        }
    }

    private void Commit(List<PendingWrite> batch, List<LeaseWrite> writes, CancellationToken cancellationToken)
    {
        IReadOnlyList<LeaseWriteResult> results;
        try
        {
            _counters.CountLeaseCommit(writes.Count);
            var call = _store.CommitAsync(writes, cancellationToken);
            // This thread is the committer's own: waiting here for a store that completes asynchronously holds no pool thread.
            results = call.IsCompletedSuccessfully ? call.Result : call.AsTask().GetAwaiter().GetResult();
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

            batch.Clear();
            return;
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

    private void Stop()
    {
        lock (_gate)
        {
            _stopped = true;
            Monitor.PulseAll(_gate);
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
