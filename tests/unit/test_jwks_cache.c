/*
 * test_jwks_cache.c - the key set cache and its fetch thread: lookups that wait for a fetch,
 * one fetch for a burst, the refresh and retry intervals, every kind of failed fetch, the
 * stop, and the subscribers.
 *
 * The keys come from a file, or from a plain-HTTP server on 127.0.0.1 that runs in a thread
 * of this test (jwks_url may be http, since the operator chose it): it counts the requests
 * it answers, and can hold an answer until the test releases it. Documents are written here
 * from an RSA key made with OpenSSL, not by the code under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include "config.h"
#include "jwks.h"
#include "util.h"
#include "support.h"

#define HOST     "127.0.0.1"
#define DOC_CAP  4096
#define WAIT_MS  5000 /* the longest a notification may take in these tests */
#define BIG_SIZE (JWKS_MAX_BYTES + 1)

/* ---- the HTTP server ---- */

typedef enum {
    SERVE_DOC,       /* 200 with the current document */
    SERVE_404,       /* 404 with a JSON body */
    SERVE_HTML,      /* 200 with an HTML page */
    SERVE_BIG,       /* 200 with Content-Length one byte past the cap */
    SERVE_BIG_NOLEN, /* 200 with no length: bytes until the cap is passed, then the close */
    SERVE_SLOW,      /* the answer after 3 s */
    SERVE_REDIRECT,  /* 302 to a path that would serve the document */
} serve_mode_t;

typedef struct server {
    int fd;
    int port;
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    serve_mode_t mode;
    char doc[DOC_CAP];
    int hold;     /* answers wait while set */
    int quit;     /* the thread ends */
    int requests; /* requests read (whole headers) */
    int holding;  /* a request is being held */
} server_t;

static server_t srv;
static EVP_PKEY *key1, *key2;
static char n1[600], n2[600];

/* Sends everything, ignoring a peer that went away (an aborted fetch). */
static void send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

/* Reads up to the end of the request headers; 0 when a whole request came. */
static int read_request(int fd)
{
    char buf[4096];
    size_t len = 0;

    while (len < sizeof(buf) - 1) {
        ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n") != NULL)
            return 0;
    }
    return -1;
}

static void reply(int fd, int status, const char *extra, const char *body)
{
    char head[512];

    snprintf(head, sizeof(head),
             "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s"
             "Connection: close\r\n\r\n",
             status, strlen(body), extra);
    send_all(fd, head, strlen(head));
    send_all(fd, body, strlen(body));
}

static void reply_big(int fd, int with_length)
{
    static char chunk[65536];
    char head[256];
    size_t sent = 0;

    memset(chunk, ' ', sizeof(chunk));
    if (with_length)
        snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", BIG_SIZE);
    else
        snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
    send_all(fd, head, strlen(head));
    while (sent < (size_t)BIG_SIZE) {
        size_t n = BIG_SIZE - sent < sizeof(chunk) ? BIG_SIZE - sent : sizeof(chunk);
        send_all(fd, chunk, n);
        sent += n;
    }
}

/* Waits until the test releases held answers, or `ms` pass; 1 when it should quit. */
static int wait_hold(int ms)
{
    struct timespec until;
    int quit;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&srv.mu);
    srv.holding = 1;
    while (srv.hold && !srv.quit) {
        if (pthread_cond_timedwait(&srv.cv, &srv.mu, &until) == ETIMEDOUT)
            break;
    }
    srv.holding = 0;
    quit = srv.quit;
    pthread_mutex_unlock(&srv.mu);
    return quit;
}

static void serve_one(int fd)
{
    serve_mode_t mode;
    char doc[DOC_CAP];

    if (read_request(fd) != 0)
        return;
    pthread_mutex_lock(&srv.mu);
    srv.requests++;
    pthread_mutex_unlock(&srv.mu);
    if (wait_hold(30000))
        return;
    pthread_mutex_lock(&srv.mu);
    mode = srv.mode;
    memcpy(doc, srv.doc, sizeof(doc));
    pthread_mutex_unlock(&srv.mu);
    switch (mode) {
    case SERVE_DOC:
        reply(fd, 200, "", doc);
        break;
    case SERVE_404:
        reply(fd, 404, "", "{\"error\":\"not found\"}");
        break;
    case SERVE_HTML:
        reply(fd, 200, "", "<html><body>maintenance</body></html>");
        break;
    case SERVE_BIG:
        reply_big(fd, 1);
        break;
    case SERVE_BIG_NOLEN:
        reply_big(fd, 0);
        break;
    case SERVE_SLOW:
        /* the hold doubles as an interruptible sleep */
        pthread_mutex_lock(&srv.mu);
        srv.hold = 1;
        pthread_mutex_unlock(&srv.mu);
        if (!wait_hold(3000))
            reply(fd, 200, "", doc);
        break;
    case SERVE_REDIRECT:
        reply(fd, 302, "Location: /jwks\r\n", "");
        break;
    }
}

