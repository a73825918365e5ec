/*
 * gen_line.c - composes one access log line: who, where, what the appliance decided, and
 * in which of the native shapes each appliance model writes it.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "gen.h"

/*
 * The appliances of the simulated site: each runs one software version, so each writes one
 * verdict layout, and reaches the collector through its own transport (syslog with or
 * without the level word, or files).
 */
typedef enum { PFX_BARE, PFX_INFO, PFX_SYSLOG_INFO, PFX_SYSLOG } prefix_t;

static const struct appliance {
    const char *host;
    int weight; /* per thousand lines */
    int fields; /* verdict block size */
    prefix_t prefix;
    int custom_pre; /* CMF/DCF/ERR fields before the ACL string */
    int custom_post;
} appliances[] = {
    {"wsa01.corp.example", 380, 44, PFX_SYSLOG_INFO, 0, 1},
    {"wsa02", 200, 43, PFX_INFO, 1, 0},
    {"wsa03.dmz.example", 50, 45, PFX_SYSLOG, 0, 2},
    {"wsa04", 220, 38, PFX_BARE, 0, 0},
    {"wsa05", 80, 32, PFX_BARE, 0, 0},
    {"wsa06", 40, 17, PFX_BARE, 0, 0},
    {"wsa07", 30, 15, PFX_BARE, 0, 0},
};
#define NAPPL (sizeof(appliances) / sizeof(appliances[0]))

static const struct category {
    const char *abbr, *full;
} categories[] = {
    {"IW_comp", "Computers and Internet"},
    {"IW_srch", "Search Engines and Portals"},
    {"IW_snet", "Social Networking"},
    {"IW_busi", "Business and Industry"},
    {"IW_news", "News"},
    {"IW_shop", "Shopping"},
    {"IW_infr", "Infrastructure and Content Delivery Networks"},
    {"IW_saas", "SaaS and B2B"},
    {"IW_swup", "Software Updates"},
    {"IW_stream", "Streaming Video"},
    {"IW_adv", "Advertisements"},
    {"IW_fts", "File Transfer Services"},
    {"IW_trvl", "Travel"},
    {"IW_fnnc", "Finance"},
    {"IW_edu", "Education"},
    {"IW_game", "Games"},
    {"IW_gamb", "Gambling"},
    {"nc", "Uncategorized URLs"},
    {"C_Corp", "Corporate Partners"},
};
#define NCAT      (sizeof(categories) / sizeof(categories[0]))
#define CAT_GAMES 15
#define CAT_GAMB  16

static const char *const policies[] = {"DefaultGroup", "Staff",  "Engineering",
                                       "Finance",      "Guests", "Servers"};
#define NPOL (sizeof(policies) / sizeof(policies[0]))

static const char *const first[] = {"anna", "ben",  "carla", "dev",   "eva", "farid", "gina",
                                    "hugo", "iris", "jon",   "kate",  "li",  "mo",    "nina",
                                    "omar", "pia",  "raj",   "sara",  "tom", "uma",   "vic",
                                    "wei",  "xavi", "yara",  "zoltan"};
static const char *const last[] = {"smith",  "garcia", "mueller", "rossi", "kim",   "nguyen",
                                   "dubois", "silva",  "jansen",  "novak", "kowal", "tanaka",
                                   "brown",  "ivanov", "haddad",  "okafor"};
#define NFIRST (sizeof(first) / sizeof(first[0]))
#define NLAST  (sizeof(last) / sizeof(last[0]))

static const char *const threats[] = {"W32.Trojan.Gen",      "W32.Emotet.Dropper",
                                      "JS.Downloader.Agent", "W97M.Macro.Obfusc",
                                      "Win.Ransomware.Lock", "PUA.Win.Adware.Bundle"};
#define NTHREAT (sizeof(threats) / sizeof(threats[0]))

static const char *const user_agents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko)",
    "curl/8.4.0",
    "python-requests/2.31.0",
    "Microsoft-CryptoAPI/10.0",
};
#define NUA (sizeof(user_agents) / sizeof(user_agents[0]))

struct gen {
    gen_rng_t rng;
    gen_zipf_t domains, tenants, clients, urls;
    double t_ms; /* log time, with the fraction of a ms carried between lines */
    double mean_gap_ms;
    uint64_t line_no;
    char sha[GEN_MALWARE][65];
};

