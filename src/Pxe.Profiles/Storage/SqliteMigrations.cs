namespace Pxe.Profiles.Storage;

/// <summary>
/// The schema, as numbered migrations applied in order at start inside one transaction each. Never edit a shipped
/// migration: add the next one.
/// </summary>
internal static class SqliteMigrations
{
    public static readonly string[] All =
    [
        // 1: inventory, events, spec with versions.
        """
        CREATE TABLE machines (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            hostname TEXT NULL,
            domain TEXT NULL,
            ipv4 TEXT NULL,
            prefix INTEGER NULL,
            gateway TEXT NULL,
            dns TEXT NOT NULL DEFAULT '[]',
            profile TEXT NULL,
            boot_action TEXT NOT NULL,
            state TEXT NOT NULL,
            variables TEXT NOT NULL DEFAULT '{}',
            kernel_args TEXT NOT NULL DEFAULT '{}',
            tags TEXT NOT NULL DEFAULT '[]',
            install_token_hash TEXT NULL,
            install_started INTEGER NULL,
            install_deadline INTEGER NULL,
            install_attempt INTEGER NULL,
            created INTEGER NOT NULL,
            updated INTEGER NOT NULL,
            revision INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX machines_hostname ON machines(hostname, IFNULL(domain, '')) WHERE hostname IS NOT NULL;
        CREATE UNIQUE INDEX machines_ipv4 ON machines(ipv4) WHERE ipv4 IS NOT NULL;
        CREATE INDEX machines_state ON machines(state);
        CREATE INDEX machines_profile ON machines(profile);
        CREATE INDEX machines_deadline ON machines(install_deadline) WHERE install_deadline IS NOT NULL;
        CREATE TABLE machine_macs (
            mac INTEGER PRIMARY KEY,
            machine_id INTEGER NOT NULL REFERENCES machines(id) ON DELETE CASCADE,
            position INTEGER NOT NULL
        );
        CREATE INDEX machine_macs_machine ON machine_macs(machine_id);
        CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            time INTEGER NOT NULL,
            mac INTEGER NULL,
            kind TEXT NOT NULL,
            message TEXT NOT NULL,
            actor TEXT NOT NULL
        );
        CREATE INDEX events_mac ON events(mac, id);
        CREATE INDEX events_kind ON events(kind, id);
        CREATE TABLE spec_objects (
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            yaml TEXT NOT NULL,
            source_file TEXT NOT NULL,
            PRIMARY KEY (kind, name)
        );
        CREATE TABLE spec_versions (
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            yaml TEXT NULL,
            created INTEGER NOT NULL,
            actor TEXT NOT NULL,
            comment TEXT NULL,
            PRIMARY KEY (kind, name, version)
        );
        CREATE TABLE spec_revision (id INTEGER PRIMARY KEY CHECK (id = 1), revision INTEGER NOT NULL);
        INSERT INTO spec_revision (id, revision) VALUES (1, 0);
        """,

        // 2: DHCP leases. One row per address: the address is the uniqueness guarantee, also across servers sharing a store.
        """
        CREATE TABLE leases (
            address TEXT PRIMARY KEY,
            client_id TEXT NOT NULL,
            mac INTEGER NOT NULL,
            state TEXT NOT NULL,
            starts INTEGER NOT NULL,
            expires INTEGER NOT NULL,
            hostname TEXT NULL
        );
        CREATE INDEX leases_mac ON leases(mac);
        CREATE INDEX leases_client ON leases(client_id);
        """,

        // 3: API tokens (only the hash of each secret is stored).
        """
        CREATE TABLE api_tokens (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE,
            created INTEGER NOT NULL,
            revoked INTEGER NULL
        );
        """,

        // 4: a counter every machine write bumps, so a cache (or another server) can tell cheaply that machines changed.
        """
        CREATE TABLE machines_revision (id INTEGER PRIMARY KEY CHECK (id = 1), revision INTEGER NOT NULL);
        INSERT INTO machines_revision (id, revision) VALUES (1, 0);
        CREATE TRIGGER machines_revision_insert AFTER INSERT ON machines BEGIN UPDATE machines_revision SET revision = revision + 1 WHERE id = 1; END;
        CREATE TRIGGER machines_revision_update AFTER UPDATE ON machines BEGIN UPDATE machines_revision SET revision = revision + 1 WHERE id = 1; END;
        CREATE TRIGGER machines_revision_delete AFTER DELETE ON machines BEGIN UPDATE machines_revision SET revision = revision + 1 WHERE id = 1; END;
        """,

        // 5: no query reads leases by MAC or client id (the DHCP service loads the table at start, the API filters what it
        // loads), and with random keys each index cost one more page written per lease write: about a third of the
        // store's work per DHCP exchange.
        """
        DROP INDEX IF EXISTS leases_mac;
        DROP INDEX IF EXISTS leases_client;
        """,

        // 6: fewer pages written per lease. The lease table keyed by its address alone (WITHOUT ROWID: one b-tree, not a
        // table plus its address index), and events without AUTOINCREMENT (no sqlite_sequence row rewritten per event;
        // events are never deleted, so ids still only grow). Rows and ids are copied as they are.
        """
        CREATE TABLE leases_v6 (
            address TEXT PRIMARY KEY,
            client_id TEXT NOT NULL,
            mac INTEGER NOT NULL,
            state TEXT NOT NULL,
            starts INTEGER NOT NULL,
            expires INTEGER NOT NULL,
            hostname TEXT NULL
        ) WITHOUT ROWID;
        INSERT INTO leases_v6 (address, client_id, mac, state, starts, expires, hostname)
            SELECT address, client_id, mac, state, starts, expires, hostname FROM leases;
        DROP TABLE leases;
        ALTER TABLE leases_v6 RENAME TO leases;
        CREATE TABLE events_v6 (
            id INTEGER PRIMARY KEY,
            time INTEGER NOT NULL,
            mac INTEGER NULL,
            kind TEXT NOT NULL,
            message TEXT NOT NULL,
            actor TEXT NOT NULL
        );
        INSERT INTO events_v6 (id, time, mac, kind, message, actor) SELECT id, time, mac, kind, message, actor FROM events ORDER BY id;
        DROP TABLE events;
        ALTER TABLE events_v6 RENAME TO events;
        CREATE INDEX events_mac ON events(mac, id);
        CREATE INDEX events_kind ON events(kind, id);
        """,
    ];
}
