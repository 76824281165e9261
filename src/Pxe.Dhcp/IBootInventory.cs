using System.Net;
using System.Net.NetworkInformation;
using Pxe.Dhcp.Protocol;

namespace Pxe.Dhcp;

/// <summary>
/// The machine inventory as the DHCP server sees it. Implemented over the project's store; every method may be
/// called concurrently from several workers. A store failure must throw (never be reported as "not found"): the
/// server then drops the request, logs the error and the client retries.
/// </summary>
public interface IBootInventory
{
    /// <summary>
    /// Finds the machine with this MAC (chaddr of the request). Returns null when the MAC is not in the inventory at
    /// all; the configured <see cref="UnknownMacPolicy"/> then applies.
    /// </summary>
    ValueTask<DhcpMachine?> FindByMacAsync(PhysicalAddress mac, CancellationToken cancellationToken);

    /// <summary>
    /// True when some machine's reservation uses <paramref name="address"/>. The server never hands such an address
    /// out from a dynamic pool to another client.
    /// </summary>
    ValueTask<bool> IsAddressReservedAsync(IPAddress address, CancellationToken cancellationToken);

    /// <summary>
    /// Records an unknown MAC as Discovered (called once per DISCOVER of an unknown MAC when the policy is
    /// <see cref="UnknownMacPolicy.Discover"/>). Called off the reply path: a slow store does not delay the OFFER.
    /// </summary>
    ValueTask RecordDiscoveredAsync(DhcpDiscoveredClient client, CancellationToken cancellationToken);

    /// <summary>
    /// Records a lease event (bound, renewed, released, declined, expired) after the lease write is stored.
    /// Called off the reply path.
    /// </summary>
    ValueTask RecordLeaseEventAsync(DhcpLeaseEvent leaseEvent, CancellationToken cancellationToken);

    /// <summary>
    /// False when <see cref="RecordDiscoveredAsync"/> records nothing (the inventory keeps no unknown MACs): the
    /// server then does not queue those calls. Read once, when the service starts.
    /// </summary>
    bool RecordsDiscoveredClients => true;

    /// <summary>
    /// False when <see cref="RecordLeaseEventAsync"/> records nothing (for example because the lease store writes each
    /// event with its lease): the server then does not queue those calls. Read once, when the service starts.
    /// </summary>
    bool RecordsLeaseEvents => true;
}

/// <summary>A machine as the DHCP server needs it. Each field says which reply field or option it fills.</summary>
public sealed record DhcpMachine
{
    /// <summary>The MAC; matches chaddr of the request.</summary>
    public required PhysicalAddress Mac { get; init; }

    /// <summary>
    /// True for a registered machine. False for one the inventory holds only as Discovered: the
    /// <see cref="UnknownMacPolicy"/> then applies as for an unknown MAC (except that it is not recorded again).
    /// </summary>
    public bool IsKnown { get; init; } = true;

    /// <summary>The static IPv4 configuration, or null to allocate from the subnet's pool (full mode only).</summary>
    public DhcpReservation? Reservation { get; init; }

    /// <summary>
    /// The loader the machine's profile boots through; selects the boot file (<c>file</c> field and option 67)
    /// per architecture from <see cref="DhcpBootFileOptions"/>.
    /// </summary>
    public DhcpBootLoader BootLoader { get; init; } = DhcpBootLoader.Ipxe;
}

/// <summary>A machine's static IPv4 configuration.</summary>
public sealed record DhcpReservation
{
    /// <summary>yiaddr of OFFER and ACK. Must lie in a configured subnet reachable by the client.</summary>
    public required IPAddress Address { get; init; }

    /// <summary>Option 1 (subnet mask); 0 means "use the subnet's prefix length".</summary>
    public int PrefixLength { get; init; }

    /// <summary>Option 3 (router); null means "use the subnet's router".</summary>
    public IPAddress? Gateway { get; init; }

    /// <summary>Option 6 (DNS servers); empty means "use the subnet's DNS servers".</summary>
    public IReadOnlyList<IPAddress> DnsServers { get; init; } = [];

    /// <summary>Option 12 (host name) in replies; null sends none.</summary>
    public string? HostName { get; init; }
}

/// <summary>Which boot loader a machine's profile uses.</summary>
public enum DhcpBootLoader
{
    /// <summary>iPXE: firmware gets undionly.kpxe / ipxe.efi, then iPXE gets its HTTP script URL.</summary>
    Ipxe,

    /// <summary>PXELINUX: BIOS clients (iPXE ROMs included) get pxelinux.0; UEFI clients fall back to iPXE.</summary>
    Pxelinux,

    /// <summary>GRUB: UEFI clients get grubnetx64.efi / grubnetaa64.efi; BIOS clients fall back to iPXE.</summary>
    Grub,
}

/// <summary>An unknown MAC that asked to boot, with what it said about itself.</summary>
public sealed record DhcpDiscoveredClient
{
    /// <summary>chaddr.</summary>
    public required PhysicalAddress Mac { get; init; }

    /// <summary>Option 93, or the architecture in option 60, else x86 BIOS.</summary>
    public ClientArchitecture Architecture { get; init; }

    /// <summary>Option 60 as text, or null.</summary>
    public string? VendorClass { get; init; }

    /// <summary>Option 77 as text, or null.</summary>
    public string? UserClass { get; init; }

    /// <summary>Option 97's GUID (SMBIOS UUID), or null.</summary>
    public Guid? ClientGuid { get; init; }

    /// <summary>Option 12, or null.</summary>
    public string? HostName { get; init; }

    /// <summary>The interface the request came in on.</summary>
    public required string Interface { get; init; }

    /// <summary>giaddr when relayed, else null.</summary>
    public IPAddress? RelayAddress { get; init; }

    /// <summary>When the server saw it.</summary>
    public DateTimeOffset SeenAt { get; init; }
}

/// <summary>What happened to a lease.</summary>
public enum DhcpLeaseEventKind
{
    /// <summary>A REQUEST for a new address was acknowledged.</summary>
    Bound,

    /// <summary>A client extended the lease it already held (RENEWING, REBINDING or INIT-REBOOT).</summary>
    Renewed,

    /// <summary>DHCPRELEASE.</summary>
    Released,

    /// <summary>DHCPDECLINE: the address is quarantined.</summary>
    Declined,

    /// <summary>The lease ran out without renewal.</summary>
    Expired,
}

/// <summary>A stored lease change, for the event log.</summary>
public sealed record DhcpLeaseEvent(DhcpLeaseEventKind Kind, DhcpLease Lease, DateTimeOffset At);
