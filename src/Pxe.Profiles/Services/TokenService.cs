using System.Security.Cryptography;
using System.Text;
using Pxe.Profiles.Domain;
using Pxe.Profiles.Spec;
using Pxe.Profiles.Storage;

namespace Pxe.Profiles.Services;

/// <summary>
/// API tokens: created with a name and a role, shown once, stored as a SHA-256 hash, revocable. The token's name is
/// the actor of every change it makes.
/// </summary>
public sealed class TokenService(ITokenStore store, TimeProvider clock)
{
    /// <summary>Prefix of every token, so a leaked one is recognisable in logs and by secret scanners.</summary>
    public const string Prefix = "pxe_";

    /// <summary>Creates a token; returns it with its secret (the only time the secret exists outside the caller).</summary>
    public async Task<(ApiToken? Token, string? Secret, string? Error)> CreateAsync(string name, ApiRole role, string actor, CancellationToken ct)
    {
        if (!SpecNames.IsValid(name))
        {
            return (null, null, SpecNames.Rule(name).Replace("name", "token name", StringComparison.Ordinal));
        }

        var secret = Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var now = clock.GetUtcNow();
        try
        {
            var token = await store.CreateTokenAsync(
                new ApiToken { Name = name, Role = role, Hash = Hash(secret), Created = now },
                new MachineEvent { Time = now, Kind = EventKinds.TokenCreated, Message = $"API token '{name}' created with role {role.ToString().ToLowerInvariant()}", Actor = actor },
                ct);
            return (token, secret, null);
        }
        catch (StoreConflictException e)
        {
            return (null, null, e.Message);
        }
    }

    /// <summary>The valid token for a presented secret, or null. Compares hashes, never secrets.</summary>
    public async Task<ApiToken?> AuthenticateAsync(string? secret, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(secret) || !secret.StartsWith(Prefix, StringComparison.Ordinal) || secret.Length > 128)
        {
            return null;
        }

        return await store.FindTokenByHashAsync(Hash(secret), ct);
    }

    /// <summary>Every token (hashes are not secrets, but callers should not show them).</summary>
    public Task<IReadOnlyList<ApiToken>> ListAsync(CancellationToken ct) => store.ListTokensAsync(ct);

    /// <summary>Revokes a token by name.</summary>
    public Task<bool> RevokeAsync(string name, string actor, CancellationToken ct) =>
        store.RevokeTokenAsync(name, new MachineEvent
        {
            Time = clock.GetUtcNow(), Kind = EventKinds.TokenRevoked, Message = $"API token '{name}' revoked", Actor = actor,
        }, ct);

    /// <summary>The stored form of a secret.</summary>
    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>Parses a role name (admin, operator, viewer).</summary>
    public static bool TryParseRole(string? text, out ApiRole role) =>
        Enum.TryParse(text, ignoreCase: true, out role) && Enum.IsDefined(role) && !(text ?? "").Any(char.IsDigit);
}
