using System.Globalization;
using System.Net;
using Pxe.Tftp.Files;
using Pxe.Tftp.Protocol;
using Pxe.Tftp.Server;
using Pxe.Tftp.Tests.Support;

namespace Pxe.Tftp.Tests.Server;

/// <summary>The server over real loopback sockets, driven byte by byte.</summary>
public class TftpServerTests
{
    private static readonly byte[] Bootloader = TempFolder.RandomBytes(100_000, 1);

    private static Task<TestServer> StartAsync(Func<TftpServerOptions, TftpServerOptions>? configure = null, Func<RootFolderFileSource, ITftpFileSource>? source = null) =>
        TestServer.StartAsync(configure, source, root =>
        {
            root.Write("ipxe.efi", Bootloader);
            root.Write("pxelinux.cfg/default", "DEFAULT local\n");
        });

    [Fact]
    public async Task Listening_OnPortZero_ReportsTheBoundPort()
    {
        await using var server = await StartAsync();
        Assert.NotEqual(0, server.Port);
        Assert.Equal(IPAddress.Loopback, server.EndPoint.Address);
    }

    [Fact]
    public async Task ReadRequest_WithOptions_AnswersOackFromANewTransferId()
    {
        await using var server = await StartAsync();
        using var client = new RawTftpClient(server.EndPoint);
        client.SendRequest("ipxe.efi", "octet", new("tsize", "0"), new("blksize", "1468"), new("windowsize", "4"), new("foo", "bar"));
        var (oack, from) = await client.ExpectAsync();
        Assert.NotEqual(server.Port, from.Port);
        Assert.Equal([0, 6, .. "tsize\0100000\0blksize\01468\0windowsize\04\0"u8], oack);
    }

    [Fact]
    public async Task OvmfSizeProbe_ErrorAfterOack_EndsQuietly_AndTheSecondRequestDownloads()
    {
        await using var server = await StartAsync();
        using var client = new RawTftpClient(server.EndPoint);
        client.SendRequest("ipxe.efi", "octet", new("tsize", "0"), new("blksize", "1468"), new("windowsize", "4"));
        var (_, tid) = await client.ExpectAsync();
        client.Send([0, 5, 0, 8, .. "User aborted the transfer\0"u8], tid);
        await TestServer.WaitUntilAsync(() => server.Metrics.TransfersAbortedByClient == 1 && server.Metrics.ActiveTransfers == 0, TimeSpan.FromSeconds(5));

        var (content, _) = await client.DownloadAsync("ipxe.efi", 1468, 4, new("blksize", "1468"), new("windowsize", "4"));
        Assert.Equal(Bootloader, content);
        await TestServer.WaitUntilAsync(() => server.Metrics.TransfersCompleted == 1, TimeSpan.FromSeconds(5));
        Assert.Equal(0, server.Metrics.TransfersFailed);
    }

    [Fact]
    public async Task PacketFromAnotherTransferId_GetsError5_AndTheTransferContinues()
    {
        await using var server = await StartAsync();
        using var client = new RawTftpClient(server.EndPoint);
        using var intruder = new RawTftpClient(server.EndPoint);
        client.SendRequest("ipxe.efi");
        var (first, tid) = await client.ExpectAsync();
        Assert.Equal(TftpOpcode.Data, (TftpOpcode)first[1]);

        intruder.SendAck(tid, 1);
        var (error, errorFrom) = await intruder.ExpectAsync();
        Assert.Equal(tid, errorFrom);
        Assert.Equal((TftpErrorCode.UnknownTransferId, "Unknown transfer ID"), RawTftpClient.ParseError(error));

        var received = new MemoryStream();
        received.Write(first.AsSpan(4));
        ushort block = 1;
        while (true)
        {
            client.SendAck(tid, block);
            if (received.Length == Bootloader.Length && (received.Length % 512 != 0 || block > Bootloader.Length / 512))
            {
                break;
            }

            var (data, _) = await client.ExpectAsync();
            block = (ushort)((data[2] << 8) | data[3]);
            received.Write(data.AsSpan(4));
        }

        Assert.Equal(Bootloader, received.ToArray());
        await TestServer.WaitUntilAsync(() => server.Metrics.TransfersCompleted == 1, TimeSpan.FromSeconds(5));
        Assert.Equal(1, server.Metrics.UnknownTransferIdPackets);
    }

