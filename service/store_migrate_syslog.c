/*
 * store_migrate_syslog.c - the schema version that counts what syslog could not deliver.
 *
 * The kernel drops UDP datagrams when a listener's receive queue is full, and such a
 * datagram never arrives, so its sender is unknown: drops are kept per listener address.
 * Only when the listener was started for one appliance (--appliance) are they that
 * appliance's too, in appliances.dropped. Senders refused by the allowlist are counted per
 * listener as well (datagrams and connections).
 */
#include "store_schema.h"

const char store_migration_syslog_sql[] =
    "ALTER TABLE appliances ADD COLUMN dropped INTEGER NOT NULL DEFAULT 0;\n"
    "CREATE TABLE syslog_listeners (\n"
    "    id            INTEGER PRIMARY KEY,\n"
    "    address       TEXT NOT NULL UNIQUE,\n" /* "udp://127.0.0.1:5514" */
    "    dropped       INTEGER NOT NULL DEFAULT 0,\n"
    "    refused       INTEGER NOT NULL DEFAULT 0,\n"
    "    first_seen_ms INTEGER NOT NULL,\n"
    "    last_seen_ms  INTEGER NOT NULL\n"
    ");\n";
