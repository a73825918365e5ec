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
    C_USER_REALM,
};

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
    r->user_realm = col_text(s, C_USER_REALM);
    /* last: the text pointers above stay valid, the blob is read into our own buffer */
    if ((r->raw = raw_text(st, s)) == NULL)
        return store__failf(st, "out of memory for a line of %d bytes",
                            sqlite3_column_bytes(s, C_RAW));
    return 0;
}

/*
 * One partition's candidates of a key, newest first: the entry it stands on, if any. The
 * row itself is read by id (STORE_Q_SIGHT_ID or STORE_Q_EVID_ID) only when its turn comes.
 */
typedef struct stream {
    sqlite3_stmt *s;
    int has;
    int64_t time_ms, id;
} stream_t;

static int stream_next(store_t *st, stream_t *x)
{
    int rc = sqlite3_step(x->s);

    if (rc == SQLITE_ROW) {
        x->has = 1;
        x->id = sqlite3_column_int64(x->s, 0);
        x->time_ms = sqlite3_column_int64(x->s, 1);
        return 0;
    }
    x->has = 0;
    if (rc != SQLITE_DONE)
        return store__fail(st, "reading sightings");
    return 0;
}

/* The stream whose entry comes first (newest, then highest id); NULL when all are done. */
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
 * The candidates of one or two keys over every partition, merged newest first (a row
 * under both is given once). Partitions are
 * opened newest first by the newest time entered in each (tx_parts), and only while one
 * could still hold the next candidate: a key with recent rows is answered from the newest
 * partitions alone, and a time bound (evidence) skips the partitions older than it. A key
 * in no row is looked up in every partition, one seek each.
 *
 * The walk runs in a read transaction of its own, so that all its statements read one
 * snapshot: between statements, with none of them open, SQLite would start a new one, and
 * a row committed meanwhile in a partition whose newest time was read before it came
 * out after older rows. The statements are reset and the transaction ended when the walk
 * ends, as a read transaction left open would stall checkpoints.
 */
typedef struct part_time {
    int64_t part, newest; /* newest: INT64_MAX when tx_parts has no row for it */
} part_time_t;

typedef struct keywalk {
    stream_t *xs;       /* a stream for each key of each opened partition */
    size_t nx;          /* how many are open */
    part_time_t *order; /* partitions to open, newest first */
    size_t norder, next;
    int64_t keys[STORE_WALK_KEYS], since_ms;
    int nkeys;
    store_t *txn; /* the store whose read transaction the walk began, or NULL */
} keywalk_t;

