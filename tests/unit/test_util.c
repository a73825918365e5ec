/*
 * test_util.c - base64url, UTF-8 sanitising, ISO times, URL encoding and name-based UUIDs.
 *
 * Expected values are worked out by hand or taken from the RFCs' own test vectors
 * (RFC 4648 section 10 for base64, FIPS 180-2 for SHA-256 of "abc").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "util.h"

/* Decodes `in` and checks the result against `want` (want_len bytes), or a reject (-1). */
static void check_decode(const char *in, const char *want, long want_len)
{
    unsigned char out[64];
    long n = util_b64url_decode(in, strlen(in), out);

    assert_int_equal(n, want_len);
    if (want_len >= 0) {
        assert_memory_equal(out, want, (size_t)want_len);
        assert_int_equal(out[n], 0); /* the decoder terminates its output */
    }
}

static void check_encode(const char *in, size_t len, const char *want)
{
    char out[64];
    size_t n = util_b64url_encode((const unsigned char *)in, len, out);

    assert_int_equal(n, strlen(want));
    assert_string_equal(out, want);
}

/* RFC 4648 section 10 vectors, without their padding. */
static void test_b64url_rfc4648_vectors(void **state)
{
    (void)state;
    check_encode("", 0, "");
    check_encode("f", 1, "Zg");
    check_encode("fo", 2, "Zm8");
    check_encode("foo", 3, "Zm9v");
    check_encode("foob", 4, "Zm9vYg");
    check_encode("fooba", 5, "Zm9vYmE");
    check_encode("foobar", 6, "Zm9vYmFy");
    check_decode("", "", 0);
    check_decode("Zg", "f", 1);
    check_decode("Zm8", "fo", 2);
    check_decode("Zm9v", "foo", 3);
    check_decode("Zm9vYg", "foob", 4);
    check_decode("Zm9vYmE", "fooba", 5);
    check_decode("Zm9vYmFy", "foobar", 6);
}

/* 0xfb 0xff 0xbf is 111110 111111 111110 111111: 62, 63, 62, 63, the two URL-safe letters. */
static void test_b64url_url_alphabet(void **state)
{
    (void)state;
    check_encode("\xfb\xff\xbf", 3, "-_-_");
    check_decode("-_-_", "\xfb\xff\xbf", 3);
    /* a NUL byte inside the data survives both ways */
    check_encode("a\0b", 3, "YQBi");
    check_decode("YQBi", "a\0b", 3);
}

static void test_b64url_rejects_bad_characters(void **state)
{
    unsigned char out[16];

    (void)state;
    check_decode("+/8A", NULL, -1); /* the standard alphabet's letters */
    check_decode("Zm9/", NULL, -1);
    check_decode("Zm 9", NULL, -1);
    check_decode("Zm.9", NULL, -1);
    check_decode("Zm9\xc3\xa9", NULL, -1);
    /* a NUL inside the given length is not a terminator */
    assert_int_equal(util_b64url_decode("Zm\0v", 4, out), -1);
}

static void test_b64url_rejects_padding(void **state)
{
    (void)state;
    check_decode("Zg==", NULL, -1);
    check_decode("Zm8=", NULL, -1);
    check_decode("=", NULL, -1);
}

/* A length of 4k+1 leaves one 6-bit character: no byte can end there. */
static void test_b64url_rejects_impossible_length(void **state)
{
    (void)state;
    check_decode("Z", NULL, -1);
    check_decode("Zm9vY", NULL, -1);
}

/*
 * "Zg" is 011001 100000: the 4 low bits of 'g' are unused and zero. 'h' (33, 100001) sets
 * one of them, so "Zh" also "decodes" to "f" but is not what any encoder writes. "Zm8"
 * ends in '8' (60, 111100) with 2 unused zero bits; '9' (61) sets one.
 */
static void test_b64url_rejects_noncanonical_tail(void **state)
{
    (void)state;
    check_decode("Zh", NULL, -1);
    check_decode("Zv", NULL, -1);
    check_decode("Zm9", NULL, -1);
    check_decode("Zm_", NULL, -1);
}

static void check_sanitize(const char *in, size_t len, const char *want)
{
    char out[64];
    size_t n = util_utf8_sanitize(in, len, out);

    assert_int_equal(n, strlen(want));
    assert_string_equal(out, want);
}

#define FFFD "\xef\xbf\xbd"

