using System.Net;
using Microsoft.Data.Sqlite;
using Pxe.Profiles.Domain;
using Pxe.Profiles.Storage;

namespace Pxe.Profiles.Tests.Storage;

/// <summary>A database written by an older PxeServer, opened by this one.</summary>
public sealed class MigrationTests : IDisposable
{
    private static readonly MacAddress A = MacAddress.Parse("52:54:00:00:00:0a");
    private static readonly MacAddress B = MacAddress.Parse("52:54:00:00:00:0b");
    private readonly string _dir = Directory.CreateTempSubdirectory("pxe-migrate-").FullName;

    private string DbPath => Path.Combine(_dir, "pxe.db");

    /// <summary>Creates the schema of version <paramref name="version"/> (migrations 1..version), as that release left it.</summary>
    private SqliteConnection CreateAtVersion(int version)
    {
        var conn = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        conn.Open();
        Exec(conn, "PRAGMA journal_mode=WAL; CREATE TABLE schema_version (version INTEGER NOT NULL);");
        for (var v = 1; v <= version; v++)
        {
            Exec(conn, SqliteMigrations.All[v - 1]);
            Exec(conn, $"INSERT INTO schema_version (version) VALUES ({v});");
        }

        return conn;
    }

    private static void Exec(SqliteConnection conn, string sql)
    {
        using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection conn, string sql)
    {
        using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    [Fact]
    public async Task FromVersion5_KeepsEveryLeaseAndEvent_WithTheirIds()
    {
        using (var old = CreateAtVersion(5))
        {
            Exec(old, $"""
                INSERT INTO leases (address, client_id, mac, state, starts, expires, hostname) VALUES
                    ('10.0.0.50', '0152540000000a', {(long)A.Value}, 'Bound', 1000, 2000, 'node-a'),
                    ('10.0.0.9', '0152540000000b', {(long)B.Value}, 'Declined', 1500, 2500, NULL);
                INSERT INTO events (time, mac, kind, message, actor) VALUES
                    (100, {(long)A.Value}, 'lease', 'lease 10.0.0.50 granted', 'machine'),
                    (200, NULL, 'spec', 'spec changed', 'admin'),
                    (300, {(long)B.Value}, 'lease', 'address 10.0.0.9 declined', 'machine');
                """);
        }

        SqliteConnection.ClearAllPools();
        var store = await SqliteStore.OpenAsync(DbPath, CancellationToken.None);

        var leases = (await store.LoadLeasesAsync(CancellationToken.None)).OrderBy(l => l.Address.ToString()).ToList();
        Assert.Equal(2, leases.Count);
        Assert.Equal(IPAddress.Parse("10.0.0.50"), leases[0].Address);
        Assert.Equal("0152540000000a", leases[0].ClientId);
        Assert.Equal(A, leases[0].Mac);
        Assert.Equal(LeaseState.Bound, leases[0].State);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(2000), leases[0].Expires);
        Assert.Equal("node-a", leases[0].HostName);
        Assert.Equal(LeaseState.Declined, leases[1].State);
        Assert.Null(leases[1].HostName);

        var events = await store.QueryEventsAsync(new EventQuery(), CancellationToken.None);
        Assert.Equal([1L, 2L, 3L], events.Select(e => e.Id));
        Assert.Equal(["lease 10.0.0.50 granted", "spec changed", "address 10.0.0.9 declined"], events.Select(e => e.Message));
        Assert.Equal(["address 10.0.0.9 declined"], (await store.QueryEventsAsync(new EventQuery { Mac = B }, CancellationToken.None)).Select(e => e.Message));

        // New rows go on after the old ones: ids still grow, and the address is still unique.
        await store.AppendEventAsync(new MachineEvent { Time = DateTimeOffset.UtcNow, Mac = A, Kind = "x", Message = "after", Actor = "t" }, CancellationToken.None);
        Assert.Equal(4L, (await store.QueryEventsAsync(new EventQuery { AfterId = 3 }, CancellationToken.None)).Single().Id);
        var t = DateTimeOffset.FromUnixTimeMilliseconds(1800);
        var taken = await store.CommitLeasesAsync(
            [new LeaseChange(LeaseOperation.Bind, new Lease { Address = IPAddress.Parse("10.0.0.50"), ClientId = "0152540000000b", Mac = B, Starts = t, Expires = t.AddHours(1) }, t)],
            CancellationToken.None);
        Assert.Equal(LeaseOutcome.AddressInUse, taken[0].Outcome);
        Assert.Equal("0152540000000a", taken[0].Current!.ClientId);

        SqliteConnection.ClearAllPools();
        using var check = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        check.Open();
        Assert.Contains("WITHOUT ROWID", (string)Scalar(check, "SELECT sql FROM sqlite_master WHERE name = 'leases';")!, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("AUTOINCREMENT", (string)Scalar(check, "SELECT sql FROM sqlite_master WHERE name = 'events';")!, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0L, Scalar(check, "SELECT COUNT(*) FROM sqlite_sequence WHERE name = 'events';"));
        Assert.Equal(2L, Scalar(check, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN ('events_mac', 'events_kind');"));
        Assert.Equal((long)SqliteMigrations.All.Length, Scalar(check, "SELECT MAX(version) FROM schema_version;"));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}
