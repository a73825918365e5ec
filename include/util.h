/*
 * util.h - small helpers shared by every layer: base64url, UTF-8, time and URL encoding.
 */
#ifndef WSA_UTIL_H
#define WSA_UTIL_H

#include <stddef.h>
#include <stdint.h>

/**
 * Decodes unpadded base64url (RFC 4648 section 5). `out` must hold at least
 * (len * 3) / 4 + 1 bytes. Returns the decoded length, or -1 when the input holds a
 * character outside the alphabet, padding, or a length that no encoding produces.
 */
long util_b64url_decode(const char *in, size_t len, unsigned char *out);

/** Encodes without padding; `out` must hold 4 * ((len + 2) / 3) + 1 bytes. Returns the length. */
size_t util_b64url_encode(const unsigned char *in, size_t len, char *out);

/**
 * Copies `len` bytes to `out`, replacing every byte sequence that is not valid UTF-8 (and
 * every NUL) with U+FFFD. `out` must hold 3 * len + 1 bytes; the result is NUL-terminated.
 * Returns the output length.
 */
size_t util_utf8_sanitize(const char *in, size_t len, char *out);

/** Returns 1 when the bytes are valid UTF-8 with no NUL, else 0. */
int util_utf8_valid(const char *in, size_t len);

/** Milliseconds since the Unix epoch, from the real-time clock. */
int64_t util_now_ms(void);

/** Milliseconds from a monotonic clock, for deadlines. */
int64_t util_monotonic_ms(void);

/**
 * Formats milliseconds since the epoch as ISO 8601 UTC with milliseconds,
 * "2020-03-31T07:15:03.150Z". `out` must hold UTIL_ISO_TIME_LEN bytes.
 */
#define UTIL_ISO_TIME_LEN 32
void util_iso_time(int64_t ms, char *out);

/**
 * Percent-encodes everything but RFC 3986 unreserved characters. `out` must hold
 * 3 * len + 1 bytes. Returns the output length.
 */
size_t util_url_encode(const char *in, size_t len, char *out);

/** Lower-case hex of `len` bytes; `out` must hold 2 * len + 1 bytes. */
void util_hex(const unsigned char *in, size_t len, char *out);

/**
 * Formats a name-based UUID (RFC 9562 version 8) from the SHA-256 of `name`, so that the
 * same name always gives the same id. `out` must hold 37 bytes.
 */
void util_uuid_from_name(const char *name, size_t len, char *out);

/**
 * Opens `path` for reading when it is a regular file: returns the descriptor (blocking, close
 * on exec), or -1 with the reason ("not a regular file", or the system's) in `err`. A FIFO,
 * device or directory is refused at once instead of blocking the caller.
 */
int util_open_regular(const char *path, char *err, size_t errlen);

#endif