gen_t *gen_new(const gen_opts_t *opts)
{
    gen_t *g;

    if (!(opts->rate > 0) || opts->start_ms < 0)
        return NULL;
    if (!(g = calloc(1, sizeof(*g))))
        return NULL;
    g->rng.s = opts->seed;
    g->t_ms = (double)opts->start_ms;
    g->mean_gap_ms = 1000.0 / opts->rate;
    if (gen_zipf_init(&g->domains, GEN_DOMAINS, 1.0) != 0 ||
        gen_zipf_init(&g->tenants, GEN_TENANTS, 0.9) != 0 ||
        gen_zipf_init(&g->clients, GEN_CLIENTS, 0.7) != 0 ||
        gen_zipf_init(&g->urls, 5000, 1.1) != 0) {
        gen_free(g);
        return NULL;
    }
    /* The malicious files are the same for every seed, like a campaign seen on many days. */
    for (int i = 0; i < GEN_MALWARE; i++) {
        gen_rng_t r = {.s = 0x5A256ULL + (uint64_t)i};
        for (int k = 0; k < 4; k++)
            snprintf(g->sha[i] + 16 * k, 17, "%016llx", (unsigned long long)gen_rand(&r));
    }
    return g;
}

void gen_free(gen_t *g)
{
    if (!g)
        return;
    gen_zipf_free(&g->domains);
    gen_zipf_free(&g->tenants);
    gen_zipf_free(&g->clients);
    gen_zipf_free(&g->urls);
    free(g);
}

/* An output cursor: appends never overrun, and the line is cut at GEN_LINE_MAX - 1. */
typedef struct out {
    char *buf;
    size_t len;
} out_t;

__attribute__((format(printf, 2, 3))) static void put(out_t *o, const char *fmt, ...)
{
    va_list ap;
    size_t room = GEN_LINE_MAX - 1 - o->len;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->len, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n < room ? (size_t)n : room - 1;
}

/* Everything drawn for one transaction before it is written. */
typedef struct txn {
    const struct appliance *ap;
    char host[160];
    char url[400];
    char client[48];
    char user[96];
    char server[160]; /* hierarchy server part */
    const char *method, *result, *mime, *hier;
    char tag[48];
    int status;
    long long bytes, elapsed;
    const struct category *cat;
    char wbrs[16];
    double wbrs_v;
    int policy;
    int malware;    /* index + 1 into g->sha, 0 for none */
    int clean_file; /* a download the AMP engine scanned and found clean */
    const char *ua; /* suspect user agent, NULL for none */
    char file[64];
} txn_t;

static void draw_client(gen_t *g, txn_t *t)
{
    uint32_t c = gen_zipf_draw(&g->clients, &g->rng);
    /* Scramble the rank so popular clients are spread over the address plan. */
    uint32_t id = (c * 2654435761u) % GEN_CLIENTS;

    if (id % 20 == 19)
        snprintf(t->client, sizeof(t->client), "2001:db8:%x:%x::%x", 10 + id / 1000, id % 97,
                 id + 1);
    else
        snprintf(t->client, sizeof(t->client), "10.%u.%u.%u", 1 + id / 62500, id / 250 % 250,
                 id % 250 + 1);
    t->policy = (int)(id % NPOL);
    /* One in five clients never authenticates (servers, printers, guests). */
    if (id % 5 == 4) {
        snprintf(t->user, sizeof(t->user), "-");
        return;
    }
    uint32_t u = id % GEN_USERS;
    const char *fn = first[u % NFIRST], *ln = last[u / NFIRST % NLAST];
    unsigned n = u / (NFIRST * NLAST);
    /* Six in ten write DOMAIN\name@realm, the rest the other shapes appliances log. */
    if (u % 10 <= 5)
        snprintf(t->user, sizeof(t->user), "\"CORP\\%s.%s%u@CorpNTLM\"", fn, ln, n);
    else if (u % 10 <= 7)
        snprintf(t->user, sizeof(t->user), "\"EMEA\\%c%s%u\"", fn[0], ln, n);
    else if (u % 10 == 8)
        snprintf(t->user, sizeof(t->user), "%s%u@LDAPRealm", fn, u);
    else
        snprintf(t->user, sizeof(t->user), "\"%s.%s%u\"", fn, ln, n);
}

