using System.Text.Json;
using System.Text.Json.Serialization;
using Pxe.Images.Building;
using Pxe.Images.Library;
using Pxe.Images.Roles;
using Pxe.Profiles.Domain;
using Pxe.Profiles.Rendering;
using Pxe.Profiles.Services;
using Pxe.Profiles.Storage;
using Pxe.Server.Hosting;
using Pxe.Server.Images;

namespace Pxe.Server.Http;

/// <summary>
/// The image library under /api/v1/images: list and show images (viewer), queue a build (admin; 202 and events),
/// remove versions (admin). Every file of an image is served by the /files route at <c>/files/images/NAME/VERSION/FILE</c>.
/// </summary>
internal static class ImageEndpoints
{
    public static void Map(WebApplication app)
    {
        var images = app.MapGroup("/api/v1/images").AddEndpointFilter(ApiAuth.Filter);
        images.MapGet("", async (ImageLibrary library, ImageBuildService builds, PxeOptions options, CancellationToken ct) =>
        {
            var (stored, error) = await ListAsync(library, ct);
            return error ?? Results.Json(Views(stored!, builds.Pending, options), ApiJson.Options);
        }).WithDescription("Every image version in the library (and builds queued or running), with its files, sizes, SHA-256 and download URLs.");

        images.MapGet("/{name}", async (string name, ImageLibrary library, ImageBuildService builds, PxeOptions options, CancellationToken ct) =>
        {
            var (stored, error) = await ListAsync(library, ct);
            if (error is not null)
            {
                return error;
            }

            var views = Views(stored!.Where(i => i.Name == name), builds.Pending.Where(p => p.Name == name), options);
            return views.Count > 0 ? Results.Json(views, ApiJson.Options) : Problems.NotFound(NoImage(name, stored!));
        }).WithDescription("Every version of one image, oldest first.");

        images.MapGet("/{name}/{version}", async (string name, string version, ImageLibrary library, ImageBuildService builds, PxeOptions options, CancellationToken ct) =>
        {
            var (stored, error) = await ListAsync(library, ct);
            if (error is not null)
            {
                return error;
            }

            if (stored!.FirstOrDefault(i => i.Name == name && i.Version == version) is { } image)
            {
                return Results.Json(View(image, options), ApiJson.Options);
            }

            if (builds.Find(name, version) is { } pending)
            {
                return Results.Json(View(pending), ApiJson.Options);
            }

            var versions = stored!.Where(i => i.Name == name).Select(i => i.Version).ToList();
            return Problems.NotFound(versions.Count == 0
                ? NoImage(name, stored!)
                : $"image '{name}' has no version '{version}'; its versions: {string.Join(", ", versions)}");
        }).WithDescription("One image version; while it is queued or building, its status, step and bytes.");

        images.MapPost("", async (HttpRequest req, SpecService spec, ImageBuildService builds, IEventStore events, CancellationToken ct) =>
        {
            ImageBuildBody? body;
            try
            {
                body = await req.ReadFromJsonAsync<ImageBuildBody>(ApiJson.Options, ct);
            }
            catch (JsonException e)
            {
                return Problems.BadRequest($"the body is not a build request ({e.Message}); send {{\"name\": …, \"role\": …, \"base\": {{\"folder\": …}}, \"formats\": [\"raw\"]}}");
            }
            catch (InvalidOperationException)
            {
                return Problems.BadRequest("send the build request as application/json");
            }

            if (body is null)
            {
                return Problems.BadRequest("send a JSON object: {\"name\": …, \"role\": …, \"base\": {\"debootstrap\": {}}, \"formats\": [\"raw\"]}");
            }

            var (recipe, errors) = Recipe(body, spec.Files.RolesDirectory);
            if (recipe is not null)
            {
                errors.AddRange(ImageBuilder.Validate(recipe));
            }

            if (errors.Count > 0 || recipe is null)
            {
                return Results.Problem(title: "Invalid build request", detail: string.Join("; ", errors), statusCode: StatusCodes.Status400BadRequest,
                    extensions: new Dictionary<string, object?> { ["errors"] = errors.Select(e => new { message = e }).ToList() });
            }

            // Where a client starts following this build's events (they all come after this id).
            var latest = await events.QueryEventsAsync(new EventQuery { Limit = 1 }, ct);
            var outcome = await builds.EnqueueAsync(recipe, body.Rebuild ?? false, req.HttpContext.Actor(), ct);
            if (outcome.Conflict is { } conflict)
            {
                return Problems.Conflict(conflict);
            }

            if (outcome.QueueFull is { } full)
            {
                req.HttpContext.Response.Headers.RetryAfter = "60";
                return Problems.Problem(StatusCodes.Status503ServiceUnavailable, "Build queue full", full);
            }

            var build = outcome.Build!;
            var location = $"/api/v1/images/{build.Name}/{build.Version}";
            return Results.Accepted(location, new ImageBuildAccepted(build.Name, build.Version, "queued", outcome.Ahead,
                latest.Count == 0 ? 0 : latest[^1].Id, location));
        }).RequireRole(ApiRole.Admin)
            .Accepts<ImageBuildBody>("application/json")
            .WithDescription("Queues an image build: base (debootstrap, a rootfs tarball or folder on the server), an optional role from profiles/roles/ROLE.yaml, "
                + "and the outputs. Answers 202 with the image's location; follow the build with GET /api/v1/events?kind=image.build&after=EVENTS_AFTER "
                + "until an image.built or image.failed event for NAME/VERSION.");

        images.MapDelete("/{name}", async (string name, string? version, HttpContext http, ImageLibrary library, ImageBuildService builds, SpecService spec, IEventStore events, CancellationToken ct) =>
        {
            if (!ImageLibrary.IsValidName(name) || version is not null && !ImageLibrary.IsValidName(version))
            {
                return Problems.BadRequest($"'{name}'{(version is null ? "" : $" version '{version}'")} is not an image name and version; see `pxe images list`");
            }

            IReadOnlyList<ImageMetadata> targets;
            try
            {
                targets = version is null
                    ? await library.VersionsAsync(name, ct)
                    : await library.GetAsync(name, version, ct) is { } one ? [one] : [];
                if (targets.Count == 0)
                {
                    return Problems.NotFound(version is null ? NoImage(name, await library.ListAsync(ct)) : $"image '{name}' has no version '{version}'; see `pxe images show {name}`");
                }

                await library.RemoveAsync(name, version, ct);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                return Problems.Problem(StatusCodes.Status500InternalServerError, "Image library error",
                    $"image '{name}' could not be removed: {e.Message}; check the permissions of {library.Root}");
            }

            await builds.RefreshCatalogAsync(ct);
            var removed = targets.Select(t => t.Version).ToList();
            await events.AppendEventAsync(new MachineEvent
            {
                Time = DateTimeOffset.UtcNow,
                Kind = EventKinds.ImageRemoved,
                Message = ImageBuildEvents.Removed(name, removed, http.Actor()),
                Actor = http.Actor(),
            }, ct);
            var usedBy = spec.Current.Spec.Profiles.Values
                .Where(p => p.Variables.TryGetValue(ImageVariable.Name, out var v) && v as string == name)
                .Select(p => p.Name).Order(StringComparer.Ordinal).ToList();
            return Results.Json(new ImageRemoved(name, removed, usedBy), ApiJson.Options);
        }).RequireRole(ApiRole.Admin)
            .WithDescription("Removes one version (?version=V) or every version of an image. used_by lists the profiles that name it: their installs fail until it is built again.");
    }

