using Microsoft.Extensions.Logging;
using Pxe.Dhcp.Protocol;

namespace Pxe.Dhcp.Server;

/// <summary>Log messages of the DHCP service. Field names are shared across the project: Mac, Xid, Interface, Client, File.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = DhcpEventIds.Started, EventName = nameof(DhcpEventIds.Started), Level = LogLevel.Information, Message = "DHCP service started in {Mode} mode on {Interfaces}")]
    public static partial void Started(ILogger logger, DhcpMode mode, string interfaces);

    [LoggerMessage(EventId = DhcpEventIds.Disabled, EventName = nameof(DhcpEventIds.Disabled), Level = LogLevel.Information, Message = "DHCP service is off (mode Off); HTTP and TFTP serve alone")]
    public static partial void Disabled(ILogger logger);

    [LoggerMessage(EventId = DhcpEventIds.Listening, EventName = nameof(DhcpEventIds.Listening), Level = LogLevel.Information, Message = "Listening on {Interface} (index {Index}) at {EndPoint}")]
    public static partial void Listening(ILogger logger, string @interface, int index, string endPoint);

    [LoggerMessage(EventId = DhcpEventIds.LeasesLoaded, EventName = nameof(DhcpEventIds.LeasesLoaded), Level = LogLevel.Information, Message = "Loaded {Count} leases from the store")]
    public static partial void LeasesLoaded(ILogger logger, int count);

    [LoggerMessage(EventId = DhcpEventIds.Stopped, EventName = nameof(DhcpEventIds.Stopped), Level = LogLevel.Information, Message = "DHCP service stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(EventId = DhcpEventIds.Offered, EventName = nameof(DhcpEventIds.Offered), Level = LogLevel.Debug, Message = "OFFER {Address} to {Mac} xid {Xid:x8} on {Interface}, file {File}")]
    public static partial void Offered(ILogger logger, string address, string mac, uint xid, string @interface, string? file);

    [LoggerMessage(EventId = DhcpEventIds.Acknowledged, EventName = nameof(DhcpEventIds.Acknowledged), Level = LogLevel.Debug, Message = "ACK {Address} to {Mac} xid {Xid:x8} on {Interface} ({State}), file {File}")]
    public static partial void Acknowledged(ILogger logger, string address, string mac, uint xid, string @interface, DhcpRequestState state, string? file);

    [LoggerMessage(EventId = DhcpEventIds.NotAcknowledged, EventName = nameof(DhcpEventIds.NotAcknowledged), Level = LogLevel.Information, Message = "NAK {Address} to {Mac} xid {Xid:x8} on {Interface}: {Reason}")]
    public static partial void NotAcknowledged(ILogger logger, string address, string mac, uint xid, string @interface, string reason);

    [LoggerMessage(EventId = DhcpEventIds.Released, EventName = nameof(DhcpEventIds.Released), Level = LogLevel.Debug, Message = "RELEASE {Address} by {Mac}: {Outcome}")]
    public static partial void Released(ILogger logger, string address, string mac, LeaseWriteOutcome outcome);

    [LoggerMessage(EventId = DhcpEventIds.Declined, EventName = nameof(DhcpEventIds.Declined), Level = LogLevel.Warning, Message = "DECLINE {Address} by {Mac}: address in use on the network, quarantined until {Until}")]
    public static partial void Declined(ILogger logger, string address, string mac, DateTimeOffset until);

    [LoggerMessage(EventId = DhcpEventIds.Informed, EventName = nameof(DhcpEventIds.Informed), Level = LogLevel.Debug, Message = "ACK to INFORM from {Client} ({Mac}) xid {Xid:x8}")]
    public static partial void Informed(ILogger logger, string client, string mac, uint xid);

    [LoggerMessage(EventId = DhcpEventIds.ProxyOffered, EventName = nameof(DhcpEventIds.ProxyOffered), Level = LogLevel.Debug, Message = "proxyDHCP OFFER to {Mac} xid {Xid:x8} on {Interface}, file {File}")]
    public static partial void ProxyOffered(ILogger logger, string mac, uint xid, string @interface, string? file);

    [LoggerMessage(EventId = DhcpEventIds.BootServerAcknowledged, EventName = nameof(DhcpEventIds.BootServerAcknowledged), Level = LogLevel.Debug, Message = "boot server ACK to {Client} ({Mac}) xid {Xid:x8}, file {File}")]
    public static partial void BootServerAcknowledged(ILogger logger, string client, string mac, uint xid, string? file);

    [LoggerMessage(EventId = DhcpEventIds.IgnoredUnknownMac, EventName = nameof(DhcpEventIds.IgnoredUnknownMac), Level = LogLevel.Debug, Message = "Ignoring unknown MAC {Mac} xid {Xid:x8} (unknown-MAC policy Ignore)")]
    public static partial void IgnoredUnknownMac(ILogger logger, string mac, uint xid);

    [LoggerMessage(EventId = DhcpEventIds.IgnoredOtherServer, EventName = nameof(DhcpEventIds.IgnoredOtherServer), Level = LogLevel.Debug, Message = "{Mac} xid {Xid:x8} chose server {Server}; offer withdrawn")]
    public static partial void IgnoredOtherServer(ILogger logger, string mac, uint xid, string server);

    [LoggerMessage(EventId = DhcpEventIds.IgnoredNoSubnet, EventName = nameof(DhcpEventIds.IgnoredNoSubnet), Level = LogLevel.Debug, Message = "No subnet for {Mac} xid {Xid:x8} on {Interface} (giaddr {Relay}); not answering")]
    public static partial void IgnoredNoSubnet(ILogger logger, string mac, uint xid, string @interface, string relay);

    [LoggerMessage(EventId = DhcpEventIds.IgnoredNonPxe, EventName = nameof(DhcpEventIds.IgnoredNonPxe), Level = LogLevel.Debug, Message = "proxy mode: {Mac} xid {Xid:x8} is not a PXE client; not answering")]
    public static partial void IgnoredNonPxe(ILogger logger, string mac, uint xid);

    [LoggerMessage(EventId = DhcpEventIds.IgnoredNoRecord, EventName = nameof(DhcpEventIds.IgnoredNoRecord), Level = LogLevel.Debug, Message = "{Mac} xid {Xid:x8} asked for {Address} ({State}) and this server has no record of it; staying silent (RFC 2131 §4.3.2)")]
    public static partial void IgnoredNoRecord(ILogger logger, string mac, uint xid, string address, DhcpRequestState state);

    [LoggerMessage(EventId = DhcpEventIds.Expired, EventName = nameof(DhcpEventIds.Expired), Level = LogLevel.Debug, Message = "Lease {Address} of {Mac} expired")]
    public static partial void Expired(ILogger logger, string address, string mac);

    [LoggerMessage(EventId = DhcpEventIds.BadPacket, EventName = nameof(DhcpEventIds.BadPacket), Level = LogLevel.Debug, Message = "Dropped a {Length}-byte datagram from {Client} on {Interface}: {Status}")]
    public static partial void BadPacket(ILogger logger, int length, string client, string @interface, DhcpParseStatus status);

    [LoggerMessage(EventId = DhcpEventIds.InvalidRequestState, EventName = nameof(DhcpEventIds.InvalidRequestState), Level = LogLevel.Debug, Message = "Dropped a DHCPREQUEST from {Mac} xid {Xid:x8}: no option 50, 54 or ciaddr (RFC 2131 §4.3.2)")]
    public static partial void InvalidRequestState(ILogger logger, string mac, uint xid);

    [LoggerMessage(EventId = DhcpEventIds.ForeignInterface, EventName = nameof(DhcpEventIds.ForeignInterface), Level = LogLevel.Warning, Message = "Dropped a datagram that arrived on interface index {Index} on the socket of {Interface}")]
    public static partial void ForeignInterface(ILogger logger, int index, string @interface);

    [LoggerMessage(EventId = DhcpEventIds.PoolExhausted, EventName = nameof(DhcpEventIds.PoolExhausted), Level = LogLevel.Warning, Message = "No free address for {Mac} in subnet {Subnet}: pool exhausted or absent")]
    public static partial void PoolExhausted(ILogger logger, string mac, string subnet);

    [LoggerMessage(EventId = DhcpEventIds.ReservationOffLink, EventName = nameof(DhcpEventIds.ReservationOffLink), Level = LogLevel.Warning, Message = "Reservation {Address} of {Mac} is not in subnet {Subnet} where the client is; not answering. Fix the machine's address or the subnet configuration")]
    public static partial void ReservationOffLink(ILogger logger, string address, string mac, string subnet);

    [LoggerMessage(EventId = DhcpEventIds.StoreFailed, EventName = nameof(DhcpEventIds.StoreFailed), Level = LogLevel.Error, Message = "Lease store commit failed; {Count} clients get no reply and will retry")]
    public static partial void StoreFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = DhcpEventIds.InventoryFailed, EventName = nameof(DhcpEventIds.InventoryFailed), Level = LogLevel.Error, Message = "Inventory lookup for {Mac} failed; not answering")]
    public static partial void InventoryFailed(ILogger logger, Exception exception, string mac);

    [LoggerMessage(EventId = DhcpEventIds.ReplyNotWritten, EventName = nameof(DhcpEventIds.ReplyNotWritten), Level = LogLevel.Error, Message = "Reply to {Mac} not sent: {Status} (boot file {File})")]
    public static partial void ReplyNotWritten(ILogger logger, string mac, DhcpWriteStatus status, string? file);

    [LoggerMessage(EventId = DhcpEventIds.SendFailed, EventName = nameof(DhcpEventIds.SendFailed), Level = LogLevel.Warning, Message = "Sending a reply to {Client} on {Interface} failed: {Error}")]
    public static partial void SendFailed(ILogger logger, string client, string @interface, string error);

    [LoggerMessage(EventId = DhcpEventIds.ReservationTaken, EventName = nameof(DhcpEventIds.ReservationTaken), Level = LogLevel.Warning, Message = "Reserved address {Address} of {Mac} is leased to client {Client} in the store; NAK until that lease ends")]
    public static partial void ReservationTaken(ILogger logger, string address, string mac, string client);

    [LoggerMessage(EventId = DhcpEventIds.HandlerFailed, EventName = nameof(DhcpEventIds.HandlerFailed), Level = LogLevel.Error, Message = "Handling a datagram from {Client} on {Interface} failed")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string client, string @interface);

    [LoggerMessage(EventId = DhcpEventIds.ReceiveFailed, EventName = nameof(DhcpEventIds.ReceiveFailed), Level = LogLevel.Warning, Message = "Receive on {Interface} failed: {Error}")]
    public static partial void ReceiveFailed(ILogger logger, string @interface, string error);

    [LoggerMessage(EventId = DhcpEventIds.EventRecordFailed, EventName = nameof(DhcpEventIds.EventRecordFailed), Level = LogLevel.Warning, Message = "Recording a {Kind} event for {Mac} in the inventory failed")]
    public static partial void EventRecordFailed(ILogger logger, Exception exception, string kind, string mac);

    [LoggerMessage(EventId = DhcpEventIds.ArpFallback, EventName = nameof(DhcpEventIds.ArpFallback), Level = LogLevel.Debug, Message = "Could not add an ARP entry for {Address} on {Interface} (errno {Errno}); broadcasting the reply instead")]
    public static partial void ArpFallback(ILogger logger, string address, string @interface, int errno);
}
