namespace Pxe.Dhcp.Protocol;

/// <summary>
/// Result of parsing a datagram as a DHCP message. Every value except <see cref="Ok"/> means the datagram
/// is dropped, counted under that value and logged at Debug in the <c>Pxe.Dhcp.BadPackets</c> category.
/// </summary>
public enum DhcpParseStatus
{
    /// <summary>The datagram is a well-formed message.</summary>
    Ok = 0,

    /// <summary>Shorter than the 236-byte BOOTP header plus the 4-byte magic cookie (RFC 2131 §2).</summary>
    TruncatedHeader,

    /// <summary>The op field is neither BOOTREQUEST (1) nor BOOTREPLY (2).</summary>
    BadOpCode,

    /// <summary>A server received a BOOTREPLY (op 2) where only BOOTREQUEST is valid.</summary>
    WrongOpCode,

    /// <summary>hlen is larger than the 16-byte chaddr field.</summary>
    BadHardwareAddressLength,

    /// <summary>The 4 bytes after the header are not 99.130.83.99 (RFC 2131 §3).</summary>
    BadMagicCookie,

    /// <summary>An option's length byte is missing or its value runs past the end of its area.</summary>
    TruncatedOption,

    /// <summary>The options field has no End option (RFC 2131 §4.1: options end with End).</summary>
    MissingEnd,

    /// <summary>Option 52 (overload) is not one byte of value 1, 2 or 3 (RFC 2132 §9.3).</summary>
    BadOverload,

    /// <summary>No option 53 (DHCP message type): a BOOTP-only client, which this server does not serve.</summary>
    MissingMessageType,

    /// <summary>Option 53 has a length other than 1 or a value outside 1–8.</summary>
    BadMessageType,

    /// <summary>An option with a fixed size has another length (for example option 50 not 4 bytes).</summary>
    BadOptionLength,
}
