/*
 * ingest_w3c.c - W3C access log lines, read by the column map of the last #Fields: line.
 *
 * The administrator picks the columns and their order, so nothing is found by position:
 * the #Fields: line names each column (wsa-logs.md section 2), a name the record has a
 * field for fills it, and every other column is kept as "name=value" in custom_post, in
 * column order. A data line must have exactly one value per column; otherwise it is
 * rejected, since no value could be trusted to be in its place.
 */
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include "ingest_priv.h"

/* What a column fills; W_OTHER columns are kept in custom_post. */
enum {
    W_OTHER = 0,
    W_TIMESTAMP,
    W_DATE,
    W_TIME,
    W_ELAPSED,
    W_CLIENT_IP,
    W_CODE_STATUS,
    W_CODE,
    W_STATUS,
    W_BYTES,
    W_METHOD,
    W_URL,
    W_USER,
    W_HIER_ORIGIN,
    W_HIERARCHY,
    W_SERVER_NAME,
    W_SERVER_IP,
    W_MIME,
    W_ACL,
    W_VERDICT_BLOCK,
    W_CATEGORY,
    W_CATEGORY_FULL,
    W_WBRS,
    W_THREAT_TYPE,
    W_AVC_APP,
    W_AVC_TYPE,
    W_AVC_BEHAVIOR,
    W_RESP_VERDICT,
    W_AMP_VERDICT,
    W_AMP_NAME,
    W_AMP_SCORE,
    W_AMP_FILE,
    W_AMP_SHA,
    W_USER_AGENT,
    W_SUSPECT_UA,
    W_COUNT
};

static const struct {
    const char *name;
    unsigned char id;
} known[] = {
    {"timestamp", W_TIMESTAMP},
    {"date", W_DATE},
    {"time", W_TIME},
    {"x-elapsed-time", W_ELAPSED},
    {"c-ip", W_CLIENT_IP},
    {"x-resultcode-httpstatus", W_CODE_STATUS},
    {"sc-result-code", W_CODE},
    {"sc-http-status", W_STATUS},
    {"sc-bytes", W_BYTES},
    {"cs-method", W_METHOD},
    {"cs-url", W_URL},
    {"cs-username", W_USER},
    {"x-hierarchy-origin", W_HIER_ORIGIN},
    {"s-hierarchy", W_HIERARCHY},
    {"s-hostname", W_SERVER_NAME},
    {"s-ip", W_SERVER_IP},
    {"cs-mime-type", W_MIME},
    {"x-acltag", W_ACL},
    /* %Xr: the scanning verdict block in < > (6.3 guide: x-result-code) */
    {"x-result-code", W_VERDICT_BLOCK},
    {"x-webcat-code-abbr", W_CATEGORY},
    {"x-webcat-code-full", W_CATEGORY_FULL},
    {"x-wbrs-score", W_WBRS},
    {"x-wbrs-threat-type", W_THREAT_TYPE},
    {"x-avc-app", W_AVC_APP},
    {"x-avc-type", W_AVC_TYPE},
    {"x-avc-behavior", W_AVC_BEHAVIOR},
    {"x-resp-dvs-verdictname", W_RESP_VERDICT},
    {"x-amp-verdict", W_AMP_VERDICT},
    {"x-amp-malware-name", W_AMP_NAME},
    {"x-amp-score", W_AMP_SCORE},
    {"x-amp-filename", W_AMP_FILE},
    {"x-amp-sha", W_AMP_SHA},
    {"cs(User-Agent)", W_USER_AGENT},
    {"x-suspect-user-agent", W_SUSPECT_UA},
};

static unsigned char field_id(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strlen(known[i].name) == n && strncasecmp(known[i].name, s, n) == 0)
            return known[i].id;
    return W_OTHER;
}

void ingest_w3c_map_free(ingest_w3c_map_t *m)
{
    free(m->names);
    memset(m, 0, sizeof(*m));
}

size_t ingest_w3c_extra(const ingest_w3c_map_t *m)
{
    /* each kept column adds its name, '=' and a separating space */
    return m->names_len + 2 * (size_t)m->ncols;
}

