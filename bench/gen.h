/*
 * gen.h - a deterministic generator of realistic WSA native access log lines, for the
 * benchmarks and their quick test runs. The same seed, start and rate give the same lines.
 */
#ifndef WSA_GEN_H
#define WSA_GEN_H

#include <stddef.h>
#include <stdint.h>

/* Longest line gen_line writes, with its newline. */
#define GEN_LINE_MAX 4096

typedef struct gen_opts {
    uint64_t seed;
    int64_t start_ms; /* log time of the first line, ms since the epoch */
    double rate;      /* lines per second of log time */
} gen_opts_t;

typedef struct gen gen_t;

/** NULL when out of memory or the options are out of range (rate <= 0). */
gen_t *gen_new(const gen_opts_t *opts);
void gen_free(gen_t *g);

/** Writes the next line with its newline into buf (GEN_LINE_MAX bytes); returns its length. */
size_t gen_line(gen_t *g, char *buf);

/* The random source and the populations, shared by the line composer (gen_line.c). */
typedef struct gen_rng {
    uint64_t s;
} gen_rng_t;

uint64_t gen_rand(gen_rng_t *r);
/** Uniform in [0, n). */
uint32_t gen_below(gen_rng_t *r, uint32_t n);
/** Uniform in [0, 1). */
double gen_unit(gen_rng_t *r);

/* A Zipf-like rank distribution over n items: rank k has weight 1 / (k + 1)^s. */
typedef struct gen_zipf {
    double *cdf;
    uint32_t n;
} gen_zipf_t;

int gen_zipf_init(gen_zipf_t *z, uint32_t n, double s);
void gen_zipf_free(gen_zipf_t *z);
uint32_t gen_zipf_draw(const gen_zipf_t *z, gen_rng_t *r);

/* Registered domains, tenants of shared hosting and CDN names, clients and users. */
#define GEN_DOMAINS 40000
#define GEN_TENANTS 8000
#define GEN_CLIENTS 5000
#define GEN_USERS   3000
#define GEN_MALWARE 150 /* distinct malicious files */

/** The name of registered domain `i` (deterministic, independent of the seed). */
void gen_domain_name(uint32_t i, char *out, size_t outlen);
/** A host name for a visit: a subdomain of a Zipf-drawn domain or a shared hosting name. */
void gen_host(gen_rng_t *r, const gen_zipf_t *domains, const gen_zipf_t *tenants, char *out,
              size_t outlen);
/** A stable hash of a string, for per-host properties (category, reputation, address). */
uint64_t gen_hash(const char *s);

/** A whole decimal in [min, max] (no sign, nothing after it) into *out; 0, or -1. */
int gen_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif
