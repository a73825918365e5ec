/*
 * server.c - listeners, worker threads and the graceful stop.
 *
 * Each worker thread owns an event loop, an H2O context, a listening socket on the shared
 * address (SO_REUSEPORT lets the kernel spread connections) and a read-only store. The main
 * thread binds everything before the workers start, so that every start-up failure is
 * reported before the port is announced, then waits for SIGINT or SIGTERM. It stops the
 * workers by closing the write end of a pipe whose read end each worker watches.
 *
 * A worker out of file descriptors stops watching its listener for a moment: the pending
 * connection keeps the listener readable, so retrying at once would spin the loop until a
 * descriptor came free. The connections wait in the kernel's listen queue meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "http.h"
#include "log.h"
#include "server.h"
#include "util.h"

#define STOP_WAIT_MS   2000 /* how long in-flight requests may take to finish after a stop */
#define IDLE_CLOSE_MS  1000 /* what a stop leaves a client that is still sending a request */
#define ACCEPT_BATCH   16
#define LISTEN_BACKLOG 511
/* a pause after accept ran out of descriptors lasts ctx.hundred_ms_timeout: 100 ms */
#define ACCEPT_WARN_MS 10000 /* at most one warning per worker this often */

/* The main thread waits until every started worker has its loop set up. */
typedef struct startup {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready;
} startup_t;

typedef struct worker {
    pthread_t tid;
    int started;
    http_worker_t http;
    int listen_fd;
    int stop_fd;
    h2o_globalconf_t *conf;
    h2o_handler_t *handler;
    struct startup *startup;
    /* owned by the thread */
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    h2o_timeout_entry_t accept_resume; /* linked while accepting is paused */
    unsigned long deferred;            /* accepts put off since the last warning */
    int64_t warned_ms;                 /* when that warning was logged; 0: never */
    int stopping;
} worker_t;

static void on_accept(h2o_socket_t *listener, const char *err);

static void format_open_files_limit(char *out, size_t outlen)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        snprintf(out, outlen, "unknown");
    else if (rl.rlim_cur == RLIM_INFINITY)
        snprintf(out, outlen, "unlimited");
    else
        snprintf(out, outlen, "%llu", (unsigned long long)rl.rlim_cur);
}

/* Counts a deferred accept and logs it, at most once per ACCEPT_WARN_MS per worker. */
static void warn_deferred(worker_t *w, int err)
{
    int64_t now = util_monotonic_ms();
    const char *what =
        err == EMFILE || err == ENFILE ? "out of file descriptors" : "out of memory for sockets";
    char limit[32];

    w->deferred++;
    if (w->warned_ms != 0 && now - w->warned_ms < ACCEPT_WARN_MS)
        return;
    format_open_files_limit(limit, sizeof(limit));
    if (w->warned_ms == 0)
        log_msg(LOG_LEVEL_WARN, "server",
                "%s (open files limit %s): %lu accept(s) deferred; new connections wait in "
                "the listen queue",
                what, limit, w->deferred);
    else
        log_msg(LOG_LEVEL_WARN, "server",
                "%s (open files limit %s): %lu accept(s) deferred in the last %lld s; new "
                "connections wait in the listen queue",
                what, limit, w->deferred, (long long)((now - w->warned_ms) / 1000));
    w->warned_ms = now;
    w->deferred = 0;
}

static void on_accept_resume(h2o_timeout_entry_t *entry)
{
    worker_t *w = H2O_STRUCT_FROM_MEMBER(worker_t, accept_resume, entry);

    h2o_socket_read_start(w->listener, on_accept);
}

static void pause_accepting(worker_t *w, int err)
{
    warn_deferred(w, err);
    h2o_socket_read_stop(w->listener);
    h2o_timeout_link(w->ctx.loop, &w->ctx.hundred_ms_timeout, &w->accept_resume);
}

/*
 * accept4 is called here rather than through h2o_evloop_socket_accept, which returns NULL
 * for every failure alike: running out of descriptors must be told from an empty queue.
 */
static void on_accept(h2o_socket_t *listener, const char *err)
{
    worker_t *w = listener->data;

    if (err != NULL)
        return;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = accept4(w->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                pause_accepting(w, errno);
                return;
            }
            /* EAGAIN: the queue is empty; any other error belongs to one connection, and
             * the next wake-up (or the next turn of the batch) tries the one after it */
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            continue;
        }
        /* the listener's TCP_NODELAY is inherited by the accepted socket */
        h2o_accept(&w->accept_ctx, h2o_evloop_socket_create(
                                       w->ctx.loop, fd, H2O_SOCKET_FLAG_IS_ACCEPTED_CONNECTION));
    }
}

