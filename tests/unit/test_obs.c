/*
 * test_obs.c - observable type names and the keys obs_prepare computes, good and bad values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "obs.h"

static int prep(obs_type_t type, const char *value, obs_t *o, char *buf, size_t buflen)
{
    memset(o, 0, sizeof(*o));
    o->type = type;
    o->value = value;
    return obs_prepare(o, buf, buflen);
}

static void test_type_names(void **state)
{
    static const char *const names[] = {"ip",     "ipv6", "domain",    "hostname",  "url",
                                        "sha256", "user", "file_name", "user_agent"};
    static const char *const human[] = {"IP",     "IPv6", "domain",    "hostname",  "URL",
                                        "SHA256", "user", "file name", "user agent"};

    (void)state;
    for (int t = 0; t < OBS_NTYPES; t++) {
        assert_int_equal(obs_type_parse(names[t], strlen(names[t])), t);
        assert_string_equal(obs_type_name((obs_type_t)t), names[t]);
        assert_string_equal(obs_type_human((obs_type_t)t), human[t]);
    }
    assert_int_equal(obs_type_parse("SHA256", 6), OBS_SHA256);
    assert_int_equal(obs_type_parse("File_Name", 9), OBS_FILE_NAME);
    /* the length counts, not the NUL */
    assert_int_equal(obs_type_parse("ipv6xyz", 4), OBS_IPV6);
    assert_int_equal(obs_type_parse("ip", 1), OBS_UNSUPPORTED);
    assert_int_equal(obs_type_parse("md5", 3), OBS_UNSUPPORTED);
    assert_int_equal(obs_type_parse("", 0), OBS_UNSUPPORTED);
    assert_int_equal(obs_type_parse(NULL, 0), OBS_UNSUPPORTED);
}

static void test_ip(void **state)
{
    obs_t o;
    char buf[128];

    (void)state;
    assert_int_equal(prep(OBS_IP, "192.0.2.10", &o, buf, sizeof(buf)), 0);
    assert_string_equal(o.key, "192.0.2.10");
    assert_null(o.key_domain);
    assert_null(o.key_reg_domain);
    /* an IPv6 value sent as "ip" still matches, in canonical form */
    assert_int_equal(prep(OBS_IP, "2001:DB8:0:0::0:1", &o, buf, sizeof(buf)), 0);
    assert_string_equal(o.key, "2001:db8::1");
    assert_int_equal(
        prep(OBS_IPV6, "2001:0db8:0001:0000:0000:0000:0000:0006", &o, buf, sizeof(buf)), 0);
    assert_string_equal(o.key, "2001:db8:1::6");
    assert_int_equal(prep(OBS_IPV6, "[2001:db8::80]", &o, buf, sizeof(buf)), 0);
    assert_string_equal(o.key, "2001:db8::80");

    assert_int_equal(prep(OBS_IP, "192.0.2.300", &o, buf, sizeof(buf)), -1);
    assert_int_equal(prep(OBS_IP, "example.com", &o, buf, sizeof(buf)), -1);
    assert_int_equal(prep(OBS_IP, "", &o, buf, sizeof(buf)), -1);
    assert_int_equal(prep(OBS_IPV6, "2001:db8:::1", &o, buf, sizeof(buf)), -1);
    assert_int_equal(prep(OBS_IP, "192.0.2.1 x", &o, buf, sizeof(buf)), -1);
    assert_int_equal(prep(OBS_IP, " \t", &o, buf, sizeof(buf)), -1);

    /* surrounding white space is not part of an address */
    assert_int_equal(prep(OBS_IP, " 192.0.2.1\t\n", &o, buf, sizeof(buf)), 0);
    assert_string_equal(o.key, "192.0.2.1");
    /* an IPv4-mapped IPv6 address is the IPv4 host: 0xac12 0x2046 is 172.18.32.70 */
    assert_int_equal(prep(OBS_IPV6, "::ffff:172.18.32.70", &o, buf, sizeof(buf)), 0);
    assert_string_equal(o.key, "172.18.32.70");
    assert_int_equal(prep(OBS_IPV6, "::FFFF:ac12:2046", &o, buf, sizeof(buf)), 0);
    assert_string_equal(o.key, "172.18.32.70");
    /* not mapped: ::1 and the IPv4-compatible ::a.b.c.d stay IPv6 */
    assert_int_equal(prep(OBS_IPV6, "::1", &o, buf, sizeof(buf)), 0);
    assert_string_equal(o.key, "::1");
}

