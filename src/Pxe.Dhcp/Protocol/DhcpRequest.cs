using System.Net.NetworkInformation;

namespace Pxe.Dhcp.Protocol;

/// <summary>
/// The parts of a client's BOOTREQUEST that the decisions use, copied out of the receive buffer so the buffer can
/// go back to the pool while the store is consulted. Built by <see cref="TryRead"/>, which also enforces the
/// per-option sizes that the server relies on.
/// </summary>
internal sealed class DhcpRequest
{
    private static readonly PhysicalAddress EmptyMac = new([]);

    public DhcpMessageType MessageType { get; init; }

    public uint TransactionId { get; init; }

    public ushort Seconds { get; init; }

    public ushort Flags { get; init; }

    public bool IsBroadcast => (Flags & DhcpPacket.BroadcastFlag) != 0;

    public byte HardwareType { get; init; }

    public byte HardwareAddressLength { get; init; }

    /// <summary>The 16-byte chaddr field, echoed in replies (RFC 2131 table 3).</summary>
    public byte[] ClientHardwareAddressField { get; init; } = new byte[DhcpPacket.ChaddrLength];

    /// <summary>chaddr as a MAC address (the first hlen bytes).</summary>
    public PhysicalAddress Mac { get; init; } = EmptyMac;

    /// <summary>ciaddr.</summary>
    public uint ClientAddress { get; init; }

    /// <summary>giaddr: non-zero when a relay agent forwarded the request (RFC 2131 §4.1).</summary>
    public uint RelayAddress { get; init; }

    /// <summary>
    /// The client's identity for leases: option 61 when present, else htype followed by chaddr (RFC 2131 §4.2),
    /// as lower-case hex.
    /// </summary>
    public string ClientKey { get; init; } = "";

    /// <summary>Option 50, or 0.</summary>
    public uint RequestedAddress { get; init; }

    /// <summary>Option 54, or 0.</summary>
    public uint ServerIdentifier { get; init; }

    /// <summary>Option 57, or 0 when absent.</summary>
    public ushort MaxMessageSize { get; init; }

    /// <summary>Option 12 as text, or null.</summary>
    public string? HostName { get; init; }

    /// <summary>Option 60 as text, or null.</summary>
    public string? VendorClass { get; init; }

    /// <summary>Option 77 as text (non-printable bytes replaced), or null.</summary>
    public string? UserClass { get; init; }

    /// <summary>Option 97's GUID, or null.</summary>
    public Guid? ClientGuid { get; init; }

    /// <summary>Option 97 as sent (type 0 and the GUID), echoed in PXE replies as PXE servers do, or null.</summary>
    public byte[]? ClientMachineIdentifier { get; init; }

    /// <summary>Option 82, kept to be echoed unchanged (RFC 3046 §2.2), or null.</summary>
    public byte[]? RelayAgentInformation { get; init; }

    /// <summary>PXE boot item (option 43 sub-option 71) of a boot-server request, echoed in the reply, or null.</summary>
    public byte[]? PxeBootItem { get; init; }

    public ClientFirmware Firmware { get; init; }

