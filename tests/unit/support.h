/*
 * support.h - helpers the unit tests share, written independently of the product's own code
 * so that what they make can check it.
 */
#ifndef WSA_TEST_SUPPORT_H
#define WSA_TEST_SUPPORT_H

#include <stddef.h>

/**
 * Unpadded base64url of `len` bytes, through OpenSSL's standard base64 rather than the
 * product's encoder. `out` holds 4 * ((len + 2) / 3) + 1 bytes.
 */
void t_b64url(const void *in, size_t len, char *out);

#endif
