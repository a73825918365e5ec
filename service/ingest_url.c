/*
 * ingest_url.c - URLs, hosts, addresses and user names as the store keys them.
 *
 * The same functions serve the ingester and the observable keys (obs.c), so that a value
 * looked up is shaped exactly like the value stored.
 */
#include <arpa/inet.h>
#include <string.h>
#include "ingest_priv.h"

/* Where the parts of a URL lie; hosts of IPv6 literals exclude the brackets. */
typedef struct url_parts {
    size_t scheme_len; /* 0 for a bare host[:port] */
    size_t auth_start; /* first byte of user info or host */
    size_t host_start, host_end;
    size_t port_start, port_end; /* empty when there is no port */
    size_t rest;                 /* path, query and fragment start here */
    int bracketed;
} url_parts_t;

static int is_scheme_char(char c, int first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return !first && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.');
}

static size_t scheme_length(const char *u, size_t n)
{
    size_t i = 0;

    while (i < n && is_scheme_char(u[i], i == 0))
        i++;
    if (i > 0 && i + 3 <= n && u[i] == ':' && u[i + 1] == '/' && u[i + 2] == '/')
        return i;
    return 0;
}

static void url_split(const char *u, size_t n, url_parts_t *p)
{
    size_t i, auth_end, h;

    memset(p, 0, sizeof(*p));
    p->scheme_len = scheme_length(u, n);
    i = p->scheme_len ? p->scheme_len + 3 : 0;
    p->auth_start = i;
    auth_end = i;
    while (auth_end < n && u[auth_end] != '/' && u[auth_end] != '?' && u[auth_end] != '#')
        auth_end++;
    p->rest = auth_end;

    /* user info ends at the last '@' of the authority */
    h = i;
    for (size_t k = i; k < auth_end; k++)
        if (u[k] == '@')
            h = k + 1;

    if (h < auth_end && u[h] == '[') {
        size_t close = h + 1;
        while (close < auth_end && u[close] != ']')
            close++;
        if (close < auth_end) {
            p->bracketed = 1;
            p->host_start = h + 1;
            p->host_end = close;
            if (close + 1 < auth_end && u[close + 1] == ':') {
                p->port_start = close + 2;
                p->port_end = auth_end;
            }
            return;
        }
    }
    p->host_start = h;
    p->host_end = auth_end;
    for (size_t k = h; k < auth_end; k++) {
        if (u[k] == ':') {
            p->host_end = k;
            p->port_start = k + 1;
            p->port_end = auth_end;
            break;
        }
    }
}

/* The port digits as a number, 0 when absent, -1 when not a port. */
static int port_value(const char *u, const url_parts_t *p)
{
    int v = 0;

    if (p->port_end <= p->port_start)
        return 0;
    if (p->port_end - p->port_start > 5)
        return -1;
    for (size_t i = p->port_start; i < p->port_end; i++) {
        if (u[i] < '0' || u[i] > '9')
            return -1;
        v = v * 10 + (u[i] - '0');
    }
    return v <= 65535 ? v : -1;
}

int ingest_default_port(const char *scheme, size_t n)
{
    char low[8];

    if (n == 0 || n >= sizeof(low))
        return 0;
    for (size_t i = 0; i < n; i++)
        low[i] = (scheme[i] >= 'A' && scheme[i] <= 'Z') ? (char)(scheme[i] + 32) : scheme[i];
    low[n] = '\0';
    if (strcmp(low, "http") == 0)
        return 80;
    if (strcmp(low, "https") == 0 || strcmp(low, "tunnel") == 0)
        return 443;
    if (strcmp(low, "ftp") == 0)
        return 21;
    return 0;
}

static void copy_lower(char *d, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
}

long ingest_url_normalise(const char *url, size_t len, char *out, size_t outlen)
{
    url_parts_t p;
    size_t o, keep_port_end, host_end, end;
    int port, dflt, add_slash;

    url_split(url, len, &p);
    port = port_value(url, &p);
    dflt = ingest_default_port(url, p.scheme_len);

    /* the default port of the scheme says nothing: drop it, with its colon */
    keep_port_end = p.rest;
    if (p.scheme_len && port > 0 && port == dflt)
        keep_port_end = p.port_start - 1;
    /* a fragment never reaches the server, so the proxy cannot have seen one */
    end = p.rest;
    while (end < len && url[end] != '#')
        end++;
    /* "www.example.com." names the same host as "www.example.com" */
    host_end = p.host_end;
    if (!p.bracketed && host_end > p.host_start + 1 && url[host_end - 1] == '.')
        host_end--;
    /* an empty path is "/" (RFC 3986 section 6.2.3) for the schemes a proxy logs */
    add_slash = p.scheme_len > 0 && (end == p.rest || url[p.rest] == '?');
    if (keep_port_end > len ||
        keep_port_end - (p.host_end - host_end) + (end - p.rest) + (size_t)add_slash + 1 > outlen)
        return -1;

    /* scheme and "://", user info, then the host: everything up to host_end lower-cased
     * except the user info, which belongs to the user */
    copy_lower(out, url, p.auth_start);
    memcpy(out + p.auth_start, url + p.auth_start, p.host_start - p.auth_start);
    copy_lower(out + p.host_start, url + p.host_start, host_end - p.host_start);
    o = host_end;
    memcpy(out + o, url + p.host_end, keep_port_end - p.host_end);
    o += keep_port_end - p.host_end;
    if (add_slash)
        out[o++] = '/';
    memcpy(out + o, url + p.rest, end - p.rest);
    o += end - p.rest;
    out[o] = '\0';
    return (long)o;
}