static void test_utf8_valid_text_kept(void **state)
{
    (void)state;
    check_sanitize("plain", 5, "plain");
    check_sanitize("caf\xc3\xa9", 5, "caf\xc3\xa9");           /* U+00E9, 2 bytes */
    check_sanitize("\xe2\x82\xac", 3, "\xe2\x82\xac");         /* U+20AC, 3 bytes */
    check_sanitize("\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80"); /* U+1F600, 4 bytes */
    check_sanitize("\xf4\x8f\xbf\xbf", 4, "\xf4\x8f\xbf\xbf"); /* U+10FFFF, the last */
    check_sanitize("", 0, "");
    assert_int_equal(util_utf8_valid("caf\xc3\xa9", 5), 1);
    assert_int_equal(util_utf8_valid("\xf0\x9f\x98\x80", 4), 1);
}

static void test_utf8_overlong_replaced(void **state)
{
    (void)state;
    /* "/" as 2 bytes: 0xc0 can never start a sequence, and 0xaf alone is a continuation */
    check_sanitize("\xc0\xaf", 2, FFFD FFFD);
    /* "/" as 3 bytes: the lead is fine, the code point (0x2f) needs fewer bytes */
    check_sanitize("\xe0\x80\xaf", 3, FFFD FFFD FFFD);
    /* U+FFFF as 4 bytes */
    check_sanitize("\xf0\x8f\xbf\xbf", 4, FFFD FFFD FFFD FFFD);
    assert_int_equal(util_utf8_valid("\xc0\xaf", 2), 0);
    assert_int_equal(util_utf8_valid("\xe0\x80\xaf", 3), 0);
}

static void test_utf8_surrogates_and_out_of_range(void **state)
{
    (void)state;
    check_sanitize("\xed\xa0\x80", 3, FFFD FFFD FFFD);          /* U+D800 */
    check_sanitize("\xed\xbf\xbf", 3, FFFD FFFD FFFD);          /* U+DFFF */
    check_sanitize("\xed\x9f\xbf", 3, "\xed\x9f\xbf");          /* U+D7FF, just below: kept */
    check_sanitize("\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD); /* U+110000 */
    check_sanitize("\xf5\x80\x80\x80", 4, FFFD FFFD FFFD FFFD); /* 0xf5 never leads */
    check_sanitize("\xff", 1, FFFD);
    assert_int_equal(util_utf8_valid("\xed\xa0\x80", 3), 0);
    assert_int_equal(util_utf8_valid("\xf4\x90\x80\x80", 4), 0);
}

static void test_utf8_nul_replaced(void **state)
{
    (void)state;
    check_sanitize("a\0b", 3, "a" FFFD "b");
    assert_int_equal(util_utf8_valid("a\0b", 3), 0);
    assert_int_equal(util_utf8_valid("ab", 2), 1);
}

static void test_utf8_truncated_sequences(void **state)
{
    (void)state;
    /* the euro sign cut after 2 of its 3 bytes, at the end and before more text */
    check_sanitize("\xe2\x82", 2, FFFD FFFD);
    check_sanitize("\xe2\x82"
                   "A",
                   3, FFFD FFFD "A");
    /* a 4-byte lead followed by only 3 bytes */
    check_sanitize("x\xf0\x9f\x98", 4, "x" FFFD FFFD FFFD);
    /* a lone continuation byte between valid letters */
    check_sanitize("a\x80z", 3, "a" FFFD "z");
    assert_int_equal(util_utf8_valid("\xe2\x82", 2), 0);
}

/* Every invalid byte takes 3 output bytes: the documented 3 * len + 1 is exactly enough. */
static void test_utf8_worst_case_size(void **state)
{
    char in[8], out[3 * sizeof(in) + 1];

    (void)state;
    memset(in, 0xff, sizeof(in));
    assert_int_equal(util_utf8_sanitize(in, sizeof(in), out), 3 * sizeof(in));
    assert_int_equal(out[3 * sizeof(in)], '\0');
}

static void check_iso(int64_t ms, const char *want)
{
    char out[UTIL_ISO_TIME_LEN];

    util_iso_time(ms, out);
    assert_string_equal(out, want);
}

static void test_iso_time(void **state)
{
    (void)state;
    check_iso(0, "1970-01-01T00:00:00.000Z");
    check_iso(1, "1970-01-01T00:00:00.001Z");
    /* 2020-03-31 is day 18352 since 1970: 18352 * 86400 + 7h15m03s = 1585638903 */
    check_iso(1585638903150, "2020-03-31T07:15:03.150Z");
    /* 2000-02-29, a leap day in a century leap year: day 11016 */
    check_iso(11016LL * 86400000 + 999, "2000-02-29T00:00:00.999Z");
    /* 2038-01-19T03:14:08, one second past 32-bit time_t */
    check_iso(2147483648000LL, "2038-01-19T03:14:08.000Z");
}

static void test_iso_time_before_1970(void **state)
{
    (void)state;
    check_iso(-1, "1969-12-31T23:59:59.999Z");
    check_iso(-999, "1969-12-31T23:59:59.001Z");
    check_iso(-1000, "1969-12-31T23:59:59.000Z");
    check_iso(-1001, "1969-12-31T23:59:58.999Z");
    check_iso(-86400000, "1969-12-31T00:00:00.000Z");
    /* 1900-01-01 is 25567 days before 1970 (70 years, 17 leap days) */
    check_iso(-25567LL * 86400000, "1900-01-01T00:00:00.000Z");
}

/*
 * The ends of the int64 range must format without overflow (run under UBSan). Their
 * milliseconds: INT64_MAX ends in 807; INT64_MIN floors to ...776 s, leaving 192 ms. The
 * dates are the well-known ones of a 64-bit millisecond clock in the proleptic Gregorian
 * calendar.
 */
static void test_iso_time_extremes(void **state)
{
    (void)state;
    check_iso(INT64_MAX, "292278994-08-17T07:12:55.807Z");
    check_iso(INT64_MIN, "-292275055-05-16T16:47:04.192Z");
}

static void check_url(const char *in, size_t len, const char *want)
{
    char out[64];

    assert_int_equal(util_url_encode(in, len, out), strlen(want));
    assert_string_equal(out, want);
}

static void test_url_encode(void **state)
{
    (void)state;
    check_url("AZaz09-._~", 10, "AZaz09-._~");
    check_url("a b/c?d=e&f", 11, "a%20b%2Fc%3Fd%3De%26f");
    check_url("caf\xc3\xa9", 5, "caf%C3%A9");
    check_url("100%+", 5, "100%25%2B");
    check_url("a\0b", 3, "a%00b");
    check_url("\xff", 1, "%FF");
    check_url("", 0, "");
}

static void test_hex(void **state)
{
    char out[9];

    (void)state;
    util_hex((const unsigned char *)"\x00\x0f\xa5\xff", 4, out);
    assert_string_equal(out, "000fa5ff");
}

/*
 * SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 ...: byte 6 (0xcf) becomes 0x8f
 * (version 8) and byte 8 (0x41) becomes 0x81 (variant 10). SHA-256("") = e3b0c442 98fc1c14
 * 9afbf4c8 996fb924 ...: 0x1c becomes 0x8c and 0x9a keeps its variant bits.
 */
static void test_uuid_known_answers(void **state)
{
    char out[37];

    (void)state;
    util_uuid_from_name("abc", 3, out);
    assert_string_equal(out, "ba7816bf-8f01-8fea-8141-40de5dae2223");
    util_uuid_from_name("", 0, out);
    assert_string_equal(out, "e3b0c442-98fc-8c14-9afb-f4c8996fb924");
}

static void assert_uuid_shape(const char *u)
{
    assert_int_equal(strlen(u), 36);
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(u[i], '-');
        else
            assert_non_null(strchr("0123456789abcdef", u[i]));
    }
    assert_int_equal(u[14], '8');
    assert_non_null(strchr("89ab", u[19]));
}

