using System.Threading.RateLimiting;
using Pxe.Profiles.Domain;
using Pxe.Profiles.Services;

namespace Pxe.Server.Http;

/// <summary>Endpoint metadata: the least role a route needs.</summary>
internal sealed record RequiredRole(ApiRole Role);

/// <summary>
/// Authentication and authorization for /api/v1: <c>Authorization: Bearer pxe_…</c>, a role per route (reads need
/// viewer, changes need operator unless the route asks for admin), a per-token rate limit, and an event for every
/// refusal. The token's name becomes the actor of what the request changes.
/// </summary>
internal static class ApiAuth
{
    private const string TokenItem = "pxe.token";

    /// <summary>The authenticated token of this request (set by the filter).</summary>
    public static ApiToken Token(this HttpContext context) =>
        context.Items[TokenItem] as ApiToken ?? throw new InvalidOperationException("the API route ran without the authentication filter");

    /// <summary>The actor name for events: the token's name.</summary>
    public static string Actor(this HttpContext context) => context.Token().Name;

    /// <summary>Marks a route as needing at least <paramref name="role"/>.</summary>
    public static TBuilder RequireRole<TBuilder>(this TBuilder builder, ApiRole role)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.WithMetadata(new RequiredRole(role));
        return builder;
    }

    /// <summary>The least role a request needs: the route's own, else viewer for reads and operator for changes.</summary>
    public static ApiRole Needed(HttpContext context)
    {
        var declared = context.GetEndpoint()?.Metadata.GetMetadata<RequiredRole>();
        if (declared is not null)
        {
            return declared.Role;
        }

        return HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method) ? ApiRole.Viewer : ApiRole.Operator;
    }

    /// <summary>The filter every /api/v1 route runs behind.</summary>
    public static async ValueTask<object?> Filter(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var http = invocation.HttpContext;
        if (http.RequestServices.GetRequiredService<Hosting.PxeOptions>().HttpsUrl is { Length: > 0 } httpsUrl && !http.Request.IsHttps)
        {
            return Problems.Problem(StatusCodes.Status403Forbidden, "HTTPS required",
                $"the API is served over HTTPS only on this server; use {httpsUrl.TrimEnd('/')}{http.Request.Path}");
        }

        var tokens = http.RequestServices.GetRequiredService<TokenService>();
        var events = http.RequestServices.GetRequiredService<EventLog>();
        var header = http.Request.Headers.Authorization.ToString();
        var secret = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
        var token = await tokens.AuthenticateAsync(secret, http.RequestAborted);
        if (token is null)
        {
            events.Post(Denied(http, secret is null ? "no API token" : "an invalid or revoked API token", "anonymous"));
            http.Response.Headers.WWWAuthenticate = "Bearer";
            return Problems.Problem(StatusCodes.Status401Unauthorized, "Unauthorized",
                secret is null
                    ? "this API needs a token: send 'Authorization: Bearer pxe_…' (create one with `pxe tokens create`; the first admin token is written to the data directory at first start)"
                    : "the API token is not valid (mistyped or revoked); ask an admin for a new one");
        }

        var needed = Needed(http);
        if (token.Role < needed)
        {
            events.Post(Denied(http, $"token '{token.Name}' ({token.Role.ToString().ToLowerInvariant()})", token.Name));
            return Problems.Problem(StatusCodes.Status403Forbidden, "Forbidden",
                $"token '{token.Name}' has role {token.Role.ToString().ToLowerInvariant()}; {http.Request.Method} {http.Request.Path} needs {needed.ToString().ToLowerInvariant()}");
        }

        http.Items[TokenItem] = token;
        var limiter = http.RequestServices.GetRequiredService<ApiRateLimiter>();
        using var lease = limiter.Acquire(token.Name);
        if (!lease.IsAcquired)
        {
            http.Response.Headers.RetryAfter = "1";
            return Problems.Problem(StatusCodes.Status429TooManyRequests, "Too many requests",
                $"token '{token.Name}' sent more than {limiter.PermitsPerSecond} requests in a second; slow down or use the bulk import");
        }

        return await next(invocation);
    }

    private static MachineEvent Denied(HttpContext http, string who, string actor) => new()
    {
        Time = DateTimeOffset.UtcNow,
        Kind = EventKinds.AccessDenied,
        Message = $"{http.Request.Method} {Clip(http.Request.Path.Value ?? "")} refused for {who} from {http.Connection.RemoteIpAddress}",
        Actor = actor,
    };

    private static string Clip(string s) => s.Length <= 200 ? s : s[..200] + "…";
}

/// <summary>A token-bucket rate limit per API token: bursts are fine, floods are refused with 429.</summary>
internal sealed class ApiRateLimiter(int permitsPerSecond) : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter = PartitionedRateLimiter.Create<string, string>(name =>
        RateLimitPartition.GetTokenBucketLimiter(name, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = permitsPerSecond * 2,
            TokensPerPeriod = permitsPerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));

    public int PermitsPerSecond { get; } = permitsPerSecond;

    public RateLimitLease Acquire(string tokenName) => _limiter.AttemptAcquire(tokenName);

    public void Dispose() => _limiter.Dispose();
}