static void *server_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct pollfd p = {.fd = srv.fd, .events = POLLIN};
        int quit, fd;

        pthread_mutex_lock(&srv.mu);
        quit = srv.quit;
        pthread_mutex_unlock(&srv.mu);
        if (quit)
            break;
        if (poll(&p, 1, 50) <= 0)
            continue;
        fd = accept(srv.fd, NULL, NULL);
        if (fd < 0)
            continue;
        serve_one(fd);
        close(fd);
    }
    return NULL;
}

static void server_start(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof(sin);
    int on = 1;

    memset(&srv, 0, sizeof(srv));
    pthread_mutex_init(&srv.mu, NULL);
    pthread_cond_init(&srv.cv, NULL);
    srv.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(srv.fd >= 0);
    setsockopt(srv.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = 0;
    assert_int_equal(bind(srv.fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(srv.fd, 16), 0);
    assert_int_equal(getsockname(srv.fd, (struct sockaddr *)&sin, &len), 0);
    srv.port = ntohs(sin.sin_port);
    assert_int_equal(pthread_create(&srv.tid, NULL, server_main, NULL), 0);
}

static void server_stop(void)
{
    pthread_mutex_lock(&srv.mu);
    srv.quit = 1;
    pthread_cond_broadcast(&srv.cv);
    pthread_mutex_unlock(&srv.mu);
    pthread_join(srv.tid, NULL);
    close(srv.fd);
    pthread_cond_destroy(&srv.cv);
    pthread_mutex_destroy(&srv.mu);
}

static void server_set(serve_mode_t mode, int hold)
{
    pthread_mutex_lock(&srv.mu);
    srv.mode = mode;
    srv.hold = hold;
    pthread_cond_broadcast(&srv.cv);
    pthread_mutex_unlock(&srv.mu);
}

static void server_release(void)
{
    pthread_mutex_lock(&srv.mu);
    srv.hold = 0;
    pthread_cond_broadcast(&srv.cv);
    pthread_mutex_unlock(&srv.mu);
}

static int server_requests(void)
{
    int n;

    pthread_mutex_lock(&srv.mu);
    n = srv.requests;
    pthread_mutex_unlock(&srv.mu);
    return n;
}

/* Waits until the server holds a request, so that a test knows the fetch is under way. */
static void server_wait_holding(void)
{
    for (int i = 0; i < WAIT_MS / 10; i++) {
        int holding;
        pthread_mutex_lock(&srv.mu);
        holding = srv.holding;
        pthread_mutex_unlock(&srv.mu);
        if (holding)
            return;
        usleep(10000);
    }
    fail_msg("the fetch never reached the server");
}

/* ---- keys and documents ---- */

/* The modulus of `pkey` as base64url. */
static void modulus(EVP_PKEY *pkey, char *out)
{
    BIGNUM *n = NULL;
    unsigned char bytes[512];
    int len;

    assert_int_equal(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n), 1);
    len = BN_bn2bin(n, bytes);
    assert_int_equal(len, 256); /* a 2048-bit modulus */
    t_b64url(bytes, (size_t)len, out);
    BN_free(n);
}

/* A document with key1 as `kid1` and, when `kid2` is not NULL, key2 as `kid2`. */
static void make_doc(char *out, const char *kid1, const char *kid2)
{
    int n = snprintf(out, DOC_CAP,
                     "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"%s\","
                     "\"n\":\"%s\",\"e\":\"AQAB\"}",
                     kid1, n1);
    if (kid2 != NULL)
        n += snprintf(
            out + n, DOC_CAP - (size_t)n,
            ",{\"kty\":\"RSA\",\"use\":\"sig\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"AQAB\"}", kid2,
            n2);
    snprintf(out + n, DOC_CAP - (size_t)n, "]}");
}

static void server_doc(const char *kid1, const char *kid2)
{
    pthread_mutex_lock(&srv.mu);
    make_doc(srv.doc, kid1, kid2);
    pthread_mutex_unlock(&srv.mu);
}

/* ---- the cache under test ---- */

typedef struct fixture {
    cfg_t cfg;
    jwks_t *jwks;
    int efd;
} fixture_t;

static fixture_t fx;

/* Sets one setting of fx.cfg (made by cfg_init), failing the test when it is refused. */
static void fx_set(const char *name, const char *value)
{
    char err[CFG_ERR_LEN];

    if (cfg_set(&fx.cfg, name, value, err, sizeof(err)) != 0)
        fail_msg("%s", err);
}

/* The cache of fx.cfg as it stands, subscribed to fx.efd. */
static void start_cache(void)
{
    char err[CFG_ERR_LEN];

    fx.jwks = jwks_create(&fx.cfg, err, sizeof(err));
    if (fx.jwks == NULL)
        fail_msg("jwks_create: %s", err);
    fx.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    assert_true(fx.efd >= 0);
    assert_int_equal(jwks_subscribe(fx.jwks, fx.efd), 0);
}

/* A cache with keys from the test server (or from `file`), subscribed to fx.efd. */
static void open_cache(const char *file, int refresh_s, int timeout_ms)
{
    char v[128];

    cfg_init(&fx.cfg);
    if (file != NULL) {
        fx_set("WSA_RELAY_JWKS_FILE", file);
    } else {
        snprintf(v, sizeof(v), "http://" HOST ":%d/.well-known/jwks", srv.port);
        fx_set("WSA_RELAY_JWKS_URL", v);
    }
    snprintf(v, sizeof(v), "%d", refresh_s);
    fx_set("WSA_RELAY_JWKS_REFRESH", v);
    snprintf(v, sizeof(v), "%d", timeout_ms);
    fx_set("WSA_RELAY_JWKS_TIMEOUT_MS", v);
    start_cache();
}

static void close_cache(void)
{
    jwks_unsubscribe(fx.jwks, fx.efd);
    jwks_destroy(fx.jwks);
    close(fx.efd);
    cfg_free(&fx.cfg);
}

/* 1 when `fd` was written to within `ms` (and resets it), else 0. */
static int notified(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    uint64_t v;

    if (poll(&p, 1, ms) != 1)
        return 0;
    assert_int_equal(read(fd, &v, sizeof(v)), (ssize_t)sizeof(v));
    return 1;
}

static jwks_status_t find(const char *kid, jwks_key_t *out)
{
    jwks_key_t scratch;
    jwks_status_t st;
    const char *host = "visibility.amp.cisco.com";

    st = jwks_find(fx.jwks, host, strlen(host), kid, strlen(kid), util_monotonic_ms(),
                   out != NULL ? out : &scratch);
    if (out == NULL)
        jwks_key_release(&scratch);
    return st;
}

/* Asks for `kid`, which must wait for a fetch; then the fetch's notification must come. */
static void find_after_fetch(const char *kid)
{
    assert_int_equal(find(kid, NULL), JWKS_PENDING);
    assert_true(notified(fx.efd, WAIT_MS));
}

/* A cache of the test server's k1, with `refresh_s`, after its first fetch brought k1. */
static void open_fetched_cache(int refresh_s)
{
    server_doc("k1", NULL);
    server_set(SERVE_DOC, 0);
    open_cache(NULL, refresh_s, 5000);
    find_after_fetch("k1");
}

/* Asks for k1 of `host`, which must wait for a fetch; returns the answer once it ended. */
static jwks_status_t k1_after_fetch(const char *host)
{
    jwks_key_t key;
    jwks_status_t st;

    assert_int_equal(jwks_find(fx.jwks, host, strlen(host), "k1", 2, util_monotonic_ms(), &key),
                     JWKS_PENDING);
    assert_true(notified(fx.efd, WAIT_MS));
    st = jwks_find(fx.jwks, host, strlen(host), "k1", 2, util_monotonic_ms(), &key);
    jwks_key_release(&key);
    return st;
}

/* ---- tests ---- */

static void test_file(void **state)
{
    char path[] = "/tmp/test_jwks_cache_XXXXXX";
    char doc[DOC_CAP];
    jwks_key_t key;
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");

    (void)state;
    make_doc(doc, "file-k1", "file-k2");
    fputs(doc, f);
    fclose(f);
    open_cache(path, 60, 1000);
    assert_int_equal(find("file-k1", &key), JWKS_FOUND);
    assert_int_equal(EVP_PKEY_eq(key.pkey, key1), 1);
    assert_true(key.algs & CFG_ALG_RS256);
    jwks_key_release(&key);
    assert_int_equal(find("file-k2", &key), JWKS_FOUND);
    assert_int_equal(EVP_PKEY_eq(key.pkey, key2), 1);
    jwks_key_release(&key);
    /* read at creation: an unknown kid within the refresh interval causes no read */
    assert_int_equal(find("other", NULL), JWKS_NO_KID);
    assert_int_equal(jwks_fetch_count(fx.jwks), 0);
    assert_false(notified(fx.efd, 100));
    close_cache();
    unlink(path);
}

static void test_file_errors(void **state)
{
    char path[] = "/tmp/test_jwks_cache_XXXXXX";
    char err[CFG_ERR_LEN];
    int fd = mkstemp(path);
    cfg_t cfg;

    (void)state;
    assert_int_equal(write(fd, "<html>", 6), 6);
    close(fd);
    cfg_init(&cfg);
    assert_int_equal(cfg_set(&cfg, "WSA_RELAY_JWKS_FILE", path, err, sizeof(err)), 0);
    err[0] = '\0';
    assert_null(jwks_create(&cfg, err, sizeof(err)));
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "not a JWKS"));
    unlink(path);
    err[0] = '\0';
    assert_null(jwks_create(&cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "No such file or directory"));
    cfg_free(&cfg);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* The file is read again in the thread when an unknown kid comes after the refresh. */