static void test_uuid_stable_and_distinct(void **state)
{
    char a[37], b[37], c[37];
    const char *name = "wsa1.example.com|access.log|1234";

    (void)state;
    util_uuid_from_name(name, strlen(name), a);
    util_uuid_from_name(name, strlen(name), b);
    util_uuid_from_name(name, strlen(name) - 1, c);
    assert_uuid_shape(a);
    assert_uuid_shape(c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
}

static void test_clocks(void **state)
{
    int64_t m1, m2;

    (void)state;
    /* 2024-01-01 is 1704067200 s; the clock is surely past it */
    assert_true(util_now_ms() > 1704067200000LL);
    m1 = util_monotonic_ms();
    m2 = util_monotonic_ms();
    assert_true(m2 >= m1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64url_rfc4648_vectors),
        cmocka_unit_test(test_b64url_url_alphabet),
        cmocka_unit_test(test_b64url_rejects_bad_characters),
        cmocka_unit_test(test_b64url_rejects_padding),
        cmocka_unit_test(test_b64url_rejects_impossible_length),
        cmocka_unit_test(test_b64url_rejects_noncanonical_tail),
        cmocka_unit_test(test_utf8_valid_text_kept),
        cmocka_unit_test(test_utf8_overlong_replaced),
        cmocka_unit_test(test_utf8_surrogates_and_out_of_range),
        cmocka_unit_test(test_utf8_nul_replaced),
        cmocka_unit_test(test_utf8_truncated_sequences),
        cmocka_unit_test(test_utf8_worst_case_size),
        cmocka_unit_test(test_iso_time),
        cmocka_unit_test(test_iso_time_before_1970),
        cmocka_unit_test(test_iso_time_extremes),
        cmocka_unit_test(test_url_encode),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_uuid_known_answers),
        cmocka_unit_test(test_uuid_stable_and_distinct),
        cmocka_unit_test(test_clocks),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
