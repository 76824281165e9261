using System.Text;

namespace Pxe.Tftp.Protocol;

/// <summary>Why a requested file name was refused.</summary>
public enum TftpPathStatus
{
    /// <summary>The name was normalised.</summary>
    Ok,

    /// <summary>Nothing is left after normalisation (for example <c>/</c>).</summary>
    Empty,

    /// <summary>A <c>..</c> segment: never resolved, always refused.</summary>
    ParentSegment,

    /// <summary>A NUL byte inside the name.</summary>
    NulByte,

    /// <summary>A control character (below 0x20, or 0x7F).</summary>
    ControlCharacter,

    /// <summary>Longer than the configured maximum in UTF-8 bytes.</summary>
    TooLong,
}

/// <summary>
/// Normalises a requested file name into the form every <see cref="Pxe.Tftp.Files.ITftpFileSource"/> receives:
/// backslashes become slashes, leading and repeated slashes and <c>.</c> segments are removed
/// (GRUB asks for <c>/grub/grub.cfg</c>; Windows-style clients send <c>boot\pxelinux.0</c>). A <c>..</c>
/// segment is refused rather than resolved, so a name can never climb out of the root. Colons are kept
/// (GRUB per-MAC names such as <c>grub/mac/52:54:00:d1:00:2c.cfg</c>).
/// </summary>
public static class TftpPath
{
    /// <summary>Normalises <paramref name="raw"/>; on success <paramref name="normalized"/> is e.g. <c>grub/grub.cfg</c>.</summary>
    public static TftpPathStatus TryNormalize(string raw, int maxLength, out string normalized)
    {
        ArgumentNullException.ThrowIfNull(raw);
        normalized = string.Empty;
        if (Encoding.UTF8.GetByteCount(raw) > maxLength)
        {
            return TftpPathStatus.TooLong;
        }

        foreach (var c in raw)
        {
            if (c == '\0')
            {
                return TftpPathStatus.NulByte;
            }

            if (c < ' ' || c == '\x7f')
            {
                return TftpPathStatus.ControlCharacter;
            }
        }

        var segments = raw.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        var kept = new List<string>(segments.Length);
        foreach (var segment in segments)
        {
            if (segment == "..")
            {
                return TftpPathStatus.ParentSegment;
            }

            if (segment != ".")
            {
                kept.Add(segment);
            }
        }

        if (kept.Count == 0)
        {
            return TftpPathStatus.Empty;
        }

        normalized = string.Join('/', kept);
        return TftpPathStatus.Ok;
    }
}
