using Pxe.Profiles.Domain;
using Pxe.Profiles.Rendering;

namespace Pxe.Profiles.Spec;

/// <summary>
/// Checks a whole specification and reports every problem at once, each with its file, line, field and a fix:
/// unknown distros and parents, inheritance cycles, missing templates, variables a template needs that nothing
/// defines, kernel command lines that cannot be handed out, first-boot hand-off settings a client cannot use.
/// </summary>
public static class SpecValidator
{
    /// <summary>Validates <paramref name="spec"/> against the templates; an empty list means it may be served.</summary>
    public static IReadOnlyList<SpecError> Validate(SpecModel spec, ITemplateCatalog templates, IReadOnlySet<string> serverVariables)
    {
        var errors = new List<SpecError>();
        foreach (var (distro, source) in spec.DistroEntries())
        {
            CheckLocation(errors, source, "kernel", distro.Kernel);
            CheckLocation(errors, source, "initrd", distro.Initrd);
        }

        foreach (var (profile, source) in spec.ProfileEntries())
        {
            if (profile.Parent is not null && !spec.Profiles.ContainsKey(profile.Parent))
            {
                errors.Add(new SpecError(source.File, source.LineOf("parent"), "parent",
                    $"profile '{profile.Parent}' does not exist; known profiles: {Known(spec.Profiles.Keys)}"));
                continue;
            }

            if (profile.Distro is not null && !spec.Distros.ContainsKey(profile.Distro))
            {
                errors.Add(new SpecError(source.File, source.LineOf("distro"), "distro",
                    $"distro '{profile.Distro}' does not exist; known distros: {Known(spec.Distros.Keys)}"));
                continue;
            }

            if (profile.InstallTemplate is not null && !templates.Exists(profile.InstallTemplate))
            {
                errors.Add(new SpecError(source.File, source.LineOf("install_template"), "install_template",
                    $"template '{profile.InstallTemplate}' does not exist under templates/; known install templates: " +
                    Known(templates.Names.Where(n => n.StartsWith("install/", StringComparison.Ordinal)))));
                continue;
            }

            var (resolved, error) = ProfileResolver.Resolve(spec, profile.Name);
            if (resolved is null)
            {
                // A cycle or a broken ancestor: report it on the field that points up the chain.
                var field = profile.Parent is null ? "distro" : "parent";
                errors.Add(new SpecError(source.File, source.LineOf(field), field, error!));
                continue;
            }

            CheckResolved(errors, resolved, source, templates, serverVariables);
        }

        return errors;
    }

    private static void CheckResolved(
        List<SpecError> errors, ResolvedProfile resolved, SpecSource source, ITemplateCatalog templates, IReadOnlySet<string> serverVariables)
    {
        if (resolved.InstallTemplate is null)
        {
            if (resolved.Distro.Breed != DistroBreed.Generic)
            {
                errors.Add(new SpecError(source.File, source.Line, "install_template",
                    $"no profile in the chain {string.Join(" -> ", resolved.Chain)} names an install template, " +
                    $"and a {resolved.Distro.Breed.ToString().ToLowerInvariant()} installer needs one; set install_template"));
            }
        }
        else if (templates.Exists(resolved.InstallTemplate.Value))
        {
            var defined = new HashSet<string>(resolved.Variables.Keys, StringComparer.Ordinal);
            defined.UnionWith(StandardVariables.Names);
            defined.UnionWith(serverVariables);
            CheckImage(errors, resolved, source, defined);
            var missing = templates.RequiredVariables(resolved.InstallTemplate.Value)
                .Where(v => !defined.Contains(v)).Order(StringComparer.Ordinal).ToList();
            if (missing.Count > 0)
            {
                errors.Add(new SpecError(source.File, source.LineOf("variables"), "variables",
                    $"template '{resolved.InstallTemplate.Value}' needs {Plural(missing.Count, "variable")} " +
                    $"{string.Join(", ", missing)} that nothing defines (profile chain {string.Join(" -> ", resolved.Chain)}, " +
                    $"distro {resolved.Distro.Name}); define {(missing.Count == 1 ? "it" : "them")} under variables:"));
            }
        }

        try
        {
            KernelCommandLine.Format(resolved.KernelArgs.Select(a => new KeyValuePair<string, string?>(a.Key, a.Value.Value)));
        }
        catch (KernelCommandLineException e)
        {
            errors.Add(new SpecError(source.File, source.LineOf("kernel_args"), "kernel_args", e.Message));
        }

        HandoffValidator.Check(errors, resolved, source, serverVariables);

        foreach (var boot in BootTemplates.All)
        {
            if (!templates.Exists(boot))
            {
                errors.Add(new SpecError(source.File, source.Line, null,
                    $"the boot template '{boot}' is missing from templates/; restore it (it ships with PxeServer)"));
            }
        }
    }

    /// <summary>
    /// A profile that names an image (<c>image: NAME</c>) gets image_file, image_sha256, image_size and image_compression
    /// from the image library at render time, so they count as defined; the name itself must be one the library can hold.
    /// Whether the image is built is checked when a machine renders (images come and go; the spec does not depend on them).
    /// </summary>
    private static void CheckImage(List<SpecError> errors, ResolvedProfile resolved, SpecSource source, HashSet<string> defined)
    {
        if (ImageVariable.Requested(resolved.Variables) is null)
        {
            return;
        }

        defined.UnionWith(ImageVariable.Defined);
        errors.AddRange(ImageVariable.NameErrors(resolved.Variables).Select(m => new SpecError(source.File, source.LineOf("variables"), "variables", m)));
    }

    private static void CheckLocation(List<SpecError> errors, SpecSource source, string field, string value)
    {
        if (Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
        {
            return;
        }

        if (value.Contains("://", StringComparison.Ordinal) || value.Contains('\\') || value.StartsWith('/') || value.Split('/').Any(s => s is ".." or ".") || value.Any(char.IsControl)
            || value.Any(char.IsWhiteSpace))
        {
            errors.Add(new SpecError(source.File, source.LineOf(field), field,
                $"'{SpecNames.Clip(value)}' must be a relative path below the data directory's files/ folder (no '..', no leading '/', no spaces) or an http(s) URL"));
        }
    }

    private static string Plural(int n, string word) => n == 1 ? word : word + "s";

    private static string Known(IEnumerable<string> names)
    {
        var list = names.Order(StringComparer.Ordinal).ToList();
        return list.Count == 0 ? "(none)" : string.Join(", ", list);
    }
}
