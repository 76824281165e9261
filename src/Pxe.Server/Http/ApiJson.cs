using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pxe.Server.Http;

/// <summary>The API's JSON shape: snake_case names (as in the YAML spec), enums as lower-case strings, nulls left out.</summary>
internal static class ApiJson
{
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions o)
    {
        o.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        o.DictionaryKeyPolicy = null;
        o.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        o.WriteIndented = false;
        return o;
    }
}
