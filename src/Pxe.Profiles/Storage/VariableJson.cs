using System.Text.Json;

namespace Pxe.Profiles.Storage;

/// <summary>
/// Converts variable trees (string, bool, long, double, list, dictionary, null) to and from JSON, keeping their
/// types: what goes in comes back out the same.
/// </summary>
public static class VariableJson
{
    /// <summary>Serializes a dictionary of variables.</summary>
    public static string Serialize(IReadOnlyDictionary<string, object?> values) => JsonSerializer.Serialize(values);

    /// <summary>Serializes a dictionary of kernel arguments.</summary>
    public static string Serialize(IReadOnlyDictionary<string, string?> values) => JsonSerializer.Serialize(values);

    /// <summary>Parses a dictionary of variables.</summary>
    public static Dictionary<string, object?> DeserializeVariables(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return ToDictionary(doc.RootElement);
    }

    /// <summary>Parses a dictionary of kernel arguments.</summary>
    public static Dictionary<string, string?> DeserializeKernelArgs(string json) =>
        JsonSerializer.Deserialize<Dictionary<string, string?>>(json) ?? [];

    /// <summary>Converts one JSON element into the variable tree.</summary>
    public static object? ToValue(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Number when e.TryGetInt64(out var l) => l,
        JsonValueKind.Number => e.GetDouble(),
        JsonValueKind.Array => e.EnumerateArray().Select(ToValue).ToList(),
        JsonValueKind.Object => ToDictionary(e),
        _ => null,
    };

    /// <summary>Converts a JSON object into a dictionary of variables.</summary>
    public static Dictionary<string, object?> ToDictionary(JsonElement e)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (e.ValueKind != JsonValueKind.Object)
        {
            return result;
        }

        foreach (var p in e.EnumerateObject())
        {
            result[p.Name] = ToValue(p.Value);
        }

        return result;
    }
}
