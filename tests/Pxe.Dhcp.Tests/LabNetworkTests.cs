using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Pxe.Dhcp.Protocol;
using Pxe.Dhcp.Tests.Infrastructure;

namespace Pxe.Dhcp.Tests;

/// <summary>
/// Real clients against the real server in lab networks made of network namespaces: dhclient and udhcpc (obtain,
/// renew, release), a relayed client through dhcrelay, proxy mode beside dnsmasq, and no reply on an interface the
/// server was not configured for.
/// </summary>
[Collection("lab")]
public sealed class LabNetworkTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private sealed class RunningServer : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();

        public RunningServer(string ns, DhcpServerOptions options, ILeaseStore? store = null, TestInventory? inventory = null)
        {
            Store = store as InMemoryLeaseStore ?? new InMemoryLeaseStore();
            var factory = LoggerFactory.Create(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Debug));
            Server = new DhcpServer(options, inventory ?? new TestInventory(), store ?? Store, factory);
            Run = Lab.InNamespace(ns, () => Server.RunAsync(_stop.Token));
        }

        public InMemoryLeaseStore Store { get; }

        public DhcpServer Server { get; }

        public Task Run { get; }

        public CapturingLoggerProvider Logs { get; } = new();

        public string LogText => string.Join('\n', Logs.Entries.Select(e => $"{e.Level} {e.Category}: {e.Message}"));

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await Run.WaitAsync(TimeSpan.FromSeconds(20));
            _stop.Dispose();
        }
    }

    private static DhcpSubnetOptions Subnet(int octet, string? iface, int leaseSeconds = 3600) => new()
    {
        Network = IPAddress.Parse($"10.231.{octet}.0"),
        PrefixLength = 24,
        Interface = iface,
        PoolStart = IPAddress.Parse($"10.231.{octet}.100"),
        PoolEnd = IPAddress.Parse($"10.231.{octet}.150"),
        Router = IPAddress.Parse($"10.231.{octet}.1"),
        DnsServers = [IPAddress.Parse($"10.231.{octet}.1")],
        LeaseTime = TimeSpan.FromSeconds(leaseSeconds),
    };

    private static DhcpServerOptions FullMode(int octet, int leaseSeconds = 3600, params DhcpSubnetOptions[] more) => new()
    {
        Mode = DhcpMode.Full,
        Interfaces = ["s0"],
        ServerAddress = IPAddress.Parse($"10.231.{octet}.1"),
        UnknownMacPolicy = UnknownMacPolicy.Discover,
        Subnets = [Subnet(octet, "s0", leaseSeconds), .. more],
        Transport = new DhcpTransportOptions { Workers = 4 },
    };

    /// <summary>A client hook script that logs each event and configures the address the client got.</summary>
    private static string DhclientScript(Lab lab, string log) => lab.Script("dhclient-hook", $$"""
        echo "$reason $new_ip_address" >> {{log}}
        case "$reason" in
          BOUND|RENEW|REBIND|REBOOT) ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface" ;;
          RELEASE|EXPIRE|STOP|FAIL) ip addr flush dev "$interface" ;;
        esac
        exit 0
        """);

    private static string UdhcpcScript(Lab lab, string log) => lab.Script("udhcpc-hook", $$"""
        echo "$1 $ip" >> {{log}}
        case "$1" in
          bound|renew) ip addr replace "$ip/$mask" dev "$interface" ;;
          deconfig) ip addr flush dev "$interface" ;;
        esac
        exit 0
        """);

    private static string ReadLog(string path) => File.Exists(path) ? File.ReadAllText(path) : "";

    private static DhcpLease? LeaseOf(InMemoryLeaseStore store, string mac)
        => store.Snapshot().FirstOrDefault(l => l.Mac.Equals(PhysicalAddress.Parse(mac.Replace(':', '-'))));

    [ToolFact("root", "ip", "dhclient=isc-dhcp-client")]
    public async Task Dhclient_ObtainsRenewsAndReleasesALease_InFullMode()
    {
        string dhclient = Tools.Require("dhclient", "isc-dhcp-client");
        using var lab = new Lab();
        string srv = lab.Namespace("srv"), cli = lab.Namespace("cli");
        const string mac = "52:54:00:aa:00:01";
        lab.Veth(cli, "c0", srv, "s0", macA: mac);
        lab.Address(srv, "s0", $"10.231.{lab.Octet}.1/24");

        // Lease 8 s: dhclient renews (unicast, RENEWING) after T1 = 4 s.
        await using var server = new RunningServer(srv, FullMode(lab.Octet, leaseSeconds: 8));
        await server.Server.Ready.WaitAsync(Patience);

        string log = Path.Combine(lab.Directory, "dhclient.events");
        string script = DhclientScript(lab, log);
        string leases = Path.Combine(lab.Directory, "dhclient.leases"), pid = Path.Combine(lab.Directory, "dhclient.pid");
        var client = lab.Start(cli, dhclient, "-4", "-d", "-v", "-sf", script, "-lf", leases, "-pf", pid, "c0");

        await Lab.WaitUntilAsync(() => ReadLog(log).Contains("BOUND", StringComparison.Ordinal), Patience, () => $"dhclient not bound.\n{client.Output}\n{server.LogText}");
        var bound = LeaseOf(server.Store, mac);
        Assert.NotNull(bound);
        Assert.Equal(DhcpLeaseState.Bound, bound.State);
        Assert.Contains($"BOUND {bound.Address}", ReadLog(log), StringComparison.Ordinal);
        Assert.StartsWith($"10.231.{lab.Octet}.1", bound.Address.ToString(), StringComparison.Ordinal);

        await Lab.WaitUntilAsync(() => ReadLog(log).Contains("RENEW", StringComparison.Ordinal), Patience, () => $"dhclient did not renew.\n{ReadLog(log)}\n{client.Output}\n{server.LogText}");
        var renewed = LeaseOf(server.Store, mac)!;
        Assert.Equal(bound.Address, renewed.Address);
        Assert.True(renewed.Starts > bound.Starts, "the renewal was not stored");

        var (code, output) = Lab.RunIn(cli, TimeSpan.FromSeconds(20), dhclient, "-4", "-r", "-v", "-sf", script, "-lf", leases, "-pf", pid, "c0");
        Assert.True(code == 0, output);
        await Lab.WaitUntilAsync(() => LeaseOf(server.Store, mac)?.State == DhcpLeaseState.Released, Patience, () => $"release not stored.\n{output}\n{server.LogText}");
        Assert.Equal(0, server.Server.Counters.Naks);

        // dhclient leaves the broadcast bit clear: OFFER and ACK went by unicast to chaddr through an ARP entry.
        Assert.DoesNotContain(server.Logs.Entries, e => e.Id.Name == "ArpFallback");
    }

    [ToolFact("root", "ip", "udhcpc=udhcpc")]
    public async Task Udhcpc_ObtainsRenewsAndReleasesALease_InFullMode()
    {
        string udhcpc = Tools.Require("udhcpc", "udhcpc");
        using var lab = new Lab();
        string srv = lab.Namespace("srv"), cli = lab.Namespace("cli");
        const string mac = "52:54:00:aa:00:02";
        lab.Veth(cli, "c0", srv, "s0", macA: mac);
        lab.Address(srv, "s0", $"10.231.{lab.Octet}.1/24");

        await using var server = new RunningServer(srv, FullMode(lab.Octet));
        await server.Server.Ready.WaitAsync(Patience);

        string log = Path.Combine(lab.Directory, "udhcpc.events");
        var client = lab.Start(cli, udhcpc, "-f", "-i", "c0", "-s", UdhcpcScript(lab, log), "-t", "5", "-T", "1", "-A", "1", "-R");

        await Lab.WaitUntilAsync(() => ReadLog(log).Contains("bound", StringComparison.Ordinal), Patience, () => $"udhcpc not bound.\n{client.Output}\n{server.LogText}");
        var bound = LeaseOf(server.Store, mac);
        Assert.NotNull(bound);
        Assert.Equal(DhcpLeaseState.Bound, bound.State);

        // SIGUSR1: renew now (unicast REQUEST with ciaddr, RENEWING).
        await Task.Delay(1100);
        client.Signal("USR1");
        await Lab.WaitUntilAsync(() => ReadLog(log).Contains("renew", StringComparison.Ordinal), Patience, () => $"udhcpc did not renew.\n{ReadLog(log)}\n{client.Output}\n{server.LogText}");
        await Lab.WaitUntilAsync(() => LeaseOf(server.Store, mac)!.Starts > bound.Starts, Patience, () => "renewal not stored");

        // SIGTERM with -R: release, then exit.
        client.Signal("TERM");
        Assert.True(client.WaitForExit(TimeSpan.FromSeconds(10)), client.Output);
        await Lab.WaitUntilAsync(() => LeaseOf(server.Store, mac)?.State == DhcpLeaseState.Released, Patience, () => $"release not stored.\n{client.Output}\n{server.LogText}");
    }

    [ToolFact("root", "ip", "udhcpc=udhcpc", "dhcrelay=isc-dhcp-relay")]
    public async Task RelayedClient_GetsAnAddressFromTheRelaySubnet()
    {
        string udhcpc = Tools.Require("udhcpc", "udhcpc");
        string dhcrelay = Tools.Require("dhcrelay", "isc-dhcp-relay");
        using var lab = new Lab();
        string srv = lab.Namespace("srv"), rly = lab.Namespace("rly"), cli = lab.Namespace("cli");
        int up = lab.Octet, down = (lab.Octet + 1) % 250;
        lab.Veth(rly, "r0", srv, "s0");
        lab.Veth(cli, "c0", rly, "r1", macA: "52:54:00:aa:00:03");
        lab.Address(srv, "s0", $"10.231.{up}.1/24");
        lab.Address(rly, "r0", $"10.231.{up}.2/24");
        lab.Address(rly, "r1", $"10.231.{down}.1/24");
        Lab.Run("ip", "-n", srv, "route", "add", $"10.231.{down}.0/24", "via", $"10.231.{up}.2");

        await using var server = new RunningServer(srv, FullMode(up, 3600, Subnet(down, null)));
        await server.Server.Ready.WaitAsync(Patience);
        var relay = lab.Start(rly, dhcrelay, "-d", "-4", "-id", "r1", "-iu", "r0", $"10.231.{up}.1");
        await Task.Delay(500);

        string log = Path.Combine(lab.Directory, "udhcpc.events");
        var (code, output) = Lab.RunIn(cli, TimeSpan.FromSeconds(30), udhcpc, "-f", "-q", "-n", "-i", "c0", "-s", UdhcpcScript(lab, log), "-t", "5", "-T", "2");
        Assert.True(code == 0, $"udhcpc failed: {output}\nrelay: {relay.Output}\n{server.LogText}");

        var lease = LeaseOf(server.Store, "52:54:00:aa:00:03");
        Assert.NotNull(lease);
        Assert.StartsWith($"10.231.{down}.1", lease.Address.ToString(), StringComparison.Ordinal);
        Assert.Contains($"bound {lease.Address}", ReadLog(log), StringComparison.Ordinal);
    }

    [ToolFact("root", "ip", "dnsmasq=dnsmasq-base", "udhcpc=udhcpc")]
    public async Task ProxyMode_BesideDnsmasq_PxeClientGetsAddressFromDnsmasqAndBootFileFromUs_OthersNothing()
    {
        string dnsmasq = Tools.Require("dnsmasq", "dnsmasq-base");
        string udhcpc = Tools.Require("udhcpc", "udhcpc");
        using var lab = new Lab();
        string lan = lab.Namespace("lan"), dns = lab.Namespace("dns"), srv = lab.Namespace("srv"), cli = lab.Namespace("cli");
        int o = lab.Octet;
        Lab.Run("ip", "-n", lan, "link", "add", "br0", "type", "bridge");
        Lab.Run("ip", "-n", lan, "link", "set", "br0", "up");
        lab.Veth(dns, "d0", lan, "p1");
        lab.Veth(srv, "s0", lan, "p2");
        lab.Veth(cli, "c0", lan, "p3", macA: "52:54:00:aa:00:04");
        foreach (var port in new[] { "p1", "p2", "p3" })
        {
            Lab.Run("ip", "-n", lan, "link", "set", port, "master", "br0");
        }

        lab.Address(dns, "d0", $"10.231.{o}.2/24");
        lab.Address(srv, "s0", $"10.231.{o}.1/24");

        var dnsmasqProcess = lab.Start(dns, dnsmasq, "-d", "-k", "--conf-file=/dev/null", "--port=0", "--interface=d0", "--bind-interfaces",
            $"--dhcp-range=10.231.{o}.100,10.231.{o}.150,255.255.255.0,1h", "--no-ping", "--log-dhcp",
            $"--dhcp-option=option:dns-server,10.231.{o}.2", $"--dhcp-leasefile={Path.Combine(lab.Directory, "dnsmasq.leases")}",
            $"--pid-file={Path.Combine(lab.Directory, "dnsmasq.pid")}");
        // dnsmasq prints its range once it listens: on a busy machine it may start later than the client asks.
        await dnsmasqProcess.WaitForOutputAsync("DHCP, IP range", Patience);

        var options = new DhcpServerOptions
        {
            Mode = DhcpMode.Proxy,
            Interfaces = ["s0"],
            ServerAddress = IPAddress.Parse($"10.231.{o}.1"),
            UnknownMacPolicy = UnknownMacPolicy.Discover,
            Transport = new DhcpTransportOptions { Workers = 4 },
        };
        await using var server = new RunningServer(srv, options);
        await server.Server.Ready.WaitAsync(Patience);
        await Task.Delay(500);

        var result = await Task.Run(() => Lab.InNamespace(cli, () => PxeClient.Boot(cli, "c0", o)));
        Assert.True(result.Error is null, $"{result.Error}\ndnsmasq: {dnsmasqProcess.Output}\n{server.LogText}");
        Assert.Equal(IPAddress.Parse($"10.231.{o}.2"), result.AddressServer);
        Assert.StartsWith($"10.231.{o}.1", result.Address!.ToString(), StringComparison.Ordinal);
        Assert.Equal(IPAddress.Any, result.ProxyOffer!.Yiaddr);
        Assert.Equal("ipxe.efi", result.ProxyOffer.FileField);
        Assert.Equal("PXEClient", result.ProxyOffer.Text(DhcpOptionCode.VendorClassIdentifier));
        Assert.Null(result.AddressOffer!.Get(DhcpOptionCode.BootFileName));
        Assert.Equal("ipxe.efi", result.BootAck!.FileField);
        Assert.Equal(IPAddress.Parse($"10.231.{o}.1"), result.BootAck.Siaddr);
        Assert.Empty(server.Store.Snapshot());

        // An ordinary client gets its lease from dnsmasq and nothing from us.
        long replies = server.Server.Counters.RepliesSent, ignored = server.Server.Counters.Ignored;
        Lab.Run("ip", "-n", cli, "addr", "flush", "dev", "c0");
        var (code, output) = Lab.RunIn(cli, TimeSpan.FromSeconds(30), udhcpc, "-f", "-q", "-n", "-i", "c0", "-s", UdhcpcScript(lab, Path.Combine(lab.Directory, "u.events")), "-t", "5", "-T", "1");
        Assert.True(code == 0, output);
        await Task.Delay(300);
        Assert.Equal(replies, server.Server.Counters.RepliesSent);
        Assert.True(server.Server.Counters.Ignored >= ignored + 2, $"ignored {server.Server.Counters.Ignored - ignored}");
    }

    [ToolFact("root", "ip", "udhcpc=udhcpc", "tshark=tshark")]
    public async Task NoReply_LeavesAnInterfaceTheServerWasNotConfiguredFor()
    {
        string udhcpc = Tools.Require("udhcpc", "udhcpc");
        string tshark = Tools.Require("tshark", "tshark");
        using var lab = new Lab();
        string srv = lab.Namespace("srv"), good = lab.Namespace("cla"), foreign = lab.Namespace("clb");
        int a = lab.Octet, b = (lab.Octet + 1) % 250;
        lab.Veth(good, "c0", srv, "s0", macA: "52:54:00:aa:00:05");
        lab.Veth(foreign, "c0", srv, "s1", macA: "52:54:00:aa:00:06");
        lab.Address(srv, "s0", $"10.231.{a}.1/24");
        lab.Address(srv, "s1", $"10.231.{b}.1/24");
        lab.Address(foreign, "c0", $"10.231.{b}.2/24");

        // The second subnet is configured as relayed, so only the socket binding keeps the server off s1.
        await using var server = new RunningServer(srv, FullMode(a, 3600, Subnet(b, null)));
        await server.Server.Ready.WaitAsync(Patience);

        string capture = Path.Combine(lab.Directory, "s1.txt");
        var sniffer = lab.Start(srv, tshark, "-l", "-n", "-i", "s1", "-f", "udp port 67 or udp port 68", "-a", "duration:12", "-T", "fields", "-e", "udp.srcport", "-e", "ip.dst");
        await Task.Delay(2000);

        // A broadcast DISCOVER on the foreign link, and a unicast "relayed" one to the server's s1 address.
        var (code, output) = Lab.RunIn(foreign, TimeSpan.FromSeconds(30), udhcpc, "-f", "-q", "-n", "-i", "c0", "-s", "/bin/true", "-t", "3", "-T", "1");
        Assert.NotEqual(0, code);
        Lab.InNamespace(foreign, () =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Parse($"10.231.{b}.2"), 67));
            socket.SendTo(new RequestBuilder(DhcpMessageType.Discover, "52:54:00:aa:00:07").Giaddr($"10.231.{b}.2").Build(), new IPEndPoint(IPAddress.Parse($"10.231.{b}.1"), 67));
            return 0;
        });

        // Positive control on the configured link.
        var (goodCode, goodOutput) = Lab.RunIn(good, TimeSpan.FromSeconds(30), udhcpc, "-f", "-q", "-n", "-i", "c0", "-s", "/bin/true", "-t", "5", "-T", "1");
        Assert.True(goodCode == 0, $"{goodOutput}\n{server.LogText}");

        Assert.True(sniffer.WaitForExit(TimeSpan.FromSeconds(30)), "tshark did not stop");
        File.WriteAllText(capture, sniffer.Output);
        var lines = sniffer.Output.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && char.IsDigit(l[0])).ToList();
        Assert.Contains(lines, l => l.StartsWith("68", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("67\t", StringComparison.Ordinal) && !l.EndsWith($"10.231.{b}.1", StringComparison.Ordinal));
        Assert.Equal(1, server.Server.Counters.Acks);
        Assert.Null(LeaseOf(server.Store, "52:54:00:aa:00:06"));
        Assert.DoesNotContain(server.Logs.Entries, e => e.Message.Contains("52:54:00:aa:00:07", StringComparison.Ordinal));
        Assert.True(code != 0, output);
    }
}