int ingest_w3c_fields(ingest_w3c_map_t *m, const char *s, size_t n, char *reason, size_t reasonlen)
{
    size_t pos = 0;
    int count = 0;

    m->ncols = 0;
    m->names_len = 0;
    if (m->names_cap < n + 1) {
        char *grown = realloc(m->names, n + 1);
        if (!grown) {
            ingest_reject(reason, reasonlen, "out of memory for a #Fields: line");
            return -1;
        }
        m->names = grown;
        m->names_cap = n + 1;
    }
    for (;;) {
        size_t start;

        while (pos < n && ingest_is_space(s[pos]))
            pos++;
        if (pos >= n)
            break;
        start = pos;
        while (pos < n && !ingest_is_space(s[pos]))
            pos++;
        if (count == INGEST_W3C_MAX_COLS) {
            ingest_reject(reason, reasonlen, "#Fields: line with more than %d fields",
                          INGEST_W3C_MAX_COLS);
            m->names_len = 0;
            return -1;
        }
        m->id[count] = field_id(s + start, pos - start);
        m->name_off[count] = (unsigned)m->names_len;
        memcpy(m->names + m->names_len, s + start, pos - start);
        m->names_len += pos - start;
        m->names[m->names_len++] = '\0';
        count++;
    }
    if (count == 0) {
        ingest_reject(reason, reasonlen, "#Fields: line without field names");
        return -1;
    }
    m->ncols = count;
    return 0;
}

/* Days from 1970-01-01 to a proleptic Gregorian date (the civil-from-days inverse). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* "YYYY-MM-DD" and "HH:MM:SS[.fff]" (UTC) into ms since the epoch; -1 when malformed. */
static int date_time_ms(const char *d, size_t dn, const char *t, size_t tn, int64_t *ms)
{
    int y, mo, da, h, mi, se, frac = 0, fd = 0;

    if (dn != 10 || d[4] != '-' || d[7] != '-' || tn < 8 || t[2] != ':' || t[5] != ':')
        return -1;
    y = digits(d, 4);
    mo = digits(d + 5, 2);
    da = digits(d + 8, 2);
    h = digits(t, 2);
    mi = digits(t + 3, 2);
    se = digits(t + 6, 2);
    if (y < 1970 || mo < 1 || mo > 12 || da < 1 || da > 31 || h < 0 || h > 23 || mi < 0 ||
        mi > 59 || se < 0 || se > 60)
        return -1;
    if (tn > 8) {
        if (t[8] != '.' || tn == 9)
            return -1;
        for (size_t i = 9; i < tn; i++) {
            if (t[i] < '0' || t[i] > '9')
                return -1;
            if (fd < 3) {
                frac = frac * 10 + (t[i] - '0');
                fd++;
            }
        }
        for (; fd < 3; fd++)
            frac *= 10;
    }
    *ms = ((days_from_civil(y, mo, da) * 24 + h) * 60 + mi) * 60000 + (int64_t)se * 1000 + frac;
    return 0;
}

/* The columns of one data line: where each record field's value is. */
typedef struct cols {
    const char *s;
    ingest_tok_t tok[INGEST_W3C_MAX_COLS];
    int at[W_COUNT]; /* column of each record field, -1 when the map has none */
} cols_t;

static int has(const cols_t *c, int id)
{
    return c->at[id] >= 0;
}

/* A verdict block as logged: "<...>". */
static int is_block(const cols_t *c, int k)
{
    const ingest_tok_t *t = &c->tok[k];

    return t->end - t->start >= 2 && c->s[t->start] == '<' && c->s[t->end - 1] == '>';
}

/* The value of a field without its quotes, as pointer and length. */
static const char *val(const cols_t *c, int id, size_t *n)
{
    const ingest_tok_t *t = &c->tok[c->at[id]];

    *n = t->vend - t->vstart;
    return c->s + t->vstart;
}

/* An arena copy of a field's value; NULL when absent, empty or "-". */
static const char *str(const cols_t *c, int id, ingest_arena_t *a)
{
    size_t n;
    const char *v;

    if (!has(c, id))
        return NULL;
    v = val(c, id, &n);
    return ingest_arena_value(a, v, n);
}

