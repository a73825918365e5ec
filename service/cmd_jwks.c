/*
 * cmd_jwks.c - `wsa-relay jwks`: the JWKS document of an RSA key's public half, so that an
 * operator can try jwks mode with WSA_RELAY_JWKS_FILE and a key made with openssl genpkey.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include "auth.h"
#include "cmd.h"
#include "jwks.h"
#include "util.h"

#define KEY_FILE_MAX (1024 * 1024)

static const char jwks_usage[] =
    "usage: wsa-relay jwks --key KEY.pem --kid KID\n"
    "\n"
    "Prints a JWKS document holding the public half of the RSA key in KEY.pem (a private\n"
    "or a public key, PEM), for WSA_RELAY_JWKS_FILE. With the private key, `wsa-relay token\n"
    "--rs256 KEY.pem --kid KID` then mints tokens that verify against it. For example:\n"
    "  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key.pem\n"
    "  wsa-relay jwks --key key.pem --kid test-1 > jwks.json\n"
    "\n"
    "options:\n"
    "  --key KEY.pem  the RSA key (at least 2048 bits, as jwks mode requires)\n"
    "  --kid KID      the key id tokens name in their header\n"
    "  --help         this text\n";

char *cmd_read_key_file(const char *cmd, const char *path, size_t *len)
{
    char why[128], *buf = NULL;
    int fd = util_open_regular(path, why, sizeof(why));
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    size_t n;

    if (f == NULL) {
        fprintf(stderr, "wsa-relay %s: %s: cannot open: %s\n", cmd, path,
                fd >= 0 ? strerror(errno) : why);
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    buf = malloc(KEY_FILE_MAX + 1);
    if (buf == NULL) {
        fprintf(stderr, "wsa-relay %s: %s: out of memory\n", cmd, path);
        goto out;
    }
    n = fread(buf, 1, KEY_FILE_MAX + 1, f);
    if (ferror(f) || n == 0 || n > KEY_FILE_MAX) {
        fprintf(stderr, "wsa-relay %s: %s: %s\n", cmd, path,
                ferror(f) ? "cannot read"
                : n == 0  ? "the file is empty"
                          : "larger than 1 MiB");
        OPENSSL_cleanse(buf, n > KEY_FILE_MAX ? KEY_FILE_MAX + 1 : n);
        free(buf);
        buf = NULL;
        goto out;
    }
    buf[n] = '\0';
    *len = n;
out:
    fclose(f);
    return buf;
}

/* A big number as unpadded base64url of its big-endian bytes; NULL when out of memory. */
static json_t *b64url_bn(const BIGNUM *bn)
{
    int n = BN_num_bytes(bn);
    unsigned char *bin = malloc(n > 0 ? (size_t)n : 1);
    char *text = malloc(4 * (((size_t)n + 2) / 3) + 1);
    json_t *v = NULL;

    if (bin != NULL && text != NULL && BN_bn2bin(bn, bin) == n) {
        util_b64url_encode(bin, (size_t)n, text);
        v = json_string(text);
    }
    free(bin);
    free(text);
    return v;
}

/* Prints the document; returns the exit status. */
static int print_jwks(EVP_PKEY *pkey, const char *kid)
{
    BIGNUM *n = NULL, *e = NULL;
    json_t *doc = NULL, *jwk;
    char *text = NULL;
    int rc = 1;

    if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
        fputs("wsa-relay jwks: cannot read the key's modulus and exponent\n", stderr);
        goto out;
    }
    jwk = json_pack("{s:s, s:s, s:s, s:s, s:o*, s:o*}", "kty", "RSA", "kid", kid, "use", "sig",
                    "alg", "RS256", "n", b64url_bn(n), "e", b64url_bn(e));
    if (jwk == NULL || json_object_size(jwk) != 6) {
        json_decref(jwk);
        fputs("wsa-relay jwks: out of memory while building the document\n", stderr);
        goto out;
    }
    doc = json_pack("{s:[o]}", "keys", jwk);
    text = doc == NULL ? NULL : json_dumps(doc, JSON_INDENT(2));
    if (text == NULL) {
        fputs("wsa-relay jwks: out of memory while building the document\n", stderr);
        goto out;
    }
    printf("%s\n", text);
    rc = 0;
out:
    free(text);
    json_decref(doc);
    BN_free(n);
    BN_free(e);
    return rc;
}

int cmd_jwks(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},
        {"kid", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *key_path = NULL, *kid = NULL;
    EVP_PKEY *pkey = NULL;
    char *pem = NULL;
    size_t pem_len = 0;
    int c, rc = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            key_path = optarg;
            break;
        case 'i':
            kid = optarg;
            break;
        case 'h':
            fputs(jwks_usage, stdout);
            return 0;
        default:
            fputs("run 'wsa-relay jwks --help' for usage\n", stderr);
            return CFG_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wsa-relay jwks: unexpected argument \"%s\"\n", argv[optind]);
        return CFG_EXIT_USAGE;
    }
    if (key_path == NULL || kid == NULL || kid[0] == '\0') {
        fputs("wsa-relay jwks: --key KEY.pem and --kid KID are both needed\n", stderr);
        return CFG_EXIT_USAGE;
    }
    if (!util_utf8_valid(kid, strlen(kid))) {
        fputs("wsa-relay jwks: --kid must be UTF-8\n", stderr);
        return CFG_EXIT_USAGE;
    }

    pem = cmd_read_key_file("jwks", key_path, &pem_len);
    if (pem == NULL)
        return 1;
    pkey = auth_pem_key(pem, pem_len, 1);
    if (pkey == NULL) {
        fprintf(stderr, "wsa-relay jwks: %s: not a PEM private or public key (or encrypted)\n",
                key_path);
        rc = 1;
    } else if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
        fprintf(stderr, "wsa-relay jwks: %s: not an RSA key; jwks mode's RS256 needs one\n",
                key_path);
        rc = 1;
    } else if (EVP_PKEY_get_bits(pkey) < JWKS_MIN_RSA_BITS) {
        fprintf(stderr,
                "wsa-relay jwks: %s: a %d-bit key; jwks mode skips RSA keys under 2048 bits\n",
                key_path, EVP_PKEY_get_bits(pkey));
        rc = 1;
    } else {
        rc = print_jwks(pkey, kid);
    }
    EVP_PKEY_free(pkey);
    OPENSSL_cleanse(pem, pem_len);
    free(pem);
    return rc;
}
