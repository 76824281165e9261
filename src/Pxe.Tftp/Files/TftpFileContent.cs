using Microsoft.Win32.SafeHandles;

namespace Pxe.Tftp.Files;

/// <summary>
/// The bytes of a found file: either in memory (<see cref="TftpMemoryContent"/>, e.g. a generated config) or an
/// open file on disk (<see cref="TftpDiskFileContent"/>), which the server caches when small and streams when large.
/// The server disposes the content when the transfer ends.
/// </summary>
public abstract class TftpFileContent : IDisposable
{
    private protected TftpFileContent(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
    }

    /// <summary>Size in bytes.</summary>
    public long Length { get; }

    /// <summary>In-memory bytes (not copied).</summary>
    public static TftpFileContent FromBytes(ReadOnlyMemory<byte> bytes) => new TftpMemoryContent(bytes);

    /// <summary>
    /// An open, readable, seekable file. <paramref name="identity"/> names the file for the hot-file cache (its
    /// canonical path); a cached copy is reused only while <paramref name="length"/> and
    /// <paramref name="lastWriteTimeUtc"/> are unchanged.
    /// </summary>
    public static TftpFileContent FromFile(SafeFileHandle handle, long length, string identity, DateTime lastWriteTimeUtc) =>
        new TftpDiskFileContent(handle, length, identity, lastWriteTimeUtc);

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what the content holds.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }
}

/// <summary>File content held in memory.</summary>
public sealed class TftpMemoryContent : TftpFileContent
{
    internal TftpMemoryContent(ReadOnlyMemory<byte> bytes)
        : base(bytes.Length) => Bytes = bytes;

    /// <summary>The bytes.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }
}

/// <summary>An open file on disk.</summary>
public sealed class TftpDiskFileContent : TftpFileContent
{
    internal TftpDiskFileContent(SafeFileHandle handle, long length, string identity, DateTime lastWriteTimeUtc)
        : base(length)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ArgumentException.ThrowIfNullOrEmpty(identity);
        Handle = handle;
        Identity = identity;
        LastWriteTimeUtc = lastWriteTimeUtc;
    }

    /// <summary>The open handle (read with positioned reads).</summary>
    public SafeFileHandle Handle { get; }

    /// <summary>The file's canonical path: the hot-file cache key.</summary>
    public string Identity { get; }

    /// <summary>Last modification time; with <see cref="TftpFileContent.Length"/> it versions the cached copy.</summary>
    public DateTime LastWriteTimeUtc { get; }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Handle.Dispose();
        }

        base.Dispose(disposing);
    }
}