    [Fact]
    public async Task ClientThatStopsAcknowledging_EndsAfterItsRetries_AndFreesTheSocket()
    {
        await using var server = await StartAsync(o => o with { DefaultTimeout = TimeSpan.FromMilliseconds(100), RetryLimit = 3 });
        using var client = new RawTftpClient(server.EndPoint);
        client.SendRequest("ipxe.efi");
        var (_, tid) = await client.ExpectAsync();
        Assert.True(UdpPortIsOpen(tid.Port));

        var retransmissions = 0;
        (TftpErrorCode, string)? error = null;
        while (await client.ReceiveAsync(TimeSpan.FromSeconds(2)) is { } next)
        {
            if (next.Datagram[1] == (byte)TftpOpcode.Data)
            {
                Assert.Equal(1, next.Datagram[3]);
                retransmissions++;
            }
            else
            {
                error = RawTftpClient.ParseError(next.Datagram);
                break;
            }
        }

        Assert.Equal(3, retransmissions);
        Assert.Equal((TftpErrorCode.NotDefined, "Transfer timed out"), error);
        await TestServer.WaitUntilAsync(() => server.Metrics.ActiveTransfers == 0, TimeSpan.FromSeconds(5));
        Assert.Equal(1, server.Metrics.TransfersFailed);
        Assert.False(UdpPortIsOpen(tid.Port));
    }

