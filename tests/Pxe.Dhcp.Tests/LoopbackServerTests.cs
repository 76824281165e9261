using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Pxe.Dhcp.Protocol;
using Pxe.Dhcp.Tests.Infrastructure;

namespace Pxe.Dhcp.Tests;

/// <summary>The whole server over real UDP sockets on 127.0.0.1 with test ports (interface "lo").</summary>
public class LoopbackServerTests
{
    private static (DhcpServerOptions Options, int ServerPort, int ClientPort) Options()
    {
        var (serverPort, clientPort) = (FreeUdpPort(), FreeUdpPort());
        var options = new DhcpServerOptions
        {
            Mode = DhcpMode.Full,
            Interfaces = ["lo"],
            ServerAddress = IPAddress.Parse("127.0.0.1"),
            UnknownMacPolicy = UnknownMacPolicy.Discover,
            Subnets =
            [
                new DhcpSubnetOptions
                {
                    Network = IPAddress.Parse("127.0.0.0"),
                    PrefixLength = 8,
                    Interface = "lo",
                    PoolStart = IPAddress.Parse("127.77.0.10"),
                    PoolEnd = IPAddress.Parse("127.77.0.20"),
                    DnsServers = [IPAddress.Parse("127.0.0.53")],
                },
            ],
            Transport = new DhcpTransportOptions
            {
                ListenAddress = IPAddress.Loopback,
                ServerPort = serverPort,
                ClientPort = clientPort,
                BroadcastAddress = IPAddress.Loopback,
                Workers = 4,
            },
        };
        return (options, serverPort, clientPort);
    }

    /// <summary>A UDP port nobody holds right now (the kernel picks it), so parallel tests never collide.</summary>
    private static int FreeUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private static async Task<byte[]> ExchangeAsync(Socket client, byte[] request, int serverPort)
    {
        await client.SendToAsync(request, new IPEndPoint(IPAddress.Loopback, serverPort));
        var buffer = new byte[1500];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        int n = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        return buffer[..n];
    }

    [Fact]
    public async Task Server_OnLoopback_CompletesDora_SurvivesGarbage_AndStoresLease()
    {
        var (options, serverPort, clientPort) = Options();
        var store = new InMemoryLeaseStore();
        var server = new DhcpServer(options, new TestInventory(), store, NullLoggerFactory.Instance);
        using var stop = new CancellationTokenSource();
        var run = server.RunAsync(stop.Token);
        await server.Ready.WaitAsync(TimeSpan.FromSeconds(10));

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.Bind(new IPEndPoint(IPAddress.Loopback, clientPort));

        // Garbage first: counted, and the receive loop keeps going.
        await client.SendToAsync(new byte[] { 1, 2, 3 }, new IPEndPoint(IPAddress.Loopback, serverPort));
        var bad = new RequestBuilder(DhcpMessageType.Discover).Build();
        bad[236] = 0;
        await client.SendToAsync(bad, new IPEndPoint(IPAddress.Loopback, serverPort));

        var offer = new ParsedReply(await ExchangeAsync(client, new RequestBuilder(DhcpMessageType.Discover).Broadcast().Pxe(0).Build(), serverPort));
        Assert.Equal(DhcpMessageType.Offer, offer.Type);
        Assert.Equal(IPAddress.Parse("127.77.0.10"), offer.Yiaddr);
        Assert.Equal("undionly.kpxe", offer.FileField);

        var ack = new ParsedReply(await ExchangeAsync(client, new RequestBuilder(DhcpMessageType.Request).Broadcast().Requested("127.77.0.10").ServerId("127.0.0.1").Build(), serverPort));
        Assert.Equal(DhcpMessageType.Ack, ack.Type);
        Assert.Equal(DhcpLeaseState.Bound, store.Find(IPAddress.Parse("127.77.0.10"))!.State);

        Assert.Equal(1, server.Counters.BadPacketsWith(DhcpParseStatus.TruncatedHeader));
        Assert.Equal(1, server.Counters.BadPacketsWith(DhcpParseStatus.BadMagicCookie));
        Assert.Equal(4, server.Counters.Received);
        Assert.Equal(2, server.Counters.RepliesSent);

        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Server_RelayedRequest_IsAnsweredToTheRelayOnTheServerPort()
    {
        var (options, serverPort, _) = Options();
        var server = new DhcpServer(options, new TestInventory(), new InMemoryLeaseStore(), NullLoggerFactory.Instance);
        using var stop = new CancellationTokenSource();
        var run = server.RunAsync(stop.Token);
        await server.Ready.WaitAsync(TimeSpan.FromSeconds(10));

        // A relay agent at 127.0.0.2 uses the server port as its source, as relays do.
        using var relay = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        relay.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), serverPort));
        var request = new RequestBuilder(DhcpMessageType.Discover).Giaddr("127.0.0.2").Build();
        var offer = new ParsedReply(await ExchangeAsync(relay, request, serverPort));
        Assert.Equal(DhcpMessageType.Offer, offer.Type);
        Assert.Equal(IPAddress.Parse("127.0.0.2"), offer.Giaddr);

        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Server_WithUnknownInterface_FailsWithAClearError()
    {
        var (options, _, _) = Options();
        options = options with { Interfaces = ["nosuch0"], Subnets = [options.Subnets[0] with { Interface = "nosuch0" }] };
        var server = new DhcpServer(options, new TestInventory(), new InMemoryLeaseStore(), NullLoggerFactory.Instance);
        var ex = Assert.Throws<DhcpConfigurationException>(() => { _ = server.RunAsync(CancellationToken.None); });
        Assert.Contains("'nosuch0' does not exist", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<DhcpConfigurationException>(() => server.Ready);
    }

    [Fact]
    public async Task Server_InOffMode_ReturnsAtOnce()
    {
        var server = new DhcpServer(new DhcpServerOptions { Mode = DhcpMode.Off }, new TestInventory(), new InMemoryLeaseStore(), NullLoggerFactory.Instance);
        await server.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(server.Ready.IsCompletedSuccessfully);
    }
}
