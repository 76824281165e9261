using Microsoft.Extensions.Logging;
using Pxe.Dhcp.Server;

namespace Pxe.Dhcp;

/// <summary>
/// The DHCP/PXE service: full, proxy or off (see <see cref="DhcpMode"/>). <see cref="RunAsync"/> binds one socket
/// per configured interface, loads the lease store, then handles each datagram on its interface's receive thread until
/// cancelled. Lease writes go to the store in group commits; an ACK leaves only after its lease is stored.
/// </summary>
public sealed class DhcpServer
{
    /// <summary>How often leases that ran out are marked expired in the store.</summary>
    public static readonly TimeSpan ExpirySweepInterval = TimeSpan.FromSeconds(1);

    private readonly DhcpServerOptions _options;
    private readonly IBootInventory _inventory;
    private readonly ILeaseStore _store;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Creates the service; throws <see cref="DhcpConfigurationException"/> listing every configuration error.</summary>
    public DhcpServer(DhcpServerOptions options, IBootInventory inventory, ILeaseStore leaseStore, ILoggerFactory loggerFactory, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(inventory);
        ArgumentNullException.ThrowIfNull(leaseStore);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        DhcpServerOptionsValidator.EnsureValid(options);
        _options = options;
        _inventory = inventory;
        _store = leaseStore;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Pxe.Dhcp.Server");
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Counters for metrics.</summary>
    public DhcpServerCounters Counters { get; } = new();

    /// <summary>Completes when the sockets are bound and the leases loaded (or faults when that failed).</summary>
    public Task Ready => _ready.Task;

    /// <summary>
    /// Runs until <paramref name="cancellationToken"/> is cancelled. The sockets are bound synchronously, before this
    /// method first yields, on the calling thread: a caller may run it from a thread placed in a network namespace.
    /// Returns at once in mode Off.
    /// </summary>
    public Task RunAsync(CancellationToken cancellationToken)
    {
        if (_options.Mode == DhcpMode.Off)
        {
            Log.Disabled(_logger);
            _ready.TrySetResult();
            return Task.CompletedTask;
        }

        DhcpTransport transport;
        try
        {
            transport = DhcpTransport.Bind(_options, _logger, Counters);
        }
        catch (Exception ex)
        {
            _ready.TrySetException(ex);
            throw;
        }

        return RunBoundAsync(transport, cancellationToken);
    }

    private async Task RunBoundAsync(DhcpTransport transport, CancellationToken cancellationToken)
    {
        using var _ = transport;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var leases = new LeaseManager(_store, _options.Transport.MaxCommitBatch, Counters);
        var recorder = new InventoryRecorder(_inventory, _logger);
        var handler = new DhcpRequestHandler(_options, _inventory, leases, recorder, Counters, _loggerFactory, _time);
        var dispatcher = new RequestDispatcher(handler, leases, transport, _options.Transport.Workers, _logger, stop.Token);

        var tasks = new List<Task>();
        try
        {
            int count = await leases.LoadAsync(cancellationToken).ConfigureAwait(false);
            Log.LeasesLoaded(_logger, count);
        }
        catch (Exception ex)
        {
            _ready.TrySetException(ex);
            throw;
        }

        tasks.Add(leases.StartCommitter(stop.Token));
        tasks.Add(Task.Run(() => recorder.RunAsync(stop.Token), CancellationToken.None));
        tasks.Add(Task.Run(() => SweepAsync(leases, recorder, stop.Token), CancellationToken.None));

        var receivers = transport.Endpoints.Select(e => transport.StartReceiver(e, dispatcher, stop.Token)).ToList();
        Log.Started(_logger, _options.Mode, string.Join(", ", _options.Interfaces));
        _ready.TrySetResult();

        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await stop.CancelAsync().ConfigureAwait(false);
        transport.Dispose();
        await Task.WhenAll(receivers).ConfigureAwait(false);
        await Task.WhenAll(tasks).ConfigureAwait(false);
        Log.Stopped(_logger);
    }

    private async Task SweepAsync(LeaseManager leases, InventoryRecorder recorder, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(ExpirySweepInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var now = _time.GetUtcNow();
                foreach (var write in leases.CollectExpired(now, _options.Transport.MaxCommitBatch))
                {
                    try
                    {
                        var result = await leases.CommitAsync(write).ConfigureAwait(false);
                        if (result.Outcome == LeaseWriteOutcome.Committed)
                        {
                            if (_logger.IsEnabled(LogLevel.Debug))
                            {
                                Log.Expired(_logger, write.Lease.Address.ToString(), DhcpRequestHandler.FormatMac(write.Lease.Mac));
                            }

                            recorder.LeaseEvent(new DhcpLeaseEvent(DhcpLeaseEventKind.Expired, result.Current ?? write.Lease, now));
                        }
                    }
                    catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                    {
                        Counters.CountStoreFailure();
                        Log.StoreFailed(_logger, ex, 1);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