/*
 * IPv4 text is checked without the C library; the library's inet_pton is the reference:
 * an address is taken exactly when inet_pton takes it (leading zeros, out-of-range parts,
 * missing or extra parts and stray characters refused alike). Surrounding spaces are left
 * out: obs_prepare trims a pasted value before it looks at it.
 */
static void test_ipv4_like_inet_pton(void **state)
{
    static const char *const cases[] = {
        "0.0.0.0",   "255.255.255.255", "256.1.1.1",  "01.2.3.4", "1.2.3",    "1.2.3.4.5",
        "1..2.3",    "1.2.3.04",        "10.0.0.1",   "1.2.3.-1", "1.2.3.4a", "0.0.0.00",
        "999.1.1.1", "1.2.3.255",       "1234.1.1.1", ".1.2.3",   "1.2.3.",   "00.1.2.3",
        "1.2.3.0",   "100.200.10.9",    "1.2.3.4/8",  "+1.2.3.4",
    };
    unsigned char addr[4];
    char buf[256];
    obs_t o;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int want = inet_pton(AF_INET, cases[i], addr) == 1 ? 0 : -1;
        if (prep(OBS_IP, cases[i], &o, buf, sizeof(buf)) != want)
            fail_msg("\"%s\": inet_pton says %s", cases[i], want == 0 ? "valid" : "invalid");
        if (want == 0)
            assert_string_equal(o.key, cases[i]);
    }
}

static void test_domain(void **state)
{
    obs_t o;
    char buf[128];

    (void)state;
    assert_int_equal(prep(OBS_DOMAIN, "WWW.Example.COM.", &o, buf, sizeof(buf)), 0);
    assert_string_equal(o.key, "www.example.com");
    assert_string_equal(o.key_reg_domain, "example.com");
    assert_int_equal(prep(OBS_HOSTNAME, "shop.example.co.uk", &o, buf, sizeof(buf)), 0);
    assert_string_equal(o.key, "shop.example.co.uk");
    assert_string_equal(o.key_reg_domain, "example.co.uk");
    assert_int_equal(prep(OBS_DOMAIN, "localhost", &o, buf, sizeof(buf)), 0);
    assert_string_equal(o.key, "localhost");
    assert_null(o.key_reg_domain);
    assert_int_equal(prep(OBS_DOMAIN, "  Example.com \n", &o, buf, sizeof(buf)), 0);
    assert_string_equal(o.key, "example.com");
    assert_int_equal(prep(OBS_DOMAIN, ".", &o, buf, sizeof(buf)), -1);
    assert_int_equal(prep(OBS_DOMAIN, "", &o, buf, sizeof(buf)), -1);
    /* no room for the key in the caller's buffer */
    assert_int_equal(prep(OBS_DOMAIN, "www.example.com", &o, buf, 8), -1);
}

static void test_url(void **state)
{
    obs_t o;
    char buf[256];

    (void)state;
    assert_int_equal(prep(OBS_URL, "HTTPS://WWW.Example.com:443/a", &o, buf, sizeof(buf)), 0);
    assert_string_equal(o.key, "https://www.example.com/a");
    assert_int_equal(prep(OBS_URL, "http://Host.Example:8080/Path?Q", &o, buf, sizeof(buf)), 0);
    assert_string_equal(o.key, "http://host.example:8080/Path?Q");
    assert_int_equal(prep(OBS_URL, "Cdn.Example.COM:443", &o, buf, sizeof(buf)), 0);
    assert_string_equal(o.key, "cdn.example.com:443");
    assert_int_equal(prep(OBS_URL, "", &o, buf, sizeof(buf)), -1);
}

