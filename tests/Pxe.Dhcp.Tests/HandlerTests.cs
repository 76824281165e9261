using System.Net;
using Pxe.Dhcp.Protocol;
using Pxe.Dhcp.Tests.Infrastructure;

namespace Pxe.Dhcp.Tests;

/// <summary>The server's decisions end to end through the request handler and the group committer, without sockets.</summary>
public class HandlerTests
{
    private const string Mac = "52:54:00:12:34:56";

    private static async Task<ParsedReply> Dora(HandlerHarness h, Func<RequestBuilder, RequestBuilder>? shape = null, string mac = Mac, uint xid = 7)
    {
        shape ??= b => b;
        var (offerDecision, offerBytes) = await h.SendAsync(shape(new RequestBuilder(DhcpMessageType.Discover, mac, xid)).Build());
        Assert.True(offerDecision.Length > 0, "no OFFER");
        var offer = new ParsedReply(offerBytes);
        Assert.Equal(DhcpMessageType.Offer, offer.Type);
        var request = shape(new RequestBuilder(DhcpMessageType.Request, mac, xid)).Requested(offer.Yiaddr.ToString()).ServerId("10.0.0.1");
        var (_, ackBytes) = await h.SendAsync(request.Build());
        return new ParsedReply(ackBytes);
    }

    [Fact]
    public async Task DiscoverRequest_OrdinaryClient_GetsPoolLeaseStoredBeforeAck_WithRequiredOptions()
    {
        await using var h = new HandlerHarness(HandlerHarness.FullOptions());
        var ack = await Dora(h);
        Assert.Equal(DhcpMessageType.Ack, ack.Type);
        Assert.Equal(IPAddress.Parse("10.0.0.100"), ack.Yiaddr);
        Assert.Equal(7u, ack.Xid);
        Assert.Equal(IPAddress.Parse("10.0.0.1"), ack.Address(DhcpOptionCode.ServerIdentifier));
        Assert.Equal(IPAddress.Parse("255.255.255.0"), ack.Address(DhcpOptionCode.SubnetMask));
        Assert.Equal(IPAddress.Parse("10.0.0.1"), ack.Address(DhcpOptionCode.Router));
        Assert.Equal(IPAddress.Parse("10.0.0.53"), ack.Address(DhcpOptionCode.DomainNameServer));
        Assert.Equal("lab.example", ack.Text(DhcpOptionCode.DomainName));
        Assert.Equal(600u, ack.UInt32(DhcpOptionCode.IpAddressLeaseTime));
        Assert.Equal(300u, ack.UInt32(DhcpOptionCode.RenewalTimeValue));
        Assert.Equal(525u, ack.UInt32(DhcpOptionCode.RebindingTimeValue));
        Assert.Equal(IPAddress.Parse("10.0.0.1"), ack.Siaddr);
        Assert.Null(ack.Get(DhcpOptionCode.BootFileName));
        Assert.Equal("", ack.FileField);
        Assert.True(ack.Bytes.Length >= 300);

        var stored = ((InMemoryLeaseStore)h.Store).Find(IPAddress.Parse("10.0.0.100"));
        Assert.NotNull(stored);
        Assert.Equal(DhcpLeaseState.Bound, stored.State);
        Assert.Equal("01525400123456", stored.ClientId);
        Assert.Equal(1, h.Counters.Offers);
        Assert.Equal(1, h.Counters.Acks);
    }

    [Fact]
    public async Task IpxeRom_GetsUndionlyWithSiaddrFileAndOption67_ThenIpxeGetsScriptUrl()
    {
        await using var h = new HandlerHarness(HandlerHarness.FullOptions());
        var rom = await Dora(h, b => b.Pxe(0));
        Assert.Equal("undionly.kpxe", rom.FileField);
        Assert.Equal("undionly.kpxe", rom.Text(DhcpOptionCode.BootFileName));
        Assert.Equal(IPAddress.Parse("10.0.0.1"), rom.Siaddr);
        Assert.Equal("10.0.0.1", rom.Text(DhcpOptionCode.TftpServerName));
        Assert.Null(rom.Get(DhcpOptionCode.VendorClassIdentifier));

        var ipxe = await Dora(h, b => b.Pxe(0).Ipxe(), xid: 8);
        Assert.Equal("http://10.0.0.1/boot/ipxe?mac=${net0/mac}", ipxe.FileField);
        Assert.Equal(rom.Yiaddr, ipxe.Yiaddr);
    }

