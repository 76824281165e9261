using Pxe.Profiles.Domain;

namespace Pxe.Profiles.Storage;

/// <summary>A stored spec object's current text (canonical YAML) and where it came from.</summary>
public sealed record StoredSpecObject(string Kind, string Name, int Version, string Yaml, string SourceFile);

/// <summary>One numbered version of a distro or profile.</summary>
public sealed record SpecVersion(string Kind, string Name, int Version, string? Yaml, DateTimeOffset Created, string Actor, string? Comment)
{
    /// <summary>True when this version deleted the object.</summary>
    public bool Deleted => Yaml is null;
}

/// <summary>A change to one spec object: new canonical YAML, or null to delete it.</summary>
public sealed record SpecChange(string Kind, string Name, string? Yaml, string SourceFile, string? Comment = null);

/// <summary>The spec as the store holds it, with the revision that identifies it.</summary>
public sealed record StoredSpec(IReadOnlyList<StoredSpecObject> Objects, long Revision);

/// <summary>Distros and profiles with their version history. Every commit is one transaction.</summary>
public interface ISpecStore
{
    /// <summary>Every current object and the spec revision.</summary>
    Task<StoredSpec> LoadSpecAsync(CancellationToken ct);

    /// <summary>The spec revision (bumped by every commit that changed something); cheap, for cache checks.</summary>
    Task<long> GetSpecRevisionAsync(CancellationToken ct);

    /// <summary>
    /// Stores the changes whose YAML differs from the current version (each as a new numbered version), in one
    /// transaction with one event per change; returns the new revision and the versions written.
    /// </summary>
    Task<(long Revision, IReadOnlyList<SpecVersion> Written)> CommitSpecAsync(IReadOnlyList<SpecChange> changes, string actor, CancellationToken ct);

    /// <summary>Every version of one object, oldest first (empty when it never existed).</summary>
    Task<IReadOnlyList<SpecVersion>> ListVersionsAsync(string kind, string name, CancellationToken ct);
}

/// <summary>Filters for listing machines.</summary>
public sealed record MachineQuery
{
    /// <summary>Only machines in this state.</summary>
    public MachineState? State { get; init; }

    /// <summary>Only machines with this profile.</summary>
    public string? Profile { get; init; }

    /// <summary>Only machines carrying this tag.</summary>
    public string? Tag { get; init; }

    /// <summary>At most this many (newest ids last).</summary>
    public int Limit { get; init; } = 1000;

    /// <summary>Only machines with an id greater than this (paging).</summary>
    public long AfterId { get; init; }
}

/// <summary>Filters for listing events.</summary>
public sealed record EventQuery
{
    /// <summary>Only this machine's events.</summary>
    public MacAddress? Mac { get; init; }

    /// <summary>Only this kind.</summary>
    public string? Kind { get; init; }

    /// <summary>Only this actor.</summary>
    public string? Actor { get; init; }

    /// <summary>Only events after this time.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Only events with an id greater than this (to follow a stream).</summary>
    public long AfterId { get; init; }

    /// <summary>At most this many, newest last.</summary>
    public int Limit { get; init; } = 200;
}

/// <summary>The keys by which machines are looked up, as of one machine revision (see <see cref="IMachineStore.LoadMachineKeysAsync"/>).</summary>
/// <param name="Revision">The machine revision of the snapshot.</param>
/// <param name="Macs">Every MAC of every machine.</param>
/// <param name="Addresses">Every static IPv4 address a machine reserves.</param>
public sealed record MachineKeys(long Revision, IReadOnlySet<MacAddress> Macs, IReadOnlySet<System.Net.IPAddress> Addresses);

/// <summary>The inventory of machines. Writes are transactions that also append their event.</summary>
public interface IMachineStore
{
    /// <summary>The machine owning <paramref name="mac"/>, or null.</summary>
    Task<Machine?> FindByMacAsync(MacAddress mac, CancellationToken ct);

    /// <summary>
    /// The machine owning <paramref name="mac"/> read from the store itself, past any cache: used before refusing
    /// something (a token, a state) so a cache can never be the reason for a refusal.
    /// </summary>
    Task<Machine?> FindByMacUncachedAsync(MacAddress mac, CancellationToken ct) => FindByMacAsync(mac, ct);

    /// <summary>A number that changes whenever any machine is written (by this server or another sharing the store).</summary>
    Task<long> GetMachinesRevisionAsync(CancellationToken ct);

    /// <summary>The machine whose static address is <paramref name="address"/>, or null.</summary>
    Task<Machine?> FindByIPv4Async(System.Net.IPAddress address, CancellationToken ct);

    /// <summary>
    /// Every MAC and every static IPv4 address in the inventory with the machine revision they belong to, read as one
    /// snapshot: lets a cache answer "no such machine" without asking the store about each new MAC or address.
    /// </summary>
    Task<MachineKeys> LoadMachineKeysAsync(CancellationToken ct);

