/*
 * test_config.c - settings: defaults, validation messages, environment, precedence.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "config.h"

static void test_defaults(void **state)
{
    cfg_t cfg;

    cfg_init(&cfg);
    assert_string_equal(cfg.db_path, "var/tracking.db");
    assert_string_equal(cfg.listen_host, "127.0.0.1");
    assert_int_equal(cfg.listen_port, 9090);
    assert_int_equal(cfg.verdict_days, 30);
    assert_true(cfg.wbrs_block == -6.0);
    assert_null(cfg.secret);
    assert_null(cfg.public_url);
    assert_null(cfg.refer_url);
    assert_true(cfg.threads >= 1);
    cfg_free(&cfg);
}

/* Applies one value and returns the error text ("" when accepted). */
static const char *try_set(cfg_t *cfg, const char *name, const char *value)
{
    static char err[CFG_ERR_LEN];

    err[0] = '\0';
    if (cfg_set(cfg, name, value, err, sizeof(err)) == 0)
        err[0] = '\0';
    else
        assert_true(err[0] != '\0');
    return err;
}

static void test_listen(void **state)
{
    cfg_t cfg;

    cfg_init(&cfg);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_LISTEN", "0.0.0.0:0"), "");
    assert_string_equal(cfg.listen_host, "0.0.0.0");
    assert_int_equal(cfg.listen_port, 0);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_LISTEN", "[::1]:8443"), "");
    assert_string_equal(cfg.listen_host, "::1");
    assert_int_equal(cfg.listen_port, 8443);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_LISTEN", "localhost:9090"),
                        "WSA_RELAY_LISTEN: expected ADDR:PORT with an IP address and a port "
                        "0-65535, e.g. 127.0.0.1:9090 or [::1]:9090; got \"localhost:9090\"");
    assert_true(strstr(try_set(&cfg, "WSA_RELAY_LISTEN", "127.0.0.1:65536"), "got") != NULL);
    assert_true(strstr(try_set(&cfg, "WSA_RELAY_LISTEN", "127.0.0.1"), "WSA_RELAY_LISTEN") != NULL);
    assert_true(strstr(try_set(&cfg, "WSA_RELAY_LISTEN", "::1:80"), "WSA_RELAY_LISTEN") != NULL);
    assert_true(strstr(try_set(&cfg, "WSA_RELAY_LISTEN", "127.0.0.1:80x"), "WSA_RELAY_LISTEN") !=
                NULL);
    /* a rejected value leaves the previous one in place */
    assert_string_equal(cfg.listen_host, "::1");
    assert_int_equal(cfg.listen_port, 8443);
    cfg_free(&cfg);
}

static void test_verdict_days(void **state)
{
    cfg_t cfg;

    cfg_init(&cfg);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_VERDICT_DAYS", "1"), "");
    assert_int_equal(cfg.verdict_days, 1);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_VERDICT_DAYS", "36500"), "");
    assert_int_equal(cfg.verdict_days, 36500);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_VERDICT_DAYS", "0"),
                        "WSA_RELAY_VERDICT_DAYS: expected a whole number of days from 1 to "
                        "36500; got \"0\"");
    assert_string_not_equal(try_set(&cfg, "WSA_RELAY_VERDICT_DAYS", "36501"), "");
    assert_string_not_equal(try_set(&cfg, "WSA_RELAY_VERDICT_DAYS", "7d"), "");
    assert_string_not_equal(try_set(&cfg, "WSA_RELAY_VERDICT_DAYS", "-5"), "");
    assert_string_not_equal(try_set(&cfg, "WSA_RELAY_VERDICT_DAYS", "99999999999999999999"), "");
    assert_int_equal(cfg.verdict_days, 36500);
    cfg_free(&cfg);
}

