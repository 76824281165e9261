using Pxe.Tftp.Files;

namespace Pxe.Tftp.Server;

/// <summary>
/// Small files read once and shared by every transfer (a boot storm asks for the same bootloader hundreds of
/// times). Keyed by canonical path; a copy is used only while the file's length and mtime are unchanged.
/// Concurrent misses for the same file share one read. Least recently used entries are evicted beyond the limit.
/// </summary>
internal sealed class HotFileCache
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly long _sizeLimit;
    private readonly long _maxFileSize;
    private long _size;
    private long _clock;

    public HotFileCache(long sizeLimit, long maxFileSize)
    {
        _sizeLimit = sizeLimit;
        _maxFileSize = maxFileSize;
    }

    /// <summary>Bytes held.</summary>
    public long Size
    {
        get
        {
            lock (_gate)
            {
                return _size;
            }
        }
    }

    /// <summary>Whether a file of this length is cached rather than streamed.</summary>
    public bool IsCacheable(long length) => _sizeLimit > 0 && length <= _maxFileSize && length <= _sizeLimit;

    /// <summary>The file's bytes, from the cache or read now (and kept).</summary>
    public Task<byte[]> GetOrLoadAsync(TftpDiskFileContent file, CancellationToken cancellationToken)
    {
        Entry entry;
        lock (_gate)
        {
            if (_entries.TryGetValue(file.Identity, out var existing)
                && existing.Length == file.Length
                && existing.LastWriteTimeUtc == file.LastWriteTimeUtc
                && !existing.Load.IsFaulted && !existing.Load.IsCanceled)
            {
                existing.LastUse = ++_clock;
                return existing.Load;
            }

            if (existing is not null)
            {
                Remove(file.Identity, existing);
            }

            entry = new Entry(file.Length, file.LastWriteTimeUtc, ReadAllAsync(file, cancellationToken)) { LastUse = ++_clock };
            _entries[file.Identity] = entry;
            _size += entry.Length;
            EvictBeyondLimit(file.Identity);
        }

        _ = entry.Load.ContinueWith(
            (task, state) =>
            {
                var (cache, identity, failed) = ((HotFileCache, string, Entry))state!;
                lock (cache._gate)
                {
                    if (cache._entries.TryGetValue(identity, out var current) && ReferenceEquals(current, failed))
                    {
                        cache.Remove(identity, failed);
                    }
                }
            },
            (this, file.Identity, entry),
            CancellationToken.None,
            TaskContinuationOptions.NotOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return entry.Load;
    }

    /// <summary>Reads a whole file with positioned reads.</summary>
    public static async Task<byte[]> ReadAllAsync(TftpDiskFileContent file, CancellationToken cancellationToken)
    {
        var bytes = GC.AllocateUninitializedArray<byte>(checked((int)file.Length));
        var offset = 0;
        while (offset < bytes.Length)
        {
            var read = await RandomAccess.ReadAsync(file.Handle, bytes.AsMemory(offset), offset, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new IOException($"{file.Identity} became shorter while it was read.");
            }

            offset += read;
        }

        return bytes;
    }

    private void EvictBeyondLimit(string keep)
    {
        while (_size > _sizeLimit)
        {
            string? oldestKey = null;
            Entry? oldest = null;
            foreach (var (key, candidate) in _entries)
            {
                if (key != keep && (oldest is null || candidate.LastUse < oldest.LastUse))
                {
                    oldestKey = key;
                    oldest = candidate;
                }
            }

            if (oldest is null)
            {
                return;
            }

            Remove(oldestKey!, oldest);
        }
    }

    private void Remove(string key, Entry entry)
    {
        _entries.Remove(key);
        _size -= entry.Length;
    }

    private sealed class Entry(long length, DateTime lastWriteTimeUtc, Task<byte[]> load)
    {
        public long Length { get; } = length;

        public DateTime LastWriteTimeUtc { get; } = lastWriteTimeUtc;

        public Task<byte[]> Load { get; } = load;

        public long LastUse { get; set; }
    }
}