    /// <summary>Machines matching the query, in id order.</summary>
    Task<IReadOnlyList<Machine>> ListMachinesAsync(MachineQuery query, CancellationToken ct);

    /// <summary>How many machines there are.</summary>
    Task<long> CountMachinesAsync(CancellationToken ct);

    /// <summary>
    /// Inserts (Id 0) or updates a machine and appends <paramref name="evt"/> in the same transaction. An update
    /// succeeds only when the stored revision still equals <c>machine.Revision</c>; otherwise
    /// <see cref="StoreConflictException"/>. A MAC, host name or address that belongs to another machine is also a conflict.
    /// </summary>
    Task<Machine> SaveMachineAsync(Machine machine, MachineEvent? evt, CancellationToken ct);

    /// <summary>Inserts or updates many machines (matched by their first MAC) in one transaction: all or nothing.</summary>
    Task<IReadOnlyList<Machine>> ImportMachinesAsync(IReadOnlyList<Machine> machines, string actor, CancellationToken ct);

    /// <summary>Deletes a machine and appends the event; false when it did not exist.</summary>
    Task<bool> DeleteMachineAsync(MacAddress mac, MachineEvent evt, CancellationToken ct);
}

/// <summary>The event log.</summary>
public interface IEventStore
{
    /// <summary>Appends one event.</summary>
    Task AppendEventAsync(MachineEvent evt, CancellationToken ct);

    /// <summary>Appends several events in one transaction (the batched event log uses this).</summary>
    Task AppendEventsAsync(IReadOnlyList<MachineEvent> events, CancellationToken ct);

    /// <summary>Events matching the query, oldest first.</summary>
    Task<IReadOnlyList<MachineEvent>> QueryEventsAsync(EventQuery query, CancellationToken ct);
}

/// <summary>A write that lost a race or collides with another record; the message says with what.</summary>
public sealed class StoreConflictException(string message) : Exception(message);

/// <summary>The store could not be used (cannot open, corrupt, disk full); the message says what to check.</summary>
public sealed class StoreUnavailableException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// The DHCP lease table. The store, not the caller, guarantees that an address is held by at most one client:
/// every change is applied conditionally inside the batch's transaction.
/// </summary>
public interface ILeaseTable
{
    /// <summary>Every lease row, in any state.</summary>
    Task<IReadOnlyList<Lease>> LoadLeasesAsync(CancellationToken ct);

    /// <summary>
    /// Applies changes in order in one transaction (a later change sees earlier ones) and returns one outcome per change
    /// with the stored row afterwards (for AddressInUse: the other client's lease). Rules, with <c>row</c> the stored
    /// lease of the change's address: Bind commits when there is no row, or the same client holds it and it is not
    /// Declined, or it is Released or Expired, or it expired by <c>Now</c>; Release and Expire commit only when the
    /// same client holds it Bound (Expire also only once it expired); Decline always commits.
    /// Throws when the store cannot commit; then nothing of the batch is stored.
    /// </summary>
    Task<IReadOnlyList<(LeaseOutcome Outcome, Lease? Current)>> CommitLeasesAsync(IReadOnlyList<LeaseChange> changes, CancellationToken ct) =>
        CommitLeasesAsync(changes, null, ct);

    /// <summary>
    /// <see cref="CommitLeasesAsync(IReadOnlyList{LeaseChange}, CancellationToken)"/>, and for each committed change the
    /// event <paramref name="describe"/> returns for it (given the change, the row before it or null, and the row
    /// stored) is appended in the same transaction: a lease and its event are stored together or not at all.
    /// </summary>
    Task<IReadOnlyList<(LeaseOutcome Outcome, Lease? Current)>> CommitLeasesAsync(
        IReadOnlyList<LeaseChange> changes, Func<LeaseChange, Lease?, Lease, MachineEvent?>? describe, CancellationToken ct);
}

/// <summary>API tokens.</summary>
public interface ITokenStore
{
    /// <summary>Stores a new token with its event; a name already in use is a <see cref="StoreConflictException"/>.</summary>
    Task<ApiToken> CreateTokenAsync(ApiToken token, MachineEvent evt, CancellationToken ct);

    /// <summary>The valid (not revoked) token with this hash, or null.</summary>
    Task<ApiToken?> FindTokenByHashAsync(string hash, CancellationToken ct);

    /// <summary>Every token, revoked ones included.</summary>
    Task<IReadOnlyList<ApiToken>> ListTokensAsync(CancellationToken ct);

    /// <summary>Revokes a token by name with its event; false when no valid token has that name.</summary>
    Task<bool> RevokeTokenAsync(string name, MachineEvent evt, CancellationToken ct);
}
