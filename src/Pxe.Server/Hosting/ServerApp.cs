using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http.Json;
using Pxe.Dhcp;
using Pxe.Profiles.Domain;
using Microsoft.AspNetCore.StaticFiles;
using Pxe.Profiles.Rendering;
using Pxe.Profiles.Services;
using Pxe.Profiles.Spec;
using Pxe.Profiles.Storage;
using Pxe.Server.Dhcp;
using Pxe.Server.Http;
using Pxe.Server.Tftp;
using Pxe.Tftp.Files;
using Pxe.Tftp.Server;

namespace Pxe.Server.Hosting;

/// <summary>Builds and starts the `pxe serve` process: store, spec, HTTP endpoints and background services.</summary>
public static partial class ServerApp
{
    /// <summary>
    /// Validates options, opens the store, loads the spec and builds the web application. Problems come back as one
    /// message each (no stack traces) and the caller exits non-zero.
    /// </summary>
    public static async Task<(WebApplication? App, IReadOnlyList<string> Errors)> BuildAsync(
        PxeOptions options, Action<WebApplicationBuilder>? configure, CancellationToken ct)
    {
        // Every problem at once: the data directory is checked even when other options are wrong.
        var errors = options.Validate().ToList();
        if (!string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            try
            {
                Directory.CreateDirectory(options.DataDirectory);
                Directory.CreateDirectory(options.FilesDirectory);
                var probe = Path.Combine(options.DataDirectory, ".write-test-" + Environment.ProcessId);
                await File.WriteAllTextAsync(probe, "", ct);
                File.Delete(probe);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                errors.Add($"DataDirectory '{Path.GetFullPath(options.DataDirectory)}' is not writable ({e.Message}); fix its permissions or choose another with --data-dir");
            }
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        SqliteStore store;
        try
        {
            store = await SqliteStore.OpenAsync(options.DatabasePath, options.Durability == "process" ? StoreDurability.Process : StoreDurability.Full, ct);
        }
        catch (StoreUnavailableException e)
        {
            return (null, [e.Message]);
        }

        // The image library, read before the spec so that renders see it from the first request (a library that cannot be read is logged at start).
        var images = new Images.ImageCatalog(new Pxe.Images.Library.ImageLibrary(options.ImagesDirectory));
        await images.RefreshAsync(ct);
        var settings = new RenderSettings
        {
            ServerUrl = options.EffectiveServerUrl,
            NextServer = options.EffectiveNextServer,
            Globals = options.Variables.ToDictionary(v => v.Key, v => (object?)v.Value, StringComparer.Ordinal),
            Images = images,
        };
        var spec = new SpecService(store, store, new SpecDirectory(options.SpecDirectory), options.TemplatesDirectory, settings);
        var specErrors = await spec.InitializeAsync(ct);
        if (specErrors.Count > 0)
        {
            return (null, specErrors.Select(e => $"spec: {e}").ToList());
        }

        if (options.DefaultProfile is { Length: > 0 } dp && !spec.Current.Spec.Profiles.ContainsKey(dp))
        {
            return (null, [$"DefaultProfile '{dp}' does not exist; known profiles: {string.Join(", ", spec.Current.Spec.Profiles.Keys.Order(StringComparer.Ordinal))}"]);
        }

        X509Certificate2? certificate = null;
        if (options.HttpsUrl is { Length: > 0 })
        {
            try
            {
                certificate = X509Certificate2.CreateFromPemFile(options.CertificateFile!, options.CertificateKeyFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
            {
                return (null, [$"CertificateFile '{options.CertificateFile}' / CertificateKeyFile '{options.CertificateKeyFile}' cannot be loaded ({e.Message}); give a PEM certificate and its PEM private key"]);
            }
        }

        var tokens = new TokenService(store, TimeProvider.System);
        string? adminTokenFile = null;
        if ((await tokens.ListAsync(ct)).Count == 0)
        {
            adminTokenFile = Path.GetFullPath(Path.Combine(options.DataDirectory, "admin-token"));
            var (_, secret, error) = await tokens.CreateAsync("admin", ApiRole.Admin, "system", ct);
            if (secret is null)
            {
                return (null, [$"cannot create the first admin token: {error}"]);
            }

            await using (var f = new FileStream(adminTokenFile, new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }))
            {
                await f.WriteAsync(System.Text.Encoding.ASCII.GetBytes(secret + "\n"), ct);
            }

            File.SetUnixFileMode(adminTokenFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var builder = WebApplication.CreateSlimBuilder();
        if (certificate is not null)
        {
            builder.WebHost.UseKestrelHttpsConfiguration();
        }

        builder.WebHost.UseUrls(options.HttpsUrl is { Length: > 0 } https ? [options.HttpUrl, https] : [options.HttpUrl]);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            if (certificate is not null)
            {
                k.ConfigureHttpsDefaults(h => h.ServerCertificate = certificate);
            }
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.Configure<JsonOptions>(o => ApiJson.Configure(o.SerializerOptions));
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi("v1");
        var events = new EventLog(store);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton<IMachineStore>(new CachedMachineStore(store, TimeProvider.System));
        builder.Services.AddSingleton<IEventStore>(store);
        builder.Services.AddSingleton<ISpecStore>(store);
        builder.Services.AddSingleton(events);
        builder.Services.AddSingleton(spec);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(new DiscoveryPolicy
        {
            RecordUnknown = options.RecordUnknownMachines,
            DefaultProfile = string.IsNullOrWhiteSpace(options.DefaultProfile) ? null : options.DefaultProfile,
        });
        if (options.InstallFileCacheBytes > 0)
        {
            builder.Services.AddSingleton(new InstallFileCache(options.InstallFileCacheBytes));
        }

        builder.Services.AddSingleton<ProvisioningService>();
        builder.Services.AddSingleton(tokens);
        builder.Services.AddSingleton(new ApiRateLimiter(options.ApiRequestsPerSecond));
        builder.Services.AddSingleton(new ProvisioningOptionsView(options.EffectiveServerUrl));
        builder.Services.AddSingleton(new BootLoaderFiles(options.Tftp.RootFolder ?? Path.Combine(options.DataDirectory, "tftp")));
        builder.Services.AddHostedService<InstallTimeoutService>();
        Images.ImageHosting.AddImages(builder.Services, images, options);
        var (tftpOptions, _) = options.Tftp.ToOptions(options.HttpUrl, options.DataDirectory);
        if (options.Tftp.Enabled && tftpOptions is not null)
        {
            Directory.CreateDirectory(tftpOptions.RootFolder);
            builder.Services.AddSingleton(sp => new TftpServer(tftpOptions,
                new CompositeFileSource(new GeneratedBootFiles(sp.GetRequiredService<ProvisioningService>()), new RootFolderFileSource(tftpOptions.RootFolder)),
                sp.GetRequiredService<ILoggerFactory>()));
            builder.Services.AddHostedService(sp => new TftpHostedService(sp.GetRequiredService<TftpServer>()));
        }

        var (dhcpOptions, _) = options.Dhcp.ToOptions(options.EffectiveServerUrl, options.NextServer);
        builder.Services.AddSingleton<ILeaseTable>(store);
        if (dhcpOptions is { Mode: not DhcpMode.Off })
        {
            builder.Services.AddSingleton(sp => new DhcpServer(dhcpOptions,
                new BootInventoryAdapter(sp.GetRequiredService<IMachineStore>(), spec, sp.GetRequiredService<ProvisioningService>()),
                new LeaseStoreAdapter(store),
                sp.GetRequiredService<ILoggerFactory>()));
            builder.Services.AddHostedService(sp => new DhcpHostedService(sp.GetRequiredService<DhcpServer>()));
            if (options.Dhcp.FastIpxe)
            {
                builder.Services.AddHostedService(sp => new FastIpxeService(dhcpOptions.Interfaces, sp.GetRequiredService<ILoggerFactory>()));
            }
        }
        configure?.Invoke(builder);

        var app = builder.Build();
        // A request the server refuses before a handler runs (body too large, malformed) keeps its status instead of a 500.
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = e => e is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
        });
        app.UseStatusCodePages();
        app.MapOpenApi("/api/v1/openapi.json");
        app.MapGet("/healthz", () => Results.Text("ok\n")).ExcludeFromDescription();
        BootEndpoints.Map(app);
        MetricsEndpoint.Map(app);
        ApiEndpoints.Map(app);
        ImageEndpoints.Map(app);
        EncEndpoint.Map(app);
        var files = new ContainedFileProvider(options.FilesDirectory);
        var contentTypes = new FileExtensionContentTypeProvider();
        app.UseStaticFiles(new StaticFileOptions
        {
            RequestPath = "/files",
            FileProvider = files,
            ServeUnknownFileTypes = true,
            DefaultContentType = "application/octet-stream",
            ContentTypeProvider = contentTypes,
            // The file's bytes go from the file into Kestrel's pipe in one copy (the UEFI loaders under /boot too).
            OnPrepareResponse = file => DirectFileBody.Install(file.Context),
        });
        if (adminTokenFile is not null)
        {
            LogAdminTokenCreated(app.Logger, adminTokenFile);
        }

        app.Lifetime.ApplicationStopping.Register(() => events.DisposeAsync().AsTask().GetAwaiter().GetResult());
        return (app, []);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
        Message = "First start: an admin API token was created and written to {File} (readable only by its owner). Use it as 'Authorization: Bearer …' or PXE_TOKEN, create named tokens with `pxe tokens create`, then delete the file.")]
    private static partial void LogAdminTokenCreated(ILogger logger, string file);
}
