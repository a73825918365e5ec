/*
 * test_server.c - the server process: its start-up line, a port already taken, several
 * worker threads, and the graceful stop with connections still open.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "harness.h"

static const char *const files[] = {TEST_DATA_DIR "/sentinel-ciscowsa.log", NULL};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_loopback(int port)
{
    struct sockaddr_in sin = {0};
    struct timeval tv = {5, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static void test_listening_line(void **state)
{
    const char *const env[] = {"WSA_RELAY_SECRET=" H_SECRET, NULL};
    char expected[64];
    char *log;
    h_server_t s;

    h_setup(&s);
    h_ingest(&s, files);
    h_start(&s, env);
    snprintf(expected, sizeof(expected), "INFO  [server] listening on http://127.0.0.1:%d\n",
             s.port);
    log = h_server_log(&s);
    assert_non_null(strstr(log, expected));
    free(log);
    assert_int_equal(h_stop(&s), 0);
    h_teardown(&s);
}

/* A server started before any log arrived creates an empty database and answers from it. */
static void test_empty_database_created(void **state)
{
    const char *const env[] = {"WSA_RELAY_SECRET=" H_SECRET, NULL};
    const char *body = "[{\"type\":\"ip\",\"value\":\"172.18.32.70\"}]";
    char *auth = h_bearer("{}");
    const char *const headers[] = {auth, NULL};
    h_client_t c;
    h_reply_t r;
    h_server_t s;
    char *log;

    h_setup(&s);
    assert_int_equal(access(s.db, F_OK), -1);
    h_start(&s, env);
    assert_int_equal(access(s.db, F_OK), 0);
    log = h_server_log(&s);
    assert_non_null(strstr(log, "WARN  [server] created an empty tracking database at "));
    assert_non_null(strstr(log, ": every lookup finds nothing until `wsa-relay ingest` loads "
                                "logs into it (check --db or WSA_RELAY_DB if they were loaded "
                                "elsewhere)\n"));
    free(log);

    h_client_init(&c, 0);
    h_request(&c, &s, "POST", "/health", headers, NULL, 0, &r);
    assert_string_equal(r.body, "{\"data\":{\"status\":\"ok\"}}");
    h_reply_free(&r);
    h_request(&c, &s, "POST", "/observe/observables", headers, body, strlen(body), &r);
    assert_string_equal(r.body, "{\"data\":{}}");
    h_reply_free(&r);
    h_client_free(&c);
    free(auth);
    assert_int_equal(h_stop(&s), 0);
    h_teardown(&s);
}

