using System.Collections.Concurrent;
using Pxe.Profiles.Domain;

namespace Pxe.Profiles.Storage;

/// <summary>
/// A read-through cache of machines by MAC in front of the store, for the boot paths that look the same machines up
/// thousands of times a second. It is never the truth: every write goes to the store and drops the entries it touched,
/// the whole cache is dropped when the store's machine revision moved (another server wrote), checked at most every
/// <see cref="FreshnessInterval"/>, and callers re-read past it (<see cref="FindByMacUncachedAsync"/>) before refusing.
/// With each revision it also holds every MAC and reserved address of the store (<see cref="MachineKeys"/>), so a MAC
/// or address that no machine has is answered without a query: a boot storm of new MACs (or a DHCP pool being
/// handed out address by address) costs no store read per packet.
/// </summary>
public sealed class CachedMachineStore(IMachineStore inner, TimeProvider clock) : IMachineStore
{
    /// <summary>How stale an entry may be with respect to writes by other servers sharing the store.</summary>
    public static readonly TimeSpan FreshnessInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Most machines kept; past it the cache starts over (a flood of unknown MACs must not grow memory without bound).</summary>
    public const int Capacity = 200_000;

    // A null value caches "no such machine": DHCP asks about unknown MACs on every packet.
    private readonly ConcurrentDictionary<MacAddress, Machine?> _byMac = new();
    private readonly ConcurrentDictionary<System.Net.IPAddress, bool> _reserved = new();
    private readonly Lock _keysLock = new();

    // Every MAC and reserved address of the store at _revision; null while not known (at start, or after a write
    // here until the next freshness check): lookups then ask the store key by key.
    private MachineKeys? _keys;
    private long _revision = -1;
    private long _generation;
    private long _checkedAt = long.MinValue;

    /// <inheritdoc />
    public async Task<Machine?> FindByMacAsync(MacAddress mac, CancellationToken ct)
    {
        await EnsureFreshAsync(ct);
        if (_byMac.TryGetValue(mac, out var cached))
        {
            return cached;
        }

        if (Volatile.Read(ref _keys) is { } keys && !keys.Macs.Contains(mac))
        {
            return null;
        }

        var generation = Interlocked.Read(ref _generation);
        var machine = await inner.FindByMacAsync(mac, ct);
        // Cache only what no write (here, or noticed from elsewhere) can have overtaken while it was being read.
        if (generation == Interlocked.Read(ref _generation))
        {
            if (_byMac.Count >= Capacity)
            {
                _byMac.Clear();
            }

            if (machine is null)
            {
                _byMac[mac] = null;
            }
            else
            {
                foreach (var m in machine.Macs)
                {
                    _byMac[m] = machine;
                }
            }
        }

        return machine;
    }

    /// <inheritdoc />
    public Task<Machine?> FindByMacUncachedAsync(MacAddress mac, CancellationToken ct)
    {
        Forget(mac);
        return inner.FindByMacUncachedAsync(mac, ct);
    }

    /// <inheritdoc />
    public Task<long> GetMachinesRevisionAsync(CancellationToken ct) => inner.GetMachinesRevisionAsync(ct);

    /// <inheritdoc />
    public Task<Machine?> FindByIPv4Async(System.Net.IPAddress address, CancellationToken ct) => inner.FindByIPv4Async(address, ct);

    /// <inheritdoc />
    public Task<MachineKeys> LoadMachineKeysAsync(CancellationToken ct) => inner.LoadMachineKeysAsync(ct);

    /// <summary>Whether a machine reserves <paramref name="address"/> (cached like machines: DHCP asks for every address it offers).</summary>
    public async Task<bool> IsAddressReservedAsync(System.Net.IPAddress address, CancellationToken ct)
    {
        await EnsureFreshAsync(ct);
        if (Volatile.Read(ref _keys) is { } keys)
        {
            return keys.Addresses.Contains(address);
        }

        if (_reserved.TryGetValue(address, out var reserved))
        {
            return reserved;
        }

        var generation = Interlocked.Read(ref _generation);
        reserved = await inner.FindByIPv4Async(address, ct) is not null;
        if (generation == Interlocked.Read(ref _generation))
        {
            if (_reserved.Count >= Capacity)
            {
                _reserved.Clear();
            }

            _reserved[address] = reserved;
        }

        return reserved;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<Machine>> ListMachinesAsync(MachineQuery query, CancellationToken ct) => inner.ListMachinesAsync(query, ct);

    /// <inheritdoc />
    public Task<long> CountMachinesAsync(CancellationToken ct) => inner.CountMachinesAsync(ct);

    /// <inheritdoc />
    public async Task<Machine> SaveMachineAsync(Machine machine, MachineEvent? evt, CancellationToken ct)
    {
        ForgetAll(machine);
        try
        {
            return await inner.SaveMachineAsync(machine, evt, ct);
        }
        finally
        {
            ForgetAll(machine);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<Machine>> ImportMachinesAsync(IReadOnlyList<Machine> machines, string actor, CancellationToken ct)
    {
        try
        {
            return await inner.ImportMachinesAsync(machines, actor, ct);
        }
        finally
        {
            DropAll();
        }
    }

    /// <inheritdoc />
    public async Task<bool> DeleteMachineAsync(MacAddress mac, MachineEvent evt, CancellationToken ct)
    {
        try
        {
            return await inner.DeleteMachineAsync(mac, evt, ct);
        }
        finally
        {
            DropAll();
        }
    }

    private async ValueTask EnsureFreshAsync(CancellationToken ct)
    {
        var now = clock.GetTimestamp();
        var last = Interlocked.Read(ref _checkedAt);
        if (last != long.MinValue && clock.GetElapsedTime(last, now) < FreshnessInterval)
        {
            return;
        }

        if (Interlocked.CompareExchange(ref _checkedAt, now, last) != last)
        {
            return;
        }

        var revision = await inner.GetMachinesRevisionAsync(ct);
        if (revision == Interlocked.Read(ref _revision) && Volatile.Read(ref _keys) is not null)
        {
            return;
        }

        // The revision moved (or the keys were dropped by a write here): one snapshot of every key replaces the cache.
        var generation = Interlocked.Read(ref _generation);
        var keys = await inner.LoadMachineKeysAsync(ct);
        lock (_keysLock)
        {
            // A write here while the snapshot was read may be missing from it: then keep asking key by key until the next check.
            bool overtaken = generation != Interlocked.Read(ref _generation);
            if (Interlocked.Exchange(ref _revision, keys.Revision) != keys.Revision)
            {
                Interlocked.Increment(ref _generation);
                _byMac.Clear();
                _reserved.Clear();
            }

            Volatile.Write(ref _keys, overtaken ? null : keys);
        }
    }

    private void DropAll()
    {
        lock (_keysLock)
        {
            Interlocked.Increment(ref _generation);
            Volatile.Write(ref _keys, null);
        }

        _byMac.Clear();
        _reserved.Clear();
    }

    private void ForgetAll(Machine machine)
    {
        lock (_keysLock)
        {
            Interlocked.Increment(ref _generation);
            Volatile.Write(ref _keys, null);
        }

        // Any machine write may add or drop a reservation.
        _reserved.Clear();
        foreach (var m in machine.Macs)
        {
            // The cached copy may still list MACs this write removes: drop those keys too.
            if (_byMac.TryRemove(m, out var old) && old is not null)
            {
                foreach (var o in old.Macs)
                {
                    Forget(o);
                }
            }
        }
    }

    private void Forget(MacAddress mac) => _byMac.TryRemove(mac, out _);
}
