using System.Runtime.InteropServices;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.FileProviders.Physical;
using Microsoft.Extensions.Primitives;

namespace Pxe.Server.Http;

/// <summary>
/// Serves files from one folder and nothing outside it: beyond the physical provider's own checks (no '..', no
/// absolute paths), a file whose real path (every symlink resolved) leaves the folder is "not found". No listings.
/// </summary>
internal sealed partial class ContainedFileProvider : IFileProvider, IDisposable
{
    private readonly PhysicalFileProvider _inner;
    private readonly string _realRoot;

    public ContainedFileProvider(string root)
    {
        Directory.CreateDirectory(root);
        _inner = new PhysicalFileProvider(Path.GetFullPath(root));
        _realRoot = RealPath(Path.GetFullPath(root)) ?? Path.GetFullPath(root);
    }

    public IFileInfo GetFileInfo(string subpath)
    {
        if (subpath.Contains('\0', StringComparison.Ordinal) || subpath.Contains('\\', StringComparison.Ordinal))
        {
            return new NotFoundFileInfo(subpath);
        }

        var info = _inner.GetFileInfo(subpath);
        if (!info.Exists || info.IsDirectory || info.PhysicalPath is null)
        {
            return new NotFoundFileInfo(subpath);
        }

        var real = RealPath(info.PhysicalPath);
        if (real is null || !real.StartsWith(_realRoot + "/", StringComparison.Ordinal))
        {
            return new NotFoundFileInfo(subpath);
        }

        // A symlink's own FileInfo has the link's size (lstat): serve the target's, or a linked kernel is cut short.
        return real == info.PhysicalPath ? info : new PhysicalFileInfo(new FileInfo(real));
    }

    public IDirectoryContents GetDirectoryContents(string subpath) => NotFoundDirectoryContents.Singleton;

    public IChangeToken Watch(string filter) => NullChangeToken.Singleton;

    public void Dispose() => _inner.Dispose();

    /// <summary>The path with every symlink resolved (libc realpath), or null when it does not exist.</summary>
    internal static string? RealPath(string path)
    {
        var ptr = NativeRealPath(path, IntPtr.Zero);
        if (ptr == IntPtr.Zero)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(ptr);
        }
        finally
        {
            NativeFree(ptr);
        }
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr NativeRealPath(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void NativeFree(IntPtr ptr);
}
