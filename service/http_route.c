/*
 * http_route.c - the one H2O handler: routes by path itself (so that 404 and 405 are JSON and
 * a trailing slash is tolerated), authenticates the routes that need it, and calls the
 * route's handler with an http_call_t.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "http.h"
#include "log.h"
#include "util.h"

enum {
    METHOD_GET = 1,
    METHOD_POST = 2,
};

typedef struct route {
    const char *path;
    unsigned methods;
    int auth;
    http_handler_fn fn;
} route_t;

static const route_t routes[] = {
    {"/health", METHOD_POST, 1, handle_health},
    {"/observe/observables", METHOD_POST, 1, handle_observe},
    {"/deliberate/observables", METHOD_POST, 1, handle_deliberate},
    {"/refer/observables", METHOD_POST, 1, handle_refer},
    {"/version", METHOD_GET | METHOD_POST, 0, handle_version},
    {"/watchdog", METHOD_GET, 0, handle_watchdog},
    {"/openapi.yaml", METHOD_GET, 0, handle_openapi},
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static const route_t *find_route(h2o_iovec_t path)
{
    /* one trailing slash is tolerated, as the reference modules' strict_slashes=False does */
    if (path.len > 1 && path.base[path.len - 1] == '/')
        path.len--;
    for (size_t i = 0; i < NROUTES; i++) {
        if (h2o_memis(path.base, path.len, routes[i].path, strlen(routes[i].path)))
            return &routes[i];
    }
    return NULL;
}

static unsigned method_bit(h2o_iovec_t method)
{
    /* HEAD is a GET without a body: h2o_send_inline leaves the body out */
    if (h2o_memis(method.base, method.len, H2O_STRLIT("GET")) ||
        h2o_memis(method.base, method.len, H2O_STRLIT("HEAD")))
        return METHOD_GET;
    if (h2o_memis(method.base, method.len, H2O_STRLIT("POST")))
        return METHOD_POST;
    return 0;
}

static void reply_not_found(h2o_req_t *req)
{
    char message[300];
    char clean[3 * sizeof(message) + 1];
    int len = req->path_normalized.len > 200 ? 200 : (int)req->path_normalized.len;

    snprintf(message, sizeof(message), "No such endpoint: %.*s", len, req->path_normalized.base);
    util_utf8_sanitize(message, strlen(message), clean);
    http_reply_error(req, 404, "not found", clean);
}

static void reply_wrong_method(h2o_req_t *req, const route_t *route)
{
    char message[300];
    const char *allow = route->methods == METHOD_POST  ? "POST"
                        : route->methods == METHOD_GET ? "GET, HEAD"
                                                       : "GET, HEAD, POST";
    int mlen = req->method.len > 32 ? 32 : (int)req->method.len;
    char clean[3 * sizeof(message) + 1];

    snprintf(message, sizeof(message), "Method %.*s is not allowed on %s; allowed: %s", mlen,
             req->method.base, route->path, allow);
    util_utf8_sanitize(message, strlen(message), clean);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, allow, strlen(allow));
    http_reply_error(req, 405, "method not allowed", clean);
}

/* Bytes of a request's method and target that a log line shows; the rest is cut. */
#define LOG_METHOD_MAX 32
#define LOG_TARGET_MAX 256

/* "192.0.2.7:51234" or "[2001:db8::7]:51234"; "-" when the peer is unknown. */
static void client_text(h2o_req_t *req, char *out, size_t outlen)
{
    struct sockaddr_storage ss;
    socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    char ip[INET6_ADDRSTRLEN];

    snprintf(out, outlen, "-");
    if (len == 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
        if (inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip)) != NULL)
            snprintf(out, outlen, "%s:%u", ip, (unsigned)ntohs(sin->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
        if (inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip)) != NULL)
            snprintf(out, outlen, "[%s]:%u", ip, (unsigned)ntohs(sin6->sin6_port));
    }
}

