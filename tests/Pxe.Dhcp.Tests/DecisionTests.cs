using System.Net;
using Pxe.Dhcp.Protocol;

namespace Pxe.Dhcp.Tests;

/// <summary>The pure decisions, table by table.</summary>
public class DecisionTests
{
    private const uint Relay = 0x0A010001;
    private const uint Ciaddr = 0x0A000042;
    private const uint Yiaddr = 0x0A000064;

    [Theory]
    // giaddr  ciaddr  bcast  reply  yiaddr  => kind
    [InlineData(Relay, 0u, false, (int)DhcpMessageType.Offer, Yiaddr, (int)ReplyDestinationKind.Relay)]
    [InlineData(Relay, Ciaddr, true, (int)DhcpMessageType.Ack, Yiaddr, (int)ReplyDestinationKind.Relay)]
    [InlineData(Relay, 0u, false, (int)DhcpMessageType.Nak, 0u, (int)ReplyDestinationKind.Relay)]
    [InlineData(0u, Ciaddr, false, (int)DhcpMessageType.Nak, 0u, (int)ReplyDestinationKind.Broadcast)]
    [InlineData(0u, Ciaddr, false, (int)DhcpMessageType.Ack, Ciaddr, (int)ReplyDestinationKind.ClientAddress)]
    [InlineData(0u, Ciaddr, true, (int)DhcpMessageType.Ack, Ciaddr, (int)ReplyDestinationKind.ClientAddress)]
    [InlineData(0u, 0u, true, (int)DhcpMessageType.Offer, Yiaddr, (int)ReplyDestinationKind.Broadcast)]
    [InlineData(0u, 0u, false, (int)DhcpMessageType.Offer, Yiaddr, (int)ReplyDestinationKind.HardwareUnicast)]
    [InlineData(0u, 0u, false, (int)DhcpMessageType.Ack, Yiaddr, (int)ReplyDestinationKind.HardwareUnicast)]
    [InlineData(0u, 0u, false, (int)DhcpMessageType.Offer, 0u, (int)ReplyDestinationKind.Broadcast)]
    public void ReplyAddressing_FollowsRfc2131Section41(uint giaddr, uint ciaddr, bool broadcast, int replyType, uint yiaddr, int expectedKind)
    {
        var reply = (DhcpMessageType)replyType;
        var expected = (ReplyDestinationKind)expectedKind;
        var destination = ReplyAddressing.Decide(giaddr, ciaddr, broadcast, reply, yiaddr);
        Assert.Equal(expected, destination.Kind);
        uint expectedAddress = expected switch
        {
            ReplyDestinationKind.Relay => giaddr,
            ReplyDestinationKind.ClientAddress => ciaddr,
            ReplyDestinationKind.HardwareUnicast => yiaddr,
            _ => 0,
        };
        Assert.Equal(expectedAddress, destination.Address);
    }

    [Theory]
    [InlineData(0x0000, Relay, (int)DhcpMessageType.Nak, 0x8000)]
    [InlineData(0x0000, 0u, (int)DhcpMessageType.Nak, 0x0000)]
    [InlineData(0x0000, Relay, (int)DhcpMessageType.Ack, 0x0000)]
    [InlineData(0x8000, 0u, (int)DhcpMessageType.Offer, 0x8000)]
    public void ReplyFlags_SetBroadcastOnRelayedNak(int requestFlags, uint giaddr, int replyType, int expected)
        => Assert.Equal((ushort)expected, ReplyAddressing.ReplyFlags((ushort)requestFlags, giaddr, (DhcpMessageType)replyType));

    [Theory]
    // server-id  requested  ciaddr  => state, address
    [InlineData(1u, Yiaddr, 0u, (int)DhcpRequestState.Selecting, Yiaddr)]
    [InlineData(1u, 0u, Ciaddr, (int)DhcpRequestState.Selecting, Ciaddr)]
    [InlineData(1u, 0u, 0u, (int)DhcpRequestState.Invalid, 0u)]
    [InlineData(0u, Yiaddr, 0u, (int)DhcpRequestState.InitReboot, Yiaddr)]
    [InlineData(0u, 0u, Ciaddr, (int)DhcpRequestState.RenewingOrRebinding, Ciaddr)]
    [InlineData(0u, Yiaddr, Ciaddr, (int)DhcpRequestState.RenewingOrRebinding, Ciaddr)]
    [InlineData(0u, 0u, 0u, (int)DhcpRequestState.Invalid, 0u)]
    public void RequestState_FollowsRfc2131Section432(uint serverId, uint requested, uint ciaddr, int expectedState, uint expectedAddress)
    {
        var expected = (DhcpRequestState)expectedState;
        Assert.Equal(expected, RequestStateClassifier.Classify(serverId, requested, ciaddr, out uint address));
        Assert.Equal(expectedAddress, address);
    }