    [Fact]
    public async Task IpxeDiscover_IsOfferedNoPxeDhcpWait_OtherFirmwareIsNot()
    {
        await using var h = new HandlerHarness(HandlerHarness.FullOptions());
        var (_, ipxeOffer) = await h.SendAsync(Captures.Load("f1-ipxe-bios-discover.hex"));
        Assert.Equal(DhcpMessageType.Offer, new ParsedReply(ipxeOffer).Type);
        // 175.176 = 1 (iPXE's no-pxedhcp): iPXE requests at once instead of waiting ~2 s for ProxyDHCP offers.
        Assert.Equal(new byte[] { 176, 1, 1 }, new ParsedReply(ipxeOffer).Get(DhcpOptionCode.IpxeEncapsulated));

        var (_, ovmfOffer) = await h.SendAsync(Captures.Load("f2-ovmf-pxe-discover.hex"));
        Assert.Equal(DhcpMessageType.Offer, new ParsedReply(ovmfOffer).Type);
        Assert.Null(new ParsedReply(ovmfOffer).Get(DhcpOptionCode.IpxeEncapsulated));
        var (_, plainOffer) = await h.SendAsync(Captures.Load("dhclient-discover.hex"));
        Assert.Null(new ParsedReply(plainOffer).Get(DhcpOptionCode.IpxeEncapsulated));
    }

    [Fact]
    public async Task UefiHttpBoot_GetsUrlAndHttpClientEcho()
    {
        var options = HandlerHarness.FullOptions() with { HttpBaseUrl = new Uri("http://10.0.0.1:8080") };
        await using var h = new HandlerHarness(options);
        var ack = await Dora(h, b => b.Option(DhcpOptionCode.ClientSystemArchitecture, 0, 16).Text(DhcpOptionCode.VendorClassIdentifier, "HTTPClient:Arch:00016:UNDI:003001"));
        Assert.Equal("http://10.0.0.1:8080/boot/ipxe.efi", ack.Text(DhcpOptionCode.BootFileName));
        Assert.Equal("HTTPClient", ack.Text(DhcpOptionCode.VendorClassIdentifier));
    }

    [Fact]
    public async Task Reservation_IsOfferedAtOnce_WithItsOwnOptions_AndPxelinuxProfile()
    {
        var inventory = new TestInventory().Add(Mac, new DhcpReservation
        {
            Address = IPAddress.Parse("10.0.0.20"),
            PrefixLength = 25,
            Gateway = IPAddress.Parse("10.0.0.2"),
            DnsServers = [IPAddress.Parse("10.0.0.3"), IPAddress.Parse("10.0.0.4")],
            HostName = "web01",
        }, DhcpBootLoader.Pxelinux);
        await using var h = new HandlerHarness(HandlerHarness.FullOptions(UnknownMacPolicy.Ignore), inventory: inventory);
        var ack = await Dora(h, b => b.Pxe(0).Ipxe());
        Assert.Equal(IPAddress.Parse("10.0.0.20"), ack.Yiaddr);
        Assert.Equal(IPAddress.Parse("255.255.255.128"), ack.Address(DhcpOptionCode.SubnetMask));
        Assert.Equal(IPAddress.Parse("10.0.0.2"), ack.Address(DhcpOptionCode.Router));
        Assert.Equal([10, 0, 0, 3, 10, 0, 0, 4], ack.Get(DhcpOptionCode.DomainNameServer));
        Assert.Equal("web01", ack.Text(DhcpOptionCode.HostName));
        Assert.Equal("pxelinux.0", ack.FileField);
        Assert.Equal(DhcpLeaseEventKind.Bound, await FirstEventAsync(inventory));
    }

