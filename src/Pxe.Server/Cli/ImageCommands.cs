using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Pxe.Profiles.Domain;
using Pxe.Server.Images;
using Spectre.Console;

namespace Pxe.Server.Cli;

/// <summary>`pxe images build|list|show|rm`: the server's image library, through the REST API.</summary>
internal static class ImageCommands
{
    /// <summary>How often a followed build's events are fetched.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    public static Command Create()
    {
        var cmd = new Command("images", "build, list, show and remove images in the server's image library (served under /files/images)");
        cmd.Subcommands.Add(BuildCommand());
        cmd.Subcommands.Add(ListCommand());
        cmd.Subcommands.Add(ShowCommand());
        cmd.Subcommands.Add(RemoveCommand());
        return cmd;
    }

    private static Command BuildCommand()
    {
        var name = new Argument<string>("name") { Description = "the image name (lowercase letters, digits, '-', '_', '.'), e.g. web" };
        var role = new Option<string?>("--role") { Description = "role overlay to apply: profiles/roles/ROLE.yaml on the server (default: a generic image)" };
        var format = new Option<string>("--format") { Description = "outputs, comma-separated: raw, qcow2, netboot, iso, nocloud, rootfs-tar", DefaultValueFactory = _ => "raw" };
        var baseOption = new Option<string>("--base")
        {
            Description = "debootstrap (a minimal Debian from the server's mirror), or a path on the server: a root file system folder or tar archive",
            DefaultValueFactory = _ => "debootstrap",
        };
        var suite = new Option<string?>("--suite") { Description = "the Debian suite debootstrap installs (default bookworm)" };
        var mirror = new Option<string?>("--mirror") { Description = "the Debian mirror debootstrap uses (default: the server's apt mirror)" };
        var version = new Option<string?>("--version") { Description = "the version to store (default: the next whole number)" };
        var rebuild = new Option<bool>("--rebuild") { Description = "run every step again instead of taking it from the cache" };
        var noFollow = new Option<bool>("--no-follow") { Description = "queue the build and return without following it" };
        var timeout = new Option<int>("--timeout") { Description = "stop following after this many seconds (the build goes on)", DefaultValueFactory = _ => 7200 };
        var build = new Command("build", "build an image on the server and follow its progress until it is stored (exit 0) or fails (exit 1)")
        {
            name, role, format, baseOption, suite, mirror, version, rebuild, noFollow, timeout,
        };
        build.SetAction(async (pr, ct) =>
        {
            var failed = false;
            var code = await PxeCommandLine.Api(pr, async api =>
            {
                var body = new Dictionary<string, object?>
                {
                    ["name"] = pr.GetValue(name),
                    ["formats"] = pr.GetValue(format)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                    ["base"] = Base(pr.GetValue(baseOption)!, pr.GetValue(suite), pr.GetValue(mirror)),
                    ["rebuild"] = pr.GetValue(rebuild),
                };
                if (pr.GetValue(role) is { } r)
                {
                    body["role"] = r;
                }

                if (pr.GetValue(version) is { } v)
                {
                    body["version"] = v;
                }

                var accepted = await api.PostAsync("/api/v1/images", body, ct);
                var image = $"{PxeCommandLine.Str(accepted, "name")}/{PxeCommandLine.Str(accepted, "version")}";
                var ahead = accepted.GetProperty("ahead").GetInt32();
                Console.WriteLine($"{image}: queued{(ahead > 0 ? $" behind {ahead} other build{(ahead == 1 ? "" : "s")}" : "")}");
                if (pr.GetValue(noFollow))
                {
                    Console.WriteLine($"follow it with `pxe events --kind image.build`, see it with `pxe images show {PxeCommandLine.Str(accepted, "name")}`");
                    return;
                }

                failed = !await FollowAsync(api, image, accepted.GetProperty("events_after").GetInt64(), TimeSpan.FromSeconds(pr.GetValue(timeout)), ct);
                if (!failed)
                {
                    var stored = await api.GetAsync($"/api/v1/images/{Uri.EscapeDataString(PxeCommandLine.Str(accepted, "name")!)}/{Uri.EscapeDataString(PxeCommandLine.Str(accepted, "version")!)}", ct);
                    foreach (var a in stored.GetProperty("artifacts").EnumerateArray())
                    {
                        Console.WriteLine($"  {PxeCommandLine.Str(a, "format"),-10} {PxeCommandLine.Str(a, "part"),-7} {Size(a.GetProperty("size").GetInt64()),10}  sha256 {PxeCommandLine.Str(a, "sha256")}  {PxeCommandLine.Str(a, "url")}");
                    }

                    Console.WriteLine($"install it with the profile or machine variable `image: {PxeCommandLine.Str(accepted, "name")}` (template install/image.plan)");
                }
            });
            return code == 0 && failed ? 1 : code;
        });
        return build;
    }

