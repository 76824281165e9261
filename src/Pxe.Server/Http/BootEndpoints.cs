using System.Text.Json;
using Pxe.Profiles.Domain;
using Pxe.Profiles.Rendering;
using Pxe.Profiles.Services;

namespace Pxe.Server.Http;

/// <summary>
/// The firmware- and installer-facing HTTP routes: boot scripts, install files, callbacks, and files. These answer
/// plain text for machines; errors are problem details so an operator reading a log sees the reason.
/// </summary>
internal static class BootEndpoints
{
    private const string TextPlain = "text/plain; charset=utf-8";

    public static void Map(WebApplication app)
    {
        // iPXE: the DHCP boot file points here; it chains to the per-MAC script (boot.ipxe, then the per-MAC script).
        app.MapGet("/boot.ipxe", (ProvisioningOptionsView view) =>
            Results.Text($"#!ipxe\nchain {view.ServerUrl}/boot/ipxe?mac=${{net0/mac}} || exit\n", TextPlain))
            .ExcludeFromDescription();
        // UEFI HTTP boot (DHCP option 60 HTTPClient) fetches its first loader over HTTP: the same files TFTP serves.
        app.MapGet("/boot/{loader}.efi", (string loader, BootLoaderFiles files, HttpContext context) =>
        {
            if (files.Find(loader + ".efi") is not { } path)
            {
                return Problems.NotFound($"no boot loader '{loader}.efi' in the TFTP folder; copy it there (see README, TFTP)");
            }

            DirectFileBody.Install(context);
            return Results.File(path, "application/efi", enableRangeProcessing: true);
        });
        app.MapGet("/boot/ipxe", async (string? mac, ProvisioningService svc, CancellationToken ct) =>
            await Boot(mac, BootFileKind.Ipxe, svc, ct));
        app.MapGet("/ipxe/{mac}.ipxe", async (string mac, ProvisioningService svc, CancellationToken ct) =>
            await Boot(mac, BootFileKind.Ipxe, svc, ct));

        app.MapGet("/boot/{mac}/t/{token}/{file}", async (string mac, string token, string file, ProvisioningService svc, CancellationToken ct) =>
            await InstallFile(mac, file, token, svc, ct));
        app.MapPost("/boot/{mac}/t/{token}/done", async (string mac, string token, ProvisioningService svc, CancellationToken ct) =>
            await Done(mac, token, svc, ct));
        app.MapPost("/boot/{mac}/t/{token}/events", async (string mac, string token, HttpRequest req, ProvisioningService svc, CancellationToken ct) =>
            await Report(mac, token, req, svc, ct));

        app.MapGet("/boot/{mac}/{file}", async (string mac, string file, string? token, ProvisioningService svc, CancellationToken ct) =>
            await InstallFile(mac, file, token, svc, ct));
        app.MapPost("/boot/{mac}/done", async (string mac, string? token, ProvisioningService svc, CancellationToken ct) =>
            await Done(mac, token, svc, ct));
        app.MapPost("/boot/{mac}/events", async (string mac, string? token, HttpRequest req, ProvisioningService svc, CancellationToken ct) =>
            await Report(mac, token, req, svc, ct));
    }

    private static async Task<IResult> Boot(string? macText, BootFileKind kind, ProvisioningService svc, CancellationToken ct)
    {
        if (!MacAddress.TryParse(macText, out var mac, out var error))
        {
            return Problems.BadRequest(error + " (iPXE sends it as ?mac=${net0/mac})");
        }

        var outcome = await svc.BootAsync(mac, kind, ct);
        return outcome.Succeeded ? Results.Text(outcome.Text, TextPlain) : Problems.RenderFailed(outcome.Error!);
    }

