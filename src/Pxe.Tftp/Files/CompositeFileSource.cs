using System.Net;

namespace Pxe.Tftp.Files;

/// <summary>
/// Asks several sources in order; the first answer other than <see cref="TftpLookupStatus.NotFound"/> wins
/// (a generated per-MAC config first, then the bootloader folder). An exception from a source propagates.
/// </summary>
public sealed class CompositeFileSource : ITftpFileSource
{
    private readonly ITftpFileSource[] _sources;

    /// <summary>Creates the composite; at least one source.</summary>
    public CompositeFileSource(params IEnumerable<ITftpFileSource> sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        _sources = [.. sources];
        if (_sources.Length == 0)
        {
            throw new ArgumentException("Give at least one file source.", nameof(sources));
        }

        if (_sources.Any(s => s is null))
        {
            throw new ArgumentException("A file source is null.", nameof(sources));
        }
    }

    /// <inheritdoc />
    public async ValueTask<TftpFileLookup> FindAsync(string path, IPEndPoint client, CancellationToken cancellationToken)
    {
        foreach (var source in _sources)
        {
            var result = await source.FindAsync(path, client, cancellationToken).ConfigureAwait(false);
            if (result.Status != TftpLookupStatus.NotFound)
            {
                return result;
            }
        }

        return TftpFileLookup.NotFound;
    }
}