#define SHOWN(v, n) (int)((n) > 40 ? 40 : (n)), (v)

/* time, elapsed, client, result code, status and bytes: as strict as the native head */
static ingest_line_kind_t head(const cols_t *c, ingest_arena_t *a, ingest_rec_t *rec, char *reason,
                               size_t reasonlen)
{
    const char *v, *sl;
    size_t n;
    char ip[46];
    int rc;

    if (has(c, W_TIMESTAMP)) {
        v = val(c, W_TIMESTAMP, &n);
        rc = ingest_parse_epoch(v, n, &rec->time_ms);
        if (rc < 0)
            return ingest_reject(reason, reasonlen, "%s \"%.*s\"",
                                 rc == -2 ? "time after the year 9999" : "bad timestamp",
                                 SHOWN(v, n));
    } else if (has(c, W_DATE) && has(c, W_TIME)) {
        size_t tn;
        const char *t = val(c, W_TIME, &tn);
        v = val(c, W_DATE, &n);
        if (date_time_ms(v, n, t, tn, &rec->time_ms) < 0)
            return ingest_reject(reason, reasonlen, "bad date and time \"%.*s %.*s\"", SHOWN(v, n),
                                 SHOWN(t, tn));
    } else {
        return ingest_reject(reason, reasonlen,
                             "the #Fields: line has no timestamp (nor date and time) field");
    }

    if (has(c, W_ELAPSED)) {
        /* some versions log a fraction of a millisecond: the whole milliseconds count */
        v = val(c, W_ELAPSED, &n);
        sl = memchr(v, '.', n);
        if (ingest_parse_count(v, sl ? (size_t)(sl - v) : n, &rec->elapsed_ms) < 0 ||
            (sl && (size_t)(sl - v) + 1 == n))
            return ingest_reject(reason, reasonlen, "bad elapsed time \"%.*s\"", SHOWN(v, n));
        if (rec->elapsed_ms > rec->time_ms) {
            rec->elapsed_ms = 0;
            rec->warnings |= INGEST_WARN_VALUE;
        }
    }
    if (has(c, W_CLIENT_IP)) {
        v = val(c, W_CLIENT_IP, &n);
        if (ingest_ip_canon(v, n, ip) < 0)
            return ingest_reject(reason, reasonlen, "bad client IP \"%.*s\"", SHOWN(v, n));
        rec->client_ip = ingest_arena_dup(a, ip, strlen(ip));
    }
    if (has(c, W_CODE_STATUS)) {
        v = val(c, W_CODE_STATUS, &n);
        sl = memchr(v, '/', n);
        if (!sl || sl == v)
            return ingest_reject(reason, reasonlen, "no result code/HTTP status in \"%.*s\"",
                                 SHOWN(v, n));
        if (ingest_parse_status(sl + 1, n - (size_t)(sl - v) - 1, &rec->http_status) < 0)
            return ingest_reject(reason, reasonlen, "bad HTTP status in \"%.*s\"", SHOWN(v, n));
        rec->result_code = ingest_arena_dup(a, v, (size_t)(sl - v));
    } else {
        rec->result_code = str(c, W_CODE, a);
        if (has(c, W_STATUS)) {
            v = val(c, W_STATUS, &n);
            if (!(n == 1 && v[0] == '-') && ingest_parse_status(v, n, &rec->http_status) < 0)
                return ingest_reject(reason, reasonlen, "bad HTTP status \"%.*s\"", SHOWN(v, n));
        }
    }
    if (has(c, W_BYTES)) {
        v = val(c, W_BYTES, &n);
        if (!(n == 1 && v[0] == '-') && ingest_parse_count(v, n, &rec->bytes) < 0)
            return ingest_reject(reason, reasonlen, "bad byte count \"%.*s\"", SHOWN(v, n));
    }
    return INGEST_LINE_ACCESS;
}

