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
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "load.h"
#include "load_gz.h"
#include "load_reader.h"
#include "log.h"

/*
 * Lines per transaction. Each commit writes every page the batch touched, and a batch's
 * keys are spread over its partition's stretch of tx_keys (store_keys.c): 20,000 lines
 * loaded a third faster than 5,000 and as fast as 50,000 (bench/RESULTS.md), while a
 * crash re-reads at most this many.
 */
#define LOAD_DEFAULT_BATCH 20000
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
    int64_t size; /* of the file when opened; nothing past it is read in this run */
    /*
     * A gzip file is its decompressed bytes: sizes, offsets, head and fingerprints are all
     * in that stream, so a gzip copy of a plain file is the same source. One cursor reads
     * the lines, the other serves the identity checks; size is the bytes before any damage.
     */
    load_gz_t *gz;                /* the identity cursor, or NULL for a plain file */
    load_gz_t *gz_lines;          /* the reader's cursor */
    int gz_damaged;               /* the stream stops early: the run ends with an error */
    char gz_why[LOAD_GZ_WHY_LEN]; /* ... saying why */
    int64_t age_ms; /* since the file was last modified, when opened (negative: future) */
    unsigned char head[STORE_SOURCE_PREFIX];
    store_probe_t probe; /* the file as the store sees it */
    store_source_t src;
    load_reader_t reader;
    ingest_parser_t *parser;
    load_counts_t batch; /* counts of the open batch, added to the caller's at commit */
    appliance_slot_t cache[APPLIANCE_CACHE];
    int ncache, next_slot;
    char *host; /* a syslog host with its control characters replaced (printable_host) */
    size_t hostcap;
    char *err;
    size_t errlen;
} load_run_t;

static int fail(load_run_t *r, const char *what, const char *why)
{
    snprintf(r->err, r->errlen, "%s: %s%s%s", r->path, what, why != NULL ? ": " : "",
             why != NULL ? why : "");
    return -1;
}

/* Not the input's fault: a caller with other inputs to load gains nothing by going on. */
static int fail_fatal(load_run_t *r, const char *what, const char *why)
{
    if (r->opts->fatal != NULL)
        *r->opts->fatal = 1;
    return fail(r, what, why);
}

static int fail_store(load_run_t *r)
{
    return fail_fatal(r, "database", store_errmsg(r->st));
}

/*
 * A syslog host is whatever the line says, and the appliance name reaches every sighting
 * and the logs: a control character in it (a terminal escape, a stray byte) must not. Each
 * one (bytes below 0x20, and 0x7f) becomes '_' rather than the host being dropped for
 * "default": the rows still name the appliance apart from the others, recognisably.
 * NULL when out of memory.
 */
static const char *printable_host(load_run_t *r, const char *host)
{
    size_t len = strlen(host), i;

    for (i = 0; i < len; i++) {
        if ((unsigned char)host[i] < 0x20 || host[i] == 0x7f)
            break;
    }
    if (i == len)
        return host;
    if (len + 1 > r->hostcap) {
        char *grown = realloc(r->host, len + 1);
        if (grown == NULL)
            return NULL;
        r->host = grown;
        r->hostcap = len + 1;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)host[i];
        r->host[i] = c < 0x20 || c == 0x7f ? '_' : host[i];
    }
    r->host[len] = '\0';
    return r->host;
}

