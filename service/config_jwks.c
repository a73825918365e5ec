/*
 * config_jwks.c - the settings of jwks mode: the jwks_host allowlist, the key source
 * overrides, the CA bundle and the algorithms a token may use.
 *
 * The allowlist is what keeps a token from choosing where the service connects, so an
 * entry is held to the shape of a host name or address (and optional port) that becomes
 * https://<entry>/.well-known/jwks as it stands: nothing in it can add a path, user
 * information or another scheme to that URL.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "config.h"
#include "config_priv.h"
#include "util.h"

static const char *const default_hosts[] = {
    "visibility.amp.cisco.com",
    "visibility.eu.amp.cisco.com",
    "visibility.apjc.amp.cisco.com",
};

#define NDEFAULT_HOSTS (sizeof(default_hosts) / sizeof(default_hosts[0]))
#define HOST_MAX       253

static void free_hosts(char **hosts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(hosts[i]);
    free(hosts);
}

int cfg_jwks_init(cfg_t *cfg)
{
    cfg->jwks_refresh_s = CFG_DEFAULT_JWKS_REFRESH_S;
    cfg->jwks_timeout_ms = CFG_DEFAULT_JWKS_TIMEOUT_MS;
    cfg->jwt_algs = CFG_ALG_RS256;
    cfg->jwks_hosts = calloc(NDEFAULT_HOSTS, sizeof(*cfg->jwks_hosts));
    if (cfg->jwks_hosts == NULL)
        return -1;
    for (size_t i = 0; i < NDEFAULT_HOSTS; i++) {
        cfg->jwks_hosts[i] = strdup(default_hosts[i]);
        if (cfg->jwks_hosts[i] == NULL)
            return -1;
        cfg->jwks_hosts_n = i + 1;
    }
    return 0;
}

void cfg_jwks_free(cfg_t *cfg)
{
    free_hosts(cfg->jwks_hosts, cfg->jwks_hosts_n);
    free(cfg->jwks_file);
    free(cfg->jwks_url);
    free(cfg->jwks_ca);
    free(cfg->jwks_proxy);
}

/* A DNS name: labels of letters, digits and inner hyphens, 1 to 63 bytes each. */
static int dns_name_ok(const char *s, size_t n)
{
    size_t label = 0;

    if (n == 0 || n > HOST_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c == '-' && label > 0)))
            return 0;
        if (++label > 63)
            return 0;
    }
    return label > 0 && s[n - 1] != '-';
}

static int port_ok(const char *s, size_t n)
{
    long port = 0;

    if (n == 0 || n > 5 || s[0] == '0')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        port = port * 10 + (s[i] - '0');
    }
    return port >= 1 && port <= 65535;
}

/* "host", "host:port", "a.b.c.d[:port]" or "[v6addr][:port]". */
static int host_entry_ok(const char *s, size_t n)
{
    char v6[INET6_ADDRSTRLEN + 1];
    unsigned char addr[16];
    const char *close, *colon;

    if (n > 0 && s[0] == '[') {
        close = memchr(s, ']', n);
        if (close == NULL || (size_t)(close - s - 1) >= sizeof(v6))
            return 0;
        memcpy(v6, s + 1, (size_t)(close - s - 1));
        v6[close - s - 1] = '\0';
        if (inet_pton(AF_INET6, v6, addr) != 1)
            return 0;
        if (close == s + n - 1)
            return 1;
        return close[1] == ':' && port_ok(close + 2, (size_t)(s + n - close - 2));
    }
    colon = memchr(s, ':', n);
    if (colon == NULL)
        return dns_name_ok(s, n);
    return dns_name_ok(s, (size_t)(colon - s)) && port_ok(colon + 1, (size_t)(s + n - colon - 1));
}

static int set_hosts(cfg_t *cfg, const char *value, char *err, size_t errlen)
{
    char **hosts = NULL;
    size_t n = 0;
    const char *p = value;

    hosts = calloc(CFG_JWKS_HOSTS_MAX, sizeof(*hosts));
    if (hosts == NULL) {
        snprintf(err, errlen, "WSA_RELAY_JWKS_HOSTS: out of memory");
        return -1;
    }
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        /* spaces around an entry are a list's formatting, not part of a host */
        while (len > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (!host_entry_ok(p, len)) {
            snprintf(err, errlen,
                     "WSA_RELAY_JWKS_HOSTS: expected comma-separated host names or "
                     "addresses, each with an optional :port (e.g. visibility.amp.cisco.com "
                     "or 127.0.0.1:8443); entry %zu is \"%.*s\"",
                     n + 1, (int)(len > 300 ? 300 : len), p);
            goto fail;
        }
        if (n == CFG_JWKS_HOSTS_MAX) {
            snprintf(err, errlen, "WSA_RELAY_JWKS_HOSTS: more than %d entries", CFG_JWKS_HOSTS_MAX);
            goto fail;
        }
        hosts[n] = strndup(p, len);
        if (hosts[n] == NULL) {
            snprintf(err, errlen, "WSA_RELAY_JWKS_HOSTS: out of memory");
            goto fail;
        }
        /* host names are compared without case, so they are kept in one case */
        for (size_t i = 0; i < len; i++) {
            if (hosts[n][i] >= 'A' && hosts[n][i] <= 'Z')
                hosts[n][i] = (char)(hosts[n][i] - 'A' + 'a');
        }
        n++;
        p += end != NULL ? (size_t)(end - p) + 1 : strlen(p);
        if (end != NULL && *p == '\0') {
            snprintf(err, errlen, "WSA_RELAY_JWKS_HOSTS: ends with a comma");
            goto fail;
        }
    }
    free_hosts(cfg->jwks_hosts, cfg->jwks_hosts_n);
    cfg->jwks_hosts = hosts;
    cfg->jwks_hosts_n = n;
    return 0;

fail:
    free_hosts(hosts, n);
    return -1;
}

