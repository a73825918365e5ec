/*
 * ingest.h - parsing WSA access log lines into one normalised transaction.
 *
 * The parser takes one line (without its newline) and says whether it is an access record
 * (stored, possibly with a parse warning), a message that is not an access record
 * (skipped), or an access record it cannot make sense of (rejected, with a reason).
 * Facts about the formats: the design notes' wsa-logs.md; field positions in section 1.5,
 * W3C field names in section 2.
 *
 * A parser belongs to one source: in W3C format it carries the column map of the last
 * #Fields: directive it was given.
 */
#ifndef WSA_INGEST_H
#define WSA_INGEST_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    INGEST_ACTION_ALLOWED = 0,
    INGEST_ACTION_MONITORED,
    INGEST_ACTION_WARNED,
    INGEST_ACTION_BLOCKED,
    INGEST_ACTION_DROPPED,
    INGEST_ACTION_ERROR,
} ingest_action_t;

/** "allowed", "monitored", "warned", "blocked", "dropped", "error". */
const char *ingest_action_name(ingest_action_t action);

typedef enum {
    INGEST_LINE_ACCESS = 0, /* an access record: store it (check rec->warnings) */
    INGEST_LINE_SKIP,       /* not an access record (system message, blank line) */
    INGEST_LINE_REJECT,     /* looks like an access record but cannot be parsed */
} ingest_line_kind_t;

/* Bits of ingest_rec_t.warnings: what was doubtful in a stored line. */
#define INGEST_WARN_VERDICT_LAYOUT                                                                 \
    0x01                            /* verdict block of an unknown size: only fields 1-2 kept      \
                                     */
#define INGEST_WARN_WBRS       0x02 /* WBRS value not a number (kept raw) */
#define INGEST_WARN_ACL        0x04 /* ACL decision string not 6 to 8 parts */
#define INGEST_WARN_SHA256     0x08 /* SHA-256 slot not 64 hex digits (kept raw, not as sha256) */
#define INGEST_WARN_NO_VERDICT 0x10 /* no verdict block at all */
#define INGEST_WARN_VALUE      0x20 /* another value malformed (kept raw) */

/*
 * One parsed transaction. Every string is NUL-terminated valid UTF-8 and NULL when the log
 * has no value ("-", "\"-\"" or absent). Strings point into the parser's buffer and stay
 * valid until the next ingest_parse_line call on the same parser.
 */
typedef struct ingest_rec {
    int64_t time_ms;    /* end of the transaction, ms since the epoch */
    int64_t elapsed_ms; /* duration; start = time_ms - elapsed_ms */
    const char *client_ip;
    const char *result_code; /* "TCP_MISS", "TCP_DENIED", "TCP_MISS_SSL", "NONE" */
    int http_status;         /* may be 0 or negative as logged */
    int64_t bytes;
    const char *method;
    const char *url;        /* normalised (ingest_url_normalise); for TCP_CONNECT "host:port" */
    const char *host;       /* lower-case destination host, from the URL, else the hierarchy */
    const char *reg_domain; /* registered domain of host (NULL for IP literals) */
    int dest_port;          /* from the URL (default port by scheme), 0 when unknown */
    const char *dest_ip;    /* destination address when the URL host or hierarchy server is one */
    const char *user_raw;   /* the user field as logged, unquoted */
    const char *user_domain;
    const char *user_name;
    const char *user_realm;
    const char *hierarchy;      /* "DIRECT", "DEFAULT_PARENT", "NONE" */
    const char *hierarchy_host; /* the server part after the slash */
    const char *mime;
    const char *acl_raw; /* the whole ACL decision string */
    const char *acl_tag; /* its tag without the internal _<n> suffix, e.g. "BLOCK_AMW_RESP" */
    ingest_action_t action;
    const char *access_policy; /* policies from the ACL string, by position and count */
    const char *identity_policy;
    const char *malware_policy; /* outbound malware scanning (7 and 8 parts) */
    const char *dlp_policy;
    const char *ext_dlp_policy;
    const char *routing_policy;
    const char *tap_policy;    /* web traffic tap (8 parts) */
    int verdict_fields;        /* fields in the < > block, 0 when absent */
    const char *verdict_raw;   /* the block without its angle brackets */
    const char *category;      /* URL category abbreviation, e.g. "IW_infr", "nc", "C_MS_0" */
    const char *category_full; /* 11.7+ full category name */
    const char *wbrs_raw;      /* as logged, e.g. "-6.4", "ns", "-9.1.0" */
    double wbrs;               /* valid when has_wbrs */
    int has_wbrs;
    const char *threat_type; /* WBRS threat type */
    const char *avc_app;
    const char *avc_type;
    const char *avc_behavior;
    const char *resp_verdict_name; /* response-side anti-malware verdict name */
    int amp_verdict;               /* -1 when absent */
    const char *amp_threat_name;
    int amp_score; /* -1 when absent */
    const char *amp_file_name;
    const char *sha256;      /* lower-case 64 hex digits only */
    const char *user_agent;  /* the suspect user agent field after the block */
    const char *custom_pre;  /* tokens between the MIME type and the ACL string, raw */
    const char *custom_post; /* tokens after the suspect user agent, raw */
    int malware;             /* malware tag, AMP verdict > 3 or a response verdict name */
    unsigned warnings;       /* INGEST_WARN_* bits */
    const char *format;      /* "squid-15", "squid-17", "squid-32", "squid-38", "squid-43"
                                .. "squid-45", "squid-other", "squid-none", "w3c" */
    const char *syslog_host; /* host name of a syslog header, when the line had one */
} ingest_rec_t;

