/*
 * load.c - feeding one source into the store: identity, resume, parse, batch, bookkeeping.
 *
 * Every batch is one SQLite transaction that also records how far the source got, so a
 * crash never loses or repeats a committed line: the next run resumes at that offset.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "load.h"
#include "load_reader.h"

#define LOAD_DEFAULT_BATCH 5000
#define APPLIANCE_CACHE    16
#define APPLIANCE_NAME_MAX 256
#define REASON_LEN         256

typedef struct appliance_slot {
    char name[APPLIANCE_NAME_MAX];
    int64_t id;
} appliance_slot_t;

typedef struct load_run {
    store_t *st;
    const char *path;
    const load_opts_t *opts;
    int fd;
    int is_stdin; /* path \"-\" */
    int is_file;  /* a regular file: has an identity and a size */
    int64_t size; /* of the file when opened */
    store_source_t src;
    load_reader_t reader;
    ingest_parser_t *parser;
    load_counts_t batch; /* counts of the open batch, added to the caller's at commit */
    appliance_slot_t cache[APPLIANCE_CACHE];
    int ncache, next_slot;
    char *err;
    size_t errlen;
} load_run_t;

static int fail(load_run_t *r, const char *what, const char *why)
{
    snprintf(r->err, r->errlen, "%s: %s%s%s", r->path, what, why != NULL ? ": " : "",
             why != NULL ? why : "");
    return -1;
}

static int fail_store(load_run_t *r)
{
    return fail(r, "database", store_errmsg(r->st));
}

/* The appliance of a line: forced by the caller, else its syslog host, else "default". */
static int appliance_of(load_run_t *r, const ingest_rec_t *rec, int64_t *id)
{
    const char *name = r->opts->appliance;
    appliance_slot_t *slot;

    if (name == NULL || name[0] == '\0')
        name =
            rec->syslog_host != NULL && rec->syslog_host[0] != '\0' ? rec->syslog_host : "default";
    for (int i = 0; i < r->ncache; i++) {
        if (strcmp(r->cache[i].name, name) == 0) {
            *id = r->cache[i].id;
            return 0;
        }
    }
    if (store_appliance_id(r->st, name, id) != 0)
        return fail_store(r);
    if (strlen(name) >= APPLIANCE_NAME_MAX)
        return 0;
    if (r->ncache < APPLIANCE_CACHE) {
        slot = &r->cache[r->ncache++];
    } else {
        slot = &r->cache[r->next_slot];
        r->next_slot = (r->next_slot + 1) % APPLIANCE_CACHE;
    }
    snprintf(slot->name, sizeof(slot->name), "%s", name);
    slot->id = *id;
    return 0;
}

static int add_reject(load_run_t *r, const load_line_t *line, const char *reason)
{
    int added = store_add_reject(r->st, r->src.id, line->offset, line->data, line->len, reason);

    if (added < 0)
        return fail_store(r);
    if (added > 0) {
        r->batch.rejected++;
        r->src.rejects++;
    } else {
        r->batch.skipped++;
    }
    return 0;
}

static int add_access(load_run_t *r, const load_line_t *line, const ingest_rec_t *rec)
{
    int64_t appliance_id;
    int added;

    if (appliance_of(r, rec, &appliance_id) != 0)
        return -1;
    added = store_add_txn(r->st, r->src.id, line->offset, appliance_id, rec, line->data, line->len);
    if (added < 0)
        return fail_store(r);
    if (added == 0)
        r->batch.skipped++;
    else if (rec->warnings != 0)
        r->batch.warned++;
    else
        r->batch.stored++;
    return 0;
}

static int handle_line(load_run_t *r, const load_line_t *line)
{
    char reason[REASON_LEN];
    ingest_rec_t rec;
    int rc = 0;

    r->batch.read++;
    r->src.lines++;
    if (line->full > (int64_t)line->len) {
        snprintf(reason, sizeof(reason),
                 "line of %" PRId64 " bytes is longer than the limit of %d bytes (first %d kept)",
                 line->full, LOAD_MAX_LINE, LOAD_MAX_LINE);
        return add_reject(r, line, reason);
    }
    memset(&rec, 0, sizeof(rec));
    reason[0] = '\0';
    switch (ingest_parse_line(r->parser, line->data, line->len, &rec, reason, sizeof(reason))) {
    case INGEST_LINE_ACCESS:
        rc = add_access(r, line, &rec);
        break;
    case INGEST_LINE_REJECT:
        rc = add_reject(r, line, reason[0] != '\0' ? reason : "not a valid access record");
        break;
    case INGEST_LINE_SKIP:
    default:
        r->batch.skipped++;
        break;
    }
    return rc;
}

