using System.Net;

namespace Pxe.Profiles.Domain;

/// <summary>What the machine does at its next network boot.</summary>
public enum BootAction
{
    /// <summary>Boot the installer of its profile.</summary>
    Install,

    /// <summary>Boot from the local disk.</summary>
    Local,
}

/// <summary>A static IPv4 configuration (a DHCP reservation and the installer's network settings).</summary>
public sealed record StaticIPv4
{
    /// <summary>The machine's address.</summary>
    public required IPAddress Address { get; init; }

    /// <summary>Prefix length (e.g. 24).</summary>
    public required int PrefixLength { get; init; }

    /// <summary>Default gateway, if any.</summary>
    public IPAddress? Gateway { get; init; }

    /// <summary>DNS servers.</summary>
    public IReadOnlyList<IPAddress> Dns { get; init; } = [];

    /// <summary>Dotted netmask for the prefix length.</summary>
    public IPAddress Netmask
    {
        get
        {
            var mask = PrefixLength == 0 ? 0u : uint.MaxValue << (32 - PrefixLength);
            return new IPAddress([(byte)(mask >> 24), (byte)(mask >> 16), (byte)(mask >> 8), (byte)mask]);
        }
    }
}

/// <summary>A machine in the inventory: its identity, what it should become, and where it is in its lifecycle.</summary>
public sealed record Machine
{
    /// <summary>Store id (0 before the machine is stored).</summary>
    public long Id { get; init; }

    /// <summary>Its MAC addresses (at least one); the first is the primary.</summary>
    public required IReadOnlyList<MacAddress> Macs { get; init; }

    /// <summary>Short host name (RFC 1123 label), or null until assigned.</summary>
    public string? Hostname { get; init; }

    /// <summary>DNS domain, if any.</summary>
    public string? Domain { get; init; }

    /// <summary>Static IPv4 settings; null means the address comes from a DHCP pool.</summary>
    public StaticIPv4? IPv4 { get; init; }

    /// <summary>Assigned profile, or null for a machine that is only Discovered.</summary>
    public string? Profile { get; init; }

    /// <summary>What the next network boot does.</summary>
    public BootAction BootAction { get; init; } = BootAction.Local;

    /// <summary>Lifecycle state.</summary>
    public MachineState State { get; init; } = MachineState.Discovered;

    /// <summary>Machine-level variables (override everything inherited).</summary>
    public IReadOnlyDictionary<string, object?> Variables { get; init; } = new Dictionary<string, object?>();

    /// <summary>Machine-level kernel arguments (merged last; <c>!key</c> removes).</summary>
    public IReadOnlyDictionary<string, string?> KernelArgs { get; init; } = new Dictionary<string, string?>();

    /// <summary>Free-form tags for grouping and filtering.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>The running install, while the machine is Installing.</summary>
    public InstallSession? Install { get; init; }

    /// <summary>When the machine was first stored.</summary>
    public DateTimeOffset Created { get; init; }

    /// <summary>When it was last changed.</summary>
    public DateTimeOffset Updated { get; init; }

    /// <summary>Optimistic-concurrency revision, incremented by the store on every write.</summary>
    public long Revision { get; init; }

    /// <summary>The primary MAC.</summary>
    public MacAddress PrimaryMac => Macs[0];
}

/// <summary>One running install: started when the boot script was served, ended by done, failure or timeout.</summary>
public sealed record InstallSession
{
    /// <summary>SHA-256 of the per-install token (the token itself is only ever in the boot script).</summary>
    public required string TokenHash { get; init; }

    /// <summary>When the install started.</summary>
    public required DateTimeOffset Started { get; init; }

    /// <summary>When it is considered failed if done was not called.</summary>
    public required DateTimeOffset Deadline { get; init; }

    /// <summary>How many installs in a row have been attempted (for the retry policy).</summary>
    public int Attempt { get; init; } = 1;
}
