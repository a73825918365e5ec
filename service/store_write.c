/*
 * store_write.c - the ingest side: appliances, transactions and rejects (sources: store_source.c).
 */
#include <string.h>
#include "store_priv.h"
#include "util.h"

/* Steps a statement that returns one integer (RETURNING id); -1 on error. */
int store__step_id(store_t *st, sqlite3_stmt *s, const char *what, int64_t *id)
{
    int rc = sqlite3_step(s);

    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        return store__fail(st, what);
    }
    *id = sqlite3_column_int64(s, 0);
    /* RETURNING writes when the statement runs to completion */
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store__fail(st, what);
    return 0;
}

int store__step_done(store_t *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);

    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store__fail(st, what);
    return 0;
}

int store_appliance_id(store_t *st, const char *name, int64_t *id)
{
    sqlite3_stmt *s = store__stmt(st, STORE_Q_APPLIANCE);

    if (s == NULL)
        return -1;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, util_now_ms());
    return store__step_id(st, s, "adding an appliance", id);
}

static void bind_str(sqlite3_stmt *s, int i, const char *v)
{
    if (v != NULL)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Parameters 1 to 47 of the INSERT: the parsed record, absent values left NULL. */
static void bind_txn_fields(sqlite3_stmt *s, const ingest_rec_t *r)
{
    sqlite3_bind_int64(s, 1, r->time_ms);
    sqlite3_bind_int64(s, 2, r->elapsed_ms);
    bind_str(s, 3, r->client_ip);
    bind_str(s, 4, r->user_raw);
    bind_str(s, 5, r->user_domain);
    bind_str(s, 6, r->user_name);
    bind_str(s, 7, r->user_realm);
    bind_str(s, 8, r->method);
    bind_str(s, 9, r->url);
    bind_str(s, 10, r->host);
    bind_str(s, 11, r->reg_domain);
    bind_str(s, 12, r->dest_ip);
    sqlite3_bind_int(s, 13, r->dest_port);
    bind_str(s, 14, r->result_code);
    sqlite3_bind_int(s, 15, r->http_status);
    sqlite3_bind_int64(s, 16, r->bytes);
    bind_str(s, 17, r->mime);
    bind_str(s, 18, r->acl_raw);
    bind_str(s, 19, r->acl_tag);
    bind_str(s, 20, ingest_action_name(r->action));
    bind_str(s, 21, r->access_policy);
    bind_str(s, 22, r->identity_policy);
    bind_str(s, 23, r->malware_policy);
    bind_str(s, 24, r->dlp_policy);
    bind_str(s, 25, r->ext_dlp_policy);
    bind_str(s, 26, r->routing_policy);
    bind_str(s, 27, r->tap_policy);
    bind_str(s, 28, r->category);
    bind_str(s, 29, r->category_full);
    if (r->has_wbrs)
        sqlite3_bind_double(s, 30, r->wbrs);
    bind_str(s, 31, r->wbrs_raw);
    bind_str(s, 32, r->threat_type);
    bind_str(s, 33, r->avc_app);
    bind_str(s, 34, r->avc_type);
    bind_str(s, 35, r->avc_behavior);
    bind_str(s, 36, r->resp_verdict_name);
    if (r->amp_verdict >= 0)
        sqlite3_bind_int(s, 37, r->amp_verdict);
    bind_str(s, 38, r->amp_threat_name);
    if (r->amp_score >= 0)
        sqlite3_bind_int(s, 39, r->amp_score);
    bind_str(s, 40, r->amp_file_name);
    bind_str(s, 41, r->sha256);
    bind_str(s, 42, r->user_agent);
    bind_str(s, 43, r->custom_pre);
    bind_str(s, 44, r->custom_post);
    sqlite3_bind_int(s, 45, r->malware != 0);
    sqlite3_bind_int64(s, 46, (sqlite3_int64)r->warnings);
    bind_str(s, 47, r->format);
}

/* Runs an INSERT .. ON CONFLICT DO NOTHING: 1 added, 0 already there, -1 error. */
static int step_insert(store_t *st, sqlite3_stmt *s, const char *what)
{
    if (store__step_done(st, s, what) != 0)
        return -1;
    return sqlite3_changes(st->db) > 0 ? 1 : 0;
}

int store_add_txn(store_t *st, int64_t source_id, int64_t offset, int64_t appliance_id,
                  const ingest_rec_t *rec, const char *raw, size_t rawlen)
{
    sqlite3_stmt *s = store__stmt(st, STORE_Q_ADD_TXN);
    store_key_src_t keys;
    int64_t id;
    int rc;

    if (s == NULL)
        return -1;
    bind_txn_fields(s, rec);
    sqlite3_bind_int64(s, 48, appliance_id);
    sqlite3_bind_int64(s, 49, source_id);
    sqlite3_bind_int64(s, 50, offset);
    /* an empty BLOB must not become NULL: the column is NOT NULL */
    sqlite3_bind_blob64(s, 51, rawlen > 0 ? raw : "", rawlen, SQLITE_STATIC);
    if ((rc = step_insert(st, s, "adding a transaction")) != 1)
        return rc;
    keys = (store_key_src_t){
        .client_ip = rec->client_ip,
        .dest_ip = rec->dest_ip,
        .host = rec->host,
        .reg_domain = rec->reg_domain,
        .url = rec->url,
        .user_name = rec->user_name,
        .sha256 = rec->sha256,
        .amp_file_name = rec->amp_file_name,
        .user_agent = rec->user_agent,
    };
    id = sqlite3_last_insert_rowid(st->db);
    if (store__add_keys(st, id, rec->time_ms, &keys) != 0)
        return -1;
    /* writing the keys (outside a transaction) inserts too: the caller's last row is this one */
    sqlite3_set_last_insert_rowid(st->db, id);
    return 1;
}

int store_add_reject(store_t *st, int64_t source_id, int64_t offset, const char *raw, size_t rawlen,
                     const char *reason)
{
    sqlite3_stmt *s = store__stmt(st, STORE_Q_ADD_REJECT);

    if (s == NULL)
        return -1;
    sqlite3_bind_int64(s, 1, source_id);
    sqlite3_bind_int64(s, 2, offset);
    sqlite3_bind_blob64(s, 3, rawlen > 0 ? raw : "", rawlen, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, reason != NULL ? reason : "rejected", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, util_now_ms());
    return step_insert(st, s, "adding a rejected line");
}
