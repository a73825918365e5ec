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
    STORE_Q_SIGHT_CLIENT_IP,
    STORE_Q_SIGHT_DEST_IP,
    STORE_Q_SIGHT_HOST,
    STORE_Q_SIGHT_DOMAIN,
    STORE_Q_SUBHOST_BELOW,
    STORE_Q_SIGHT_HOST_IDS,
    STORE_Q_SIGHT_ID,
    STORE_Q_SIGHT_URL,
    STORE_Q_SIGHT_SHA256,
    STORE_Q_SIGHT_USER,
    STORE_Q_SIGHT_FILE_NAME,
    STORE_Q_SIGHT_USER_AGENT,
    STORE_Q_EVID_SHA256,
    STORE_Q_EVID_URL,
    STORE_Q_EVID_HOST,
    STORE_Q_COUNT,
} store_q_t;

struct store {
    sqlite3 *db;
    char *path;
    store_mode_t mode;
    sqlite3_stmt *stmt[STORE_Q_COUNT];
    int64_t deadline_ms;
    int interrupted;
    char *rawbuf; /* the current row's raw line made valid UTF-8 */
    size_t rawcap;
    char err[STORE_ERR_LEN];
    int err_code; /* SQLite's result code behind err, 0 when the message is this layer's own */
};

/*
 * A name deeper than its registered domain (s3.example.com under example.com) is looked up
 * as its own host plus each distinct host under it, every one an ordered stream of its own;
 * past this many hosts under the name, the registered domain's rows are walked instead.
 */
#define STORE_SUBHOSTS_MAX 1024

/**
 * Writes the `n` bytes of `host` with its labels in reverse order ("b.s3.example.com" gives
 * "com.example.s3.b"; each label unchanged) and a NUL to `out` (n + 1 bytes). Reversing
 * twice gives the host back. Stored as host_rev, it turns "ends in .name" into a prefix.
 */
void store__host_rev(const char *host, size_t n, char *out);

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
