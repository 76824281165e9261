using System.Net.NetworkInformation;

namespace Pxe.Dhcp.Protocol;

/// <summary>
/// The server's in-memory view of the lease table: a cache of the store plus offers held for a short time. It picks
/// candidate addresses quickly; the store's conditional commit remains the guarantee of uniqueness. Not thread-safe:
/// the caller serializes access. Time is passed in; nothing here reads a clock.
/// </summary>
internal sealed class LeaseIndex
{
    private readonly Dictionary<uint, Entry> _byAddress = [];
    private readonly Dictionary<string, uint> _byClient = new(StringComparer.Ordinal);
    private readonly Dictionary<int, uint> _cursors = [];

    /// <summary>What the index knows about one address.</summary>
    internal enum EntryState
    {
        /// <summary>Offered to <see cref="Entry.ClientKey"/> until <see cref="Entry.Expires"/>; not in the store.</summary>
        Offered,

        /// <summary>Stored as bound until <see cref="Entry.Expires"/>.</summary>
        Bound,

        /// <summary>Stored as declined; quarantined until <see cref="Entry.Expires"/>.</summary>
        Declined,

        /// <summary>Stored as released or expired; free, remembered so the client may get it again.</summary>
        Free,

        /// <summary>Some machine's reservation (learned from the inventory) until <see cref="Entry.Expires"/>.</summary>
        ReservedElsewhere,
    }

    internal sealed class Entry
    {
        public required uint Address { get; init; }

        public string ClientKey { get; set; } = "";

        public PhysicalAddress? Mac { get; set; }

        public EntryState State { get; set; }

        public DateTimeOffset Expires { get; set; }

        public DateTimeOffset Starts { get; set; }

        public string? HostName { get; set; }
    }

    public int Count => _byAddress.Count;

    /// <summary>The entry for an address, or null.</summary>
    public Entry? Find(uint address) => _byAddress.GetValueOrDefault(address);

    /// <summary>True when <paramref name="clientKey"/> may take <paramref name="address"/> now.</summary>
    public bool IsAvailableFor(uint address, string clientKey, DateTimeOffset now)
    {
        if (!_byAddress.TryGetValue(address, out var entry))
        {
            return true;
        }

        return entry.State switch
        {
            EntryState.Free => true,
            EntryState.Declined or EntryState.ReservedElsewhere => entry.Expires <= now,
            _ => entry.ClientKey == clientKey || entry.Expires <= now,
        };
    }

    /// <summary>True when the client has this address offered or bound (even if the lease ran out).</summary>
    public bool IsClientAddress(uint address, string clientKey)
        => _byAddress.TryGetValue(address, out var entry)
           && entry.ClientKey == clientKey
           && entry.State is EntryState.Offered or EntryState.Bound or EntryState.Free;

    /// <summary>
    /// The address the client had most recently in <paramref name="subnet"/> (offered, bound or freed) when it is still
    /// available to it, else 0 (RFC 2131 §4.3.1: offer the client's current or previous address first).
    /// </summary>
    public uint FindClientAddress(string clientKey, DhcpSubnet subnet, DateTimeOffset now)
    {
        if (_byClient.TryGetValue(clientKey, out uint address)
            && subnet.IsHostAddress(address)
            && IsAvailableFor(address, clientKey, now))
        {
            return address;
        }

        return 0;
    }

    /// <summary>
    /// The next pool address available to the client, scanning from a per-subnet cursor and wrapping once; 0 when the
    /// pool is exhausted.
    /// </summary>
    public uint NextFromPool(DhcpSubnet subnet, string clientKey, DateTimeOffset now)
    {
        if (!subnet.HasPool)
        {
            return 0;
        }

        ulong size = (ulong)subnet.PoolEnd - subnet.PoolStart + 1;
        uint cursor = _cursors.GetValueOrDefault(subnet.Index, subnet.PoolStart);
        if (cursor < subnet.PoolStart || cursor > subnet.PoolEnd)
        {
            cursor = subnet.PoolStart;
        }

        for (ulong i = 0; i < size; i++)
        {
            uint candidate = cursor;
            cursor = cursor == subnet.PoolEnd ? subnet.PoolStart : cursor + 1;
            if (IsAvailableFor(candidate, clientKey, now))
            {
                _cursors[subnet.Index] = cursor;
                return candidate;
            }
        }

        return 0;
    }

