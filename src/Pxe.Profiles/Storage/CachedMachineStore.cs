using System.Collections.Concurrent;
using Pxe.Profiles.Domain;

namespace Pxe.Profiles.Storage;

/// <summary>
/// A read-through cache of machines by MAC in front of the store, for the boot paths that look the same machines up
/// thousands of times a second. It is never the truth: every write goes to the store and drops the entries it touched,
/// the whole cache is dropped when the store's machine revision moved (another server wrote), checked at most every
/// <see cref="FreshnessInterval"/>, and callers re-read past it (<see cref="FindByMacUncachedAsync"/>) before refusing.
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

    /// <summary>Whether a machine reserves <paramref name="address"/> (cached like machines: DHCP asks for every address it offers).</summary>
    public async Task<bool> IsAddressReservedAsync(System.Net.IPAddress address, CancellationToken ct)
    {
        await EnsureFreshAsync(ct);
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
            Interlocked.Increment(ref _generation);
            _byMac.Clear();
            _reserved.Clear();
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
            Interlocked.Increment(ref _generation);
            _byMac.Clear();
            _reserved.Clear();
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
        if (Interlocked.Exchange(ref _revision, revision) != revision)
        {
            Interlocked.Increment(ref _generation);
            _byMac.Clear();
            _reserved.Clear();
        }
    }

    private void ForgetAll(Machine machine)
    {
        Interlocked.Increment(ref _generation);
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
