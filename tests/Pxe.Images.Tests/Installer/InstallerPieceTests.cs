using System.Security.Cryptography;
using System.Text;
using Pxe.Images.Installer;
using Pxe.Images.Tools;
using TestTools = Pxe.Testing.Tools;

namespace Pxe.Images.Tests.Installer;

public sealed class InstallerPieceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pxe-installer-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [ToolFact("cpio")]
    public void NewcArchive_IsReadByGnuCpio_WithModesLinksAndDevices()
    {
        var path = Path.Combine(_dir, "a.cpio");
        using (var f = File.Create(path))
        {
            var w = new NewcArchiveWriter(f, DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
            w.AddDirectory("bin");
            w.AddFile("bin/tool", "#!/bin/sh\necho hi\n"u8, 0b111_101_101);
            w.AddSymlink("bin/sh", "tool");
            w.AddFile("etc/odd-length", "12345"u8, 0b110_100_100);
            w.AddCharDevice("dev/console", 0b110_000_000, 5, 1);
            w.Finish();
        }

        var r = TestTools.Run(TestTools.Require("cpio"), ["-itv", "-F", path], TimeSpan.FromSeconds(20));

        Assert.True(r.ExitCode == 0, r.Output);
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith("drwxr-xr-x", StringComparison.Ordinal) && l.EndsWith(" bin", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("-rwxr-xr-x", StringComparison.Ordinal) && l.Contains(" 18 ", StringComparison.Ordinal) && l.EndsWith("bin/tool", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("lrwxrwxrwx", StringComparison.Ordinal) && l.EndsWith("bin/sh -> tool", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("crw-------", StringComparison.Ordinal) && l.Contains("5,", StringComparison.Ordinal) && l.EndsWith("dev/console", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.EndsWith("etc/odd-length", StringComparison.Ordinal));

        var extract = Path.Combine(_dir, "x");
        Directory.CreateDirectory(extract);
        Assert.Equal(0, TestTools.Run("sh", ["-c", $"cd '{extract}' && cpio -id --quiet --no-absolute-filenames < '{path}' 2>&1 | grep -v 'dev/console'; true"], TimeSpan.FromSeconds(20)).ExitCode);
        Assert.Equal("12345", File.ReadAllText(Path.Combine(extract, "etc", "odd-length")));
    }

    [Theory]
    [InlineData("../etc/passwd")]
    [InlineData("a//b")]
    [InlineData("a/./b")]
    [InlineData("")]
    public void NewcArchive_RefusesPathsThatAreNotPlainRelativeNames(string path)
    {
        using var f = new MemoryStream();
        var w = new NewcArchiveWriter(f, DateTimeOffset.UnixEpoch);
        Assert.Throws<ArgumentException>(() => w.AddFile(path, "x"u8, 0b110_100_100));
    }

    [Fact]
    public void KernelModules_CloseOverDependencies_DependenciesFirst_AndReportMissingNames()
    {
        var release = Path.Combine(_dir, "lib", "modules", "6.1.0-test");
        Module(release, "kernel/drivers/virtio/virtio.ko", "");
        Module(release, "kernel/drivers/virtio/virtio_ring.ko", "virtio");
        Module(release, "kernel/drivers/net/net_failover.ko", "failover");
        Module(release, "kernel/net/core/failover.ko", "");
        Module(release, "kernel/drivers/net/virtio_net.ko", "virtio_ring,virtio,net_failover");
        Module(release, "kernel/drivers/nvme/host/nvme-core.ko", "");
        Module(release, "kernel/drivers/nvme/host/nvme.ko", "nvme-core");

        var modules = KernelModules.Load(release);
        var (ordered, missing) = modules.Close(["virtio_net", "nvme", "not_a_module"]);

        Assert.Equal(["virtio", "virtio_ring", "failover", "net_failover", "virtio_net", "nvme_core", "nvme"], ordered);
        Assert.Equal(["not_a_module"], missing);
        var dep = modules.ModulesDep(ordered);
        Assert.Contains("kernel/drivers/nvme/host/nvme.ko: kernel/drivers/nvme/host/nvme-core.ko\n", dep, StringComparison.Ordinal);
        Assert.Contains("kernel/drivers/virtio/virtio.ko:\n", dep, StringComparison.Ordinal);
    }

    [Fact]
    public void KernelImage_ReadsTheReleaseFromTheBootHeader_AndRefusesOtherFiles()
    {
        var kernel = FakeKernel("6.1.0-50-amd64 (debian-kernel@lists.debian.org) #1 SMP");
        Assert.Equal("6.1.0-50-amd64", KernelImage.ReadRelease(kernel));

        var other = Path.Combine(_dir, "not-a-kernel");
        File.WriteAllBytes(other, new byte[4096]);
        Assert.Contains("not an x86 Linux kernel", Assert.Throws<InvalidDataException>(() => KernelImage.ReadRelease(other)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HelloDisk_IsABootableMbrDisk_WithTheMarker_AndTheShippedProfileNamesItsChecksum()
    {
        var image = HelloDisk.Build();

        Assert.Equal(HelloDisk.Size, image.Length);
        Assert.Equal((byte)0x55, image[510]);
        Assert.Equal((byte)0xAA, image[511]);
        Assert.Equal((byte)0x83, image[446 + 4]);
        Assert.Contains(HelloDisk.BootMessage, Encoding.ASCII.GetString(image, 0, 446), StringComparison.Ordinal);
        Assert.StartsWith(HelloDisk.Marker, Encoding.ASCII.GetString(image, 2048 * 512, 64), StringComparison.Ordinal);
        Assert.Equal(image, HelloDisk.Build());
        var sha = Convert.ToHexStringLower(SHA256.HashData(image));
        Assert.Contains($"image_sha256: \"{sha}\"", File.ReadAllText(Path.Combine(RepoPaths.Profiles, "hello-disk.yaml")), StringComparison.Ordinal);
    }

    [ToolFact("/bin/busybox=busybox-static")]
    public void InstallerScripts_AreValidShell_ForBusybox()
    {
        var payload = Path.Combine(RepoPaths.Root, "src", "Pxe.Images", "Installer", "Payload");
        foreach (var script in new[] { "init", "udhcpc.script" })
        {
            var r = TestTools.Run("/bin/busybox", ["sh", "-n", Path.Combine(payload, script)], TimeSpan.FromSeconds(10));
            Assert.True(r.ExitCode == 0, $"{script}: {r.Output}");
        }
    }

    [ToolFact("/bin/busybox=busybox-static", "cpio")]
    public async Task Builder_MakesAReproducibleInitramfs_WithBusyboxTheScriptsAndTheModules()
    {
        var kernel = FakeKernel("6.1.0-test #1");
        var modulesRoot = Path.Combine(_dir, "modules");
        var release = Path.Combine(modulesRoot, "lib", "modules", "6.1.0-test");
        Module(release, "kernel/drivers/block/virtio_blk.ko", "virtio");
        Module(release, "kernel/drivers/virtio/virtio.ko", "");
        var builder = new InstallerBuilder(new ToolRunner());
        InstallerBuildOptions Options(string output) => new()
        {
            OutputDirectory = Path.Combine(_dir, output), CacheDirectory = Path.Combine(_dir, "cache"), KernelPath = kernel,
            ModulesRoot = modulesRoot, Modules = ["virtio_blk", "e1000"],
        };

        var first = await builder.BuildAsync(Options("out1"));
        var second = await builder.BuildAsync(Options("out2"));

        Assert.Equal(first.InitrdSha256, second.InitrdSha256);
        Assert.Equal(["virtio", "virtio_blk"], first.Modules);
        Assert.Equal(["e1000"], first.MissingModules);
        var list = TestTools.Run("sh", ["-c", $"zcat '{first.InitrdPath}' | cpio -it"], TimeSpan.FromSeconds(20));
        Assert.Contains("init", list.Stdout.Split('\n'));
        Assert.Contains("bin/busybox", list.Stdout.Split('\n'));
        Assert.Contains("lib/modules/6.1.0-test/kernel/drivers/block/virtio_blk.ko", list.Stdout.Split('\n'));
        Assert.Contains("lib/modules/6.1.0-test/modules.dep", list.Stdout.Split('\n'));
        Assert.True(File.Exists(Path.Combine(_dir, "out1", "installer.json")));
    }

    [Fact]
    public async Task Builder_SaysWhatToInstall_WhenTheKernelOrBusyboxIsMissing()
    {
        var builder = new InstallerBuilder(new ToolRunner());
        var noKernel = await Assert.ThrowsAsync<InstallerBuildException>(() => builder.BuildAsync(new InstallerBuildOptions
        {
            OutputDirectory = _dir, CacheDirectory = _dir, KernelPath = Path.Combine(_dir, "missing"),
        }));
        Assert.Contains("debian-installer-12-netboot-amd64", noKernel.Message, StringComparison.Ordinal);

        var kernel = FakeKernel("6.1.0-test #1");
        var noBusybox = await Assert.ThrowsAsync<InstallerBuildException>(() => builder.BuildAsync(new InstallerBuildOptions
        {
            OutputDirectory = _dir, CacheDirectory = _dir, KernelPath = kernel, BusyboxPath = Path.Combine(_dir, "busybox"),
        }));
        Assert.Contains("busybox-static", noBusybox.Message, StringComparison.Ordinal);
    }

    /// <summary>A file with just the bzImage boot header and a version string, enough for <see cref="KernelImage"/>.</summary>
    private string FakeKernel(string version)
    {
        var kernel = Path.Combine(_dir, "bzImage");
        var bytes = new byte[0x4000];
        Encoding.ASCII.GetBytes("HdrS").CopyTo(bytes, 0x202);
        BitConverter.GetBytes((ushort)0x1000).CopyTo(bytes, 0x20E);
        Encoding.ASCII.GetBytes(version + "\0").CopyTo(bytes, 0x1200);
        File.WriteAllBytes(kernel, bytes);
        return kernel;
    }

    private static void Module(string release, string relative, string depends)
    {
        var path = Path.Combine(release, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, Encoding.ASCII.GetBytes($"\u007fELF-fake\0license=GPL\0depends={depends}\0retpoline=Y\0"));
    }
}
