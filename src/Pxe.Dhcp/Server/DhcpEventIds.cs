namespace Pxe.Dhcp.Server;

/// <summary>Every event id of the DHCP service, in one table (1xxx: lifecycle, 2xxx: exchanges, 3xxx: bad input, 4xxx: failures).</summary>
internal static class DhcpEventIds
{
    public const int Started = 1000;
    public const int Disabled = 1001;
    public const int Listening = 1002;
    public const int LeasesLoaded = 1003;
    public const int Stopped = 1004;

    public const int Offered = 2000;
    public const int Acknowledged = 2001;
    public const int NotAcknowledged = 2002;
    public const int Released = 2003;
    public const int Declined = 2004;
    public const int Informed = 2005;
    public const int ProxyOffered = 2006;
    public const int BootServerAcknowledged = 2007;
    public const int IgnoredUnknownMac = 2008;
    public const int IgnoredOtherServer = 2009;
    public const int IgnoredNoSubnet = 2010;
    public const int IgnoredNonPxe = 2011;
    public const int IgnoredNoRecord = 2012;
    public const int Expired = 2013;

    public const int BadPacket = 3000;
    public const int InvalidRequestState = 3001;
    public const int ForeignInterface = 3002;

    public const int PoolExhausted = 4000;
    public const int ReservationOffLink = 4001;
    public const int StoreFailed = 4002;
    public const int InventoryFailed = 4003;
    public const int ReplyNotWritten = 4004;
    public const int SendFailed = 4005;
    // 4006 was QueueFull (the request queue is gone: datagrams are handled on the receive thread); not reused.
    public const int ReservationTaken = 4007;
    public const int HandlerFailed = 4008;
    public const int ReceiveFailed = 4009;
    public const int EventRecordFailed = 4010;
    public const int ArpFallback = 4011;

    // Router advertisements for fast iPXE boots (Ipv6/RouterAdvertiser).
    public const int RouterAdvertiserStarted = 5000;
    public const int RouterAdvertisementSent = 5001;
    public const int RouterAdvertiserFailed = 5002;
    public const int FastIpxeUnavailable = 5003; // logged by the server's FastIpxeService
}
