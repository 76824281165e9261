using System.Text.Json.Serialization;
using Pxe.Images.Building;

namespace Pxe.Images.Library;

/// <summary>One stored image version: what it is, what it was built from, and its files with their checksums (image.json).</summary>
public sealed record ImageMetadata
{
    /// <summary>The image name.</summary>
    public required string Name { get; init; }

    /// <summary>The version (a folder name under the image).</summary>
    public required string Version { get; init; }

    /// <summary>The role applied on top of the base; null for a generic image.</summary>
    public string? Role { get; init; }

    /// <summary>What the base was ("debootstrap-bookworm", "tarball", "folder").</summary>
    public required string Base { get; init; }

    /// <summary>When the build finished.</summary>
    public required DateTimeOffset Created { get; init; }

    /// <summary>How long the build took, cache hits included.</summary>
    public TimeSpan BuildDuration { get; init; }

    /// <summary>The build log's file name, relative to the version folder.</summary>
    public string BuildLog { get; init; } = ImageLibrary.BuildLogFile;

    /// <summary>The cache key of the root file system the outputs were made from (equal keys: equal content).</summary>
    public required string RootfsKey { get; init; }

    /// <summary>The files of the image.</summary>
    public required IReadOnlyList<ImageArtifact> Artifacts { get; init; }

    /// <summary>The disk's layout (root PARTUUID, partition offsets) when the image has a raw or qcow2 disk.</summary>
    public Outputs.DiskLayoutInfo? Disk { get; init; }

    /// <summary>The formats the image has.</summary>
    [JsonIgnore]
    public IReadOnlyList<ImageFormat> Formats => [.. Artifacts.Select(a => a.Format).Distinct()];

    /// <summary>The bytes of all its files.</summary>
    [JsonIgnore]
    public long Size => Artifacts.Sum(a => a.Size);
}

/// <summary>One file of an image: its format, what part it is, its file name in the version folder, size and SHA-256.</summary>
public sealed record ImageArtifact
{
    /// <summary>The output it belongs to.</summary>
    public required ImageFormat Format { get; init; }

    /// <summary>What the file is: "disk", "kernel", "initrd", "root", "iso", "seed", "rootfs".</summary>
    public required string Part { get; init; }

    /// <summary>The file name in the version folder.</summary>
    public required string File { get; init; }

    /// <summary>The size in bytes (apparent; disk images are sparse on the server).</summary>
    public required long Size { get; init; }

    /// <summary>The SHA-256 of the file, lowercase hex.</summary>
    public required string Sha256 { get; init; }
}
