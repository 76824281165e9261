using Pxe.Profiles.Rendering;

namespace Pxe.Profiles.Spec;

/// <summary>
/// The spec validator's checks of a resolved profile's <c>handoff:</c>: the settings themselves
/// (<see cref="HandoffSettings.Parse"/>), the profile chain's <c>role</c> when the client needs one of a certain form,
/// and the secret variable a Chef <c>validation_key</c> names.
/// </summary>
internal static class HandoffValidator
{
    /// <summary>Adds every hand-off problem of <paramref name="resolved"/> to <paramref name="errors"/>, located at the profile's <c>handoff</c> field.</summary>
    public static void Check(List<SpecError> errors, ResolvedProfile resolved, SpecSource source, IReadOnlySet<string> serverVariables)
    {
        var line = source.LineOf("handoff");
        var (settings, problems) = HandoffSettings.Parse(resolved.Handoff);
        foreach (var p in problems)
        {
            errors.Add(new SpecError(source.File, line, $"handoff.{p.Field}", p.Message));
        }

        if (settings is null)
        {
            return;
        }

        var (role, roleError) = HandoffVariable.Role(resolved.Variables);
        if (roleError is not null)
        {
            errors.Add(new SpecError(source.File, source.LineOf("variables"), "variables.role", roleError));
        }
        else if (settings.CheckRole(role) is { } problem)
        {
            errors.Add(new SpecError(source.File, source.LineOf("variables"), "variables.role",
                $"{problem} (from {resolved.Variables[HandoffVariable.RoleVariable].Source}); the {settings.ClientName} hand-off needs it"));
        }

        if (settings is ChefHandoff { ValidationKey: { } key })
        {
            if (!resolved.Variables.ContainsKey(key) && !serverVariables.Contains(key))
            {
                errors.Add(new SpecError(source.File, line, "handoff.validation_key",
                    $"names variable '{key}', which nothing defines (profile chain {string.Join(" -> ", resolved.Chain)}); " +
                    $"define it under variables: with the validator's PEM key and list it under secrets:"));
            }
            else if (!SecretVariables.IsSecret(key, resolved.Secrets))
            {
                errors.Add(new SpecError(source.File, line, "handoff.validation_key",
                    $"names variable '{key}', which is not secret, so the API would show the private key; list it under secrets:"));
            }
            else if (resolved.Variables.TryGetValue(key, out var value) && value.Value is string pem
                && HandoffVariable.ValidationKeyProblem(pem) is { } pemProblem)
            {
                errors.Add(new SpecError(source.File, source.LineOf("variables"), $"variables.{key}", pemProblem));
            }
        }
    }
}