/* The destination: hierarchy, URL, host, port and server address. */
static void destination(const cols_t *c, ingest_arena_t *a, ingest_rec_t *rec)
{
    const char *v;
    size_t n;
    char ip[46];

    if (has(c, W_HIER_ORIGIN)) {
        v = val(c, W_HIER_ORIGIN, &n);
        ingest_hierarchy_fill(a, v, n, rec);
    } else {
        rec->hierarchy = str(c, W_HIERARCHY, a);
        rec->hierarchy_host = str(c, W_SERVER_NAME, a);
    }
    if (has(c, W_URL)) {
        v = val(c, W_URL, &n);
        if (n == 1 && v[0] == '-')
            n = 0;
        if (ingest_url_fill(a, v, n, rec->hierarchy_host, rec) < 0 && n > 0)
            rec->warnings |= INGEST_WARN_VALUE;
    } else if (rec->hierarchy_host) {
        ingest_url_fill(a, "", 0, rec->hierarchy_host, rec);
    }
    /* the address the proxy connected to is the surest destination address */
    if (has(c, W_SERVER_IP)) {
        v = val(c, W_SERVER_IP, &n);
        if (ingest_ip_canon(v, n, ip) == 0)
            rec->dest_ip = ingest_arena_dup(a, ip, strlen(ip));
        else if (!(n == 0 || (n == 1 && v[0] == '-')))
            rec->warnings |= INGEST_WARN_VALUE;
    }
}

static int amp_int(const cols_t *c, int id, ingest_rec_t *rec)
{
    size_t n;
    const char *v;
    int r;

    if (!has(c, id))
        return -1;
    v = val(c, id, &n);
    r = ingest_small_int(v, n);
    if (r == -2) {
        rec->warnings |= INGEST_WARN_VALUE;
        return -1;
    }
    return r;
}

/* The policy decision and the scanners' verdicts. */
static void verdicts(const cols_t *c, ingest_arena_t *a, ingest_rec_t *rec)
{
    const char *v;
    size_t n;

    if (has(c, W_ACL)) {
        rec->acl_raw = str(c, W_ACL, a);
        if (rec->acl_raw) {
            ingest_acl_parse(a, rec->acl_raw, strlen(rec->acl_raw), rec);
            /* a W3C x-acltag may be the bare tag: no policy names is no fault then */
            if (!strchr(rec->acl_raw, '-'))
                rec->warnings &= ~(unsigned)INGEST_WARN_ACL;
        } else {
            rec->warnings |= INGEST_WARN_ACL;
            rec->action = INGEST_ACTION_ERROR;
        }
    } else {
        /* the administrator left the decision out: nothing says the request went through */
        rec->action = INGEST_ACTION_ERROR;
    }
    if (has(c, W_VERDICT_BLOCK) && is_block(c, c->at[W_VERDICT_BLOCK])) {
        v = val(c, W_VERDICT_BLOCK, &n);
        ingest_verdict_parse(a, v + 1, n - 2, rec);
    }
    /* a column of its own says the same as the block's field, and says it surely */
    if (has(c, W_CATEGORY))
        rec->category = str(c, W_CATEGORY, a);
    if (has(c, W_CATEGORY_FULL))
        rec->category_full = str(c, W_CATEGORY_FULL, a);
    if (has(c, W_WBRS)) {
        rec->has_wbrs = 0;
        rec->warnings &= ~(unsigned)INGEST_WARN_WBRS;
        ingest_wbrs_set(str(c, W_WBRS, a), rec);
    }
    if (has(c, W_THREAT_TYPE))
        rec->threat_type = str(c, W_THREAT_TYPE, a);
    if (has(c, W_AVC_APP))
        rec->avc_app = str(c, W_AVC_APP, a);
    if (has(c, W_AVC_TYPE))
        rec->avc_type = str(c, W_AVC_TYPE, a);
    if (has(c, W_AVC_BEHAVIOR))
        rec->avc_behavior = str(c, W_AVC_BEHAVIOR, a);
    if (has(c, W_RESP_VERDICT))
        rec->resp_verdict_name = str(c, W_RESP_VERDICT, a);
    if (has(c, W_AMP_VERDICT))
        rec->amp_verdict = amp_int(c, W_AMP_VERDICT, rec);
    if (has(c, W_AMP_NAME))
        rec->amp_threat_name = str(c, W_AMP_NAME, a);
    if (has(c, W_AMP_SCORE))
        rec->amp_score = amp_int(c, W_AMP_SCORE, rec);
    if (has(c, W_AMP_FILE))
        rec->amp_file_name = str(c, W_AMP_FILE, a);
    if (has(c, W_AMP_SHA)) {
        rec->sha256 = NULL;
        rec->warnings &= ~(unsigned)INGEST_WARN_SHA256;
        v = val(c, W_AMP_SHA, &n);
        ingest_sha_set(a, v, n, rec);
    }
}

