using System.Globalization;

namespace Pxe.Profiles.Templates;

/// <summary>
/// Reads the tags of a Handlebars template and checks them against the subset this product accepts, so that
/// every problem is reported at load time with its line: unbalanced blocks, unknown helpers or partials,
/// wrong argument counts, and constructs that are not supported (decorators, inline partials, hash arguments,
/// block parameters, raw blocks, dynamic partials).
/// </summary>
internal static class TemplateScanner
{
    /// <summary>The block helpers templates may open.</summary>
    internal static readonly IReadOnlySet<string> BlockNames = new HashSet<string>(StringComparer.Ordinal) { "if", "unless", "each", "with" };

    /// <summary>Scans <paramref name="source"/>; <paramref name="helperArity"/> gives each helper's argument count.</summary>
    public static ScannedTemplate Scan(string name, string source, IReadOnlyDictionary<string, int> helperArity)
    {
        var errors = new List<TemplateError>();
        var tags = new List<TemplateTag>();
        var lineStarts = LineStarts(source);
        var stack = new Stack<(string Name, int Line)>();
        var pos = 0;
        while (true)
        {
            var open = source.IndexOf("{{", pos, StringComparison.Ordinal);
            if (open < 0)
            {
                break;
            }

            var line = LineOf(lineStarts, open);
            if (open > 0 && source[open - 1] == '\\')
            {
                // \{{x}} is literal text in Handlebars.
                var literalEnd = source.IndexOf("}}", open + 2, StringComparison.Ordinal);
                pos = literalEnd < 0 ? source.Length : literalEnd + 2;
                continue;
            }

            if (string.CompareOrdinal(source, open, "{{{{", 0, 4) == 0)
            {
                errors.Add(new(name, line, null, "raw blocks ({{{{…}}}}) are not supported; remove them or escape a literal '{{' as '\\{{'"));
                break;
            }

            var triple = string.CompareOrdinal(source, open, "{{{", 0, 3) == 0;
            var comment = !triple && string.CompareOrdinal(source, open, "{{!", 0, 3) == 0
                || string.CompareOrdinal(source, open, "{{~!", 0, 4) == 0;
            var longComment = comment && source.IndexOf("--", open, Math.Min(6, source.Length - open), StringComparison.Ordinal) >= 0;
            var closer = triple ? "}}}" : longComment ? "--}}" : "}}";
            var close = source.IndexOf(closer, open + 2, StringComparison.Ordinal);
            if (close < 0)
            {
                errors.Add(new(name, line, null, $"'{(triple ? "{{{" : "{{")}' opened at line {line} is never closed; add '{closer}'"));
                break;
            }

            pos = close + closer.Length;
            if (comment)
            {
                tags.Add(new(TagKind.Comment, line, "", []));
                continue;
            }

            var innerStart = open + (triple ? 3 : 2);
            var innerEnd = close;
            if (innerStart < innerEnd && source[innerStart] == '~')
            {
                innerStart++;
            }

            if (innerEnd > innerStart && source[innerEnd - 1] == '~')
            {
                innerEnd--;
            }

            var tag = ParseTag(name, source, innerStart, innerEnd, line, triple, helperArity, errors);
            if (tag is null)
            {
                continue;
            }

            tags.Add(tag);
            switch (tag.Kind)
            {
                case TagKind.BlockOpen:
                    stack.Push((tag.Name, line));
                    break;
                case TagKind.Else:
                    if (stack.Count == 0)
                    {
                        errors.Add(new(name, line, null, "'{{else}}' outside any block; it must sit between {{#if}}/{{#unless}}/{{#each}}/{{#with}} and its closing tag"));
                    }
                    else if (tag.Name.Length > 0 && stack.Peek().Name is not ("if" or "unless"))
                    {
                        errors.Add(new(name, line, null, $"'{{{{else {tag.Name}}}}}' is only allowed inside {{{{#if}}}} or {{{{#unless}}}}, not inside {{{{#{stack.Peek().Name}}}}}"));
                    }

                    break;
                case TagKind.BlockClose:
                    if (stack.Count == 0)
                    {
                        errors.Add(new(name, line, null, $"'{{{{/{tag.Name}}}}}' closes a block that was never opened; remove it or add '{{{{#{tag.Name} …}}}}' before it"));
                    }
                    else if (stack.Peek().Name != tag.Name)
                    {
                        var (openName, openLine) = stack.Pop();
                        errors.Add(new(name, line, null, $"'{{{{/{tag.Name}}}}}' does not match '{{{{#{openName}}}}}' opened at line {openLine}; close that block with '{{{{/{openName}}}}}' first"));
                    }
                    else
                    {
                        stack.Pop();
                    }

                    break;
                default:
                    break;
            }
        }

        while (stack.Count > 0)
        {
            var (openName, openLine) = stack.Pop();
            errors.Add(new(name, openLine, null, $"'{{{{#{openName}}}}}' opened at line {openLine} is never closed; add '{{{{/{openName}}}}}'"));
        }

        return new ScannedTemplate(name, source, tags, errors);
    }

    /// <summary>Returns the 1-based line of the character at <paramref name="offset"/>.</summary>
    public static int LineOf(int[] lineStarts, int offset)
    {
        var i = Array.BinarySearch(lineStarts, offset);
        return (i >= 0 ? i : ~i - 1) + 1;
    }

    /// <summary>The offsets at which each line begins.</summary>
    public static int[] LineStarts(string source)
    {
        var starts = new List<int> { 0 };
        for (var i = 0; i < source.Length; i++)
        {
            if (source[i] == '\n')
            {
                starts.Add(i + 1);
            }
        }

        return [.. starts];
    }

    /// <summary>True for a partial name made of folder/name segments of letters, digits, '_' and '-'.</summary>
    public static bool IsValidPartialName(string name)
    {
        if (name.Length == 0 || name.Length > 200)
        {
            return false;
        }

        foreach (var segment in name.Split('/'))
        {
            if (segment.Length == 0 || segment.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '-')))
            {
                return false;
            }
        }

        return true;
    }

    private static TemplateTag? ParseTag(
        string name, string source, int start, int end, int line, bool triple,
        IReadOnlyDictionary<string, int> helperArity, List<TemplateError> errors)
    {
        while (start < end && char.IsWhiteSpace(source[start]))
        {
            start++;
        }

        while (end > start && char.IsWhiteSpace(source[end - 1]))
        {
            end--;
        }

        if (start >= end)
        {
            errors.Add(new(name, line, null, "empty tag '{{}}'; put a variable or helper call inside or remove it"));
            return null;
        }

        var sigil = triple ? '\0' : source[start];
        switch (sigil)
        {
            case '#':
                {
                    if (start + 1 < end && source[start + 1] is '>' or '*')
                    {
                        errors.Add(new(name, line, null, "partial blocks and decorators ({{#> …}}, {{#* …}}) are not supported; use {{> snippet}}"));
                        return null;
                    }

                    var tokens = Tokenize(name, source, start + 1, end, line, errors);
                    if (tokens is null)
                    {
                        return null;
                    }

                    if (tokens.Count == 0 || tokens[0].Kind != TokenKind.Word)
                    {
                        errors.Add(new(name, line, null, "a block must name a helper: {{#if x}}, {{#unless x}}, {{#each list}} or {{#with object}}"));
                        return null;
                    }

                    var blockName = tokens[0].Text;
                    if (!BlockNames.Contains(blockName))
                    {
                        errors.Add(new(name, line, null, $"unknown block helper '{blockName}'; use one of {{{{#if}}}}, {{{{#unless}}}}, {{{{#each}}}}, {{{{#with}}}}"));
                        return null;
                    }

                    var args = ParseArguments(name, source, tokens, 1, line, helperArity, errors);
                    if (args is null)
                    {
                        return null;
                    }

                    if (args.Count != 1)
                    {
                        errors.Add(new(name, line, null, $"'{{{{#{blockName}}}}}' takes exactly one argument, got {args.Count}"));
                        return null;
                    }

                    if (blockName is "each" or "with" && args[0] is LiteralExpression)
                    {
                        errors.Add(new(name, line, null, $"'{{{{#{blockName}}}}}' needs a variable, not a literal"));
                        return null;
                    }

                    return new TemplateTag(TagKind.BlockOpen, line, blockName, args);
                }

            case '/':
                {
                    var closeName = source[(start + 1)..end].Trim();
                    return new TemplateTag(TagKind.BlockClose, line, closeName, []);
                }

            case '^':
                if (source[(start + 1)..end].Trim().Length == 0)
                {
                    return new TemplateTag(TagKind.Else, line, "", []);
                }

                errors.Add(new(name, line, null, "inverted sections ({{^name}}) are not supported; use {{#unless name}}"));
                return null;

            case '>':
                {
                    var partial = source[(start + 1)..end].Trim();
                    if (partial.Length == 0 || partial.Contains(' ', StringComparison.Ordinal) || partial.Contains('(', StringComparison.Ordinal))
                    {
                        errors.Add(new(name, line, null, $"'{{{{> {partial}}}}}' must name exactly one snippet (no context argument, no dynamic partial name)"));
                        return null;
                    }

                    if (partial.Length > 1 && partial[0] is '"' or '\'' && partial[^1] == partial[0])
                    {
                        partial = partial[1..^1];
                    }

                    if (!IsValidPartialName(partial))
                    {
                        errors.Add(new(name, line, null, $"partial name '{partial}' is not allowed: a snippet is named by its path under snippets/ without '.hbs', made of letters, digits, '_', '-' and '/' (no '..', no absolute paths)"));
                        return null;
                    }

                    return new TemplateTag(TagKind.Partial, line, partial, []);
                }

            case '*':
                errors.Add(new(name, line, null, "decorators ({{* …}}) are not supported"));
                return null;

            case '&':
                start++;
                break;

            default:
                break;
        }

        var outTokens = Tokenize(name, source, start, end, line, errors);
        if (outTokens is null)
        {
            return null;
        }

        if (outTokens.Count > 0 && outTokens[0].Kind == TokenKind.Word && outTokens[0].Text == "else")
        {
            if (outTokens.Count == 1)
            {
                return new TemplateTag(TagKind.Else, line, "", []);
            }

            var chained = outTokens[1].Text;
            if (outTokens[1].Kind != TokenKind.Word || chained is not ("if" or "unless"))
            {
                errors.Add(new(name, line, null, "only '{{else}}', '{{else if x}}' and '{{else unless x}}' are supported"));
                return null;
            }

            var chainArgs = ParseArguments(name, source, outTokens, 2, line, helperArity, errors);
            if (chainArgs is null)
            {
                return null;
            }

            if (chainArgs.Count != 1)
            {
                errors.Add(new(name, line, null, $"'{{{{else {chained}}}}}' takes exactly one argument, got {chainArgs.Count}"));
                return null;
            }

            return new TemplateTag(TagKind.Else, line, chained, chainArgs);
        }

        if (outTokens.Count == 1)
        {
            if (outTokens[0].Kind == TokenKind.Word && helperArity.TryGetValue(outTokens[0].Text, out var zeroArity))
            {
                errors.Add(new(name, line, null, $"helper '{outTokens[0].Text}' takes {zeroArity} argument(s), got 0 (a variable cannot share a helper's name)"));
                return null;
            }

            var single = ParseArguments(name, source, outTokens, 0, line, helperArity, errors);
            return single is null ? null : new TemplateTag(TagKind.Output, line, "", single);
        }

        if (outTokens[0].Kind != TokenKind.Word)
        {
            errors.Add(new(name, line, null, "a tag with several parts must start with a helper name, e.g. {{join dns \",\"}}"));
            return null;
        }

        var helper = outTokens[0].Text;
        if (!helperArity.TryGetValue(helper, out var helperArityCount))
        {
            errors.Add(new(name, line, null, $"unknown helper '{helper}'; the helpers are {string.Join(", ", helperArity.Keys.Order(StringComparer.Ordinal))}"));
            return null;
        }

        var helperArgs = ParseArguments(name, source, outTokens, 1, line, helperArity, errors);
        if (helperArgs is null)
        {
            return null;
        }

        if (helperArgs.Count != helperArityCount)
        {
            errors.Add(new(name, line, null, $"helper '{helper}' takes {helperArityCount} argument(s), got {helperArgs.Count}"));
            return null;
        }

        return new TemplateTag(TagKind.Output, line, helper, helperArgs);
    }

    private static List<TemplateExpression>? ParseArguments(
        string name, string source, List<Token> tokens, int index, int line,
        IReadOnlyDictionary<string, int> helperArity, List<TemplateError> errors)
    {
        var result = new List<TemplateExpression>();
        var ok = true;
        while (index < tokens.Count)
        {
            var expr = ParseExpression(name, source, tokens, ref index, line, helperArity, errors);
            if (expr is null)
            {
                ok = false;
                break;
            }

            result.Add(expr);
        }

        return ok ? result : null;
    }

    private static TemplateExpression? ParseExpression(
        string name, string source, List<Token> tokens, ref int index, int line,
        IReadOnlyDictionary<string, int> helperArity, List<TemplateError> errors)
    {
        var token = tokens[index++];
        switch (token.Kind)
        {
            case TokenKind.String:
                return new LiteralExpression(token.Start, token.End, token.Text);
            case TokenKind.Close:
                errors.Add(new(name, line, null, "unexpected ')'; check the parentheses"));
                return null;
            case TokenKind.Open:
                {
                    if (index >= tokens.Count || tokens[index].Kind != TokenKind.Word)
                    {
                        errors.Add(new(name, line, null, "'(' must be followed by a helper name, e.g. (eq boot_action \"install\")"));
                        return null;
                    }

                    var helper = tokens[index++].Text;
                    if (!helperArity.TryGetValue(helper, out var arity))
                    {
                        errors.Add(new(name, line, null, $"unknown helper '{helper}'; the helpers are {string.Join(", ", helperArity.Keys.Order(StringComparer.Ordinal))}"));
                        return null;
                    }

                    var args = new List<TemplateExpression>();
                    while (index < tokens.Count && tokens[index].Kind != TokenKind.Close)
                    {
                        var arg = ParseExpression(name, source, tokens, ref index, line, helperArity, errors);
                        if (arg is null)
                        {
                            return null;
                        }

                        args.Add(arg);
                    }

                    if (index >= tokens.Count)
                    {
                        errors.Add(new(name, line, null, $"'(' of '({helper} …' is never closed; add ')'"));
                        return null;
                    }

                    var closeToken = tokens[index++];
                    if (args.Count != arity)
                    {
                        errors.Add(new(name, line, null, $"helper '{helper}' takes {arity} argument(s), got {args.Count}"));
                        return null;
                    }

                    return new SubExpression(token.Start, closeToken.End, helper, args);
                }

            default:
                break;
        }

        var text = token.Text;
        if (text == "as")
        {
            errors.Add(new(name, line, null, "block parameters ('as |x|') are not supported; use 'this' and '@index' inside {{#each}}"));
            return null;
        }

        if (text.Contains('=', StringComparison.Ordinal))
        {
            errors.Add(new(name, line, null, $"hash arguments ('{text}') are not supported; pass arguments by position"));
            return null;
        }

        if (text is "true" or "false" or "null" or "undefined"
            || double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _))
        {
            return new LiteralExpression(token.Start, token.End, text);
        }

        if (!IsValidPath(text))
        {
            errors.Add(new(name, line, text, $"'{text}' is not a valid variable name; use letters, digits and '_' separated by '.', e.g. distro.install_tree"));
            return null;
        }

        return new PathExpression(token.Start, token.End, text);
    }

    private static bool IsValidPath(string text)
    {
        var p = text;
        while (p.StartsWith("../", StringComparison.Ordinal))
        {
            p = p[3..];
        }

        if (p is "this" or "." or "@index" or "@key" or "@first" or "@last")
        {
            return true;
        }

        if (p.StartsWith("@root.", StringComparison.Ordinal))
        {
            p = p[6..];
        }
        else if (p.StartsWith("this.", StringComparison.Ordinal))
        {
            p = p[5..];
        }
        else if (p.StartsWith("./", StringComparison.Ordinal))
        {
            p = p[2..];
        }

        foreach (var segment in p.Split('.', '/'))
        {
            if (segment.Length == 0 || !(char.IsAsciiLetter(segment[0]) || segment[0] == '_')
                || segment.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '-')))
            {
                return false;
            }
        }

        return true;
    }

