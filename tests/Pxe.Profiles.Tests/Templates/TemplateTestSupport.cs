using Pxe.Profiles.Spec;
using Pxe.Profiles.Templates;

namespace Pxe.Profiles.Tests.Templates;

/// <summary>Paths, sample variables and small helpers shared by the template tests.</summary>
internal static class TemplateTestSupport
{
    private static readonly Lazy<TemplateLibrary> ShippedLazy = new(LoadShipped);

    /// <summary>The repository root (the folder holding PxeServer.sln and templates/).</summary>
    public static string RepoRoot => RepoPaths.Root;

    /// <summary>The shipped templates folder.</summary>
    public static string ShippedTemplates => Path.Combine(RepoRoot, "templates");

    /// <summary>The golden files folder in the source tree.</summary>
    public static string GoldenDirectory => Path.Combine(RepoRoot, "tests", "Pxe.Profiles.Tests", "Templates", "Golden");

    /// <summary>The shipped templates, loaded once.</summary>
    public static TemplateLibrary Shipped => ShippedLazy.Value;

    /// <summary>A static-IP machine being installed.</summary>
    public static Dictionary<string, object?> StaticMachine() => new(StringComparer.Ordinal)
    {
        ["server_url"] = "http://10.0.0.1:8080",
        ["next_server"] = "10.0.0.1",
        ["mac"] = "52:54:00:12:34:56",
        ["mac_hyphen"] = "52-54-00-12-34-56",
        ["hostname"] = "web01",
        ["domain"] = "example.net",
        ["fqdn"] = "web01.example.net",
        ["ip"] = "10.0.0.21",
        ["prefix"] = 24L,
        ["netmask"] = "255.255.255.0",
        ["gateway"] = "10.0.0.254",
        ["dns"] = new List<object?> { "10.0.0.53", "10.0.0.54" },
        ["profile"] = "web",
        ["distro"] = Distro("rocky9", "redhat", "http://mirror.example.net/rocky/9/BaseOS/x86_64/os"),
        ["boot_action"] = "install",
        ["kernel_url"] = "http://10.0.0.1:8080/files/rocky9/vmlinuz",
        ["initrd_url"] = "http://10.0.0.1:8080/files/rocky9/initrd.img",
        ["initrd_name"] = "initrd.img",
        ["kernel_args"] = "initrd=initrd.img inst.ks=http://10.0.0.1:8080/boot/52:54:00:12:34:56/install?token=tok123&x=1 ip=10.0.0.21::10.0.0.254:255.255.255.0:web01:eth0:none console=ttyS0,115200",
        ["kernel_cmdline"] = "inst.ks=http://10.0.0.1:8080/boot/52:54:00:12:34:56/install?token=tok123&x=1 ip=10.0.0.21::10.0.0.254:255.255.255.0:web01:eth0:none console=ttyS0,115200",
        ["image_file"] = "images/web/3/disk.raw",
        ["image_sha256"] = "6f1ed002ab5595859014ebf0951522d9c6b7f6a1f35e2b1f7a4f6ab0c44d8b3e",
        ["install_url"] = "http://10.0.0.1:8080/boot/52:54:00:12:34:56/install?token=tok123",
        ["install_base_url"] = "http://10.0.0.1:8080/boot/52:54:00:12:34:56/install/",
        ["done_url"] = "http://10.0.0.1:8080/boot/52:54:00:12:34:56/done?token=tok123",
        ["events_url"] = "http://10.0.0.1:8080/boot/52:54:00:12:34:56/events?token=tok123",
        ["install_token"] = "tok123",
        ["root_password_hash"] = "$6$rounds=4096$saltsalt$Cz4uQ8mJm0JQyq2N9mZ0x5cWm2Yc0tV4rR1n7l1bq1YF6v8bC3kYv0u0bq4Zc9Qm7Wm6mC0tQm6a1Xk8J2Y0",
        ["timezone"] = "Europe/Berlin",
        ["locale"] = "en_US.UTF-8",
        ["keyboard"] = "de",
        ["packages"] = new List<object?> { "vim-enhanced", "tmux" },
        ["ssh_authorized_keys"] = new List<object?> { "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHd7dummykeyforgoldenfiles ops@example.net" },
        ["ntp_servers"] = new List<object?> { "ntp1.example.net", "ntp2.example.net" },
        ["disk"] = "vda",
        ["handoff"] = NoHandoff("web01.example.net"),
    };

