/*
 * store_source.c - finding the source a file continues, or adding it.
 *
 * A candidate is a source whose head and the file's head agree over the shorter of the two.
 * Among them the file continues the one with the largest offset whose fingerprint (the hash
 * of the bytes before that offset) the file reproduces: its bytes up to there are the ones
 * already stored, so reading on from the offset neither repeats nor skips a line. A
 * candidate whose offset lies past the file's end is one the file is an early copy of, once
 * the last line stored for it within the file's length agrees with the file's bytes there.
 * Anything else is a different file that merely begins alike: a new source, read whole.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/sha.h>
#include "store_priv.h"
#include "util.h"

#define HEX_SHA256_LEN (2 * SHA256_DIGEST_LENGTH + 1)

typedef struct candidate {
    store_source_t src;
    int has_head; /* sources of schema version 1 have only a hash of their first bytes */
    size_t head_len;
    unsigned char head[STORE_SOURCE_PREFIX];
} candidate_t;

typedef struct search {
    store_t *st;
    const store_probe_t *probe;
    candidate_t cand;     /* the row being judged */
    candidate_t cont;     /* the source the file continues, largest offset first */
    int64_t early_id;     /* a source the file is an early copy of, or 0 */
    store_source_t early; /* ... and its progress */
    int have_cont;
} search_t;

static void read_candidate(sqlite3_stmt *s, candidate_t *c)
{
    const void *head = sqlite3_column_blob(s, 5);
    int head_len = sqlite3_column_bytes(s, 5);
    const void *tail = sqlite3_column_blob(s, 6);

    memset(&c->src, 0, sizeof(c->src));
    c->src.id = sqlite3_column_int64(s, 0);
    c->src.offset = sqlite3_column_int64(s, 1);
    c->src.lines = sqlite3_column_int64(s, 2);
    c->src.rejects = sqlite3_column_int64(s, 3);
    c->src.size = sqlite3_column_int64(s, 4);
    c->has_head = sqlite3_column_type(s, 5) == SQLITE_BLOB;
    c->head_len = 0;
    if (c->has_head && head_len > 0 && head_len <= STORE_SOURCE_PREFIX) {
        c->head_len = (size_t)head_len;
        memcpy(c->head, head, c->head_len);
    }
    /* the head is bytes the source is known to have had */
    if (c->src.size < (int64_t)c->head_len)
        c->src.size = (int64_t)c->head_len;
    c->src.has_tail = tail != NULL && sqlite3_column_bytes(s, 6) == STORE_FINGERPRINT;
    if (c->src.has_tail)
        memcpy(c->src.tail, tail, STORE_FINGERPRINT);
}

int store_source_fingerprint(const store_probe_t *probe, int64_t at,
                             unsigned char md[STORE_FINGERPRINT])
{
    unsigned char buf[STORE_SOURCE_TAIL];
    size_t len = at < STORE_SOURCE_TAIL ? (size_t)at : STORE_SOURCE_TAIL;

    if (at < 0 || at > probe->size) {
        errno = EINVAL;
        return -1;
    }
    if (len > 0 && probe->read_at(probe->ctx, at - (int64_t)len, buf, len) != 0)
        return -1;
    SHA256(buf, len, md);
    return 0;
}

static int fail_read(store_t *st)
{
    return store__failf(st, "reading the file: %s",
                        errno == ENODATA ? "it shrank while it was read" : strerror(errno));
}

/* Whether the file continues the candidate: 1 yes, 0 no, -1 on a read error. */
static int continues(search_t *sr, const candidate_t *c)
{
    unsigned char md[STORE_FINGERPRINT];

    if (c->src.offset == 0)
        return 1;
    /*
     * Only a source of schema version 1 not read since lacks a fingerprint: its identity
     * hash is all there is, as before.
     */
    if (!c->src.has_tail)
        return 1;
    if (store_source_fingerprint(sr->probe, c->src.offset, md) != 0)
        return fail_read(sr->st);
    return memcmp(md, c->src.tail, STORE_FINGERPRINT) == 0;
}

/*
 * Whether a file shorter than the candidate's offset is an early copy of it: 1 yes, 0 no,
 * -1 on an error. The line stored last before the file's end must begin the same way in
 * the file (a copy taken while that line was written holds only its start). With no line
 * stored there, nothing contradicts the head.
 */
