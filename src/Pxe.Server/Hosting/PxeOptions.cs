using System.Net;
using System.Net.Sockets;

namespace Pxe.Server.Hosting;

/// <summary>
/// Everything `pxe serve` is configured with. Values come from appsettings.json (section <c>Pxe</c>), then
/// environment variables (<c>PXE__DataDirectory</c>…), then command-line flags; each default says why it is what it is.
/// </summary>
public sealed record PxeOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Pxe";

    /// <summary>Where the database and served files live (<c>pxe.db</c>, <c>files/</c>, <c>tftp/</c>). Default <c>data</c>: beside the working directory, so a fresh clone runs as is.</summary>
    public string DataDirectory { get; init; } = "data";

    /// <summary>Folder of distro and profile YAML files. Default <c>profiles</c> (the repository's).</summary>
    public string SpecDirectory { get; init; } = "profiles";

    /// <summary>Folder of templates. Default <c>templates</c> (the repository's).</summary>
    public string TemplatesDirectory { get; init; } = "templates";

    /// <summary>HTTP listen URL. Default <c>http://127.0.0.1:8080</c>: nothing is exposed to the network until you say so.</summary>
    public string HttpUrl { get; init; } = "http://127.0.0.1:8080";

    /// <summary>
    /// The base URL machines use to reach this server (kernel, initrd, install files, callbacks). Default: the HTTP
    /// listen URL when it names one address; required when listening on all addresses (0.0.0.0).
    /// </summary>
    public string? ServerUrl { get; init; }

    /// <summary>The TFTP server address handed to machines (DHCP siaddr). Default: the host of <see cref="ServerUrl"/>.</summary>
    public string? NextServer { get; init; }

    /// <summary>Record unknown MACs as Discovered. Default true: an operator wants to see what is asking to boot.</summary>
    public bool RecordUnknownMachines { get; init; } = true;

    /// <summary>Profile unknown machines boot (a discovery image); empty: they boot from their disk. Default empty.</summary>
    public string? DefaultProfile { get; init; }

    /// <summary>Server-wide template variables (the lowest layer).</summary>
    public Dictionary<string, string> Variables { get; init; } = [];

    /// <summary>Largest request body the API accepts. Default 4 MiB: a bulk import of ~20,000 machines.</summary>
    public long MaxRequestBodyBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>
    /// Memory for rendered install files kept for installers that fetch them again (0 turns the cache off). Default
    /// 256 MiB: 10,000 installs running at once with a 12 KiB kickstart each take 120 MiB, twice that leaves room for
    /// larger files; past it the cache starts over. Every request still checks the install and its token.
    /// </summary>
    public long InstallFileCacheBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>
    /// API requests a token may make per second (bursts of twice that pass). Default 50: far above what an operator
    /// or an automation loop needs, far below what a runaway script sends.
    /// </summary>
    public int ApiRequestsPerSecond { get; init; } = 50;

    /// <summary>HTTPS listen URL for the API (e.g. https://10.0.0.1:8443). When set, the API answers only over HTTPS; boot routes stay on HTTP, which firmware needs.</summary>
    public string? HttpsUrl { get; init; }

    /// <summary>PEM certificate for <see cref="HttpsUrl"/>.</summary>
    public string? CertificateFile { get; init; }

    /// <summary>PEM private key of <see cref="CertificateFile"/> (omit when the certificate file holds the key too).</summary>
    public string? CertificateKeyFile { get; init; }

    /// <summary>
    /// <c>full</c> (default): every commit is synced to disk, so an acknowledged write survives a power cut.
    /// <c>process</c>: commits reach the operating system only (they survive a killed or crashed server, not a power
    /// cut of the last moments) — several times the DHCP lease rate, and the durability of Kea's memfile store.
    /// </summary>
    public string Durability { get; init; } = "full";

    /// <summary>The TFTP service (boot loaders, and generated pxelinux and GRUB configs).</summary>
    public Tftp.TftpSettings Tftp { get; init; } = new();

    /// <summary>The DHCP/PXE service (off unless configured: it answers only on the interfaces named here).</summary>
    public Dhcp.DhcpSettings Dhcp { get; init; } = new();

    /// <summary>How often installs past their deadline are marked Failed. Default 30 s.</summary>
    public TimeSpan InstallTimeoutCheckInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Image builds waiting behind the one running (builds run one at a time: each is disk- and CPU-heavy). Default 16:
    /// a build takes seconds to many minutes, so more than 16 waiting is a runaway script, refused with 503.
    /// </summary>
    public int ImageBuildQueueLength { get; init; } = 16;

    /// <summary>
    /// A build still running after this long is cancelled and reported failed. Default 2 h: a debootstrap base from a
    /// slow mirror takes about 10 minutes and a role on a cached base seconds, so 2 h means a tool hangs.
    /// </summary>
    public TimeSpan ImageBuildTimeout { get; init; } = TimeSpan.FromHours(2);

    /// <summary>The URL machines use, derived when not set.</summary>
    public string EffectiveServerUrl
    {
        get
        {
            if (!string.IsNullOrWhiteSpace(ServerUrl))
            {
                return ServerUrl.TrimEnd('/');
            }

            return HttpUrl.TrimEnd('/');
        }
    }

    /// <summary>The TFTP address machines use, derived when not set.</summary>
    public string EffectiveNextServer =>
        !string.IsNullOrWhiteSpace(NextServer) ? NextServer
        : Uri.TryCreate(EffectiveServerUrl, UriKind.Absolute, out var u) ? u.Host : "";

    /// <summary>Path of the SQLite database.</summary>
    public string DatabasePath => Path.Combine(DataDirectory, "pxe.db");

    /// <summary>Folder served under /files.</summary>
    public string FilesDirectory => Path.Combine(DataDirectory, "files");

    /// <summary>
    /// The image library, <c>files/images</c>: inside the served folder, so every image file is downloadable at
    /// <c>/files/images/NAME/VERSION/FILE</c> (with Range and ETag), and the path below /files is what <c>image_file</c> holds.
    /// </summary>
    public string ImagesDirectory => Path.Combine(FilesDirectory, "images");

    /// <summary>The image builder's step cache, <c>cache/images</c>: outside the served folder; safe to delete (the next build is slower).</summary>
    public string ImageCacheDirectory => Path.Combine(DataDirectory, "cache", "images");

    /// <summary>Every problem with these options at once, each saying how to fix it.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!Uri.TryCreate(HttpUrl, UriKind.Absolute, out var http) || http.Scheme is not ("http" or "https") || http.AbsolutePath != "/")
        {
            errors.Add($"HttpUrl '{HttpUrl}' must be an http(s) URL with a host and port and no path, e.g. http://10.0.0.1:8080 (flag --http)");
        }
        else if (string.IsNullOrWhiteSpace(ServerUrl) && (http.Host is "0.0.0.0" or "[::]" or "*" or "+"))
        {
            errors.Add($"HttpUrl '{HttpUrl}' listens on all addresses, so machines cannot be told which one to use: set ServerUrl (flag --server-url), e.g. http://10.0.0.1:8080");
        }

        if (!string.IsNullOrWhiteSpace(ServerUrl)
            && (!Uri.TryCreate(ServerUrl, UriKind.Absolute, out var s) || s.Scheme is not ("http" or "https") || s.Query.Length > 0))
        {
            errors.Add($"ServerUrl '{ServerUrl}' must be an absolute http(s) URL such as http://10.0.0.1:8080 (flag --server-url)");
        }

        if (!string.IsNullOrWhiteSpace(NextServer) && (!IPAddress.TryParse(NextServer, out var ns) || ns.AddressFamily != AddressFamily.InterNetwork))
        {
            errors.Add($"NextServer '{NextServer}' must be an IPv4 address (flag --next-server)");
        }

        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            errors.Add("DataDirectory is empty: give the folder for the database and files (flag --data-dir)");
        }

        if (!Directory.Exists(SpecDirectory))
        {
            errors.Add($"SpecDirectory '{Path.GetFullPath(SpecDirectory)}' does not exist: point --spec-dir at the folder of distro and profile YAML files");
        }

        if (!Directory.Exists(TemplatesDirectory))
        {
            errors.Add($"TemplatesDirectory '{Path.GetFullPath(TemplatesDirectory)}' does not exist: point --templates-dir at the templates folder");
        }

        if (HttpsUrl is { Length: > 0 })
        {
            if (!Uri.TryCreate(HttpsUrl, UriKind.Absolute, out var h) || h.Scheme != "https" || h.AbsolutePath != "/")
            {
                errors.Add($"HttpsUrl '{HttpsUrl}' must be an https URL with a host and port and no path, e.g. https://10.0.0.1:8443");
            }

            if (string.IsNullOrWhiteSpace(CertificateFile) || !File.Exists(CertificateFile))
            {
                errors.Add($"HttpsUrl is set, so CertificateFile must name an existing PEM certificate (got '{CertificateFile}')");
            }
        }

        if (ApiRequestsPerSecond is < 1 or > 100_000)
        {
            errors.Add($"ApiRequestsPerSecond {ApiRequestsPerSecond} must be between 1 and 100000");
        }

        if (!RecordUnknownMachines && !string.IsNullOrWhiteSpace(DefaultProfile))
        {
            errors.Add("DefaultProfile needs RecordUnknownMachines=true: an unknown machine's install is tracked (and its install files protected by a token) only once it is recorded");
        }

        if (Tftp.Enabled)
        {
            errors.AddRange(Tftp.ToOptions(HttpUrl, DataDirectory).Errors);
        }

        var (_, dhcpErrors) = Dhcp.ToOptions(EffectiveServerUrl, NextServer);
        errors.AddRange(dhcpErrors);
        if (dhcpErrors.Count == 0 && Dhcp.Mode != "off")
        {
            var present = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces().Select(i => i.Name).ToHashSet();
            foreach (var name in Dhcp.Interfaces.Where(i => !present.Contains(i)))
            {
                errors.Add($"Dhcp:Interfaces: interface '{name}' does not exist on this host; interfaces here: {string.Join(", ", present.Order(StringComparer.Ordinal))}");
            }
        }

        if (ImageBuildQueueLength is < 1 or > 1000)
        {
            errors.Add($"ImageBuildQueueLength {ImageBuildQueueLength} must be between 1 and 1000");
        }

        if (ImageBuildTimeout < TimeSpan.FromMinutes(1) || ImageBuildTimeout > TimeSpan.FromDays(2))
        {
            errors.Add($"ImageBuildTimeout {ImageBuildTimeout} must be between 1 minute and 2 days (e.g. 02:00:00)");
        }

        if (Durability is not ("full" or "process"))
        {
            errors.Add($"Durability '{Durability}' must be full or process");
        }

                if (MaxRequestBodyBytes is < 1024 or > 1024L * 1024 * 1024)
        {
            errors.Add($"MaxRequestBodyBytes {MaxRequestBodyBytes} must be between 1 KiB and 1 GiB");
        }

        if (InstallFileCacheBytes is < 0 or > 64L * 1024 * 1024 * 1024)
        {
            errors.Add($"InstallFileCacheBytes {InstallFileCacheBytes} must be between 0 (no cache) and 64 GiB");
        }

        foreach (var key in Variables.Keys.Where(k => !Pxe.Profiles.Spec.SpecNames.IsValidVariable(k) || k.StartsWith('!')))
        {
            errors.Add($"Variables: {Pxe.Profiles.Spec.SpecNames.VariableRule(key)}");
        }

        return errors;
    }
}
