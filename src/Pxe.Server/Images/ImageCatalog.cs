using System.Collections.Frozen;
using System.Globalization;
using Pxe.Images.Building;
using Pxe.Images.Library;
using Pxe.Profiles.Rendering;

namespace Pxe.Server.Images;

/// <summary>
/// The image library as renders see it (<see cref="IImageCatalog"/>): a snapshot of every stored version, so that a
/// lookup on the boot path never touches the disk. The snapshot is replaced at once after a build or a removal made
/// through the server (<see cref="RefreshAsync"/>), and when the folder changes otherwise (a version copied in or
/// removed by hand): <see cref="IsStale"/> compares the modification times of the library's folders, which the
/// build service checks every <see cref="ImageBuildService.LibraryCheckInterval"/>.
/// </summary>
internal sealed class ImageCatalog(ImageLibrary library) : IImageCatalog
{
    private readonly SemaphoreSlim _refreshLock = new(1, 1);
    private volatile Snapshot _snapshot = new(FrozenDictionary<string, IReadOnlyList<ImageMetadata>>.Empty, "");

    /// <summary>The library this catalog shows.</summary>
    public ImageLibrary Library { get; } = library;

    /// <summary>Why the last refresh failed (an unreadable image.json), or null; the previous snapshot keeps serving meanwhile.</summary>
    public string? LastError { get; private set; }

    /// <summary>The path below /files of a stored file (what <c>image_file</c> holds), e.g. <c>images/web/3/web-3.raw</c>.</summary>
    public static string FilesPath(ImageMetadata image, string file) => $"images/{image.Name}/{image.Version}/{file}";

    /// <inheritdoc />
    public ImageReference? Find(string name, string? version)
    {
        if (!_snapshot.Images.TryGetValue(name, out var versions))
        {
            return null;
        }

        // Oldest first, as the library lists them: the newest is the last.
        var image = version is null ? versions[^1] : versions.FirstOrDefault(v => v.Version == version);
        var disk = image?.Artifacts.FirstOrDefault(a => a.Format == ImageFormat.Raw);
        return image is null || disk is null ? null : new ImageReference(FilesPath(image, disk.File), disk.Sha256, disk.Size, "none");
    }

    /// <summary>Reads the library again and replaces the snapshot; the error (also kept in <see cref="LastError"/>) when it cannot be read.</summary>
    public async Task<string?> RefreshAsync(CancellationToken ct)
    {
        await _refreshLock.WaitAsync(ct);
        try
        {
            var stamp = Stamp();
            var images = await Library.ListAsync(ct);
            _snapshot = new Snapshot(
                images.GroupBy(i => i.Name, StringComparer.Ordinal)
                    .ToFrozenDictionary(g => g.Key, g => (IReadOnlyList<ImageMetadata>)[.. g], StringComparer.Ordinal),
                stamp);
            LastError = null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            LastError = $"the image library {Library.Root} cannot be read: {e.Message}";
        }
        finally
        {
            _refreshLock.Release();
        }

        return LastError;
    }

    /// <summary>Whether a version appeared or went since the last refresh.</summary>
    public bool IsStale()
    {
        try
        {
            return Stamp() != _snapshot.Stamp;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A folder vanished while we looked: it changed.
            return true;
        }
    }

    /// <summary>
    /// What changes when a version appears or goes: the library folder's and each image folder's modification time
    /// (a version folder is renamed into or out of its image folder; a new image adds a folder to the library).
    /// </summary>
    private string Stamp()
    {
        if (!Directory.Exists(Library.Root))
        {
            return "";
        }

        var parts = new List<string> { Directory.GetLastWriteTimeUtc(Library.Root).Ticks.ToString(CultureInfo.InvariantCulture) };
        foreach (var folder in Directory.EnumerateDirectories(Library.Root).Order(StringComparer.Ordinal))
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(folder)}:{Directory.GetLastWriteTimeUtc(folder).Ticks}"));
        }

        return string.Join('|', parts);
    }

    private sealed record Snapshot(FrozenDictionary<string, IReadOnlyList<ImageMetadata>> Images, string Stamp);
}