static int early_copy(search_t *sr, const candidate_t *c)
{
    sqlite3_stmt *s = store__stmt(sr->st, STORE_Q_SOURCE_LAST_LINE);
    int64_t offset, room;
    size_t len;
    unsigned char *buf = NULL;
    int rc;

    if (s == NULL)
        return -1;
    sqlite3_bind_int64(s, 1, c->src.id);
    sqlite3_bind_int64(s, 2, sr->probe->size);
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        return 1;
    }
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        return store__fail(sr->st, "looking up a source's lines");
    }
    offset = sqlite3_column_int64(s, 0);
    room = sr->probe->size - offset;
    len = (size_t)sqlite3_column_bytes(s, 1);
    if ((int64_t)len > room)
        len = (size_t)room;
    rc = -1;
    if (len == 0) {
        rc = 1;
    } else if ((buf = malloc(len)) == NULL) {
        store__failf(sr->st, "out of memory");
    } else if (sr->probe->read_at(sr->probe->ctx, offset, buf, len) != 0) {
        fail_read(sr->st);
    } else {
        rc = memcmp(buf, sqlite3_column_blob(s, 1), len) == 0;
    }
    sqlite3_reset(s);
    free(buf);
    return rc;
}

static int judge(search_t *sr)
{
    const candidate_t *c = &sr->cand;
    const store_probe_t *p = sr->probe;
    size_t common = c->head_len < p->head_len ? c->head_len : p->head_len;
    int rc;

    if (c->has_head && memcmp(c->head, p->head, common) != 0)
        return 0;
    if (c->src.offset > p->size) {
        if (sr->early_id != 0 && c->src.offset <= sr->early.offset)
            return 0;
        if ((rc = early_copy(sr, c)) <= 0)
            return rc;
        sr->early_id = c->src.id;
        sr->early = c->src;
        return 0;
    }
    if (sr->have_cont && c->src.offset <= sr->cont.src.offset)
        return 0;
    if ((rc = continues(sr, c)) <= 0)
        return rc;
    sr->cont = *c;
    sr->have_cont = 1;
    return 0;
}

/* Judges every row of a bound statement. */
static int judge_rows(search_t *sr, sqlite3_stmt *s)
{
    int rc;

    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        read_candidate(s, &sr->cand);
        if (judge(sr) != 0) {
            sqlite3_reset(s);
            return -1;
        }
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store__fail(sr->st, "looking up a source");
    return 0;
}

/*
 * The smallest byte string greater than every string that begins with `key`: the key with
 * its trailing 0xff bytes dropped and its last byte raised. Keys of only 0xff bytes have no
 * such bound within a head's length, and get one byte longer than any head.
 */
static size_t upper_bound(const unsigned char *key, size_t len, unsigned char *out)
{
    while (len > 0 && key[len - 1] == 0xff)
        len--;
    if (len == 0) {
        memset(out, 0xff, STORE_SOURCE_PREFIX + 1);
        return STORE_SOURCE_PREFIX + 1;
    }
    memcpy(out, key, len);
    out[len - 1]++;
    return len;
}

/* Sources whose head begins with the file's head (the same file, or the file grown). */
static int search_longer(search_t *sr)
{
    unsigned char hi[STORE_SOURCE_PREFIX + 1];
    size_t hi_len = upper_bound(sr->probe->head, sr->probe->head_len, hi);
    sqlite3_stmt *s = store__stmt(sr->st, STORE_Q_SOURCE_HEADS_FROM);

    if (s == NULL)
        return -1;
    sqlite3_bind_blob(s, 1, sr->probe->head, (int)sr->probe->head_len, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, hi, (int)hi_len, SQLITE_STATIC);
    return judge_rows(sr, s);
}

/*
 * Reads a column of lengths into `lens` (at most STORE_SOURCE_PREFIX + 1 of them, which
 * is every length a head or a version 1 prefix can have).
 */
static int collect_lengths(store_t *st, sqlite3_stmt *s, int64_t *lens, size_t *n)
{
    int rc;

    *n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n <= STORE_SOURCE_PREFIX)
        lens[(*n)++] = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store__fail(st, "looking up a source");
    return 0;
}

/* Sources whose head is a proper prefix of the file's (first seen while shorter). */
static int search_shorter(search_t *sr)
{
    int64_t lens[STORE_SOURCE_PREFIX + 1];
    sqlite3_stmt *s = store__stmt(sr->st, STORE_Q_SOURCE_SHORT_HEADS);
    size_t n;

    if (s == NULL)
        return -1;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)sr->probe->head_len);
    /* collected first: the lookups below reuse the connection */
    if (collect_lengths(sr->st, s, lens, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] <= 0 || lens[i] >= (int64_t)sr->probe->head_len)
            continue;
        if ((s = store__stmt(sr->st, STORE_Q_SOURCE_HEAD_IS)) == NULL)
            return -1;
        sqlite3_bind_blob(s, 1, sr->probe->head, (int)lens[i], SQLITE_STATIC);
        if (judge_rows(sr, s) != 0)
            return -1;
    }
    return 0;
}