static void test_file_reread(void **state)
{
    char path[] = "/tmp/test_jwks_cache_XXXXXX";
    char doc[DOC_CAP];
    jwks_key_t key;
    int fd = mkstemp(path);

    (void)state;
    close(fd);
    make_doc(doc, "file-k1", NULL);
    write_file(path, doc);
    open_cache(path, 1, 1000);
    make_doc(doc, "file-k1", "file-k2");
    write_file(path, doc);
    assert_int_equal(find("file-k2", NULL), JWKS_NO_KID);
    usleep(1100 * 1000);
    find_after_fetch("file-k2");
    assert_int_equal(find("file-k2", &key), JWKS_FOUND);
    assert_int_equal(EVP_PKEY_eq(key.pkey, key2), 1);
    jwks_key_release(&key);
    assert_int_equal(jwks_fetch_count(fx.jwks), 1);
    /* a file gone bad: its last good keys go on serving, an unknown kid is a failure */
    write_file(path, "{\"keys\":");
    usleep(1100 * 1000);
    find_after_fetch("file-k3");
    assert_int_equal(find("file-k3", NULL), JWKS_FAILED);
    assert_int_equal(find("file-k1", &key), JWKS_FOUND);
    assert_int_equal(EVP_PKEY_eq(key.pkey, key1), 1);
    jwks_key_release(&key);
    assert_int_equal(jwks_fetch_count(fx.jwks), 2);
    /* a FIFO in its place fails the read at once: opening it would wait for a writer, and
     * the fetch thread (and the stop, which joins it) with it */
    unlink(path);
    assert_int_equal(mkfifo(path, 0600), 0);
    usleep(1100 * 1000);
    find_after_fetch("file-k4");
    assert_int_equal(find("file-k4", NULL), JWKS_FAILED);
    assert_int_equal(jwks_fetch_count(fx.jwks), 3);
    close_cache();
    unlink(path);
}

