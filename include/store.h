/*
 * store.h - the tracking database (SQLite, WAL mode).
 *
 * One store_t is one connection and is used by one thread at a time: each server worker
 * opens its own read-only store; the ingester opens a read-write one. The schema lives in
 * schema/tracking.sql and is applied when a read-write store opens (PRAGMA user_version).
 */
#ifndef WSA_STORE_H
#define WSA_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "ingest.h"
#include "obs.h"

#define STORE_ERR_LEN 256

typedef struct store store_t;

typedef enum {
    STORE_READ_ONLY = 0,  /* the database must exist with the current schema */
    STORE_READ_WRITE = 1, /* created (with its folder) when missing; schema applied */
} store_mode_t;

/**
 * Opens the database at `path`. Returns 0, or -1 with a message in `err` (the path and
 * SQLite's reason, e.g. "var/x.db: unable to open database file").
 */
int store_open(store_t **out, const char *path, store_mode_t mode, char *err, size_t errlen);
void store_close(store_t *st);

/** The schema version this build writes and reads. */
int store_schema_version(void);

/** 1 when the database is readable and its user_version is the current one, else 0. */
int store_healthy(store_t *st);

/** The last error message of this connection. */
const char *store_errmsg(store_t *st);

/*
 * Ingest side (read-write stores).
 */

/** Batches: everything between begin and commit is one SQLite transaction. */
int store_begin(store_t *st);
int store_commit(store_t *st);
void store_rollback(store_t *st);

/** The id of an appliance by name, created when new. */
int store_appliance_id(store_t *st, const char *name, int64_t *id);

/*
 * A source of lines. A file is recognised by its head, its first bytes (up to
 * STORE_SOURCE_PREFIX): it matches a source when the shorter of the two heads is a prefix of
 * the longer, so a rename, a copy, a grown file and an early copy of a grown file are all
 * the same source. A head match alone is not enough once lines were committed: the source
 * also keeps a fingerprint of the bytes just before its offset (STORE_SOURCE_TAIL of them),
 * and a file whose bytes there differ is a different file and a new source, so nothing is
 * skipped that was not stored. stdin has no identity and gets a fresh source every run.
 */
#define STORE_SOURCE_PREFIX 1024
#define STORE_SOURCE_TAIL   1024
#define STORE_FINGERPRINT   32 /* a SHA-256 */

typedef struct store_source {
    int64_t id;
    int64_t offset; /* bytes of the source already committed (lines stored, rejected or skipped) */
    int64_t lines;
    int64_t rejects;
    int64_t size; /* bytes the source had when last read (the file size; stdin: bytes read) */
    /* files: the SHA-256 of the min(offset, STORE_SOURCE_TAIL) bytes that end at offset */
    int has_tail;
    unsigned char tail[STORE_FINGERPRINT];
} store_source_t;

/* What the loader knows of a file when it looks for its source. */
typedef struct store_probe {
    const unsigned char *head; /* the first head_len bytes */
    size_t head_len;           /* min(size, STORE_SOURCE_PREFIX) */
    int64_t size;
    /* Reads exactly `len` bytes at `offset` (offset + len <= size): 0, or -1 with errno set
     * (ENODATA when the file ended early). */
    int (*read_at)(void *ctx, int64_t offset, void *buf, size_t len);
    void *ctx;
} store_probe_t;

/**
 * Finds the source of a file, or adds it; `name` is for display (the path as given). A
 * NULL probe means stdin: always a new source. A file that matches a source's head and
 * reproduces its fingerprint continues it (out->offset <= probe->size: read on from
 * there). A file shorter than the offset of a source whose head it matches is an early
 * copy of it (out->offset > probe->size: nothing to read), unless the last line stored
 * for that source within the file's length differs from the file's bytes there: then it
 * is another file. Returns 0, or -1 (message in store_errmsg).
 */
int store_source_open(store_t *st, const char *name, const store_probe_t *probe,
                      store_source_t *out);

