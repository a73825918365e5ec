/*
 * jwks.h - the key sets of `jwks` mode, fetched off the event loops and shared by every
 * worker.
 *
 * A source is where a token's keys come from: https://<jwks_host>/.well-known/jwks for an
 * allowed jwks_host, or the one configured override (WSA_RELAY_JWKS_FILE or
 * WSA_RELAY_JWKS_URL), which every allowed host then shares. One thread does every fetch;
 * a worker never waits for the network. A worker that asks for a key the cache cannot give
 * yet gets JWKS_PENDING, parks its request, and asks again when the descriptor it
 * subscribed is written to (a fetch ended).
 *
 * Limits, per source: one fetch at a time, however many requests wait for it; an unknown
 * kid (or a signature the cached key refuses) starts a fetch only when
 * WSA_RELAY_JWKS_REFRESH seconds have passed since the last fetch ended; a failed fetch is retried
 * no sooner than JWKS_RETRY_S (or the refresh interval when that is shorter). A set is replaced
 * whole by each successful fetch, so a key the source dropped stops verifying. A set older than
 * JWKS_MAX_AGE_S is refetched in the background while its keys go on serving; one older than
 * JWKS_MAX_STALE_S (every refetch failed) serves no more, so that a key the source dropped is not
 * trusted for as long as the source cannot be reached.
 */
#ifndef WSA_JWKS_H
#define WSA_JWKS_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include "config.h"

#define JWKS_MAX_BYTES    (1024 * 1024) /* a longer document is a failed fetch */
#define JWKS_MAX_KEYS     100           /* keys past this many in one document are ignored */
#define JWKS_RETRY_S      5
#define JWKS_MAX_AGE_S    3600
#define JWKS_MAX_STALE_S  (2 * JWKS_MAX_AGE_S)
#define JWKS_MIN_RSA_BITS 2048 /* smaller RSA keys in a document are skipped */

typedef struct jwks jwks_t;

/* One verification key, held by the caller until it releases it with jwks_key_release. */
typedef struct jwks_key {
    EVP_PKEY *pkey; /* a reference of the caller's own (EVP_PKEY_up_ref) */
    unsigned algs;  /* CFG_ALG_* the key may verify: by its kty (and crv), narrowed to its
                       "alg" member when it has one */
} jwks_key_t;

typedef enum {
    JWKS_FOUND = 0, /* `out` holds the key */
    JWKS_PENDING,   /* a fetch of the source is running: ask again once notified */
    JWKS_NO_KID,    /* the source's current set has no such kid, and no fetch is due */
    JWKS_FAILED,    /* the source's last fetch failed (unreachable, TLS, HTTP status other
                       than 200, too large, not a JWKS), and no retry is due */
} jwks_status_t;

/**
 * Creates the cache and starts its fetch thread. With WSA_RELAY_JWKS_FILE set the file is
 * read once here, so that a missing or malformed file stops the server at start. Returns
 * NULL with a one-line reason in `err`.
 */
jwks_t *jwks_create(const cfg_t *cfg, char *err, size_t errlen);

/**
 * Asks the fetch thread to end: running fetches are aborted and end as failures (their
 * subscribers are notified); later lookups start no fetch and answer JWKS_FAILED where
 * they would have waited.
 */
void jwks_stop(jwks_t *jwks);

/** Stops (if not yet stopped), joins the fetch thread and frees everything. */
void jwks_destroy(jwks_t *jwks);

/**
 * Registers an eventfd (or the write end of a pipe) that gets written to whenever a fetch
 * ends, success or failure; it is made non-blocking. Returns 0, or -1 when too many are
 * registered or `fd` is not open.
 */
int jwks_subscribe(jwks_t *jwks, int fd);

/** Unregisters `fd`; once this returns, the fetch thread no longer writes to it. */
void jwks_unsubscribe(jwks_t *jwks, int fd);

/**
 * Looks up the key `kid` for tokens naming `host` (already checked against the allowlist
 * with cfg_jwks_host_allowed). Never blocks on the network: a fetch it needs is handed to
 * the fetch thread and the answer is JWKS_PENDING. `now_ms` is util_monotonic_ms().
 */
jwks_status_t jwks_find(jwks_t *jwks, const char *host, size_t host_len, const char *kid,
                        size_t kid_len, int64_t now_ms, jwks_key_t *out);

/**
 * For a signature that failed with the key jwks_find gave: the source may have put a new
 * key under the same kid, so a fetch is started as for an unknown kid (when one is due: at
 * most once per WSA_RELAY_JWKS_REFRESH). Returns 1 when a fetch is running (verify again
 * once notified), 0 when none is due (the signature is simply bad).
 */
int jwks_refresh(jwks_t *jwks, const char *host, size_t host_len, int64_t now_ms);

/** Releases a key from jwks_find; a zeroed key is fine. */
void jwks_key_release(jwks_key_t *key);

/** Fetches started since jwks_create (for tests and diagnostics). */
unsigned long jwks_fetch_count(jwks_t *jwks);

/*
 * The document parser, shared by the fetch thread and the `jwks` subcommand's tests.
 * A set is an immutable list of (kid, key) built from a JWKS document.
 */
typedef struct jwks_set jwks_set_t;

/**
 * Builds a set from a JWKS document (`{"keys":[...]}`). Keys it cannot use (kty other than
 * RSA or EC P-256, "use" other than "sig", RSA below JWKS_MIN_RSA_BITS, bad base64url, no
 * kid, a kid seen before) are skipped and counted in `*skipped`. Returns NULL with a reason
 * in `err` when the text is not a JSON object with a "keys" array; a document whose keys are
 * all skipped is an empty set, not an error.
 */
jwks_set_t *jwks_set_parse(const char *text, size_t len, size_t *skipped, char *err, size_t errlen);

/** Finds `kid` in a set: 0 with `out` filled (a reference of the caller's own), or -1. */
int jwks_set_find(const jwks_set_t *set, const char *kid, size_t kid_len, jwks_key_t *out);

size_t jwks_set_size(const jwks_set_t *set);
void jwks_set_free(jwks_set_t *set);

#endif
