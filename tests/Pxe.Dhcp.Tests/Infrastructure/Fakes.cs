using System.Collections.Concurrent;
using System.Net;
using System.Net.NetworkInformation;
using Microsoft.Extensions.Logging;

namespace Pxe.Dhcp.Tests.Infrastructure;

/// <summary>An inventory held in memory, recording what the server tells it.</summary>
internal sealed class TestInventory : IBootInventory
{
    public ConcurrentDictionary<PhysicalAddress, DhcpMachine> Machines { get; } = new();

    public ConcurrentBag<IPAddress> Reserved { get; } = [];

    public ConcurrentQueue<DhcpDiscoveredClient> Discovered { get; } = new();

    public ConcurrentQueue<DhcpLeaseEvent> Events { get; } = new();

    public Exception? FailWith { get; set; }

    public bool RecordsDiscoveredClients { get; init; } = true;

    public bool RecordsLeaseEvents { get; init; } = true;

    public TestInventory Add(string mac, DhcpReservation? reservation = null, DhcpBootLoader loader = DhcpBootLoader.Ipxe)
    {
        var address = PhysicalAddress.Parse(mac.Replace(':', '-'));
        Machines[address] = new DhcpMachine { Mac = address, Reservation = reservation, BootLoader = loader };
        if (reservation is not null)
        {
            Reserved.Add(reservation.Address);
        }

        return this;
    }

    public ValueTask<DhcpMachine?> FindByMacAsync(PhysicalAddress mac, CancellationToken cancellationToken)
    {
        if (FailWith is not null)
        {
            throw FailWith;
        }

        return ValueTask.FromResult(Machines.GetValueOrDefault(mac));
    }

    public ValueTask<bool> IsAddressReservedAsync(IPAddress address, CancellationToken cancellationToken)
        => ValueTask.FromResult(Reserved.Contains(address));

    public ValueTask RecordDiscoveredAsync(DhcpDiscoveredClient client, CancellationToken cancellationToken)
    {
        Discovered.Enqueue(client);
        return ValueTask.CompletedTask;
    }

    public ValueTask RecordLeaseEventAsync(DhcpLeaseEvent leaseEvent, CancellationToken cancellationToken)
    {
        Events.Enqueue(leaseEvent);
        return ValueTask.CompletedTask;
    }
}

/// <summary>A lease store that fails every commit, as a database that went away.</summary>
internal sealed class FailingLeaseStore : ILeaseStore
{
    public ValueTask<IReadOnlyList<DhcpLease>> LoadAllAsync(CancellationToken cancellationToken)
        => ValueTask.FromResult<IReadOnlyList<DhcpLease>>([]);

    public ValueTask<IReadOnlyList<LeaseWriteResult>> CommitAsync(IReadOnlyList<LeaseWrite> writes, CancellationToken cancellationToken)
        => throw new IOException("database is locked");
}

/// <summary>A clock the test moves.</summary>
internal sealed class ManualTime : TimeProvider
{
    private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>Collects log entries with their category.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(string Category, LogLevel Level, EventId Id, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => owner.Entries.Enqueue((category, logLevel, eventId, formatter(state, exception)));
    }
}
