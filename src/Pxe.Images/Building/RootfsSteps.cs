using System.Text;
using Pxe.Images.Roles;

namespace Pxe.Images.Building;

/// <summary>
/// The two root file system steps: the base (debootstrap, a tarball or a folder) and the role (a copy of the base with
/// the role overlay applied). Each cache entry holds the tree in <see cref="RootfsFolder"/>.
/// </summary>
internal static class RootfsSteps
{
    public const string RootfsFolder = "rootfs";

    /// <summary>Bumped when the code of a step changes what it produces.</summary>
    private const int BaseVersion = 1;
    private const int RoleVersion = 1;

    private static readonly TimeSpan DebootstrapTimeout = TimeSpan.FromMinutes(60);
    private static readonly TimeSpan AptTimeout = TimeSpan.FromMinutes(30);

    public static async Task<CacheEntry> BaseAsync(BuildContext context, BaseImageSource source, CancellationToken cancellationToken)
    {
        var inputs = new StepInputs("base", BaseVersion).Add("kind", source.Kind);
        Func<string, CancellationToken, Task> build;
        switch (source)
        {
            case DebootstrapSource debootstrap:
                var mirror = debootstrap.Mirror ?? AptSources.FindMirror(debootstrap.Suite) ?? throw new ImageBuildException(
                    $"no Debian mirror for '{debootstrap.Suite}' in /etc/apt/sources.list or /etc/apt/sources.list.d; set the mirror of the debootstrap base explicitly");
                var packages = debootstrap.Packages.Concat(debootstrap.IncludeSsh ? ["openssh-server"] : []).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
                inputs.Add("suite", debootstrap.Suite).Add("mirror", mirror).Add("variant", debootstrap.Variant)
                    .Add("architecture", debootstrap.Architecture).Add("components", debootstrap.Components).Add("packages", packages);
                build = (folder, token) => DebootstrapAsync(context, debootstrap, mirror, packages, Path.Combine(folder, RootfsFolder), token);
                break;
            case TarballSource tarball:
                if (!File.Exists(tarball.Path))
                {
                    throw new ImageBuildException($"the base tarball {tarball.Path} does not exist; give the path of a root file system .tar(.gz/.xz/.zst)");
                }

                await inputs.AddFileAsync("tarball", tarball.Path, cancellationToken).ConfigureAwait(false);
                build = async (folder, token) =>
                {
                    var root = Directory.CreateDirectory(Path.Combine(folder, RootfsFolder)).FullName;
                    await context.Tools.RunAsync("tar", ["-xpf", Path.GetFullPath(tarball.Path), "-C", root, "--numeric-owner", "--xattrs", "--xattrs-include=*"],
                        context.Options("unpack the base tarball"), token).ConfigureAwait(false);
                };
                break;
            case FolderSource directory:
                if (!Directory.Exists(directory.Path))
                {
                    throw new ImageBuildException($"the base folder {directory.Path} does not exist; give the folder of a root file system");
                }

                inputs.Add("folder", await TreeOperations.HashAsync(context.Tools, directory.Path, context.Options("fingerprint the base folder"), cancellationToken).ConfigureAwait(false));
                build = (folder, token) => TreeOperations.CopyAsync(context.Tools, directory.Path, Path.Combine(folder, RootfsFolder), context.Options("copy the base folder"), token);
                break;
            default:
                throw new ArgumentException($"unknown base source {source.GetType().Name}", nameof(source));
        }

        return await context.StepAsync("base", inputs, build, cancellationToken).ConfigureAwait(false);
    }

