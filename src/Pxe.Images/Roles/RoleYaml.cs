using System.Globalization;
using System.Text.RegularExpressions;
using Pxe.Profiles.Spec;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Pxe.Images.Roles;

/// <summary>
/// Reads role overlays from YAML (one <c>kind: role</c> document per file, e.g. <c>profiles/roles/web.yaml</c>).
/// Reading never throws for bad input: it returns every problem with the file, the line and what to fix.
/// </summary>
/// <example>
/// <code>
/// kind: role
/// name: web
/// packages: [nginx]
/// users:
///   - name: deploy
///     groups: [sudo]
///     ssh_authorized_keys: ["ssh-ed25519 AAAAC3... deploy@example"]
/// files:
///   - path: /var/www/html/index.html
///     content: "hello\n"
///     mode: "0644"
///     owner: www-data:www-data
/// units:
///   - nginx.service
///   - name: hello.service
///     content: |
///       [Service]
///       ExecStart=/bin/echo hello
///       [Install]
///       WantedBy=multi-user.target
/// </code>
/// </example>
public static partial class RoleYaml
{
    private static readonly string[] RoleFields = ["kind", "name", "description", "packages", "files", "users", "units"];
    private static readonly string[] FileFields = ["path", "content", "source", "mode", "owner"];
    private static readonly string[] UserFields = ["name", "uid", "comment", "shell", "home", "groups", "create_groups", "ssh_authorized_keys", "password_hash"];
    private static readonly string[] UnitFields = ["name", "content", "enable"];
    private static readonly string[] UnitSuffixes = [".service", ".socket", ".timer", ".target", ".path", ".mount", ".automount", ".swap", ".slice"];
    private static readonly string[] KeyTypes = ["ssh-ed25519", "ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"];

    /// <summary>The result of reading one role file: the role, or the errors (never both).</summary>
    public sealed record ReadResult(RoleDefinition? Role, IReadOnlyList<SpecError> Errors);

    /// <summary>
    /// Reads one role from <paramref name="yaml"/>. <paramref name="file"/> names the file in errors;
    /// <paramref name="baseDirectory"/> is where <c>source:</c> paths are resolved (the YAML file's folder).
    /// </summary>
    public static ReadResult Read(string yaml, string file, string baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var errors = new List<SpecError>();
        YamlMappingNode? root;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            if (stream.Documents.Count != 1)
            {
                errors.Add(new SpecError(file, 1, null, $"a role file holds exactly one document; found {stream.Documents.Count}"));
                return new ReadResult(null, errors);
            }

            root = stream.Documents[0].RootNode as YamlMappingNode;
            if (root is null)
            {
                errors.Add(new SpecError(file, Line(stream.Documents[0].RootNode), null, "the document must be a mapping that starts with 'kind: role'"));
                return new ReadResult(null, errors);
            }
        }
        catch (YamlException e)
        {
            var message = FirstLine(e.Message);
            errors.Add(message.StartsWith("Duplicate key", StringComparison.Ordinal)
                ? new SpecError(file, (int)Math.Max(1, e.Start.Line), message["Duplicate key".Length..].Trim(), "the field is written twice; keep one")
                : new SpecError(file, (int)Math.Max(1, e.Start.Line), null, $"invalid YAML: {message}"));
            return new ReadResult(null, errors);
        }
        catch (InvalidOperationException e)
        {
            errors.Add(new SpecError(file, Math.Max(1, yaml.Count(c => c == '\n')), null, $"invalid YAML: {FirstLine(e.Message)} (look for an unterminated [ or {{ list)"));
            return new ReadResult(null, errors);
        }

        var r = new MappingReader(file, root, errors, RoleFields, "role");
        var kind = r.String("kind");
        if (kind is null && !r.Has("kind"))
        {
            errors.Add(new SpecError(file, Line(root), "kind", "missing; start the file with 'kind: role'"));
        }
        else if (kind is not null && kind != "role")
        {
            errors.Add(new SpecError(file, r.LineOf("kind"), "kind", $"'{kind}' is not 'role'; a role file says 'kind: role'"));
        }

        var name = r.String("name");
        if (name is null)
        {
            if (!r.Has("name"))
            {
                errors.Add(new SpecError(file, Line(root), "name", "missing; add 'name: <role>' (lowercase letters, digits, '-')"));
            }
        }
        else if (!NamePattern().IsMatch(name))
        {
            errors.Add(new SpecError(file, r.LineOf("name"), "name", $"'{name}' is not a role name; use lowercase letters, digits and '-', starting with a letter or digit (at most 63)"));
        }

