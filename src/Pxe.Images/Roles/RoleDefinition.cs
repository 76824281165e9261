namespace Pxe.Images.Roles;

/// <summary>
/// A role overlay: what a role image adds to the base image. Declared in YAML (<c>kind: role</c>, see
/// <see cref="RoleYaml"/>) and applied in order: packages, users, files, units.
/// </summary>
public sealed record RoleDefinition
{
    /// <summary>The role's name: lowercase letters, digits and '-' (it names the cache entries and images built from it).</summary>
    public required string Name { get; init; }

    /// <summary>Free text shown in listings.</summary>
    public string? Description { get; init; }

    /// <summary>Debian packages installed with apt-get inside the image (<c>name</c> or <c>name=version</c>).</summary>
    public IReadOnlyList<string> Packages { get; init; } = [];

    /// <summary>Files written into the image, after the users (so an owner can be a user of this role).</summary>
    public IReadOnlyList<RoleFile> Files { get; init; } = [];

    /// <summary>Users created in the image, each with its SSH keys.</summary>
    public IReadOnlyList<RoleUser> Users { get; init; } = [];

    /// <summary>systemd units written (when they have content) and enabled (when <see cref="RoleUnit.Enable"/>).</summary>
    public IReadOnlyList<RoleUnit> Units { get; init; } = [];

    /// <summary>The file the role was read from, for messages; null for roles built in code.</summary>
    public string? SourceFile { get; init; }
}

/// <summary>A file of a role overlay: its absolute path in the image, content (inline or from a file beside the YAML), mode and owner.</summary>
public sealed record RoleFile
{
    /// <summary>The absolute path inside the image (<c>/etc/motd</c>).</summary>
    public required string Path { get; init; }

    /// <summary>The content as UTF-8 text; null when <see cref="Source"/> is set.</summary>
    public string? Content { get; init; }

    /// <summary>The absolute path of a host file whose bytes are copied; null when <see cref="Content"/> is set.</summary>
    public string? Source { get; init; }

    /// <summary>The permission bits (0644 unless the YAML says otherwise).</summary>
    public UnixFileMode Mode { get; init; } = (UnixFileMode)Convert.ToInt32("644", 8);

    /// <summary>The owner as <c>user</c> or <c>user:group</c>, names or numbers, resolved against the image's own account files.</summary>
    public string Owner { get; init; } = "root:root";
}

/// <summary>A user of a role overlay, written straight into the image's passwd, group and shadow files.</summary>
public sealed record RoleUser
{
    /// <summary>The login name.</summary>
    public required string Name { get; init; }

    /// <summary>The user id; the first free id from 1000 when null.</summary>
    public int? Uid { get; init; }

    /// <summary>The GECOS field (full name).</summary>
    public string? Comment { get; init; }

    /// <summary>The login shell; <c>/bin/bash</c> when the image has it, else <c>/bin/sh</c>.</summary>
    public string? Shell { get; init; }

    /// <summary>The home directory; <c>/home/NAME</c> when null.</summary>
    public string? Home { get; init; }

    /// <summary>Supplementary groups; each must exist in the image (or be created by <see cref="CreateGroups"/>).</summary>
    public IReadOnlyList<string> Groups { get; init; } = [];

    /// <summary>When true, supplementary groups missing from the image are created.</summary>
    public bool CreateGroups { get; init; }

    /// <summary>Lines written to <c>~/.ssh/authorized_keys</c> (mode 0600, owned by the user).</summary>
    public IReadOnlyList<string> SshAuthorizedKeys { get; init; } = [];

    /// <summary>A crypt(3) hash for /etc/shadow; the password is locked (SSH keys only) when null.</summary>
    public string? PasswordHash { get; init; }
}

/// <summary>A systemd unit of a role overlay: written to /etc/systemd/system when it has content, enabled by its [Install] section.</summary>
public sealed record RoleUnit
{
    /// <summary>The unit name with its type suffix (<c>hello.service</c>).</summary>
    public required string Name { get; init; }

    /// <summary>The unit file's text; null for a unit the image already has (from a package).</summary>
    public string? Content { get; init; }

    /// <summary>Whether the unit is enabled (true unless the YAML says otherwise).</summary>
    public bool Enable { get; init; } = true;
}
