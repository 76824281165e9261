using System.Globalization;
using System.Net;
using Pxe.Tftp.Tests.Support;

namespace Pxe.Tftp.Tests.Interop;

/// <summary>
/// Real clients in another network namespace, across a veth pair the test creates and removes. The server
/// binds to every address and must answer from the address the request reached, with blksize capped to the
/// veth's MTU.
/// </summary>
public class VethTests
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(60);

    [ToolFact("ip", "root", "curl", "atftp", "tftp")]
    public async Task RealClients_AcrossAVethPair_GetFilesByteForByte_WithBlockSizeCappedToTheMtu()
    {
        var curl = Tools.Require("curl");
        var atftp = Tools.Require("atftp");
        var tftp = Tools.Require("tftp");
        using var ns = new NetworkNamespace(mtu: 1500);
        var file = TempFolder.RandomBytes(1_048_576, 20);
        var large = TempFolder.RandomBytes((32 * 1024 * 1024) + 1, 21);
        await using var server = await TestServer.StartAsync(
            populate: root =>
            {
                root.Write("ipxe.efi", file);
                root.Write("large.bin", large);
            },
            bind: IPAddress.Any);
        using var downloads = new TempFolder();
        var port = server.Port.ToString(CultureInfo.InvariantCulture);

        var viaCurl = await ns.RunAsync(curl, ["-sS", "--tftp-blksize", "8192", "-o", Path.Combine(downloads.Path, "curl"), $"tftp://{ns.HostAddress}:{port}/ipxe.efi"], ClientTimeout);
        Assert.True(viaCurl.ExitCode == 0, viaCurl.Output);
        Assert.Equal(file, await File.ReadAllBytesAsync(Path.Combine(downloads.Path, "curl")));

        var viaAtftp = await ns.RunAsync(atftp, ["--trace", "--option", "blksize 8192", "--option", "windowsize 4", "-g", "-r", "ipxe.efi", "-l", Path.Combine(downloads.Path, "atftp"), ns.HostAddress, port], ClientTimeout);
        Assert.True(viaAtftp.ExitCode == 0, viaAtftp.Output);
        var oack = viaAtftp.Output.Split('\n').Single(l => l.StartsWith("received OACK", StringComparison.Ordinal));
        Assert.Contains("blksize: 1468,", oack, StringComparison.Ordinal);
        Assert.Contains("windowsize: 4,", oack, StringComparison.Ordinal);
        Assert.Equal(file, await File.ReadAllBytesAsync(Path.Combine(downloads.Path, "atftp")));

        var viaTftp = await ns.RunAsync(tftp, ["-m", "octet", ns.HostAddress, port, "-c", "get", "large.bin", Path.Combine(downloads.Path, "tftp")], ClientTimeout);
        Assert.True(viaTftp.ExitCode == 0 && viaTftp.Output.Length == 0, viaTftp.Output);
        Assert.Equal(large, await File.ReadAllBytesAsync(Path.Combine(downloads.Path, "tftp")));

        var missing = await ns.RunAsync(curl, ["-sS", "-o", Path.Combine(downloads.Path, "m"), $"tftp://{ns.HostAddress}:{port}/pxelinux.cfg/default"], ClientTimeout);
        Assert.Equal(68, missing.ExitCode);
        Assert.Equal(3, server.Metrics.TransfersCompleted);
    }
}
