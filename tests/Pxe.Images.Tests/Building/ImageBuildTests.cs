using TestTools = Pxe.Testing.Tools;
using System.Text;
using System.Text.Json;
using Pxe.Images.Building;
using Pxe.Images.Library;
using Pxe.Images.Roles;
using Pxe.Images.Tests.Support;

namespace Pxe.Images.Tests.Building;

/// <summary>Images built from a busybox tree with the real tools: the outputs are checked with other real tools.</summary>
public sealed class ImageBuildTests : IDisposable
{
    private const string DiskTools = "mkfs.vfat=dosfstools";
    private readonly TempFolder _temp = new();
    private readonly ImageLibrary _library;
    private readonly ImageBuilder _builder;
    private readonly string _tree;

    public ImageBuildTests()
    {
        _library = new ImageLibrary(_temp.Combine("images"));
        _builder = new ImageBuilder(_library, _temp.Combine("cache"));
        _tree = BusyboxTree.Create(_temp.Combine("tree"));
    }

    public void Dispose() => _temp.Dispose();

    private static RoleDefinition WebRole(string motd = "welcome\n") => new()
    {
        Name = "web",
        Users = [new RoleUser { Name = "deploy", Groups = ["sudo"], SshAuthorizedKeys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests deploy@example"] }],
        Files =
        [
            new RoleFile { Path = "/etc/motd", Content = motd },
            new RoleFile { Path = "/var/www/html/index.html", Content = "<h1>hi</h1>\n", Mode = (UnixFileMode)Convert.ToInt32("640", 8), Owner = "www-data:www-data" },
            new RoleFile { Path = "/usr/local/bin/hello", Content = "#!/bin/sh\necho hello\n", Mode = (UnixFileMode)Convert.ToInt32("755", 8), Owner = "deploy" },
        ],
        Units =
        [
            new RoleUnit { Name = "cron.service" },
            new RoleUnit { Name = "hello.service", Content = "[Unit]\nDescription=hello\n[Service]\nExecStart=/usr/local/bin/hello\n[Install]\nWantedBy=multi-user.target\n" },
        ],
    };

    private static void NeedDiskTools()
    {
        foreach (var tool in new[] { "mkfs.vfat=dosfstools", "mcopy=mtools", "sfdisk=fdisk", "mkfs.ext4=e2fsprogs", "qemu-img=qemu-utils" })
        {
            TestTools.Require(tool);
        }
    }

    [ToolFact(DiskTools, "mcopy=mtools", "mdir=mtools", "mtype=mtools", "sfdisk=fdisk", "mkfs.ext4=e2fsprogs", "debugfs=e2fsprogs", "dumpe2fs=e2fsprogs", "qemu-img=qemu-utils", "busybox")]
    public async Task RawAndQcow2Disk_HaveGptEspWithBootEntryAndExt4RootWithTheTree()
    {
        NeedDiskTools();
        var image = await _builder.BuildAsync(new ImageRecipe { Name = "web", Base = new FolderSource(_tree), Role = WebRole(), Formats = [ImageFormat.Raw, ImageFormat.Qcow2] });

        var raw = _library.GetArtifactPath(image, image.Artifacts.Single(a => a.Format == ImageFormat.Raw));
        var layout = image.Disk!;
        using var table = JsonDocument.Parse(Run.Tool("sfdisk=fdisk", "--json", raw));
        var partitionTable = table.RootElement.GetProperty("partitiontable");
        Assert.Equal("gpt", partitionTable.GetProperty("label").GetString());
        Assert.Equal(layout.DiskGuid.ToString(), partitionTable.GetProperty("id").GetString(), ignoreCase: true);
        var partitions = partitionTable.GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal(2, partitions.Count);
        Assert.Equal("C12A7328-F81F-11D2-BA4B-00A0C93EC93B", partitions[0].GetProperty("type").GetString(), ignoreCase: true);
        Assert.Equal(layout.EspOffset / 512, partitions[0].GetProperty("start").GetInt64());
        Assert.Equal("4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709", partitions[1].GetProperty("type").GetString(), ignoreCase: true);
        Assert.Equal(layout.RootPartitionUuid.ToString(), partitions[1].GetProperty("uuid").GetString(), ignoreCase: true);
        Assert.Equal(layout.RootOffset / 512, partitions[1].GetProperty("start").GetInt64());

        // The ESP: systemd-boot as the removable-media path, the kernel, and an entry that boots the root by PARTUUID.
        var esp = _temp.Combine("esp.img");
        Run.Dd(raw, esp, layout.EspOffset, layout.EspSize);
        var listing = Run.Tool("mdir=mtools", "-i", esp, "-/", "-b", "::/");
        Assert.Contains("::/EFI/BOOT/BOOTX64.EFI", listing, StringComparison.Ordinal);
        Assert.Contains("::/vmlinuz", listing, StringComparison.Ordinal);
        Assert.Contains("::/initrd.img", listing, StringComparison.Ordinal);
        var entry = Run.Tool("mtype=mtools", "-i", esp, "::/loader/entries/image.conf");
        Assert.Contains($"options root=PARTUUID={layout.RootPartitionUuid} ro", entry, StringComparison.Ordinal);
        Assert.Contains("title Busybox test tree", entry, StringComparison.Ordinal);
        var copiedKernel = _temp.Combine("vmlinuz");
        Run.Tool("mcopy=mtools", "-i", esp, "::/vmlinuz", copiedKernel);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(_tree, "boot", "vmlinuz-" + BusyboxTree.KernelVersion)), await File.ReadAllBytesAsync(copiedKernel));

        // The root: ext4 with the label and UUID of the layout, holding the tree and the role.
        var root = _temp.Combine("root.img");
        Run.Dd(raw, root, layout.RootOffset, layout.RootSize);
        var header = Run.Tool("dumpe2fs=e2fsprogs", "-h", root);
        Assert.Contains($"Filesystem UUID:          {layout.RootFileSystemUuid}", header, StringComparison.Ordinal);
        Assert.Contains("Filesystem volume name:   root", header, StringComparison.Ordinal);
        Assert.Contains("busybox", Run.Tool("debugfs=e2fsprogs", "-R", "ls -l /bin", root), StringComparison.Ordinal);
        Assert.Equal("welcome\n", Run.Tool("debugfs=e2fsprogs", "-R", "cat /etc/motd", root));
        var index = Run.Tool("debugfs=e2fsprogs", "-R", "stat /var/www/html/index.html", root);
        Assert.Contains("User:    33   Group:    33", index, StringComparison.Ordinal);
        Assert.Contains("Mode:  0640", index, StringComparison.Ordinal);
        var keys = Run.Tool("debugfs=e2fsprogs", "-R", "stat /home/deploy/.ssh/authorized_keys", root);
        Assert.Contains("User:  1000   Group:  1000", keys, StringComparison.Ordinal);
        Assert.Contains("Mode:  0600", keys, StringComparison.Ordinal);
        Assert.Contains("deploy:x:1000:1000::/home/deploy:/bin/sh", Run.Tool("debugfs=e2fsprogs", "-R", "cat /etc/passwd", root), StringComparison.Ordinal);
        Assert.Contains("sudo:x:27:deploy", Run.Tool("debugfs=e2fsprogs", "-R", "cat /etc/group", root), StringComparison.Ordinal);
        var wants = Run.Tool("debugfs=e2fsprogs", "-R", "ls -l /etc/systemd/system/multi-user.target.wants", root);
        Assert.Contains("hello.service", wants, StringComparison.Ordinal);
        Assert.Contains("cron.service", wants, StringComparison.Ordinal);
        Assert.Contains("/usr/lib/systemd/system/cron.service", Run.Tool("debugfs=e2fsprogs", "-R", "stat /etc/systemd/system/crond.service", root), StringComparison.Ordinal);

        // qcow2: a real qcow2 of the same virtual size.
        var qcow2 = _library.GetArtifactPath(image, image.Artifacts.Single(a => a.Format == ImageFormat.Qcow2));
        using var info = JsonDocument.Parse(Run.Tool("qemu-img=qemu-utils", "info", "--output=json", qcow2));
        Assert.Equal("qcow2", info.RootElement.GetProperty("format").GetString());
        Assert.Equal(new FileInfo(raw).Length, info.RootElement.GetProperty("virtual-size").GetInt64());
        Run.Tool("qemu-img=qemu-utils", "compare", "-f", "raw", "-F", "qcow2", raw, qcow2);
    }

