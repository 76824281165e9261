using System.Buffers.Binary;
using System.IO.Compression;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Pxe.Images.Tools;

namespace Pxe.Images.Installer;

/// <summary>What to build the installer from and where to put it.</summary>
public sealed record InstallerBuildOptions
{
    /// <summary>The Debian installer's netboot kernel (package debian-installer-12-netboot-amd64).</summary>
    public const string DebianInstallerKernel = "/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64/linux";

    /// <summary>Where the output goes: <c>linux</c>, <c>initrd.gz</c> and <c>installer.json</c>.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Where downloaded kernel packages and extracted modules are kept between builds.</summary>
    public required string CacheDirectory { get; init; }

    /// <summary>The kernel (an x86 bzImage).</summary>
    public string KernelPath { get; init; } = DebianInstallerKernel;

    /// <summary>A statically linked busybox (package busybox-static).</summary>
    public string BusyboxPath { get; init; } = "/bin/busybox";

    /// <summary>
    /// A folder holding <c>lib/modules/&lt;release&gt;</c> for the kernel; when null the matching
    /// <c>linux-image-&lt;release&gt;</c> package is downloaded with apt-get into <see cref="CacheDirectory"/> and unpacked there (never installed).
    /// </summary>
    public string? ModulesRoot { get; init; }

    /// <summary>Modules to include (with their dependencies); names the kernel lacks are skipped and listed in the result.</summary>
    public IReadOnlyList<string> Modules { get; init; } = DefaultModules;

    /// <summary>
    /// Programs of this machine copied in with their shared libraries (found with ldd): what the post-install steps
    /// need beyond busybox to grow the root partition and its file system.
    /// </summary>
    public IReadOnlyList<string> ExtraPrograms { get; init; } = ["sfdisk", "resize2fs", "e2fsck"];

    /// <summary>Timestamp of every archive entry, so equal inputs give byte-identical output.</summary>
    public DateTimeOffset Timestamp { get; init; } = DateTimeOffset.UnixEpoch;

    /// <summary>Common server and VM NICs and disk controllers, and the file systems the post-install steps touch.</summary>
    public static readonly IReadOnlyList<string> DefaultModules =
    [
        // NICs: QEMU/KVM, VMware, Intel, Broadcom, Realtek, Mellanox
        "virtio_pci", "virtio_net", "e1000", "e1000e", "igb", "igc", "ixgbe", "i40e", "ice", "bnxt_en", "tg3", "r8169", "vmxnet3",
        "mlx4_en", "mlx5_core",
        // Disks and controllers
        "virtio_blk", "virtio_scsi", "sd_mod", "ata_piix", "ahci", "nvme", "megaraid_sas", "mpt3sas", "smartpqi", "hpsa", "vmw_pvscsi",
        // File systems for post-install steps; ext4 asks the crypto API for crc32c by name, which modules.dep does not list
        "crc32c_generic", "crc32c_intel", "ext4", "vfat", "nls_cp437", "nls_iso8859_1",
    ];
}

/// <summary>What a build produced.</summary>
public sealed record InstallerBuildResult(
    string KernelRelease, string KernelPath, string KernelSha256, string InitrdPath, string InitrdSha256, long InitrdSize,
    IReadOnlyList<string> Modules, IReadOnlyList<string> MissingModules);

