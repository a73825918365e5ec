/*
 * test_jwks_trust.c - WSA_RELAY_JWKS_CA is the only trust for the key fetch when it is set.
 *
 * The system's CA directory is replaced, in a mount namespace of this test's own, by a tmpfs
 * that holds a second test CA as its bundle and under its subject hash, as c_rehash would
 * name it. The key
 * server's certificate comes from that second CA. Without WSA_RELAY_JWKS_CA the relay trusts
 * it through the system directory (which shows the replacement works); with
 * WSA_RELAY_JWKS_CA naming the first CA it must not, since libcurl would otherwise look in
 * the system directory after the configured bundle.
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "harness.h"
#include "jwks_server.h"

#define PUBLIC_URL "http://relay.test"
#define SYSTEM_CA  "/etc/ssl/certs"
#define M_WRONG_HOST                                                                               \
    "Authorization failed: Wrong jwks_host in JWT payload. Make sure domain follows the "          \
    "visibility.<region>.cisco.com structure"

static char ns_why[256]; /* why the namespace could not be made; "" when it was */
static char dir[] = "/tmp/wsa-trust-XXXXXX";
static js_ca_t *ca_conf, *ca_system;
static js_server_t *keys;
static js_key_t key;
static char host[64];

/* Installs `pem_file` in SYSTEM_CA (a fresh tmpfs) under its subject hash. */
static void install_system_ca(const char *pem_file)
{
    char link[128];
    FILE *in = fopen(pem_file, "r"), *out;
    X509 *cert;
    int ok = 0;
    unsigned long hash;

    assert_non_null(in);
    cert = PEM_read_X509(in, NULL, NULL, NULL);
    fclose(in);
    assert_non_null(cert);
    hash = X509_NAME_hash_ex(X509_get_subject_name(cert), NULL, NULL, &ok);
    assert_int_equal(ok, 1);
    assert_int_equal(mount("wsa-trust", SYSTEM_CA, "tmpfs", 0, "size=1m"), 0);
    /* the bundle libcurl reads by default, and the directory entry it looks up by hash */
    for (int i = 0; i < 2; i++) {
        if (i == 0)
            snprintf(link, sizeof(link), SYSTEM_CA "/ca-certificates.crt");
        else
            snprintf(link, sizeof(link), SYSTEM_CA "/%08lx.0", hash);
        out = fopen(link, "w");
        assert_non_null(out);
        assert_int_equal(PEM_write_X509(out, cert), 1);
        assert_int_equal(fclose(out), 0);
    }
    X509_free(cert);
}

static char *token(void)
{
    char header[128], payload[256];

    snprintf(header, sizeof(header), "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", key.kid);
    snprintf(payload, sizeof(payload),
             "{\"jwks_host\":\"%s\",\"aud\":\"" PUBLIC_URL "\",\"exp\":%lld}", host,
             (long long)time(NULL) + 600);
    return js_sign(&key, "RS256", NULL, 0, header, payload);
}

/* Starts a relay in jwks mode (with WSA_RELAY_JWKS_CA = `ca_file` unless NULL), asks /health
 * once and returns the reply's body. */
static char *health_with(const char *ca_file)
{
    char hosts_env[128], ca_env[600], line[4096];
    const char *env[8] = {"WSA_RELAY_AUTH_MODE=jwks", "WSA_RELAY_PUBLIC_URL=" PUBLIC_URL,
                          hosts_env};
    const char *headers[] = {line, NULL};
    char *tok = token(), *body;
    h_server_t relay;
    h_client_t c;
    h_reply_t r;

    snprintf(hosts_env, sizeof(hosts_env), "WSA_RELAY_JWKS_HOSTS=%s", host);
    if (ca_file != NULL) {
        snprintf(ca_env, sizeof(ca_env), "WSA_RELAY_JWKS_CA=%s", ca_file);
        env[3] = ca_env;
    }
    snprintf(line, sizeof(line), "Authorization: Bearer %s", tok);
    h_setup(&relay);
    h_start(&relay, env);
    h_client_init(&c, 0);
    h_request(&c, &relay, "POST", "/health", headers, NULL, 0, &r);
    h_client_free(&c);
    body = strdup(r.body);
    h_reply_free(&r);
    h_teardown(&relay);
    free(tok);
    return body;
}

static void test_system_store_is_used_without_a_bundle(void **state)
{
    char *body;

    (void)state;
    if (ns_why[0] != '\0')
        skip();
    body = health_with(NULL);
    assert_string_equal(body, "{\"data\":{\"status\":\"ok\"}}");
    free(body);
}

static void test_bundle_replaces_the_system_store(void **state)
{
    unsigned long before = js_requests(keys);
    char *body;

    (void)state;
    if (ns_why[0] != '\0')
        skip();
    body = health_with(js_ca_file(ca_conf));
    assert_string_equal(body, "{\"errors\":[{\"type\":\"fatal\",\"code\":\"authorization "
                              "error\",\"message\":\"" M_WRONG_HOST "\"}]}");
    free(body);
    /* the handshake failed: no request reached the key server */
    assert_int_equal(js_requests(keys), before);
    body = health_with(js_ca_file(ca_system));
    assert_string_equal(body, "{\"data\":{\"status\":\"ok\"}}");
    free(body);
}

static int setup(void **state)
{
    char sub[64];
    struct stat st;
    char *jwk, doc[4096];

    (void)state;
    h_clean_env();
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(sub, sizeof(sub), "%s/conf", dir);
    mkdir(sub, 0700);
    ca_conf = js_ca_create(sub);
    snprintf(sub, sizeof(sub), "%s/system", dir);
    mkdir(sub, 0700);
    ca_system = js_ca_create(sub);
    js_key_generate(&key, 0, "trust-1");
    jwk = js_jwk(&key, "RS256");
    snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", jwk);
    free(jwk);
    keys = js_start(ca_system);
    js_set_document(keys, doc);
    snprintf(host, sizeof(host), "127.0.0.1:%d", js_port(keys));

    if (stat(SYSTEM_CA, &st) != 0 || !S_ISDIR(st.st_mode))
        snprintf(ns_why, sizeof(ns_why), SYSTEM_CA " is not a directory here");
    else if (unshare(CLONE_NEWNS) != 0)
        snprintf(ns_why, sizeof(ns_why), "unshare(CLONE_NEWNS): %s", strerror(errno));
    else if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        snprintf(ns_why, sizeof(ns_why), "making mounts private: %s", strerror(errno));
    if (ns_why[0] != '\0')
        fprintf(stderr, "skipping: %s\n", ns_why);
    else
        install_system_ca(js_ca_file(ca_system));
    return 0;
}

static int teardown(void **state)
{
    char sub[64];

    (void)state;
    if (ns_why[0] == '\0')
        umount(SYSTEM_CA);
    js_stop(keys);
    js_key_free(&key);
    js_ca_free(ca_conf);
    js_ca_free(ca_system);
    for (int i = 0; i < 2; i++) {
        snprintf(sub, sizeof(sub), "%s/%s/ca.pem", dir, i == 0 ? "conf" : "system");
        unlink(sub);
        sub[strlen(sub) - strlen("/ca.pem")] = '\0';
        rmdir(sub);
    }
    rmdir(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_system_store_is_used_without_a_bundle),
        cmocka_unit_test(test_bundle_replaces_the_system_store),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
