using Pxe.Images.Building;
using Pxe.Images.Library;
using Pxe.Images.Roles;
using Pxe.Images.Tests.Support;
using TestTools = Pxe.Testing.Tools;

namespace Pxe.Images.Tests.Building;

/// <summary>
/// A fact that builds a real Debian base with debootstrap (about 2 minutes and 300 MB from the mirror in /etc/apt the
/// first time; its cache in /var/tmp/pxe-images-test-cache makes later runs take seconds). It always runs under
/// CI=true; on a developer machine only with PXE_IMAGES_DEBOOTSTRAP=1, so a quick local run needs no network.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class DebootstrapFactAttribute : FactAttribute
{
    public const string Variable = "PXE_IMAGES_DEBOOTSTRAP";

    public DebootstrapFactAttribute()
    {
        if (TestTools.IsCi)
        {
            return;
        }

        if (Environment.GetEnvironmentVariable(Variable) != "1")
        {
            Skip = $"builds a Debian base from the network; set {Variable}=1 to run it (it always runs when CI=true)";
        }
        else if (!TestTools.IsRoot)
        {
            Skip = "debootstrap needs root";
        }
    }
}

public sealed class DebootstrapImageTests : IDisposable
{
    private const string CacheFolder = "/var/tmp/pxe-images-test-cache";
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [DebootstrapFact]
    public async Task DebianRoleDisk_HasKernelOnTheEspAndTheRolesPackageUserAndUnitInTheRoot()
    {
        foreach (var tool in new[] { "debootstrap", "mkfs.vfat=dosfstools", "mcopy=mtools", "sfdisk=fdisk", "mkfs.ext4=e2fsprogs", "debugfs=e2fsprogs" })
        {
            TestTools.Require(tool);
        }

        var library = new ImageLibrary(_temp.Combine("images"));
        var builder = new ImageBuilder(library, CacheFolder);
        var role = new RoleDefinition
        {
            Name = "hello",
            Packages = ["hello"],
            Users = [new RoleUser { Name = "deploy", Groups = ["sudo"], CreateGroups = true, SshAuthorizedKeys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITestKey deploy@example"] }],
            Units = [new RoleUnit { Name = "hello.service", Content = "[Service]\nType=oneshot\nExecStart=/usr/bin/hello\n[Install]\nWantedBy=multi-user.target\n" }],
        };

        var image = await builder.BuildAsync(new ImageRecipe { Name = "hello", Base = new DebootstrapSource(), Role = role, Formats = [ImageFormat.Raw] });

        var raw = library.GetArtifactPath(image, image.Artifacts.Single());
        var layout = image.Disk!;
        Assert.StartsWith("6.1.0-", layout.KernelVersion, StringComparison.Ordinal);
        var esp = _temp.Combine("esp.img");
        Run.Dd(raw, esp, layout.EspOffset, layout.EspSize);
        var entry = Run.Tool("mtype=mtools", "-i", esp, "::/loader/entries/image.conf");
        Assert.Contains("title Debian GNU/Linux 12 (bookworm)", entry, StringComparison.Ordinal);
        var kernel = _temp.Combine("vmlinuz");
        Run.Tool("mcopy=mtools", "-i", esp, "::/vmlinuz", kernel);
        Assert.True(new FileInfo(kernel).Length > 4 << 20, "the ESP's kernel is not a real kernel");

        var root = _temp.Combine("root.img");
        Run.Dd(raw, root, layout.RootOffset, layout.RootSize);
        Assert.Contains("hello", Run.Tool("debugfs=e2fsprogs", "-R", "ls -l /usr/bin", root), StringComparison.Ordinal);
        Assert.Equal("", Run.Tool("debugfs=e2fsprogs", "-R", "cat /etc/machine-id", root));
        Assert.DoesNotContain("ssh_host_", Run.Tool("debugfs=e2fsprogs", "-R", "ls /etc/ssh", root), StringComparison.Ordinal);
        var wants = Run.Tool("debugfs=e2fsprogs", "-R", "ls /etc/systemd/system/multi-user.target.wants", root);
        Assert.Contains("hello.service", wants, StringComparison.Ordinal);
        Assert.Contains("systemd-networkd.service", wants, StringComparison.Ordinal);
        Assert.Contains("ssh-host-keys.service", wants, StringComparison.Ordinal);
        Assert.Contains("LABEL=root", Run.Tool("debugfs=e2fsprogs", "-R", "cat /etc/fstab", root), StringComparison.Ordinal);
        Assert.Contains("deploy:x:1000:1000", Run.Tool("debugfs=e2fsprogs", "-R", "cat /etc/passwd", root), StringComparison.Ordinal);
        // No package cache or index lists left in the image, and no service left behind by the build.
        Assert.DoesNotContain(".deb", Run.Tool("debugfs=e2fsprogs", "-R", "ls /var/cache/apt/archives", root), StringComparison.Ordinal);
        Assert.DoesNotContain("policy-rc.d", Run.Tool("debugfs=e2fsprogs", "-R", "ls /usr/sbin", root), StringComparison.Ordinal);
    }
}
