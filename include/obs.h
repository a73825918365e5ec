/*
 * obs.h - observables: the (type, value) pairs that Threat Response asks about.
 *
 * Types are matched case-insensitively. A value is turned into the key the store searches
 * by the same rules the ingester applies to log fields, so that a query for
 * "HTTPS://WWW.Example.com:443/a" finds rows logged as "https://www.example.com/a".
 */
#ifndef WSA_OBS_H
#define WSA_OBS_H

#include <stddef.h>

typedef enum {
    OBS_IP = 0,
    OBS_IPV6,
    OBS_DOMAIN,
    OBS_HOSTNAME,
    OBS_URL,
    OBS_SHA256,
    OBS_USER,
    OBS_FILE_NAME,
    OBS_USER_AGENT,
    OBS_UNSUPPORTED,
} obs_type_t;

#define OBS_NTYPES OBS_UNSUPPORTED

typedef struct obs {
    obs_type_t type;
    const char *value; /* as the caller sent it (valid UTF-8, NUL-terminated) */
    /*
     * What the store matches, NUL-terminated, owned by the caller's buffer:
     * ip/ipv6: the address in canonical text form (inet_ntop); domain/hostname: lower
     * case without a trailing dot; url: normalised as ingest_url_normalise does; sha256:
     * lower-case hex; user: the name part; file_name/user_agent: the value unchanged.
     */
    const char *key;
    /* user only: "DOMAIN" of DOMAIN\name (a realm after it is left out) or "X" of name@X,
     * else NULL; the store matches it against a row's domain or its realm */
    const char *key_domain;
    const char *key_reg_domain; /* domain/hostname only: registered domain of the key */
} obs_t;

/** Case-insensitive; returns OBS_UNSUPPORTED for any other name. */
obs_type_t obs_type_parse(const char *name, size_t len);

/** The CTIM type name, e.g. "ip", "file_name". */
const char *obs_type_name(obs_type_t type);

/** A human-readable name for titles, e.g. "IP", "SHA256", "file name". */
const char *obs_type_human(obs_type_t type);

/**
 * Computes the keys of `o` (whose type and value are set) into `buf`. Returns 0, or -1 when
 * the value cannot be of that type (an ip that is not an address, a sha256 that is not 64
 * hex digits): such an observable matches nothing and is skipped, not an error.
 */
int obs_prepare(obs_t *o, char *buf, size_t buflen);

#endif