static void test_urls_and_modes(void **state)
{
    cfg_t cfg;

    cfg_init(&cfg);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_PUBLIC_URL", "https://relay.example.com//"), "");
    assert_string_equal(cfg.public_url, "https://relay.example.com");
    assert_string_equal(try_set(&cfg, "WSA_RELAY_PUBLIC_URL", "relay.example.com"),
                        "WSA_RELAY_PUBLIC_URL: expected an http:// or https:// URL; got "
                        "\"relay.example.com\"");
    assert_string_equal(
        try_set(&cfg, "WSA_RELAY_REFER_URL", "https://wsa.example/track?{type}={value}"), "");
    assert_string_equal(cfg.refer_url, "https://wsa.example/track?{type}={value}");
    assert_string_equal(try_set(&cfg, "WSA_RELAY_REFER_URL", "https://wsa.example/track"),
                        "WSA_RELAY_REFER_URL: the template must contain {value}; got "
                        "\"https://wsa.example/track\"");
    assert_string_equal(try_set(&cfg, "WSA_RELAY_AUTH_MODE", "secret"), "");
    assert_string_equal(try_set(&cfg, "WSA_RELAY_AUTH_MODE", "none"),
                        "WSA_RELAY_AUTH_MODE: expected secret or jwks; got \"none\"");
    assert_string_equal(try_set(&cfg, "WSA_RELAY_THREADS", "0"),
                        "WSA_RELAY_THREADS: expected a number from 1 to 64; got \"0\"");
    assert_string_equal(try_set(&cfg, "WSA_RELAY_WBRS_BLOCK", "-11"),
                        "WSA_RELAY_WBRS_BLOCK: expected a score from -10.0 to 10.0; got \"-11\"");
    assert_string_equal(try_set(&cfg, "WSA_RELAY_WBRS_BLOCK", "-4.5"), "");
    assert_true(cfg.wbrs_block == -4.5);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_DB", ""), "WSA_RELAY_DB: may not be empty");
    cfg_free(&cfg);
}

static void test_secret_rules(void **state)
{
    char err[CFG_ERR_LEN];
    cfg_t cfg;

    cfg_init(&cfg);
    assert_int_equal(cfg_check_serve(&cfg, err, sizeof(err)), -1);
    assert_string_equal(err, "WSA_RELAY_SECRET: not set; secret mode needs a shared secret of at "
                             "least 32 bytes (or WSA_RELAY_SECRET_FILE)");
    /* 31 bytes: one short */
    assert_string_equal(try_set(&cfg, "WSA_RELAY_SECRET", "0123456789abcdef0123456789abcde"), "");
    assert_int_equal(cfg_check_serve(&cfg, err, sizeof(err)), -1);
    assert_string_equal(
        err, "WSA_RELAY_SECRET: too short (31 bytes); secret mode needs at least 32 bytes");
    assert_string_equal(try_set(&cfg, "WSA_RELAY_SECRET", "0123456789abcdef0123456789abcdef"), "");
    assert_int_equal(cfg_check_serve(&cfg, err, sizeof(err)), 0);
    cfg_free(&cfg);
}

static void test_secret_file(void **state)
{
    char path[] = "/tmp/wsa-relay-secret-XXXXXX";
    int fd = mkstemp(path);
    const char *text = "abcdefghijklmnopqrstuvwxyz0123456789\n";
    cfg_t cfg;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    cfg_init(&cfg);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_SECRET_FILE", path), "");
    /* the trailing newline is not part of the secret */
    assert_string_equal(cfg.secret, "abcdefghijklmnopqrstuvwxyz0123456789");
    unlink(path);
    assert_true(strncmp(try_set(&cfg, "WSA_RELAY_SECRET_FILE", path),
                        "WSA_RELAY_SECRET_FILE: cannot open /tmp/wsa-relay-secret-", 57) == 0);
    cfg_free(&cfg);
}

