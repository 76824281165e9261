using System.Text.Json;
using Pxe.Profiles.Domain;
using Pxe.Profiles.Services;
using Pxe.Profiles.Spec;
using Pxe.Profiles.Storage;

namespace Pxe.Server.Http;

/// <summary>The REST API under /api/v1: distros, profiles (with versions), machines, events, spec reload.</summary>
internal static class ApiEndpoints
{
    /// <summary>The MAC a profile preview renders for when none is given (a QEMU-range address no real NIC has).</summary>
    public const string PreviewMac = "52:54:00:00:00:01";

    public static void Map(WebApplication app)
    {
        var api = app.MapGroup("/api/v1").AddEndpointFilter(ApiAuth.Filter);
        MapSpec(api, "distros", "distro");
        MapSpec(api, "profiles", "profile");
        api.MapGet("/profiles/{name}/resolved", (string name, SpecService spec) =>
        {
            var (p, error) = ProfileResolver.Resolve(spec.Current.Spec, name);
            if (p is null)
            {
                return Problems.NotFound(error!);
            }

            return Results.Json(new
            {
                name = p.Name,
                distro = p.Distro.Name,
                chain = p.Chain,
                install_template = p.InstallTemplate is null ? null : new SourcedView(p.InstallTemplate.Value, p.InstallTemplate.Source),
                boot_loader = new SourcedView(p.BootLoader.Value.ToString().ToLowerInvariant(), p.BootLoader.Source),
                install_timeout = new SourcedView(Durations.Format(p.InstallTimeout.Value), p.InstallTimeout.Source),
                install_retries = new SourcedView(p.InstallRetries.Value, p.InstallRetries.Source),
                kernel_args = p.KernelArgs.Select(a => new { key = a.Key, value = a.Value.Value, source = a.Value.Source }),
                variables = p.Variables.ToDictionary(v => v.Key, v => new SourcedView(Redaction.Value(v.Key, v.Value.Value, p.Secrets), v.Value.Source)),
                handoff = p.Handoff.ToDictionary(v => v.Key, v => new SourcedView(v.Value.Value, v.Value.Source)),
            }, ApiJson.Options);
        });

        api.MapGet("/profiles/{name}/render/{file}", async (string name, string file, string? mac, ProvisioningService svc, CancellationToken ct) =>
            await WithMac(mac ?? PreviewMac, async m =>
            {
                var outcome = await svc.PreviewAsync(m, file, name, ct);
                return outcome.Succeeded ? Results.Text(outcome.Text, "text/plain; charset=utf-8")
                    : outcome.NotFound ? Problems.NotFound(outcome.Error!) : Problems.RenderFailed(outcome.Error!);
            }))
            .WithDescription("Renders a profile's file (install, a sub-file such as user-data, ipxe, pxelinux, grub) for a MAC, without changing anything: "
                + "the stored machine with this profile if the MAC is known, otherwise a preview machine with only that MAC.");

        api.MapPost("/spec/reload", async (HttpContext http, SpecService spec, CancellationToken ct) =>
        {
            var result = await spec.ReloadAsync(http.Actor(), ct);
            return result.Accepted
                ? Results.Json(new { revision = spec.Current.Spec.Revision, changed = result.Written.Select(v => $"{v.Kind} {v.Name} v{v.Version}") }, ApiJson.Options)
                : Problems.Spec(result.Errors);
        }).RequireRole(ApiRole.Admin);

        MapMachines(api);
        MapTokens(api);
        api.MapGet("/leases", async (string? state, string? mac, ILeaseTable leases, CancellationToken ct) =>
        {
            LeaseState? wanted = null;
            if (state is not null)
            {
                if (!Enum.TryParse<LeaseState>(state, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
                {
                    return Problems.BadRequest($"'{state}' is not a lease state; use one of {string.Join(", ", Enum.GetNames<LeaseState>()).ToLowerInvariant()}");
                }

                wanted = parsed;
            }

            MacAddress? only = null;
            if (mac is not null)
            {
                if (!MacAddress.TryParse(mac, out var m, out var error))
                {
                    return Problems.BadRequest(error);
                }

                only = m;
            }

            var list = (await leases.LoadLeasesAsync(ct))
                .Where(l => (wanted is null || l.State == wanted) && (only is null || l.Mac == only))
                .Select(l => new
                {
                    address = l.Address.ToString(),
                    mac = l.Mac.ToString(),
                    client_id = l.ClientId,
                    state = l.State.ToString().ToLowerInvariant(),
                    starts = l.Starts,
                    expires = l.Expires,
                    hostname = l.HostName,
                });
            return Results.Json(list, ApiJson.Options);
        });
        api.MapGet("/events", async (string? mac, string? kind, string? actor, DateTimeOffset? since, long? after, int? limit, IEventStore events, CancellationToken ct) =>
        {
            MacAddress? m = null;
            if (mac is not null)
            {
                if (!MacAddress.TryParse(mac, out var parsed, out var error))
                {
                    return Problems.BadRequest(error);
                }

                m = parsed;
            }

            var list = await events.QueryEventsAsync(new EventQuery { Mac = m, Kind = kind, Actor = actor, Since = since, AfterId = after ?? 0, Limit = limit ?? 200 }, ct);
            return Results.Json(list.Select(EventView.From), ApiJson.Options);
        });
    }

    private static void MapSpec(RouteGroupBuilder api, string plural, string kind)
    {
        api.MapGet($"/{plural}", (SpecService spec) =>
        {
            var s = spec.Current.Spec;
            return kind == "distro"
                ? Results.Json(s.Distros.Values.OrderBy(d => d.Name, StringComparer.Ordinal).Select(DistroView), ApiJson.Options)
                : Results.Json(s.Profiles.Values.OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => ProfileView(p, spec)), ApiJson.Options);
        });
        api.MapGet($"/{plural}/{{name}}", (string name, SpecService spec) =>
        {
            var s = spec.Current.Spec;
            if (kind == "distro")
            {
                return s.Distros.TryGetValue(name, out var d) ? Results.Json(DistroView(d), ApiJson.Options) : Problems.NotFound(Unknown(kind, name, s.Distros.Keys));
            }

            return s.Profiles.TryGetValue(name, out var p) ? Results.Json(ProfileView(p, spec), ApiJson.Options) : Problems.NotFound(Unknown(kind, name, s.Profiles.Keys));
        });
        var put = api.MapPut($"/{plural}/{{name}}", async (string name, HttpRequest req, SpecService spec, CancellationToken ct) =>
        {
            var (body, bad) = await ReadJsonObject(req, ct);
            if (body is null)
            {
                return bad!;
            }

            body["kind"] = kind;
            if (body.TryGetValue("name", out var n) && n is string named && named != name)
            {
                return Problems.BadRequest($"the body names '{named}' but the URL names '{name}'; they must match (or leave name out of the body)");
            }

            body["name"] = name;
            var read = SpecYaml.ReadFields(body, "(api)");
            if (read.Errors.Count > 0)
            {
                return Problems.Spec(read.Errors.Select(e => e with { File = "(request body)", Line = 0 }).ToList());
            }

            var result = read.Distro is { } d
                ? await spec.PutDistroAsync(d, req.HttpContext.Actor(), null, ct)
                : await spec.PutProfileAsync(read.Profile!, req.HttpContext.Actor(), null, ct);
            if (!result.Accepted)
            {
                return Problems.Spec(result.Errors);
            }

            var current = spec.Current.Spec;
            return Results.Json(kind == "distro" ? DistroView(current.Distros[name]) : ProfileView(current.Profiles[name], spec), ApiJson.Options);
        });
        put.RequireRole(ApiRole.Admin);
        put.Accepts(kind == "distro" ? typeof(DistroBody) : typeof(ProfileBody), "application/json");
        api.MapDelete($"/{plural}/{{name}}", async (string name, HttpContext http, SpecService spec, CancellationToken ct) =>
        {
            var result = kind == "distro" ? await spec.DeleteDistroAsync(name, http.Actor(), ct) : await spec.DeleteProfileAsync(name, http.Actor(), ct);
            if (result.Accepted)
            {
                return Results.NoContent();
            }

            return result.Errors.Any(e => e.Message.EndsWith("does not exist", StringComparison.Ordinal))
                ? Problems.NotFound(result.Errors[0].Message)
                : Problems.Spec(result.Errors);
        }).RequireRole(ApiRole.Admin);
        api.MapGet($"/{plural}/{{name}}/versions", async (string name, bool? yaml, ISpecStore store, CancellationToken ct) =>
        {
            var versions = await store.ListVersionsAsync(kind, name, ct);
            return versions.Count == 0
                ? Problems.NotFound($"{kind} '{name}' has no versions (it never existed)")
                : Results.Json(versions.Select(v => VersionView.From(v, yaml ?? false)), ApiJson.Options);
        });
        api.MapPost($"/{plural}/{{name}}/rollback", async (string name, RollbackBody body, HttpContext http, SpecService spec, CancellationToken ct) =>
        {
            var result = await spec.RollbackAsync(kind, name, body.Version, http.Actor(), ct);
            if (!result.Accepted)
            {
                return result.Errors[0].Field == "version" ? Problems.NotFound(result.Errors[0].Message) : Problems.Spec(result.Errors);
            }

            return Results.Json(new { name, version = result.Written.FirstOrDefault()?.Version, restored = body.Version }, ApiJson.Options);
        }).RequireRole(ApiRole.Admin);
    }

    private static void MapMachines(RouteGroupBuilder api)
    {
        api.MapGet("/machines", async (string? state, string? profile, string? tag, long? after, int? limit, IMachineStore store, SpecService spec, CancellationToken ct) =>
        {
            MachineState? s = null;
            if (state is not null)
            {
                if (!Enum.TryParse<MachineState>(state, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
                {
                    return Problems.BadRequest($"'{state}' is not a state; use one of {string.Join(", ", Enum.GetNames<MachineState>())}");
                }

                s = parsed;
            }

            var list = await store.ListMachinesAsync(new MachineQuery { State = s, Profile = profile, Tag = tag, AfterId = after ?? 0, Limit = limit ?? 1000 }, ct);
            return Results.Json(list.Select(m => MachineView.From(m, Redaction.SecretsOf(spec, m.Profile))), ApiJson.Options);
        });
        api.MapGet("/machines/{mac}", async (string mac, ProvisioningService svc, CancellationToken ct) =>
            await WithMac(mac, async m =>
            {
                var machine = await svc.FindAsync(m, ct);
                return machine is null ? Problems.NotFound($"no machine has MAC {m}") : Results.Json(MachineView.From(machine, Redaction.SecretsOf(svc.Spec, machine.Profile)), ApiJson.Options);
            }));
        api.MapPut("/machines/{mac}", async (string mac, MachineBody body, HttpContext http, ProvisioningService svc, CancellationToken ct) =>
            await WithMac(mac, async m => MachineResponse(await svc.PutAsync(m, body.ToInput(), http.Actor(), ct), svc.Spec)));
        api.MapDelete("/machines/{mac}", async (string mac, HttpContext http, ProvisioningService svc, CancellationToken ct) =>
            await WithMac(mac, async m => await svc.DeleteAsync(m, http.Actor(), ct) ? Results.NoContent() : Problems.NotFound($"no machine has MAC {m}")))
            .RequireRole(ApiRole.Admin);
        api.MapPost("/machines/{mac}/reimage", async (string mac, HttpContext http, ProvisioningService svc, CancellationToken ct) =>
            await WithMac(mac, async m => MachineResponse(await svc.ReimageAsync(m, http.Actor(), ct), svc.Spec)));
        api.MapGet("/machines/{mac}/render/{file}", async (string mac, string file, ProvisioningService svc, CancellationToken ct) =>
            await WithMac(mac, async m =>
            {
                var outcome = await svc.PreviewAsync(m, file, ct);
                return outcome.Succeeded ? Results.Text(outcome.Text, "text/plain; charset=utf-8")
                    : outcome.NotFound ? Problems.NotFound(outcome.Error!) : Problems.RenderFailed(outcome.Error!);
            }));
        api.MapGet("/machines/{mac}/variables", async (string mac, ProvisioningService svc, CancellationToken ct) =>
            await WithMac(mac, async m =>
            {
                var (vars, error, notFound) = await svc.VariablesAsync(m, ct);
                if (vars is null)
                {
                    return notFound ? Problems.NotFound(error!) : Problems.RenderFailed(error!);
                }

                var secrets = Redaction.SecretsOf(svc.Spec, (await svc.FindAsync(m, ct))?.Profile);
                return Results.Json(vars.OrderBy(v => v.Key, StringComparer.Ordinal)
                    .ToDictionary(v => v.Key, v => new SourcedView(Redaction.Value(v.Key, v.Value.Value, secrets), v.Value.Source)), ApiJson.Options);
            }));
        api.MapPost("/machines/import", async (HttpRequest req, ProvisioningService svc, CancellationToken ct) =>
        {
            List<(string Mac, MachineInput Input)> items;
            if (req.ContentType?.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase) == true)
            {
                using var reader = new StreamReader(req.Body);
                var (parsed, errors) = MachineCsv.Parse(await reader.ReadToEndAsync(ct));
                if (errors.Count > 0)
                {
                    return Problems.Invalid($"the CSV has {errors.Count} problem(s); nothing was imported: {string.Join("; ", errors.Take(10))}", errors.Select(e => new { message = e }));
                }

                items = parsed;
            }
            else
            {
                List<ImportItem>? list;
                try
                {
                    list = await req.ReadFromJsonAsync<List<ImportItem>>(ApiJson.Options, ct);
                }
                catch (JsonException e)
                {
                    return Problems.BadRequest($"the import is not a JSON list of {{\"mac\": …, \"machine\": {{…}}}} items: {e.Message}");
                }

                if (list is null)
                {
                    return Problems.BadRequest("send a JSON list of {\"mac\": …, \"machine\": {…}} items, or text/csv");
                }

                items = list.Select(i => (i.Mac ?? "", (i.Machine ?? new MachineBody()).ToInput())).ToList();
            }

            var (machines, problems) = await svc.ImportAsync(items, req.HttpContext.Actor(), ct);
            return machines is null
                ? Problems.Invalid($"{problems.Count} problem(s); nothing was imported: {string.Join("; ", problems.Take(10))}", problems.Select(p => new { message = p }))
                : Results.Json(new { imported = machines.Count }, ApiJson.Options);
        }).RequireRole(ApiRole.Admin);
    }

    private static void MapTokens(RouteGroupBuilder api)
    {
        api.MapGet("/tokens", async (TokenService tokens, CancellationToken ct) =>
            Results.Json((await tokens.ListAsync(ct)).Select(t => new
            {
                name = t.Name,
                role = t.Role.ToString().ToLowerInvariant(),
                created = t.Created,
                revoked = t.Revoked,
            }), ApiJson.Options)).RequireRole(ApiRole.Admin);
        api.MapPost("/tokens", async (TokenBody body, HttpContext http, TokenService tokens, CancellationToken ct) =>
        {
            if (!TokenService.TryParseRole(body.Role, out var role))
            {
                return Problems.Invalid([("role", $"'{body.Role}' is not a role; use admin, operator or viewer")]);
            }

            var (token, secret, error) = await tokens.CreateAsync(body.Name ?? "", role, http.Actor(), ct);
            return token is null
                ? Problems.Invalid([("name", error!)])
                : Results.Json(new { name = token.Name, role = token.Role.ToString().ToLowerInvariant(), token = secret }, ApiJson.Options, statusCode: StatusCodes.Status201Created);
        }).RequireRole(ApiRole.Admin);
        api.MapDelete("/tokens/{name}", async (string name, HttpContext http, TokenService tokens, CancellationToken ct) =>
            await tokens.RevokeAsync(name, http.Actor(), ct) ? Results.NoContent() : Problems.NotFound($"no valid token is named '{name}'"))
            .RequireRole(ApiRole.Admin);
    }

    private static IResult MachineResponse(MachineResult result, SpecService spec)
    {
        if (result.Succeeded)
        {
            return Results.Json(MachineView.From(result.Machine!, Redaction.SecretsOf(spec, result.Machine!.Profile)), ApiJson.Options);
        }

        if (result.Errors is { Count: > 0 } errors)
        {
            return Problems.Invalid(errors);
        }

        return result.NotFound ? Problems.NotFound(result.Error!) : Problems.Conflict(result.Error!);
    }

    private static async Task<IResult> WithMac(string text, Func<MacAddress, Task<IResult>> action)
    {
        if (!MacAddress.TryParse(text, out var mac, out var error))
        {
            return Problems.BadRequest(error);
        }

        try
        {
            return await action(mac);
        }
        catch (StoreConflictException e)
        {
            return Problems.Conflict(e.Message);
        }
    }

    private static async Task<(Dictionary<string, object?>? Body, IResult? Error)> ReadJsonObject(HttpRequest req, CancellationToken ct)
    {
        try
        {
            using var doc = await JsonDocument.ParseAsync(req.Body, cancellationToken: ct);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return (null, Problems.BadRequest("the body must be a JSON object"));
            }

            return (VariableJson.ToDictionary(doc.RootElement), null);
        }
        catch (JsonException e)
        {
            return (null, Problems.BadRequest($"the body is not valid JSON: {e.Message}"));
        }
    }

    private static object DistroView(Distro d) => new
    {
        name = d.Name,
        arch = d.Arch,
        breed = d.Breed.ToString().ToLowerInvariant(),
        kernel = d.Kernel,
        initrd = d.Initrd,
        kernel_args = d.KernelArgs,
        install_tree = d.InstallTree,
        variables = SecretVariables.Redact(d.Variables, d.Secrets.ToHashSet()),
        secrets = d.Secrets,
        comment = d.Comment,
    };

    private static object ProfileView(Profile p, SpecService spec) => new
    {
        name = p.Name,
        distro = p.Distro,
        parent = p.Parent,
        install_template = p.InstallTemplate,
        boot_loader = p.BootLoader?.ToString().ToLowerInvariant(),
        install_timeout = p.InstallTimeout is { } t ? Durations.Format(t) : null,
        install_retries = p.InstallRetries,
        kernel_args = p.KernelArgs,
        variables = SecretVariables.Redact(p.Variables, Redaction.SecretsOf(spec, p.Name)),
        secrets = p.Secrets,
        handoff = p.Handoff,
        comment = p.Comment,
    };

    private static string Unknown(string kind, string name, IEnumerable<string> known)
    {
        var list = known.Order(StringComparer.Ordinal).ToList();
        return $"{kind} '{name}' does not exist; known {kind}s: {(list.Count == 0 ? "(none)" : string.Join(", ", list))}";
    }
}
