using Pxe.Tftp.Protocol;

namespace Pxe.Tftp.Tests.Protocol;

public class TftpPacketTests
{
    // A read request as OVMF sends it (FIRMWARE.md F2): ipxe.efi with tsize=0 blksize=1468 windowsize=4.
    private static readonly byte[] OvmfRequest =
        [0, 1, .. "ipxe.efi\0octet\0tsize\00\0blksize\01468\0windowsize\04\0"u8];

    [Fact]
    public void ReadRequest_FromOvmf_ParsesNameModeAndOptionsInOrder()
    {
        Assert.Equal(TftpParseStatus.Ok, TftpPacket.TryParse(OvmfRequest, out var packet));
        Assert.Equal(TftpOpcode.ReadRequest, packet.Opcode);
        Assert.Equal(TftpParseStatus.Ok, TftpRequest.TryParse(packet.Opcode, packet.Body, out var request));
        Assert.Equal("ipxe.efi", request!.FileName);
        Assert.Equal("octet", request.Mode);
        Assert.Equal([new("tsize", "0"), new("blksize", "1468"), new("windowsize", "4")], request.Options);
    }

    [Fact]
    public void ReadRequest_ModeIsLowerCased()
    {
        var bytes = TftpPacketWriter.BuildRequest(TftpOpcode.ReadRequest, "a", "NetASCII");
        TftpPacket.TryParse(bytes, out var packet);
        TftpRequest.TryParse(packet.Opcode, packet.Body, out var request);
        Assert.Equal("netascii", request!.Mode);
    }

    [Fact]
    public void ReadRequest_GrubPathWithColonsAndLeadingSlash_IsKeptVerbatim()
    {
        var bytes = TftpPacketWriter.BuildRequest(TftpOpcode.ReadRequest, "/grub/mac/52:54:00:d1:00:2c.cfg", "octet", [new("blksize", "1024"), new("tsize", "0")]);
        TftpPacket.TryParse(bytes, out var packet);
        Assert.Equal(TftpParseStatus.Ok, TftpRequest.TryParse(packet.Opcode, packet.Body, out var request));
        Assert.Equal("/grub/mac/52:54:00:d1:00:2c.cfg", request!.FileName);
    }

    [Theory]
    [InlineData(new byte[] { }, (int)TftpParseStatus.TooShort)]
    [InlineData(new byte[] { 0 }, (int)TftpParseStatus.TooShort)]
    [InlineData(new byte[] { 0, 9 }, (int)TftpParseStatus.UnknownOpcode)]
    [InlineData(new byte[] { 0, 0 }, (int)TftpParseStatus.UnknownOpcode)]
    [InlineData(new byte[] { 0, 4, 0 }, (int)TftpParseStatus.TruncatedHeader)]
    [InlineData(new byte[] { 0, 3, 0 }, (int)TftpParseStatus.TruncatedHeader)]
    [InlineData(new byte[] { 0, 5, 0 }, (int)TftpParseStatus.TruncatedHeader)]
    [InlineData(new byte[] { 0, 1, (byte)'a' }, (int)TftpParseStatus.MissingTerminator)]
    [InlineData(new byte[] { 0, 6, (byte)'x' }, (int)TftpParseStatus.MissingTerminator)]
    public void TryParse_ReportsStatusForMalformedDatagrams(byte[] datagram, int expected)
    {
        Assert.Equal((TftpParseStatus)expected, TftpPacket.TryParse(datagram, out _));
    }

    [Theory]
    [InlineData("\0octet\0", (int)TftpParseStatus.EmptyFileName)]
    [InlineData("file\0", (int)TftpParseStatus.MissingMode)]
    [InlineData("file\0octet\0blksize\0", (int)TftpParseStatus.OptionWithoutValue)]
    [InlineData("", (int)TftpParseStatus.MissingTerminator)]
    public void Request_ReportsStatusForMissingFields(string strings, int expected)
    {
        var body = System.Text.Encoding.ASCII.GetBytes(strings);
        Assert.Equal((TftpParseStatus)expected, TftpRequest.TryParse(TftpOpcode.ReadRequest, body, out var request));
        Assert.Null(request);
    }