/**
 * The fingerprint of a file at `at` (0 <= at <= probe->size): the SHA-256 of the
 * min(at, STORE_SOURCE_TAIL) bytes that end there. 0, or -1 with errno set.
 */
int store_source_fingerprint(const store_probe_t *probe, int64_t at,
                             unsigned char md[STORE_FINGERPRINT]);

/**
 * Records how far a source got, and for a file the fingerprint of the bytes before that
 * offset (when has_tail); call inside the batch that stored those lines.
 */
int store_source_update(store_t *st, const store_source_t *src);

/**
 * Adds one transaction identified by (source, offset). `raw` is the line as read. Returns
 * 1 when added, 0 when that (source, offset) was already present, -1 on error.
 */
int store_add_txn(store_t *st, int64_t source_id, int64_t offset, int64_t appliance_id,
                  const ingest_rec_t *rec, const char *raw, size_t rawlen);

/** Adds a rejected line with its reason; same return values as store_add_txn. */
int store_add_reject(store_t *st, int64_t source_id, int64_t offset, const char *raw, size_t rawlen,
                     const char *reason);

/** Runs PRAGMA optimize and a WAL checkpoint after a bulk load. */
int store_optimize(store_t *st);

/*
 * Administration (store_admin.c): what `wsa-relay appliances` and `wsa-relay rejects` show
 * and do.
 */

/* One appliance with its rows; later counters (datagrams lost on the way) go here too. */
typedef struct store_appliance_info {
    int64_t id;
    const char *name; /* valid during the callback */
    int64_t rows;     /* transactions naming it */
    int64_t last_ms;  /* time of its newest transaction; -1 when it has none */
    int64_t dropped;  /* UDP datagrams the kernel dropped on a syslog listener started for
                         this appliance alone (--appliance) */
} store_appliance_info_t;

typedef int (*store_appliance_cb)(const store_appliance_info_t *a, void *ctx);

/**
 * Calls `cb` for every appliance, sorted by name (bytewise). This counts every
 * transaction: it reads the whole table. A non-zero return from `cb` stops the walk.
 * Returns the number of appliances passed to `cb`, or -1 on error.
 */
int store_appliances(store_t *st, store_appliance_cb cb, void *ctx);

/*
 * Syslog listeners (store_syslog.c): what could not be stored, per listener address. A
 * dropped datagram never arrived, so its sender is unknown; a refused one came from a
 * sender outside the allowlist (refused connections count here too).
 */
typedef struct store_listener_info {
    const char *address; /* "udp://127.0.0.1:5514"; valid during the callback */
    int64_t dropped;
    int64_t refused;
    int64_t last_ms; /* when its counters last grew */
} store_listener_info_t;

typedef int (*store_listener_cb)(const store_listener_info_t *l, void *ctx);

/** Adds to a listener's counters (created when new); call inside a batch. 0 or -1. */
int store_listener_add(store_t *st, const char *address, int64_t dropped, int64_t refused);

/** Adds datagrams dropped on a listener that served only this appliance. 0 or -1. */
int store_appliance_add_dropped(store_t *st, int64_t appliance_id, int64_t dropped);

/** Calls `cb` for every listener with counters, by address. Count passed, or -1. */
int store_listeners(store_t *st, store_listener_cb cb, void *ctx);

/* One rejected line; pointers valid during the callback. */
typedef struct store_reject_info {
    int64_t id;
    int64_t source_id;
    const char *source_name; /* the source's path as last given ("stdin" for stdin) */
    int64_t offset;          /* of the line in its source */
    const char *reason;
    int64_t added_ms;
    const char *raw; /* the line's bytes as read, not NUL-terminated */
    size_t rawlen;
} store_reject_info_t;

typedef int (*store_reject_cb)(const store_reject_info_t *r, void *ctx);

/**
 * Calls `cb` for the newest `limit` rejected lines (by the time they were added, then the
 * latest added first). Returns the number passed to `cb`, or -1 on error.
 */
