using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pxe.Images.Library;
using Pxe.Images.Outputs;
using Pxe.Images.Tools;

namespace Pxe.Images.Building;

/// <summary>
/// Builds images into an <see cref="ImageLibrary"/>: the base root file system, the role overlay, then each output,
/// every step cached by the hash of its inputs (so rebuilding a role reuses the base, and a changed input rebuilds only
/// what depends on it). Debian's tools do the work, through one <see cref="IToolRunner"/>; nothing is mounted.
/// </summary>
public sealed class ImageBuilder
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> NameLocks = new(StringComparer.Ordinal);
    private readonly ImageLibrary _library;
    private readonly BuildCache _cache;
    private readonly IToolRunner _tools;
    private readonly ILogger _logger;

    /// <summary>A builder that stores into <paramref name="library"/> and caches steps in <paramref name="cacheDirectory"/>.</summary>
    public ImageBuilder(ImageLibrary library, string cacheDirectory, IToolRunner? tools = null, ILogger<ImageBuilder>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(library);
        ArgumentException.ThrowIfNullOrEmpty(cacheDirectory);
        _library = library;
        _cache = new BuildCache(cacheDirectory);
        _tools = tools ?? new ToolRunner();
        _logger = logger ?? NullLogger<ImageBuilder>.Instance;
    }

    /// <summary>The step cache folder.</summary>
    public string CacheDirectory => _cache.Root;

    /// <summary>Every problem of <paramref name="recipe"/>, each saying what to fix; empty when it can be built.</summary>
    public static IReadOnlyList<string> Validate(ImageRecipe recipe)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        var errors = new List<string>();
        if (!ImageLibrary.IsValidName(recipe.Name))
        {
            errors.Add($"name: '{recipe.Name}' is not an image name; use lowercase letters, digits, '-', '_' and '.', starting with a letter or digit");
        }

        if (recipe.Version is { } version && !ImageLibrary.IsValidName(version))
        {
            errors.Add($"version: '{version}' is not a version; use lowercase letters, digits, '-', '_' and '.' (e.g. 3 or 2025.05.1)");
        }

        if (recipe.Formats.Count == 0)
        {
            errors.Add($"formats: none given; choose at least one of {string.Join(", ", Enum.GetNames<ImageFormat>())}");
        }

        if (recipe.Formats.Distinct().Count() != recipe.Formats.Count)
        {
            errors.Add("formats: a format is listed twice; list each once");
        }

        if (recipe.Formats.Contains(ImageFormat.Iso) && recipe.IsoInstallFile is null)
        {
            errors.Add("iso: an ISO needs the install file it boots with (preseed, kickstart, user-data); give it or leave the ISO out");
        }

        if (recipe.Formats.Contains(ImageFormat.NoCloud) && recipe.NoCloud is null)
        {
            errors.Add("nocloud: a NoCloud seed needs user-data and meta-data; give them or leave the seed out");
        }

        if (recipe.KernelArguments.Contains('\n', StringComparison.Ordinal) || recipe.IsoKernelArguments?.Contains('\n', StringComparison.Ordinal) == true)
        {
            errors.Add("kernel arguments: a kernel command line is one line; remove the line break");
        }

        if (recipe.SquashfsCompression is not ("gzip" or "xz" or "zstd" or "lz4" or "lzo" or "lzma"))
        {
            errors.Add($"squashfs compression: '{recipe.SquashfsCompression}' is not one of gzip, xz, zstd, lz4, lzo");
        }

        if (recipe.Disk.RootFreeSpacePercent is < 0 or > 1000 || recipe.Disk.RootFreeSpaceMiB < 0)
        {
            errors.Add("disk: free space must be 0–1000 % and at least 0 MiB");
        }

        return errors;
    }

    /// <summary>
    /// Builds <paramref name="recipe"/> and stores it as a new version in the library. Progress (step, stage, bytes) goes
    /// to <paramref name="progress"/>; <paramref name="rebuild"/> ignores the cache (every step runs again and replaces its entry).
    /// </summary>
    /// <exception cref="ImageBuildException">The recipe is invalid, or a step failed; the message says why, <see cref="ImageBuildException.BuildLog"/> has the details.</exception>
    public async Task<ImageMetadata> BuildAsync(ImageRecipe recipe, IProgress<ImageBuildProgress>? progress = null, bool rebuild = false, CancellationToken cancellationToken = default)
    {
        var errors = Validate(recipe);
        if (errors.Count > 0)
        {
            throw new ImageBuildException($"the image recipe '{recipe.Name}' cannot be built:{Environment.NewLine}{string.Join(Environment.NewLine, errors)}");
        }

        var gate = NameLocks.GetOrAdd(recipe.Name, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await BuildLockedAsync(recipe, progress, rebuild, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<ImageMetadata> BuildLockedAsync(ImageRecipe recipe, IProgress<ImageBuildProgress>? progress, bool rebuild, CancellationToken cancellationToken)
    {
        var version = recipe.Version ?? await _library.NextVersionAsync(recipe.Name, cancellationToken).ConfigureAwait(false);
        if (await _library.GetAsync(recipe.Name, version, cancellationToken).ConfigureAwait(false) is not null)
        {
            throw new ImageBuildException($"image {recipe.Name} version {version} already exists; remove it first or build another version");
        }

        var started = Stopwatch.StartNew();
        var staging = _library.CreateStaging(recipe.Name);
        var logPath = Path.Combine(staging, ImageLibrary.BuildLogFile);
        var writer = new StreamWriter(logPath) { AutoFlush = true };
        var context = new BuildContext(_tools, _cache, writer, progress, rebuild);
        Log.BuildStarted(_logger, recipe.Name, version, string.Join(',', recipe.Formats), recipe.Base.Kind, recipe.Role?.Name ?? "(none)");
        context.Note($"image {recipe.Name} version {version}: formats {string.Join(", ", recipe.Formats)}, base {recipe.Base.Kind}, role {recipe.Role?.Name ?? "(none)"}, started {DateTimeOffset.UtcNow:u}");
        try
        {
            var metadata = await BuildStepsAsync(recipe, version, context, staging, cancellationToken).ConfigureAwait(false);
            metadata = metadata with { BuildDuration = started.Elapsed };
            var cached = context.Entries.Count(e => e.Hit);
            context.Note($"stored in {_library.GetDirectory(recipe.Name, version)} after {started.Elapsed.TotalSeconds:F1} s; {cached} of {context.Entries.Count} steps from the cache");
            await writer.DisposeAsync().ConfigureAwait(false);
            await _library.CommitAsync(staging, metadata, cancellationToken).ConfigureAwait(false);
            foreach (var entry in context.Entries)
            {
                if (entry.Hit)
                {
                    Log.StepCached(_logger, recipe.Name, entry.Step, entry.Key);
                }
                else
                {
                    Log.StepBuilt(_logger, recipe.Name, entry.Step, entry.Key);
                }
            }

            Log.BuildFinished(_logger, recipe.Name, version, metadata.Size, started.Elapsed.TotalSeconds, cached, context.Entries.Count);
            return metadata;
        }
        catch (Exception e) when (e is ToolException or ImageBuildException or IOException or UnauthorizedAccessException or InvalidOperationException or OperationCanceledException)
        {
            context.Note(e is OperationCanceledException ? "cancelled" : $"failed: {e.Message}");
            await writer.DisposeAsync().ConfigureAwait(false);
            var failedLog = KeepFailedLog(recipe.Name, version, logPath);
            BuildCache.DeleteTree(staging);
            if (e is OperationCanceledException)
            {
                throw;
            }

            Log.BuildFailed(_logger, recipe.Name, version, e.Message, failedLog);
            throw new ImageBuildException($"image {recipe.Name} version {version}: {e.Message}", e) { BuildLog = failedLog };
        }
    }

    private async Task<ImageMetadata> BuildStepsAsync(ImageRecipe recipe, string version, BuildContext context, string staging, CancellationToken cancellationToken)
    {
        var needsRootfs = recipe.Formats.Any(f => f is not ImageFormat.NoCloud && !(f is ImageFormat.Iso && recipe.IsoKernel is not null));
        CacheEntry? rootfs = null;
        if (needsRootfs)
        {
            rootfs = await RootfsSteps.BaseAsync(context, recipe.Base, cancellationToken).ConfigureAwait(false);
            if (recipe.Role is { } role)
            {
                rootfs = await RootfsSteps.RoleAsync(context, rootfs, role, cancellationToken).ConfigureAwait(false);
            }
        }

        var parts = new List<(ImageFormat Format, string Part, string Source)>();
        DiskLayoutInfo? layout = null;
        CacheEntry? raw = null;
        foreach (var format in recipe.Formats.Order())
        {
            switch (format)
            {
                case ImageFormat.Raw or ImageFormat.Qcow2:
                    raw ??= await OutputSteps.RawAsync(context, rootfs!, recipe, cancellationToken).ConfigureAwait(false);
                    layout ??= JsonSerializer.Deserialize<DiskLayoutInfo>(await File.ReadAllTextAsync(Path.Combine(raw.Path, OutputSteps.LayoutFile), cancellationToken).ConfigureAwait(false), ImageLibrary.Json);
                    if (format == ImageFormat.Raw)
                    {
                        parts.Add((format, "disk", Path.Combine(raw.Path, OutputSteps.RawFile)));
                    }
                    else
                    {
                        var qcow2 = await OutputSteps.Qcow2Async(context, raw, cancellationToken).ConfigureAwait(false);
                        parts.Add((format, "disk", Path.Combine(qcow2.Path, OutputSteps.Qcow2File)));
                    }

                    break;
                case ImageFormat.Netboot:
                    var netboot = await OutputSteps.NetbootAsync(context, rootfs!, recipe, cancellationToken).ConfigureAwait(false);
                    parts.Add((format, "kernel", Path.Combine(netboot.Path, OutputSteps.KernelFile)));
                    parts.Add((format, "initrd", Path.Combine(netboot.Path, OutputSteps.InitrdFile)));
                    parts.Add((format, "root", Path.Combine(netboot.Path, OutputSteps.SquashfsFile)));
                    break;
                case ImageFormat.Iso:
                    var iso = await OutputSteps.IsoAsync(context, rootfs, recipe, cancellationToken).ConfigureAwait(false);
                    parts.Add((format, "iso", Path.Combine(iso.Path, OutputSteps.IsoFile)));
                    break;
                case ImageFormat.NoCloud:
                    var seed = await OutputSteps.NoCloudAsync(context, recipe.NoCloud!, cancellationToken).ConfigureAwait(false);
                    parts.Add((format, "seed", Path.Combine(seed.Path, recipe.NoCloud!.FileSystem == NoCloudFileSystem.Vfat ? OutputSteps.SeedVfatFile : OutputSteps.SeedIsoFile)));
                    break;
                case ImageFormat.RootfsTar:
                    var tar = await OutputSteps.TarAsync(context, rootfs!, cancellationToken).ConfigureAwait(false);
                    parts.Add((format, "rootfs", Path.Combine(tar.Path, OutputSteps.TarFile)));
                    break;
                default:
                    throw new ImageBuildException($"format {format} is not supported");
            }
        }

        var artifacts = new List<ImageArtifact>();
        var total = parts.Sum(p => new FileInfo(p.Source).Length);
        long done = 0;
        context.Report(new ImageBuildProgress("store", ImageBuildStage.Started, 0, total));
        foreach (var (format, part, source) in parts)
        {
            var fileName = $"{recipe.Name}-{version}{FileSuffix(format, part, source)}";
            var target = Path.Combine(staging, fileName);
            await StoreFileAsync(context, source, target, cancellationToken).ConfigureAwait(false);
            var before = done;
            var sha256 = await Sha256Async(source, bytes => context.Report(new ImageBuildProgress("store", ImageBuildStage.Running, before + bytes, total, fileName)), cancellationToken).ConfigureAwait(false);
            var size = new FileInfo(target).Length;
            done += size;
            artifacts.Add(new ImageArtifact { Format = format, Part = part, File = fileName, Size = size, Sha256 = sha256 });
            context.Note($"{fileName}: {size} bytes, sha256 {sha256}");
        }

        context.Report(new ImageBuildProgress("store", ImageBuildStage.Finished, done, total));
        return new ImageMetadata
        {
            Name = recipe.Name,
            Version = version,
            Role = recipe.Role?.Name,
            Base = recipe.Base.Kind,
            Created = DateTimeOffset.UtcNow,
            RootfsKey = rootfs?.Key ?? "",
            Artifacts = artifacts,
            Disk = layout,
        };
    }

    private static string FileSuffix(ImageFormat format, string part, string source) => (format, part) switch
    {
        (ImageFormat.Raw, _) => ".raw",
        (ImageFormat.Qcow2, _) => ".qcow2",
        (ImageFormat.Netboot, "kernel") => ".vmlinuz",
        (ImageFormat.Netboot, "initrd") => ".initrd.img",
        (ImageFormat.Netboot, _) => ".squashfs",
        (ImageFormat.Iso, _) => ".iso",
        (ImageFormat.NoCloud, _) => "-seed" + Path.GetExtension(source),
        _ => ".tar.gz",
    };

    /// <summary>A hard link to the cache entry's file when on the same file system (cache entries never change), else a sparse copy.</summary>
    private static async Task StoreFileAsync(BuildContext context, string source, string target, CancellationToken cancellationToken)
    {
        var link = await context.Tools.RunAsync("cp", ["--link", source, target], context.Options("store the image") with { AllowFailure = true }, cancellationToken).ConfigureAwait(false);
        if (link.ExitCode != 0)
        {
            await context.Tools.RunAsync("cp", ["--reflink=auto", "--sparse=always", source, target], context.Options("store the image"), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The SHA-256 of a cache entry's file, computed once and kept beside it (entries never change).</summary>
    private static async Task<string> Sha256Async(string source, Action<long> bytesRead, CancellationToken cancellationToken)
    {
        var sidecar = source + ".sha256";
        if (File.Exists(sidecar) && (await File.ReadAllTextAsync(sidecar, cancellationToken).ConfigureAwait(false)).Trim() is { Length: 64 } known)
        {
            bytesRead(new FileInfo(source).Length);
            return known;
        }

        var hash = await TreeOperations.Sha256Async(source, bytesRead, cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(sidecar, hash + "\n", cancellationToken).ConfigureAwait(false);
        return hash;
    }

    private string KeepFailedLog(string name, string version, string logPath)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_library.Root, name, ".failed")).FullName;
        var target = Path.Combine(folder, $"{version}-{DateTimeOffset.UtcNow:yyyyMMddTHHmmssZ}.log");
        File.Move(logPath, target, overwrite: true);
        return target;
    }
}
