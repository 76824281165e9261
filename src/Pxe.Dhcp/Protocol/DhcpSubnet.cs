using System.Net;
using System.Text;

namespace Pxe.Dhcp.Protocol;

/// <summary>A configured subnet in the form the decisions use: host-order addresses and encoded option values.</summary>
internal sealed class DhcpSubnet
{
    public DhcpSubnet(DhcpSubnetOptions options, int index)
    {
        Index = index;
        Network = DhcpServerOptionsValidator.ToUInt32(options.Network!);
        PrefixLength = options.PrefixLength;
        Mask = DhcpServerOptionsValidator.PrefixMask(options.PrefixLength);
        Interface = options.Interface;
        if (options.PoolStart is not null && options.PoolEnd is not null)
        {
            PoolStart = DhcpServerOptionsValidator.ToUInt32(options.PoolStart);
            PoolEnd = DhcpServerOptionsValidator.ToUInt32(options.PoolEnd);
        }

        Router = options.Router is null ? 0 : DhcpServerOptionsValidator.ToUInt32(options.Router);
        DnsServers = [.. options.DnsServers.Select(DhcpServerOptionsValidator.ToUInt32)];
        DomainName = options.DomainName is null ? null : Encoding.ASCII.GetBytes(options.DomainName);
        LeaseSeconds = (uint)options.LeaseTime.TotalSeconds;
    }

    /// <summary>Position in the configuration, for logs.</summary>
    public int Index { get; }

    public uint Network { get; }

    public int PrefixLength { get; }

    public uint Mask { get; }

    public uint Broadcast => Network | ~Mask;

    public string? Interface { get; }

    /// <summary>First pool address, or 0 when the subnet has no pool.</summary>
    public uint PoolStart { get; }

    /// <summary>Last pool address (inclusive), or 0.</summary>
    public uint PoolEnd { get; }

    public bool HasPool => PoolStart != 0;

    public uint Router { get; }

    public uint[] DnsServers { get; }

    public byte[]? DomainName { get; }

    public uint LeaseSeconds { get; }

    public bool Contains(uint address) => (address & Mask) == Network;

    /// <summary>True for an address a client may hold: inside the subnet, not its network or broadcast address.</summary>
    public bool IsHostAddress(uint address) => Contains(address) && address != Network && address != Broadcast;

    public bool InPool(uint address) => HasPool && address >= PoolStart && address <= PoolEnd;

    public override string ToString() => $"{new IPAddress(IPAddress.HostToNetworkOrder((int)Network)).ToString()}/{PrefixLength}";
}

/// <summary>Subnet selection (RFC 2131 §4.3.1): by giaddr for relayed requests, else by the receiving interface.</summary>
internal static class SubnetSelector
{
    /// <summary>
    /// Selects the subnet of a request. With giaddr ≠ 0 the subnet containing giaddr; otherwise a subnet attached to
    /// the receiving interface, preferring the one containing <paramref name="addressHint"/> (ciaddr or option 50)
    /// when several share the link. Returns null when none fits: the server does not answer.
    /// </summary>
    public static DhcpSubnet? Select(IReadOnlyList<DhcpSubnet> subnets, uint relayAddress, string receivingInterface, uint addressHint)
    {
        if (relayAddress != 0)
        {
            foreach (var subnet in subnets)
            {
                if (subnet.Contains(relayAddress))
                {
                    return subnet;
                }
            }

            return null;
        }

        DhcpSubnet? first = null;
        foreach (var subnet in subnets)
        {
            if (!string.Equals(subnet.Interface, receivingInterface, StringComparison.Ordinal))
            {
                continue;
            }

            if (addressHint != 0 && subnet.Contains(addressHint))
            {
                return subnet;
            }

            first ??= subnet;
        }

        return first;
    }
}
