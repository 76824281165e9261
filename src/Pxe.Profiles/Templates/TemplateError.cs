namespace Pxe.Profiles.Templates;

/// <summary>
/// One problem found in a template, either while loading (syntax, unknown partial or helper) or while rendering
/// (a variable the template uses but the render did not define).
/// </summary>
/// <param name="Template">
/// The template's name: its path relative to the templates directory with forward slashes
/// (<c>install/rhel9.ks</c>, <c>snippets/progress.hbs</c>); empty when the problem is the directory itself.
/// </param>
/// <param name="Line">1-based line in that template; 0 when the problem has no line (an unknown template name).</param>
/// <param name="Variable">The variable involved (e.g. <c>distro.install_tree</c>), or null.</param>
/// <param name="Message">What is wrong and what to do about it.</param>
public sealed record TemplateError(string Template, int Line, string? Variable, string Message)
{
    /// <inheritdoc />
    public override string ToString() =>
        Line > 0 ? $"{Template}:{Line}: {Message}" : string.IsNullOrEmpty(Template) ? Message : $"{Template}: {Message}";
}

/// <summary>
/// The outcome of <see cref="TemplateLibrary.Load(string)"/>: either a library (no errors) or every error found.
/// A load with errors gives no library, so a caller keeps serving its last good one.
/// </summary>
public sealed class TemplateLoadResult
{
    private TemplateLoadResult(TemplateLibrary? library, IReadOnlyList<TemplateError> errors)
    {
        Library = library;
        Errors = errors;
    }

    /// <summary>The loaded library, or null when <see cref="Errors"/> is not empty.</summary>
    public TemplateLibrary? Library { get; }

    /// <summary>Every problem found, in file order; empty on success.</summary>
    public IReadOnlyList<TemplateError> Errors { get; }

    /// <summary>True when the load produced a library.</summary>
    public bool Succeeded => Library is not null;

    internal static TemplateLoadResult Success(TemplateLibrary library) => new(library, []);

    internal static TemplateLoadResult Failure(IReadOnlyList<TemplateError> errors) => new(null, errors);
}

/// <summary>The outcome of <see cref="TemplateLibrary.Render"/>: the rendered text, or the one error that stopped it.</summary>
public sealed class RenderResult
{
    private RenderResult(string? text, TemplateError? error)
    {
        Text = text;
        Error = error;
    }

    /// <summary>The rendered text; null when the render failed.</summary>
    public string? Text { get; }

    /// <summary>Why the render failed; null on success.</summary>
    public TemplateError? Error { get; }

    /// <summary>True when <see cref="Text"/> holds the rendered output.</summary>
    public bool Succeeded => Error is null;

    /// <summary>A successful render.</summary>
    public static RenderResult Success(string text) => new(text ?? throw new ArgumentNullException(nameof(text)), null);

    /// <summary>A failed render.</summary>
    public static RenderResult Failure(TemplateError error) => new(null, error ?? throw new ArgumentNullException(nameof(error)));
}