    private static async Task<IResult> InstallFile(string macText, string file, string? token, ProvisioningService svc, CancellationToken ct)
    {
        if (!MacAddress.TryParse(macText, out var mac, out var error))
        {
            return Problems.BadRequest(error);
        }

        var served = await svc.InstallFileUtf8Async(mac, file, token, ct);
        if (served.Utf8 is { } utf8)
        {
            return new Utf8TextResult(utf8);
        }

        var outcome = served.Failure!;
        return outcome.Forbidden ? Problems.Problem(StatusCodes.Status403Forbidden, "Forbidden", outcome.Error!)
            : outcome.NotFound ? Problems.NotFound(outcome.Error!)
            : Problems.RenderFailed(outcome.Error!);
    }

    private static async Task<IResult> Done(string macText, string? token, ProvisioningService svc, CancellationToken ct)
    {
        if (!MacAddress.TryParse(macText, out var mac, out var error))
        {
            return Problems.BadRequest(error);
        }

        var result = await svc.DoneAsync(mac, token, ct);
        return Callback(result);
    }

    private static async Task<IResult> Report(string macText, string? token, HttpRequest req, ProvisioningService svc, CancellationToken ct)
    {
        if (!MacAddress.TryParse(macText, out var mac, out var error))
        {
            return Problems.BadRequest(error);
        }

        // Installers report with whatever they have: a JSON body, a form, or query parameters (busybox wget --post-data).
        string? stage = req.Query["stage"], status = req.Query["status"], message = req.Query["message"];
        if (req.HasJsonContentType())
        {
            try
            {
                var body = await req.ReadFromJsonAsync<ReportBody>(ApiJson.Options, ct);
                (stage, status, message) = (body?.Stage ?? stage, body?.Status ?? status, body?.Message ?? message);
            }
            catch (JsonException e)
            {
                return Problems.BadRequest($"the report is not valid JSON ({e.Message}); send {{\"stage\":\"…\",\"status\":\"…\",\"message\":\"…\"}}");
            }
        }
        else if (req.HasFormContentType)
        {
            var form = await req.ReadFormAsync(ct);
            (stage, status, message) = (form["stage"].FirstOrDefault() ?? stage, form["status"].FirstOrDefault() ?? status, form["message"].FirstOrDefault() ?? message);
        }

        if (string.IsNullOrWhiteSpace(stage))
        {
            return Problems.BadRequest("a report needs a stage (e.g. stage=partitioning or stage=firstboot&status=ok)");
        }

        return Callback(await svc.ReportAsync(mac, token, stage, status, message, ct));
    }

    private static IResult Callback(MachineResult result)
    {
        if (result.Succeeded)
        {
            return Results.Json(new { state = result.Machine!.State.ToString(), boot_action = result.Machine.BootAction.ToString().ToLowerInvariant() });
        }

        if (result.NotFound)
        {
            return Problems.NotFound(result.Error!);
        }

        return result.Forbidden
            ? Problems.Problem(StatusCodes.Status403Forbidden, "Forbidden", result.Error!)
            : Problems.Conflict(result.Error!);
    }
}

/// <summary>
/// A plain-text answer already encoded as UTF-8 (a rendered install file): the headers <c>Results.Text</c> would send,
/// without encoding the text again for every request.
/// </summary>
internal sealed class Utf8TextResult(byte[] utf8) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/plain; charset=utf-8";
        response.ContentLength = utf8.Length;
        await response.BodyWriter.WriteAsync(utf8, httpContext.RequestAborted);
    }
}

/// <summary>The boot loaders folder (the TFTP root), served to UEFI HTTP boot clients by name.</summary>
internal sealed class BootLoaderFiles(string root)
{
    private readonly ContainedFileProvider _files = new(root);

    /// <summary>The loader's path when it is a plain file inside the folder (no traversal, no links out), else null.</summary>
    public string? Find(string name) =>
        name.Contains('/', StringComparison.Ordinal) || name.StartsWith('.') ? null : _files.GetFileInfo(name) is { Exists: true } f ? f.PhysicalPath : null;
}

/// <summary>The few option values the endpoints need.</summary>
internal sealed record ProvisioningOptionsView(string ServerUrl);
