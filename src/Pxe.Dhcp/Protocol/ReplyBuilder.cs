namespace Pxe.Dhcp.Protocol;

/// <summary>Everything a reply carries besides what is echoed from the request.</summary>
internal sealed record ReplyPlan
{
    public required DhcpMessageType MessageType { get; init; }

    /// <summary>yiaddr: the address offered or acknowledged; 0 for NAK, INFORM replies and proxyDHCP.</summary>
    public uint YourAddress { get; init; }

    /// <summary>ciaddr: echoed in an ACK (RFC 2131 table 3), 0 in OFFER and NAK.</summary>
    public uint ClientAddress { get; init; }

    /// <summary>siaddr (next-server): the TFTP server.</summary>
    public uint NextServer { get; init; }

    /// <summary>Option 54.</summary>
    public required uint ServerIdentifier { get; init; }

    /// <summary>Option 51 (and 58, 59 derived from it); 0 sends none.</summary>
    public uint LeaseSeconds { get; init; }

    /// <summary>Option 1 from this prefix length; 0 sends none.</summary>
    public int PrefixLength { get; init; }

    /// <summary>Option 3; 0 sends none.</summary>
    public uint Router { get; init; }

    /// <summary>Option 6.</summary>
    public uint[] DnsServers { get; init; } = [];

    /// <summary>Option 15.</summary>
    public byte[]? DomainName { get; init; }

    /// <summary>Option 12.</summary>
    public string? HostName { get; init; }

    /// <summary>Boot file: the file field and option 67; also option 66 = <see cref="NextServer"/> as text.</summary>
    public string? BootFile { get; init; }

    /// <summary>Option 60 in the reply (<c>PXEClient</c> for proxyDHCP, <c>HTTPClient</c> for HTTP boot), or null.</summary>
    public string? VendorClass { get; init; }

    /// <summary>Option 43, or null.</summary>
    public byte[]? VendorOptions { get; init; }

    /// <summary>
    /// Option 175 (iPXE's encapsulated settings) for an iPXE client, or null. Full mode sends
    /// <see cref="IpxeNoProxyDhcpWait"/>: this server is the boot server, so iPXE need not wait for ProxyDHCP offers.
    /// </summary>
    public byte[]? IpxeOptions { get; init; }

    /// <summary>
    /// iPXE's <c>no-pxedhcp</c> setting (175.176 = 1). Without it iPXE, offered an address without a <c>PXEClient</c>
    /// class, keeps collecting offers for ProxyDHCP (about 2–3 s in QEMU's ROM) before it sends its REQUEST.
    /// </summary>
    public static ReadOnlySpan<byte> IpxeNoProxyDhcpWait => [176, 1, 1];

    /// <summary>Echo the client's option 97 (PXE 2.1 §2.2.5: PXE server replies carry the client's UUID).</summary>
    public bool EchoClientMachineIdentifier { get; init; }

    /// <summary>Option 56 (message), for NAKs, or null.</summary>
    public string? Message { get; init; }
}

/// <summary>Serializes a reply (RFC 2131 table 3) from the request and a <see cref="ReplyPlan"/>. Pure.</summary>
internal static class ReplyBuilder
{
    /// <summary>Size every client accepts (RFC 2131 §2: 576 bytes); a larger option 57 raises the limit, a smaller one is ignored (RFC 2132 §9.10 minimum 576).</summary>
    public const int DefaultMaxMessage = 576;

