namespace Pxe.Images.Building;

/// <summary>What happened to a build step.</summary>
public enum ImageBuildStage
{
    /// <summary>The step began (it was not in the cache).</summary>
    Started,

    /// <summary>The step is running; <see cref="ImageBuildProgress.Bytes"/> is what it has written so far.</summary>
    Running,

    /// <summary>The step's output was taken from the cache (its inputs did not change).</summary>
    Cached,

    /// <summary>The step finished; <see cref="ImageBuildProgress.Bytes"/> is the size of its output.</summary>
    Finished,
}

/// <summary>
/// One progress report of an image build: the step ("base", "role", "disk", "qcow2", "netboot", "iso", "nocloud",
/// "rootfs-tar", "store"), its stage, and bytes (written so far, or of the output; <see cref="TotalBytes"/> when known).
/// </summary>
public sealed record ImageBuildProgress(string Step, ImageBuildStage Stage, long Bytes, long? TotalBytes = null, string? Detail = null);