        var packages = new List<string>();
        var packageItems = r.StringList("packages").ToList();
        foreach (var (node, value) in packageItems)
        {
            if (PackagePattern().IsMatch(value))
            {
                packages.Add(value);
            }
            else
            {
                errors.Add(new SpecError(file, Line(node), "packages", $"'{value}' is not a Debian package name; use 'name' or 'name=version' (lowercase letters, digits, '+', '-', '.')"));
            }
        }

        AddDuplicates(errors, file, "packages", packageItems.Select(p => (p.Node, p.Value.Split('=')[0])));

        var users = new List<RoleUser>();
        var userNodes = r.MappingList("users").ToList();
        foreach (var item in userNodes)
        {
            if (ReadUser(file, item, errors) is { } user)
            {
                users.Add(user);
            }
        }

        AddDuplicates(errors, file, "users", userNodes.Select(m => ((YamlNode)m, Scalar(m, "name") ?? "")).Where(p => p.Item2.Length > 0));

        var files = new List<RoleFile>();
        var fileNodes = r.MappingList("files").ToList();
        foreach (var item in fileNodes)
        {
            if (ReadFile(file, baseDirectory, item, errors) is { } roleFile)
            {
                files.Add(roleFile);
            }
        }

        AddDuplicates(errors, file, "files", fileNodes.Select(m => ((YamlNode)m, Scalar(m, "path") ?? "")).Where(p => p.Item2.Length > 0));

        var units = new List<RoleUnit>();
        var unitNodes = new List<(YamlNode, string)>();
        foreach (var node in r.Sequence("units"))
        {
            if (ReadUnit(file, node, errors) is { } unit)
            {
                units.Add(unit);
                unitNodes.Add((node, unit.Name));
            }
        }

        AddDuplicates(errors, file, "units", unitNodes);

        if (errors.Count > 0 || name is null)
        {
            return new ReadResult(null, errors);
        }

