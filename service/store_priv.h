/*
 * store_priv.h - what the store's files share: the connection and its statement cache.
 */
#ifndef WSA_STORE_PRIV_H
#define WSA_STORE_PRIV_H

#include <sqlite3.h>
#include "store.h"

/* Every statement this layer runs, prepared on first use and kept for the connection. */
typedef enum {
    STORE_Q_BEGIN = 0,
    STORE_Q_BEGIN_READ,
    STORE_Q_COMMIT,
    STORE_Q_ROLLBACK,
    STORE_Q_USER_VERSION,
    STORE_Q_APPLIANCE,
    STORE_Q_SOURCE_HEADS_FROM,
    STORE_Q_SOURCE_HEAD_IS,
    STORE_Q_SOURCE_SHORT_HEADS,
    STORE_Q_SOURCE_LEGACY,
    STORE_Q_SOURCE_LEGACY_LENS,
    STORE_Q_SOURCE_LAST_LINE,
    STORE_Q_SOURCE_ADD,
    STORE_Q_SOURCE_RENEW,
    STORE_Q_SOURCE_UPDATE,
    STORE_Q_ADD_TXN,
    STORE_Q_ADD_REJECT,
    STORE_Q_ADD_KEY,
    STORE_Q_ADD_KEYS,
    STORE_Q_PART_TIME,
    STORE_Q_PARTS,
    STORE_Q_MAX_ID,
    STORE_Q_KEY_PART,
    STORE_Q_SIGHT_ID,
    STORE_Q_EVID_ID,
    STORE_Q_COUNT,
} store_q_t;

/* Partitions whose newest time a transaction keeps before writing it to tx_parts. */
#define STORE_HELD_PARTS 8

/* One tx_keys entry held for the open transaction (store_keys.c). */
typedef struct store_key_entry {
    int64_t key, time_ms, id;
} store_key_entry_t;

struct store {
    sqlite3 *db;
    char *path;
    store_mode_t mode;
    sqlite3_stmt *stmt[STORE_Q_COUNT];
    int64_t deadline_ms;
    int interrupted;
    /*
     * STORE_Q_KEY_PART once per partition (index = partition): a walk steps one per
     * partition side by side, and a statement can stand on one row only.
     */
    sqlite3_stmt **part_stmt;
    size_t npart_stmt;
    store_key_entry_t *keys; /* entries held for the open transaction */
    size_t nkeys, keycap;
    /* the partitions the held entries fall in, with the newest time of each (usually 1) */
    int64_t held_part[STORE_HELD_PARTS], held_max[STORE_HELD_PARTS];
    int nheld;
    char *rawbuf; /* the current row's raw line made valid UTF-8 */
    size_t rawcap;
    char err[STORE_ERR_LEN];
    int err_code; /* SQLite's result code behind err, 0 when the message is this layer's own */
};

/*
 * Observable keys (store_keys.c). Every way a row can be found is one entry of tx_keys,
 * (key, time_ms, id): the key's top bits are the row's partition, its id shifted right by
 * STORE_PART_SHIFT, and the low STORE_KEY_HASH_BITS a hash of a kind and a value. Rows are
 * added in id order, so the entries of one load all fall in the newest partition's stretch
 * of the B-tree, which stays small and cached however large the table grows; a query
 * reads each partition's stretch newest first and merges them.
 */
#define STORE_PART_SHIFT    17
#define STORE_KEY_HASH_BITS 44
#define STORE_PART_MAX      ((INT64_C(1) << (63 - STORE_KEY_HASH_BITS)) - 1)

typedef enum {
    STORE_KEY_IP = 'i', /* client or destination address */
    /*
     * each name above the host down to its registered domain: the rows of a name's
     * subdomains. (Version 4 and 5 rows also have the host itself here.)
     */
    STORE_KEY_HOST = 'h',
    /*
     * the host itself: a name's own rows, which are also all its evidence looks at; a
     * domain's sightings are these and the name's STORE_KEY_HOST rows, merged
     */
    STORE_KEY_HOST_EXACT = 'e',
    STORE_KEY_URL = 'u',    /* the normalised URL */
    STORE_KEY_USER = 'n',   /* the user's name part, ASCII letters folded to lower case */
    STORE_KEY_SHA256 = 's', /* the AMP file SHA-256 */
    STORE_KEY_FILE = 'f',   /* the AMP file name */
    STORE_KEY_AGENT = 'a',  /* the user agent */
} store_key_kind_t;