/* Lookups from several threads at once during a held fetch: all wait, one request. */
#define FINDERS 8
static void *finder_main(void *arg)
{
    intptr_t id = (intptr_t)arg;
    char kid[32];
    intptr_t pending = 0;

    for (int i = 0; i < 25; i++) {
        snprintf(kid, sizeof(kid), "t%ld-%d", (long)id, i);
        pending += find(kid, NULL) == JWKS_PENDING;
    }
    return (void *)pending;
}

static void test_concurrent_finds(void **state)
{
    pthread_t tids[FINDERS];
    void *pending;

    (void)state;
    server_doc("k1", NULL);
    server_set(SERVE_DOC, 1);
    open_cache(NULL, 60, 5000);
    assert_int_equal(find("k1", NULL), JWKS_PENDING);
    server_wait_holding();
    for (intptr_t i = 0; i < FINDERS; i++)
        assert_int_equal(pthread_create(&tids[i], NULL, finder_main, (void *)i), 0);
    for (int i = 0; i < FINDERS; i++) {
        assert_int_equal(pthread_join(tids[i], &pending), 0);
        assert_int_equal((intptr_t)pending, 25);
    }
    server_release();
    assert_true(notified(fx.efd, WAIT_MS));
    assert_int_equal(server_requests(), 1);
    assert_int_equal(jwks_fetch_count(fx.jwks), 1);
    assert_int_equal(find("k1", NULL), JWKS_FOUND);
    close_cache();
}

/* A pipe works as a subscriber too, and is made non-blocking. */
static void test_pipe_subscriber(void **state)
{
    int p[2];

    (void)state;
    assert_int_equal(pipe(p), 0);
    server_doc("k1", NULL);
    server_set(SERVE_DOC, 0);
    open_cache(NULL, 60, 5000);
    assert_int_equal(jwks_subscribe(fx.jwks, p[1]), 0);
    assert_true(fcntl(p[1], F_GETFL) & O_NONBLOCK);
    find_after_fetch("k1");
    assert_true(notified(p[0], WAIT_MS));
    jwks_unsubscribe(fx.jwks, p[1]);
    /* a descriptor that is not open is refused */
    assert_int_equal(jwks_subscribe(fx.jwks, p[1] + 1000), -1);
    close_cache();
    close(p[0]);
    close(p[1]);
}

