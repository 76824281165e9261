using Pxe.Dhcp.Protocol;

namespace Pxe.Dhcp;

/// <summary>
/// Monotonic counters of the DHCP service, safe to read from any thread (for metrics). Every received datagram ends
/// in exactly one of: a bad-packet status, an ignore, a failure, or a reply/handled message.
/// </summary>
public sealed class DhcpServerCounters
{
    private readonly long[] _badPackets = new long[Enum.GetValues<DhcpParseStatus>().Length];
    private long _received;
    private long _offers;
    private long _acks;
    private long _naks;
    private long _informs;
    private long _releases;
    private long _declines;
    private long _ignored;
    private long _storeFailures;
    private long _inventoryFailures;
    private long _sendFailures;
    private long _repliesSent;
    private long _leaseCommits;
    private long _leaseWrites;

    /// <summary>Datagrams received on the configured interfaces.</summary>
    public long Received => Volatile.Read(ref _received);

    /// <summary>DHCPOFFERs sent (proxyDHCP offers included).</summary>
    public long Offers => Volatile.Read(ref _offers);

    /// <summary>DHCPACKs sent (to REQUEST, INFORM and boot-server requests).</summary>
    public long Acks => Volatile.Read(ref _acks);

    /// <summary>DHCPNAKs sent.</summary>
    public long Naks => Volatile.Read(ref _naks);

    /// <summary>DHCPINFORMs answered.</summary>
    public long Informs => Volatile.Read(ref _informs);

    /// <summary>DHCPRELEASEs stored.</summary>
    public long Releases => Volatile.Read(ref _releases);

    /// <summary>DHCPDECLINEs stored.</summary>
    public long Declines => Volatile.Read(ref _declines);

    /// <summary>Well-formed requests deliberately not answered (unknown MAC, other server chosen, non-PXE in proxy mode, no subnet…).</summary>
    public long Ignored => Volatile.Read(ref _ignored);

    /// <summary>Requests not answered because the lease store failed.</summary>
    public long StoreFailures => Volatile.Read(ref _storeFailures);

    /// <summary>Requests not answered because the inventory failed.</summary>
    public long InventoryFailures => Volatile.Read(ref _inventoryFailures);

    /// <summary>Replies the socket refused to send.</summary>
    public long SendFailures => Volatile.Read(ref _sendFailures);

    /// <summary>Replies handed to the socket.</summary>
    public long RepliesSent => Volatile.Read(ref _repliesSent);

    /// <summary>Group commits sent to the lease store (one store transaction each).</summary>
    public long LeaseCommits => Volatile.Read(ref _leaseCommits);

    /// <summary>Lease writes sent to the store in those commits; divided by <see cref="LeaseCommits"/>, the mean batch size.</summary>
    public long LeaseWrites => Volatile.Read(ref _leaseWrites);

    /// <summary>Malformed datagrams dropped, all statuses together.</summary>
    public long BadPackets
    {
        get
        {
            long total = 0;
            for (int i = 0; i < _badPackets.Length; i++)
            {
                total += Volatile.Read(ref _badPackets[i]);
            }

            return total;
        }
    }

    /// <summary>Malformed datagrams dropped with this parse status.</summary>
    public long BadPacketsWith(DhcpParseStatus status)
    {
        int i = (int)status;
        return i >= 0 && i < _badPackets.Length ? Volatile.Read(ref _badPackets[i]) : 0;
    }

    internal void CountReceived() => Interlocked.Increment(ref _received);

    internal void CountBad(DhcpParseStatus status) => Interlocked.Increment(ref _badPackets[(int)status]);

    internal void CountOffer() => Interlocked.Increment(ref _offers);

    internal void CountAck() => Interlocked.Increment(ref _acks);

    internal void CountNak() => Interlocked.Increment(ref _naks);

    internal void CountInform() => Interlocked.Increment(ref _informs);

    internal void CountRelease() => Interlocked.Increment(ref _releases);

    internal void CountDecline() => Interlocked.Increment(ref _declines);

    internal void CountIgnored() => Interlocked.Increment(ref _ignored);

    internal void CountStoreFailure() => Interlocked.Increment(ref _storeFailures);

    internal void CountInventoryFailure() => Interlocked.Increment(ref _inventoryFailures);

    internal void CountSendFailure() => Interlocked.Increment(ref _sendFailures);

    internal void CountSent() => Interlocked.Increment(ref _repliesSent);

    internal void CountLeaseCommit(int writes)
    {
        Interlocked.Increment(ref _leaseCommits);
        Interlocked.Add(ref _leaseWrites, writes);
    }
}
