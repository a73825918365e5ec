/*
 * support.c - helpers the unit tests share.
 */
#include <openssl/evp.h>
#include "support.h"

void t_b64url(const void *in, size_t len, char *out)
{
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);

    /* the standard alphabet's two symbols and its padding, as the URL-safe form has them */
    for (int i = 0; i < n; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
        else if (out[i] == '=')
            out[i] = '\0';
    }
    out[n] = '\0';
}
