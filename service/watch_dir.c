/*
 * watch_dir.c - listing the spool folder and telling what changed since the last listing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "log.h"
#include "watch_priv.h"

/*
 * Transfer tools write under a temporary name and rename when done (scp -> .part files of
 * some servers, WinSCP .filepart, curl-style .tmp), and editors leave .swp files: none of
 * them is a finished log, and their bytes reappear under the final name.
 */
static int skipped_name(const char *name)
{
    static const char *const suffixes[] = {".tmp", ".part", ".filepart", ".swp"};
    size_t len = strlen(name);

    if (name[0] == '.')
        return 1;
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        size_t slen = strlen(suffixes[i]);
        if (len > slen && strcmp(name + len - slen, suffixes[i]) == 0)
            return 1;
    }
    return 0;
}

static int64_t ns_of(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * 1000000000 + (int64_t)ts->tv_nsec;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const watch_file_t *)a)->name, ((const watch_file_t *)b)->name);
}

/*
 * The first l->sorted entries are sorted by name, so that a folder of thousands of rotated
 * files costs a binary search per entry and poll; entries new in this pass follow them
 * until watch__scan sorts again.
 */
static watch_file_t *find_or_add(watch_list_t *l, const char *name)
{
    watch_file_t key = {.name = (char *)name}, *f;

    f = l->sorted > 0 ? bsearch(&key, l->v, l->sorted, sizeof(*l->v), by_name) : NULL;
    if (f != NULL)
        return f;
    if (l->n == l->cap) {
        size_t cap = l->cap > 0 ? l->cap * 2 : 16;
        watch_file_t *grown = realloc(l->v, cap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        l->v = grown;
        l->cap = cap;
    }
    f = &l->v[l->n];
    memset(f, 0, sizeof(*f));
    if ((f->name = strdup(name)) == NULL)
        return NULL;
    /* a new name always counts as changed, whatever its state */
    f->changed = 1;
    f->kind = WATCH_BROKEN;
    f->err = -1;
    l->n++;
    return f;
}

static const char *kind_text(mode_t mode)
{
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    return "not a regular file";
}

/* Takes one entry's state; says once what is wrong with an entry that cannot be loaded. */
static int note_entry(watch_list_t *l, const char *dir, int dfd, const char *name)
{
    watch_kind_t kind = WATCH_FILE, was;
    struct stat sb;
    watch_file_t *f;
    int err = 0;

    /* links are followed: a spool may hold links to logs kept elsewhere */
    if (fstatat(dfd, name, &sb, 0) != 0) {
        err = errno;
        /* gone between the listing and now: the next pass forgets it */
        if (err == ENOENT && fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
            return 0;
        memset(&sb, 0, sizeof(sb));
        kind = WATCH_BROKEN;
    } else if (S_ISDIR(sb.st_mode)) {
        return 0;
    } else if (!S_ISREG(sb.st_mode)) {
        kind = WATCH_OTHER;
    } else {
        for (int i = 0; i < l->ndb; i++)
            if (l->db[i].dev == sb.st_dev && l->db[i].ino == sb.st_ino)
                kind = WATCH_DB;
    }
    if ((f = find_or_add(l, name)) == NULL)
        return -1;
    was = f->kind;
    f->seen = 1;
    if (f->kind != kind || f->err != err || f->dev != sb.st_dev || f->ino != sb.st_ino ||
        f->size != (int64_t)sb.st_size || f->mtime_ns != ns_of(&sb.st_mtim) ||
        f->ctime_ns != ns_of(&sb.st_ctim)) {
        f->changed = 1;
        f->recheck_ms = 0;
    }
    f->kind = kind;
    f->err = err;
    f->dev = sb.st_dev;
    f->ino = sb.st_ino;
    f->size = (int64_t)sb.st_size;
    f->mtime_ns = ns_of(&sb.st_mtim);
    f->ctime_ns = ns_of(&sb.st_ctim);
    if (f->changed && kind == WATCH_BROKEN) {
        log_msg(LOG_LEVEL_WARN, "watch", "%s/%s: cannot stat: %s: skipped", dir, name,
                strerror(err));
        f->changed = 0;
    } else if (f->changed && kind == WATCH_OTHER) {
        log_msg(LOG_LEVEL_WARN, "watch", "%s/%s: %s, not a log file: skipped", dir, name,
                kind_text(sb.st_mode));
        f->changed = 0;
    } else if (f->changed && kind == WATCH_DB) {
        /* the database changes with every commit: said when the entry becomes one */
        if (was != WATCH_DB)
            log_msg(LOG_LEVEL_WARN, "watch",
                    "%s/%s: a link to the database or its journal: skipped", dir, name);
        f->changed = 0;
    }
    return 0;
}

/*
 * Sorts the list by name again. A name listed twice (readdir may return a file renamed
 * during the listing twice) is kept once: at worst it is loaded once more.
 */
static void sort_list(watch_list_t *l)
{
    size_t kept = 0;

    qsort(l->v, l->n, sizeof(*l->v), by_name);
    for (size_t i = 0; i < l->n; i++) {
        if (kept > 0 && strcmp(l->v[kept - 1].name, l->v[i].name) == 0) {
            free(l->v[i].name);
            continue;
        }
        l->v[kept++] = l->v[i];
    }
    l->n = kept;
    l->sorted = kept;
}

/* Drops the entries the last pass did not see. */
static void forget_unseen(watch_list_t *l)
{
    size_t kept = 0;

    for (size_t i = 0; i < l->n; i++) {
        if (!l->v[i].seen) {
            free(l->v[i].name);
            continue;
        }
        l->v[kept++] = l->v[i];
    }
    l->n = kept;
    sort_list(l);
}

int watch__scan(watch_list_t *l, const char *dir)
{
    struct dirent *de;
    DIR *d = opendir(dir);
    int rc = -1;

    if (d == NULL) {
        if (!l->dir_failed)
            log_msg(LOG_LEVEL_WARN, "watch",
                    "%s: cannot list the folder: %s (tried again every "
                    "poll)",
                    dir, strerror(errno));
        l->dir_failed = 1;
        return 0;
    }
    if (l->dir_failed)
        log_msg(LOG_LEVEL_INFO, "watch", "%s: the folder can be listed again", dir);
    l->dir_failed = 0;
    for (size_t i = 0; i < l->n; i++)
        l->v[i].seen = 0;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (skipped_name(de->d_name))
            continue;
        if (note_entry(l, dir, dirfd(d), de->d_name) != 0)
            goto out;
        errno = 0;
    }
    if (errno != 0) {
        /* a partial listing must not make the files it missed look gone */
        log_msg(LOG_LEVEL_WARN, "watch", "%s: listing the folder failed: %s", dir, strerror(errno));
        sort_list(l);
        rc = 0;
        goto out;
    }
    forget_unseen(l);
    rc = 0;
out:
    closedir(d);
    return rc;
}

static int by_age(const void *a, const void *b)
{
    const watch_file_t *x = *(watch_file_t *const *)a, *y = *(watch_file_t *const *)b;

    if (x->mtime_ns != y->mtime_ns)
        return x->mtime_ns < y->mtime_ns ? -1 : 1;
    return strcmp(y->name, x->name);
}

size_t watch__due(watch_list_t *l, int64_t now_ms, watch_file_t **out)
{
    size_t n = 0;

    for (size_t i = 0; i < l->n; i++) {
        watch_file_t *f = &l->v[i];
        if (f->kind == WATCH_FILE &&
            (f->changed || (f->recheck_ms != 0 && now_ms >= f->recheck_ms)))
            out[n++] = f;
    }
    qsort(out, n, sizeof(*out), by_age);
    return n;
}

void watch__list_free(watch_list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
    memset(l, 0, sizeof(*l));
}