static void add_counts(load_counts_t *to, const load_counts_t *c)
{
    to->read += c->read;
    to->stored += c->stored;
    to->warned += c->warned;
    to->rejected += c->rejected;
    to->skipped += c->skipped;
}

/* Records the source's progress in the batch's own transaction and commits both. */
static int finish_batch(load_run_t *r, load_counts_t *counts)
{
    r->src.offset = r->reader.pos;
    r->src.size = r->is_file && r->size > r->src.offset ? r->size : r->src.offset;
    if (store_source_update(r->st, &r->src) != 0 || store_commit(r->st) != 0)
        return fail_store(r);
    add_counts(counts, &r->batch);
    memset(&r->batch, 0, sizeof(r->batch));
    return 0;
}

static int read_all(load_run_t *r, load_counts_t *counts)
{
    int batch_lines = r->opts->batch_lines > 0 ? r->opts->batch_lines : LOAD_DEFAULT_BATCH;
    int in_batch = 0, n = 0;
    load_line_t line;

    for (;;) {
        int got = load_reader__next(&r->reader, &line);
        if (got < 0) {
            fail(r, "read error", strerror(errno));
            goto fail;
        }
        if (got == 0)
            break;
        if (!in_batch) {
            if (store_begin(r->st) != 0) {
                fail_store(r);
                goto fail;
            }
            in_batch = 1;
        }
        if (handle_line(r, &line) != 0)
            goto fail;
        if (++n >= batch_lines) {
            in_batch = 0;
            n = 0;
            if (finish_batch(r, counts) != 0)
                goto fail;
        }
    }
    if (in_batch && finish_batch(r, counts) != 0)
        goto fail;
    return 0;
fail:
    /* what was committed stays; the open batch goes, and its lines are read again next time */
    store_rollback(r->st);
    return -1;
}

/* Opens the input and finds its source; 1 when there is something to read, 0 when empty. */
static int open_source(load_run_t *r)
{
    unsigned char prefix[STORE_SOURCE_PREFIX];
    struct stat sb;
    ssize_t got;
    size_t want;

    r->is_stdin = strcmp(r->path, "-") == 0;
    if (r->is_stdin) {
        r->fd = STDIN_FILENO;
    } else if ((r->fd = open(r->path, O_RDONLY | O_CLOEXEC)) < 0) {
        return fail(r, "cannot open", strerror(errno));
    }
    if (fstat(r->fd, &sb) != 0)
        return fail(r, "cannot stat", strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return fail(r, "is a folder, not a log file", NULL);
    /*
     * stdin has no identity even when it is a regular file (its name is unknown and what
     * reaches it may differ every run); a pipe or FIFO cannot be read twice either
     */
    if (r->is_stdin || !S_ISREG(sb.st_mode)) {
        if (store_source_open(r->st, r->is_stdin ? "stdin" : r->path, NULL, 0, &r->src) != 0)
            return fail_store(r);
        return 1;
    }
    r->is_file = 1;
    r->size = (int64_t)sb.st_size;
    if (r->size == 0)
        return 0;
    want = r->size < STORE_SOURCE_PREFIX ? (size_t)r->size : STORE_SOURCE_PREFIX;
    got = pread(r->fd, prefix, want, 0);
    if (got < 0)
        return fail(r, "read error", strerror(errno));
    if (got >= 2 && prefix[0] == 0x1f && prefix[1] == 0x8b)
        return fail(r,
                    "gzip-compressed input is not read; decompress it first (zcat FILE | "
                    "wsa-relay ingest -)",
                    NULL);
    if (store_source_open(r->st, r->path, prefix, (size_t)got, &r->src) != 0)
        return fail_store(r);
    if (lseek(r->fd, (off_t)r->src.offset, SEEK_SET) < 0)
        return fail(r, "cannot seek to the offset reached before", strerror(errno));
    return r->src.offset < r->size;
}

int load_source(store_t *st, const char *path, const load_opts_t *opts, load_counts_t *counts,
                char *err, size_t errlen)
{
    static const load_opts_t no_opts = {0};
    load_run_t r = {.st = st,
                    .path = path,
                    .opts = opts != NULL ? opts : &no_opts,
                    .fd = -1,
                    .err = err,
                    .errlen = errlen};
    int rc = -1, ready;

    if ((ready = open_source(&r)) < 0)
        goto out;
    if (ready == 0) {
        rc = 0;
        goto out;
    }
    if (load_reader__init(&r.reader, r.fd, r.src.offset) != 0 ||
        (r.parser = ingest_parser_new()) == NULL) {
        fail(&r, "out of memory", NULL);
        goto out;
    }
    rc = read_all(&r, counts);
out:
    if (r.parser != NULL)
        ingest_parser_free(r.parser);
    load_reader__free(&r.reader);
    if (r.fd >= 0 && !r.is_stdin)
        close(r.fd);
    return rc;
}
