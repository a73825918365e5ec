/*
 * http.h - the contract between the HTTP layer (service/http.c, service/server.c) and the
 * endpoint handlers (one file per endpoint family in handlers/).
 *
 * The server routes a request, authenticates it when the route needs it, and calls the
 * route's handler with an http_call_t that lives in the request's pool. A handler answers
 * exactly once through one of the http_reply_* functions and returns 0.
 */
#ifndef WSA_HTTP_H
#define WSA_HTTP_H

#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <jansson.h>
#include "auth.h"
#include "config.h"
#include "obs.h"
#include "store.h"

#define HTTP_MAX_BODY        (1024 * 1024) /* larger bodies are refused outright (413) */
#define HTTP_MAX_OBSERVABLES 1000
#define HTTP_MAX_VALUE       8192 /* bytes of one observable's value */

/*
 * Sightings in one /observe reply, over all its observables. Threat Response shows a few
 * hundred per module, and the highest entity limit (1000 per observable) for two observables
 * is the largest ordinary need. A sighting of an ordinary log line is about 2 KB of JSON
 * (more for long URLs and lines), so a full reply is about 4 MB; without the cap, 256 ip
 * observables asked a 255 MB reply that took 2.7 GB of memory to build.
 */
#define HTTP_MAX_REPLY_SIGHTINGS 2000

/* State of one worker thread: nothing in it is shared with another thread. */
typedef struct http_worker {
    const cfg_t *cfg;
    store_t *store; /* this thread's read-only connection */
    auth_conf_t auth;
    unsigned inflight; /* requests received and not yet disposed (graceful stop waits for 0) */
    /* jwks mode: an eventfd subscribed to the key cache (-1 otherwise), the loop's watch on
     * it, and the calls parked until a key set fetch ends */
    int jwks_fd;
    h2o_socket_t *jwks_sock;
    h2o_linklist_t parked;
} http_worker_t;

typedef struct http_call http_call_t;
typedef int (*http_handler_fn)(http_call_t *call);

/* One request to a route; allocated from req->pool. */
struct http_call {
    h2o_req_t *req;
    http_worker_t *worker;
    auth_claims_t claims;  /* valid when the route requires authentication */
    int64_t deadline_ms;   /* util_monotonic_ms() at which the request budget runs out */
    json_t *warnings;      /* entries {"type":"warning","code","message"} added to the reply */
    http_handler_fn fn;    /* the route's handler, called once the request is authenticated */
    h2o_linklist_t parked; /* in worker->parked while authentication waits for a key set */
};

/* Observables of a request body: validated, de-duplicated, supported types only. */
typedef struct http_obs_list {
    obs_t *items; /* allocated from req->pool, keys prepared with obs_prepare */
    size_t n;
} http_obs_list_t;

/*
 * What a reply may still take while a handler builds it: sightings up to a cap, and time
 * up to the request budget (building the entities counts, not only the store queries).
 * Each limit, once reached, stays reached.
 */
typedef struct http_quota {
    size_t max;          /* sightings the reply may hold */
    size_t used;         /* sightings admitted so far */
    int64_t deadline_ms; /* util_monotonic_ms() at which time runs out */
    int full;            /* a sighting came after `max` were admitted */
    int late;            /* the deadline was reached */
} http_quota_t;

/** A quota of `max` sightings until `deadline_ms`. */
http_quota_t http_quota_init(size_t max, int64_t deadline_ms);

/** 1 while `now_ms` is before the deadline (and no earlier call found it reached), else 0. */
int http_quota_in_time(http_quota_t *q, int64_t now_ms);

/** Counts one more sighting: 1 when the reply has room for it, else 0 (and sets `full`). */
int http_quota_admit(http_quota_t *q);

/**
 * Parses the body as a JSON array of {"type","value"}. On success returns 0 with the
 * supported observables in `out` (unsupported types and values that cannot be of their
 * type are skipped; duplicates are kept once). On failure it has already replied
 * `invalid argument` with a message naming the element, and returns -1.
 */
int http_read_observables_or_reply(http_call_t *call, http_obs_list_t *out);

/** Adds a warning entry to the reply. */
void http_add_warning(http_call_t *call, const char *code, const char *message);

/**
 * Replies HTTP 200 {"data": data} (steals `data`), with "errors" holding the call's
 * warnings when there are any.
 */
void http_reply_data(http_call_t *call, json_t *data);

/** Replies {"errors":[{"type":"fatal","code":code,"message":message}]} with `status`. */
void http_reply_error(h2o_req_t *req, int status, const char *code, const char *message);

/**
 * Replies `body` (stolen) as JSON with `status`; Content-Length is always set. The tree is
 * released once serialised, and the text goes to H2O without another copy.
 */
void http_reply_json(h2o_req_t *req, int status, json_t *body);

/** Replies `len` bytes of `body` (copied) with `status` and `content_type`; sets Content-Length. */
void http_reply_raw(h2o_req_t *req, int status, const char *content_type, const char *body,
                    size_t len);

/**
 * Registers the one handler that routes every path under `pathconf` (register it on "/").
 * Each worker thread then attaches its state to its own context with http_attach_worker.
 */
h2o_handler_t *http_register(h2o_pathconf_t *pathconf);
void http_attach_worker(h2o_context_t *ctx, h2o_handler_t *handler, http_worker_t *worker);

/**
 * jwks mode: watches worker->jwks_fd (already subscribed with jwks_subscribe) on the worker's
 * loop; each time it is written to, the calls parked on a key set fetch are authenticated
 * again, and answered or handed to their route's handler.
 */
void http_watch_jwks(http_worker_t *worker, h2o_loop_t *loop);

/**
 * Unsubscribes worker->jwks_fd from the key cache and closes it (with its watch); calls
 * still parked stay parked. For the worker's thread, after its graceful drain.
 */
void http_unwatch_jwks(http_worker_t *worker);

/* openapi.yaml, compiled in by CMake (generated/openapi_yaml.c). */
extern const char http_openapi_yaml[];
extern const size_t http_openapi_yaml_len;

/* Handlers, one family per file in handlers/. */
int handle_health(http_call_t *call);     /* handlers/health.c */
int handle_observe(http_call_t *call);    /* handlers/observe.c */
int handle_deliberate(http_call_t *call); /* handlers/deliberate.c */
int handle_refer(http_call_t *call);      /* handlers/refer.c */
int handle_version(http_call_t *call);    /* handlers/version.c */
int handle_watchdog(http_call_t *call);   /* handlers/version.c */
int handle_openapi(http_call_t *call);    /* handlers/openapi.c: GET /openapi.yaml */

#endif
