namespace Pxe.Profiles.Tests.Templates;

/// <summary>
/// A structure check for rendered kickstarts, standing in for pykickstart's ksvalidator (not packaged for Debian 12):
/// every command line names a command of the RHEL 9 kickstart reference, %pre/%post/%packages/%onerror/%pre-install
/// sections are opened outside another section and closed with %end, no line inside a section starts with '%' (anaconda
/// would take it for a section keyword, even inside a shell here-document), and no template placeholder is left.
/// </summary>
internal static class KickstartChecker
{
    /// <summary>Commands of the RHEL 9 kickstart reference ("Kickstart commands and options reference").</summary>
    private static readonly HashSet<string> Commands = new(StringComparer.Ordinal)
    {
        "authselect", "autopart", "bootloader", "cdrom", "clearpart", "cmdline", "driverdisk", "eula", "fcoe", "firewall",
        "firstboot", "graphical", "group", "halt", "harddrive", "ignoredisk", "module", "iscsi", "iscsiname", "keyboard",
        "lang", "liveimg", "logging", "logvol", "mediacheck", "mount", "network", "nfs", "ostreesetup", "ostreecontainer",
        "part", "partition", "poweroff", "raid", "realm", "reboot", "repo", "reqpart", "rhsm", "rootpw", "selinux",
        "services", "shutdown", "skipx", "snapshot", "sshkey", "sshpw", "syspurpose", "text", "timesource", "timezone",
        "url", "user", "vnc", "volgroup", "xconfig", "zerombr", "zfcp", "zipl", "rdp", "%include", "%ksappend",
    };

    private static readonly HashSet<string> Sections = new(StringComparer.Ordinal)
    {
        "%pre", "%pre-install", "%post", "%packages", "%onerror", "%addon", "%anaconda",
    };

    /// <summary>Every problem found, each with its line; empty when the kickstart is well formed.</summary>
    public static IReadOnlyList<string> Check(string kickstart)
    {
        var problems = new List<string>();
        string? open = null;
        var openLine = 0;
        var lines = kickstart.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            var number = i + 1;
            if (line.Contains("{{", StringComparison.Ordinal) || line.Contains("}}", StringComparison.Ordinal))
            {
                problems.Add($"line {number}: unresolved template placeholder: {line}");
            }

            var word = line.Split(' ', 2)[0];
            if (word == "%end")
            {
                if (open is null)
                {
                    problems.Add($"line {number}: %end without an open section");
                }

                open = null;
                continue;
            }

            if (Sections.Contains(word))
            {
                if (open is not null)
                {
                    problems.Add($"line {number}: {word} opened inside {open} (line {openLine}); close it with %end first");
                }

                open = word;
                openLine = number;
                continue;
            }

            if (open is not null && line.StartsWith('%'))
            {
                // Anaconda reads every line of a section that starts with '%' (after blanks) as a section keyword.
                problems.Add($"line {number}: a line inside {open} (line {openLine}) starts with '%', which anaconda reads as a section keyword: {line}");
                continue;
            }

            if (open is not null || line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            if (!Commands.Contains(word))
            {
                problems.Add($"line {number}: '{word}' is not a RHEL 9 kickstart command");
            }
        }

        if (open is not null)
        {
            problems.Add($"line {openLine}: {open} is never closed with %end");
        }

        return problems;
    }
}
