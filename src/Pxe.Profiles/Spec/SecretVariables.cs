namespace Pxe.Profiles.Spec;

/// <summary>
/// Which variables hold secrets, and their redaction. A variable is secret when a distro or profile lists it under
/// <c>secrets:</c>, or when its name says so (it contains <c>password</c>, <c>passwd</c>, <c>secret</c>, <c>token</c>,
/// <c>psk</c> or <c>private_key</c>). Secret values are rendered into install files and never returned by the read API.
/// </summary>
public static class SecretVariables
{
    /// <summary>What the read API shows instead of a secret value.</summary>
    public const string Redacted = "(secret)";

    private static readonly string[] SecretWords = ["password", "passwd", "secret", "token", "psk", "private_key"];

    /// <summary>Whether <paramref name="name"/> is secret by its name or by declaration.</summary>
    public static bool IsSecret(string name, IReadOnlySet<string>? declared = null)
    {
        var bare = name.StartsWith('!') ? name[1..] : name;
        return (declared?.Contains(bare) ?? false) || SecretWords.Any(w => bare.Contains(w, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>A copy of <paramref name="values"/> with secret values replaced by <see cref="Redacted"/>.</summary>
    public static IReadOnlyDictionary<string, object?> Redact(IReadOnlyDictionary<string, object?> values, IReadOnlySet<string>? declared = null) =>
        values.ToDictionary(v => v.Key, v => IsSecret(v.Key, declared) && v.Value is not null ? Redacted : v.Value, StringComparer.Ordinal);
}
