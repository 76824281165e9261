namespace Pxe.Images.Building;

/// <summary>
/// Enables systemd units in a root file system the way <c>systemctl --root=DIR enable</c> does: a symbolic link in
/// <c>/etc/systemd/system/TARGET.wants/</c> (or <c>.requires/</c>) for each <c>WantedBy=</c> (<c>RequiredBy=</c>) of the
/// unit's [Install] section, an alias link for each <c>Alias=</c>, and the same for every unit named in <c>Also=</c>.
/// See systemd.unit(5), section [Install].
/// </summary>
internal static class SystemdUnits
{
    /// <summary>Where unit files are looked up, in systemd's order of precedence.</summary>
    public static readonly string[] UnitDirectories = ["etc/systemd/system", "usr/lib/systemd/system", "lib/systemd/system"];

    /// <summary>Enables <paramref name="unit"/> in <paramref name="root"/>; returns the links made (paths inside the image).</summary>
    public static IReadOnlyList<string> Enable(string root, string unit)
    {
        var links = new List<string>();
        Enable(root, unit, links, new HashSet<string>(StringComparer.Ordinal));
        return links;
    }

    /// <summary>The [Install] section of a unit file: each key with its values, in order.</summary>
    internal static ILookup<string, string> ParseInstallSection(string text)
    {
        var pairs = new List<(string Key, string Value)>();
        var inInstall = false;
        foreach (var raw in text.Replace("\\\n", " ", StringComparison.Ordinal).Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith('['))
            {
                inInstall = line == "[Install]";
                continue;
            }

            if (!inInstall || line.Length == 0 || line[0] is '#' or ';' || !line.Contains('=', StringComparison.Ordinal))
            {
                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            var key = line[..equals].Trim();
            foreach (var value in line[(equals + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                pairs.Add((key, value));
            }
        }

        return pairs.ToLookup(p => p.Key, p => p.Value, StringComparer.Ordinal);
    }

    private static void Enable(string root, string unit, List<string> links, HashSet<string> seen)
    {
        if (!seen.Add(unit))
        {
            return;
        }

        // A template instance (getty@tty1.service) is enabled from its template file (getty@.service).
        var at = unit.IndexOf('@', StringComparison.Ordinal);
        var dot = unit.LastIndexOf('.');
        var fileName = at >= 0 && at + 1 < dot ? unit[..(at + 1)] + unit[dot..] : unit;
        var (imagePath, hostPath) = Find(root, fileName) ?? throw new InvalidOperationException(
            $"unit '{unit}' is not in the image (looked in /{string.Join(", /", UnitDirectories)}); give its 'content:' or add the package that ships it");

        var install = ParseInstallSection(File.ReadAllText(hostPath));
        var instance = unit;
        if (at >= 0 && at + 1 == dot)
        {
            var defaultInstance = install["DefaultInstance"].FirstOrDefault() ?? throw new InvalidOperationException(
                $"unit '{unit}' is a template without DefaultInstance=; enable an instance such as {unit[..at]}@NAME{unit[dot..]}");
            instance = unit[..(at + 1)] + defaultInstance + unit[dot..];
        }

        var wanted = install["WantedBy"].Select(t => (Target: t, Suffix: ".wants"))
            .Concat(install["RequiredBy"].Select(t => (Target: t, Suffix: ".requires")))
            .Concat(install["UpheldBy"].Select(t => (Target: t, Suffix: ".upholds")))
            .ToList();
        var aliases = install["Alias"].ToList();
        var also = install["Also"].ToList();
        if (wanted.Count == 0 && aliases.Count == 0 && also.Count == 0)
        {
            throw new InvalidOperationException(
                $"unit '{unit}' has no [Install] section with WantedBy=, RequiredBy=, Alias= or Also=, so it cannot be enabled; add e.g. '[Install]' and 'WantedBy=multi-user.target' or set 'enable: false'");
        }

        foreach (var (target, suffix) in wanted)
        {
            links.Add(Link(root, $"/etc/systemd/system/{target}{suffix}/{instance}", imagePath));
        }

        foreach (var alias in aliases)
        {
            links.Add(Link(root, $"/etc/systemd/system/{alias}", imagePath));
        }

        foreach (var other in also)
        {
            Enable(root, other, links, seen);
        }
    }

    private static (string ImagePath, string HostPath)? Find(string root, string fileName)
    {
        foreach (var directory in UnitDirectories)
        {
            var hostPath = Path.Combine(root, directory, fileName);
            if (File.Exists(hostPath) || new FileInfo(hostPath).LinkTarget is not null)
            {
                // A link inside the image points at an image path: resolve it against the image root, not the host.
                var info = new FileInfo(hostPath);
                while (info.LinkTarget is { } target)
                {
                    var next = target.StartsWith('/') ? Path.Combine(root, target.TrimStart('/')) : Path.Combine(info.DirectoryName!, target);
                    info = new FileInfo(next);
                }

                if (info.Exists)
                {
                    return ("/" + directory + "/" + fileName, info.FullName);
                }
            }
        }

        return null;
    }

    private static string Link(string root, string linkInImage, string targetInImage)
    {
        var hostLink = Path.Combine(root, linkInImage.TrimStart('/'));
        Directory.CreateDirectory(Path.GetDirectoryName(hostLink)!);
        if (new FileInfo(hostLink).LinkTarget is not null || File.Exists(hostLink))
        {
            File.Delete(hostLink);
        }

        File.CreateSymbolicLink(hostLink, targetInImage);
        return linkInImage;
    }
}
