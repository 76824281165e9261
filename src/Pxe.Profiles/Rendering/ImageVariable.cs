using System.Globalization;
using Pxe.Profiles.Spec;

namespace Pxe.Profiles.Rendering;

/// <summary>
/// "Install image X": the variable <c>image: NAME</c> (and optionally <c>image_version: V</c>, else the newest version)
/// on a profile or machine makes the renderer define <c>image_file</c> (the raw disk's path below <c>/files</c>),
/// <c>image_sha256</c>, <c>image_size</c> and <c>image_compression</c> from the image library (<see cref="IImageCatalog"/>),
/// replacing values of those names from any layer. Without <c>image</c>, values set directly as variables are used as they are.
/// </summary>
public static class ImageVariable
{
    /// <summary>The variable that names the image to install.</summary>
    public const string Name = "image";

    /// <summary>The variable that pins its version.</summary>
    public const string VersionName = "image_version";

    /// <summary>The variables an image defines.</summary>
    public static readonly IReadOnlySet<string> Defined = new HashSet<string>(StringComparer.Ordinal)
    {
        "image_file", "image_sha256", "image_size", "image_compression",
    };

    private static readonly IReadOnlySet<string> Nothing = new HashSet<string>();

    /// <summary>
    /// Whether <paramref name="name"/> can name an image or a version in the library: 1–128 lowercase letters, digits,
    /// '-', '_' and '.', starting with a letter or digit (it is a folder name below <c>files/images/</c>).
    /// </summary>
    public static bool IsValidName(string name) =>
        name.Length is >= 1 and <= 128 && (char.IsAsciiLetterLower(name[0]) || char.IsAsciiDigit(name[0]))
        && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_' or '.');

    /// <summary>
    /// The image a render asks for: the values of <c>image</c> and <c>image_version</c> as text, or null when
    /// <c>image</c> is not set (or empty, which lets a child profile or a machine turn an inherited image off).
    /// </summary>
    public static (string Name, string? Version, string Source)? Requested(IReadOnlyDictionary<string, Sourced<object?>> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        if (!variables.TryGetValue(Name, out var image) || Text(image.Value) is not { Length: > 0 } name)
        {
            return null;
        }

        var version = variables.TryGetValue(VersionName, out var v) && Text(v.Value) is { Length: > 0 } pinned ? pinned : null;
        return (name, version, image.Source);
    }

    /// <summary>
    /// Defines the image variables in <paramref name="variables"/> when <c>image</c> is set and <paramref name="catalog"/>
    /// knows it. When the image cannot be used, returns the error if the template being rendered needs one of the image
    /// variables (<paramref name="required"/>), else null: a boot script or a local boot never fails for it.
    /// With no catalog nothing is defined.
    /// </summary>
    internal static string? Apply(IImageCatalog? catalog, Dictionary<string, Sourced<object?>> variables, IReadOnlySet<string>? required) =>
        Apply(catalog, variables, required, out _);

    /// <summary>
    /// <see cref="Apply(IImageCatalog?, Dictionary{string, Sourced{object?}}, IReadOnlySet{string}?)"/>, also telling what
    /// it asked the catalog: <paramref name="lookup"/> is null when the catalog was not asked (no catalog, no image, or
    /// not an image name), else the question and its answer, on which the rendered text then depends.
    /// </summary>
    internal static string? Apply(
        IImageCatalog? catalog, Dictionary<string, Sourced<object?>> variables, IReadOnlySet<string>? required, out ImageLookup? lookup)
    {
        lookup = null;
        if (catalog is null || Requested(variables) is not { } request)
        {
            return null;
        }

        var (name, version, source) = request;
        var needed = (required ?? Nothing).Overlaps(Defined);
        if (!IsValidName(name) || version is not null && !IsValidName(version))
        {
            return needed
                ? $"image '{SpecNames.Clip(name)}'{(version is null ? "" : $" version '{SpecNames.Clip(version)}'")} (variable {Name}, from {source}) is not an image name and version; " +
                  "use lowercase letters, digits, '-', '_' and '.' as `pxe images list` shows them"
                : null;
        }

        var answer = catalog.Find(name, version);
        lookup = new ImageLookup(name, version, answer);
        if (answer is not { } found)
        {
            return needed
                ? $"image '{name}'{(version is null ? "" : $" version {version}")} (variable {Name}, from {source}) is not in the image library, or has no raw disk; " +
                  $"build it with `pxe images build {name} --role ROLE --format raw` (POST /api/v1/images), or see what is there with `pxe images list`"
                : null;
        }

        var provenance = $"image:{name}";
        variables["image_file"] = new(found.File, provenance);
        variables["image_sha256"] = new(found.Sha256, provenance);
        variables["image_size"] = new(found.Size, provenance);
        variables["image_compression"] = new(found.Compression, provenance);
        return null;
    }

    /// <summary>The image name errors of a resolved profile (for the spec validator); empty when it names none or a valid one.</summary>
    internal static IEnumerable<string> NameErrors(IReadOnlyDictionary<string, Sourced<object?>> variables)
    {
        if (Requested(variables) is not { } request)
        {
            yield break;
        }

        if (!IsValidName(request.Name))
        {
            yield return $"{Name}: '{SpecNames.Clip(request.Name)}' (from {request.Source}) is not an image name; use lowercase letters, digits, '-', '_' and '.' (see `pxe images list`)";
        }

        if (request.Version is { } version && !IsValidName(version))
        {
            yield return $"{VersionName}: '{SpecNames.Clip(version)}' is not an image version; use lowercase letters, digits, '-', '_' and '.' (e.g. 3)";
        }
    }

    private static string? Text(object? value) => value switch
    {
        null => null,
        string s => s,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };
}

/// <summary>One question a render asked the image catalog (<see cref="IImageCatalog.Find"/>) and the answer it got.</summary>
internal sealed record ImageLookup(string Name, string? Version, ImageReference? Found)
{
    /// <summary>Whether <paramref name="catalog"/> gives the same answer now.</summary>
    public bool IsCurrent(IImageCatalog? catalog) => catalog is not null && catalog.Find(Name, Version) == Found;
}
