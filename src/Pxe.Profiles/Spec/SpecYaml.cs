using System.Globalization;
using System.Text;
using Pxe.Profiles.Domain;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Pxe.Profiles.Spec;

/// <summary>
/// Reads and writes one spec object (a distro or a profile) as YAML. Reading keeps line numbers so that every
/// error names the file, line and field; it never throws for bad input.
/// </summary>
public static class SpecYaml
{
    private static readonly string[] DistroFields =
        ["kind", "name", "arch", "breed", "kernel", "initrd", "kernel_args", "install_tree", "variables", "secrets", "comment"];

    private static readonly string[] ProfileFields =
        ["kind", "name", "distro", "parent", "install_template", "boot_loader", "install_timeout", "install_retries",
         "kernel_args", "variables", "secrets", "handoff", "comment"];

    /// <summary>The result of reading one file: a distro, a profile, or errors.</summary>
    public sealed record ReadResult(Distro? Distro, Profile? Profile, SpecSource Source, IReadOnlyList<SpecError> Errors);

    /// <summary>Reads one object from YAML text. <paramref name="file"/> is only used in errors.</summary>
    public static ReadResult Read(string yaml, string file)
    {
        var errors = new List<SpecError>();
        YamlMappingNode? root;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            if (stream.Documents.Count != 1)
            {
                errors.Add(new SpecError(file, 1, null,
                    $"a spec file holds exactly one document (a distro or a profile); found {stream.Documents.Count}"));
                return new ReadResult(null, null, new SpecSource(file, 1), errors);
            }

            root = stream.Documents[0].RootNode as YamlMappingNode;
            if (root is null)
            {
                var line = Line(stream.Documents[0].RootNode);
                errors.Add(new SpecError(file, line, null, "the document must be a mapping with 'kind: distro' or 'kind: profile'"));
                return new ReadResult(null, null, new SpecSource(file, line), errors);
            }
        }
        catch (YamlException e)
        {
            var line = (int)Math.Max(1, e.Start.Line);
            errors.Add(new SpecError(file, line, null, $"invalid YAML: {FirstLine(e.Message)}"));
            return new ReadResult(null, null, new SpecSource(file, line), errors);
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet throws this (not YamlException) for some truncated input, e.g. an unterminated [ list at the end.
            var line = Math.Max(1, yaml.Count(c => c == '\n'));
            errors.Add(new SpecError(file, line, null, $"invalid YAML: {FirstLine(e.Message)} (look for an unterminated [ or {{ list)"));
            return new ReadResult(null, null, new SpecSource(file, line), errors);
        }

        var fields = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        var fieldLines = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (keyNode, valueNode) in root.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "";
            if (!fields.TryAdd(key, valueNode))
            {
                errors.Add(new SpecError(file, Line(keyNode), key, "the field is written twice; keep one"));
            }

            fieldLines[key] = Line(keyNode);
        }

