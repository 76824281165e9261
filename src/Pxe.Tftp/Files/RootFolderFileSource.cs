using System.Net;

namespace Pxe.Tftp.Files;

/// <summary>
/// Serves regular files from a root folder (bootloaders: undionly.kpxe, ipxe.efi, pxelinux.0 and its .c32
/// modules, GRUB images). Nothing outside the root is ever served: the path is already free of <c>..</c>
/// (see <see cref="Protocol.TftpPath"/>), and after opening, the canonical path of the open descriptor must lie
/// inside the canonical root, so a symlink pointing out of the root is refused (ERROR 2) while symlinks inside
/// it work. FIFOs, devices and sockets are refused without blocking. Linux only.
/// </summary>
public sealed class RootFolderFileSource : ITftpFileSource
{
    private readonly string _root;
    private readonly string _rootPrefix;

    /// <summary>Creates the source; the folder must exist.</summary>
    public RootFolderFileSource(string rootFolder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(rootFolder);
        if (!LinuxFiles.IsSupported)
        {
            throw new PlatformNotSupportedException("RootFolderFileSource needs Linux with /proc mounted.");
        }

        _root = LinuxFiles.GetCanonicalDirectory(Path.GetFullPath(rootFolder));
        _rootPrefix = _root.EndsWith('/') ? _root : _root + "/";
    }

    /// <summary>The canonical root folder.</summary>
    public string RootFolder => _root;

    /// <inheritdoc />
    public ValueTask<TftpFileLookup> FindAsync(string path, IPEndPoint client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);

        // Defence in depth: the server normalises, but this type is public and may be called directly.
        if (Protocol.TftpPath.TryNormalize(path, 4096, out var normalized) != Protocol.TftpPathStatus.Ok || normalized != path)
        {
            return ValueTask.FromResult(TftpFileLookup.AccessViolation);
        }

        var status = LinuxFiles.OpenRegularFile(_rootPrefix + normalized, out var handle, out var length, out var lastWrite);
        switch (status)
        {
            case OpenFileStatus.NotFound:
                return ValueTask.FromResult(TftpFileLookup.NotFound);
            case OpenFileStatus.Denied:
            case OpenFileStatus.NotRegularFile:
                return ValueTask.FromResult(TftpFileLookup.AccessViolation);
        }

        var canonical = LinuxFiles.GetPath(handle!);
        if (!canonical.StartsWith(_rootPrefix, StringComparison.Ordinal))
        {
            handle!.Dispose();
            return ValueTask.FromResult(TftpFileLookup.AccessViolation);
        }

        return ValueTask.FromResult(TftpFileLookup.Found(TftpFileContent.FromFile(handle!, length, canonical, lastWrite)));
    }
}