/*
 * The client's bytes as one log line may hold them: control characters, spaces and bytes
 * past ASCII as \xHH, so that nothing a client sends can forge or split a line; at most
 * `max` bytes, then "...". `out` holds 4 * max + 4 bytes.
 */
static void log_text(h2o_iovec_t in, size_t max, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;

    for (size_t i = 0; i < in.len && i < max; i++) {
        unsigned char c = (unsigned char)in.base[i];
        if (c <= 0x20 || c >= 0x7f || c == '\\') {
            out[n++] = '\\';
            out[n++] = 'x';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 0xf];
        } else {
            out[n++] = (char)c;
        }
    }
    if (in.len > max) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

/* "<client> <method> <target>" for a log line about this request. */
#define LOG_REQUEST_LEN (INET6_ADDRSTRLEN + 16 + 4 * (LOG_METHOD_MAX + LOG_TARGET_MAX) + 16)
static void request_text(h2o_req_t *req, char *out, size_t outlen)
{
    char client[INET6_ADDRSTRLEN + 16];
    char method[4 * LOG_METHOD_MAX + 4];
    char target[4 * LOG_TARGET_MAX + 4];

    client_text(req, client, sizeof(client));
    log_text(req->method, LOG_METHOD_MAX, method);
    log_text(req->path, LOG_TARGET_MAX, target);
    snprintf(out, outlen, "%s %s %s", client, method, target);
}

/* Disposes what a call holds once H2O frees the request, and counts it out. */
static void on_call_dispose(void *p)
{
    http_call_t *call = p;

    /* a request freed while parked (the client went away) must leave the worker's list */
    if (h2o_linklist_is_linked(&call->parked))
        h2o_linklist_unlink(&call->parked);
    json_decref(call->warnings);
    call->worker->inflight--;
}

/* One INFO line per refused token: who, what, and the cause, never the header (the token). */
static void log_refused(h2o_req_t *req, auth_result_t r)
{
    char what[LOG_REQUEST_LEN];

    request_text(req, what, sizeof(what));
    log_msg(LOG_LEVEL_INFO, "http", "%s: %s", what, auth_message(r));
}

/*
 * 0 when the request may go on to its handler; -1 when it was refused (and answered); 1 when
 * it waits in the worker's parked list for a key set fetch to end.
 */
static int authenticate_or_reply(http_call_t *call)
{
    h2o_req_t *req = call->req;
    http_worker_t *worker = call->worker;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    const char *header = NULL;
    size_t header_len = 0;
    auth_result_t r;

    if (i >= 0) {
        header = req->headers.entries[i].value.base;
        header_len = req->headers.entries[i].value.len;
    }
    r = auth_verify(&worker->auth, header, header_len, req->authority.base, req->authority.len,
                    (int64_t)time(NULL), &call->claims);
    if (r == AUTH_OK)
        return 0;
    if (r == AUTH_PENDING) {
        /* without a watch nothing would ever wake the call: the key set cannot be had */
        if (worker->jwks_sock != NULL) {
            h2o_linklist_insert(&worker->parked, &call->parked);
            return 1;
        }
        r = AUTH_WRONG_JWKS_HOST;
    }
    log_refused(req, r);
    http_reply_error(req, 200, "authorization error", auth_message(r));
    return -1;
}

/* A key set fetch ended: every parked call tries again, and those no longer waiting go on. */
static void on_jwks_ready(h2o_socket_t *sock, const char *err)
{
    http_worker_t *worker = sock->data;
    h2o_linklist_t waiting;
    uint64_t count;
    ssize_t n;

    (void)err;
    /* the eventfd is non-blocking: one read resets it, and it is level-triggered */
    n = read(worker->jwks_fd, &count, sizeof(count));
    (void)n;
    /* calls that must wait again are parked anew, on the worker's list, not on this one */
    h2o_linklist_init_anchor(&waiting);
    h2o_linklist_insert_list(&waiting, &worker->parked);
    while (!h2o_linklist_is_empty(&waiting)) {
        http_call_t *call = H2O_STRUCT_FROM_MEMBER(http_call_t, parked, waiting.next);
        h2o_linklist_unlink(&call->parked);
        /* a handler that declines (returns non-zero) is passed on to H2O in on_req; here
         * nobody else would answer, so the call is answered as not found */
        if (authenticate_or_reply(call) == 0 && call->fn(call) != 0)
            http_reply_error(call->req, 404, "not found", "No handler answered this request");
    }
}

