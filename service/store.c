/*
 * store.c - opening the tracking database: pragmas, schema, statements, errors, deadlines.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "log.h"
#include "store_priv.h"
#include "store_schema.h"
#include "util.h"

/*
 * The schema steps in order: step i brings a database from version i to version i + 1.
 * Its SQL runs first, then its fill when it has one (data that SQL alone cannot compute),
 * then user_version is set to i + 1. A later migration is appended here.
 */
typedef struct store_migration {
    const char *sql;
    int (*fill)(store_t *st);
} store_migration_t;

static const store_migration_t store_migrations[] = {
    {store_schema_sql, NULL},
    {store_migration_v2_sql, NULL},
    {store_migration_v3_sql, NULL},
    {store_migration_keys_sql, store__migrate_keys_fill},
    {store_migration_syslog_sql, NULL},
    {store_migration_host_exact_sql, store__migrate_host_exact_fill},
};
#define STORE_SCHEMA_VERSION ((int)(sizeof(store_migrations) / sizeof(store_migrations[0])))

#define STORE_BUSY_TIMEOUT_MS 5000
/*
 * Some lock conflicts come back at once, without the busy handler: changing the journal
 * mode while another first start does the same, a read snapshot that a writer made stale,
 * a checkpoint already running. These steps are retried every STORE_RETRY_MS for as long
 * as the busy timeout would have waited, by the clock: a step that itself waited out the
 * busy handler (PRAGMA optimize when it writes) counts its wait, where counting 20 ms a try
 * would retry it 250 times, 5 s each.
 */
#define STORE_RETRY_MS 20
/*
 * WAL pages after which a commit checkpoints (on_wal_commit): about 40 MiB. Bulk loads ran
 * about a quarter faster than with SQLite's 1000, and the WAL stays bounded.
 */
#define STORE_WAL_CHECKPOINT_PAGES 10000
/* The longest store_optimize waits to empty the WAL (see there). */
#define STORE_FINAL_CHECKPOINT_MS 1000
/* VM steps between two looks at the clock while a deadline is set */
#define STORE_PROGRESS_STEPS 1000

int store_schema_version(void)
{
    return STORE_SCHEMA_VERSION;
}

int store__failf(store_t *st, const char *fmt, ...)
{
    size_t n;
    va_list ap;

    st->err_code = 0;
    /* the path first, so that a long reason is what gets cut */
    n = (size_t)snprintf(st->err, sizeof(st->err), "%s: ", st->path);
    if (n >= sizeof(st->err))
        return -1;
    va_start(ap, fmt);
    vsnprintf(st->err + n, sizeof(st->err) - n, fmt, ap);
    va_end(ap);
    return -1;
}

int store__fail(store_t *st, const char *what)
{
    const char *reason = st->db != NULL ? sqlite3_errmsg(st->db) : "out of memory";
    int code = st->db != NULL ? sqlite3_errcode(st->db) : SQLITE_NOMEM;

    /*
     * SQLite's own words for a full disk and a lock leave the operator guessing: "database
     * or disk is full" does not say which, and "database is locked" not by whom nor for how
     * long. (A plain SQLITE_BUSY is the busy handler giving up; its other kinds come at once.)
     */
    if (code == SQLITE_INTERRUPT && st->interrupted)
        store__failf(st, "%s: query deadline passed", what);
    else if ((code & 0xff) == SQLITE_FULL)
        store__failf(st, "%s: no space left on the file system that holds the database", what);
    else if (code == SQLITE_BUSY)
        store__failf(st, "%s: the database is locked by another writer (gave up after %d s)", what,
                     STORE_BUSY_TIMEOUT_MS / 1000);
    else
        store__failf(st, "%s: %s", what, reason);
    st->err_code = code;
    return -1;
}

const char *store_errmsg(store_t *st)
{
    return st->err;
}