    [Theory]
    [InlineData("PXEClient:Arch:00000:UNDI:002001", "iPXE", "0000", false, ClientArchitecture.X86Bios, true, false, true)]
    [InlineData("PXEClient:Arch:00007:UNDI:003000", "", "0007", false, ClientArchitecture.EfiByteCode, true, false, false)]
    [InlineData("PXEClient:Arch:00009:UNDI:003000", "", "", false, ClientArchitecture.EfiX64, true, false, false)]
    [InlineData("PXEClient:Arch:00011:UNDI:003000", "", "000b", false, ClientArchitecture.EfiArm64, true, false, false)]
    [InlineData("HTTPClient:Arch:00016:UNDI:003001", "", "0010", false, ClientArchitecture.EfiX64Http, false, true, false)]
    [InlineData("PXEClient", "", "", true, ClientArchitecture.X86Bios, true, false, true)]
    [InlineData("d-i", "", "", false, ClientArchitecture.X86Bios, false, false, false)]
    [InlineData("udhcp 1.35.0", "", "", false, ClientArchitecture.X86Bios, false, false, false)]
    [InlineData("", "\u0004iPXE", "", false, ClientArchitecture.X86Bios, false, false, false)]
    public void Classifier_ReadsArchitectureAndIpxeFromRawOptions(string vendorClass, string userClass, string arch, bool has175,
        ClientArchitecture architecture, bool pxe, bool http, bool ipxe)
    {
        var firmware = ClientClassifier.Classify(
            System.Text.Encoding.ASCII.GetBytes(vendorClass),
            System.Text.Encoding.ASCII.GetBytes(userClass),
            Convert.FromHexString(arch),
            has175);
        Assert.Equal(new ClientFirmware(architecture, pxe, http, ipxe), firmware);
    }

    [Theory]
    [InlineData(ClientArchitecture.X86Bios, true, false, false, DhcpBootLoader.Ipxe, "undionly.kpxe", false)]
    [InlineData(ClientArchitecture.X86Bios, true, false, false, DhcpBootLoader.Pxelinux, "pxelinux.0", false)]
    [InlineData(ClientArchitecture.X86Bios, true, false, true, DhcpBootLoader.Pxelinux, "pxelinux.0", false)]
    [InlineData(ClientArchitecture.X86Bios, true, false, true, DhcpBootLoader.Ipxe, "http://s/boot/ipxe?mac=${net0/mac}", false)]
    [InlineData(ClientArchitecture.X86Bios, true, false, false, DhcpBootLoader.Grub, "undionly.kpxe", false)]
    [InlineData(ClientArchitecture.EfiByteCode, true, false, false, DhcpBootLoader.Ipxe, "ipxe.efi", false)]
    [InlineData(ClientArchitecture.EfiX64, true, false, false, DhcpBootLoader.Ipxe, "ipxe.efi", false)]
    [InlineData(ClientArchitecture.EfiX64, true, false, false, DhcpBootLoader.Grub, "grubnetx64.efi", false)]
    [InlineData(ClientArchitecture.EfiX64, true, false, false, DhcpBootLoader.Pxelinux, "ipxe.efi", false)]
    [InlineData(ClientArchitecture.EfiByteCode, true, false, true, DhcpBootLoader.Ipxe, "http://s/boot/ipxe?mac=${net0/mac}", false)]
    [InlineData(ClientArchitecture.EfiArm64, true, false, false, DhcpBootLoader.Ipxe, "ipxe-arm64.efi", false)]
    [InlineData(ClientArchitecture.EfiArm64, true, false, false, DhcpBootLoader.Grub, "grubnetaa64.efi", false)]
    [InlineData(ClientArchitecture.EfiX64Http, false, true, false, DhcpBootLoader.Ipxe, "http://s/boot/ipxe.efi", true)]
    [InlineData(ClientArchitecture.EfiArm64Http, false, true, false, DhcpBootLoader.Ipxe, "http://s/boot/ipxe-arm64.efi", true)]
    [InlineData(ClientArchitecture.EfiIa32, true, false, false, DhcpBootLoader.Ipxe, null, false)]
    [InlineData(ClientArchitecture.X86Bios, false, false, false, DhcpBootLoader.Ipxe, null, false)]
    public void BootFile_DependsOnFirmwareAndLoader(ClientArchitecture arch, bool pxe, bool http, bool ipxe, DhcpBootLoader loader, string? expected, bool echoHttp)
    {
        var decision = BootFileSelector.Select(new ClientFirmware(arch, pxe, http, ipxe), loader, new DhcpBootFileOptions(), "http://s");
        Assert.Equal(expected, decision.BootFile);
        Assert.Equal(echoHttp, decision.EchoHttpClient);
    }

    private static DhcpSubnet[] Subnets() =>
    [
        new(new DhcpSubnetOptions { Network = IPAddress.Parse("10.0.0.0"), PrefixLength = 24, Interface = "eth1", DnsServers = [IPAddress.Parse("10.0.0.1")] }, 0),
        new(new DhcpSubnetOptions { Network = IPAddress.Parse("10.0.5.0"), PrefixLength = 24, Interface = "eth1", DnsServers = [IPAddress.Parse("10.0.0.1")] }, 1),
        new(new DhcpSubnetOptions { Network = IPAddress.Parse("10.1.0.0"), PrefixLength = 16, DnsServers = [IPAddress.Parse("10.0.0.1")] }, 2),
    ];

    [Theory]
    [InlineData(0x0A010203u, "eth1", 0u, 2)]
    [InlineData(0x0A020203u, "eth1", 0u, -1)]
    [InlineData(0u, "eth1", 0u, 0)]
    [InlineData(0u, "eth1", 0x0A000507u, 1)]
    [InlineData(0u, "eth2", 0u, -1)]
    public void SubnetSelection_ByGiaddrElseInterface(uint giaddr, string receivedOn, uint hint, int expectedIndex)
    {
        var subnet = SubnetSelector.Select(Subnets(), giaddr, receivedOn, hint);
        Assert.Equal(expectedIndex, subnet?.Index ?? -1);
    }
}
