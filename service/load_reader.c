/*
 * load_reader.c - a line reader that knows every line's byte offset and bounds line length.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "load_reader.h"

#define READ_CHUNK (256 * 1024)

int load_reader__init(load_reader_t *r, int fd, int64_t pos)
{
    memset(r, 0, sizeof(*r));
    r->fd = fd;
    r->pos = pos;
    r->fpos = pos;
    r->limit = -1;
    /* room for a whole maximal line plus one read, so a line never needs a bigger buffer */
    r->cap = LOAD_MAX_LINE + READ_CHUNK;
    r->buf = malloc(r->cap);
    return r->buf != NULL ? 0 : -1;
}

void load_reader__free(load_reader_t *r)
{
    free(r->buf);
    r->buf = NULL;
}

/* Reads what there is, up to the limit: at the limit it is the end of the input. */
static ssize_t read_some(load_reader_t *r, char *into, size_t len)
{
    ssize_t n;

    if (r->limit >= 0 && (int64_t)len > r->limit - r->fpos)
        len = r->limit > r->fpos ? (size_t)(r->limit - r->fpos) : 0;
    if (len == 0)
        return 0;
    if (r->gz != NULL) {
        n = load_gz__read(r->gz, into, len);
    } else {
        do {
            n = read(r->fd, into, len);
        } while (n < 0 && errno == EINTR);
    }
    if (n > 0)
        r->fpos += n;
    return n;
}

static void emit(load_reader_t *r, load_line_t *line, size_t len, int64_t full, int64_t consumed)
{
    line->data = r->buf + r->start;
    line->len = len;
    line->offset = r->pos;
    line->full = full;
    line->consumed = consumed;
    r->pos += consumed;
}

/*
 * No newline within LOAD_MAX_LINE bytes: keep the first LOAD_MAX_LINE bytes where they are
 * and read on behind them, dropping bytes, until the line ends.
 */
static int skip_long(load_reader_t *r, load_line_t *line)
{
    size_t keep = r->start + LOAD_MAX_LINE;
    int64_t full = (int64_t)(r->end - r->start);

    for (;;) {
        ssize_t n = read_some(r, r->buf + keep, r->cap - keep);
        char *nl;
        if (n < 0)
            return -1;
        if (n == 0) {
            r->eof = 1;
            if (r->hold_tail) {
                r->held = full;
                r->start = r->end = keep;
                return 0;
            }
            emit(r, line, LOAD_MAX_LINE, full, full);
            r->start = r->end = keep;
            return 1;
        }
        nl = memchr(r->buf + keep, '\n', (size_t)n);
        if (nl != NULL) {
            size_t before = (size_t)(nl - (r->buf + keep));
            full += (int64_t)before;
            emit(r, line, LOAD_MAX_LINE, full, full + 1);
            r->start = keep + before + 1;
            r->end = keep + (size_t)n;
            return 1;
        }
        full += n;
    }
}

int load_reader__next(load_reader_t *r, load_line_t *line)
{
    for (;;) {
        size_t avail = r->end - r->start;
        char *nl = memchr(r->buf + r->start, '\n', avail);
        ssize_t n;
        if (nl != NULL) {
            size_t len = (size_t)(nl - (r->buf + r->start));
            emit(r, line, len, (int64_t)len, (int64_t)len + 1);
            r->start += len + 1;
            return 1;
        }
        if (avail > LOAD_MAX_LINE)
            return skip_long(r, line);
        if (r->eof) {
            if (avail == 0)
                return 0;
            if (r->hold_tail) {
                r->held = (int64_t)avail;
                return 0;
            }
            emit(r, line, avail, (int64_t)avail, (int64_t)avail);
            r->start = r->end;
            return 1;
        }
        /* only the unfinished line moves: it is at most LOAD_MAX_LINE bytes */
        memmove(r->buf, r->buf + r->start, avail);
        r->start = 0;
        r->end = avail;
        n = read_some(r, r->buf + r->end, r->cap - r->end);
        if (n < 0)
            return -1;
        if (n == 0)
            r->eof = 1;
        r->end += (size_t)n;
    }
}
