/*
 * store_keys.c - tx_keys, the one narrow index every observable is found through.
 *
 * Why not an index per column: SQLite keeps every index up to date row by row, and nine
 * indexes on text columns put about twenty B-tree searches and as many scattered page
 * writes behind every stored line. Once the indexes outgrow the page cache each of those
 * is a read from the file, and ingest fell from 17,000 lines a second into an empty
 * database to 6,300 by five million rows (bench/RESULTS.md). tx_keys holds the same
 * information as about five short integer entries a row, (key, time_ms, id): the key's
 * top bits are the row's partition (its id shifted right), its low bits a hash of the
 * kind and the value. New rows have the highest ids, so all their entries go into the
 * newest partition's stretch of the tree, which is small enough to stay cached; older
 * partitions are only read.
 *
 * A hash can collide, so a key finds candidates, and the query checks each candidate row's
 * real value before it counts (store_query.c). A domain is found without a range scan: a
 * row is entered under its host itself and under every name between the host and its
 * registered domain, so "example.com" and "a.example.com" each find "www.a.example.com"
 * by equality.
 */
#include <stdlib.h>
#include <string.h>
#include "store_priv.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME  0x100000001b3ULL

int64_t store__key(store_key_kind_t kind, const char *value, size_t len)
{
    uint64_t h = FNV_OFFSET;

    h = (h ^ (unsigned char)kind) * FNV_PRIME;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        /* user names match case-insensitively for ASCII letters, as COLLATE NOCASE did */
        if (kind == STORE_KEY_USER && c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        h = (h ^ c) * FNV_PRIME;
    }
    /* SQLite stores signed 64-bit integers; the conversion keeps every bit */
    return (int64_t)h;
}

int64_t store__part_key(int64_t part, int64_t hash)
{
    uint64_t low = (uint64_t)hash & ((UINT64_C(1) << STORE_KEY_HASH_BITS) - 1);

    return (int64_t)(((uint64_t)part << STORE_KEY_HASH_BITS) | low);
}

/* Records the newest time of each partition the held entries fell in (tx_parts). */
static int write_part_times(store_t *st)
{
    for (int i = 0; i < st->nheld; i++) {
        sqlite3_stmt *s = store__stmt(st, STORE_Q_PART_TIME);
        if (s == NULL)
            return -1;
        sqlite3_bind_int64(s, 1, st->held_part[i]);
        sqlite3_bind_int64(s, 2, st->held_max[i]);
        if (store__step_done(st, s, "recording a partition's time") != 0)
            return -1;
    }
    st->nheld = 0;
    return 0;
}

/*
 * Keeps the newest time of each partition the held entries fall in: one for a transaction
 * inside a partition, two where it crosses a boundary; when the slots run out (a retry of
 * rejected lines of many ages) they are written early.
 */
static int note_time(store_t *st, int64_t part, int64_t time_ms)
{
    int i;

    for (i = 0; i < st->nheld; i++) {
        if (st->held_part[i] == part) {
            if (time_ms > st->held_max[i])
                st->held_max[i] = time_ms;
            return 0;
        }
    }
    if (st->nheld == STORE_HELD_PARTS && write_part_times(st) != 0)
        return -1;
    st->held_part[st->nheld] = part;
    st->held_max[st->nheld] = time_ms;
    st->nheld++;
    return 0;
}

int store__add_key(store_t *st, int64_t id, int64_t time_ms, store_key_kind_t kind,
                   const char *value, size_t len)
{
    store_key_entry_t *e;

    if (st->nkeys == st->keycap) {
        size_t cap = st->keycap != 0 ? 2 * st->keycap : 4096;
        store_key_entry_t *grown = realloc(st->keys, cap * sizeof(*grown));
        if (grown == NULL)
            return store__failf(st, "out of memory for %zu keys", cap);
        st->keys = grown;
        st->keycap = cap;
    }
    if (note_time(st, id >> STORE_PART_SHIFT, time_ms) != 0)
        return -1;
    e = &st->keys[st->nkeys++];
    e->key = store__part_key(id >> STORE_PART_SHIFT, store__key(kind, value, len));
    e->time_ms = time_ms;
    e->id = id;
    return 0;
}

static int add_str(store_t *st, int64_t id, int64_t time_ms, store_key_kind_t kind, const char *v)
{
    if (v == NULL || v[0] == '\0')
        return 0;
    return store__add_key(st, id, time_ms, kind, v, strlen(v));
}

/*
 * The host itself (STORE_KEY_HOST_EXACT), then each name above it that is still at or
 * below the registered domain (STORE_KEY_HOST): "www.a.example.com" under "example.com"
 * gives three entries, "example.com" one. A host that does not end in its registered
 * domain (an IP literal has none) is entered as itself only.
 *
 * Names longer than STORE_KEY_NAME_MAX are left out: no observable can name them, and each
 * name is hashed whole, so a host of many labels (a line may hold a megabyte of "a.a.a...")
 * cost time in the square of its length: 1.8 s for one line of 80 KB.
 */
static int add_host(store_t *st, int64_t id, int64_t time_ms, const char *host, const char *reg)
{
    size_t hlen, rlen;
    const char *p;

    if (host == NULL || host[0] == '\0')
        return 0;
    hlen = strlen(host);
    if (store__add_key(st, id, time_ms, STORE_KEY_HOST_EXACT, host, hlen) != 0)
        return -1;
    if (reg == NULL || (rlen = strlen(reg)) == 0 || rlen >= hlen ||
        memcmp(host + hlen - rlen, reg, rlen) != 0 || host[hlen - rlen - 1] != '.')
        return 0;
    /* the dot before a name of STORE_KEY_NAME_MAX bytes is the first one wanted */
    p = hlen > STORE_KEY_NAME_MAX + 1 ? host + hlen - STORE_KEY_NAME_MAX - 1 : host;
    while (p < host + hlen - rlen) {
        const char *dot = memchr(p, '.', (size_t)(host + hlen - rlen - p));
        if (dot == NULL)
            break;
        p = dot + 1;
        if (store__add_key(st, id, time_ms, STORE_KEY_HOST, p, hlen - (size_t)(p - host)) != 0)
            return -1;
    }
    return 0;
}

