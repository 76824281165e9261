using System.Net;

namespace Pxe.Dhcp;

/// <summary>How the DHCP service takes part in the network.</summary>
public enum DhcpMode
{
    /// <summary>Hands out addresses (reservations and pools) and boot files on port 67.</summary>
    Full,

    /// <summary>
    /// Beside another DHCP server: answers only PXE clients (option 60 <c>PXEClient…</c>), never with an address,
    /// on port 67 and on the PXE boot-server port 4011 (PXE 2.1 §2.2.4, proxyDHCP).
    /// </summary>
    Proxy,

    /// <summary>No DHCP at all; HTTP and TFTP still serve.</summary>
    Off,
}

/// <summary>What to do with a MAC that the inventory does not know.</summary>
public enum UnknownMacPolicy
{
    /// <summary>Do not answer it at all (the safe default on a network with other machines).</summary>
    Ignore,

    /// <summary>
    /// Answer it like a known machine without reservation (a pool address in full mode), boot it with
    /// <see cref="DhcpServerOptions.DefaultBootLoader"/>, and record the MAC as Discovered.
    /// </summary>
    Discover,
}

/// <summary>
/// Configuration of the DHCP/PXE service. Immutable; check it with <see cref="DhcpServerOptionsValidator"/>, which
/// <see cref="DhcpServer"/> also calls at construction.
/// </summary>
public sealed record DhcpServerOptions
{
    /// <summary>
    /// Full, Proxy or Off. Default Full: the service answers only on <see cref="Interfaces"/>, which have no default,
    /// so nothing is answered anywhere until an operator names an interface.
    /// </summary>
    public DhcpMode Mode { get; init; } = DhcpMode.Full;

    /// <summary>
    /// Names of the interfaces to listen and answer on (for example <c>eth1</c>). Required, no default: a DHCP server
    /// answering on a network it was not meant for is an outage. Each gets its own socket bound with SO_BINDTODEVICE.
    /// </summary>
    public IReadOnlyList<string> Interfaces { get; init; } = [];

    /// <summary>
    /// This server's IPv4 address as clients reach it: option 54 (server identifier) of every reply, and the host of
    /// the default <see cref="HttpBaseUrl"/>. Required unless Mode is Off.
    /// </summary>
    public IPAddress? ServerAddress { get; init; }

    /// <summary>
    /// The TFTP server: siaddr (next-server) of every reply that carries a boot file, and option 66. Default
    /// <see cref="ServerAddress"/>. iPXE requires siaddr for a relative boot file; neither iPXE nor OVMF uses option 66.
    /// </summary>
    public IPAddress? NextServer { get; init; }

    /// <summary>
    /// Base URL of the HTTP service for iPXE scripts and UEFI HTTP boot, for example <c>http://10.0.0.1:8080</c>.
    /// Default <c>http://{ServerAddress}</c> (port 80). The URLs built from it must fit the 128-byte file field.
    /// </summary>
    public Uri? HttpBaseUrl { get; init; }

    /// <summary>Subnets this server hands addresses on (full mode) or knows about (proxy mode).</summary>
    public IReadOnlyList<DhcpSubnetOptions> Subnets { get; init; } = [];

    /// <summary>Boot file names per firmware and loader.</summary>
    public DhcpBootFileOptions BootFiles { get; init; } = new();

    /// <summary>Default Ignore: answering unknown machines must be switched on deliberately.</summary>
    public UnknownMacPolicy UnknownMacPolicy { get; init; } = UnknownMacPolicy.Ignore;

    /// <summary>Loader for unknown MACs answered under <see cref="UnknownMacPolicy.Discover"/>. Default iPXE, whose script endpoint handles unknown MACs.</summary>
    public DhcpBootLoader DefaultBootLoader { get; init; } = DhcpBootLoader.Ipxe;

