using System.Net;

namespace Pxe.Dhcp;

/// <summary>
/// An <see cref="ILeaseStore"/> in memory, with exactly the rules of <see cref="ILeaseStore.CommitAsync"/>.
/// For tests and for running without persistence; its contents are lost when the process ends.
/// </summary>
public sealed class InMemoryLeaseStore : ILeaseStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<IPAddress, DhcpLease> _rows = [];
    private long _batches;
    private long _writes;

    /// <summary>Creates an empty store, or one holding <paramref name="initial"/>.</summary>
    public InMemoryLeaseStore(IEnumerable<DhcpLease>? initial = null)
    {
        foreach (var lease in initial ?? [])
        {
            _rows[lease.Address] = lease;
        }
    }

    /// <summary>Number of <see cref="CommitAsync"/> calls so far.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Number of writes committed or rejected so far.</summary>
    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>A copy of all rows.</summary>
    public IReadOnlyList<DhcpLease> Snapshot()
    {
        lock (_lock)
        {
            return [.. _rows.Values];
        }
    }

    /// <summary>The row for <paramref name="address"/>, or null.</summary>
    public DhcpLease? Find(IPAddress address)
    {
        lock (_lock)
        {
            return _rows.GetValueOrDefault(address);
        }
    }

    /// <inheritdoc/>
    public ValueTask<IReadOnlyList<DhcpLease>> LoadAllAsync(CancellationToken cancellationToken)
        => ValueTask.FromResult(Snapshot());

    /// <inheritdoc/>
    public ValueTask<IReadOnlyList<LeaseWriteResult>> CommitAsync(IReadOnlyList<LeaseWrite> writes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writes);
        cancellationToken.ThrowIfCancellationRequested();
        var results = new LeaseWriteResult[writes.Count];
        lock (_lock)
        {
            for (int i = 0; i < writes.Count; i++)
            {
                results[i] = Apply(writes[i]);
            }
        }

        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _writes, writes.Count);
        return ValueTask.FromResult<IReadOnlyList<LeaseWriteResult>>(results);
    }

    private LeaseWriteResult Apply(LeaseWrite write)
    {
        var lease = write.Lease;
        _rows.TryGetValue(lease.Address, out var row);
        switch (write.Kind)
        {
            case LeaseWriteKind.Bind:
                if (row is null || (row.ClientId == lease.ClientId && row.State != DhcpLeaseState.Declined) || IsFree(row, write.Now))
                {
                    var bound = lease with { State = DhcpLeaseState.Bound };
                    _rows[lease.Address] = bound;
                    return new LeaseWriteResult(LeaseWriteOutcome.Committed, bound);
                }

                return new LeaseWriteResult(LeaseWriteOutcome.AddressInUse, row);

            case LeaseWriteKind.Release:
            case LeaseWriteKind.Expire:
                bool expire = write.Kind == LeaseWriteKind.Expire;
                if (row is null || row.ClientId != lease.ClientId || row.State != DhcpLeaseState.Bound
                    || (expire && row.Expires > write.Now))
                {
                    return new LeaseWriteResult(LeaseWriteOutcome.NotHeld, row);
                }

                var ended = lease with { State = expire ? DhcpLeaseState.Expired : DhcpLeaseState.Released };
                _rows[lease.Address] = ended;
                return new LeaseWriteResult(LeaseWriteOutcome.Committed, ended);

            case LeaseWriteKind.Decline:
                var declined = lease with { State = DhcpLeaseState.Declined };
                _rows[lease.Address] = declined;
                return new LeaseWriteResult(LeaseWriteOutcome.Committed, declined);

            default:
                throw new ArgumentOutOfRangeException(nameof(write), write.Kind, "Unknown lease write kind.");
        }
    }

    private static bool IsFree(DhcpLease row, DateTimeOffset now)
        => row.State is DhcpLeaseState.Released or DhcpLeaseState.Expired || row.Expires <= now;
}
