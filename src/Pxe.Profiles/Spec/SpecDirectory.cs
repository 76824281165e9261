namespace Pxe.Profiles.Spec;

/// <summary>
/// The spec as files: every <c>*.yaml</c> / <c>*.yml</c> below the spec directory holds one distro or one profile
/// (<c>profiles/distros/rhel9.yaml</c>, <c>profiles/web.yaml</c>…), except <c>profiles/roles/</c>, which holds the image
/// builder's role overlays (read by Pxe.Images). Loading reads them all and reports every problem.
/// Writing (for changes made through the API) replaces one file atomically so the files stay the spec.
/// </summary>
public sealed class SpecDirectory(string root)
{
    /// <summary>The spec directory.</summary>
    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>Reads every spec file. Problems come back as errors; nothing throws for bad content.</summary>
    public (SpecModel? Spec, IReadOnlyList<SpecError> Errors) Load()
    {
        var errors = new List<SpecError>();
        if (!Directory.Exists(Root))
        {
            errors.Add(new SpecError(Root, 0, null, "the spec directory does not exist; create it or point --spec-dir at the folder holding distros and profiles"));
            return (null, errors);
        }

        var distros = new List<(Domain.Distro, SpecSource)>();
        var profiles = new List<(Domain.Profile, SpecSource)>();
        var seenDistros = new Dictionary<string, SpecSource>(StringComparer.Ordinal);
        var seenProfiles = new Dictionary<string, SpecSource>(StringComparer.Ordinal);
        foreach (var path in EnumerateFiles())
        {
            var relative = Path.GetRelativePath(Root, path).Replace('\\', '/');
            string text;
            try
            {
                text = File.ReadAllText(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                errors.Add(new SpecError(relative, 0, null, $"cannot be read ({e.GetType().Name}); check its permissions"));
                continue;
            }

            var read = SpecYaml.Read(text, relative);
            errors.AddRange(read.Errors);
            if (read.Distro is { } d)
            {
                if (seenDistros.TryGetValue(d.Name, out var first))
                {
                    errors.Add(new SpecError(relative, read.Source.LineOf("name"), "name", $"distro '{d.Name}' is already defined in {first.File}:{first.LineOf("name")}; rename one"));
                }
                else
                {
                    seenDistros[d.Name] = read.Source;
                    distros.Add((d, read.Source));
                }
            }

            if (read.Profile is { } p)
            {
                if (seenProfiles.TryGetValue(p.Name, out var first))
                {
                    errors.Add(new SpecError(relative, read.Source.LineOf("name"), "name", $"profile '{p.Name}' is already defined in {first.File}:{first.LineOf("name")}; rename one"));
                }
                else
                {
                    seenProfiles[p.Name] = read.Source;
                    profiles.Add((p, read.Source));
                }
            }
        }

        return (new SpecModel(distros, profiles, 0), errors);
    }

    /// <summary>The file an object created through the API is written to.</summary>
    public string PathFor(string kind, string name) =>
        kind == "distro" ? Path.Combine(Root, "distros", name + ".yaml") : Path.Combine(Root, name + ".yaml");

    /// <summary>Writes an object's YAML atomically (temp file + rename) and returns its path relative to the root.</summary>
    public string Write(string relativeOrNull, string kind, string name, string yaml)
    {
        var path = relativeOrNull is "(api)" or "" ? PathFor(kind, name) : Path.Combine(Root, relativeOrNull);
        var full = Path.GetFullPath(path);
        if (!full.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new IOException($"refusing to write outside the spec directory: {relativeOrNull}");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + ".tmp-" + Environment.ProcessId;
        File.WriteAllText(temp, yaml);
        File.Move(temp, full, overwrite: true);
        return Path.GetRelativePath(Root, full).Replace('\\', '/');
    }

    /// <summary>Deletes the file an object was read from, if it is inside the spec directory.</summary>
    public void Delete(string relative)
    {
        if (relative is "(api)" or "")
        {
            return;
        }

        var full = Path.GetFullPath(Path.Combine(Root, relative));
        if (full.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal) && File.Exists(full))
        {
            File.Delete(full);
        }
    }

    /// <summary>The folder of image role overlays, not part of the distro and profile spec.</summary>
    public string RolesDirectory => Path.Combine(Root, "roles");

    private IEnumerable<string> EnumerateFiles() =>
        Directory.EnumerateFiles(Root, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = false })
            .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
            .Where(f => !f.StartsWith(RolesDirectory + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
}
