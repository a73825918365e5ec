/*
 * store_sql.c - the text of every statement the store prepares.
 *
 * Kept in one table so that the tests can check the plan of each one (every query must be
 * an index search, with no temporary B-tree for an ORDER BY).
 */
#include "store_priv.h"

/*
 * The columns of store_row_t, in its order. The names of the appliance and the source are
 * scalar subqueries by primary key rather than joins: with statistics saying those tables
 * are tiny, the planner would scan them for every row instead.
 */
#define SIGHT_SELECT                                                                               \
    "SELECT t.id, t.time_ms, t.elapsed_ms,"                                                        \
    " (SELECT a.name FROM appliances AS a WHERE a.id = t.appliance_id), t.client_ip,"              \
    " t.user_raw, t.user_domain, t.user_name, t.method, t.url, t.host, t.dest_ip, t.dest_port,"    \
    " t.result_code, t.http_status, t.bytes, t.mime, t.acl_tag, t.action, t.access_policy,"        \
    " t.category, t.wbrs_raw, t.threat_type, t.avc_app, t.amp_verdict, t.amp_threat_name,"         \
    " t.amp_file_name, t.sha256, t.user_agent, t.raw, t.malware,"                                  \
    " (SELECT s.name FROM sources AS s WHERE s.id = t.source_id), t.offset, t.user_realm"          \
    " FROM transactions AS t "

/* STORE_KEYS_PER_INSERT rows of (key, time_ms, id) parameters */
#define KEYS_4  "(?, ?, ?), (?, ?, ?), (?, ?, ?), (?, ?, ?)"
#define KEYS_16 KEYS_4 ", " KEYS_4 ", " KEYS_4 ", " KEYS_4

/* A tag of the appliance's anti-malware engines blocking the transaction. */
#define MALWARE_TAG "substr(acl_tag, 1, 9) IN ('BLOCK_AMW', 'BLOCK_AMP')"

/* The columns store_source.c reads; a fingerprint counts only at the offset it was taken at. */
#define SOURCE_COLS                                                                                \
    "SELECT id, offset, lines, rejects, size, head,"                                               \
    " CASE WHEN tail_at = offset THEN tail_sha END FROM sources"

