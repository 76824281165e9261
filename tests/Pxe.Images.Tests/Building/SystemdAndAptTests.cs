using Pxe.Images.Building;
using Pxe.Images.Tests.Support;

namespace Pxe.Images.Tests.Building;

public sealed class SystemdAndAptTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private void Unit(string folder, string name, string content)
    {
        Directory.CreateDirectory(_temp.Combine(folder));
        File.WriteAllText(_temp.Combine(folder, name), content);
    }

    private string? LinkTarget(string path) => new FileInfo(_temp.Combine(path)).LinkTarget;

    [Fact]
    public void Enable_FollowsWantedByRequiredByAliasAndAlso()
    {
        Unit("usr/lib/systemd/system", "ssh.service", "[Unit]\nDescription=ssh\n[Install]\nWantedBy=multi-user.target\nAlias=sshd.service\nAlso=ssh.socket\n");
        Unit("usr/lib/systemd/system", "ssh.socket", "[Socket]\nListenStream=22\n[Install]\nWantedBy=sockets.target\nRequiredBy=network-online.target\n");

        var links = SystemdUnits.Enable(_temp.Path, "ssh.service");

        Assert.Equal("/usr/lib/systemd/system/ssh.service", LinkTarget("etc/systemd/system/multi-user.target.wants/ssh.service"));
        Assert.Equal("/usr/lib/systemd/system/ssh.service", LinkTarget("etc/systemd/system/sshd.service"));
        Assert.Equal("/usr/lib/systemd/system/ssh.socket", LinkTarget("etc/systemd/system/sockets.target.wants/ssh.socket"));
        Assert.Equal("/usr/lib/systemd/system/ssh.socket", LinkTarget("etc/systemd/system/network-online.target.requires/ssh.socket"));
        Assert.Equal(4, links.Count);
    }

    [Fact]
    public void Enable_TemplateUsesDefaultInstance_AndEtcOverridesLib()
    {
        Unit("lib/systemd/system", "getty@.service", "[Install]\nWantedBy=getty.target\nDefaultInstance=tty1\n");
        Unit("usr/lib/systemd/system", "app.service", "[Install]\nWantedBy=lib.target\n");
        Unit("etc/systemd/system", "app.service", "[Install]\nWantedBy=etc.target\n");

        SystemdUnits.Enable(_temp.Path, "getty@.service");
        SystemdUnits.Enable(_temp.Path, "getty@ttyS0.service");
        SystemdUnits.Enable(_temp.Path, "app.service");

        Assert.Equal("/lib/systemd/system/getty@.service", LinkTarget("etc/systemd/system/getty.target.wants/getty@tty1.service"));
        Assert.Equal("/lib/systemd/system/getty@.service", LinkTarget("etc/systemd/system/getty.target.wants/getty@ttyS0.service"));
        Assert.Equal("/etc/systemd/system/app.service", LinkTarget("etc/systemd/system/etc.target.wants/app.service"));
        Assert.False(Directory.Exists(_temp.Combine("etc/systemd/system/lib.target.wants")));
    }

    [Fact]
    public void Enable_UnitWithoutInstallSectionOrMissing_SaysWhatToDo()
    {
        Unit("etc/systemd/system", "static.service", "[Service]\nExecStart=/bin/true\n");

        var noInstall = Assert.Throws<InvalidOperationException>(() => SystemdUnits.Enable(_temp.Path, "static.service"));
        var missing = Assert.Throws<InvalidOperationException>(() => SystemdUnits.Enable(_temp.Path, "nginx.service"));

        Assert.Contains("add e.g. '[Install]' and 'WantedBy=multi-user.target' or set 'enable: false'", noInstall.Message, StringComparison.Ordinal);
        Assert.Contains("give its 'content:' or add the package that ships it", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AptSources_FindTheReleaseMirrorInDeb822AndOneLineFiles()
    {
        Directory.CreateDirectory(_temp.Combine("sources.list.d"));
        File.WriteAllText(_temp.Combine("sources.list"), "# deb http://old.example/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://one.example/debian bullseye main\n");
        File.WriteAllText(_temp.Combine("sources.list.d", "debian.sources"),
            "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\nComponents: main\n\n" +
            "Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n\n" +
            "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n");

        Assert.Equal("http://mirror.example/debian", AptSources.FindMirror("bookworm", _temp.Path));
        Assert.Equal("http://one.example/debian", AptSources.FindMirror("bullseye", _temp.Path));
        Assert.Null(AptSources.FindMirror("trixie", _temp.Path));
    }
}