    [ToolFact(DiskTools, "mcopy=mtools", "sfdisk=fdisk", "mkfs.ext4=e2fsprogs", "qemu-img=qemu-utils", "busybox")]
    public async Task RoleRebuild_ReusesTheBase_AndAChangedInputRebuildsOnlyWhatDependsOnIt()
    {
        NeedDiskTools();
        var progress = new ProgressLog();
        var first = await _builder.BuildAsync(new ImageRecipe { Name = "web", Base = new FolderSource(_tree), Role = WebRole(), Formats = [ImageFormat.Raw] }, progress);
        Assert.Equal(ImageBuildStage.Finished, progress.StageOf("base"));
        Assert.Equal(ImageBuildStage.Finished, progress.StageOf("role"));
        Assert.Equal(ImageBuildStage.Finished, progress.StageOf("disk"));

        // Same inputs: every step from the cache, same content.
        progress = new ProgressLog();
        var second = await _builder.BuildAsync(new ImageRecipe { Name = "web", Base = new FolderSource(_tree), Role = WebRole(), Formats = [ImageFormat.Raw] }, progress);
        Assert.Equal(ImageBuildStage.Cached, progress.StageOf("base"));
        Assert.Equal(ImageBuildStage.Cached, progress.StageOf("role"));
        Assert.Equal(ImageBuildStage.Cached, progress.StageOf("disk"));
        Assert.Equal("2", second.Version);
        Assert.Equal(first.Artifacts[0].Sha256, second.Artifacts[0].Sha256);

        // A changed role file: the base is reused, the role and the disk are rebuilt.
        progress = new ProgressLog();
        var third = await _builder.BuildAsync(new ImageRecipe { Name = "web", Base = new FolderSource(_tree), Role = WebRole("changed\n"), Formats = [ImageFormat.Raw, ImageFormat.RootfsTar] }, progress);
        Assert.Equal(ImageBuildStage.Cached, progress.StageOf("base"));
        Assert.Equal(ImageBuildStage.Finished, progress.StageOf("role"));
        Assert.Equal(ImageBuildStage.Finished, progress.StageOf("disk"));
        Assert.NotEqual(first.RootfsKey, third.RootfsKey);
        Assert.NotEqual(first.Artifacts[0].Sha256, third.Artifacts.Single(a => a.Format == ImageFormat.Raw).Sha256);

        // Another output of the same role: only that output's step runs.
        progress = new ProgressLog();
        await _builder.BuildAsync(new ImageRecipe { Name = "web", Base = new FolderSource(_tree), Role = WebRole("changed\n"), Formats = [ImageFormat.RootfsTar] }, progress);
        Assert.Equal(ImageBuildStage.Cached, progress.StageOf("role"));
        Assert.Equal(ImageBuildStage.Cached, progress.StageOf("rootfs-tar"));
        Assert.Null(progress.StageOf("disk"));

        // A changed base file: everything is rebuilt.
        await File.WriteAllTextAsync(Path.Combine(_tree, "etc/hostname"), "changed\n");
        progress = new ProgressLog();
        await _builder.BuildAsync(new ImageRecipe { Name = "web", Base = new FolderSource(_tree), Role = WebRole("changed\n"), Formats = [ImageFormat.Raw] }, progress);
        Assert.Equal(ImageBuildStage.Finished, progress.StageOf("base"));
        Assert.Equal(ImageBuildStage.Finished, progress.StageOf("role"));

        // The store step reports bytes up to the total.
        var store = progress.Reports.Where(r => r.Step == "store").ToList();
        Assert.Equal(ImageBuildStage.Finished, store[^1].Stage);
        Assert.True(store[^1].Bytes > 0 && store[^1].Bytes == store[^1].TotalBytes);
    }

