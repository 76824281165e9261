namespace Pxe.Tftp.Protocol;

/// <summary>
/// Netascii encoding for RRQ mode <c>netascii</c> (RFC 1350 §1 and appendix; RFC 764 for the rules):
/// a line end is sent as CR LF and a bare CR as CR NUL. Files on the server use Unix line ends (LF).
/// </summary>
internal static class Netascii
{
    /// <summary>The size of <paramref name="source"/> once encoded.</summary>
    public static long EncodedLength(ReadOnlySpan<byte> source)
    {
        long length = source.Length;
        foreach (var b in source)
        {
            if (b is (byte)'\n' or (byte)'\r')
            {
                length++;
            }
        }

        return length;
    }

    /// <summary>Encodes a whole file: LF → CR LF, CR → CR NUL.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> source)
    {
        var result = new byte[EncodedLength(source)];
        var o = 0;
        foreach (var b in source)
        {
            if (b == (byte)'\n')
            {
                result[o++] = (byte)'\r';
                result[o++] = (byte)'\n';
            }
            else if (b == (byte)'\r')
            {
                result[o++] = (byte)'\r';
                result[o++] = 0;
            }
            else
            {
                result[o++] = b;
            }
        }

        return result;
    }
}
