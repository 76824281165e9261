namespace Pxe.Profiles.Rendering;

/// <summary>What the server contributes to every render.</summary>
public sealed record RenderSettings
{
    /// <summary>Base URL machines use to reach this server's HTTP endpoints, without a trailing slash (e.g. <c>http://10.0.0.1:8080</c>).</summary>
    public required string ServerUrl { get; init; }

    /// <summary>The TFTP server address machines use (DHCP siaddr), e.g. <c>10.0.0.1</c>.</summary>
    public required string NextServer { get; init; }

    /// <summary>Server-wide variables: the lowest layer, below distros.</summary>
    public IReadOnlyDictionary<string, object?> Globals { get; init; } = new Dictionary<string, object?>();

    /// <summary>The image library as the variable <c>image</c> sees it (see <see cref="ImageVariable"/>); null: <c>image</c> defines nothing.</summary>
    public IImageCatalog? Images { get; init; }
}
