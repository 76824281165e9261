using System.Globalization;
using System.Text.RegularExpressions;
using Pxe.Images.Building;
using Pxe.Images.Library;

namespace Pxe.Server.Images;

/// <summary>
/// The text of the image events (<c>image.build</c>, <c>image.built</c>, <c>image.failed</c>, <c>image.removed</c>).
/// Every message starts with <c>NAME/VERSION </c>, so a client follows one build by that prefix; a progress message has
/// one fixed shape (<c>web/3 disk running: 52428800 bytes</c>) that <see cref="ParseProgress"/> reads back.
/// </summary>
internal static partial class ImageBuildEvents
{
    /// <summary>Longest message stored: a tool's output tail is kept, a runaway one is cut.</summary>
    public const int MaxMessage = 4000;

    /// <summary>The prefix of every event of one build.</summary>
    public static string Prefix(string name, string version) => $"{name}/{version} ";

    /// <summary>The build was accepted and waits for its turn.</summary>
    public static string Queued(ImageRecipe recipe, string version, bool rebuild, string actor, int ahead) =>
        $"{Prefix(recipe.Name, version)}queued by {actor}: formats {string.Join(", ", recipe.Formats.Select(ImageFormats.Name))}; " +
        $"base {BaseText(recipe.Base)}; role {recipe.Role?.Name ?? "(none)"}{(rebuild ? "; rebuild without the cache" : "")}; " +
        $"{ahead.ToString(CultureInfo.InvariantCulture)} build{(ahead == 1 ? "" : "s")} ahead";

    /// <summary>One progress report of a step.</summary>
    public static string Progress(string name, string version, ImageBuildProgress p)
    {
        var text = $"{Prefix(name, version)}{p.Step} {StageName(p.Stage)}";
        if (p.Stage != ImageBuildStage.Started)
        {
            text += p.TotalBytes is { } total && p.Stage == ImageBuildStage.Running
                ? string.Create(CultureInfo.InvariantCulture, $": {p.Bytes} of {total} bytes")
                : string.Create(CultureInfo.InvariantCulture, $": {p.Bytes} bytes");
        }

        return p.Detail is { Length: > 0 } detail ? $"{text} ({detail})" : text;
    }

    /// <summary>The image is stored: each file with its format, size and SHA-256.</summary>
    public static string Built(ImageMetadata image, int cachedSteps, int steps) => Clip(
        $"{Prefix(image.Name, image.Version)}built in {image.BuildDuration.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} s " +
        $"({cachedSteps.ToString(CultureInfo.InvariantCulture)} of {steps.ToString(CultureInfo.InvariantCulture)} steps from the cache): " +
        string.Join("; ", image.Artifacts.Select(a =>
            string.Create(CultureInfo.InvariantCulture, $"{ImageFormats.Name(a.Format)} {a.Part} {a.File} {a.Size} bytes sha256 {a.Sha256}"))));

    /// <summary>The build failed: why (a tool's message carries its output tail), and where its log is.</summary>
    public static string Failed(string name, string version, string error, string? buildLog)
    {
        var log = buildLog is null ? "" : $"; build log: {buildLog}";
        var head = $"{Prefix(name, version)}failed: ";
        var room = Math.Max(MaxMessage - head.Length - log.Length, 300);
        // The end of a tool's output says why it failed: cut from the middle of the error, never from its end.
        var body = error.Length <= room ? error : error[..(room / 3)] + " … " + error[^(room - (room / 3) - 3)..];
        return head + body + log;
    }

    /// <summary>Versions were removed.</summary>
    public static string Removed(string name, IReadOnlyList<string> versions, string actor) =>
        $"{name}/{string.Join(",", versions)} removed by {actor}";

    /// <summary>A progress message read back; null for any other message.</summary>
    public static ProgressLine? ParseProgress(string message)
    {
        var m = ProgressPattern().Match(message);
        if (!m.Success)
        {
            return null;
        }

        long? Number(string group) => m.Groups[group].Success ? long.Parse(m.Groups[group].Value, NumberStyles.None, CultureInfo.InvariantCulture) : null;
        return new ProgressLine(m.Groups["image"].Value, m.Groups["step"].Value, m.Groups["stage"].Value, Number("bytes"), Number("total"),
            m.Groups["detail"].Success ? m.Groups["detail"].Value : null);
    }

    private static string StageName(ImageBuildStage stage) => stage switch
    {
        ImageBuildStage.Started => "started",
        ImageBuildStage.Running => "running",
        ImageBuildStage.Cached => "cached",
        _ => "finished",
    };

    private static string BaseText(BaseImageSource source) => source switch
    {
        DebootstrapSource d => $"debootstrap {d.Suite}{(d.Mirror is null ? "" : " from " + d.Mirror)}",
        TarballSource t => $"tarball {t.Path}",
        FolderSource f => $"folder {f.Path}",
        _ => source.GetType().Name,
    };

    private static string Clip(string text) => text.Length <= MaxMessage ? text : text[..(MaxMessage - 1)] + "…";

    [GeneratedRegex(@"^(?<image>[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._-]*) (?<step>[a-z0-9][a-z0-9-]*) (?<stage>started|running|cached|finished)(?:: (?<bytes>[0-9]+)(?: of (?<total>[0-9]+))? bytes)?(?: \((?<detail>.*)\))?$", RegexOptions.CultureInvariant)]
    private static partial Regex ProgressPattern();
}

/// <summary>A progress event read back: image (<c>NAME/VERSION</c>), step, stage (started, running, cached, finished), bytes.</summary>
internal sealed record ProgressLine(string Image, string Step, string Stage, long? Bytes, long? Total, string? Detail);

/// <summary>The names of image formats in the API, the CLI and events (as the README lists them).</summary>
internal static class ImageFormats
{
    private static readonly (ImageFormat Format, string Name)[] Table =
    [
        (ImageFormat.Raw, "raw"),
        (ImageFormat.Qcow2, "qcow2"),
        (ImageFormat.Netboot, "netboot"),
        (ImageFormat.Iso, "iso"),
        (ImageFormat.NoCloud, "nocloud"),
        (ImageFormat.RootfsTar, "rootfs-tar"),
    ];

    /// <summary>All names, for error messages.</summary>
    public static string Known => string.Join(", ", Table.Select(t => t.Name));

    public static string Name(ImageFormat format) => Table.First(t => t.Format == format).Name;

    public static bool TryParse(string name, out ImageFormat format)
    {
        foreach (var (f, n) in Table)
        {
            if (string.Equals(n, name.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                format = f;
                return true;
            }
        }

        format = default;
        return false;
    }
}
