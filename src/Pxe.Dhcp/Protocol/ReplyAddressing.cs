namespace Pxe.Dhcp.Protocol;

/// <summary>Where a reply goes.</summary>
internal enum ReplyDestinationKind
{
    /// <summary>To the relay agent at giaddr, server port.</summary>
    Relay,

    /// <summary>To the limited broadcast address, client port, out of the receiving interface.</summary>
    Broadcast,

    /// <summary>To ciaddr, client port.</summary>
    ClientAddress,

    /// <summary>To yiaddr at chaddr (the client has no address yet and cannot receive broadcast-less IP otherwise).</summary>
    HardwareUnicast,
}

/// <summary>A reply destination: kind and IPv4 address (host order); the port follows from the kind.</summary>
internal readonly record struct ReplyDestination(ReplyDestinationKind Kind, uint Address);

/// <summary>Reply addressing per RFC 2131 §4.1 (the paragraph after figure 2) and §4.3.2, as one table.</summary>
internal static class ReplyAddressing
{
    /// <summary>
    /// Chooses the destination. Rows are tried in order; the first that matches wins:
    /// <list type="table">
    /// <listheader><term>condition</term><description>destination</description></listheader>
    /// <item><term>giaddr ≠ 0</term><description>relay agent at giaddr, port 67 (§4.1)</description></item>
    /// <item><term>reply is DHCPNAK</term><description>broadcast (§4.1: NAKs to directly attached clients are broadcast)</description></item>
    /// <item><term>ciaddr ≠ 0</term><description>unicast to ciaddr (§4.1; RENEWING, REBINDING, INFORM)</description></item>
    /// <item><term>broadcast bit set</term><description>broadcast (§4.1; OVMF sets it)</description></item>
    /// <item><term>yiaddr ≠ 0</term><description>unicast to chaddr and yiaddr (§4.1; iPXE leaves the bit clear)</description></item>
    /// <item><term>otherwise</term><description>broadcast (a proxyDHCP offer has no yiaddr)</description></item>
    /// </list>
    /// </summary>
    public static ReplyDestination Decide(uint relayAddress, uint clientAddress, bool broadcastFlag, DhcpMessageType replyType, uint yourAddress)
    {
        if (relayAddress != 0)
        {
            return new ReplyDestination(ReplyDestinationKind.Relay, relayAddress);
        }

        if (replyType == DhcpMessageType.Nak)
        {
            return new ReplyDestination(ReplyDestinationKind.Broadcast, 0);
        }

        if (clientAddress != 0)
        {
            return new ReplyDestination(ReplyDestinationKind.ClientAddress, clientAddress);
        }

        if (broadcastFlag)
        {
            return new ReplyDestination(ReplyDestinationKind.Broadcast, 0);
        }

        return yourAddress != 0
            ? new ReplyDestination(ReplyDestinationKind.HardwareUnicast, yourAddress)
            : new ReplyDestination(ReplyDestinationKind.Broadcast, 0);
    }

    /// <summary>
    /// Flags of the reply: the client's flags, plus the broadcast bit on a NAK through a relay so the relay
    /// broadcasts it to the client (RFC 2131 §4.3.2).
    /// </summary>
    public static ushort ReplyFlags(ushort requestFlags, uint relayAddress, DhcpMessageType replyType)
        => replyType == DhcpMessageType.Nak && relayAddress != 0
            ? (ushort)(requestFlags | DhcpPacket.BroadcastFlag)
            : requestFlags;
}