typedef struct ingest_parser ingest_parser_t;

ingest_parser_t *ingest_parser_new(void);
void ingest_parser_free(ingest_parser_t *p);

typedef enum {
    INGEST_FORMAT_AUTO = 0, /* decided by the first non-blank line given: W3C when it is a
                               #Version: or #Fields: directive, native otherwise */
    INGEST_FORMAT_NATIVE,
    INGEST_FORMAT_W3C,
} ingest_format_t;

/** Sets the format of the source (a new parser starts in INGEST_FORMAT_AUTO). */
void ingest_parser_set_format(ingest_parser_t *p, ingest_format_t format);

/** The format in force: INGEST_FORMAT_AUTO until the first non-blank line decided it. */
ingest_format_t ingest_parser_format(const ingest_parser_t *p);

/** 1 when a line (leading spaces allowed) is a #Version: or #Fields: directive: the first
 * line of a W3C file is one of them. */
int ingest_is_w3c_start(const char *line, size_t len);

/**
 * Gives a W3C directive line to the parser, as ingest_parse_line does with the directives
 * it reads; the loader calls it with the #Fields: line in force where a resumed file
 * continues. A #Fields: line replaces the column map. Returns 1 when the line was a
 * directive and was taken, 0 when it is not a directive, -1 when it is a #Fields: line
 * that cannot be used (no field names, or too many): the parser then has no map, and
 * `reason` says why.
 */
int ingest_parser_directive(ingest_parser_t *p, const char *line, size_t len, char *reason,
                            size_t reasonlen);

/**
 * Parses one line (no trailing newline; a trailing CR is ignored). Fills `rec` for
 * INGEST_LINE_ACCESS; for INGEST_LINE_REJECT writes a short reason to `reason`
 * (e.g. "bad elapsed time \"x7\""). In W3C format a directive is taken as by
 * ingest_parser_directive and is INGEST_LINE_SKIP (a #Fields: line that cannot be used is
 * INGEST_LINE_REJECT), and a data line before any usable #Fields: line is rejected.
 */
ingest_line_kind_t ingest_parse_line(ingest_parser_t *p, const char *line, size_t len,
                                     ingest_rec_t *rec, char *reason, size_t reasonlen);

/**
 * Normalises a URL as the store keeps it: scheme and host lower-cased, a trailing dot of the
 * host and the default port of the scheme removed (80 for http, 443 for https and tunnel, 21
 * for ftp), an empty path made "/", a fragment dropped, the rest unchanged. A bare
 * "host:port" (TCP_CONNECT) keeps its shape with the host lower-cased. The result is at most
 * INGEST_URL_NORM_GROWTH bytes longer than the input. Writes at most outlen - 1 bytes and a
 * NUL; returns the length, or -1 if it does not fit.
 */
#define INGEST_URL_NORM_GROWTH 1
long ingest_url_normalise(const char *url, size_t len, char *out, size_t outlen);

/**
 * The registered domain of a lower-case host name (the last two labels, or three under
 * common second-level public suffixes such as co.uk); NULL for IP literals or single labels.
 * Writes into `out`; returns out or NULL.
 */
const char *ingest_reg_domain(const char *host, char *out, size_t outlen);

#endif