static void test_pending_then_found(void **state)
{
    jwks_key_t key;
    char kid[32];

    (void)state;
    server_doc("k1", NULL);
    server_set(SERVE_DOC, 1);
    open_cache(NULL, 60, 5000);
    assert_int_equal(find("k1", &key), JWKS_PENDING);
    assert_null(key.pkey);
    server_wait_holding();
    /* a burst during the fetch waits for it, and starts no other */
    for (int i = 0; i < 50; i++) {
        snprintf(kid, sizeof(kid), "unknown-%d", i);
        assert_int_equal(find(kid, NULL), JWKS_PENDING);
    }
    assert_false(notified(fx.efd, 100));
    server_release();
    assert_true(notified(fx.efd, WAIT_MS));
    assert_int_equal(server_requests(), 1);
    assert_int_equal(jwks_fetch_count(fx.jwks), 1);
    assert_int_equal(find("k1", &key), JWKS_FOUND);
    assert_int_equal(EVP_PKEY_eq(key.pkey, key1), 1);
    assert_true(key.algs & CFG_ALG_RS256);
    jwks_key_release(&key);
    /* right after a fetch an unknown kid is simply unknown */
    assert_int_equal(find("unknown-0", NULL), JWKS_NO_KID);
    assert_int_equal(find("unknown-51", NULL), JWKS_NO_KID);
    assert_int_equal(server_requests(), 1);
    assert_int_equal(jwks_fetch_count(fx.jwks), 1);
    close_cache();
}

static void test_refresh(void **state)
{
    jwks_key_t key;

    (void)state;
    open_fetched_cache(1);
    assert_int_equal(find("k2", NULL), JWKS_NO_KID);
    assert_int_equal(server_requests(), 1);
    /* the source rotated: k2 comes in, k1 goes */
    server_doc("k2", NULL);
    usleep(1100 * 1000);
    find_after_fetch("k2");
    assert_int_equal(server_requests(), 2);
    assert_int_equal(find("k2", &key), JWKS_FOUND);
    /* the new document names key1's modulus as k2 */
    assert_int_equal(EVP_PKEY_eq(key.pkey, key1), 1);
    jwks_key_release(&key);
    /* the set was replaced whole: the dropped kid no longer verifies */
    assert_int_equal(find("k1", NULL), JWKS_NO_KID);
    assert_int_equal(server_requests(), 2);
    assert_int_equal(jwks_fetch_count(fx.jwks), 2);
    close_cache();
}

/* A fetch answered by `mode` fails: FAILED once the notification came, and no retry yet. */
static void expect_failure(serve_mode_t mode, int timeout_ms, int64_t max_ms)
{
    int64_t start;

    server_doc("k1", NULL);
    server_set(mode, 0);
    open_cache(NULL, 60, timeout_ms);
    start = util_monotonic_ms();
    find_after_fetch("k1");
    assert_true(util_monotonic_ms() - start < max_ms);
    assert_int_equal(find("k1", NULL), JWKS_FAILED);
    assert_int_equal(find("k2", NULL), JWKS_FAILED);
    assert_int_equal(server_requests(), 1);
    assert_int_equal(jwks_fetch_count(fx.jwks), 1);
    close_cache();
}

static void test_fail_404(void **state)
{
    (void)state;
    expect_failure(SERVE_404, 5000, WAIT_MS);
}

static void test_fail_html(void **state)
{
    (void)state;
    expect_failure(SERVE_HTML, 5000, WAIT_MS);
}

static void test_fail_big(void **state)
{
    (void)state;
    expect_failure(SERVE_BIG, 5000, WAIT_MS);
}

static void test_fail_big_nolen(void **state)
{
    (void)state;
    expect_failure(SERVE_BIG_NOLEN, 5000, WAIT_MS);
}

static void test_fail_slow(void **state)
{
    (void)state;
    /* the server answers after 3 s; the fetch gives up after 300 ms */
    expect_failure(SERVE_SLOW, 300, 1500);
    server_release();
}

static void test_fail_redirect(void **state)
{
    (void)state;
    expect_failure(SERVE_REDIRECT, 5000, WAIT_MS);
}

/* jwks_refresh: a fetch only when one is due, shared with any running one. */
static void test_refresh_after_bad_signature(void **state)
{
    const char *host = "visibility.amp.cisco.com";

    (void)state;
    open_fetched_cache(2);
    /* right after a fetch: none is due */
    assert_int_equal(jwks_refresh(fx.jwks, host, strlen(host), util_monotonic_ms()), 0);
    assert_int_equal(server_requests(), 1);
    usleep(2100 * 1000);
    server_set(SERVE_DOC, 1);
    assert_int_equal(jwks_refresh(fx.jwks, host, strlen(host), util_monotonic_ms()), 1);
    server_wait_holding();
    /* while it runs, asking again joins it */
    assert_int_equal(jwks_refresh(fx.jwks, host, strlen(host), util_monotonic_ms()), 1);
    assert_int_equal(find("k9", NULL), JWKS_PENDING);
    server_release();
    assert_true(notified(fx.efd, WAIT_MS));
    assert_int_equal(server_requests(), 2);
    assert_int_equal(jwks_fetch_count(fx.jwks), 2);
    assert_int_equal(jwks_refresh(fx.jwks, host, strlen(host), util_monotonic_ms()), 0);
    close_cache();
}

