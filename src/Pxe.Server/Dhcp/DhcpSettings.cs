using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Pxe.Dhcp;

namespace Pxe.Server.Dhcp;

/// <summary>
/// The DHCP section of the server's settings (<c>Pxe:Dhcp</c>), in plain strings so it reads well in JSON and
/// environment variables; <see cref="ToOptions"/> turns it into <see cref="DhcpServerOptions"/>. Off by default: no
/// DHCP is answered anywhere until an operator names the mode and the interfaces.
/// </summary>
public sealed record DhcpSettings
{
    /// <summary><c>off</c> (default), <c>full</c> (addresses and boot files) or <c>proxy</c> (boot files beside another DHCP server).</summary>
    public string Mode { get; init; } = "off";

    /// <summary>Interfaces to answer on, e.g. <c>["eth1"]</c>. Required unless off.</summary>
    public List<string> Interfaces { get; init; } = [];

    /// <summary>This server's IPv4 address on the provisioning network (option 54). Default: the host of the server URL.</summary>
    public string? ServerAddress { get; init; }

    /// <summary>
    /// <c>discover</c> (default): unknown MACs get a pool address and the default boot loader, and are recorded as
    /// Discovered; <c>ignore</c>: unknown MACs get no answer at all.
    /// </summary>
    public string UnknownMachines { get; init; } = "discover";

    /// <summary>Subnets served: directly on an interface, or behind a relay (no interface; chosen by giaddr).</summary>
    public List<DhcpSubnetSettings> Subnets { get; init; } = [];

    /// <summary>
    /// "Fast iPXE" (off by default): answer IPv6 router solicitations on the DHCP interfaces with a router
    /// advertisement that configures nothing (lifetime 0, no prefix), so iPXE stops waiting about 13 s for IPv6 before
    /// it fetches its script. Sending router advertisements is a policy decision for the segment: turn it on only on a
    /// provisioning network.
    /// </summary>
    public bool FastIpxe { get; init; }

    /// <summary>Seconds an offered address is held for the client's REQUEST. Default 30 (RFC 2131 suggests a short hold).</summary>
    public int OfferHoldSeconds { get; init; } = 30;

    /// <summary>UDP port for DHCP (67). Changed only by tests and benchmarks.</summary>
    public int ServerPort { get; init; } = 67;

    /// <summary>UDP port replies go to on clients (68). Changed only by tests.</summary>
    public int ClientPort { get; init; } = 68;

    /// <summary>Address the sockets bind to. Default 0.0.0.0 (each socket is bound to its interface). Tests on loopback set 127.0.0.1.</summary>
    public string ListenAddress { get; init; } = "0.0.0.0";

    /// <summary>Where broadcast replies go. Default 255.255.255.255. Tests on loopback set 127.0.0.1.</summary>
    public string BroadcastAddress { get; init; } = "255.255.255.255";

    /// <summary>Translates to the service's options; every problem comes back at once.</summary>
    public (DhcpServerOptions? Options, IReadOnlyList<string> Errors) ToOptions(string serverUrl, string? nextServer)
    {
        var errors = new List<string>();
        var mode = Mode.ToLowerInvariant() switch
        {
            "off" => DhcpMode.Off,
            "full" => DhcpMode.Full,
            "proxy" => DhcpMode.Proxy,
            _ => (DhcpMode?)null,
        };
        if (mode is null)
        {
            errors.Add($"Dhcp:Mode '{Mode}' is not a mode; use off, full or proxy");
            return (null, errors);
        }

        if (mode == DhcpMode.Off)
        {
            return (new DhcpServerOptions { Mode = DhcpMode.Off }, errors);
        }

        var serverText = ServerAddress ?? (Uri.TryCreate(serverUrl, UriKind.Absolute, out var u) ? u.Host : "");
        var server = ParseAddress(serverText, "Dhcp:ServerAddress", errors);
        var next = nextServer is null ? server : ParseAddress(nextServer, "NextServer", errors);
        var unknown = UnknownMachines.ToLowerInvariant() switch
        {
            "discover" => UnknownMacPolicy.Discover,
            "ignore" => UnknownMacPolicy.Ignore,
            _ => (UnknownMacPolicy?)null,
        };
        if (unknown is null)
        {
            errors.Add($"Dhcp:UnknownMachines '{UnknownMachines}' must be discover or ignore");
        }

        var subnets = new List<DhcpSubnetOptions>();
        for (var i = 0; i < Subnets.Count; i++)
        {
            subnets.Add(Subnets[i].ToOptions($"Dhcp:Subnets:{i}", errors));
        }

        var options = new DhcpServerOptions
        {
            Mode = mode.Value,
            Interfaces = Interfaces,
            ServerAddress = server,
            NextServer = next,
            HttpBaseUrl = Uri.TryCreate(serverUrl, UriKind.Absolute, out var baseUrl) ? baseUrl : null,
            Subnets = subnets,
            UnknownMacPolicy = unknown ?? UnknownMacPolicy.Ignore,
            OfferHoldTime = TimeSpan.FromSeconds(OfferHoldSeconds),
            Transport = new DhcpTransportOptions
            {
                ServerPort = ServerPort,
                ClientPort = ClientPort,
                ListenAddress = ParseAddress(ListenAddress, "Dhcp:ListenAddress", errors) ?? IPAddress.Any,
                BroadcastAddress = ParseAddress(BroadcastAddress, "Dhcp:BroadcastAddress", errors) ?? IPAddress.Broadcast,
            },
        };
        errors.AddRange(DhcpServerOptionsValidator.Validate(options).Select(e => "Dhcp: " + e));
        return (errors.Count == 0 ? options : null, errors);
    }

