/*
 * store_migrate_keys.c - the schema version that finds rows through tx_keys (store_keys.c)
 * instead of one index per column.
 *
 * The column indexes and host_rev's index go; the host_rev column stays, unread, and new
 * rows leave it NULL: dropping it would rewrite every row, and with the statement journal
 * in memory (temp_store) hold a copy of the whole table there until the migration commits.
 * Every existing row gets its tx_keys entries from the same C code that enters new rows,
 * so old and new rows are found alike. Rows are read in id order, so each partition's
 * entries are written together, a quarter of a million at a time. On a large database
 * this is one long write transaction (about 6 s per million rows here).
 */
#include "store_priv.h"
#include "store_schema.h"

const char store_migration_keys_sql[] =
    "CREATE TABLE tx_keys (\n"
    "    key     INTEGER NOT NULL,\n"
    "    time_ms INTEGER NOT NULL,\n"
    "    id      INTEGER NOT NULL,\n"
    "    PRIMARY KEY (key, time_ms, id)\n"
    ") WITHOUT ROWID;\n"
    /* the newest time entered in each partition: a walk opens partitions newest first */
    "CREATE TABLE tx_parts (\n"
    "    part        INTEGER PRIMARY KEY,\n"
    "    max_time_ms INTEGER NOT NULL\n"
    ");\n"
    "DROP INDEX tx_client_ip;\n"
    "DROP INDEX tx_dest_ip;\n"
    "DROP INDEX tx_host;\n"
    "DROP INDEX tx_reg_domain;\n"
    "DROP INDEX tx_url;\n"
    "DROP INDEX tx_sha256;\n"
    "DROP INDEX tx_user_name;\n"
    "DROP INDEX tx_amp_file_name;\n"
    "DROP INDEX tx_user_agent;\n"
    "DROP INDEX tx_host_rev;\n";

static const char *text(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

int store__migrate_keys_fill(store_t *st)
{
    static const char sql[] = "SELECT id, time_ms, client_ip, dest_ip, host, reg_domain, url,"
                              " user_name, sha256, amp_file_name, user_agent"
                              " FROM transactions ORDER BY id";
    sqlite3_stmt *s = NULL;
    int rc = -1, step;

    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        store__fail(st, "reading the rows to key");
        goto out;
    }
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        store_key_src_t k = {
            .client_ip = text(s, 2),
            .dest_ip = text(s, 3),
            .host = text(s, 4),
            .reg_domain = text(s, 5),
            .url = text(s, 6),
            .user_name = text(s, 7),
            .sha256 = text(s, 8),
            .amp_file_name = text(s, 9),
            .user_agent = text(s, 10),
        };
        if (store__add_keys(st, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), &k) != 0)
            goto out;
        /* held entries are written as they would be at a commit, not all at the end */
        if (st->nkeys >= STORE_KEYS_HELD_MAX && store__flush_keys(st) != 0)
            goto out;
    }
    if (step != SQLITE_DONE) {
        store__fail(st, "reading the rows to key");
        goto out;
    }
    rc = store__flush_keys(st);
out:
    sqlite3_finalize(s);
    return rc;
}