    /// <summary>
    /// Reads a request from a validated packet. Returns a parse status for what the server cannot use:
    /// a BOOTREPLY, no or bad option 53, or fixed-size options of the wrong size.
    /// </summary>
    public static DhcpParseStatus TryRead(DhcpPacket packet, out DhcpRequest? request)
    {
        request = null;
        if (packet.Op != BootpOpCode.BootRequest)
        {
            return DhcpParseStatus.WrongOpCode;
        }

        Span<byte> scratch = stackalloc byte[DhcpOptionReader.MaxConcatenatedLength];
        var lookup = DhcpOptionReader.TryGet(packet, DhcpOptionCode.MessageType, scratch, out var value);
        if (lookup == DhcpOptionLookup.Absent)
        {
            return DhcpParseStatus.MissingMessageType;
        }

        if (lookup != DhcpOptionLookup.Found || value.Length != 1 || value[0] is < 1 or > 8)
        {
            return DhcpParseStatus.BadMessageType;
        }

        var messageType = (DhcpMessageType)value[0];

        uint requested = 0;
        lookup = DhcpOptionReader.TryGet(packet, DhcpOptionCode.RequestedIpAddress, scratch, out value);
        if (lookup == DhcpOptionLookup.TooLong || (lookup == DhcpOptionLookup.Found && !DhcpOptionCodecs.TryReadAddress(value, out requested)))
        {
            return DhcpParseStatus.BadOptionLength;
        }

        uint serverId = 0;
        lookup = DhcpOptionReader.TryGet(packet, DhcpOptionCode.ServerIdentifier, scratch, out value);
        if (lookup == DhcpOptionLookup.TooLong || (lookup == DhcpOptionLookup.Found && !DhcpOptionCodecs.TryReadAddress(value, out serverId)))
        {
            return DhcpParseStatus.BadOptionLength;
        }

        ushort maxSize = 0;
        lookup = DhcpOptionReader.TryGet(packet, DhcpOptionCode.MaximumMessageSize, scratch, out value);
        if (lookup == DhcpOptionLookup.TooLong || (lookup == DhcpOptionLookup.Found && !DhcpOptionCodecs.TryReadUInt16(value, out maxSize)))
        {
            return DhcpParseStatus.BadOptionLength;
        }

        string clientKey;
        lookup = DhcpOptionReader.TryGet(packet, DhcpOptionCode.ClientIdentifier, scratch, out value);
        if (lookup == DhcpOptionLookup.TooLong || (lookup == DhcpOptionLookup.Found && value.Length < 2))
        {
            // RFC 2132 §9.14: the client identifier is at least 2 bytes.
            return DhcpParseStatus.BadOptionLength;
        }

        if (lookup == DhcpOptionLookup.Found)
        {
            clientKey = Convert.ToHexStringLower(value);
        }
        else
        {
            Span<byte> key = stackalloc byte[1 + DhcpPacket.ChaddrLength];
            key[0] = packet.HardwareType;
            packet.ClientHardwareAddress.CopyTo(key[1..]);
            clientKey = Convert.ToHexStringLower(key[..(1 + packet.HardwareAddressLength)]);
        }

        string? hostName = ReadText(packet, DhcpOptionCode.HostName, scratch);
        string? vendorClass = null;
        string? userClass = null;
        Guid? guid = null;
        byte[]? machineIdentifier = null;
        byte[]? relayInfo = null;
        byte[]? bootItem = null;

        scoped ReadOnlySpan<byte> vendorClassValue = default;
        scoped ReadOnlySpan<byte> userClassValue = default;
        scoped ReadOnlySpan<byte> architectureValue = default;
        bool hasIpxe = false;

        // One pass for the options that need no concatenation in practice; repeated ones are re-read below.
        foreach (var option in packet.GetOptions())
        {
            switch (option.Code)
            {
                case DhcpOptionCode.VendorClassIdentifier:
                    vendorClassValue = option.Value;
                    break;
                case DhcpOptionCode.UserClass:
                    userClassValue = option.Value;
                    break;
                case DhcpOptionCode.ClientSystemArchitecture:
                    architectureValue = option.Value;
                    break;
                case DhcpOptionCode.IpxeEncapsulated:
                    hasIpxe = true;
                    break;
                default:
                    break;
            }
        }

        Span<byte> vendorScratch = stackalloc byte[256];
        Span<byte> userScratch = stackalloc byte[256];
        Span<byte> archScratch = stackalloc byte[256];
        if (!vendorClassValue.IsEmpty)
        {
            DhcpOptionReader.TryGet(packet, DhcpOptionCode.VendorClassIdentifier, vendorScratch, out vendorClassValue);
            vendorClass = ToText(vendorClassValue);
        }

        if (!userClassValue.IsEmpty)
        {
            DhcpOptionReader.TryGet(packet, DhcpOptionCode.UserClass, userScratch, out userClassValue);
            userClass = ToText(userClassValue);
        }

        if (!architectureValue.IsEmpty)
        {
            DhcpOptionReader.TryGet(packet, DhcpOptionCode.ClientSystemArchitecture, archScratch, out architectureValue);
        }

        var firmware = ClientClassifier.Classify(vendorClassValue, userClassValue, architectureValue, hasIpxe);

        if (DhcpOptionReader.TryGet(packet, DhcpOptionCode.ClientMachineIdentifier, scratch, out value) == DhcpOptionLookup.Found
            && DhcpOptionCodecs.TryReadMachineIdentifier(value, out var g))
        {
            guid = g;
            machineIdentifier = value.ToArray();
        }

        if (DhcpOptionReader.TryGet(packet, DhcpOptionCode.RelayAgentInformation, scratch, out value) == DhcpOptionLookup.Found)
        {
            relayInfo = value.ToArray();
        }

        if (firmware.IsPxeClient
            && DhcpOptionReader.TryGet(packet, DhcpOptionCode.VendorSpecificInformation, scratch, out value) == DhcpOptionLookup.Found
            && DhcpOptionCodecs.TryFindSubOption(value, PxeVendorOptions.BootItem, out var item)
            && item.Length == 4)
        {
            bootItem = item.ToArray();
        }

        var chaddr = packet.ClientHardwareAddressField.ToArray();
        request = new DhcpRequest
        {
            MessageType = messageType,
            TransactionId = packet.TransactionId,
            Seconds = packet.Seconds,
            Flags = packet.Flags,
            HardwareType = packet.HardwareType,
            HardwareAddressLength = packet.HardwareAddressLength,
            ClientHardwareAddressField = chaddr,
            Mac = new PhysicalAddress(chaddr.AsSpan(0, packet.HardwareAddressLength).ToArray()),
            ClientAddress = packet.ClientAddress,
            RelayAddress = packet.RelayAddress,
            ClientKey = clientKey,
            RequestedAddress = requested,
            ServerIdentifier = serverId,
            MaxMessageSize = maxSize,
            HostName = hostName,
            VendorClass = vendorClass,
            UserClass = userClass,
            ClientGuid = guid,
            ClientMachineIdentifier = machineIdentifier,
            RelayAgentInformation = relayInfo,
            PxeBootItem = bootItem,
            Firmware = firmware,
        };
        return DhcpParseStatus.Ok;
    }

    private static string? ReadText(DhcpPacket packet, DhcpOptionCode code, Span<byte> scratch)
        => DhcpOptionReader.TryGet(packet, code, scratch, out var value) == DhcpOptionLookup.Found ? ToText(value) : null;

    /// <summary>NVT ASCII with trailing NULs removed; bytes outside printable ASCII become '?'.</summary>
    private static string ToText(ReadOnlySpan<byte> value)
    {
        value = DhcpOptionCodecs.TrimText(value);
        return string.Create(value.Length, value.ToArray(), static (chars, bytes) =>
        {
            for (int i = 0; i < bytes.Length; i++)
            {
                byte b = bytes[i];
                chars[i] = b is >= 0x20 and < 0x7f ? (char)b : '?';
            }
        });
    }

}
