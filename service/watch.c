/*
 * watch.c - following a spool folder: the poll loop, the loads, the stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "watch.h"
#include "watch_priv.h"

static int64_t wall_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int watch_check_dir(const char *dir, const char *db_path, char *err, size_t errlen)
{
    char db_dir[PATH_MAX];
    struct stat ds, bs;
    const char *slash;
    int fd;

    if (stat(dir, &ds) != 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(ds.st_mode)) {
        snprintf(err, errlen, "%s: not a folder", dir);
        return -1;
    }
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        snprintf(err, errlen, "%s: cannot open the folder: %s", dir, strerror(errno));
        return -1;
    }
    close(fd);
    /* the database's folder, which exists when the database does */
    slash = strrchr(db_path, '/');
    if (slash == NULL)
        snprintf(db_dir, sizeof(db_dir), ".");
    else if (slash == db_path)
        snprintf(db_dir, sizeof(db_dir), "/");
    else
        snprintf(db_dir, sizeof(db_dir), "%.*s", (int)(slash - db_path), db_path);
    if (stat(db_dir, &bs) == 0 && bs.st_dev == ds.st_dev && bs.st_ino == ds.st_ino) {
        snprintf(err, errlen,
                 "%s: the database %s is in this folder, and would be read as a log: keep it "
                 "elsewhere",
                 dir, db_path);
        return -1;
    }
    return 0;
}

/* The loop's state: what every load of the run shares. */
typedef struct watch_loop {
    store_t *st;
    const watch_opts_t *o;
    char dir[PATH_MAX]; /* o->dir without trailing slashes, so that paths read well */
    load_opts_t lopts;  /* the caller's, with the watcher's stop, fatal and regular_only */
    int fatal;
    load_counts_t *counts;
    char *err;
    size_t errlen;
} watch_loop_t;

/*
 * load_source leaves the unterminated last line of a plain file modified less than
 * LOAD_SETTLE_S ago for later. When the writer completes it the file changes and is loaded
 * again; when the file was simply finished without a newline nothing changes, so the
 * watcher comes back once it has settled. `before_ms` is the clock before the load: the
 * loader saw the file at least that old. Returns when to come back, or 0.
 */
static int64_t recheck_time(const char *path, const watch_file_t *f, int64_t before_ms)
{
    int64_t settled = f->mtime_ns / 1000000 + (int64_t)LOAD_SETTLE_S * 1000, at = 0;
    unsigned char magic[2], last;
    struct stat sb;
    int fd;

    if (before_ms >= settled)
        return 0;
    if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
        return 0;
    /* a gzip file's last line is never left for later unless its data is damaged */
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
        !(pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) &&
        pread(fd, &last, 1, (off_t)sb.st_size - 1) == 1 && last != '\n')
        at = settled + 1000;
    close(fd);
    return at;
}

/*
 * The identities of the database's files that exist now: the -wal and -shm files come and
 * go, and a link in the folder to any of them must not be read (watch_opts_t.db_path).
 */
static void note_db_files(watch_list_t *l, const char *db_path)
{
    static const char *const suffixes[WATCH_DB_FILES] = {"", "-wal", "-shm", "-journal"};
    char path[PATH_MAX];
    struct stat sb;

    l->ndb = 0;
    for (int i = 0; db_path != NULL && i < WATCH_DB_FILES; i++) {
        if (snprintf(path, sizeof(path), "%s%s", db_path, suffixes[i]) >= (int)sizeof(path) ||
            stat(path, &sb) != 0)
            continue;
        l->db[l->ndb++] = (watch_id_t){.dev = sb.st_dev, .ino = sb.st_ino};
    }
}