static const struct {
    const char *name;
    unsigned bit;
} alg_names[] = {
    {"RS256", CFG_ALG_RS256},
    {"RS384", CFG_ALG_RS384},
    {"RS512", CFG_ALG_RS512},
    {"ES256", CFG_ALG_ES256},
};

unsigned cfg_alg_bit(const char *name, size_t len)
{
    if (name == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(alg_names) / sizeof(alg_names[0]); i++) {
        if (len == strlen(alg_names[i].name) && memcmp(name, alg_names[i].name, len) == 0)
            return alg_names[i].bit;
    }
    return 0;
}

static int set_algs(cfg_t *cfg, const char *value, char *err, size_t errlen)
{
    unsigned bits = 0;
    const char *p = value;

    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        unsigned bit = cfg_alg_bit(p, len);
        if (bit == 0) {
            /* a shared-secret or unsigned algorithm would let a public key sign tokens */
            snprintf(err, errlen,
                     "WSA_RELAY_JWT_ALGS: expected a comma-separated list of RS256, RS384, "
                     "RS512 and ES256; got \"%.*s\"",
                     (int)(len > 64 ? 64 : len), p);
            return -1;
        }
        bits |= bit;
        p += len;
        if (*p == ',' && *++p == '\0') {
            snprintf(err, errlen, "WSA_RELAY_JWT_ALGS: ends with a comma");
            return -1;
        }
    }
    cfg->jwt_algs = bits;
    return 0;
}

/* A file the service reads later: checked now, so that a typo stops it at start. */
static int set_readable_file(char **slot, const char *name, const char *path, char *err,
                             size_t errlen)
{
    char why[128], *copy;
    int fd = util_open_regular(path, why, sizeof(why));

    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open %s: %s", name, path, why);
        return -1;
    }
    close(fd);
    copy = strdup(path);
    if (copy == NULL) {
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    free(*slot);
    *slot = copy;
    return 0;
}

/* An http(s) URL with a host: a JWKS location or a proxy. */
static int set_http_url(char **slot, const char *name, const char *value, char *err, size_t errlen)
{
    const char *rest;
    char *copy;

    if (strncasecmp(value, "https://", 8) == 0)
        rest = value + 8;
    else if (strncasecmp(value, "http://", 7) == 0)
        rest = value + 7;
    else
        rest = NULL;
    if (rest == NULL || *rest == '\0' || *rest == '/' || strpbrk(value, " \t\r\n") != NULL) {
        snprintf(err, errlen, "%s: expected an http:// or https:// URL; got \"%s\"", name, value);
        return -1;
    }
    copy = strdup(value);
    if (copy == NULL) {
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    free(*slot);
    *slot = copy;
    return 0;
}

int cfg_set_jwks(cfg_t *cfg, const char *name, const char *value, char *err, size_t errlen)
{
    if (strcmp(name, "WSA_RELAY_JWKS_HOSTS") == 0)
        return set_hosts(cfg, value, err, errlen);
    if (strcmp(name, "WSA_RELAY_JWT_ALGS") == 0)
        return set_algs(cfg, value, err, errlen);
    if (strcmp(name, "WSA_RELAY_JWKS_FILE") == 0)
        return set_readable_file(&cfg->jwks_file, name, value, err, errlen);
    if (strcmp(name, "WSA_RELAY_JWKS_CA") == 0)
        return set_readable_file(&cfg->jwks_ca, name, value, err, errlen);
    if (strcmp(name, "WSA_RELAY_JWKS_URL") == 0)
        return set_http_url(&cfg->jwks_url, name, value, err, errlen);
    if (strcmp(name, "WSA_RELAY_JWKS_PROXY") == 0)
        return set_http_url(&cfg->jwks_proxy, name, value, err, errlen);
    return 1;
}

int cfg_check_jwks(const cfg_t *cfg, char *err, size_t errlen)
{
    if (cfg->public_url == NULL) {
        snprintf(err, errlen,
                 "WSA_RELAY_PUBLIC_URL: not set; jwks mode checks each token's aud against "
                 "the URL the platform calls this service at (e.g. https://relay.example.com)");
        return -1;
    }
    /* a request waits for a key fetch at most this long, out of its budget: at least half
     * the budget is left for the answer itself */
    if (cfg->jwks_timeout_ms > cfg->request_budget_ms / 2) {
        snprintf(err, errlen,
                 "WSA_RELAY_JWKS_TIMEOUT_MS (%d) is more than half of "
                 "WSA_RELAY_REQUEST_BUDGET_MS (%d): a request that waited for a key fetch "
                 "would have too little time left to answer; lower the first or raise the "
                 "second",
                 cfg->jwks_timeout_ms, cfg->request_budget_ms);
        return -1;
    }
    if (cfg->jwks_file != NULL && cfg->jwks_url != NULL) {
        snprintf(err, errlen,
                 "WSA_RELAY_JWKS_FILE and WSA_RELAY_JWKS_URL: set one key source, not both");
        return -1;
    }
    return 0;
}

int cfg_jwks_host_allowed(const cfg_t *cfg, const char *host, size_t len)
{
    for (size_t i = 0; i < cfg->jwks_hosts_n; i++) {
        if (strlen(cfg->jwks_hosts[i]) == len && strncasecmp(cfg->jwks_hosts[i], host, len) == 0)
            return 1;
    }
    return 0;
}
