using System.Net;
using System.Net.NetworkInformation;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Pxe.Dhcp;
using Pxe.Dhcp.Bench;

// Benchmark host: the DHCP server in full mode on one interface, a relayed /16 pool selected by giaddr, unknown
// MACs answered (policy Discover, no inventory), leases in an append-only journal. Stops on SIGTERM/SIGINT and
// prints its counters.
var arguments = args.Select(a => a.Split('=', 2)).Where(a => a.Length == 2).ToDictionary(a => a[0].TrimStart('-'), a => a[1]);
string Get(string name, string fallback) => arguments.GetValueOrDefault(name, fallback);

var options = new DhcpServerOptions
{
    Mode = DhcpMode.Full,
    Interfaces = [Get("interface", "s0")],
    ServerAddress = IPAddress.Parse(Get("server", "10.232.0.1")),
    UnknownMacPolicy = UnknownMacPolicy.Discover,
    Subnets =
    [
        new DhcpSubnetOptions
        {
            Network = IPAddress.Parse(Get("link-network", "10.232.0.0")),
            PrefixLength = 24,
            Interface = Get("interface", "s0"),
            DnsServers = [IPAddress.Parse(Get("server", "10.232.0.1"))],
        },
        new DhcpSubnetOptions
        {
            Network = IPAddress.Parse(Get("pool-network", "10.240.0.0")),
            PrefixLength = 16,
            PoolStart = IPAddress.Parse(Get("pool-start", "10.240.0.2")),
            PoolEnd = IPAddress.Parse(Get("pool-end", "10.240.255.254")),
            Router = IPAddress.Parse(Get("router", "10.240.0.1")),
            DnsServers = [IPAddress.Parse(Get("server", "10.232.0.1"))],
            LeaseTime = TimeSpan.FromHours(1),
        },
    ],
    Transport = new DhcpTransportOptions
    {
        Workers = int.Parse(Get("workers", "64"), System.Globalization.CultureInfo.InvariantCulture),
    },
};

using var store = new JournalLeaseStore(Get("journal", "/tmp/pxe-dhcp-bench.journal"));
using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information));
var server = new DhcpServer(options, new NoInventory(), store, loggerFactory);
using var stop = new CancellationTokenSource();
using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
var run = server.RunAsync(stop.Token);
await server.Ready;
Console.Error.WriteLine("READY");
await run;
var c = server.Counters;
Console.Error.WriteLine($"received={c.Received} offers={c.Offers} acks={c.Acks} naks={c.Naks} ignored={c.Ignored} bad={c.BadPackets} store-failures={c.StoreFailures} send-failures={c.SendFailures} leases-stored={store.Rows} store-batches={store.Batches} store-writes={store.Writes}");

/// <summary>An inventory with no machines: every MAC is unknown and answered under the Discover policy.</summary>
internal sealed class NoInventory : IBootInventory
{
    public ValueTask<DhcpMachine?> FindByMacAsync(PhysicalAddress mac, CancellationToken cancellationToken) => ValueTask.FromResult<DhcpMachine?>(null);

    public ValueTask<bool> IsAddressReservedAsync(IPAddress address, CancellationToken cancellationToken) => ValueTask.FromResult(false);

    public ValueTask RecordDiscoveredAsync(DhcpDiscoveredClient client, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask RecordLeaseEventAsync(DhcpLeaseEvent leaseEvent, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
