using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Pxe.Images.Building;

/// <summary>
/// A content-addressed cache of build steps: the output of a step lives in <c>ROOT/STEP/KEY/</c>, where KEY is the
/// SHA-256 of the step's inputs (<see cref="StepInputs"/>), including the keys of the steps it builds on. A step whose
/// inputs did not change is reused; a changed input changes the key of that step and of every step after it.
/// An entry appears only complete: it is built in <c>ROOT/tmp/</c> and renamed into place.
/// </summary>
internal sealed class BuildCache
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Locks = new(StringComparer.Ordinal);

    public BuildCache(string root)
    {
        Root = Path.GetFullPath(root);
    }

    /// <summary>The cache folder.</summary>
    public string Root { get; }

    /// <summary>The folder an entry has (or would have).</summary>
    public string EntryPath(string step, string key) => Path.Combine(Root, step, key);

    /// <summary>
    /// The entry of <paramref name="step"/> with <paramref name="inputs"/>: reused when present (unless
    /// <paramref name="rebuild"/>), else built by <paramref name="build"/> into an empty folder and kept.
    /// </summary>
    public async Task<CacheEntry> GetOrBuildAsync(string step, StepInputs inputs, bool rebuild, Func<string, CancellationToken, Task> build, CancellationToken cancellationToken)
    {
        var key = inputs.Key;
        var final = EntryPath(step, key);
        var gate = Locks.GetOrAdd(final, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Directory.Exists(final))
            {
                if (!rebuild)
                {
                    return new CacheEntry(step, key, final, Hit: true);
                }

                DeleteTree(final);
            }

            var temp = Path.Combine(Root, "tmp", $"{step}-{key[..16]}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(temp);
            try
            {
                await File.WriteAllTextAsync(Path.Combine(temp, InputsFileName), inputs.Description, cancellationToken).ConfigureAwait(false);
                await build(temp, cancellationToken).ConfigureAwait(false);
                Directory.CreateDirectory(Path.GetDirectoryName(final)!);
                try
                {
                    Directory.Move(temp, final);
                }
                catch (IOException) when (Directory.Exists(final))
                {
                    // Another process built the same inputs first: same key, same content; keep theirs.
                    DeleteTree(temp);
                }
            }
            catch
            {
                DeleteTree(temp);
                throw;
            }

            return new CacheEntry(step, key, final, Hit: false);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>The file in each entry that describes the inputs its key was made from (to see why a step was rebuilt).</summary>
    public const string InputsFileName = "inputs.txt";

    /// <summary>Deletes a folder tree without following symbolic links (root file systems are full of them).</summary>
    public static void DeleteTree(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }
}

/// <summary>One cache entry: its step, key, folder, and whether it was reused.</summary>
internal sealed record CacheEntry(string Step, string Key, string Path, bool Hit);

/// <summary>
/// The inputs of one build step, written as readable <c>name = value</c> lines; its <see cref="Key"/> is their SHA-256.
/// Files are represented by their content's SHA-256, folders by the SHA-256 of a tar stream of them.
/// </summary>
internal sealed class StepInputs
{
    private readonly StringBuilder _text = new();

    public StepInputs(string step, int version)
    {
        // The version changes when the code of the step changes what it produces, so old entries are not reused.
        Add("step", $"{step} v{version}");
    }

    public string Description => _text.ToString();

    public string Key => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(_text.ToString())));

    public StepInputs Add(string name, string? value)
    {
        _text.Append(name).Append(" = ");
        if (value is null)
        {
            _text.Append("(none)");
        }
        else
        {
            // Length-prefixed so that no value can pass for another line.
            _text.Append(value.Length).Append(':').Append(value.Replace("\n", "\\n", StringComparison.Ordinal));
        }

        _text.Append('\n');
        return this;
    }

    public StepInputs Add(string name, IEnumerable<string> values) => Add(name, string.Join("\u001f", values));

    public StepInputs AddBytes(string name, ReadOnlySpan<byte> content) => Add(name, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content)));

    public async Task<StepInputs> AddFileAsync(string name, string path, CancellationToken cancellationToken)
    {
        await using var stream = File.OpenRead(path);
        var hash = await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
        return Add(name, "sha256:" + Convert.ToHexStringLower(hash));
    }

    public StepInputs AddEntry(CacheEntry entry) => Add(entry.Step, entry.Key);
}