    /// <summary>The base of a build request: debootstrap, or a folder or tar archive (a path as the server sees it).</summary>
    private static Dictionary<string, object?> Base(string value, string? suite, string? mirror)
    {
        if (value == "debootstrap")
        {
            var options = new Dictionary<string, object?>();
            if (suite is not null)
            {
                options["suite"] = suite;
            }

            if (mirror is not null)
            {
                options["mirror"] = mirror;
            }

            return new() { ["debootstrap"] = options };
        }

        // The server usually runs here; when the path is not here, its name says what it is.
        var path = Path.GetFullPath(value);
        var tarball = File.Exists(path) || !Directory.Exists(path) && (path.Contains(".tar", StringComparison.Ordinal) || path.EndsWith(".tgz", StringComparison.Ordinal));
        return new() { [tarball ? "tarball" : "folder"] = path };
    }

    /// <summary>
    /// Prints a build's progress from its events until <c>image.built</c> (true) or <c>image.failed</c> (false, the error on
    /// standard error). On a terminal each step's line is redrawn as its bytes grow; otherwise every event is one line.
    /// </summary>
    private static async Task<bool> FollowAsync(ApiClient api, string image, long after, TimeSpan limit, CancellationToken ct)
    {
        var prefix = image + " ";
        var seen = new Dictionary<string, long>
        {
            [EventKinds.ImageBuild] = after,
            [EventKinds.ImageBuilt] = after,
            [EventKinds.ImageFailed] = after,
        };
        var printer = new ProgressPrinter(!Console.IsOutputRedirected);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            var batch = new List<(long Id, string Kind, string Message)>();
            foreach (var kind in seen.Keys.ToList())
            {
                var events = await api.GetAsync($"/api/v1/events?kind={kind}&after={seen[kind].ToString(CultureInfo.InvariantCulture)}&limit=1000", ct);
                foreach (var e in events.EnumerateArray())
                {
                    var id = e.GetProperty("id").GetInt64();
                    seen[kind] = Math.Max(seen[kind], id);
                    var message = PxeCommandLine.Str(e, "message") ?? "";
                    if (message.StartsWith(prefix, StringComparison.Ordinal))
                    {
                        batch.Add((id, kind, message));
                    }
                }
            }

            foreach (var (_, kind, message) in batch.OrderBy(b => b.Id))
            {
                switch (kind)
                {
                    case EventKinds.ImageBuilt:
                        printer.End();
                        Console.WriteLine(message);
                        return true;
                    case EventKinds.ImageFailed:
                        printer.End();
                        await Console.Error.WriteLineAsync($"pxe: {message}");
                        return false;
                    default:
                        printer.Show(message);
                        break;
                }
            }

            await Task.Delay(PollInterval, ct);
        }