/* Writes `len` bytes of 'k' to a new temporary file; returns its path (static). */
static const char *secret_file_of(size_t len)
{
    static char path[64];
    char *text = malloc(len);
    int fd;

    strcpy(path, "/tmp/wsa-relay-secret-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0 && text != NULL);
    memset(text, 'k', len);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    free(text);
    return path;
}

static void test_secret_file_limits(void **state)
{
    cfg_t cfg;
    const char *path;
    char want[128];

    cfg_init(&cfg);
    /* 4096 bytes is the longest accepted secret file, 4097 one too many */
    path = secret_file_of(4096);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_SECRET_FILE", path), "");
    assert_int_equal(strlen(cfg.secret), 4096);
    unlink(path);
    path = secret_file_of(4097);
    snprintf(want, sizeof(want), "WSA_RELAY_SECRET_FILE: %s: longer than 4096 bytes", path);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_SECRET_FILE", path), want);
    unlink(path);
    /* a folder is not a file */
    assert_string_equal(try_set(&cfg, "WSA_RELAY_SECRET_FILE", "/tmp"),
                        "WSA_RELAY_SECRET_FILE: cannot open /tmp: not a regular file");
    cfg_free(&cfg);
}

/* Whether an address in text form passes the allowlist. */
static int allowed(const cfg_t *cfg, const char *text)
{
    unsigned char addr[16];
    int family = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;

    assert_int_equal(inet_pton(family, text, addr), 1);
    return cfg_syslog_allowed(cfg, family, addr);
}

static const char *sender(const cfg_t *cfg, const char *text)
{
    unsigned char addr[16];
    int family = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;

    assert_int_equal(inet_pton(family, text, addr), 1);
    return cfg_sender_name(cfg, family, addr);
}

static void test_syslog_allow(void **state)
{
    cfg_t cfg;

    (void)state;
    cfg_init(&cfg);
    /* the default: loopback only */
    assert_true(allowed(&cfg, "127.0.0.1"));
    assert_true(allowed(&cfg, "127.255.0.9"));
    assert_true(allowed(&cfg, "::1"));
    assert_true(allowed(&cfg, "::ffff:127.0.0.2"));
    assert_false(allowed(&cfg, "128.0.0.1"));
    assert_false(allowed(&cfg, "10.0.0.1"));
    assert_false(allowed(&cfg, "::2"));

    /* 192.0.2.64/26 is .64 to .127; 2001:db8:ab00::/40 ends where the 41st bit changes */
    assert_string_equal(
        try_set(&cfg, "WSA_RELAY_SYSLOG_ALLOW", "192.0.2.10, 192.0.2.64/26,2001:db8:ab00::/40"),
        "");
    assert_int_equal(cfg.syslog_allow_n, 3);
    assert_true(allowed(&cfg, "192.0.2.10"));
    assert_false(allowed(&cfg, "192.0.2.11"));
    assert_false(allowed(&cfg, "192.0.2.63"));
    assert_true(allowed(&cfg, "192.0.2.64"));
    assert_true(allowed(&cfg, "::ffff:192.0.2.127"));
    assert_false(allowed(&cfg, "192.0.2.128"));
    assert_true(allowed(&cfg, "2001:db8:abff:ffff::1"));
    assert_false(allowed(&cfg, "2001:db8:ac00::1"));
    assert_false(allowed(&cfg, "127.0.0.1"));
    assert_string_equal(try_set(&cfg, "WSA_RELAY_SYSLOG_ALLOW", "0.0.0.0/0"), "");
    assert_true(allowed(&cfg, "203.0.113.7"));
    assert_false(allowed(&cfg, "2001:db8::1"));

    assert_string_equal(try_set(&cfg, "WSA_RELAY_SYSLOG_ALLOW", "10.0.0.0/33"),
                        "WSA_RELAY_SYSLOG_ALLOW: expected comma-separated IP addresses or CIDR "
                        "ranges (e.g. 127.0.0.1,10.0.0.0/8,::1); \"10.0.0.0/33\" is not one");
    assert_string_equal(try_set(&cfg, "WSA_RELAY_SYSLOG_ALLOW", "10.1.2.3/8"),
                        "WSA_RELAY_SYSLOG_ALLOW: \"10.1.2.3/8\" has bits set past its /8 prefix");
    assert_string_not_equal(try_set(&cfg, "WSA_RELAY_SYSLOG_ALLOW", "wsa.example.com"), "");
    assert_string_not_equal(try_set(&cfg, "WSA_RELAY_SYSLOG_ALLOW", "10.0.0.1,,"), "");
    assert_string_not_equal(try_set(&cfg, "WSA_RELAY_SYSLOG_ALLOW", "10.0.0.0/"), "");
    assert_string_not_equal(try_set(&cfg, "WSA_RELAY_SYSLOG_ALLOW", "10.0.0.0/-1"), "");
    assert_string_not_equal(try_set(&cfg, "WSA_RELAY_SYSLOG_ALLOW", ","), "");
    /* a refused value leaves the list as it was */
    assert_int_equal(cfg.syslog_allow_n, 1);
    assert_true(allowed(&cfg, "203.0.113.7"));
    cfg_free(&cfg);
}

static void test_appliance_senders(void **state)
{
    cfg_t cfg;

    (void)state;
    cfg_init(&cfg);
    assert_int_equal(cfg.senders_n, 0);
    assert_null(sender(&cfg, "127.0.0.1"));
    assert_string_equal(
        try_set(&cfg, "WSA_RELAY_APPLIANCES", "wsa-hq=192.0.2.10,wsa-branch.example=2001:db8::5"),
        "");
    assert_int_equal(cfg.senders_n, 2);
    assert_string_equal(sender(&cfg, "192.0.2.10"), "wsa-hq");
    assert_string_equal(sender(&cfg, "::ffff:192.0.2.10"), "wsa-hq");
    assert_string_equal(sender(&cfg, "2001:db8::5"), "wsa-branch.example");
    assert_null(sender(&cfg, "192.0.2.11"));

    assert_string_equal(try_set(&cfg, "WSA_RELAY_APPLIANCES", "wsa1=10.0.0.1,wsa2=10.0.0.1"),
                        "WSA_RELAY_APPLIANCES: address 10.0.0.1 is given twice");
    assert_string_equal(try_set(&cfg, "WSA_RELAY_APPLIANCES", "wsa1=10.0.0.300"),
                        "WSA_RELAY_APPLIANCES: expected NAME=ADDRESS[,NAME=ADDRESS...] with a "
                        "name of 1 to 255 printable characters without spaces and an IP "
                        "address; \"wsa1=10.0.0.300\" is not one");
    assert_string_not_equal(try_set(&cfg, "WSA_RELAY_APPLIANCES", "=10.0.0.1"), "");
    assert_string_not_equal(try_set(&cfg, "WSA_RELAY_APPLIANCES", "wsa 1=10.0.0.1"), "");
    assert_string_not_equal(try_set(&cfg, "WSA_RELAY_APPLIANCES", "10.0.0.1"), "");
    assert_string_not_equal(try_set(&cfg, "WSA_RELAY_APPLIANCES", "wsa1=10.0.0.0/8"), "");
    assert_string_equal(sender(&cfg, "192.0.2.10"), "wsa-hq");

    assert_string_equal(try_set(&cfg, "WSA_RELAY_SYSLOG_RCVBUF", "4096"), "");
    assert_int_equal(cfg.syslog_rcvbuf, 4096);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_SYSLOG_RCVBUF", "268435457"),
                        "WSA_RELAY_SYSLOG_RCVBUF: expected bytes from 0 to 268435456; got "
                        "\"268435457\"");

    assert_int_equal(cfg.syslog_idle_s, 600);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_SYSLOG_IDLE_S", "1"), "");
    assert_int_equal(cfg.syslog_idle_s, 1);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_SYSLOG_IDLE_S", "86400"), "");
    assert_int_equal(cfg.syslog_idle_s, 86400);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_SYSLOG_IDLE_S", "0"),
                        "WSA_RELAY_SYSLOG_IDLE_S: expected seconds from 1 to 86400; got \"0\"");
    assert_string_equal(try_set(&cfg, "WSA_RELAY_SYSLOG_IDLE_S", "86401"),
                        "WSA_RELAY_SYSLOG_IDLE_S: expected seconds from 1 to 86400; got "
                        "\"86401\"");
    assert_int_equal(cfg.syslog_idle_s, 86400);
    cfg_free(&cfg);
}

