using Pxe.Images.Roles;

namespace Pxe.Images.Building;

/// <summary>An output an image build can produce. One build may produce several.</summary>
public enum ImageFormat
{
    /// <summary>A raw GPT disk: an EFI system partition with systemd-boot, kernel and initrd, then the ext4 root (last, so it can grow).</summary>
    Raw,

    /// <summary>The same disk converted to qcow2 (qemu-img).</summary>
    Qcow2,

    /// <summary>Netboot artifacts for diskless machines: kernel, initrd and a squashfs of the root.</summary>
    Netboot,

    /// <summary>A bootable ISO (EFI, and BIOS when ISOLINUX is installed) with the image's kernel and initrd and an install file inside.</summary>
    Iso,

    /// <summary>A NoCloud seed for cloud-init: a volume labelled CIDATA/cidata with user-data, meta-data and network-config.</summary>
    NoCloud,

    /// <summary>The root file system as a gzip-compressed tar archive.</summary>
    RootfsTar,
}

/// <summary>Where the base image's root file system comes from.</summary>
public abstract record BaseImageSource
{
    /// <summary>A short name for the cache folder and messages ("debootstrap-bookworm", "folder", "tarball").</summary>
    internal abstract string Kind { get; }
}

/// <summary>
/// A minimal Debian root file system built with debootstrap from a mirror, plus what a bootable system needs
/// (<see cref="DefaultPackages"/>): the kernel, systemd as init, systemd-boot's EFI binaries, networkd-ready networking.
/// </summary>
public sealed record DebootstrapSource : BaseImageSource
{
    /// <summary>What a bootable base needs on top of variant minbase (curl: the first-boot hand-off installs its client and reports with it).</summary>
    public static readonly IReadOnlyList<string> DefaultPackages =
        ["linux-image-amd64", "systemd-sysv", "systemd-boot-efi", "initramfs-tools", "udev", "kmod", "iproute2", "netbase", "ca-certificates", "curl"];

    /// <summary>The Debian suite (12 = bookworm).</summary>
    public string Suite { get; init; } = "bookworm";

    /// <summary>The mirror URL; null means the first Debian mirror in this machine's apt sources (see <see cref="AptSources.FindMirror"/>).</summary>
    public string? Mirror { get; init; }

    /// <summary>debootstrap's --variant (minbase: essential packages and apt only).</summary>
    public string Variant { get; init; } = "minbase";

    /// <summary>The Debian architecture.</summary>
    public string Architecture { get; init; } = "amd64";

    /// <summary>Archive components.</summary>
    public IReadOnlyList<string> Components { get; init; } = ["main"];

    /// <summary>Packages added with --include.</summary>
    public IReadOnlyList<string> Packages { get; init; } = DefaultPackages;

    /// <summary>Adds openssh-server (host keys are made on first boot, never baked into the image).</summary>
    public bool IncludeSsh { get; init; } = true;

    internal override string Kind => "debootstrap-" + Suite;
}

/// <summary>An existing root file system packed as a tar archive (compressed or not; tar detects it).</summary>
public sealed record TarballSource(string Path) : BaseImageSource
{
    internal override string Kind => "tarball";
}

/// <summary>An existing root file system in a folder (copied, never changed).</summary>
public sealed record FolderSource(string Path) : BaseImageSource
{
    internal override string Kind => "folder";
}

/// <summary>What to build: a base, an optional role overlay, and the outputs with their settings.</summary>
public sealed record ImageRecipe
{
    /// <summary>The image name in the library (lowercase letters, digits, '-', '.', '_').</summary>
    public required string Name { get; init; }

    /// <summary>The version in the library; the next whole number after the newest when null.</summary>
    public string? Version { get; init; }

    /// <summary>Where the root file system comes from.</summary>
    public required BaseImageSource Base { get; init; }

    /// <summary>The role overlay; a generic image when null.</summary>
    public RoleDefinition? Role { get; init; }