    /// <summary>
    /// How long an offered address stays set aside for the client before it returns to the pool. Default 30 s:
    /// firmware collects offers for 3–4 s before it requests (iPXE about 3 s, OVMF about 3.9 s) and retransmits a few
    /// times with RFC 2131 §4.1's 4, 8, 16 s back-off; 30 s covers that without holding addresses for long.
    /// </summary>
    public TimeSpan OfferHoldTime { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long an address reported by DHCPDECLINE stays out of the pool. Default 24 h, Kea's
    /// <c>decline-probation-period</c> default.
    /// </summary>
    public TimeSpan DeclineQuarantine { get; init; } = TimeSpan.FromHours(24);

    /// <summary>
    /// A PXE boot menu (option 43 sub-options 8, 9, 10) sent in proxy mode, or null to boot the file directly
    /// (discovery control bit 3). Default null.
    /// </summary>
    public PxeBootMenuOptions? BootMenu { get; init; }

    /// <summary>Sockets, ports, queue and worker settings. The defaults are what production uses; tests change ports.</summary>
    public DhcpTransportOptions Transport { get; init; } = new();
}

/// <summary>One IPv4 subnet.</summary>
public sealed record DhcpSubnetOptions
{
    /// <summary>Network address, for example 10.0.0.0. Required.</summary>
    public IPAddress? Network { get; init; }

    /// <summary>Prefix length, 1–30; option 1 (subnet mask) of replies. Required.</summary>
    public int PrefixLength { get; init; }

    /// <summary>
    /// The interface this subnet is directly attached to: requests arriving on it without giaddr use this subnet.
    /// Null for a subnet reached through relay agents, selected by giaddr (RFC 2131 §4.3.1). A subnet is also
    /// selected by giaddr when giaddr lies in it, whether or not it has an interface.
    /// </summary>
    public string? Interface { get; init; }

    /// <summary>First address of the dynamic pool, or null (with <see cref="PoolEnd"/>) for reservations only.</summary>
    public IPAddress? PoolStart { get; init; }

    /// <summary>Last address of the dynamic pool (inclusive).</summary>
    public IPAddress? PoolEnd { get; init; }

    /// <summary>Option 3 (router), or null to send none.</summary>
    public IPAddress? Router { get; init; }

    /// <summary>
    /// Option 6 (DNS servers). Required, at least one: the Debian installer stops at a question without it
    /// (observed with Debian 12's installer).
    /// </summary>
    public IReadOnlyList<IPAddress> DnsServers { get; init; } = [];

    /// <summary>Option 15 (domain name), or null.</summary>
    public string? DomainName { get; init; }

    /// <summary>
    /// Option 51 (lease time). Default 1 h, dnsmasq's default lease time. T1 (option 58) is half of it and T2
    /// (option 59) seven eighths (RFC 2131 §4.4.5).
    /// </summary>
    public TimeSpan LeaseTime { get; init; } = TimeSpan.FromHours(1);
}

/// <summary>
/// Boot file names as the TFTP root serves them, and HTTP paths below <see cref="DhcpServerOptions.HttpBaseUrl"/>.
/// Defaults are the names of Debian's packages (Debian 12 file names).
/// </summary>
public sealed record DhcpBootFileOptions
{
    /// <summary>x86 BIOS firmware, iPXE loader. Default <c>undionly.kpxe</c> (package ipxe).</summary>
    public string BiosIpxe { get; init; } = "undionly.kpxe";

    /// <summary>x86 BIOS firmware (iPXE ROMs included), PXELINUX loader. Default <c>pxelinux.0</c> (package pxelinux).</summary>
    public string BiosPxelinux { get; init; } = "pxelinux.0";

    /// <summary>x64 UEFI firmware (93 = 7 or 9), iPXE loader. Default <c>ipxe.efi</c> (package ipxe).</summary>
    public string UefiX64Ipxe { get; init; } = "ipxe.efi";

    /// <summary>x64 UEFI firmware, GRUB loader. Default <c>grubnetx64.efi</c> (package grub-efi-amd64-bin).</summary>
    public string UefiX64Grub { get; init; } = "grubnetx64.efi";

    /// <summary>ARM64 UEFI firmware (93 = 11), iPXE loader. Default <c>ipxe-arm64.efi</c>, iPXE's arm64 EFI build.</summary>
    public string UefiArm64Ipxe { get; init; } = "ipxe-arm64.efi";

    /// <summary>ARM64 UEFI firmware, GRUB loader. Default <c>grubnetaa64.efi</c> (package grub-efi-arm64-bin).</summary>
    public string UefiArm64Grub { get; init; } = "grubnetaa64.efi";