static void keywalk_end(keywalk_t *w)
{
    for (size_t i = 0; i < w->nx; i++)
        sqlite3_reset(w->xs[i].s);
    /*
     * Only reads ran, so COMMIT and ROLLBACK end it alike; one of them must, or the
     * connection would keep this snapshot for every later answer.
     */
    if (w->txn != NULL && sqlite3_exec(w->txn->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        sqlite3_exec(w->txn->db, "ROLLBACK", NULL, NULL, NULL);
    free(w->xs);
    free(w->order);
    memset(w, 0, sizeof(*w));
}

/* Newest first. */
static int by_newest(const void *pa, const void *pb)
{
    const part_time_t *a = pa, *b = pb;

    return a->newest > b->newest ? -1 : a->newest < b->newest;
}

/*
 * The partitions that may hold a time at or after since_ms, newest first: every partition
 * up to the one of the highest id, with its newest time from tx_parts.
 */
static int keywalk_start(store_t *st, keywalk_t *w, const int64_t *keys, int nkeys,
                         int64_t since_ms)
{
    sqlite3_stmt *s = store__stmt(st, STORE_Q_MAX_ID);
    int64_t nparts = 0;
    int rc;

    memset(w, 0, sizeof(*w));
    memcpy(w->keys, keys, (size_t)nkeys * sizeof(*keys));
    w->nkeys = nkeys;
    w->since_ms = since_ms;
    if (s == NULL)
        return -1;
    /* inside a caller's transaction the snapshot is already one */
    if (sqlite3_get_autocommit(st->db)) {
        sqlite3_stmt *b = store__stmt(st, STORE_Q_BEGIN_READ);
        if (b == NULL || store__step_done(st, b, "reading sightings") != 0)
            return -1;
        w->txn = st;
    }
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
        nparts = (sqlite3_column_int64(s, 0) >> STORE_PART_SHIFT) + 1;
    if (rc != SQLITE_ROW) {
        store__fail(st, "reading sightings");
        sqlite3_reset(s);
        keywalk_end(w);
        return -1;
    }
    sqlite3_reset(s);
    if (nparts == 0)
        return 0;
    w->xs = calloc((size_t)nparts * STORE_WALK_KEYS, sizeof(*w->xs));
    w->order = malloc((size_t)nparts * sizeof(*w->order));
    if (w->xs == NULL || w->order == NULL) {
        keywalk_end(w);
        return store__failf(st, "out of memory for %lld partitions", (long long)nparts);
    }
    for (int64_t p = 0; p < nparts; p++)
        w->order[p] = (part_time_t){.part = p, .newest = INT64_MAX};
    if ((s = store__stmt(st, STORE_Q_PARTS)) == NULL) {
        keywalk_end(w);
        return -1;
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t p = sqlite3_column_int64(s, 0);
        if (p >= 0 && p < nparts)
            w->order[p].newest = sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        keywalk_end(w);
        return store__fail(st, "reading sightings");
    }
    for (int64_t p = 0; p < nparts; p++)
        if (w->order[p].newest >= since_ms)
            w->order[w->norder++] = w->order[p];
    qsort(w->order, w->norder, sizeof(*w->order), by_newest);
    return 0;
}

/* Opens the next partition in `order`: a statement a key, stepped onto its first candidate. */
static int keywalk_open(store_t *st, keywalk_t *w)
{
    int64_t p = w->order[w->next++].part;

    for (int k = 0; k < w->nkeys; k++) {
        stream_t *x = &w->xs[w->nx];
        if ((x->s = store__part_stmt(st, p * STORE_WALK_KEYS + k)) == NULL)
            return -1;
        w->nx++;
        sqlite3_bind_int64(x->s, 1, store__part_key(p, w->keys[k]));
        sqlite3_bind_int64(x->s, 2, w->since_ms);
        if (stream_next(st, x) != 0)
            return -1;
    }
    return 0;
}

/* The next candidate's id and time: 1, or 0 when there is none, or -1; advances past it. */
static int keywalk_next(store_t *st, keywalk_t *w, int64_t *id, int64_t *time_ms)
{
    stream_t *x = stream_pick(w->xs, w->nx);

    /* a partition not yet opened may hold a newer candidate (or an equal time, higher id) */
    while (w->next < w->norder && (x == NULL || w->order[w->next].newest >= x->time_ms)) {
        if (keywalk_open(st, w) != 0)
            return -1;
        x = stream_pick(w->xs, w->nx);
    }
    if (x == NULL)
        return 0;
    *id = x->id;
    *time_ms = x->time_ms;
    /* the same row under the other key stands at the head of its stream too */
    for (size_t i = 0; i < w->nx; i++)
        if (w->xs[i].has && w->xs[i].id == *id && stream_next(st, &w->xs[i]) != 0)
            return -1;
    return 1;
}

static int same(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Equal when ASCII letters are folded, as SQLite's NOCASE compares. */
static int same_nocase(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return 0;
    for (;; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return 0;
        if (x == '\0')
            return 1;
    }
}

/* The host is the name or a subdomain of it: compared as text, never as a pattern. */
static int host_under(const char *host, const char *name)
{
    size_t h, n;

    if (host == NULL || name == NULL)
        return 0;
    h = strlen(host);
    n = strlen(name);
    if (h == n)
        return memcmp(host, name, n) == 0;
    return h > n && host[h - n - 1] == '.' && memcmp(host + h - n, name, n) == 0;
}

/* The kind an observable type is entered under; 0 for types the store has no rows for. */
static store_key_kind_t key_kind(obs_type_t type)
{
    switch (type) {
    case OBS_IP:
    case OBS_IPV6:
        return STORE_KEY_IP;
    case OBS_DOMAIN:
    case OBS_HOSTNAME:
        return STORE_KEY_HOST;
    case OBS_URL:
        return STORE_KEY_URL;
    case OBS_SHA256:
        return STORE_KEY_SHA256;
    case OBS_USER:
        return STORE_KEY_USER;
    case OBS_FILE_NAME:
        return STORE_KEY_FILE;
    case OBS_USER_AGENT:
        return STORE_KEY_AGENT;
    default:
        return 0;
    }
}

/*
 * Whether a candidate row really is a sighting of the observable: a key is a hash, and a
 * user observable that names a domain matches only rows of that domain or realm.
 */
static int row_matches(const obs_t *o, const store_row_t *r)
{
    switch (o->type) {
    case OBS_IP:
    case OBS_IPV6:
        return same(r->client_ip, o->key) || same(r->dest_ip, o->key);
    case OBS_DOMAIN:
    case OBS_HOSTNAME:
        /* a name without a registered domain (an address, one label) has no subdomains */
        return o->key_reg_domain != NULL ? host_under(r->host, o->key) : same(r->host, o->key);
    case OBS_URL:
        return same(r->url, o->key);
    case OBS_SHA256:
        return same(r->sha256, o->key);
    case OBS_USER:
        return same_nocase(r->user_name, o->key) &&
               (o->key_domain == NULL || same_nocase(r->user_domain, o->key_domain) ||
                same_nocase(r->user_realm, o->key_domain));
    case OBS_FILE_NAME:
        return same(r->amp_file_name, o->key);
    case OBS_USER_AGENT:
        return same(r->user_agent, o->key);
    default:
        return 0;
    }
}

/*
 * The keys an observable's rows are under: for a domain or hostname with a registered
 * domain, its own rows and its subdomains'; for one without (an address, a single label),
 * its own alone.
 */
static int obs_keys(const obs_t *o, int64_t keys[STORE_WALK_KEYS])
{
    size_t n = strlen(o->key);

    if (o->type == OBS_DOMAIN || o->type == OBS_HOSTNAME) {
        keys[0] = store__key(STORE_KEY_HOST_EXACT, o->key, n);
        if (o->key_reg_domain == NULL)
            return 1;
        keys[1] = store__key(STORE_KEY_HOST, o->key, n);
        return 2;
    }
    keys[0] = store__key(key_kind(o->type), o->key, n);
    return 1;
}

int store_sightings(store_t *st, const obs_t *o, int limit, store_row_cb cb, void *ctx, int *more)
{
    keywalk_t w;
    store_row_t row;
    int n = 0, got, nkeys;
    int64_t id, time_ms, keys[STORE_WALK_KEYS];

    *more = 0;
    st->interrupted = 0;
    if (limit < 0)
        limit = 0;
    if (o->key == NULL || key_kind(o->type) == 0)
        return 0;
    nkeys = obs_keys(o, keys);
    if (keywalk_start(st, &w, keys, nkeys, INT64_MIN) != 0)
        return -1;
    while ((got = keywalk_next(st, &w, &id, &time_ms)) > 0) {
        sqlite3_stmt *rs = store__stmt(st, STORE_Q_SIGHT_ID);
        int rc, stop = 0;
        if (rs == NULL) {
            got = -1;
            break;
        }
        sqlite3_bind_int64(rs, 1, id);
        rc = sqlite3_step(rs);
        if (rc != SQLITE_ROW) {
            /* an entry always has its row: they are written in one transaction */
            if (rc == SQLITE_DONE)
                store__failf(st, "reading sightings: transaction %lld is gone", (long long)id);
            else
                store__fail(st, "reading sightings");
            sqlite3_reset(rs);
            got = -1;
            break;
        }
        if (fill_row(st, rs, &row) != 0) {
            sqlite3_reset(rs);
            got = -1;
            break;
        }
        if (row_matches(o, &row)) {
            if (n >= limit) {
                *more = 1;
                stop = 1;
            } else {
                n++;
                stop = cb(&row, ctx) != 0;
            }
        }
        sqlite3_reset(rs);
        if (stop)
            break;
    }
    keywalk_end(&w);
    return got < 0 ? -1 : n;
}

static const char reason_amp[] = "AMP file verdict malicious";
static const char reason_malware_block[] = "blocked by the appliance's anti-malware scanning";
static const char reason_wbrs[] = "web reputation score at or below the block threshold";

/* Columns of STORE_Q_EVID_ID. */
enum { E_HOST = 0, E_URL, E_SHA256, E_WBRS, E_AMP_VERDICT, E_MALWARE_TAG };

static int wbrs_at_or_below(sqlite3_stmt *s, double block)
{
    return sqlite3_column_type(s, E_WBRS) != SQLITE_NULL &&
           sqlite3_column_double(s, E_WBRS) <= block;
}

/*
 * The evidence a candidate row gives for the observable: the reason, or NULL when it
 * gives none. sha256: an AMP verdict above 3, or a malware block tag; url: WBRS at or
 * below the threshold, or a malware block tag; domain and hostname: the host exactly,
 * with WBRS at or below the threshold.
 */
static const char *row_evidence(const obs_t *o, sqlite3_stmt *s, double block)
{
    int tag = sqlite3_column_int(s, E_MALWARE_TAG);

    switch (o->type) {
    case OBS_SHA256:
        if (!same(col_text(s, E_SHA256), o->key))
            return NULL;
        if (sqlite3_column_type(s, E_AMP_VERDICT) != SQLITE_NULL &&
            sqlite3_column_int(s, E_AMP_VERDICT) > 3)
            return reason_amp;
        return tag ? reason_malware_block : NULL;
    case OBS_URL:
        if (!same(col_text(s, E_URL), o->key))
            return NULL;
        if (wbrs_at_or_below(s, block))
            return reason_wbrs;
        return tag ? reason_malware_block : NULL;
    case OBS_DOMAIN:
    case OBS_HOSTNAME:
        return same(col_text(s, E_HOST), o->key) && wbrs_at_or_below(s, block) ? reason_wbrs : NULL;
    default:
        return NULL;
    }
}

int store_evidence(store_t *st, const obs_t *o, int64_t since_ms, const store_thresholds_t *th,
                   store_evidence_t *out)
{
    double block = th != NULL ? th->wbrs_block : DEFAULT_WBRS_BLOCK;
    keywalk_t w;
    int64_t id, time_ms, keys[STORE_WALK_KEYS];
    int got = 0, found = 0;

    memset(out, 0, sizeof(*out));
    st->interrupted = 0;
    if (o->key == NULL || (o->type != OBS_SHA256 && o->type != OBS_URL && o->type != OBS_DOMAIN &&
                           o->type != OBS_HOSTNAME))
        return 0;
    /* a domain's evidence is its own host's (row_evidence): the first key, its own rows */
    obs_keys(o, keys);
    if (keywalk_start(st, &w, keys, 1, since_ms) != 0)
        return -1;
    while (!found && (got = keywalk_next(st, &w, &id, &time_ms)) > 0) {
        sqlite3_stmt *s = store__stmt(st, STORE_Q_EVID_ID);
        const char *reason;
        if (s == NULL) {
            got = -1;
            break;
        }
        sqlite3_bind_int64(s, 1, id);
        if (sqlite3_step(s) != SQLITE_ROW) {
            store__fail(st, "looking for evidence");
            sqlite3_reset(s);
            got = -1;
            break;
        }
        if ((reason = row_evidence(o, s, block)) != NULL) {
            found = 1;
            out->disposition = 2;
            out->reason = reason;
            /* the entry's time is the row's: both were written from one record */
            out->latest_ms = time_ms;
        }
        sqlite3_reset(s);
    }
    keywalk_end(&w);
    if (got < 0)
        return -1;
    return found;
}