        var source = new SpecSource(file, Line(root)) { FieldLines = fieldLines };
        var reader = new FieldReader(file, fields, fieldLines, errors);
        var kind = reader.String("kind");
        switch (kind)
        {
            case "distro":
                reader.RejectUnknown(DistroFields, "distro");
                var distro = ReadDistro(reader);
                return new ReadResult(errors.Count == 0 ? distro : null, null, source, errors);
            case "profile":
                reader.RejectUnknown(ProfileFields, "profile");
                var profile = ReadProfile(reader);
                return new ReadResult(null, errors.Count == 0 ? profile : null, source, errors);
            case null:
                if (!fields.ContainsKey("kind"))
                {
                    errors.Add(new SpecError(file, Line(root), "kind", "missing; write 'kind: distro' or 'kind: profile'"));
                }

                return new ReadResult(null, null, source, errors);
            default:
                errors.Add(new SpecError(file, source.LineOf("kind"), "kind", $"'{kind}' is not a kind; use 'distro' or 'profile'"));
                return new ReadResult(null, null, source, errors);
        }
    }

    private static Distro? ReadDistro(FieldReader r)
    {
        var name = r.Name();
        var kernel = r.String("kernel", required: true);
        var initrd = r.String("initrd", required: true);
        var breedText = r.String("breed") ?? "generic";
        DistroBreed breed = DistroBreed.Generic;
        if (!Enum.TryParse(breedText, ignoreCase: true, out breed) || !Enum.IsDefined(breed) || breedText.Any(char.IsDigit))
        {
            r.Error("breed", $"'{breedText}' is not a breed; use one of {string.Join(", ", Enum.GetNames<DistroBreed>().Select(n => n.ToLowerInvariant()))}");
        }

        var arch = r.String("arch") ?? "x86_64";
        if (arch is not ("x86_64" or "aarch64"))
        {
            r.Error("arch", $"'{arch}' is not a supported architecture; use x86_64 or aarch64");
        }

        var kernelArgs = r.KernelArgs("kernel_args");
        var variables = r.Mapping("variables");
        if (name is null || kernel is null || initrd is null)
        {
            return null;
        }

        return new Distro
        {
            Name = name,
            Arch = arch,
            Breed = breed,
            Kernel = kernel,
            Initrd = initrd,
            KernelArgs = kernelArgs,
            InstallTree = r.String("install_tree"),
            Variables = variables,
            Secrets = r.Names("secrets"),
            Comment = r.String("comment"),
        };
    }

    private static Profile? ReadProfile(FieldReader r)
    {
        var name = r.Name();
        var distro = r.String("distro");
        var parent = r.String("parent");
        if (distro is null == parent is null)
        {
            r.Error(distro is null ? "distro" : "parent",
                "a profile names exactly one of 'distro' (a root profile) or 'parent' (it inherits from another profile)");
        }

        BootLoader? loader = null;
        var loaderText = r.String("boot_loader");
        if (loaderText is not null)
        {
            if (Enum.TryParse<BootLoader>(loaderText, ignoreCase: true, out var l) && Enum.IsDefined(l) && !loaderText.Any(char.IsDigit))
            {
                loader = l;
            }
            else
            {
                r.Error("boot_loader", $"'{loaderText}' is not a boot loader; use ipxe, pxelinux or grub");
            }
        }

        var timeout = r.Duration("install_timeout", TimeSpan.FromSeconds(10), TimeSpan.FromDays(7));
        var retries = r.Integer("install_retries", 0, 10);
        var profile = new Profile
        {
            Name = name ?? "",
            Distro = distro,
            Parent = parent,
            InstallTemplate = r.String("install_template"),
            BootLoader = loader,
            InstallTimeout = timeout,
            InstallRetries = retries,
            KernelArgs = r.KernelArgs("kernel_args"),
            Variables = r.Mapping("variables"),
            Secrets = r.Names("secrets"),
            Handoff = r.Mapping("handoff"),
            Comment = r.String("comment"),
        };
        return name is null ? null : profile;
    }

    /// <summary>
    /// Reads an object given as a tree of values (an API request body), with exactly the rules files follow.
    /// </summary>
    public static ReadResult ReadFields(IReadOnlyDictionary<string, object?> fields, string origin) =>
        Read(Serialize(MappingNode(fields)), origin);

    /// <summary>Writes a distro as YAML in the same shape <see cref="Read"/> accepts.</summary>
    public static string Write(Distro d)
    {
        var m = new YamlMappingNode
        {
            { "kind", "distro" },
            { "name", d.Name },
            { "arch", d.Arch },
            { "breed", d.Breed.ToString().ToLowerInvariant() },
            { "kernel", Quoted(d.Kernel) },
            { "initrd", Quoted(d.Initrd) },
        };
        AddKernelArgs(m, d.KernelArgs);
        if (d.InstallTree is not null)
        {
            m.Add("install_tree", Quoted(d.InstallTree));
        }

        AddMapping(m, "variables", d.Variables);
        AddNames(m, "secrets", d.Secrets);
        AddComment(m, d.Comment);
        return Serialize(m);
    }

    /// <summary>Writes a profile as YAML in the same shape <see cref="Read"/> accepts.</summary>
    public static string Write(Profile p)
    {
        var m = new YamlMappingNode { { "kind", "profile" }, { "name", p.Name } };
        if (p.Distro is not null)
        {
            m.Add("distro", p.Distro);
        }

        if (p.Parent is not null)
        {
            m.Add("parent", p.Parent);
        }

        if (p.InstallTemplate is not null)
        {
            m.Add("install_template", Quoted(p.InstallTemplate));
        }

        if (p.BootLoader is { } loader)
        {
            m.Add("boot_loader", loader.ToString().ToLowerInvariant());
        }

        if (p.InstallTimeout is { } t)
        {
            m.Add("install_timeout", Durations.Format(t));
        }

        if (p.InstallRetries is { } n)
        {
            m.Add("install_retries", n.ToString(CultureInfo.InvariantCulture));
        }

        AddKernelArgs(m, p.KernelArgs);
        AddMapping(m, "variables", p.Variables);
        AddNames(m, "secrets", p.Secrets);
        AddMapping(m, "handoff", p.Handoff);
        AddComment(m, p.Comment);
        return Serialize(m);
    }

    private static void AddComment(YamlMappingNode m, string? comment)
    {
        if (comment is not null)
        {
            m.Add("comment", Quoted(comment));
        }
    }

    private static void AddNames(YamlMappingNode m, string field, IReadOnlyList<string> names)
    {
        if (names.Count != 0)
        {
            m.Add(field, new YamlSequenceNode(names.Select(n => (YamlNode)Quoted(n))));
        }
    }

    private static void AddKernelArgs(YamlMappingNode m, IReadOnlyDictionary<string, string?> args)
    {
        if (args.Count == 0)
        {
            return;
        }

        var node = new YamlMappingNode();
        foreach (var (k, v) in args.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            node.Add(Quoted(k), v is null ? new YamlScalarNode("~") { Style = ScalarStyle.Plain } : Quoted(v));
        }

        m.Add("kernel_args", node);
    }

    private static void AddMapping(YamlMappingNode m, string field, IReadOnlyDictionary<string, object?> values)
    {
        if (values.Count != 0)
        {
            m.Add(field, ToNode(values));
        }
    }

    /// <summary>Converts a variable value tree into YAML nodes (the inverse of what reading produces).</summary>
    internal static YamlNode ToNode(object? value) => value switch
    {
        null => new YamlScalarNode("~") { Style = ScalarStyle.Plain },
        bool b => new YamlScalarNode(b ? "true" : "false") { Style = ScalarStyle.Plain },
        long or int or double => new YamlScalarNode(Convert.ToString(value, CultureInfo.InvariantCulture)) { Style = ScalarStyle.Plain },
        string s => Quoted(s),
        IReadOnlyDictionary<string, object?> d => MappingNode(d),
        IEnumerable<object?> list => new YamlSequenceNode(list.Select(ToNode)),
        _ => Quoted(Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""),
    };

    private static YamlMappingNode MappingNode(IReadOnlyDictionary<string, object?> d)
    {
        var node = new YamlMappingNode();
        foreach (var (k, v) in d.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            node.Add(Quoted(k), ToNode(v));
        }

        return node;
    }

    private static YamlScalarNode Quoted(string s) =>
        new(s) { Style = NeedsQuotes(s) ? ScalarStyle.DoubleQuoted : ScalarStyle.Plain };

    private static bool NeedsQuotes(string s) =>
        s.Length == 0 || s.Contains('\n') || !s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/')
        || s is "true" or "false" or "null" or "yes" or "no" or "on" or "off" or "~"
        || char.IsAsciiDigit(s[0]) || s[0] is '-' or '.';

    private static string Serialize(YamlMappingNode node)
    {
        var stream = new YamlStream(new YamlDocument(node));
        var sb = new StringBuilder();
        using (var w = new StringWriter(sb, CultureInfo.InvariantCulture))
        {
            stream.Save(w, assignAnchors: false);
        }

        var text = sb.ToString().Replace("\r\n", "\n", StringComparison.Ordinal);
        // YamlDotNet ends a saved stream with a document end marker; a spec file does not need it.
        if (text.EndsWith("...\n", StringComparison.Ordinal))
        {
            text = text[..^4];
        }

        return text;
    }

    internal static int Line(YamlNode node) => (int)Math.Max(1, node.Start.Line);

    private static string FirstLine(string message)
    {
        var i = message.IndexOf('\n', StringComparison.Ordinal);
        return i < 0 ? message : message[..i];
    }

    /// <summary>Converts a YAML value into the variable tree: string, bool, long, list, dictionary, or null.</summary>
    internal static object? ToValue(YamlNode node) => node switch
    {
        YamlScalarNode s when s.Style == ScalarStyle.Plain => PlainScalar(s.Value),
        YamlScalarNode s => s.Value ?? "",
        YamlSequenceNode seq => seq.Children.Select(ToValue).ToList(),
        YamlMappingNode map => map.Children.ToDictionary(
            c => (c.Key as YamlScalarNode)?.Value ?? "", c => ToValue(c.Value), StringComparer.Ordinal),
        _ => null,
    };

    private static object? PlainScalar(string? v) => v switch
    {
        null or "~" or "null" or "" => null,
        "true" => true,
        "false" => false,
        _ when long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) => l,
        _ => v,
    };

    private sealed class FieldReader(
        string file, Dictionary<string, YamlNode> fields, Dictionary<string, int> lines, List<SpecError> errors)
    {
        public void Error(string field, string message) =>
            errors.Add(new SpecError(file, lines.TryGetValue(field, out var l) ? l : 1, field, message));

        public void RejectUnknown(string[] known, string kind)
        {
            foreach (var f in fields.Keys.Where(f => !known.Contains(f)))
            {
                Error(f, $"unknown field for a {kind}; known fields: {string.Join(", ", known)}");
            }
        }

        public string? Name()
        {
            var name = String("name", required: true);
            if (name is not null && !SpecNames.IsValid(name))
            {
                Error("name", SpecNames.Rule(name));
                return null;
            }

            return name;
        }

        public string? String(string field, bool required = false)
        {
            if (!fields.TryGetValue(field, out var node) || node is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "~" or "null" or "" })
            {
                if (required)
                {
                    errors.Add(new SpecError(file, lines.TryGetValue(field, out var l) ? l : 1, field, "required; it is missing or empty"));
                }

                return null;
            }

            if (node is not YamlScalarNode scalar)
            {
                Error(field, "must be a single value, not a list or mapping");
                return null;
            }

            return scalar.Value;
        }

        public int? Integer(string field, int min, int max)
        {
            var text = String(field);
            if (text is null)
            {
                return null;
            }

            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
            {
                Error(field, $"'{text}' must be a whole number from {min} to {max}");
                return null;
            }

            return v;
        }

        public TimeSpan? Duration(string field, TimeSpan min, TimeSpan max)
        {
            var text = String(field);
            if (text is null)
            {
                return null;
            }

            if (!Durations.TryParse(text, out var v) || v < min || v > max)
            {
                Error(field, $"'{text}' must be a duration from {Durations.Format(min)} to {Durations.Format(max)}, like 45s, 20m or 2h (a bare number is minutes)");
                return null;
            }

            return v;
        }

        public IReadOnlyDictionary<string, object?> Mapping(string field)
        {
            if (!fields.TryGetValue(field, out var node) || node is YamlScalarNode { Value: null or "~" or "null" or "" })
            {
                return new Dictionary<string, object?>();
            }

            if (node is not YamlMappingNode map)
            {
                Error(field, "must be a mapping of names to values");
                return new Dictionary<string, object?>();
            }

            var result = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var (k, v) in map.Children)
            {
                var key = (k as YamlScalarNode)?.Value ?? "";
                if (!SpecNames.IsValidVariable(key))
                {
                    errors.Add(new SpecError(file, Line(k), $"{field}.{key}", SpecNames.VariableRule(key)));
                    continue;
                }

                result[key] = ToValue(v);
            }

            return result;
        }

        public IReadOnlyList<string> Names(string field)
        {
            if (!fields.TryGetValue(field, out var node) || node is YamlScalarNode { Value: null or "~" or "null" or "" })
            {
                return [];
            }

            if (node is not YamlSequenceNode seq || seq.Children.Any(c => c is not YamlScalarNode))
            {
                Error(field, "must be a list of variable names, e.g. [root_password_hash, puppet_psk]");
                return [];
            }

            var names = new List<string>();
            foreach (var c in seq.Children.Cast<YamlScalarNode>())
            {
                var name = c.Value ?? "";
                if (!SpecNames.IsValidVariable(name) || name.StartsWith('!'))
                {
                    errors.Add(new SpecError(file, Line(c), field, SpecNames.VariableRule(name)));
                }
                else if (!names.Contains(name))
                {
                    names.Add(name);
                }
            }

            return names;
        }

        public IReadOnlyDictionary<string, string?> KernelArgs(string field)
        {
            if (!fields.TryGetValue(field, out var node))
            {
                return new Dictionary<string, string?>();
            }

            var result = new Dictionary<string, string?>(StringComparer.Ordinal);
            if (node is YamlScalarNode s)
            {
                var (parsed, error) = KernelCommandLine.Parse(s.Value ?? "");
                if (error is not null)
                {
                    Error(field, error);
                }

                return parsed;
            }

            if (node is not YamlMappingNode map)
            {
                Error(field, "must be a mapping (console: ttyS0,115200) or one line of key=value words");
                return result;
            }

            foreach (var (k, v) in map.Children)
            {
                var key = (k as YamlScalarNode)?.Value ?? "";
                var value = v is YamlScalarNode vs && !(vs.Style == ScalarStyle.Plain && vs.Value is null or "~" or "null" or "")
                    ? vs.Value
                    : null;
                if (v is not YamlScalarNode)
                {
                    errors.Add(new SpecError(file, Line(v), $"{field}.{key}", "a kernel argument's value is one word, not a list or mapping"));
                    continue;
                }

                var problem = KernelCommandLine.CheckArgument(key, value);
                if (problem is not null)
                {
                    errors.Add(new SpecError(file, Line(k), $"{field}.{key}", problem));
                    continue;
                }

                result[key] = value;
            }

            return result;
        }
    }
}