/** The key of a kind and value: FNV-1a over the kind byte and the value (folded for users). */
int64_t store__key(store_key_kind_t kind, const char *value, size_t len);

/* The values of one row that it can be found by; NULL when absent. */
typedef struct store_key_src {
    const char *client_ip, *dest_ip, *host, *reg_domain, *url, *user_name, *sha256, *amp_file_name,
        *user_agent;
} store_key_src_t;

/** The tx_keys key of a value's hash (store__key) in partition `part`. */
int64_t store__part_key(int64_t part, int64_t hash);

/**
 * Adds the entries of row `id` to tx_keys. Inside a transaction they are held and written
 * sorted at store_commit (store__flush_keys), which takes a third of the time of writing
 * them one by one as they come; outside one they are written at once. 0 or -1.
 */
int store__add_keys(store_t *st, int64_t id, int64_t time_ms, const store_key_src_t *k);

/** Writes the held entries; 0, or -1 (they are dropped: the transaction must roll back). */
int store__flush_keys(store_t *st);

/*
 * The longest name above a host that is entered under STORE_KEY_HOST: an observable's value
 * is at most this long (HTTP_MAX_VALUE), so a longer name is never asked for.
 */
#define STORE_KEY_NAME_MAX 8192

/* Entries the migration holds before it writes them (a commit of 20,000 lines holds ~100,000). */
#define STORE_KEYS_HELD_MAX 262144

/* Rows of the multi-row insert of held entries (STORE_Q_ADD_KEYS). */
#define STORE_KEYS_PER_INSERT 16

/** Enters the keys of every row (the tx_keys migration, inside its transaction); 0 or -1. */
int store__migrate_keys_fill(store_t *st);

/** Holds one entry of row `id` for the open transaction, as store__add_keys does; 0 or -1. */
int store__add_key(store_t *st, int64_t id, int64_t time_ms, store_key_kind_t kind,
                   const char *value, size_t len);

/** Enters the STORE_KEY_HOST_EXACT key of every row (its migration, in its transaction). */
int store__migrate_host_exact_fill(store_t *st);

/*
 * STORE_Q_KEY_PART statements a walk can step side by side: one for each key it reads in
 * each partition.
 */
#define STORE_WALK_KEYS 2

/**
 * The statement of slot `slot` (partition * STORE_WALK_KEYS + the key's place), prepared
 * on first use and kept; NULL on error.
 */
sqlite3_stmt *store__part_stmt(store_t *st, int64_t slot);

/** The SQL text of a statement (for EXPLAIN QUERY PLAN in tests, and for preparing). */
const char *store__sql(store_q_t q);

/** The cached statement `q`, reset and with its bindings cleared; NULL on error (message set). */
sqlite3_stmt *store__stmt(store_t *st, store_q_t q);

/** Sets the message to "<path>: <what>: <SQLite's reason>" and returns -1. */
int store__fail(store_t *st, const char *what);

/** Sets the message to "<path>: <formatted text>" and returns -1. */
int store__failf(store_t *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * After an open failed: looks at the path for the cause SQLite does not name (a folder, a
 * missing folder, a read-only file system, a permission) and sets the message to it.
 * Returns 1 when it found one, 0 when the message is left as it was (store_diag.c).
 */
int store__explain_open(store_t *st);

/** Steps a statement that returns one id (RETURNING id) to completion; 0 or -1. */
int store__step_id(store_t *st, sqlite3_stmt *s, const char *what, int64_t *id);

/** Steps a statement that returns nothing; 0 or -1 (message "<path>: <what>: <reason>"). */
int store__step_done(store_t *st, sqlite3_stmt *s, const char *what);

#endif
