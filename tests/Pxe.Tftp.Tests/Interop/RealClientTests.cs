using System.Globalization;
using System.Text;
using Pxe.Tftp.Files;
using Pxe.Tftp.Tests.Support;

namespace Pxe.Tftp.Tests.Interop;

/// <summary>
/// Real clients (tftp-hpa's tftp, curl, atftp) against the server over loopback, byte for byte. Files: small,
/// larger than 32 MiB (block numbers roll over at blksize 512), empty, and text for netascii.
/// </summary>
public sealed class RealClientTests : IAsyncLifetime
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(60);
    private static readonly byte[] Small = TempFolder.RandomBytes(100_000, 10);
    private static readonly byte[] Large = TempFolder.RandomBytes((32 * 1024 * 1024) + 123_457, 11);
    private static readonly byte[] Text = Encoding.ASCII.GetBytes("DEFAULT linux\nLABEL linux\r\n  KERNEL vmlinuz\rAPPEND quiet\n");
    private readonly TempFolder _outside = new();
    private readonly TempFolder _downloads = new();
    private TestServer _server = null!;

    public async Task InitializeAsync()
    {
        _outside.Write("secret.txt", "SECRET");
        var root = Path.Combine(_outside.Path, "root");
        Directory.CreateDirectory(root);
        File.WriteAllBytes(Path.Combine(root, "small.bin"), Small);
        File.WriteAllBytes(Path.Combine(root, "large.bin"), Large);
        File.WriteAllBytes(Path.Combine(root, "empty.bin"), []);
        File.WriteAllBytes(Path.Combine(root, "text.cfg"), Text);
        Directory.CreateDirectory(Path.Combine(root, "grub", "mac"));
        File.WriteAllBytes(Path.Combine(root, "grub", "mac", "52:54:00:d1:00:2c.cfg"), Small[..5000]);
        File.CreateSymbolicLink(Path.Combine(root, "escape"), Path.Combine(_outside.Path, "secret.txt"));
        _server = await TestServer.StartAsync(o => o with { RootFolder = root }, _ => new RootFolderFileSource(root));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _outside.Dispose();
        _downloads.Dispose();
    }

    private string Port => _server.Port.ToString(CultureInfo.InvariantCulture);

    private string Local(string name) => Path.Combine(_downloads.Path, name);

    [ToolTheory("tftp")]
    [InlineData("small.bin")]
    [InlineData("large.bin")]
    [InlineData("empty.bin")]
    public async Task TftpHpa_Octet_IsByteForByte(string file)
    {
        var tftp = Tools.Require("tftp");
        var result = await Tools.RunAsync(tftp, ["-m", "octet", "127.0.0.1", Port, "-c", "get", file, Local(file)], ClientTimeout);
        Assert.True(result.ExitCode == 0 && result.Output.Length == 0, result.Output);
        Assert.Equal(Expected(file), await File.ReadAllBytesAsync(Local(file)));
    }

    [ToolFact("tftp")]
    public async Task TftpHpa_Netascii_ConvertsLineEndsAndRoundTrips()
    {
        var tftp = Tools.Require("tftp");
        var result = await Tools.RunAsync(tftp, ["-m", "netascii", "127.0.0.1", Port, "-c", "get", "text.cfg", Local("text.cfg")], ClientTimeout);
        Assert.True(result.ExitCode == 0 && result.Output.Length == 0, result.Output);
        Assert.Equal(Text, await File.ReadAllBytesAsync(Local("text.cfg")));
    }

    [ToolFact("tftp")]
    public async Task TftpHpa_MissingFileAndTraversal_AreRefused()
    {
        var tftp = Tools.Require("tftp");
        var missing = await Tools.RunAsync(tftp, ["127.0.0.1", Port, "-c", "get", "pxelinux.cfg/01-52-54-00-d1-00-0b", Local("m")], ClientTimeout);
        Assert.Contains("Error code 1: File not found", missing.Output, StringComparison.Ordinal);
        var traversal = await Tools.RunAsync(tftp, ["127.0.0.1", Port, "-c", "get", "../secret.txt", Local("t")], ClientTimeout);
        Assert.Contains("Error code 2: Invalid file name", traversal.Output, StringComparison.Ordinal);
        var symlink = await Tools.RunAsync(tftp, ["127.0.0.1", Port, "-c", "get", "escape", Local("s")], ClientTimeout);
        Assert.Contains("Error code 2: Access violation", symlink.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.EnumerateFiles(_downloads.Path), f => new FileInfo(f).Length > 0);
    }

    [ToolTheory("curl")]
    [InlineData("small.bin", 512)]
    [InlineData("small.bin", 1468)]
    [InlineData("small.bin", 8192)]
    [InlineData("small.bin", 65464)]
    [InlineData("large.bin", 1468)]
    [InlineData("grub/mac/52:54:00:d1:00:2c.cfg", 1024)]
    public async Task Curl_EachBlockSize_IsByteForByte(string file, int blockSize)
    {
        var curl = Tools.Require("curl");
        var result = await Tools.RunAsync(curl, ["-sS", "--tftp-blksize", blockSize.ToString(CultureInfo.InvariantCulture), "-o", Local("out"), $"tftp://127.0.0.1:{Port}/{file}"], ClientTimeout);
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Equal(Expected(file), await File.ReadAllBytesAsync(Local("out")));
    }

    // curl 7.88 rejects "tsize 0" in an OACK (tftpd-hpa fails the same way), so the empty file goes without options.
    [ToolTheory("curl")]
    [InlineData("small.bin")]
    [InlineData("empty.bin")]
    public async Task Curl_WithoutOptions_GetsRfc1350LockStep(string file)
    {
        var curl = Tools.Require("curl");
        var result = await Tools.RunAsync(curl, ["-sS", "--tftp-no-options", "-o", Local("out"), $"tftp://127.0.0.1:{Port}/{file}"], ClientTimeout);
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Equal(Expected(file), await File.ReadAllBytesAsync(Local("out")));
    }

    [ToolFact("curl")]
    public async Task Curl_MissingFileAndEncodedTraversal_AreRefused()
    {
        var curl = Tools.Require("curl");
        var missing = await Tools.RunAsync(curl, ["-sS", "-o", Local("m"), $"tftp://127.0.0.1:{Port}/nothere"], ClientTimeout);
        Assert.Equal(68, missing.ExitCode); // CURLE_TFTP_NOTFOUND
        // curl decodes %2e%2e, so the server receives "../secret.txt".
        var traversal = await Tools.RunAsync(curl, ["-sS", "--path-as-is", "-o", Local("t"), $"tftp://127.0.0.1:{Port}/%2e%2e/secret.txt"], ClientTimeout);
        Assert.Equal(69, traversal.ExitCode); // CURLE_TFTP_PERM
        Assert.False(File.Exists(Local("t")) && new FileInfo(Local("t")).Length > 0);
    }

    [ToolTheory("atftp")]
    [InlineData("blksize 1468", "blksize: 1468")]
    [InlineData("blksize 8", "blksize: 8")]
    [InlineData("tsize 0", "tsize: 100000")]
    [InlineData("timeout 3", "timeout: 3")]
    [InlineData("windowsize 4", "windowsize: 4")]
    [InlineData("windowsize 200", "windowsize: 64")]
    public async Task Atftp_EachOption_IsNegotiatedAndTheFileArrivesIntact(string option, string oack)
    {
        var atftp = Tools.Require("atftp");
        var result = await Tools.RunAsync(atftp, ["--trace", "--option", option, "-g", "-r", "small.bin", "-l", Local("out"), "127.0.0.1", Port], ClientTimeout);
        Assert.True(result.ExitCode == 0, result.Output);
        var line = result.Output.Split('\n').Single(l => l.StartsWith("received OACK", StringComparison.Ordinal));
        Assert.Contains(oack, line, StringComparison.Ordinal);
        Assert.Equal(Small, await File.ReadAllBytesAsync(Local("out")));
    }

    [ToolTheory("atftp")]
    [InlineData(4)]
    [InlineData(16)]
    public async Task Atftp_Windowed_LargeFile_IsByteForByte(int windowSize)
    {
        var atftp = Tools.Require("atftp");
        var result = await Tools.RunAsync(atftp, ["--option", "blksize 1468", "--option", $"windowsize {windowSize}", "--option", "tsize 0", "-g", "-r", "large.bin", "-l", Local("out"), "127.0.0.1", Port], ClientTimeout);
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Equal(Large, await File.ReadAllBytesAsync(Local("out")));
    }

    [ToolFact("atftp")]
    public async Task Atftp_MissingFile_IsReportedNotFound()
    {
        var atftp = Tools.Require("atftp");
        var result = await Tools.RunAsync(atftp, ["-g", "-r", "nothere", "-l", Local("m"), "127.0.0.1", Port], ClientTimeout);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("File not found", result.Output, StringComparison.Ordinal);
    }

    private static byte[] Expected(string file) => file switch
    {
        "small.bin" => Small,
        "large.bin" => Large,
        "empty.bin" => [],
        "grub/mac/52:54:00:d1:00:2c.cfg" => Small[..5000],
        _ => throw new ArgumentException(file),
    };
}