    [Fact]
    public void Request_InvalidUtf8Name_IsInvalidText()
    {
        byte[] body = [0xC3, 0x28, 0, .. "octet\0"u8];
        Assert.Equal(TftpParseStatus.InvalidText, TftpRequest.TryParse(TftpOpcode.ReadRequest, body, out _));
    }

    [Fact]
    public void Request_MoreThanMaxOptions_IsRefused()
    {
        var options = Enumerable.Range(0, TftpRequest.MaxOptions + 1).Select(i => new TftpOption($"o{i}", "1")).ToList();
        var bytes = TftpPacketWriter.BuildRequest(TftpOpcode.ReadRequest, "f", "octet", options);
        TftpPacket.TryParse(bytes, out var packet);
        Assert.Equal(TftpParseStatus.TooManyOptions, TftpRequest.TryParse(packet.Opcode, packet.Body, out _));
    }

    [Fact]
    public void Ack_ParsesBlockNumberBigEndian()
    {
        Assert.Equal(TftpParseStatus.Ok, TftpPacket.TryParse([0, 4, 0xFF, 0xFE], out var packet));
        Assert.Equal(TftpOpcode.Acknowledgement, packet.Opcode);
        Assert.Equal(65534, packet.Block);
    }

    [Fact]
    public void Error_FromOvmf_ParsesCodeAndMessage()
    {
        byte[] datagram = [0, 5, 0, 8, .. "User aborted the transfer\0"u8];
        Assert.Equal(TftpParseStatus.Ok, TftpPacket.TryParse(datagram, out var packet));
        Assert.Equal(TftpErrorCode.OptionRefused, packet.ErrorCode);
        Assert.Equal("User aborted the transfer"u8.ToArray(), packet.Body.ToArray());
    }

    [Fact]
    public void BuildError_WritesCodeFixedMessageAndNul()
    {
        var packet = TftpPacketWriter.BuildError(TftpErrorReason.FileNotFound);
        Assert.Equal([0, 5, 0, 1, .. "File not found\0"u8], packet);
    }

    [Fact]
    public void BuildOptionAcknowledgement_WritesOptionsInOrder()
    {
        var packet = TftpPacketWriter.BuildOptionAcknowledgement([new("blksize", "1468"), new("tsize", "850528")]);
        Assert.Equal([0, 6, .. "blksize\01468\0tsize\0850528\0"u8], packet);
    }

    [Fact]
    public void EveryErrorReason_HasAFixedAsciiMessageWithoutPathsOrExceptionText()
    {
        foreach (var reason in Enum.GetValues<TftpErrorReason>())
        {
            var message = TftpErrors.MessageOf(reason);
            Assert.False(string.IsNullOrEmpty(message));
            Assert.DoesNotContain("/", message);
            Assert.DoesNotContain("Exception", message);
            Assert.All(message, c => Assert.InRange(c, ' ', '~'));
        }
    }

    [Theory]
    [InlineData((int)TftpErrorReason.FileNotFound, TftpErrorCode.FileNotFound)]
    [InlineData((int)TftpErrorReason.AccessViolation, TftpErrorCode.AccessViolation)]
    [InlineData((int)TftpErrorReason.WriteNotSupported, TftpErrorCode.AccessViolation)]
    [InlineData((int)TftpErrorReason.MalformedRequest, TftpErrorCode.IllegalOperation)]
    [InlineData((int)TftpErrorReason.UnsupportedMode, TftpErrorCode.IllegalOperation)]
    [InlineData((int)TftpErrorReason.UnknownTransferId, TftpErrorCode.UnknownTransferId)]
    [InlineData((int)TftpErrorReason.OptionRefused, TftpErrorCode.OptionRefused)]
    public void ErrorReasons_MapToTheRfcCode(int reason, TftpErrorCode code)
    {
        Assert.Equal(code, TftpErrors.CodeOf((TftpErrorReason)reason));
    }
}
