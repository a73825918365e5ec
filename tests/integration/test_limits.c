/*
 * test_limits.c - what keeps one client from taking the server down: running out of file
 * descriptors must not make the workers spin, and one request cannot ask for an unbounded
 * reply.
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
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "harness.h"

static const char *const files[] = {TEST_DATA_DIR "/sentinel-ciscowsa.log", NULL};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* CPU time (user + system) the process has used so far, in clock ticks. */
static long cpu_ticks(pid_t pid)
{
    char path[64], buf[2048], *p;
    unsigned long utime = 0, stime = 0;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* the command name may hold spaces: fields are counted after its closing parenthesis */
    p = strrchr(buf, ')');
    assert_non_null(p);
    /* after ")": state(3) ... utime is field 14, stime field 15 */
    assert_int_equal(
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime), 2);
    return (long)(utime + stime);
}

static int connect_loopback(int port)
{
    struct sockaddr_in sin = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* the kernel completes the handshake from the listen backlog even when the server
     * cannot accept */
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    return fd;
}

/* Each test gets a server whose process is stopped even when the test fails. */
static int setup(void **state)
{
    h_server_t *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return -1;
    h_setup(s);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    h_server_t *s = *state;

    h_teardown(s);
    free(s);
    return 0;
}

#define HELD 150 /* connections held open: far more than 64 descriptors allow */

/*
 * With 64 descriptors and 150 connections held open, the server must wait for descriptors
 * instead of retrying accept in a loop: over 2 s it may use a fraction of the CPU (the
 * busy loop used both threads fully, about 4 s), it says so in its log, and it serves again
 * once the connections are gone.
 */
static void test_out_of_descriptors(void **state)
{
    h_server_t *s = *state;
    const char *const env[] = {"WSA_RELAY_SECRET=" H_SECRET, "WSA_RELAY_THREADS=2",
                               "WSA_RELAY_LOG_LEVEL=debug", NULL};
    static const char partial[] = "POST /health HTTP/1.1\r\nHost: x\r\n";
    long ticks_per_s = sysconf(_SC_CLK_TCK), before, used;
    int fds[HELD];
    h_client_t c;
    h_reply_t r;
    char *log;

    h_ingest(s, files);
    s->nofile = 64;
    h_start(s, env);
    log = h_server_log(s);
    /* the server raises its soft limit to the hard one, which the test set to 64 too */
    assert_non_null(strstr(log, "DEBUG [server] open files limit: 64\n"));
    free(log);

    for (int i = 0; i < HELD; i++) {
        fds[i] = connect_loopback(s->port);
        /* a request that never ends keeps its connection busy until H2O's 10 s timeout */
        assert_int_equal(write(fds[i], partial, sizeof(partial) - 1), (ssize_t)sizeof(partial) - 1);
    }
    sleep_ms(300);

    before = cpu_ticks(s->pid);
    sleep_ms(2000);
    used = cpu_ticks(s->pid) - before;
    if (used * 2 >= ticks_per_s)
        fail_msg("the server used %ld ticks of CPU (%ld per second) in 2 s while out of "
                 "descriptors",
                 used, ticks_per_s);

    log = h_server_log(s);
    if (strstr(log, "WARN  [server] out of file descriptors (open files limit 64):") == NULL)
        fail_msg("no warning in the server log: %s", log);
    free(log);

    for (int i = 0; i < HELD; i++)
        close(fds[i]);
    h_client_init(&c, 0);
    h_request(&c, s, "GET", "/version", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"version\":\"0.1.0\"}");
    h_reply_free(&r);
    h_client_free(&c);
    assert_int_equal(h_stop(s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_out_of_descriptors, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
