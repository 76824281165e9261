using Pxe.Tftp.Protocol;
using Pxe.Tftp.Tests.Support;

namespace Pxe.Tftp.Tests.Server;

/// <summary>The portable transport (asynchronous socket receives, used where epoll is unavailable).</summary>
public class AsyncTransportTests
{
    private static readonly byte[] File = TempFolder.RandomBytes(300_000, 5);

    private static Task<TestServer> StartAsync(TimeSpan? timeout = null) =>
        TestServer.StartAsync(
            o => o with { DefaultTimeout = timeout ?? TimeSpan.FromSeconds(1), RetryLimit = 2 },
            populate: r => r.Write("ipxe.efi", File),
            epollReactor: false);

    [Fact]
    public async Task Download_LockStepAndWindowed_IsByteForByte()
    {
        await using var server = await StartAsync();
        using var client = new RawTftpClient(server.EndPoint);
        Assert.Equal(File, (await client.DownloadAsync("ipxe.efi")).Content);
        Assert.Equal(File, (await client.DownloadAsync("ipxe.efi", 1468, 8, new("blksize", "1468"), new("windowsize", "8"))).Content);
        await TestServer.WaitUntilAsync(() => server.Metrics.TransfersCompleted == 2, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task ForeignTransferId_GetsError5()
    {
        await using var server = await StartAsync();
        using var client = new RawTftpClient(server.EndPoint);
        using var intruder = new RawTftpClient(server.EndPoint);
        client.SendRequest("ipxe.efi");
        var (_, tid) = await client.ExpectAsync();
        intruder.SendAck(tid, 1);
        var (error, _) = await intruder.ExpectAsync();
        Assert.Equal(TftpErrorCode.UnknownTransferId, RawTftpClient.ParseError(error).Code);
    }

    [Fact]
    public async Task SilentClient_EndsAfterRetries_AndFreesTheSocket()
    {
        await using var server = await StartAsync(TimeSpan.FromMilliseconds(100));
        using var client = new RawTftpClient(server.EndPoint);
        client.SendRequest("ipxe.efi");
        var (_, tid) = await client.ExpectAsync();
        await TestServer.WaitUntilAsync(() => server.Metrics.TransfersFailed == 1 && server.Metrics.ActiveTransfers == 0, TimeSpan.FromSeconds(5));
        Assert.False(TftpServerTests.UdpPortIsOpen(tid.Port));
    }
}