    /// <summary>A DHCP machine being installed, first disk, no NTP.</summary>
    public static Dictionary<string, object?> DhcpMachine()
    {
        var v = StaticMachine();
        v["mac"] = "52:54:00:ab:cd:ef";
        v["mac_hyphen"] = "52-54-00-ab-cd-ef";
        v["hostname"] = "db02";
        v["domain"] = "";
        v["fqdn"] = "db02";
        v["ip"] = "";
        v["prefix"] = 0L;
        v["netmask"] = "";
        v["gateway"] = "";
        v["dns"] = new List<object?>();
        v["profile"] = "db";
        v["distro"] = Distro("debian12", "debian", "https://deb.example.net:8443/debian");
        v["kernel_url"] = "http://10.0.0.1:8080/files/debian12/linux";
        v["initrd_url"] = "http://10.0.0.1:8080/files/debian12/initrd.gz";
        v["initrd_name"] = "initrd.gz";
        v["kernel_args"] = "initrd=initrd.gz auto=true priority=critical url=http://10.0.0.1:8080/boot/52:54:00:ab:cd:ef/install?token=tok456";
        v["kernel_cmdline"] = "auto=true priority=critical url=http://10.0.0.1:8080/boot/52:54:00:ab:cd:ef/install?token=tok456";
        v["install_url"] = "http://10.0.0.1:8080/boot/52:54:00:ab:cd:ef/install?token=tok456";
        v["install_base_url"] = "http://10.0.0.1:8080/boot/52:54:00:ab:cd:ef/install/";
        v["done_url"] = "http://10.0.0.1:8080/boot/52:54:00:ab:cd:ef/done?token=tok456";
        v["events_url"] = "http://10.0.0.1:8080/boot/52:54:00:ab:cd:ef/events?token=tok456";
        v["install_token"] = "tok456";
        v["timezone"] = "UTC";
        v["keyboard"] = "us";
        v["packages"] = new List<object?>();
        v["ssh_authorized_keys"] = new List<object?> { "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCdummy ops's key", "ssh-ed25519 AAAAC3Nza second@example.net" };
        v["ntp_servers"] = new List<object?>();
        v["disk"] = "";
        v["handoff"] = NoHandoff("db02");
        return v;
    }

    /// <summary>The DHCP machine after its install: boot action local.</summary>
    public static Dictionary<string, object?> LocalBootMachine()
    {
        var v = DhcpMachine();
        v["boot_action"] = "local";
        return v;
    }

    /// <summary>Writes <paramref name="files"/> (relative path → content) into a new temporary folder.</summary>
    public static TempTemplates Write(params (string Path, string Content)[] files) => new(files);

    /// <summary>Loads a folder that must load; fails the test with every error otherwise.</summary>
    public static TemplateLibrary LoadOk(string directory)
    {
        var result = TemplateLibrary.Load(directory);
        Assert.True(result.Succeeded, "load failed:\n" + string.Join("\n", result.Errors));
        return result.Library!;
    }

    /// <summary>Renders and fails the test with the error when the render fails.</summary>
    public static string RenderOk(TemplateLibrary library, string template, IReadOnlyDictionary<string, object?> variables)
    {
        var result = library.Render(template, variables);
        Assert.True(result.Succeeded, $"render of {template} failed: {result.Error}");
        return result.Text!;
    }

    /// <summary>Runs a program (60 s at most) and returns its exit code and combined output.</summary>
    public static (int ExitCode, string Output) Run(string fileName, params string[] arguments)
    {
        var result = Tools.Run(fileName, arguments, TimeSpan.FromSeconds(60));
        return (result.ExitCode, result.Output);
    }

    /// <summary>The <c>handoff</c> value of a machine whose profile hands off to no client (as the renderer builds it).</summary>
    public static IReadOnlyDictionary<string, object?> NoHandoff(string fqdn) => HandoffSettings.None.TemplateValue(new HandoffMachine(fqdn, ""));

    private static Dictionary<string, object?> Distro(string name, string breed, string installTree) => new(StringComparer.Ordinal)
    {
        ["name"] = name,
        ["arch"] = "x86_64",
        ["breed"] = breed,
        ["kernel"] = $"{name}/vmlinuz",
        ["initrd"] = $"{name}/initrd.img",
        ["install_tree"] = installTree,
    };

    private static TemplateLibrary LoadShipped() => LoadOk(ShippedTemplates);
}

/// <summary>A temporary templates folder, deleted on dispose.</summary>
internal sealed class TempTemplates : IDisposable
{
    public TempTemplates((string Path, string Content)[] files)
    {
        Directory = Path.Combine(Path.GetTempPath(), "pxe-templates-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        foreach (var (path, content) in files)
        {
            var full = Path.Combine(Directory, path);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content);
        }
    }

    public string Directory { get; }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