/* Reputation and category belong to the host, so every visit to it agrees. */
static void host_properties(txn_t *t)
{
    uint64_t h = gen_hash(t->host);
    unsigned r = (unsigned)(h % 1000);

    t->cat = &categories[(h >> 10) % NCAT];
    if (r < 8) /* a few hundred hosts of bad reputation */
        t->wbrs_v = -6.0 - (double)((h >> 20) % 41) / 10.0;
    else if (r < 100)
        t->wbrs_v = -5.9 + (double)((h >> 20) % 119) / 10.0;
    else
        t->wbrs_v = 6.0 + (double)((h >> 20) % 41) / 10.0;
    if (r >= 900)
        snprintf(t->wbrs, sizeof(t->wbrs), "ns");
    else
        snprintf(t->wbrs, sizeof(t->wbrs), "%.1f", t->wbrs_v);
}

/* The address a host resolves to: the same for every visit; one host in 16 has IPv6. */
static void host_address(const char *host, int v6, char *out, size_t outlen)
{
    uint64_t h = gen_hash(host);

    if (v6 && h % 16 == 0)
        snprintf(out, outlen, "2001:db8:%x::%x", (unsigned)(h >> 8 & 0xffff),
                 (unsigned)(h >> 24 & 0xffff));
    else
        snprintf(out, outlen, "%u.%u.%u.%u", (unsigned)(23 + h % 180), (unsigned)(h >> 8 & 255),
                 (unsigned)(h >> 16 & 255), (unsigned)(1 + (h >> 24) % 254));
}

static void draw_request(gen_t *g, txn_t *t)
{
    static const char *const ext[] = {"html", "js", "css", "png", "json", "jpg", "woff2"};
    static const char *const mimes[] = {"text/html", "application/javascript", "text/css",
                                        "image/png", "application/json",       "image/jpeg",
                                        "font/woff2"};
    static const char *const files[] = {"setup", "invoice", "report", "update", "driver"};
    static const char *const fext[] = {"exe", "zip", "pdf", "msi", "docm"};
    uint32_t shape = gen_below(&g->rng, 1000);
    uint32_t page = gen_zipf_draw(&g->urls, &g->rng);
    int https = shape < 600;
    char path[200];

    gen_host(&g->rng, &g->domains, &g->tenants, t->host, sizeof(t->host));
    host_properties(t);
    t->method = "GET";
    t->hier = "DIRECT";
    /* Some appliances log the server's address rather than its name. */
    if (gen_below(&g->rng, 100) < 6)
        host_address(t->host, 1, t->server, sizeof(t->server));
    else
        snprintf(t->server, sizeof(t->server), "%s", t->host);

    if (gen_below(&g->rng, 1000) < 30) {
        unsigned f = gen_below(&g->rng, 5);
        snprintf(t->file, sizeof(t->file), "%s_%u.%s", files[f], page, fext[f]);
        snprintf(path, sizeof(path), "/download/%s", t->file);
        t->mime = "application/octet-stream";
        t->clean_file = 1;
    } else {
        unsigned e = page % 7;
        switch (page % 4) {
        case 0:
            snprintf(path, sizeof(path), "/");
            e = 0;
            break;
        case 1:
            snprintf(path, sizeof(path), "/static/%u/app.%s", page, ext[e]);
            break;
        case 2:
            snprintf(path, sizeof(path), "/api/v1/items?id=%u&lang=en", page);
            e = 4;
            break;
        default:
            snprintf(path, sizeof(path), "/news/%u/article-%u.%s", 2020 + page % 7, page, ext[e]);
            break;
        }
        t->mime = mimes[e];
    }

    if (shape < 80) { /* explicit proxy HTTPS, not decrypted */
        t->method = "CONNECT";
        snprintf(t->url, sizeof(t->url), "tunnel://%s:443/", t->host);
        t->mime = "-";
        t->clean_file = 0;
        t->result = "TCP_MISS";
        return;
    }
    if (shape < 110) { /* transparent HTTPS: only the address and port are known */
        char ip[64];
        host_address(t->host, 0, ip, sizeof(ip));
        t->method = "TCP_CONNECT";
        snprintf(t->url, sizeof(t->url), "%s:443", ip);
        snprintf(t->server, sizeof(t->server), "%s", t->host);
        t->mime = "-";
        t->clean_file = 0;
        t->result = "TCP_MISS";
        return;
    }
    if (shape >= 920 && shape < 990)
        t->method = "POST";
    else if (shape >= 990)
        t->method = shape % 2 ? "HEAD" : "PUT";
    if (https)
        snprintf(t->url, sizeof(t->url), "https://%s:443%s", t->host, path);
    else
        snprintf(t->url, sizeof(t->url), "http://%s%s", t->host, path);
    t->result = https ? "TCP_MISS_SSL" : gen_below(&g->rng, 10) < 2 ? "TCP_HIT" : "TCP_MISS";
    if (gen_below(&g->rng, 100) < 3) { /* an upstream proxy */
        t->hier = "DEFAULT_PARENT";
        snprintf(t->server, sizeof(t->server), "proxy%u.corp.example", 1 + shape % 2);
    }
}

