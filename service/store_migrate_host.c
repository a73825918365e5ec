/*
 * store_migrate_host.c - the schema version that enters each row's host alone in tx_keys.
 *
 * A domain's evidence is a row whose host is the domain itself. Under the host key of
 * version 4 a name also finds every subdomain's rows, and a registered domain finds all
 * of its traffic: a popular one's evidence read hundreds of thousands of rows one by one
 * when none of them was evidence (the common case) and ran past the request budget. New
 * rows get the exact key instead of a host key for the host itself (store_keys.c), and a
 * domain's sightings merge the two keys; the rows already stored get it here, in id
 * order, written a quarter of a million at a time. Their host key for the host itself
 * stays: a row found under both keys is given once.
 */
#include "store_priv.h"
#include "store_schema.h"

/* nothing to create: tx_keys holds the new entries */
const char store_migration_host_exact_sql[] = "";

int store__migrate_host_exact_fill(store_t *st)
{
    static const char sql[] = "SELECT id, time_ms, host FROM transactions"
                              " WHERE host IS NOT NULL AND host <> '' ORDER BY id";
    sqlite3_stmt *s = NULL;
    int rc = -1, step;

    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        store__fail(st, "reading the hosts to key");
        goto out;
    }
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (store__add_key(st, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
                           STORE_KEY_HOST_EXACT, (const char *)sqlite3_column_text(s, 2),
                           (size_t)sqlite3_column_bytes(s, 2)) != 0)
            goto out;
        if (st->nkeys >= STORE_KEYS_HELD_MAX && store__flush_keys(st) != 0)
            goto out;
    }
    if (step != SQLITE_DONE) {
        store__fail(st, "reading the hosts to key");
        goto out;
    }
    rc = store__flush_keys(st);
out:
    /* the held entries must not outlive a failed migration, which rolls back */
    if (rc != 0)
        st->nkeys = st->nheld = 0;
    sqlite3_finalize(s);
    return rc;
}
