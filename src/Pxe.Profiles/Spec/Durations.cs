using System.Globalization;

namespace Pxe.Profiles.Spec;

/// <summary>Durations as operators write them in spec files: <c>45s</c>, <c>20m</c>, <c>2h</c>, <c>1d</c>; a bare number is minutes.</summary>
public static class Durations
{
    /// <summary>Parses <paramref name="text"/>; false when it is not a whole number with an optional unit s, m, h or d.</summary>
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = default;
        var t = text.Trim();
        if (t.Length == 0)
        {
            return false;
        }

        var unit = char.IsAsciiDigit(t[^1]) ? 'm' : t[^1];
        var digits = char.IsAsciiDigit(t[^1]) ? t : t[..^1];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > 1_000_000)
        {
            return false;
        }

        TimeSpan? parsed = unit switch
        {
            's' => TimeSpan.FromSeconds(n),
            'm' => TimeSpan.FromMinutes(n),
            'h' => TimeSpan.FromHours(n),
            'd' => TimeSpan.FromDays(n),
            _ => null,
        };
        if (parsed is null)
        {
            return false;
        }

        value = parsed.Value;
        return true;
    }

    /// <summary>The shortest exact text for <paramref name="value"/> (<c>90m</c>, <c>45s</c>, <c>2h</c>).</summary>
    public static string Format(TimeSpan value) =>
        value.Ticks % TimeSpan.TicksPerMinute != 0 ? $"{(long)value.TotalSeconds}s"
        : value.Ticks % TimeSpan.TicksPerHour != 0 ? $"{(long)value.TotalMinutes}m"
        : value.Ticks % TimeSpan.TicksPerDay != 0 ? $"{(long)value.TotalHours}h"
        : $"{(long)value.TotalDays}d";
}