void http_watch_jwks(http_worker_t *worker, h2o_loop_t *loop)
{
    worker->jwks_sock = h2o_evloop_socket_create(loop, worker->jwks_fd, H2O_SOCKET_FLAG_DONT_READ);
    worker->jwks_sock->data = worker;
    h2o_socket_read_start(worker->jwks_sock, on_jwks_ready);
}

void http_unwatch_jwks(http_worker_t *worker)
{
    if (worker->jwks_fd < 0)
        return;
    jwks_unsubscribe(worker->auth.jwks, worker->jwks_fd);
    if (worker->jwks_sock != NULL) {
        /* closing the socket closes the descriptor too */
        h2o_socket_read_stop(worker->jwks_sock);
        h2o_socket_close(worker->jwks_sock);
        worker->jwks_sock = NULL;
    } else {
        close(worker->jwks_fd);
    }
    worker->jwks_fd = -1;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    http_worker_t *worker = h2o_context_get_handler_context(req->conn->ctx, self);
    const route_t *route = find_route(req->path_normalized);
    http_call_t *call;

    if (route == NULL) {
        reply_not_found(req);
        return 0;
    }
    if ((method_bit(req->method) & route->methods) == 0) {
        reply_wrong_method(req, route);
        return 0;
    }

    call = h2o_mem_alloc_shared(&req->pool, sizeof(*call), on_call_dispose);
    memset(call, 0, sizeof(*call));
    call->req = req;
    call->worker = worker;
    call->claims.entities_limit = AUTH_DEFAULT_ENTITIES;
    call->deadline_ms = util_monotonic_ms() + worker->cfg->request_budget_ms;
    call->fn = route->fn;
    worker->inflight++;

    if (route->auth && authenticate_or_reply(call) != 0)
        return 0;
    return route->fn(call);
}

/* Milliseconds from `a` to `b`. */
static long long ms_between(struct timeval a, struct timeval b)
{
    return (long long)(b.tv_sec - a.tv_sec) * 1000 + (b.tv_usec - a.tv_usec) / 1000;
}

/*
 * H2O calls this as it disposes of a request that reached this path tree, after the last
 * byte of the reply went out (or the client went away): one DEBUG line per request, with
 * the time from its first byte to its reply's last.
 */
static void on_log_access(h2o_logger_t *self, h2o_req_t *req)
{
    struct timeval begin = req->timestamps.request_begin_at;
    struct timeval end = req->timestamps.response_end_at;
    char what[LOG_REQUEST_LEN];

    /* unset when the client went away first; then the time is until now */
    if (begin.tv_sec == 0)
        begin = req->processed_at.at;
    if (end.tv_sec == 0)
        gettimeofday(&end, NULL);
    request_text(req, what, sizeof(what));
    log_msg(LOG_LEVEL_DEBUG, "http", "%s %d %lld ms", what, req->res.status,
            ms_between(begin, end));
}

h2o_handler_t *http_register(h2o_pathconf_t *pathconf)
{
    h2o_handler_t *handler = h2o_create_handler(pathconf, sizeof(*handler));
    h2o_logger_t *logger = h2o_create_logger(pathconf, sizeof(*logger));

    handler->on_req = on_req;
    logger->on_context_init = NULL;
    logger->on_context_dispose = NULL;
    logger->dispose = NULL;
    logger->log_access = on_log_access;
    return handler;
}

void http_attach_worker(h2o_context_t *ctx, h2o_handler_t *handler, http_worker_t *worker)
{
    h2o_linklist_init_anchor(&worker->parked);
    h2o_context_set_handler_context(ctx, handler, worker);
}