/*
 * Four decimal numbers of 0 to 255 without leading zeros, joined by dots: what inet_pton
 * takes for AF_INET, checked here without copying, as every client address is.
 */
static int dotted_quad(const char *s, size_t n)
{
    size_t i = 0;

    for (int part = 0; part < 4; part++) {
        unsigned v = 0, digits = 0;
        if (part > 0 && (i >= n || s[i++] != '.'))
            return 0;
        while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 4) {
            v = v * 10 + (unsigned)(s[i++] - '0');
            digits++;
        }
        if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && s[i - digits] == '0'))
            return 0;
    }
    return i == n;
}

int ingest_ip_canon(const char *s, size_t n, char *out)
{
    char tmp[64];
    unsigned char addr[16];

    if (n == 0 || n >= sizeof(tmp))
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (memchr(tmp, ':', n) == NULL) {
        if (!dotted_quad(tmp, n))
            return -1;
        /* only the dotted-quad form is taken, which is already canonical */
        memcpy(out, tmp, n + 1);
        return 0;
    }
    if (inet_pton(AF_INET6, tmp, addr) != 1)
        return -1;
    /* a dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d: it is that IPv4 host */
    if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)addr))
        return inet_ntop(AF_INET, addr + 12, out, 46) ? 0 : -1;
    return inet_ntop(AF_INET6, addr, out, 46) ? 0 : -1;
}

/* Second-level labels under which registrations happen one level lower. */
static const char *const second_level[] = {
    "ac.uk",  "co.uk",   "gov.uk", "ltd.uk",  "me.uk",  "net.uk", "nhs.uk",    "org.uk", "plc.uk",
    "sch.uk", "asn.au",  "com.au", "edu.au",  "gov.au", "id.au",  "net.au",    "org.au", "ac.nz",
    "co.nz",  "geek.nz", "gen.nz", "govt.nz", "net.nz", "org.nz", "school.nz", "ac.jp",  "ad.jp",
    "co.jp",  "ed.jp",   "go.jp",  "gr.jp",   "lg.jp",  "ne.jp",  "or.jp",     "ac.za",  "co.za",
    "gov.za", "net.za",  "org.za", "com.br",  "edu.br", "gov.br", "net.br",    "org.br", "ac.cn",
    "com.cn", "edu.cn",  "gov.cn", "net.cn",  "org.cn", "ac.in",  "co.in",     "edu.in", "firm.in",
    "gen.in", "gov.in",  "ind.in", "net.in",  "org.in", "ac.kr",  "co.kr",     "go.kr",  "ne.kr",
    "or.kr",  "com.mx",  "edu.mx", "gob.mx",  "net.mx", "org.mx", "com.tr",    "edu.tr", "gov.tr",
    "net.tr", "org.tr",  "com.sg", "edu.sg",  "gov.sg", "net.sg", "org.sg",    "com.hk", "edu.hk",
    "gov.hk", "net.hk",  "org.hk", "com.tw",  "edu.tw", "gov.tw", "net.tw",    "org.tw", "ac.il",
    "co.il",  "gov.il",  "net.il", "org.il",  "ac.id",  "co.id",  "go.id",     "or.id",  "ac.th",
    "co.th",  "go.th",   "in.th",  "co.at",   "or.at",  "com.pl", "net.pl",    "org.pl", "com.ar",
    "com.co", "com.my",  "com.ph", "com.pk",  "com.sa", "com.eg", "com.ua",    "org.ua", "co.ke",
    "com.ng", "com.vn",  "com.pe", "com.ec",  "com.es", "com.gr", "com.ru",
};

static int is_second_level(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof(second_level) / sizeof(second_level[0]); i++)
        if (strlen(second_level[i]) == n && memcmp(second_level[i], s, n) == 0)
            return 1;
    return 0;
}