    public static async Task<CacheEntry> RoleAsync(BuildContext context, CacheEntry baseEntry, RoleDefinition role, CancellationToken cancellationToken)
    {
        var inputs = new StepInputs("role", RoleVersion).AddEntry(baseEntry).Add("name", role.Name).Add("packages", role.Packages);
        foreach (var user in role.Users)
        {
            inputs.Add("user", $"{user.Name}|{user.Uid}|{user.Comment}|{user.Shell}|{user.Home}|{string.Join(',', user.Groups)}|{user.CreateGroups}|{user.PasswordHash}")
                .Add("user.keys", user.SshAuthorizedKeys);
        }

        foreach (var file in role.Files)
        {
            inputs.Add("file", $"{file.Path}|{Convert.ToString((int)file.Mode, 8)}|{file.Owner}");
            if (file.Source is { } sourcePath)
            {
                await inputs.AddFileAsync("file.source", sourcePath, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                inputs.AddBytes("file.content", Encoding.UTF8.GetBytes(file.Content ?? ""));
            }
        }

        foreach (var unit in role.Units)
        {
            inputs.Add("unit", $"{unit.Name}|{unit.Enable}").Add("unit.content", unit.Content);
        }

        return await context.StepAsync("role", inputs, async (folder, token) =>
        {
            var root = Path.Combine(folder, RootfsFolder);
            await TreeOperations.CopyAsync(context.Tools, Path.Combine(baseEntry.Path, RootfsFolder), root, context.Options("copy the base"), token).ConfigureAwait(false);
            await new RoleOverlay(context, root, role).ApplyAsync(token).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    private static async Task DebootstrapAsync(BuildContext context, DebootstrapSource source, string mirror, IReadOnlyList<string> packages, string root, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(root);
        try
        {
            await context.Tools.RunAsync("debootstrap",
                [$"--variant={source.Variant}", $"--arch={source.Architecture}", $"--components={string.Join(',', source.Components)}",
                 $"--include={string.Join(',', packages)}", source.Suite, root, mirror],
                context.Options("debootstrap") with { Timeout = DebootstrapTimeout }, cancellationToken).ConfigureAwait(false);
        }
        catch (Tools.ToolException e) when (!e.IsMissing)
        {
            // debootstrap points at its own log inside the tree, which is removed with the failed step: keep its end.
            var log = Path.Combine(root, "debootstrap", "debootstrap.log");
            var tail = File.Exists(log) ? string.Join(Environment.NewLine, File.ReadLines(log).TakeLast(40)) : "";
            context.Note("debootstrap.log (last lines):" + Environment.NewLine + tail);
            throw new ImageBuildException($"{e.Message}{Environment.NewLine}debootstrap.log ends with:{Environment.NewLine}{tail}", e);
        }
        finally
        {
            // debootstrap mounts /proc (and package scripts may mount more) inside the tree and does not always
            // unmount on the way out; a mount left there would be copied and cached as if it were the image.
            await UnmountBelowAsync(context, root, cancellationToken).ConfigureAwait(false);
        }

        BaseSetup.Apply(root, context);
    }

    /// <summary>Unmounts every mount point at or below <paramref name="root"/>, deepest first (from /proc/self/mountinfo).</summary>
    internal static async Task UnmountBelowAsync(BuildContext context, string root, CancellationToken cancellationToken)
    {
        var prefix = Path.GetFullPath(root).TrimEnd('/') + "/";
        var mounts = File.ReadLines("/proc/self/mountinfo")
            .Select(line => line.Split(' ') is { Length: > 4 } fields ? fields[4].Replace("\\040", " ", StringComparison.Ordinal) : "")
            .Where(point => point.StartsWith(prefix, StringComparison.Ordinal))
            .OrderByDescending(point => point.Length)
            .ToList();
        foreach (var point in mounts)
        {
            await context.Tools.RunAsync("umount", ["--lazy", point], context.Options("unmount " + point) with { AllowFailure = true }, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Runs apt-get inside a root file system (as root, with chroot), with services kept from starting.</summary>
    internal static async Task AptInstallAsync(BuildContext context, string root, IReadOnlyList<string> packages, CancellationToken cancellationToken)
    {
        if (!File.Exists(Path.Combine(root, "usr/bin/apt-get")))
        {
            throw new ImageBuildException($"the role installs packages ({string.Join(", ", packages)}) but the base has no apt-get; build the base with debootstrap or from a Debian root file system");
        }

        var policy = Path.Combine(root, "usr/sbin/policy-rc.d");
        var resolv = Path.Combine(root, "etc/resolv.conf");
        var resolvAside = resolv + ".pxe-image";
        var hadResolv = File.Exists(resolv) || new FileInfo(resolv).LinkTarget is not null;
        File.WriteAllText(policy, "#!/bin/sh\n# No service starts while the image is built (invoke-rc.d, policy-rc.d(8)).\nexit 101\n");
        File.SetUnixFileMode(policy, (UnixFileMode)Convert.ToInt32("755", 8));
        if (hadResolv)
        {
            File.Move(resolv, resolvAside);
        }

        if (File.Exists("/etc/resolv.conf"))
        {
            File.Copy("/etc/resolv.conf", resolv, overwrite: true);
        }

        try
        {
            var environment = new Dictionary<string, string>
            {
                ["DEBIAN_FRONTEND"] = "noninteractive",
                ["LC_ALL"] = "C.UTF-8",
                ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            };
            var options = context.Options("install the role's packages") with { Environment = environment, Timeout = AptTimeout };
            await context.Tools.RunAsync("chroot", [root, "apt-get", "update"], options, cancellationToken).ConfigureAwait(false);
            await context.Tools.RunAsync("chroot", [root, "apt-get", "install", "-y", "--no-install-recommends", "-o", "Dpkg::Options::=--force-confold", .. packages], options, cancellationToken).ConfigureAwait(false);
            await context.Tools.RunAsync("chroot", [root, "apt-get", "clean"], options, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(policy);
            File.Delete(resolv);
            if (hadResolv)
            {
                File.Move(resolvAside, resolv);
            }

            BaseSetup.RemoveAptLists(root);
        }
    }
}

/// <summary>
/// What turns a fresh debootstrap tree into a generic base image: no machine identity baked in (machine-id, SSH host
/// keys), DHCP on every Ethernet interface with systemd-networkd, the root found by label, apt's caches emptied.
/// </summary>
internal static class BaseSetup
{
    public const string RootLabel = "root";

    public static void Apply(string root, BuildContext context)
    {
        Write(root, "etc/hostname", "debian\n");
        Write(root, "etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n");
        Write(root, "etc/fstab", $"# <file system> <mount point> <type> <options> <dump> <pass>\nLABEL={RootLabel}\t/\text4\tdefaults,errors=remount-ro\t0\t1\n");
        // Empty, not absent: systemd generates the id on first boot (machine-id(5)).
        Write(root, "etc/machine-id", "");
        var dbusMachineId = Path.Combine(root, "var/lib/dbus/machine-id");
        if (File.Exists(dbusMachineId) || new FileInfo(dbusMachineId).LinkTarget is not null)
        {
            File.Delete(dbusMachineId);
        }
        Write(root, "etc/systemd/network/80-dhcp.network", "[Match]\nType=ether\nName=!veth*\n\n[Network]\nDHCP=yes\n");
        Enable(root, context, "systemd-networkd.service");
        Enable(root, context, "systemd-resolved.service");

        if (Directory.Exists(Path.Combine(root, "etc/ssh")))
        {
            foreach (var key in Directory.EnumerateFiles(Path.Combine(root, "etc/ssh"), "ssh_host_*"))
            {
                File.Delete(key);
            }

            Write(root, "etc/systemd/system/ssh-host-keys.service",
                "[Unit]\nDescription=Create the SSH host keys of this machine\nConditionPathExistsGlob=!/etc/ssh/ssh_host_*_key\nBefore=ssh.service\n\n" +
                "[Service]\nType=oneshot\nExecStart=/usr/bin/ssh-keygen -A\n\n[Install]\nWantedBy=multi-user.target\n");
            Enable(root, context, "ssh-host-keys.service");
        }

        var archives = Path.Combine(root, "var/cache/apt/archives");
        foreach (var deb in Directory.Exists(archives) ? Directory.EnumerateFiles(archives, "*.deb") : [])
        {
            File.Delete(deb);
        }

        RemoveAptLists(root);
    }

    public static void RemoveAptLists(string root)
    {
        var lists = Path.Combine(root, "var/lib/apt/lists");
        if (Directory.Exists(lists))
        {
            foreach (var file in Directory.EnumerateFiles(lists).Where(f => Path.GetFileName(f) != "lock"))
            {
                File.Delete(file);
            }
        }
    }

    private static void Enable(string root, BuildContext context, string unit)
    {
        if (SystemdUnits.UnitDirectories.Any(d => File.Exists(Path.Combine(root, d, unit))))
        {
            foreach (var link in SystemdUnits.Enable(root, unit))
            {
                context.Note($"enabled {unit}: {link}");
            }
        }
    }

    private static void Write(string root, string path, string content)
    {
        var full = Path.Combine(root, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        if (new FileInfo(full).LinkTarget is not null)
        {
            File.Delete(full);
        }

        File.WriteAllText(full, content);
    }
}
