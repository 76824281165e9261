using Pxe.Profiles.Services;

namespace Pxe.Server.Http;

/// <summary>
/// Bulk import as CSV: a header row naming columns (mac is required; hostname, domain, ipv4, gateway, dns, profile,
/// boot_action, tags are optional; dns and tags are separated by ';'), then one machine per row.
/// </summary>
internal static class MachineCsv
{
    private static readonly string[] Columns = ["mac", "hostname", "domain", "ipv4", "gateway", "dns", "profile", "boot_action", "tags"];

    public static (List<(string Mac, MachineInput Input)> Items, List<string> Errors) Parse(string text)
    {
        var items = new List<(string, MachineInput)>();
        var errors = new List<string>();
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        if (lines.Length == 0 || string.IsNullOrWhiteSpace(lines[0]))
        {
            errors.Add($"line 1: the first line must name the columns, e.g. {string.Join(",", Columns)}");
            return (items, errors);
        }

        var header = SplitRow(lines[0]).Select(h => h.Trim().ToLowerInvariant()).ToList();
        foreach (var h in header.Where(h => !Columns.Contains(h)))
        {
            errors.Add($"line 1: unknown column '{h}'; known columns: {string.Join(", ", Columns)}");
        }

        if (!header.Contains("mac"))
        {
            errors.Add("line 1: a 'mac' column is required");
        }

        if (errors.Count > 0)
        {
            return (items, errors);
        }

        for (var i = 1; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i]))
            {
                continue;
            }

            var cells = SplitRow(lines[i]);
            if (cells.Count != header.Count)
            {
                errors.Add($"line {i + 1}: {cells.Count} cells, but the header has {header.Count} columns");
                continue;
            }

            string? Cell(string name)
            {
                var idx = header.IndexOf(name);
                return idx < 0 || cells[idx].Length == 0 ? null : cells[idx].Trim();
            }

            static List<string>? List(string? v) => v?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
            items.Add((Cell("mac") ?? "", new MachineInput
            {
                Hostname = Cell("hostname"),
                Domain = Cell("domain"),
                Ipv4 = Cell("ipv4"),
                Gateway = Cell("gateway"),
                Dns = List(Cell("dns")),
                Profile = Cell("profile"),
                BootAction = Cell("boot_action"),
                Tags = List(Cell("tags")),
            }));
        }

        return (items, errors);
    }

    /// <summary>Splits one CSV row (RFC 4180 quoting: "a,b" and "" for a quote).</summary>
    private static List<string> SplitRow(string line)
    {
        var cells = new List<string>();
        var sb = new System.Text.StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    sb.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    sb.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                cells.Add(sb.ToString());
                sb.Clear();
            }
            else
            {
                sb.Append(c);
            }
        }

        cells.Add(sb.ToString());
        return cells;
    }
}
