using System.Security.Cryptography;
using Pxe.Images.Building;
using Pxe.Images.Library;
using Pxe.Images.Roles;
using Pxe.Lab.Tests.Support;
using Xunit.Abstractions;

namespace Pxe.Lab.Tests;

/// <summary>
/// An image-based install on UEFI firmware: a role image built by the image builder (debootstrap base + role
/// overlay, GPT with systemd-boot and an ext4 root) is streamed onto the VM's disk by the PxeServer installer,
/// which grows the root and writes the machine's identity; the VM then boots from its disk into that image, whose
/// first-boot unit runs the hand-off and reports, and the machine turns Deployed.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class ImageInstallTests(ITestOutputHelper output)
{
    private const string Key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILabTestKeyThatOnlyTheLabTestUses lab@pxe";

    [ToolFact("root", "qemu-system-x86_64=qemu-system-x86", "/usr/share/OVMF/OVMF_CODE_4M.fd=ovmf", "debootstrap", "sfdisk=fdisk",
        "mkfs.ext4=e2fsprogs", "mkfs.vfat=dosfstools", "mcopy=mtools")]
    public async Task RoleImage_InstallsGrowsWritesIdentity_BootsFromDisk_AndFirstBootMakesItDeployed()
    {
        foreach (var tool in (string[])["debootstrap", "sfdisk=fdisk", "mkfs.ext4=e2fsprogs", "mkfs.vfat=dosfstools", "mcopy=mtools", "qemu-img=qemu-utils"])
        {
            Tools.Require(tool);
        }

        // The base is cached across runs (the first build debootstraps from the Debian mirror in /etc/apt).
        var cache = Path.Combine("/var/tmp", "pxe-lab-cache");
        var library = new ImageLibrary(Path.Combine(cache, "library"));
        var role = RoleYaml.Read("kind: role\nname: lab\nfiles:\n  - path: /etc/motd\n    content: \"lab role image\\n\"\n    mode: \"0644\"\n", "lab.yaml", cache);
        Assert.Empty(role.Errors);
        var image = await new ImageBuilder(library, Path.Combine(cache, "images")).BuildAsync(new ImageRecipe
        {
            // Debian's cloud kernel (virtio, ext4, vfat, EFI) has a quarter of the generic kernel's modules: under emulation every byte counts.
            Name = "lab", Role = role.Role, Formats = [ImageFormat.Raw],
            Base = new DebootstrapSource { Packages = [.. DebootstrapSource.DefaultPackages.Select(p => p == "linux-image-amd64" ? "linux-image-cloud-amd64" : p)] },
            // Just large enough: the installer grows the root to the disk, and under emulation every byte counts.
            Disk = new DiskLayout { RootFreeSpacePercent = 0, RootFreeSpaceMiB = 48 },
        });
        var raw = image.Artifacts.Single(a => a.Format == ImageFormat.Raw);
        var gzipped = Path.Combine(Path.GetDirectoryName(library.GetArtifactPath(image, raw))!, "disk.raw.gz");
        if (!File.Exists(gzipped))
        {
            var zip = await Tools.RunAsync("sh", ["-c", $"gzip -1 -c '{library.GetArtifactPath(image, raw)}' > '{gzipped}.tmp' && mv '{gzipped}.tmp' '{gzipped}'"], TimeSpan.FromMinutes(5));
            Assert.True(zip.ExitCode == 0, zip.Output);
        }

        string sha;
        await using (var file = File.OpenRead(gzipped))
        {
            sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(file));
        }

        output.WriteLine($"image {image.Name} {image.Version}: {raw.File} {raw.Size} bytes, served gzip-compressed ({new FileInfo(gzipped).Length} bytes, sha256 {sha})");

        await using var lab = await TestLab.StartAsync(output, new LabOptions
        {
            Files = new Dictionary<string, string> { ["images/lab/disk.raw.gz"] = gzipped },
            Profiles = new Dictionary<string, string>
            {
                ["lab-role.yaml"] = $"""
                    kind: profile
                    name: lab-role
                    distro: pxe-installer
                    install_template: install/image.plan
                    install_timeout: 20m
                    variables:
                      image_file: images/lab/disk.raw.gz
                      image_sha256: "{sha}"
                      image_compression: gzip
                      disk: ""
                      ssh_authorized_keys: ["{Key}"]
                    handoff:
                      client: shell
                      script: |
                        echo "hand-off ran on $(hostname)"
                        cat /etc/motd
                        grep -q "lab@pxe" /root/.ssh/authorized_keys && echo "keys installed"
                    """,
            },
        });
        const string mac = "52:54:00:d1:00:30";
        await lab.AddMachineAsync(mac, "role1", "lab-role");

        var install = await lab.RunVmAsync(new VmOptions
        {
            Name = "img", Mac = mac, Firmware = "uefi", Nic = "virtio", MemoryMiB = 1024, DiskSize = "4G", Timeout = TimeSpan.FromMinutes(10),
        });
        Assert.False(install.TimedOut, "the image install did not finish");
        Assert.Equal("Installed", await lab.StateAsync(mac));
        var events = await lab.EventsAsync(mac);
        InstallTests.AssertInOrder(events,
            e => e.Message.StartsWith("image-written", StringComparison.Ordinal) && e.Message.Contains(sha, StringComparison.Ordinal),
            e => e.Message.StartsWith("grow-root", StringComparison.Ordinal),
            e => e.Message.StartsWith("identity", StringComparison.Ordinal) && e.Message.Contains("hostname role1", StringComparison.Ordinal),
            e => e.Kind == "install.done");

        var boot = await lab.RunVmAsync(new VmOptions
        {
            Name = "img", Mac = mac, Firmware = "uefi", Nic = "virtio", MemoryMiB = 1024, Timeout = TimeSpan.FromMinutes(10),
            StopWhen = async () => await lab.StateAsync(mac) is "Deployed" or "Failed",
        });

        Assert.True(boot.StoppedByTest, "the installed image never reported its first boot");
        Assert.Equal("Deployed", await lab.StateAsync(mac));
        var firstboot = (await lab.EventsAsync(mac)).Last(e => e.Kind == "firstboot");
        Assert.Contains("hand-off ran on role1", firstboot.Message, StringComparison.Ordinal);
        Assert.Contains("lab role image", firstboot.Message, StringComparison.Ordinal);
        Assert.Contains("keys installed", firstboot.Message, StringComparison.Ordinal);
    }
}