/// <summary>A PXE ROM's DHCP exchange, scripted: DISCOVER, collect offers, take the address offer, then ask the proxy's boot server.</summary>
internal static class PxeClient
{
    internal sealed record Result(IPAddress? Address, IPAddress? AddressServer, ParsedReply? AddressOffer, ParsedReply? ProxyOffer, ParsedReply? BootAck, string? Error);

    public static Result Boot(string ns, string ifName, int octet)
    {
        const string mac = "52:54:00:aa:00:04";
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.SetRawSocketOption(1, 25, System.Text.Encoding.ASCII.GetBytes(ifName + "\0"));
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Broadcast, true);
        socket.Bind(new IPEndPoint(IPAddress.Any, 68));
        var everyone = new IPEndPoint(IPAddress.Broadcast, 67);

        socket.SendTo(new RequestBuilder(DhcpMessageType.Discover, mac, 0x5e7c0a11).Broadcast().Pxe(7).Build(), everyone);
        var offers = Collect(socket, 0x5e7c0a11, TimeSpan.FromSeconds(3));
        var addressOffer = offers.FirstOrDefault(o => o.Type == DhcpMessageType.Offer && !o.Yiaddr.Equals(IPAddress.Any));
        var proxyOffer = offers.FirstOrDefault(o => o.Type == DhcpMessageType.Offer && o.Yiaddr.Equals(IPAddress.Any));
        if (addressOffer is null || proxyOffer is null)
        {
            return new Result(null, null, addressOffer, proxyOffer, null, $"offers: {offers.Count} (address {addressOffer is not null}, proxy {proxyOffer is not null})");
        }

