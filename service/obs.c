/*
 * obs.c - observable types and the keys the store searches for a value.
 *
 * Keys are shaped by the ingester's own functions (ingest_url_normalise,
 * ingest_reg_domain, ingest_ip_canon), so a value finds the rows it names.
 */
#include <string.h>
#include <strings.h>
#include "obs.h"
#include "ingest.h"
#include "ingest_priv.h"

static const struct {
    const char *name;
    const char *human;
} obs_types[OBS_NTYPES] = {
    [OBS_IP] = {"ip", "IP"},
    [OBS_IPV6] = {"ipv6", "IPv6"},
    [OBS_DOMAIN] = {"domain", "domain"},
    [OBS_HOSTNAME] = {"hostname", "hostname"},
    [OBS_URL] = {"url", "URL"},
    [OBS_SHA256] = {"sha256", "SHA256"},
    [OBS_USER] = {"user", "user"},
    [OBS_FILE_NAME] = {"file_name", "file name"},
    [OBS_USER_AGENT] = {"user_agent", "user agent"},
};

obs_type_t obs_type_parse(const char *name, size_t len)
{
    if (!name)
        return OBS_UNSUPPORTED;
    for (int t = 0; t < OBS_NTYPES; t++)
        if (strlen(obs_types[t].name) == len && strncasecmp(obs_types[t].name, name, len) == 0)
            return (obs_type_t)t;
    return OBS_UNSUPPORTED;
}

const char *obs_type_name(obs_type_t type)
{
    return (unsigned)type < OBS_NTYPES ? obs_types[type].name : "unsupported";
}

const char *obs_type_human(obs_type_t type)
{
    return (unsigned)type < OBS_NTYPES ? obs_types[type].human : "unsupported";
}

/* Bump allocation in the caller's buffer. */
typedef struct out {
    char *buf;
    size_t len, cap;
} out_t;

static char *out_take(out_t *o, size_t n)
{
    char *p;

    if (o->cap - o->len < n)
        return NULL;
    p = o->buf + o->len;
    o->len += n;
    return p;
}

static const char *out_copy(out_t *o, const char *s, size_t n, int lower)
{
    char *p = out_take(o, n + 1);

    if (!p)
        return NULL;
    for (size_t i = 0; i < n; i++)
        p[i] = (lower && s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
    p[n] = '\0';
    return p;
}

static int prepare_ip(obs_t *o, out_t *out, const char *v, size_t n)
{
    char ip[46];

    /* the value may carry brackets when it was taken from a URL */
    if (n > 2 && v[0] == '[' && v[n - 1] == ']')
        v++, n -= 2;
    if (ingest_ip_canon(v, n, ip) < 0)
        return -1;
    o->key = out_copy(out, ip, strlen(ip), 0);
    return o->key ? 0 : -1;
}

static int prepare_host(obs_t *o, out_t *out, const char *v, size_t n)
{
    char *reg;

    while (n > 0 && v[n - 1] == '.')
        n--;
    if (n == 0)
        return -1;
    o->key = out_copy(out, v, n, 1);
    reg = out_take(out, n + 1);
    if (!o->key || !reg)
        return -1;
    o->key_reg_domain = ingest_reg_domain(o->key, reg, n + 1);
    return 0;
}

static int prepare_url(obs_t *o, out_t *out, const char *v, size_t n)
{
    char *p = out_take(out, n + INGEST_URL_NORM_GROWTH + 1);
    long r;

    if (!p || n == 0)
        return -1;
    r = ingest_url_normalise(v, n, p, n + INGEST_URL_NORM_GROWTH + 1);
    if (r < 0)
        return -1;
    o->key = p;
    return 0;
}

static int prepare_sha(obs_t *o, out_t *out, const char *v, size_t n)
{
    if (n != 64)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return -1;
    }
    o->key = out_copy(out, v, n, 1);
    return o->key ? 0 : -1;
}

static int prepare_user(obs_t *o, out_t *out, const char *v, size_t n)
{
    const char *bs = memchr(v, '\\', n);
    const char *at = NULL;

    if (bs) {
        /* DOMAIN\name, or DOMAIN\name@realm as the access log writes it: the domain is the
         * more specific of the two, so the realm is left out */
        const char *name = bs + 1, *end = v + n, *realm = memchr(name, '@', (size_t)(end - name));
        o->key_domain = out_copy(out, v, (size_t)(bs - v), 0);
        o->key = out_copy(out, name, (size_t)((realm != NULL ? realm : end) - name), 0);
    } else {
        /* name@domain: the domain follows the last '@' */
        for (size_t i = n; i-- > 0;) {
            if (v[i] == '@') {
                at = v + i;
                break;
            }
        }
        if (at) {
            o->key = out_copy(out, v, (size_t)(at - v), 0);
            o->key_domain = out_copy(out, at + 1, n - (size_t)(at - v) - 1, 0);
        } else {
            o->key = out_copy(out, v, n, 0);
        }
    }
    if (!o->key || o->key[0] == '\0')
        return -1;
    if (o->key_domain && o->key_domain[0] == '\0')
        o->key_domain = NULL;
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int obs_prepare(obs_t *o, char *buf, size_t buflen)
{
    out_t out = {buf, 0, buflen};
    const char *v;
    size_t n;

    o->key = NULL;
    o->key_domain = NULL;
    o->key_reg_domain = NULL;
    if (!o->value || !buf)
        return -1;
    v = o->value;
    n = strlen(v);

    /*
     * Values pasted from elsewhere often carry surrounding white space, which no address,
     * host, URL, hash or user name contains; file names and user agents are taken as given.
     */
    if (o->type != OBS_FILE_NAME && o->type != OBS_USER_AGENT) {
        while (n > 0 && is_space(v[0]))
            v++, n--;
        while (n > 0 && is_space(v[n - 1]))
            n--;
    }

    switch (o->type) {
    case OBS_IP:
    case OBS_IPV6:
        return prepare_ip(o, &out, v, n);
    case OBS_DOMAIN:
    case OBS_HOSTNAME:
        return prepare_host(o, &out, v, n);
    case OBS_URL:
        return prepare_url(o, &out, v, n);
    case OBS_SHA256:
        return prepare_sha(o, &out, v, n);
    case OBS_USER:
        return prepare_user(o, &out, v, n);
    case OBS_FILE_NAME:
    case OBS_USER_AGENT:
        if (n == 0)
            return -1;
        o->key = out_copy(&out, v, n, 0);
        return o->key ? 0 : -1;
    case OBS_UNSUPPORTED:
        break;
    }
    return -1;
}