static void test_sha256(void **state)
{
    obs_t o;
    char buf[128];

    (void)state;
    assert_int_equal(prep(OBS_SHA256,
                          "FD5EF49D4213E05F448F11ED9C98253D85829614FBA368A421D14E64C556DA5E", &o,
                          buf, sizeof(buf)),
                     0);
    assert_string_equal(o.key, "fd5ef49d4213e05f448f11ed9c98253d85829614fba368a421d14e64c556da5e");
    /* 63 and 65 digits, and one letter past f */
    assert_int_equal(prep(OBS_SHA256,
                          "fd5ef49d4213e05f448f11ed9c98253d85829614fba368a421d14e64c556da5", &o,
                          buf, sizeof(buf)),
                     -1);
    assert_int_equal(prep(OBS_SHA256,
                          "fd5ea44d421dd05e461fb00cd9c16253d85829614bba233e651d14e64c864da5e", &o,
                          buf, sizeof(buf)),
                     -1);
    assert_int_equal(prep(OBS_SHA256,
                          "gd5ef49d4213e05f448f11ed9c98253d85829614fba368a421d14e64c556da5e", &o,
                          buf, sizeof(buf)),
                     -1);
}

static void test_user(void **state)
{
    obs_t o;
    char buf[128];

    (void)state;
    assert_int_equal(prep(OBS_USER, "EXAMPLE\\jdoe", &o, buf, sizeof(buf)), 0);
    assert_string_equal(o.key, "jdoe");
    assert_string_equal(o.key_domain, "EXAMPLE");
    assert_int_equal(prep(OBS_USER, "jdoe@example.com", &o, buf, sizeof(buf)), 0);
    assert_string_equal(o.key, "jdoe");
    assert_string_equal(o.key_domain, "example.com");
    /* the access log's own form: the realm after the name is left out */
    assert_int_equal(prep(OBS_USER, "EXAMPLE\\asmith@Realm1", &o, buf, sizeof(buf)), 0);
    assert_string_equal(o.key, "asmith");
    assert_string_equal(o.key_domain, "EXAMPLE");
    assert_int_equal(prep(OBS_USER, "asmith", &o, buf, sizeof(buf)), 0);
    assert_string_equal(o.key, "asmith");
    assert_null(o.key_domain);
    assert_int_equal(prep(OBS_USER, "\\bob", &o, buf, sizeof(buf)), 0);
    assert_string_equal(o.key, "bob");
    assert_null(o.key_domain);
    assert_int_equal(prep(OBS_USER, "EXAMPLE\\", &o, buf, sizeof(buf)), -1);
    assert_int_equal(prep(OBS_USER, "@example.com", &o, buf, sizeof(buf)), -1);
    assert_int_equal(prep(OBS_USER, "", &o, buf, sizeof(buf)), -1);
}

static void test_as_given(void **state)
{
    obs_t o;
    char buf[128];

    (void)state;
    assert_int_equal(prep(OBS_FILE_NAME, "WSA-INFECTED-FILE.pdf.exe", &o, buf, sizeof(buf)), 0);
    assert_string_equal(o.key, "WSA-INFECTED-FILE.pdf.exe");
    assert_int_equal(prep(OBS_USER_AGENT, "Mozilla/5.0 (X11; Linux x86_64)", &o, buf, sizeof(buf)),
                     0);
    assert_string_equal(o.key, "Mozilla/5.0 (X11; Linux x86_64)");
    assert_int_equal(prep(OBS_FILE_NAME, "", &o, buf, sizeof(buf)), -1);
    assert_int_equal(prep(OBS_UNSUPPORTED, "x", &o, buf, sizeof(buf)), -1);
    assert_null(o.key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_names), cmocka_unit_test(test_ip),
        cmocka_unit_test(test_domain),     cmocka_unit_test(test_url),
        cmocka_unit_test(test_sha256),     cmocka_unit_test(test_user),
        cmocka_unit_test(test_as_given),   cmocka_unit_test(test_ipv4_like_inet_pton),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