    /// <summary>Sets an address aside for the client until <paramref name="until"/>, dropping its other offer.</summary>
    public void HoldOffer(uint address, string clientKey, PhysicalAddress mac, DateTimeOffset until)
    {
        if (_byAddress.TryGetValue(address, out var entry) && entry.State == EntryState.Bound && entry.ClientKey == clientKey)
        {
            // Re-offering the client its own bound address: keep the bound entry.
            return;
        }

        DropOffer(clientKey);
        _byAddress[address] = new Entry
        {
            Address = address,
            ClientKey = clientKey,
            Mac = mac,
            State = EntryState.Offered,
            Expires = until,
        };
        _byClient[clientKey] = address;
    }

    /// <summary>Returns the client's held offer to the pool (it chose another server).</summary>
    public void DropOffer(string clientKey)
    {
        if (_byClient.TryGetValue(clientKey, out uint address)
            && _byAddress.TryGetValue(address, out var entry)
            && entry.State == EntryState.Offered
            && entry.ClientKey == clientKey)
        {
            _byAddress.Remove(address);
            _byClient.Remove(clientKey);
        }
    }

    /// <summary>Marks an address as another machine's reservation until <paramref name="until"/>.</summary>
    public void MarkReservedElsewhere(uint address, DateTimeOffset until)
    {
        if (_byAddress.TryGetValue(address, out var entry) && entry.State == EntryState.Bound)
        {
            return;
        }

        _byAddress[address] = new Entry { Address = address, State = EntryState.ReservedElsewhere, Expires = until };
    }

    /// <summary>Applies a stored lease row (after a commit, or when loading the store at start).</summary>
    public void Apply(DhcpLease lease)
    {
        uint address = DhcpServerOptionsValidator.ToUInt32(lease.Address);
        if (_byAddress.TryGetValue(address, out var previous) && previous.ClientKey != lease.ClientId
            && _byClient.TryGetValue(previous.ClientKey, out uint previousAddress) && previousAddress == address)
        {
            _byClient.Remove(previous.ClientKey);
        }

        _byAddress[address] = new Entry
        {
            Address = address,
            ClientKey = lease.ClientId,
            Mac = lease.Mac,
            State = lease.State switch
            {
                DhcpLeaseState.Bound => EntryState.Bound,
                DhcpLeaseState.Declined => EntryState.Declined,
                _ => EntryState.Free,
            },
            Starts = lease.Starts,
            Expires = lease.Expires,
            HostName = lease.HostName,
        };

        if (lease.State != DhcpLeaseState.Declined)
        {
            _byClient[lease.ClientId] = address;
        }
        else if (_byClient.TryGetValue(lease.ClientId, out uint current) && current == address)
        {
            _byClient.Remove(lease.ClientId);
        }
    }

    /// <summary>Bound entries whose lease ran out by <paramref name="now"/>, at most <paramref name="max"/>.</summary>
    public List<Entry> FindExpired(DateTimeOffset now, int max)
    {
        var expired = new List<Entry>();
        foreach (var entry in _byAddress.Values)
        {
            if (entry.State == EntryState.Bound && entry.Expires <= now)
            {
                expired.Add(entry);
                if (expired.Count >= max)
                {
                    break;
                }
            }
            else if (entry.State is EntryState.Offered or EntryState.ReservedElsewhere && entry.Expires <= now)
            {
                // Lapsed offers and reservation marks are simply forgotten on the next sweep.
                entry.State = EntryState.Free;
            }
        }

        return expired;
    }
}
