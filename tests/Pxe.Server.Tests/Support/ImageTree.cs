using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Pxe.Server.Tests.Support;

/// <summary>
/// What image tests build from: a small root file system made of busybox (its applets as links, account files,
/// os-release, and a stand-in kernel and initrd in /boot: enough for every disk output but booting), and a role file.
/// Builds in seconds and needs no network.
/// </summary>
internal static class ImageTree
{
    /// <summary>Tools a raw disk build from a folder runs.</summary>
    public const string RawTools = "mkfs.vfat=dosfstools";

    public const string KernelVersion = "6.1.0-99-test";

    /// <summary>A role overlay that adds a file and a user (profiles/roles/NAME.yaml).</summary>
    public static string Role(string name, string motd = "built by the image tests\n") => $"""
        kind: role
        name: {name}
        description: test role
        files:
          - path: /etc/motd
            content: "{motd.Replace("\n", "\\n", StringComparison.Ordinal)}"
            mode: "0644"
        users:
          - name: deploy
            groups: [sudo]
        """;

    /// <summary>Writes the role file into the test's spec copy.</summary>
    public static void WriteRole(TestDirs dirs, string name, string? yaml = null)
    {
        Directory.CreateDirectory(Path.Combine(dirs.Spec, "roles"));
        File.WriteAllText(Path.Combine(dirs.Spec, "roles", name + ".yaml"), yaml ?? Role(name));
    }

    /// <summary>Creates the tree in <paramref name="folder"/> and returns its full path.</summary>
    public static string Create(string folder)
    {
        foreach (var tool in new[] { "busybox", "mkfs.vfat=dosfstools", "mcopy=mtools", "sfdisk=fdisk", "mkfs.ext4=e2fsprogs" })
        {
            Tools.Require(tool);
        }

        var busybox = Tools.Require("busybox");
        var root = Directory.CreateDirectory(folder).FullName;
        foreach (var dir in new[] { "bin", "sbin", "etc", "boot", "dev", "proc", "sys", "tmp", "root", "home", "var/log", "usr/lib/systemd/system", "etc/systemd/system", "etc/skel" })
        {
            Directory.CreateDirectory(Path.Combine(root, dir));
        }

        File.Copy(busybox, Path.Combine(root, "bin/busybox"));
        foreach (var applet in new[] { "sh", "ls", "cat", "mount" })
        {
            File.CreateSymbolicLink(Path.Combine(root, "bin", applet), "busybox");
        }

        File.CreateSymbolicLink(Path.Combine(root, "sbin/init"), "/bin/busybox");
        File.WriteAllText(Path.Combine(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        File.WriteAllText(Path.Combine(root, "etc/group"), "root:x:0:\nsudo:x:27:\n");
        File.WriteAllText(Path.Combine(root, "etc/shadow"), "root:*:19000:0:99999:7:::\n");
        File.SetUnixFileMode(Path.Combine(root, "etc/shadow"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        File.WriteAllText(Path.Combine(root, "etc/gshadow"), "root:*::\nsudo:*::\n");
        File.WriteAllText(Path.Combine(root, "etc/os-release"), "PRETTY_NAME=\"Busybox test tree\"\nID=busybox\n");
        File.WriteAllText(Path.Combine(root, "usr/lib/systemd/system/multi-user.target"), "[Unit]\nDescription=Multi-User System\n");
        var random = new Random(7);
        var kernel = new byte[1 << 20];
        random.NextBytes(kernel);
        File.WriteAllBytes(Path.Combine(root, "boot", "vmlinuz-" + KernelVersion), kernel);
        var initrd = new byte[1 << 20];
        random.NextBytes(initrd);
        File.WriteAllBytes(Path.Combine(root, "boot", "initrd.img-" + KernelVersion), initrd);
        return root;
    }

    /// <summary>
    /// Waits for the last event of build NAME/VERSION (image.built or image.failed) and returns it with every
    /// image.build event of that build, oldest first. Fails the test after <paramref name="timeout"/>.
    /// </summary>
    public static async Task<(JsonNode Last, List<JsonNode> Progress)> WaitForBuildAsync(HttpClient http, string image, long after, TimeSpan timeout)
    {
        var prefix = image + " ";
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            foreach (var kind in new[] { "image.built", "image.failed" })
            {
                var last = (await http.GetFromJsonAsync<JsonArray>($"/api/v1/events?kind={kind}&after={after}&limit=1000"))!
                    .FirstOrDefault(e => e!["message"]!.GetValue<string>().StartsWith(prefix, StringComparison.Ordinal));
                if (last is not null)
                {
                    var progress = (await http.GetFromJsonAsync<JsonArray>($"/api/v1/events?kind=image.build&after={after}&limit=5000"))!
                        .Where(e => e!["message"]!.GetValue<string>().StartsWith(prefix, StringComparison.Ordinal)).Select(e => e!).ToList();
                    return (last, progress);
                }
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"the build of {image} did not finish within {timeout}");
    }
}