    /// <summary>
    /// Writes the reply into <paramref name="buffer"/>. The size limit is the client's option 57 (at least 576,
    /// RFC 2132 §9.10), at most the buffer. Returns a status; a boot file longer than the file field is an error.
    /// </summary>
    public static DhcpWriteStatus Write(Span<byte> buffer, DhcpRequest request, ReplyPlan plan, out int length)
    {
        int limit = Math.Max(DefaultMaxMessage, (int)request.MaxMessageSize);
        var writer = new DhcpPacketWriter(buffer, limit);
        writer.WriteHeader(
            BootpOpCode.BootReply,
            request.HardwareType,
            request.HardwareAddressLength,
            request.TransactionId,
            0,
            ReplyAddressing.ReplyFlags(request.Flags, request.RelayAddress, plan.MessageType),
            plan.ClientAddress,
            plan.YourAddress,
            plan.NextServer,
            request.RelayAddress,
            request.ClientHardwareAddressField);

        Span<byte> text = stackalloc byte[256];
        if (plan.BootFile is { } bootFile)
        {
            int n = Ascii(bootFile, text);
            if (n < 0 || n > DhcpPacket.FileLength - 1)
            {
                length = 0;
                return DhcpWriteStatus.BootFileNameTooLong;
            }

            writer.WriteFileField(text[..n]);
        }

        writer.WriteByte(DhcpOptionCode.MessageType, (byte)plan.MessageType);
        writer.WriteUInt32(DhcpOptionCode.ServerIdentifier, plan.ServerIdentifier);
        if (plan.MessageType != DhcpMessageType.Nak)
        {
            if (plan.LeaseSeconds != 0)
            {
                writer.WriteUInt32(DhcpOptionCode.IpAddressLeaseTime, plan.LeaseSeconds);

                // RFC 2131 §4.4.5: T1 = 0.5 × lease, T2 = 0.875 × lease.
                writer.WriteUInt32(DhcpOptionCode.RenewalTimeValue, plan.LeaseSeconds / 2);
                writer.WriteUInt32(DhcpOptionCode.RebindingTimeValue, (uint)((ulong)plan.LeaseSeconds * 7 / 8));
            }

            if (plan.PrefixLength != 0)
            {
                writer.WriteUInt32(DhcpOptionCode.SubnetMask, uint.MaxValue << (32 - plan.PrefixLength));
            }

            if (plan.Router != 0)
            {
                Span<uint> router = [plan.Router];
                writer.WriteAddresses(DhcpOptionCode.Router, router);
            }

            writer.WriteAddresses(DhcpOptionCode.DomainNameServer, plan.DnsServers);
            if (plan.DomainName is { Length: > 0 } domain)
            {
                writer.WriteOption(DhcpOptionCode.DomainName, domain);
            }

            if (plan.HostName is { Length: > 0 } host)
            {
                int n = Ascii(host, text);
                if (n > 0)
                {
                    writer.WriteOption(DhcpOptionCode.HostName, text[..n]);
                }
            }

            if (plan.VendorClass is { } vendorClass)
            {
                int n = Ascii(vendorClass, text);
                writer.WriteOption(DhcpOptionCode.VendorClassIdentifier, text[..Math.Max(n, 0)]);
            }

            if (plan.BootFile is { } file)
            {
                if (plan.NextServer != 0)
                {
                    Span<byte> server = stackalloc byte[16];
                    int sn = FormatAddress(plan.NextServer, server);
                    writer.WriteOption(DhcpOptionCode.TftpServerName, server[..sn]);
                }

                int n = Ascii(file, text);
                writer.WriteOption(DhcpOptionCode.BootFileName, text[..n]);
            }

            if (plan.EchoClientMachineIdentifier && request.ClientMachineIdentifier is { } machineIdentifier)
            {
                writer.WriteOption(DhcpOptionCode.ClientMachineIdentifier, machineIdentifier);
            }

            if (plan.VendorOptions is { Length: > 0 } vendorOptions)
            {
                writer.WriteOption(DhcpOptionCode.VendorSpecificInformation, vendorOptions);
            }

            if (plan.IpxeOptions is { Length: > 0 } ipxeOptions)
            {
                writer.WriteOption(DhcpOptionCode.IpxeEncapsulated, ipxeOptions);
            }
        }
        else if (plan.Message is { } message)
        {
            int n = Ascii(message, text);
            writer.WriteOption(DhcpOptionCode.Message, text[..Math.Max(n, 0)]);
        }

        // RFC 3046 §2.2: the server echoes the relay agent information option, as the last option.
        if (request.RelayAgentInformation is { Length: > 0 } relayInfo)
        {
            writer.WriteOption(DhcpOptionCode.RelayAgentInformation, relayInfo);
        }

        return writer.Finish(out length);
    }

    /// <summary>Encodes printable ASCII; returns -1 when the text does not fit or has other characters.</summary>
    private static int Ascii(string value, Span<byte> destination)
    {
        if (value.Length > destination.Length)
        {
            return -1;
        }

        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c is < ' ' or > '~')
            {
                return -1;
            }

            destination[i] = (byte)c;
        }

        return value.Length;
    }

    /// <summary>Dotted-quad text of a host-order address, for option 66.</summary>
    private static int FormatAddress(uint address, Span<byte> destination)
    {
        int p = 0;
        for (int shift = 24; shift >= 0; shift -= 8)
        {
            if (shift != 24)
            {
                destination[p++] = (byte)'.';
            }

            ((address >> shift) & 0xff).TryFormat(destination[p..], out int written);
            p += written;
        }

        return p;
    }

}