static const char *const store_sql_text[STORE_Q_COUNT] = {
    [STORE_Q_BEGIN] = "BEGIN IMMEDIATE",
    /* a walk's read transaction: its statements all read one snapshot (store_query.c) */
    [STORE_Q_BEGIN_READ] = "BEGIN",
    [STORE_Q_COMMIT] = "COMMIT",
    [STORE_Q_ROLLBACK] = "ROLLBACK",
    [STORE_Q_USER_VERSION] = "PRAGMA user_version",
    [STORE_Q_APPLIANCE] = "INSERT INTO appliances (name, first_seen_ms, last_seen_ms)"
                          " VALUES (?1, ?2, ?2) ON CONFLICT (name) DO UPDATE"
                          " SET last_seen_ms = excluded.last_seen_ms RETURNING id",
    [STORE_Q_SOURCE_HEADS_FROM] = SOURCE_COLS " WHERE head >= ?1 AND head < ?2",
    [STORE_Q_SOURCE_HEAD_IS] = SOURCE_COLS " WHERE head = ?1",
    [STORE_Q_SOURCE_SHORT_HEADS] = "SELECT DISTINCT length(head) FROM sources"
                                   " WHERE length(head) < 1024 AND length(head) < ?1"
                                   " ORDER BY 1 DESC",
    [STORE_Q_SOURCE_LEGACY] = SOURCE_COLS " WHERE identity = ?1 AND prefix_len = ?2",
    [STORE_Q_SOURCE_LEGACY_LENS] = "SELECT DISTINCT prefix_len FROM sources"
                                   " WHERE identity IS NOT NULL AND prefix_len > 0"
                                   " AND prefix_len <= ?1 ORDER BY prefix_len DESC",
    /* the stored line of a source that starts last before ?2, from either table */
    [STORE_Q_SOURCE_LAST_LINE] =
        "SELECT offset, raw FROM (SELECT offset, raw FROM transactions WHERE source_id = ?1"
        " AND offset < ?2 ORDER BY offset DESC LIMIT 1) UNION ALL"
        " SELECT offset, raw FROM (SELECT offset, raw FROM rejects WHERE source_id = ?1"
        " AND offset < ?2 ORDER BY offset DESC LIMIT 1) ORDER BY 1 DESC LIMIT 1",
    [STORE_Q_SOURCE_ADD] = "INSERT INTO sources (head, prefix_len, name, first_seen_ms,"
                           " last_seen_ms) VALUES (?1, ?2, ?3, ?4, ?4) RETURNING id",
    /* a source found through its version 1 identity keeps only its head from now on */
    [STORE_Q_SOURCE_RENEW] = "UPDATE sources SET identity = NULL, head = ?2, prefix_len = ?3,"
                             " name = ?4, last_seen_ms = ?5 WHERE id = ?1",
    [STORE_Q_SOURCE_UPDATE] = "UPDATE sources SET size = ?2, offset = ?3, lines = ?4,"
                              " rejects = ?5, last_seen_ms = ?6, tail_at = ?7, tail_sha = ?8"
                              " WHERE id = ?1",
    [STORE_Q_ADD_TXN] =
        "INSERT INTO transactions (time_ms, elapsed_ms, client_ip, user_raw, user_domain,"
        " user_name, user_realm, method, url, host, reg_domain, dest_ip, dest_port,"
        " result_code, http_status, bytes, mime, acl_raw, acl_tag, action, access_policy,"
        " identity_policy, malware_policy, dlp_policy, ext_dlp_policy, routing_policy,"
        " tap_policy, category, category_full, wbrs, wbrs_raw, threat_type, avc_app, avc_type,"
        " avc_behavior, resp_verdict_name, amp_verdict, amp_threat_name, amp_score,"
        " amp_file_name, sha256, user_agent, custom_pre, custom_post, malware, warnings,"
        " format, appliance_id, source_id, offset, raw) VALUES (?1, ?2, ?3, ?4, ?5,"
        " ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22,"
        " ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38,"
        " ?39, ?40, ?41, ?42, ?43, ?44, ?45, ?46, ?47, ?48, ?49, ?50, ?51)"
        " ON CONFLICT (source_id, offset) DO NOTHING",
    [STORE_Q_ADD_REJECT] = "INSERT INTO rejects (source_id, offset, raw, reason, added_ms)"
                           " VALUES (?1, ?2, ?3, ?4, ?5)"
                           " ON CONFLICT (source_id, offset) DO NOTHING",
    [STORE_Q_ADD_KEY] = "INSERT OR IGNORE INTO tx_keys (key, time_ms, id) VALUES (?, ?, ?)",
    [STORE_Q_ADD_KEYS] = "INSERT OR IGNORE INTO tx_keys (key, time_ms, id) VALUES " KEYS_16,
    [STORE_Q_PART_TIME] = "INSERT INTO tx_parts (part, max_time_ms) VALUES (?1, ?2)"
                          " ON CONFLICT (part) DO UPDATE"
                          " SET max_time_ms = max(max_time_ms, excluded.max_time_ms)",
    /* one row a partition (a few hundred at most), read whole by every walk */
    [STORE_Q_PARTS] = "SELECT part, max_time_ms FROM tx_parts",
    [STORE_Q_MAX_ID] = "SELECT max(id) FROM transactions",
    /*
     * The candidates of a key in one partition, newest first: the primary key's own
     * order, so a walk reads entries as it goes and never sorts. ?2 bounds the time from
     * below (the oldest time of interest; INT64_MIN for all).
     */
    [STORE_Q_KEY_PART] = "SELECT id, time_ms FROM tx_keys WHERE key = ?1 AND time_ms >= ?2"
                         " ORDER BY time_ms DESC, id DESC",
    [STORE_Q_SIGHT_ID] = SIGHT_SELECT "WHERE t.id = ?1",
    /* what the evidence rules look at in a candidate row */
    [STORE_Q_EVID_ID] = "SELECT host, url, sha256, wbrs, amp_verdict, " MALWARE_TAG
                        " FROM transactions WHERE id = ?1",
};

const char *store__sql(store_q_t q)
{
    return store_sql_text[q];
}
