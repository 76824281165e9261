using Pxe.Dhcp.Protocol;
using Pxe.Dhcp.Tests.Infrastructure;

namespace Pxe.Dhcp.Tests;

/// <summary>Golden datagrams of real firmware and clients: what the codec reads from them, and how they are classified.</summary>
public class GoldenPacketTests
{
    private static readonly DhcpBootFileOptions Files = new();

    private static DhcpRequest Read(string name)
    {
        var bytes = Captures.Load(name);
        Assert.Equal(DhcpParseStatus.Ok, DhcpPacket.TryParse(bytes, out var packet));
        Assert.Equal(DhcpParseStatus.Ok, DhcpRequest.TryRead(packet, out var request));
        return request!;
    }

    [Fact]
    public void IpxeBiosDiscover_IsIpxeOnBiosWithGuidAndClientId()
    {
        var r = Read("f1-ipxe-bios-discover.hex");
        Assert.Equal(DhcpMessageType.Discover, r.MessageType);
        Assert.Equal(4, r.Seconds);
        Assert.False(r.IsBroadcast);
        Assert.Equal(1472, r.MaxMessageSize);
        Assert.Equal("525400D1000A", r.Mac.ToString());
        Assert.Equal("01525400d1000a", r.ClientKey);
        Assert.Equal(Guid.Parse("01020304-0506-0708-090a-525400d1000a"), r.ClientGuid);
        Assert.Equal("PXEClient:Arch:00000:UNDI:002001", r.VendorClass);
        Assert.Equal("iPXE", r.UserClass);
        Assert.Equal(new ClientFirmware(ClientArchitecture.X86Bios, IsPxeClient: true, IsHttpClient: false, IsIpxe: true), r.Firmware);
    }

    [Fact]
    public void IpxeBiosDiscover_Option175CarriesPciBusId()
    {
        var bytes = Captures.Load("f1-ipxe-bios-discover.hex");
        DhcpPacket.TryParse(bytes, out var packet);
        Span<byte> scratch = stackalloc byte[256];
        Assert.Equal(DhcpOptionLookup.Found, DhcpOptionReader.TryGet(packet, DhcpOptionCode.IpxeEncapsulated, scratch, out var encapsulated));
        Assert.True(DhcpOptionCodecs.TryFindSubOption(encapsulated, 177, out var busId));
        Assert.Equal("018086100e", Convert.ToHexStringLower(busId));
        Assert.True(DhcpOptionCodecs.TryFindSubOption(encapsulated, 235, out var version));
        Assert.Equal(new byte[] { 1, 0, 0 }, version.ToArray());
    }

    [Fact]
    public void IpxeBiosDiscover_GetsIpxeScriptUrlNotAChainload()
    {
        var r = Read("f1-ipxe-bios-discover.hex");
        var boot = BootFileSelector.Select(r.Firmware, DhcpBootLoader.Ipxe, Files, "http://10.211.0.1");
        Assert.Equal("http://10.211.0.1/boot/ipxe?mac=${net0/mac}", boot.BootFile);
    }

    [Fact]
    public void IpxeBiosRequest_IsSelectingWithRequestedAddress()
    {
        var r = Read("f1-ipxe-bios-request.hex");
        Assert.Equal(DhcpMessageType.Request, r.MessageType);
        Assert.Equal(DhcpRequestState.Selecting, RequestStateClassifier.Classify(r.ServerIdentifier, r.RequestedAddress, r.ClientAddress, out uint address));
        Assert.Equal(0x0AD3006Fu, address);
        Assert.Equal(0x0AD30001u, r.ServerIdentifier);
    }

    [Fact]
    public void OvmfDiscover_IsUefiX64PxeWithBroadcastFlag()
    {
        var r = Read("f2-ovmf-pxe-discover.hex");
        Assert.True(r.IsBroadcast);
        Assert.Equal(0, r.Seconds);
        Assert.Equal(ClientArchitecture.EfiByteCode, r.Firmware.Architecture);
        Assert.True(r.Firmware.IsPxeClient);
        Assert.False(r.Firmware.IsIpxe);
        Assert.Null(r.UserClass);
        Assert.Equal("01525400d1001c", r.ClientKey);
        Assert.Equal(Guid.Parse("01020304-0506-0708-090a-525400d1001c"), r.ClientGuid);
        Assert.Equal("ipxe.efi", BootFileSelector.Select(r.Firmware, DhcpBootLoader.Ipxe, Files, "http://x").BootFile);
        Assert.Equal("grubnetx64.efi", BootFileSelector.Select(r.Firmware, DhcpBootLoader.Grub, Files, "http://x").BootFile);
    }

    [Fact]
    public void OvmfRequest_AnnouncesLargeMaximumMessageSize()
    {
        var r = Read("f2-ovmf-pxe-request.hex");
        Assert.Equal(65280, r.MaxMessageSize);
        Assert.Equal(DhcpRequestState.Selecting, RequestStateClassifier.Classify(r.ServerIdentifier, r.RequestedAddress, r.ClientAddress, out _));
    }

    [Fact]
    public void DebianInstallerDiscover_IsAnOrdinaryClientWithoutBootFile()
    {
        var r = Read("f8-debian-installer-discover.hex");
        Assert.Equal("d-i", r.VendorClass);
        Assert.Equal(576, r.MaxMessageSize);
        Assert.False(r.Firmware.IsBootClient);
        Assert.Null(BootFileSelector.Select(r.Firmware, DhcpBootLoader.Ipxe, Files, "http://x").BootFile);
    }

    [Fact]
    public void UdhcpcDiscover_CarriesHostNameAndNoBootClass()
    {
        var r = Read("f8-udhcpc-discover.hex");
        Assert.Equal("pxh-tiny", r.HostName);
        Assert.Equal("udhcp 1.35.0", r.VendorClass);
        Assert.False(r.Firmware.IsBootClient);
    }

    [Fact]
    public void DhclientDiscover_WithoutOption61_KeysLeaseOnHardwareTypeAndChaddr()
    {
        var r = Read("dhclient-discover.hex");
        Assert.Equal(DhcpMessageType.Discover, r.MessageType);
        Assert.Equal("01525400d1000d", r.ClientKey);
        Assert.Equal("vm", r.HostName);
        Assert.False(r.Firmware.IsBootClient);
    }

    [Theory]
    [MemberData(nameof(CaptureNames))]
    public void Capture_ParsesAndAllOptionsEnumerate(string name)
    {
        var bytes = Captures.Load(name);
        Assert.Equal(DhcpParseStatus.Ok, DhcpPacket.TryParse(bytes, out var packet));
        int count = 0;
        foreach (var option in packet.GetOptions())
        {
            Assert.NotEqual(DhcpOptionCode.Pad, option.Code);
            Assert.NotEqual(DhcpOptionCode.End, option.Code);
            count++;
        }

        Assert.True(count >= 3, $"{name}: {count} options");
    }

    public static TheoryData<string> CaptureNames() => Captures.Names();
}