sqlite3_stmt *store__stmt(store_t *st, store_q_t q)
{
    sqlite3_stmt *s = st->stmt[q];

    if (s == NULL) {
        /* persistent: these live as long as the connection and are reused at volume */
        if (sqlite3_prepare_v3(st->db, store__sql(q), -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) !=
            SQLITE_OK) {
            store__fail(st, "preparing a statement");
            return NULL;
        }
        st->stmt[q] = s;
        return s;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

/* Creates every missing folder on the way to the database file. */
static int make_parent_dirs(store_t *st)
{
    char *dir = strdup(st->path);
    int rc = -1;

    if (dir == NULL)
        return store__failf(st, "out of memory");
    for (char *p = dir + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
            store__failf(st, "cannot create folder %s: %s", dir, strerror(errno));
            goto out;
        }
        *p = '/';
    }
    rc = 0;
out:
    free(dir);
    return rc;
}

static int exec(store_t *st, const char *sql, const char *what)
{
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return store__fail(st, what);
    return 0;
}

/* 1 when the last failure was a lock held by another connection (SQLITE_BUSY and its kinds). */
static int failed_busy(store_t *st)
{
    return (sqlite3_errcode(st->db) & 0xff) == SQLITE_BUSY;
}

static void pause_retry(void)
{
    struct timespec ts = {0, STORE_RETRY_MS * 1000000L};

    nanosleep(&ts, NULL);
}

/* exec, again while another connection holds the lock, up to the busy timeout. */
static int exec_retry(store_t *st, const char *sql, const char *what)
{
    int64_t until = util_monotonic_ms() + STORE_BUSY_TIMEOUT_MS;

    for (;;) {
        if (exec(st, sql, what) == 0)
            return 0;
        if (!failed_busy(st) || util_monotonic_ms() >= until)
            return -1;
        pause_retry();
    }
}

static int read_user_version(store_t *st, int *version)
{
    sqlite3_stmt *s = store__stmt(st, STORE_Q_USER_VERSION);
    int rc;

    if (s == NULL)
        return -1;
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        return store__fail(st, "reading the schema version");
    }
    *version = sqlite3_column_int(s, 0);
    sqlite3_reset(s);
    return 0;
}

static int count_tables(store_t *st, int *n)
{
    sqlite3_stmt *s = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'", -1,
                           &s, NULL) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW) {
        store__fail(st, "reading the schema");
        goto out;
    }
    *n = sqlite3_column_int(s, 0);
    rc = 0;
out:
    sqlite3_finalize(s);
    return rc;
}

/* Refuses a file that is not ours before any pragma changes it (journal_mode is kept in it). */
static int check_foreign(store_t *st)
{
    int version = 0, tables = 0;

    if (read_user_version(st, &version) != 0)
        return -1;
    if (version == 0 && count_tables(st, &tables) != 0)
        return -1;
    if (version == 0 && tables > 0)
        return store__failf(st, "not a wsa-relay database (schema version 0 with %d tables)",
                            tables);
    if (version > STORE_SCHEMA_VERSION)
        return store__failf(st, "schema version %d is newer than this build's %d", version,
                            STORE_SCHEMA_VERSION);
    return 0;
}

/*
 * check_foreign in one read transaction: the version and the tables then come from one
 * snapshot. Two autocommit reads let another process's schema COMMIT land between them,
 * and a database being created looked like "version 0 with 4 tables" (breaker F10).
 */
static int check_foreign_atomic(store_t *st)
{
    int64_t until = util_monotonic_ms() + STORE_BUSY_TIMEOUT_MS;

    for (;;) {
        if (exec(st, "BEGIN", "starting a read of the schema") != 0)
            return -1;
        if (check_foreign(st) == 0)
            return exec(st, "COMMIT", "ending a read of the schema");
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        if (!failed_busy(st) || util_monotonic_ms() >= until)
            return -1;
        pause_retry();
    }
}

/*
 * Brings the schema to the current version in one transaction, under the write lock. A
 * migration may rewrite every row (version 3 fills a column), and SQLite keeps the old
 * pages in a statement journal until the statement ends: in a temporary file, not in
 * memory as temp_store is set for the ingester, or it would hold a copy of the table.
 */