static void set_tag(gen_t *g, txn_t *t, const char *tag)
{
    /* Most appliances add an internal number; the oldest ones often do not. */
    if (t->ap->fields <= 17 && gen_below(&g->rng, 2))
        snprintf(t->tag, sizeof(t->tag), "%s", tag);
    else
        snprintf(t->tag, sizeof(t->tag), "%s_%u", tag, gen_below(&g->rng, 13));
}

static void deny(txn_t *t, int status)
{
    t->result = "TCP_DENIED";
    t->status = status;
    t->bytes = 1500 + t->bytes % 3000;
    t->mime = "text/html";
}

static void draw_decision(gen_t *g, txn_t *t)
{
    int tunnel = t->method[0] == 'C' || t->method[0] == 'T';
    uint32_t d = gen_below(&g->rng, 10000);

    t->status = 200;
    t->bytes = 200 + (long long)gen_below(&g->rng, 20000);
    if (gen_below(&g->rng, 10) == 0)
        t->bytes *= 50;
    t->elapsed = gen_below(&g->rng, 10) < 7 ? gen_below(&g->rng, 300) : gen_below(&g->rng, 8000);
    if (tunnel)
        t->elapsed += gen_below(&g->rng, 120000);

    if (t->malware) {
        uint32_t k = gen_below(&g->rng, 100);
        set_tag(g, t, k < 60 ? "BLOCK_AMP_RESP" : k < 85 ? "BLOCK_AMW_RESP" : "MONITOR_AMW_RESP");
        if (k < 85)
            deny(t, 403);
        return;
    }
    if (t->wbrs_v <= -6.0 && strcmp(t->wbrs, "ns") != 0) {
        if (tunnel && t->wbrs_v <= -9.0) {
            set_tag(g, t, "DROP_WBRS");
            t->status = 0;
            t->bytes = 0;
        } else {
            set_tag(g, t, "BLOCK_WBRS");
            deny(t, 403);
        }
        return;
    }
    if (t->cat - categories == CAT_GAMB && d < 5000) {
        set_tag(g, t, "BLOCK_CONTINUE_WEBCAT");
        deny(t, 403);
        return;
    }
    if (t->cat - categories == CAT_GAMES && d < 6000) {
        set_tag(g, t, "BLOCK_WEBCAT");
        deny(t, 403);
        return;
    }
    if (d < 60) {
        set_tag(g, t, "OTHER");
        t->result = "NONE";
        t->status = 504;
        t->bytes = 0;
        t->hier = "NONE";
        snprintf(t->server, sizeof(t->server), "-");
        return;
    }
    if (d < 110) {
        set_tag(g, t, "NO_PASSWORD");
        deny(t, 407);
        t->hier = "NONE";
        snprintf(t->server, sizeof(t->server), "-");
        return;
    }
    if (d < 150) {
        set_tag(g, t, "BLOCK_ADMIN_FILE_TYPE");
        deny(t, 403);
        return;
    }
    if (d < 190 && !tunnel) {
        set_tag(g, t, "BLOCK_SUSPECT_USER_AGENT");
        t->ua = user_agents[2 + d % 3];
        deny(t, 403);
        return;
    }
    if (d < 450) {
        static const char *const mon[] = {"MONITOR_WBRS", "MONITOR_AVC",
                                          "MONITOR_SUSPECT_USER_AGENT"};
        set_tag(g, t, mon[d % 3]);
        if (d % 3 == 2)
            t->ua = user_agents[2 + d % 3];
        return;
    }
    if (tunnel) {
        set_tag(g, t,
                d % 3 == 0   ? "DECRYPT_WBRS"
                : d % 3 == 1 ? "PASSTHRU_WBRS"
                             : "PASSTHRU_WEBCAT");
        return;
    }
    set_tag(g, t, d < 8000 ? "DEFAULT_CASE" : d < 9500 ? "ALLOW_WBRS" : "ALLOW_CUSTOMCAT");
}

