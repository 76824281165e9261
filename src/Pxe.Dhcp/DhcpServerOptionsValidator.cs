using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Pxe.Dhcp;

/// <summary>
/// Checks <see cref="DhcpServerOptions"/> and reports every problem at once, each saying how to fix it.
/// </summary>
public static class DhcpServerOptionsValidator
{
    /// <summary>Longest boot file name or URL: the 128-byte BOOTP file field less its terminating NUL (RFC 2131 §2).</summary>
    public const int MaxBootFileLength = 127;

    /// <summary>Longest Linux interface name (IFNAMSIZ 16 less the NUL).</summary>
    public const int MaxInterfaceNameLength = 15;

    /// <summary>Returns every error found; empty when the options are valid.</summary>
    public static IReadOnlyList<string> Validate(DhcpServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.Mode == DhcpMode.Off)
        {
            return errors;
        }

        ValidateInterfaces(options, errors);

        if (!IsUsableIPv4(options.ServerAddress))
        {
            errors.Add("ServerAddress: required in full and proxy mode, an IPv4 unicast address of this host that clients reach (option 54). Set it, for example ServerAddress = 10.0.0.1.");
        }

        if (options.NextServer is not null && !IsUsableIPv4(options.NextServer))
        {
            errors.Add($"NextServer: '{options.NextServer}' is not an IPv4 unicast address. Set the TFTP server's IPv4 address, or leave it empty to use ServerAddress.");
        }

        ValidateHttp(options, errors);
        ValidateBootFiles(options.BootFiles, errors);
        ValidateSubnets(options, errors);

        if (options.OfferHoldTime <= TimeSpan.Zero || options.OfferHoldTime > TimeSpan.FromMinutes(10))
        {
            errors.Add($"OfferHoldTime: {options.OfferHoldTime} is outside (0, 10 min]. Use a few tens of seconds, for example 30 s.");
        }

        if (options.DeclineQuarantine < TimeSpan.Zero)
        {
            errors.Add($"DeclineQuarantine: {options.DeclineQuarantine} is negative. Use 0 to reuse declined addresses at once, or a duration such as 24 h.");
        }

        if (options.BootMenu is not null)
        {
            ValidateMenu(options.BootMenu, errors);
        }

