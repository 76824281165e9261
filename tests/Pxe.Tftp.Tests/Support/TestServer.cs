using System.Net;
using Pxe.Tftp.Files;
using Pxe.Tftp.Server;

namespace Pxe.Tftp.Tests.Support;

/// <summary>A <see cref="TftpServer"/> on 127.0.0.1 and a free port, over a temporary root folder.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    private TestServer(TftpServer server, TempFolder root, IPEndPoint endPoint, Task run)
    {
        Server = server;
        Root = root;
        EndPoint = endPoint;
        _run = run;
    }

    public TftpServer Server { get; }

    public TempFolder Root { get; }

    public IPEndPoint EndPoint { get; }

    public int Port => EndPoint.Port;

    public TftpServerMetrics Metrics => Server.Metrics;

    public Task Run => _run;

    public static async Task<TestServer> StartAsync(
        Func<TftpServerOptions, TftpServerOptions>? configure = null,
        Func<RootFolderFileSource, ITftpFileSource>? source = null,
        Action<TempFolder>? populate = null,
        IPAddress? bind = null,
        bool epollReactor = true)
    {
        var root = new TempFolder();
        populate?.Invoke(root);
        var options = new TftpServerOptions { BindAddress = bind ?? IPAddress.Loopback, Port = 0, RootFolder = root.Path };
        options = configure?.Invoke(options) ?? options;
        var folder = new RootFolderFileSource(root.Path);
        var server = new TftpServer(options, source?.Invoke(folder) ?? folder) { UseEpollReactor = epollReactor };
        var stop = new CancellationTokenSource();
        var run = server.RunAsync(stop.Token);
        var endPoint = await server.Listening.WaitAsync(TimeSpan.FromSeconds(10));
        var test = new TestServer(server, root, endPoint, run);
        test._stop.Token.Register(stop.Cancel);
        return test;
    }

    /// <summary>Waits until a condition on the server holds (transfers end asynchronously).</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The condition did not hold in time.");
            }

            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run.WaitAsync(TimeSpan.FromSeconds(15));
        _stop.Dispose();
        Root.Dispose();
    }
}

/// <summary>A temporary folder removed on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = Directory.CreateTempSubdirectory("pxe-tftp-").FullName;
    }

    public string Path { get; }

    public string Write(string relative, byte[] content)
    {
        var full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, content);
        return full;
    }

    public string Write(string relative, string content) => Write(relative, System.Text.Encoding.UTF8.GetBytes(content));

    public static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
