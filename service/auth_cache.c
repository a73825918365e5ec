/*
 * auth_cache.c - the tokens one worker verified lately, so that the platform's repeated
 * callbacks with one token cost a hash instead of an RSA verification each.
 *
 * Direct-mapped by the token's SHA-256: a newer token takes the slot of an older one, and
 * the whole digest is compared, so a collision of slots is a miss, never a false hit. Each
 * worker has its own cache, so there is no lock.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "auth_priv.h"

typedef struct auth_slot {
    unsigned char hash[AUTH_SHA256_LEN];
    int64_t until; /* wall-clock seconds, exclusive; 0 for an empty slot */
    auth_claims_t claims;
} auth_slot_t;

struct auth_cache {
    size_t mask;
    unsigned long hits, misses;
    auth_slot_t *slots;
};

auth_cache_t *auth_cache_create(size_t slots)
{
    auth_cache_t *cache;
    size_t n = 1;

    while (n < slots && n <= SIZE_MAX / 2 / sizeof(auth_slot_t))
        n *= 2;
    cache = calloc(1, sizeof(*cache));
    if (cache == NULL)
        return NULL;
    cache->slots = calloc(n, sizeof(auth_slot_t));
    if (cache->slots == NULL) {
        free(cache);
        return NULL;
    }
    cache->mask = n - 1;
    return cache;
}

void auth_cache_free(auth_cache_t *cache)
{
    if (cache == NULL)
        return;
    free(cache->slots);
    free(cache);
}

void auth_cache_stats(const auth_cache_t *cache, unsigned long *hits, unsigned long *misses)
{
    if (hits != NULL)
        *hits = cache == NULL ? 0 : cache->hits;
    if (misses != NULL)
        *misses = cache == NULL ? 0 : cache->misses;
}

/* The digest is uniform, so its first bytes make as good an index as any. */
static auth_slot_t *slot_of(auth_cache_t *cache, const unsigned char *hash)
{
    size_t i = 0;

    for (size_t b = 0; b < sizeof(size_t); b++)
        i = (i << 8) | hash[b];
    return &cache->slots[i & cache->mask];
}

int auth_cache_get(auth_cache_t *cache, const unsigned char hash[AUTH_SHA256_LEN], int64_t now,
                   auth_claims_t *out)
{
    auth_slot_t *slot = slot_of(cache, hash);

    if (slot->until != 0 && now < slot->until &&
        CRYPTO_memcmp(slot->hash, hash, AUTH_SHA256_LEN) == 0) {
        cache->hits++;
        if (out != NULL)
            *out = slot->claims;
        return 1;
    }
    cache->misses++;
    return 0;
}

void auth_cache_put(auth_cache_t *cache, const unsigned char hash[AUTH_SHA256_LEN], int64_t until,
                    const auth_claims_t *claims)
{
    auth_slot_t *slot = slot_of(cache, hash);

    if (until == 0)
        return; /* 0 marks an empty slot; a token valid only until the epoch is long gone */
    memcpy(slot->hash, hash, AUTH_SHA256_LEN);
    slot->until = until;
    slot->claims = *claims;
}