        ValidateTransport(options.Transport, errors);
        return errors;
    }

    /// <summary>Throws <see cref="DhcpConfigurationException"/> listing every error when the options are invalid.</summary>
    public static void EnsureValid(DhcpServerOptions options)
    {
        var errors = Validate(options);
        if (errors.Count > 0)
        {
            throw new DhcpConfigurationException(errors);
        }
    }

    /// <summary>The effective HTTP base URL: <see cref="DhcpServerOptions.HttpBaseUrl"/> or <c>http://{ServerAddress}</c>, without a trailing slash.</summary>
    public static string EffectiveHttpBase(DhcpServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string text = options.HttpBaseUrl?.OriginalString ?? $"http://{options.ServerAddress}";
        return text.TrimEnd('/');
    }

    private static void ValidateInterfaces(DhcpServerOptions options, List<string> errors)
    {
        if (options.Interfaces.Count == 0)
        {
            errors.Add("Interfaces: none configured. Name the interface(s) facing the machines to provision, for example Interfaces = [\"eth1\"]; the server answers nowhere else.");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in options.Interfaces)
        {
            if (string.IsNullOrWhiteSpace(name) || name.Length > MaxInterfaceNameLength || name.Any(c => c is '/' or ':' || char.IsWhiteSpace(c) || c > 0x7e))
            {
                errors.Add($"Interfaces: '{name}' is not a Linux interface name (1–15 ASCII characters, no '/', ':' or spaces). Use the name shown by 'ip link', for example eth1.");
            }
            else if (!seen.Add(name))
            {
                errors.Add($"Interfaces: '{name}' is listed twice. List each interface once.");
            }
        }
    }

    private static void ValidateHttp(DhcpServerOptions options, List<string> errors)
    {
        if (options.HttpBaseUrl is { } url
            && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps) || !string.IsNullOrEmpty(url.Query)))
        {
            errors.Add($"HttpBaseUrl: '{url}' is not an absolute http:// or https:// URL without query. Use for example http://10.0.0.1:8080.");
            return;
        }

        if (options.ServerAddress is null && options.HttpBaseUrl is null)
        {
            return;
        }

        string baseUrl = EffectiveHttpBase(options);
        var files = options.BootFiles;
        foreach (var (name, path) in new[]
        {
            (nameof(DhcpBootFileOptions.IpxeScriptPath), files.IpxeScriptPath),
            (nameof(DhcpBootFileOptions.HttpBootX64Path), files.HttpBootX64Path),
            (nameof(DhcpBootFileOptions.HttpBootArm64Path), files.HttpBootArm64Path),
        })
        {
            if (string.IsNullOrEmpty(path) || path[0] != '/')
            {
                errors.Add($"BootFiles.{name}: '{path}' must start with '/'. Give the path below HttpBaseUrl, for example /boot/ipxe.efi.");
                continue;
            }

            int length = Encoding.UTF8.GetByteCount(baseUrl + path);
            if (length > MaxBootFileLength)
            {
                errors.Add($"BootFiles.{name}: the URL '{baseUrl}{path}' is {length} bytes; the BOOTP file field holds {MaxBootFileLength}. Shorten HttpBaseUrl or the path.");
            }
        }
    }

    private static void ValidateBootFiles(DhcpBootFileOptions files, List<string> errors)
    {
        foreach (var (name, value) in new[]
        {
            (nameof(DhcpBootFileOptions.BiosIpxe), files.BiosIpxe),
            (nameof(DhcpBootFileOptions.BiosPxelinux), files.BiosPxelinux),
            (nameof(DhcpBootFileOptions.UefiX64Ipxe), files.UefiX64Ipxe),
            (nameof(DhcpBootFileOptions.UefiX64Grub), files.UefiX64Grub),
            (nameof(DhcpBootFileOptions.UefiArm64Ipxe), files.UefiArm64Ipxe),
            (nameof(DhcpBootFileOptions.UefiArm64Grub), files.UefiArm64Grub),
        })
        {
            CheckBootFileName($"BootFiles.{name}", value, errors);
        }
    }

    private static void CheckBootFileName(string field, string value, List<string> errors)
    {
        if (string.IsNullOrEmpty(value) || value.Any(c => c is < ' ' or > '~'))
        {
            errors.Add($"{field}: '{value}' must be a non-empty printable ASCII file name as the TFTP root serves it.");
        }
        else if (value.Length > MaxBootFileLength)
        {
            errors.Add($"{field}: '{value}' is {value.Length} bytes; the BOOTP file field holds {MaxBootFileLength}. Use a shorter name.");
        }
    }

    private static void ValidateSubnets(DhcpServerOptions options, List<string> errors)
    {
        if (options.Mode == DhcpMode.Full && options.Subnets.Count == 0)
        {
            errors.Add("Subnets: full mode needs at least one subnet. Add one with Network, PrefixLength, DnsServers and, for a directly attached link, Interface.");
        }

        var ranges = new List<(uint Start, uint End, int Index)>();
        for (int i = 0; i < options.Subnets.Count; i++)
        {
            var s = options.Subnets[i];
            string at = $"Subnets[{i}]";
            if (!IsIPv4(s.Network) || s.PrefixLength is < 1 or > 30)
            {
                errors.Add($"{at}: Network '{s.Network}' / PrefixLength {s.PrefixLength} is not an IPv4 network with a prefix of 1–30. Set for example Network = 10.0.0.0, PrefixLength = 24.");
                continue;
            }

            uint network = ToUInt32(s.Network!);
            uint mask = PrefixMask(s.PrefixLength);
            if ((network & ~mask) != 0)
            {
                errors.Add($"{at}: Network {s.Network} has host bits set for /{s.PrefixLength}. Use {FromUInt32(network & mask)}.");
                continue;
            }

            uint broadcast = network | ~mask;
            foreach (var (start, end, index) in ranges)
            {
                if (network <= end && broadcast >= start)
                {
                    errors.Add($"{at}: {s.Network}/{s.PrefixLength} overlaps Subnets[{index}]. Give each subnet its own address range.");
                }
            }

            ranges.Add((network, broadcast, i));

            if (s.Interface is not null && !options.Interfaces.Contains(s.Interface, StringComparer.Ordinal))
            {
                errors.Add($"{at}: Interface '{s.Interface}' is not in Interfaces. Add it to Interfaces, or set Interface to null for a subnet reached through a relay agent.");
            }

            if ((s.PoolStart is null) != (s.PoolEnd is null))
            {
                errors.Add($"{at}: PoolStart and PoolEnd must be set together. Set both, or neither for reservations only.");
            }
            else if (s.PoolStart is not null)
            {
                if (!IsIPv4(s.PoolStart) || !IsIPv4(s.PoolEnd))
                {
                    errors.Add($"{at}: PoolStart/PoolEnd must be IPv4 addresses.");
                }
                else
                {
                    uint ps = ToUInt32(s.PoolStart), pe = ToUInt32(s.PoolEnd!);
                    if (ps > pe)
                    {
                        errors.Add($"{at}: PoolStart {s.PoolStart} is after PoolEnd {s.PoolEnd}. Swap them.");
                    }
                    else if (ps <= network || pe >= broadcast)
                    {
                        errors.Add($"{at}: pool {s.PoolStart}–{s.PoolEnd} must lie strictly inside {s.Network}/{s.PrefixLength}, excluding the network and broadcast addresses. Use for example {FromUInt32(network + 10)}–{FromUInt32(broadcast - 1)}.");
                    }
                }
            }

            if (s.Router is not null && (!IsIPv4(s.Router) || (ToUInt32(s.Router) & mask) != network))
            {
                errors.Add($"{at}: Router {s.Router} is not inside {s.Network}/{s.PrefixLength}. Use the gateway's address on this subnet, or leave Router empty.");
            }

            if (s.DnsServers.Count == 0)
            {
                errors.Add($"{at}: DnsServers is empty. Give at least one DNS server (option 6): the Debian installer stops at a question without it.");
            }
            else if (s.DnsServers.Any(d => !IsIPv4(d)))
            {
                errors.Add($"{at}: DnsServers must all be IPv4 addresses.");
            }

            if (s.DomainName is { } domain && (domain.Length is 0 or > 253 || domain.Any(c => c is <= ' ' or > '~')))
            {
                errors.Add($"{at}: DomainName '{domain}' must be 1–253 printable ASCII characters without spaces, for example lab.example.");
            }

            if (s.LeaseTime < TimeSpan.FromSeconds(2) || s.LeaseTime.TotalSeconds >= uint.MaxValue)
            {
                errors.Add($"{at}: LeaseTime {s.LeaseTime} is outside 2 s – 136 years. Use for example 1 h.");
            }
        }
    }

    private static void ValidateMenu(PxeBootMenuOptions menu, List<string> errors)
    {
        if (menu.Items.Count == 0)
        {
            errors.Add("BootMenu: Items is empty. Add at least one item, or set BootMenu to null to boot the file directly.");
        }

        if (menu.TimeoutSeconds is < 0 or > 255)
        {
            errors.Add($"BootMenu: TimeoutSeconds {menu.TimeoutSeconds} is outside 0–255.");
        }

        if (menu.Prompt.Length > 200 || menu.Prompt.Any(c => c is < ' ' or > '~'))
        {
            errors.Add("BootMenu: Prompt must be printable ASCII of at most 200 characters.");
        }

        int menuBytes = 0;
        var types = new HashSet<int>();
        for (int i = 0; i < menu.Items.Count; i++)
        {
            var item = menu.Items[i];
            if (item.Type is < 1 or > 65534 || !types.Add(item.Type))
            {
                errors.Add($"BootMenu.Items[{i}]: Type {item.Type} must be unique and within 1–65534.");
            }

            if (item.Description.Length is 0 or > 80 || item.Description.Any(c => c is < ' ' or > '~'))
            {
                errors.Add($"BootMenu.Items[{i}]: Description must be 1–80 printable ASCII characters.");
            }

            menuBytes += 3 + item.Description.Length;
            CheckBootFileName($"BootMenu.Items[{i}].BootFile", item.BootFile, errors);
        }

        if (menuBytes > 255 || menu.Items.Count * 7 > 255)
        {
            errors.Add("BootMenu: the menu does not fit PXE's 255-byte sub-options. Use fewer items or shorter descriptions.");
        }
    }

    private static void ValidateTransport(DhcpTransportOptions t, List<string> errors)
    {
        if (!IsIPv4(t.ListenAddress))
        {
            errors.Add("Transport.ListenAddress: must be an IPv4 address; leave it at 0.0.0.0 except for tests.");
        }

        if (!IsIPv4(t.BroadcastAddress))
        {
            errors.Add("Transport.BroadcastAddress: must be an IPv4 address; leave it at 255.255.255.255 except for tests.");
        }

        foreach (var (name, port) in new[] { ("ServerPort", t.ServerPort), ("ClientPort", t.ClientPort), ("BootServerPort", t.BootServerPort) })
        {
            if (port is < 1 or > 65535)
            {
                errors.Add($"Transport.{name}: {port} is not a UDP port (1–65535).");
            }
        }

        if (t.ServerPort == t.BootServerPort)
        {
            errors.Add("Transport.BootServerPort: must differ from ServerPort.");
        }

        if (t.Workers is < 1 or > 4096)
        {
            errors.Add($"Transport.Workers: {t.Workers} is outside 1–4096.");
        }

        if (t.MaxCommitBatch is < 1 or > 100_000)
        {
            errors.Add($"Transport.MaxCommitBatch: {t.MaxCommitBatch} is outside 1–100,000.");
        }

        if (t.ReceiveBufferBytes < 0)
        {
            errors.Add("Transport.ReceiveBufferBytes: must not be negative (0 keeps the system default).");
        }
    }

    private static bool IsIPv4(IPAddress? address) => address is { AddressFamily: AddressFamily.InterNetwork };

    private static bool IsUsableIPv4(IPAddress? address)
        => IsIPv4(address) && !address!.Equals(IPAddress.Any) && !address.Equals(IPAddress.Broadcast);

    internal static uint ToUInt32(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }

    internal static IPAddress FromUInt32(uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return new IPAddress(bytes);
    }

    internal static uint PrefixMask(int prefixLength) => prefixLength == 0 ? 0 : uint.MaxValue << (32 - prefixLength);
}

/// <summary>Thrown when <see cref="DhcpServerOptions"/> are invalid; <see cref="Errors"/> lists every problem with its fix.</summary>
public sealed class DhcpConfigurationException : Exception
{
    public DhcpConfigurationException(IReadOnlyList<string> errors)
        : base("Invalid DHCP configuration:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => "  - " + e)))
    {
        Errors = errors;
    }

    public DhcpConfigurationException()
        : this([])
    {
    }

    public DhcpConfigurationException(string message)
        : base(message)
    {
        Errors = [message];
    }

    public DhcpConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [message];
    }

    /// <summary>Each error, with how to fix it.</summary>
    public IReadOnlyList<string> Errors { get; } = [];
}
