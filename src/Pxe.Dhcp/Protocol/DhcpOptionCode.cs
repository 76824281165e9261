namespace Pxe.Dhcp.Protocol;

/// <summary>
/// DHCPv4 option codes by name. Codes 0–76 are RFC 2132 (sections cited per group);
/// the rest cite the RFC or specification that assigns them.
/// </summary>
internal enum DhcpOptionCode : byte
{
    // RFC 2132 §3: pad and end, RFC 1497 vendor extensions.
    Pad = 0,
    SubnetMask = 1,
    TimeOffset = 2,
    Router = 3,
    TimeServer = 4,
    NameServer = 5,
    DomainNameServer = 6,
    LogServer = 7,
    CookieServer = 8,
    LprServer = 9,
    ImpressServer = 10,
    ResourceLocationServer = 11,
    HostName = 12,
    BootFileSize = 13,
    MeritDumpFile = 14,
    DomainName = 15,
    SwapServer = 16,
    RootPath = 17,
    ExtensionsPath = 18,

    // RFC 2132 §4: IP layer parameters per host.
    IpForwarding = 19,
    NonLocalSourceRouting = 20,
    PolicyFilter = 21,
    MaximumDatagramReassemblySize = 22,
    DefaultIpTimeToLive = 23,
    PathMtuAgingTimeout = 24,
    PathMtuPlateauTable = 25,

    // RFC 2132 §5: IP layer parameters per interface.
    InterfaceMtu = 26,
    AllSubnetsAreLocal = 27,
    BroadcastAddress = 28,
    PerformMaskDiscovery = 29,
    MaskSupplier = 30,
    PerformRouterDiscovery = 31,
    RouterSolicitationAddress = 32,
    StaticRoute = 33,

    // RFC 2132 §6: link layer parameters per interface.
    TrailerEncapsulation = 34,
    ArpCacheTimeout = 35,
    EthernetEncapsulation = 36,

    // RFC 2132 §7: TCP parameters.
    TcpDefaultTimeToLive = 37,
    TcpKeepaliveInterval = 38,
    TcpKeepaliveGarbage = 39,

    // RFC 2132 §8: application and service parameters.
    NisDomain = 40,
    NisServers = 41,
    NtpServers = 42,
    VendorSpecificInformation = 43,
    NetBiosNameServer = 44,
    NetBiosDatagramDistributionServer = 45,
    NetBiosNodeType = 46,
    NetBiosScope = 47,
    XWindowFontServer = 48,
    XWindowDisplayManager = 49,

    // RFC 2132 §9: DHCP extensions.
    RequestedIpAddress = 50,
    IpAddressLeaseTime = 51,
    OptionOverload = 52,
    MessageType = 53,
    ServerIdentifier = 54,
    ParameterRequestList = 55,
    Message = 56,
    MaximumMessageSize = 57,
    RenewalTimeValue = 58,
    RebindingTimeValue = 59,
    VendorClassIdentifier = 60,
    ClientIdentifier = 61,

    // RFC 2132 §8 (continued).
    NisPlusDomain = 64,
    NisPlusServers = 65,

    // RFC 2132 §9.4–9.5.
    TftpServerName = 66,
    BootFileName = 67,

    // RFC 2132 §8 (continued).
    MobileIpHomeAgent = 68,
    SmtpServer = 69,
    Pop3Server = 70,
    NntpServer = 71,
    WwwServer = 72,
    FingerServer = 73,
    IrcServer = 74,
    StreetTalkServer = 75,
    StreetTalkDirectoryAssistanceServer = 76,

    /// <summary>RFC 3004 user class; iPXE sends the bare bytes <c>iPXE</c> without RFC 3004 length prefixes.</summary>
    UserClass = 77,

    /// <summary>RFC 3046 relay agent information; echoed unchanged in replies.</summary>
    RelayAgentInformation = 82,

    /// <summary>RFC 4578 §2.1 client system architecture (list of 16-bit IANA processor architecture types).</summary>
    ClientSystemArchitecture = 93,

    /// <summary>RFC 4578 §2.2 client network interface identifier (type 1, UNDI major, minor).</summary>
    ClientNetworkInterfaceIdentifier = 94,

    /// <summary>RFC 4578 §2.3 client machine identifier (type 0 followed by a 16-byte GUID).</summary>
    ClientMachineIdentifier = 97,

    /// <summary>RFC 3397 domain search list.</summary>
    DomainSearch = 119,

    /// <summary>RFC 3442 classless static route.</summary>
    ClasslessStaticRoute = 121,

    /// <summary>iPXE encapsulated options (Etherboot, tentatively assigned by IANA); its presence marks an iPXE client.</summary>
    IpxeEncapsulated = 175,

    /// <summary>RFC 2132 §3.2.</summary>
    End = 255,
}
