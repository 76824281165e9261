using System.Globalization;
using System.Text;
using Pxe.Images.Roles;

namespace Pxe.Images.Building;

/// <summary>Applies a role to a root file system folder: packages (apt-get in a chroot), users, files, then units.</summary>
internal sealed class RoleOverlay(BuildContext context, string root, RoleDefinition role)
{
    private static readonly UnixFileMode DirectoryMode = (UnixFileMode)Convert.ToInt32("755", 8);
    private static readonly UnixFileMode HomeMode = (UnixFileMode)Convert.ToInt32("700", 8);
    private static readonly UnixFileMode PrivateFileMode = (UnixFileMode)Convert.ToInt32("600", 8);
    private static readonly UnixFileMode UnitMode = (UnixFileMode)Convert.ToInt32("644", 8);

    public async Task ApplyAsync(CancellationToken cancellationToken)
    {
        if (role.Packages.Count > 0)
        {
            await RootfsSteps.AptInstallAsync(context, root, role.Packages, cancellationToken).ConfigureAwait(false);
        }

        var accounts = AccountFilesOrNull();
        if (role.Users.Count > 0)
        {
            accounts = AccountFiles.Load(root);
            var days = (long)((DateTimeOffset.FromUnixTimeSeconds(SourceDateEpoch()) - DateTimeOffset.UnixEpoch).TotalDays);
            foreach (var user in role.Users)
            {
                bool isNew;
                try
                {
                    isNew = accounts.AddOrUpdate(user, days);
                }
                catch (InvalidOperationException e)
                {
                    throw new ImageBuildException($"role '{role.Name}' ({role.SourceFile}): {e.Message}");
                }

                context.Note(isNew ? $"user {user.Name}: created" : $"user {user.Name}: already in the base; groups and keys added");
            }

            accounts.Save();
            foreach (var user in role.Users)
            {
                await CreateHomeAsync(accounts, user, cancellationToken).ConfigureAwait(false);
            }
        }

        foreach (var file in role.Files)
        {
            var (uid, gid) = Owner(accounts, file.Owner, file.Path);
            var target = Inside(file.Path);
            CreateParents(target);
            if (new FileInfo(target).LinkTarget is not null || Directory.Exists(target))
            {
                if (Directory.Exists(target) && new DirectoryInfo(target).LinkTarget is null)
                {
                    throw new ImageBuildException($"role '{role.Name}': {file.Path} is a folder in the image; a file cannot replace it");
                }

                File.Delete(target);
            }

            if (file.Source is { } source)
            {
                File.Copy(source, target, overwrite: true);
            }
            else
            {
                await File.WriteAllTextAsync(target, file.Content, new UTF8Encoding(false), cancellationToken).ConfigureAwait(false);
            }

            File.SetUnixFileMode(target, file.Mode);
            await ChownAsync(target, uid, gid, cancellationToken).ConfigureAwait(false);
            context.Note($"file {file.Path}: {Convert.ToString((int)file.Mode, 8)} {file.Owner}");
        }

        foreach (var unit in role.Units)
        {
            if (unit.Content is { } content)
            {
                var path = Inside("/etc/systemd/system/" + unit.Name);
                CreateParents(path);
                await File.WriteAllTextAsync(path, content.EndsWith('\n') ? content : content + "\n", cancellationToken).ConfigureAwait(false);
                File.SetUnixFileMode(path, UnitMode);
            }

            if (unit.Enable)
            {
                try
                {
                    foreach (var link in SystemdUnits.Enable(root, unit.Name))
                    {
                        context.Note($"unit {unit.Name}: {link}");
                    }
                }
                catch (InvalidOperationException e)
                {
                    throw new ImageBuildException($"role '{role.Name}' ({role.SourceFile}): {e.Message}");
                }
            }
        }
    }

    private AccountFiles? AccountFilesOrNull() => File.Exists(Path.Combine(root, "etc/passwd")) ? AccountFiles.Load(root) : null;

