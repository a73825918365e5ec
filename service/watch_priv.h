/*
 * watch_priv.h - the spool watcher's view of its folder (watch_dir.c), shared with its loop
 * (watch.c).
 */
#ifndef WSA_WATCH_PRIV_H
#define WSA_WATCH_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum {
    WATCH_FILE = 0, /* a regular file (or a link to one): loaded */
    WATCH_OTHER,    /* a FIFO, socket or device: never opened, said once */
    WATCH_BROKEN,   /* cannot be stat'ed (a dangling link): said once */
    WATCH_DB,       /* the database or one of its files, through a link: said once */
} watch_kind_t;

/* The database's files by identity (watch_list_t.db), as a link in the folder would be. */
#define WATCH_DB_FILES 4

typedef struct watch_id {
    dev_t dev;
    ino_t ino;
} watch_id_t;

/* One folder entry as last listed. */
typedef struct watch_file {
    char *name;
    watch_kind_t kind;
    int err; /* WATCH_BROKEN: the errno of the stat */
    dev_t dev;
    ino_t ino;
    int64_t size;
    int64_t mtime_ns;
    int64_t ctime_ns;
    int changed;        /* differs from the state last acted on */
    int seen;           /* listed by the current pass */
    int64_t recheck_ms; /* load again at this wall-clock time although unchanged; 0: never */
} watch_file_t;

typedef struct watch_list {
    watch_file_t *v;
    size_t n, cap;
    size_t sorted;  /* v[0..sorted) is sorted by name (the rest is new in this pass) */
    int dir_failed; /* the folder could not be listed last time (said once) */
    watch_id_t db[WATCH_DB_FILES]; /* the database's files that exist, set before each scan */
    int ndb;
} watch_list_t;

/**
 * Lists `dir` into `l`: entries new or changed since the last pass get `changed`, entries
 * gone are forgotten. Names the watcher never reads are left out (watch.h). Returns 0, or
 * -1 when out of memory; a folder that cannot be listed is logged (once) and leaves the
 * list as it was.
 */
int watch__scan(watch_list_t *l, const char *dir);

/**
 * Fills `out` (room for l->n) with the regular files to load now: changed ones, and those
 * whose recheck time has come, least recently modified first (ties: the name sorting last
 * first, so access.log.2 before access.log.1 before access.log). Returns how many.
 */
size_t watch__due(watch_list_t *l, int64_t now_ms, watch_file_t **out);

void watch__list_free(watch_list_t *l);

#endif