/*
 * Sources of schema version 1: the hex SHA-256 of their first prefix_len bytes. As in
 * version 1 the longest identity that matches wins: a version 1 source has no fingerprint,
 * and a short identity says less about a file than a long one.
 */
static int search_legacy(search_t *sr)
{
    int64_t lens[STORE_SOURCE_PREFIX + 1];
    sqlite3_stmt *s = store__stmt(sr->st, STORE_Q_SOURCE_LEGACY_LENS);
    int64_t cont_id = sr->have_cont ? sr->cont.src.id : 0, early_id = sr->early_id;
    size_t n;

    if (s == NULL)
        return -1;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)sr->probe->head_len);
    if (collect_lengths(sr->st, s, lens, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char md[SHA256_DIGEST_LENGTH];
        char hex[HEX_SHA256_LEN];
        if (lens[i] <= 0 || lens[i] > (int64_t)sr->probe->head_len)
            continue;
        SHA256(sr->probe->head, (size_t)lens[i], md);
        util_hex(md, sizeof(md), hex);
        if ((s = store__stmt(sr->st, STORE_Q_SOURCE_LEGACY)) == NULL)
            return -1;
        sqlite3_bind_text(s, 1, hex, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 2, lens[i]);
        if (judge_rows(sr, s) != 0)
            return -1;
        if ((sr->have_cont && sr->cont.src.id != cont_id) || sr->early_id != early_id)
            break;
    }
    return 0;
}

/* The file continues `c`: keep the longer head and the name it goes by now. */
static int renew(store_t *st, const candidate_t *c, const store_probe_t *p, const char *name)
{
    sqlite3_stmt *s = store__stmt(st, STORE_Q_SOURCE_RENEW);
    const unsigned char *head = p->head;
    size_t len = p->head_len;

    if (s == NULL)
        return -1;
    if (c->has_head && c->head_len > len) {
        head = c->head;
        len = c->head_len;
    }
    sqlite3_bind_int64(s, 1, c->src.id);
    sqlite3_bind_blob(s, 2, head, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)len);
    sqlite3_bind_text(s, 4, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, util_now_ms());
    return store__step_done(st, s, "updating a source");
}

static int add_source(store_t *st, const char *name, const store_probe_t *p, store_source_t *out)
{
    sqlite3_stmt *s = store__stmt(st, STORE_Q_SOURCE_ADD);

    if (s == NULL)
        return -1;
    memset(out, 0, sizeof(*out));
    if (p != NULL)
        sqlite3_bind_blob(s, 1, p->head, (int)p->head_len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, p != NULL ? (sqlite3_int64)p->head_len : 0);
    sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, util_now_ms());
    return store__step_id(st, s, "adding a source", &out->id);
}

int store_source_open(store_t *st, const char *name, const store_probe_t *probe,
                      store_source_t *out)
{
    search_t sr = {.st = st, .probe = probe};

    if (probe == NULL)
        return add_source(st, name, NULL, out);
    if (probe->head_len == 0 || probe->head_len > STORE_SOURCE_PREFIX ||
        probe->size < (int64_t)probe->head_len || probe->read_at == NULL)
        return store__failf(st,
                            "a file's head must hold 1 to %d bytes and its size at least "
                            "as many (head of %zu bytes, size %lld)",
                            STORE_SOURCE_PREFIX, probe->head_len, (long long)probe->size);
    if (search_longer(&sr) != 0 || search_shorter(&sr) != 0 || search_legacy(&sr) != 0)
        return -1;
    if (sr.have_cont) {
        *out = sr.cont.src;
        return renew(st, &sr.cont, probe, name);
    }
    if (sr.early_id != 0) {
        /* left as it is: the live file, not this copy, is the source's name */
        *out = sr.early;
        return 0;
    }
    return add_source(st, name, probe, out);
}

int store_source_update(store_t *st, const store_source_t *src)
{
    sqlite3_stmt *s = store__stmt(st, STORE_Q_SOURCE_UPDATE);

    if (s == NULL)
        return -1;
    sqlite3_bind_int64(s, 1, src->id);
    sqlite3_bind_int64(s, 2, src->size);
    sqlite3_bind_int64(s, 3, src->offset);
    sqlite3_bind_int64(s, 4, src->lines);
    sqlite3_bind_int64(s, 5, src->rejects);
    sqlite3_bind_int64(s, 6, util_now_ms());
    if (src->has_tail) {
        sqlite3_bind_int64(s, 7, src->offset);
        sqlite3_bind_blob(s, 8, src->tail, STORE_FINGERPRINT, SQLITE_STATIC);
    }
    return store__step_done(st, s, "recording a source's progress");
}