/*
 * A set whose refetches all failed serves until JWKS_MAX_STALE_S, then no more: its known
 * kid waits for a fetch like an unknown one, and is refused when that fetch fails.
 */
static void test_stale_set_expires(void **state)
{
    const char *host = "visibility.amp.cisco.com";
    int64_t later;
    jwks_key_t key;

    (void)state;
    open_fetched_cache(60);
    server_set(SERVE_404, 0);
    /* past the age: served, and the background refetch fails */
    later = util_monotonic_ms() + (int64_t)JWKS_MAX_AGE_S * 1000;
    assert_int_equal(jwks_find(fx.jwks, host, strlen(host), "k1", 2, later, &key), JWKS_FOUND);
    jwks_key_release(&key);
    assert_true(notified(fx.efd, WAIT_MS));
    assert_int_equal(server_requests(), 2);
    /* a second short of the limit: still served */
    later = util_monotonic_ms() + (int64_t)JWKS_MAX_STALE_S * 1000 - 1000;
    assert_int_equal(jwks_find(fx.jwks, host, strlen(host), "k1", 2, later, &key), JWKS_FOUND);
    jwks_key_release(&key);
    assert_true(notified(fx.efd, WAIT_MS));
    /* at the limit: the set is not used; the known kid waits for a fetch (which fails) */
    later = util_monotonic_ms() + (int64_t)JWKS_MAX_STALE_S * 1000;
    assert_int_equal(jwks_find(fx.jwks, host, strlen(host), "k1", 2, later, &key), JWKS_PENDING);
    assert_null(key.pkey);
    assert_true(notified(fx.efd, WAIT_MS));
    assert_int_equal(server_requests(), 4);
    /* (the fetch ended on the real clock, so this later time finds a retry due) */
    assert_int_equal(jwks_find(fx.jwks, host, strlen(host), "k1", 2, later, &key), JWKS_PENDING);
    assert_null(key.pkey);
    assert_true(notified(fx.efd, WAIT_MS));
    /* the source answers again: the next fetch brings the key back */
    server_set(SERVE_DOC, 0);
    assert_int_equal(jwks_find(fx.jwks, host, strlen(host), "k1", 2, later, &key), JWKS_PENDING);
    assert_true(notified(fx.efd, WAIT_MS));
    /* (that set is new on the real clock) */
    assert_int_equal(jwks_find(fx.jwks, host, strlen(host), "k1", 2, util_monotonic_ms(), &key),
                     JWKS_FOUND);
    jwks_key_release(&key);
    close_cache();
}

/*
 * With a refresh interval longer than JWKS_MAX_STALE_S, a set that expired unused is still
 * fetched again at once for its known kid, not refused until the interval ends.
 */
static void test_expired_set_fetched_at_once(void **state)
{
    const char *host = "visibility.amp.cisco.com";
    int64_t later;
    jwks_key_t key;

    (void)state;
    open_fetched_cache(86400);
    later = util_monotonic_ms() + (int64_t)JWKS_MAX_STALE_S * 1000;
    assert_int_equal(jwks_find(fx.jwks, host, strlen(host), "k1", 2, later, &key), JWKS_PENDING);
    assert_true(notified(fx.efd, WAIT_MS));
    assert_int_equal(server_requests(), 2);
    assert_int_equal(jwks_find(fx.jwks, host, strlen(host), "k1", 2, util_monotonic_ms(), &key),
                     JWKS_FOUND);
    jwks_key_release(&key);
    close_cache();
}

/* With a 2 s refresh the retry interval is 2 s, not JWKS_RETRY_S. */
static void test_retry_interval(void **state)
{
    jwks_key_t key;

    (void)state;
    server_doc("k1", NULL);
    server_set(SERVE_404, 0);
    open_cache(NULL, 2, 5000);
    find_after_fetch("k1");
    assert_int_equal(find("k1", NULL), JWKS_FAILED);
    server_set(SERVE_DOC, 0);
    usleep(1000 * 1000);
    assert_int_equal(find("k1", NULL), JWKS_FAILED);
    assert_int_equal(server_requests(), 1);
    usleep(1100 * 1000);
    find_after_fetch("k1");
    assert_int_equal(server_requests(), 2);
    assert_int_equal(find("k1", &key), JWKS_FOUND);
    jwks_key_release(&key);
    close_cache();
}

