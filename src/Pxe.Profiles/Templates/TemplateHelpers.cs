using System.Collections;
using System.Globalization;
using System.Text;
using HandlebarsDotNet;

namespace Pxe.Profiles.Templates;

/// <summary>
/// The only helpers templates can call. Each is a pure function of its arguments: none touches the file system,
/// the environment, the clock or a process. A helper given the wrong kind of value throws
/// <see cref="TemplateHelperException"/>, which the library turns into a render error.
/// </summary>
internal static class TemplateHelpers
{
    /// <summary>Name of the internal helper that reads an optional variable without failing when it is undefined.</summary>
    /// <remarks>Templates cannot call it: the scanner only accepts the public helpers; the loader inserts it.</remarks>
    public const string OptionalHelperName = "__pxe_optional";

    /// <summary>The widest indent <c>indent</c> accepts.</summary>
    public const int MaxIndent = 64;

    /// <summary>The helpers templates may call and how many arguments each takes.</summary>
    public static readonly IReadOnlyDictionary<string, int> Arity = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["default"] = 2,
        ["join"] = 2,
        ["indent"] = 2,
        ["url"] = 1,
        ["shell"] = 1,
        ["eq"] = 2,
        ["urlpart"] = 2,
        ["shellwords"] = 1,
    };

    /// <summary>Registers the helpers on a Handlebars environment.</summary>
    public static void Register(IHandlebars handlebars)
    {
        handlebars.RegisterHelper("default", (in HelperOptions _, in Context _, in Arguments a) => Default(Arg(a, 0), Arg(a, 1)));
        handlebars.RegisterHelper("join", (in HelperOptions _, in Context _, in Arguments a) => Join(Arg(a, 0), Arg(a, 1)));
        handlebars.RegisterHelper("indent", (in HelperOptions _, in Context _, in Arguments a) => Indent(Arg(a, 0), Arg(a, 1)));
        handlebars.RegisterHelper("url", (in HelperOptions _, in Context _, in Arguments a) => Url(Arg(a, 0)));
        handlebars.RegisterHelper("shell", (in HelperOptions _, in Context _, in Arguments a) => Shell(Arg(a, 0)));
        handlebars.RegisterHelper("eq", (in HelperOptions _, in Context _, in Arguments a) => Eq(Arg(a, 0), Arg(a, 1)));
        handlebars.RegisterHelper("shellwords", (in HelperOptions _, in Context _, in Arguments a) => ShellWords(Arg(a, 0)));
        handlebars.RegisterHelper("urlpart", (in HelperOptions _, in Context _, in Arguments a) => UrlPart(Arg(a, 0), Arg(a, 1)));
        handlebars.RegisterHelper(OptionalHelperName, (in HelperOptions _, in Context c, in Arguments a) => Optional(c.Value, Arg(a, 0) as string));
    }

    /// <summary>
    /// <c>{{default value fallback}}</c>: <paramref name="value"/> unless it is null, undefined, the empty string or an
    /// empty list; then <paramref name="fallback"/>. An undefined <paramref name="value"/> is not an error.
    /// </summary>
    public static object? Default(object? value, object? fallback) => IsEmpty(value) ? fallback : value;

    /// <summary>
    /// <c>{{join list separator}}</c>: the list's items as text, separated by <paramref name="separator"/>.
    /// A null list gives the empty string; a single string is an error (it is not a list).
    /// </summary>
    public static string Join(object? list, object? separator)
    {
        if (list is null or UndefinedBindingResult)
        {
            return "";
        }

        if (list is string || list is not IEnumerable items)
        {
            throw new TemplateHelperException("join", $"join expects a list as its first argument, got {Describe(list)}; define the variable as a YAML list");
        }

        var sep = Text(separator);
        var sb = new StringBuilder();
        var first = true;
        foreach (var item in items)
        {
            if (!first)
            {
                sb.Append(sep);
            }

            sb.Append(Text(item));
            first = false;
        }

        return sb.ToString();
    }

    /// <summary>
    /// <c>{{indent text n}}</c>: prefixes every line of <paramref name="text"/> except the first with <paramref name="width"/>
    /// spaces (the first line continues wherever the tag stands, so put the tag at the indented column). Empty lines stay
    /// empty (no trailing blanks). <paramref name="width"/> is a whole number from 0 to <see cref="MaxIndent"/>.
    /// Line ends (<c>\n</c> or <c>\r\n</c>) are kept as they are.
    /// </summary>
    public static string Indent(object? text, object? width)
    {
        var n = width switch
        {
            long l => l,
            int i => i,
            string s when long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) => parsed,
            _ => -1,
        };
        if (n is < 0 or > MaxIndent)
        {
            throw new TemplateHelperException("indent", $"indent expects a whole number of spaces from 0 to {MaxIndent} as its second argument, got {Describe(width)}");
        }

        var str = Text(text);
        if (n == 0 || !str.Contains('\n', StringComparison.Ordinal))
        {
            return str;
        }

        var pad = new string(' ', (int)n);
        var sb = new StringBuilder(str.Length + 16);
        var lineStart = 0;
        while (true)
        {
            var nl = str.IndexOf('\n', lineStart);
            var line = nl < 0 ? str.AsSpan(lineStart) : str.AsSpan(lineStart, nl - lineStart);
            if (lineStart > 0 && line.Length > 0 && !(line.Length == 1 && line[0] == '\r'))
            {
                sb.Append(pad);
            }

            sb.Append(line);
            if (nl < 0)
            {
                break;
            }

            sb.Append('\n');
            lineStart = nl + 1;
        }

        return sb.ToString();
    }

    /// <summary>
    /// <c>{{url value}}</c>: percent-encodes <paramref name="value"/> for use as one URL component (query value or path
    /// segment): every character except the RFC 3986 unreserved set <c>A-Z a-z 0-9 - . _ ~</c> is encoded as UTF-8 %XX.
    /// </summary>
    public static string Url(object? value) => Uri.EscapeDataString(Scalar("url", value));

    /// <summary>
    /// <c>{{shell value}}</c>: <paramref name="value"/> as one POSIX shell word in single quotes; an embedded <c>'</c>
    /// becomes <c>'\''</c>. The empty string gives <c>''</c>.
    /// </summary>
    public static string Shell(object? value) => "'" + Scalar("shell", value).Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>
    /// <c>{{urlpart url "part"}}</c>: one part of an absolute URL, for tools that want a URL split up (a preseed mirror,
    /// a GRUB <c>(http,host,port)/path</c> device path). Parts: <c>scheme</c> (<c>http</c>), <c>host</c> (host name or
    /// address, no port), <c>port</c> (explicit or the scheme's default), <c>authority</c> (host, plus <c>:port</c> when
    /// the URL names one), <c>path</c> (path and query, at least <c>/</c>).
    /// </summary>
    public static string UrlPart(object? url, object? part)
    {
        var text = Scalar("urlpart", url);
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new TemplateHelperException("urlpart", $"urlpart expects an absolute URL such as http://mirror.example.net/debian, got \"{text}\"");
        }

        return Text(part) switch
        {
            "scheme" => uri.Scheme,
            "host" => uri.Host,
            "port" => uri.Port.ToString(CultureInfo.InvariantCulture),
            "authority" => uri.IsDefaultPort ? uri.Host : uri.Authority,
            "path" => uri.PathAndQuery,
            var other => throw new TemplateHelperException("urlpart", $"urlpart part must be scheme, host, port, authority or path, got \"{other}\""),
        };
    }

    /// <summary>
    /// <c>{{shellwords value}}</c>: splits <paramref name="value"/> at spaces (not inside double quotes) and writes each word
    /// quoted as by <c>shell</c>, separated by one space. For a kernel command line in a GRUB script, where <c>&amp;</c>,
    /// <c>;</c>, <c>|</c> and <c>$</c> would otherwise be script syntax; GRUB joins the words back with single spaces.
    /// </summary>
    public static string ShellWords(object? value)
    {
        var text = Scalar("shellwords", value);
        var sb = new StringBuilder(text.Length + 16);
        var wordStart = -1;
        var inQuotes = false;
        for (var i = 0; i <= text.Length; i++)
        {
            var end = i == text.Length || (text[i] == ' ' && !inQuotes);
            if (end)
            {
                if (wordStart >= 0)
                {
                    if (sb.Length > 0)
                    {
                        sb.Append(' ');
                    }

                    sb.Append(Shell(text[wordStart..i]));
                    wordStart = -1;
                }

                continue;
            }

            if (text[i] == '"')
            {
                inQuotes = !inQuotes;
            }

            if (wordStart < 0)
            {
                wordStart = i;
            }
        }

        return sb.ToString();
    }

    /// <summary><c>(eq a b)</c>: true when both arguments have the same text (ordinal comparison).</summary>
    public static bool Eq(object? left, object? right) => string.Equals(Text(left), Text(right), StringComparison.Ordinal);

    /// <summary>
    /// Looks up a dotted <paramref name="path"/> from the current context without failing when it is missing:
    /// used for names that only appear as an <c>if</c>/<c>unless</c> condition or the first argument of <c>default</c>.
    /// </summary>
    public static object? Optional(object? context, string? path)
    {
        if (path is null)
        {
            return null;
        }

        var current = context;
        var start = 0;
        while (current is not null)
        {
            var dot = path.IndexOf('.', start);
            var segment = dot < 0 ? path.AsSpan(start) : path.AsSpan(start, dot - start);
            current = Member(current, segment.ToString());
            if (dot < 0)
            {
                return current;
            }

            start = dot + 1;
        }

        return null;
    }

    /// <summary>Text of a value as templates print it (invariant culture; null and undefined give "").</summary>
    public static string Text(object? value) => value switch
    {
        null or UndefinedBindingResult => "",
        string s => s,
        bool b => b ? "True" : "False",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static object? Member(object value, string key) => value switch
    {
        IReadOnlyDictionary<string, object?> ro => ro.TryGetValue(key, out var v) ? v : null,
        IDictionary<string, object?> d => d.TryGetValue(key, out var v) ? v : null,
        IDictionary legacy => legacy.Contains(key) ? legacy[key] : null,
        _ => null,
    };

    private static bool IsEmpty(object? value) => value switch
    {
        null or UndefinedBindingResult => true,
        string s => s.Length == 0,
        ICollection c => c.Count == 0,
        IEnumerable e => !e.GetEnumerator().MoveNext(),
        _ => false,
    };

    private static string Scalar(string helper, object? value)
    {
        if (value is not string && value is IEnumerable)
        {
            throw new TemplateHelperException(helper, $"{helper} expects a single value, got a list; use (join list \" \") first");
        }

        return Text(value);
    }

    private static object? Arg(in Arguments arguments, int index) => index < arguments.Length ? arguments[index] : null;

    private static string Describe(object? value) => value switch
    {
        null => "null",
        string s => $"the string \"{s}\"",
        _ => $"a {value.GetType().Name}",
    };
}

/// <summary>A helper was given a value it cannot work with; the message says what to change.</summary>
internal sealed class TemplateHelperException(string helper, string message) : Exception(message)
{
    /// <summary>The helper that failed.</summary>
    public string Helper { get; } = helper;
}
