using System.Text;
using System.Text.Json;

namespace Pxe.Server.Cli;

/// <summary>The admin commands' view of the REST API: requests, and problem details turned into one-line errors.</summary>
internal sealed class ApiClient : IDisposable
{
    private readonly HttpClient _http;

    public ApiClient(Uri baseUri, string? token)
    {
        _http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
        if (!string.IsNullOrWhiteSpace(token))
        {
            _http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token.Trim());
        }
    }

    public Task<JsonElement> GetAsync(string path, CancellationToken ct) => SendAsync(HttpMethod.Get, path, null, ct);

    public Task<JsonElement> PutAsync(string path, object body, CancellationToken ct) => SendAsync(HttpMethod.Put, path, body, ct);

    public Task<JsonElement> PostAsync(string path, object? body, CancellationToken ct) => SendAsync(HttpMethod.Post, path, body, ct);

    public Task<JsonElement> DeleteAsync(string path, CancellationToken ct) => SendAsync(HttpMethod.Delete, path, null, ct);

    public async Task<string> GetTextAsync(string path, CancellationToken ct)
    {
        using var response = await Send(new HttpRequestMessage(HttpMethod.Get, path), ct);
        return await response.Content.ReadAsStringAsync(ct);
    }

    private async Task<JsonElement> SendAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        using var response = await Send(request, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (text.Length == 0)
        {
            return default;
        }

        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    private async Task<HttpResponseMessage> Send(HttpRequestMessage request, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, ct);
        }
        catch (HttpRequestException e)
        {
            throw new CliException($"cannot reach the PxeServer API at {_http.BaseAddress} ({e.Message}); is `pxe serve` running? (--server / PXE_URL)");
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        var text = await response.Content.ReadAsStringAsync(ct);
        response.Dispose();
        throw new CliException(ProblemMessage((int)response.StatusCode, text));
    }

    private static string ProblemMessage(int status, string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            var sb = new StringBuilder();
            sb.Append(root.TryGetProperty("detail", out var d) ? d.GetString() : root.TryGetProperty("title", out var t) ? t.GetString() : $"HTTP {status}");
            if (root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() > 1)
            {
                foreach (var e in errors.EnumerateArray())
                {
                    sb.Append("\n  - ").Append(e.TryGetProperty("message", out var m) ? m.GetString() : e.ToString());
                }
            }

            return sb.ToString();
        }
        catch (JsonException)
        {
            return $"HTTP {status}: {text}";
        }
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>An error for the person at the terminal: printed as one message, exit code 1.</summary>
internal sealed class CliException(string message) : Exception(message);
