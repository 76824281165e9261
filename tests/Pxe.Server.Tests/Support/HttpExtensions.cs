using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Pxe.Server.Tests.Support;

/// <summary>Small helpers for reading the API's JSON and problem details in assertions.</summary>
internal static class HttpExtensions
{
    public static async Task<JsonNode> JsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonNode.Parse(text) ?? throw new InvalidOperationException($"HTTP {(int)response.StatusCode} with an empty body");
    }

    /// <summary>Asserts the status and that the body is an RFC 7807 problem; returns its detail.</summary>
    public static async Task<string> ProblemAsync(this HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var node = JsonNode.Parse(text)!;
        Assert.Equal((int)expected, node["status"]!.GetValue<int>());
        return node["detail"]?.GetValue<string>() ?? "";
    }

    public static async Task<HttpResponseMessage> EnsureOkAsync(this Task<HttpResponseMessage> pending)
    {
        var response = await pending;
        if (!response.IsSuccessStatusCode)
        {
            Assert.Fail($"HTTP {(int)response.StatusCode} for {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {await response.Content.ReadAsStringAsync()}");
        }

        return response;
    }

    public static Task<HttpResponseMessage> PutJsonAsync(this HttpClient http, string url, object body) => http.PutAsJsonAsync(url, body);

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient http, string url, object body) => http.PostAsJsonAsync(url, body);

    public static Task<HttpResponseMessage> PostRawAsync(this HttpClient http, string url, string body, string contentType) =>
        http.PostAsync(url, new StringContent(body, Encoding.UTF8, contentType));

    public static Task<HttpResponseMessage> PutRawAsync(this HttpClient http, string url, string body, string contentType) =>
        http.PutAsync(url, new StringContent(body, Encoding.UTF8, contentType));
}
