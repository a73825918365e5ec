/*
 * test_syslog.c - `wsa-relay ingest --syslog` on loopback: the real binary, real sockets.
 *
 * Each test starts the receiver with a UDP and a TCP listener on port 0, reads the ports
 * back from its log, sends messages and waits (with a deadline, never a fixed sleep) for
 * the rows it expects in the database, then stops it with SIGTERM and checks its counts
 * line. Offsets are worked out from the bytes sent: a listener's first message is at 0
 * and each message moves the next one on by the bytes its frame took (an octet-counted
 * frame's "LEN " included, a delimited one's LF included; a datagram is one message).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#define LSAN_SUPP   TEST_DATA_DIR "/../lsan.supp"
#define DEADLINE_MS 15000

extern char **environ;

/* A native access line with the client address as its only variable part. */
#define LINE_FMT                                                                                   \
    "1700000000.125 42 %s TCP_MISS/200 5120 GET http://www.example.com/ - "                        \
    "DIRECT/www.example.com text/html DEFAULT_CASE_12-AP-ID-NONE-NONE-NONE-DG-NONE "               \
    "<IW_adv,5.0,-,-,-,-,-,-,-,-,-,-,-,-,-> -"

typedef struct rx {
    char dir[256];
    char db[320], out[320], err[320];
    pid_t pid;
    int udp_port, tcp_port;
} rx_t;

/* The running test's receiver and folder, copied out of its frame: a failed assertion
 * leaves the test function, and the teardown must still stop the receiver. */
static struct {
    pid_t pid;
    char dir[256];
} live;

