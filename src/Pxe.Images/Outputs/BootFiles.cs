using System.Security.Cryptography;
using System.Text;
using Pxe.Images.Building;
using Pxe.Images.Tools;

namespace Pxe.Images.Outputs;

/// <summary>The kernel and initrd of a root file system (the newest <c>/boot/vmlinuz-VERSION</c> with its <c>/boot/initrd.img-VERSION</c>).</summary>
internal sealed record KernelFiles(string Version, string Kernel, string Initrd)
{
    public static KernelFiles Find(string root)
    {
        var boot = Path.Combine(root, "boot");
        var kernels = Directory.Exists(boot)
            ? Directory.EnumerateFiles(boot, "vmlinuz-*").Select(Path.GetFileName).OfType<string>().ToList()
            : [];
        foreach (var kernel in kernels.OrderByDescending(k => k, VersionComparer.Instance))
        {
            var version = kernel["vmlinuz-".Length..];
            var initrd = Path.Combine(boot, "initrd.img-" + version);
            if (File.Exists(initrd))
            {
                return new KernelFiles(version, Path.Combine(boot, kernel), initrd);
            }
        }

        throw new ImageBuildException(kernels.Count == 0
            ? "the root file system has no kernel (/boot/vmlinuz-VERSION); add linux-image-amd64 to the base packages"
            : $"the root file system has {string.Join(", ", kernels)} but no matching /boot/initrd.img-VERSION; add initramfs-tools to the base packages");
    }

    /// <summary>Orders "6.1.0-9" before "6.1.0-10".</summary>
    private sealed class VersionComparer : IComparer<string>
    {
        public static readonly VersionComparer Instance = new();

        public int Compare(string? x, string? y)
        {
            var a = Split(x ?? "");
            var b = Split(y ?? "");
            for (var i = 0; i < Math.Min(a.Length, b.Length); i++)
            {
                var c = long.TryParse(a[i], out var m) && long.TryParse(b[i], out var n) ? m.CompareTo(n) : string.CompareOrdinal(a[i], b[i]);
                if (c != 0)
                {
                    return c;
                }
            }

            return a.Length.CompareTo(b.Length);
        }

        private static string[] Split(string s) => s.Split(['.', '-', '_', '+']);
    }
}

/// <summary>The systemd-boot EFI binary: the image's own (package systemd-boot-efi), else this machine's.</summary>
internal static class SystemdBoot
{
    public const string RelativePath = "usr/lib/systemd/boot/efi/systemd-bootx64.efi";

    public static string Find(string root)
    {
        var own = Path.Combine(root, RelativePath);
        if (File.Exists(own))
        {
            return own;
        }

        var host = "/" + RelativePath;
        return File.Exists(host)
            ? host
            : throw new ImageBuildException("no systemd-boot EFI binary in the image or on this machine; add systemd-boot-efi to the base packages (or install the Debian package systemd-boot-efi here)");
    }

    public static string LoaderConf(string entry) => $"default {entry}\ntimeout 0\nconsole-mode keep\n";

    public static string Entry(string title, string kernel, string initrd, string options) =>
        $"title {title}\nlinux {kernel}\ninitrd {initrd}\noptions {options}\n";
}

/// <summary>A FAT image (an EFI system partition, a cidata seed) made with mkfs.vfat and filled with mtools, without mounting.</summary>
internal static class FatImage
{
    private static readonly IReadOnlyDictionary<string, string> MtoolsEnvironment = new Dictionary<string, string> { ["MTOOLS_SKIP_CHECK"] = "1" };

    /// <summary>Creates <paramref name="path"/> of <paramref name="size"/> bytes with <paramref name="files"/> (path in the image → host file).</summary>
    public static async Task CreateAsync(IToolRunner tools, ToolOptions options, string path, long size, string label, string volumeId, bool fat32,
        IReadOnlyList<(string ImagePath, string HostPath)> files, CancellationToken cancellationToken)
    {
        await using (var file = File.Create(path))
        {
            file.SetLength(size);
        }

        await tools.RunAsync("mkfs.vfat", [.. fat32 ? new[] { "-F", "32" } : [], "-n", label, "-i", volumeId, path], options, cancellationToken).ConfigureAwait(false);
        var mtools = options with { Environment = MtoolsEnvironment };
        var folders = files.SelectMany(f => Parents(f.ImagePath)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (folders.Count > 0)
        {
            await tools.RunAsync("mmd", ["-i", path, .. folders.Select(f => "::" + f)], mtools, cancellationToken).ConfigureAwait(false);
        }

        foreach (var (imagePath, hostPath) in files)
        {
            await tools.RunAsync("mcopy", ["-i", path, "-o", hostPath, "::" + imagePath], mtools, cancellationToken).ConfigureAwait(false);
        }
    }

    private static IEnumerable<string> Parents(string imagePath)
    {
        var parts = imagePath.Trim('/').Split('/');
        for (var i = 1; i < parts.Length; i++)
        {
            yield return "/" + string.Join('/', parts[..i]);
        }
    }
}

/// <summary>Identifiers derived from a cache key, so a step's output is the same every time its inputs are.</summary>
internal static class DerivedIds
{
    public static Guid Guid(string key, string purpose)
    {
        Span<byte> bytes = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(key + "/" + purpose), bytes);
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x40); // version 4 layout (RFC 9562 §5.4)
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // variant 10
        return new Guid(bytes[..16], bigEndian: true);
    }

    /// <summary>A FAT volume id (8 hex digits).</summary>
    public static string VolumeId(string key, string purpose) => Guid(key, purpose).ToString("N")[..8];
}
