/*
 * auth_sig.c - checking a JWS signature with a key from a key set, for one algorithm that
 * the configuration chose; the token's header has no say in how the check is made.
 */
#include <string.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include "auth_priv.h"
#include "config.h"

#define ES256_HALF 32

/*
 * The DER ECDSA-Sig-Value OpenSSL verifies, from JOSE's fixed-width r || s. Returns its
 * length in a buffer to OPENSSL_free, or -1. r or s of zero is refused by the verify itself.
 */
static int es256_der(const unsigned char *sig, unsigned char **der)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, ES256_HALF, NULL);
    BIGNUM *s = BN_bin2bn(sig + ES256_HALF, ES256_HALF, NULL);
    int len = -1;

    if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        goto out;
    }
    *der = NULL;
    len = i2d_ECDSA_SIG(es, der);
out:
    ECDSA_SIG_free(es); /* frees r and s once set0 took them */
    return len;
}

int auth_sig_verify(const jwks_key_t *key, unsigned alg, const unsigned char *data, size_t len,
                    const unsigned char *sig, size_t sig_len)
{
    EVP_MD_CTX *ctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    const EVP_MD *md;
    unsigned char *der = NULL;
    int der_len, ok = 0, want_type;

    if (key == NULL || key->pkey == NULL || (key->algs & alg) == 0 || sig == NULL)
        return 0;
    switch (alg) {
    case CFG_ALG_RS256:
        md = EVP_sha256();
        want_type = EVP_PKEY_RSA;
        break;
    case CFG_ALG_RS384:
        md = EVP_sha384();
        want_type = EVP_PKEY_RSA;
        break;
    case CFG_ALG_RS512:
        md = EVP_sha512();
        want_type = EVP_PKEY_RSA;
        break;
    case CFG_ALG_ES256:
        md = EVP_sha256();
        want_type = EVP_PKEY_EC;
        break;
    default:
        return 0; /* none, or more than one bit: never a choice the check may make */
    }
    if (EVP_PKEY_get_base_id(key->pkey) != want_type)
        return 0;
    if (want_type == EVP_PKEY_RSA) {
        /* PKCS#1 v1.5 signatures are exactly as long as the modulus */
        if (sig_len != (size_t)EVP_PKEY_get_size(key->pkey))
            return 0;
    } else {
        if (sig_len != 2 * ES256_HALF)
            return 0;
        der_len = es256_der(sig, &der);
        if (der_len <= 0)
            return 0;
        sig = der;
        sig_len = (size_t)der_len;
    }

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key->pkey) != 1)
        goto out;
    if (want_type == EVP_PKEY_RSA && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
        goto out;
    ok = EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1;
out:
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    return ok;
}