/// <summary>
/// Builds PxeServer's installer: the Debian installer's netboot kernel and a small initramfs made of busybox-static,
/// the installer script (<c>Installer/Payload/init</c>) and the kernel modules for disks and NICs. The initramfs is
/// reproducible: the same inputs give the same bytes.
/// </summary>
public sealed class InstallerBuilder(IToolRunner tools)
{
    /// <summary>Builds into <see cref="InstallerBuildOptions.OutputDirectory"/>.</summary>
    /// <exception cref="InstallerBuildException">An input is missing or wrong; the message says what to fix.</exception>
    /// <exception cref="ToolException">apt-get or dpkg-deb failed or is missing.</exception>
    public async Task<InstallerBuildResult> BuildAsync(InstallerBuildOptions options, CancellationToken ct = default)
    {
        if (!File.Exists(options.KernelPath))
        {
            throw new InstallerBuildException($"no kernel at {options.KernelPath}: install the package debian-installer-12-netboot-amd64 or give --kernel");
        }

        string release;
        try
        {
            release = KernelImage.ReadRelease(options.KernelPath);
        }
        catch (InvalidDataException e)
        {
            throw new InstallerBuildException(e.Message);
        }

        var busybox = ReadStaticBusybox(options.BusyboxPath);
        var modulesRoot = options.ModulesRoot ?? await FetchModulesAsync(release, options.CacheDirectory, ct);
        var releaseFolder = Path.Combine(modulesRoot, "lib", "modules", release);
        if (!Directory.Exists(releaseFolder))
        {
            throw new InstallerBuildException($"{modulesRoot} has no lib/modules/{release}: the modules must be those of the kernel ({release})");
        }

        var modules = KernelModules.Load(releaseFolder);
        var (ordered, missing) = modules.Close(options.Modules);
        var programs = await CollectProgramsAsync(options.ExtraPrograms, ct);

        Directory.CreateDirectory(options.OutputDirectory);
        var initrdPath = Path.Combine(options.OutputDirectory, "initrd.gz");
        var kernelPath = Path.Combine(options.OutputDirectory, "linux");
        var tmpInitrd = initrdPath + ".tmp";
        await using (var file = File.Create(tmpInitrd))
        {
            await using var gzip = new GZipStream(file, CompressionLevel.SmallestSize);
            var cpio = new NewcArchiveWriter(gzip, options.Timestamp);
            WriteTree(cpio, busybox, modules, ordered, release, programs);
            cpio.Finish();
        }

        File.Move(tmpInitrd, initrdPath, overwrite: true);
        if (!string.Equals(Path.GetFullPath(options.KernelPath), Path.GetFullPath(kernelPath), StringComparison.Ordinal))
        {
            File.Copy(options.KernelPath, kernelPath + ".tmp", overwrite: true);
            File.Move(kernelPath + ".tmp", kernelPath, overwrite: true);
        }

        var result = new InstallerBuildResult(release, kernelPath, await Sha256Async(kernelPath, ct), initrdPath, await Sha256Async(initrdPath, ct),
            new FileInfo(initrdPath).Length, ordered, missing);
        await File.WriteAllTextAsync(Path.Combine(options.OutputDirectory, "installer.json"), JsonSerializer.Serialize(new
        {
            kernel_release = result.KernelRelease,
            kernel_sha256 = result.KernelSha256,
            initrd_sha256 = result.InitrdSha256,
            initrd_size = result.InitrdSize,
            modules = result.Modules,
            missing_modules = result.MissingModules,
        }, new JsonSerializerOptions { WriteIndented = true }), ct);
        return result;
    }

    /// <summary>The files of the initramfs, in a fixed order.</summary>
    private static void WriteTree(
        NewcArchiveWriter cpio, byte[] busybox, KernelModules modules, IReadOnlyList<string> ordered, string release, SortedDictionary<string, string> programs)
    {
        var modulePaths = ordered.Select(m => modules.PathOf(m)!).ToList();
        var directories = new SortedSet<string>(StringComparer.Ordinal) { "bin", "dev", "etc", "proc", "sys", "tmp", "run", "mnt", "lib", "lib/modules", $"lib/modules/{release}" };
        foreach (var p in modulePaths.Select(p => $"lib/modules/{release}/{p}").Concat(programs.Keys))
        {
            for (var dir = Path.GetDirectoryName(p)!.Replace('\\', '/'); dir.Length > 0; dir = Path.GetDirectoryName(dir)!.Replace('\\', '/'))
            {
                directories.Add(dir);
            }
        }

        foreach (var dir in directories)
        {
            cpio.AddDirectory(dir, dir == "tmp" ? 0b1_111_111_111 : 0b111_101_101);
        }

        cpio.AddCharDevice("dev/console", 0b110_000_000, 5, 1);
        cpio.AddFile("bin/busybox", busybox, 0b111_101_101);
        cpio.AddSymlink("bin/sh", "busybox");
        cpio.AddFile("init", Payload("init"), 0b111_101_101);
        cpio.AddFile("etc/udhcpc.script", Payload("udhcpc.script"), 0b111_101_101);
        cpio.AddSymlink("etc/mtab", "/proc/mounts");
        foreach (var (target, source) in programs)
        {
            cpio.AddFile(target, File.ReadAllBytes(source), 0b111_101_101);
        }

        cpio.AddFile("etc/installer-modules", Encoding.ASCII.GetBytes(string.Join('\n', ordered) + "\n"), 0b110_100_100);
        cpio.AddFile($"lib/modules/{release}/modules.dep", Encoding.ASCII.GetBytes(modules.ModulesDep(ordered)), 0b110_100_100);
        foreach (var p in modulePaths.Order(StringComparer.Ordinal))
        {
            cpio.AddFile($"lib/modules/{release}/{p}", File.ReadAllBytes(Path.Combine(modules.Root, p)), 0b110_100_100);
        }
    }