    [Fact]
    public async Task DuplicateAcks_NeverCauseDuplicateData()
    {
        await using var server = await StartAsync(o => o with { DefaultTimeout = TimeSpan.FromSeconds(5) });
        using var client = new RawTftpClient(server.EndPoint);
        client.SendRequest("ipxe.efi");
        var (_, tid) = await client.ExpectAsync();
        for (var i = 0; i < 4; i++)
        {
            client.SendAck(tid, 1);
        }

        var (second, _) = await client.ExpectAsync();
        Assert.Equal([0, 3, 0, 2], second[..4]);
        Assert.Null(await client.ReceiveAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task WriteRequest_IsRefusedWithAccessViolation()
    {
        await using var server = await StartAsync();
        using var client = new RawTftpClient(server.EndPoint);
        client.Send(TftpPacketWriter.BuildRequest(TftpOpcode.WriteRequest, "upload.bin", "octet"));
        var (error, _) = await client.ExpectAsync();
        Assert.Equal((TftpErrorCode.AccessViolation, "Write requests are not accepted"), RawTftpClient.ParseError(error));
        Assert.False(File.Exists(Path.Combine(server.Root.Path, "upload.bin")));
    }

    [Theory]
    [InlineData("mail")]
    [InlineData("binary")]
    [InlineData("")]
    public async Task UnsupportedMode_IsIllegalOperation(string mode)
    {
        await using var server = await StartAsync();
        using var client = new RawTftpClient(server.EndPoint);
        client.SendRequest("ipxe.efi", mode);
        var (error, _) = await client.ExpectAsync();
        Assert.Equal((TftpErrorCode.IllegalOperation, "Unsupported transfer mode"), RawTftpClient.ParseError(error));
    }

    [Fact]
    public async Task InvalidOptionValue_IsRefusedWithError8()
    {
        await using var server = await StartAsync();
        using var client = new RawTftpClient(server.EndPoint);
        client.SendRequest("ipxe.efi", "octet", new TftpOption("blksize", "4"));
        var (error, _) = await client.ExpectAsync();
        Assert.Equal((TftpErrorCode.OptionRefused, "Option value not acceptable"), RawTftpClient.ParseError(error));
        Assert.Equal(0, server.Metrics.ActiveTransfers);
    }

    [Theory]
    [InlineData(new byte[] { 0, 1, (byte)'a' })]
    [InlineData(new byte[] { 0, 1, (byte)'a', 0 })]
    [InlineData(new byte[] { 0, 1, 0, (byte)'o', 0 })]
    [InlineData(new byte[] { 0, 4, 0, 1 })]
    [InlineData(new byte[] { 0, 3, 0, 1, 5 })]
    public async Task MalformedOrUnexpectedDatagram_IsAnsweredWithIllegalOperation_AndCounted(byte[] datagram)
    {
        await using var server = await StartAsync();
        using var client = new RawTftpClient(server.EndPoint);
        client.Send(datagram);
        var (error, _) = await client.ExpectAsync();
        Assert.Equal(TftpErrorCode.IllegalOperation, RawTftpClient.ParseError(error).Code);
        Assert.Equal(1, server.Metrics.BadPackets);
    }

    [Theory]
    [InlineData(new byte[] { 0 })]
    [InlineData(new byte[] { 0, 9, 1, 2 })]
    [InlineData(new byte[] { 0, 5, 0, 1, 0 })]
    public async Task GarbageOrErrorOnTheRequestPort_IsDroppedSilently_AndCounted(byte[] datagram)
    {
        await using var server = await StartAsync();
        using var client = new RawTftpClient(server.EndPoint);
        client.Send(datagram);
        Assert.Null(await client.ReceiveAsync(TimeSpan.FromMilliseconds(300)));
        Assert.Equal(1, server.Metrics.BadPackets);
    }

    [Fact]
    public async Task PxelinuxConfigProbes_AreAnsweredNotFoundQuickly()
    {
        await using var server = await StartAsync();
        using var client = new RawTftpClient(server.EndPoint);
        string[] probes = ["pxelinux.cfg/01-52-54-00-d1-00-0b", "pxelinux.cfg/0AD3006F", "pxelinux.cfg/0AD3006", "pxelinux.cfg/0AD300", "pxelinux.cfg/0AD30", "pxelinux.cfg/0AD3", "pxelinux.cfg/0AD", "pxelinux.cfg/0A", "pxelinux.cfg/0"];
        var started = DateTime.UtcNow;
        foreach (var probe in probes)
        {
            client.SendRequest(probe, "octet", new("tsize", "0"), new("blksize", "1408"));
            var (error, _) = await client.ExpectAsync();
            Assert.Equal((TftpErrorCode.FileNotFound, "File not found"), RawTftpClient.ParseError(error));
        }

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(1));
        Assert.Equal(probes.Length, server.Metrics.FilesNotFound);
        var (content, _) = await client.DownloadAsync("pxelinux.cfg/default");
        Assert.Equal("DEFAULT local\n"u8.ToArray(), content);
    }

    [Fact]
    public async Task ConcurrentLimit_DropsTheExtraRequest_UntilASlotFrees()
    {
        await using var server = await StartAsync(o => o with { MaxConcurrentTransfers = 1, DefaultTimeout = TimeSpan.FromMilliseconds(200), RetryLimit = 1 });
        using var first = new RawTftpClient(server.EndPoint);
        using var second = new RawTftpClient(server.EndPoint);
        first.SendRequest("ipxe.efi");
        await first.ExpectAsync();
        second.SendRequest("ipxe.efi");
        Assert.Null(await second.ReceiveAsync(TimeSpan.FromMilliseconds(150)));
        Assert.Equal(1, server.Metrics.ConcurrentLimitHits);

        await TestServer.WaitUntilAsync(() => server.Metrics.ActiveTransfers == 0, TimeSpan.FromSeconds(5));
        var (content, _) = await second.DownloadAsync("ipxe.efi");
        Assert.Equal(Bootloader, content);
    }

    [Fact]
    public async Task GeneratedSource_IsAskedFirst_AndGetsTheNormalisedPathAndClient()
    {
        var generated = new DictionarySource(new() { ["grub/mac/52:54:00:d1:00:2c.cfg"] = "set default=0\n", ["ipxe.efi"] = "generated wins" });
        await using var server = await StartAsync(source: folder => new CompositeFileSource(generated, folder));
        using var client = new RawTftpClient(server.EndPoint);
        var (config, _) = await client.DownloadAsync("/grub//mac/52:54:00:d1:00:2c.cfg", 1024, 1, new("blksize", "1024"), new("tsize", "0"));
        Assert.Equal("set default=0\n"u8.ToArray(), config);
        Assert.Equal("grub/mac/52:54:00:d1:00:2c.cfg", generated.Requests[0].Path);
        Assert.Equal(client.LocalEndPoint, generated.Requests[0].Client);

        var (winner, _) = await client.DownloadAsync("ipxe.efi");
        Assert.Equal("generated wins"u8.ToArray(), winner);
        var (fallback, _) = await client.DownloadAsync("pxelinux.cfg/default");
        Assert.Equal("DEFAULT local\n"u8.ToArray(), fallback);
    }

    [Fact]
    public async Task FailingSource_AnswersInternalError_WithoutTheExceptionText()
    {
        await using var server = await StartAsync(source: _ => new ThrowingSource());
        using var client = new RawTftpClient(server.EndPoint);
        client.SendRequest("pxelinux.cfg/01-52-54-00-d1-00-0b");
        var (error, _) = await client.ExpectAsync();
        Assert.Equal((TftpErrorCode.NotDefined, "Internal server error"), RawTftpClient.ParseError(error));
        Assert.Equal(0, server.Metrics.FilesNotFound);
    }

    [Fact]
    public async Task HotFile_IsCachedOnce_AndReloadedWhenItChanges()
    {
        await using var server = await StartAsync();
        using var client = new RawTftpClient(server.EndPoint);
        Assert.Equal(Bootloader, (await client.DownloadAsync("ipxe.efi")).Content);
        Assert.Equal(Bootloader, (await client.DownloadAsync("ipxe.efi")).Content);
        Assert.Equal(Bootloader.Length, server.Server.HotFileCacheSize);

        var replaced = TempFolder.RandomBytes(5000, 2);
        server.Root.Write("ipxe.efi", replaced);
        Assert.Equal(replaced, (await client.DownloadAsync("ipxe.efi")).Content);
        Assert.Equal(replaced.Length, server.Server.HotFileCacheSize);
    }

    [Fact]
    public async Task LargeFile_IsStreamedWhenAboveTheCacheLimit_AndRollsOverBlockNumbers()
    {
        var big = TempFolder.RandomBytes((65536 * 512) + 1000, 3);
        await using var server = await TestServer.StartAsync(o => o with { MaxCachedFileSize = 1024 }, populate: r => r.Write("big.bin", big));
        using var client = new RawTftpClient(server.EndPoint);
        var (content, _) = await client.DownloadAsync("big.bin", 512, 1);
        Assert.Equal(big, content);
        Assert.Equal(0, server.Server.HotFileCacheSize);
    }

    [Fact]
    public async Task Stopping_EndsActiveTransfers_TellsTheClient_AndReleasesEverything()
    {
        var server = await StartAsync();
        using var client = new RawTftpClient(server.EndPoint);
        client.SendRequest("ipxe.efi");
        var (_, tid) = await client.ExpectAsync();
        await server.DisposeAsync();
        Assert.True(server.Run.IsCompletedSuccessfully);
        var (error, _) = await client.ExpectAsync();
        Assert.Equal((TftpErrorCode.NotDefined, "Server shutting down"), RawTftpClient.ParseError(error));
        Assert.Equal(0, server.Metrics.ActiveTransfers);
        Assert.False(UdpPortIsOpen(tid.Port));
        Assert.False(UdpPortIsOpen(server.Port));
    }

    [Fact]
    public async Task MutatedDatagrams_OnTheRequestPort_GetOnlyWellFormedReplies()
    {
        // Short timeouts end the mutated transfers quickly.
        await using var server = await StartAsync(o => o with { DefaultTimeout = TimeSpan.FromMilliseconds(100), RetryLimit = 2 });
        using var client = new RawTftpClient(server.EndPoint);
        var random = new Random(77);
        byte[][] corpus =
        [
            [0, 1, .. "ipxe.efi\0octet\0tsize\00\0blksize\01468\0windowsize\04\0"u8],
            [0, 1, .. "/pxelinux.cfg/default\0netascii\0"u8],
            [0, 1, .. "../ipxe.efi\0octet\0"u8],
            [0, 2, .. "x\0octet\0"u8],
        ];
        var replies = 0;
        for (var i = 0; i < 1500; i++)
        {
            client.Send(FuzzTests_Mutate(random, corpus));
            while (await client.ReceiveAsync(TimeSpan.FromMilliseconds(i % 50 == 0 ? 100 : 1)) is { } reply)
            {
                replies++;
                Assert.Equal(TftpParseStatus.Ok, TftpPacket.TryParse(reply.Datagram, out var packet));
                Assert.True(packet.Opcode is TftpOpcode.Error or TftpOpcode.Data or TftpOpcode.OptionAcknowledgement, $"opcode {packet.Opcode}");
                if (packet.Opcode == TftpOpcode.Error)
                {
                    Assert.Equal(0, reply.Datagram[^1]);
                    Assert.True(packet.ErrorCode <= TftpErrorCode.OptionRefused);
                }
            }
        }

        Assert.True(replies > 100);

        // The server still works: a fresh port (stragglers from the mutated transfers still reach the old one), and the
        // RFC 2349 timeout option, so a busy machine's pauses cannot time this transfer out as they may the mutated ones.
        using var fresh = new RawTftpClient(server.EndPoint);
        var (content, _) = await fresh.DownloadAsync("ipxe.efi", 512, 1, new TftpOption("timeout", "5"));
        Assert.Equal(Bootloader, content);
    }

    [Fact]
    public void Options_WithSeveralErrors_AreAllReportedAtOnce()
    {
        var options = new TftpServerOptions
        {
            Port = 70000,
            RootFolder = "/nonexistent/tftp-root",
            MaxBlockSize = 4,
            MaxWindowSize = 40000,
            RetryLimit = -1,
            DefaultTimeout = TimeSpan.Zero,
            MaxConcurrentTransfers = 0,
        };
        var errors = TftpServerOptionsValidator.Validate(options);
        Assert.Equal(7, errors.Count);
        Assert.Contains(errors, e => e.Contains("Tftp:Port 70000", StringComparison.Ordinal) && e.Contains("use 69", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Tftp:RootFolder", StringComparison.Ordinal) && e.Contains("create it", StringComparison.Ordinal));
        var thrown = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => new TftpServer(options));
        Assert.Equal(7, thrown.Failures.Count());
    }

    [Fact]
    public void Options_Defaults_AreValid()
    {
        Assert.Empty(TftpServerOptionsValidator.Validate(new TftpServerOptions(), requireRootFolder: false));
    }

    internal static bool UdpPortIsOpen(int port)
    {
        var hex = port.ToString("X4", CultureInfo.InvariantCulture);
        return File.ReadLines("/proc/self/net/udp").Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1])
            .Any(local => local.EndsWith(":" + hex, StringComparison.Ordinal));
    }

    private static byte[] FuzzTests_Mutate(Random random, byte[][] corpus) => Protocol.FuzzTests.Mutate(random, corpus);

    private sealed class DictionarySource(Dictionary<string, string> files) : ITftpFileSource
    {
        public List<(string Path, IPEndPoint Client)> Requests { get; } = [];

        public ValueTask<TftpFileLookup> FindAsync(string path, IPEndPoint client, CancellationToken cancellationToken)
        {
            lock (Requests)
            {
                Requests.Add((path, client));
            }

            return ValueTask.FromResult(files.TryGetValue(path, out var text)
                ? TftpFileLookup.Found(TftpFileContent.FromBytes(System.Text.Encoding.UTF8.GetBytes(text)))
                : TftpFileLookup.NotFound);
        }
    }

    private sealed class ThrowingSource : ITftpFileSource
    {
        public ValueTask<TftpFileLookup> FindAsync(string path, IPEndPoint client, CancellationToken cancellationToken) =>
            throw new IOException("database at /var/lib/secret/pxe.db is locked");
    }
}
