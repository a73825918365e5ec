/*
 * store_query.c - the query side: sightings of an observable and the appliance's evidence.
 */
#include <stdlib.h>
#include <string.h>
#include "store_priv.h"
#include "util.h"

/* Column positions of the sighting statements (SIGHT_SELECT in store_sql.c). */
enum {
    C_ID = 0,
    C_TIME,
    C_ELAPSED,
    C_APPLIANCE,
    C_CLIENT_IP,
    C_USER_RAW,
    C_USER_DOMAIN,
    C_USER_NAME,
    C_METHOD,
    C_URL,
    C_HOST,
    C_DEST_IP,
    C_DEST_PORT,
    C_RESULT_CODE,
    C_HTTP_STATUS,
    C_BYTES,
    C_MIME,
    C_ACL_TAG,
    C_ACTION,
    C_ACCESS_POLICY,
    C_CATEGORY,
    C_WBRS_RAW,
    C_THREAT_TYPE,
    C_AVC_APP,
    C_AMP_VERDICT,
    C_AMP_THREAT_NAME,
    C_AMP_FILE_NAME,
    C_SHA256,
    C_USER_AGENT,
    C_RAW,
    C_MALWARE,
    C_SOURCE_NAME,
    C_OFFSET,
};

/* The LIMIT parameter of every sighting statement. */
#define SIGHT_LIMIT_PARAM 9

#define DEFAULT_WBRS_BLOCK (-6.0)