        return new ReadResult(new RoleDefinition
        {
            Name = name,
            Description = r.String("description"),
            Packages = packages,
            Users = users,
            Files = files,
            Units = units,
            SourceFile = file,
        }, errors);
    }

    /// <summary>Reads the role file at <paramref name="path"/>; throws a <see cref="RoleDefinitionException"/> listing every error.</summary>
    public static RoleDefinition Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RoleDefinitionException([new SpecError(path, 0, null, $"cannot be read ({e.Message}); check the path and its permissions")]);
        }

        var result = Read(text, path, Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".");
        return result.Role ?? throw new RoleDefinitionException(result.Errors);
    }

    /// <summary>
    /// Reads every <c>*.yaml</c>/<c>*.yml</c> role in <paramref name="directory"/> (e.g. <c>profiles/roles</c>), keyed by role name;
    /// throws a <see cref="RoleDefinitionException"/> with the errors of all files, including a name defined twice.
    /// </summary>
    public static IReadOnlyDictionary<string, RoleDefinition> LoadDirectory(string directory)
    {
        var roles = new Dictionary<string, RoleDefinition>(StringComparer.Ordinal);
        var errors = new List<SpecError>();
        if (!Directory.Exists(directory))
        {
            return roles;
        }

        foreach (var path in Directory.EnumerateFiles(directory).Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var result = Read(File.ReadAllText(path), path, directory);
            errors.AddRange(result.Errors);
            if (result.Role is { } role && !roles.TryAdd(role.Name, role))
            {
                errors.Add(new SpecError(path, 1, "name", $"role '{role.Name}' is already defined in {roles[role.Name].SourceFile}; rename one"));
            }
        }

        return errors.Count > 0 ? throw new RoleDefinitionException(errors) : roles;
    }

    private static RoleUser? ReadUser(string file, YamlMappingNode node, List<SpecError> errors)
    {
        var before = errors.Count;
        var r = new MappingReader(file, node, errors, UserFields, "user");
        var name = r.String("name");
        if (name is null)
        {
            errors.Add(new SpecError(file, Line(node), "users.name", "missing; every user needs 'name:'"));
        }
        else if (!UserPattern().IsMatch(name))
        {
            errors.Add(new SpecError(file, r.LineOf("name"), "users.name", $"'{name}' is not a login name; use lowercase letters, digits, '_' and '-', starting with a letter or '_' (at most 32)"));
        }

        var uid = r.Integer("uid", 1, 59999, "users.uid", "a user id from 1 to 59999 (0 is root)");
        var shell = r.String("shell");
        if (shell is not null && !shell.StartsWith('/'))
        {
            errors.Add(new SpecError(file, r.LineOf("shell"), "users.shell", $"'{shell}' is not an absolute path; write e.g. /bin/bash"));
        }

        var home = r.String("home");
        if (home is not null && !IsSafeAbsolutePath(home))
        {
            errors.Add(new SpecError(file, r.LineOf("home"), "users.home", $"'{home}' is not an absolute path without '..'; write e.g. /home/{name}"));
        }

        var groups = new List<string>();
        foreach (var (groupNode, group) in r.StringList("groups"))
        {
            if (UserPattern().IsMatch(group))
            {
                groups.Add(group);
            }
            else
            {
                errors.Add(new SpecError(file, Line(groupNode), "users.groups", $"'{group}' is not a group name"));
            }
        }

        var keys = new List<string>();
        foreach (var (keyNode, key) in r.StringList("ssh_authorized_keys"))
        {
            var trimmed = key.Trim();
            if (trimmed.Contains('\n', StringComparison.Ordinal) || !KeyTypes.Any(t => trimmed.Contains(t + " ", StringComparison.Ordinal)))
            {
                errors.Add(new SpecError(file, Line(keyNode), "users.ssh_authorized_keys", $"not an SSH public key on one line; paste the whole line of the .pub file (it starts with a key type such as ssh-ed25519 or ssh-rsa)"));
            }
            else
            {
                keys.Add(trimmed);
            }
        }

        var hash = r.String("password_hash");
        if (hash is not null && (!hash.StartsWith('$') || hash.Contains(':', StringComparison.Ordinal)))
        {
            errors.Add(new SpecError(file, r.LineOf("password_hash"), "users.password_hash", "not a crypt(3) hash; create one with 'mkpasswd -m yescrypt' (it starts with '$')"));
        }

        var comment = r.String("comment");
        if (comment is not null && (comment.Contains(':', StringComparison.Ordinal) || comment.Contains('\n', StringComparison.Ordinal)))
        {
            errors.Add(new SpecError(file, r.LineOf("comment"), "users.comment", "may not contain ':' or a line break (they would break /etc/passwd)"));
        }

        return errors.Count > before || name is null
            ? null
            : new RoleUser
            {
                Name = name,
                Uid = uid,
                Comment = comment,
                Shell = shell,
                Home = home,
                Groups = groups,
                CreateGroups = r.Boolean("create_groups") ?? false,
                SshAuthorizedKeys = keys,
                PasswordHash = hash,
            };
    }

    private static RoleFile? ReadFile(string file, string baseDirectory, YamlMappingNode node, List<SpecError> errors)
    {
        var before = errors.Count;
        var r = new MappingReader(file, node, errors, FileFields, "file");
        var path = r.String("path");
        if (path is null)
        {
            errors.Add(new SpecError(file, Line(node), "files.path", "missing; every file needs 'path:' (absolute, inside the image)"));
        }
        else if (!IsSafeAbsolutePath(path) || path.EndsWith('/'))
        {
            errors.Add(new SpecError(file, r.LineOf("path"), "files.path", $"'{path}' is not an absolute file path without '..'; write e.g. /etc/motd"));
        }

        var content = r.String("content", allowEmpty: true);
        var source = r.String("source");
        string? sourcePath = null;
        if (content is null == (source is null))
        {
            errors.Add(new SpecError(file, Line(node), "files", $"{path ?? "a file"}: give exactly one of 'content:' (the text) or 'source:' (a file beside the YAML)"));
        }
        else if (source is not null)
        {
            sourcePath = Path.GetFullPath(Path.Combine(baseDirectory, source));
            if (!File.Exists(sourcePath))
            {
                errors.Add(new SpecError(file, r.LineOf("source"), "files.source", $"'{source}' does not exist (looked for {sourcePath}); paths are relative to the role file's folder"));
            }
        }

        var mode = (UnixFileMode)Convert.ToInt32("644", 8);
        if (r.String("mode") is { } modeText)
        {
            if (modeText.Length is >= 3 and <= 5 && modeText.All(c => c is >= '0' and <= '7') && Convert.ToInt32(modeText, 8) <= Convert.ToInt32("7777", 8))
            {
                mode = (UnixFileMode)Convert.ToInt32(modeText, 8);
            }
            else
            {
                errors.Add(new SpecError(file, r.LineOf("mode"), "files.mode", $"'{modeText}' is not an octal mode; write it quoted, e.g. \"0644\" or \"0755\""));
            }
        }

        var owner = r.String("owner") ?? "root:root";
        var parts = owner.Split(':');
        if (parts.Length > 2 || parts.Any(p => !(UserPattern().IsMatch(p) || p.All(char.IsAsciiDigit) && p.Length > 0)))
        {
            errors.Add(new SpecError(file, r.LineOf("owner"), "files.owner", $"'{owner}' is not an owner; write 'user' or 'user:group' (names or numbers)"));
        }

        return errors.Count > before || path is null
            ? null
            : new RoleFile { Path = path, Content = content, Source = sourcePath, Mode = mode, Owner = owner };
    }

    private static RoleUnit? ReadUnit(string file, YamlNode node, List<SpecError> errors)
    {
        var before = errors.Count;
        string? name;
        string? content = null;
        var enable = true;
        var line = Line(node);
        switch (node)
        {
            case YamlScalarNode scalar:
                name = scalar.Value;
                break;
            case YamlMappingNode mapping:
                var r = new MappingReader(file, mapping, errors, UnitFields, "unit");
                name = r.String("name");
                content = r.String("content");
                enable = r.Boolean("enable") ?? true;
                line = r.LineOf("name");
                if (name is null)
                {
                    errors.Add(new SpecError(file, Line(node), "units.name", "missing; every unit needs 'name:' (e.g. hello.service)"));
                }

                break;
            default:
                errors.Add(new SpecError(file, line, "units", "each unit is a name (nginx.service) or a mapping with name, content and enable"));
                return null;
        }

        if (name is not null && (!UnitPattern().IsMatch(name) || !UnitSuffixes.Any(s => name.EndsWith(s, StringComparison.Ordinal))))
        {
            errors.Add(new SpecError(file, line, "units.name", $"'{name}' is not a unit name; write it with its type, e.g. {name}.service ({string.Join(", ", UnitSuffixes)})"));
        }

        if (content is not null && !content.Contains('[', StringComparison.Ordinal))
        {
            errors.Add(new SpecError(file, line, "units.content", $"{name}: the content is not a unit file; it needs sections such as [Unit], [Service] and [Install]"));
        }

        return errors.Count > before || name is null ? null : new RoleUnit { Name = name, Content = content, Enable = enable };
    }

    private static void AddDuplicates(List<SpecError> errors, string file, string field, IEnumerable<(YamlNode Node, string Key)> items)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (node, key) in items)
        {
            if (!seen.TryAdd(key, Line(node)))
            {
                errors.Add(new SpecError(file, Line(node), field, $"'{key}' is listed twice (first at line {seen[key]}); keep one"));
            }
        }
    }

    internal static bool IsSafeAbsolutePath(string path) =>
        path.StartsWith('/') && !path.Contains('\0', StringComparison.Ordinal) && !path.Contains('\n', StringComparison.Ordinal) &&
        path.Split('/').All(segment => segment is not ".." and not ".");

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? (value as YamlScalarNode)?.Value : null;

    /// <summary>The Levenshtein distance, for "did you mean" suggestions.</summary>
    private static int Distance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            previous = current;
        }

        return previous[b.Length];
    }

    private static int Line(YamlNode node) => (int)Math.Max(1, node.Start.Line);

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?$")]
    private static partial Regex PackagePattern();

    [GeneratedRegex("^[a-z_][a-z0-9_-]{0,31}$")]
    private static partial Regex UserPattern();

    [GeneratedRegex(@"^[A-Za-z0-9:_.\\@-]+$")]
    private static partial Regex UnitPattern();

    /// <summary>Reads the fields of one mapping, reporting unknown fields, wrong types and bad values with their line.</summary>
    private sealed class MappingReader
    {
        private static readonly YamlSequenceNode EmptySequence = [];
        private readonly string _file;
        private readonly List<SpecError> _errors;
        private readonly Dictionary<string, (YamlNode Key, YamlNode Value)> _fields = new(StringComparer.Ordinal);
        private readonly string _prefix;

        public MappingReader(string file, YamlMappingNode node, List<SpecError> errors, string[] known, string what)
        {
            _file = file;
            _errors = errors;
            _prefix = what == "role" ? "" : what switch { "user" => "users.", "file" => "files.", _ => "units." };
            foreach (var (keyNode, valueNode) in node.Children)
            {
                var key = (keyNode as YamlScalarNode)?.Value ?? "";
                if (!known.Contains(key, StringComparer.Ordinal))
                {
                    var near = known.FirstOrDefault(k => Distance(k, key.ToLowerInvariant().Replace('-', '_')) <= 2);
                    errors.Add(new SpecError(file, Line(keyNode), _prefix + key,
                        near is null ? $"not a field of a {what}; the fields are {string.Join(", ", known)}" : $"not a field of a {what}; did you mean '{near}'?"));
                }
                else if (!_fields.TryAdd(key, (keyNode, valueNode)))
                {
                    errors.Add(new SpecError(file, Line(keyNode), _prefix + key, "the field is written twice; keep one"));
                }
            }
        }

        public bool Has(string key) => _fields.ContainsKey(key);

        public int LineOf(string key) => _fields.TryGetValue(key, out var f) ? Line(f.Key) : 1;

        public string? String(string key, bool allowEmpty = false)
        {
            if (!_fields.TryGetValue(key, out var f))
            {
                return null;
            }

            if (f.Value is not YamlScalarNode scalar)
            {
                _errors.Add(new SpecError(_file, Line(f.Key), _prefix + key, "must be a single value (text), not a list or mapping"));
                return null;
            }

            if (scalar.Value is null or "~" || (!allowEmpty && scalar.Value.Length == 0 && scalar.Style == ScalarStyle.Plain))
            {
                _errors.Add(new SpecError(_file, Line(f.Key), _prefix + key, "is empty; give a value or remove the field"));
                return null;
            }

            return scalar.Value;
        }

        public bool? Boolean(string key)
        {
            var text = String(key);
            switch (text)
            {
                case null:
                    return null;
                case "true" or "yes" or "True":
                    return true;
                case "false" or "no" or "False":
                    return false;
                default:
                    _errors.Add(new SpecError(_file, LineOf(key), _prefix + key, $"'{text}' is not true or false"));
                    return null;
            }
        }

        public int? Integer(string key, int min, int max, string field, string what)
        {
            var text = String(key);
            if (text is null)
            {
                return null;
            }

            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
            {
                return value;
            }

            _errors.Add(new SpecError(_file, LineOf(key), field, $"'{text}' is not {what}"));
            return null;
        }

        public YamlSequenceNode Sequence(string key)
        {
            if (!_fields.TryGetValue(key, out var f))
            {
                return EmptySequence;
            }

            if (f.Value is YamlSequenceNode sequence)
            {
                return sequence;
            }

            if (f.Value is YamlScalarNode { Value: null or "" or "~" })
            {
                return EmptySequence;
            }

            _errors.Add(new SpecError(_file, Line(f.Key), _prefix + key, "must be a list (write each item on its own '- ' line, or [a, b])"));
            return EmptySequence;
        }

        public IEnumerable<(YamlNode Node, string Value)> StringList(string key)
        {
            var list = new List<(YamlNode, string)>();
            foreach (var item in Sequence(key))
            {
                if (item is YamlScalarNode { Value: { Length: > 0 } value })
                {
                    list.Add((item, value));
                }
                else
                {
                    _errors.Add(new SpecError(_file, Line(item), _prefix + key, "each item must be a single value (text)"));
                }
            }

            return list;
        }

        public IEnumerable<YamlMappingNode> MappingList(string key)
        {
            var list = new List<YamlMappingNode>();
            foreach (var item in Sequence(key))
            {
                if (item is YamlMappingNode mapping)
                {
                    list.Add(mapping);
                }
                else
                {
                    _errors.Add(new SpecError(_file, Line(item), _prefix + key, $"each item must be a mapping (e.g. '- name: …' / '- path: …')"));
                }
            }

            return list;
        }
    }
}

/// <summary>A role file (or several) could not be read; <see cref="Errors"/> lists every problem with its file and line.</summary>
public sealed class RoleDefinitionException : Exception
{
    public RoleDefinitionException(IReadOnlyList<SpecError> errors)
        : base(string.Join(Environment.NewLine, errors.Select(e => e.ToString())))
    {
        Errors = errors;
    }

    public RoleDefinitionException()
        : this([])
    {
    }

    public RoleDefinitionException(string message)
        : base(message)
    {
        Errors = [];
    }

    public RoleDefinitionException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [];
    }

    /// <summary>Every problem found, each with file, line, field and what to fix.</summary>
    public IReadOnlyList<SpecError> Errors { get; }
}