/* Loads one file; -1 only when the run must end (the database failed). */
static int load_one(watch_loop_t *w, watch_file_t *f)
{
    load_counts_t c = {0};
    int64_t before = wall_ms();
    char path[PATH_MAX];

    f->changed = 0;
    f->recheck_ms = 0;
    if (snprintf(path, sizeof(path), "%s/%s", w->dir, f->name) >= (int)sizeof(path)) {
        log_msg(LOG_LEVEL_WARN, "watch", "%s/%s: path too long: skipped", w->dir, f->name);
        return 0;
    }
    w->fatal = 0;
    if (load_source(w->st, path, &w->lopts, &c, w->err, w->errlen) != 0) {
        load_counts_add(w->counts, &c);
        if (w->fatal)
            return -1;
        /* tried again only when the file changes, so this is said once per change */
        log_msg(LOG_LEVEL_WARN, "watch", "%s (tried again when the file changes)", w->err);
        return 0;
    }
    load_counts_add(w->counts, &c);
    log_msg(LOG_LEVEL_INFO, "watch",
            "%s: read=%" PRId64 " stored=%" PRId64 " warned=%" PRId64 " rejected=%" PRId64
            " skipped=%" PRId64,
            path, c.read, c.stored, c.warned, c.rejected, c.skipped);
    if (!*w->lopts.stop)
        f->recheck_ms = recheck_time(path, f, before);
    return 0;
}

/*
 * Sleeps one poll interval, or less when SIGINT/SIGTERM comes: the signals are blocked
 * while the flag is checked and unblocked only inside ppoll, so one that arrives between
 * the check and the sleep still ends the sleep.
 */
static void sleep_poll(const watch_opts_t *o, volatile sig_atomic_t *stop)
{
    int ms = o->poll_ms > 0 ? o->poll_ms : WATCH_DEFAULT_POLL_MS;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    sigset_t block, old;

    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &old);
    if (!*stop)
        ppoll(NULL, 0, &ts, &old);
    sigprocmask(SIG_SETMASK, &old, NULL);
}

int watch_run(store_t *st, const watch_opts_t *o, load_counts_t *counts, char *err, size_t errlen)
{
    static volatile sig_atomic_t never;
    watch_loop_t w = {.st = st, .o = o, .counts = counts, .err = err, .errlen = errlen};
    watch_list_t l = {0};
    watch_file_t **due = NULL;
    size_t due_cap = 0;
    int rc = -1;

    size_t len = strlen(o->dir);

    while (len > 1 && o->dir[len - 1] == '/')
        len--;
    if (len >= sizeof(w.dir)) {
        snprintf(err, errlen, "%.64s...: path too long", o->dir);
        return -1;
    }
    memcpy(w.dir, o->dir, len);
    w.dir[len] = '\0';
    if (o->load != NULL)
        w.lopts = *o->load;
    w.lopts.stop = o->stop != NULL ? o->stop : &never;
    w.lopts.fatal = &w.fatal;
    w.lopts.regular_only = 1;
    log_msg(LOG_LEVEL_INFO, "watch", "%s: following the folder, listed every %d ms", w.dir,
            o->poll_ms > 0 ? o->poll_ms : WATCH_DEFAULT_POLL_MS);
    while (!*w.lopts.stop) {
        size_t n;

        note_db_files(&l, o->db_path);
        if (watch__scan(&l, w.dir) != 0) {
            snprintf(err, errlen, "%s: out of memory", w.dir);
            goto out;
        }
        if (l.n > due_cap) {
            free(due);
            due_cap = l.cap;
            if ((due = malloc(due_cap * sizeof(*due))) == NULL) {
                snprintf(err, errlen, "%s: out of memory", w.dir);
                goto out;
            }
        }
        n = watch__due(&l, wall_ms(), due);
        for (size_t i = 0; i < n && !*w.lopts.stop; i++) {
            if (load_one(&w, due[i]) != 0)
                goto out;
        }
        if (!*w.lopts.stop)
            sleep_poll(o, w.lopts.stop);
    }
    rc = 0;
out:
    free(due);
    watch__list_free(&l);
    return rc;
}