/* With the default refresh a failure is retried after JWKS_RETRY_S (5 s), not 60 s. */
static void test_retry_default(void **state)
{
    (void)state;
    server_doc("k1", NULL);
    server_set(SERVE_HTML, 0);
    open_cache(NULL, 60, 5000);
    find_after_fetch("k1");
    usleep(4500 * 1000);
    assert_int_equal(find("k1", NULL), JWKS_FAILED);
    assert_int_equal(server_requests(), 1);
    usleep(600 * 1000);
    server_set(SERVE_DOC, 0);
    find_after_fetch("k1");
    assert_int_equal(server_requests(), 2);
    assert_int_equal(find("k1", NULL), JWKS_FOUND);
    close_cache();
}

static void test_stop_during_fetch(void **state)
{
    int64_t start;

    (void)state;
    server_doc("k1", NULL);
    server_set(SERVE_DOC, 1);
    open_cache(NULL, 60, 10000);
    assert_int_equal(find("k1", NULL), JWKS_PENDING);
    server_wait_holding();
    start = util_monotonic_ms();
    jwks_stop(fx.jwks);
    /* at once, whether or not the thread has ended the fetch yet: nothing is left to wait for */
    assert_int_equal(find("k1", NULL), JWKS_FAILED);
    assert_true(notified(fx.efd, 2000));
    assert_true(util_monotonic_ms() - start < 1500);
    assert_int_equal(find("k1", NULL), JWKS_FAILED);
    /* a stopped cache starts nothing, and answers at once */
    assert_int_equal(find("other", NULL), JWKS_FAILED);
    assert_int_equal(jwks_fetch_count(fx.jwks), 1);
    server_release();
    close_cache();
    assert_int_equal(server_requests(), 1);
}

static void test_subscribers(void **state)
{
    int second = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int i;

    (void)state;
    server_doc("k1", NULL);
    server_set(SERVE_DOC, 0);
    open_cache(NULL, 1, 5000);
    assert_int_equal(jwks_subscribe(fx.jwks, second), 0);
    find_after_fetch("k1");
    assert_true(notified(second, WAIT_MS));
    jwks_unsubscribe(fx.jwks, second);
    usleep(1100 * 1000);
    find_after_fetch("k2");
    assert_false(notified(second, 200));
    /* the table holds 256 descriptors: fx.efd and 255 more */
    for (i = 0; i < 255; i++)
        assert_int_equal(jwks_subscribe(fx.jwks, second), 0);
    assert_int_equal(jwks_subscribe(fx.jwks, second), -1);
    for (i = 0; i < 255; i++)
        jwks_unsubscribe(fx.jwks, second);
    close_cache();
    close(second);
}

/* A host source (no override) is fetched over https only: a plain-HTTP server fails it. */
static void test_host_https_only(void **state)
{
    char host[64];

    (void)state;
    server_doc("k1", NULL);
    server_set(SERVE_DOC, 0);
    cfg_init(&fx.cfg);
    fx_set("WSA_RELAY_JWKS_TIMEOUT_MS", "2000");
    start_cache();
    snprintf(host, sizeof(host), HOST ":%d", srv.port);
    assert_int_equal(k1_after_fetch(host), JWKS_FAILED);
    /* the TLS handshake is not an HTTP request */
    assert_int_equal(server_requests(), 0);
    close_cache();
}

/* A set older than JWKS_MAX_AGE_S is fetched again while its keys go on serving. */
static void test_background_refetch(void **state)
{
    const char *host = "visibility.amp.cisco.com";
    int64_t later;
    jwks_key_t key;

    (void)state;
    open_fetched_cache(60);
    server_set(SERVE_DOC, 1);
    /* an hour less a second: still fresh */
    later = util_monotonic_ms() + 3599 * 1000;
    assert_int_equal(jwks_find(fx.jwks, host, strlen(host), "k1", 2, later, &key), JWKS_FOUND);
    jwks_key_release(&key);
    assert_int_equal(jwks_fetch_count(fx.jwks), 1);
    later = util_monotonic_ms() + 3600 * 1000;
    assert_int_equal(jwks_find(fx.jwks, host, strlen(host), "k1", 2, later, &key), JWKS_FOUND);
    assert_int_equal(EVP_PKEY_eq(key.pkey, key1), 1);
    jwks_key_release(&key);
    server_wait_holding();
    assert_int_equal(jwks_fetch_count(fx.jwks), 2);
    /* during the refetch: the known kid is served, an unknown one waits, none starts more */
    assert_int_equal(jwks_find(fx.jwks, host, strlen(host), "k1", 2, later, &key), JWKS_FOUND);
    jwks_key_release(&key);
    assert_int_equal(jwks_find(fx.jwks, host, strlen(host), "k9", 2, later, &key), JWKS_PENDING);
    server_release();
    assert_true(notified(fx.efd, WAIT_MS));
    assert_int_equal(server_requests(), 2);
    assert_int_equal(jwks_fetch_count(fx.jwks), 2);
    close_cache();
}

