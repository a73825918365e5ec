/*
 * load_reader.h - reading a source line by line with the byte offset of every line.
 */
#ifndef WSA_LOAD_READER_H
#define WSA_LOAD_READER_H

#include <stddef.h>
#include <stdint.h>
#include "load_gz.h"

/* Longer lines are cut to this many bytes and reported as too long. */
#define LOAD_MAX_LINE (1024 * 1024)

typedef struct load_reader {
    int fd;
    load_gz_t *gz; /* when set, bytes come from this decompressed stream instead of fd */
    char *buf;
    size_t cap, start, end;
    int eof;
    int64_t pos;   /* source offset of the next unread line */
    int64_t fpos;  /* source offset of the next byte read(2) gives */
    int64_t limit; /* read nothing at or past this offset; -1: read to the end */
    int hold_tail; /* an unterminated last line is left unread rather than returned */
    int64_t held;  /* bytes of the last line left unread at the end (hold_tail) */
} load_reader_t;

typedef struct load_line {
    const char *data; /* without the newline; at most LOAD_MAX_LINE bytes */
    size_t len;
    int64_t offset;   /* of its first byte in the source */
    int64_t full;     /* its whole length without the newline (> len when too long) */
    int64_t consumed; /* bytes it took in the source, newline included */
} load_line_t;

/**
 * Starts reading `fd` at source offset `pos` (the caller has positioned the fd), reading
 * to the end, with an unterminated last line returned as a line; set `limit` and
 * `hold_tail` after this call to change that, and `gz` (a cursor at `pos`) for a gzip
 * file. 0 or -1.
 */
int load_reader__init(load_reader_t *r, int fd, int64_t pos);
void load_reader__free(load_reader_t *r);

/**
 * The next line (valid until the next call): 1, 0 at the end, -1 on a read error (errno).
 * A last line without a newline is a line, unless hold_tail is set: then it is not
 * returned, pos stays at its start and `held` says how long it is.
 */
int load_reader__next(load_reader_t *r, load_line_t *line);

#endif
