/*
 * ctim.h - building CTIM entities (sightings, verdicts) and refer links.
 *
 * Every builder is a pure function of a store row or an observable and its arguments: no
 * clock, no store, no request. That keeps the mapping testable without a server, and lets
 * the handlers decide what "now" and which limits mean.
 */
#ifndef WSA_CTIM_H
#define WSA_CTIM_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "obs.h"
#include "store.h"

/*
 * 1.0.17 is the version the reference relay modules and the CTIM bundle builder emit, so
 * every Threat Response / SecureX / XDR release accepts it; everything we send (sighting
 * fields, the network.proxy sensor, the relation names, data table column types) already
 * exists in it.
 */
#define CTIM_SCHEMA_VERSION "1.0.17"
#define CTIM_SOURCE         "Secure Web Appliance"
#define CTIM_SENSOR         "network.proxy"

/* CTIM string limits, counted in characters; we count bytes, which is never fewer. */
#define CTIM_TITLE_MAX       1024
#define CTIM_SHORT_DESC_MAX  2048
#define CTIM_DESCRIPTION_MAX 5000

#define CTIM_MS_PER_DAY INT64_C(86400000)

/** The sighting resolution for an action name: allowed, blocked or detected. */
const char *ctim_resolution(const char *action);

/** CTIM's name for a disposition number (1 Clean .. 5 Unknown); NULL for others. */
const char *ctim_disposition_name(int disposition);

/**
 * The length of the longest prefix of `s` (`len` bytes of valid UTF-8) that has at most
 * `max` bytes and does not split a character.
 */
size_t ctim_utf8_prefix(const char *s, size_t len, size_t max);

/** "ip" or "ipv6" for an address in text form. */
const char *ctim_ip_type(const char *addr);

/** {"type": type, "value": value}, or NULL when either is NULL. */
json_t *ctim_observable(const char *type, const char *value);

/** {"count": n, "docs": docs}; steals `docs` (an array). */
json_t *ctim_docs(json_t *docs);

/**
 * `text` in a Markdown fenced code block of at most `max` bytes: the fence is longer than
 * any run of backticks in the text, and a text too long is cut on a character boundary
 * and ends with an ellipsis. Returns a malloc'd string, or NULL when `max` cannot hold
 * even an empty block.
 */
char *ctim_code_block(const char *text, size_t max);

/** The title of the sighting of `row`, e.g. "Web request blocked: malware". */
void ctim_sighting_title(const store_row_t *row, char *out, size_t outlen);

/* "transient:sighting-" and a UUID, with its NUL */
#define CTIM_SIGHTING_ID_LEN (19 + 36 + 1)

/**
 * The id of the sighting of `row`: derived from the transaction's source, offset and
 * appliance (the row's id when it has no source name), so that the same transaction always
 * gets the same id. Returns 0, or -1 when out of memory.
 */
int ctim_sighting_id(const store_row_t *row, char out[CTIM_SIGHTING_ID_LEN]);

/**
 * The sighting of one transaction, seen while looking for `queried`, with the id of
 * ctim_sighting_id. Returns NULL only when out of memory.
 */
json_t *ctim_sighting(const store_row_t *row, const obs_t *queried);

/**
 * Adds `o` (as sent) to the observables of `sighting` unless one of its type already has
 * its value or its key: a transaction found through several queried observables is one
 * sighting that lists them all. Returns 0, or -1 when out of memory.
 */
int ctim_sighting_add_observable(json_t *sighting, const obs_t *o);

/**
 * The verdict on `o` from evidence of `disposition` whose latest item is at `latest_ms`:
 * valid from then for `verdict_days` days. Returns NULL when that validity has ended by
 * `now_ms` (or on a disposition CTIM does not know).
 */
json_t *ctim_verdict(const obs_t *o, int disposition, int64_t latest_ms, int verdict_days,
                     int64_t now_ms);

/**
 * `tmpl` with every "{type}" replaced by `type` and every "{value}" by the URL-encoded
 * `value`. Returns a malloc'd string.
 */
char *ctim_refer_url(const char *tmpl, const char *type, const char *value);

/** The refer item (a search link) for `o` with the URL template `tmpl`. */
json_t *ctim_refer(const obs_t *o, const char *tmpl);

#endif
