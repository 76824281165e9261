using Pxe.Tftp.Protocol;

namespace Pxe.Tftp.Tests.Protocol;

public class TftpNegotiatorTests
{
    private static readonly TftpNegotiationLimits Limits = new(65464, 64, TimeSpan.FromSeconds(1));

    private static TftpNegotiation Negotiate(string options, long size = 850528, TftpNegotiationLimits? limits = null)
    {
        var parsed = options.Length == 0
            ? []
            : options.Split(' ').Select(o => o.Split('=')).Select(p => new TftpOption(p[0], p[1])).ToList();
        return TftpNegotiator.Negotiate(parsed, limits ?? Limits, size);
    }

    private static string Oack(TftpNegotiation n) => string.Join(' ', n.Acknowledged.Select(o => $"{o.Name}={o.Value}"));

    // Table: request options → OACK (RFC 2347, 2348, 2349, 7440).
    [Theory]
    [InlineData("", "")]
    [InlineData("tsize=0 blksize=1468 windowsize=4", "tsize=850528 blksize=1468 windowsize=4")] // OVMF (F2)
    [InlineData("blksize=1432 tsize=0", "blksize=1432 tsize=850528")] // iPXE (F6)
    [InlineData("blksize=1024 tsize=0", "blksize=1024 tsize=850528")] // GRUB (F7)
    [InlineData("BLKSIZE=1408 TSize=0", "BLKSIZE=1408 TSize=850528")] // names are case-insensitive, echoed as sent
    [InlineData("blksize=8", "blksize=8")]
    [InlineData("blksize=65464", "blksize=65464")]
    [InlineData("blksize=70000", "blksize=65464")] // lowered to the RFC 2348 maximum
    [InlineData("timeout=1", "timeout=1")]
    [InlineData("timeout=255", "timeout=255")]
    [InlineData("windowsize=1", "windowsize=1")]
    [InlineData("windowsize=1000", "windowsize=64")] // lowered to the server's limit
    [InlineData("multicast=x utimeout=5000 rollover=0", "")] // unknown options are ignored
    [InlineData("blksize=1468 blksize=512", "blksize=1468")] // a repeated option counts once
    [InlineData("tsize=0 foo=bar", "tsize=850528")]
    public void Negotiate_AnswersTheRfcOack(string request, string oack)
    {
        var result = Negotiate(request);
        Assert.False(result.Refused);
        Assert.Equal(oack, Oack(result));
    }

    [Theory]
    [InlineData("blksize=7")]
    [InlineData("blksize=0")]
    [InlineData("blksize=abc")]
    [InlineData("blksize=")]
    [InlineData("blksize=-1")]
    [InlineData("timeout=0")]
    [InlineData("timeout=256")]
    [InlineData("windowsize=0")]
    [InlineData("tsize=x")]
    [InlineData("blksize=99999999999999999999999")]
    public void Negotiate_RefusesInvalidValuesOfKnownOptions(string request)
    {
        var result = Negotiate(request);
        Assert.True(result.Refused);
        Assert.NotNull(result.RefusedOption);
    }

    [Fact]
    public void Negotiate_WithoutOptions_UsesRfc1350Defaults()
    {
        var result = Negotiate("");
        Assert.Equal(512, result.BlockSize);
        Assert.Equal(1, result.WindowSize);
        Assert.Equal(TimeSpan.FromSeconds(1), result.Timeout);
        Assert.Empty(result.Acknowledged);
    }

    [Fact]
    public void Negotiate_TimeoutOption_SetsRetransmissionTimeout()
    {
        Assert.Equal(TimeSpan.FromSeconds(5), Negotiate("timeout=5").Timeout);
    }

    [Fact]
    public void BlockSize_IsClampedToInterfaceMtu()
    {
        var limits = Limits with { MaxBlockSize = TftpNegotiator.BlockSizeForMtu(1500, ipv6: false) };
        var result = Negotiate("blksize=8192", limits: limits);
        Assert.Equal(1468, result.BlockSize);
        Assert.Equal("blksize=1468", Oack(result));
    }

    [Theory]
    [InlineData(1500, false, 1468)]
    [InlineData(1500, true, 1448)]
    [InlineData(9000, false, 8968)]
    [InlineData(576, false, 544)]
    public void BlockSizeForMtu_SubtractsIpUdpAndTftpHeaders(int mtu, bool ipv6, int expected)
    {
        Assert.Equal(expected, TftpNegotiator.BlockSizeForMtu(mtu, ipv6));
    }
}
