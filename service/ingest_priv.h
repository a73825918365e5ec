/*
 * ingest_priv.h - pieces shared by the ingest_*.c files: the output arena, the
 * quote-aware tokenizer, and the helpers that turn single fields into record values.
 */
#ifndef WSA_INGEST_PRIV_H
#define WSA_INGEST_PRIV_H

#include <stddef.h>
#include "ingest.h"

/*
 * Every string of a record is copied into one arena that the parser grows once and then
 * reuses, so a line costs no allocation after warm-up. Its size is fixed from the line
 * length before parsing starts; `overflow` records a copy that did not fit (a bound the
 * code keeps, checked so that a mistake cannot write past the end).
 */
typedef struct ingest_arena {
    char *base;
    size_t cap;
    size_t len;
    int overflow;
} ingest_arena_t;

/* A NUL-terminated copy of s[0..n), or NULL when the arena is full. */
const char *ingest_arena_dup(ingest_arena_t *a, const char *s, size_t n);

/* Like ingest_arena_dup, but "-", an empty value and a quoted "-" give NULL. */
const char *ingest_arena_value(ingest_arena_t *a, const char *s, size_t n);

/* A lower-cased (ASCII only) copy. */
const char *ingest_arena_lower(ingest_arena_t *a, const char *s, size_t n);

/* One whitespace-separated token of a line; quotes may hide spaces inside it. */
typedef struct ingest_tok {
    size_t start, end;   /* the token as logged */
    size_t vstart, vend; /* its value: without the surrounding quotes when it has them */
} ingest_tok_t;

#define INGEST_TOK_OK    0
#define INGEST_TOK_END   1  /* no token left */
#define INGEST_TOK_QUOTE -1 /* the line ends inside a quote */

/* Reads the token at or after *pos and moves *pos past it. */
int ingest_tok_next(const char *s, size_t n, size_t *pos, ingest_tok_t *t);

/*
 * An RFC 5424 header ("1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD ") at s[i], right after
 * its "<PRI>" (ingest_syslog.c). Returns where the message starts, past a UTF-8 byte order
 * mark, and sets the HOSTNAME span (host_len 0 for "-"); 0 when s[i] does not start one.
 */
size_t ingest_syslog_5424(const char *s, size_t n, size_t i, size_t *host, size_t *host_len);

