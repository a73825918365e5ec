/*
 * jwks_priv.h - what the key set cache (jwks.c) and its fetch thread (jwks_fetch.c) share.
 *
 * Every field of a source but `name` and `url` is guarded by jwks->mu. The thread takes
 * queued sources from jwks->jobs, fetches them without the lock, and hands each result to
 * jwks_source_done, which updates the source and notifies the subscribers.
 */
#ifndef WSA_JWKS_PRIV_H
#define WSA_JWKS_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include "jwks.h"

#define JWKS_MAX_SUBSCRIBERS 256
/* sources are created only for allowed hosts, so the allowlist's own cap bounds the table */
#define JWKS_MAX_SOURCES CFG_JWKS_HOSTS_MAX
#define JWKS_REASON_LEN  256

typedef struct jwks_source {
    char *name;       /* the lower-cased jwks_host; "" for the configured override */
    char *url;        /* the URL fetched; NULL when the keys come from cfg->jwks_file */
    jwks_set_t *set;  /* the keys of the last successful fetch; NULL before one */
    int64_t set_ms;   /* when `set` was fetched */
    int64_t ended_ms; /* when the last fetch ended, success or failure */
    int ended;        /* a fetch has ended at least once (ended_ms is valid) */
    int fetching;     /* queued for the thread or running */
    int failed;       /* the last fetch failed */
    struct jwks_source *next;
    struct jwks_source *next_job;
} jwks_source_t;

struct jwks {
    const cfg_t *cfg;
    pthread_mutex_t mu;
    jwks_source_t *sources;
    size_t nsources;
    jwks_source_t *jobs; /* queued fetches the thread has not taken yet */
    int subs[JWKS_MAX_SUBSCRIBERS];
    size_t nsubs;
    unsigned long fetches;
    atomic_int stopping; /* read without the lock by libcurl's progress callback */
    void *multi;         /* the thread's CURLM */
    pthread_t thread;
    int thread_started;
};

/**
 * Records the end of a fetch of `src`: `set` (owned from now on) on success, or NULL with
 * `reason` on failure. Logs the outcome, then notifies every subscriber.
 */
void jwks_source_done(jwks_t *jwks, jwks_source_t *src, jwks_set_t *set, size_t skipped,
                      int64_t started_ms, const char *reason);

/** Reads and parses cfg->jwks_file: a set, or NULL with a reason in `err`. */
jwks_set_t *jwks_read_file(const char *path, size_t *skipped, char *err, size_t errlen);

/** Starts the fetch thread; -1 with a reason in `err`. */
int jwks_fetch_start(jwks_t *jwks, char *err, size_t errlen);

/** Wakes the thread up: a job was queued, or the cache is stopping. */
void jwks_fetch_wake(jwks_t *jwks);

/** Joins the thread (after jwks->stopping was set and the thread woken). */
void jwks_fetch_join(jwks_t *jwks);

#endif
