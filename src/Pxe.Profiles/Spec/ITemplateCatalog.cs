namespace Pxe.Profiles.Spec;

/// <summary>What spec validation needs to know about the templates: which exist and which variables each needs.</summary>
public interface ITemplateCatalog
{
    /// <summary>Template names (paths relative to templates/, with forward slashes).</summary>
    IReadOnlyCollection<string> Names { get; }

    /// <summary>Whether the named template exists.</summary>
    bool Exists(string name);

    /// <summary>Root variable names the template needs that it does not guard with <c>default</c> or <c>if</c>.</summary>
    IReadOnlySet<string> RequiredVariables(string name);
}
