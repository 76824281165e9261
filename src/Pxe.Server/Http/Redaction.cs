using Pxe.Profiles.Services;
using Pxe.Profiles.Spec;

namespace Pxe.Server.Http;

/// <summary>Keeps secret variables out of everything the read API returns (they are only rendered into install files).</summary>
internal static class Redaction
{
    /// <summary>The variable names declared secret along a profile's chain (none when it has no profile).</summary>
    public static IReadOnlySet<string> SecretsOf(SpecService spec, string? profile) =>
        profile is not null && spec.Current.Resolve(profile).Profile is { } resolved ? resolved.Secrets : EmptySet;

    /// <summary>The value, or <see cref="SecretVariables.Redacted"/> when it is a secret.</summary>
    public static object? Value(string name, object? value, IReadOnlySet<string> declared) =>
        value is not null && SecretVariables.IsSecret(name, declared) ? SecretVariables.Redacted : value;

    /// <summary>A stored version's YAML with its secret values redacted (what the versions API may show).</summary>
    public static string? Yaml(string yaml)
    {
        var read = SpecYaml.Read(yaml, "(version)");
        if (read.Distro is { } d)
        {
            return SpecYaml.Write(d with { Variables = SecretVariables.Redact(d.Variables, d.Secrets.ToHashSet()) });
        }

        return read.Profile is { } p
            ? SpecYaml.Write(p with { Variables = SecretVariables.Redact(p.Variables, p.Secrets.ToHashSet()) })
            : null;
    }

    private static readonly HashSet<string> EmptySet = [];
}
