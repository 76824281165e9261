using System.Net;

namespace Pxe.Tftp;

/// <summary>
/// Settings of the TFTP server. Every default says where it comes from; <see cref="TftpServerOptionsValidator"/>
/// checks them all at start and reports every error at once.
/// </summary>
public sealed record TftpServerOptions
{
    /// <summary>Address to listen on. Default <see cref="IPAddress.Any"/>: every IPv4 interface, as tftpd-hpa.</summary>
    public IPAddress BindAddress { get; init; } = IPAddress.Any;

    /// <summary>UDP port for read requests. Default 69: the TFTP port (RFC 1350 §4). 0 picks a free port (tests).</summary>
    public int Port { get; init; } = 69;

    /// <summary>Folder of bootloaders. Default <c>/srv/tftp</c>: Debian's tftpd-hpa <c>TFTP_DIRECTORY</c>.</summary>
    public string RootFolder { get; init; } = "/srv/tftp";

    /// <summary>
    /// Transfers running at once. Default 1024: a rack-wide boot storm of several hundred machines, each fetching
    /// one file at a time, fits with room to spare. A request beyond the bound is dropped (counted and logged) so
    /// that the client's own RRQ retransmission retries it a moment later instead of failing the boot.
    /// </summary>
    public int MaxConcurrentTransfers { get; init; } = 1024;

    /// <summary>Retransmissions of one packet before the transfer is abandoned. Default 6: tftpd-hpa's <c>TIMEOUT_LIMIT</c>.</summary>
    public int RetryLimit { get; init; } = 6;

    /// <summary>
    /// Retransmission timeout when the client sends no <c>timeout</c> option. Default 1 s: tftpd-hpa's default
    /// (<c>-T 1000000</c>) and the smallest value the RFC 2349 option can express.
    /// </summary>
    public TimeSpan DefaultTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Largest blksize granted. Default 65464: the RFC 2348 maximum (the MTU cap below usually lowers it).</summary>
    public int MaxBlockSize { get; init; } = 65464;

    /// <summary>
    /// Lower blksize so a DATA packet fits the receiving interface's MTU, when known (1500 → 1468 over IPv4:
    /// 1500 − IP 20 − UDP 8 − TFTP 4). Default true: IP fragments are lost together on busy links, and firmware
    /// reassembly buffers are small.
    /// </summary>
    public bool CapBlockSizeToMtu { get; init; } = true;

    /// <summary>
    /// Largest windowsize granted (RFC 7440). Default 64: a window of 1468-byte blocks (about 150 KiB of socket
    /// memory) stays under Linux's default 208 KiB receive buffer (<c>net.core.rmem_default</c>). At most 32768, so
    /// 16-bit block numbers stay unambiguous inside a window.
    /// </summary>
    public int MaxWindowSize { get; init; } = 64;

    /// <summary>Total bytes of hot files kept in memory and shared by all transfers. Default 256 MiB: every bootloader of Debian's ipxe, pxelinux, syslinux-common and grub-efi-amd64-bin together is under 20 MiB.</summary>
    public long HotFileCacheSizeLimit { get; init; } = 256L * 1024 * 1024;

    /// <summary>Files up to this size are cached; larger ones are streamed from disk. Default 64 MiB: bootloaders and most kernels/initrds fit.</summary>
    public long MaxCachedFileSize { get; init; } = 64L * 1024 * 1024;

    /// <summary>Largest file sent in netascii mode (converted in memory). Default 16 MiB: netascii is for text such as configs.</summary>
    public long MaxNetasciiFileSize { get; init; } = 16L * 1024 * 1024;

    /// <summary>Longest requested file name, in UTF-8 bytes. Default 255: Linux <c>NAME_MAX</c>; requests are at most 512 octets (RFC 2347 §2).</summary>
    public int MaxPathLength { get; init; } = 255;

    /// <summary>Read requests waiting for a worker. Default 4096: several requests per machine of a 1000-machine storm. Beyond it requests are dropped and counted.</summary>
    public int RequestQueueLength { get; init; } = 4096;

    /// <summary>Workers that parse requests and look files up. Default 4: lookups are short; more only helps when the file source is slow.</summary>
    public int RequestWorkers { get; init; } = 4;

    /// <summary>Receive buffer of the listening socket (<c>SO_RCVBUF</c>). Default 4 MiB: absorbs a burst of thousands of RRQs; Linux caps it at <c>net.core.rmem_max</c>.</summary>
    public int ListenReceiveBufferSize { get; init; } = 4 * 1024 * 1024;
}
