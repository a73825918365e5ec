/*
 * load_gz.h - a gzip file read as its decompressed bytes, with offsets in that stream.
 *
 * A cursor reads the file with pread(2) from its own compressed position, so several
 * cursors share one descriptor: the loader keeps one for the lines and one for the
 * identity checks (head, fingerprints). Going back means decompressing again from the
 * start; rotated gzip files are read once, so that is rare.
 */
#ifndef WSA_LOAD_GZ_H
#define WSA_LOAD_GZ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LOAD_GZ_WHY_LEN 160

typedef struct load_gz load_gz_t;

/** 1 when the bytes begin with the gzip magic (0x1f 0x8b). */
int load_gz__is_gzip(const unsigned char *head, size_t len);

/** A cursor at decompressed offset 0 over the gzip file open on `fd`; NULL without memory. */
load_gz_t *load_gz__open(int fd);
void load_gz__close(load_gz_t *g);

/**
 * Decompresses the whole file to learn its decompressed size: for a damaged file, the
 * bytes known right (up to the cut of a truncated file; up to the end of the last member
 * whose checksum matched before corrupt data, since zlib finds corruption only later than
 * where it begins). Returns 0 when the file is whole, 1 when it is damaged (truncated, corrupt,
 * followed by data that is not gzip: load_gz__why says what), -1 on a read error (errno).
 */
int load_gz__measure(load_gz_t *g, int64_t *size);

/**
 * Reads up to `len` decompressed bytes at the cursor and moves it on: the count, 0 at
 * the end of the stream, -1 on damage (load_gz__why) or a read error (errno).
 */
ssize_t load_gz__read(load_gz_t *g, void *buf, size_t len);

/** Moves the cursor to decompressed `offset` (backwards: from the start again). 0 or -1. */
int load_gz__seek(load_gz_t *g, int64_t offset);

/** Reads exactly `len` bytes at `offset`: 0, or -1 (errno ENODATA when the stream ends first). */
int load_gz__read_at(load_gz_t *g, int64_t offset, void *buf, size_t len);

/** Why the stream stopped early ("truncated...", or zlib's message), or NULL. */
const char *load_gz__why(const load_gz_t *g);

#endif
