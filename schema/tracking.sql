-- tracking.sql - the wsa-relay tracking database, schema version 1.
--
-- Applied in one transaction when a read-write store opens a database whose user_version
-- is 0. Later versions are migrations that each end by setting user_version, applied in
-- order after this one (store_migrations[] in service/store.c); this file stays the
-- description of version 1. Version 2 (service/store_migrate_v2.c) adds to sources the
-- head bytes and the fingerprint at the offset that a file is now recognised by. Version 3
-- (service/store_migrate_v3.c) adds transactions.host_rev, the host with its labels
-- reversed, and its index tx_host_rev, through which a domain finds its subdomains.
-- Version 4 (service/store_migrate_keys.c) replaces every column index of transactions
-- below and host_rev's with one narrow table, tx_keys (service/store_keys.c says why);
-- host_rev itself stays, unread and NULL in new rows.
-- Version 5 (service/store_migrate_syslog.c) counts what syslog could not deliver.
-- Version 6 (service/store_migrate_host.c) enters each row's host alone in tx_keys too.
--
-- Times are milliseconds since the Unix epoch. Text columns hold valid UTF-8 as the parser
-- gives it; the raw line is a BLOB holding the exact bytes read (without the newline).

CREATE TABLE appliances (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    serial        TEXT,
    model         TEXT,
    version       TEXT,
    origin        TEXT,              -- where its logs come from (spool folder, syslog)
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms  INTEGER NOT NULL
);

-- A source of lines. A file's identity is the lower-case hex SHA-256 of its first
-- prefix_len bytes (prefix_len = min(size, 1024) when it was last opened), so a rename or
-- a copy is the same source; stdin has no identity (NULL) and is a new source every run.
-- offset is the byte count already committed: every line before it is in transactions or
-- rejects, or was skipped, and lines/rejects count them.
CREATE TABLE sources (
    id            INTEGER PRIMARY KEY,
    identity      TEXT,
    prefix_len    INTEGER NOT NULL CHECK (prefix_len >= 0 AND prefix_len <= 1024),
    name          TEXT NOT NULL,     -- the path as last given, for display
    size          INTEGER NOT NULL DEFAULT 0,
    offset        INTEGER NOT NULL DEFAULT 0,
    lines         INTEGER NOT NULL DEFAULT 0,
    rejects       INTEGER NOT NULL DEFAULT 0,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms  INTEGER NOT NULL
);
CREATE UNIQUE INDEX sources_identity ON sources (identity, prefix_len)
    WHERE identity IS NOT NULL;

-- One access log record. A line's identity is (source_id, offset): loading a source again
-- adds nothing, while identical lines at different offsets are different rows.
CREATE TABLE transactions (
    id                INTEGER PRIMARY KEY,
    time_ms           INTEGER NOT NULL,  -- end of the transaction
    elapsed_ms        INTEGER NOT NULL,
    client_ip         TEXT,
    user_raw          TEXT,
    user_domain       TEXT,
    user_name         TEXT,
    user_realm        TEXT,
    method            TEXT,
    url               TEXT,              -- normalised (ingest_url_normalise)
    host              TEXT,              -- lower case
    reg_domain        TEXT,
    dest_ip           TEXT,
    dest_port         INTEGER NOT NULL DEFAULT 0,
    result_code       TEXT,
    http_status       INTEGER NOT NULL DEFAULT 0,
    bytes             INTEGER NOT NULL DEFAULT 0,
    mime              TEXT,
    acl_raw           TEXT,
    acl_tag           TEXT,
    action            TEXT NOT NULL,     -- allowed, monitored, warned, blocked, dropped, error
    access_policy     TEXT,
    identity_policy   TEXT,
    malware_policy    TEXT,
    dlp_policy        TEXT,
    ext_dlp_policy    TEXT,
    routing_policy    TEXT,
    tap_policy        TEXT,
    category          TEXT,
    category_full     TEXT,
    wbrs              REAL,              -- NULL when the log has no numeric score
    wbrs_raw          TEXT,
    threat_type       TEXT,
    avc_app           TEXT,
    avc_type          TEXT,
    avc_behavior      TEXT,
    resp_verdict_name TEXT,
    amp_verdict       INTEGER,           -- NULL when absent
    amp_threat_name   TEXT,
    amp_score         INTEGER,           -- NULL when absent
    amp_file_name     TEXT,
    sha256            TEXT,              -- lower-case hex, only when well formed
    user_agent        TEXT,
    custom_pre        TEXT,
    custom_post       TEXT,
    malware           INTEGER NOT NULL DEFAULT 0,
    warnings          INTEGER NOT NULL DEFAULT 0,  -- INGEST_WARN_* bits
    format            TEXT,
    appliance_id      INTEGER NOT NULL REFERENCES appliances (id),
    source_id         INTEGER NOT NULL REFERENCES sources (id),
    offset            INTEGER NOT NULL,
    raw               BLOB NOT NULL,
    UNIQUE (source_id, offset)
);

-- One index per observable column, each ending in time_ms: the rowid (id) is the implicit
-- last column, so a backwards walk gives ORDER BY time_ms DESC, id DESC without a sort.
-- Columns that are often absent get partial indexes: a NULL costs no index write, and an
-- equality on the column implies IS NOT NULL, so the planner still uses them.
CREATE INDEX tx_client_ip ON transactions (client_ip, time_ms);
CREATE INDEX tx_dest_ip ON transactions (dest_ip, time_ms) WHERE dest_ip IS NOT NULL;
CREATE INDEX tx_host ON transactions (host, time_ms);
CREATE INDEX tx_reg_domain ON transactions (reg_domain, time_ms) WHERE reg_domain IS NOT NULL;
CREATE INDEX tx_url ON transactions (url, time_ms);
CREATE INDEX tx_sha256 ON transactions (sha256, time_ms) WHERE sha256 IS NOT NULL;
CREATE INDEX tx_user_name ON transactions (user_name COLLATE NOCASE, time_ms)
    WHERE user_name IS NOT NULL;
CREATE INDEX tx_amp_file_name ON transactions (amp_file_name, time_ms)
    WHERE amp_file_name IS NOT NULL;
CREATE INDEX tx_user_agent ON transactions (user_agent, time_ms) WHERE user_agent IS NOT NULL;

-- A line that looked like an access record but could not be parsed, or was too long.
CREATE TABLE rejects (
    id        INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources (id),
    offset    INTEGER NOT NULL,
    raw       BLOB NOT NULL,
    reason    TEXT NOT NULL,
    added_ms  INTEGER NOT NULL,
    UNIQUE (source_id, offset)
);

PRAGMA user_version = 1;
