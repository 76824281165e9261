namespace Pxe.Profiles.Spec;

/// <summary>What a name may look like: distros, profiles, variables, host names and tags.</summary>
public static class SpecNames
{
    /// <summary>Distro and profile names: 1–64 characters of letters, digits, '.', '_' and '-', starting with a letter or digit.</summary>
    public static bool IsValid(string name) =>
        name.Length is >= 1 and <= 64 && char.IsAsciiLetterOrDigit(name[0])
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    /// <summary>The rule, for an error message.</summary>
    public static string Rule(string name) =>
        $"'{Clip(name)}' is not a valid name: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit";

    /// <summary>Variable names: a letter or '_', then letters, digits or '_' (at most 64); a leading '!' removes an inherited key.</summary>
    public static bool IsValidVariable(string name)
    {
        var n = name.StartsWith('!') ? name[1..] : name;
        return n.Length is >= 1 and <= 64 && (char.IsAsciiLetter(n[0]) || n[0] == '_')
            && n.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
    }

    /// <summary>The variable rule, for an error message.</summary>
    public static string VariableRule(string name) =>
        $"'{Clip(name)}' is not a valid variable name: use letters, digits and '_', starting with a letter or '_' (prefix '!' to remove an inherited one)";

    /// <summary>A host name label per RFC 1123: 1–63 letters, digits and '-', not starting or ending with '-'.</summary>
    public static bool IsValidHostname(string name) =>
        name.Length is >= 1 and <= 63 && char.IsAsciiLetterOrDigit(name[0]) && char.IsAsciiLetterOrDigit(name[^1])
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');

    /// <summary>A DNS domain: dot-separated RFC 1123 labels, at most 253 characters.</summary>
    public static bool IsValidDomain(string domain) =>
        domain.Length is >= 1 and <= 253 && domain.Split('.').All(IsValidHostname);

    /// <summary>Tags: 1–64 letters, digits, '.', '_', '-', ':' or '='.</summary>
    public static bool IsValidTag(string tag) =>
        tag.Length is >= 1 and <= 64 && tag.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ':' or '=');

    internal static string Clip(string s)
    {
        var clean = new string(s.Select(c => char.IsControl(c) ? '?' : c).Take(64).ToArray());
        return s.Length > 64 ? clean + "…" : clean;
    }
}