    private async Task CreateHomeAsync(AccountFiles accounts, RoleUser user, CancellationToken cancellationToken)
    {
        var uid = accounts.UserId(user.Name)!.Value;
        var gid = accounts.PrimaryGroupOf(user.Name)!.Value;
        var home = Inside(accounts.HomeOf(user.Name) ?? $"/home/{user.Name}");
        if (!Directory.Exists(home))
        {
            CreateParents(home);
            Directory.CreateDirectory(home);
            File.SetUnixFileMode(home, HomeMode);
            var skel = Path.Combine(root, "etc/skel");
            if (Directory.Exists(skel) && Directory.EnumerateFileSystemEntries(skel).Any())
            {
                await TreeOperations.CopyAsync(context.Tools, skel, home, context.Options($"copy /etc/skel for {user.Name}"), cancellationToken).ConfigureAwait(false);
            }

            await ChownAsync(home, uid, gid, cancellationToken, recursive: true).ConfigureAwait(false);
        }

        if (user.SshAuthorizedKeys.Count == 0)
        {
            return;
        }

        var ssh = Path.Combine(home, ".ssh");
        Directory.CreateDirectory(ssh);
        File.SetUnixFileMode(ssh, HomeMode);
        var keys = Path.Combine(ssh, "authorized_keys");
        var existing = File.Exists(keys) ? (await File.ReadAllLinesAsync(keys, cancellationToken).ConfigureAwait(false)).ToList() : [];
        existing.AddRange(user.SshAuthorizedKeys.Where(k => !existing.Contains(k)));
        await File.WriteAllTextAsync(keys, string.Concat(existing.Select(k => k + "\n")), cancellationToken).ConfigureAwait(false);
        File.SetUnixFileMode(keys, PrivateFileMode);
        await ChownAsync(ssh, uid, gid, cancellationToken, recursive: true).ConfigureAwait(false);
    }

    private (int Uid, int Gid) Owner(AccountFiles? accounts, string owner, string path)
    {
        var parts = owner.Split(':');
        int? Numeric(string text) => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;
        var uid = Numeric(parts[0]) ?? accounts?.UserId(parts[0]) ?? (parts[0] == "root" ? 0 : (int?)null) ?? throw new ImageBuildException(
            $"role '{role.Name}': the owner '{owner}' of {path} names user '{parts[0]}', which the image does not have; add it under 'users:' or use a number");
        var gid = parts.Length > 1
            ? Numeric(parts[1]) ?? accounts?.GroupId(parts[1]) ?? (parts[1] == "root" ? 0 : (int?)null) ?? throw new ImageBuildException(
                $"role '{role.Name}': the owner '{owner}' of {path} names group '{parts[1]}', which the image does not have; create it or use a number")
            : accounts?.PrimaryGroupOf(parts[0]) ?? (parts[0] == "root" ? 0 : uid);
        return (uid, gid);
    }

    private Task ChownAsync(string path, int uid, int gid, CancellationToken cancellationToken, bool recursive = false) =>
        context.Tools.RunAsync("chown", [.. recursive ? new[] { "-R" } : [], "-h", $"{uid}:{gid}", path], context.Options($"set the owner of {Path.GetRelativePath(root, path)}"), cancellationToken);

    /// <summary>The host path of an image path; never outside the root, even through a link in the image.</summary>
    private string Inside(string imagePath)
    {
        var full = Path.GetFullPath(Path.Combine(root, imagePath.TrimStart('/')));
        if (!full.StartsWith(root.TrimEnd('/') + "/", StringComparison.Ordinal))
        {
            throw new ImageBuildException($"role '{role.Name}': {imagePath} points outside the image");
        }

        // Parents that are links (e.g. /lib -> usr/lib) are followed inside the image, not on the host.
        var relative = Path.GetRelativePath(root, full).Split('/');
        var current = root;
        for (var i = 0; i < relative.Length - 1; i++)
        {
            current = Path.Combine(current, relative[i]);
            if (new DirectoryInfo(current).LinkTarget is { } target)
            {
                var resolved = target.StartsWith('/') ? Path.Combine(root, target.TrimStart('/')) : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(current)!, target));
                return Inside("/" + Path.GetRelativePath(root, Path.Combine(resolved, string.Join('/', relative[(i + 1)..]))));
            }
        }

        return full;
    }

    private void CreateParents(string hostPath)
    {
        var parent = Path.GetDirectoryName(hostPath)!;
        var missing = new Stack<string>();
        while (!Directory.Exists(parent))
        {
            missing.Push(parent);
            parent = Path.GetDirectoryName(parent)!;
        }

        while (missing.Count > 0)
        {
            var folder = missing.Pop();
            Directory.CreateDirectory(folder);
            File.SetUnixFileMode(folder, DirectoryMode);
        }
    }

    private static long SourceDateEpoch() =>
        long.TryParse(Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH"), NumberStyles.None, CultureInfo.InvariantCulture, out var epoch)
            ? epoch
            : DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}

/// <summary>An image build failed for a reason the recipe or the role can fix; the message says what, the build log has the details.</summary>
public sealed class ImageBuildException : Exception
{
    public ImageBuildException()
    {
    }

    public ImageBuildException(string message)
        : base(message)
    {
    }

    public ImageBuildException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The build log of the failed build, when one was written.</summary>
    public string? BuildLog { get; init; }
}