    /// <summary>The recipe a build request asks for, and every problem with it (each saying what to fix).</summary>
    internal static (ImageRecipe? Recipe, List<string> Errors) Recipe(ImageBuildBody body, string rolesDirectory)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(body.Name))
        {
            errors.Add("name: give the image's name (lowercase letters, digits, '-', '_' and '.'), e.g. web");
        }

        var formats = new List<ImageFormat>();
        foreach (var name in body.Formats ?? ["raw"])
        {
            if (ImageFormats.TryParse(name, out var format))
            {
                formats.Add(format);
            }
            else
            {
                errors.Add($"formats: '{name}' is not an image format; use {ImageFormats.Known}");
            }
        }

        var source = Base(body.Base, errors);
        RoleDefinition? role = null;
        if (body.Role is { } roleName)
        {
            role = LoadRole(roleName, rolesDirectory, errors);
        }

        if (body.Iso is { } isoBody && (string.IsNullOrWhiteSpace(isoBody.FileName) || isoBody.FileName.Contains('/', StringComparison.Ordinal) || isoBody.Content is null))
        {
            errors.Add("iso: give file_name (a plain file name such as preseed.cfg) and content, the install file the ISO carries");
        }

        if (body.NoCloud is { } seedBody)
        {
            if (seedBody.UserData is null || seedBody.MetaData is null)
            {
                errors.Add("nocloud: give user_data (#cloud-config or a script) and meta_data (instance-id, local-hostname)");
            }

            if (seedBody.Filesystem is not (null or "iso9660" or "vfat"))
            {
                errors.Add($"nocloud.filesystem: '{seedBody.Filesystem}' is not iso9660 or vfat");
            }
        }

        if (errors.Count > 0 || source is null)
        {
            return (null, errors);
        }

        return (new ImageRecipe
        {
            Name = body.Name!,
            Version = string.IsNullOrEmpty(body.Version) ? null : body.Version,
            Base = source,
            Role = role,
            Formats = formats,
            IsoInstallFile = body.Iso is { } iso ? new InstallFile(iso.FileName ?? "", System.Text.Encoding.UTF8.GetBytes(iso.Content ?? "")) : null,
            IsoKernelArguments = body.Iso?.KernelArgs,
            NoCloud = body.NoCloud is { } seed ? new NoCloudSeed
            {
                UserData = seed.UserData ?? "",
                MetaData = seed.MetaData ?? "",
                NetworkConfig = seed.NetworkConfig,
                FileSystem = seed.Filesystem == "vfat" ? NoCloudFileSystem.Vfat : NoCloudFileSystem.Iso9660,
            } : null,
        }, errors);
    }

    private static BaseImageSource? Base(ImageBaseBody? body, List<string> errors)
    {
        if (body is null)
        {
            return new DebootstrapSource();
        }

        var given = (body.Debootstrap is not null ? 1 : 0) + (body.Tarball is not null ? 1 : 0) + (body.Folder is not null ? 1 : 0);
        if (given != 1)
        {
            errors.Add("base: give exactly one of {\"debootstrap\": {\"suite\": …, \"mirror\": …}}, {\"tarball\": \"/path/rootfs.tar.gz\"} or {\"folder\": \"/path/rootfs\"}");
            return null;
        }

        if (body.Debootstrap is { } d)
        {
            var before = errors.Count;
            if (d.Suite is { } suite && (suite.Length is 0 or > 32 || !suite.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')))
            {
                errors.Add($"base.debootstrap.suite: '{suite}' is not a Debian suite; use a codename such as bookworm");
            }

            if (d.Mirror is { } mirror && (!Uri.TryCreate(mirror, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
            {
                errors.Add($"base.debootstrap.mirror: '{mirror}' is not an http(s) URL; use e.g. http://deb.debian.org/debian");
            }

            return errors.Count > before ? null : new DebootstrapSource { Suite = d.Suite ?? "bookworm", Mirror = d.Mirror };
        }

        if (body.Tarball is { } tarball)
        {
            if (!Path.IsPathFullyQualified(tarball) || !File.Exists(tarball))
            {
                errors.Add($"base.tarball: '{tarball}' is not an existing file on the server; give the absolute path of a root file system tar archive");
                return null;
            }

            return new TarballSource(tarball);
        }

        var folder = body.Folder!;
        if (!Path.IsPathFullyQualified(folder) || !Directory.Exists(folder))
        {
            errors.Add($"base.folder: '{folder}' is not an existing folder on the server; give the absolute path of a root file system folder");
            return null;
        }

        return new FolderSource(folder);
    }

    /// <summary>The role overlay <c>ROLES/NAME.yaml</c> (or .yml); its problems go to <paramref name="errors"/>.</summary>
    private static RoleDefinition? LoadRole(string name, string rolesDirectory, List<string> errors)
    {
        if (!ImageLibrary.IsValidName(name))
        {
            errors.Add($"role: '{name}' is not a role name; give the name of a file in {rolesDirectory} without .yaml");
            return null;
        }

        var path = new[] { ".yaml", ".yml" }.Select(e => Path.Combine(rolesDirectory, name + e)).FirstOrDefault(File.Exists);
        if (path is null)
        {
            var known = Directory.Exists(rolesDirectory)
                ? Directory.EnumerateFiles(rolesDirectory).Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
                    .Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal).ToList()
                : [];
            errors.Add($"role: {Path.Combine(rolesDirectory, name + ".yaml")} does not exist (roles there: {(known.Count == 0 ? "none" : string.Join(", ", known))}); " +
                $"write the role overlay there (kind: role, name: {name}, packages, files, users, units) or leave role out for a generic image");
            return null;
        }

        try
        {
            var role = RoleYaml.Load(path);
            if (role.Name != name)
            {
                errors.Add($"role: {path} defines role '{role.Name}', not '{name}'; name the file after the role");
                return null;
            }

            return role;
        }
        catch (RoleDefinitionException e)
        {
            errors.AddRange(e.Errors.Select(x => $"role: {x}"));
            return null;
        }
    }

    private static async Task<(IReadOnlyList<ImageMetadata>? Images, IResult? Error)> ListAsync(ImageLibrary library, CancellationToken ct)
    {
        try
        {
            return (await library.ListAsync(ct), null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return (null, Problems.Problem(StatusCodes.Status500InternalServerError, "Image library error", $"the image library cannot be read: {e.Message}"));
        }
    }

    private static List<ImageView> Views(IEnumerable<ImageMetadata> stored, IEnumerable<PendingImageBuild> pending, PxeOptions options) =>
        [.. stored.Select(i => View(i, options)).Concat(pending.Select(View))];

    private static ImageView View(ImageMetadata image, PxeOptions options)
    {
        string Url(string file) => $"{options.EffectiveServerUrl}/files/{ImageCatalog.FilesPath(image, file)}";
        return new ImageView
        {
            Name = image.Name,
            Version = image.Version,
            Status = "ready",
            Role = image.Role,
            Base = image.Base,
            Formats = [.. image.Formats.Select(ImageFormats.Name)],
            Size = image.Size,
            Created = image.Created,
            BuildSeconds = Math.Round(image.BuildDuration.TotalSeconds, 1),
            BuildLog = Url(image.BuildLog),
            Artifacts = [.. image.Artifacts.Select(a => new ImageArtifactView(ImageFormats.Name(a.Format), a.Part, a.File, a.Size, a.Sha256,
                ImageCatalog.FilesPath(image, a.File), Url(a.File)))],
        };
    }

    private static ImageView View(PendingImageBuild build) => new()
    {
        Name = build.Name,
        Version = build.Version,
        Status = build.State == ImageBuildState.Queued ? "queued" : "building",
        Role = build.Role,
        Formats = [.. build.Formats.Select(ImageFormats.Name)],
        Queued = build.Queued,
        Step = build.Step,
        Bytes = build.State == ImageBuildState.Building ? build.Bytes : null,
        Artifacts = [],
    };

    private static string NoImage(string name, IReadOnlyList<ImageMetadata> stored)
    {
        var names = stored.Select(i => i.Name).Distinct().Order(StringComparer.Ordinal).ToList();
        return $"no image is named '{name}' (images: {(names.Count == 0 ? "none" : string.Join(", ", names))}); build it with `pxe images build {name} --role ROLE` (POST /api/v1/images)";
    }
}

/// <summary>An image version as the API shows it. Stored images are <c>ready</c>; builds in progress are <c>queued</c> or <c>building</c>.</summary>
internal sealed record ImageView
{
    public required string Name { get; init; }

    public required string Version { get; init; }

    /// <summary><c>ready</c>, <c>queued</c> or <c>building</c>.</summary>
    public required string Status { get; init; }

    public string? Role { get; init; }

    /// <summary>What the base was: debootstrap-SUITE, tarball or folder.</summary>
    public string? Base { get; init; }

    public required IReadOnlyList<string> Formats { get; init; }

    /// <summary>Bytes of all its files (once stored).</summary>
    public long? Size { get; init; }

    public DateTimeOffset? Created { get; init; }

    public double? BuildSeconds { get; init; }

    /// <summary>URL of the build log.</summary>
    public string? BuildLog { get; init; }

    /// <summary>When a pending build was queued.</summary>
    public DateTimeOffset? Queued { get; init; }

    /// <summary>The step a build is running.</summary>
    public string? Step { get; init; }

    /// <summary>Bytes the running step has written.</summary>
    public long? Bytes { get; init; }

    public required IReadOnlyList<ImageArtifactView> Artifacts { get; init; }
}

/// <summary>One file of an image: its format, part, file name, size, SHA-256, path below /files (what image_file holds) and absolute URL.</summary>
internal sealed record ImageArtifactView(string Format, string Part, string File, long Size, string Sha256, string Path, string Url);

/// <summary>The answer to a queued build: where the image will be, and the event id to follow its progress after.</summary>
internal sealed record ImageBuildAccepted(string Name, string Version, string Status, int Ahead, long EventsAfter, string Location);

/// <summary>The answer to a removal: the versions removed, and the profiles that name the image.</summary>
internal sealed record ImageRemoved(string Name, IReadOnlyList<string> Removed, IReadOnlyList<string> UsedBy);

/// <summary>The body of POST /api/v1/images. Unknown fields are refused (a misspelt field would otherwise be ignored).</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record ImageBuildBody
{
    /// <summary>The image name (lowercase letters, digits, '-', '_', '.').</summary>
    public string? Name { get; init; }

    /// <summary>The version; the next whole number when left out.</summary>
    public string? Version { get; init; }

    /// <summary>A role overlay: the file profiles/roles/ROLE.yaml.</summary>
    public string? Role { get; init; }

    /// <summary>The base root file system; debootstrap from the configured Debian mirror when left out.</summary>
    public ImageBaseBody? Base { get; init; }

    /// <summary>raw, qcow2, netboot, iso, nocloud, rootfs-tar; raw when left out.</summary>
    public List<string>? Formats { get; init; }

    /// <summary>Run every step again instead of taking it from the cache.</summary>
    public bool? Rebuild { get; init; }

    /// <summary>The install file inside an ISO (required for the iso format).</summary>
    public ImageIsoBody? Iso { get; init; }

    /// <summary>The cloud-init data of a NoCloud seed (required for the nocloud format).</summary>
    [JsonPropertyName("nocloud")]
    public ImageNoCloudBody? NoCloud { get; init; }
}

/// <summary>Exactly one of debootstrap, tarball (a path on the server) or folder (a path on the server).</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record ImageBaseBody
{
    public ImageDebootstrapBody? Debootstrap { get; init; }

    public string? Tarball { get; init; }

    public string? Folder { get; init; }
}

/// <summary>A debootstrap base: the suite (bookworm when left out) and mirror (the server's Debian mirror when left out).</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record ImageDebootstrapBody
{
    public string? Suite { get; init; }

    public string? Mirror { get; init; }
}

/// <summary>The file an ISO carries (e.g. a preseed) and its kernel arguments.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record ImageIsoBody
{
    public string? FileName { get; init; }

    public string? Content { get; init; }

    public string? KernelArgs { get; init; }
}

/// <summary>NoCloud data: user-data, meta-data, optional network-config, and the seed's file system (iso9660 or vfat).</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record ImageNoCloudBody
{
    public string? UserData { get; init; }

    public string? MetaData { get; init; }

    public string? NetworkConfig { get; init; }

    public string? Filesystem { get; init; }
}