    /// <summary>
    /// The extra programs (as bin/NAME) and every shared library they load (at the same path as on this machine),
    /// keyed by their path in the initramfs, valued by the file to read.
    /// </summary>
    private async Task<SortedDictionary<string, string>> CollectProgramsAsync(IReadOnlyList<string> names, CancellationToken ct)
    {
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var path = ToolRunner.SystemDirectories.Prepend("/usr/sbin").Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists)
                ?? throw new InstallerBuildException($"the installer needs {name} from this machine: install the package {ToolRunner.PackageOf(name) ?? name}");
            files["bin/" + name] = path;
            var ldd = await tools.RunAsync("ldd", [path], new ToolOptions { Step = $"find the libraries of {name}", Timeout = TimeSpan.FromSeconds(30) }, ct);
            foreach (var line in ldd.StandardOutput.Split('\n'))
            {
                var text = line.Trim();
                var arrow = text.IndexOf("=> ", StringComparison.Ordinal);
                var library = (arrow >= 0 ? text[(arrow + 3)..] : text).Split(' ')[0];
                if (library.StartsWith('/'))
                {
                    files[library.TrimStart('/')] = library;
                }
            }
        }

        return files;
    }

    private async Task<string> FetchModulesAsync(string release, string cacheDirectory, CancellationToken ct)
    {
        var root = Path.Combine(cacheDirectory, "linux-image-" + release);
        if (Directory.Exists(Path.Combine(root, "lib", "modules", release)))
        {
            return root;
        }

        var download = Path.Combine(cacheDirectory, "download");
        Directory.CreateDirectory(download);
        var package = "linux-image-" + release;
        var deb = Directory.EnumerateFiles(download, package + "_*.deb").FirstOrDefault();
        if (deb is null)
        {
            await tools.RunAsync("apt-get", ["download", package], new ToolOptions
            {
                WorkingDirectory = download,
                Step = $"download {package} (the kernel modules matching the installer kernel)",
                Timeout = TimeSpan.FromMinutes(10),
            }, ct);
            deb = Directory.EnumerateFiles(download, package + "_*.deb").FirstOrDefault()
                ?? throw new InstallerBuildException($"apt-get download {package} left no .deb in {download}");
        }

        var unpack = root + ".tmp";
        if (Directory.Exists(unpack))
        {
            Directory.Delete(unpack, recursive: true);
        }

        await tools.RunAsync("dpkg-deb", ["-x", deb, unpack], new ToolOptions { Step = $"unpack {Path.GetFileName(deb)}", Timeout = TimeSpan.FromMinutes(10) }, ct);
        Directory.Move(unpack, root);
        return root;
    }

    private static byte[] ReadStaticBusybox(string path)
    {
        if (!File.Exists(path))
        {
            throw new InstallerBuildException($"no busybox at {path}: install the package busybox-static");
        }

        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 64 || !bytes.AsSpan(0, 4).SequenceEqual("\u007fELF"u8) || bytes[4] != 2)
        {
            throw new InstallerBuildException($"{path} is not a 64-bit ELF program");
        }

        var phoff = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(0x20));
        var phentsize = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(0x36));
        var phnum = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(0x38));
        for (var i = 0; i < phnum; i++)
        {
            const uint interpreter = 3; // PT_INTERP: dynamically linked
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(phoff + (i * phentsize))) == interpreter)
            {
                throw new InstallerBuildException($"{path} is dynamically linked; the installer needs the static busybox (package busybox-static)");
            }
        }

        return bytes;
    }

    private static byte[] Payload(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Pxe.Images.Installer.Payload." + name)
            ?? throw new InvalidOperationException($"the installer payload '{name}' is not embedded in {typeof(InstallerBuilder).Assembly.GetName().Name}");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static async Task<string> Sha256Async(string path, CancellationToken ct)
    {
        await using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(f, ct));
    }
}

/// <summary>The installer cannot be built from what was given; the message says what to fix.</summary>
public sealed class InstallerBuildException(string message) : Exception(message);