        var addressServer = addressOffer.Address(DhcpOptionCode.ServerIdentifier)!;
        socket.SendTo(new RequestBuilder(DhcpMessageType.Request, mac, 0x5e7c0a12).Broadcast().Pxe(7)
            .Requested(addressOffer.Yiaddr.ToString()).ServerId(addressServer.ToString()).Build(), everyone);
        var ack = Collect(socket, 0x5e7c0a12, TimeSpan.FromSeconds(2)).FirstOrDefault(r => r.Type == DhcpMessageType.Ack);
        if (ack is null)
        {
            return new Result(null, addressServer, addressOffer, proxyOffer, null, "no ACK from the address server");
        }

        Lab.Run("ip", "-n", ns, "addr", "add", $"{ack.Yiaddr}/24", "dev", ifName);

        // Boot-server request to the proxy on 4011 from the new address (PXE 2.1 §2.2.4).
        using var boot = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        boot.Bind(new IPEndPoint(ack.Yiaddr, 4011));
        var proxyServer = proxyOffer.Address(DhcpOptionCode.ServerIdentifier)!;
        boot.SendTo(new RequestBuilder(DhcpMessageType.Request, mac, 0x5e7c0a13).Ciaddr(ack.Yiaddr.ToString()).Pxe(7).Build(), new IPEndPoint(proxyServer, 4011));
        var bootAck = Collect(boot, 0x5e7c0a13, TimeSpan.FromSeconds(2)).FirstOrDefault(r => r.Type == DhcpMessageType.Ack);
        return new Result(ack.Yiaddr, addressServer, addressOffer, proxyOffer, bootAck, bootAck is null ? "no boot-server ACK on 4011" : null);
    }

    private static List<ParsedReply> Collect(Socket socket, uint xid, TimeSpan window)
    {
        var replies = new List<ParsedReply>();
        var deadline = DateTime.UtcNow + window;
        var buffer = new byte[1500];
        while (DateTime.UtcNow < deadline)
        {
            socket.ReceiveTimeout = Math.Max(1, (int)(deadline - DateTime.UtcNow).TotalMilliseconds);
            try
            {
                int n = socket.Receive(buffer);
                if (DhcpPacket.TryParse(buffer.AsSpan(0, n), out var packet) == DhcpParseStatus.Ok && packet.TransactionId == xid && packet.Op == BootpOpCode.BootReply)
                {
                    replies.Add(new ParsedReply(buffer[..n]));
                }
            }
            catch (SocketException)
            {
                break;
            }
        }

        return replies;
    }
}