/* The appliance of a line: forced by the caller, else its syslog host, else "default". */
static int appliance_of(load_run_t *r, const ingest_rec_t *rec, int64_t *id)
{
    const char *name = r->opts->appliance;
    appliance_slot_t *slot;

    if (name == NULL || name[0] == '\0') {
        name = rec->syslog_host != NULL && rec->syslog_host[0] != '\0'
                   ? printable_host(r, rec->syslog_host)
                   : "default";
        if (name == NULL)
            return fail_fatal(r, "out of memory", NULL);
    }
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

void load_counts_add(load_counts_t *to, const load_counts_t *c)
{
    to->read += c->read;
    to->stored += c->stored;
    to->warned += c->warned;
    to->rejected += c->rejected;
    to->skipped += c->skipped;
}

/* Reads exactly `len` bytes of the file at `offset` (the store's probe callback). */
static int read_at(void *ctx, int64_t offset, void *buf, size_t len)
{
    load_run_t *r = ctx;
    size_t got = 0;

    if (r->gz != NULL)
        return load_gz__read_at(r->gz, offset, buf, len);
    while (got < len) {
        ssize_t n = pread(r->fd, (char *)buf + got, len - got, (off_t)offset + (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0) {
            /* the file was cut shorter than its size a moment ago */
            errno = ENODATA;
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}

static int fail_read(load_run_t *r)
{
    if (r->gz != NULL && load_gz__why(r->gz) != NULL)
        return fail(r, "gzip data damaged", load_gz__why(r->gz));
    return fail(r, "read error",
                errno == ENODATA ? "the file shrank while it was read" : strerror(errno));
}

/*
 * Whether a plain file still begins with the head it was recognised by. Copy and
 * truncation (logrotate's copytruncate) empties the file and the writer fills it again
 * while a load reads it: the lines read past that are the new content's, and stored under
 * the old content's source they were read a second time from both files once rotated
 * (it_watch). 1 when unchanged, 0 when rewritten, -1 on a read error.
 */
static int head_unchanged(load_run_t *r)
{
    unsigned char now[STORE_SOURCE_PREFIX];

    if (!r->is_file || r->gz != NULL || r->probe.head_len == 0)
        return 1;
    if (read_at(r, 0, now, r->probe.head_len) != 0)
        return errno == ENODATA ? 0 : -1;
    return memcmp(now, r->head, r->probe.head_len) == 0;
}

/* Records the source's progress in the batch's own transaction and commits both. */
static int finish_batch(load_run_t *r, load_counts_t *counts)
{
    int same = head_unchanged(r);

    if (same < 0)
        return fail_read(r);
    if (same == 0)
        return fail(r,
                    "the file was emptied and written again while it was read (copy and "
                    "truncation?)",
                    "this batch is read again from the file it is in now");
    r->src.offset = r->reader.pos;
    r->src.size = r->is_file && r->size > r->src.offset ? r->size : r->src.offset;
    r->src.has_tail = r->is_file && r->src.offset > 0;
    if (r->src.has_tail && store_source_fingerprint(&r->probe, r->src.offset, r->src.tail) != 0)
        return fail_read(r);
    if (store_source_update(r->st, &r->src) != 0 || store_commit(r->st) != 0)
        return fail_store(r);
    load_counts_add(counts, &r->batch);
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
            /* the rest is read next time, from the offset just committed */
            if (r->opts->stop != NULL && *r->opts->stop)
                return 0;
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

/* Milliseconds since the file was last modified; negative when its time is ahead of ours. */
static int64_t age_ms(const struct stat *sb)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return ((int64_t)now.tv_sec - (int64_t)sb->st_mtim.tv_sec) * 1000 +
           ((int64_t)now.tv_nsec - (int64_t)sb->st_mtim.tv_nsec) / 1000000;
}

/*
 * Opens a gzip file's cursors and measures its decompressed size by reading it whole
 * once: whether the source is continued or an early copy depends on it.
 */
static int open_gzip(load_run_t *r)
{
    int rc;

    if ((r->gz = load_gz__open(r->fd)) == NULL || (r->gz_lines = load_gz__open(r->fd)) == NULL)
        return fail_fatal(r, "out of memory", NULL);
    rc = load_gz__measure(r->gz, &r->size);
    if (rc < 0)
        return fail(r, "read error", strerror(errno));
    r->gz_damaged = rc > 0;
    if (r->gz_damaged)
        snprintf(r->gz_why, sizeof(r->gz_why), "%s", load_gz__why(r->gz));
    return 0;
}

/* Reads the head of a regular file and finds the source it belongs to. */
static int open_file_source(load_run_t *r, const struct stat *sb)
{
    store_probe_t *p = &r->probe;
    unsigned char magic[2];

    r->is_file = 1;
    r->size = (int64_t)sb->st_size;
    r->age_ms = age_ms(sb);
    if (r->size >= 2 && read_at(r, 0, magic, sizeof(magic)) != 0)
        return fail_read(r);
    if (r->size >= 2 && load_gz__is_gzip(magic, sizeof(magic)) && open_gzip(r) != 0)
        return -1;
    /* a gzip file with nothing before its damage has no identity, and nothing to read */
    if (r->size == 0)
        return 0;
    p->head = r->head;
    p->head_len = r->size < STORE_SOURCE_PREFIX ? (size_t)r->size : STORE_SOURCE_PREFIX;
    p->size = r->size;
    p->read_at = read_at;
    p->ctx = r;
    if (read_at(r, 0, r->head, p->head_len) != 0)
        return fail_read(r);
    if (store_source_open(r->st, r->path, p, &r->src) != 0)
        return fail_store(r);
    return 0;
}

/* Opens the input and finds its source; 1 when there is something to read, 0 when not. */
static int open_source(load_run_t *r)
{
    struct stat sb;

    r->is_stdin = strcmp(r->path, "-") == 0;
    if (r->is_stdin) {
        r->fd = STDIN_FILENO;
    } else if ((r->fd = open(r->path, O_RDONLY | O_CLOEXEC |
                                          (r->opts->regular_only ? O_NONBLOCK : 0))) < 0) {
        return fail(r, "cannot open", strerror(errno));
    }
    if (fstat(r->fd, &sb) != 0)
        return fail(r, "cannot stat", strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return fail(r, "is a folder, not a log file", NULL);
    if (r->opts->regular_only && !r->is_stdin && !S_ISREG(sb.st_mode))
        return fail(r, "not a regular file (a FIFO, socket or device): not read", NULL);
    /*
     * stdin has no identity even when it is a regular file (its name is unknown and what
     * reaches it may differ every run); a pipe or FIFO cannot be read twice either
     */
    if (r->is_stdin || !S_ISREG(sb.st_mode)) {
        if (store_source_open(r->st, r->is_stdin ? "stdin" : r->path, NULL, &r->src) != 0)
            return fail_store(r);
        return 1;
    }
    if (sb.st_size == 0)
        return 0;
    if (open_file_source(r, &sb) != 0)
        return -1;
    if (r->size == 0)
        return 0;
    if (r->src.offset > r->size) {
        log_msg(LOG_LEVEL_INFO, "ingest",
                "%s: an earlier copy of a source already loaded to byte %" PRId64
                " (this file has %" PRId64 " bytes): nothing to read",
                r->path, r->src.offset, r->size);
        return 0;
    }
    if (r->gz_lines != NULL) {
        /* a compressed stream is read from its start up to the offset */
        if (r->src.offset < r->size && load_gz__seek(r->gz_lines, r->src.offset) != 0)
            return fail_read(r);
    } else if (lseek(r->fd, (off_t)r->src.offset, SEEK_SET) < 0) {
        return fail(r, "cannot seek to the offset reached before", strerror(errno));
    }
    return r->src.offset < r->size;
}

/*
 * Limits a regular file's run to the bytes it had when opened, and holds its unterminated
 * last line back while the file may still be written, or when the source is known to have
 * had more bytes (this file is an earlier copy, cut inside that line).
 */
static void bound_file(load_run_t *r)
{
    if (!r->is_file)
        return;
    r->reader.limit = r->size;
    r->reader.gz = r->gz_lines;
    /*
     * A whole gzip file is finished whatever its age; one that stops at damage may stop
     * inside a line, which the repaired file holds whole.
     */
    if (r->gz_lines != NULL)
        r->reader.hold_tail = r->gz_damaged || r->size < r->src.size;
    else
        r->reader.hold_tail = r->age_ms < (int64_t)LOAD_SETTLE_S * 1000 || r->size < r->src.size;
}

/* Tells the operator about a last line left for the next run. */
static void report_held(const load_run_t *r)
{
    if (r->reader.held == 0 || r->gz_damaged)
        return;
    if (r->size < r->src.size)
        log_msg(LOG_LEVEL_INFO, "ingest",
                "%s: last line (%" PRId64 " bytes at byte %" PRId64 ") has no newline and the "
                "source was seen longer than this copy: not read",
                r->path, r->reader.held, r->reader.pos);
    else
        log_msg(LOG_LEVEL_INFO, "ingest",
                "%s: last line (%" PRId64 " bytes at byte %" PRId64 ") has no newline yet and "
                "the file was modified %" PRId64 " s ago (less than %d s): left for the next run",
                r->path, r->reader.held, r->reader.pos, r->age_ms > 0 ? r->age_ms / 1000 : 0,
                LOAD_SETTLE_S);
}

/*
 * A W3C file names its columns only in its #Fields: lines, so a run that starts part-way
 * must read them again before the lines it continues with: the file's first line says
 * whether it is W3C (unless the caller forced a format), and the last #Fields: line
 * before the offset is the column map in force there. Finding it costs one pass over the
 * bytes before the offset, and only for W3C files.
 */
#define W3C_SCAN_CHUNK 65536

/* Keeps a complete line when it is a #Fields: line (the buffers are swapped). */
static void keep_fields(char **line, size_t line_len, char **last, size_t *last_len)
{
    char *t;

    if (line_len < 8 || memcmp(*line, "#Fields:", 8) != 0)
        return;
    t = *last;
    *last = *line;
    *line = t;
    *last_len = line_len;
}

static int resume_w3c(load_run_t *r)
{
    ingest_format_t format = ingest_parser_format(r->parser);
    char *chunk = NULL, *line = NULL, *last = NULL, reason[REASON_LEN];
    size_t line_len = 0, last_len = 0;
    int capturing = 0, at_start = 1, rc = -1;

    if (format == INGEST_FORMAT_AUTO) {
        format = ingest_is_w3c_start((const char *)r->head, r->probe.head_len)
                     ? INGEST_FORMAT_W3C
                     : INGEST_FORMAT_NATIVE;
        ingest_parser_set_format(r->parser, format);
    }
    if (format != INGEST_FORMAT_W3C)
        return 0;
    chunk = malloc(W3C_SCAN_CHUNK);
    line = malloc(LOAD_MAX_LINE);
    last = malloc(LOAD_MAX_LINE);
    if (chunk == NULL || line == NULL || last == NULL) {
        fail_fatal(r, "out of memory", NULL);
        goto out;
    }
    for (int64_t off = 0; off < r->src.offset;) {
        size_t want =
            r->src.offset - off < W3C_SCAN_CHUNK ? (size_t)(r->src.offset - off) : W3C_SCAN_CHUNK;
        if (read_at(r, off, chunk, want) != 0) {
            fail_read(r);
            goto out;
        }
        for (size_t i = 0; i < want;) {
            char *nl = memchr(chunk + i, '\n', want - i);
            size_t end = nl != NULL ? (size_t)(nl - chunk) : want;

            if (at_start && chunk[i] == '#')
                capturing = 1;
            if (capturing) {
                size_t take =
                    end - i < LOAD_MAX_LINE - line_len ? end - i : LOAD_MAX_LINE - line_len;
                memcpy(line + line_len, chunk + i, take);
                line_len += take;
            }
            at_start = nl != NULL;
            if (nl != NULL && capturing) {
                keep_fields(&line, line_len, &last, &last_len);
                capturing = 0;
                line_len = 0;
            }
            i = end + 1;
        }
        off += (int64_t)want;
    }
    if (last_len > 0 &&
        ingest_parser_directive(r->parser, last, last_len, reason, sizeof(reason)) < 0)
        log_msg(LOG_LEVEL_WARN, "ingest",
                "%s: the #Fields: line in force at byte %" PRId64 " cannot be used: %s", r->path,
                r->src.offset, reason);
    rc = 0;
out:
    free(chunk);
    free(line);
    free(last);
    return rc;
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
        goto damage;
    }
    if (load_reader__init(&r.reader, r.fd, r.src.offset) != 0 ||
        (r.parser = ingest_parser_new()) == NULL) {
        fail_fatal(&r, "out of memory", NULL);
        goto out;
    }
    ingest_parser_set_format(r.parser, r.opts->format);
    if (r.is_file && r.src.offset > 0 && resume_w3c(&r) != 0)
        goto out;
    bound_file(&r);
    rc = read_all(&r, counts);
    if (rc != 0)
        goto out;
    report_held(&r);
damage:
    /* what came before the damage is committed; a repaired file continues from there */
    if (r.gz_damaged) {
        snprintf(err, errlen,
                 "%s: gzip data damaged after %" PRId64 " decompressed bytes (lines before it "
                 "are loaded): %s",
                 path, r.size, r.gz_why);
        rc = -1;
    }
out:
    if (r.parser != NULL)
        ingest_parser_free(r.parser);
    load_reader__free(&r.reader);
    free(r.host);
    load_gz__close(r.gz_lines);
    load_gz__close(r.gz);
    if (r.fd >= 0 && !r.is_stdin)
        close(r.fd);
    return rc;
}
