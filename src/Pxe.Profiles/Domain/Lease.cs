using System.Net;

namespace Pxe.Profiles.Domain;

/// <summary>The state of a stored DHCP lease.</summary>
public enum LeaseState
{
    /// <summary>Held by its client until it expires.</summary>
    Bound,

    /// <summary>Given back by the client; free.</summary>
    Released,

    /// <summary>Reported in use by another host (DHCPDECLINE); quarantined until it expires.</summary>
    Declined,

    /// <summary>Ran out; free.</summary>
    Expired,
}

/// <summary>One DHCP lease; the address is unique in the store.</summary>
public sealed record Lease
{
    /// <summary>The leased address.</summary>
    public required IPAddress Address { get; init; }

    /// <summary>The client's identity (option 61, or hardware type + chaddr), lower-case hex.</summary>
    public required string ClientId { get; init; }

    /// <summary>The client's hardware address.</summary>
    public required MacAddress Mac { get; init; }

    /// <summary>State.</summary>
    public LeaseState State { get; init; } = LeaseState.Bound;

    /// <summary>When it was last bound or renewed.</summary>
    public DateTimeOffset Starts { get; init; }

    /// <summary>End of the lease, or of the quarantine.</summary>
    public DateTimeOffset Expires { get; init; }

    /// <summary>Host name the client sent, if any.</summary>
    public string? HostName { get; init; }
}

/// <summary>What a lease change does.</summary>
public enum LeaseOperation
{
    /// <summary>Grant or renew.</summary>
    Bind,

    /// <summary>The client gave it back.</summary>
    Release,

    /// <summary>Quarantine it.</summary>
    Decline,

    /// <summary>It ran out.</summary>
    Expire,
}

/// <summary>One change of a group commit: the lease as it should be afterwards, and the clock for expiry checks.</summary>
public sealed record LeaseChange(LeaseOperation Operation, Lease Lease, DateTimeOffset Now);

/// <summary>What happened to one change.</summary>
public enum LeaseOutcome
{
    /// <summary>Stored.</summary>
    Committed,

    /// <summary>A bind found the address held by another client; nothing changed.</summary>
    AddressInUse,

    /// <summary>A release or expiry found the address not held by that client; nothing changed.</summary>
    NotHeld,
}
