using Pxe.Dhcp.Protocol;

namespace Pxe.Dhcp.Server;

/// <summary>
/// Owns the in-memory <see cref="LeaseIndex"/> (a cache, under one lock) and the group commit to the
/// <see cref="ILeaseStore"/>: writes from all handlers queue up, and one committer thread sends everything queued as
/// one batch, so one store transaction serves many clients. A write's task completes only after the store returned;
/// its continuation (the rest of the handler: the ACK) runs on the committer's thread, with no hop to the thread pool.
/// <para>
/// A receive thread that handles datagrams inline (see <see cref="DeferWakesOnThisThread"/>) does not wake the
/// committer for each write: it calls <see cref="Flush"/> once no datagram waits on its socket. Under load the
/// socket rarely runs dry, so the writes of all requests handled meanwhile form one batch: batches grow with the
/// load, by themselves, instead of the committer waking (and on a small machine preempting the receiver) per write.
/// </para>
/// </summary>
internal sealed class LeaseManager
{
    [ThreadStatic]
    private static bool t_deferWakes;

    private readonly Lock _lock = new();
    private readonly LeaseIndex _index = new();
    private readonly ILeaseStore _store;
    private readonly int _maxBatch;
    private readonly DhcpServerCounters _counters;

    // Writes waiting for the committer; Monitor.Wait/Pulse on _gate wake its thread directly (no pool hop).
    private readonly object _gate = new();
    private readonly Queue<PendingWrite> _waiting = new();
    private bool _stopped;

    // True when the committer may take the queued writes now; false while they are only deferred writes of a receive
    // thread that has not reached the end of its socket's queue.
    private bool _signalled;
    private volatile bool _deferred;

    /// <param name="store">Where leases are committed.</param>
    /// <param name="maxBatch">Largest number of writes in one store call.</param>
    /// <param name="counters">Counts the store calls and their writes.</param>
    public LeaseManager(ILeaseStore store, int maxBatch, DhcpServerCounters counters)
    {
        _store = store;
        _maxBatch = maxBatch;
        _counters = counters;
    }

    /// <summary>
    /// Writes queued from the calling thread from now on wait for <see cref="Flush"/> (or a full batch, or another
    /// thread's wake) instead of waking the committer each. For a receive thread that handles its datagrams inline.
    /// </summary>
    public static void DeferWakesOnThisThread() => t_deferWakes = true;

    /// <summary>True while writes queued by a receive thread wait for its <see cref="Flush"/>.</summary>
    public bool HasDeferredWrites => _deferred;

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

    /// <summary>
    /// Queues a write for the next group commit; completes when the store has answered. The continuation of an await
    /// on the returned task runs on the committer's thread: it must not block.
    /// </summary>
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
            if (!t_deferWakes || _waiting.Count >= _maxBatch)
            {
                Wake();
            }
            else
            {
                _deferred = true;
            }
        }

        return pending.Completion.Task;
    }

    /// <summary>Wakes the committer for the writes deferred so far (a receive thread found its socket empty).</summary>
    public void Flush()
    {
        if (!_deferred)
        {
            return;
        }

        lock (_gate)
        {
            Wake();
        }
    }

    // Called with _gate held.
    private void Wake()
    {
        _deferred = false;
        if (!_signalled)
        {
            _signalled = true;
            Monitor.Pulse(_gate);
        }
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
        var batch = new List<PendingWrite>(Math.Min(_maxBatch, 1024));
        var writes = new List<LeaseWrite>(Math.Min(_maxBatch, 1024));
        var registration = cancellationToken.Register(Stop);
        try
        {
            while (true)
            {
                batch.Clear();
                writes.Clear();
                lock (_gate)
                {
                    while (!(_signalled && _waiting.Count > 0) && !_stopped)
                    {
                        if (_waiting.Count == 0)
                        {
                            _signalled = false;
                        }

                        Monitor.Wait(_gate);
                    }

                    if (_stopped)
                    {
                        break;
                    }

                    while (batch.Count < _maxBatch && _waiting.TryDequeue(out var pending))
                    {
                        batch.Add(pending);
                        writes.Add(pending.Write);
                    }

                    // Writes left over (past a full batch) go in the next store call without a new wake.
                    _signalled = _waiting.Count > 0;
                    if (!_signalled)
                    {
                        _deferred = false;
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
            var failed = batch.ToArray();
            batch.Clear();
            foreach (var pending in failed)
            {
                pending.Completion.TrySetException(ex);
            }

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

        var done = batch.ToArray();
        batch.Clear();
        for (int i = 0; i < done.Length; i++)
        {
            // Runs the waiting handler's continuation here (the reply is written and sent on this thread).
            done[i].Completion.TrySetResult(results[i]);
        }
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

        // Continuations run synchronously, on the thread that completes the write (the committer).
        public TaskCompletionSource<LeaseWriteResult> Completion { get; } = new(TaskCreationOptions.None);
    }
}
