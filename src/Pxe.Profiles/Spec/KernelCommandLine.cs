using System.Text;

namespace Pxe.Profiles.Spec;

/// <summary>
/// Kernel arguments as an ordered set of <c>key=value</c> words (a null value is a bare flag such as <c>quiet</c>).
/// A command line never contains a newline or a control character: it ends up on one line of an iPXE script,
/// a pxelinux APPEND or a GRUB <c>linux</c> command, where a newline would start a new command.
/// </summary>
public static class KernelCommandLine
{
    /// <summary>Largest command line we hand out (x86 Linux accepts 2048 bytes).</summary>
    public const int MaxLength = 2048;

    /// <summary>Checks one argument; returns a message that says what to fix, or null.</summary>
    public static string? CheckArgument(string key, string? value)
    {
        var k = key.StartsWith('!') ? key[1..] : key;
        if (k.Length == 0 || k.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '=' or '"' or '\''))
        {
            return $"'{SpecNames.Clip(key)}' is not a kernel argument name: no spaces, quotes, '=' or control characters";
        }

        if (value is not null && value.Any(c => char.IsControl(c)))
        {
            return "a kernel argument's value must not contain a newline or other control character";
        }

        if (key.Contains("${", StringComparison.Ordinal) || (value is not null && value.Contains("${", StringComparison.Ordinal)))
        {
            return "'${' is not allowed in kernel arguments: iPXE would expand it as one of its settings";
        }

        if (value is not null && value.Any(char.IsWhiteSpace) && !(value.StartsWith('"') && value.EndsWith('"') && value.Length >= 2))
        {
            return "a kernel argument's value with spaces must be wrapped in double quotes";
        }

        return null;
    }

    /// <summary>Parses one line of words; the error says what is wrong.</summary>
    public static (IReadOnlyDictionary<string, string?> Args, string? Error) Parse(string line)
    {
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (line.Any(char.IsControl))
        {
            return (result, "a kernel command line must not contain a newline or other control character");
        }

        foreach (var word in SplitWords(line))
        {
            var eq = word.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? word : word[..eq];
            var value = eq < 0 ? null : word[(eq + 1)..];
            var problem = CheckArgument(key, value);
            if (problem is not null)
            {
                return (result, problem);
            }

            result[key] = value;
        }

        return (result, null);
    }

    private static IEnumerable<string> SplitWords(string line)
    {
        var sb = new StringBuilder();
        var quoted = false;
        foreach (var c in line)
        {
            if (c == '"')
            {
                quoted = !quoted;
            }

            if (char.IsWhiteSpace(c) && !quoted)
            {
                if (sb.Length > 0)
                {
                    yield return sb.ToString();
                    sb.Clear();
                }

                continue;
            }

            sb.Append(c);
        }

        if (sb.Length > 0)
        {
            yield return sb.ToString();
        }
    }

    /// <summary>Formats arguments as one line; fails when the result would be unsafe or too long.</summary>
    public static string Format(IEnumerable<KeyValuePair<string, string?>> args)
    {
        var sb = new StringBuilder();
        foreach (var (key, value) in args)
        {
            var problem = CheckArgument(key, value);
            if (problem is not null)
            {
                throw new KernelCommandLineException($"kernel argument '{SpecNames.Clip(key)}': {problem}");
            }

            if (sb.Length > 0)
            {
                sb.Append(' ');
            }

            sb.Append(key);
            if (value is not null)
            {
                sb.Append('=').Append(value);
            }
        }

        if (sb.Length > MaxLength)
        {
            throw new KernelCommandLineException($"the kernel command line is {sb.Length} characters; the limit is {MaxLength}");
        }

        return sb.ToString();
    }
}

/// <summary>A kernel command line that cannot be handed out (a newline, a control character, too long).</summary>
public sealed class KernelCommandLineException(string message) : Exception(message);
