/*
 * test_syslog.c - the syslog receiver's pure parts: RFC 6587 framing of a TCP stream (a
 * stream cut at every possible point gives the same messages) and the listener URLs.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "syslog_rx.h"

#define MAX_FRAMES 16

typedef struct got {
    int n;
    syslog_rx_frame_kind_t kind[MAX_FRAMES];
    char data[MAX_FRAMES][80];
    size_t len[MAX_FRAMES];
    int64_t declared[MAX_FRAMES];
    size_t consumed[MAX_FRAMES];
    size_t gap[MAX_FRAMES];
} got_t;

static int keep(const syslog_rx_frame_t *f, void *ctx)
{
    got_t *g = ctx;

    assert_true(g->n < MAX_FRAMES);
    g->kind[g->n] = f->kind;
    snprintf(g->data[g->n], sizeof(g->data[0]), "%.*s", (int)(f->len < 79 ? f->len : 79), f->data);
    g->len[g->n] = f->len;
    g->declared[g->n] = f->declared;
    g->consumed[g->n] = f->consumed;
    g->gap[g->n] = f->gap;
    g->n++;
    return 0;
}

/* Feeds `stream` cut at `cut` (and again at `cut2`), then ends it. */
static int feed3(const char *stream, size_t len, size_t cut, size_t cut2, got_t *g)
{
    syslog_rx_framer_t fr;
    int rc;

    memset(g, 0, sizeof(*g));
    assert_int_equal(syslog_rx_framer_init(&fr), 0);
    rc = syslog_rx_framer_feed(&fr, stream, cut, keep, g);
    if (rc == 0)
        rc = syslog_rx_framer_feed(&fr, stream + cut, cut2 - cut, keep, g);
    if (rc == 0)
        rc = syslog_rx_framer_feed(&fr, stream + cut2, len - cut2, keep, g);
    if (rc == 0)
        rc = syslog_rx_framer_finish(&fr, keep, g);
    syslog_rx_framer_free(&fr);
    return rc;
}

/*
 * "12 <13>hello a\n" is counted: "12 " then 12 bytes ("<13>hello a\n" is 12 with its LF,
 * which belongs to the message). Then a delimited "<13>two" with CR LF (the LF ends it and
 * the CR before it is dropped with it: 9 bytes taken), a NUL-ended "<13>three" (10), two empty
 * frames (LF, NUL: nothing, their bytes go to the next message), a digit-led delimited
 * "1700000000.125 x" (17), and "5 <13>x" at the end (counted, whole: 7).
 */
static const char mixed[] = "12 <13>hello a\n<13>two\r\n<13>three\0\n\0001700000000.125 x\n5 <13>x";

static void check_mixed(const got_t *g)
{
    assert_int_equal(g->n, 5);
    assert_string_equal(g->data[0], "<13>hello a\n");
    assert_int_equal(g->declared[0], 12);
    assert_int_equal(g->consumed[0], 15);
    assert_string_equal(g->data[1], "<13>two");
    assert_int_equal(g->declared[1], -1);
    assert_int_equal(g->consumed[1], 9);
    assert_string_equal(g->data[2], "<13>three");
    assert_int_equal(g->consumed[2], 10);
    assert_string_equal(g->data[3], "1700000000.125 x");
    assert_int_equal(g->consumed[3], 2 + 17);
    assert_int_equal(g->gap[3], 2);
    assert_string_equal(g->data[4], "<13>x");
    assert_int_equal(g->declared[4], 5);
    assert_int_equal(g->consumed[4], 7);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(g->kind[i], SYSLOG_RX_FRAME_OK);
        if (i != 3)
            assert_int_equal(g->gap[i], 0);
    }
}

static void test_every_split(void **state)
{
    size_t len = sizeof(mixed) - 1;
    got_t g;
    (void)state;

    for (size_t cut = 0; cut <= len; cut++) {
        for (size_t cut2 = cut; cut2 <= len; cut2++) {
            assert_int_equal(feed3(mixed, len, cut, cut2, &g), 0);
            check_mixed(&g);
        }
    }
}

/* The end of the stream: a delimited message without its LF is whole, a counted one cut
 * short is CUT with its declared length; a lone "12" is a delimited message. */
static void test_end_of_stream(void **state)
{
    got_t g;
    (void)state;

    assert_int_equal(feed3("<13>last", 8, 8, 8, &g), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.kind[0], SYSLOG_RX_FRAME_OK);
    assert_string_equal(g.data[0], "<13>last");

    assert_int_equal(feed3("40 <13>only part", 16, 4, 4, &g), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.kind[0], SYSLOG_RX_FRAME_CUT);
    assert_string_equal(g.data[0], "<13>only part");
    assert_int_equal(g.declared[0], 40);

    assert_int_equal(feed3("12", 2, 1, 1, &g), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.kind[0], SYSLOG_RX_FRAME_OK);
    assert_string_equal(g.data[0], "12");
}

/* Broken counts end the stream with a reason; ten digits are no count at all. */
static void test_broken_counts(void **state)
{
    syslog_rx_framer_t fr;
    got_t g = {0};
    (void)state;

    assert_int_equal(syslog_rx_framer_init(&fr), 0);
    assert_int_equal(syslog_rx_framer_feed(&fr, "07 <13>abcd", 11, keep, &g), -2);
    assert_string_equal(fr.why, "octet count \"07\" starts with a zero");
    syslog_rx_framer_free(&fr);

    assert_int_equal(syslog_rx_framer_init(&fr), 0);
    assert_int_equal(syslog_rx_framer_feed(&fr, "16777217 <1", 11, keep, &g), -2);
    assert_string_equal(fr.why, "octet count \"16777217\" is larger than the limit of 16 MiB");
    syslog_rx_framer_free(&fr);

    assert_int_equal(feed3("1234567890 <13>x\n", 17, 5, 11, &g), 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.data[0], "1234567890 <13>x");
}

