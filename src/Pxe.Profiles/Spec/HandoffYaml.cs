using System.Collections;
using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Pxe.Profiles.Spec;

/// <summary>
/// Writes variable values (strings, numbers, booleans, lists, mappings) as YAML that every reader takes the same way:
/// strings always in double quotes (so <c>on</c>, <c>yes</c>, <c>0755</c> or <c>1.10</c> stay strings for YAML 1.1
/// readers such as Ruby's Psych and PyYAML), numbers and booleans plain, keys in the order given.
/// Used for Salt grains and the Puppet external node classifier.
/// </summary>
public static class HandoffYaml
{
    /// <summary>The mapping as a YAML document without the <c>---</c> and <c>...</c> markers; ends with a newline.</summary>
    public static string Write(IReadOnlyDictionary<string, object?> mapping)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        return Write(Node(mapping));
    }

    /// <summary><paramref name="root"/> as a YAML document without markers; ends with a newline.</summary>
    public static string Write(YamlNode root)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (root is YamlMappingNode { Children.Count: 0 })
        {
            return "{}\n";
        }

        var stream = new YamlStream(new YamlDocument(root));
        using var writer = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        stream.Save(writer, assignAnchors: false);
        var text = writer.ToString().Replace("\r\n", "\n", StringComparison.Ordinal);
        // YamlStream ends every document with an explicit "..." end marker; a single document does not need it.
        if (text.EndsWith("...\n", StringComparison.Ordinal))
        {
            text = text[..^4];
        }

        return text.EndsWith('\n') ? text : text + "\n";
    }

    /// <summary>A YAML node for a variable value.</summary>
    public static YamlNode Node(object? value) => value switch
    {
        null => new YamlScalarNode("~") { Style = ScalarStyle.Plain },
        string s => new YamlScalarNode(s) { Style = ScalarStyle.DoubleQuoted },
        bool b => new YamlScalarNode(b ? "true" : "false") { Style = ScalarStyle.Plain },
        long or int or short or byte => new YamlScalarNode(Convert.ToString(value, CultureInfo.InvariantCulture)) { Style = ScalarStyle.Plain },
        double d when double.IsFinite(d) => new YamlScalarNode(d.ToString("R", CultureInfo.InvariantCulture)) { Style = ScalarStyle.Plain },
        IReadOnlyDictionary<string, object?> map => Mapping(map),
        IEnumerable list => new YamlSequenceNode(list.Cast<object?>().Select(Node)),
        _ => new YamlScalarNode(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "") { Style = ScalarStyle.DoubleQuoted },
    };

    private static YamlMappingNode Mapping(IReadOnlyDictionary<string, object?> map)
    {
        var node = new YamlMappingNode();
        foreach (var (key, value) in map)
        {
            node.Add(new YamlScalarNode(key), Node(value));
        }

        return node;
    }
}
