using System.Net;
using System.Net.NetworkInformation;

namespace Pxe.Dhcp;

/// <summary>
/// The persistent lease table. It is the source of truth: the server's in-memory index is only a cache, and an ACK
/// is sent only after its <see cref="LeaseWriteKind.Bind"/> write is committed.
/// <para>
/// Several servers may share one store, so the store (not the caller) enforces that an address is held by at most one
/// client: <see cref="CommitAsync"/> applies each write conditionally inside one transaction. In SQL terms a Bind is
/// <c>INSERT … ON CONFLICT (address) DO UPDATE SET … WHERE (leases.client_id = excluded.client_id AND
/// leases.state &lt;&gt; 'declined') OR leases.state IN ('released','expired') OR leases.expires &lt;= @now</c>, and zero affected rows means
/// <see cref="LeaseWriteOutcome.AddressInUse"/>.
/// </para>
/// </summary>
public interface ILeaseStore
{
    /// <summary>
    /// Loads every lease row, in any state, once at server start to fill the in-memory index.
    /// </summary>
    ValueTask<IReadOnlyList<DhcpLease>> LoadAllAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Applies a batch of writes in order, in one transaction, and returns one result per write in the same order.
    /// A later write in the batch sees the effect of earlier ones. The server groups writes from concurrent
    /// workers into one call (group commit), so a batch usually holds writes of different clients.
    /// <para>Rules, with <c>row</c> the stored lease for <c>write.Lease.Address</c> and <c>now</c> = <see cref="LeaseWrite.Now"/>:</para>
    /// <list type="bullet">
    /// <item><see cref="LeaseWriteKind.Bind"/>: committed (row replaced by <c>write.Lease</c>, state Bound) when there is no row,
    /// or <c>row.ClientId == write.Lease.ClientId</c> and row.State is not Declined, or row.State is Released or Expired, or <c>row.Expires &lt;= now</c>.
    /// Otherwise nothing changes and the result is <see cref="LeaseWriteOutcome.AddressInUse"/> with the row.</item>
    /// <item><see cref="LeaseWriteKind.Release"/> and <see cref="LeaseWriteKind.Expire"/>: when row is Bound by the same
    /// ClientId (and, for Expire, <c>row.Expires &lt;= now</c>), the row takes <c>write.Lease</c> (state Released or Expired);
    /// otherwise <see cref="LeaseWriteOutcome.NotHeld"/> and nothing changes.</item>
    /// <item><see cref="LeaseWriteKind.Decline"/>: always committed; the row becomes <c>write.Lease</c> (state Declined,
    /// Expires = end of quarantine), so no client gets the address before then.</item>
    /// </list>
    /// Throws when the store cannot commit (nothing of the batch is then stored); the server sends no reply.
    /// </summary>
    ValueTask<IReadOnlyList<LeaseWriteResult>> CommitAsync(IReadOnlyList<LeaseWrite> writes, CancellationToken cancellationToken);
}

/// <summary>The state of a stored lease.</summary>
public enum DhcpLeaseState
{
    /// <summary>Held by the client until <see cref="DhcpLease.Expires"/>.</summary>
    Bound,

    /// <summary>Given back by DHCPRELEASE; free.</summary>
    Released,

    /// <summary>Reported in use by DHCPDECLINE; quarantined until <see cref="DhcpLease.Expires"/>.</summary>
    Declined,

    /// <summary>Ran out; free.</summary>
    Expired,
}

/// <summary>One lease row. The address is the unique key.</summary>
public sealed record DhcpLease
{
    /// <summary>The leased address (yiaddr of the ACK). Unique in the store.</summary>
    public required IPAddress Address { get; init; }

    /// <summary>
    /// The client's identity (RFC 2131 §4.2): option 61 when the client sent one, else hardware type followed by
    /// chaddr, as lower-case hex (for example <c>01525400d1000a</c>).
    /// </summary>
    public required string ClientId { get; init; }

    /// <summary>chaddr of the client.</summary>
    public required PhysicalAddress Mac { get; init; }

    public DhcpLeaseState State { get; init; } = DhcpLeaseState.Bound;

    /// <summary>When the client last bound or renewed it.</summary>
    public DateTimeOffset Starts { get; init; }

    /// <summary>End of the lease (Bound), or end of the quarantine (Declined).</summary>
    public DateTimeOffset Expires { get; init; }

    /// <summary>Option 12 the client sent, or null.</summary>
    public string? HostName { get; init; }
}

/// <summary>What a lease write does; see <see cref="ILeaseStore.CommitAsync"/>.</summary>
public enum LeaseWriteKind
{
    Bind,
    Release,
    Decline,
    Expire,
}

/// <summary>One write of a group commit.</summary>
/// <param name="Kind">What to do.</param>
/// <param name="Lease">The row as it should be afterwards.</param>
/// <param name="Now">The server's clock for the expiry comparisons of this write.</param>
public sealed record LeaseWrite(LeaseWriteKind Kind, DhcpLease Lease, DateTimeOffset Now);

/// <summary>Outcome of one write.</summary>
public enum LeaseWriteOutcome
{
    /// <summary>The write is stored.</summary>
    Committed,

    /// <summary>A Bind found the address held by another client; nothing changed.</summary>
    AddressInUse,

    /// <summary>A Release or Expire found the address not held by that client; nothing changed.</summary>
    NotHeld,
}

/// <summary>Result of one write.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Current">The stored row after the write (for AddressInUse: the other client's lease), or null when there is none.</param>
public readonly record struct LeaseWriteResult(LeaseWriteOutcome Outcome, DhcpLease? Current);

/// <summary>Helpers over <see cref="ILeaseStore"/>.</summary>
public static class LeaseStoreExtensions
{
    /// <summary>Commits one write; the result of <see cref="ILeaseStore.CommitAsync"/> for a batch of one.</summary>
    public static async ValueTask<LeaseWriteResult> CommitOneAsync(this ILeaseStore store, LeaseWrite write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var results = await store.CommitAsync([write], cancellationToken).ConfigureAwait(false);
        return results[0];
    }
}
