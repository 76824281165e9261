using System.Globalization;
using Pxe.Images.Roles;

namespace Pxe.Images.Building;

/// <summary>
/// The account files of a root file system (<c>/etc/passwd</c>, <c>group</c>, <c>shadow</c>, <c>gshadow</c>), edited
/// directly so that users can be added to any tree without running code inside it (what useradd would write).
/// </summary>
internal sealed class AccountFiles
{
    private const int FirstRegularId = 1000;
    private const int LastRegularId = 59999;
    private readonly string _root;
    private readonly List<string[]> _passwd;
    private readonly List<string[]> _group;
    private readonly List<string[]> _shadow;
    private readonly List<string[]> _gshadow;

    private AccountFiles(string root)
    {
        _root = root;
        _passwd = ReadTable("passwd", 7);
        _group = ReadTable("group", 4);
        _shadow = ReadTable("shadow", 9);
        _gshadow = ReadTable("gshadow", 4);
    }

    public static AccountFiles Load(string root) => new(root);

    /// <summary>The uid of a user name or number, or null.</summary>
    public int? UserId(string nameOrId) =>
        int.TryParse(nameOrId, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id :
        _passwd.FirstOrDefault(p => p[0] == nameOrId) is { } entry ? int.Parse(entry[2], CultureInfo.InvariantCulture) : null;

    /// <summary>The gid of a group name or number, or null.</summary>
    public int? GroupId(string nameOrId) =>
        int.TryParse(nameOrId, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id :
        _group.FirstOrDefault(g => g[0] == nameOrId) is { } entry ? int.Parse(entry[2], CultureInfo.InvariantCulture) : null;

    /// <summary>The primary gid of a user.</summary>
    public int? PrimaryGroupOf(string user) =>
        _passwd.FirstOrDefault(p => p[0] == user) is { } entry ? int.Parse(entry[3], CultureInfo.InvariantCulture) : null;

    /// <summary>The home folder of a user (inside the image).</summary>
    public string? HomeOf(string user) => _passwd.FirstOrDefault(p => p[0] == user)?[5];

    /// <summary>
    /// Adds <paramref name="user"/> (with a group of the same name) or, when the image already has it, adds the groups
    /// and updates the shell and password given. Returns whether the user is new.
    /// </summary>
    public bool AddOrUpdate(RoleUser user, long daysSinceEpoch)
    {
        var missingGroups = user.Groups.Where(g => GroupId(g) is null).ToList();
        if (missingGroups.Count > 0 && !user.CreateGroups)
        {
            throw new InvalidOperationException(
                $"user '{user.Name}': the image has no group {string.Join(", ", missingGroups.Select(g => $"'{g}'"))}; add the package that creates it, or set 'create_groups: true'");
        }

        foreach (var group in missingGroups)
        {
            AddGroup(group, FreeId(_group, FirstRegularId, LastRegularId));
        }

        var existing = _passwd.FirstOrDefault(p => p[0] == user.Name);
        var isNew = existing is null;
        if (existing is null)
        {
            var uid = user.Uid ?? FreeId(_passwd, FirstRegularId, LastRegularId);
            if (_passwd.Any(p => p[2] == uid.ToString(CultureInfo.InvariantCulture)))
            {
                throw new InvalidOperationException($"user '{user.Name}': uid {uid} is already taken in the image; choose another 'uid' or leave it out");
            }

            var gid = GroupId(user.Name) ?? (_group.Any(g => g[2] == uid.ToString(CultureInfo.InvariantCulture)) ? FreeId(_group, FirstRegularId, LastRegularId) : uid);
            if (GroupId(user.Name) is null)
            {
                AddGroup(user.Name, gid);
            }

            var shell = user.Shell ?? (File.Exists(Path.Combine(_root, "bin/bash")) || File.Exists(Path.Combine(_root, "usr/bin/bash")) ? "/bin/bash" : "/bin/sh");
            _passwd.Add([user.Name, "x", uid.ToString(CultureInfo.InvariantCulture), gid.ToString(CultureInfo.InvariantCulture), user.Comment ?? "", user.Home ?? $"/home/{user.Name}", shell]);
            // '*' (not '!'): no password, yet not "locked", so sshd still accepts the user's keys.
            _shadow.Add([user.Name, user.PasswordHash ?? "*", daysSinceEpoch.ToString(CultureInfo.InvariantCulture), "0", "99999", "7", "", "", ""]);
        }
        else
        {
            if (user.Shell is not null)
            {
                existing[6] = user.Shell;
            }

            if (user.PasswordHash is not null)
            {
                var shadow = _shadow.FirstOrDefault(s => s[0] == user.Name);
                if (shadow is null)
                {
                    _shadow.Add([user.Name, user.PasswordHash, daysSinceEpoch.ToString(CultureInfo.InvariantCulture), "0", "99999", "7", "", "", ""]);
                }
                else
                {
                    shadow[1] = user.PasswordHash;
                    shadow[2] = daysSinceEpoch.ToString(CultureInfo.InvariantCulture);
                }
            }
        }

        foreach (var group in user.Groups)
        {
            AddMember(_group, group, user.Name);
            AddMember(_gshadow, group, user.Name);
        }

        return isNew;
    }

    /// <summary>Writes the four files back (shadow files keep mode 0640, group shadow).</summary>
    public void Save()
    {
        WriteTable("passwd", _passwd, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        WriteTable("group", _group, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        WriteTable("shadow", _shadow, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        WriteTable("gshadow", _gshadow, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
    }

    private void AddGroup(string name, int gid)
    {
        _group.Add([name, "x", gid.ToString(CultureInfo.InvariantCulture), ""]);
        _gshadow.Add([name, "!", "", ""]);
    }

    private static void AddMember(List<string[]> table, string group, string user)
    {
        var entry = table.FirstOrDefault(g => g[0] == group);
        if (entry is null)
        {
            return;
        }

        var members = entry[3].Split(',', StringSplitOptions.RemoveEmptyEntries).ToList();
        if (!members.Contains(user))
        {
            members.Add(user);
            entry[3] = string.Join(',', members);
        }
    }

    private static int FreeId(List<string[]> table, int first, int last)
    {
        var used = table.Select(e => int.TryParse(e[2], NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : -1).ToHashSet();
        for (var id = first; id <= last; id++)
        {
            if (!used.Contains(id))
            {
                return id;
            }
        }

        throw new InvalidOperationException($"no free id between {first} and {last} in the image's account files");
    }

    private List<string[]> ReadTable(string name, int fields)
    {
        var path = Path.Combine(_root, "etc", name);
        if (!File.Exists(path))
        {
            if (name is "passwd" or "group")
            {
                throw new InvalidOperationException($"the root file system has no /etc/{name}; users can only be added to a tree with account files");
            }

            return [];
        }

        return File.ReadAllLines(path)
            .Where(line => line.Length > 0)
            .Select(line =>
            {
                var parts = line.Split(':');
                return parts.Length >= fields ? parts : [.. parts, .. Enumerable.Repeat("", fields - parts.Length)];
            })
            .ToList();
    }

    private void WriteTable(string name, List<string[]> table, UnixFileMode defaultMode)
    {
        var path = Path.Combine(_root, "etc", name);
        var exists = File.Exists(path);
        if (!exists && table.Count == 0)
        {
            return;
        }

        var mode = exists ? File.GetUnixFileMode(path) : defaultMode;
        File.WriteAllText(path, string.Concat(table.Select(e => string.Join(':', e) + "\n")));
        File.SetUnixFileMode(path, mode);
    }
}