/* When > 0, the next rx_start runs the receiver with this many descriptors at most. */
static int child_nofile;

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = calloc(1, 1 << 20);
    size_t n = 0;

    assert_non_null(buf);
    if (f != NULL) {
        n = fread(buf, 1, (1 << 20) - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    return buf;
}

/* The child's environment: none of this process's WSA_RELAY_* settings, then `env`. */
static void child_env(const char *const env[])
{
    for (size_t i = 0; environ[i] != NULL;) {
        if (strncmp(environ[i], "WSA_RELAY_", 10) == 0) {
            char name[256];
            snprintf(name, sizeof(name), "%.*s", (int)strcspn(environ[i], "="), environ[i]);
            unsetenv(name);
        } else {
            i++;
        }
    }
    for (size_t i = 0; env != NULL && env[i] != NULL; i++)
        putenv((char *)env[i]);
    setenv("LSAN_OPTIONS", "suppressions=" LSAN_SUPP, 0);
}

/* The port after `prefix` in the receiver's log, 0 when not there yet. */
static int port_in_log(const char *log, const char *prefix)
{
    const char *p = strstr(log, prefix);

    return p != NULL ? atoi(p + strlen(prefix)) : 0;
}

/* Starts `ingest --syslog udp://127.0.0.1:0 --syslog tcp://127.0.0.1:0 [extra...]`. */
static void rx_start(rx_t *r, const char *const env[], const char *const extra[])
{
    const char *argv[16] = {WSA_RELAY_BIN, "ingest",           "--db",
                            r->db,         "--syslog",         "udp://127.0.0.1:0",
                            "--syslog",    "tcp://127.0.0.1:0"};
    size_t argc = 8;
    int64_t until = now_ms() + DEADLINE_MS;

    snprintf(r->dir, sizeof(r->dir), "/tmp/wsa-it-syslog-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    snprintf(r->db, sizeof(r->db), "%s/t.db", r->dir);
    snprintf(r->out, sizeof(r->out), "%s/out", r->dir);
    snprintf(r->err, sizeof(r->err), "%s/err", r->dir);
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;
    snprintf(live.dir, sizeof(live.dir), "%s", r->dir);
    r->pid = fork();
    assert_true(r->pid >= 0);
    if (r->pid == 0) {
        int o = open(r->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        int e = open(r->err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (o < 0 || e < 0 || dup2(o, STDOUT_FILENO) < 0 || dup2(e, STDERR_FILENO) < 0)
            _exit(127);
        child_env(env);
        if (child_nofile > 0) {
            struct rlimit rl = {.rlim_cur = (rlim_t)child_nofile, .rlim_max = (rlim_t)child_nofile};
            if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
                _exit(127);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    live.pid = r->pid;
    for (;;) {
        char *log = slurp(r->err);
        r->udp_port = port_in_log(log, "listening on udp://127.0.0.1:");
        r->tcp_port = port_in_log(log, "listening on tcp://127.0.0.1:");
        free(log);
        if (r->udp_port > 0 && r->tcp_port > 0)
            return;
        assert_true(now_ms() < until);
        assert_int_equal(waitpid(r->pid, NULL, WNOHANG), 0);
        pause_ms(10);
    }
}

/* SIGTERM, then the exit status; the counts line is left in r->out. */
static int rx_stop(rx_t *r)
{
    int status = 0;

    kill(r->pid, SIGTERM);
    while (waitpid(r->pid, &status, 0) < 0 && errno == EINTR)
        ;
    r->pid = 0;
    live.pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void rx_cleanup(rx_t *r)
{
    char cmd[300];

    if (r->pid > 0) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
    assert_int_equal(system(cmd), 0);
    memset(&live, 0, sizeof(live));
}

static int teardown(void **state)
{
    char cmd[300];

    (void)state;
    if (live.pid > 0) {
        kill(live.pid, SIGKILL); /* stops a stopped process too */
        waitpid(live.pid, NULL, 0);
    }
    if (live.dir[0] != '\0') {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", live.dir);
        if (system(cmd) != 0)
            return -1;
    }
    memset(&live, 0, sizeof(live));
    return 0;
}

static void stop_expecting(rx_t *r, const char *counts)
{
    char *out;

    assert_int_equal(rx_stop(r), 0);
    out = slurp(r->out);
    assert_string_equal(out, counts);
    free(out);
}

/* Every row of `sql`, columns joined by '|', rows ended by '\n'; NULL while the database
 * cannot be read yet. */
static char *query(const rx_t *r, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    size_t cap = 1 << 20, len = 0;
    char *text = NULL;
    int rc;

    if (sqlite3_open_v2(r->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        goto out;
    text = calloc(1, cap);
    assert_non_null(text);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(s); i++) {
            const char *v = (const char *)sqlite3_column_text(s, i);
            len += (size_t)snprintf(text + len, cap - len, "%s%s", i > 0 ? "|" : "",
                                    v != NULL ? v : "NULL");
            assert_true(len < cap);
        }
        len += (size_t)snprintf(text + len, cap - len, "\n");
    }
    if (rc != SQLITE_DONE) {
        free(text);
        text = NULL;
    }
out:
    sqlite3_finalize(s);
    sqlite3_close(db);
    return text;
}

/* Waits until `sql` gives exactly `expected`; fails with the last answer at the deadline. */
static void wait_for(const rx_t *r, const char *sql, const char *expected)
{
    int64_t until = now_ms() + DEADLINE_MS;

    for (;;) {
        char *got = query(r, sql);
        if (got != NULL && strcmp(got, expected) == 0) {
            free(got);
            return;
        }
        if (now_ms() >= until) {
            assert_string_equal(got != NULL ? got : "(database not readable)", expected);
        }
        free(got);
        pause_ms(20);
    }
}

static int socket_from(int type, const char *src)
{
    int fd = socket(AF_INET, type, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};

    assert_true(fd >= 0);
    if (src != NULL) {
        assert_int_equal(inet_pton(AF_INET, src, &a.sin_addr), 1);
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    }
    return fd;
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static void send_udp(int port, const char *src, const char *msg, size_t len)
{
    int fd = socket_from(SOCK_DGRAM, src);
    struct sockaddr_in a = loopback(port);

    assert_int_equal(sendto(fd, msg, len, 0, (struct sockaddr *)&a, sizeof(a)), (ssize_t)len);
    close(fd);
}

static int tcp_open(int port, const char *src)
{
    int fd = socket_from(SOCK_STREAM, src);
    struct sockaddr_in a = loopback(port);

    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static void send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        data += n;
        len -= (size_t)n;
    }
}

static void send_str(int fd, const char *s)
{
    send_all(fd, s, strlen(s));
}

/* Waits until the peer closes the connection: 1 when it did within the deadline. */
static int closed_by_peer(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;

    if (poll(&p, 1, DEADLINE_MS) != 1)
        return 0;
    return recv(fd, &c, 1, 0) <= 0;
}

/* printf into a static buffer of its own per call site */
static char *fmt(char *buf, size_t len, const char *f, ...) __attribute__((format(printf, 3, 4)));
static char *fmt(char *buf, size_t len, const char *f, ...)
{
    va_list ap;
    int n;

    va_start(ap, f);
    n = vsnprintf(buf, len, f, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < len);
    return buf;
}

#define ROWS_SQL                                                                                   \
    "SELECT s.name, t.offset, a.name, t.client_ip, t.time_ms, length(t.raw)"                       \
    " FROM transactions t JOIN appliances a ON a.id = t.appliance_id"                              \
    " JOIN sources s ON s.id = t.source_id ORDER BY s.name, t.offset"

/* UDP, one message a datagram: RFC 3164 with its tag and level word, RFC 5424 with
 * structured data and a BOM, and a bare line whose appliance is the sender's address. */
static void test_udp_formats(void **state)
{
    char m1[512], m2[512], m3[512], expected[1024];
    rx_t r = {0};
    (void)state;

    rx_start(&r, NULL, NULL);
    fmt(m1, sizeof(m1), "<134>Nov 14 22:13:20 wsa1.example.com accesslogs: Info: " LINE_FMT,
        "192.0.2.1");
    fmt(m2, sizeof(m2),
        "<134>1 2023-11-14T22:13:20.125Z wsa2 accesslogs 42 - [origin@9 ip=\"10.0.0.5\" "
        "note=\"a \\\"b\\\" \\]\"] \xef\xbb\xbf" LINE_FMT "\n",
        "192.0.2.2");
    fmt(m3, sizeof(m3), LINE_FMT, "192.0.2.3");
    send_udp(r.udp_port, NULL, m1, strlen(m1));
    wait_for(&r, "SELECT count(*) FROM transactions", "1\n");
    send_udp(r.udp_port, NULL, m2, strlen(m2));
    wait_for(&r, "SELECT count(*) FROM transactions", "2\n");
    send_udp(r.udp_port, NULL, m3, strlen(m3));
    /* offsets: 0, then + the first datagram, then + the second (its LF included); the
     * second's row keeps its bytes without the trailing LF */
    fmt(expected, sizeof(expected),
        "syslog udp://127.0.0.1:%d|0|wsa1.example.com|192.0.2.1|1700000000125|%zu\n"
        "syslog udp://127.0.0.1:%d|%zu|wsa2|192.0.2.2|1700000000125|%zu\n"
        "syslog udp://127.0.0.1:%d|%zu|127.0.0.1|192.0.2.3|1700000000125|%zu\n",
        r.udp_port, strlen(m1), r.udp_port, strlen(m1), strlen(m2) - 1, r.udp_port,
        strlen(m1) + strlen(m2), strlen(m3));
    wait_for(&r, ROWS_SQL, expected);
    wait_for(&r,
             "SELECT count(*) FROM transactions WHERE raw = CAST(" /* exact bytes */
             "'<134>Nov 14 22:13:20 wsa1.example.com accesslogs: Info: 1700000000.125 42 "
             "192.0.2.1 TCP_MISS/200 5120 GET http://www.example.com/ - DIRECT/www.example.com "
             "text/html DEFAULT_CASE_12-AP-ID-NONE-NONE-NONE-DG-NONE "
             "<IW_adv,5.0,-,-,-,-,-,-,-,-,-,-,-,-,-> -' AS BLOB)",
             "1\n");
    stop_expecting(&r, "read=3 stored=3 warned=0 rejected=0 skipped=0\n");
    rx_cleanup(&r);
}

/* TCP: newline framing, octet counting, a counted frame written byte by byte, a delimited
 * one split in three writes, and two frames (one of each kind) in one write. */
static void test_tcp_framings(void **state)
{
    char a[512], b[512], c[512], d[512], e[512], buf[1200], expected[2048];
    size_t off_b, off_c, off_d, off_e, len_b, len_c, len_e;
    rx_t r = {0};
    int fd;
    (void)state;

    rx_start(&r, NULL, NULL);
    fd = tcp_open(r.tcp_port, NULL);
    fmt(a, sizeof(a), "<13>Nov 14 22:13:20 wsa-a " LINE_FMT, "192.0.2.11");
    fmt(b, sizeof(b), "<13>1 - wsa-b - - - - " LINE_FMT, "192.0.2.12");
    fmt(c, sizeof(c), "<13>Nov 14 22:13:20 wsa-c " LINE_FMT, "192.0.2.13");
    fmt(d, sizeof(d), "<13>Nov 14 22:13:20 wsa-d " LINE_FMT, "192.0.2.14");
    fmt(e, sizeof(e), "<13>Nov 14 22:13:20 wsa-e " LINE_FMT, "192.0.2.15");

    /* a: delimited */
    send_str(fd, fmt(buf, sizeof(buf), "%s\n", a));
    wait_for(&r, "SELECT count(*) FROM transactions", "1\n");
    /* b: counted, one byte a write, each reaching the receiver on its own */
    fmt(buf, sizeof(buf), "%zu %s", strlen(b), b);
    len_b = strlen(buf);
    for (size_t i = 0; i < len_b; i++) {
        send_all(fd, buf + i, 1);
        if (i % 64 == 0)
            pause_ms(1);
    }
    wait_for(&r, "SELECT count(*) FROM transactions", "2\n");
    /* c: delimited, in three writes with pauses */
    fmt(buf, sizeof(buf), "%s\n", c);
    len_c = strlen(buf);
    send_all(fd, buf, 10);
    pause_ms(50);
    send_all(fd, buf + 10, 100);
    pause_ms(50);
    send_all(fd, buf + 110, len_c - 110);
    wait_for(&r, "SELECT count(*) FROM transactions", "3\n");
    /* d and e in one write: counted, then delimited with a CR LF (the raw line is e alone) */
    fmt(buf, sizeof(buf), "%zu %s%s\r\n", strlen(d), d, e);
    len_e = strlen(e) + 2;
    send_str(fd, buf);
    close(fd);

    off_b = strlen(a) + 1;
    off_c = off_b + len_b;
    off_d = off_c + len_c;
    off_e = off_d + strlen(buf) - len_e;
    fmt(expected, sizeof(expected),
        "syslog tcp://127.0.0.1:%d|0|wsa-a|192.0.2.11|1700000000125|%zu\n"
        "syslog tcp://127.0.0.1:%d|%zu|wsa-b|192.0.2.12|1700000000125|%zu\n"
        "syslog tcp://127.0.0.1:%d|%zu|wsa-c|192.0.2.13|1700000000125|%zu\n"
        "syslog tcp://127.0.0.1:%d|%zu|wsa-d|192.0.2.14|1700000000125|%zu\n"
        "syslog tcp://127.0.0.1:%d|%zu|wsa-e|192.0.2.15|1700000000125|%zu\n",
        r.tcp_port, strlen(a), r.tcp_port, off_b, strlen(b), r.tcp_port, off_c, strlen(c),
        r.tcp_port, off_d, strlen(d), r.tcp_port, off_e, strlen(e));
    wait_for(&r, ROWS_SQL, expected);
    /* the source's offset is every byte taken: e's CR and LF included */
    fmt(expected, sizeof(expected), "%zu|5|0\n", off_e + len_e);
    wait_for(&r, "SELECT offset, lines, rejects FROM sources WHERE name LIKE 'syslog tcp:%'",
             expected);
    stop_expecting(&r, "read=5 stored=5 warned=0 rejected=0 skipped=0\n");
    rx_cleanup(&r);
}

/* Only 127.0.0.1 is allowed: datagrams from 127.0.0.2 and a connection from 127.0.0.3
 * store nothing and are counted as refused on their listeners; a sender that is allowed
 * still gets in. */
static void test_allowlist(void **state)
{
    static const char *const env[] = {"WSA_RELAY_SYSLOG_ALLOW=127.0.0.1", NULL};
    char m[512], expected[512], *log;
    rx_t r = {0};
    int fd;
    (void)state;

    rx_start(&r, env, NULL);
    fmt(m, sizeof(m), "<13>Nov 14 22:13:20 forged " LINE_FMT "\n", "192.0.2.66");
    send_udp(r.udp_port, "127.0.0.2", m, strlen(m));
    send_udp(r.udp_port, "127.0.0.2", m, strlen(m));
    fd = tcp_open(r.tcp_port, "127.0.0.3");
    send(fd, m, strlen(m), MSG_NOSIGNAL); /* may fail: the receiver closes at once */
    assert_true(closed_by_peer(fd));
    close(fd);
    fmt(expected, sizeof(expected), "tcp://127.0.0.1:%d|0|1\nudp://127.0.0.1:%d|0|2\n", r.tcp_port,
        r.udp_port);
    wait_for(&r, "SELECT address, dropped, refused FROM syslog_listeners ORDER BY address",
             expected);
    fmt(m, sizeof(m), "<13>Nov 14 22:13:20 real " LINE_FMT, "192.0.2.1");
    send_udp(r.udp_port, "127.0.0.1", m, strlen(m));
    wait_for(&r,
             "SELECT a.name, t.client_ip FROM transactions t JOIN appliances a"
             " ON a.id = t.appliance_id",
             "real|192.0.2.1\n");
    wait_for(&r, "SELECT count(*) FROM rejects", "0\n");
    stop_expecting(&r, "read=1 stored=1 warned=0 rejected=0 skipped=0\n");
    /* one warning per address a minute: the second datagram is counted, not logged */
    log = slurp(r.err);
    fmt(expected, sizeof(expected),
        "udp://127.0.0.1:%d: refused a datagram from 127.0.0.2, which is not in "
        "WSA_RELAY_SYSLOG_ALLOW",
        r.udp_port);
    assert_non_null(strstr(log, expected));
    assert_null(strstr(strstr(log, expected) + strlen(expected), "refused a datagram"));
    assert_non_null(strstr(log, "refused a connection from 127.0.0.3"));
    free(log);
    rx_cleanup(&r);
}

/* WSA_RELAY_APPLIANCES names the sender whatever its syslog host says; --appliance wins
 * over both. */
static void test_sender_map(void **state)
{
    static const char *const env[] = {"WSA_RELAY_APPLIANCES=hq-proxy=127.0.0.1,other=10.0.0.9",
                                      NULL};
    static const char *const forced[] = {"--appliance", "forced-name", NULL};
    char m[512];
    rx_t r = {0};
    (void)state;

    rx_start(&r, env, NULL);
    fmt(m, sizeof(m), "<13>Nov 14 22:13:20 says-wsa9 " LINE_FMT, "192.0.2.1");
    send_udp(r.udp_port, NULL, m, strlen(m));
    wait_for(&r, "SELECT a.name FROM transactions t JOIN appliances a ON a.id = t.appliance_id",
             "hq-proxy\n");
    stop_expecting(&r, "read=1 stored=1 warned=0 rejected=0 skipped=0\n");
    rx_cleanup(&r);

    memset(&r, 0, sizeof(r));
    rx_start(&r, env, forced);
    send_udp(r.udp_port, NULL, m, strlen(m));
    wait_for(&r, "SELECT a.name FROM transactions t JOIN appliances a ON a.id = t.appliance_id",
             "forced-name\n");
    stop_expecting(&r, "read=1 stored=1 warned=0 rejected=0 skipped=0\n");
    rx_cleanup(&r);
}

/* A message over 64 KiB is a reject holding its first 64 KiB, in either framing, and the
 * connection goes on with the next message. */
static void test_oversize(void **state)
{
    size_t big = 70000;
    char *msg = malloc(big + 32), m[512], expected[1024];
    rx_t r = {0};
    int fd;
    (void)state;

    assert_non_null(msg);
    rx_start(&r, NULL, NULL);
    fd = tcp_open(r.tcp_port, NULL);
    memset(msg, 'x', big);
    memcpy(msg, "<13>Nov 14 22:13:20 big ", 24);
    msg[big] = '\n';
    send_all(fd, msg, big + 1);
    fmt(m, sizeof(m), "<13>Nov 14 22:13:20 after1 " LINE_FMT "\n", "192.0.2.1");
    send_str(fd, m);
    /* counted: "70000 " then the same bytes without the LF */
    send_str(fd, "70000 ");
    send_all(fd, msg, big);
    fmt(m, sizeof(m), "<13>Nov 14 22:13:20 after2 " LINE_FMT "\n", "192.0.2.2");
    send_str(fd, m);
    fmt(expected, sizeof(expected),
        "0|65536|syslog message longer than the limit of 65536 bytes (first 65536 kept)\n"
        "%zu|65536|syslog message of 70000 bytes is longer than the limit of 65536 bytes "
        "(first 65536 kept)\n",
        big + 1 + strlen(m) - strlen("after2") + strlen("after1"));
    wait_for(&r, "SELECT offset, length(raw), reason FROM rejects ORDER BY offset", expected);
    /* each at the byte its frame starts at: after the whole oversize message before it */
    fmt(expected, sizeof(expected), "%zu|after1\n%zu|after2\n", big + 1,
        2 * (big + 1) + strlen(m) + strlen("70000 ") - 1);
    wait_for(&r,
             "SELECT t.offset, a.name FROM transactions t JOIN appliances a"
             " ON a.id = t.appliance_id ORDER BY t.offset",
             expected);
    wait_for(&r,
             "SELECT count(*) FROM rejects WHERE substr(raw, 1, 24) = "
             "CAST('<13>Nov 14 22:13:20 big ' AS BLOB) AND substr(raw, 65536, 1) = "
             "CAST('x' AS BLOB)",
             "2\n");
    close(fd);
    stop_expecting(&r, "read=4 stored=2 warned=0 rejected=2 skipped=0\n");
    free(msg);
    rx_cleanup(&r);
}

/* A connection with a broken octet count is closed; another connection, open at the same
 * time, is not disturbed. */
static void test_garbage_framing(void **state)
{
    char m[512], *log;
    rx_t r = {0};
    int good, bad;
    (void)state;

    rx_start(&r, NULL, NULL);
    good = tcp_open(r.tcp_port, NULL);
    bad = tcp_open(r.tcp_port, NULL);
    fmt(m, sizeof(m), "<13>Nov 14 22:13:20 good " LINE_FMT "\n", "192.0.2.1");
    send_str(good, m);
    wait_for(&r, "SELECT count(*) FROM transactions", "1\n");
    send_str(bad, "0012 <13>abcdefghij");
    assert_true(closed_by_peer(bad));
    close(bad);
    fmt(m, sizeof(m), "<13>Nov 14 22:13:20 good " LINE_FMT "\n", "192.0.2.2");
    send_str(good, m);
    wait_for(&r, "SELECT t.client_ip FROM transactions t ORDER BY t.offset",
             "192.0.2.1\n192.0.2.2\n");
    close(good);
    stop_expecting(&r, "read=2 stored=2 warned=0 rejected=0 skipped=0\n");
    log = slurp(r.err);
    assert_non_null(strstr(log, "closed the connection from 127.0.0.1: broken framing: octet "
                                "count \"0012\" starts with a zero"));
    free(log);
    rx_cleanup(&r);
}

/* Lines that are not records, and records that cannot be parsed, are counted as such; a
 * counted frame cut by the sender's close is a reject saying so. */
static void test_skips_and_rejects(void **state)
{
    char expected[512];
    rx_t r = {0};
    int fd;
    (void)state;

    rx_start(&r, NULL, NULL);
    send_udp(r.udp_port, NULL, "<13>Nov 14 22:13:20 wsa1 Info: Completed aggregating",
             strlen("<13>Nov 14 22:13:20 wsa1 Info: Completed aggregating"));
    send_udp(r.udp_port, NULL, "<13>Nov 14 22:13:20 wsa1 1700000000.125 x7",
             strlen("<13>Nov 14 22:13:20 wsa1 1700000000.125 x7"));
    fd = tcp_open(r.tcp_port, NULL);
    send_str(fd, "300 <13>Nov 14 22:13:20 wsa1 cut");
    close(fd);
    fmt(expected, sizeof(expected),
        "syslog tcp://127.0.0.1:%d|0|the connection closed 28 bytes into an octet-counted "
        "message of 300 bytes\n",
        r.tcp_port);
    wait_for(&r,
             "SELECT s.name, r.offset, r.reason FROM rejects r JOIN sources s"
             " ON s.id = r.source_id WHERE s.name LIKE 'syslog tcp:%'",
             expected);
    wait_for(&r, "SELECT count(*) FROM rejects", "2\n");
    stop_expecting(&r, "read=3 stored=0 warned=0 rejected=2 skipped=1\n");
    rx_cleanup(&r);
}

/* Runs `wsa-relay appliances --db <db> [--json]`; its stdout, malloc'd. */
static char *appliances(const rx_t *r, int json)
{
    const char *argv[] = {WSA_RELAY_BIN, "appliances", "--db", r->db, json ? "--json" : NULL, NULL};
    char path[340];
    pid_t pid;
    int status = 0;

    snprintf(path, sizeof(path), "%s/appliances.out", r->dir);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (o < 0 || dup2(o, STDOUT_FILENO) < 0)
            _exit(127);
        child_env(NULL);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    return slurp(path);
}

/* The first column of the first row of `sql` as a number (the database must be readable). */
static long long query_int(const rx_t *r, const char *sql)
{
    char *text = query(r, sql);
    long long v;

    assert_non_null(text);
    v = atoll(text);
    free(text);
    return v;
}

/*
 * Real UDP loss: a receive buffer of 4 KiB (the kernel doubles it), the receiver stopped
 * with SIGSTOP while a burst of 200 datagrams arrives, so the kernel drops most of them.
 * After SIGCONT every datagram of the burst is a row or a counted drop, with nothing sent
 * after it (the count is read from the kernel each second); then markers, some of them
 * dropped too, and a last datagram: dropped = sent - rows, exactly. With --appliance the
 * drops are that appliance's too.
 */
static void test_udp_drops(void **state)
{
    static const char *const env[] = {"WSA_RELAY_SYSLOG_RCVBUF=4096", NULL};
    static const char *const forced[] = {"--appliance", "burst-wsa", NULL};
    char m[512], sql[256], expected[512], addr[64], *out;
    long long sent = 0, rows, dropped;
    rx_t r = {0};
    int status;
    (void)state;

    rx_start(&r, env, forced);
    assert_int_equal(kill(r.pid, SIGSTOP), 0);
    assert_int_equal(waitpid(r.pid, &status, WUNTRACED), r.pid);
    assert_true(WIFSTOPPED(status));
    fmt(m, sizeof(m), "<13>Nov 14 22:13:20 wsa1 " LINE_FMT, "192.0.2.1");
    for (int i = 0; i < 200; i++, sent++)
        send_udp(r.udp_port, NULL, m, strlen(m));
    assert_int_equal(kill(r.pid, SIGCONT), 0);
    /* with nothing sent after the burst, every datagram of it still ends as a row or a
     * counted drop: the count is read from the kernel each second */
    wait_for(&r,
             "SELECT (SELECT count(*) FROM transactions)"
             " + coalesce((SELECT sum(dropped) FROM syslog_listeners), 0)",
             "200\n");
    assert_true(query_int(&r, "SELECT count(*) FROM transactions") < 200);
    /* markers until one is stored: the queue is drained by then */
    fmt(m, sizeof(m), "<13>Nov 14 22:13:20 wsa1 " LINE_FMT, "192.0.2.2");
    for (int64_t until = now_ms() + DEADLINE_MS;;) {
        send_udp(r.udp_port, NULL, m, strlen(m));
        sent++;
        pause_ms(100);
        if (query_int(&r, "SELECT count(*) FROM transactions WHERE client_ip = '192.0.2.2'") > 0)
            break;
        assert_true(now_ms() < until);
    }
    /* the last datagram, sent to a drained queue, carries every drop before it */
    fmt(m, sizeof(m), "<13>Nov 14 22:13:20 wsa1 " LINE_FMT, "192.0.2.3");
    send_udp(r.udp_port, NULL, m, strlen(m));
    sent++;
    wait_for(&r, "SELECT count(*) FROM transactions WHERE client_ip = '192.0.2.3'", "1\n");
    rows = query_int(&r, "SELECT count(*) FROM transactions");
    dropped = sent - rows;
    assert_true(dropped > 0);
    assert_true(rows >= 3);
    fmt(sql, sizeof(sql),
        "SELECT dropped, refused FROM syslog_listeners WHERE address = "
        "'udp://127.0.0.1:%d'",
        r.udp_port);
    fmt(expected, sizeof(expected), "%lld|0\n", dropped);
    wait_for(&r, sql, expected);
    fmt(expected, sizeof(expected), "burst-wsa|%lld|%lld\n", rows, dropped);
    wait_for(&r,
             "SELECT a.name, (SELECT count(*) FROM transactions t WHERE t.appliance_id = a.id),"
             " a.dropped FROM appliances a",
             expected);
    fmt(expected, sizeof(expected), "read=%lld stored=%lld warned=0 rejected=0 skipped=0\n", rows,
        rows);
    stop_expecting(&r, expected);

    /* the appliance's own DROPPED column, and the listener's line under the appliances
     * (its time is when it was counted, so only up to the date's start is compared) */
    out = appliances(&r, 0);
    fmt(addr, sizeof(addr), "udp://127.0.0.1:%d", r.udp_port);
    fmt(expected, sizeof(expected),
        "APPLIANCE  ROWS  DROPPED  LAST SEEN\n"
        "burst-wsa  %4lld  %7lld  2023-11-14T22:13:20.125Z\n"
        "\n"
        "%-*s  DROPPED  REFUSED  LAST COUNTED\n"
        "%s  %7lld        0  20",
        rows, dropped, (int)strlen(addr), "SYSLOG LISTENER", addr, dropped);
    assert_int_equal(strncmp(out, expected, strlen(expected)), 0);
    free(out);
    out = appliances(&r, 1);
    fmt(expected, sizeof(expected),
        "[{\"name\":\"burst-wsa\",\"rows\":%lld,\"last_seen\":\"2023-11-14T22:13:20.125Z\","
        "\"dropped\":%lld},{\"listener\":\"%s\",\"dropped\":%lld,\"refused\":0,"
        "\"last_counted\":\"20",
        rows, dropped, addr, dropped);
    assert_int_equal(strncmp(out, expected, strlen(expected)), 0);
    free(out);
    rx_cleanup(&r);
}

/* SIGTERM stores what has already arrived first: datagrams queued and bytes waiting on an
 * open connection while the receiver was stopped are rows after the stop. */
static void test_stop_drains(void **state)
{
    char m[512];
    rx_t r = {0};
    int fd, status = 0;
    (void)state;

    rx_start(&r, NULL, NULL);
    fd = tcp_open(r.tcp_port, NULL);
    send_str(fd, fmt(m, sizeof(m), "<13>Nov 14 22:13:20 wsa1 " LINE_FMT "\n", "192.0.2.1"));
    wait_for(&r, "SELECT count(*) FROM transactions", "1\n");
    assert_int_equal(kill(r.pid, SIGSTOP), 0);
    assert_int_equal(waitpid(r.pid, &status, WUNTRACED), r.pid);
    for (int i = 2; i <= 4; i++) {
        char ip[16];
        fmt(m, sizeof(m), "<13>Nov 14 22:13:20 wsa1 " LINE_FMT,
            fmt(ip, sizeof(ip), "192.0.2.%d", i));
        send_udp(r.udp_port, NULL, m, strlen(m));
    }
    send_str(fd, fmt(m, sizeof(m), "<13>Nov 14 22:13:20 wsa1 " LINE_FMT "\n", "192.0.2.5"));
    send_str(fd, fmt(m, sizeof(m), "<13>Nov 14 22:13:20 wsa1 " LINE_FMT "\n", "192.0.2.6"));
    /* an unfinished message is not stored */
    send_str(fd, "<13>Nov 14 22:13:20 wsa1 1700000000.125 4");
    assert_int_equal(kill(r.pid, SIGTERM), 0);
    assert_int_equal(kill(r.pid, SIGCONT), 0);
    stop_expecting(&r, "read=6 stored=6 warned=0 rejected=0 skipped=0\n");
    close(fd);
    wait_for(&r, "SELECT client_ip FROM transactions ORDER BY client_ip",
             "192.0.2.1\n192.0.2.2\n192.0.2.3\n192.0.2.4\n192.0.2.5\n192.0.2.6\n");
    rx_cleanup(&r);
}

/* Runs the binary with `argv` (after its name) and `env`; its exit status, stderr in `err`. */
static int run(const char *const args[], const char *const env[], char *err, size_t errlen)
{
    const char *argv[16] = {WSA_RELAY_BIN};
    char dir[] = "/tmp/wsa-it-syslog-run-XXXXXX", path[64], cmd[96];
    size_t n = 1;
    pid_t pid;
    int status = 0;
    FILE *f;

    for (; args[n - 1] != NULL; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/err", dir);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int e = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        int o = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (e < 0 || o < 0 || dup2(e, STDERR_FILENO) < 0 || dup2(o, STDOUT_FILENO) < 0 ||
            chdir(dir) != 0)
            _exit(127);
        child_env(env);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(err, 1, errlen - 1, f);
    err[n] = '\0';
    fclose(f);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Bad listeners and bad settings are usage errors (status 2) that say what is wrong; a
 * port already taken is a failure to start (status 1) that names it. */
static void test_usage_errors(void **state)
{
    static const char *const host[] = {"ingest", "--db", "t.db", "--syslog", "udp://localhost:5514",
                                       NULL};
    static const char *const file[] = {"ingest",   "--db",  "t.db", "--syslog",
                                       "udp://:0", "x.log", NULL};
    static const char *const ok[] = {"ingest", "--db", "t.db", "--syslog", "udp://:0", NULL};
    static const char *const bad_allow[] = {"WSA_RELAY_SYSLOG_ALLOW=10.0.0.0/40", NULL};
    static const char *const bad_map[] = {"WSA_RELAY_APPLIANCES=wsa1", NULL};
    char err[1024], busy_url[64];
    const char *busy[] = {"ingest", "--db", "t.db", "--syslog", busy_url, NULL};
    struct sockaddr_in a = loopback(0);
    socklen_t alen = sizeof(a);
    int fd;
    (void)state;

    assert_int_equal(run(host, NULL, err, sizeof(err)), 2);
    assert_string_equal(err, "wsa-relay ingest: --syslog: expected udp://ADDR:PORT or "
                             "tcp://ADDR:PORT with an IP address (IPv6 in brackets) and a port "
                             "0-65535, e.g. udp://127.0.0.1:5514; got \"udp://localhost:5514\"\n");
    assert_int_equal(run(file, NULL, err, sizeof(err)), 2);
    assert_string_equal(err, "wsa-relay ingest: --syslog takes no FILE, --watch or --format\n");
    assert_int_equal(run(ok, bad_allow, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "WSA_RELAY_SYSLOG_ALLOW: expected comma-separated IP addresses "
                                "or CIDR ranges (e.g. 127.0.0.1,10.0.0.0/8,::1); "
                                "\"10.0.0.0/40\" is not one"));
    assert_int_equal(run(ok, bad_map, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "WSA_RELAY_APPLIANCES: expected NAME=ADDRESS"));

    /* a TCP port this test holds */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    snprintf(busy_url, sizeof(busy_url), "tcp://127.0.0.1:%d", ntohs(a.sin_port));
    assert_int_equal(run(busy, NULL, err, sizeof(err)), 1);
    assert_non_null(strstr(err, "wsa-relay ingest: syslog: cannot listen on tcp://127.0.0.1:"));
    assert_non_null(strstr(err, ": Address already in use\n"));
    close(fd);
}

/* IPv6 listeners: ::1 is in the default allowlist, and the URL keeps its brackets. */
static void test_ipv6(void **state)
{
    static const char *const v6[] = {"--syslog", "udp://[::1]:0", NULL};
    char m[512], log_prefix[] = "listening on udp://[::1]:", *log, expected[256];
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    rx_t r = {0};
    int fd, port;
    (void)state;

    rx_start(&r, NULL, v6);
    log = slurp(r.err);
    port = port_in_log(log, log_prefix);
    free(log);
    assert_true(port > 0);
    a.sin6_port = htons((uint16_t)port);
    fd = socket(AF_INET6, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    fmt(m, sizeof(m), "<13>Nov 14 22:13:20 wsa6 " LINE_FMT, "2001:db8::7");
    assert_int_equal(sendto(fd, m, strlen(m), 0, (struct sockaddr *)&a, sizeof(a)),
                     (ssize_t)strlen(m));
    close(fd);
    fmt(expected, sizeof(expected), "syslog udp://[::1]:%d|0|wsa6|2001:db8::7|1700000000125|%zu\n",
        port, strlen(m));
    wait_for(&r, ROWS_SQL, expected);
    stop_expecting(&r, "read=1 stored=1 warned=0 rejected=0 skipped=0\n");
    rx_cleanup(&r);
}

/* How many times `needle` occurs in `hay`. */
static int count_in(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Waits until the receiver's log holds `needle`. */
static void wait_log(const rx_t *r, const char *needle)
{
    int64_t until = now_ms() + DEADLINE_MS;

    for (;;) {
        char *log = slurp(r->err);
        int found = strstr(log, needle) != NULL;
        free(log);
        if (found)
            return;
        assert_true(now_ms() < until);
        pause_ms(20);
    }
}

/* User plus system CPU time of process `pid` so far, in clock ticks (/proc/PID/stat). */
static long long cpu_ticks(pid_t pid)
{
    char path[64], *stat, *p;
    unsigned long long ut = 0, st = 0;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    stat = slurp(path);
    p = strrchr(stat, ')'); /* the command name may hold spaces */
    assert_non_null(p);
    /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
     * stime */
    assert_int_equal(
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st), 2);
    free(stat);
    return (long long)(ut + st);
}

/*
 * Out of descriptors (RLIMIT_NOFILE 24, 40 connections), the listener rests instead of
 * failing accept on every pass: one WARN for the episode, little CPU over two seconds, and
 * once the extra connections are gone an INFO line ends the episode and a new
 * connection's line is stored.
 */
static void test_accept_starved(void **state)
{
    enum { NCONN = 40 };
    char m[512], *log;
    int fds[NCONN], fd;
    long long before, after;
    rx_t r = {0};
    (void)state;

    child_nofile = 24;
    rx_start(&r, NULL, NULL);
    child_nofile = 0;
    for (int i = 0; i < NCONN; i++)
        fds[i] = tcp_open(r.tcp_port, NULL);
    wait_log(&r, "accept: Too many open files");
    before = cpu_ticks(r.pid);
    pause_ms(2000); /* the span measured, not a wait for an event */
    after = cpu_ticks(r.pid);
    /* spinning took the whole two seconds (200 ticks at 100 Hz) */
    assert_true(after - before < 40);
    for (int i = 0; i < NCONN; i++)
        close(fds[i]);
    wait_log(&r, "deferred accept attempts");
    fd = tcp_open(r.tcp_port, NULL);
    send_str(fd, fmt(m, sizeof(m), "<13>Nov 14 22:13:20 wsa1 " LINE_FMT "\n", "192.0.2.7"));
    wait_for(&r, "SELECT client_ip FROM transactions", "192.0.2.7\n");
    close(fd);
    stop_expecting(&r, "read=1 stored=1 warned=0 rejected=0 skipped=0\n");
    log = slurp(r.err);
    /* one episode: it lasts until the queue is empty, however many are taken meanwhile */
    assert_int_equal(count_in(log, "accept: Too many open files"), 1);
    assert_int_equal(count_in(log, "accepting connections again after "), 1);
    free(log);
    rx_cleanup(&r);
}

/* 1 when `fd` has neither bytes nor an end to read now. */
static int quiet_now(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    return poll(&p, 1, 0) == 0;
}

/*
 * A full table of idle connections does not lock out a new sender: the one idle longest
 * (the first opened) is closed to admit it, with one WARN a minute however many follow.
 */
static void test_full_table(void **state)
{
    static const char *const env[] = {"WSA_RELAY_LOG_LEVEL=debug", NULL};
    enum { NCONN = 256 };
    char m[512], *log;
    int *fds = calloc(NCONN, sizeof(int)), fd;
    int64_t until = now_ms() + DEADLINE_MS;
    rx_t r = {0};
    (void)state;

    assert_non_null(fds);
    rx_start(&r, env, NULL);
    for (int i = 0; i < NCONN; i++)
        fds[i] = tcp_open(r.tcp_port, NULL);
    /* every one of them holds a slot before the newcomers come */
    for (;;) {
        char *text = slurp(r.err);
        int n = count_in(text, "connection from 127.0.0.1");
        free(text);
        if (n == NCONN)
            break;
        assert_true(now_ms() < until);
        pause_ms(20);
    }
    fd = tcp_open(r.tcp_port, "127.0.0.2");
    send_str(fd, fmt(m, sizeof(m), "<13>Nov 14 22:13:20 wsa1 " LINE_FMT "\n", "192.0.2.8"));
    wait_for(&r, "SELECT client_ip FROM transactions", "192.0.2.8\n");
    assert_true(closed_by_peer(fds[0]));
    assert_true(quiet_now(fds[1]));
    close(fd);
    fd = tcp_open(r.tcp_port, "127.0.0.3");
    send_str(fd, fmt(m, sizeof(m), "<13>Nov 14 22:13:20 wsa1 " LINE_FMT "\n", "192.0.2.9"));
    wait_for(&r, "SELECT client_ip FROM transactions ORDER BY client_ip", "192.0.2.8\n192.0.2.9\n");
    close(fd);
    stop_expecting(&r, "read=2 stored=2 warned=0 rejected=0 skipped=0\n");
    log = slurp(r.err);
    assert_non_null(strstr(log, "closed the connection from 127.0.0.1, idle for "));
    assert_non_null(strstr(log, " ms, to admit one from 127.0.0.2: 256 connections are open"));
    assert_int_equal(count_in(log, "to admit one from"), 1);
    free(log);
    for (int i = 0; i < NCONN; i++)
        close(fds[i]);
    free(fds);
    rx_cleanup(&r);
}

/*
 * With WSA_RELAY_SYSLOG_IDLE_S=1 a connection silent for a second is closed (its
 * unfinished message dropped, as at a stop), while one that keeps sending stays open.
 */
static void test_idle_timeout(void **state)
{
    static const char *const env[] = {"WSA_RELAY_SYSLOG_IDLE_S=1", NULL};
    char m[512], expected[64], *log;
    int64_t until = now_ms() + DEADLINE_MS;
    int idle, busy, sent = 0;
    rx_t r = {0};
    (void)state;

    rx_start(&r, env, NULL);
    idle = tcp_open(r.tcp_port, NULL);
    busy = tcp_open(r.tcp_port, NULL);
    send_str(idle, "<13>Nov 14 22:13:20 wsa1 1700000000.125 4");
    fmt(m, sizeof(m), "<13>Nov 14 22:13:20 wsa1 " LINE_FMT "\n", "192.0.2.1");
    /* a line every 200 ms keeps `busy` well inside its second */
    while (quiet_now(idle)) {
        assert_true(now_ms() < until);
        send_str(busy, m);
        sent++;
        pause_ms(200);
    }
    assert_true(closed_by_peer(idle));
    assert_true(sent >= 5);
    /* not later: once it stops sending, `busy` is idle too and goes a second after */
    assert_true(quiet_now(busy));
    send_str(busy, m);
    sent++;
    wait_for(&r, "SELECT count(*) FROM transactions",
             fmt(expected, sizeof(expected), "%d\n", sent));
    close(idle);
    close(busy);
    stop_expecting(&r, fmt(expected, sizeof(expected),
                           "read=%d stored=%d warned=0 rejected=0 skipped=0\n", sent, sent));
    log = slurp(r.err);
    assert_non_null(strstr(log, "closed the connection from 127.0.0.1: nothing received for 1 s "
                                "(WSA_RELAY_SYSLOG_IDLE_S); 41 bytes of an unfinished message "
                                "dropped"));
    /* `busy` may be closed too, idle after its last line, but with nothing unfinished */
    assert_int_equal(count_in(log, "; 41 bytes of an unfinished message dropped"), 1);
    free(log);
    rx_cleanup(&r);
}

/*
 * Datagrams from 100 addresses outside the allowlist (127.0.0.2 to 127.0.0.101): at most
 * 10 refusal lines and one saying how many more there were (90), while the listener's
 * refused count is exact in the database and in `wsa-relay appliances --json`.
 */
static void test_refusal_cap(void **state)
{
    static const char *const env[] = {"WSA_RELAY_SYSLOG_ALLOW=127.0.0.1", NULL};
    char m[512], src[16], expected[512], *log, *out;
    rx_t r = {0};
    (void)state;

    rx_start(&r, env, NULL);
    fmt(m, sizeof(m), "<13>Nov 14 22:13:20 forged " LINE_FMT, "192.0.2.66");
    for (int i = 2; i <= 101; i++)
        send_udp(r.udp_port, fmt(src, sizeof(src), "127.0.0.%d", i), m, strlen(m));
    fmt(expected, sizeof(expected), "udp://127.0.0.1:%d|100\n", r.udp_port);
    wait_for(&r, "SELECT address, refused FROM syslog_listeners WHERE address LIKE 'udp:%'",
             expected);
    stop_expecting(&r, "read=0 stored=0 warned=0 rejected=0 skipped=0\n");
    log = slurp(r.err);
    assert_int_equal(count_in(log, "refused a datagram from 127.0.0."), 10);
    assert_non_null(strstr(log, "refused a datagram from 127.0.0.2, "));
    assert_non_null(strstr(log, "refused a datagram from 127.0.0.11, "));
    assert_null(strstr(log, "refused a datagram from 127.0.0.12, "));
    assert_int_equal(count_in(log, "90 more refusals not logged (at most 10 refusal lines a "
                                   "minute)"),
                     1);
    assert_int_equal(count_in(log, "more refusals not logged"), 1);
    free(log);
    out = appliances(&r, 1);
    fmt(expected, sizeof(expected),
        "\"listener\":\"udp://127.0.0.1:%d\",\"dropped\":0,\"refused\":100,", r.udp_port);
    assert_non_null(strstr(out, expected));
    free(out);
    rx_cleanup(&r);
}

/* A datagram led by NUL bytes (as TCP senders put between frames) is its message; the
 * row's raw line is without them, and the next datagram's offset counts them. */
static void test_udp_leading_nul(void **state)
{
    char m[512], d[520], expected[512];
    rx_t r = {0};
    (void)state;

    rx_start(&r, NULL, NULL);
    fmt(m, sizeof(m), "<13>Nov 14 22:13:20 wsa-n " LINE_FMT, "192.0.2.21");
    memset(d, 0, 2);
    memcpy(d + 2, m, strlen(m));
    send_udp(r.udp_port, NULL, d, strlen(m) + 2);
    wait_for(&r, "SELECT count(*) FROM transactions", "1\n");
    send_udp(r.udp_port, NULL, m, strlen(m));
    fmt(expected, sizeof(expected),
        "syslog udp://127.0.0.1:%d|0|wsa-n|192.0.2.21|1700000000125|%zu\n"
        "syslog udp://127.0.0.1:%d|%zu|wsa-n|192.0.2.21|1700000000125|%zu\n",
        r.udp_port, strlen(m), r.udp_port, strlen(m) + 2, strlen(m));
    wait_for(&r, ROWS_SQL, expected);
    stop_expecting(&r, "read=2 stored=2 warned=0 rejected=0 skipped=0\n");
    rx_cleanup(&r);
}

/* A UTF-8 byte order mark before <PRI>, on UDP and on TCP: the message is read, and the
 * row's raw line is without the mark (offsets count it). */
static void test_bom_before_pri(void **state)
{
    char m[512], d[520], expected[1024];
    rx_t r = {0};
    int fd;
    (void)state;

    rx_start(&r, NULL, NULL);
    fmt(m, sizeof(m), "<13>Nov 14 22:13:20 wsa-bom " LINE_FMT, "192.0.2.22");
    fmt(d, sizeof(d), "\xef\xbb\xbf%s", m);
    send_udp(r.udp_port, NULL, d, strlen(d));
    fd = tcp_open(r.tcp_port, NULL);
    send_str(fd, d);
    send_str(fd, "\n");
    close(fd);
    fmt(expected, sizeof(expected),
        "syslog tcp://127.0.0.1:%d|0|wsa-bom|192.0.2.22|1700000000125|%zu\n"
        "syslog udp://127.0.0.1:%d|0|wsa-bom|192.0.2.22|1700000000125|%zu\n",
        r.tcp_port, strlen(m), r.udp_port, strlen(m));
    wait_for(&r, ROWS_SQL, expected);
    wait_for(&r, "SELECT count(*) FROM transactions WHERE substr(raw, 1, 4) = CAST('<13>' AS BLOB)",
             "2\n");
    stop_expecting(&r, "read=2 stored=2 warned=0 rejected=0 skipped=0\n");
    rx_cleanup(&r);
}

/* With WSA_RELAY_APPLIANCES set, a sender outside the map is named by its address, never
 * by the syslog host it claims (here the mapped appliance's name). */
static void test_unmapped_sender(void **state)
{
    static const char *const env[] = {"WSA_RELAY_APPLIANCES=hq-proxy=127.0.0.1", NULL};
    char m[512];
    rx_t r = {0};
    int fd;
    (void)state;

    rx_start(&r, env, NULL);
    fmt(m, sizeof(m), "<13>Nov 14 22:13:20 hq-proxy " LINE_FMT, "192.0.2.31");
    send_udp(r.udp_port, "127.0.0.2", m, strlen(m));
    fd = tcp_open(r.tcp_port, "127.0.0.3");
    send_str(fd, fmt(m, sizeof(m), "<13>Nov 14 22:13:20 hq-proxy " LINE_FMT "\n", "192.0.2.32"));
    close(fd);
    fmt(m, sizeof(m), "<13>Nov 14 22:13:20 says-other " LINE_FMT, "192.0.2.33");
    send_udp(r.udp_port, "127.0.0.1", m, strlen(m));
    wait_for(&r,
             "SELECT t.client_ip, a.name FROM transactions t JOIN appliances a"
             " ON a.id = t.appliance_id ORDER BY t.client_ip",
             "192.0.2.31|127.0.0.2\n192.0.2.32|127.0.0.3\n192.0.2.33|hq-proxy\n");
    stop_expecting(&r, "read=3 stored=3 warned=0 rejected=0 skipped=0\n");
    rx_cleanup(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_udp_formats, teardown),
        cmocka_unit_test_teardown(test_tcp_framings, teardown),
        cmocka_unit_test_teardown(test_allowlist, teardown),
        cmocka_unit_test_teardown(test_sender_map, teardown),
        cmocka_unit_test_teardown(test_oversize, teardown),
        cmocka_unit_test_teardown(test_garbage_framing, teardown),
        cmocka_unit_test_teardown(test_skips_and_rejects, teardown),
        cmocka_unit_test_teardown(test_udp_drops, teardown),
        cmocka_unit_test_teardown(test_usage_errors, teardown),
        cmocka_unit_test_teardown(test_ipv6, teardown),
        cmocka_unit_test_teardown(test_stop_drains, teardown),
        cmocka_unit_test_teardown(test_accept_starved, teardown),
        cmocka_unit_test_teardown(test_full_table, teardown),
        cmocka_unit_test_teardown(test_idle_timeout, teardown),
        cmocka_unit_test_teardown(test_refusal_cap, teardown),
        cmocka_unit_test_teardown(test_udp_leading_nul, teardown),
        cmocka_unit_test_teardown(test_bom_before_pri, teardown),
        cmocka_unit_test_teardown(test_unmapped_sender, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
