using Microsoft.Extensions.Logging.Abstractions;
using Pxe.Dhcp.Ipv6;
using Pxe.Dhcp.Tests.Infrastructure;

namespace Pxe.Dhcp.Tests.Ipv6;

public sealed class RouterAdvertisementTests
{
    private static readonly byte[] Mac = [0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc];

    [Fact]
    public void Advertisement_ConfiguresNothing_LifetimeZero_NoPrefix_NoFlags_AndCarriesTheSourceMac()
    {
        var buffer = new byte[64];
        var length = RouterAdvertisement.Write(buffer, Mac);

        Assert.Equal(24, length);
        Assert.Equal(
            [134, 0, 0, 0, /* hop limit */ 0, /* M, O */ 0, /* lifetime */ 0, 0, /* reachable */ 0, 0, 0, 0, /* retrans */ 0, 0, 0, 0,
             /* source link-layer address */ 1, 1, 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc],
            buffer[..length]);
    }

    [Theory]
    [InlineData(new byte[] { 133, 0, 0, 0, 0, 0, 0, 0 }, true)]
    [InlineData(new byte[] { 133, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 3, 4, 5, 6 }, true)]
    [InlineData(new byte[] { 133, 1, 0, 0, 0, 0, 0, 0 }, false)]
    [InlineData(new byte[] { 134, 0, 0, 0, 0, 0, 0, 0 }, false)]
    [InlineData(new byte[] { 133, 0, 0 }, false)]
    [InlineData(new byte[] { }, false)]
    public void Solicitation_IsRecognised_OnlyWhenWellFormed(byte[] icmp, bool expected) =>
        Assert.Equal(expected, RouterAdvertisement.IsSolicitation(icmp));

    [Fact]
    public void Answer_IsDelayedAtMostHalfASecond_AndMulticastsAreThreeSecondsApart()
    {
        var now = new DateTimeOffset(2026, 11, 22, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(now, RouterAdvertisement.AnswerAt(now, null, 0));
        Assert.Equal(now.AddMilliseconds(500), RouterAdvertisement.AnswerAt(now, null, 1));
        Assert.Equal(now.AddMilliseconds(250), RouterAdvertisement.AnswerAt(now, now.AddSeconds(-10), 0.5));
        Assert.Equal(now.AddSeconds(2), RouterAdvertisement.AnswerAt(now, now.AddSeconds(-1), 0));
    }

    [Fact]
    public void Write_RefusesAMacThatIsNotSixBytes() =>
        Assert.Throws<ArgumentException>(() => RouterAdvertisement.Write(new byte[64], [1, 2, 3]));

    [ToolFact("root", "ip=iproute2", "rdisc6=ndisc6")]
    public async Task RealSolicitor_rdisc6_GetsAnAdvertisementThatConfiguresNothing()
    {
        Tools.Require("rdisc6=ndisc6");
        using var lab = new Lab();
        var server = lab.Namespace("ras");
        var client = lab.Namespace("rac");
        lab.Veth(server, "prov0", client, "nic0");
        await WaitForLinkLocal(server, "prov0");
        await WaitForLinkLocal(client, "nic0");

        using var advertiser = Lab.InNamespace(server, () => RouterAdvertiser.Open("prov0", NullLogger.Instance));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var run = advertiser.RunAsync(stop.Token);

        var (code, output) = Lab.RunAllowingFailure(TimeSpan.FromSeconds(30), "ip", "netns", "exec", client, "rdisc6", "-1", "-w", "2000", "-r", "5", "nic0");
        await stop.CancelAsync();
        await run;

        Assert.True(code == 0, "rdisc6 got no advertisement: " + output);
        Assert.Matches(@"Router lifetime\s*:\s*0 \(0x00000000\) seconds", output);
        Assert.Matches(@"Stateful address conf\.\s*:\s*No", output);
        Assert.Matches(@"Stateful other conf\.\s*:\s*No", output);
        Assert.DoesNotContain("Prefix", output, StringComparison.Ordinal);
        Assert.True(advertiser.Solicitations >= 1);
    }

    [ToolFact("root", "ip=iproute2")]
    public async Task Advertiser_OnABridgeWithNoPortUp_KeepsRunning_InsteadOfFailing()
    {
        using var lab = new Lab();
        var ns = lab.Namespace("rab");
        Lab.Run("ip", "-n", ns, "link", "add", "prov0", "type", "bridge");
        Lab.Run("ip", "-n", ns, "link", "set", "prov0", "up");

        // No port: no carrier, so no usable link-local address and the first advertisement cannot be sent.
        using var advertiser = Lab.InNamespace(ns, () => RouterAdvertiser.Open("prov0", NullLogger.Instance));
        using var stop = new CancellationTokenSource();
        var run = advertiser.RunAsync(stop.Token);
        await Task.Delay(TimeSpan.FromSeconds(1));

        Assert.False(run.IsCompleted, run.Exception?.ToString() ?? "the advertiser stopped");
        await stop.CancelAsync();
        await run;
    }

    private static async Task WaitForLinkLocal(string ns, string ifName)
    {
        await Lab.WaitUntilAsync(() =>
        {
            var text = Lab.Run("ip", "-n", ns, "-6", "addr", "show", "dev", ifName);
            return text.Contains("fe80::", StringComparison.Ordinal) && !text.Contains("tentative", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(10), () => $"{ifName} in {ns} got no usable IPv6 link-local address");
    }
}
