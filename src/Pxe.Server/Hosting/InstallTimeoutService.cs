using Pxe.Profiles.Services;

namespace Pxe.Server.Hosting;

/// <summary>Marks installs that passed their profile's deadline as Failed, every <see cref="PxeOptions.InstallTimeoutCheckInterval"/>.</summary>
internal sealed partial class InstallTimeoutService(ProvisioningService provisioning, PxeOptions options, ILogger<InstallTimeoutService> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.InstallTimeoutCheckInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var n = await provisioning.ExpireInstallsAsync(stoppingToken);
                if (n > 0)
                {
                    LogExpired(n);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogCheckFailed(e);
            }
        }
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "{Count} installs passed their deadline and were marked Failed")]
    private partial void LogExpired(int count);

    [LoggerMessage(EventId = 101, Level = LogLevel.Error, Message = "checking install deadlines failed")]
    private partial void LogCheckFailed(Exception e);
}
