using System.Buffers.Binary;
using Pxe.Dhcp.Protocol;
using Pxe.Dhcp.Tests.Infrastructure;

namespace Pxe.Dhcp.Tests;

/// <summary>Parser statuses, option enumeration (overload, RFC 3396) and the writer.</summary>
public class CodecTests
{
    private static DhcpParseStatus ParseRequest(byte[] bytes)
    {
        var status = DhcpPacket.TryParse(bytes, out var packet);
        return status != DhcpParseStatus.Ok ? status : DhcpRequest.TryRead(packet, out _);
    }

    [Fact]
    public void TryParse_ShortDatagram_IsTruncatedHeader()
        => Assert.Equal(DhcpParseStatus.TruncatedHeader, DhcpPacket.TryParse(new byte[239], out _));

    [Fact]
    public void TryParse_WrongMagicCookie_IsBadMagicCookie()
    {
        var bytes = new RequestBuilder(DhcpMessageType.Discover).Build();
        bytes[236] = 0;
        Assert.Equal(DhcpParseStatus.BadMagicCookie, DhcpPacket.TryParse(bytes, out _));
    }

    [Fact]
    public void TryParse_OpCodeThree_IsBadOpCode()
        => Assert.Equal(DhcpParseStatus.BadOpCode, DhcpPacket.TryParse(new RequestBuilder(DhcpMessageType.Discover) { Op = 3 }.Build(), out _));

    [Fact]
    public void TryRead_BootReply_IsWrongOpCode()
        => Assert.Equal(DhcpParseStatus.WrongOpCode, ParseRequest(new RequestBuilder(DhcpMessageType.Discover) { Op = 2 }.Build()));

    [Fact]
    public void TryParse_HardwareLengthAbove16_IsRejected()
    {
        var bytes = new RequestBuilder(DhcpMessageType.Discover).Build();
        bytes[2] = 17;
        Assert.Equal(DhcpParseStatus.BadHardwareAddressLength, DhcpPacket.TryParse(bytes, out _));
    }

    [Fact]
    public void TryParse_NoEndOption_IsMissingEnd()
    {
        var bytes = new RequestBuilder(DhcpMessageType.Discover).Build()[..243];
        Assert.Equal(DhcpParseStatus.MissingEnd, DhcpPacket.TryParse(bytes, out _));
    }

    [Fact]
    public void TryParse_OptionLengthPastEnd_IsTruncatedOption()
    {
        var bytes = new RequestBuilder(DhcpMessageType.Discover).Build();
        bytes[241] = 200;
        Assert.Equal(DhcpParseStatus.TruncatedOption, DhcpPacket.TryParse(bytes.AsSpan(0, 300), out _));
    }

    [Theory]
    [InlineData(new byte[] { 52, 1, 0 })]
    [InlineData(new byte[] { 52, 1, 4 })]
    [InlineData(new byte[] { 52, 2, 1, 1 })]
    public void TryParse_BadOverloadValue_IsBadOverload(byte[] option)
    {
        var bytes = new RequestBuilder(DhcpMessageType.Discover).Build();
        option.CopyTo(bytes, 243);
        bytes[243 + option.Length] = 255;
        Assert.Equal(DhcpParseStatus.BadOverload, DhcpPacket.TryParse(bytes, out _));
    }

    [Fact]
    public void TryRead_NoMessageType_IsMissingMessageType()
        => Assert.Equal(DhcpParseStatus.MissingMessageType, ParseRequest(new RequestBuilder(DhcpMessageType.None).Build()));

    [Fact]
    public void TryRead_MessageTypeNine_IsBadMessageType()
    {
        var bytes = new RequestBuilder(DhcpMessageType.None).Option(DhcpOptionCode.MessageType, 9).Build();
        Assert.Equal(DhcpParseStatus.BadMessageType, ParseRequest(bytes));
    }

    [Theory]
    [InlineData((int)DhcpOptionCode.RequestedIpAddress, 3)]
    [InlineData((int)DhcpOptionCode.ServerIdentifier, 5)]
    [InlineData((int)DhcpOptionCode.MaximumMessageSize, 1)]
    [InlineData((int)DhcpOptionCode.ClientIdentifier, 1)]
    public void TryRead_FixedSizeOptionOfWrongSize_IsBadOptionLength(int code, int length)
    {
        var bytes = new RequestBuilder(DhcpMessageType.Request).Option((DhcpOptionCode)code, new byte[length]).Build();
        Assert.Equal(DhcpParseStatus.BadOptionLength, ParseRequest(bytes));
    }

