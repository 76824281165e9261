using System.CommandLine;
using System.Text.Json;
using Pxe.Server.Hosting;
using Spectre.Console;

namespace Pxe.Server.Cli;

/// <summary>The `pxe` command line: `serve`, and admin commands that talk to a running server's REST API.</summary>
public static class PxeCommandLine
{
    private static readonly Option<string> ServerOption = new("--server")
    {
        Description = "URL of the PxeServer API (default: $PXE_URL or http://127.0.0.1:8080)",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("PXE_URL") ?? "http://127.0.0.1:8080",
    };

    private static readonly Option<string?> TokenOption = new("--token")
    {
        Description = "API token (default: $PXE_TOKEN, else the first-start admin token in ./data/admin-token)",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("PXE_TOKEN") is { Length: > 0 } t ? t
            : File.Exists(Path.Combine("data", "admin-token")) ? File.ReadAllText(Path.Combine("data", "admin-token")).Trim() : null,
    };

    /// <summary>Runs the command line.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("PxeServer: network-boot and install machines from profiles")
        {
            ServerOption,
            TokenOption,
            ServeCommand(),
            MachinesCommand(),
            ProfilesCommand(),
            EventsCommand(),
            TokensCommand(),
            LeasesCommand(),
            InstallerCommands.Create(),
            ImageCommands.Create(),
        };
        return await root.Parse(args).InvokeAsync();
    }

    private static Command ServeCommand()
    {
        var config = new Option<string>("--config") { Description = "JSON settings file (section Pxe); default appsettings.json if present" };
        var dataDir = new Option<string?>("--data-dir") { Description = "folder for the database and served files (default: data)" };
        var specDir = new Option<string?>("--spec-dir") { Description = "folder of distro and profile YAML files (default: profiles)" };
        var templatesDir = new Option<string?>("--templates-dir") { Description = "templates folder (default: templates)" };
        var http = new Option<string?>("--http") { Description = "HTTP listen URL (default: http://127.0.0.1:8080)" };
        var serverUrl = new Option<string?>("--server-url") { Description = "URL machines use to reach this server (default: the listen URL)" };
        var nextServer = new Option<string?>("--next-server") { Description = "TFTP server address handed to machines (default: the server URL's host)" };
        var cmd = new Command("serve", "run the server (HTTP boot, REST API)") { config, dataDir, specDir, templatesDir, http, serverUrl, nextServer };
        cmd.SetAction(async (pr, ct) =>
        {
            var overrides = new Dictionary<string, string?>
            {
                ["Pxe:DataDirectory"] = pr.GetValue(dataDir),
                ["Pxe:SpecDirectory"] = pr.GetValue(specDir),
                ["Pxe:TemplatesDirectory"] = pr.GetValue(templatesDir),
                ["Pxe:HttpUrl"] = pr.GetValue(http),
                ["Pxe:ServerUrl"] = pr.GetValue(serverUrl),
                ["Pxe:NextServer"] = pr.GetValue(nextServer),
            };
            var file = pr.GetValue(config);
            if (file is not null && !File.Exists(file))
            {
                return Fail($"the settings file '{file}' does not exist");
            }

            PxeOptions options;
            try
            {
                var configuration = new ConfigurationBuilder()
                    .AddJsonFile(Path.GetFullPath(file ?? "appsettings.json"), optional: file is null)
                    .AddEnvironmentVariables()
                    .AddInMemoryCollection(overrides.Where(o => o.Value is not null))
                    .Build();
                options = configuration.GetSection(PxeOptions.Section).Get<PxeOptions>() ?? new PxeOptions();
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or InvalidDataException)
            {
                return Fail($"the configuration cannot be read: {e.Message}");
            }

            var (app, errors) = await ServerApp.BuildAsync(options, null, ct);
            if (app is null)
            {
                foreach (var e in errors)
                {
                    await Console.Error.WriteLineAsync($"pxe: {e}");
                }

                return 2;
            }

            try
            {
                await app.StartAsync(ct);
                if (app.Services.GetService<Pxe.Tftp.Server.TftpServer>() is { } tftp)
                {
                    try
                    {
                        await tftp.Listening.WaitAsync(TimeSpan.FromSeconds(30), ct);
                    }
                    catch (Exception e) when (e is System.Net.Sockets.SocketException or UnauthorizedAccessException)
                    {
                        await app.DisposeAsync();
                        return Fail($"cannot start the TFTP service on UDP port {options.Tftp.Port}: {e.Message} (another TFTP server? ports below 1024 need root; set Tftp:Enabled=false to run without it)");
                    }
                }

                if (app.Services.GetService<Pxe.Dhcp.DhcpServer>() is { } dhcp)
                {
                    await dhcp.Ready.WaitAsync(TimeSpan.FromSeconds(30), ct);
                }
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or UnauthorizedAccessException or TimeoutException
                                      || (e is InvalidOperationException && e.Message.Contains("DHCP", StringComparison.Ordinal)))
            {
                await app.DisposeAsync();
                return Fail($"cannot start the DHCP service on {string.Join(", ", options.Dhcp.Interfaces)}: {e.Message} (is another DHCP server running, or are you not root?)");
            }
            catch (IOException e)
            {
                await app.DisposeAsync();
                return Fail($"cannot listen on {options.HttpUrl}: {e.Message} (is another server using the port? choose one with --http)");
            }

            await Console.Out.WriteLineAsync($"pxe: serving on {options.HttpUrl}; machines use {options.EffectiveServerUrl}; data in {Path.GetFullPath(options.DataDirectory)}");
            await app.WaitForShutdownAsync(CancellationToken.None);
            return 0;
        });
        return cmd;
    }

    private static Command MachinesCommand()
    {
        var cmd = new Command("machines", "list, show, assign and re-image machines");
        var state = new Option<string?>("--state") { Description = "only machines in this state" };
        var profile = new Option<string?>("--profile") { Description = "only machines with this profile" };
        var list = new Command("list", "list machines") { state, profile };
        list.SetAction((pr, ct) => Api(pr, async api =>
        {
            var query = Query(("state", pr.GetValue(state)), ("profile", pr.GetValue(profile)));
            var machines = await api.GetAsync("/api/v1/machines" + query, ct);
            var table = new Table().AddColumns("MAC", "Hostname", "Profile", "State", "Boot", "IPv4");
            foreach (var m in machines.EnumerateArray())
            {
                table.AddRow(Esc(m.GetProperty("macs")[0].GetString()), Esc(Str(m, "hostname")), Esc(Str(m, "profile")), Esc(Str(m, "state")), Esc(Str(m, "boot_action")), Esc(Str(m, "ipv4")));
            }

            AnsiConsole.Write(table);
        }));
        var mac = new Argument<string>("mac") { Description = "the machine's MAC (aa:bb:cc:dd:ee:ff, AA-BB-…, aabb.ccdd.eeff)" };
        var show = new Command("show", "show one machine and its recent events") { mac };
        show.SetAction((pr, ct) => Api(pr, async api =>
        {
            var m = await api.GetAsync($"/api/v1/machines/{Uri.EscapeDataString(pr.GetValue(mac)!)}", ct);
            Console.WriteLine(JsonSerializer.Serialize(m, Indented));
            var events = await api.GetAsync($"/api/v1/events?mac={Uri.EscapeDataString(pr.GetValue(mac)!)}&limit=20", ct);
            PrintEvents(events);
        }));
        var assignProfile = new Option<string>("--profile") { Description = "profile to assign", Required = true };
        var hostname = new Option<string?>("--hostname") { Description = "short host name" };
        var ipv4 = new Option<string?>("--ipv4") { Description = "static address with prefix, e.g. 10.0.0.21/24" };
        var gateway = new Option<string?>("--gateway") { Description = "default gateway" };
        var local = new Option<bool>("--local") { Description = "assign without installing (boot action local)" };
        var assign = new Command("assign", "assign a profile to a machine (created if new); it installs at its next network boot") { mac, assignProfile, hostname, ipv4, gateway, local };
        assign.SetAction((pr, ct) => Api(pr, async api =>
        {
            var body = new Dictionary<string, object?> { ["profile"] = pr.GetValue(assignProfile), ["boot_action"] = pr.GetValue(local) ? "local" : "install" };
            if (pr.GetValue(hostname) is { } h)
            {
                body["hostname"] = h;
            }

            if (pr.GetValue(ipv4) is { } ip)
            {
                body["ipv4"] = ip;
            }

            if (pr.GetValue(gateway) is { } gw)
            {
                body["gateway"] = gw;
            }

            var m = await api.PutAsync($"/api/v1/machines/{Uri.EscapeDataString(pr.GetValue(mac)!)}", body, ct);
            Console.WriteLine($"{m.GetProperty("macs")[0].GetString()}: profile {Str(m, "profile")}, state {Str(m, "state")}, boot {Str(m, "boot_action")}");
        }));
        var reimage = new Command("reimage", "flip a machine back to install: its next network boot re-installs it") { mac };
        reimage.SetAction((pr, ct) => Api(pr, async api =>
        {
            var m = await api.PostAsync($"/api/v1/machines/{Uri.EscapeDataString(pr.GetValue(mac)!)}/reimage", null, ct);
            Console.WriteLine($"{m.GetProperty("macs")[0].GetString()}: state {Str(m, "state")}, boot {Str(m, "boot_action")}; power-cycle it to re-install");
        }));
        var until = new Option<string>("--until") { Description = "stop when the machine is in this state: Installed (default), Deployed, or any other", DefaultValueFactory = _ => "Installed" };
        var watchTimeout = new Option<int>("--timeout") { Description = "give up after this many seconds", DefaultValueFactory = _ => 3600 };
        var watch = new Command("watch", "follow a machine live: its state and each step of its boot and install, until it reaches a state") { mac, until, watchTimeout };
        watch.SetAction(async (pr, ct) =>
        {
            var failed = false;
            var code = await Api(pr, async api =>
            {
                var target = pr.GetValue(until)!;
                var path = Uri.EscapeDataString(pr.GetValue(mac)!);
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var latest = await api.GetAsync($"/api/v1/events?mac={path}&limit=1", ct);
                var after = latest.GetArrayLength() > 0 ? latest[0].GetProperty("id").GetInt64() : 0;
                string? state = null;
                while (clock.Elapsed < TimeSpan.FromSeconds(pr.GetValue(watchTimeout)))
                {
                    // Events first, then the state: every event printed happened before the state shown after it.
                    var events = await api.GetAsync($"/api/v1/events?mac={path}&after={after}&limit=200", ct);
                    foreach (var e in events.EnumerateArray().OrderBy(e => e.GetProperty("id").GetInt64()))
                    {
                        after = Math.Max(after, e.GetProperty("id").GetInt64());
                        Console.WriteLine($"[{clock.Elapsed:mm\\:ss}]   {Str(e, "kind")}: {Str(e, "message")}");
                    }

                    var m = await api.GetAsync($"/api/v1/machines/{path}", ct);
                    var now = Str(m, "state");
                    if (now != state)
                    {
                        state = now;
                        Console.WriteLine($"[{clock.Elapsed:mm\\:ss}] state {state}");
                    }

                    if (string.Equals(state, target, StringComparison.OrdinalIgnoreCase))
                    {
                        Console.WriteLine($"[{clock.Elapsed:mm\\:ss}] {state} after {clock.Elapsed.TotalSeconds:F1} s");
                        return;
                    }

                    if (state == "Failed")
                    {
                        failed = true;
                        Console.WriteLine($"[{clock.Elapsed:mm\\:ss}] Failed (see the last event above)");
                        return;
                    }

                    await Task.Delay(500, ct);
                }

                throw new CliException($"{pr.GetValue(mac)} is {state}, not {target}, after {pr.GetValue(watchTimeout)} s");
            });
            return code == 0 && failed ? 3 : code;
        });
        cmd.Subcommands.Add(list);
        cmd.Subcommands.Add(show);
        cmd.Subcommands.Add(watch);
        cmd.Subcommands.Add(assign);
        cmd.Subcommands.Add(reimage);
        return cmd;
    }

    private static Command ProfilesCommand()
    {
        var cmd = new Command("profiles", "list, show, render and roll back profiles");
        var list = new Command("list", "list profiles");
        list.SetAction((pr, ct) => Api(pr, async api =>
        {
            var profiles = await api.GetAsync("/api/v1/profiles", ct);
            var table = new Table().AddColumns("Name", "Distro / parent", "Template", "Boot loader");
            foreach (var p in profiles.EnumerateArray())
            {
                table.AddRow(Esc(Str(p, "name")), Esc(Str(p, "distro") ?? "< " + Str(p, "parent")), Esc(Str(p, "install_template")), Esc(Str(p, "boot_loader")));
            }

            AnsiConsole.Write(table);
        }));
        var name = new Argument<string>("name") { Description = "profile name" };
        var show = new Command("show", "show a profile resolved through its parents, with where each value comes from") { name };
        show.SetAction((pr, ct) => Api(pr, async api =>
            Console.WriteLine(JsonSerializer.Serialize(await api.GetAsync($"/api/v1/profiles/{Uri.EscapeDataString(pr.GetValue(name)!)}/resolved", ct), Indented))));
        var mac = new Option<string>("--mac") { Description = "render for this machine (default: a preview machine)", DefaultValueFactory = _ => "52:54:00:00:00:01" };
        var file = new Option<string>("--file") { Description = "install (default), ipxe, pxelinux, grub, or a sub-file such as user-data", DefaultValueFactory = _ => "install" };
        var render = new Command("render", "render a profile's file for a machine, without changing anything") { name, mac, file };
        render.SetAction((pr, ct) => Api(pr, async api =>
            Console.Write(await api.GetTextAsync(
                $"/api/v1/profiles/{Uri.EscapeDataString(pr.GetValue(name)!)}/render/{Uri.EscapeDataString(pr.GetValue(file)!)}?mac={Uri.EscapeDataString(pr.GetValue(mac)!)}", ct))));
        var versions = new Command("versions", "list a profile's stored versions") { name };
        versions.SetAction((pr, ct) => Api(pr, async api =>
        {
            var list = await api.GetAsync($"/api/v1/profiles/{Uri.EscapeDataString(pr.GetValue(name)!)}/versions", ct);
            var table = new Table().AddColumns("Version", "Created", "Actor", "Comment");
            foreach (var v in list.EnumerateArray())
            {
                table.AddRow(v.GetProperty("version").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture), Esc(Str(v, "created")),
                    Esc(Str(v, "actor")), Esc((v.TryGetProperty("deleted", out var d) && d.GetBoolean() ? "deleted " : "") + Str(v, "comment")));
            }

            AnsiConsole.Write(table);
        }));
        var version = new Argument<int>("version") { Description = "the version to restore (as a new version)" };
        var rollback = new Command("rollback", "restore an earlier version of a profile (stored as its newest version)") { name, version };
        rollback.SetAction((pr, ct) => Api(pr, async api =>
        {
            var r = await api.PostAsync($"/api/v1/profiles/{Uri.EscapeDataString(pr.GetValue(name)!)}/rollback", new { version = pr.GetValue(version) }, ct);
            Console.WriteLine($"{pr.GetValue(name)}: version {pr.GetValue(version)} restored as version {r.GetProperty("version")}");
        }));
        cmd.Subcommands.Add(list);
        cmd.Subcommands.Add(show);
        cmd.Subcommands.Add(render);
        cmd.Subcommands.Add(versions);
        cmd.Subcommands.Add(rollback);
        return cmd;
    }

    private static Command EventsCommand()
    {
        var mac = new Option<string?>("--mac") { Description = "only this machine's events" };
        var kind = new Option<string?>("--kind") { Description = "only this kind (e.g. state.changed)" };
        var limit = new Option<int>("--limit") { Description = "how many (newest)", DefaultValueFactory = _ => 50 };
        var cmd = new Command("events", "show the event log") { mac, kind, limit };
        cmd.SetAction((pr, ct) => Api(pr, async api =>
            PrintEvents(await api.GetAsync("/api/v1/events" + Query(("mac", pr.GetValue(mac)), ("kind", pr.GetValue(kind)),
                ("limit", pr.GetValue(limit).ToString(System.Globalization.CultureInfo.InvariantCulture))), ct))));
        return cmd;
    }

    private static Command LeasesCommand()
    {
        var cmd = new Command("leases", "DHCP leases");
        var state = new Option<string?>("--state") { Description = "only leases in this state (bound, released, declined, expired)" };
        var list = new Command("list", "list DHCP leases") { state };
        list.SetAction((pr, ct) => Api(pr, async api =>
        {
            var table = new Table().AddColumns("Address", "MAC", "State", "Expires", "Host name");
            foreach (var l in (await api.GetAsync("/api/v1/leases" + Query(("state", pr.GetValue(state))), ct)).EnumerateArray())
            {
                table.AddRow(Esc(Str(l, "address")), Esc(Str(l, "mac")), Esc(Str(l, "state")), Esc(Str(l, "expires")), Esc(Str(l, "hostname")));
            }

            AnsiConsole.Write(table);
        }));
        cmd.Subcommands.Add(list);
        return cmd;
    }

    private static Command TokensCommand()
    {
        var cmd = new Command("tokens", "create, list and revoke API tokens (admin)");
        var name = new Option<string>("--name") { Description = "the token's name (the actor in the audit log)", Required = true };
        var role = new Option<string>("--role") { Description = "admin, operator (assign, re-image, read) or viewer (read only)", Required = true };
        var create = new Command("create", "create a token; its secret is printed once") { name, role };
        create.SetAction((pr, ct) => Api(pr, async api =>
        {
            var t = await api.PostAsync("/api/v1/tokens", new { name = pr.GetValue(name), role = pr.GetValue(role) }, ct);
            await Console.Error.WriteLineAsync($"token '{Str(t, "name")}' ({Str(t, "role")}) created; it is shown only now:");
            Console.WriteLine(Str(t, "token"));
        }));
        var list = new Command("list", "list tokens (never their secrets)");
        list.SetAction((pr, ct) => Api(pr, async api =>
        {
            var table = new Table().AddColumns("Name", "Role", "Created", "Revoked");
            foreach (var t in (await api.GetAsync("/api/v1/tokens", ct)).EnumerateArray())
            {
                table.AddRow(Esc(Str(t, "name")), Esc(Str(t, "role")), Esc(Str(t, "created")), Esc(Str(t, "revoked")));
            }

            AnsiConsole.Write(table);
        }));
        var revokeName = new Argument<string>("name") { Description = "the token to revoke" };
        var revoke = new Command("revoke", "revoke a token: it stops working at once") { revokeName };
        revoke.SetAction((pr, ct) => Api(pr, async api =>
        {
            await api.DeleteAsync($"/api/v1/tokens/{Uri.EscapeDataString(pr.GetValue(revokeName)!)}", ct);
            Console.WriteLine($"token '{pr.GetValue(revokeName)}' revoked");
        }));
        cmd.Subcommands.Add(create);
        cmd.Subcommands.Add(list);
        cmd.Subcommands.Add(revoke);
        return cmd;
    }

    private static void PrintEvents(JsonElement events)
    {
        var table = new Table().AddColumns("Time", "MAC", "Kind", "Actor", "Message");
        foreach (var e in events.EnumerateArray())
        {
            table.AddRow(Esc(Str(e, "time")), Esc(Str(e, "mac")), Esc(Str(e, "kind")), Esc(Str(e, "actor")), Esc(Str(e, "message")));
        }

        AnsiConsole.Write(table);
    }

    internal static async Task<int> Api(ParseResult pr, Func<ApiClient, Task> action)
    {
        var server = pr.GetValue(ServerOption)!;
        if (!Uri.TryCreate(server, UriKind.Absolute, out var uri))
        {
            return Fail($"--server '{server}' is not a URL such as http://127.0.0.1:8080");
        }

        using var api = new ApiClient(uri, pr.GetValue(TokenOption));
        try
        {
            await action(api);
            return 0;
        }
        catch (CliException e)
        {
            return Fail(e.Message);
        }
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"pxe: {message}");
        return 1;
    }

    private static string Query(params (string Key, string? Value)[] items)
    {
        var parts = items.Where(i => i.Value is not null).Select(i => $"{i.Key}={Uri.EscapeDataString(i.Value!)}").ToList();
        return parts.Count == 0 ? "" : "?" + string.Join("&", parts);
    }

    internal static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v.ToString() : null;

    internal static string Esc(string? s) => Markup.Escape(s ?? "");

    internal static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
}
