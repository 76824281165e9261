using System.Security.Cryptography;
using Pxe.Images.Tools;

namespace Pxe.Images.Building;

/// <summary>Operations on root file system folders, done with Debian's tools so that owners, modes, links, device nodes and extended attributes survive.</summary>
internal static class TreeOperations
{
    /// <summary>
    /// With --xattrs tar writes POSIX (pax) headers, which carry access and change times: reading a tree would change its
    /// fingerprint. These are dropped; modification times stay.
    /// </summary>
    public const string PaxWithoutAccessTimes = "--pax-option=delete=atime,delete=ctime";

    /// <summary>Copies the content of <paramref name="source"/> into <paramref name="destination"/> (created) with <c>cp -a</c>, sharing blocks where the file system can.</summary>
    public static async Task CopyAsync(IToolRunner tools, string source, string destination, ToolOptions options, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(destination);
        await tools.RunAsync("cp", ["-a", "--reflink=auto", source.TrimEnd('/') + "/.", destination], options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The SHA-256 of a name-sorted tar stream of <paramref name="folder"/>: paths, owners, modes, times, link targets and content.</summary>
    public static async Task<string> HashAsync(IToolRunner tools, string folder, ToolOptions options, CancellationToken cancellationToken)
    {
        using var hash = new HashingStream();
        await tools.RunAsync("tar", ["--sort=name", "--numeric-owner", "--xattrs", PaxWithoutAccessTimes, "-C", folder, "-cf", "-", "."],
            options with { StandardOutput = hash }, cancellationToken).ConfigureAwait(false);
        return hash.Hex();
    }

    /// <summary>The bytes the files under <paramref name="folder"/> occupy (each rounded up to 4 KiB blocks) and how many entries it holds. Symbolic links are not followed.</summary>
    public static (long Bytes, long Entries) Measure(string folder)
    {
        long bytes = 0;
        long entries = 0;
        // Symbolic links are skipped: recursion would otherwise follow a merged-/usr tree's /lib -> usr/lib and count it twice.
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = false, ReturnSpecialDirectories = false };
        foreach (var info in new DirectoryInfo(folder).EnumerateFileSystemInfos("*", options))
        {
            entries++;
            bytes += info switch
            {
                FileInfo { LinkTarget: null } file => (file.Length + 4095) / 4096 * 4096,
                DirectoryInfo { LinkTarget: null } => 4096,
                _ => 0,
            };
        }

        return (bytes, entries);
    }

    /// <summary>The SHA-256 of a file, reporting bytes read.</summary>
    public static async Task<string> Sha256Async(string path, Action<long>? bytesRead, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        long total = 0;
        var lastReport = 0L;
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            total += read;
            if (total - lastReport >= 64 << 20)
            {
                bytesRead?.Invoke(total);
                lastReport = total;
            }
        }

        bytesRead?.Invoke(total);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>A write-only stream that hashes what is written to it.</summary>
    private sealed class HashingStream : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public string Hex() => Convert.ToHexStringLower(_hash.GetHashAndReset());

        public override void Write(byte[] buffer, int offset, int count) => _hash.AppendData(buffer, offset, count);

        public override void Write(ReadOnlySpan<byte> buffer) => _hash.AppendData(buffer);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _hash.AppendData(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            _hash.AppendData(buffer, offset, count);
            return Task.CompletedTask;
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _hash.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
