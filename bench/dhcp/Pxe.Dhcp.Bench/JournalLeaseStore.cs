using System.Globalization;
using System.Text;

namespace Pxe.Dhcp.Bench;

/// <summary>
/// A persistent <see cref="ILeaseStore"/> for the benchmark: the commit rules of <see cref="InMemoryLeaseStore"/>,
/// plus every committed row appended to a journal file, one line per row, written to the operating system once per
/// batch (write, no fsync: the durability of Kea's memfile backend, which the benchmark compares against).
/// </summary>
internal sealed class JournalLeaseStore : ILeaseStore, IDisposable
{
    private readonly InMemoryLeaseStore _rows = new();
    private readonly FileStream _journal;
    private readonly StringBuilder _line = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    public JournalLeaseStore(string path)
    {
        _journal = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
    }

    public long Rows => _rows.Snapshot().Count;

    public long Batches => _rows.Batches;

    public long Writes => _rows.Writes;

    public ValueTask<IReadOnlyList<DhcpLease>> LoadAllAsync(CancellationToken cancellationToken) => _rows.LoadAllAsync(cancellationToken);

    public async ValueTask<IReadOnlyList<LeaseWriteResult>> CommitAsync(IReadOnlyList<LeaseWrite> writes, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var results = await _rows.CommitAsync(writes, cancellationToken);
            _line.Clear();
            for (int i = 0; i < results.Count; i++)
            {
                if (results[i] is { Outcome: LeaseWriteOutcome.Committed, Current: { } row })
                {
                    _line.Append(row.Address).Append(',').Append(row.ClientId).Append(',').Append(row.Mac).Append(',')
                        .Append(row.State).Append(',').Append(row.Starts.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)).Append(',')
                        .Append(row.Expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)).Append('\n');
                }
            }

            byte[] bytes = Encoding.ASCII.GetBytes(_line.ToString());
            await _journal.WriteAsync(bytes, cancellationToken);
            await _journal.FlushAsync(cancellationToken);
            return results;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public void Dispose()
    {
        _journal.Dispose();
        _writeLock.Dispose();
    }
}
