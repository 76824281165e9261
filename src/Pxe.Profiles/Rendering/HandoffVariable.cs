using Pxe.Profiles.Spec;

namespace Pxe.Profiles.Rendering;

/// <summary>
/// The template variable <c>handoff</c>: a profile's first-boot hand-off settings (<see cref="HandoffSettings"/>) with one
/// machine's values filled in. Install templates include <c>{{> firstboot-setup}}</c>, which writes the first-boot
/// script from it.
/// </summary>
public static class HandoffVariable
{
    /// <summary>The variable's name.</summary>
    public const string Name = "handoff";

    /// <summary>The machine variable that names its role (Puppet class <c>role::&lt;role&gt;</c>, Salt grain <c>role</c>).</summary>
    public const string RoleVariable = "role";

    /// <summary>
    /// The <c>handoff</c> value for a machine whose merged <paramref name="variables"/> are given (they hold <c>fqdn</c>,
    /// <c>role</c> and the secret variable a Chef validation key names). With <paramref name="includeSecrets"/> false the
    /// validation key is shown as <see cref="SecretVariables.Redacted"/> (for the variables view); a render passes true.
    /// A machine without a profile hands off to no client. The error says what to fix.
    /// </summary>
    public static (IReadOnlyDictionary<string, object?>? Value, string? Error) Build(
        ResolvedProfile? profile, IReadOnlyDictionary<string, Sourced<object?>> variables, bool includeSecrets)
    {
        ArgumentNullException.ThrowIfNull(variables);
        var settings = HandoffSettings.None;
        if (profile is not null)
        {
            var (parsed, errors) = HandoffSettings.Parse(profile.Handoff);
            if (parsed is null)
            {
                return (null, $"profile '{profile.Name}' has an invalid handoff: " +
                    string.Join("; ", errors.Select(e => $"handoff.{e.Field}: {e.Message}")));
            }

            settings = parsed;
        }

        var fqdn = variables.TryGetValue("fqdn", out var f) && f.Value is string s ? s : "";
        var (role, roleError) = Role(variables);
        if (roleError is not null)
        {
            return (null, roleError);
        }

        if (settings.CheckRole(role) is { } problem)
        {
            return (null, $"{problem} (variable role, from {variables[RoleVariable].Source}); the {settings.ClientName} hand-off needs it");
        }

        string? key = null;
        if (includeSecrets && settings is ChefHandoff { ValidationKey: { } keyVariable })
        {
            if (!variables.TryGetValue(keyVariable, out var k) || k.Value is not string pem || pem.Length == 0)
            {
                return (null, $"handoff.validation_key names variable '{keyVariable}', which is not defined for this machine; " +
                    "define it (a secret variable holding the validator's PEM key)");
            }

            if (ValidationKeyProblem(pem) is { } pemProblem)
            {
                return (null, $"variable '{keyVariable}' (handoff.validation_key) {pemProblem}");
            }

            key = pem.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n');
        }

        return (settings.TemplateValue(new HandoffMachine(fqdn, role, key)), null);
    }

    /// <summary>The machine's role as text ("" when it has none), or why the <c>role</c> variable cannot be one.</summary>
    public static (string Role, string? Error) Role(IReadOnlyDictionary<string, Sourced<object?>> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        if (!variables.TryGetValue(RoleVariable, out var r) || r.Value is null)
        {
            return ("", null);
        }

        return r.Value switch
        {
            string s when !s.Any(char.IsControl) => (s, null),
            long or int => (Convert.ToString(r.Value, System.Globalization.CultureInfo.InvariantCulture)!, null),
            _ => ("", $"variable role (from {r.Source}) must be one word, such as web; it names the machine's role for its configuration client"),
        };
    }

    /// <summary>Why <paramref name="pem"/> is not a PEM private key that can be written into a shell script as is, or null.</summary>
    public static string? ValidationKeyProblem(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var text = pem.Trim();
        if (!text.StartsWith("-----BEGIN ", StringComparison.Ordinal) || !text.Contains("PRIVATE KEY-----", StringComparison.Ordinal)
            || !text.EndsWith("-----", StringComparison.Ordinal))
        {
            return "must hold the validator's private key in PEM form (-----BEGIN RSA PRIVATE KEY----- … -----END RSA PRIVATE KEY-----)";
        }

        return text.All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '=' or '-' or ' ' or '\n' or '\r' or ':' or ',')
            ? null
            : "holds characters a PEM key never has; paste the key file's text unchanged";
    }
}
