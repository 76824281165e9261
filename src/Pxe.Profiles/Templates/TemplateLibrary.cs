using System.Collections.Frozen;
using System.Text;
using HandlebarsDotNet;
using HandlebarsDotNet.Compiler;

namespace Pxe.Profiles.Templates;

/// <summary>
/// The compiled install and boot templates of one templates directory, with their snippets.
/// </summary>
/// <remarks>
/// <para>
/// Layout: every file under the directory is a template named by its relative path with forward slashes
/// (<c>install/rhel9.ks</c>, <c>boot/ipxe.ipxe</c>), except the files under <c>snippets/</c>, which are partials:
/// <c>snippets/progress.hbs</c> is included as <c>{{> progress}}</c> and <c>snippets/net/static.hbs</c> as
/// <c>{{> net/static}}</c>. Files and folders whose name starts with '.' and names ending in '~' are ignored.
/// </para>
/// <para>
/// Language: Handlebars with HTML escaping off, limited to <c>{{x}}</c>, <c>{{#if}}</c>, <c>{{#unless}}</c>,
/// <c>{{#each}}</c>, <c>{{#with}}</c>, <c>{{else}}</c>, comments, <c>{{> snippet}}</c> and the helpers
/// <c>default</c>, <c>join</c>, <c>indent</c>, <c>url</c>, <c>shell</c> and <c>eq</c> (see <see cref="TemplateHelpers"/>).
/// Rendering is strict: a variable that is used but not defined fails the render, naming the template, line and
/// variable. Names used only as an <c>{{#if}}</c>/<c>{{#unless}}</c> condition or as the first argument of
/// <c>default</c> may be left undefined.
/// </para>
/// <para>An instance is immutable and safe to use from many threads; templates are compiled once, at load.</para>
/// </remarks>
public sealed class TemplateLibrary : Pxe.Profiles.Spec.ITemplateCatalog
{
    private const string SnippetFolder = "snippets/";
    private const string SnippetExtension = ".hbs";
    private const int MaxTemplateBytes = 1 << 20;

    private readonly FrozenDictionary<string, Entry> _templates;
    private readonly FrozenDictionary<string, ScannedTemplate> _snippets;

    private TemplateLibrary(FrozenDictionary<string, Entry> templates, FrozenDictionary<string, ScannedTemplate> snippets)
    {
        _templates = templates;
        _snippets = snippets;
        Names = [.. templates.Keys.Order(StringComparer.Ordinal)];
    }

    /// <summary>The names of the renderable templates (snippets excluded), sorted.</summary>
    public IReadOnlyCollection<string> Names { get; }

    /// <summary>True when <paramref name="templateName"/> is a renderable template of this library.</summary>
    public bool Exists(string templateName) => templateName is not null && _templates.ContainsKey(templateName);

