using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Pxe.Tftp.Files;

/// <summary>Outcome of <see cref="LinuxFiles.OpenRegularFile"/>.</summary>
internal enum OpenFileStatus
{
    Opened,
    NotFound,
    NotRegularFile,
    Denied,
}

/// <summary>
/// The few Linux calls .NET does not expose: <c>open(O_NONBLOCK)</c> so that a FIFO in the folder cannot block
/// a worker, <c>statx</c> on the open descriptor to learn its type, size and mtime, and
/// <c>/proc/self/fd</c> to learn the canonical path of what was actually opened (symlinks resolved, no race).
/// </summary>
internal static partial class LinuxFiles
{
    // asm-generic values, identical on x86-64 and arm64.
    private const int ORdOnly = 0;
    private const int ONoCtty = 0x100;
    private const int ONonBlock = 0x800;
    private const int OCloExec = 0x80000;
    private const int ODirectory = 0x10000;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxType = 0x1;
    private const uint StatxMtime = 0x40;
    private const uint StatxSize = 0x200;
    private const int SIfMt = 0xF000;
    private const int SIfReg = 0x8000;
    private const int SIfDir = 0x4000;

    private const int EPerm = 1;
    private const int ENoEnt = 2;
    private const int EAcces = 13;
    private const int ENotDir = 20;
    private const int EIsDir = 21;
    private const int ENameTooLong = 36;
    private const int ELoop = 40;

    /// <summary>True where this implementation works (Linux with /proc).</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() && Directory.Exists("/proc/self/fd");

    /// <summary>Opens a regular file read-only, never blocking on FIFOs or devices.</summary>
    public static OpenFileStatus OpenRegularFile(string path, out SafeFileHandle? handle, out long length, out DateTime lastWriteUtc)
    {
        handle = null;
        length = 0;
        lastWriteUtc = default;
        var fd = Open(path, ORdOnly | ONonBlock | OCloExec | ONoCtty);
        if (fd < 0)
        {
            return Marshal.GetLastPInvokeError() switch
            {
                ENoEnt or ENotDir or EIsDir => OpenFileStatus.NotFound,
                EAcces or EPerm or ELoop or ENameTooLong => OpenFileStatus.Denied,
                var errno => throw new IOException($"open() failed with errno {errno}."),
            };
        }

        var owned = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            Span<byte> statx = stackalloc byte[256];
            if (Statx(fd, string.Empty, AtEmptyPath, StatxType | StatxSize | StatxMtime, statx) != 0)
            {
                throw new IOException($"statx() failed with errno {Marshal.GetLastPInvokeError()}.");
            }

            // struct statx: stx_mode u16 @28, stx_size u64 @40, stx_mtime { i64 tv_sec @112, u32 tv_nsec @120 }.
            var mode = BinaryPrimitives.ReadUInt16LittleEndian(statx[28..]);
            if ((mode & SIfMt) != SIfReg)
            {
                owned.Dispose();
                return (mode & SIfMt) == SIfDir ? OpenFileStatus.NotFound : OpenFileStatus.NotRegularFile;
            }

            length = (long)BinaryPrimitives.ReadUInt64LittleEndian(statx[40..]);
            var seconds = BinaryPrimitives.ReadInt64LittleEndian(statx[112..]);
            var nanoseconds = BinaryPrimitives.ReadUInt32LittleEndian(statx[120..]);
            lastWriteUtc = DateTime.UnixEpoch.AddSeconds(seconds).AddTicks(nanoseconds / 100);
            handle = owned;
            return OpenFileStatus.Opened;
        }
        catch
        {
            owned.Dispose();
            throw;
        }
    }

    /// <summary>The canonical path of an open descriptor (via <c>/proc/self/fd</c>).</summary>
    public static string GetPath(SafeFileHandle handle)
    {
        var link = $"/proc/self/fd/{handle.DangerousGetHandle()}";
        return new FileInfo(link).LinkTarget ?? throw new IOException("The path of an open file could not be read.");
    }

    /// <summary>The canonical path of a directory (all symlinks resolved).</summary>
    public static string GetCanonicalDirectory(string path)
    {
        var fd = Open(path, ORdOnly | ODirectory | OCloExec);
        if (fd < 0)
        {
            throw new DirectoryNotFoundException($"The TFTP root folder '{path}' cannot be opened (errno {Marshal.GetLastPInvokeError()}); create it or fix the RootFolder setting.");
        }

        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        return GetPath(handle);
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, Span<byte> buffer);
}
