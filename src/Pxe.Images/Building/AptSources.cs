namespace Pxe.Images.Building;

/// <summary>Finds the Debian mirror this machine's apt uses (deb822 <c>*.sources</c> and one-line <c>*.list</c> files).</summary>
public static class AptSources
{
    /// <summary>Where apt keeps its sources.</summary>
    public const string DefaultDirectory = "/etc/apt";

    /// <summary>
    /// The URI of the first enabled <c>deb</c> source in <paramref name="aptDirectory"/> that carries <paramref name="suite"/>
    /// (security and update suites are not mirrors of the release), or null when there is none.
    /// </summary>
    public static string? FindMirror(string suite, string aptDirectory = DefaultDirectory)
    {
        var files = new List<string>();
        var main = Path.Combine(aptDirectory, "sources.list");
        if (File.Exists(main))
        {
            files.Add(main);
        }

        var parts = Path.Combine(aptDirectory, "sources.list.d");
        if (Directory.Exists(parts))
        {
            files.AddRange(Directory.EnumerateFiles(parts).Where(f => f.EndsWith(".list", StringComparison.Ordinal) || f.EndsWith(".sources", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        }

        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            var found = file.EndsWith(".sources", StringComparison.Ordinal) ? FromDeb822(text, suite) : FromOneLine(text, suite);
            if (found is not null)
            {
                return found;
            }
        }

        return null;
    }

    internal static string? FromOneLine(string text, string suite)
    {
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Split('#')[0].Trim();
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
            if (words.Count < 3 || words[0] != "deb")
            {
                continue;
            }

            // deb [options] uri suite components...
            var index = 1;
            if (words[1].StartsWith('['))
            {
                while (index < words.Count && !words[index].EndsWith(']'))
                {
                    index++;
                }

                index++;
            }

            if (index + 1 < words.Count && words[index + 1] == suite)
            {
                return words[index];
            }
        }

        return null;
    }

    internal static string? FromDeb822(string text, string suite)
    {
        foreach (var stanza in text.Replace("\r", "", StringComparison.Ordinal).Split("\n\n"))
        {
            var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var raw in stanza.Split('\n'))
            {
                if (raw.StartsWith('#') || !raw.Contains(':', StringComparison.Ordinal))
                {
                    continue;
                }

                var colon = raw.IndexOf(':', StringComparison.Ordinal);
                fields[raw[..colon].Trim()] = raw[(colon + 1)..].Trim();
            }

            if (!fields.TryGetValue("Types", out var types) || !types.Split(' ').Contains("deb") ||
                fields.TryGetValue("Enabled", out var enabled) && enabled == "no" ||
                !fields.TryGetValue("URIs", out var uris) || !fields.TryGetValue("Suites", out var suites))
            {
                continue;
            }

            if (suites.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(suite))
            {
                return uris.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
            }
        }

        return null;
    }
}
