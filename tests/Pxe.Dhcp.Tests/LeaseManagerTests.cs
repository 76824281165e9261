using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using Pxe.Dhcp.Server;

namespace Pxe.Dhcp.Tests;

/// <summary>The group committer: how writes are gathered into store calls, and what the counters say about it.</summary>
public sealed class LeaseManagerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static LeaseWrite Bind(int i) => new(LeaseWriteKind.Bind, new DhcpLease
    {
        Address = IPAddress.Parse($"10.0.0.{10 + i}"),
        ClientId = $"01:52:54:00:00:00:{i:x2}",
        Mac = PhysicalAddress.Parse($"52-54-00-00-00-{i:X2}"),
        State = DhcpLeaseState.Bound,
        Starts = T0,
        Expires = T0.AddHours(1),
    }, T0);

    /// <summary>Runs <paramref name="body"/> on a thread of its own that defers its wakes, as a receive thread does.</summary>
    private static Task OnReceiveThread(Action body)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                LeaseManager.DeferWakesOnThisThread();
                body();
                done.TrySetResult();
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
        });
        thread.Start();
        return done.Task;
    }

    [Fact]
    public async Task ReceiveThreadWrites_WaitForItsFlush_AndGoToTheStoreAsOneBatch()
    {
        var store = new RecordingStore();
        var counters = new DhcpServerCounters();
        var manager = new LeaseManager(store, 512, counters);
        using var stop = new CancellationTokenSource();
        var committer = manager.StartCommitter(stop.Token);

        var writes = new List<Task<LeaseWriteResult>>();
        await OnReceiveThread(() =>
        {
            for (int i = 1; i <= 3; i++)
            {
                writes.Add(manager.CommitAsync(Bind(i)));
            }
        });
        await Task.Delay(200);
        Assert.True(manager.HasDeferredWrites);
        Assert.All(writes, w => Assert.False(w.IsCompleted, "a deferred write was committed before the receive thread flushed"));

        manager.Flush();
        var results = await Task.WhenAll(writes).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(results, r => Assert.Equal(LeaseWriteOutcome.Committed, r.Outcome));
        Assert.Equal([3], store.BatchSizes);
        Assert.Equal(1, counters.LeaseCommits);
        Assert.Equal(3, counters.LeaseWrites);
        Assert.False(manager.HasDeferredWrites);
        await stop.CancelAsync();
        await committer;
    }

    [Fact]
    public async Task WriteFromAnotherThread_CommitsAtOnce_TakingDeferredWritesAlong()
    {
        var store = new RecordingStore();
        var manager = new LeaseManager(store, 512, new DhcpServerCounters());
        using var stop = new CancellationTokenSource();
        var committer = manager.StartCommitter(stop.Token);

        var watch = Stopwatch.StartNew();
        await manager.CommitAsync(Bind(1)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"an idle server's commit waited {watch.Elapsed}");

        Task<LeaseWriteResult>? deferred = null;
        await OnReceiveThread(() => deferred = manager.CommitAsync(Bind(2)));
        await manager.CommitAsync(Bind(3)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(deferred!.IsCompletedSuccessfully);
        Assert.Equal([1, 2], store.BatchSizes);
        await stop.CancelAsync();
        await committer;
    }

    [Fact]
    public async Task FullBatch_CommitsWithoutAFlush()
    {
        var store = new RecordingStore();
        var manager = new LeaseManager(store, 2, new DhcpServerCounters());
        using var stop = new CancellationTokenSource();
        var committer = manager.StartCommitter(stop.Token);

        var writes = new List<Task<LeaseWriteResult>>();
        await OnReceiveThread(() =>
        {
            writes.Add(manager.CommitAsync(Bind(1)));
            writes.Add(manager.CommitAsync(Bind(2)));
        });
        await Task.WhenAll(writes).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([2], store.BatchSizes);
        await stop.CancelAsync();
        await committer;
    }

    [Fact]
    public async Task ContinuationOfAWrite_RunsOnTheCommitterThread()
    {
        var manager = new LeaseManager(new RecordingStore(), 512, new DhcpServerCounters());
        using var stop = new CancellationTokenSource();
        var committer = manager.StartCommitter(stop.Token);

        // Deferred until the flush, so the continuation is registered before the write can complete.
        Task<LeaseWriteResult>? write = null;
        await OnReceiveThread(() => write = manager.CommitAsync(Bind(1)));
        var continued = write!.ContinueWith(_ => Thread.CurrentThread.Name, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        manager.Flush();
        var thread = await continued.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("dhcp-commit", thread);
        await stop.CancelAsync();
        await committer;
    }

    [Fact]
    public async Task Stopped_FailsTheDeferredWrites()
    {
        var store = new RecordingStore();
        var manager = new LeaseManager(store, 512, new DhcpServerCounters());
        using var stop = new CancellationTokenSource();
        var committer = manager.StartCommitter(stop.Token);

        Task<LeaseWriteResult>? write = null;
        await OnReceiveThread(() => write = manager.CommitAsync(Bind(1)));
        await Task.Delay(50);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => write!.WaitAsync(TimeSpan.FromSeconds(10)));
        await committer.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Empty(store.BatchSizes);
    }

    private sealed class RecordingStore : ILeaseStore
    {
        private readonly InMemoryLeaseStore _inner = new();
        private readonly ConcurrentQueue<int> _batchSizes = new();

        public IReadOnlyList<int> BatchSizes => [.. _batchSizes];

        public ValueTask<IReadOnlyList<DhcpLease>> LoadAllAsync(CancellationToken cancellationToken) => _inner.LoadAllAsync(cancellationToken);

        public ValueTask<IReadOnlyList<LeaseWriteResult>> CommitAsync(IReadOnlyList<LeaseWrite> writes, CancellationToken cancellationToken)
        {
            _batchSizes.Enqueue(writes.Count);
            return _inner.CommitAsync(writes, cancellationToken);
        }
    }
}
