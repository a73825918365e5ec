/*
 * watch.h - following a spool folder: every file in it loaded as it appears and grows.
 *
 * Appliances push their access logs into a folder (SCP, FTP) and rotate them there. The
 * watcher lists the folder every poll and hands each new or changed file to load_source,
 * which knows every source by its head bytes and resumes it at its committed offset: a
 * renamed file continues its source, a copy reads nothing twice, and a restart resumes
 * mid-file. What the watcher keeps in memory is only a cache of what it saw last; the
 * truth across restarts is the store.
 */
#ifndef WSA_WATCH_H
#define WSA_WATCH_H

#include <signal.h>
#include <stddef.h>
#include "load.h"
#include "store.h"

#define WATCH_DEFAULT_POLL_MS 1000
#define WATCH_MAX_POLL_MS     3600000

typedef struct watch_opts {
    const char *dir;         /* the spool folder */
    const load_opts_t *load; /* for every file (its stop and fatal fields are the watcher's) */
    int poll_ms;             /* between two listings; 0 means WATCH_DEFAULT_POLL_MS */
    /* set by a SIGINT/SIGTERM handler installed without SA_RESTART: the run ends after the
     * batch being committed, and a poll's sleep ends at once */
    volatile sig_atomic_t *stop;
    /*
     * The database, or NULL: a folder entry that is it or one of its -wal, -shm and
     * -journal files (a symbolic or hard link to it) is never read, as watch_check_dir
     * cannot see such a link. Read, the database's stored raw lines came back as new rows,
     * each growing it and so changing the entry again.
     */
    const char *db_path;
} watch_opts_t;

/**
 * Checks that `dir` is a folder that can be listed and that the database at `db_path`
 * (which need not exist yet) is not in it: the watcher would read the database as a log.
 * Returns 0, or -1 with the reason in `err` ("spool: No such file or directory").
 */
int watch_check_dir(const char *dir, const char *db_path, char *err, size_t errlen);

/**
 * Follows the folder until *o->stop is set. Every poll, each regular file in it that is new
 * or changed (size, modification time or inode) is loaded, the least recently modified
 * first, so that rotated files are read before the live one. Skipped: hidden names,
 * names ending in .tmp, .part, .filepart or .swp (files still being transferred),
 * entries that are not regular files, and links to the database (o->db_path). A file that cannot be
 * read is logged at WARN once until it changes again, and the others go on. A plain file whose last
 * line had no newline yet is loaded again once it has settled (LOAD_SETTLE_S), changed or not. Adds
 * every load to `counts`. Returns 0 when stopped, -1 when the database failed (message in `err`;
 * everything committed stays).
 */
int watch_run(store_t *st, const watch_opts_t *o, load_counts_t *counts, char *err, size_t errlen);

#endif