/* The verdict block in the 11.7+ order (45 slots); older layouts are cut from it. */
static void write_block(gen_t *g, const txn_t *t, out_t *o)
{
    char v[46][160];
    int n = t->ap->fields;
    int quoted_cat = n >= 43;

    for (int i = 1; i <= 45; i++)
        snprintf(v[i], sizeof(v[i]), "-");
    static const int qdash[] = {4, 9, 13, 16, 17, 22, 24, 27, 28, 32, 33, 35, 38, 39, 42, 45};
    for (size_t i = 0; i < sizeof(qdash) / sizeof(qdash[0]); i++)
        snprintf(v[qdash[i]], sizeof(v[0]), "\"-\"");
    if (quoted_cat) {
        snprintf(v[1], sizeof(v[0]), "\"%s\"", t->cat->abbr);
        snprintf(v[20], sizeof(v[0]), "\"%s\"", t->cat->abbr);
    } else {
        snprintf(v[1], sizeof(v[0]), "%s", t->cat->abbr);
        snprintf(v[20], sizeof(v[0]), "%s", t->cat->abbr);
    }
    snprintf(v[2], sizeof(v[0]), "%s", t->wbrs);
    snprintf(v[3], sizeof(v[0]), "%u", gen_below(&g->rng, 2));
    snprintf(v[23], sizeof(v[0]), "\"%s\"", t->cat->full);
    if (t->wbrs_v <= -4.0 && strcmp(t->wbrs, "ns") != 0)
        snprintf(v[24], sizeof(v[0]), "\"%s\"", t->wbrs_v <= -8.0 ? "Malware Sites" : "Phishing");
    snprintf(v[25], sizeof(v[0]), "\"Unknown\"");
    snprintf(v[26], sizeof(v[0]), "\"Unknown\"");
    snprintf(v[29], sizeof(v[0]), "%u.%02u", gen_below(&g->rng, 500), gen_below(&g->rng, 100));
    snprintf(v[30], sizeof(v[0]), "0");
    if (t->user[0] != '-')
        snprintf(v[31], sizeof(v[0]), "%s", gen_below(&g->rng, 10) ? "[Local]" : "[Remote]");
    if (t->malware) {
        unsigned k = (unsigned)t->malware - 1;
        snprintf(v[22], sizeof(v[0]), "\"%s\"", threats[k % NTHREAT]);
        snprintf(v[34], sizeof(v[0]), "%u", k % 5 == 0 ? 4 : 37);
        snprintf(v[35], sizeof(v[0]), "\"%s.%u\"", threats[k % NTHREAT], k);
        snprintf(v[36], sizeof(v[0]), "%u", 60 + k % 40);
        snprintf(v[37], sizeof(v[0]), "0");
        snprintf(v[38], sizeof(v[0]), "\"%s\"", t->file);
        snprintf(v[39], sizeof(v[0]), "\"%s\"", g->sha[k]);
    } else if (t->clean_file) {
        gen_rng_t r = {.s = gen_hash(t->url)};
        char sha[65];
        for (int k = 0; k < 4; k++)
            snprintf(sha + 16 * k, 17, "%016llx", (unsigned long long)gen_rand(&r));
        snprintf(v[34], sizeof(v[0]), "%u", gen_below(&g->rng, 10) ? 0 : 1);
        snprintf(v[36], sizeof(v[0]), "0");
        snprintf(v[37], sizeof(v[0]), "%u", gen_below(&g->rng, 20) == 0);
        snprintf(v[38], sizeof(v[0]), "\"%s\"", t->file);
        snprintf(v[39], sizeof(v[0]), "\"%s\"", sha);
    }
    if (t->tag[0] == 'B' && strncmp(t->tag, "BLOCK_ADMIN_FILE_TYPE", 21) == 0)
        snprintf(v[42], sizeof(v[0]),
                 "\"BlockedFileType: application/x-msdownload,BlockedFile: %s\"",
                 t->file[0] ? t->file : "setup.exe");

    put(o, "<");
    if (n >= 43) {
        for (int i = 1; i <= n; i++)
            put(o, "%s%s", i > 1 ? "," : "", v[i]);
    } else if (n >= 32) { /* the 11.7 insertion at 23 is absent: slots 24.. move down one */
        for (int i = 1, k = 0; k < n; i++) {
            if (i == 23)
                continue;
            put(o, "%s%s", k ? "," : "", v[i]);
            k++;
        }
    } else { /* 6.x: category, reputation, scanner slots, request and response categories */
        put(o, "%s,%s,-,-,-,-,-,-,-,-,-,-,-,-,-", v[1], v[2]);
        if (n == 17)
            put(o, ",%s,-", v[1]);
    }
    put(o, ">");
}