/* A port on HOST that nothing listens on. */
static int closed_port(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    assert_true(fd >= 0);
    inet_pton(AF_INET, HOST, &sin.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    port = ntohs(sin.sin_port);
    close(fd);
    return port;
}

/*
 * The proxy variables of the environment are not followed: with every one of them naming
 * the test server, a fetch from a closed port fails instead of reaching the keys through it.
 */
static void test_env_proxy_ignored(void **state)
{
    static const char *const vars[] = {"http_proxy", "https_proxy", "HTTPS_PROXY", "ALL_PROXY",
                                       "all_proxy"};
    char proxy[64], url[128];

    (void)state;
    server_doc("k1", NULL);
    server_set(SERVE_DOC, 0);
    snprintf(proxy, sizeof(proxy), "http://" HOST ":%d", srv.port);
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        setenv(vars[i], proxy, 1);
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    cfg_init(&fx.cfg);
    snprintf(url, sizeof(url), "http://" HOST ":%d/.well-known/jwks", closed_port());
    fx_set("WSA_RELAY_JWKS_URL", url);
    start_cache();
    assert_int_equal(k1_after_fetch("h"), JWKS_FAILED);
    assert_int_equal(server_requests(), 0);
    close_cache();
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    setenv("no_proxy", "*", 1);
    setenv("NO_PROXY", "*", 1);
}

/*
 * WSA_RELAY_JWKS_PROXY is used whatever no_proxy says (this program sets it to "*"): the
 * fetch from a closed port succeeds through the test server acting as the proxy.
 */
static void test_configured_proxy_used(void **state)
{
    char proxy[64], url[128];

    (void)state;
    server_doc("k1", NULL);
    server_set(SERVE_DOC, 0);
    assert_string_equal(getenv("no_proxy"), "*");
    cfg_init(&fx.cfg);
    snprintf(proxy, sizeof(proxy), "http://" HOST ":%d", srv.port);
    snprintf(url, sizeof(url), "http://" HOST ":%d/.well-known/jwks", closed_port());
    fx_set("WSA_RELAY_JWKS_PROXY", proxy);
    fx_set("WSA_RELAY_JWKS_URL", url);
    start_cache();
    assert_int_equal(k1_after_fetch("h"), JWKS_FOUND);
    assert_int_equal(server_requests(), 1);
    close_cache();
}

/*
 * A credential in WSA_RELAY_JWKS_URL (user information, a query) stays out of the log: the
 * fetch's log line names the URL without them.
 */
static void test_url_credentials_not_logged(void **state)
{
    char url[160], want[160], logged[4096] = "";
    char path[] = "/tmp/test_jwks_cache_log_XXXXXX";
    int log_fd = mkstemp(path), saved = dup(2);
    ssize_t n;

    (void)state;
    assert_true(log_fd >= 0 && saved >= 0);
    server_doc("k1", NULL);
    server_set(SERVE_DOC, 0);
    cfg_init(&fx.cfg);
    snprintf(url, sizeof(url), "http://reader:s3cret@" HOST ":%d/.well-known/jwks?token=abc123",
             srv.port);
    fx_set("WSA_RELAY_JWKS_URL", url);
    start_cache();
    /* the log goes to stderr: catch it in a file for the fetch */
    assert_int_equal(dup2(log_fd, 2), 2);
    assert_int_equal(k1_after_fetch("h"), JWKS_FOUND);
    assert_int_equal(dup2(saved, 2), 2);
    n = pread(log_fd, logged, sizeof(logged) - 1, 0);
    assert_true(n > 0);
    logged[n] = '\0';
    snprintf(want, sizeof(want), "fetched http://" HOST ":%d/.well-known/jwks?...: 1 key(s)",
             srv.port);
    assert_non_null(strstr(logged, want));
    assert_null(strstr(logged, "s3cret"));
    assert_null(strstr(logged, "reader"));
    assert_null(strstr(logged, "abc123"));
    close_cache();
    close(saved);
    close(log_fd);
    unlink(path);
}

static int setup(void **state)
{
    (void)state;
    server_start();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    server_stop();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_file_reread),
        cmocka_unit_test_setup_teardown(test_concurrent_finds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipe_subscriber, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_then_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_404, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_html, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_big_nolen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_slow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_redirect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_background_refetch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_set_expires, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_after_bad_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_set_fetched_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_interval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_during_fetch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subscribers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_https_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_proxy_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_credentials_not_logged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_configured_proxy_used, setup, teardown),
    };
    int rc;

    /* the fetches go to loopback directly, whatever proxy a developer has set */
    setenv("no_proxy", "*", 1);
    setenv("NO_PROXY", "*", 1);
    key1 = EVP_RSA_gen(2048);
    key2 = EVP_RSA_gen(2048);
    if (key1 == NULL || key2 == NULL)
        return 1;
    modulus(key1, n1);
    modulus(key2, n2);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    EVP_PKEY_free(key1);
    EVP_PKEY_free(key2);
    return rc;
}