const char *ingest_reg_domain(const char *host, char *out, size_t outlen)
{
    size_t n = host ? strlen(host) : 0;
    size_t dots[3];
    int ndots = 0;
    size_t from;
    char ip[46];

    if (n == 0 || host[0] == '.' || host[n - 1] == '.')
        return NULL;
    /* an address has no registered domain; a name's last label is never all digits */
    if (memchr(host, ':', n) != NULL ||
        (host[n - 1] >= '0' && host[n - 1] <= '9' && ingest_ip_canon(host, n, ip) == 0))
        return NULL;
    /* the last three dots, from the right */
    for (size_t i = n; i-- > 0 && ndots < 3;)
        if (host[i] == '.')
            dots[ndots++] = i;
    if (ndots == 0)
        return NULL;
    from = ndots >= 2 ? dots[1] + 1 : 0;
    /* a country code under which people register one level lower (co.uk, com.au) */
    if (n - dots[0] - 1 == 2 && is_second_level(host + from, n - from)) {
        if (ndots < 2)
            return NULL;
        from = ndots >= 3 ? dots[2] + 1 : 0;
    }
    if (n - from + 1 > outlen)
        return NULL;
    memcpy(out, host + from, n - from);
    out[n - from] = '\0';
    return out;
}

/*
 * A host's length without its trailing dot: "www.example.com." names the same host, as the
 * URL's normal form says, and only without it does the host have a registered domain and
 * match its domain's observables (whose keys drop the dot). One dot, as in the URL.
 */
static size_t host_len(const char *host, size_t n)
{
    return n > 1 && host[n - 1] == '.' ? n - 1 : n;
}

/* url, host, dest_port and dest_ip from the URL itself; 0, or -1 when it has no host. */
static int fill_from_url(ingest_arena_t *a, const char *url, size_t n, ingest_rec_t *rec)
{
    url_parts_t p;
    char ip[46];
    char *norm;
    long nl;
    size_t hn;
    int port;

    if (a->cap - a->len < n + INGEST_URL_NORM_GROWTH + 1) {
        a->overflow = 1;
        return -1;
    }
    norm = a->base + a->len;
    nl = ingest_url_normalise(url, n, norm, n + INGEST_URL_NORM_GROWTH + 1);
    if (nl >= 0) {
        a->len += (size_t)nl + 1;
        rec->url = norm;
    } else {
        rec->url = ingest_arena_dup(a, url, n);
    }

    url_split(url, n, &p);
    port = port_value(url, &p);
    if (p.host_end <= p.host_start || port < 0)
        return -1;
    hn = p.bracketed ? p.host_end - p.host_start
                     : host_len(url + p.host_start, p.host_end - p.host_start);
    rec->host = ingest_arena_lower(a, url + p.host_start, hn);
    rec->dest_port = port > 0 ? port : ingest_default_port(url, p.scheme_len);
    if (rec->host && ingest_ip_canon(rec->host, hn, ip) == 0)
        rec->dest_ip = ingest_arena_dup(a, ip, strlen(ip));
    return 0;
}

int ingest_url_fill(ingest_arena_t *a, const char *url, size_t n, const char *server,
                    ingest_rec_t *rec)
{
    char ip[46], reg[256];
    int ok = n > 0 ? fill_from_url(a, url, n, rec) : -1;

    if (!rec->host && server)
        rec->host = ingest_arena_lower(a, server, host_len(server, strlen(server)));
    if (!rec->dest_ip && server) {
        size_t sn = strlen(server);
        if (sn > 2 && server[0] == '[' && server[sn - 1] == ']')
            server++, sn -= 2;
        if (ingest_ip_canon(server, sn, ip) == 0)
            rec->dest_ip = ingest_arena_dup(a, ip, strlen(ip));
    }
    if (rec->host && ingest_reg_domain(rec->host, reg, sizeof(reg)))
        rec->reg_domain = ingest_arena_dup(a, reg, strlen(reg));
    return ok;
}

void ingest_user_split(ingest_arena_t *a, const char *s, size_t n, ingest_rec_t *rec)
{
    const char *bs = memchr(s, '\\', n);
    const char *name = s, *at = NULL;
    size_t name_len;

    if (bs) {
        rec->user_domain = ingest_arena_value(a, s, (size_t)(bs - s));
        name = bs + 1;
    }
    name_len = n - (size_t)(name - s);
    /* the realm follows the last '@': a name may itself be an address */
    for (size_t i = name_len; i-- > 0;) {
        if (name[i] == '@') {
            at = name + i;
            break;
        }
    }
    if (at) {
        rec->user_realm = ingest_arena_value(a, at + 1, name_len - (size_t)(at - name) - 1);
        name_len = (size_t)(at - name);
    }
    rec->user_name = ingest_arena_value(a, name, name_len);
}