static void on_stop(h2o_socket_t *sock, const char *err)
{
    worker_t *w = sock->data;

    /* the main thread only ever closes the pipe, so any wake-up (EOF) means stop */
    w->stopping = 1;
    h2o_socket_read_stop(sock);
    h2o_socket_close(sock);
}

static int connections_left(worker_t *w)
{
    return !h2o_linklist_is_empty(&w->ctx.http1._conns) ||
           !h2o_linklist_is_empty(&w->ctx.http2._conns);
}

static int timeouts_idle(h2o_context_t *ctx)
{
    h2o_timeout_t *timeouts[] = {&ctx->zero_timeout,
                                 &ctx->one_sec_timeout,
                                 &ctx->hundred_ms_timeout,
                                 &ctx->handshake_timeout,
                                 &ctx->http1.req_timeout,
                                 &ctx->http2.idle_timeout,
                                 &ctx->http2.graceful_shutdown_timeout,
                                 &ctx->proxy.io_timeout};

    for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
        if (!h2o_linklist_is_empty(&timeouts[i]->_entries))
            return 0;
    }
    return 1;
}

/*
 * h2o_context_request_shutdown sends GOAWAY on HTTP/2 and makes HTTP/1 connections close
 * after their current response, but it leaves listeners and idle keep-alive connections
 * alone: close the listener here and bound the wait.
 */
static void drain(worker_t *w, h2o_evloop_t *loop, h2o_socket_t *listener)
{
    int64_t deadline = util_monotonic_ms() + STOP_WAIT_MS;

    if (h2o_timeout_is_linked(&w->accept_resume))
        h2o_timeout_unlink(&w->accept_resume);
    h2o_socket_read_stop(listener);
    h2o_socket_close(listener);
    h2o_context_request_shutdown(&w->ctx);
    /*
     * An HTTP/1 connection waiting for (the rest of) its next request sits on the request
     * timeout, which closes it cleanly when it fires: shorten it, so that idle keep-alive
     * connections close once IDLE_CLOSE_MS have passed since their last request.
     */
    if (w->ctx.http1.req_timeout.timeout > IDLE_CLOSE_MS)
        w->ctx.http1.req_timeout.timeout = IDLE_CLOSE_MS;
    while (util_monotonic_ms() < deadline) {
        if (w->http.inflight == 0 && !connections_left(w))
            break;
        h2o_evloop_run(loop, 10);
    }
    /* let the last responses leave the socket buffers */
    for (int i = 0; i < 4; i++)
        h2o_evloop_run(loop, 0);
    if (w->http.inflight > 0)
        log_msg(LOG_LEVEL_WARN, "server", "stopped with %u request(s) unfinished",
                w->http.inflight);
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    h2o_evloop_t *loop = h2o_evloop_create();
    h2o_socket_t *listener, *stop;

    h2o_context_init(&w->ctx, loop, w->conf);
    http_attach_worker(&w->ctx, w->handler, &w->http);
    if (w->http.jwks_fd >= 0)
        http_watch_jwks(&w->http, loop);
    w->accept_ctx.ctx = &w->ctx;
    w->accept_ctx.hosts = w->conf->hosts;

    listener = h2o_evloop_socket_create(loop, w->listen_fd, H2O_SOCKET_FLAG_DONT_READ);
    listener->data = w;
    w->listener = listener;
    w->accept_resume.cb = on_accept_resume;
    h2o_socket_read_start(listener, on_accept);
    stop = h2o_evloop_socket_create(loop, w->stop_fd, H2O_SOCKET_FLAG_DONT_READ);
    stop->data = w;
    h2o_socket_read_start(stop, on_stop);
    pthread_mutex_lock(&w->startup->mu);
    w->startup->ready++;
    pthread_cond_signal(&w->startup->cv);
    pthread_mutex_unlock(&w->startup->mu);

    while (!w->stopping)
        h2o_evloop_run(loop, INT32_MAX);
    drain(w, loop, listener);
    /* the fetch thread must not write to a descriptor this loop no longer watches */
    http_unwatch_jwks(&w->http);
    /* a closed H2O socket is freed on the loop's next turn */
    h2o_evloop_run(loop, 0);

    /*
     * With connections or timers still live (idle keep-alive connections), disposing the
     * context fails an assertion in h2o_timeout_dispose; the process is about to exit, so
     * they are left as they are.
     */
    /* request_shutdown arms this one-second timer even without HTTP/2 connections */
    if (h2o_timeout_is_linked(&w->ctx.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&w->ctx.http2._graceful_shutdown_timeout);
    if (!connections_left(w) && timeouts_idle(&w->ctx)) {
        h2o_context_dispose(&w->ctx);
        h2o_evloop_destroy(loop);
    }
    return NULL;
}

static int open_socket(const struct addrinfo *ai, int reuseport)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    int on = 1;

    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0) ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static void set_port(struct sockaddr_storage *ss, int port)
{
    if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
}

