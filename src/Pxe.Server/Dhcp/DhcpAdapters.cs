using System.Net;
using System.Net.NetworkInformation;
using Pxe.Dhcp;
using Pxe.Profiles.Domain;
using Pxe.Profiles.Services;
using Pxe.Profiles.Storage;

namespace Pxe.Server.Dhcp;

/// <summary>The DHCP service's view of the inventory: reservations and boot-loader preference from machines and profiles.</summary>
internal sealed class BootInventoryAdapter(IMachineStore machines, SpecService spec, ProvisioningService provisioning) : IBootInventory
{
    public async ValueTask<DhcpMachine?> FindByMacAsync(PhysicalAddress mac, CancellationToken cancellationToken)
    {
        var m = await machines.FindByMacAsync(MacAddress.FromBytes(mac.GetAddressBytes()), cancellationToken);
        if (m is null)
        {
            return null;
        }

        var loader = m.Profile is not null && spec.Current.Resolve(m.Profile).Profile is { } p
            ? p.BootLoader.Value switch
            {
                BootLoader.Pxelinux => DhcpBootLoader.Pxelinux,
                BootLoader.Grub => DhcpBootLoader.Grub,
                _ => DhcpBootLoader.Ipxe,
            }
            : DhcpBootLoader.Ipxe;
        return new DhcpMachine
        {
            Mac = mac,
            BootLoader = loader,
            Reservation = m.IPv4 is null ? null : new DhcpReservation
            {
                Address = m.IPv4.Address,
                PrefixLength = m.IPv4.PrefixLength,
                Gateway = m.IPv4.Gateway,
                DnsServers = m.IPv4.Dns,
                HostName = m.Hostname,
            },
        };
    }

    public async ValueTask<bool> IsAddressReservedAsync(IPAddress address, CancellationToken cancellationToken) =>
        machines is CachedMachineStore cached
            ? await cached.IsAddressReservedAsync(address, cancellationToken)
            : await machines.FindByIPv4Async(address, cancellationToken) is not null;

    public async ValueTask RecordDiscoveredAsync(DhcpDiscoveredClient client, CancellationToken cancellationToken)
    {
        var how = $"DHCP on {client.Interface}{(client.RelayAddress is null ? "" : $" via relay {client.RelayAddress}")}, architecture {client.Architecture}" +
                  (client.VendorClass is null ? "" : $", class '{client.VendorClass}'") + (client.HostName is null ? "" : $", host name '{client.HostName}'");
        await provisioning.RecordDiscoveredAsync(MacAddress.FromBytes(client.Mac.GetAddressBytes()), how, cancellationToken);
    }

    /// <summary>Nothing to do: <see cref="LeaseStoreAdapter"/> stores each lease event in the transaction that stores the lease.</summary>
    public ValueTask RecordLeaseEventAsync(DhcpLeaseEvent leaseEvent, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>Unknown MACs are recorded only when the discovery policy says so (perfdhcp-like floods of new MACs then cost nothing).</summary>
    public bool RecordsDiscoveredClients => provisioning.RecordsUnknownMachines;

    /// <summary>False: <see cref="LeaseStoreAdapter"/> stores each lease event in the transaction that stores the lease.</summary>
    public bool RecordsLeaseEvents => false;
}

/// <summary>
/// The DHCP service's lease table, in the inventory's store (uniqueness enforced there). Every committed write also
/// appends its event on the machine (lease granted, renewed, released, declined, expired) in the same transaction:
/// one store transaction per group commit, and no lease without its event.
/// </summary>
internal sealed class LeaseStoreAdapter(ILeaseTable table) : ILeaseStore
{
    private static readonly Func<LeaseChange, Lease?, Lease, MachineEvent?> Describe = DescribeChange;

    public async ValueTask<IReadOnlyList<DhcpLease>> LoadAllAsync(CancellationToken cancellationToken) =>
        (await table.LoadLeasesAsync(cancellationToken)).Select(ToDhcp).ToList();

    public async ValueTask<IReadOnlyList<LeaseWriteResult>> CommitAsync(IReadOnlyList<LeaseWrite> writes, CancellationToken cancellationToken)
    {
        var changes = writes.Select(w => new LeaseChange(w.Kind switch
        {
            LeaseWriteKind.Bind => LeaseOperation.Bind,
            LeaseWriteKind.Release => LeaseOperation.Release,
            LeaseWriteKind.Decline => LeaseOperation.Decline,
            _ => LeaseOperation.Expire,
        }, ToStore(w.Lease), w.Now)).ToList();
        var results = await table.CommitLeasesAsync(changes, Describe, cancellationToken);
        return results.Select(r => new LeaseWriteResult(r.Outcome switch
        {
            LeaseOutcome.Committed => LeaseWriteOutcome.Committed,
            LeaseOutcome.AddressInUse => LeaseWriteOutcome.AddressInUse,
            _ => LeaseWriteOutcome.NotHeld,
        }, r.Current is null ? null : ToDhcp(r.Current))).ToList();
    }

    /// <summary>The event of a committed change; a bind of an address the same client held and that had not run out is a renewal.</summary>
    internal static MachineEvent DescribeChange(LeaseChange change, Lease? before, Lease stored)
    {
        var what = change.Operation switch
        {
            LeaseOperation.Bind when before is { State: LeaseState.Bound } b && b.ClientId == stored.ClientId && b.Expires > change.Now
                => $"lease {stored.Address} renewed until {stored.Expires:u}",
            LeaseOperation.Bind => $"lease {stored.Address} granted until {stored.Expires:u}",
            LeaseOperation.Release => $"lease {stored.Address} released",
            LeaseOperation.Decline => $"address {stored.Address} declined (in use by another host); quarantined until {stored.Expires:u}",
            _ => $"lease {stored.Address} expired",
        };
        return new MachineEvent { Time = change.Now, Mac = stored.Mac, Kind = EventKinds.Lease, Message = what, Actor = "machine" };
    }

    private static Lease ToStore(DhcpLease l) => new()
    {
        Address = l.Address,
        ClientId = l.ClientId,
        Mac = MacAddress.FromBytes(l.Mac.GetAddressBytes()),
        State = l.State switch
        {
            DhcpLeaseState.Bound => LeaseState.Bound,
            DhcpLeaseState.Released => LeaseState.Released,
            DhcpLeaseState.Declined => LeaseState.Declined,
            _ => LeaseState.Expired,
        },
        Starts = l.Starts,
        Expires = l.Expires,
        HostName = l.HostName,
    };

    private static DhcpLease ToDhcp(Lease l)
    {
        Span<byte> mac = stackalloc byte[6];
        l.Mac.CopyTo(mac);
        return new DhcpLease
        {
            Address = l.Address,
            ClientId = l.ClientId,
            Mac = new PhysicalAddress(mac.ToArray()),
            State = l.State switch
            {
                LeaseState.Bound => DhcpLeaseState.Bound,
                LeaseState.Released => DhcpLeaseState.Released,
                LeaseState.Declined => DhcpLeaseState.Declined,
                _ => DhcpLeaseState.Expired,
            },
            Starts = l.Starts,
            Expires = l.Expires,
            HostName = l.HostName,
        };
    }
}

/// <summary>Runs the DHCP service inside `pxe serve` when it is configured (mode not off).</summary>
internal sealed class DhcpHostedService(DhcpServer server) : BackgroundService
{
    public DhcpServer Server { get; } = server;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Server.RunAsync(stoppingToken);
}
