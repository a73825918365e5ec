/*
 * load.h - feeding log sources into the store: reading, parsing, batching, bookkeeping.
 */
#ifndef WSA_LOAD_H
#define WSA_LOAD_H

#include <signal.h>
#include <stdint.h>
#include "store.h"

/*
 * A regular file modified less than this many seconds ago may still be written, so its
 * unterminated last line is left for the next run. An appliance writes each line in one
 * go, so a file untouched for a minute is finished and its last line is complete.
 */
#define LOAD_SETTLE_S 60

typedef struct load_counts {
    /* read = stored + warned + rejected + skipped */
    int64_t read;     /* lines read from the input in this run */
    int64_t stored;   /* transactions added without a parse warning */
    int64_t warned;   /* transactions added with a parse warning */
    int64_t rejected; /* added to the rejects table */
    int64_t skipped;  /* not access records, blank, or already present */
} load_counts_t;

/** Adds each count of `c` to `to` (a batch's to a run's, a file's to a watcher's). */
void load_counts_add(load_counts_t *to, const load_counts_t *c);

typedef struct load_opts {
    const char *appliance; /* forced appliance name, or NULL: syslog host, else "default" */
    int batch_lines;       /* lines per transaction; 0 means the default */
    /*
     * INGEST_FORMAT_AUTO (0): a source whose first line is a #Version: or #Fields:
     * directive is W3C, any other is native; INGEST_FORMAT_W3C forces W3C for a stream
     * that starts mid-file. A W3C file resumed part-way has its #Fields: line read again.
     */
    ingest_format_t format;
    /* when not NULL and set (by a signal handler), the load stops after its current batch
     * is committed and returns 0: the rest is read next time, from there */
    volatile sig_atomic_t *stop;
    /* when not NULL, set to 1 when the load fails for a reason that is not the input's (the
     * database, or memory): a caller with other inputs to load should stop too */
    int *fatal;
    /*
     * When set, a path that is not a regular file is refused without waiting: the spool
     * watcher lists a file and opens it later, and a FIFO put in its place by then would
     * hold open() until some writer came (the command line waits for one, as asked).
     */
    int regular_only;
} load_opts_t;

/**
 * Loads one source: `path` is a file, or "-" for stdin. Lines before the source's committed
 * offset are not read again; an early copy of a source reads nothing (store.h). A regular
 * file is read up to the size it had when opened, and its unterminated last line is left
 * for a later run while the file was modified less than a minute ago (said at INFO on
 * stderr). Adds to `counts`. Returns 0 when the whole input was read (apart from such a
 * line) or opts->stop stopped it, -1 when an error stopped it (message in `err`; everything
 * committed before stays).
 */
int load_source(store_t *st, const char *path, const load_opts_t *opts, load_counts_t *counts,
                char *err, size_t errlen);

#endif