static int get_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Binds and listens; returns the fd, or -1 with errno set. */
static int listen_on(const struct addrinfo *ai, const struct sockaddr_storage *addr, int reuseport)
{
    int fd = open_socket(ai, reuseport);

    if (fd < 0)
        return -1;
    if (bind(fd, (const struct sockaddr *)addr, ai->ai_addrlen) != 0 ||
        listen(fd, LISTEN_BACKLOG) != 0 || fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* Formats HOST:PORT for messages, with brackets around an IPv6 address. */
static void format_address(const char *host, int port, char *out, size_t outlen)
{
    if (strchr(host, ':') != NULL)
        snprintf(out, outlen, "[%s]:%d", host, port);
    else
        snprintf(out, outlen, "%s:%d", host, port);
}

/*
 * Opens one listener per worker on the configured address. SO_REUSEPORT would let this
 * process share a port that another server already holds, so a probe without it checks that
 * the port is free first. Returns the bound port, or -1 (logged).
 */
static int open_listeners(const cfg_t *cfg, worker_t *workers, int n)
{
    struct addrinfo hints = {0}, *ai = NULL;
    struct sockaddr_storage addr;
    char where[300];
    int port = cfg->listen_port, rc, fd, i;

    format_address(cfg->listen_host, cfg->listen_port, where, sizeof(where));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(cfg->listen_host, "0", &hints, &ai);
    if (rc != 0) {
        log_msg(LOG_LEVEL_ERROR, "server", "%s: %s", where, gai_strerror(rc));
        port = -1;
        goto out;
    }
    memset(&addr, 0, sizeof(addr));
    memcpy(&addr, ai->ai_addr, ai->ai_addrlen);

    if (port != 0) {
        set_port(&addr, port);
        fd = listen_on(ai, &addr, 0);
        if (fd < 0) {
            log_msg(LOG_LEVEL_ERROR, "server", "%s: %s", where,
                    errno == EADDRINUSE ? "address already in use" : strerror(errno));
            port = -1;
            goto out;
        }
        close(fd);
    }

    for (i = 0; i < n; i++) {
        set_port(&addr, port);
        workers[i].listen_fd = listen_on(ai, &addr, 1);
        if (workers[i].listen_fd < 0) {
            log_msg(LOG_LEVEL_ERROR, "server", "%s: %s", where,
                    errno == EADDRINUSE ? "address already in use" : strerror(errno));
            port = -1;
            goto out;
        }
        /* port 0: the first listener asks the kernel, the others join the port it got */
        if (port == 0)
            port = get_port(workers[i].listen_fd);
    }

out:
    if (ai != NULL)
        freeaddrinfo(ai);
    return port;
}

/* Writes the port through a temporary file and a rename, so a reader never sees half. */
static int write_port_file(const char *path, int port)
{
    char tmp[4096];
    FILE *f = NULL;
    int rc = -1;

    snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
    f = fopen(tmp, "w");
    if (f == NULL)
        goto out;
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0) {
        f = NULL;
        goto out;
    }
    f = NULL;
    if (rename(tmp, path) != 0)
        goto out;
    rc = 0;

out:
    if (rc != 0) {
        log_msg(LOG_LEVEL_ERROR, "server", "%s: cannot write the port file: %s", path,
                strerror(errno));
        if (f != NULL)
            fclose(f);
        unlink(tmp);
    }
    return rc;
}

static int open_stores(const cfg_t *cfg, worker_t *workers, int n)
{
    char err[STORE_ERR_LEN];

    for (int i = 0; i < n; i++) {
        if (store_open(&workers[i].http.store, cfg->db_path, STORE_READ_ONLY, err, sizeof(err)) !=
            0) {
            log_msg(LOG_LEVEL_ERROR, "server", "%s", err);
            return -1;
        }
    }
    return 0;
}

/* One line that tells an operator what jwks mode will accept: hosts, key source, audience. */
static void log_jwks_mode(const cfg_t *cfg)
{
    char hosts[512] = "";
    size_t len = 0;

    for (size_t i = 0; i < cfg->jwks_hosts_n && len < sizeof(hosts); i++)
        len += (size_t)snprintf(hosts + len, sizeof(hosts) - len, "%s%s", i > 0 ? "," : "",
                                cfg->jwks_hosts[i]);
    /* a list too long for the line says so rather than look complete */
    if (len >= sizeof(hosts))
        memcpy(hosts + sizeof(hosts) - 4, "...", 4);
    log_msg(LOG_LEVEL_INFO, "server", "jwks mode: jwks_host one of %s; keys from %s; aud %s", hosts,
            cfg->jwks_file != NULL  ? "WSA_RELAY_JWKS_FILE"
            : cfg->jwks_url != NULL ? "WSA_RELAY_JWKS_URL"
                                    : "https://<jwks_host>/.well-known/jwks",
            cfg->public_url);
}

/*
 * jwks mode: the key cache (its file, when one is configured, is read now, so that a bad one
 * stops the start), and for each worker a token cache and an eventfd the cache writes to when
 * a fetch ends. Returns the cache, or NULL (logged).
 */
static jwks_t *open_jwks(const cfg_t *cfg, worker_t *workers, int n)
{
    char err[CFG_ERR_LEN];
    jwks_t *jwks = jwks_create(cfg, err, sizeof(err));

    if (jwks == NULL) {
        log_msg(LOG_LEVEL_ERROR, "server", "jwks: %s", err);
        return NULL;
    }
    log_jwks_mode(cfg);
    for (int i = 0; i < n; i++) {
        http_worker_t *h = &workers[i].http;
        h->auth.jwks = jwks;
        h->auth.cache = auth_cache_create(1024);
        if (h->auth.cache == NULL) {
            log_msg(LOG_LEVEL_ERROR, "server", "out of memory");
            return jwks;
        }
        h->jwks_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (h->jwks_fd < 0) {
            log_msg(LOG_LEVEL_ERROR, "server", "eventfd: %s", strerror(errno));
            return jwks;
        }
        if (jwks_subscribe(jwks, h->jwks_fd) != 0) {
            log_msg(LOG_LEVEL_ERROR, "server", "jwks: too many worker threads to notify");
            close(h->jwks_fd);
            h->jwks_fd = -1;
            return jwks;
        }
    }
    return jwks;
}

/* Whether open_jwks set up every worker. */
static int jwks_ready(const worker_t *workers, int n)
{
    for (int i = 0; i < n; i++) {
        if (workers[i].http.auth.cache == NULL || workers[i].http.jwks_fd < 0)
            return 0;
    }
    return 1;
}

/*
 * Every connection holds a descriptor, and the soft limit is often far below what the
 * hard limit allows (1024 against 524288 under systemd): take all that is allowed.
 */
static void raise_open_files_limit(void)
{
    struct rlimit rl;
    char limit[32];

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rlim_t was = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            log_msg(LOG_LEVEL_WARN, "server", "cannot raise the open files limit from %llu: %s",
                    (unsigned long long)was, strerror(errno));
    }
    format_open_files_limit(limit, sizeof(limit));
    log_msg(LOG_LEVEL_DEBUG, "server", "open files limit: %s", limit);
}

