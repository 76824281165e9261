namespace Pxe.Profiles.Domain;

/// <summary>What an API token may do. Each role includes the ones below it.</summary>
public enum ApiRole
{
    /// <summary>Read only.</summary>
    Viewer,

    /// <summary>Assign profiles, re-image, and read.</summary>
    Operator,

    /// <summary>Everything: spec changes, deletes, tokens.</summary>
    Admin,
}

/// <summary>An API token as stored: its name, role and the hash of its secret (the secret itself is shown once).</summary>
public sealed record ApiToken
{
    /// <summary>Store id.</summary>
    public long Id { get; init; }

    /// <summary>Unique name; it is the actor in the audit log.</summary>
    public required string Name { get; init; }

    /// <summary>What it may do.</summary>
    public required ApiRole Role { get; init; }

    /// <summary>SHA-256 of the secret, hex.</summary>
    public required string Hash { get; init; }

    /// <summary>When it was created.</summary>
    public DateTimeOffset Created { get; init; }

    /// <summary>When it was revoked; null while valid.</summary>
    public DateTimeOffset? Revoked { get; init; }
}
