using System.Globalization;
using System.Text;
using System.Text.Json;
using Pxe.Images.Building;

namespace Pxe.Images.Outputs;

/// <summary>
/// The output steps. Each is a cache entry keyed by the root file system entry it was made from and its own settings;
/// each writes its files at the top of its entry folder.
/// </summary>
internal static class OutputSteps
{
    public const string RawFile = "disk.raw";
    public const string Qcow2File = "disk.qcow2";
    public const string LayoutFile = "layout.json";
    public const string KernelFile = "vmlinuz";
    public const string InitrdFile = "initrd.img";
    public const string SquashfsFile = "root.squashfs";
    public const string IsoFile = "image.iso";
    public const string SeedVfatFile = "seed.vfat";
    public const string SeedIsoFile = "seed.iso";
    public const string TarFile = "rootfs.tar.gz";

    private const long MiB = 1 << 20;
    private const int Version = 2; // 2: the root is sized without counting symlinked directories twice
    private const string EspTypeGuid = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";

    /// <summary>Discoverable Partitions Specification: "Root Partition (x86-64)".</summary>
    private const string RootX64TypeGuid = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>
    /// A raw GPT disk: partition 1 is the EFI system partition (FAT32, systemd-boot, the kernel and initrd), partition 2
    /// the ext4 root made with <c>mkfs.ext4 -d</c>, booted as <c>root=PARTUUID=…</c>. Nothing is mounted.
    /// </summary>
    public static Task<CacheEntry> RawAsync(BuildContext context, CacheEntry rootfs, ImageRecipe recipe, CancellationToken cancellationToken)
    {
        var layout = recipe.Disk;
        var inputs = new StepInputs("disk", Version).AddEntry(rootfs)
            .Add("size", layout.SizeBytes?.ToString(CultureInfo.InvariantCulture)).Add("esp", layout.EspSizeBytes?.ToString(CultureInfo.InvariantCulture))
            .Add("free", $"{layout.RootFreeSpacePercent}%+{layout.RootFreeSpaceMiB}MiB").Add("kernel_args", recipe.KernelArguments);
        return context.StepAsync("disk", inputs, async (folder, token) =>
        {
            var key = inputs.Key;
            var root = Path.Combine(rootfs.Path, RootfsSteps.RootfsFolder);
            var kernel = KernelFiles.Find(root);
            var bootloader = SystemdBoot.Find(root);
            var disk = new DiskIds(DerivedIds.Guid(key, "disk"), DerivedIds.Guid(key, "esp"), DerivedIds.Guid(key, "root-part"), DerivedIds.Guid(key, "root-fs"));

            var bootBytes = new FileInfo(kernel.Kernel).Length + new FileInfo(kernel.Initrd).Length + new FileInfo(bootloader).Length;
            var espSize = RoundUp(layout.EspSizeBytes ?? Math.Max(64 * MiB, (long)(bootBytes * 1.1) + 8 * MiB));
            var (contentBytes, entries) = TreeOperations.Measure(root);
            // ext4 needs room for its journal, inode tables and group descriptors besides the files themselves.
            var needed = contentBytes + (entries * 512) + (32 * MiB);
            var rootSize = RoundUp((long)(needed * (1 + (layout.RootFreeSpacePercent / 100.0))) + (layout.RootFreeSpaceMiB * MiB));
            if (layout.SizeBytes is { } total)
            {
                rootSize = RoundUp(total) - espSize - (2 * MiB);
                if (rootSize < needed)
                {
                    throw new ImageBuildException(
                        $"a {total / MiB} MiB disk is too small: the root needs at least {RoundUp(needed) / MiB} MiB and the EFI system partition {espSize / MiB} MiB; leave the size out or give at least {(RoundUp(needed) + espSize + (2 * MiB)) / MiB} MiB");
                }
            }

            var inodes = Math.Max(entries * 2, 16384);
            var esp = Path.Combine(folder, "esp.img");
            var rootImage = Path.Combine(folder, "root.img");
            var title = OsName(root);
            var options = $"root=PARTUUID={disk.RootPartition} {recipe.KernelArguments}".Trim();
            var staging = Directory.CreateDirectory(Path.Combine(folder, "esp")).FullName;
            await File.WriteAllTextAsync(Path.Combine(staging, "loader.conf"), SystemdBoot.LoaderConf("image.conf"), token).ConfigureAwait(false);
            await File.WriteAllTextAsync(Path.Combine(staging, "image.conf"), SystemdBoot.Entry(title, "/" + KernelFile, "/" + InitrdFile, options), token).ConfigureAwait(false);
            await FatImage.CreateAsync(context.Tools, context.Options("make the EFI system partition"), esp, espSize, "ESP", DerivedIds.VolumeId(key, "esp-fat"), fat32: true,
                [("/EFI/BOOT/BOOTX64.EFI", bootloader), ("/loader/loader.conf", Path.Combine(staging, "loader.conf")),
                 ("/loader/entries/image.conf", Path.Combine(staging, "image.conf")), ("/" + KernelFile, kernel.Kernel), ("/" + InitrdFile, kernel.Initrd)], token).ConfigureAwait(false);
            BuildCache.DeleteTree(staging);

            await using (var file = File.Create(rootImage))
            {
                file.SetLength(rootSize);
            }

            await context.Tools.RunAsync("mkfs.ext4",
                ["-q", "-F", "-L", BaseSetup.RootLabel, "-U", disk.RootFileSystem.ToString(), "-N", inodes.ToString(CultureInfo.InvariantCulture), "-m", "1",
                 "-E", $"hash_seed={DerivedIds.Guid(key, "ext4-hash")}", "-d", root, rootImage],
                context.Options("make the ext4 root from the folder"), token).ConfigureAwait(false);

            var raw = Path.Combine(folder, RawFile);
            var rootStart = MiB + espSize;
            await using (var file = File.Create(raw))
            {
                file.SetLength(rootStart + rootSize + MiB);
            }

            var script = new StringBuilder()
                .Append("label: gpt\n")
                .Append(CultureInfo.InvariantCulture, $"label-id: {disk.Disk}\n")
                .Append("unit: sectors\n\n")
                .Append(CultureInfo.InvariantCulture, $"start={MiB / 512}, size={espSize / 512}, type={EspTypeGuid}, uuid={disk.EspPartition}, name=\"EFI System\"\n")
                .Append(CultureInfo.InvariantCulture, $"start={rootStart / 512}, size={rootSize / 512}, type={RootX64TypeGuid}, uuid={disk.RootPartition}, name=\"root\"\n")
                .ToString();
            using (var input = new MemoryStream(Encoding.ASCII.GetBytes(script)))
            {
                await context.Tools.RunAsync("sfdisk", ["--no-reread", "--no-tell-kernel", "--wipe", "never", raw],
                    context.Options("write the GPT partition table") with { StandardInput = input }, token).ConfigureAwait(false);
            }

            await DdAsync(context, esp, raw, MiB, "copy the EFI system partition into the disk", token).ConfigureAwait(false);
            await DdAsync(context, rootImage, raw, rootStart, "copy the root into the disk", token).ConfigureAwait(false);
            File.Delete(esp);
            File.Delete(rootImage);

            var info = new DiskLayoutInfo(disk.Disk, disk.EspPartition, disk.RootPartition, disk.RootFileSystem, kernel.Version, MiB, espSize, rootStart, rootSize, options);
            await File.WriteAllTextAsync(Path.Combine(folder, LayoutFile), JsonSerializer.Serialize(info, Json), token).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>The raw disk converted to qcow2.</summary>
    public static Task<CacheEntry> Qcow2Async(BuildContext context, CacheEntry raw, CancellationToken cancellationToken) =>
        context.StepAsync("qcow2", new StepInputs("qcow2", Version).AddEntry(raw), async (folder, token) =>
        {
            await context.Tools.RunAsync("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", "-o", "compat=1.1", Path.Combine(raw.Path, RawFile), Path.Combine(folder, Qcow2File)],
                context.Options("convert the disk to qcow2"), token).ConfigureAwait(false);
            File.Copy(Path.Combine(raw.Path, LayoutFile), Path.Combine(folder, LayoutFile));
        }, cancellationToken);

    /// <summary>Netboot artifacts: the kernel, the initrd and a squashfs of the root.</summary>
    public static Task<CacheEntry> NetbootAsync(BuildContext context, CacheEntry rootfs, ImageRecipe recipe, CancellationToken cancellationToken) =>
        context.StepAsync("netboot", new StepInputs("netboot", Version).AddEntry(rootfs).Add("compression", recipe.SquashfsCompression), async (folder, token) =>
        {
            var root = Path.Combine(rootfs.Path, RootfsSteps.RootfsFolder);
            var kernel = KernelFiles.Find(root);
            File.Copy(kernel.Kernel, Path.Combine(folder, KernelFile));
            File.Copy(kernel.Initrd, Path.Combine(folder, InitrdFile));
            await context.Tools.RunAsync("mksquashfs",
                [root, Path.Combine(folder, SquashfsFile), "-noappend", "-comp", recipe.SquashfsCompression, "-xattrs", "-no-progress", "-quiet"],
                context.Options("make the squashfs root"), token).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>The root file system as a gzip-compressed tar archive (numeric owners, extended attributes).</summary>
    public static Task<CacheEntry> TarAsync(BuildContext context, CacheEntry rootfs, CancellationToken cancellationToken) =>
        context.StepAsync("rootfs-tar", new StepInputs("rootfs-tar", Version).AddEntry(rootfs), (folder, token) =>
            context.Tools.RunAsync("tar", ["--sort=name", "--numeric-owner", "--xattrs", TreeOperations.PaxWithoutAccessTimes, "--use-compress-program=gzip -n",
                "-C", Path.Combine(rootfs.Path, RootfsSteps.RootfsFolder), "-cf", Path.Combine(folder, TarFile), "."],
                context.Options("pack the root file system"), token), cancellationToken);

    /// <summary>
    /// A bootable ISO, like <c>cobbler buildiso</c>: the kernel and an initrd that also holds the install file at its root
    /// (where debian-installer looks for preseed.cfg and where <c>inst.ks=file:/ks.cfg</c> finds a kickstart), the install
    /// file at the ISO's root, EFI boot through systemd-boot in an appended EFI system partition, and BIOS boot through
    /// ISOLINUX when this machine has it (package isolinux).
    /// </summary>
    public static async Task<CacheEntry> IsoAsync(BuildContext context, CacheEntry? rootfs, ImageRecipe recipe, CancellationToken cancellationToken)
    {
        var installFile = recipe.IsoInstallFile ?? throw new ImageBuildException("the ISO output needs an install file (the preseed, kickstart or user-data the ISO boots with); give one, or leave the ISO out");
        if (installFile.FileName.Length == 0 || installFile.FileName.Contains('/', StringComparison.Ordinal) || installFile.FileName.StartsWith('.'))
        {
            throw new ImageBuildException($"'{installFile.FileName}' is not a file name for the ISO's install file; give a plain name such as preseed.cfg");
        }

        var inputs = new StepInputs("iso", Version).Add("install_file", installFile.FileName).AddBytes("install_file.content", installFile.Content.Span)
            .Add("kernel_args", recipe.IsoKernelArguments ?? recipe.KernelArguments).Add("name", recipe.Name);
        KernelFiles kernel;
        if (recipe.IsoKernel is { } isoKernel)
        {
            kernel = new KernelFiles("installer", isoKernel.KernelPath, isoKernel.InitrdPath);
            foreach (var path in new[] { isoKernel.KernelPath, isoKernel.InitrdPath })
            {
                if (!File.Exists(path))
                {
                    throw new ImageBuildException($"the ISO's kernel or initrd {path} does not exist; check the installer paths");
                }
            }

            await inputs.AddFileAsync("kernel", isoKernel.KernelPath, cancellationToken).ConfigureAwait(false);
            await inputs.AddFileAsync("initrd", isoKernel.InitrdPath, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var root = Path.Combine(rootfs?.Path ?? throw new ImageBuildException("the ISO needs a kernel: build it from an image or give the installer's kernel and initrd"), RootfsSteps.RootfsFolder);
            kernel = KernelFiles.Find(root);
            inputs.AddEntry(rootfs);
        }

        var isolinux = File.Exists(Isolinux.Binary) && File.Exists(Isolinux.HybridMbr) && File.Exists(Isolinux.LdLinux);
        inputs.Add("bios", isolinux ? "isolinux" : "none");
        return await context.StepAsync("iso", inputs, async (folder, token) =>
        {
            var key = inputs.Key;
            var tree = Directory.CreateDirectory(Path.Combine(folder, "tree")).FullName;
            var work = Directory.CreateDirectory(Path.Combine(folder, "work")).FullName;
            await File.WriteAllBytesAsync(Path.Combine(tree, installFile.FileName), installFile.Content.ToArray(), token).ConfigureAwait(false);

            // The initrd with the install file appended as a second (uncompressed newc) archive: the kernel unpacks both.
            var initrd = Path.Combine(work, InitrdFile);
            File.Copy(kernel.Initrd, initrd);
            var cpioRoot = Directory.CreateDirectory(Path.Combine(work, "cpio")).FullName;
            await File.WriteAllBytesAsync(Path.Combine(cpioRoot, installFile.FileName), installFile.Content.ToArray(), token).ConfigureAwait(false);
            await using (var output = new FileStream(initrd, FileMode.Append, FileAccess.Write))
            using (var list = new MemoryStream(Encoding.UTF8.GetBytes(installFile.FileName + "\n")))
            {
                await context.Tools.RunAsync("cpio", ["--quiet", "-o", "-H", "newc", "-R", "0:0"],
                    context.Options("add the install file to the initrd") with { WorkingDirectory = cpioRoot, StandardInput = list, StandardOutput = output }, token).ConfigureAwait(false);
            }

            var arguments = recipe.IsoKernelArguments ?? recipe.KernelArguments;
            var title = $"Install {recipe.Name}";
            var staging = Directory.CreateDirectory(Path.Combine(work, "esp")).FullName;
            await File.WriteAllTextAsync(Path.Combine(staging, "loader.conf"), SystemdBoot.LoaderConf("install.conf"), token).ConfigureAwait(false);
            await File.WriteAllTextAsync(Path.Combine(staging, "install.conf"), SystemdBoot.Entry(title, "/" + KernelFile, "/" + InitrdFile, arguments), token).ConfigureAwait(false);
            var bootloader = SystemdBoot.Find(rootfs is null ? "/nonexistent" : Path.Combine(rootfs.Path, RootfsSteps.RootfsFolder));
            var espBytes = new FileInfo(kernel.Kernel).Length + new FileInfo(initrd).Length + new FileInfo(bootloader).Length;
            var espSize = RoundUp((long)(espBytes * 1.05) + (4 * MiB));
            var esp = Path.Combine(work, "efiboot.img");
            await FatImage.CreateAsync(context.Tools, context.Options("make the ISO's EFI boot image"), esp, espSize, "ISOEFI", DerivedIds.VolumeId(key, "iso-esp"), fat32: espSize >= 64 * MiB,
                [("/EFI/BOOT/BOOTX64.EFI", bootloader), ("/loader/loader.conf", Path.Combine(staging, "loader.conf")),
                 ("/loader/entries/install.conf", Path.Combine(staging, "install.conf")), ("/" + KernelFile, kernel.Kernel), ("/" + InitrdFile, initrd)], token).ConfigureAwait(false);

            var label = VolumeLabel(recipe.Name);
            List<string> xorriso = ["-as", "mkisofs", "-o", Path.Combine(folder, IsoFile), "-V", label, "-r", "-J", "-joliet-long", "-iso-level", "3"];
            if (isolinux)
            {
                var boot = Directory.CreateDirectory(Path.Combine(tree, "isolinux")).FullName;
                File.Copy(Isolinux.Binary, Path.Combine(boot, "isolinux.bin"));
                File.Copy(Isolinux.LdLinux, Path.Combine(boot, "ldlinux.c32"));
                File.Copy(kernel.Kernel, Path.Combine(boot, KernelFile));
                File.Copy(initrd, Path.Combine(boot, InitrdFile));
                await File.WriteAllTextAsync(Path.Combine(boot, "isolinux.cfg"),
                    $"DEFAULT install\nPROMPT 0\nTIMEOUT 0\nLABEL install\n  MENU LABEL {title}\n  KERNEL /isolinux/{KernelFile}\n  INITRD /isolinux/{InitrdFile}\n  APPEND {arguments}\n", token).ConfigureAwait(false);
                xorriso.AddRange(["-isohybrid-mbr", Isolinux.HybridMbr, "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat",
                    "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", "-eltorito-alt-boot"]);
            }

            xorriso.AddRange(["-append_partition", "2", "0xef", esp, "-e", "--interval:appended_partition_2:all::", "-no-emul-boot"]);
            if (isolinux)
            {
                xorriso.Add("-isohybrid-gpt-basdat");
            }

            xorriso.Add(tree);
            await context.Tools.RunAsync("xorriso", xorriso, context.Options("write the ISO"), token).ConfigureAwait(false);
            BuildCache.DeleteTree(tree);
            BuildCache.DeleteTree(work);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A NoCloud seed: user-data, meta-data and network-config on a volume cloud-init recognises by its label.</summary>
    public static Task<CacheEntry> NoCloudAsync(BuildContext context, NoCloudSeed seed, CancellationToken cancellationToken)
    {
        var inputs = new StepInputs("nocloud", Version).Add("filesystem", seed.FileSystem.ToString())
            .Add("user-data", seed.UserData).Add("meta-data", seed.MetaData).Add("network-config", seed.NetworkConfig);
        return context.StepAsync("nocloud", inputs, async (folder, token) =>
        {
            var tree = Directory.CreateDirectory(Path.Combine(folder, "tree")).FullName;
            var files = new List<(string, string)>();
            foreach (var (name, content) in new[] { ("user-data", seed.UserData), ("meta-data", seed.MetaData), ("network-config", seed.NetworkConfig) })
            {
                if (content is not null)
                {
                    await File.WriteAllTextAsync(Path.Combine(tree, name), content, token).ConfigureAwait(false);
                    files.Add(("/" + name, Path.Combine(tree, name)));
                }
            }

            if (seed.FileSystem == NoCloudFileSystem.Vfat)
            {
                var bytes = files.Sum(f => new FileInfo(f.Item2).Length);
                await FatImage.CreateAsync(context.Tools, context.Options("make the cidata seed"), Path.Combine(folder, SeedVfatFile), RoundUp(bytes + (2 * MiB)),
                    "CIDATA", DerivedIds.VolumeId(inputs.Key, "cidata"), fat32: false, files, token).ConfigureAwait(false);
            }
            else
            {
                await context.Tools.RunAsync("xorriso", ["-as", "mkisofs", "-o", Path.Combine(folder, SeedIsoFile), "-V", "cidata", "-r", "-J", tree],
                    context.Options("make the cidata seed"), token).ConfigureAwait(false);
            }

            BuildCache.DeleteTree(tree);
        }, cancellationToken);
    }

    private static Task DdAsync(BuildContext context, string source, string disk, long offset, string step, CancellationToken cancellationToken) =>
        context.Tools.RunAsync("dd", [$"if={source}", $"of={disk}", "bs=1M", $"seek={offset / MiB}", "conv=notrunc,sparse", "status=none"], context.Options(step), cancellationToken);

    private static long RoundUp(long bytes) => (bytes + MiB - 1) / MiB * MiB;

    private static string OsName(string root)
    {
        foreach (var candidate in new[] { "etc/os-release", "usr/lib/os-release" })
        {
            var path = Path.Combine(root, candidate);
            if (File.Exists(path))
            {
                foreach (var line in File.ReadLines(path))
                {
                    if (line.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))
                    {
                        return line["PRETTY_NAME=".Length..].Trim('"');
                    }
                }
            }
        }

        return "Linux";
    }

    /// <summary>An ISO 9660 volume id: at most 32 characters of A–Z, 0–9 and '_'.</summary>
    internal static string VolumeLabel(string name)
    {
        var label = new string(name.ToUpperInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray());
        return label.Length > 32 ? label[..32] : label;
    }

    private sealed record DiskIds(Guid Disk, Guid EspPartition, Guid RootPartition, Guid RootFileSystem);

    private static class Isolinux
    {
        public const string Binary = "/usr/lib/ISOLINUX/isolinux.bin";
        public const string HybridMbr = "/usr/lib/ISOLINUX/isohdpfx.bin";
        public const string LdLinux = "/usr/lib/syslinux/modules/bios/ldlinux.c32";
    }
}

/// <summary>
/// The layout of a disk image (kept beside it as layout.json): its GUIDs, the root's PARTUUID and file system UUID, the
/// partitions' offsets and sizes in bytes, the kernel version and the kernel arguments of its boot entry.
/// </summary>
public sealed record DiskLayoutInfo(
    Guid DiskGuid, Guid EspPartitionUuid, Guid RootPartitionUuid, Guid RootFileSystemUuid, string KernelVersion,
    long EspOffset, long EspSize, long RootOffset, long RootSize, string KernelArguments);