/* 1 for a space or a tab. */
static inline int ingest_is_space(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * The fields of a verdict block (the text between the angle brackets), split as CSV where a
 * field may be wrapped in double quotes. `bad` is the 0-based index of the first field whose
 * quoting is broken (text after a closing quote, a quote inside a bare field), or -1.
 */
#define INGEST_MAX_VERDICT 64
typedef struct ingest_csv {
    int count; /* all fields, even past INGEST_MAX_VERDICT */
    int bad;
    size_t vstart[INGEST_MAX_VERDICT], vend[INGEST_MAX_VERDICT]; /* unquoted values */
} ingest_csv_t;

void ingest_csv_split(const char *s, size_t n, ingest_csv_t *out);

/*
 * Finds the end of a verdict block that starts with '<' at s[0]: the index of the first
 * '>' outside quotes. Returns INGEST_TOK_QUOTE when the line ends inside a quote and
 * INGEST_BLOCK_OPEN when no '>' closes the block.
 */
#define INGEST_BLOCK_OPEN -2
long ingest_block_end(const char *s, size_t n);

/* Fills the ACL fields (acl_raw must be set or NULL), tag, policies, action. */
void ingest_acl_parse(ingest_arena_t *a, const char *acl, size_t n, ingest_rec_t *rec);

/* Fills the verdict fields of `rec` from the block text (without its brackets). */
void ingest_verdict_parse(ingest_arena_t *a, const char *s, size_t n, ingest_rec_t *rec);

/* A non-negative decimal integer of up to 6 digits; -1 for an empty value or "-", -2 for
 * anything else. */
int ingest_small_int(const char *s, size_t n);

/* Sets wbrs_raw (an arena string or NULL) and, when it is a score, wbrs and has_wbrs;
 * anything but a score or "ns" sets INGEST_WARN_WBRS. */
void ingest_wbrs_set(const char *raw, ingest_rec_t *rec);

/* Sets sha256 from 64 hex digits (lower-cased); empty or "-" is no value, anything else
 * sets INGEST_WARN_SHA256 and leaves sha256 NULL. */
void ingest_sha_set(ingest_arena_t *a, const char *s, size_t n, ingest_rec_t *rec);

/* Splits a user field (already unquoted, not "-") into domain, name and realm. */
void ingest_user_split(ingest_arena_t *a, const char *s, size_t n, ingest_rec_t *rec);

/*
 * Fills url, host, dest_port, reg_domain and dest_ip from the logged URL and the hierarchy
 * server (may be NULL). Returns 0, or -1 when the URL has no usable host (it is then kept
 * as logged and the host comes from the hierarchy).
 */
int ingest_url_fill(ingest_arena_t *a, const char *url, size_t n, const char *server,
                    ingest_rec_t *rec);

/*
 * Canonical text of an IPv4 or IPv6 address (inet_ntop), or -1 when `s` is not one.
 * `out` must hold 46 bytes.
 */
int ingest_ip_canon(const char *s, size_t n, char *out);

/* The port implied by a URL scheme (http 80, https 443, ftp 21, tunnel 443), else 0. */
int ingest_default_port(const char *scheme, size_t n);

/* ---- shared with the W3C reader (ingest_parse.c) ---- */

ingest_line_kind_t ingest_reject(char *reason, size_t reasonlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Epoch seconds with up to 3 decimals (more are cut) into ms: 0, -1 when the text is not
 * one, -2 when it is after the year 9999. */
int ingest_parse_epoch(const char *s, size_t n, int64_t *ms);

/* Up to 15 decimal digits; -1 for anything else. */
int ingest_parse_count(const char *s, size_t n, int64_t *out);

/* An HTTP status as logged: up to 4 digits, optionally negative; -1 for anything else. */
int ingest_parse_status(const char *s, size_t n, int *out);

/* The hierarchy field "CODE/server" (the server may be an IPv6 literal: split at the first
 * slash); without a slash the whole value is the code and INGEST_WARN_VALUE is set. */
void ingest_hierarchy_fill(ingest_arena_t *a, const char *s, size_t n, ingest_rec_t *rec);

/* ---- W3C format (ingest_w3c.c) ---- */

/*
 * The column map of a W3C source: the record field each column fills, and every column's
 * name, for the columns no record field takes (kept with their values in custom_post).
 * The names are copied once per #Fields: line, never per data line.
 */
#define INGEST_W3C_MAX_COLS 256
typedef struct ingest_w3c_map {
    int ncols; /* 0 until a usable #Fields: line */
    unsigned char id[INGEST_W3C_MAX_COLS];
    unsigned name_off[INGEST_W3C_MAX_COLS];
    char *names; /* NUL-terminated names, back to back */
    size_t names_len, names_cap;
} ingest_w3c_map_t;

/* Builds the map from the text after "#Fields:"; -1 with a reason when it cannot be used
 * (the map is then empty). */
int ingest_w3c_fields(ingest_w3c_map_t *m, const char *s, size_t n, char *reason, size_t reasonlen);

void ingest_w3c_map_free(ingest_w3c_map_t *m);

/* Arena bytes a data line may need beyond those of a native line of the same length. */
size_t ingest_w3c_extra(const ingest_w3c_map_t *m);

/* Parses the data line s[pos..n) by the map (which has columns). */
ingest_line_kind_t ingest_w3c_parse(const ingest_w3c_map_t *m, const char *s, size_t n, size_t pos,
                                    ingest_arena_t *a, ingest_rec_t *rec, char *reason,
                                    size_t reasonlen);

#endif