    [Fact]
    public void Options_WithOverloadBoth_AreReadFromOptionsThenFileThenSname()
    {
        var bytes = new RequestBuilder(DhcpMessageType.Discover).Option(DhcpOptionCode.OptionOverload, 3).Build();

        // file (offset 108): host name "ab", then End; sname (offset 44): host name "cd".
        new byte[] { 12, 2, (byte)'a', (byte)'b', 255 }.CopyTo(bytes, DhcpPacket.FileOffset);
        new byte[] { 12, 2, (byte)'c', (byte)'d', 255 }.CopyTo(bytes, DhcpPacket.SnameOffset);
        Assert.Equal(DhcpParseStatus.Ok, DhcpPacket.TryParse(bytes, out var packet));

        var codes = new List<DhcpOptionCode>();
        foreach (var option in packet.GetOptions())
        {
            codes.Add(option.Code);
        }

        Assert.Equal([DhcpOptionCode.MessageType, DhcpOptionCode.OptionOverload, DhcpOptionCode.HostName, DhcpOptionCode.HostName], codes);

        // RFC 3396: the two occurrences are one option "abcd", in file-then-sname order.
        Span<byte> scratch = stackalloc byte[64];
        Assert.Equal(DhcpOptionLookup.Found, DhcpOptionReader.TryGet(packet, DhcpOptionCode.HostName, scratch, out var value));
        Assert.Equal("abcd", System.Text.Encoding.ASCII.GetString(value));
    }

    [Fact]
    public void Options_OverloadInsideFileField_IsRejected()
    {
        var bytes = new RequestBuilder(DhcpMessageType.Discover).Option(DhcpOptionCode.OptionOverload, 1).Build();
        new byte[] { 52, 1, 2, 255 }.CopyTo(bytes, DhcpPacket.FileOffset);
        Assert.Equal(DhcpParseStatus.BadOverload, DhcpPacket.TryParse(bytes, out _));
    }

    [Fact]
    public void Options_WithoutOverload_IgnoreFileFieldContent()
    {
        var bytes = new RequestBuilder(DhcpMessageType.Discover).Build();
        new byte[] { 12, 2, (byte)'a', (byte)'b', 255 }.CopyTo(bytes, DhcpPacket.FileOffset);
        DhcpPacket.TryParse(bytes, out var packet);
        Assert.False(DhcpOptionReader.Contains(packet, DhcpOptionCode.HostName));
    }

    [Fact]
    public void RepeatedOption_IsConcatenatedInOrder()
    {
        var bytes = new RequestBuilder(DhcpMessageType.Discover)
            .Text(DhcpOptionCode.VendorClassIdentifier, "PXEClient:Arch:")
            .Text(DhcpOptionCode.HostName, "h")
            .Text(DhcpOptionCode.VendorClassIdentifier, "00007:UNDI:003000")
            .Build();
        Assert.Equal(DhcpParseStatus.Ok, DhcpPacket.TryParse(bytes, out var packet));
        Assert.Equal(DhcpParseStatus.Ok, DhcpRequest.TryRead(packet, out var request));
        Assert.Equal("PXEClient:Arch:00007:UNDI:003000", request!.VendorClass);
        Assert.Equal(ClientArchitecture.EfiByteCode, request.Firmware.Architecture);
    }

    [Fact]
    public void Writer_LongOption_IsSplitPerRfc3396AndReadBackWhole()
    {
        var buffer = new byte[1500];
        var value = Enumerable.Range(0, 600).Select(i => (byte)i).ToArray();
        var writer = new DhcpPacketWriter(buffer, buffer.Length);
        writer.WriteHeader(BootpOpCode.BootRequest, 1, 6, 7, 0, 0, 0, 0, 0, 0, new byte[16]);
        writer.WriteByte(DhcpOptionCode.MessageType, 1);
        writer.WriteOption(DhcpOptionCode.VendorSpecificInformation, value);
        Assert.Equal(DhcpWriteStatus.Ok, writer.Finish(out int length));

        // 53 (3 bytes), then three occurrences of 43: 255 + 255 + 90.
        Assert.Equal(43, buffer[243]);
        Assert.Equal(255, buffer[244]);
        Assert.Equal(43, buffer[243 + 257]);
        Assert.Equal(90, buffer[243 + 514 + 1]);

        Assert.Equal(DhcpParseStatus.Ok, DhcpPacket.TryParse(buffer.AsSpan(0, length), out var packet));
        Span<byte> scratch = stackalloc byte[1024];
        Assert.Equal(DhcpOptionLookup.Found, DhcpOptionReader.TryGet(packet, DhcpOptionCode.VendorSpecificInformation, scratch, out var read));
        Assert.Equal(value, read.ToArray());
    }

