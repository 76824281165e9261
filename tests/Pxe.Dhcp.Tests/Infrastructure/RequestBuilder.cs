using System.Buffers.Binary;
using System.Net;
using Pxe.Dhcp.Protocol;

namespace Pxe.Dhcp.Tests.Infrastructure;

/// <summary>Builds client datagrams for tests, byte by byte as a client would.</summary>
internal sealed class RequestBuilder
{
    private readonly List<(byte Code, byte[] Value)> _options = [];

    public RequestBuilder(DhcpMessageType type, string mac = "52:54:00:12:34:56", uint xid = 0x01020304)
    {
        Mac = Convert.FromHexString(mac.Replace(":", "", StringComparison.Ordinal));
        Xid = xid;
        if (type != DhcpMessageType.None)
        {
            Option(DhcpOptionCode.MessageType, (byte)type);
        }
    }

    public byte[] Mac { get; }

    public uint Xid { get; set; }

    public ushort Flags { get; set; }

    public IPAddress ClientAddress { get; set; } = IPAddress.Any;

    public IPAddress RelayAddress { get; set; } = IPAddress.Any;

    public byte Op { get; set; } = 1;

    public RequestBuilder Broadcast()
    {
        Flags = 0x8000;
        return this;
    }

    public RequestBuilder Ciaddr(string address)
    {
        ClientAddress = IPAddress.Parse(address);
        return this;
    }

    public RequestBuilder Giaddr(string address)
    {
        RelayAddress = IPAddress.Parse(address);
        return this;
    }

    public RequestBuilder Option(DhcpOptionCode code, params byte[] value)
    {
        _options.Add(((byte)code, value));
        return this;
    }

    public RequestBuilder Text(DhcpOptionCode code, string value) => Option(code, System.Text.Encoding.ASCII.GetBytes(value));

    public RequestBuilder Address(DhcpOptionCode code, string address) => Option(code, IPAddress.Parse(address).GetAddressBytes());

    public RequestBuilder Requested(string address) => Address(DhcpOptionCode.RequestedIpAddress, address);

    public RequestBuilder ServerId(string address) => Address(DhcpOptionCode.ServerIdentifier, address);

    public RequestBuilder Pxe(ushort arch)
    {
        Option(DhcpOptionCode.ClientSystemArchitecture, (byte)(arch >> 8), (byte)arch);
        return Text(DhcpOptionCode.VendorClassIdentifier, $"PXEClient:Arch:{arch:D5}:UNDI:003016");
    }

    public RequestBuilder Ipxe() => Text(DhcpOptionCode.UserClass, "iPXE");

    public byte[] Build()
    {
        var bytes = new List<byte>(new byte[240]);
        var header = new byte[240];
        header[0] = Op;
        header[1] = 1;
        header[2] = (byte)Mac.Length;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), Xid);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(10), Flags);
        ClientAddress.GetAddressBytes().CopyTo(header, 12);
        RelayAddress.GetAddressBytes().CopyTo(header, 24);
        Mac.CopyTo(header, 28);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(236), DhcpPacket.MagicCookie);
        var result = new List<byte>(header);
        foreach (var (code, value) in _options)
        {
            result.Add(code);
            result.Add((byte)value.Length);
            result.AddRange(value);
        }

        result.Add(255);
        while (result.Count < 300)
        {
            result.Add(0);
        }

        return [.. result];
    }
}
