namespace Pxe.Profiles.Spec;

/// <summary>
/// One problem in the specification, located as precisely as we can: the file (relative to the spec directory),
/// the 1-based line, and the field. The message says what to fix.
/// </summary>
public sealed record SpecError(string File, int Line, string? Field, string Message)
{
    /// <inheritdoc />
    public override string ToString() =>
        Field is null ? $"{File}:{Line}: {Message}" : $"{File}:{Line}: {Field}: {Message}";
}

/// <summary>Where an object of the spec came from (for errors and for provenance).</summary>
public sealed record SpecSource(string File, int Line)
{
    /// <summary>Used for objects created through the API before they were written to a file.</summary>
    public static readonly SpecSource Api = new("(api)", 0);

    /// <summary>The line of a field, when known.</summary>
    public IReadOnlyDictionary<string, int> FieldLines { get; init; } = new Dictionary<string, int>();

    /// <summary>The line of <paramref name="field"/>, or the object's line.</summary>
    public int LineOf(string field) => FieldLines.TryGetValue(field, out var line) ? line : Line;
}
