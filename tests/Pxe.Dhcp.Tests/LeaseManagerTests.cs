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

    [Fact]
    public async Task Committer_WhileRequestsAreQueued_GathersLaterWritesIntoTheSameBatch()
    {
        var store = new RecordingStore();
        var counters = new DhcpServerCounters();
        var queued = true;
        var manager = new LeaseManager(store, 512, counters, TimeSpan.FromSeconds(10), () => Volatile.Read(ref queued));
        using var stop = new CancellationTokenSource();
        var committer = manager.StartCommitter(stop.Token);

        var first = manager.CommitAsync(Bind(1));
        await Task.Delay(100);
        Assert.False(first.IsCompleted, "the committer did not wait while requests were queued");
        var second = manager.CommitAsync(Bind(2));
        var third = manager.CommitAsync(Bind(3));
        Volatile.Write(ref queued, false);
        var results = await Task.WhenAll(first, second, third).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.All(results, r => Assert.Equal(LeaseWriteOutcome.Committed, r.Outcome));
        Assert.Equal([3], store.BatchSizes);
        Assert.Equal(1, counters.LeaseCommits);
        Assert.Equal(3, counters.LeaseWrites);
        await stop.CancelAsync();
        await committer;
    }

    [Fact]
    public async Task Committer_WithNothingQueued_CommitsAtOnce()
    {
        var store = new RecordingStore();
        var manager = new LeaseManager(store, 512, new DhcpServerCounters(), TimeSpan.FromSeconds(30), () => false);
        using var stop = new CancellationTokenSource();
        var committer = manager.StartCommitter(stop.Token);

        var watch = Stopwatch.StartNew();
        await manager.CommitAsync(Bind(1)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"an idle server's commit waited {watch.Elapsed}");
        await manager.CommitAsync(Bind(2)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([1, 1], store.BatchSizes);
        await stop.CancelAsync();
        await committer;
    }

    [Fact]
    public async Task Committer_GatherEndsAfterTheLongestWait_EvenWhileRequestsStayQueued()
    {
        var store = new RecordingStore();
        var manager = new LeaseManager(store, 512, new DhcpServerCounters(), TimeSpan.FromMilliseconds(200), () => true);
        using var stop = new CancellationTokenSource();
        var committer = manager.StartCommitter(stop.Token);

        var watch = Stopwatch.StartNew();
        var result = await manager.CommitAsync(Bind(1)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(LeaseWriteOutcome.Committed, result.Outcome);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(150), TimeSpan.FromSeconds(5));
        await stop.CancelAsync();
        await committer;
    }

    [Fact]
    public async Task Committer_FullBatch_CommitsWithoutWaitingForTheGatherTime()
    {
        var store = new RecordingStore();
        var manager = new LeaseManager(store, 2, new DhcpServerCounters(), TimeSpan.FromSeconds(30), () => true);
        using var stop = new CancellationTokenSource();
        var committer = manager.StartCommitter(stop.Token);

        var watch = Stopwatch.StartNew();
        await Task.WhenAll(manager.CommitAsync(Bind(1)), manager.CommitAsync(Bind(2))).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"a full batch waited {watch.Elapsed}");
        Assert.Equal([2], store.BatchSizes);
        await stop.CancelAsync();
        await committer;
    }

    [Fact]
    public async Task Committer_StoppedWhileGathering_FailsTheWaitingWrites()
    {
        var store = new RecordingStore();
        var manager = new LeaseManager(store, 512, new DhcpServerCounters(), TimeSpan.FromSeconds(30), () => true);
        using var stop = new CancellationTokenSource();
        var committer = manager.StartCommitter(stop.Token);

        var write = manager.CommitAsync(Bind(1));
        await Task.Delay(50);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => write.WaitAsync(TimeSpan.FromSeconds(10)));
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