    [ToolFact("mksquashfs=squashfs-tools", "unsquashfs=squashfs-tools", "busybox")]
    public async Task Netboot_HasKernelInitrdAndASquashfsOfTheRoot()
    {
        TestTools.Require("mksquashfs=squashfs-tools");
        var image = await _builder.BuildAsync(new ImageRecipe { Name = "diskless", Base = new FolderSource(_tree), Formats = [ImageFormat.Netboot] });

        Assert.Equal(["kernel", "initrd", "root"], image.Artifacts.Select(a => a.Part));
        var kernel = _library.GetArtifactPath(image, image.Artifacts[0]);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(_tree, "boot", "vmlinuz-" + BusyboxTree.KernelVersion)), await File.ReadAllBytesAsync(kernel));
        var listing = Run.Tool("unsquashfs=squashfs-tools", "-l", _library.GetArtifactPath(image, image.Artifacts[2]));
        Assert.Contains("squashfs-root/bin/busybox", listing, StringComparison.Ordinal);
        Assert.Contains("squashfs-root/etc/os-release", listing, StringComparison.Ordinal);
        Assert.Contains("squashfs-root/sbin/init", listing, StringComparison.Ordinal);
    }

    [ToolFact("xorriso", DiskTools, "mcopy=mtools", "cpio", "busybox")]
    public async Task Iso_HoldsTheInstallFileAndBootsEfiAndBios()
    {
        TestTools.Require("xorriso");
        TestTools.Require("mcopy=mtools");
        TestTools.Require(DiskTools);
        var preseed = "d-i debian-installer/locale string en_US\n"u8.ToArray();
        var image = await _builder.BuildAsync(new ImageRecipe
        {
            Name = "installer",
            Base = new FolderSource(_tree),
            Formats = [ImageFormat.Iso],
            IsoInstallFile = new InstallFile("preseed.cfg", preseed),
            IsoKernelArguments = "auto=true priority=critical",
        });

        var iso = _library.GetArtifactPath(image, image.Artifacts.Single());
        var files = Run.Tool("xorriso", "-indev", iso, "-find", "/", "-type", "f");
        Assert.Contains("'/preseed.cfg'", files, StringComparison.Ordinal);
        var extracted = _temp.Combine("preseed.cfg");
        Run.Tool("xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/preseed.cfg", extracted);
        Assert.Equal(preseed, await File.ReadAllBytesAsync(extracted));

        var boot = Run.Tool("xorriso", "-indev", iso, "-report_el_torito", "plain");
        Assert.Contains("UEFI", boot, StringComparison.Ordinal);
        if (File.Exists("/usr/lib/ISOLINUX/isolinux.bin"))
        {
            Assert.Contains("BIOS", boot, StringComparison.Ordinal);
            Assert.Contains("'/isolinux/isolinux.bin'", files, StringComparison.Ordinal);
            var config = _temp.Combine("isolinux.cfg");
            Run.Tool("xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/isolinux/isolinux.cfg", config);
            Assert.Contains("APPEND auto=true priority=critical", await File.ReadAllTextAsync(config), StringComparison.Ordinal);

            // The initrd carries the install file at its root, in a newc archive appended to the original.
            var initrd = _temp.Combine("initrd.img");
            Run.Tool("xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/isolinux/initrd.img", initrd);
            var original = await File.ReadAllBytesAsync(Path.Combine(_tree, "boot", "initrd.img-" + BusyboxTree.KernelVersion));
            var combined = await File.ReadAllBytesAsync(initrd);
            Assert.Equal(original, combined[..original.Length]);
            var appended = Encoding.ASCII.GetString(combined[original.Length..]);
            Assert.StartsWith("070701", appended, StringComparison.Ordinal);
            Assert.Contains("preseed.cfg", appended, StringComparison.Ordinal);
            Assert.Contains("d-i debian-installer/locale", appended, StringComparison.Ordinal);
            Assert.Contains("TRAILER!!!", appended, StringComparison.Ordinal);
        }
    }

    [ToolFact("xorriso", DiskTools, "mcopy=mtools", "mdir=mtools", "fatlabel=dosfstools")]
    public async Task NoCloudSeeds_CarryTheCidataLabelAndTheThreeFiles()
    {
        TestTools.Require("xorriso");
        TestTools.Require(DiskTools);
        TestTools.Require("mcopy=mtools");
        var seed = new NoCloudSeed { UserData = "#cloud-config\nhostname: web1\n", MetaData = "instance-id: web1\n", NetworkConfig = "version: 2\n" };

        var vfat = await _builder.BuildAsync(new ImageRecipe { Name = "seed-vfat", Base = new FolderSource(_tree), Formats = [ImageFormat.NoCloud], NoCloud = seed with { FileSystem = NoCloudFileSystem.Vfat } });
        var vfatPath = _library.GetArtifactPath(vfat, vfat.Artifacts.Single());
        Assert.Equal("CIDATA", Run.Tool("fatlabel=dosfstools", vfatPath).Trim());
        var listing = Run.Tool("mdir=mtools", "-i", vfatPath, "-b", "::/");
        Assert.Contains("user-data", listing, StringComparison.Ordinal);
        Assert.Contains("meta-data", listing, StringComparison.Ordinal);
        Assert.Contains("network-config", listing, StringComparison.Ordinal);
        Assert.Empty(vfat.RootfsKey);

        var iso = await _builder.BuildAsync(new ImageRecipe { Name = "seed-iso", Base = new FolderSource(_tree), Formats = [ImageFormat.NoCloud], NoCloud = seed });
        var isoPath = _library.GetArtifactPath(iso, iso.Artifacts.Single());
        Assert.Contains("Volume Id    : cidata", Run.Tool("xorriso", "-indev", isoPath, "-pvd_info"), StringComparison.Ordinal);
        var extracted = _temp.Combine("user-data");
        Run.Tool("xorriso", "-osirrox", "on", "-indev", isoPath, "-extract", "/user-data", extracted);
        Assert.Equal(seed.UserData, await File.ReadAllTextAsync(extracted));
    }

    [ToolFact("busybox")]
    public async Task Library_StoresChecksumsAndLog_ListsShowsAndRemoves()
    {
        var progress = new ProgressLog();
        var first = await _builder.BuildAsync(new ImageRecipe { Name = "base", Base = new FolderSource(_tree), Formats = [ImageFormat.RootfsTar] }, progress);
        var second = await _builder.BuildAsync(new ImageRecipe { Name = "base", Version = "2025.1", Base = new FolderSource(_tree), Formats = [ImageFormat.RootfsTar] });

        var artifact = first.Artifacts.Single();
        var path = _library.GetArtifactPath(first, artifact);
        Assert.Equal(await Run.Sha256Async(path), artifact.Sha256);
        Assert.Equal(new FileInfo(path).Length, artifact.Size);
        Assert.Equal("base-1.tar.gz", artifact.File);
        Assert.Contains("== base: building", await File.ReadAllTextAsync(_library.GetBuildLogPath(first)), StringComparison.Ordinal);
        Assert.Contains("--use-compress-program=gzip -n", await File.ReadAllTextAsync(_library.GetBuildLogPath(first)), StringComparison.Ordinal);
        Assert.Contains("./bin/busybox", Run.Tool("tar", "-tzf", path), StringComparison.Ordinal);

        var listed = await _library.ListAsync();
        Assert.Equal(["1", "2025.1"], listed.Select(i => i.Version));
        Assert.Equal("2025.1", (await _library.GetAsync("base"))!.Version);
        var shown = await _library.GetAsync("base", "1");
        Assert.Equal(first.Artifacts, shown!.Artifacts);
        Assert.Equal("folder", shown.Base);
        var json = await File.ReadAllTextAsync(Path.Combine(_library.GetDirectory("base", "1"), ImageLibrary.MetadataFile));
        Assert.Contains("\"format\": \"rootfs-tar\"", json, StringComparison.Ordinal);
        Assert.Contains($"\"sha256\": \"{artifact.Sha256}\"", json, StringComparison.Ordinal);

        Assert.Equal(1, await _library.RemoveAsync("base", "1"));
        Assert.Null(await _library.GetAsync("base", "1"));
        Assert.Equal(0, await _library.RemoveAsync("base", "1"));
        Assert.Equal("2026", (await _builder.BuildAsync(new ImageRecipe { Name = "base", Version = "2026", Base = new FolderSource(_tree), Formats = [ImageFormat.RootfsTar] })).Version);
        Assert.Equal(2, await _library.RemoveAsync("base"));
        Assert.Empty(await _library.ListAsync());
        Assert.Equal(second.Artifacts[0].Sha256, artifact.Sha256);
    }

    [ToolFact("busybox")]
    public async Task FailedBuild_KeepsItsLogAndSaysWhatToFix()
    {
        var role = new RoleDefinition { Name = "broken", Files = [new RoleFile { Path = "/etc/x", Content = "x", Owner = "nobody-here" }] };

        var error = await Assert.ThrowsAsync<ImageBuildException>(() => _builder.BuildAsync(new ImageRecipe { Name = "broken", Base = new FolderSource(_tree), Role = role, Formats = [ImageFormat.RootfsTar] }));

        Assert.Contains("names user 'nobody-here', which the image does not have; add it under 'users:'", error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.BuildLog);
        Assert.Contains("failed:", await File.ReadAllTextAsync(error.BuildLog!), StringComparison.Ordinal);
        Assert.Empty(await _library.ListAsync());
        Assert.Empty(Directory.EnumerateDirectories(Path.Combine(_builder.CacheDirectory, "tmp")));
    }

    [Fact]
    public async Task InvalidRecipe_ListsEveryProblem()
    {
        var error = await Assert.ThrowsAsync<ImageBuildException>(() => _builder.BuildAsync(new ImageRecipe
        {
            Name = "Bad Name",
            Base = new FolderSource(_tree),
            Formats = [ImageFormat.Iso, ImageFormat.NoCloud],
            KernelArguments = "quiet\nsplash",
        }));

        Assert.Contains("name: 'Bad Name' is not an image name", error.Message, StringComparison.Ordinal);
        Assert.Contains("iso: an ISO needs the install file", error.Message, StringComparison.Ordinal);
        Assert.Contains("nocloud: a NoCloud seed needs user-data", error.Message, StringComparison.Ordinal);
        Assert.Contains("kernel command line is one line", error.Message, StringComparison.Ordinal);
    }

    [ToolFact("busybox")]
    public async Task TarballBase_IsUnpackedWithOwnersAndKeyedByItsContent()
    {
        var tarball = _temp.Combine("base.tar.gz");
        Run.Tool("tar", "--numeric-owner", "-C", _tree, "-czf", tarball, ".");
        var progress = new ProgressLog();

        var image = await _builder.BuildAsync(new ImageRecipe { Name = "from-tar", Base = new TarballSource(tarball), Role = WebRole(), Formats = [ImageFormat.RootfsTar] }, progress);

        Assert.Equal("tarball", image.Base);
        var listing = Run.Tool("tar", "-tvzf", _library.GetArtifactPath(image, image.Artifacts.Single()), "--numeric-owner");
        Assert.Contains("33/33", listing.Split('\n').Single(l => l.EndsWith("./var/www/html/index.html", StringComparison.Ordinal)), StringComparison.Ordinal);
        progress = new ProgressLog();
        await _builder.BuildAsync(new ImageRecipe { Name = "from-tar", Base = new TarballSource(tarball), Formats = [ImageFormat.RootfsTar] }, progress);
        Assert.Equal(ImageBuildStage.Cached, progress.StageOf("base"));
    }
}