    /// <summary>
    /// Loads, checks and compiles every template and snippet under <paramref name="templatesDirectory"/> and reports
    /// all problems at once. A load with any error gives no library.
    /// </summary>
    public static TemplateLoadResult Load(string templatesDirectory)
    {
        ArgumentNullException.ThrowIfNull(templatesDirectory);
        var errors = new List<TemplateError>();
        var root = Path.GetFullPath(templatesDirectory);
        if (!Directory.Exists(root))
        {
            return TemplateLoadResult.Failure([new TemplateError("", 0, null, $"templates directory '{root}' does not exist; create it or point the templates setting at the right folder")]);
        }

        var sources = ReadSources(root, errors);
        var scannedTemplates = new Dictionary<string, ScannedTemplate>(StringComparer.Ordinal);
        var scannedSnippets = new Dictionary<string, ScannedTemplate>(StringComparer.Ordinal);
        foreach (var (name, source) in sources)
        {
            var scanned = TemplateScanner.Scan(name, source, TemplateHelpers.Arity);
            errors.AddRange(scanned.Errors);
            if (name.StartsWith(SnippetFolder, StringComparison.Ordinal))
            {
                scannedSnippets[PartialName(name)] = scanned;
            }
            else
            {
                scannedTemplates[name] = scanned;
            }
        }

        foreach (var scanned in scannedTemplates.Values.Concat(scannedSnippets.Values))
        {
            foreach (var tag in scanned.Tags)
            {
                if (tag.Kind == TagKind.Partial && !scannedSnippets.ContainsKey(tag.Name))
                {
                    var known = scannedSnippets.Count == 0 ? "there are none" : "known: " + string.Join(", ", scannedSnippets.Keys.Order(StringComparer.Ordinal));
                    errors.Add(new(scanned.Name, tag.Line, null, $"unknown partial '{tag.Name}': add snippets/{tag.Name}{SnippetExtension} or fix the name ({known})"));
                }
            }
        }

        if (errors.Count == 0)
        {
            foreach (var (partial, scanned) in scannedSnippets)
            {
                var cycle = FindCycle(partial, scannedSnippets, []);
                if (cycle is not null)
                {
                    errors.Add(new(scanned.Name, 1, null, $"snippets include each other in a cycle ({cycle}); break the cycle"));
                }
            }
        }

        if (errors.Count > 0)
        {
            return TemplateLoadResult.Failure(errors);
        }

        var handlebars = Handlebars.Create(new HandlebarsConfiguration
        {
            NoEscape = true,
            ThrowOnUnresolvedBindingExpression = true,
            PartialTemplateResolver = new NoPartialResolver(),
            MissingPartialTemplateHandler = new MissingPartialHandler(),
        });
        TemplateHelpers.Register(handlebars);
        foreach (var (partial, scanned) in scannedSnippets)
        {
            try
            {
                handlebars.RegisterTemplate(partial, PrepareSource(scanned));
            }
            catch (HandlebarsException e)
            {
                errors.Add(CompileError(scanned.Name, e));
            }
        }

        var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
        foreach (var (name, scanned) in scannedTemplates)
        {
            try
            {
                var compiled = handlebars.Compile(PrepareSource(scanned));
                var required = new HashSet<string>(StringComparer.Ordinal);
                CollectRequired(scanned, 0, scannedSnippets, required);
                entries[name] = new Entry(scanned, compiled, required.ToFrozenSet(StringComparer.Ordinal));
            }
            catch (HandlebarsException e)
            {
                errors.Add(CompileError(name, e));
            }
        }

        return errors.Count > 0
            ? TemplateLoadResult.Failure(errors)
            : TemplateLoadResult.Success(new TemplateLibrary(entries.ToFrozenDictionary(StringComparer.Ordinal), scannedSnippets.ToFrozenDictionary(StringComparer.Ordinal)));
    }

    /// <summary>
    /// Renders <paramref name="templateName"/> with <paramref name="variables"/>. Never throws for template problems:
    /// an unknown template, an undefined variable or a helper given a wrong value is a failed <see cref="RenderResult"/>.
    /// </summary>
    public RenderResult Render(string templateName, IReadOnlyDictionary<string, object?> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        if (templateName is null || !_templates.TryGetValue(templateName, out var entry))
        {
            return RenderResult.Failure(new TemplateError(templateName ?? "", 0, null,
                $"unknown template '{templateName}'; known templates: {string.Join(", ", Names)}"));
        }

        try
        {
            return RenderResult.Success(entry.Compiled(variables));
        }
        catch (Exception e) when (e is HandlebarsException or HandlebarsUndefinedBindingException or TemplateHelperException or InvalidCastException or FormatException
            or ArgumentException or InvalidOperationException)
        {
            return RenderResult.Failure(RenderError(entry.Scanned, e));
        }
    }

