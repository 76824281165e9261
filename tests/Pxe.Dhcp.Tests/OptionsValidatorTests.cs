using System.Net;
using Pxe.Dhcp.Tests.Infrastructure;

namespace Pxe.Dhcp.Tests;

/// <summary>The validator reports every error at once, each with how to fix it.</summary>
public class OptionsValidatorTests
{
    [Fact]
    public void Defaults_ReportEveryMissingSettingAtOnce()
    {
        var errors = DhcpServerOptionsValidator.Validate(new DhcpServerOptions());
        Assert.Contains(errors, e => e.StartsWith("Interfaces:", StringComparison.Ordinal) && e.Contains("for example", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("ServerAddress:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Subnets:", StringComparison.Ordinal));
        Assert.Equal(3, errors.Count);
    }

    [Fact]
    public void OffMode_NeedsNothing()
        => Assert.Empty(DhcpServerOptionsValidator.Validate(new DhcpServerOptions { Mode = DhcpMode.Off }));

    [Fact]
    public void ProxyMode_NeedsNoSubnets()
        => Assert.Empty(DhcpServerOptionsValidator.Validate(new DhcpServerOptions
        {
            Mode = DhcpMode.Proxy,
            Interfaces = ["eth1"],
            ServerAddress = IPAddress.Parse("10.0.0.1"),
        }));

    [Fact]
    public void TestConfiguration_IsValid()
        => Assert.Empty(DhcpServerOptionsValidator.Validate(HandlerHarness.FullOptions()));

    [Fact]
    public void SubnetMistakes_AreEachReportedWithAFix()
    {
        var good = HandlerHarness.FullOptions();
        var bad = good with
        {
            Subnets =
            [
                good.Subnets[0] with { Network = IPAddress.Parse("10.0.0.5"), },
                good.Subnets[0] with { Network = IPAddress.Parse("10.1.0.0"), PoolStart = IPAddress.Parse("10.2.0.1"), PoolEnd = IPAddress.Parse("10.2.0.9"), Router = IPAddress.Parse("10.3.0.1"), DnsServers = [], Interface = "eth9" },
                good.Subnets[1] with { PoolEnd = null },
                good.Subnets[1] with { LeaseTime = TimeSpan.Zero },
            ],
        };
        var errors = DhcpServerOptionsValidator.Validate(bad);
        Assert.Contains(errors, e => e.Contains("Subnets[0]: Network 10.0.0.5 has host bits set for /24. Use 10.0.0.0.", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Subnets[1]: pool", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Subnets[1]: Router", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Subnets[1]: DnsServers is empty", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Subnets[1]: Interface 'eth9' is not in Interfaces", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Subnets[2]: PoolStart and PoolEnd must be set together", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Subnets[3]: 10.9.0.0/16 overlaps Subnets[2]", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Subnets[3]: LeaseTime", StringComparison.Ordinal));
    }

    [Fact]
    public void UrlTooLongForFileField_IsReported()
    {
        var options = HandlerHarness.FullOptions() with { HttpBaseUrl = new Uri("http://" + new string('a', 100) + ".example") };
        var errors = DhcpServerOptionsValidator.Validate(options);
        Assert.Contains(errors, e => e.StartsWith("BootFiles.IpxeScriptPath: the URL", StringComparison.Ordinal) && e.Contains("holds 127", StringComparison.Ordinal));
    }

    [Fact]
    public void InterfaceNames_AreChecked()
    {
        var options = HandlerHarness.FullOptions() with { Interfaces = ["eth1", "eth1", "a/b", new string('x', 16)] };
        var errors = DhcpServerOptionsValidator.Validate(options);
        Assert.Contains(errors, e => e.Contains("'eth1' is listed twice", StringComparison.Ordinal));
        Assert.Equal(2, errors.Count(e => e.Contains("is not a Linux interface name", StringComparison.Ordinal)));
    }

    [Fact]
    public void Server_RefusesInvalidOptions_ListingAllErrors()
    {
        var ex = Assert.Throws<DhcpConfigurationException>(() => new DhcpServer(new DhcpServerOptions(), new TestInventory(), new InMemoryLeaseStore(), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance));
        Assert.Equal(3, ex.Errors.Count);
        Assert.Contains("Interfaces: none configured", ex.Message, StringComparison.Ordinal);
    }
}