static void write_prefix(const txn_t *t, int64_t ms, out_t *o)
{
    if (t->ap->prefix == PFX_SYSLOG_INFO || t->ap->prefix == PFX_SYSLOG) {
        time_t sec = (time_t)(ms / 1000);
        struct tm tm;
        char stamp[32];
        gmtime_r(&sec, &tm);
        strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
        put(o, "<%d>%s %s accesslogs: ", t->ap->prefix == PFX_SYSLOG ? 134 : 13, stamp,
            t->ap->host);
    }
    if (t->ap->prefix == PFX_SYSLOG_INFO || t->ap->prefix == PFX_INFO)
        put(o, "Info: ");
}

static void write_acl(const txn_t *t, out_t *o)
{
    const char *pol = policies[t->policy];
    int parts = t->ap->fields >= 43 ? 8 : t->ap->fields >= 32 ? 7 : 6;

    if (t->tag[0] == 'O' || t->tag[0] == 'N') /* not completed: no access policy applied */
        put(o, "%s-NONE-ID_%s", t->tag, pol);
    else
        put(o, "%s-%s-ID_%s", t->tag, pol, pol);
    if (parts >= 7)
        put(o, "-%s", t->malware ? "OMP_Default" : "NONE");
    put(o, "-NONE-NONE-%s", parts == 6 ? "DefaultRouting" : "DefaultGroup");
    if (parts == 8)
        put(o, "-NONE");
}

size_t gen_line(gen_t *g, char *buf)
{
    txn_t t;
    out_t o = {.buf = buf, .len = 0};
    uint32_t w = gen_below(&g->rng, 1000), acc = 0;

    memset(&t, 0, sizeof(t));
    for (size_t i = 0; i < NAPPL; i++) {
        acc += (uint32_t)appliances[i].weight;
        if (w < acc || i == NAPPL - 1) {
            t.ap = &appliances[i];
            break;
        }
    }
    draw_client(g, &t);
    draw_request(g, &t);
    if (t.clean_file && gen_below(&g->rng, 100) < 8) {
        /* A malicious download: a few files account for most hits, as in an outbreak. */
        uint32_t k =
            gen_below(&g->rng, 4) ? gen_below(&g->rng, 10) : gen_below(&g->rng, GEN_MALWARE);
        t.malware = (int)k + 1;
        t.clean_file = 0;
    }
    draw_decision(g, &t);

    /* Exponential gaps: a Poisson stream at the given rate, in whole log milliseconds. */
    g->t_ms += -log(1.0 - gen_unit(&g->rng)) * g->mean_gap_ms;
    int64_t ms = (int64_t)g->t_ms;

    write_prefix(&t, ms, &o);
    put(&o, "%lld.%03lld %lld %s %s/%d %lld %s %s %s %s/%s %s ", (long long)(ms / 1000),
        (long long)(ms % 1000), t.elapsed, t.client, t.result, t.status, t.bytes, t.method, t.url,
        t.user, t.hier, t.server, t.mime);
    if (t.ap->custom_pre)
        put(&o, "CMF:%u DCF:%u ERR:%u ", gen_below(&g->rng, 64), 200000 + gen_below(&g->rng, 64),
            gen_below(&g->rng, 20));
    write_acl(&t, &o);
    put(&o, " ");
    write_block(g, &t, &o);
    if (t.ua)
        put(&o, " \"%s\"", t.ua);
    else
        put(&o, " -");
    if (t.ap->custom_post == 1)
        put(&o, " -");
    else if (t.ap->custom_post == 2) /* the browser's user agent and X-Forwarded-For */
        put(&o, " \"%s\" %s", user_agents[gen_below(&g->rng, 2)],
            gen_below(&g->rng, 4) ? "-" : "198.51.100.7");
    /* put leaves room for the newline: a line is never longer than GEN_LINE_MAX. */
    buf[o.len++] = '\n';
    buf[o.len] = '\0';
    return o.len;
}