    /// <summary>The outputs (at least one).</summary>
    public required IReadOnlyList<ImageFormat> Formats { get; init; }

    /// <summary>Disk layout (for <see cref="ImageFormat.Raw"/> and <see cref="ImageFormat.Qcow2"/>).</summary>
    public DiskLayout Disk { get; init; } = new();

    /// <summary>Kernel arguments after <c>root=</c> for the disk's boot entry and the ISO.</summary>
    public string KernelArguments { get; init; } = "ro console=tty0 console=ttyS0,115200n8";

    /// <summary>The squashfs compressor for <see cref="ImageFormat.Netboot"/> (gzip, xz, zstd, lz4, lzo).</summary>
    public string SquashfsCompression { get; init; } = "zstd";

    /// <summary>The file placed in the ISO (at its root, and in its initrd root); required for <see cref="ImageFormat.Iso"/>.</summary>
    public InstallFile? IsoInstallFile { get; init; }

    /// <summary>Kernel arguments of the ISO's boot entry; when null, <see cref="KernelArguments"/>.</summary>
    public string? IsoKernelArguments { get; init; }

    /// <summary>The kernel and initrd the ISO boots (an installer's, as cobbler buildiso does); the image's own when null.</summary>
    public IsoKernel? IsoKernel { get; init; }

    /// <summary>The cloud-init data; required for <see cref="ImageFormat.NoCloud"/>.</summary>
    public NoCloudSeed? NoCloud { get; init; }
}

/// <summary>Sizes of the disk image. Sizes are rounded up to whole MiB (partitions are 1 MiB-aligned).</summary>
public sealed record DiskLayout
{
    /// <summary>The whole disk; null means just large enough: the root's content plus <see cref="RootFreeSpacePercent"/> and <see cref="RootFreeSpaceMiB"/>.</summary>
    public long? SizeBytes { get; init; }

    /// <summary>The EFI system partition; null means just large enough for the bootloader, kernel and initrd (at least 64 MiB).</summary>
    public long? EspSizeBytes { get; init; }

    /// <summary>Free space kept on the root, relative to its content (the installer grows the partition on the target anyway).</summary>
    public int RootFreeSpacePercent { get; init; } = 20;

    /// <summary>Free space kept on the root in addition to <see cref="RootFreeSpacePercent"/>.</summary>
    public int RootFreeSpaceMiB { get; init; } = 64;
}

/// <summary>The kernel and initrd of an installer, as host paths (e.g. debian-installer's netboot linux and initrd.gz).</summary>
public sealed record IsoKernel(string KernelPath, string InitrdPath);

/// <summary>A file given to a build (the ISO's install file): its name and bytes.</summary>
public sealed record InstallFile(string FileName, ReadOnlyMemory<byte> Content);

/// <summary>NoCloud data for cloud-init (https://cloudinit.readthedocs.io/en/latest/reference/datasources/nocloud.html).</summary>
public sealed record NoCloudSeed
{
    /// <summary>The user-data (#cloud-config or a script).</summary>
    public required string UserData { get; init; }

    /// <summary>The meta-data (instance-id, local-hostname).</summary>
    public required string MetaData { get; init; }

    /// <summary>The network configuration (version 2); omitted when null.</summary>
    public string? NetworkConfig { get; init; }

    /// <summary>The filesystem of the seed: vfat (label CIDATA) or iso9660 (volume id cidata).</summary>
    public NoCloudFileSystem FileSystem { get; init; } = NoCloudFileSystem.Iso9660;
}

/// <summary>The filesystem of a NoCloud seed.</summary>
public enum NoCloudFileSystem
{
    /// <summary>An ISO 9660 image with volume id <c>cidata</c> (Rock Ridge and Joliet names).</summary>
    Iso9660,

    /// <summary>A FAT image with label <c>CIDATA</c>.</summary>
    Vfat,
}
