using System.Collections.Concurrent;
using System.Net.NetworkInformation;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Pxe.Dhcp.Server;

/// <summary>
/// Records Discovered MACs and lease events in the inventory off the reply path: a bounded queue drained by one
/// loop. When the inventory is slower than the traffic, the oldest unrecorded events are dropped rather than
/// delaying replies. A MAC is recorded as Discovered at most once per <see cref="RediscoverInterval"/>.
/// </summary>
internal sealed class InventoryRecorder
{
    /// <summary>Queued events; a burst of this many new MACs is recorded without loss.</summary>
    public const int Capacity = 16384;

    /// <summary>How long a recorded MAC is not recorded again.</summary>
    public static readonly TimeSpan RediscoverInterval = TimeSpan.FromMinutes(10);

    private readonly IBootInventory _inventory;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<PhysicalAddress, DateTimeOffset> _recent = new();
    private long _recentWrites;
    private readonly Channel<object> _queue = Channel.CreateBounded<object>(
        new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    public InventoryRecorder(IBootInventory inventory, ILogger logger)
    {
        _inventory = inventory;
        _logger = logger;
        RecordsDiscovered = inventory.RecordsDiscoveredClients;
        RecordsLeaseEvents = inventory.RecordsLeaseEvents;
    }

    /// <summary>False when the inventory records no Discovered clients: <see cref="Discovered"/> need not be called.</summary>
    public bool RecordsDiscovered { get; }

    /// <summary>False when the inventory records no lease events: <see cref="LeaseEvent"/> need not be called.</summary>
    public bool RecordsLeaseEvents { get; }

    public void Discovered(DhcpDiscoveredClient client)
    {
        if (!RecordsDiscovered)
        {
            return;
        }

        if (_recent.TryGetValue(client.Mac, out var at) && client.SeenAt - at < RediscoverInterval)
        {
            return;
        }

        // Bounded without ConcurrentDictionary.Count, which takes every lock of the table (hundreds once it has grown).
        if (Interlocked.Increment(ref _recentWrites) > Capacity * 4)
        {
            _recent.Clear();
            Interlocked.Exchange(ref _recentWrites, 0);
        }

        _recent[client.Mac] = client.SeenAt;
        _queue.Writer.TryWrite(client);
    }

    public void LeaseEvent(DhcpLeaseEvent leaseEvent)
    {
        if (RecordsLeaseEvents)
        {
            _queue.Writer.TryWrite(leaseEvent);
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await RecordAllAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task RecordAllAsync(CancellationToken cancellationToken)
    {
        await foreach (var item in _queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                switch (item)
                {
                    case DhcpDiscoveredClient client:
                        await _inventory.RecordDiscoveredAsync(client, cancellationToken).ConfigureAwait(false);
                        break;
                    case DhcpLeaseEvent leaseEvent:
                        await _inventory.RecordLeaseEventAsync(leaseEvent, cancellationToken).ConfigureAwait(false);
                        break;
                    default:
                        break;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                string kind = item is DhcpLeaseEvent e ? e.Kind.ToString() : "Discovered";
                string mac = item is DhcpLeaseEvent le ? le.Lease.Mac.ToString() : ((DhcpDiscoveredClient)item).Mac.ToString();
                Log.EventRecordFailed(_logger, ex, kind, mac);
            }
        }
    }
}