/* Oversize: the first 64 KiB of a message, then nothing of it, then the next one. */
static void test_oversize(void **state)
{
    size_t big = SYSLOG_RX_MAX_MSG + 1000, n;
    char *stream = malloc(2 * big + 64), head[16];
    syslog_rx_framer_t fr;
    got_t g = {0};
    (void)state;

    assert_non_null(stream);
    memset(stream, 'x', big);
    stream[big] = '\n';
    n = big + 1;
    n += (size_t)snprintf(head, sizeof(head), "%zu ", big);
    memcpy(stream + big + 1, head, strlen(head));
    memset(stream + n, 'y', big);
    stream[n] = '<';
    n += big;
    memcpy(stream + n, "<13>ok\n", 7);
    n += 7;
    assert_int_equal(syslog_rx_framer_init(&fr), 0);
    /* in reads of 1000 bytes, as a socket might give them */
    for (size_t i = 0; i < n; i += 1000)
        assert_int_equal(
            syslog_rx_framer_feed(&fr, stream + i, n - i < 1000 ? n - i : 1000, keep, &g), 0);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.kind[0], SYSLOG_RX_FRAME_OVERSIZE);
    assert_int_equal(g.len[0], SYSLOG_RX_MAX_MSG);
    assert_int_equal(g.declared[0], -1);
    assert_int_equal(g.kind[1], SYSLOG_RX_FRAME_OVERSIZE);
    assert_int_equal(g.len[1], SYSLOG_RX_MAX_MSG);
    assert_int_equal(g.declared[1], (int64_t)big);
    assert_int_equal(g.data[1][0], '<');
    assert_int_equal(g.data[1][1], 'y');
    /* the first's dropped rest (1000 bytes and its LF) goes with the second */
    assert_int_equal(g.consumed[1], 1001 + strlen(head) + SYSLOG_RX_MAX_MSG);
    assert_int_equal(g.gap[1], 1001);
    assert_int_equal(g.gap[2], 1000);
    assert_int_equal(g.kind[2], SYSLOG_RX_FRAME_OK);
    assert_string_equal(g.data[2], "<13>ok");
    assert_int_equal(g.consumed[2], 1000 + 7);
    /* every byte is accounted for exactly once */
    assert_int_equal(g.consumed[0] + g.consumed[1] + g.consumed[2], n);
    syslog_rx_framer_free(&fr);
    free(stream);
}

static void test_urls(void **state)
{
    char err[256], text[80];
    syslog_rx_addr_t a;
    (void)state;

    assert_int_equal(syslog_rx_parse_url("udp://192.0.2.1:514", &a, err, sizeof(err)), 0);
    assert_int_equal(a.tcp, 0);
    syslog_rx_addr_text(a.tcp, (struct sockaddr *)&a.sa, text, sizeof(text));
    assert_string_equal(text, "udp://192.0.2.1:514");
    assert_int_equal(syslog_rx_parse_url("tcp://[2001:db8::1]:6514", &a, err, sizeof(err)), 0);
    assert_int_equal(a.tcp, 1);
    syslog_rx_addr_text(a.tcp, (struct sockaddr *)&a.sa, text, sizeof(text));
    assert_string_equal(text, "tcp://[2001:db8::1]:6514");
    assert_int_equal(syslog_rx_parse_url("udp://:5514", &a, err, sizeof(err)), 0);
    syslog_rx_addr_text(a.tcp, (struct sockaddr *)&a.sa, text, sizeof(text));
    assert_string_equal(text, "udp://127.0.0.1:5514");
    assert_int_equal(syslog_rx_parse_url("tcp://0", &a, err, sizeof(err)), 0);
    syslog_rx_addr_text(a.tcp, (struct sockaddr *)&a.sa, text, sizeof(text));
    assert_string_equal(text, "tcp://127.0.0.1:0");

    assert_int_equal(syslog_rx_parse_url("udp://wsa.example.com:514", &a, err, sizeof(err)), -1);
    assert_string_equal(err, "--syslog: expected udp://ADDR:PORT or tcp://ADDR:PORT with an IP "
                             "address (IPv6 in brackets) and a port 0-65535, e.g. "
                             "udp://127.0.0.1:5514; got \"udp://wsa.example.com:514\"");
    assert_int_equal(syslog_rx_parse_url("tls://127.0.0.1:6514", &a, err, sizeof(err)), -1);
    assert_int_equal(syslog_rx_parse_url("udp://127.0.0.1:65536", &a, err, sizeof(err)), -1);
    assert_int_equal(syslog_rx_parse_url("udp://127.0.0.1:", &a, err, sizeof(err)), -1);
    assert_int_equal(syslog_rx_parse_url("udp://127.0.0.1:-1", &a, err, sizeof(err)), -1);
    assert_int_equal(syslog_rx_parse_url("udp://::1:514", &a, err, sizeof(err)), -1);
    assert_int_equal(syslog_rx_parse_url("udp://[::1]", &a, err, sizeof(err)), -1);
    assert_int_equal(syslog_rx_parse_url("udp://1.2.3.4:5x", &a, err, sizeof(err)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_split),   cmocka_unit_test(test_end_of_stream),
        cmocka_unit_test(test_broken_counts), cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