    private enum TokenKind
    {
        Word,
        String,
        Open,
        Close,
    }

    private readonly record struct Token(TokenKind Kind, int Start, int End, string Text);

    private static List<Token>? Tokenize(string name, string source, int start, int end, int line, List<TemplateError> errors)
    {
        var tokens = new List<Token>();
        var i = start;
        while (i < end)
        {
            var c = source[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }

            if (c is '(' or ')')
            {
                tokens.Add(new(c == '(' ? TokenKind.Open : TokenKind.Close, i, i + 1, c.ToString()));
                i++;
                continue;
            }

            if (c is '"' or '\'')
            {
                var closeQuote = source.IndexOf(c, i + 1, end - i - 1);
                if (closeQuote < 0)
                {
                    errors.Add(new(name, line, null, $"string literal starting with {c} is never closed; add the closing {c}"));
                    return null;
                }

                tokens.Add(new(TokenKind.String, i, closeQuote + 1, source[(i + 1)..closeQuote]));
                i = closeQuote + 1;
                continue;
            }

            if (c == '|')
            {
                errors.Add(new(name, line, null, "block parameters ('as |x|') are not supported; use 'this' and '@index' inside {{#each}}"));
                return null;
            }

            var wordStart = i;
            while (i < end && !char.IsWhiteSpace(source[i]) && source[i] is not ('(' or ')' or '"' or '\''))
            {
                i++;
            }

            tokens.Add(new(TokenKind.Word, wordStart, i, source[wordStart..i]));
        }

        return tokens;
    }
}
