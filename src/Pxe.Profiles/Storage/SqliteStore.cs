using System.Data;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Pxe.Profiles.Domain;
using SQLitePCL;

namespace Pxe.Profiles.Storage;

/// <summary>
/// The embedded store: one SQLite file in the data directory, WAL journal, schema migrations at open. Every
/// multi-step change is one transaction; nothing is kept only in memory.
/// </summary>
public sealed class SqliteStore : ISpecStore, IMachineStore, IEventStore, ILeaseTable, ITokenStore
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<object, object> InitializedHandles = [];
    private static readonly object Marker = new();
    private readonly string _connectionString;
    private readonly SemaphoreSlim _leaseWriterLock = new(1, 1);
    private LeaseWriter? _leaseWriter;

    private SqliteStore(string connectionString) => _connectionString = connectionString;

    /// <summary>How commits reach the disk.</summary>
    public StoreDurability Durability { get; init; } = StoreDurability.Full;

    /// <summary>The database file.</summary>
    public required string Path { get; init; }

    /// <summary>Opens (creating if needed) the database at <paramref name="path"/> and migrates it.</summary>
    public static Task<SqliteStore> OpenAsync(string path, CancellationToken ct) => OpenAsync(path, StoreDurability.Full, ct);

    /// <summary>Opens (creating if needed) the database at <paramref name="path"/> with the chosen durability, and migrates it.</summary>
    public static async Task<SqliteStore> OpenAsync(string path, StoreDurability durability, CancellationToken ct)
    {
        var full = System.IO.Path.GetFullPath(path);
        var cs = new SqliteConnectionStringBuilder
        {
            DataSource = full,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        var store = new SqliteStore(cs) { Path = full, Durability = durability };
        try
        {
            await using var conn = await store.OpenConnectionAsync(ct);
            await Exec(conn, null, "PRAGMA journal_mode=WAL;", ct);
            await store.MigrateAsync(conn, ct);
        }
        catch (SqliteException e)
        {
            throw new StoreUnavailableException(
                $"cannot open the database {full}: {e.Message} (check that the data directory exists, is writable and the file is a PxeServer database)", e);
        }

        return store;
    }

    private async Task<SqliteConnection> OpenConnectionAsync(CancellationToken ct)
    {
        var conn = new SqliteConnection(_connectionString);
        await conn.OpenAsync(ct);
        // Pooled connections keep their native handle: set the per-connection pragmas once per handle, not per open
        // (they cost more than the lookups on the boot path).
        var handle = conn.Handle!;
        if (!InitializedHandles.TryGetValue(handle, out _))
        {
            using var cmd = conn.CreateCommand();
            cmd.CommandText = Durability == StoreDurability.Full
                ? "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000;"
                : "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;";
            await cmd.ExecuteNonQueryAsync(ct);
            InitializedHandles.AddOrUpdate(handle, Marker);
        }

        return conn;
    }

    private async Task MigrateAsync(SqliteConnection conn, CancellationToken ct)
    {
        await Exec(conn, null, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);", ct);
        var current = Convert.ToInt32(await Scalar(conn, null, "SELECT IFNULL(MAX(version), 0) FROM schema_version;", ct), CultureInfo.InvariantCulture);
        if (current > SqliteMigrations.All.Length)
        {
            throw new StoreUnavailableException(
                $"the database {Path} has schema version {current}, newer than this PxeServer knows ({SqliteMigrations.All.Length}); run a newer PxeServer",
                new InvalidOperationException("schema too new"));
        }

        for (var v = current + 1; v <= SqliteMigrations.All.Length; v++)
        {
            await using var tx = (SqliteTransaction)await conn.BeginTransactionAsync(IsolationLevel.Serializable, ct);
            await Exec(conn, tx, SqliteMigrations.All[v - 1], ct);
            await Exec(conn, tx, $"INSERT INTO schema_version (version) VALUES ({v});", ct);
            await tx.CommitAsync(ct);
        }
    }

    // ---- spec ----

    /// <inheritdoc />
    public async Task<StoredSpec> LoadSpecAsync(CancellationToken ct)
    {
        await using var conn = await OpenConnectionAsync(ct);
        await using var tx = (SqliteTransaction)await conn.BeginTransactionAsync(ct);
        var objects = new List<StoredSpecObject>();
        await using (var cmd = Command(conn, tx, "SELECT kind, name, version, yaml, source_file FROM spec_objects ORDER BY kind, name;"))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
            {
                objects.Add(new StoredSpecObject(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetString(3), r.GetString(4)));
            }
        }

        var revision = Convert.ToInt64(await Scalar(conn, tx, "SELECT revision FROM spec_revision WHERE id = 1;", ct), CultureInfo.InvariantCulture);
        return new StoredSpec(objects, revision);
    }

    /// <inheritdoc />
    public async Task<long> GetSpecRevisionAsync(CancellationToken ct)
    {
        await using var conn = await OpenConnectionAsync(ct);
        return Convert.ToInt64(await Scalar(conn, null, "SELECT revision FROM spec_revision WHERE id = 1;", ct), CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    public async Task<(long Revision, IReadOnlyList<SpecVersion> Written)> CommitSpecAsync(
        IReadOnlyList<SpecChange> changes, string actor, CancellationToken ct)
    {
        await using var conn = await OpenConnectionAsync(ct);
        await using var tx = (SqliteTransaction)await conn.BeginTransactionAsync(IsolationLevel.Serializable, ct);
        var now = DateTimeOffset.UtcNow;
        var written = new List<SpecVersion>();
        foreach (var change in changes)
        {
            string? currentYaml = null;
            int currentVersion = 0;
            await using (var cmd = Command(conn, tx, "SELECT yaml, version FROM spec_objects WHERE kind = $k AND name = $n;", ("$k", change.Kind), ("$n", change.Name)))
            await using (var r = await cmd.ExecuteReaderAsync(ct))
            {
                if (await r.ReadAsync(ct))
                {
                    currentYaml = r.GetString(0);
                    currentVersion = r.GetInt32(1);
                }
            }

            if (currentYaml == change.Yaml)
            {
                if (change.Yaml is not null)
                {
                    // Same content: only the file it lives in may have moved.
                    await Exec(conn, tx, "UPDATE spec_objects SET source_file = $f WHERE kind = $k AND name = $n;", ct,
                        ("$f", change.SourceFile), ("$k", change.Kind), ("$n", change.Name));
                }

                continue;
            }

            var last = Convert.ToInt32(await Scalar(conn, tx, "SELECT IFNULL(MAX(version), 0) FROM spec_versions WHERE kind = $k AND name = $n;", ct,
                ("$k", change.Kind), ("$n", change.Name)), CultureInfo.InvariantCulture);
            var version = Math.Max(last, currentVersion) + 1;
            await Exec(conn, tx, "INSERT INTO spec_versions (kind, name, version, yaml, created, actor, comment) VALUES ($k, $n, $v, $y, $t, $a, $c);", ct,
                ("$k", change.Kind), ("$n", change.Name), ("$v", version), ("$y", change.Yaml), ("$t", now.ToUnixTimeMilliseconds()), ("$a", actor), ("$c", change.Comment));
            if (change.Yaml is null)
            {
                await Exec(conn, tx, "DELETE FROM spec_objects WHERE kind = $k AND name = $n;", ct, ("$k", change.Kind), ("$n", change.Name));
            }
            else
            {
                await Exec(conn, tx,
                    "INSERT INTO spec_objects (kind, name, version, yaml, source_file) VALUES ($k, $n, $v, $y, $f) " +
                    "ON CONFLICT (kind, name) DO UPDATE SET version = excluded.version, yaml = excluded.yaml, source_file = excluded.source_file;", ct,
                    ("$k", change.Kind), ("$n", change.Name), ("$v", version), ("$y", change.Yaml), ("$f", change.SourceFile));
            }

            var what = change.Yaml is null ? "deleted" : currentYaml is null ? "created" : "changed";
            var comment = change.Comment is null ? "" : $" ({change.Comment})";
            await InsertEvent(conn, tx, new MachineEvent
            {
                Time = now,
                Kind = EventKinds.SpecChanged,
                Message = $"{change.Kind} '{change.Name}' {what}: version {version}{comment}",
                Actor = actor,
            }, ct);
            written.Add(new SpecVersion(change.Kind, change.Name, version, change.Yaml, now, actor, change.Comment));
        }

        if (written.Count > 0)
        {
            await Exec(conn, tx, "UPDATE spec_revision SET revision = revision + 1 WHERE id = 1;", ct);
        }

        var revision = Convert.ToInt64(await Scalar(conn, tx, "SELECT revision FROM spec_revision WHERE id = 1;", ct), CultureInfo.InvariantCulture);
        await tx.CommitAsync(ct);
        return (revision, written);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SpecVersion>> ListVersionsAsync(string kind, string name, CancellationToken ct)
    {
        await using var conn = await OpenConnectionAsync(ct);
        await using var cmd = Command(conn, null,
            "SELECT version, yaml, created, actor, comment FROM spec_versions WHERE kind = $k AND name = $n ORDER BY version;",
            ("$k", kind), ("$n", name));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<SpecVersion>();
        while (await r.ReadAsync(ct))
        {
            list.Add(new SpecVersion(kind, name, r.GetInt32(0), r.IsDBNull(1) ? null : r.GetString(1),
                DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2)), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4)));
        }

        return list;
    }

    // ---- machines ----

    private const string MachineColumns =
        "m.id, m.hostname, m.domain, m.ipv4, m.prefix, m.gateway, m.dns, m.profile, m.boot_action, m.state, m.variables, " +
        "m.kernel_args, m.tags, m.install_token_hash, m.install_started, m.install_deadline, m.install_attempt, m.created, m.updated, m.revision, " +
        "(SELECT group_concat(mac) FROM (SELECT mac FROM machine_macs WHERE machine_id = m.id ORDER BY position))";

    /// <inheritdoc />
    public async Task<Machine?> FindByMacAsync(MacAddress mac, CancellationToken ct)
    {
        await using var conn = await OpenConnectionAsync(ct);
        return await FindByMac(conn, null, mac, ct);
    }

    private static async Task<Machine?> FindByMac(SqliteConnection conn, SqliteTransaction? tx, MacAddress mac, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx,
            $"SELECT {MachineColumns} FROM machine_macs x JOIN machines m ON m.id = x.machine_id WHERE x.mac = $mac;",
            ("$mac", (long)mac.Value));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await r.ReadAsync(ct) ? ReadMachine(r) : null;
    }

    /// <inheritdoc />
    public async Task<long> GetMachinesRevisionAsync(CancellationToken ct)
    {
        await using var conn = await OpenConnectionAsync(ct);
        return Convert.ToInt64(await Scalar(conn, null, "SELECT revision FROM machines_revision WHERE id = 1;", ct), CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    public async Task<Machine?> FindByIPv4Async(IPAddress address, CancellationToken ct)
    {
        await using var conn = await OpenConnectionAsync(ct);
        await using var cmd = Command(conn, null, $"SELECT {MachineColumns} FROM machines m WHERE m.ipv4 = $ip;", ("$ip", address.ToString()));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await r.ReadAsync(ct) ? ReadMachine(r) : null;
    }

    /// <inheritdoc />
    public async Task<MachineKeys> LoadMachineKeysAsync(CancellationToken ct)
    {
        await using var conn = await OpenConnectionAsync(ct);
        // A deferred transaction: one read snapshot for the revision and both key lists, without the write lock.
        await using var tx = conn.BeginTransaction(deferred: true);
        var revision = Convert.ToInt64(await Scalar(conn, tx, "SELECT revision FROM machines_revision WHERE id = 1;", ct), CultureInfo.InvariantCulture);
        var macs = new HashSet<MacAddress>();
        await using (var cmd = Command(conn, tx, "SELECT mac FROM machine_macs;"))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
            {
                macs.Add(MacFromLong(r.GetInt64(0)));
            }
        }

        var addresses = new HashSet<IPAddress>();
        await using (var cmd = Command(conn, tx, "SELECT ipv4 FROM machines WHERE ipv4 IS NOT NULL;"))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
            {
                addresses.Add(IPAddress.Parse(r.GetString(0)));
            }
        }

        await tx.CommitAsync(ct);
        return new MachineKeys(revision, macs, addresses);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<Machine>> ListMachinesAsync(MachineQuery query, CancellationToken ct)
    {
        await using var conn = await OpenConnectionAsync(ct);
        var sql = $"SELECT {MachineColumns} FROM machines m WHERE m.id > $after";
        var args = new List<(string, object?)> { ("$after", query.AfterId), ("$limit", Math.Clamp(query.Limit, 1, 100_000)) };
        if (query.State is { } s)
        {
            sql += " AND m.state = $state";
            args.Add(("$state", s.ToString()));
        }

        if (query.Profile is not null)
        {
            sql += " AND m.profile = $profile";
            args.Add(("$profile", query.Profile));
        }

        if (query.Tag is not null)
        {
            sql += " AND EXISTS (SELECT 1 FROM json_each(m.tags) WHERE value = $tag)";
            args.Add(("$tag", query.Tag));
        }

        await using var cmd = Command(conn, null, sql + " ORDER BY m.id LIMIT $limit;", [.. args]);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<Machine>();
        while (await r.ReadAsync(ct))
        {
            list.Add(ReadMachine(r));
        }

        return list;
    }

    /// <inheritdoc />
    public async Task<long> CountMachinesAsync(CancellationToken ct)
    {
        await using var conn = await OpenConnectionAsync(ct);
        return Convert.ToInt64(await Scalar(conn, null, "SELECT COUNT(*) FROM machines;", ct), CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    public async Task<Machine> SaveMachineAsync(Machine machine, MachineEvent? evt, CancellationToken ct)
    {
        await using var conn = await OpenConnectionAsync(ct);
        await using var tx = (SqliteTransaction)await conn.BeginTransactionAsync(IsolationLevel.Serializable, ct);
        var saved = await Save(conn, tx, machine, DateTimeOffset.UtcNow, ct);
        if (evt is not null)
        {
            await InsertEvent(conn, tx, evt, ct);
        }

        await tx.CommitAsync(ct);
        return saved;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<Machine>> ImportMachinesAsync(IReadOnlyList<Machine> machines, string actor, CancellationToken ct)
    {
        await using var conn = await OpenConnectionAsync(ct);
        await using var tx = (SqliteTransaction)await conn.BeginTransactionAsync(IsolationLevel.Serializable, ct);
        var now = DateTimeOffset.UtcNow;
        var result = new List<Machine>(machines.Count);
        for (var i = 0; i < machines.Count; i++)
        {
            var m = machines[i];
            var existing = await FindByMac(conn, tx, m.PrimaryMac, ct);
            var toSave = existing is null
                ? m with { Id = 0 }
                : m with { Id = existing.Id, Revision = existing.Revision, Created = existing.Created, State = existing.State, Install = existing.Install };
            try
            {
                result.Add(await Save(conn, tx, toSave, now, ct));
            }
            catch (StoreConflictException e)
            {
                throw new StoreConflictException($"item {i + 1} ({m.PrimaryMac}): {e.Message}; nothing was imported");
            }
        }

        await InsertEvent(conn, tx, new MachineEvent
        {
            Time = now,
            Kind = EventKinds.MachineChanged,
            Message = $"imported {machines.Count} machines",
            Actor = actor,
        }, ct);
        await tx.CommitAsync(ct);
        return result;
    }

    /// <inheritdoc />
    public async Task<bool> DeleteMachineAsync(MacAddress mac, MachineEvent evt, CancellationToken ct)
    {
        await using var conn = await OpenConnectionAsync(ct);
        await using var tx = (SqliteTransaction)await conn.BeginTransactionAsync(IsolationLevel.Serializable, ct);
        var n = await Exec(conn, tx, "DELETE FROM machines WHERE id = (SELECT machine_id FROM machine_macs WHERE mac = $mac);", ct, ("$mac", (long)mac.Value));
        if (n > 0)
        {
            await InsertEvent(conn, tx, evt, ct);
        }

        await tx.CommitAsync(ct);
        return n > 0;
    }

    private static async Task<Machine> Save(SqliteConnection conn, SqliteTransaction tx, Machine m, DateTimeOffset now, CancellationToken ct)
    {
        // MACs must not belong to another machine.
        foreach (var mac in m.Macs)
        {
            var owner = await Scalar(conn, tx, "SELECT machine_id FROM machine_macs WHERE mac = $mac;", ct, ("$mac", (long)mac.Value));
            if (owner is long id && id != m.Id)
            {
                throw new StoreConflictException($"MAC {mac} already belongs to machine {await Describe(conn, tx, id, ct)}; remove it there first");
            }
        }

        await CheckUnique(conn, tx, m, ct);
        var p = new List<(string, object?)>
        {
            ("$hostname", m.Hostname), ("$domain", m.Domain), ("$ipv4", m.IPv4?.Address.ToString()), ("$prefix", m.IPv4?.PrefixLength),
            ("$gateway", m.IPv4?.Gateway?.ToString()), ("$dns", JsonSerializer.Serialize(m.IPv4?.Dns.Select(d => d.ToString()) ?? [])),
            ("$profile", m.Profile), ("$boot", m.BootAction.ToString()), ("$state", m.State.ToString()),
            ("$vars", VariableJson.Serialize(m.Variables)), ("$kargs", VariableJson.Serialize(m.KernelArgs)), ("$tags", JsonSerializer.Serialize(m.Tags)),
            ("$th", m.Install?.TokenHash), ("$ts", m.Install?.Started.ToUnixTimeMilliseconds()), ("$td", m.Install?.Deadline.ToUnixTimeMilliseconds()),
            ("$ta", m.Install?.Attempt), ("$now", now.ToUnixTimeMilliseconds()),
        };
        long machineId;
        long revision;
        DateTimeOffset created;
        if (m.Id == 0)
        {
            created = now;
            revision = 1;
            p.Add(("$created", now.ToUnixTimeMilliseconds()));
            machineId = Convert.ToInt64(await Scalar(conn, tx,
                "INSERT INTO machines (hostname, domain, ipv4, prefix, gateway, dns, profile, boot_action, state, variables, kernel_args, tags, " +
                "install_token_hash, install_started, install_deadline, install_attempt, created, updated, revision) VALUES " +
                "($hostname, $domain, $ipv4, $prefix, $gateway, $dns, $profile, $boot, $state, $vars, $kargs, $tags, $th, $ts, $td, $ta, $created, $now, 1) RETURNING id;",
                ct, [.. p]), CultureInfo.InvariantCulture);
        }
        else
        {
            p.Add(("$id", m.Id));
            p.Add(("$rev", m.Revision));
            var n = await Exec(conn, tx,
                "UPDATE machines SET hostname = $hostname, domain = $domain, ipv4 = $ipv4, prefix = $prefix, gateway = $gateway, dns = $dns, " +
                "profile = $profile, boot_action = $boot, state = $state, variables = $vars, kernel_args = $kargs, tags = $tags, " +
                "install_token_hash = $th, install_started = $ts, install_deadline = $td, install_attempt = $ta, updated = $now, revision = revision + 1 " +
                "WHERE id = $id AND revision = $rev;", ct, [.. p]);
            if (n == 0)
            {
                throw new StoreConflictException(
                    $"machine {m.PrimaryMac} was changed by someone else since it was read (or deleted); read it again and retry");
            }

            machineId = m.Id;
            revision = m.Revision + 1;
            created = m.Created;
            await Exec(conn, tx, "DELETE FROM machine_macs WHERE machine_id = $id;", ct, ("$id", machineId));
        }

        for (var i = 0; i < m.Macs.Count; i++)
        {
            await Exec(conn, tx, "INSERT INTO machine_macs (mac, machine_id, position) VALUES ($mac, $id, $pos);", ct,
                ("$mac", (long)m.Macs[i].Value), ("$id", machineId), ("$pos", i));
        }

        return m with { Id = machineId, Revision = revision, Created = created, Updated = now };
    }

    private static async Task CheckUnique(SqliteConnection conn, SqliteTransaction tx, Machine m, CancellationToken ct)
    {
        if (m.Hostname is not null)
        {
            var other = await Scalar(conn, tx,
                "SELECT id FROM machines WHERE hostname = $h AND IFNULL(domain, '') = IFNULL($d, '') AND id != $id;", ct,
                ("$h", m.Hostname), ("$d", m.Domain), ("$id", m.Id));
            if (other is long id)
            {
                throw new StoreConflictException($"host name '{m.Hostname}' is already used by machine {await Describe(conn, tx, id, ct)}; choose another");
            }
        }

        if (m.IPv4 is not null)
        {
            var other = await Scalar(conn, tx, "SELECT id FROM machines WHERE ipv4 = $ip AND id != $id;", ct,
                ("$ip", m.IPv4.Address.ToString()), ("$id", m.Id));
            if (other is long id)
            {
                throw new StoreConflictException($"address {m.IPv4.Address} is already reserved for machine {await Describe(conn, tx, id, ct)}; choose another");
            }
        }
    }

    private static async Task<string> Describe(SqliteConnection conn, SqliteTransaction tx, long id, CancellationToken ct)
    {
        var mac = await Scalar(conn, tx, "SELECT mac FROM machine_macs WHERE machine_id = $id ORDER BY position LIMIT 1;", ct, ("$id", id));
        var host = await Scalar(conn, tx, "SELECT hostname FROM machines WHERE id = $id;", ct, ("$id", id));
        var macText = mac is long v ? MacFromLong(v).ToString() : $"#{id}";
        return host is string h ? $"{macText} ({h})" : macText;
    }

    private static Machine ReadMachine(SqliteDataReader r)
    {
        StaticIPv4? ipv4 = null;
        if (!r.IsDBNull(3))
        {
            ipv4 = new StaticIPv4
            {
                Address = IPAddress.Parse(r.GetString(3)),
                PrefixLength = r.GetInt32(4),
                Gateway = r.IsDBNull(5) ? null : IPAddress.Parse(r.GetString(5)),
                Dns = (JsonSerializer.Deserialize<List<string>>(r.GetString(6)) ?? []).Select(IPAddress.Parse).ToList(),
            };
        }

        InstallSession? install = null;
        if (!r.IsDBNull(13))
        {
            install = new InstallSession
            {
                TokenHash = r.GetString(13),
                Started = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(14)),
                Deadline = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(15)),
                Attempt = r.GetInt32(16),
            };
        }

        var macs = r.IsDBNull(20)
            ? []
            : r.GetString(20).Split(',').Select(s => MacFromLong(long.Parse(s, CultureInfo.InvariantCulture))).ToList();
        return new Machine
        {
            Id = r.GetInt64(0),
            Hostname = r.IsDBNull(1) ? null : r.GetString(1),
            Domain = r.IsDBNull(2) ? null : r.GetString(2),
            IPv4 = ipv4,
            Profile = r.IsDBNull(7) ? null : r.GetString(7),
            BootAction = Enum.Parse<BootAction>(r.GetString(8)),
            State = Enum.Parse<MachineState>(r.GetString(9)),
            Variables = VariableJson.DeserializeVariables(r.GetString(10)),
            KernelArgs = VariableJson.DeserializeKernelArgs(r.GetString(11)),
            Tags = JsonSerializer.Deserialize<List<string>>(r.GetString(12)) ?? [],
            Install = install,
            Created = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(17)),
            Updated = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(18)),
            Revision = r.GetInt64(19),
            Macs = macs,
        };
    }

    private static MacAddress MacFromLong(long v)
    {
        Span<byte> b = stackalloc byte[6];
        for (var i = 0; i < 6; i++)
        {
            b[i] = (byte)(v >> (8 * (5 - i)));
        }

        return MacAddress.FromBytes(b);
    }

    // ---- events ----

    /// <inheritdoc />
    public async Task AppendEventAsync(MachineEvent evt, CancellationToken ct)
    {
        await using var conn = await OpenConnectionAsync(ct);
        await InsertEvent(conn, null, evt, ct);
    }

    /// <inheritdoc />
    public async Task AppendEventsAsync(IReadOnlyList<MachineEvent> events, CancellationToken ct)
    {
        await using var conn = await OpenConnectionAsync(ct);
        await using var tx = (SqliteTransaction)await conn.BeginTransactionAsync(ct);
        // One prepared statement for the whole batch: parsing the SQL again for every event cost more than the insert.
        await using var insert = Command(conn, tx, InsertEventSql, ("$t", 0L), ("$m", null), ("$k", ""), ("$msg", ""), ("$a", ""));
        foreach (var e in events)
        {
            BindEvent(insert, e);
            await insert.ExecuteNonQueryAsync(ct);
        }

        await tx.CommitAsync(ct);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<MachineEvent>> QueryEventsAsync(EventQuery query, CancellationToken ct)
    {
        await using var conn = await OpenConnectionAsync(ct);
        var sql = "SELECT id, time, mac, kind, message, actor FROM events WHERE id > $after";
        var args = new List<(string, object?)> { ("$after", query.AfterId), ("$limit", Math.Clamp(query.Limit, 1, 10_000)) };
        if (query.Mac is { } mac)
        {
            sql += " AND mac = $mac";
            args.Add(("$mac", (long)mac.Value));
        }

        if (query.Kind is not null)
        {
            sql += " AND kind = $kind";
            args.Add(("$kind", query.Kind));
        }

        if (query.Actor is not null)
        {
            sql += " AND actor = $actor";
            args.Add(("$actor", query.Actor));
        }

        if (query.Since is { } since)
        {
            sql += " AND time >= $since";
            args.Add(("$since", since.ToUnixTimeMilliseconds()));
        }

        // Newest N, returned oldest first.
        await using var cmd = Command(conn, null, $"SELECT * FROM ({sql} ORDER BY id DESC LIMIT $limit) ORDER BY id;", [.. args]);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<MachineEvent>();
        while (await r.ReadAsync(ct))
        {
            list.Add(new MachineEvent
            {
                Id = r.GetInt64(0),
                Time = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)),
                Mac = r.IsDBNull(2) ? null : MacFromLong(r.GetInt64(2)),
                Kind = r.GetString(3),
                Message = r.GetString(4),
                Actor = r.GetString(5),
            });
        }

        return list;
    }

    private const string InsertEventSql = "INSERT INTO events (time, mac, kind, message, actor) VALUES ($t, $m, $k, $msg, $a);";

    private static void BindEvent(SqliteCommand insert, MachineEvent e)
    {
        insert.Parameters["$t"].Value = e.Time.ToUnixTimeMilliseconds();
        insert.Parameters["$m"].Value = e.Mac is { } mac ? (long)mac.Value : (object)DBNull.Value;
        insert.Parameters["$k"].Value = e.Kind;
        insert.Parameters["$msg"].Value = e.Message;
        insert.Parameters["$a"].Value = e.Actor;
    }

    private static Task<int> InsertEvent(SqliteConnection conn, SqliteTransaction? tx, MachineEvent e, CancellationToken ct) =>
        Exec(conn, tx, InsertEventSql, ct,
            ("$t", e.Time.ToUnixTimeMilliseconds()), ("$m", e.Mac is { } mac ? (long)mac.Value : null), ("$k", e.Kind), ("$msg", e.Message), ("$a", e.Actor));

    // ---- leases ----

    /// <inheritdoc />
    public async Task<IReadOnlyList<Lease>> LoadLeasesAsync(CancellationToken ct)
    {
        await using var conn = await OpenConnectionAsync(ct);
        await using var cmd = Command(conn, null, "SELECT address, client_id, mac, state, starts, expires, hostname FROM leases ORDER BY address;");
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<Lease>();
        while (await r.ReadAsync(ct))
        {
            list.Add(ReadLease(r));
        }

        return list;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<(LeaseOutcome Outcome, Lease? Current)>> CommitLeasesAsync(IReadOnlyList<LeaseChange> changes, CancellationToken ct) =>
        CommitLeasesAsync(changes, null, ct);

    /// <inheritdoc />
    public async Task<IReadOnlyList<(LeaseOutcome Outcome, Lease? Current)>> CommitLeasesAsync(
        IReadOnlyList<LeaseChange> changes, Func<LeaseChange, Lease?, Lease, MachineEvent?>? describe, CancellationToken ct)
    {
        await _leaseWriterLock.WaitAsync(ct);
        try
        {
            _leaseWriter ??= new LeaseWriter(await OpenConnectionAsync(ct));
            try
            {
                return await CommitLeases(_leaseWriter, changes, describe, ct);
            }
            catch
            {
                // The connection may be what failed: the next batch starts on a fresh one.
                await _leaseWriter.DisposeAsync();
                _leaseWriter = null;
                throw;
            }
        }
        finally
        {
            _leaseWriterLock.Release();
        }
    }

    // The lease writer's statements run synchronously: Microsoft.Data.Sqlite's async methods complete synchronously
    // anyway, and a DHCP server runs them thousands of times a second.
    private static Task<IReadOnlyList<(LeaseOutcome Outcome, Lease? Current)>> CommitLeases(
        LeaseWriter w, IReadOnlyList<LeaseChange> changes, Func<LeaseChange, Lease?, Lease, MachineEvent?>? describe, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var results = new List<(LeaseOutcome, Lease?)>(changes.Count);
        w.Begin();
        try
        {
            foreach (var change in changes)
            {
                var address = change.Lease.Address.ToString();
                var lease = change.Lease;
                Lease stored;
                if (change.Operation is LeaseOperation.Bind or LeaseOperation.Decline)
                {
                    // A Bind or Decline of an address without a row always commits: try the insert first, and read the row
                    // only when there is one (a renewal, a reuse, a conflict). A new address costs one statement, not two.
                    stored = lease with { State = change.Operation == LeaseOperation.Bind ? LeaseState.Bound : LeaseState.Declined };
                    if (w.TryInsert(address, stored))
                    {
                        w.AppendEvent(describe?.Invoke(change, null, stored));
                        results.Add((LeaseOutcome.Committed, stored));
                        continue;
                    }
                }

                var row = w.Find(address);
                var sameClient = row is not null && row.ClientId == lease.ClientId;
                var held = row is { State: LeaseState.Bound } && sameClient;
                var (ok, failure, state) = change.Operation switch
                {
                    LeaseOperation.Bind => (row is null || (sameClient && row.State != LeaseState.Declined)
                        || row.State is LeaseState.Released or LeaseState.Expired || row.Expires <= change.Now, LeaseOutcome.AddressInUse, LeaseState.Bound),
                    LeaseOperation.Release => (held, LeaseOutcome.NotHeld, LeaseState.Released),
                    LeaseOperation.Expire => (held && row!.Expires <= change.Now, LeaseOutcome.NotHeld, LeaseState.Expired),
                    _ => (true, LeaseOutcome.Committed, LeaseState.Declined),
                };
                if (!ok)
                {
                    results.Add((failure, row));
                    continue;
                }

                stored = lease with { State = state };
                w.Upsert(address, stored);
                w.AppendEvent(describe?.Invoke(change, row, stored));
                results.Add((LeaseOutcome.Committed, stored));
            }

            w.Commit();
        }
        catch
        {
            w.Rollback();
            throw;
        }

        return Task.FromResult<IReadOnlyList<(LeaseOutcome Outcome, Lease? Current)>>(results);
    }

    /// <summary>
    /// The lease path's own connection with its statements prepared once, run through SQLite's C API directly: a DHCP
    /// server commits a batch every few milliseconds, and per statement Microsoft.Data.Sqlite creates a data reader,
    /// looks every parameter up by name and converts it, which cost more than SQLite's own work for these rows.
    /// </summary>
    private sealed class LeaseWriter : IAsyncDisposable
    {
        private const string Columns = "(address, client_id, mac, state, starts, expires, hostname) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

        private readonly sqlite3 _db;
        private readonly sqlite3_stmt _begin;
        private readonly sqlite3_stmt _commit;
        private readonly sqlite3_stmt _rollback;
        private readonly sqlite3_stmt _select;
        private readonly sqlite3_stmt _insert;
        private readonly sqlite3_stmt _upsert;
        private readonly sqlite3_stmt _insertEvent;

        public LeaseWriter(SqliteConnection connection)
        {
            Connection = connection;
            _db = connection.Handle!;
            _begin = Prepare("BEGIN IMMEDIATE;");
            _commit = Prepare("COMMIT;");
            _rollback = Prepare("ROLLBACK;");
            _select = Prepare("SELECT address, client_id, mac, state, starts, expires, hostname FROM leases WHERE address = ?1;");
            // Stores a lease for an address without a row; changes nothing (0 rows) when the address has one.
            _insert = Prepare("INSERT INTO leases " + Columns + " ON CONFLICT (address) DO NOTHING;");
            _upsert = Prepare("INSERT INTO leases " + Columns + " " +
                "ON CONFLICT (address) DO UPDATE SET client_id = excluded.client_id, mac = excluded.mac, state = excluded.state, " +
                "starts = excluded.starts, expires = excluded.expires, hostname = excluded.hostname;");
            _insertEvent = Prepare("INSERT INTO events (time, mac, kind, message, actor) VALUES (?1, ?2, ?3, ?4, ?5);");
        }

        public SqliteConnection Connection { get; }

        public void Begin() => Run(_begin);

        public void Commit() => Run(_commit);

        /// <summary>Ends the transaction after a failure, when one is still open (SQLite may have rolled it back already).</summary>
        public void Rollback()
        {
            if (raw.sqlite3_get_autocommit(_db) == 0)
            {
                raw.sqlite3_step(_rollback);
                raw.sqlite3_reset(_rollback);
            }
        }

        /// <summary>Inserts the row when the address has none; false (nothing changed) when it has one.</summary>
        public bool TryInsert(string address, Lease stored)
        {
            BindLease(_insert, address, stored);
            Run(_insert);
            return raw.sqlite3_changes(_db) == 1;
        }

        public void Upsert(string address, Lease stored)
        {
            BindLease(_upsert, address, stored);
            Run(_upsert);
        }

        public Lease? Find(string address)
        {
            Check(raw.sqlite3_bind_text(_select, 1, address));
            try
            {
                int rc = raw.sqlite3_step(_select);
                if (rc == raw.SQLITE_DONE)
                {
                    return null;
                }

                if (rc != raw.SQLITE_ROW)
                {
                    SqliteException.ThrowExceptionForRC(rc, _db);
                }

                return new Lease
                {
                    Address = IPAddress.Parse(raw.sqlite3_column_text(_select, 0).utf8_to_string()),
                    ClientId = raw.sqlite3_column_text(_select, 1).utf8_to_string(),
                    Mac = MacFromLong(raw.sqlite3_column_int64(_select, 2)),
                    State = Enum.Parse<LeaseState>(raw.sqlite3_column_text(_select, 3).utf8_to_string()),
                    Starts = DateTimeOffset.FromUnixTimeMilliseconds(raw.sqlite3_column_int64(_select, 4)),
                    Expires = DateTimeOffset.FromUnixTimeMilliseconds(raw.sqlite3_column_int64(_select, 5)),
                    HostName = raw.sqlite3_column_type(_select, 6) == raw.SQLITE_NULL ? null : raw.sqlite3_column_text(_select, 6).utf8_to_string(),
                };
            }
            finally
            {
                raw.sqlite3_reset(_select);
            }
        }

        public void AppendEvent(MachineEvent? e)
        {
            if (e is null)
            {
                return;
            }

            Check(raw.sqlite3_bind_int64(_insertEvent, 1, e.Time.ToUnixTimeMilliseconds()));
            Check(e.Mac is { } mac ? raw.sqlite3_bind_int64(_insertEvent, 2, (long)mac.Value) : raw.sqlite3_bind_null(_insertEvent, 2));
            Check(raw.sqlite3_bind_text(_insertEvent, 3, e.Kind));
            Check(raw.sqlite3_bind_text(_insertEvent, 4, e.Message));
            Check(raw.sqlite3_bind_text(_insertEvent, 5, e.Actor));
            Run(_insertEvent);
        }

        private void BindLease(sqlite3_stmt statement, string address, Lease stored)
        {
            Check(raw.sqlite3_bind_text(statement, 1, address));
            Check(raw.sqlite3_bind_text(statement, 2, stored.ClientId));
            Check(raw.sqlite3_bind_int64(statement, 3, (long)stored.Mac.Value));
            Check(raw.sqlite3_bind_text(statement, 4, stored.State.ToString()));
            Check(raw.sqlite3_bind_int64(statement, 5, stored.Starts.ToUnixTimeMilliseconds()));
            Check(raw.sqlite3_bind_int64(statement, 6, stored.Expires.ToUnixTimeMilliseconds()));
            Check(stored.HostName is { } host ? raw.sqlite3_bind_text(statement, 7, host) : raw.sqlite3_bind_null(statement, 7));
        }

        private sqlite3_stmt Prepare(string sql)
        {
            Check(raw.sqlite3_prepare_v2(_db, sql, out var statement));
            return statement;
        }

        /// <summary>Steps a statement that returns no rows, then resets it for its next use.</summary>
        private void Run(sqlite3_stmt statement)
        {
            int rc = raw.sqlite3_step(statement);
            if (rc != raw.SQLITE_DONE)
            {
                // The error text belongs to the failed step: read it before the reset.
                var error = new SqliteException(raw.sqlite3_errmsg(_db).utf8_to_string(), rc);
                raw.sqlite3_reset(statement);
                throw error;
            }

            raw.sqlite3_reset(statement);
        }

        private void Check(int rc)
        {
            if (rc != raw.SQLITE_OK)
            {
                SqliteException.ThrowExceptionForRC(rc, _db);
            }
        }

        public async ValueTask DisposeAsync()
        {
            Rollback();
            foreach (var statement in new[] { _begin, _commit, _rollback, _select, _insert, _upsert, _insertEvent })
            {
                statement.Dispose();
            }

            await Connection.DisposeAsync();
        }
    }

    private static Lease ReadLease(SqliteDataReader r) => new()
    {
        Address = IPAddress.Parse(r.GetString(0)),
        ClientId = r.GetString(1),
        Mac = MacFromLong(r.GetInt64(2)),
        State = Enum.Parse<LeaseState>(r.GetString(3)),
        Starts = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(4)),
        Expires = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)),
        HostName = r.IsDBNull(6) ? null : r.GetString(6),
    };

    // ---- API tokens ----

    /// <inheritdoc />
    public async Task<ApiToken> CreateTokenAsync(ApiToken token, MachineEvent evt, CancellationToken ct)
    {
        await using var conn = await OpenConnectionAsync(ct);
        await using var tx = (SqliteTransaction)await conn.BeginTransactionAsync(IsolationLevel.Serializable, ct);
        if (await Scalar(conn, tx, "SELECT id FROM api_tokens WHERE name = $n;", ct, ("$n", token.Name)) is not null)
        {
            throw new StoreConflictException($"a token named '{token.Name}' already exists; choose another name or revoke it first");
        }

        var id = Convert.ToInt64(await Scalar(conn, tx,
            "INSERT INTO api_tokens (name, role, hash, created) VALUES ($n, $r, $h, $c) RETURNING id;", ct,
            ("$n", token.Name), ("$r", token.Role.ToString()), ("$h", token.Hash), ("$c", token.Created.ToUnixTimeMilliseconds())), CultureInfo.InvariantCulture);
        await InsertEvent(conn, tx, evt, ct);
        await tx.CommitAsync(ct);
        return token with { Id = id };
    }

    /// <inheritdoc />
    public async Task<ApiToken?> FindTokenByHashAsync(string hash, CancellationToken ct)
    {
        await using var conn = await OpenConnectionAsync(ct);
        await using var cmd = Command(conn, null, "SELECT id, name, role, hash, created, revoked FROM api_tokens WHERE hash = $h AND revoked IS NULL;", ("$h", hash));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await r.ReadAsync(ct) ? ReadToken(r) : null;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ApiToken>> ListTokensAsync(CancellationToken ct)
    {
        await using var conn = await OpenConnectionAsync(ct);
        await using var cmd = Command(conn, null, "SELECT id, name, role, hash, created, revoked FROM api_tokens ORDER BY id;");
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<ApiToken>();
        while (await r.ReadAsync(ct))
        {
            list.Add(ReadToken(r));
        }

        return list;
    }

    /// <inheritdoc />
    public async Task<bool> RevokeTokenAsync(string name, MachineEvent evt, CancellationToken ct)
    {
        await using var conn = await OpenConnectionAsync(ct);
        await using var tx = (SqliteTransaction)await conn.BeginTransactionAsync(IsolationLevel.Serializable, ct);
        var n = await Exec(conn, tx, "UPDATE api_tokens SET revoked = $t WHERE name = $n AND revoked IS NULL;", ct,
            ("$t", evt.Time.ToUnixTimeMilliseconds()), ("$n", name));
        if (n > 0)
        {
            await InsertEvent(conn, tx, evt, ct);
        }

        await tx.CommitAsync(ct);
        return n > 0;
    }

    private static ApiToken ReadToken(SqliteDataReader r) => new()
    {
        Id = r.GetInt64(0),
        Name = r.GetString(1),
        Role = Enum.Parse<ApiRole>(r.GetString(2)),
        Hash = r.GetString(3),
        Created = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(4)),
        Revoked = r.IsDBNull(5) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)),
    };

    // ---- helpers ----

    private static SqliteCommand Command(SqliteConnection conn, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = conn.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in args)
        {
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return cmd;
    }

    private static async Task<int> Exec(SqliteConnection conn, SqliteTransaction? tx, string sql, CancellationToken ct, params (string, object?)[] args)
    {
        await using var cmd = Command(conn, tx, sql, args);
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    private static async Task<object?> Scalar(SqliteConnection conn, SqliteTransaction? tx, string sql, CancellationToken ct, params (string, object?)[] args)
    {
        await using var cmd = Command(conn, tx, sql, args);
        var v = await cmd.ExecuteScalarAsync(ct);
        return v is DBNull ? null : v;
    }
}

/// <summary>How far an acknowledged write is guaranteed to survive.</summary>
public enum StoreDurability
{
    /// <summary>Every commit is synced to disk (SQLite synchronous=FULL): survives a killed process and a power cut.</summary>
    Full,

    /// <summary>
    /// Commits reach the operating system, which writes them out soon (WAL with synchronous=NORMAL): survives a killed
    /// or crashed process, not a power cut of the last moments. The durability of Kea's memfile lease store.
    /// </summary>
    Process,
}