static const char *col_text(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

/* The raw line as valid UTF-8, in the connection's buffer; NULL when out of memory. */
static const char *raw_text(store_t *st, sqlite3_stmt *s)
{
    const char *raw = sqlite3_column_blob(s, C_RAW);
    size_t len = (size_t)sqlite3_column_bytes(s, C_RAW);
    size_t need = 3 * len + 1;

    if (need > st->rawcap) {
        char *p = realloc(st->rawbuf, need);
        if (p == NULL)
            return NULL;
        st->rawbuf = p;
        st->rawcap = need;
    }
    util_utf8_sanitize(raw != NULL ? raw : "", len, st->rawbuf);
    return st->rawbuf;
}

static int fill_row(store_t *st, sqlite3_stmt *s, store_row_t *r)
{
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(s, C_ID);
    r->time_ms = sqlite3_column_int64(s, C_TIME);
    r->elapsed_ms = sqlite3_column_int64(s, C_ELAPSED);
    r->appliance = col_text(s, C_APPLIANCE);
    r->client_ip = col_text(s, C_CLIENT_IP);
    r->user_raw = col_text(s, C_USER_RAW);
    r->user_domain = col_text(s, C_USER_DOMAIN);
    r->user_name = col_text(s, C_USER_NAME);
    r->method = col_text(s, C_METHOD);
    r->url = col_text(s, C_URL);
    r->host = col_text(s, C_HOST);
    r->dest_ip = col_text(s, C_DEST_IP);
    r->dest_port = sqlite3_column_int(s, C_DEST_PORT);
    r->result_code = col_text(s, C_RESULT_CODE);
    r->http_status = sqlite3_column_int(s, C_HTTP_STATUS);
    r->bytes = sqlite3_column_int64(s, C_BYTES);
    r->mime = col_text(s, C_MIME);
    r->acl_tag = col_text(s, C_ACL_TAG);
    r->action = col_text(s, C_ACTION);
    r->access_policy = col_text(s, C_ACCESS_POLICY);
    r->category = col_text(s, C_CATEGORY);
    r->wbrs_raw = col_text(s, C_WBRS_RAW);
    r->threat_type = col_text(s, C_THREAT_TYPE);
    r->avc_app = col_text(s, C_AVC_APP);
    r->amp_verdict = sqlite3_column_type(s, C_AMP_VERDICT) == SQLITE_NULL
                         ? -1
                         : sqlite3_column_int(s, C_AMP_VERDICT);
    r->amp_threat_name = col_text(s, C_AMP_THREAT_NAME);
    r->amp_file_name = col_text(s, C_AMP_FILE_NAME);
    r->sha256 = col_text(s, C_SHA256);
    r->user_agent = col_text(s, C_USER_AGENT);
    r->malware = sqlite3_column_int(s, C_MALWARE);
    r->source_name = col_text(s, C_SOURCE_NAME);
    r->offset = sqlite3_column_int64(s, C_OFFSET);
    /* last: the text pointers above stay valid, the blob is read into our own buffer */
    if ((r->raw = raw_text(st, s)) == NULL)
        return store__failf(st, "out of memory for a line of %d bytes",
                            sqlite3_column_bytes(s, C_RAW));
    return 0;
}

/*
 * One ordered statement of a sighting walk: the row it stands on, if any. A statement that
 * gives only (id, time_ms) has its rows read through STORE_Q_SIGHT_ID when passed on: it
 * prepares in a sixth of the time and memory of one that selects the whole row.
 */
typedef struct stream {
    sqlite3_stmt *s;
    int ids_only;
    int has;
    int64_t time_ms, id;
} stream_t;

static int stream_next(store_t *st, stream_t *x)
{
    int rc;

    if (x->s == NULL) {
        x->has = 0;
        return 0;
    }
    rc = sqlite3_step(x->s);
    if (rc == SQLITE_ROW) {
        x->has = 1;
        x->id = sqlite3_column_int64(x->s, C_ID);
        x->time_ms = sqlite3_column_int64(x->s, C_TIME);
        return 0;
    }
    x->has = 0;
    if (rc != SQLITE_DONE)
        return store__fail(st, "reading sightings");
    return 0;
}

/* The stream whose row comes first (newest, then highest id); NULL when all are done. */
static stream_t *stream_pick(stream_t *xs, size_t nx)
{
    stream_t *best = NULL;

    for (size_t i = 0; i < nx; i++) {
        stream_t *x = &xs[i];
        if (!x->has)
            continue;
        if (best == NULL || x->time_ms > best->time_ms ||
            (x->time_ms == best->time_ms && x->id > best->id))
            best = x;
    }
    return best;
}

/*
 * The statement to read the stream's current row from: its own, or for an ids-only stream
 * the cached STORE_Q_SIGHT_ID stepped onto that id (reset by the caller once the row is
 * passed on). The stream's statement is still open, so the row is read in its snapshot.
 */
static sqlite3_stmt *stream_row(store_t *st, stream_t *x)
{
    sqlite3_stmt *s;
    int rc;

    if (!x->ids_only)
        return x->s;
    if ((s = store__stmt(st, STORE_Q_SIGHT_ID)) == NULL)
        return NULL;
    sqlite3_bind_int64(s, 1, x->id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return s;
    if (rc == SQLITE_DONE)
        store__failf(st, "reading sightings: transaction %lld is gone", (long long)x->id);
    else
        store__fail(st, "reading sightings");
    sqlite3_reset(s);
    return NULL;
}

/*
 * Merges statements ordered by (time_ms DESC, id DESC), so that an observable with several
 * index paths (an ip as client or destination, a name and each host under it) needs no
 * temporary sort of an OR. A row that several give (an address that is client and
 * destination of one transaction) stands at the head of each of them at once, and is
 * passed on once.
 */
static int walk(store_t *st, stream_t *xs, size_t nx, int limit, store_row_cb cb, void *ctx,
                int *more)
{
    store_row_t row;
    int n = 0;

    for (size_t i = 0; i < nx; i++)
        if (stream_next(st, &xs[i]) != 0)
            return -1;
    for (;;) {
        stream_t *x = stream_pick(xs, nx);
        sqlite3_stmt *rs;
        int64_t id;
        int stop;
        if (x == NULL)
            break;
        if (n >= limit) {
            *more = 1;
            break;
        }
        if ((rs = stream_row(st, x)) == NULL)
            return -1;
        if (fill_row(st, rs, &row) != 0) {
            sqlite3_reset(rs);
            return -1;
        }
        n++;
        stop = cb(&row, ctx) != 0;
        if (rs != x->s)
            sqlite3_reset(rs);
        if (stop)
            break;
        id = x->id;
        if (stream_next(st, x) != 0)
            return -1;
        for (size_t i = 0; i < nx; i++)
            if (xs[i].has && xs[i].id == id && stream_next(st, &xs[i]) != 0)
                return -1;
    }
    return n;
}

static sqlite3_stmt *sight_stmt(store_t *st, store_q_t q, const obs_t *o, int limit)
{
    sqlite3_stmt *s = store__stmt(st, q);

    if (s == NULL)
        return NULL;
    sqlite3_bind_text(s, 1, o->key, -1, SQLITE_STATIC);
    if (q == STORE_Q_SIGHT_DOMAIN)
        sqlite3_bind_text(s, 2, o->key_reg_domain, -1, SQLITE_STATIC);
    if (q == STORE_Q_SIGHT_USER && o->key_domain != NULL)
        sqlite3_bind_text(s, 3, o->key_domain, -1, SQLITE_STATIC);
    /* one more than asked, to know whether more exist */
    sqlite3_bind_int64(s, SIGHT_LIMIT_PARAM, (sqlite3_int64)limit + 1);
    return s;
}

/* The statement of each observable type; the second of ip/ipv6 is the destination. */
static int sight_queries(const obs_t *o, store_q_t *first, store_q_t *second)
{
    *second = STORE_Q_COUNT;
    switch (o->type) {
    case OBS_IP:
    case OBS_IPV6:
        *first = STORE_Q_SIGHT_CLIENT_IP;
        *second = STORE_Q_SIGHT_DEST_IP;
        return 1;
    case OBS_DOMAIN:
    case OBS_HOSTNAME:
        *first = o->key_reg_domain != NULL ? STORE_Q_SIGHT_DOMAIN : STORE_Q_SIGHT_HOST;
        return 1;
    case OBS_URL:
        *first = STORE_Q_SIGHT_URL;
        return 1;
    case OBS_SHA256:
        *first = STORE_Q_SIGHT_SHA256;
        return 1;
    case OBS_USER:
        *first = STORE_Q_SIGHT_USER;
        return 1;
    case OBS_FILE_NAME:
        *first = STORE_Q_SIGHT_FILE_NAME;
        return 1;
    case OBS_USER_AGENT:
        *first = STORE_Q_SIGHT_USER_AGENT;
        return 1;
    default:
        return 0;
    }
}

/* A domain or hostname deeper than its registered domain (not the registered domain itself). */
static int below_reg_domain(const obs_t *o)
{
    return (o->type == OBS_DOMAIN || o->type == OBS_HOSTNAME) && o->key_reg_domain != NULL &&
           strcmp(o->key, o->key_reg_domain) != 0;
}

/*
 * The distinct hosts strictly under `key` (ending in ".key"), found one index seek each
 * through tx_host_rev, at most max + 1 of them (one more than max says there are too many).
 * Each is a host name, allocated; 0, or -1 (message set).
 */
static int list_subhosts(store_t *st, const char *key, char **hosts, size_t max, size_t *nhosts)
{
    size_t klen = strlen(key), below_len = klen + 1;
    char *lo = malloc(klen + 2), *hi = malloc(klen + 2), *below = hi;
    sqlite3_stmt *s = NULL;
    int rc = -1;

    *nhosts = 0;
    if (lo == NULL || hi == NULL) {
        store__failf(st, "out of memory for a name of %zu bytes", klen);
        goto out;
    }
    /* "a.b" gives ["b.a.", "b.a/"): every reversed host that begins with "b.a." */
    store__host_rev(key, klen, lo);
    memcpy(hi, lo, klen);
    lo[klen] = '.';
    hi[klen] = '/';
    while (*nhosts <= max) {
        const char *rev;
        char *next = NULL, *host = NULL;
        size_t n;
        int step;
        if ((s = store__stmt(st, STORE_Q_SUBHOST_BELOW)) == NULL)
            goto out;
        sqlite3_bind_text64(s, 1, lo, klen + 1, SQLITE_STATIC, SQLITE_UTF8);
        sqlite3_bind_text64(s, 2, below, below_len, SQLITE_STATIC, SQLITE_UTF8);
        step = sqlite3_step(s);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            store__fail(st, "listing the hosts under a name");
            goto out;
        }
        rev = col_text(s, 0);
        n = (size_t)sqlite3_column_bytes(s, 0);
        if (rev == NULL || (next = malloc(n + 1)) == NULL || (host = malloc(n + 1)) == NULL) {
            free(next);
            store__failf(st, "out of memory for a host of %zu bytes", n);
            goto out;
        }
        memcpy(next, rev, n + 1);
        store__host_rev(next, n, host);
        hosts[(*nhosts)++] = host;
        /* the next host is the greatest below this one */
        sqlite3_reset(s);
        if (below != hi)
            free(below);
        below = next;
        below_len = n;
    }
    rc = 0;
out:
    if (s != NULL)
        sqlite3_reset(s);
    if (below != hi)
        free(below);
    free(lo);
    free(hi);
    return rc;
}

/*
 * A name deeper than its registered domain: the host itself through tx_host, and each host
 * under it through tx_host too, merged newest first. A name with more than
 * STORE_SUBHOSTS_MAX hosts under it (s3.amazonaws.com) walks its registered domain's rows
 * instead. Each host costs a statement of about 3 KB and 12 us to prepare and start
 * (1024 hosts under a name of 1.5 million rows answered 100 rows in 13 ms, 1000 in 25 ms),
 * and a name with that many hosts tends to be a large share of its registered domain,
 * whose walk then meets the limit early. A name whose few rows are spread over more hosts
 * than that pays for the walk, linear in the registered domain's rows, as every deeper
 * name did before (0.75 s for 1.5 million rows).
 *
 * The hosts are listed before their statements start, in the read snapshot of the listing:
 * a host whose first row is committed after it is missed by this answer, its later rows
 * being no older than the snapshot the rest of the answer may already include.
 */
static int sight_below(store_t *st, const obs_t *o, int limit, store_row_cb cb, void *ctx,
                       int *more)
{
    char **hosts = calloc(STORE_SUBHOSTS_MAX + 1, sizeof(*hosts));
    stream_t *xs = calloc(STORE_SUBHOSTS_MAX + 1, sizeof(*xs));
    size_t nhosts = 0, nx = 0;
    int n = -1;

    if (hosts == NULL || xs == NULL) {
        store__failf(st, "out of memory for the hosts under a name");
        goto out;
    }
    if (list_subhosts(st, o->key, hosts, STORE_SUBHOSTS_MAX, &nhosts) != 0)
        goto out;
    if (nhosts > STORE_SUBHOSTS_MAX) {
        if ((xs[0].s = sight_stmt(st, STORE_Q_SIGHT_DOMAIN, o, limit)) == NULL)
            goto out;
        n = walk(st, xs, 1, limit, cb, ctx, more);
        goto out;
    }
    if ((xs[nx++].s = sight_stmt(st, STORE_Q_SIGHT_HOST, o, limit)) == NULL)
        goto out;
    /* the cached statement serves the name itself; each host under it gets its own */
    for (size_t i = 0; i < nhosts; i++, nx++) {
        if (sqlite3_prepare_v3(st->db, store__sql(STORE_Q_SIGHT_HOST_IDS), -1, 0, &xs[nx].s,
                               NULL) != SQLITE_OK) {
            store__fail(st, "preparing a statement");
            goto out;
        }
        xs[nx].ids_only = 1;
        sqlite3_bind_text(xs[nx].s, 1, hosts[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(xs[nx].s, 2, (sqlite3_int64)limit + 1);
    }
    n = walk(st, xs, nx, limit, cb, ctx, more);
out:
    /* reset now: an open statement would hold a read snapshot and stall checkpoints */
    if (xs != NULL && xs[0].s != NULL)
        sqlite3_reset(xs[0].s);
    for (size_t i = 1; i < nx; i++)
        sqlite3_finalize(xs[i].s);
    for (size_t i = 0; i < nhosts; i++)
        free(hosts[i]);
    free(hosts);
    free(xs);
    return n;
}

int store_sightings(store_t *st, const obs_t *o, int limit, store_row_cb cb, void *ctx, int *more)
{
    stream_t xs[2];
    store_q_t q1, q2;
    size_t nx = 0;
    int n = -1;

    memset(xs, 0, sizeof(xs));
    *more = 0;
    st->interrupted = 0;
    if (limit < 0)
        limit = 0;
    if (o->key == NULL || !sight_queries(o, &q1, &q2))
        return 0;
    if (below_reg_domain(o))
        return sight_below(st, o, limit, cb, ctx, more);
    if ((xs[nx++].s = sight_stmt(st, q1, o, limit)) == NULL)
        goto out;
    if (q2 != STORE_Q_COUNT && (xs[nx++].s = sight_stmt(st, q2, o, limit)) == NULL)
        goto out;
    n = walk(st, xs, nx, limit, cb, ctx, more);
out:
    /* reset now: an open statement would hold a read snapshot and stall checkpoints */
    for (size_t i = 0; i < nx; i++)
        if (xs[i].s != NULL)
            sqlite3_reset(xs[i].s);
    return n;
}

static const char reason_amp[] = "AMP file verdict malicious";
static const char reason_malware_block[] = "blocked by the appliance's anti-malware scanning";
static const char reason_wbrs[] = "web reputation score at or below the block threshold";

int store_evidence(store_t *st, const obs_t *o, int64_t since_ms, const store_thresholds_t *th,
                   store_evidence_t *out)
{
    double block = th != NULL ? th->wbrs_block : DEFAULT_WBRS_BLOCK;
    sqlite3_stmt *s;
    store_q_t q;
    int rc, first_rule;

    memset(out, 0, sizeof(*out));
    st->interrupted = 0;
    switch (o->type) {
    case OBS_SHA256:
        q = STORE_Q_EVID_SHA256;
        break;
    case OBS_URL:
        q = STORE_Q_EVID_URL;
        break;
    case OBS_DOMAIN:
    case OBS_HOSTNAME:
        q = STORE_Q_EVID_HOST;
        break;
    default:
        return 0;
    }
    if (o->key == NULL)
        return 0;
    if ((s = store__stmt(st, q)) == NULL)
        return -1;
    sqlite3_bind_text(s, 1, o->key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, since_ms);
    sqlite3_bind_double(s, 3, block);
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        return rc == SQLITE_DONE ? 0 : store__fail(st, "looking for evidence");
    }
    /* column 1 says whether the newest row met the type's first rule (AMP, or WBRS) */
    first_rule = sqlite3_column_int(s, 1);
    out->disposition = 2;
    out->latest_ms = sqlite3_column_int64(s, 0);
    if (q == STORE_Q_EVID_SHA256)
        out->reason = first_rule ? reason_amp : reason_malware_block;
    else if (q == STORE_Q_EVID_URL)
        out->reason = first_rule ? reason_wbrs : reason_malware_block;
    else
        out->reason = reason_wbrs;
    sqlite3_reset(s);
    return 1;
}
