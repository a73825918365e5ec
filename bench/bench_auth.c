/*
 * bench_auth.c - wsa-bench-auth: what verifying one platform token costs a worker in jwks
 * mode, with and without the cache of verified tokens, against secret mode's HS256.
 *
 * The key set comes from a JWKS file written here, so no network is involved: the figures
 * are the verification alone (parsing, hashing, the RSA check, the claims), as a worker pays
 * it for every request. Every verification must succeed, so the quick mode that ctest runs
 * checks the path as well.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include "auth.h"
#include "config.h"
#include "jwks.h"
#include "util.h"

static const char usage[] =
    "usage: wsa-bench-auth [--count N] [--rounds R]\n"
    "Verifies one RS256 token N times (default 20000) without and with the cache of\n"
    "verified tokens, and one HS256 token in secret mode; prints the best of R rounds\n"
    "(default 5) in microseconds per verification.\n";

#define PUBLIC_URL "https://relay.example"
#define JWKS_HOST  "visibility.amp.cisco.com"
#define SECRET     "bench-secret-0123456789abcdef-0123456789"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Writes the JWKS of `key` (kid "bench") to `path`; 0 or -1. */
static int write_jwks(EVP_PKEY *key, const char *path)
{
    unsigned char bin[1024];
    char n[1400];
    BIGNUM *bn = NULL;
    FILE *f;
    int len;

    if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &bn) != 1)
        return -1;
    len = BN_bn2bin(bn, bin);
    BN_free(bn);
    util_b64url_encode(bin, (size_t)len, n);
    f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f,
            "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"bench\",\"use\":\"sig\",\"n\":\"%s\","
            "\"e\":\"AQAB\"}]}\n",
            n);
    return fclose(f) == 0 ? 0 : -1;
}

static char *private_pem(EVP_PKEY *key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data, *pem = NULL;
    long len;

    if (bio != NULL && PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1) {
        len = BIO_get_mem_data(bio, &data);
        pem = strndup(data, (size_t)len);
    }
    BIO_free(bio);
    return pem;
}

/* Best of `rounds` rounds of `count` verifications, in microseconds each; -1 on a refusal. */
static double measure(const auth_conf_t *conf, const char *header, int count, int rounds)
{
    double best = -1;
    auth_claims_t claims;

    for (int r = 0; r < rounds; r++) {
        double t0 = now_us();
        for (int i = 0; i < count; i++) {
            auth_result_t res =
                auth_verify(conf, header, strlen(header), NULL, 0, util_now_ms() / 1000, &claims);
            if (res != AUTH_OK) {
                fprintf(stderr, "wsa-bench-auth: refused: %s\n",
                        res == AUTH_PENDING ? "pending" : auth_message(res));
                return -1;
            }
        }
        double each = (now_us() - t0) / count;
        if (best < 0 || each < best)
            best = each;
    }
    return best;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"count", required_argument, NULL, 'n'},
        {"rounds", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char dir[] = "/tmp/wsa-bench-auth-XXXXXX", path[64] = "", err[CFG_ERR_LEN];
    char *pem = NULL, *rs = NULL, *hs = NULL, header[8300];
    int count = 20000, rounds = 5, c, rc = 1;
    EVP_PKEY *key = NULL;
    jwks_t *jwks = NULL;
    auth_cache_t *cache = NULL;
    auth_conf_t conf;
    cfg_t cfg;
    double plain, cached, secret;
    const char *claims = "{\"aud\":\"" PUBLIC_URL "\",\"jwks_host\":\"" JWKS_HOST "\"}";

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'n')
            count = atoi(optarg);
        else if (c == 'r')
            rounds = atoi(optarg);
        else {
            fputs(usage, c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (count < 1 || rounds < 1) {
        fputs(usage, stderr);
        return 2;
    }
    cfg_init(&cfg);
    if (mkdtemp(dir) == NULL)
        goto out;
    snprintf(path, sizeof(path), "%s/jwks.json", dir);
    key = EVP_RSA_gen(2048);
    if (key == NULL || write_jwks(key, path) != 0 || (pem = private_pem(key)) == NULL)
        goto out;
    if (cfg_set(&cfg, "WSA_RELAY_AUTH_MODE", "jwks", err, sizeof(err)) != 0 ||
        cfg_set(&cfg, "WSA_RELAY_JWKS_FILE", path, err, sizeof(err)) != 0 ||
        cfg_set(&cfg, "WSA_RELAY_PUBLIC_URL", PUBLIC_URL, err, sizeof(err)) != 0 ||
        (jwks = jwks_create(&cfg, err, sizeof(err))) == NULL) {
        fprintf(stderr, "wsa-bench-auth: %s\n", err);
        goto out;
    }
    rs = auth_mint_rs256(pem, strlen(pem), "bench", claims, 3600, util_now_ms() / 1000, err,
                         sizeof(err));
    hs = auth_mint_hs256(SECRET, strlen(SECRET), claims, 3600, util_now_ms() / 1000, err,
                         sizeof(err));
    cache = auth_cache_create(1024);
    if (rs == NULL || hs == NULL || cache == NULL) {
        fprintf(stderr, "wsa-bench-auth: %s\n", err);
        goto out;
    }

    conf = (auth_conf_t){.mode = CFG_AUTH_JWKS, .audience = PUBLIC_URL, .cfg = &cfg, .jwks = jwks};
    snprintf(header, sizeof(header), "Bearer %s", rs);
    plain = measure(&conf, header, count, rounds);
    conf.cache = cache;
    cached = measure(&conf, header, count, rounds);
    conf = (auth_conf_t){.mode = CFG_AUTH_SECRET,
                         .secret = SECRET,
                         .secret_len = strlen(SECRET),
                         .audience = PUBLIC_URL};
    snprintf(header, sizeof(header), "Bearer %s", hs);
    secret = measure(&conf, header, count, rounds);
    if (plain < 0 || cached < 0 || secret < 0)
        goto out;
    printf("token bytes: RS256 %zu, HS256 %zu\n", strlen(rs), strlen(hs));
    printf("jwks RS256, every token verified: %8.2f us\n", plain);
    printf("jwks RS256, from the token cache: %8.2f us\n", cached);
    printf("secret HS256:                     %8.2f us\n", secret);
    rc = 0;

out:
    auth_cache_free(cache);
    jwks_destroy(jwks);
    free(rs);
    free(hs);
    free(pem);
    EVP_PKEY_free(key);
    if (path[0] != '\0') {
        unlink(path);
        rmdir(dir);
    }
    cfg_free(&cfg);
    return rc;
}