    /// <summary>
    /// Path and query of the iPXE script given to a client that already is iPXE, so it never chainloads itself.
    /// <c>${net0/mac}</c> is expanded by iPXE. Default <c>/boot/ipxe?mac=${net0/mac}</c>.
    /// </summary>
    public string IpxeScriptPath { get; init; } = "/boot/ipxe?mac=${net0/mac}";

    /// <summary>Path of the x64 EFI loader for UEFI HTTP boot (93 = 16). Default <c>/boot/ipxe.efi</c>.</summary>
    public string HttpBootX64Path { get; init; } = "/boot/ipxe.efi";

    /// <summary>Path of the ARM64 EFI loader for UEFI HTTP boot (93 = 19). Default <c>/boot/ipxe-arm64.efi</c>.</summary>
    public string HttpBootArm64Path { get; init; } = "/boot/ipxe-arm64.efi";
}

/// <summary>A PXE boot menu (PXE 2.1 §2.2.6), shown by PXE ROMs before they ask the boot server on port 4011.</summary>
public sealed record PxeBootMenuOptions
{
    /// <summary>Menu prompt text (ASCII). Default <c>Press F8 for boot menu</c>, the PXE ROM convention.</summary>
    public string Prompt { get; init; } = "Press F8 for boot menu";

    /// <summary>Seconds the prompt waits before the first item boots, 0–255. Default 5.</summary>
    public int TimeoutSeconds { get; init; } = 5;

    /// <summary>Menu items; at least one.</summary>
    public IReadOnlyList<PxeBootMenuItem> Items { get; init; } = [];
}

/// <summary>A PXE boot menu item.</summary>
/// <param name="Type">PXE boot server type, 1–65534 (0 is the local-boot type per PXE 2.1 table 2-3 only when BootFile is empty).</param>
/// <param name="Description">ASCII text shown in the menu.</param>
/// <param name="BootFile">Boot file sent by the boot server for this item.</param>
public sealed record PxeBootMenuItem(int Type, string Description, string BootFile);

/// <summary>
/// Transport settings. Production uses the defaults; the ports and addresses are injectable so tests can run the
/// whole server on 127.0.0.1 with arbitrary ports (advanced/test settings).
/// </summary>
public sealed record DhcpTransportOptions
{
    /// <summary>
    /// Local address each interface socket binds to. Default 0.0.0.0: clients without an address send to
    /// 255.255.255.255, which only a wildcard bind receives. Tests use 127.0.0.1 with <c>Interfaces = ["lo"]</c>.
    /// </summary>
    public IPAddress ListenAddress { get; init; } = IPAddress.Any;

    /// <summary>Server port, and the port replies to relay agents go to. Default 67 (RFC 2131 §4.1).</summary>
    public int ServerPort { get; init; } = 67;

    /// <summary>Client port replies go to. Default 68 (RFC 2131 §4.1).</summary>
    public int ClientPort { get; init; } = 68;

    /// <summary>PXE boot-server port, proxy mode only. Default 4011 (PXE 2.1 §2.2.4).</summary>
    public int BootServerPort { get; init; } = 4011;

    /// <summary>
    /// Where broadcast replies go. Default 255.255.255.255, the limited broadcast (RFC 2131 §4.1), which leaves only
    /// through the receiving interface's socket. Tests on loopback use 127.0.0.1.
    /// </summary>
    public IPAddress BroadcastAddress { get; init; } = IPAddress.Broadcast;

    /// <summary>
    /// Most requests handled at once, that is waiting for the lease store (handlers run on the receive thread and,
    /// after their lease write, on the committer's). Default 256: bounds the largest group commit of a busy server;
    /// past it the receive thread waits and datagrams queue in the socket's buffer (<see cref="ReceiveBufferBytes"/>).
    /// With synchronous=FULL a commit waits for the disk: at 9,500 exchanges/s a limit of 64 was reached during each
    /// sync and the socket overflowed (1 % of requests lost); the waiting handlers cost only memory.
    /// </summary>
    public int Workers { get; init; } = 256;

    /// <summary>Largest number of lease writes in one store call. Default 512.</summary>
    public int MaxCommitBatch { get; init; } = 512;

    /// <summary>SO_RCVBUF of each socket. Default 4 MiB, to absorb bursts (the kernel caps it at net.core.rmem_max unless root).</summary>
    public int ReceiveBufferBytes { get; init; } = 4 * 1024 * 1024;
}