/* A column kept as logged: no record field takes it, its name came earlier in the map,
 * or it is x-result-code without a verdict block (the 6.3 guide's x-result-code may be
 * another value: it is kept, not lost). */
static int is_custom(const ingest_w3c_map_t *m, const cols_t *c, int k)
{
    return m->id[k] == W_OTHER || c->at[m->id[k]] != k ||
           (m->id[k] == W_VERDICT_BLOCK && !is_block(c, k));
}

/* The columns no record field takes, as "name=value" (value as logged), in order. */
static void custom(const ingest_w3c_map_t *m, const cols_t *c, ingest_arena_t *a, ingest_rec_t *rec)
{
    size_t need = 0, o;
    char *d;

    for (int k = 0; k < m->ncols; k++)
        if (is_custom(m, c, k))
            need += strlen(m->names + m->name_off[k]) + 2 + (c->tok[k].end - c->tok[k].start);
    if (need == 0)
        return;
    if (a->cap - a->len < need) {
        a->overflow = 1;
        return;
    }
    d = a->base + a->len;
    o = 0;
    for (int k = 0; k < m->ncols; k++) {
        const char *name = m->names + m->name_off[k];
        size_t nl = strlen(name), vl = c->tok[k].end - c->tok[k].start;
        if (!is_custom(m, c, k))
            continue;
        if (o > 0)
            d[o++] = ' ';
        memcpy(d + o, name, nl);
        o += nl;
        d[o++] = '=';
        memcpy(d + o, c->s + c->tok[k].start, vl);
        o += vl;
    }
    d[o] = '\0';
    a->len += o + 1;
    rec->custom_post = d;
}

ingest_line_kind_t ingest_w3c_parse(const ingest_w3c_map_t *m, const char *s, size_t n, size_t pos,
                                    ingest_arena_t *a, ingest_rec_t *rec, char *reason,
                                    size_t reasonlen)
{
    cols_t c;
    ingest_tok_t extra;
    ingest_line_kind_t kind;
    const char *user;

    c.s = s;
    for (int i = 0; i < W_COUNT; i++)
        c.at[i] = -1;
    for (int k = 0; k < m->ncols; k++) {
        int rc = ingest_tok_next(s, n, &pos, &c.tok[k]);
        if (rc == INGEST_TOK_QUOTE)
            return ingest_reject(reason, reasonlen, "unterminated quote in the %s field",
                                 m->names + m->name_off[k]);
        if (rc == INGEST_TOK_END)
            return ingest_reject(reason, reasonlen,
                                 "W3C line has %d fields, the #Fields: line names %d", k, m->ncols);
        /* a name given twice: its first column counts, the others are kept as custom */
        if (m->id[k] != W_OTHER && c.at[m->id[k]] < 0)
            c.at[m->id[k]] = k;
    }
    if (ingest_tok_next(s, n, &pos, &extra) != INGEST_TOK_END)
        return ingest_reject(reason, reasonlen,
                             "W3C line has more fields than the %d the #Fields: line names",
                             m->ncols);

    kind = head(&c, a, rec, reason, reasonlen);
    if (kind != INGEST_LINE_ACCESS)
        return kind;
    rec->method = str(&c, W_METHOD, a);
    user = str(&c, W_USER, a);
    if (user) {
        rec->user_raw = user;
        ingest_user_split(a, user, strlen(user), rec);
    }
    destination(&c, a, rec);
    rec->mime = str(&c, W_MIME, a);
    verdicts(&c, a, rec);
    rec->user_agent = str(&c, W_USER_AGENT, a);
    if (!rec->user_agent)
        rec->user_agent = str(&c, W_SUSPECT_UA, a);
    custom(m, &c, a, rec);
    rec->format = "w3c";
    return INGEST_LINE_ACCESS;
}