static int apply_schema(store_t *st)
{
    int version = 0;

    if (exec(st, "PRAGMA temp_store = FILE", "setting pragmas") != 0)
        return -1;
    if (exec(st, "BEGIN IMMEDIATE", "locking the database to check its schema") != 0)
        return -1;
    /* again under the lock: another process may have created or upgraded it meanwhile */
    if (check_foreign(st) != 0 || read_user_version(st, &version) != 0)
        goto fail;
    for (int v = version; v < STORE_SCHEMA_VERSION; v++) {
        char what[64];
        char pragma[48];
        snprintf(what, sizeof(what), "applying schema version %d", v + 1);
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
        if (exec(st, store_migrations[v].sql, what) != 0)
            goto fail;
        if (store_migrations[v].fill != NULL && store_migrations[v].fill(st) != 0)
            goto fail;
        if (exec(st, pragma, what) != 0)
            goto fail;
    }
    if (exec(st, "COMMIT", "committing the schema") != 0)
        goto fail;
    return exec(st, "PRAGMA temp_store = MEMORY", "setting pragmas");
fail:
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

/* The version, and for version 0 the number of tables, from one snapshot. */
static int read_version_and_tables(store_t *st, int *version, int *tables)
{
    *tables = 0;
    if (exec(st, "BEGIN", "starting a read of the schema") != 0)
        return -1;
    if (read_user_version(st, version) != 0 || (*version == 0 && count_tables(st, tables) != 0)) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return exec(st, "COMMIT", "ending a read of the schema");
}

static int check_schema(store_t *st)
{
    int version = 0, tables = 0;

    /*
     * An empty database (version 0 without a table) is one that another process is creating
     * right now: `serve` and a first `ingest` started together. Its schema is waited for as
     * long as a lock would be.
     */
    int64_t until = util_monotonic_ms() + STORE_BUSY_TIMEOUT_MS;

    for (;;) {
        if (read_version_and_tables(st, &version, &tables) != 0)
            return -1;
        if (version != 0 || tables > 0 || util_monotonic_ms() >= until)
            break;
        pause_retry();
    }
    if (version != STORE_SCHEMA_VERSION)
        return store__failf(st, "schema version %d, this build needs %d%s", version,
                            STORE_SCHEMA_VERSION,
                            version < STORE_SCHEMA_VERSION
                                ? " (open it read-write once, e.g. by ingesting, to upgrade)"
                                : "");
    return 0;
}

/*
 * After each commit of this connection, with the pages now in the WAL. Past
 * STORE_WAL_CHECKPOINT_PAGES it checkpoints in RESTART mode: that waits (the busy timeout at
 * most) for the readers still on older snapshots to finish, so that the next commit writes
 * the WAL from its start again. The PASSIVE checkpoint that wal_autocheckpoint runs instead
 * never waits: with the server reading all the time, a reader mostly held the snapshot of
 * the commit before, the copy stopped short of the end and the WAL restarted late or not at
 * all, growing past one batch over the threshold (it_faults: 160 MiB for 200,000 lines).
 * The wait holds off other writers, not readers: a new reader reads the database file
 * alone once the checkpoint has copied everything.
 */
static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
    store_t *st = arg;

    if (pages < STORE_WAL_CHECKPOINT_PAGES)
        return SQLITE_OK;
    if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_RESTART, NULL, NULL) != SQLITE_OK)
        /* a reader or another writer outlasted the busy timeout: the next commit tries again */
        log_msg(LOG_LEVEL_DEBUG, "store", "%s: checkpoint after a commit: %s", st->path,
                sqlite3_errmsg(db));
    /* the commit itself succeeded whatever the checkpoint did */
    return SQLITE_OK;
}

static int configure(store_t *st)
{
    sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(st->db, 1);
    if (st->mode == STORE_READ_WRITE && check_foreign_atomic(st) != 0)
        return -1;
    if (st->mode == STORE_READ_ONLY)
        /*
         * 8 MiB of pages: the upper levels of tx_keys at ten million rows, so that a
         * partition's seek reads its leaf alone (bench/RESULTS.md, query times).
         */
        return exec(st, "PRAGMA query_only = ON; PRAGMA cache_size = -8192;", "setting pragmas");
    /*
     * WAL lets the server's readers run while the ingester writes; NORMAL sync is durable
     * across application crashes and loses at most the last commits on power loss; the
     * size limit truncates the WAL when it restarts, so that its file stays bounded. The
     * checkpoints are on_wal_commit's, not wal_autocheckpoint's (a pragma that would
     * replace the hook, so it is not set).
     */
    if (exec_retry(st,
                   "PRAGMA journal_mode = WAL;"
                   "PRAGMA synchronous = NORMAL;"
                   "PRAGMA journal_size_limit = 67108864;"
                   "PRAGMA foreign_keys = ON;"
                   "PRAGMA cache_size = -65536;"
                   "PRAGMA temp_store = MEMORY;",
                   "setting pragmas") != 0)
        return -1;
    sqlite3_wal_hook(st->db, on_wal_commit, st);
    return 0;
}

/* SQLite's reasons behind which the path hides the cause: a folder, a mount, a permission. */
static int path_may_explain(store_t *st)
{
    int code = st->err_code & 0xff;

    return code == SQLITE_CANTOPEN || code == SQLITE_IOERR || code == SQLITE_READONLY ||
           code == SQLITE_PERM;
}

static int open_db(store_t *st)
{
    int flags = SQLITE_OPEN_NOMUTEX, rc;
    struct stat sb;

    if (st->mode == STORE_READ_ONLY) {
        /* SQLite's own message for a missing file is "unable to open database file" */
        if (stat(st->path, &sb) != 0) {
            int e = errno;
            if (store__explain_open(st))
                return -1;
            return store__failf(st, "cannot open the database read-only: %s", strerror(e));
        }
        flags |= SQLITE_OPEN_READONLY;
    } else {
        if (make_parent_dirs(st) != 0)
            return -1;
        flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    }
    /* the open itself is lazy: most of these causes show at the first read */
    if (sqlite3_open_v2(st->path, &st->db, flags, NULL) != SQLITE_OK)
        rc = store__fail(st, "cannot open the database");
    else if (configure(st) != 0)
        rc = -1;
    else
        rc = st->mode == STORE_READ_ONLY ? check_schema(st) : apply_schema(st);
    if (rc != 0 && path_may_explain(st))
        store__explain_open(st);
    return rc;
}