/* Starts the workers; returns how many started. */
static int start_workers(worker_t *workers, int n, int stop_fd)
{
    int i;

    for (i = 0; i < n; i++) {
        workers[i].stop_fd = fcntl(stop_fd, F_DUPFD_CLOEXEC, 0);
        if (workers[i].stop_fd < 0)
            break;
        if (pthread_create(&workers[i].tid, NULL, worker_main, &workers[i]) != 0) {
            close(workers[i].stop_fd);
            break;
        }
        workers[i].started = 1;
    }
    return i;
}

static void wait_for_startup(startup_t *st, int started)
{
    pthread_mutex_lock(&st->mu);
    while (st->ready < started)
        pthread_cond_wait(&st->cv, &st->mu);
    pthread_mutex_unlock(&st->mu);
}

static void wait_for_signal(const sigset_t *set)
{
    int sig = 0;

    while (sigwait(set, &sig) != 0)
        ;
    log_msg(LOG_LEVEL_INFO, "server", "%s received, stopping",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
}

/* A second signal during the stop must not kill the process once the mask is restored. */
static void discard_pending(const sigset_t *set)
{
    struct timespec zero = {0, 0};

    while (sigtimedwait(set, NULL, &zero) > 0)
        ;
}

int server_run(const cfg_t *cfg, const char *port_file)
{
    int n = cfg->threads > 0 ? cfg->threads : 1, rc = -1, port, started, i;
    int pipefd[2] = {-1, -1};
    h2o_globalconf_t conf;
    h2o_hostconf_t *host;
    h2o_handler_t *handler;
    startup_t startup = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    worker_t *workers = calloc((size_t)n, sizeof(*workers));
    jwks_t *jwks = NULL;
    sigset_t set, old;
    char where[300];

    if (workers == NULL) {
        log_msg(LOG_LEVEL_ERROR, "server", "out of memory");
        return -1;
    }
    /* the workers inherit this mask, so only sigwait below sees the stop signals */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    signal(SIGPIPE, SIG_IGN);

    h2o_config_init(&conf);
    conf.max_request_entity_size = HTTP_MAX_BODY;
    /* the default names H2O and its version, which tells a scanner more than it needs */
    conf.server_name = h2o_iovec_init(H2O_STRLIT("wsa-relay"));
    host = h2o_config_register_host(&conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    handler = http_register(h2o_config_register_path(host, "/", 0));

    for (i = 0; i < n; i++) {
        workers[i].listen_fd = -1;
        workers[i].stop_fd = -1;
        workers[i].http.cfg = cfg;
        workers[i].http.jwks_fd = -1;
        workers[i].http.auth.mode = cfg->auth_mode;
        workers[i].http.auth.cfg = cfg;
        workers[i].http.auth.secret = cfg->secret;
        workers[i].http.auth.secret_len = cfg->secret != NULL ? strlen(cfg->secret) : 0;
        workers[i].http.auth.audience = cfg->public_url;
        workers[i].conf = &conf;
        workers[i].handler = handler;
        workers[i].startup = &startup;
    }
    raise_open_files_limit();
    if (open_stores(cfg, workers, n) != 0)
        goto out;
    if (cfg->auth_mode == CFG_AUTH_JWKS) {
        jwks = open_jwks(cfg, workers, n);
        if (jwks == NULL || !jwks_ready(workers, n))
            goto out;
    }
    port = open_listeners(cfg, workers, n);
    if (port < 0)
        goto out;
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        log_msg(LOG_LEVEL_ERROR, "server", "pipe: %s", strerror(errno));
        goto out;
    }
    started = start_workers(workers, n, pipefd[0]);
    wait_for_startup(&startup, started);
    if (started < n) {
        log_msg(LOG_LEVEL_ERROR, "server", "cannot start worker thread %d", started + 1);
        goto stop;
    }

    if (port_file != NULL && write_port_file(port_file, port) != 0)
        goto stop;
    format_address(cfg->listen_host, port, where, sizeof(where));
    log_msg(LOG_LEVEL_INFO, "server", "listening on http://%s", where);
    wait_for_signal(&set);
    rc = 0;

stop:
    /* fetches end now, so that requests waiting for a key set are answered while draining */
    if (jwks != NULL)
        jwks_stop(jwks);
    close(pipefd[1]);
    pipefd[1] = -1;
    for (i = 0; i < n; i++) {
        if (workers[i].started) {
            pthread_join(workers[i].tid, NULL);
            /* the worker's loop closed its listener */
            workers[i].listen_fd = -1;
        }
    }
    if (rc == 0)
        log_msg(LOG_LEVEL_INFO, "server", "stopped");

out:
    for (i = 0; i < n; i++) {
        if (workers[i].listen_fd >= 0)
            close(workers[i].listen_fd);
        if (workers[i].stop_fd >= 0 && !workers[i].started)
            close(workers[i].stop_fd);
        if (workers[i].http.store != NULL)
            store_close(workers[i].http.store);
        /* a worker that ran closed its own; these are those of workers never started */
        if (workers[i].http.jwks_fd >= 0) {
            jwks_unsubscribe(jwks, workers[i].http.jwks_fd);
            close(workers[i].http.jwks_fd);
        }
        if (workers[i].http.auth.cache != NULL)
            auth_cache_free(workers[i].http.auth.cache);
    }
    /* after every worker was joined: none can look a key up any more */
    jwks_destroy(jwks);
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    h2o_config_dispose(&conf);
    free(workers);
    discard_pending(&set);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}
