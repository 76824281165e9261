using System.Net;
using System.Net.NetworkInformation;
using Pxe.Dhcp;
using Pxe.Profiles.Domain;
using Pxe.Profiles.Rendering;
using Pxe.Profiles.Services;
using Pxe.Profiles.Spec;
using Pxe.Profiles.Storage;
using Pxe.Server.Dhcp;

namespace Pxe.Server.Tests;

/// <summary>
/// The DHCP service's adapters over the real SQLite store: lease writes carry their events in the same transaction,
/// and the machine cache answers the per-packet questions (is this MAC known, is this address reserved) from its key
/// snapshot without a store read per new MAC or address, while never hiding a machine written here.
/// </summary>
public sealed class DhcpAdapterTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 3, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "pxe-dhcp-adapter-" + Guid.NewGuid().ToString("N")[..12]);
    private SqliteStore _store = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _store = await SqliteStore.OpenAsync(Path.Combine(_dir, "pxe.db"), CancellationToken.None);
    }

    public Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task BootInventoryAdapter_TakesDiscoveredClientsOnlyWhenThePolicyRecordsThem_AndNoLeaseEvents(bool recordUnknown)
    {
        var spec = new SpecService(_store, _store, new SpecDirectory(_dir), _dir, new RenderSettings { ServerUrl = "http://127.0.0.1:8080", NextServer = "127.0.0.1" });
        await using var events = new EventLog(_store);
        var machines = new CachedMachineStore(_store, TimeProvider.System);
        var provisioning = new ProvisioningService(machines, events, spec, new DiscoveryPolicy { RecordUnknown = recordUnknown }, TimeProvider.System);
        IBootInventory adapter = new BootInventoryAdapter(machines, spec, provisioning);
        Assert.Equal(recordUnknown, adapter.RecordsDiscoveredClients);
        // The lease store writes each lease's event with the lease (the test below): the DHCP service need not queue them.
        Assert.False(adapter.RecordsLeaseEvents);
    }

    [Fact]
    public async Task LeaseStoreAdapter_StoresEveryCommittedWriteWithItsEvent()
    {
        var adapter = new LeaseStoreAdapter(_store);
        var a = IPAddress.Parse("10.240.0.2");
        var results = await adapter.CommitAsync(
        [
            new LeaseWrite(LeaseWriteKind.Bind, Lease(a, "01aa", "52:54:00:00:00:01", T0), T0),
            new LeaseWrite(LeaseWriteKind.Bind, Lease(a, "01aa", "52:54:00:00:00:01", T0.AddMinutes(30)), T0.AddMinutes(30)),
            new LeaseWrite(LeaseWriteKind.Bind, Lease(a, "01bb", "52:54:00:00:00:02", T0.AddMinutes(31)), T0.AddMinutes(31)),
            new LeaseWrite(LeaseWriteKind.Release, Lease(a, "01aa", "52:54:00:00:00:01", T0.AddMinutes(40)) with { State = DhcpLeaseState.Released }, T0.AddMinutes(40)),
        ], CancellationToken.None);

        Assert.Equal(
            [LeaseWriteOutcome.Committed, LeaseWriteOutcome.Committed, LeaseWriteOutcome.AddressInUse, LeaseWriteOutcome.Committed],
            results.Select(r => r.Outcome));
        var events = await _store.QueryEventsAsync(new EventQuery { Kind = EventKinds.Lease }, CancellationToken.None);
        Assert.Equal(
        [
            "lease 10.240.0.2 granted until 2026-11-22 04:00:00Z",
            "lease 10.240.0.2 renewed until 2026-11-22 04:30:00Z",
            "lease 10.240.0.2 released",
        ], events.Select(e => e.Message));
        Assert.All(events, e => Assert.Equal(MacAddress.Parse("52:54:00:00:00:01"), e.Mac));
        Assert.Equal([T0, T0.AddMinutes(30), T0.AddMinutes(40)], events.Select(e => e.Time));
    }

    [Fact]
    public async Task LeaseStoreAdapter_BindAfterTheLeaseRanOut_IsAGrantNotARenewal()
    {
        var adapter = new LeaseStoreAdapter(_store);
        var a = IPAddress.Parse("10.240.0.3");
        await adapter.CommitAsync([new LeaseWrite(LeaseWriteKind.Bind, Lease(a, "01cc", "52:54:00:00:00:03", T0), T0)], CancellationToken.None);
        await adapter.CommitAsync([new LeaseWrite(LeaseWriteKind.Bind, Lease(a, "01cc", "52:54:00:00:00:03", T0.AddHours(2)), T0.AddHours(2))], CancellationToken.None);

        var events = await _store.QueryEventsAsync(new EventQuery { Kind = EventKinds.Lease }, CancellationToken.None);
        Assert.Equal(["lease 10.240.0.3 granted until 2026-11-22 04:00:00Z", "lease 10.240.0.3 granted until 2026-11-22 06:00:00Z"], events.Select(e => e.Message));
    }

    [Fact]
    public async Task CachedMachineStore_UnknownMacsAndFreeAddresses_CostNoStoreLookup()
    {
        var counting = new CountingMachineStore(_store);
        await _store.SaveMachineAsync(Machine("52:54:00:00:01:01", "10.240.9.9"), null, CancellationToken.None);
        var cache = new CachedMachineStore(counting, new ManualClock());

        for (var i = 0; i < 200; i++)
        {
            Assert.Null(await cache.FindByMacAsync(MacAddress.Parse($"52:54:00:10:00:{i:x2}"), CancellationToken.None));
            Assert.False(await cache.IsAddressReservedAsync(IPAddress.Parse($"10.240.1.{i}"), CancellationToken.None));
        }

        Assert.True(await cache.IsAddressReservedAsync(IPAddress.Parse("10.240.9.9"), CancellationToken.None));
        Assert.NotNull(await cache.FindByMacAsync(MacAddress.Parse("52:54:00:00:01:01"), CancellationToken.None));
        Assert.Equal(0, counting.IPv4Lookups);
        Assert.Equal(1, counting.MacLookups);   // the known machine, read once for its record
        Assert.Equal(1, counting.KeyLoads);
    }

    [Fact]
    public async Task CachedMachineStore_MachineSavedHere_IsFoundAtOnce()
    {
        var cache = new CachedMachineStore(_store, new ManualClock());
        var mac = MacAddress.Parse("52:54:00:00:02:01");
        Assert.Null(await cache.FindByMacAsync(mac, CancellationToken.None));   // keys loaded without it

        await cache.SaveMachineAsync(Machine("52:54:00:00:02:01", "10.240.8.8"), null, CancellationToken.None);

        Assert.NotNull(await cache.FindByMacAsync(mac, CancellationToken.None));
        Assert.True(await cache.IsAddressReservedAsync(IPAddress.Parse("10.240.8.8"), CancellationToken.None));
    }

    [Fact]
    public async Task CachedMachineStore_MachineWrittenByAnotherServer_IsFoundAfterTheFreshnessInterval()
    {
        var clock = new ManualClock();
        var cache = new CachedMachineStore(_store, clock);
        var mac = MacAddress.Parse("52:54:00:00:03:01");
        Assert.Null(await cache.FindByMacAsync(mac, CancellationToken.None));

        // Written past the cache, as a second server sharing the store would.
        await _store.SaveMachineAsync(Machine("52:54:00:00:03:01", "10.240.7.7"), null, CancellationToken.None);
        clock.Advance(CachedMachineStore.FreshnessInterval + TimeSpan.FromMilliseconds(1));

        Assert.NotNull(await cache.FindByMacAsync(mac, CancellationToken.None));
        Assert.True(await cache.IsAddressReservedAsync(IPAddress.Parse("10.240.7.7"), CancellationToken.None));
    }

    private static DhcpLease Lease(IPAddress address, string clientId, string mac, DateTimeOffset starts) => new()
    {
        Address = address,
        ClientId = clientId,
        Mac = PhysicalAddress.Parse(mac.Replace(':', '-')),
        Starts = starts,
        Expires = starts.AddHours(1),
    };

    private static Machine Machine(string mac, string address) => new()
    {
        Macs = [MacAddress.Parse(mac)],
        IPv4 = new StaticIPv4 { Address = IPAddress.Parse(address), PrefixLength = 16 },
    };

    private sealed class ManualClock : TimeProvider
    {
        private long _ticks = 1;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }

    /// <summary>The store, counting the per-key lookups and key snapshots that reach it.</summary>
    private sealed class CountingMachineStore(IMachineStore inner) : IMachineStore
    {
        private int _macLookups;
        private int _ipv4Lookups;
        private int _keyLoads;

        public int MacLookups => Volatile.Read(ref _macLookups);

        public int IPv4Lookups => Volatile.Read(ref _ipv4Lookups);

        public int KeyLoads => Volatile.Read(ref _keyLoads);

        public Task<Machine?> FindByMacAsync(MacAddress mac, CancellationToken ct)
        {
            Interlocked.Increment(ref _macLookups);
            return inner.FindByMacAsync(mac, ct);
        }

        public Task<long> GetMachinesRevisionAsync(CancellationToken ct) => inner.GetMachinesRevisionAsync(ct);

        public Task<Machine?> FindByIPv4Async(IPAddress address, CancellationToken ct)
        {
            Interlocked.Increment(ref _ipv4Lookups);
            return inner.FindByIPv4Async(address, ct);
        }

        public Task<MachineKeys> LoadMachineKeysAsync(CancellationToken ct)
        {
            Interlocked.Increment(ref _keyLoads);
            return inner.LoadMachineKeysAsync(ct);
        }

        public Task<IReadOnlyList<Machine>> ListMachinesAsync(MachineQuery query, CancellationToken ct) => inner.ListMachinesAsync(query, ct);

        public Task<long> CountMachinesAsync(CancellationToken ct) => inner.CountMachinesAsync(ct);

        public Task<Machine> SaveMachineAsync(Machine machine, MachineEvent? evt, CancellationToken ct) => inner.SaveMachineAsync(machine, evt, ct);

        public Task<IReadOnlyList<Machine>> ImportMachinesAsync(IReadOnlyList<Machine> machines, string actor, CancellationToken ct) =>
            inner.ImportMachinesAsync(machines, actor, ct);

        public Task<bool> DeleteMachineAsync(MacAddress mac, MachineEvent evt, CancellationToken ct) => inner.DeleteMachineAsync(mac, evt, ct);
    }
}
