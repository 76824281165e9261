using Pxe.Dhcp.Ipv6;

namespace Pxe.Server.Dhcp;

/// <summary>Runs a <see cref="RouterAdvertiser"/> on each DHCP interface when <see cref="DhcpSettings.FastIpxe"/> is on.</summary>
internal sealed partial class FastIpxeService(IReadOnlyList<string> interfaces, ILoggerFactory loggers) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var log = loggers.CreateLogger("Pxe.Dhcp.FastIpxe");
        var advertisers = new List<RouterAdvertiser>();
        try
        {
            foreach (var name in interfaces)
            {
                try
                {
                    advertisers.Add(RouterAdvertiser.Open(name, log));
                }
                catch (Exception e) when (e is InvalidOperationException or System.Net.Sockets.SocketException)
                {
                    // DHCP keeps serving; iPXE just boots about 13 s slower on this interface.
                    Unavailable(log, name, e.Message);
                }
            }

            try
            {
                await Task.WhenAll(advertisers.Select(a => a.RunAsync(stoppingToken)));
            }
            catch (Exception e) when (e is InvalidOperationException or System.Net.Sockets.SocketException or ObjectDisposedException)
            {
                // Never take the server down: DHCP, TFTP and HTTP keep serving; iPXE only boots slower.
                Unavailable(log, string.Join(", ", interfaces), e.Message);
            }
        }
        finally
        {
            foreach (var a in advertisers)
            {
                a.Dispose();
            }
        }
    }

    [LoggerMessage(EventId = 5003, EventName = "FastIpxeUnavailable", Level = LogLevel.Warning, Message = "Fast iPXE is off on {Interface}: {Reason}")]
    private static partial void Unavailable(ILogger log, string @interface, string reason);
}
