/*
 * gen_pool.c - the random source, Zipf draws and the name populations of the generator.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gen.h"

uint64_t gen_rand(gen_rng_t *r)
{
    /* splitmix64: good enough spread for test data, and trivially reproducible. */
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

uint32_t gen_below(gen_rng_t *r, uint32_t n)
{
    return (uint32_t)(((gen_rand(r) >> 32) * (uint64_t)n) >> 32);
}

double gen_unit(gen_rng_t *r)
{
    return (double)(gen_rand(r) >> 11) * (1.0 / 9007199254740992.0);
}

int gen_zipf_init(gen_zipf_t *z, uint32_t n, double s)
{
    double sum = 0;

    z->n = n;
    z->cdf = malloc(n * sizeof(*z->cdf));
    if (!z->cdf)
        return -1;
    for (uint32_t k = 0; k < n; k++) {
        sum += 1.0 / pow((double)k + 1.0, s);
        z->cdf[k] = sum;
    }
    for (uint32_t k = 0; k < n; k++)
        z->cdf[k] /= sum;
    return 0;
}

void gen_zipf_free(gen_zipf_t *z)
{
    free(z->cdf);
    z->cdf = NULL;
}

uint32_t gen_zipf_draw(const gen_zipf_t *z, gen_rng_t *r)
{
    double u = gen_unit(r);
    uint32_t lo = 0, hi = z->n - 1;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (z->cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint64_t gen_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static const char *const syllables[] = {
    "al",  "ban", "cor", "da",  "el",   "fin", "gal", "hop", "in",  "jet", "kor", "lum",
    "max", "net", "or",  "pix", "quo",  "ray", "sol", "tek", "ul",  "vex", "wan", "xen",
    "yo",  "zed", "bit", "cam", "dev",  "eco", "fox", "geo", "hub", "ion", "jam", "kit",
    "lab", "mod", "nov", "opt", "pay",  "red", "sky", "top", "uni", "via", "web", "zen",
    "air", "box", "cod", "dot", "easy", "fly", "go",  "hi",  "ink", "joy", "key", "log",
};
#define NSYL (sizeof(syllables) / sizeof(syllables[0]))

/* Suffixes by weight: mostly .com, with the multi-label ones the parser must recognise. */
static const char *const tlds[] = {
    "com", "com", "com", "com",  "com", "com",   "net",   "net",    "org",   "org",    "io",
    "de",  "fr",  "nl",  "info", "biz", "co.uk", "co.uk", "com.au", "co.jp", "com.br",
};
#define NTLD (sizeof(tlds) / sizeof(tlds[0]))

void gen_domain_name(uint32_t i, char *out, size_t outlen)
{
    /* The index is scrambled so that neighbouring ranks do not share a prefix. */
    gen_rng_t r = {.s = 0xD0A1ULL * (i + 1)};
    uint64_t x = gen_rand(&r);
    int parts = 2 + (int)(x % 2);
    size_t n = 0;

    for (int k = 0; k < parts; k++) {
        const char *syl = syllables[(x >> (8 + 6 * k)) % NSYL];
        n += (size_t)snprintf(out + n, outlen - n, "%s", syl);
    }
    if ((x >> 40) % 4 == 0)
        n += (size_t)snprintf(out + n, outlen - n, "%u", (unsigned)((x >> 44) % 100));
    if ((x >> 50) % 8 == 0)
        n += (size_t)snprintf(out + n, outlen - n, "-%s", syllables[(x >> 53) % NSYL]);
    /* Ranks beyond the syllable space would collide: a numeric tail keeps most distinct. */
    if (i >= 8000)
        n += (size_t)snprintf(out + n, outlen - n, "%u", i % 997);
    snprintf(out + n, outlen - n, ".%s", tlds[(x >> 58) % NTLD]);
}

static const char *const subdomains[] = {
    "www",    "www",  "www",  "www",   "",       "",       "api",   "cdn",
    "static", "img",  "m",    "login", "mail",   "assets", "media", "app",
    "docs",   "shop", "news", "video", "update", "dl",     "auth",  "s1",
};
#define NSUB (sizeof(subdomains) / sizeof(subdomains[0]))

/* Shared hosting and CDN providers: one registered domain, thousands of tenant hosts. */
static const struct {
    const char *pre, *sep, *dom;
} shared[] = {
    {"d", "x", "cloudfront.net"},        {"tenant", "-", "azurewebsites.net"},
    {"site", "", "github.io"},           {"blog", "-", "blogspot.com"},
    {"bucket", "-", "s3.amazonaws.com"}, {"e", ".a", "akamaiedge.net"},
    {"app", "-", "herokuapp.com"},       {"cust", "-", "wpengine.com"},
};
#define NSHARED (sizeof(shared) / sizeof(shared[0]))

void gen_host(gen_rng_t *r, const gen_zipf_t *domains, const gen_zipf_t *tenants, char *out,
              size_t outlen)
{
    char dom[128];

    if (gen_below(r, 100) < 12) {
        uint32_t t = gen_zipf_draw(tenants, r);
        snprintf(out, outlen, "%s%u%s%u.%s", shared[t % NSHARED].pre, t * 7919 % 100000,
                 shared[t % NSHARED].sep, t % 1000, shared[t % NSHARED].dom);
        return;
    }
    uint32_t d = gen_zipf_draw(domains, r);
    gen_domain_name(d, dom, sizeof(dom));
    /* Popular domains have many subdomains; the tail mostly just www or the bare name. */
    uint32_t nsub = d < 200 ? NSUB : d < 5000 ? 8 : 5;
    const char *sub = subdomains[gen_below(r, nsub)];
    if (*sub)
        snprintf(out, outlen, "%s.%s", sub, dom);
    else
        snprintf(out, outlen, "%s", dom);
}

int gen_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    /* strtoull would take a sign and wrap a negative number around */
    if (!*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}
