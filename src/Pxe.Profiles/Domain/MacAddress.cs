using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Pxe.Profiles.Domain;

/// <summary>
/// A 48-bit Ethernet MAC address. Accepts the common notations (<c>aa:bb:cc:dd:ee:ff</c>,
/// <c>AA-BB-CC-DD-EE-FF</c>, <c>aabb.ccdd.eeff</c>, <c>aabbccddeeff</c>, and the pxelinux form
/// <c>01-aa-bb-cc-dd-ee-ff</c>) and stores it canonically as lower-case colon-separated hex.
/// </summary>
public readonly record struct MacAddress : IComparable<MacAddress>
{
    private readonly ulong _value;

    private MacAddress(ulong value) => _value = value;

    /// <summary>The address as a 48-bit number (for compact storage and ordering).</summary>
    public ulong Value => _value;

    /// <summary>Builds an address from six bytes in wire order.</summary>
    public static MacAddress FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != 6)
        {
            throw new ArgumentException("a MAC address has exactly 6 bytes", nameof(bytes));
        }

        ulong v = 0;
        foreach (var b in bytes)
        {
            v = (v << 8) | b;
        }

        return new MacAddress(v);
    }

    /// <summary>Writes the six bytes in wire order.</summary>
    public void CopyTo(Span<byte> destination)
    {
        for (var i = 0; i < 6; i++)
        {
            destination[i] = (byte)(_value >> (8 * (5 - i)));
        }
    }

    /// <summary>Parses any accepted notation; the error says which notations are accepted.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out MacAddress mac, [NotNullWhen(false)] out string? error)
    {
        mac = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "a MAC address is required (e.g. 52:54:00:12:34:56)";
            return false;
        }

        var s = text.Trim();
        // pxelinux writes the hardware type in front: 01-aa-bb-cc-dd-ee-ff.
        if (s.Length == 20 && s.StartsWith("01-", StringComparison.Ordinal))
        {
            s = s[3..];
        }

        Span<char> hex = stackalloc char[12];
        var n = 0;
        foreach (var c in s)
        {
            if (c is ':' or '-' or '.')
            {
                continue;
            }

            if (!char.IsAsciiHexDigit(c) || n == 12)
            {
                error = Invalid(text);
                return false;
            }

            hex[n++] = c;
        }

        if (n != 12 || !SeparatorsAreConsistent(s))
        {
            error = Invalid(text);
            return false;
        }

        mac = new MacAddress(ulong.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        error = null;
        return true;
    }

    /// <summary>Parses or throws <see cref="FormatException"/> with a message that says what is accepted.</summary>
    public static MacAddress Parse(string text) =>
        TryParse(text, out var mac, out var error) ? mac : throw new FormatException(error);

    private static bool SeparatorsAreConsistent(string s)
    {
        if (s.Length == 12)
        {
            return true;
        }

        if (s.Length == 17)
        {
            var sep = s[2];
            if (sep is not (':' or '-'))
            {
                return false;
            }

            for (var i = 2; i < 17; i += 3)
            {
                if (s[i] != sep)
                {
                    return false;
                }
            }

            return true;
        }

        return s.Length == 14 && s[4] == '.' && s[9] == '.';
    }

    private static string Invalid(string text) =>
        $"'{Truncate(text)}' is not a MAC address; use six hex bytes such as 52:54:00:12:34:56, 52-54-00-12-34-56 or 5254.0012.3456";

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";

    /// <summary>Lower-case, colon-separated: <c>52:54:00:12:34:56</c>.</summary>
    public override string ToString() => Format(':');

    /// <summary>Lower-case, hyphen-separated: <c>52-54-00-12-34-56</c> (pxelinux and iPXE's <c>:hexhyp</c>).</summary>
    public string ToHyphenString() => Format('-');

    private string Format(char separator)
    {
        Span<char> chars = stackalloc char[17];
        for (var i = 0; i < 6; i++)
        {
            var b = (byte)(_value >> (8 * (5 - i)));
            chars[i * 3] = "0123456789abcdef"[b >> 4];
            chars[(i * 3) + 1] = "0123456789abcdef"[b & 0xF];
            if (i < 5)
            {
                chars[(i * 3) + 2] = separator;
            }
        }

        return new string(chars);
    }

    /// <inheritdoc />
    public int CompareTo(MacAddress other) => _value.CompareTo(other._value);
}
