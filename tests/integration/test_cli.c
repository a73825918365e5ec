/*
 * test_cli.c - the command line as an operator meets it: ingest's counts line and exit
 * status, token's claims, and the one-line errors of bad settings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "auth.h"
#include "harness.h"
#include "util.h"

#define SAMPLE     TEST_DATA_DIR "/sentinel-ciscowsa.log"
#define W3C_SAMPLE TEST_DATA_DIR "/w3c-synthetic.log"

static const char *const with_secret[] = {"WSA_RELAY_SECRET=" H_SECRET, NULL};

static void test_ingest_counts_and_rerun(void **state)
{
    const char *argv[] = {"ingest", "--db", NULL, SAMPLE, NULL};
    char out[4096];
    h_server_t s;

    h_setup(&s);
    argv[2] = s.db;
    /* 36 lines: 24 clean, 4 with a warning, none rejected, 8 not access records
     * (tests/data/parse_expected.tsv accounts for each line) */
    assert_int_equal(h_run(argv, NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "read=36 stored=24 warned=4 rejected=0 skipped=8\n");
    /* the same file again: nothing past the offset already reached */
    assert_int_equal(h_run(argv, NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "read=0 stored=0 warned=0 rejected=0 skipped=0\n");
    h_teardown(&s);
}

/*
 * A W3C file is recognised by its first line (tests/data/w3c-synthetic.log: four
 * directives, a clean line, one with a malformed score, one with too few fields);
 * --format native reads the same lines as native ones, --format takes three words only.
 */
static void test_ingest_format(void **state)
{
    const char *argv[] = {"ingest", "--db", NULL, W3C_SAMPLE, NULL};
    const char *native[] = {"ingest", "--db", NULL, "--format", "native", W3C_SAMPLE, NULL};
    const char *bad[] = {"ingest", "--db", NULL, "--format", "squid", W3C_SAMPLE, NULL};
    char out[4096];
    h_server_t s;

    (void)state;
    h_setup(&s);
    argv[2] = s.db;
    assert_int_equal(h_run(argv, NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "read=7 stored=1 warned=1 rejected=1 skipped=4\n");
    h_teardown(&s);

    /* as native: no verdict block on lines 5 and 6 (warned), line 7 ends early */
    h_setup(&s);
    native[2] = s.db;
    assert_int_equal(h_run(native, NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "read=7 stored=0 warned=2 rejected=1 skipped=4\n");
    bad[2] = s.db;
    assert_int_equal(h_run(bad, NULL, out, sizeof(out)), 2);
    assert_string_equal(out, "wsa-relay ingest: --format: expected auto, native or w3c\n");
    h_teardown(&s);
}

static void test_ingest_errors(void **state)
{
    const char *missing[] = {"ingest", "--db", NULL, "/nonexistent/aclog.s", NULL};
    const char *no_files[] = {"ingest", "--db", NULL, NULL};
    const char *bad_flag[] = {"ingest", "--frobnicate", NULL};
    const char *const bad_env[] = {"WSA_RELAY_VERDICT_DAYS=0", NULL};
    char out[4096];
    h_server_t s;

    h_setup(&s);
    missing[2] = s.db;
    no_files[2] = s.db;
    /* an error that stops the load: exit 1, the file and the reason named */
    assert_int_equal(h_run(missing, NULL, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "wsa-relay ingest: /nonexistent/aclog.s: cannot open: No such "
                                "file or directory\n"));
    /* usage errors: exit 2 */
    assert_int_equal(h_run(no_files, NULL, out, sizeof(out)), 2);
    assert_string_equal(out, "wsa-relay ingest: no FILE given (use - for stdin)\n");
    assert_int_equal(h_run(bad_flag, NULL, out, sizeof(out)), 2);
    assert_non_null(strstr(out, "wsa-relay ingest: unrecognized option '--frobnicate'\n"));
    assert_int_equal(h_run(no_files, bad_env, out, sizeof(out)), 2);
    assert_string_equal(out, "wsa-relay ingest: WSA_RELAY_VERDICT_DAYS: expected a whole number "
                             "of days from 1 to 36500; got \"0\"\n");
    h_teardown(&s);
}

static void test_serve_bad_settings(void **state)
{
    const char *bad_listen[] = {"serve", "--listen", "localhost:9090", NULL};
    const char *extra[] = {"serve", "surplus", NULL};
    const char *const short_secret[] = {"WSA_RELAY_SECRET=only-31-bytes-long-0123456789ab", NULL};
    /* should the check ever pass, a port of the kernel's choosing and a temporary database
     * keep the server that starts away from anything real */
    const char *plain[] = {"serve", "--db", NULL, "--listen", "127.0.0.1:0", NULL};
    char out[4096];
    h_server_t s;

    h_setup(&s);
    plain[2] = s.db;
    assert_int_equal(h_run(bad_listen, with_secret, out, sizeof(out)), 2);
    assert_string_equal(out, "wsa-relay serve: --listen: WSA_RELAY_LISTEN: expected ADDR:PORT "
                             "with an IP address and a port 0-65535, e.g. 127.0.0.1:9090 or "
                             "[::1]:9090; got \"localhost:9090\"\n");
    assert_int_equal(h_run(extra, with_secret, out, sizeof(out)), 2);
    assert_string_equal(out, "wsa-relay serve: unexpected argument \"surplus\"\n");
    assert_int_equal(h_run(plain, short_secret, out, sizeof(out)), 2);
    assert_string_equal(out, "wsa-relay serve: WSA_RELAY_SECRET: too short (31 bytes); secret "
                             "mode needs at least 32 bytes\n");
    h_teardown(&s);
}

/* The payload of a token printed by `wsa-relay token`, parsed. */
static json_t *payload_of(const char *token)
{
    const char *dot1 = strchr(token, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    unsigned char buf[4096];
    long n;

    assert_non_null(dot2);
    n = util_b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), buf);
    assert_true(n > 0);
    return json_loadb((const char *)buf, (size_t)n, 0, NULL);
}

static void test_token(void **state)
{
    const char *argv[] = {
        "token", "--ttl", "60", "--claim", "CTR_ENTITIES_LIMIT=5", "--claim", "aud=http://relay",
        NULL};
    auth_conf_t conf = {
        .secret = H_SECRET, .secret_len = strlen(H_SECRET), .audience = "http://relay"};
    char out[4096], header[4200];
    auth_claims_t claims;
    json_t *payload;
    size_t len;

    assert_int_equal(h_run(argv, with_secret, out, sizeof(out)), 0);
    len = strlen(out);
    assert_true(len > 0 && out[len - 1] == '\n');
    out[len - 1] = '\0';

    /* the token verifies with the secret, and carries the claims asked for */
    snprintf(header, sizeof(header), "Bearer %s", out);
    assert_int_equal(
        auth_verify(&conf, header, strlen(header), NULL, 0, (int64_t)time(NULL), &claims), AUTH_OK);
    assert_int_equal(claims.entities_limit, 5);
    payload = payload_of(out);
    assert_non_null(payload);
    assert_int_equal(json_integer_value(json_object_get(payload, "CTR_ENTITIES_LIMIT")), 5);
    assert_string_equal(json_string_value(json_object_get(payload, "aud")), "http://relay");
    assert_int_equal(json_integer_value(json_object_get(payload, "exp")) -
                         json_integer_value(json_object_get(payload, "iat")),
                     60);
    json_decref(payload);
}

static void test_token_errors(void **state)
{
    const char *exp_claim[] = {"token", "--claim", "exp=5", NULL};
    const char *twice[] = {"token", "--claim", "a=1", "--claim", "a=2", NULL};
    const char *bad_ttl[] = {"token", "--ttl", "-1", NULL};
    const char *plain[] = {"token", NULL};
    char out[4096];

    assert_int_equal(h_run(exp_claim, with_secret, out, sizeof(out)), 2);
    assert_string_equal(out, "wsa-relay token: --claim: exp and iat are set from --ttl and the "
                             "clock; got \"exp=5\"\n");
    assert_int_equal(h_run(twice, with_secret, out, sizeof(out)), 2);
    assert_string_equal(out, "wsa-relay token: --claim: this claim was already given; got "
                             "\"a=2\"\n");
    assert_int_equal(h_run(bad_ttl, with_secret, out, sizeof(out)), 2);
    assert_non_null(strstr(out, "wsa-relay token: --ttl: expected seconds from 0 to "));
    /* no secret: nothing to sign with */
    assert_int_equal(h_run(plain, NULL, out, sizeof(out)), 2);
    assert_string_equal(out, "wsa-relay token: WSA_RELAY_SECRET: not set; secret mode needs a "
                             "shared secret of at least 32 bytes (or WSA_RELAY_SECRET_FILE)\n");
}

static void test_help_and_unknown(void **state)
{
    static const char *const cmds[] = {"ingest", "serve", "token"};
    char out[8192], want[64];

    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        const char *argv[] = {cmds[i], "--help", NULL};
        assert_int_equal(h_run(argv, NULL, out, sizeof(out)), 0);
        snprintf(want, sizeof(want), "usage: wsa-relay %s ", cmds[i]);
        assert_memory_equal(out, want, strlen(want));
    }
    {
        const char *argv[] = {"frobnicate", NULL};
        assert_int_equal(h_run(argv, NULL, out, sizeof(out)), 2);
        assert_memory_equal(out, "wsa-relay: unknown command \"frobnicate\"\n", 40);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ingest_counts_and_rerun),
        cmocka_unit_test(test_ingest_format),
        cmocka_unit_test(test_ingest_errors),
        cmocka_unit_test(test_serve_bad_settings),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_token_errors),
        cmocka_unit_test(test_help_and_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