    internal static IPAddress? ParseAddress(string? text, string field, List<string> errors)
    {
        if (text is null)
        {
            return null;
        }

        if (IPAddress.TryParse(text, out var a) && a.AddressFamily == AddressFamily.InterNetwork && text.Count(c => c == '.') == 3)
        {
            return a;
        }

        errors.Add($"{field} '{text}' is not an IPv4 address");
        return null;
    }
}

/// <summary>One subnet in the settings.</summary>
public sealed record DhcpSubnetSettings
{
    /// <summary>The network with its prefix, e.g. <c>10.0.0.0/24</c>.</summary>
    public string Network { get; init; } = "";

    /// <summary>The interface it is on; empty for a subnet behind a relay.</summary>
    public string? Interface { get; init; }

    /// <summary>The dynamic pool, e.g. <c>10.0.0.100-10.0.0.199</c>; empty for reservations only.</summary>
    public string? Pool { get; init; }

    /// <summary>Default gateway (option 3).</summary>
    public string? Router { get; init; }

    /// <summary>DNS servers (option 6). Always send at least one: the Debian installer stops at a question without it.</summary>
    public List<string> Dns { get; init; } = [];

    /// <summary>Domain name (option 15).</summary>
    public string? Domain { get; init; }

    /// <summary>Lease time in seconds. Default 3600.</summary>
    public int LeaseSeconds { get; init; } = 3600;

    internal DhcpSubnetOptions ToOptions(string field, List<string> errors)
    {
        IPAddress? network = null;
        var prefix = 0;
        var slash = Network.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || !int.TryParse(Network[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out prefix))
        {
            errors.Add($"{field}:Network '{Network}' must be a network with its prefix, e.g. 10.0.0.0/24");
        }
        else
        {
            network = DhcpSettings.ParseAddress(Network[..slash], $"{field}:Network", errors);
        }

        IPAddress? start = null, end = null;
        if (!string.IsNullOrWhiteSpace(Pool))
        {
            var dash = Pool.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0)
            {
                errors.Add($"{field}:Pool '{Pool}' must be a range such as 10.0.0.100-10.0.0.199");
            }
            else
            {
                start = DhcpSettings.ParseAddress(Pool[..dash].Trim(), $"{field}:Pool", errors);
                end = DhcpSettings.ParseAddress(Pool[(dash + 1)..].Trim(), $"{field}:Pool", errors);
            }
        }

        return new DhcpSubnetOptions
        {
            Network = network,
            PrefixLength = prefix,
            Interface = string.IsNullOrWhiteSpace(Interface) ? null : Interface,
            PoolStart = start,
            PoolEnd = end,
            Router = Router is null ? null : DhcpSettings.ParseAddress(Router, $"{field}:Router", errors),
            DnsServers = Dns.Select(d => DhcpSettings.ParseAddress(d, $"{field}:Dns", errors)).OfType<IPAddress>().ToList(),
            DomainName = Domain,
            LeaseTime = TimeSpan.FromSeconds(LeaseSeconds),
        };
    }
}
