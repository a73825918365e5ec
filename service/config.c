/*
 * config.c - settings: defaults, environment, flags, validation.
 *
 * Flags and environment variables go through the same setter (cfg_set), so a value is
 * validated the same way wherever it comes from, and every message names the variable.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "config_priv.h"
#include "log.h"
#include "util.h"

#define MAX_THREADS     64
#define SECRET_FILE_MAX 4096

void cfg_init(cfg_t *cfg)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    memset(cfg, 0, sizeof(*cfg));
    cfg->db_path = strdup(CFG_DEFAULT_DB);
    cfg->listen_host = strdup("127.0.0.1");
    cfg->listen_port = 9090;
    cfg->auth_mode = CFG_AUTH_SECRET;
    cfg->verdict_days = CFG_DEFAULT_VERDICT_DAYS;
    cfg->threads = cpus < 1 ? 1 : cpus > 16 ? 16 : (int)cpus;
    cfg->wbrs_block = -6.0;
    cfg->request_budget_ms = 10000;
    cfg->syslog_idle_s = 600;
    cfg->syslog_allow = calloc(2, sizeof(*cfg->syslog_allow));
    if (cfg->syslog_allow != NULL) {
        /* loopback only: a sender elsewhere must be named before its lines are believed */
        cfg->syslog_allow[0] = (cfg_net_t){.family = AF_INET, .addr = {127}, .prefix = 8};
        cfg->syslog_allow[1] = (cfg_net_t){.family = AF_INET6, .addr = {[15] = 1}, .prefix = 128};
        cfg->syslog_allow_n = 2;
    }
    if (cfg->db_path == NULL || cfg->listen_host == NULL || cfg->syslog_allow == NULL ||
        cfg_jwks_init(cfg) != 0) {
        log_msg(LOG_LEVEL_ERROR, "config", "out of memory");
        abort();
    }
}

