/*
 * store_admin.c - what the operator lists and repairs: appliances, rejected lines, retries.
 *
 * These run from the command line, rarely, so their statements are prepared on each call
 * rather than kept in the connection's cache.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "load_reader.h"
#include "store_priv.h"
#include "util.h"

#define RETRY_BATCH       500
#define REASON_LEN        256
#define HOST_NAME_MAX_LEN 255

static sqlite3_stmt *prepare(store_t *st, const char *sql, const char *what)
{
    sqlite3_stmt *s = NULL;

    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        store__fail(st, what);
        sqlite3_finalize(s);
        return NULL;
    }
    return s;
}

static const char *col_text(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);

    return t != NULL ? (const char *)t : "";
}

int store_appliances(store_t *st, store_appliance_cb cb, void *ctx)
{
    /* the grouped rows first, then the names: one pass over the transactions */
    sqlite3_stmt *s = prepare(st,
                              "SELECT a.id, a.name, coalesce(t.n, 0), coalesce(t.last, -1),"
                              " a.dropped"
                              " FROM appliances a LEFT JOIN"
                              " (SELECT appliance_id, count(*) AS n, max(time_ms) AS last"
                              "  FROM transactions GROUP BY appliance_id) t"
                              " ON t.appliance_id = a.id ORDER BY a.name COLLATE BINARY",
                              "listing the appliances");
    store_appliance_info_t a;
    int rc, n = 0;

    if (s == NULL)
        return -1;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        a.id = sqlite3_column_int64(s, 0);
        a.name = col_text(s, 1);
        a.rows = sqlite3_column_int64(s, 2);
        a.last_ms = sqlite3_column_int64(s, 3);
        a.dropped = sqlite3_column_int64(s, 4);
        n++;
        if (cb(&a, ctx) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE) {
        store__fail(st, "listing the appliances");
        n = -1;
    }
    sqlite3_finalize(s);
    return n;
}

int store_rejects(store_t *st, int limit, store_reject_cb cb, void *ctx)
{
    sqlite3_stmt *s = prepare(st,
                              "SELECT r.id, r.source_id, coalesce(s.name, ''), r.offset,"
                              " r.reason, r.added_ms, r.raw FROM rejects r"
                              " LEFT JOIN sources s ON s.id = r.source_id"
                              " ORDER BY r.added_ms DESC, r.id DESC LIMIT ?1",
                              "listing the rejected lines");
    store_reject_info_t r;
    int rc, n = 0;

    if (s == NULL)
        return -1;
    sqlite3_bind_int(s, 1, limit);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        r.id = sqlite3_column_int64(s, 0);
        r.source_id = sqlite3_column_int64(s, 1);
        r.source_name = col_text(s, 2);
        r.offset = sqlite3_column_int64(s, 3);
        r.reason = col_text(s, 4);
        r.added_ms = sqlite3_column_int64(s, 5);
        r.raw = sqlite3_column_blob(s, 6);
        r.rawlen = (size_t)sqlite3_column_bytes(s, 6);
        if (r.raw == NULL)
            r.raw = "";
        n++;
        if (cb(&r, ctx) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE) {
        store__fail(st, "listing the rejected lines");
        n = -1;
    }
    sqlite3_finalize(s);
    return n;
}

/* The statements of a retry, prepared once for the whole run. */
typedef struct retry {
    store_t *st;
    const char *forced;
    ingest_parser_t *parser;
    sqlite3_stmt *next;    /* the reject after a given id */
    sqlite3_stmt *nearest; /* the appliance of the nearest stored line of a source */
    sqlite3_stmt *drop;    /* deletes a moved reject */
    sqlite3_stmt *uncount; /* keeps sources.rejects the count of its reject rows */
    /* the reject in hand, copied: the table changes under the walk */
    int64_t id, source_id, offset;
    char *raw;
    size_t rawlen, rawcap;
    char host[HOST_NAME_MAX_LEN + 1];
} retry_t;

/* Reads the reject after `after` into the retry; 1 found, 0 none left, -1 error. */
static int next_reject(retry_t *t, int64_t after)
{
    sqlite3_stmt *s = t->next;
    int rc;

    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, after);
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        return 0;
    }
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        return store__fail(t->st, "reading the rejected lines");
    }
    t->id = sqlite3_column_int64(s, 0);
    t->source_id = sqlite3_column_int64(s, 1);
    t->offset = sqlite3_column_int64(s, 2);
    t->rawlen = (size_t)sqlite3_column_bytes(s, 3);
    if (t->rawlen + 1 > t->rawcap) {
        char *grown = realloc(t->raw, t->rawlen + 1);
        if (grown == NULL) {
            sqlite3_reset(s);
            return store__failf(t->st, "out of memory");
        }
        t->raw = grown;
        t->rawcap = t->rawlen + 1;
    }
    if (t->rawlen > 0)
        memcpy(t->raw, sqlite3_column_blob(s, 3), t->rawlen);
    t->raw[t->rawlen] = '\0';
    sqlite3_reset(s);
    return 1;
}

/* The line's syslog host as an appliance name: control characters become '_' (load.c). */
static const char *host_name(retry_t *t, const char *host)
{
    size_t len = strlen(host);

    if (len == 0 || len > HOST_NAME_MAX_LEN)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)host[i];
        t->host[i] = c < 0x20 || c == 0x7f ? '_' : host[i];
    }
    t->host[len] = '\0';
    return t->host;
}