    [Fact]
    public async Task UnknownMac_WithIgnorePolicy_GetsNothing()
    {
        await using var h = new HandlerHarness(HandlerHarness.FullOptions(UnknownMacPolicy.Ignore));
        var (decision, _) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Discover, Mac).Pxe(7).Build());
        Assert.Equal(0, decision.Length);
        Assert.Equal(1, h.Counters.Ignored);
        Assert.Empty(h.Inventory.Discovered);
    }

    [Fact]
    public async Task UnknownMac_WithDiscoverPolicy_IsRecordedAsDiscovered()
    {
        await using var h = new HandlerHarness(HandlerHarness.FullOptions(UnknownMacPolicy.Discover));
        var (decision, reply) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Discover, Mac).Pxe(7).Option(DhcpOptionCode.ClientMachineIdentifier, Convert.FromHexString("000403020106050807090a525400123456")).Build());
        Assert.True(decision.Length > 0);
        Assert.Equal("ipxe.efi", new ParsedReply(reply).FileField);
        var discovered = await WaitForAsync(() => h.Inventory.Discovered.TryPeek(out var d) ? d : null);
        Assert.Equal(ClientArchitecture.EfiByteCode, discovered.Architecture);
        Assert.Equal(Guid.Parse("01020304-0506-0708-090a-525400123456"), discovered.ClientGuid);
        Assert.Equal("eth1", discovered.Interface);
    }

    [Fact]
    public async Task InventoryThatRecordsNothing_IsNotCalled()
    {
        var inventory = new TestInventory { RecordsDiscoveredClients = false, RecordsLeaseEvents = false };
        await using var h = new HandlerHarness(HandlerHarness.FullOptions(UnknownMacPolicy.Discover), inventory: inventory);
        Assert.Equal(DhcpMessageType.Ack, (await Dora(h)).Type);
        // The recorder answers within milliseconds (the test above waits for it); give it far longer here.
        await Task.Delay(500);
        Assert.Empty(inventory.Discovered);
        Assert.Empty(inventory.Events);
    }

    [Fact]
    public async Task Broadcast_And_Unicast_Destinations_FollowTheClient()
    {
        await using var h = new HandlerHarness(HandlerHarness.FullOptions());
        var (ovmf, _) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Discover, Mac).Broadcast().Pxe(7).Build());
        Assert.Equal(ReplyDestinationKind.Broadcast, ovmf.Destination.Kind);
        var (ipxe, _) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Discover, Mac).Pxe(0).Ipxe().Build());
        Assert.Equal(ReplyDestinationKind.HardwareUnicast, ipxe.Destination.Kind);
    }

    [Fact]
    public async Task RelayedDiscover_GetsAddressFromGiaddrSubnet_SentToRelay_WithOption82Echoed()
    {
        await using var h = new HandlerHarness(HandlerHarness.FullOptions());
        byte[] agentInfo = [1, 4, 0, 0, 0, 7, 2, 2, 0xab, 0xcd];
        var (decision, bytes) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Discover, Mac).Giaddr("10.9.0.1")
            .Option(DhcpOptionCode.RelayAgentInformation, agentInfo).Build());
        var offer = new ParsedReply(bytes);
        Assert.Equal(IPAddress.Parse("10.9.1.0"), offer.Yiaddr);
        Assert.Equal(IPAddress.Parse("10.9.0.1"), offer.Giaddr);
        Assert.Equal(IPAddress.Parse("255.255.0.0"), offer.Address(DhcpOptionCode.SubnetMask));
        Assert.Equal(ReplyDestinationKind.Relay, decision.Destination.Kind);
        Assert.Equal(agentInfo, offer.Get(DhcpOptionCode.RelayAgentInformation));
        Assert.Equal(DhcpOptionCode.RelayAgentInformation, offer.Options[^1].Code);
    }

    [Fact]
    public async Task RelayedDiscover_FromUnknownGiaddr_IsNotAnswered()
    {
        await using var h = new HandlerHarness(HandlerHarness.FullOptions());
        var (decision, _) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Discover, Mac).Giaddr("192.0.2.1").Build());
        Assert.Equal(0, decision.Length);
    }

    [Fact]
    public async Task InitReboot_WithAddressOfAnotherSubnet_IsNakedByBroadcast()
    {
        await using var h = new HandlerHarness(HandlerHarness.FullOptions());
        var (decision, bytes) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Request, Mac).Requested("192.168.7.7").Build());
        var nak = new ParsedReply(bytes);
        Assert.Equal(DhcpMessageType.Nak, nak.Type);
        Assert.Equal(IPAddress.Any, nak.Yiaddr);
        Assert.Null(nak.Get(DhcpOptionCode.IpAddressLeaseTime));
        Assert.Contains("not on the client's subnet", nak.Text(DhcpOptionCode.Message), StringComparison.Ordinal);
        Assert.Equal(ReplyDestinationKind.Broadcast, decision.Destination.Kind);
        Assert.Equal(1, h.Counters.Naks);
    }

    [Fact]
    public async Task InitReboot_WithoutRecord_StaysSilent_WithRecord_IsAcked()
    {
        await using var h = new HandlerHarness(HandlerHarness.FullOptions());
        var (silent, _) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Request, Mac).Requested("10.0.0.150").Build());
        Assert.Equal(0, silent.Length);

        var ack = await Dora(h);
        var (again, bytes) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Request, Mac, 9).Requested(ack.Yiaddr.ToString()).Build());
        Assert.Equal(DhcpMessageType.Ack, new ParsedReply(bytes).Type);
        Assert.True(again.Length > 0);
    }

    [Fact]
    public async Task Renewing_ExtendsLease_UnicastToCiaddr_AndEchoesCiaddr()
    {
        await using var h = new HandlerHarness(HandlerHarness.FullOptions());
        var ack = await Dora(h);
        h.Time.Advance(TimeSpan.FromMinutes(5));
        var (decision, bytes) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Request, Mac, 10).Ciaddr(ack.Yiaddr.ToString()).Build());
        var renewed = new ParsedReply(bytes);
        Assert.Equal(DhcpMessageType.Ack, renewed.Type);
        Assert.Equal(ack.Yiaddr, renewed.Ciaddr);
        Assert.Equal(ReplyDestinationKind.ClientAddress, decision.Destination.Kind);
        var stored = ((InMemoryLeaseStore)h.Store).Find(ack.Yiaddr)!;
        Assert.Equal(h.Time.GetUtcNow().AddMinutes(10), stored.Expires);
    }

    [Fact]
    public async Task RequestForAddressHeldByAnotherClient_IsNaked()
    {
        await using var h = new HandlerHarness(HandlerHarness.FullOptions());
        var first = await Dora(h);
        var (_, bytes) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Request, "52:54:00:99:99:99").Requested(first.Yiaddr.ToString()).ServerId("10.0.0.1").Build());
        Assert.Equal(DhcpMessageType.Nak, new ParsedReply(bytes).Type);
    }

    [Fact]
    public async Task Store_RejectingTheAddress_YieldsNak_NotAck()
    {
        // Another server sharing the store already bound 10.0.0.100 to another client; this server's cache does not know.
        var store = new InMemoryLeaseStore();
        await using var h = new HandlerHarness(HandlerHarness.FullOptions(), store);
        var (_, offerBytes) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Discover, Mac).Build());
        var offer = new ParsedReply(offerBytes);
        await store.CommitOneAsync(new LeaseWrite(LeaseWriteKind.Bind, new DhcpLease
        {
            Address = offer.Yiaddr,
            ClientId = "other",
            Mac = System.Net.NetworkInformation.PhysicalAddress.None,
            Expires = h.Time.GetUtcNow().AddHours(1),
        }, h.Time.GetUtcNow()), default);
        var (_, bytes) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Request, Mac).Requested(offer.Yiaddr.ToString()).ServerId("10.0.0.1").Build());
        Assert.Equal(DhcpMessageType.Nak, new ParsedReply(bytes).Type);
        Assert.Equal("other", store.Find(offer.Yiaddr)!.ClientId);
    }

    [Fact]
    public async Task StoreFailure_SendsNoAck_AndIsCountedAndLogged()
    {
        await using var h = new HandlerHarness(HandlerHarness.FullOptions(), new FailingLeaseStore());
        var (_, offerBytes) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Discover, Mac).Build());
        var offer = new ParsedReply(offerBytes);
        var (decision, _) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Request, Mac).Requested(offer.Yiaddr.ToString()).ServerId("10.0.0.1").Build());
        Assert.Equal(0, decision.Length);
        Assert.Equal(1, h.Counters.StoreFailures);
        Assert.Equal(0, h.Counters.Acks);
        Assert.Contains(h.Logs.Entries, e => e.Id.Id == 4002 && e.Level == Microsoft.Extensions.Logging.LogLevel.Error);
    }

    [Fact]
    public async Task RequestSelectingAnotherServer_ReturnsOurOfferToThePool()
    {
        var options = HandlerHarness.FullOptions();
        options = options with { Subnets = [options.Subnets[0] with { PoolEnd = IPAddress.Parse("10.0.0.100") }, options.Subnets[1]] };
        await using var h = new HandlerHarness(options);
        var (_, offerBytes) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Discover, Mac).Build());
        var (none, _) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Discover, "52:54:00:00:00:02").Build());
        Assert.Equal(0, none.Length);
        var (ignored, _) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Request, Mac).Requested(new ParsedReply(offerBytes).Yiaddr.ToString()).ServerId("10.0.0.254").Build());
        Assert.Equal(0, ignored.Length);
        var (offered, _) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Discover, "52:54:00:00:00:02").Build());
        Assert.True(offered.Length > 0);
    }

    [Fact]
    public async Task Release_FreesTheLease_Decline_QuarantinesTheAddress()
    {
        await using var h = new HandlerHarness(HandlerHarness.FullOptions());
        var store = (InMemoryLeaseStore)h.Store;
        var ack = await Dora(h);
        await h.SendAsync(new RequestBuilder(DhcpMessageType.Release, Mac).Ciaddr(ack.Yiaddr.ToString()).ServerId("10.0.0.1").Build());
        Assert.Equal(DhcpLeaseState.Released, store.Find(ack.Yiaddr)!.State);

        var again = await Dora(h, xid: 11);
        Assert.Equal(ack.Yiaddr, again.Yiaddr);
        await h.SendAsync(new RequestBuilder(DhcpMessageType.Decline, Mac).Requested(again.Yiaddr.ToString()).ServerId("10.0.0.1").Build());
        var declined = store.Find(again.Yiaddr)!;
        Assert.Equal(DhcpLeaseState.Declined, declined.State);
        Assert.Equal(h.Time.GetUtcNow().AddHours(24), declined.Expires);

        var next = await Dora(h, xid: 12);
        Assert.NotEqual(again.Yiaddr, next.Yiaddr);
        Assert.Equal(1, h.Counters.Releases);
        Assert.Equal(1, h.Counters.Declines);
    }

    [Fact]
    public async Task Inform_GetsOptionsWithoutAddressOrLease()
    {
        await using var h = new HandlerHarness(HandlerHarness.FullOptions());
        var (decision, bytes) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Inform, Mac).Ciaddr("10.0.0.77").Build());
        var ack = new ParsedReply(bytes);
        Assert.Equal(DhcpMessageType.Ack, ack.Type);
        Assert.Equal(IPAddress.Any, ack.Yiaddr);
        Assert.Equal(IPAddress.Parse("10.0.0.77"), ack.Ciaddr);
        Assert.Null(ack.Get(DhcpOptionCode.IpAddressLeaseTime));
        Assert.NotNull(ack.Get(DhcpOptionCode.DomainNameServer));
        Assert.Equal(ReplyDestinationKind.ClientAddress, decision.Destination.Kind);
    }

    [Fact]
    public async Task BadDatagram_IsDroppedCountedAndLoggedAtDebugInItsOwnCategory()
    {
        await using var h = new HandlerHarness(HandlerHarness.FullOptions());
        var bytes = new RequestBuilder(DhcpMessageType.Discover).Build();
        bytes[236] = 1;
        var (decision, _) = await h.SendAsync(bytes);
        Assert.Equal(0, decision.Length);
        Assert.Equal(1, h.Counters.BadPacketsWith(DhcpParseStatus.BadMagicCookie));
        var entry = Assert.Single(h.Logs.Entries, e => e.Category == "Pxe.Dhcp.BadPackets");
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Debug, entry.Level);
    }

    [Fact]
    public async Task InventoryFailure_IsNotTreatedAsUnknown()
    {
        var inventory = new TestInventory { FailWith = new IOException("database unavailable") };
        await using var h = new HandlerHarness(HandlerHarness.FullOptions(), inventory: inventory);
        var (decision, _) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Discover, Mac).Build());
        Assert.Equal(0, decision.Length);
        Assert.Equal(1, h.Counters.InventoryFailures);
        Assert.Empty(inventory.Discovered);
    }

    [Fact]
    public async Task ConcurrentRequests_AreGroupCommitted()
    {
        var store = new SlowStore();
        await using var h = new HandlerHarness(HandlerHarness.FullOptions(), store);
        var offers = new List<(string Mac, IPAddress Address)>();
        for (int i = 0; i < 40; i++)
        {
            string mac = $"52:54:00:00:01:{i:x2}";
            var (_, bytes) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Discover, mac).Build());
            offers.Add((mac, new ParsedReply(bytes).Yiaddr));
        }

        var acks = await Task.WhenAll(offers.Select(o => h.SendAsync(new RequestBuilder(DhcpMessageType.Request, o.Mac).Requested(o.Address.ToString()).ServerId("10.0.0.1").Build())));
        Assert.All(acks, a => Assert.Equal(DhcpMessageType.Ack, new ParsedReply(a.Reply).Type));
        Assert.Equal(40, store.Inner.Snapshot().Count);
        Assert.True(store.Inner.Batches < 40, $"{store.Inner.Batches} batches for 40 writes");
        Assert.Equal(40, offers.Select(o => o.Address).Distinct().Count());
    }

    [Fact]
    public async Task ProxyMode_AnswersPxeClientWithoutAddress_AndIgnoresOthers()
    {
        var options = HandlerHarness.FullOptions() with { Mode = DhcpMode.Proxy };
        await using var h = new HandlerHarness(options);
        var (plain, _) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Discover, Mac).Text(DhcpOptionCode.VendorClassIdentifier, "udhcp 1.35.0").Build());
        Assert.Equal(0, plain.Length);

        byte[] guid = Convert.FromHexString("000403020106050807090a525400123456");
        var (decision, bytes) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Discover, Mac).Broadcast().Pxe(7).Option(DhcpOptionCode.ClientMachineIdentifier, guid).Build());
        var offer = new ParsedReply(bytes);
        Assert.Equal(DhcpMessageType.Offer, offer.Type);
        Assert.Equal(guid, offer.Get(DhcpOptionCode.ClientMachineIdentifier));
        Assert.Equal(IPAddress.Any, offer.Yiaddr);
        Assert.Equal(IPAddress.Parse("10.0.0.1"), offer.Siaddr);
        Assert.Equal("PXEClient", offer.Text(DhcpOptionCode.VendorClassIdentifier));
        Assert.Equal("ipxe.efi", offer.FileField);
        Assert.Equal(new byte[] { 6, 1, 8, 255 }, offer.Get(DhcpOptionCode.VendorSpecificInformation));
        Assert.Null(offer.Get(DhcpOptionCode.IpAddressLeaseTime));
        Assert.Null(offer.Get(DhcpOptionCode.SubnetMask));
        Assert.Equal(ReplyDestinationKind.Broadcast, decision.Destination.Kind);

        // Boot-server exchange on 4011: REQUEST from the client's new address, answered to its source.
        var remote = new IPEndPoint(IPAddress.Parse("10.0.0.150"), 68);
        var (ack, ackBytes) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Request, Mac).Ciaddr("10.0.0.150").Pxe(7).Build(), bootServerPort: true, remote: remote);
        var bootAck = new ParsedReply(ackBytes);
        Assert.Equal(DhcpMessageType.Ack, bootAck.Type);
        Assert.Equal("ipxe.efi", bootAck.FileField);
        Assert.Equal(IPAddress.Any, bootAck.Yiaddr);
        Assert.Equal(remote, ack.DirectTo);
        Assert.Empty(((InMemoryLeaseStore)h.Store).Snapshot());
    }

    [Fact]
    public async Task ProxyMode_WithMenu_SendsMenuThenBootFileOfChosenItem()
    {
        var options = HandlerHarness.FullOptions() with
        {
            Mode = DhcpMode.Proxy,
            BootMenu = new PxeBootMenuOptions { Items = [new PxeBootMenuItem(0x8001, "Install", "undionly.kpxe"), new PxeBootMenuItem(0x8002, "Rescue", "rescue.0")] },
        };
        await using var h = new HandlerHarness(options);
        var (_, bytes) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Discover, Mac).Pxe(0).Build());
        var offer = new ParsedReply(bytes);
        Assert.Equal("", offer.FileField);
        var vendor = offer.Get(DhcpOptionCode.VendorSpecificInformation)!;
        Assert.True(DhcpOptionCodecs.TryFindSubOption(vendor, PxeVendorOptions.BootMenu, out var menu));
        Assert.Equal("Rescue", System.Text.Encoding.ASCII.GetString(menu[(3 + 7 + 3)..]));
        Assert.True(DhcpOptionCodecs.TryFindSubOption(vendor, PxeVendorOptions.DiscoveryControl, out var control));
        Assert.Equal(7, control[0]);

        var (_, ackBytes) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Request, Mac).Ciaddr("10.0.0.150").Pxe(0)
            .Option(DhcpOptionCode.VendorSpecificInformation, 71, 4, 0x80, 0x02, 0, 0, 255).Build(), bootServerPort: true, remote: new IPEndPoint(IPAddress.Parse("10.0.0.150"), 4011));
        var ack = new ParsedReply(ackBytes);
        Assert.Equal("rescue.0", ack.FileField);
        Assert.Equal(new byte[] { 71, 4, 0x80, 0x02, 0, 0, 255 }, ack.Get(DhcpOptionCode.VendorSpecificInformation));
    }

    [Fact]
    public async Task TooLongBootFile_IsAnErrorNotTruncated()
    {
        var options = HandlerHarness.FullOptions() with { BootFiles = new DhcpBootFileOptions { BiosIpxe = new string('a', 127) } };
        await using var h = new HandlerHarness(options);
        var (ok, bytes) = await h.SendAsync(new RequestBuilder(DhcpMessageType.Discover, Mac).Pxe(0).Build());
        Assert.Equal(new string('a', 127), new ParsedReply(bytes).FileField);

        var longOptions = HandlerHarness.FullOptions() with { BootFiles = new DhcpBootFileOptions { BiosIpxe = new string('a', 128) } };
        Assert.Contains(DhcpServerOptionsValidator.Validate(longOptions), e => e.Contains("BootFiles.BiosIpxe", StringComparison.Ordinal));
        Assert.True(ok.Length > 0);
    }

    private static async Task<DhcpLeaseEventKind> FirstEventAsync(TestInventory inventory)
        => (await WaitForAsync(() => inventory.Events.TryPeek(out var e) ? e : null)).Kind;

    private static async Task<T> WaitForAsync<T>(Func<T?> probe)
        where T : class
    {
        for (int i = 0; i < 200; i++)
        {
            if (probe() is { } value)
            {
                return value;
            }

            await Task.Delay(10);
        }

        throw new TimeoutException("condition not met within 2 s");
    }

    private sealed class SlowStore : ILeaseStore
    {
        public InMemoryLeaseStore Inner { get; } = new();

        public ValueTask<IReadOnlyList<DhcpLease>> LoadAllAsync(CancellationToken cancellationToken) => Inner.LoadAllAsync(cancellationToken);

        public async ValueTask<IReadOnlyList<LeaseWriteResult>> CommitAsync(IReadOnlyList<LeaseWrite> writes, CancellationToken cancellationToken)
        {
            await Task.Delay(20, cancellationToken);
            return await Inner.CommitAsync(writes, cancellationToken);
        }
    }
}
