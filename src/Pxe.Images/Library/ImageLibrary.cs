using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pxe.Images.Library;

/// <summary>
/// The stored images: <c>ROOT/NAME/VERSION/</c> holds the files of one image version, its <c>image.json</c>
/// (<see cref="ImageMetadata"/>) and its <c>build.log</c>. A version folder appears only complete (built beside it and
/// renamed into place); folders without image.json are not images.
/// </summary>
public sealed partial class ImageLibrary
{
    /// <summary>The metadata file in a version folder.</summary>
    public const string MetadataFile = "image.json";

    /// <summary>The build log in a version folder.</summary>
    public const string BuildLogFile = "build.log";

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    /// <summary>A library in <paramref name="root"/> (created when missing), e.g. <c>DATA/images</c>.</summary>
    public ImageLibrary(string root)
    {
        Root = Path.GetFullPath(root);
    }

    /// <summary>The library folder.</summary>
    public string Root { get; }

    /// <summary>Whether <paramref name="name"/> can name an image (and a folder): lowercase letters, digits, '-', '_', '.', starting with a letter or digit.</summary>
    public static bool IsValidName(string name) => Pxe.Profiles.Rendering.ImageVariable.IsValidName(name);

    /// <summary>Every stored image version, by name, then version (numeric versions in numeric order).</summary>
    public async Task<IReadOnlyList<ImageMetadata>> ListAsync(CancellationToken cancellationToken = default)
    {
        var images = new List<ImageMetadata>();
        if (!Directory.Exists(Root))
        {
            return images;
        }

        foreach (var nameFolder in Directory.EnumerateDirectories(Root).Where(d => IsValidName(Path.GetFileName(d))))
        {
            foreach (var versionFolder in Directory.EnumerateDirectories(nameFolder).Where(d => IsValidName(Path.GetFileName(d))))
            {
                if (await ReadAsync(versionFolder, cancellationToken).ConfigureAwait(false) is { } metadata)
                {
                    images.Add(metadata);
                }
            }
        }

        return [.. images.OrderBy(i => i.Name, StringComparer.Ordinal).ThenBy(i => i.Version, VersionOrder.Instance)];
    }

    /// <summary>An image version, or its newest version when <paramref name="version"/> is null; null when there is none.</summary>
    public async Task<ImageMetadata?> GetAsync(string name, string? version = null, CancellationToken cancellationToken = default)
    {
        if (!IsValidName(name) || version is not null && !IsValidName(version))
        {
            return null;
        }

        if (version is not null)
        {
            return await ReadAsync(GetDirectory(name, version), cancellationToken).ConfigureAwait(false);
        }

        var versions = await VersionsAsync(name, cancellationToken).ConfigureAwait(false);
        return versions.Count == 0 ? null : versions[^1];
    }

    /// <summary>The versions of an image, oldest first.</summary>
    public async Task<IReadOnlyList<ImageMetadata>> VersionsAsync(string name, CancellationToken cancellationToken = default) =>
        [.. (await ListAsync(cancellationToken).ConfigureAwait(false)).Where(i => i.Name == name)];

    /// <summary>Removes one version, or every version when <paramref name="version"/> is null; returns how many were removed.</summary>
    public async Task<int> RemoveAsync(string name, string? version = null, CancellationToken cancellationToken = default)
    {
        if (!IsValidName(name) || version is not null && !IsValidName(version))
        {
            return 0;
        }

        var targets = version is null
            ? await VersionsAsync(name, cancellationToken).ConfigureAwait(false)
            : await GetAsync(name, version, cancellationToken).ConfigureAwait(false) is { } one ? [one] : [];
        foreach (var image in targets)
        {
            // Renamed first so that a reader never sees a half-deleted version.
            var folder = GetDirectory(image.Name, image.Version);
            var doomed = Path.Combine(Root, image.Name, $".removing-{image.Version}-{Guid.NewGuid():N}");
            Directory.Move(folder, doomed);
            Directory.Delete(doomed, recursive: true);
        }

        var nameFolder = Path.Combine(Root, name);
        if (Directory.Exists(nameFolder) && !Directory.EnumerateFileSystemEntries(nameFolder).Any())
        {
            Directory.Delete(nameFolder);
        }

        return targets.Count;
    }

    /// <summary>The folder of an image version.</summary>
    public string GetDirectory(string name, string version)
    {
        if (!IsValidName(name) || !IsValidName(version))
        {
            throw new ArgumentException($"'{name}/{version}' is not an image name and version; use lowercase letters, digits, '-', '_' and '.'");
        }

        return Path.Combine(Root, name, version);
    }

    /// <summary>The full path of one of an image's files.</summary>
    public string GetArtifactPath(ImageMetadata image, ImageArtifact artifact) => Path.Combine(GetDirectory(image.Name, image.Version), artifact.File);

    /// <summary>The full path of an image's build log.</summary>
    public string GetBuildLogPath(ImageMetadata image) => Path.Combine(GetDirectory(image.Name, image.Version), image.BuildLog);

    /// <summary>The version after the newest whole-number version of <paramref name="name"/> ("1" for a new image).</summary>
    public async Task<string> NextVersionAsync(string name, CancellationToken cancellationToken = default)
    {
        var numbers = (await VersionsAsync(name, cancellationToken).ConfigureAwait(false))
            .Select(i => int.TryParse(i.Version, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0);
        var folders = Directory.Exists(Path.Combine(Root, name))
            ? Directory.EnumerateDirectories(Path.Combine(Root, name)).Select(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0)
            : [];
        return (numbers.Concat(folders).DefaultIfEmpty(0).Max() + 1).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>A new folder beside the image's versions where a build puts its files before <see cref="CommitAsync"/>.</summary>
    internal string CreateStaging(string name)
    {
        var staging = Path.Combine(Root, name, $".staging-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        return staging;
    }

    /// <summary>Writes the metadata into <paramref name="staging"/> and renames it to the version folder.</summary>
    internal async Task CommitAsync(string staging, ImageMetadata metadata, CancellationToken cancellationToken)
    {
        await File.WriteAllTextAsync(Path.Combine(staging, MetadataFile), JsonSerializer.Serialize(metadata, Json), cancellationToken).ConfigureAwait(false);
        var target = GetDirectory(metadata.Name, metadata.Version);
        if (Directory.Exists(target))
        {
            throw new IOException($"image {metadata.Name} version {metadata.Version} already exists; remove it first or build another version");
        }

        Directory.Move(staging, target);
    }

    private static async Task<ImageMetadata?> ReadAsync(string folder, CancellationToken cancellationToken)
    {
        var path = Path.Combine(folder, MetadataFile);
        if (!File.Exists(path))
        {
            return null;
        }

        await using var stream = File.OpenRead(path);
        try
        {
            return await JsonSerializer.DeserializeAsync<ImageMetadata>(stream, Json, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not valid image metadata ({e.Message}); restore it or remove the folder {folder}", e);
        }
    }


    /// <summary>Numeric versions in numeric order, before others in ordinal order.</summary>
    private sealed class VersionOrder : IComparer<string>
    {
        public static readonly VersionOrder Instance = new();

        public int Compare(string? x, string? y)
        {
            var xn = long.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out var a);
            var yn = long.TryParse(y, NumberStyles.None, CultureInfo.InvariantCulture, out var b);
            return (xn, yn) switch
            {
                (true, true) => a.CompareTo(b),
                (true, false) => -1,
                (false, true) => 1,
                _ => string.CompareOrdinal(x, y),
            };
        }
    }
}
