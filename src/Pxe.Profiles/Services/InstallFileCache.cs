using System.Collections.Concurrent;
using Pxe.Profiles.Domain;
using Pxe.Profiles.Rendering;

namespace Pxe.Profiles.Services;

/// <summary>
/// Rendered install files as the UTF-8 bytes served, so that an installer (or a tool) fetching the same file again
/// does not pay for the render again. It never decides who gets a file: <see cref="ProvisioningService"/> checks the
/// machine's state and install token on every request, hit or miss, and only then asks here.
/// <para>
/// An entry is used only when every input of its render is unchanged, and each input is part of the check rather than
/// something that must remember to drop entries: the <see cref="SpecState"/> object (spec, templates and renderer
/// settings; a reload or any spec change publishes a new one), the machine (store id, creation time and store revision,
/// which the store increments on every write, including a new install session on each boot and a re-image), the
/// profile name, the MAC it was asked for, the file, the install token, and each question the render asked the image
/// library together with its answer (asked again on a hit: a rebuilt image is a miss). A miss renders afresh.
/// </para>
/// <para>
/// Memory is bounded by <see cref="MaxBytes"/>: one slot per (machine, MAC, file), so a machine's newer render replaces
/// its older one, and past the bound the cache starts over.
/// </para>
/// </summary>
public sealed class InstallFileCache
{
    /// <summary>
    /// Bytes counted per entry beyond the file itself (the key, the entry object, its dictionary node), so that many
    /// tiny files still count against <see cref="MaxBytes"/>.
    /// </summary>
    public const int EntryOverhead = 256;

    private readonly ConcurrentDictionary<Slot, Entry> _entries = new();
    private readonly Lock _writeLock = new();
    private SpecState? _spec;
    private long _bytes;
    private long _hits;
    private long _misses;

    /// <summary>A cache that holds at most <paramref name="maxBytes"/> (files plus <see cref="EntryOverhead"/> each).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxBytes"/> is not positive.</exception>
    public InstallFileCache(long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        MaxBytes = maxBytes;
    }

    /// <summary>The most bytes held (files plus <see cref="EntryOverhead"/> each).</summary>
    public long MaxBytes { get; }

    /// <summary>The bytes held now.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Entries held now.</summary>
    public int Count => _entries.Count;

    /// <summary>Lookups answered from the cache.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Lookups that had to render.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>
    /// The file rendered before from exactly these inputs, or null. <paramref name="images"/> is the catalog the
    /// renderer asks (<see cref="RenderSettings.Images"/>): an entry whose image questions get other answers now is stale.
    /// </summary>
    internal byte[]? Find(in InstallFileInputs inputs, IImageCatalog? images)
    {
        if (!ReferenceEquals(Volatile.Read(ref _spec), inputs.Spec))
        {
            // A new spec: no entry of the old one can match again, so free them now rather than slot by slot.
            lock (_writeLock)
            {
                _entries.Clear();
                _bytes = 0;
                _spec = inputs.Spec;
            }
        }

        if (_entries.TryGetValue(SlotOf(inputs), out var entry) && entry.Matches(inputs) && (entry.Image is null || entry.Image.IsCurrent(images)))
        {
            Interlocked.Increment(ref _hits);
            return entry.Utf8;
        }

        Interlocked.Increment(ref _misses);
        return null;
    }

    /// <summary>
    /// Keeps <paramref name="utf8"/>, rendered from <paramref name="inputs"/> after asking the image library
    /// <paramref name="image"/> (null: nothing), in place of what the slot held. A file larger than a sixteenth of
    /// <see cref="MaxBytes"/> is not kept.
    /// </summary>
    internal void Add(in InstallFileInputs inputs, ImageLookup? image, byte[] utf8)
    {
        var size = (long)utf8.Length + EntryOverhead;
        if (size > MaxBytes / 16)
        {
            return;
        }

        var entry = new Entry(inputs, image, utf8);
        lock (_writeLock)
        {
            if (_entries.TryRemove(SlotOf(inputs), out var old))
            {
                _bytes -= old.Size;
            }

            if (_bytes + size > MaxBytes)
            {
                _entries.Clear();
                _bytes = 0;
            }

            _entries[SlotOf(inputs)] = entry;
            _bytes += size;
        }
    }

    private static Slot SlotOf(in InstallFileInputs inputs) => new(inputs.Machine.Id, inputs.BootMac, inputs.File);

    private readonly record struct Slot(long MachineId, MacAddress BootMac, string File);

    private sealed class Entry(InstallFileInputs inputs, ImageLookup? image, byte[] utf8)
    {
        private readonly SpecState _spec = inputs.Spec;
        private readonly long _revision = inputs.Machine.Revision;
        private readonly DateTimeOffset _created = inputs.Machine.Created;
        private readonly string _profile = inputs.Profile;
        private readonly string _token = inputs.Token;

        public ImageLookup? Image { get; } = image;

        public byte[] Utf8 { get; } = utf8;

        public long Size => (long)Utf8.Length + EntryOverhead;

        // The slot (machine id, MAC, file) matched already: the dictionary key.
        public bool Matches(in InstallFileInputs inputs) =>
            ReferenceEquals(_spec, inputs.Spec)
            && _revision == inputs.Machine.Revision
            && _created == inputs.Machine.Created
            && string.Equals(_profile, inputs.Profile, StringComparison.Ordinal)
            && string.Equals(_token, inputs.Token, StringComparison.Ordinal);
    }
}

/// <summary>Everything an install file's render depends on besides the image library (see <see cref="InstallFileCache"/>).</summary>
internal readonly record struct InstallFileInputs(SpecState Spec, Machine Machine, string Profile, MacAddress BootMac, string File, string Token);