static void free_secret(char *s)
{
    if (s != NULL) {
        /* the secret should not linger in freed heap memory */
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void cfg_free(cfg_t *cfg)
{
    free(cfg->db_path);
    free(cfg->listen_host);
    free_secret(cfg->secret);
    free(cfg->public_url);
    free(cfg->refer_url);
    free(cfg->syslog_allow);
    for (size_t i = 0; i < cfg->senders_n; i++)
        free(cfg->senders[i].name);
    free(cfg->senders);
    cfg_jwks_free(cfg);
    memset(cfg, 0, sizeof(*cfg));
}

/* Replaces *slot with a copy of value. */
static int set_string(char **slot, const char *value)
{
    char *copy = strdup(value);

    if (copy == NULL)
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

/* Parses a whole string as a base-10 integer in [min, max]. */
static int parse_int(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    if (*s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_listen(cfg_t *cfg, const char *value, char *err, size_t errlen)
{
    char host[INET6_ADDRSTRLEN + 1];
    unsigned char addr[sizeof(struct in6_addr)];
    const char *colon, *hstart, *hend;
    long port;
    int family;

    if (value[0] == '[') {
        /* [v6]:port */
        hstart = value + 1;
        hend = strchr(hstart, ']');
        if (hend == NULL || hend[1] != ':')
            goto bad;
        colon = hend + 1;
        family = AF_INET6;
    } else {
        hstart = value;
        colon = strrchr(value, ':');
        if (colon == NULL)
            goto bad;
        hend = colon;
        family = AF_INET;
    }
    if ((size_t)(hend - hstart) >= sizeof(host) || hend == hstart)
        goto bad;
    memcpy(host, hstart, (size_t)(hend - hstart));
    host[hend - hstart] = '\0';
    if (inet_pton(family, host, addr) != 1)
        goto bad;
    if (parse_int(colon + 1, 0, 65535, &port) != 0)
        goto bad;
    if (set_string(&cfg->listen_host, host) != 0)
        goto bad;
    cfg->listen_port = (int)port;
    return 0;

bad:
    snprintf(err, errlen,
             "WSA_RELAY_LISTEN: expected ADDR:PORT with an IP address and a port 0-65535, "
             "e.g. 127.0.0.1:9090 or [::1]:9090; got \"%s\"",
             value);
    return -1;
}

/* An http(s) URL; trailing slashes are dropped when `strip` is set. */
static int set_url(char **slot, const char *name, const char *value, int strip, char *err,
                   size_t errlen)
{
    size_t len = strlen(value);

    if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0) {
        snprintf(err, errlen, "%s: expected an http:// or https:// URL; got \"%s\"", name, value);
        return -1;
    }
    if (set_string(slot, value) != 0) {
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    while (strip && len > 0 && (*slot)[len - 1] == '/')
        (*slot)[--len] = '\0';
    return 0;
}

static int read_secret_file(cfg_t *cfg, const char *path, char *err, size_t errlen)
{
    /* one byte more than the longest secret file accepted, to tell "too long" from "full" */
    char buf[SECRET_FILE_MAX + 1], why[128];
    int fd = util_open_regular(path, why, sizeof(why));
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    size_t n;
    int rc = -1;

    if (f == NULL) {
        snprintf(err, errlen, "WSA_RELAY_SECRET_FILE: cannot open %s: %s", path,
                 fd >= 0 ? strerror(errno) : why);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    n = fread(buf, 1, sizeof(buf), f);
    if (ferror(f)) {
        snprintf(err, errlen, "WSA_RELAY_SECRET_FILE: %s: %s", path, strerror(errno));
        goto out;
    }
    if (n > SECRET_FILE_MAX) {
        snprintf(err, errlen, "WSA_RELAY_SECRET_FILE: %s: longer than %d bytes", path,
                 SECRET_FILE_MAX);
        goto out;
    }
    /* editors and `openssl rand -hex` end the file with a newline that is not part of it */
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    if (n == 0 || strlen(buf) != n) {
        snprintf(err, errlen, "WSA_RELAY_SECRET_FILE: %s: empty, or holds a NUL byte", path);
        goto out;
    }
    free_secret(cfg->secret);
    cfg->secret = strdup(buf);
    rc = cfg->secret != NULL ? 0 : -1;

out:
    explicit_bzero(buf, sizeof(buf));
    fclose(f);
    return rc;
}

/* An IPv4 or IPv6 address in s[0..n): its family and bytes; -1 when it is not one. */
static int parse_addr(const char *s, size_t n, int *family, unsigned char addr[16])
{
    char text[INET6_ADDRSTRLEN + 1];

    if (n == 0 || n >= sizeof(text))
        return -1;
    memcpy(text, s, n);
    text[n] = '\0';
    memset(addr, 0, 16);
    *family = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;
    return inet_pton(*family, text, addr) == 1 ? 0 : -1;
}

/* The next comma-separated item of *p (spaces around it dropped); 0 at the end. */
static int next_item(const char **p, const char **item, size_t *n)
{
    const char *s = *p, *end;

    if (*s == '\0')
        return 0;
    end = strchr(s, ',');
    if (end == NULL)
        end = s + strlen(s);
    *p = *end == ',' ? end + 1 : end;
    while (s < end && *s == ' ')
        s++;
    while (end > s && end[-1] == ' ')
        end--;
    *item = s;
    *n = (size_t)(end - s);
    return 1;
}

static int set_syslog_allow(cfg_t *cfg, const char *value, char *err, size_t errlen)
{
    cfg_net_t *nets = calloc(CFG_SYSLOG_ALLOW_MAX, sizeof(*nets));
    const char *p = value, *item;
    size_t n, count = 0;

    if (nets == NULL) {
        snprintf(err, errlen, "WSA_RELAY_SYSLOG_ALLOW: out of memory");
        return -1;
    }
    while (next_item(&p, &item, &n)) {
        const char *slash = memchr(item, '/', n);
        size_t alen = slash != NULL ? (size_t)(slash - item) : n;
        cfg_net_t *net = &nets[count];
        char bits[8];
        long prefix;
        int max;

        if (count == CFG_SYSLOG_ALLOW_MAX) {
            snprintf(err, errlen, "WSA_RELAY_SYSLOG_ALLOW: more than %d entries",
                     CFG_SYSLOG_ALLOW_MAX);
            goto fail;
        }
        if (parse_addr(item, alen, &net->family, net->addr) != 0)
            goto bad;
        max = net->family == AF_INET ? 32 : 128;
        prefix = max;
        if (slash != NULL) {
            size_t blen = n - alen - 1;
            if (blen == 0 || blen >= sizeof(bits))
                goto bad;
            memcpy(bits, slash + 1, blen);
            bits[blen] = '\0';
            if (parse_int(bits, 0, max, &prefix) != 0 || bits[0] == '-')
                goto bad;
        }
        net->prefix = (int)prefix;
        /* host bits set ("10.1.2.3/8") are a typo more often than not: refuse them */
        for (int b = net->prefix; b < max; b++) {
            if (net->addr[b / 8] & (0x80 >> (b % 8))) {
                snprintf(err, errlen,
                         "WSA_RELAY_SYSLOG_ALLOW: \"%.*s\" has bits set past its /%d prefix",
                         (int)n, item, net->prefix);
                goto fail;
            }
        }
        count++;
        continue;
    bad:
        snprintf(err, errlen,
                 "WSA_RELAY_SYSLOG_ALLOW: expected comma-separated IP addresses or CIDR "
                 "ranges (e.g. 127.0.0.1,10.0.0.0/8,::1); \"%.*s\" is not one",
                 (int)n, item);
        goto fail;
    }
    if (count == 0) {
        snprintf(err, errlen, "WSA_RELAY_SYSLOG_ALLOW: no address given");
        goto fail;
    }
    free(cfg->syslog_allow);
    cfg->syslog_allow = nets;
    cfg->syslog_allow_n = count;
    return 0;
fail:
    free(nets);
    return -1;
}

static void free_senders(cfg_sender_t *senders, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(senders[i].name);
    free(senders);
}

/* A name for the appliances list: 1 to 255 printable ASCII characters. */
static int sender_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

static int set_senders(cfg_t *cfg, const char *value, char *err, size_t errlen)
{
    cfg_sender_t *senders = calloc(CFG_SENDERS_MAX, sizeof(*senders));
    const char *p = value, *item;
    size_t n, count = 0;

    if (senders == NULL) {
        snprintf(err, errlen, "WSA_RELAY_APPLIANCES: out of memory");
        return -1;
    }
    while (next_item(&p, &item, &n)) {
        const char *eq = memchr(item, '=', n);
        cfg_sender_t *e = &senders[count];
        size_t name_len;

        if (count == CFG_SENDERS_MAX) {
            snprintf(err, errlen, "WSA_RELAY_APPLIANCES: more than %d entries", CFG_SENDERS_MAX);
            goto fail;
        }
        if (eq == NULL || !sender_name_ok(item, (size_t)(eq - item)) ||
            parse_addr(eq + 1, n - (size_t)(eq - item) - 1, &e->family, e->addr) != 0) {
            snprintf(err, errlen,
                     "WSA_RELAY_APPLIANCES: expected NAME=ADDRESS[,NAME=ADDRESS...] with a "
                     "name of 1 to 255 printable characters without spaces and an IP address; "
                     "\"%.*s\" is not one",
                     (int)n, item);
            goto fail;
        }
        name_len = (size_t)(eq - item);
        for (size_t i = 0; i < count; i++) {
            if (senders[i].family == e->family && memcmp(senders[i].addr, e->addr, 16) == 0) {
                snprintf(err, errlen, "WSA_RELAY_APPLIANCES: address %.*s is given twice",
                         (int)(n - name_len - 1), eq + 1);
                goto fail;
            }
        }
        if ((e->name = strndup(item, name_len)) == NULL) {
            snprintf(err, errlen, "WSA_RELAY_APPLIANCES: out of memory");
            goto fail;
        }
        count++;
    }
    if (count == 0) {
        snprintf(err, errlen, "WSA_RELAY_APPLIANCES: no NAME=ADDRESS given");
        goto fail;
    }
    free_senders(cfg->senders, cfg->senders_n);
    cfg->senders = senders;
    cfg->senders_n = count;
    return 0;
fail:
    free_senders(senders, count);
    return -1;
}

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address it carries. */
static const unsigned char *unmap(int *family, const void *addr)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    const unsigned char *a = addr;

    if (*family == AF_INET6 && memcmp(a, mapped, sizeof(mapped)) == 0) {
        *family = AF_INET;
        return a + 12;
    }
    return a;
}

int cfg_syslog_allowed(const cfg_t *cfg, int family, const void *addr)
{
    const unsigned char *a = unmap(&family, addr);

    for (size_t i = 0; i < cfg->syslog_allow_n; i++) {
        const cfg_net_t *net = &cfg->syslog_allow[i];
        int whole = net->prefix / 8, rest = net->prefix % 8;
        if (net->family != family || memcmp(net->addr, a, (size_t)whole) != 0)
            continue;
        if (rest == 0 || ((net->addr[whole] ^ a[whole]) & (0xff00 >> rest)) == 0)
            return 1;
    }
    return 0;
}

const char *cfg_sender_name(const cfg_t *cfg, int family, const void *addr)
{
    const unsigned char *a = unmap(&family, addr);
    size_t len = family == AF_INET ? 4 : 16;

    for (size_t i = 0; i < cfg->senders_n; i++) {
        const cfg_sender_t *e = &cfg->senders[i];
        const unsigned char *ea = e->addr;
        int efamily = e->family;
        ea = unmap(&efamily, ea);
        if (efamily == family && memcmp(ea, a, len) == 0)
            return e->name;
    }
    return NULL;
}

/* The whole-number settings: their bounds and how a message names their unit. */
typedef struct int_setting {
    const char *name;
    size_t offset; /* of the int in cfg_t */
    long min, max;
    const char *what;
} int_setting_t;

static const int_setting_t int_settings[] = {
    {"WSA_RELAY_VERDICT_DAYS", offsetof(cfg_t, verdict_days), 1, 36500, "a whole number of days"},
    {"WSA_RELAY_THREADS", offsetof(cfg_t, threads), 1, MAX_THREADS, "a number"},
    {"WSA_RELAY_REQUEST_BUDGET_MS", offsetof(cfg_t, request_budget_ms), 100, 60000, "milliseconds"},
    {"WSA_RELAY_SYSLOG_RCVBUF", offsetof(cfg_t, syslog_rcvbuf), 0, 256L * 1024 * 1024, "bytes"},
    {"WSA_RELAY_SYSLOG_IDLE_S", offsetof(cfg_t, syslog_idle_s), 1, 86400, "seconds"},
    {"WSA_RELAY_JWKS_REFRESH", offsetof(cfg_t, jwks_refresh_s), 1, 86400, "seconds"},
    {"WSA_RELAY_JWKS_TIMEOUT_MS", offsetof(cfg_t, jwks_timeout_ms), 100, 30000, "milliseconds"},
};

/* Sets a whole-number setting; 1 when `name` is not one of them. */
static int set_int(cfg_t *cfg, const char *name, const char *value, char *err, size_t errlen)
{
    long v;

    for (size_t i = 0; i < sizeof(int_settings) / sizeof(int_settings[0]); i++) {
        const int_setting_t *s = &int_settings[i];
        if (strcmp(name, s->name) != 0)
            continue;
        if (parse_int(value, s->min, s->max, &v) != 0) {
            snprintf(err, errlen, "%s: expected %s from %ld to %ld; got \"%s\"", name, s->what,
                     s->min, s->max, value);
            return -1;
        }
        *(int *)((char *)cfg + s->offset) = (int)v;
        return 0;
    }
    return 1;
}

int cfg_set(cfg_t *cfg, const char *name, const char *value, char *err, size_t errlen)
{
    int rc;

    if (value[0] == '\0') {
        snprintf(err, errlen, "%s: may not be empty", name);
        return -1;
    }
    if ((rc = set_int(cfg, name, value, err, errlen)) <= 0)
        return rc;
    if ((rc = cfg_set_jwks(cfg, name, value, err, errlen)) <= 0)
        return rc;
    if (strcmp(name, "WSA_RELAY_DB") == 0)
        return set_string(&cfg->db_path, value);
    if (strcmp(name, "WSA_RELAY_LISTEN") == 0)
        return parse_listen(cfg, value, err, errlen);
    if (strcmp(name, "WSA_RELAY_AUTH_MODE") == 0) {
        if (strcmp(value, "secret") == 0) {
            cfg->auth_mode = CFG_AUTH_SECRET;
            return 0;
        }
        if (strcmp(value, "jwks") == 0) {
            cfg->auth_mode = CFG_AUTH_JWKS;
            return 0;
        }
        snprintf(err, errlen, "WSA_RELAY_AUTH_MODE: expected secret or jwks; got \"%s\"", value);
        return -1;
    }
    if (strcmp(name, "WSA_RELAY_SECRET") == 0) {
        free_secret(cfg->secret);
        cfg->secret = strdup(value);
        return cfg->secret != NULL ? 0 : -1;
    }
    if (strcmp(name, "WSA_RELAY_SECRET_FILE") == 0)
        return read_secret_file(cfg, value, err, errlen);
    if (strcmp(name, "WSA_RELAY_PUBLIC_URL") == 0)
        return set_url(&cfg->public_url, name, value, 1, err, errlen);
    if (strcmp(name, "WSA_RELAY_REFER_URL") == 0) {
        if (strstr(value, "{value}") == NULL) {
            snprintf(err, errlen,
                     "WSA_RELAY_REFER_URL: the template must contain {value}; "
                     "got \"%s\"",
                     value);
            return -1;
        }
        return set_url(&cfg->refer_url, name, value, 0, err, errlen);
    }
    if (strcmp(name, "WSA_RELAY_SYSLOG_ALLOW") == 0)
        return set_syslog_allow(cfg, value, err, errlen);
    if (strcmp(name, "WSA_RELAY_APPLIANCES") == 0)
        return set_senders(cfg, value, err, errlen);
    if (strcmp(name, "WSA_RELAY_WBRS_BLOCK") == 0) {
        char *end;
        double d = strtod(value, &end);
        if (*end != '\0' || !(d >= -10.0 && d <= 10.0)) {
            snprintf(err, errlen,
                     "WSA_RELAY_WBRS_BLOCK: expected a score from -10.0 to 10.0; "
                     "got \"%s\"",
                     value);
            return -1;
        }
        cfg->wbrs_block = d;
        return 0;
    }
    if (strcmp(name, "WSA_RELAY_LOG_LEVEL") == 0) {
        log_level_t level;
        if (log_level_parse(value, &level) != 0) {
            snprintf(err, errlen,
                     "WSA_RELAY_LOG_LEVEL: expected debug, info, warn or error; "
                     "got \"%s\"",
                     value);
            return -1;
        }
        log_set_level(level);
        return 0;
    }
    snprintf(err, errlen, "%s: unknown setting", name);
    return -1;
}

/* Every variable cfg_load_env reads, in the order applied (SECRET_FILE after SECRET so
 * that a file, the safer channel, wins when both are set). */
static const char *const env_names[] = {
    "WSA_RELAY_LOG_LEVEL",       "WSA_RELAY_DB",         "WSA_RELAY_LISTEN",
    "WSA_RELAY_AUTH_MODE",       "WSA_RELAY_SECRET",     "WSA_RELAY_SECRET_FILE",
    "WSA_RELAY_PUBLIC_URL",      "WSA_RELAY_REFER_URL",  "WSA_RELAY_VERDICT_DAYS",
    "WSA_RELAY_THREADS",         "WSA_RELAY_WBRS_BLOCK", "WSA_RELAY_REQUEST_BUDGET_MS",
    "WSA_RELAY_SYSLOG_ALLOW",    "WSA_RELAY_APPLIANCES", "WSA_RELAY_SYSLOG_RCVBUF",
    "WSA_RELAY_SYSLOG_IDLE_S",   "WSA_RELAY_JWKS_HOSTS", "WSA_RELAY_JWKS_FILE",
    "WSA_RELAY_JWKS_URL",        "WSA_RELAY_JWKS_CA",    "WSA_RELAY_JWKS_REFRESH",
    "WSA_RELAY_JWKS_TIMEOUT_MS", "WSA_RELAY_JWT_ALGS",   "WSA_RELAY_JWKS_PROXY",
};

int cfg_load_env(cfg_t *cfg, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++) {
        const char *value = getenv(env_names[i]);
        /* an empty variable (common in container env files) counts as unset */
        if (value == NULL || value[0] == '\0')
            continue;
        if (cfg_set(cfg, env_names[i], value, err, errlen) != 0)
            return -1;
    }
    return 0;
}

int cfg_check_serve(const cfg_t *cfg, char *err, size_t errlen)
{
    if (cfg->auth_mode == CFG_AUTH_JWKS)
        return cfg_check_jwks(cfg, err, errlen);
    if (cfg->secret == NULL) {
        snprintf(err, errlen,
                 "WSA_RELAY_SECRET: not set; secret mode needs a shared secret of "
                 "at least %d bytes (or WSA_RELAY_SECRET_FILE)",
                 CFG_MIN_SECRET_LEN);
        return -1;
    }
    if (strlen(cfg->secret) < CFG_MIN_SECRET_LEN) {
        snprintf(err, errlen,
                 "WSA_RELAY_SECRET: too short (%zu bytes); secret mode needs at "
                 "least %d bytes",
                 strlen(cfg->secret), CFG_MIN_SECRET_LEN);
        return -1;
    }
    return 0;
}