    /// <summary>
    /// Turns a render exception into an error. Handlebars wraps failures inside partials in a runtime exception, so the
    /// cause is found by walking the inner exceptions.
    /// </summary>
    private TemplateError RenderError(ScannedTemplate template, Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case HandlebarsUndefinedBindingException undefined:
                    return UndefinedError(template, undefined.Path, undefined.MissingKey);
                case TemplateHelperException helper:
                    var (file, line) = FindHelperUse(template, helper.Helper);
                    return new TemplateError(file, line, null, helper.Message);
                default:
                    break;
            }
        }

        return new TemplateError(template.Name, 0, null, $"rendering failed: {exception.Message}");
    }

    /// <summary>
    /// The root variable names <paramref name="templateName"/> needs, including those of the snippets it includes
    /// (transitively). Names used only as an <c>{{#if}}</c>/<c>{{#unless}}</c> condition, as the first argument of
    /// <c>default</c>, or local to a block (<c>this</c>, <c>@index</c>, item fields inside <c>{{#each}}</c>/<c>{{#with}}</c>)
    /// are not included. For <c>{{distro.kernel}}</c> the name is <c>distro</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The library has no template of that name (the message lists the known ones).</exception>
    public IReadOnlySet<string> RequiredVariables(string templateName) =>
        _templates.TryGetValue(templateName, out var entry)
            ? entry.Required
            : throw new ArgumentException($"unknown template '{templateName}'; known templates: {string.Join(", ", Names)}", nameof(templateName));

    private static List<(string Name, string Source)> ReadSources(string root, List<TemplateError> errors)
    {
        var result = new List<(string, string)>();
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false };
        var rootWithSlash = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        IEnumerable<string> files;
        try
        {
            files = [.. Directory.EnumerateFiles(root, "*", options).Order(StringComparer.Ordinal)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errors.Add(new("", 0, null, $"cannot list templates directory '{root}': {e.Message}"));
            return result;
        }

        foreach (var file in files)
        {
            var name = Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/');
            if (name.Split('/').Any(segment => segment.StartsWith('.') || segment.EndsWith('~')))
            {
                continue;
            }

            try
            {
                var info = new FileInfo(file);
                var target = info.LinkTarget is null ? info.FullName : info.ResolveLinkTarget(returnFinalTarget: true)?.FullName;
                if (target is null || !target.StartsWith(rootWithSlash, StringComparison.Ordinal))
                {
                    errors.Add(new(name, 0, null, "symbolic link points outside the templates directory; copy the file in instead"));
                    continue;
                }

                if (info.Length > MaxTemplateBytes)
                {
                    errors.Add(new(name, 0, null, $"template is larger than {MaxTemplateBytes} bytes; split it into snippets"));
                    continue;
                }

                if (name.StartsWith(SnippetFolder, StringComparison.Ordinal) && !name.EndsWith(SnippetExtension, StringComparison.Ordinal))
                {
                    errors.Add(new(name, 0, null, $"files under snippets/ are partials and must end in '{SnippetExtension}'; rename it or move it out of snippets/"));
                    continue;
                }

                if (name.StartsWith(SnippetFolder, StringComparison.Ordinal) && !TemplateScanner.IsValidPartialName(PartialName(name)))
                {
                    errors.Add(new(name, 0, null, "snippet names may only contain letters, digits, '_', '-' and '/'; rename the file"));
                    continue;
                }

                var source = File.ReadAllText(file, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true));
                result.Add((name, source));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or DecoderFallbackException)
            {
                errors.Add(new(name, 0, null, $"cannot read template: {e.Message}"));
            }
        }

        return result;
    }

    private static string PartialName(string name) => name[SnippetFolder.Length..^SnippetExtension.Length];

    private static string? FindCycle(string partial, IReadOnlyDictionary<string, ScannedTemplate> snippets, List<string> path)
    {
        if (path.Contains(partial, StringComparer.Ordinal))
        {
            return string.Join(" -> ", path.Append(partial));
        }

        if (!snippets.TryGetValue(partial, out var scanned))
        {
            return null;
        }

        path.Add(partial);
        foreach (var tag in scanned.Tags)
        {
            if (tag.Kind == TagKind.Partial)
            {
                var cycle = FindCycle(tag.Name, snippets, path);
                if (cycle is not null)
                {
                    return cycle;
                }
            }
        }

        path.RemoveAt(path.Count - 1);
        return null;
    }

    /// <summary>
    /// The source handed to Handlebars: optional positions (an if/unless condition, the first argument of default)
    /// that hold a plain path are rewritten to <c>(__pxe_optional "path")</c>, which reads the value without failing
    /// when it is undefined. The rewrite keeps every line break, so line numbers stay those of the file.
    /// </summary>
    private static string PrepareSource(ScannedTemplate scanned)
    {
        var edits = OptionalPositions(scanned).OrderByDescending(p => p.Start).ToList();
        if (edits.Count == 0)
        {
            return scanned.Source;
        }

        var sb = new StringBuilder(scanned.Source);
        foreach (var path in edits)
        {
            sb.Remove(path.Start, path.End - path.Start);
            sb.Insert(path.Start, $"({TemplateHelpers.OptionalHelperName} \"{path.Normalized}\")");
        }

        return sb.ToString();
    }

    private static IEnumerable<PathExpression> OptionalPositions(ScannedTemplate scanned)
    {
        foreach (var tag in scanned.Tags)
        {
            if (tag.Kind is TagKind.BlockOpen or TagKind.Else && tag.Name is "if" or "unless" && IsOptionalPath(tag.Arguments[0]))
            {
                yield return (PathExpression)tag.Arguments[0];
            }

            foreach (var argument in tag.Kind == TagKind.Output && tag.Name == "default" ? [tag.Arguments[0]] : Array.Empty<TemplateExpression>())
            {
                if (IsOptionalPath(argument))
                {
                    yield return (PathExpression)argument;
                }
            }

            foreach (var sub in tag.Arguments.SelectMany(SubExpressions))
            {
                if (sub.Helper == "default" && IsOptionalPath(sub.Arguments[0]))
                {
                    yield return (PathExpression)sub.Arguments[0];
                }
            }
        }
    }

    private static IEnumerable<SubExpression> SubExpressions(TemplateExpression expression)
    {
        if (expression is SubExpression sub)
        {
            yield return sub;
            foreach (var inner in sub.Arguments.SelectMany(SubExpressions))
            {
                yield return inner;
            }
        }
    }

    /// <summary>A path relative to the current context (no <c>../</c>, <c>@root</c>, <c>@data</c> or <c>this</c>).</summary>
    private static bool IsOptionalPath(TemplateExpression expression) =>
        expression is PathExpression { ParentSteps: 0, IsRootReference: false, IsData: false, IsThis: false };

    private static void CollectRequired(
        ScannedTemplate scanned, int baseDepth, IReadOnlyDictionary<string, ScannedTemplate> snippets, HashSet<string> required)
    {
        var optional = OptionalPositions(scanned).ToHashSet();
        var depth = baseDepth;
        var contextBlocks = new Stack<bool>();
        foreach (var tag in scanned.Tags)
        {
            foreach (var path in tag.Arguments.SelectMany(Paths))
            {
                if (optional.Contains(path) || path.IsData || path.IsThis)
                {
                    continue;
                }

                if (path.IsRootReference || depth - path.ParentSteps <= 0)
                {
                    required.Add(path.FirstSegment);
                }
            }

            switch (tag.Kind)
            {
                case TagKind.BlockOpen:
                    var changesContext = tag.Name is "each" or "with";
                    contextBlocks.Push(changesContext);
                    depth += changesContext ? 1 : 0;
                    break;
                case TagKind.BlockClose when contextBlocks.Count > 0:
                    depth -= contextBlocks.Pop() ? 1 : 0;
                    break;
                case TagKind.Partial when snippets.TryGetValue(tag.Name, out var partial):
                    CollectRequired(partial, depth, snippets, required);
                    break;
                default:
                    break;
            }
        }
    }

    private static IEnumerable<PathExpression> Paths(TemplateExpression expression) => expression switch
    {
        PathExpression p => [p],
        SubExpression s => s.Arguments.SelectMany(Paths),
        _ => [],
    };

    private TemplateError UndefinedError(ScannedTemplate template, string? path, string? missingKey)
    {
        var wanted = (path ?? missingKey ?? "").Replace('/', '.');
        foreach (var exactOnly in new[] { true, false })
        {
            var found = FindPath(template, p => exactOnly
                ? p.Normalized == wanted
                : missingKey is not null && p.Normalized.Split('.').Contains(missingKey, StringComparer.Ordinal), []);
            if (found is not null)
            {
                var (file, line, variable) = found.Value;
                var via = file == template.Name ? "" : $" (included from {template.Name})";
                return new TemplateError(file, line, variable,
                    $"variable '{variable}' is not defined{via}; define it in the profile, machine or distro variables, or write {{{{default {variable} \"…\"}}}} / guard it with {{{{#if {variable}}}}}");
            }
        }

        return new TemplateError(template.Name, 0, wanted,
            $"variable '{wanted}' is not defined; define it in the profile, machine or distro variables");
    }

    private (string File, int Line, string Variable)? FindPath(ScannedTemplate scanned, Func<PathExpression, bool> match, HashSet<string> visited)
    {
        if (!visited.Add(scanned.Name))
        {
            return null;
        }

        foreach (var tag in scanned.Tags)
        {
            foreach (var path in tag.Arguments.SelectMany(Paths))
            {
                if (match(path))
                {
                    return (scanned.Name, tag.Line, path.Path);
                }
            }

            if (tag.Kind == TagKind.Partial && _snippets.TryGetValue(tag.Name, out var partial))
            {
                var found = FindPath(partial, match, visited);
                if (found is not null)
                {
                    return found;
                }
            }
        }

        return null;
    }

    private (string File, int Line) FindHelperUse(ScannedTemplate scanned, string helper)
    {
        var queue = new Queue<ScannedTemplate>([scanned]);
        var visited = new HashSet<string>(StringComparer.Ordinal);
        while (queue.TryDequeue(out var current))
        {
            if (!visited.Add(current.Name))
            {
                continue;
            }

            foreach (var tag in current.Tags)
            {
                if ((tag.Kind == TagKind.Output && tag.Name == helper) || tag.Arguments.SelectMany(SubExpressions).Any(s => s.Helper == helper))
                {
                    return (current.Name, tag.Line);
                }

                if (tag.Kind == TagKind.Partial && _snippets.TryGetValue(tag.Name, out var partial))
                {
                    queue.Enqueue(partial);
                }
            }
        }

        return (scanned.Name, 0);
    }

    private static TemplateError CompileError(string name, HandlebarsException e)
    {
        // Handlebars.Net reports parser positions as "Occured at: line:column".
        var line = 1;
        var marker = e.Message.IndexOf("Occured at:", StringComparison.Ordinal);
        if (marker >= 0)
        {
            var rest = e.Message[(marker + "Occured at:".Length)..].Trim();
            var colon = rest.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && int.TryParse(rest[..colon], out var parsed))
            {
                line = parsed;
            }
        }

        var firstLine = e.Message.Split('\n')[0].Trim();
        return new TemplateError(name, line, null, $"syntax error: {firstLine}");
    }

    private sealed record Entry(ScannedTemplate Scanned, HandlebarsTemplate<object, object> Compiled, FrozenSet<string> Required);

    /// <summary>Never finds a partial: every snippet is registered at load, nothing is looked up at render time.</summary>
    private sealed class NoPartialResolver : IPartialTemplateResolver
    {
        public bool TryRegisterPartial(IHandlebars env, string? partialName, string? templatePath) => false;
    }

    /// <summary>Fails a render that reaches a partial that is not registered (the load checks prevent this).</summary>
    private sealed class MissingPartialHandler : IMissingPartialTemplateHandler
    {
        public void Handle(ICompiledHandlebarsConfiguration configuration, string partialName, in EncodedTextWriter textWriter) =>
            throw new HandlebarsRuntimeException($"partial '{partialName}' is not a known snippet");
    }
}
