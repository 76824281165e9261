using System.Text;

namespace Pxe.Tftp.Protocol;

/// <summary>One option of a request, as the client spelled it (RFC 2347 §2: names are case-insensitive).</summary>
internal readonly record struct TftpOption(string Name, string Value);

/// <summary>
/// A parsed RRQ or WRQ (RFC 1350 §5, RFC 2347 §2). The file name is the raw text the client sent;
/// <see cref="TftpPath"/> normalises it. The mode is lower-cased (RFC 1350: "any combination of upper and lower case").
/// </summary>
internal sealed record TftpRequest
{
    /// <summary>An RRQ is at most 512 octets (RFC 2347 §2), so it cannot carry more than this many options.</summary>
    public const int MaxOptions = 64;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>RRQ or WRQ.</summary>
    public required TftpOpcode Opcode { get; init; }

    /// <summary>The file name as sent (decoded as UTF-8).</summary>
    public required string FileName { get; init; }

    /// <summary>The transfer mode in lower case (<c>octet</c>, <c>netascii</c>, <c>mail</c>…).</summary>
    public required string Mode { get; init; }

    /// <summary>Options in the order the client sent them.</summary>
    public required IReadOnlyList<TftpOption> Options { get; init; }

    /// <summary>Parses the string area of an RRQ/WRQ (<see cref="TftpPacket.Body"/>).</summary>
    public static TftpParseStatus TryParse(TftpOpcode opcode, ReadOnlySpan<byte> body, out TftpRequest? request)
    {
        request = null;
        var reader = new TftpStringReader(body);
        var status = reader.TryRead(out var fileBytes);
        if (status != TftpParseStatus.Ok)
        {
            return status;
        }

        if (fileBytes.IsEmpty)
        {
            return TftpParseStatus.EmptyFileName;
        }

        if (reader.IsAtEnd)
        {
            return TftpParseStatus.MissingMode;
        }

        status = reader.TryRead(out var modeBytes);
        if (status != TftpParseStatus.Ok)
        {
            return status;
        }

        if (!TryDecode(fileBytes, out var fileName) || !TryDecode(modeBytes, out var mode))
        {
            return TftpParseStatus.InvalidText;
        }

        var options = new List<TftpOption>();
        while (!reader.IsAtEnd)
        {
            status = reader.TryRead(out var nameBytes);
            if (status != TftpParseStatus.Ok)
            {
                return status;
            }

            if (reader.IsAtEnd)
            {
                return TftpParseStatus.OptionWithoutValue;
            }

            status = reader.TryRead(out var valueBytes);
            if (status != TftpParseStatus.Ok)
            {
                return status;
            }

            if (options.Count == MaxOptions)
            {
                return TftpParseStatus.TooManyOptions;
            }

            if (!TryDecode(nameBytes, out var name) || !TryDecode(valueBytes, out var value))
            {
                return TftpParseStatus.InvalidText;
            }

            options.Add(new TftpOption(name, value));
        }

        request = new TftpRequest
        {
            Opcode = opcode,
            FileName = fileName,
            Mode = mode.ToLowerInvariant(),
            Options = options,
        };
        return TftpParseStatus.Ok;
    }

    private static bool TryDecode(ReadOnlySpan<byte> bytes, out string text)
    {
        try
        {
            text = StrictUtf8.GetString(bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            text = string.Empty;
            return false;
        }
    }
}

/// <summary>Reads consecutive NUL-terminated strings (RFC 1350 §5) without allocating.</summary>
internal ref struct TftpStringReader
{
    private ReadOnlySpan<byte> _rest;

    public TftpStringReader(ReadOnlySpan<byte> strings) => _rest = strings;

    public readonly bool IsAtEnd => _rest.IsEmpty;

    public TftpParseStatus TryRead(out ReadOnlySpan<byte> value)
    {
        var nul = _rest.IndexOf((byte)0);
        if (nul < 0)
        {
            value = default;
            return TftpParseStatus.MissingTerminator;
        }

        value = _rest[..nul];
        _rest = _rest[(nul + 1)..];
        return TftpParseStatus.Ok;
    }
}