    [Fact]
    public void Writer_ShortReply_IsPaddedToBootpMinimum()
    {
        var buffer = new byte[600];
        buffer.AsSpan().Fill(0xee);
        var writer = new DhcpPacketWriter(buffer, buffer.Length);
        writer.WriteHeader(BootpOpCode.BootReply, 1, 6, 7, 0, 0, 0, 0, 0, 0, new byte[16]);
        writer.WriteByte(DhcpOptionCode.MessageType, 2);
        Assert.Equal(DhcpWriteStatus.Ok, writer.Finish(out int length));
        Assert.Equal(300, length);
        Assert.Equal(255, buffer[243]);
        Assert.All(buffer[244..300], b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(127, (int)DhcpWriteStatus.Ok)]
    [InlineData(128, (int)DhcpWriteStatus.BootFileNameTooLong)]
    public void Writer_BootFileName_MustFitFileFieldWithNul(int length, int expected)
    {
        var buffer = new byte[600];
        var writer = new DhcpPacketWriter(buffer, buffer.Length);
        writer.WriteHeader(BootpOpCode.BootReply, 1, 6, 7, 0, 0, 0, 0, 0, 0, new byte[16]);
        writer.WriteFileField(new string('a', length).Select(c => (byte)c).ToArray());
        Assert.Equal((DhcpWriteStatus)expected, writer.Finish(out _));
    }

    [Fact]
    public void Writer_PastClientLimit_IsTooLarge()
    {
        var buffer = new byte[1500];
        var writer = new DhcpPacketWriter(buffer, 576);
        writer.WriteHeader(BootpOpCode.BootReply, 1, 6, 7, 0, 0, 0, 0, 0, 0, new byte[16]);
        writer.WriteOption(DhcpOptionCode.VendorSpecificInformation, new byte[400]);
        Assert.Equal(DhcpWriteStatus.TooLarge, writer.Finish(out _));
    }

    [Fact]
    public void MachineIdentifier_UsesLittleEndianFirstThreeFields()
    {
        byte[] value = Convert.FromHexString("00" + "04030201" + "0605" + "0807" + "090a" + "525400d1000a");
        Assert.True(DhcpOptionCodecs.TryReadMachineIdentifier(value, out var guid));
        Assert.Equal("01020304-0506-0708-090a-525400d1000a", guid.ToString());
        Assert.False(DhcpOptionCodecs.TryReadMachineIdentifier(value[..16], out _));
    }

    [Theory]
    [InlineData("010201", 2, 1)]
    [InlineData("010300", 3, 0)]
    public void NetworkInterfaceIdentifier_ReadsUndiVersion(string hex, int major, int minor)
    {
        Assert.True(DhcpOptionCodecs.TryReadNetworkInterfaceIdentifier(Convert.FromHexString(hex), out byte readMajor, out byte readMinor));
        Assert.Equal((major, minor), (readMajor, readMinor));
        Assert.False(DhcpOptionCodecs.TryReadNetworkInterfaceIdentifier(Convert.FromHexString("020201"), out _, out _));
    }

    [Fact]
    public void TrimText_DropsTrailingNuls()
        => Assert.Equal("ipxe.efi"u8.ToArray(), DhcpOptionCodecs.TrimText(Convert.FromHexString("697078652e65666900")).ToArray());

    [Fact]
    public void Seconds_And_Addresses_AreNetworkOrder()
    {
        Assert.True(DhcpOptionCodecs.TryReadSeconds([0, 0, 0x0e, 0x10], out uint seconds));
        Assert.Equal(3600u, seconds);
        Assert.True(DhcpOptionCodecs.TryReadAddress([10, 0, 0, 1], out uint address));
        Assert.Equal(0x0A000001u, address);
        Assert.Equal(0x0A000001u, BinaryPrimitives.ReadUInt32BigEndian([10, 0, 0, 1]));
        Assert.False(DhcpOptionCodecs.IsAddressList([1, 2, 3]));
    }
}
