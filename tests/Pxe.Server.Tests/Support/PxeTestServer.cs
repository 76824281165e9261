using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pxe.Profiles.Services;
using Pxe.Server.Hosting;

namespace Pxe.Server.Tests.Support;

/// <summary>
/// The real server (Kestrel on 127.0.0.1, a free port) over a <see cref="TestDirs"/>, with an HttpClient pointed at it.
/// Disposing stops it; the folders are disposed too unless the test passed its own (restart tests reuse them).
/// </summary>
internal sealed class PxeTestServer : IAsyncDisposable
{
    private readonly bool _ownsDirs;

    private PxeTestServer(WebApplication app, PxeOptions options, TestDirs dirs, bool ownsDirs)
    {
        App = app;
        Options = options;
        Dirs = dirs;
        _ownsDirs = ownsDirs;
        Url = options.HttpUrl;
        AdminToken = File.ReadAllText(Path.Combine(dirs.Data, "admin-token")).Trim();
        Http = new HttpClient { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromSeconds(30) };
        Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminToken);
    }

    /// <summary>The admin token the server wrote to its data directory at first start.</summary>
    public string AdminToken { get; }

    /// <summary>A client with no token, or with <paramref name="token"/>.</summary>
    public HttpClient Client(string? token = null)
    {
        var http = new HttpClient { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        return http;
    }

    public WebApplication App { get; }

    public PxeOptions Options { get; }

    public TestDirs Dirs { get; }

    /// <summary>The server's base URL, e.g. http://127.0.0.1:41234 (also what machines are told to use).</summary>
    public string Url { get; }

    public HttpClient Http { get; }

    public static async Task<PxeTestServer> StartAsync(TestDirs? dirs = null, Func<PxeOptions, PxeOptions>? configure = null)
    {
        var owns = dirs is null;
        dirs ??= TestDirs.Create();
        for (var attempt = 0; ; attempt++)
        {
            var options = new PxeOptions
            {
                DataDirectory = dirs.Data,
                SpecDirectory = dirs.Spec,
                TemplatesDirectory = dirs.Templates,
                HttpUrl = $"http://127.0.0.1:{FreePort()}",
                InstallTimeoutCheckInterval = TimeSpan.FromMinutes(10),
                Tftp = new Tftp.TftpSettings { Port = 0 },
            };
            options = configure?.Invoke(options) ?? options;
            var (app, errors) = await ServerApp.BuildAsync(options, b => b.Logging.ClearProviders(), CancellationToken.None);
            if (app is null)
            {
                throw new InvalidOperationException("the server did not build: " + string.Join("; ", errors));
            }

            try
            {
                await app.StartAsync();
                return new PxeTestServer(app, options, dirs, owns);
            }
            catch (IOException) when (attempt < 5)
            {
                // The free port was taken between probing and binding: try another.
                await app.DisposeAsync();
            }
        }
    }

    /// <summary>Waits until every queued observational event (install.served, progress…) is in the store.</summary>
    public Task FlushEventsAsync() => App.Services.GetRequiredService<EventLog>().FlushAsync(CancellationToken.None);

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        if (_ownsDirs)
        {
            Dirs.Dispose();
        }
    }
}
