using System.Net;
using System.Net.Sockets;
using Pxe.Tftp;

namespace Pxe.Server.Tftp;

/// <summary>The TFTP section of the server's settings (<c>Pxe:Tftp</c>); <see cref="ToOptions"/> makes the service's options.</summary>
public sealed record TftpSettings
{
    /// <summary>Serve TFTP. Default true: BIOS and UEFI PXE firmware fetch their first loader over TFTP.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Address to listen on. Default: the host of the HTTP listen URL (127.0.0.1 until you choose a network address).</summary>
    public string? BindAddress { get; init; }

    /// <summary>UDP port. Default 69 (RFC 1350).</summary>
    public int Port { get; init; } = 69;

    /// <summary>Folder of boot loaders. Default <c>&lt;data&gt;/tftp</c> (tools/serve fills it from Debian's packages).</summary>
    public string? RootFolder { get; init; }

    /// <summary>Most transfers at once; beyond it requests are dropped so the firmware's retransmission retries them. Default 1024.</summary>
    public int MaxConcurrentTransfers { get; init; } = 1024;

    /// <summary>Translates to the service's options; errors say what to fix.</summary>
    public (TftpServerOptions? Options, IReadOnlyList<string> Errors) ToOptions(string httpUrl, string dataDirectory)
    {
        var errors = new List<string>();
        var host = BindAddress ?? (Uri.TryCreate(httpUrl, UriKind.Absolute, out var u) ? u.Host : "0.0.0.0");
        if (host is "localhost")
        {
            host = "127.0.0.1";
        }

        if (!IPAddress.TryParse(host, out var address) || address.AddressFamily != AddressFamily.InterNetwork)
        {
            errors.Add($"Tftp:BindAddress '{host}' is not an IPv4 address (set Tftp:BindAddress, or listen HTTP on an address)");
            return (null, errors);
        }

        var options = new TftpServerOptions
        {
            BindAddress = address,
            Port = Port,
            RootFolder = RootFolder ?? Path.Combine(dataDirectory, "tftp"),
            MaxConcurrentTransfers = MaxConcurrentTransfers,
        };
        errors.AddRange(TftpServerOptionsValidator.Validate(options, requireRootFolder: false).Select(e => "Tftp: " + e));
        return (errors.Count == 0 ? options : null, errors);
    }
}
