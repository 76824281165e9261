namespace Pxe.Dhcp.Protocol;

/// <summary>DHCP message types, option 53 (RFC 2132 §9.6).</summary>
internal enum DhcpMessageType : byte
{
    /// <summary>No option 53: a plain BOOTP message.</summary>
    None = 0,
    Discover = 1,
    Offer = 2,
    Request = 3,
    Decline = 4,
    Ack = 5,
    Nak = 6,
    Release = 7,
    Inform = 8,
}

/// <summary>BOOTP op codes (RFC 951, RFC 2131 §2).</summary>
internal enum BootpOpCode : byte
{
    BootRequest = 1,
    BootReply = 2,
}
