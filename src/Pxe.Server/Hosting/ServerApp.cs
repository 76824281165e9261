using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.StaticFiles;
using Pxe.Profiles.Rendering;
using Pxe.Profiles.Services;
using Pxe.Profiles.Spec;
using Pxe.Profiles.Storage;
using Pxe.Server.Http;

namespace Pxe.Server.Hosting;

/// <summary>Builds and starts the `pxe serve` process: store, spec, HTTP endpoints and background services.</summary>
public static class ServerApp
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
            store = await SqliteStore.OpenAsync(options.DatabasePath, ct);
        }
        catch (StoreUnavailableException e)
        {
            return (null, [e.Message]);
        }

        var settings = new RenderSettings
        {
            ServerUrl = options.EffectiveServerUrl,
            NextServer = options.EffectiveNextServer,
            Globals = options.Variables.ToDictionary(v => v.Key, v => (object?)v.Value, StringComparer.Ordinal),
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

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(options.HttpUrl);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.Configure<JsonOptions>(o => ApiJson.Configure(o.SerializerOptions));
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi("v1");
        var events = new EventLog(store);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton<IMachineStore>(store);
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
        builder.Services.AddSingleton<ProvisioningService>();
        builder.Services.AddSingleton(new ProvisioningOptionsView(options.EffectiveServerUrl));
        builder.Services.AddHostedService<InstallTimeoutService>();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapOpenApi("/api/v1/openapi.json");
        app.MapGet("/healthz", () => Results.Text("ok\n")).ExcludeFromDescription();
        BootEndpoints.Map(app);
        ApiEndpoints.Map(app);
        var files = new ContainedFileProvider(options.FilesDirectory);
        var contentTypes = new FileExtensionContentTypeProvider();
        app.UseStaticFiles(new StaticFileOptions
        {
            RequestPath = "/files",
            FileProvider = files,
            ServeUnknownFileTypes = true,
            DefaultContentType = "application/octet-stream",
            ContentTypeProvider = contentTypes,
        });
        app.Lifetime.ApplicationStopping.Register(() => events.DisposeAsync().AsTask().GetAwaiter().GetResult());
        return (app, []);
    }
}
