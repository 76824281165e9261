using System.Net;

namespace Pxe.Tftp.Files;

/// <summary>
/// Where the TFTP server finds files. The server calls it once per read request, after normalising the
/// requested name (see <see cref="Protocol.TftpPath"/>): the path is relative, uses <c>/</c>, has no
/// leading slash, no empty, <c>.</c> or <c>..</c> segments, no control characters, and may contain <c>:</c>
/// (for example <c>pxelinux.cfg/01-52-54-00-d1-00-0b</c> or <c>grub/mac/52:54:00:d1:00:2c.cfg</c>).
/// </summary>
/// <remarks>
/// Return <see cref="TftpFileLookup.NotFound"/> only when the file does not exist; a failing store must throw
/// (the server answers "Internal server error" to the client and logs the exception), never pretend "not found".
/// </remarks>
public interface ITftpFileSource
{
    /// <summary>Looks up a file for a client.</summary>
    /// <param name="path">The normalised path.</param>
    /// <param name="client">The client's address and port (its transfer ID).</param>
    /// <param name="cancellationToken">Cancelled when the server stops.</param>
    ValueTask<TftpFileLookup> FindAsync(string path, IPEndPoint client, CancellationToken cancellationToken);
}