static int add_all(store_t *st, int64_t id, int64_t time_ms, const store_key_src_t *k)
{
    if (add_str(st, id, time_ms, STORE_KEY_IP, k->client_ip) != 0)
        return -1;
    /* the same address as client and destination is one entry (INSERT OR IGNORE) */
    if (add_str(st, id, time_ms, STORE_KEY_IP, k->dest_ip) != 0)
        return -1;
    if (add_host(st, id, time_ms, k->host, k->reg_domain) != 0)
        return -1;
    if (add_str(st, id, time_ms, STORE_KEY_URL, k->url) != 0 ||
        add_str(st, id, time_ms, STORE_KEY_USER, k->user_name) != 0 ||
        add_str(st, id, time_ms, STORE_KEY_SHA256, k->sha256) != 0 ||
        add_str(st, id, time_ms, STORE_KEY_FILE, k->amp_file_name) != 0 ||
        add_str(st, id, time_ms, STORE_KEY_AGENT, k->user_agent) != 0)
        return -1;
    return 0;
}

int store__add_keys(store_t *st, int64_t id, int64_t time_ms, const store_key_src_t *k)
{
    if (add_all(st, id, time_ms, k) != 0) {
        st->nkeys = 0;
        st->nheld = 0;
        return -1;
    }
    return sqlite3_get_autocommit(st->db) ? store__flush_keys(st) : 0;
}

/*
 * Sorts the held entries by key, stable, with a radix sort: four passes of 16 bits. A
 * batch holds about a hundred thousand entries, which qsort took a tenth of a load's time
 * to order; entries of equal key stay in the order they came (by id).
 */
static int sort_keys(store_t *st)
{
    store_key_entry_t *tmp = malloc(st->nkeys * sizeof(*tmp)), *from = st->keys, *to = tmp;
    size_t *count = malloc(65536 * sizeof(*count));
    int rc = -1;

    if (tmp == NULL || count == NULL) {
        store__failf(st, "out of memory to sort %zu keys", st->nkeys);
        goto out;
    }
    for (int shift = 0; shift < 64; shift += 16) {
        size_t sum = 0;
        memset(count, 0, 65536 * sizeof(*count));
        for (size_t i = 0; i < st->nkeys; i++)
            count[((uint64_t)from[i].key >> shift) & 0xffff]++;
        for (size_t d = 0; d < 65536; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < st->nkeys; i++)
            to[count[((uint64_t)from[i].key >> shift) & 0xffff]++] = from[i];
        from = to;
        to = to == tmp ? st->keys : tmp;
    }
    /* an even number of passes ends in st->keys */
    rc = 0;
out:
    free(count);
    free(tmp);
    return rc;
}

/*
 * Sorted, consecutive entries mostly share the pages on their way down the tree, which
 * are then still in the CPU's cache, and sixteen to a statement pay once for what a
 * statement costs to run.
 */
int store__flush_keys(store_t *st)
{
    size_t i = 0;
    int rc = -1;

    if (write_part_times(st) != 0)
        goto out;
    if (st->nkeys == 0)
        return 0;
    if (sort_keys(st) != 0)
        goto out;
    while (i < st->nkeys) {
        size_t n = st->nkeys - i >= STORE_KEYS_PER_INSERT ? STORE_KEYS_PER_INSERT : 1;
        sqlite3_stmt *s = store__stmt(st, n > 1 ? STORE_Q_ADD_KEYS : STORE_Q_ADD_KEY);
        if (s == NULL)
            goto out;
        for (size_t j = 0; j < n; j++) {
            const store_key_entry_t *e = &st->keys[i + j];
            sqlite3_bind_int64(s, (int)(3 * j + 1), e->key);
            sqlite3_bind_int64(s, (int)(3 * j + 2), e->time_ms);
            sqlite3_bind_int64(s, (int)(3 * j + 3), e->id);
        }
        if (store__step_done(st, s, "adding keys") != 0)
            goto out;
        i += n;
    }
    rc = 0;
out:
    st->nkeys = 0;
    st->nheld = 0;
    return rc;
}

sqlite3_stmt *store__part_stmt(store_t *st, int64_t slot)
{
    sqlite3_stmt *s;

    if (slot < 0 || slot / STORE_WALK_KEYS > STORE_PART_MAX) {
        store__failf(st, "partition %lld out of range", (long long)(slot / STORE_WALK_KEYS));
        return NULL;
    }
    if ((size_t)slot >= st->npart_stmt) {
        size_t n = (size_t)slot + 1;
        sqlite3_stmt **grown = realloc(st->part_stmt, n * sizeof(*grown));
        if (grown == NULL) {
            store__failf(st, "out of memory for %zu partitions", n);
            return NULL;
        }
        memset(grown + st->npart_stmt, 0, (n - st->npart_stmt) * sizeof(*grown));
        st->part_stmt = grown;
        st->npart_stmt = n;
    }
    s = st->part_stmt[slot];
    if (s == NULL) {
        if (sqlite3_prepare_v3(st->db, store__sql(STORE_Q_KEY_PART), -1, SQLITE_PREPARE_PERSISTENT,
                               &s, NULL) != SQLITE_OK) {
            store__fail(st, "preparing a statement");
            return NULL;
        }
        st->part_stmt[slot] = s;
    } else {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
    return s;
}