/* SO_REUSEPORT would let a second server share the port silently: it must refuse instead. */
static void test_port_in_use(void **state)
{
    const char *const env[] = {"WSA_RELAY_SECRET=" H_SECRET, NULL};
    char listen[64], expected[96], err[2048];
    const char *argv[] = {"serve", "--db", NULL, "--listen", listen, NULL};
    h_client_t c;
    h_reply_t r;
    h_server_t s;

    h_setup(&s);
    h_ingest(&s, files);
    h_start(&s, env);
    argv[2] = s.db;
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", s.port);
    snprintf(expected, sizeof(expected), "[server] 127.0.0.1:%d: address already in use\n", s.port);
    assert_int_equal(h_run(argv, env, err, sizeof(err)), 1);
    assert_non_null(strstr(err, expected));

    /* the first server still answers */
    h_client_init(&c, 0);
    h_request(&c, &s, "GET", "/version", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    h_reply_free(&r);
    h_client_free(&c);
    assert_int_equal(h_stop(&s), 0);
    h_teardown(&s);
}

static void test_threads(void **state)
{
    const char *const env[] = {"WSA_RELAY_SECRET=" H_SECRET, "WSA_RELAY_THREADS=4", NULL};
    char *auth = h_bearer("{}");
    const char *const headers[] = {auth, NULL};
    h_server_t s;

    h_setup(&s);
    h_ingest(&s, files);
    h_start(&s, env);
    /* a new connection each time, so that the kernel spreads them over the listeners */
    for (int i = 0; i < 40; i++) {
        h_client_t c;
        h_reply_t r;
        h_client_init(&c, i % 2);
        h_request(&c, &s, "POST", "/health", headers, NULL, 0, &r);
        assert_string_equal(r.body, "{\"data\":{\"status\":\"ok\"}}");
        assert_int_equal(r.new_connections, 1);
        h_reply_free(&r);
        h_client_free(&c);
    }
    assert_int_equal(h_stop(&s), 0);
    h_teardown(&s);
    free(auth);
}

/* Reads HTTP/2 frames until a GOAWAY (type 7) arrives; returns 1 when one did. */
/* Reads one whole HTTP/2 frame; returns its type, or -1 when the connection ends first. */
static int read_frame_type(int fd)
{
    unsigned char head[9], skip[512];
    size_t have = 0, len;

    while (have < sizeof(head)) {
        ssize_t n = read(fd, head + have, sizeof(head) - have);
        if (n <= 0)
            return -1;
        have += (size_t)n;
    }
    len = ((size_t)head[0] << 16) | ((size_t)head[1] << 8) | head[2];
    while (len > 0) {
        ssize_t n = read(fd, skip, len < sizeof(skip) ? len : sizeof(skip));
        if (n <= 0)
            return -1;
        len -= (size_t)n;
    }
    return head[3];
}

static int read_goaway(int fd)
{
    unsigned char buf[16384];
    size_t have = 0;

    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof(buf) - have);
        if (n <= 0)
            return 0;
        have += (size_t)n;
        while (have >= 9) {
            size_t len = ((size_t)buf[0] << 16) | ((size_t)buf[1] << 8) | buf[2];
            if (buf[3] == 7)
                return 1;
            if (have < 9 + len)
                break;
            memmove(buf, buf + 9 + len, have - 9 - len);
            have -= 9 + len;
        }
        if (have == sizeof(buf))
            return 0;
    }
}

/*
 * SIGTERM with an idle HTTP/1.1 connection and an idle HTTP/2 connection open: the HTTP/2
 * client is told GOAWAY, and the server exits 0 within its bounded wait (2 s) rather than
 * waiting for the clients to leave.
 */
static void test_graceful_stop_with_idle_connections(void **state)
{
    const char *const env[] = {"WSA_RELAY_SECRET=" H_SECRET, "WSA_RELAY_THREADS=1", NULL};
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                                  "\x00\x00\x00\x04\x00\x00\x00\x00\x00"; /* empty SETTINGS */
    h_client_t c;
    h_reply_t r;
    h_server_t s;
    int h1, h2;
    int64_t start;
    char *log;

    h_setup(&s);
    h_ingest(&s, files);
    h_start(&s, env);

    /* a keep-alive connection left open by a client that made one request */
    h_client_init(&c, 0);
    h_request(&c, &s, "GET", "/version", NULL, NULL, 0, &r);
    h_reply_free(&r);
    h1 = connect_loopback(s.port);
    h2 = connect_loopback(s.port);
    assert_int_equal(write(h2, preface, sizeof(preface) - 1), (ssize_t)(sizeof(preface) - 1));
    /* the server's own SETTINGS frame (type 4) shows it has taken the HTTP/2 connection,
     * however loaded the machine is; the idle HTTP/1 one gets a moment too */
    assert_int_equal(read_frame_type(h2), 4);
    usleep(200 * 1000);

    start = now_ms();
    assert_int_equal(h_stop(&s), 0);
    assert_true(now_ms() - start < 5000);
    assert_int_equal(read_goaway(h2), 1);
    log = h_server_log(&s);
    assert_non_null(strstr(log, "INFO  [server] stopped\n"));
    assert_null(strstr(log, "unfinished"));
    free(log);

    close(h1);
    close(h2);
    h_client_free(&c);
    h_teardown(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listening_line),
        cmocka_unit_test(test_empty_database_created),
        cmocka_unit_test(test_port_in_use),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_graceful_stop_with_idle_connections),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
