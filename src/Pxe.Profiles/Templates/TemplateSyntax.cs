namespace Pxe.Profiles.Templates;

/// <summary>The kinds of <c>{{…}}</c> tag the template language accepts.</summary>
internal enum TagKind
{
    /// <summary><c>{{! …}}</c> or <c>{{!-- … --}}</c>.</summary>
    Comment,

    /// <summary><c>{{path}}</c>, <c>{{{path}}}</c> or <c>{{helper arg …}}</c>.</summary>
    Output,

    /// <summary><c>{{#if x}}</c>, <c>{{#unless x}}</c>, <c>{{#each x}}</c>, <c>{{#with x}}</c>.</summary>
    BlockOpen,

    /// <summary><c>{{else}}</c>, <c>{{else if x}}</c>, <c>{{else unless x}}</c>.</summary>
    Else,

    /// <summary><c>{{/name}}</c>.</summary>
    BlockClose,

    /// <summary><c>{{> name}}</c>.</summary>
    Partial,
}

/// <summary>An argument or value inside a tag. Offsets index the template source.</summary>
internal abstract record TemplateExpression(int Start, int End);

/// <summary>A variable path: <c>name</c>, <c>distro.kernel</c>, <c>this</c>, <c>@index</c>, <c>../name</c>, <c>@root.name</c>.</summary>
internal sealed record PathExpression(int Start, int End, string Path) : TemplateExpression(Start, End)
{
    private readonly (string Normalized, int ParentSteps, bool IsRoot, bool IsData) _parsed = Parse(Path);

    /// <summary>The path with <c>../</c>, <c>this.</c> and <c>./</c> prefixes removed; <c>@root.x</c> gives <c>x</c>.</summary>
    public string Normalized => _parsed.Normalized;

    /// <summary>How many <c>../</c> prefixes the path has.</summary>
    public int ParentSteps => _parsed.ParentSteps;

    /// <summary>True for <c>@root.…</c>.</summary>
    public bool IsRootReference => _parsed.IsRoot;

    /// <summary>True for data variables (<c>@index</c>, <c>@key</c>, <c>@first</c>, <c>@last</c>).</summary>
    public bool IsData => _parsed.IsData;

    /// <summary>True for <c>this</c> or <c>.</c> alone.</summary>
    public bool IsThis => Normalized.Length == 0 && !IsData;

    /// <summary>The first segment of <see cref="Normalized"/>.</summary>
    public string FirstSegment
    {
        get
        {
            var dot = Normalized.IndexOf('.', StringComparison.Ordinal);
            return dot < 0 ? Normalized : Normalized[..dot];
        }
    }

    private static (string, int, bool, bool) Parse(string path)
    {
        var normalized = Normalize(path, out var ups, out var isRoot, out var isData);
        return (normalized, ups, isRoot, isData);
    }

    private static string Normalize(string path, out int ups, out bool isRoot, out bool isData)
    {
        ups = 0;
        isRoot = false;
        isData = false;
        var p = path.Replace('/', '.');
        while (p.StartsWith("...", StringComparison.Ordinal))
        {
            ups++;
            p = p[3..];
        }

        if (p.StartsWith("@root.", StringComparison.Ordinal))
        {
            isRoot = true;
            return p[6..];
        }

        if (p.StartsWith('@'))
        {
            isData = true;
            return p;
        }

        if (p is "this" or ".")
        {
            return "";
        }

        if (p.StartsWith("this.", StringComparison.Ordinal))
        {
            return p[5..];
        }

        return p.StartsWith("..", StringComparison.Ordinal) ? p[2..] : p.TrimStart('.');
    }
}

/// <summary>A string, number or keyword literal.</summary>
internal sealed record LiteralExpression(int Start, int End, string Text) : TemplateExpression(Start, End);

/// <summary>A helper call in parentheses: <c>(eq boot_action "install")</c>.</summary>
internal sealed record SubExpression(int Start, int End, string Helper, IReadOnlyList<TemplateExpression> Arguments)
    : TemplateExpression(Start, End);

/// <summary>
/// One tag of a template. <see cref="Name"/> is the helper (output with arguments), block, or partial name;
/// for a plain output tag it is empty and <see cref="Arguments"/> holds the single value.
/// </summary>
internal sealed record TemplateTag(TagKind Kind, int Line, string Name, IReadOnlyList<TemplateExpression> Arguments);

/// <summary>A template or snippet after scanning: its tags and the problems found in it.</summary>
internal sealed record ScannedTemplate(string Name, string Source, IReadOnlyList<TemplateTag> Tags, IReadOnlyList<TemplateError> Errors);