int store_open(store_t **out, const char *path, store_mode_t mode, char *err, size_t errlen)
{
    store_t *st = calloc(1, sizeof(*st));
    int rc = -1;

    *out = NULL;
    if (st == NULL || (st->path = strdup(path)) == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    st->mode = mode;
    if (path[0] == '\0') {
        store__failf(st, "empty database path");
        goto out;
    }
    if (open_db(st) != 0)
        goto out;
    *out = st;
    st = NULL;
    rc = 0;
out:
    if (st != NULL) {
        if (st->path != NULL)
            snprintf(err, errlen, "%s", st->err);
        store_close(st);
    }
    return rc;
}

void store_close(store_t *st)
{
    if (st == NULL)
        return;
    for (int i = 0; i < STORE_Q_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    for (size_t i = 0; i < st->npart_stmt; i++)
        sqlite3_finalize(st->part_stmt[i]);
    free(st->part_stmt);
    free(st->keys);
    sqlite3_close_v2(st->db);
    free(st->rawbuf);
    free(st->path);
    free(st);
}

int store_healthy(store_t *st)
{
    int version = 0;

    if (read_user_version(st, &version) != 0)
        return 0;
    if (version != STORE_SCHEMA_VERSION) {
        store__failf(st, "schema version %d, this build needs %d", version, STORE_SCHEMA_VERSION);
        return 0;
    }
    return 1;
}

static int run_simple(store_t *st, store_q_t q, const char *what)
{
    sqlite3_stmt *s = store__stmt(st, q);
    int rc;

    if (s == NULL)
        return -1;
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store__fail(st, what);
    return 0;
}

int store_begin(store_t *st)
{
    return run_simple(st, STORE_Q_BEGIN, "starting a transaction");
}

int store_commit(store_t *st)
{
    if (store__flush_keys(st) != 0 || run_simple(st, STORE_Q_COMMIT, "committing") != 0) {
        /* a failed COMMIT can leave the transaction open (SQLITE_BUSY): end it */
        store_rollback(st);
        return -1;
    }
    return 0;
}

void store_rollback(store_t *st)
{
    sqlite3_stmt *s;

    st->nkeys = 0;
    st->nheld = 0;
    if (sqlite3_get_autocommit(st->db))
        return;
    /* the error message of the failure that led here is kept for the caller */
    s = st->stmt[STORE_Q_ROLLBACK];
    if (s == NULL && sqlite3_prepare_v3(st->db, store__sql(STORE_Q_ROLLBACK), -1,
                                        SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
        return;
    st->stmt[STORE_Q_ROLLBACK] = s;
    sqlite3_step(s);
    sqlite3_reset(s);
}

int store_optimize(store_t *st)
{
    int rc;

    if (exec_retry(st, "PRAGMA optimize", "PRAGMA optimize") != 0) {
        if (!failed_busy(st))
            return -1;
        /* another ingest kept writing all along: it optimizes after its own load */
        log_msg(LOG_LEVEL_DEBUG, "store",
                "%s: skipped optimizing after the load: another process is writing", st->path);
    }
    /*
     * TRUNCATE leaves an empty WAL file behind the load: the server keeps the database
     * open, so the file is not removed, and would otherwise stay as large as the load left
     * it (up to journal_size_limit and more) until the next load. It waits for other
     * writers and for readers on older snapshots, for STORE_FINAL_CHECKPOINT_MS at most,
     * not the busy timeout: a load that failed on a lock must not wait for it twice. BUSY
     * leaves the WAL to the next checkpoint.
     */
    sqlite3_busy_timeout(st->db, STORE_FINAL_CHECKPOINT_MS);
    rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
    if (rc != SQLITE_OK) {
        if (!failed_busy(st))
            return store__fail(st, "checkpoint");
        log_msg(LOG_LEVEL_DEBUG, "store",
                "%s: the WAL stays after the load: another process is writing or reading",
                st->path);
    }
    return 0;
}

static int on_progress(void *arg)
{
    store_t *st = arg;

    if (util_monotonic_ms() < st->deadline_ms)
        return 0;
    st->interrupted = 1;
    return 1;
}

void store_set_deadline(store_t *st, int64_t deadline_ms)
{
    /* interrupted is left alone: callers clear the deadline before asking why a query failed */
    st->deadline_ms = deadline_ms;
    if (deadline_ms == 0)
        sqlite3_progress_handler(st->db, 0, NULL, NULL);
    else
        sqlite3_progress_handler(st->db, STORE_PROGRESS_STEPS, on_progress, st);
}

int store_interrupted(store_t *st)
{
    return st->interrupted;
}
