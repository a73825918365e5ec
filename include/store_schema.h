/*
 * store_schema.h - the schema scripts: schema/tracking.sql (version 1, compiled in by CMake)
 * and the migrations that follow it.
 */
#ifndef WSA_STORE_SCHEMA_H
#define WSA_STORE_SCHEMA_H

extern const char store_schema_sql[];

/** Version 1 to 2: sources recognised by their head bytes and a fingerprint at the offset. */
extern const char store_migration_v2_sql[];

/** Version 2 to 3: host_rev, each host with its labels reversed, so subdomains are a range. */
extern const char store_migration_v3_sql[];

/*
 * tx_keys instead of the column indexes (store_migrate_keys.c): the SQL runs first, then
 * the fill enters every existing row's keys.
 */
extern const char store_migration_keys_sql[];

/** Syslog loss: appliances.dropped and the syslog_listeners table (store_migrate_syslog.c). */
extern const char store_migration_syslog_sql[];

/*
 * Each row's host alone in tx_keys (store_migrate_host.c): no SQL of its own, the fill
 * enters the keys.
 */
extern const char store_migration_host_exact_sql[];

#endif