static int appliance_for(retry_t *t, const ingest_rec_t *rec, int64_t *id)
{
    const char *name = t->forced;
    int rc;

    if (name == NULL && rec->syslog_host != NULL)
        name = host_name(t, rec->syslog_host);
    if (name != NULL)
        return store_appliance_id(t->st, name, id);
    /* without a name of its own, the line is from the appliance its neighbours are from */
    sqlite3_reset(t->nearest);
    sqlite3_bind_int64(t->nearest, 1, t->source_id);
    sqlite3_bind_int64(t->nearest, 2, t->offset);
    rc = sqlite3_step(t->nearest);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(t->nearest, 0);
        sqlite3_reset(t->nearest);
        return 0;
    }
    sqlite3_reset(t->nearest);
    if (rc != SQLITE_DONE)
        return store__fail(t->st, "finding a line's appliance");
    return store_appliance_id(t->st, "default", id);
}

static int step_done(retry_t *t, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);

    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store__fail(t->st, what);
}

/* The reject in hand becomes a transaction: added (or found there already), then dropped. */
static int move(retry_t *t, const ingest_rec_t *rec)
{
    int64_t appliance_id;

    if (appliance_for(t, rec, &appliance_id) != 0)
        return -1;
    if (store_add_txn(t->st, t->source_id, t->offset, appliance_id, rec, t->raw, t->rawlen) < 0)
        return -1;
    sqlite3_bind_int64(t->drop, 1, t->id);
    if (step_done(t, t->drop, "deleting a moved reject") != 0)
        return -1;
    sqlite3_bind_int64(t->uncount, 1, t->source_id);
    return step_done(t, t->uncount, "counting a source's rejects");
}

/* Parses the reject in hand again and moves or keeps it. */
static int retry_one(retry_t *t, store_retry_counts_t *counts)
{
    char reason[REASON_LEN];
    ingest_rec_t rec;

    counts->retried++;
    /* the line was cut at the length limit: its end is gone, and no parse can bring it back */
    if (t->rawlen >= LOAD_MAX_LINE) {
        counts->still_rejected++;
        return 0;
    }
    memset(&rec, 0, sizeof(rec));
    reason[0] = '\0';
    switch (ingest_parse_line(t->parser, t->raw, t->rawlen, &rec, reason, sizeof(reason))) {
    case INGEST_LINE_ACCESS:
        if (move(t, &rec) != 0)
            return -1;
        counts->moved++;
        return 0;
    case INGEST_LINE_REJECT:
    case INGEST_LINE_SKIP:
    default:
        /*
         * The row keeps the reason it was rejected for: a W3C line fails here for want of
         * its file's #Fields: header, which is no reason to give the operator.
         */
        counts->still_rejected++;
        return 0;
    }
}

static int prepare_retry(retry_t *t)
{
    t->next = prepare(t->st,
                      "SELECT id, source_id, offset, raw FROM rejects WHERE id > ?1"
                      " ORDER BY id LIMIT 1",
                      "reading the rejected lines");
    t->nearest = prepare(t->st,
                         "SELECT appliance_id FROM (SELECT appliance_id, offset FROM transactions"
                         " WHERE source_id = ?1 AND offset < ?2 ORDER BY offset DESC LIMIT 1)"
                         " UNION ALL SELECT appliance_id FROM (SELECT appliance_id, offset"
                         " FROM transactions WHERE source_id = ?1 AND offset > ?2"
                         " ORDER BY offset LIMIT 1) LIMIT 1",
                         "finding a line's appliance");
    t->drop = prepare(t->st, "DELETE FROM rejects WHERE id = ?1", "deleting a moved reject");
    t->uncount =
        prepare(t->st, "UPDATE sources SET rejects = rejects - 1 WHERE id = ?1 AND rejects > 0",
                "counting a source's rejects");
    return t->next != NULL && t->nearest != NULL && t->drop != NULL && t->uncount != NULL ? 0 : -1;
}

int store_rejects_retry(store_t *st, const char *appliance, store_retry_counts_t *counts)
{
    retry_t t = {.st = st, .forced = appliance != NULL && appliance[0] != '\0' ? appliance : NULL};
    store_retry_counts_t batch = {0};
    int64_t after = 0;
    int rc = -1, in_batch = 0, found;

    if (prepare_retry(&t) != 0)
        goto out;
    if ((t.parser = ingest_parser_new()) == NULL) {
        store__failf(st, "out of memory");
        goto out;
    }
    /*
     * Rejects of every source pass through one parser: left to decide by the first line
     * it sees, one W3C directive among them would make it read every later line as W3C.
     * A W3C data line needs its file's column map, which a reject does not keep.
     */
    ingest_parser_set_format(t.parser, INGEST_FORMAT_NATIVE);
    while ((found = next_reject(&t, after)) > 0) {
        after = t.id;
        if (!in_batch) {
            if (store_begin(st) != 0)
                goto out;
            in_batch = 1;
        }
        if (retry_one(&t, &batch) != 0)
            goto out;
        if (batch.retried % RETRY_BATCH == 0) {
            if (store_commit(st) != 0)
                goto out;
            in_batch = 0;
            counts->retried += batch.retried;
            counts->moved += batch.moved;
            counts->still_rejected += batch.still_rejected;
            memset(&batch, 0, sizeof(batch));
        }
    }
    if (found < 0)
        goto out;
    if (in_batch && store_commit(st) != 0)
        goto out;
    in_batch = 0;
    counts->retried += batch.retried;
    counts->moved += batch.moved;
    counts->still_rejected += batch.still_rejected;
    rc = 0;
out:
    if (in_batch)
        store_rollback(st);
    if (t.parser != NULL)
        ingest_parser_free(t.parser);
    sqlite3_finalize(t.next);
    sqlite3_finalize(t.nearest);
    sqlite3_finalize(t.drop);
    sqlite3_finalize(t.uncount);
    free(t.raw);
    return rc;
}
