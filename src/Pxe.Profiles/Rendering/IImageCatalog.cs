namespace Pxe.Profiles.Rendering;

/// <summary>
/// The built images a profile or machine can install with the variable <c>image: NAME</c> (and optionally
/// <c>image_version: V</c>): the renderer's narrow view of the image library. Lookups are synchronous and cheap; the
/// implementation keeps a snapshot of the library and refreshes it when the library changes.
/// </summary>
public interface IImageCatalog
{
    /// <summary>
    /// The raw disk of image <paramref name="name"/> at <paramref name="version"/> (its newest version when null);
    /// null when the library has no such image, no such version, or the version has no raw disk.
    /// </summary>
    ImageReference? Find(string name, string? version);
}

/// <summary>
/// An image's disk as an install plan needs it. <see cref="File"/> is the path below the server's <c>/files</c> route
/// (e.g. <c>images/web/3/web-3.raw</c>); <see cref="Sha256"/> (lowercase hex) and <see cref="Size"/> are of the file as
/// served; <see cref="Compression"/> is how it is compressed (<c>none</c>, <c>gzip</c>, <c>xz</c>).
/// </summary>
public sealed record ImageReference(string File, string Sha256, long Size, string Compression);
