using System.Net.NetworkInformation;

namespace Pxe.Tftp.Server;

/// <summary>MTU of the interface a request arrived on, by interface index; refreshed every 30 s.</summary>
internal sealed class InterfaceMtuCache
{
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(30);
    private readonly Lock _gate = new();
    private Dictionary<int, int> _v4 = [];
    private Dictionary<int, int> _v6 = [];
    private DateTime _refreshed = DateTime.MinValue;

    /// <summary>The MTU, or null when unknown.</summary>
    public int? GetMtu(int interfaceIndex, bool ipv6)
    {
        if (interfaceIndex <= 0)
        {
            return null;
        }

        lock (_gate)
        {
            var now = DateTime.UtcNow;
            if (now - _refreshed > RefreshInterval || !(ipv6 ? _v6 : _v4).ContainsKey(interfaceIndex))
            {
                if (now - _refreshed > TimeSpan.FromSeconds(1))
                {
                    Refresh();
                    _refreshed = now;
                }
            }

            return (ipv6 ? _v6 : _v4).TryGetValue(interfaceIndex, out var mtu) && mtu > 0 ? mtu : null;
        }
    }

    private void Refresh()
    {
        var v4 = new Dictionary<int, int>();
        var v6 = new Dictionary<int, int>();
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            var properties = nic.GetIPProperties();
            try
            {
                var p4 = properties.GetIPv4Properties();
                if (p4 is not null)
                {
                    v4[p4.Index] = p4.Mtu;
                }
            }
            catch (NetworkInformationException)
            {
                // No IPv4 on this interface.
            }

            try
            {
                var p6 = properties.GetIPv6Properties();
                if (p6 is not null)
                {
                    v6[p6.Index] = p6.Mtu;
                }
            }
            catch (NetworkInformationException)
            {
                // No IPv6 on this interface.
            }
        }

        _v4 = v4;
        _v6 = v6;
    }
}