        printer.End();
        throw new CliException($"{image} is still building after {limit.TotalSeconds:F0} s; see where it is with `pxe images show {image.Split('/')[0]} --version {image.Split('/')[1]}`");
    }

    private static Command ListCommand()
    {
        var list = new Command("list", "list the images in the library, and builds queued or running");
        list.SetAction((pr, ct) => PxeCommandLine.Api(pr, async api =>
        {
            var table = new Table().AddColumns("Name", "Version", "Status", "Role", "Formats", "Size", "Created");
            foreach (var i in (await api.GetAsync("/api/v1/images", ct)).EnumerateArray())
            {
                var formats = string.Join(",", i.GetProperty("formats").EnumerateArray().Select(f => f.GetString()));
                var status = PxeCommandLine.Str(i, "status");
                if (PxeCommandLine.Str(i, "step") is { } step)
                {
                    status += $": {step} {Size(i.TryGetProperty("bytes", out var b) ? b.GetInt64() : 0)}";
                }

                var when = i.TryGetProperty("created", out var c) ? c : i.GetProperty("queued");
                table.AddRow(PxeCommandLine.Esc(PxeCommandLine.Str(i, "name")), PxeCommandLine.Esc(PxeCommandLine.Str(i, "version")), PxeCommandLine.Esc(status),
                    PxeCommandLine.Esc(PxeCommandLine.Str(i, "role") ?? "-"), PxeCommandLine.Esc(formats),
                    PxeCommandLine.Esc(i.TryGetProperty("size", out var s) ? Size(s.GetInt64()) : "-"),
                    PxeCommandLine.Esc(when.GetDateTimeOffset().ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture)));
            }

            AnsiConsole.Write(table);
        }));
        return list;
    }

    private static Command ShowCommand()
    {
        var name = new Argument<string>("name") { Description = "the image name" };
        var version = new Option<string?>("--version") { Description = "one version (default: every version)" };
        var show = new Command("show", "show an image: its versions, files, sizes, SHA-256 and download URLs") { name, version };
        show.SetAction((pr, ct) => PxeCommandLine.Api(pr, async api =>
        {
            var path = $"/api/v1/images/{Uri.EscapeDataString(pr.GetValue(name)!)}";
            if (pr.GetValue(version) is { } v)
            {
                path += "/" + Uri.EscapeDataString(v);
            }

            Console.WriteLine(JsonSerializer.Serialize(await api.GetAsync(path, ct), PxeCommandLine.Indented));
        }));
        return show;
    }

    private static Command RemoveCommand()
    {
        var name = new Argument<string>("name") { Description = "the image name" };
        var version = new Option<string?>("--version") { Description = "remove only this version (default: every version)" };
        var rm = new Command("rm", "remove an image's versions from the library") { name, version };
        rm.SetAction((pr, ct) => PxeCommandLine.Api(pr, async api =>
        {
            var path = $"/api/v1/images/{Uri.EscapeDataString(pr.GetValue(name)!)}";
            if (pr.GetValue(version) is { } v)
            {
                path += "?version=" + Uri.EscapeDataString(v);
            }

            var result = await api.DeleteAsync(path, ct);
            var removed = result.GetProperty("removed").EnumerateArray().Select(e => e.GetString()).ToList();
            Console.WriteLine($"{pr.GetValue(name)}: removed version{(removed.Count == 1 ? "" : "s")} {string.Join(", ", removed)}");
            var usedBy = result.GetProperty("used_by").EnumerateArray().Select(e => e.GetString()).ToList();
            if (usedBy.Count > 0)
            {
                Console.WriteLine($"note: profile{(usedBy.Count == 1 ? "" : "s")} {string.Join(", ", usedBy)} install this image; their installs fail until it is built again");
            }
        }));
        return rm;
    }

    /// <summary>Bytes for people: B, KiB, MiB, GiB.</summary>
    internal static string Size(long bytes) => bytes switch
    {
        < 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
        < 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F1} KiB"),
        < 1024L * 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):F1} MiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024 * 1024):F2} GiB"),
    };

    /// <summary>
    /// One line per step: on a terminal the line of the running step is redrawn as its bytes grow and kept when it
    /// finishes; otherwise each progress event is printed as its own line.
    /// </summary>
    private sealed class ProgressPrinter(bool redraw)
    {
        private bool _open;

        public void Show(string message)
        {
            if (ImageBuildEvents.ParseProgress(message) is not { } p)
            {
                if (message.Contains(" queued by ", StringComparison.Ordinal))
                {
                    // The command said so already.
                    return;
                }

                End();
                Console.WriteLine(message);
                return;
            }

            var bytes = p.Bytes is { } b ? Size(b) + (p.Total is { } t ? " of " + Size(t) : "") : "";
            var line = $"  {p.Step,-10} {p.Stage,-9} {bytes}{(p.Detail is null ? "" : $"  {p.Detail}")}";
            if (!redraw)
            {
                Console.WriteLine(line);
                return;
            }

            Console.Write("\r" + line.PadRight(78));
            _open = p.Stage == "running" || p.Stage == "started";
            if (!_open)
            {
                Console.WriteLine();
            }
        }

        public void End()
        {
            if (_open)
            {
                Console.WriteLine();
                _open = false;
            }
        }
    }
}
