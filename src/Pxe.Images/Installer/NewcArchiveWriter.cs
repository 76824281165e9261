using System.Globalization;
using System.Text;

namespace Pxe.Images.Installer;

/// <summary>
/// Writes a cpio archive in the "newc" format the Linux kernel unpacks as an initramfs
/// (Documentation/driver-api/early-userspace/buffer-format.rst). Entries are written in the order given; the
/// caller sorts them for a reproducible archive. Owner is always root and the time is fixed, so equal inputs give
/// equal bytes.
/// </summary>
public sealed class NewcArchiveWriter(Stream output, DateTimeOffset modified)
{
    private const string Magic = "070701";
    private readonly long _mtime = modified.ToUnixTimeSeconds();
    private int _inode = 1;
    private bool _finished;

    /// <summary>A directory (mode e.g. 0755).</summary>
    public void AddDirectory(string path, int mode = 0b111_101_101) => Write(path, 0x4000 | mode, [], 0, 0);

    /// <summary>A regular file with its content.</summary>
    public void AddFile(string path, ReadOnlySpan<byte> content, int mode) => Write(path, 0x8000 | mode, content, 0, 0);

    /// <summary>A symbolic link to <paramref name="target"/>.</summary>
    public void AddSymlink(string path, string target) => Write(path, 0xA000 | 0b111_111_111, Encoding.UTF8.GetBytes(target), 0, 0);

    /// <summary>A character device node (e.g. /dev/console, 5:1), so the kernel has a console before devtmpfs is mounted.</summary>
    public void AddCharDevice(string path, int mode, int major, int minor) => Write(path, 0x2000 | mode, [], major, minor);

    /// <summary>Writes the trailer; the archive is complete.</summary>
    public void Finish()
    {
        if (!_finished)
        {
            Write("TRAILER!!!", 0, [], 0, 0, isTrailer: true);
            _finished = true;
        }
    }

    private void Write(string path, int mode, ReadOnlySpan<byte> data, int rdevMajor, int rdevMinor, bool isTrailer = false)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        var name = isTrailer ? path : Normalize(path);
        var nameBytes = Encoding.UTF8.GetBytes(name + "\0");
        var header = new StringBuilder(110)
            .Append(Magic)
            .Append(Hex(isTrailer ? 0 : _inode++))
            .Append(Hex(mode))
            .Append(Hex(0)).Append(Hex(0))                      // uid, gid
            .Append(Hex((mode & 0xF000) == 0x4000 ? 2 : 1))      // nlink
            .Append(Hex(isTrailer ? 0 : _mtime))
            .Append(Hex(data.Length))
            .Append(Hex(0)).Append(Hex(0))                      // dev major, minor
            .Append(Hex(rdevMajor)).Append(Hex(rdevMinor))
            .Append(Hex(nameBytes.Length))
            .Append(Hex(0));                                    // check
        output.Write(Encoding.ASCII.GetBytes(header.ToString()));
        output.Write(nameBytes);
        Pad(110 + nameBytes.Length);
        output.Write(data);
        Pad(data.Length);
    }

    private void Pad(long written)
    {
        var pad = (int)((4 - (written % 4)) % 4);
        for (var i = 0; i < pad; i++)
        {
            output.WriteByte(0);
        }
    }

    private static string Normalize(string path)
    {
        var p = path.Replace('\\', '/').TrimStart('/');
        if (p.Length == 0 || p.Split('/').Any(s => s is "" or "." or ".."))
        {
            throw new ArgumentException($"'{path}' is not a valid archive path (relative, no empty, '.' or '..' parts)", nameof(path));
        }

        return p;
    }

    private static string Hex(long value) => ((uint)value).ToString("X8", CultureInfo.InvariantCulture);
}