int store_rejects(store_t *st, int limit, store_reject_cb cb, void *ctx);

typedef struct store_retry_counts {
    int64_t retried;        /* rejected lines parsed again */
    int64_t moved;          /* now transactions; their reject rows are gone */
    int64_t still_rejected; /* kept, with the reason they were rejected for */
} store_retry_counts_t;

/**
 * Parses every rejected line again with the current parser (after an upgrade of it). A
 * line that now parses becomes the transaction of the same (source, offset), and its
 * reject row is deleted in the same SQLite transaction; one that still fails keeps its row
 * with its reason, and so does a line cut at the length limit. Lines are parsed as
 * native-format lines (a W3C line needs its file's #Fields: header). The
 * appliance is `appliance` when given, else the line's syslog host, else the appliance of
 * the nearest stored line of the same source, else "default". Adds to `counts`; returns
 * 0, or -1 (what was committed in earlier batches stays).
 */
int store_rejects_retry(store_t *st, const char *appliance, store_retry_counts_t *counts);

/*
 * Query side (any store).
 */

/* One transaction as the handlers see it; strings NULL when absent, valid during the callback. */
typedef struct store_row {
    int64_t id;
    int64_t time_ms;
    int64_t elapsed_ms;
    const char *appliance;
    const char *client_ip;
    const char *user_raw;
    const char *user_domain;
    const char *user_name;
    const char *method;
    const char *url;
    const char *host;
    const char *dest_ip;
    int dest_port;
    const char *result_code;
    int http_status;
    int64_t bytes;
    const char *mime;
    const char *acl_tag;
    const char *action; /* ingest_action_name() text */
    const char *access_policy;
    const char *category;
    const char *wbrs_raw;
    const char *threat_type;
    const char *avc_app;
    int amp_verdict; /* -1 when absent */
    const char *amp_threat_name;
    const char *amp_file_name;
    const char *sha256;
    const char *user_agent;
    const char *raw; /* the line, made valid UTF-8 */
    int malware;
    const char *source_name;
    int64_t offset;
    const char *user_realm;
} store_row_t;

typedef int (*store_row_cb)(const store_row_t *row, void *ctx);

/**
 * Calls `cb` for the newest transactions matching `o` (prepared with obs_prepare), newest
 * first, at most `limit` of them; sets *more when at least one more exists. A non-zero
 * return from `cb` stops the walk. Returns the number of rows passed to `cb`, or -1 on error
 * (including an interrupt at the deadline: see store_set_deadline).
 */
int store_sightings(store_t *st, const obs_t *o, int limit, store_row_cb cb, void *ctx, int *more);

/* The appliance's own evidence against an observable. */
typedef struct store_evidence {
    int disposition;    /* 2 malicious, 3 suspicious; 0 when none */
    int64_t latest_ms;  /* time of the latest evidence of that disposition */
    const char *reason; /* static text, e.g. "AMP file verdict malicious" */
} store_evidence_t;

typedef struct store_thresholds {
    double wbrs_block; /* WBRS at or below: malicious */
} store_thresholds_t;

/**
 * Looks for evidence newer than `since_ms`: for a sha256, an AMP verdict above 3 or a malware
 * block tag; for a url, WBRS at or below the block threshold or a malware block tag; for a
 * domain or hostname (the host exactly), WBRS at or below the block threshold. Other types
 * never have evidence. Returns 1 and fills `out` when found, 0 when not, -1 on error.
 */
int store_evidence(store_t *st, const obs_t *o, int64_t since_ms, const store_thresholds_t *th,
                   store_evidence_t *out);

/**
 * Makes queries on this connection give up (returning -1) once the monotonic clock passes
 * `deadline_ms` (util_monotonic_ms); 0 removes the deadline. store_interrupted() tells a
 * timeout from another error.
 */
void store_set_deadline(store_t *st, int64_t deadline_ms);
int store_interrupted(store_t *st);

#endif
