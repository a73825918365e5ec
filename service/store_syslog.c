/*
 * store_syslog.c - the loss counters of the syslog listeners (store_migrate_syslog.c).
 *
 * Written once a batch at most and read by `wsa-relay appliances`, so the statements are
 * prepared on each call rather than kept in the connection's cache.
 */
#include "store_priv.h"
#include "util.h"

static int run(store_t *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);

    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : store__fail(st, what);
}

int store_listener_add(store_t *st, const char *address, int64_t dropped, int64_t refused)
{
    static const char what[] = "counting a syslog listener's losses";
    sqlite3_stmt *s = NULL;
    int64_t now = util_now_ms();

    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO syslog_listeners (address, dropped, refused,"
                           " first_seen_ms, last_seen_ms) VALUES (?1, ?2, ?3, ?4, ?4)"
                           " ON CONFLICT (address) DO UPDATE SET dropped = dropped + ?2,"
                           " refused = refused + ?3, last_seen_ms = ?4",
                           -1, &s, NULL) != SQLITE_OK) {
        sqlite3_finalize(s);
        return store__fail(st, what);
    }
    sqlite3_bind_text(s, 1, address, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, dropped);
    sqlite3_bind_int64(s, 3, refused);
    sqlite3_bind_int64(s, 4, now);
    return run(st, s, what);
}

int store_appliance_add_dropped(store_t *st, int64_t appliance_id, int64_t dropped)
{
    static const char what[] = "counting an appliance's dropped datagrams";
    sqlite3_stmt *s = NULL;

    if (sqlite3_prepare_v2(st->db, "UPDATE appliances SET dropped = dropped + ?2 WHERE id = ?1", -1,
                           &s, NULL) != SQLITE_OK) {
        sqlite3_finalize(s);
        return store__fail(st, what);
    }
    sqlite3_bind_int64(s, 1, appliance_id);
    sqlite3_bind_int64(s, 2, dropped);
    return run(st, s, what);
}

int store_listeners(store_t *st, store_listener_cb cb, void *ctx)
{
    static const char what[] = "listing the syslog listeners";
    sqlite3_stmt *s = NULL;
    store_listener_info_t l;
    int rc, n = 0;

    if (sqlite3_prepare_v2(st->db,
                           "SELECT address, dropped, refused, last_seen_ms FROM syslog_listeners"
                           " ORDER BY address COLLATE BINARY",
                           -1, &s, NULL) != SQLITE_OK) {
        sqlite3_finalize(s);
        return store__fail(st, what);
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const unsigned char *address = sqlite3_column_text(s, 0);
        l.address = address != NULL ? (const char *)address : "";
        l.dropped = sqlite3_column_int64(s, 1);
        l.refused = sqlite3_column_int64(s, 2);
        l.last_ms = sqlite3_column_int64(s, 3);
        n++;
        if (cb(&l, ctx) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        n = store__fail(st, what);
    sqlite3_finalize(s);
    return n;
}