static void test_env_precedence(void **state)
{
    char err[CFG_ERR_LEN];
    cfg_t cfg;

    setenv("WSA_RELAY_DB", "/tmp/from-env.db", 1);
    setenv("WSA_RELAY_VERDICT_DAYS", "7", 1);
    setenv("WSA_RELAY_REFER_URL", "", 1); /* empty counts as unset */
    cfg_init(&cfg);
    assert_int_equal(cfg_load_env(&cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.db_path, "/tmp/from-env.db");
    assert_int_equal(cfg.verdict_days, 7);
    assert_null(cfg.refer_url);
    /* a flag applied after the environment wins */
    assert_string_equal(try_set(&cfg, "WSA_RELAY_DB", "/tmp/from-flag.db"), "");
    assert_string_equal(cfg.db_path, "/tmp/from-flag.db");
    cfg_free(&cfg);

    setenv("WSA_RELAY_VERDICT_DAYS", "forever", 1);
    cfg_init(&cfg);
    assert_int_equal(cfg_load_env(&cfg, err, sizeof(err)), -1);
    assert_string_equal(err, "WSA_RELAY_VERDICT_DAYS: expected a whole number of days from 1 to "
                             "36500; got \"forever\"");
    cfg_free(&cfg);
    unsetenv("WSA_RELAY_DB");
    unsetenv("WSA_RELAY_VERDICT_DAYS");
    unsetenv("WSA_RELAY_REFER_URL");
}

static void test_jwks_defaults(void **state)
{
    cfg_t cfg;

    cfg_init(&cfg);
    assert_int_equal(cfg.auth_mode, CFG_AUTH_SECRET);
    assert_int_equal(cfg.jwks_hosts_n, 3);
    assert_string_equal(cfg.jwks_hosts[0], "visibility.amp.cisco.com");
    assert_string_equal(cfg.jwks_hosts[1], "visibility.eu.amp.cisco.com");
    assert_string_equal(cfg.jwks_hosts[2], "visibility.apjc.amp.cisco.com");
    assert_int_equal(cfg.jwks_refresh_s, 60);
    assert_int_equal(cfg.jwks_timeout_ms, 5000);
    assert_int_equal(cfg.jwt_algs, CFG_ALG_RS256);
    assert_null(cfg.jwks_file);
    assert_null(cfg.jwks_url);
    assert_null(cfg.jwks_ca);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_AUTH_MODE", "jwks"), "");
    assert_int_equal(cfg.auth_mode, CFG_AUTH_JWKS);
    cfg_free(&cfg);
}

static int host_allowed(const cfg_t *cfg, const char *host)
{
    return cfg_jwks_host_allowed(cfg, host, strlen(host));
}

static void test_jwks_hosts(void **state)
{
    cfg_t cfg;

    cfg_init(&cfg);
    /* the defaults, in any case, and nothing that merely starts or ends like one */
    assert_true(host_allowed(&cfg, "visibility.eu.amp.cisco.com"));
    assert_true(host_allowed(&cfg, "VISIBILITY.amp.Cisco.com"));
    assert_false(host_allowed(&cfg, "visibility.amp.cisco.com.evil.example"));
    assert_false(host_allowed(&cfg, "evil.visibility.amp.cisco.com"));
    assert_false(host_allowed(&cfg, "visibility.amp.cisco.com:443"));
    assert_false(host_allowed(&cfg, "visibility.amp.cisco.com/"));
    assert_false(host_allowed(&cfg, ""));
    /* the length is the caller's: a prefix of the token's bytes is not the host */
    assert_false(cfg_jwks_host_allowed(&cfg, "visibility.amp.cisco.com.x", 25));
    assert_true(cfg_jwks_host_allowed(&cfg, "visibility.amp.cisco.com.x", 24));

    assert_string_equal(
        try_set(&cfg, "WSA_RELAY_JWKS_HOSTS", " 127.0.0.1:8443 , Relay-1.Example,[::1]:9443,[::1]"),
        "");
    assert_int_equal(cfg.jwks_hosts_n, 4);
    assert_string_equal(cfg.jwks_hosts[0], "127.0.0.1:8443");
    assert_string_equal(cfg.jwks_hosts[1], "relay-1.example");
    assert_string_equal(cfg.jwks_hosts[2], "[::1]:9443");
    assert_string_equal(cfg.jwks_hosts[3], "[::1]");
    assert_true(host_allowed(&cfg, "127.0.0.1:8443"));
    assert_false(host_allowed(&cfg, "127.0.0.1"));
    assert_false(host_allowed(&cfg, "127.0.0.1:8444"));
    assert_false(host_allowed(&cfg, "visibility.amp.cisco.com"));

    /* nothing that could add a path, credentials or a scheme to the fetch URL */
    const char *bad[] = {"evil.example/x",
                         "user@evil.example",
                         "https://h.example",
                         "h.example:0",
                         "h.example:65536",
                         "h.example:08443",
                         "h.example:",
                         "-h.example",
                         "h-.example",
                         "h..example",
                         "[::1]x",
                         "[zz::1]:80",
                         "h.example,",
                         "a,,b",
                         "h_x.example",
                         "h.example?x=1",
                         "h.example#f",
                         "h .example"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *e = try_set(&cfg, "WSA_RELAY_JWKS_HOSTS", bad[i]);
        assert_true(strncmp(e, "WSA_RELAY_JWKS_HOSTS: ", 22) == 0);
        /* a refused value leaves the list as it was */
        assert_int_equal(cfg.jwks_hosts_n, 4);
    }
    assert_string_equal(try_set(&cfg, "WSA_RELAY_JWKS_HOSTS", "a.example,b/c"),
                        "WSA_RELAY_JWKS_HOSTS: expected comma-separated host names or addresses, "
                        "each with an optional :port (e.g. visibility.amp.cisco.com or "
                        "127.0.0.1:8443); entry 2 is \"b/c\"");
    cfg_free(&cfg);
}

static void test_jwks_algs_and_sources(void **state)
{
    char dir[] = "/tmp/wsa-cfg-XXXXXX", path[64], fifo[64], err[CFG_ERR_LEN];
    FILE *f;
    cfg_t cfg;

    cfg_init(&cfg);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_JWT_ALGS", "RS256,ES256"), "");
    assert_int_equal(cfg.jwt_algs, CFG_ALG_RS256 | CFG_ALG_ES256);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_JWT_ALGS", "RS512"), "");
    assert_int_equal(cfg.jwt_algs, CFG_ALG_RS512);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_JWT_ALGS", "RS256,HS256"),
                        "WSA_RELAY_JWT_ALGS: expected a comma-separated list of RS256, RS384, "
                        "RS512 and ES256; got \"HS256\"");
    assert_true(try_set(&cfg, "WSA_RELAY_JWT_ALGS", "none")[0] != '\0');
    assert_true(try_set(&cfg, "WSA_RELAY_JWT_ALGS", "rs256")[0] != '\0');
    assert_true(try_set(&cfg, "WSA_RELAY_JWT_ALGS", "RS256,")[0] != '\0');
    assert_int_equal(cfg.jwt_algs, CFG_ALG_RS512);

    assert_string_equal(try_set(&cfg, "WSA_RELAY_JWKS_REFRESH", "0"),
                        "WSA_RELAY_JWKS_REFRESH: expected seconds from 1 to 86400; got \"0\"");
    assert_string_equal(try_set(&cfg, "WSA_RELAY_JWKS_TIMEOUT_MS", "250"), "");
    assert_int_equal(cfg.jwks_timeout_ms, 250);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_JWKS_URL", "ftp://keys.example/jwks"),
                        "WSA_RELAY_JWKS_URL: expected an http:// or https:// URL; got "
                        "\"ftp://keys.example/jwks\"");
    assert_true(try_set(&cfg, "WSA_RELAY_JWKS_URL", "https:///jwks")[0] != '\0');
    assert_string_equal(try_set(&cfg, "WSA_RELAY_JWKS_URL", "https://keys.example/jwks"), "");
    assert_string_equal(cfg.jwks_url, "https://keys.example/jwks");
    assert_null(cfg.jwks_proxy);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_JWKS_PROXY", "proxy.example:3128"),
                        "WSA_RELAY_JWKS_PROXY: expected an http:// or https:// URL; got "
                        "\"proxy.example:3128\"");
    assert_string_equal(try_set(&cfg, "WSA_RELAY_JWKS_PROXY", "http://proxy.example:3128"), "");
    assert_string_equal(cfg.jwks_proxy, "http://proxy.example:3128");

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/none.json", dir);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_JWKS_CA", path),
                        strcat(strcat(strcpy(err, "WSA_RELAY_JWKS_CA: cannot open "), path),
                               ": No such file or directory"));
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"keys\":[]}", f);
    fclose(f);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_JWKS_FILE", path), "");
    assert_string_equal(cfg.jwks_file, path);
    /* a FIFO (or a directory) is refused at once: opening a FIFO would wait for a writer */
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_JWKS_CA", fifo),
                        strcat(strcat(strcpy(err, "WSA_RELAY_JWKS_CA: cannot open "), fifo),
                               ": not a regular file"));
    assert_string_equal(try_set(&cfg, "WSA_RELAY_JWKS_FILE", dir),
                        strcat(strcat(strcpy(err, "WSA_RELAY_JWKS_FILE: cannot open "), dir),
                               ": not a regular file"));
    assert_string_equal(try_set(&cfg, "WSA_RELAY_SECRET_FILE", fifo),
                        strcat(strcat(strcpy(err, "WSA_RELAY_SECRET_FILE: cannot open "), fifo),
                               ": not a regular file"));
    unlink(fifo);
    assert_string_equal(cfg.jwks_file, path);

    /* serving in jwks mode needs the audience, and one key source at most */
    assert_string_equal(try_set(&cfg, "WSA_RELAY_AUTH_MODE", "jwks"), "");
    assert_int_equal(cfg_check_serve(&cfg, err, sizeof(err)), -1);
    assert_true(strncmp(err, "WSA_RELAY_PUBLIC_URL: not set; jwks mode", 40) == 0);
    assert_string_equal(try_set(&cfg, "WSA_RELAY_PUBLIC_URL", "https://relay.example/"), "");
    assert_int_equal(cfg_check_serve(&cfg, err, sizeof(err)), -1);
    assert_string_equal(err, "WSA_RELAY_JWKS_FILE and WSA_RELAY_JWKS_URL: set one key source, "
                             "not both");
    free(cfg.jwks_url);
    cfg.jwks_url = NULL;
    /* no secret is needed in jwks mode */
    assert_null(cfg.secret);
    assert_int_equal(cfg_check_serve(&cfg, err, sizeof(err)), 0);
    /* a request that waited for a fetch must keep half its budget to answer */
    assert_string_equal(try_set(&cfg, "WSA_RELAY_REQUEST_BUDGET_MS", "499"), "");
    assert_int_equal(cfg_check_serve(&cfg, err, sizeof(err)), -1);
    assert_string_equal(err, "WSA_RELAY_JWKS_TIMEOUT_MS (250) is more than half of "
                             "WSA_RELAY_REQUEST_BUDGET_MS (499): a request that waited for a "
                             "key fetch would have too little time left to answer; lower the "
                             "first or raise the second");
    assert_string_equal(try_set(&cfg, "WSA_RELAY_REQUEST_BUDGET_MS", "500"), "");
    assert_int_equal(cfg_check_serve(&cfg, err, sizeof(err)), 0);
    unlink(path);
    rmdir(dir);
    cfg_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jwks_defaults),
        cmocka_unit_test(test_jwks_hosts),
        cmocka_unit_test(test_jwks_algs_and_sources),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_listen),
        cmocka_unit_test(test_verdict_days),
        cmocka_unit_test(test_urls_and_modes),
        cmocka_unit_test(test_secret_rules),
        cmocka_unit_test(test_secret_file),
        cmocka_unit_test(test_secret_file_limits),
        cmocka_unit_test(test_env_precedence),
        cmocka_unit_test(test_syslog_allow),
        cmocka_unit_test(test_appliance_senders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
