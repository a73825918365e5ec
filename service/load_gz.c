/*
 * load_gz.c - gzip files as decompressed byte streams (zlib), members read one after another.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "load_gz.h"

#define GZ_CHUNK (64 * 1024)

/* 16 + 15: a gzip wrapper only, with the largest window (what gzip(1) writes) */
#define GZ_WINDOW_BITS (16 + MAX_WBITS)

typedef enum { GZ_RUNNING = 0, GZ_END, GZ_DAMAGED } gz_state_t;

struct load_gz {
    int fd;
    z_stream z;
    int64_t in_off;   /* compressed offset of the next pread */
    int in_eof;       /* pread found the end of the file */
    int in_member;    /* inside a gzip member: its end has not been seen yet */
    int members;      /* members ended so far */
    int padding;      /* past the members, in zero bytes */
    int64_t pos;      /* decompressed offset of the next byte read gives */
    size_t read_len;  /* what the current read asked for: pos + read_len - avail_out is now */
    int64_t verified; /* decompressed bytes of the members whose checksum matched */
    int64_t sound;    /* decompressed bytes known right when the stream stopped early */
    gz_state_t state;
    char why[LOAD_GZ_WHY_LEN];
    unsigned char in[GZ_CHUNK];
    unsigned char scratch[GZ_CHUNK]; /* bytes skipped by a seek */
};

int load_gz__is_gzip(const unsigned char *head, size_t len)
{
    return len >= 2 && head[0] == 0x1f && head[1] == 0x8b;
}

load_gz_t *load_gz__open(int fd)
{
    load_gz_t *g = calloc(1, sizeof(*g));

    if (g == NULL)
        return NULL;
    g->fd = fd;
    if (inflateInit2(&g->z, GZ_WINDOW_BITS) != Z_OK) {
        free(g);
        return NULL;
    }
    return g;
}

void load_gz__close(load_gz_t *g)
{
    if (g == NULL)
        return;
    inflateEnd(&g->z);
    free(g);
}

const char *load_gz__why(const load_gz_t *g)
{
    return g->state == GZ_DAMAGED ? g->why : NULL;
}

static void restart(load_gz_t *g)
{
    inflateReset(&g->z);
    g->z.next_in = NULL;
    g->z.avail_in = 0;
    g->in_off = 0;
    g->in_eof = 0;
    g->in_member = 0;
    g->members = 0;
    g->padding = 0;
    g->pos = 0;
    g->verified = 0;
    g->sound = 0;
    g->state = GZ_RUNNING;
    g->why[0] = '\0';
}

static int64_t out_now(const load_gz_t *g)
{
    return g->pos + (int64_t)(g->read_len - g->z.avail_out);
}

/*
 * A file cut short decompresses right up to its cut. Corrupt data is found only where
 * decoding fails or at the member's checksum, and what came out of that member before may
 * already be wrong: only the members verified before it are sound.
 */
static void damaged(load_gz_t *g, const char *what, int truncated)
{
    /* the compressed offset tells the operator where in the file it went wrong */
    int64_t at = g->in_off - (int64_t)g->z.avail_in;

    snprintf(g->why, sizeof(g->why), "%s (compressed byte %" PRId64 ")", what, at);
    g->state = GZ_DAMAGED;
    g->sound = truncated ? out_now(g) : g->verified;
}

/* Fills the input when it is used up: 0, or -1 on a read error. */
static int fill(load_gz_t *g)
{
    ssize_t n;

    if (g->z.avail_in > 0 || g->in_eof)
        return 0;
    do {
        n = pread(g->fd, g->in, sizeof(g->in), (off_t)g->in_off);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;
    if (n == 0) {
        g->in_eof = 1;
        return 0;
    }
    g->in_off += n;
    g->z.next_in = g->in;
    g->z.avail_in = (uInt)n;
    return 0;
}

/* One inflate step; the state changes at the end of the stream or on damage. 0 or -1. */
static int step(load_gz_t *g)
{
    int rc;

    if (fill(g) != 0)
        return -1;
    if (g->z.avail_in == 0) {
        if (g->in_member)
            damaged(g, "truncated: the file ends inside a gzip member", 1);
        else
            g->state = GZ_END;
        return 0;
    }
    /* some writers pad a finished file with zero bytes, which gzip(1) accepts as its end */
    if (!g->in_member && g->members > 0 && (g->padding || g->z.next_in[0] == 0)) {
        while (g->z.avail_in > 0 && g->z.next_in[0] == 0) {
            g->z.next_in++;
            g->z.avail_in--;
        }
        g->padding = 1;
        if (g->z.avail_in > 0)
            damaged(g, "data after the zero bytes that follow the last gzip member", 0);
        return 0;
    }
    g->in_member = 1;
    rc = inflate(&g->z, Z_NO_FLUSH);
    switch (rc) {
    case Z_OK:
    case Z_BUF_ERROR: /* needs more input: the next step reads it */
        return 0;
    case Z_STREAM_END:
        /* `cat a.gz b.gz` is one stream: another member may follow */
        g->in_member = 0;
        g->members++;
        g->verified = out_now(g);
        inflateReset(&g->z);
        return 0;
    case Z_MEM_ERROR:
        damaged(g, "out of memory", 0);
        return 0;
    default:
        damaged(g, g->z.msg != NULL ? g->z.msg : "corrupt compressed data", 0);
        return 0;
    }
}

ssize_t load_gz__read(load_gz_t *g, void *buf, size_t len)
{
    size_t produced;

    if (len > UINT32_MAX)
        len = UINT32_MAX;
    g->z.next_out = buf;
    g->z.avail_out = (uInt)len;
    g->read_len = len;
    while (g->z.avail_out > 0 && g->state == GZ_RUNNING) {
        if (step(g) != 0)
            return -1;
    }
    produced = len - g->z.avail_out;
    g->pos += (int64_t)produced;
    g->read_len = 0;
    g->z.avail_out = 0;
    if (produced > 0)
        return (ssize_t)produced;
    if (g->state == GZ_DAMAGED) {
        errno = EIO;
        return -1;
    }
    return 0;
}

int load_gz__measure(load_gz_t *g, int64_t *size)
{
    ssize_t n;

    restart(g);
    while ((n = load_gz__read(g, g->scratch, sizeof(g->scratch))) > 0)
        ;
    *size = g->pos;
    if (n == 0)
        return 0;
    if (g->state != GZ_DAMAGED)
        return -1;
    *size = g->sound;
    return 1;
}

int load_gz__seek(load_gz_t *g, int64_t offset)
{
    if (offset < g->pos)
        restart(g);
    while (g->pos < offset) {
        int64_t want = offset - g->pos;
        ssize_t n = load_gz__read(
            g, g->scratch, want < (int64_t)sizeof(g->scratch) ? (size_t)want : sizeof(g->scratch));
        if (n < 0)
            return -1;
        if (n == 0) {
            errno = ENODATA;
            return -1;
        }
    }
    return 0;
}

int load_gz__read_at(load_gz_t *g, int64_t offset, void *buf, size_t len)
{
    size_t got = 0;

    if (load_gz__seek(g, offset) != 0)
        return -1;
    while (got < len) {
        ssize_t n = load_gz__read(g, (char *)buf + got, len - got);
        if (n < 0)
            return -1;
        if (n == 0) {
            errno = ENODATA;
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}
