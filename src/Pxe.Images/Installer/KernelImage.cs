using System.Text;

namespace Pxe.Images.Installer;

/// <summary>Reads the release string (<c>uname -r</c>, e.g. <c>6.1.0-50-amd64</c>) out of an x86 bzImage.</summary>
public static class KernelImage
{
    /// <summary>
    /// The kernel release of the bzImage at <paramref name="path"/>. The boot protocol header (Documentation/arch/x86/boot.rst)
    /// holds a pointer at 0x20E to a NUL-terminated version string located 0x200 bytes further.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not an x86 bzImage with a version string.</exception>
    public static string ReadRelease(string path)
    {
        var head = new byte[0x10000];
        int read;
        using (var f = File.OpenRead(path))
        {
            read = f.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }

        if (read < 0x210 || Encoding.ASCII.GetString(head, 0x202, 4) != "HdrS")
        {
            throw new InvalidDataException($"{path} is not an x86 Linux kernel (bzImage): no 'HdrS' boot header");
        }

        var offset = BitConverter.ToUInt16(head, 0x20E) + 0x200;
        if (offset >= read)
        {
            throw new InvalidDataException($"{path}: the kernel version pointer leads outside the file's first 64 KiB");
        }

        var end = Array.IndexOf(head, (byte)0, offset);
        var version = Encoding.ASCII.GetString(head, offset, (end < 0 ? read : end) - offset);
        var release = version.Split(' ', 2)[0];
        if (release.Length == 0)
        {
            throw new InvalidDataException($"{path}: the kernel's version string is empty");
        }

        return release;
    }
}
