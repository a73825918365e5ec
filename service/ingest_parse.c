/*
 * ingest_parse.c - one access-log line into one ingest_rec_t.
 *
 * Order of work: copy the line as valid UTF-8 into the parser's buffer, strip a syslog
 * header and the "Info:" level word, decide access record or not by the leading epoch,
 * read the fixed head (time .. MIME type), find the verdict block by its '<' and take the
 * token before it as the ACL string, then the tail. Field facts: wsa-logs.md sections 1, 4.
 * A W3C source is read by the column map of its #Fields: line instead (ingest_w3c.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "ingest_priv.h"
#include "util.h"

/* Longer lines are not WSA records; the bound also caps the buffer a line can claim. */
#define MAX_LINE (1024 * 1024)

struct ingest_parser {
    char *buf;
    size_t cap;
    ingest_format_t format;
    int map_failed; /* the last #Fields: line could not be used */
    ingest_w3c_map_t w3c;
};

ingest_parser_t *ingest_parser_new(void)
{
    return calloc(1, sizeof(ingest_parser_t));
}

void ingest_parser_free(ingest_parser_t *p)
{
    if (!p)
        return;
    free(p->buf);
    ingest_w3c_map_free(&p->w3c);
    free(p);
}

static int reserve(ingest_parser_t *p, size_t need)
{
    char *nb;

    if (p->cap >= need)
        return 0;
    nb = realloc(p->buf, need);
    if (!nb)
        return -1;
    p->buf = nb;
    p->cap = need;
    return 0;
}

/* Plain ASCII, the usual case, is copied whole; anything else goes byte by byte. */
static size_t sanitize(const char *in, size_t n, char *out)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    size_t i = 0;

    /* eight bytes at a time: stop at a chunk holding a NUL or a byte above 0x7f */
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, in + i, 8);
        if ((w & highs) || ((w - ones) & ~w & highs))
            break;
    }
    while (i < n && (unsigned char)in[i] - 1u < 0x7fu)
        i++;
    memcpy(out, in, i);
    if (i == n) {
        out[n] = '\0';
        return n;
    }
    return i + util_utf8_sanitize(in + i, n - i, out + i);
}

#define reject ingest_reject

ingest_line_kind_t ingest_reject(char *reason, size_t reasonlen, const char *fmt, ...)
{
    va_list ap;

    if (reason && reasonlen > 0) {
        va_start(ap, fmt);
        vsnprintf(reason, reasonlen, fmt, ap);
        va_end(ap);
    }
    return INGEST_LINE_REJECT;
}

/* A value quoted in a reason, shortened: reasons are for people, not for the raw data. */
#define SHOWN(s, t) (int)((t).end - (t).start > 40 ? 40 : (t).end - (t).start), (s) + (t).start

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int all_digits(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return 0;
    return 1;
}

/* RFC 3164 "Mmm dd hh:mm:ss " at s; returns its length or 0. */
static size_t syslog_time(const char *s, size_t n)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    size_t i;
    int month = 0;

    if (n < 16)
        return 0;
    for (int m = 0; m < 12; m++)
        if (memcmp(s, months + 3 * m, 3) == 0)
            month = 1;
    if (!month || s[3] != ' ')
        return 0;
    i = 4;
    if (s[i] == ' ') /* days below 10 are padded with a space */
        i++;
    if (!is_digit(s[i]))
        return 0;
    i++;
    if (is_digit(s[i]))
        i++;
    if (i + 10 > n || s[i] != ' ')
        return 0;
    i++;
    if (!(is_digit(s[i]) && is_digit(s[i + 1]) && s[i + 2] == ':' && is_digit(s[i + 3]) &&
          is_digit(s[i + 4]) && s[i + 5] == ':' && is_digit(s[i + 6]) && is_digit(s[i + 7]) &&
          s[i + 8] == ' '))
        return 0;
    return i + 9;
}

static size_t skip_spaces(const char *s, size_t n, size_t i)
{
    while (i < n && ingest_is_space(s[i]))
        i++;
    return i;
}

static size_t word_end(const char *s, size_t n, size_t i)
{
    while (i < n && !ingest_is_space(s[i]))
        i++;
    return i;
}

static int is_info(const char *s, size_t n)
{
    return n == 5 && (s[0] == 'I' || s[0] == 'i') && memcmp(s + 1, "nfo:", 4) == 0;
}

/* An RFC 3164 program tag: a letter, then letters, digits and "_.-", an optional "[pid]",
 * and the colon. W3C directives ("#Fields:") and clock times are not tags. */
static int is_tag(const char *s, size_t n)
{
    size_t i = 1;

    if (n < 2 || s[n - 1] != ':' || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return 0;
    for (; i < n - 1 && s[i] != '['; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
              c == '.' || c == '-'))
            return 0;
    }
    /* "[pid]" right before the colon */
    if (i < n - 1 && (s[n - 2] != ']' || n - 3 <= i || !all_digits(s + i + 1, n - 3 - i)))
        return 0;
    return 1;
}

/*
 * Skips "<PRI>Mmm dd hh:mm:ss host " (or an RFC 5424 header with its structured data), a
 * "tag:" and the "Info:" level word, each optional.
 * Returns where the WSA record would start; sets the syslog host span when there was one.
 */
static size_t skip_prefix(const char *s, size_t n, size_t *host, size_t *host_len)
{
    size_t i = skip_spaces(s, n, 0), j, t;
    int rfc5424 = 0;

    *host_len = 0;
    if (i < n && s[i] == '<') {
        j = i + 1;
        while (j < n && j - i <= 3 && is_digit(s[j]))
            j++;
        if (j > i + 1 && j < n && s[j] == '>') {
            i = j + 1;
            t = ingest_syslog_5424(s, n, i, host, host_len);
            if (t > 0) {
                i = skip_spaces(s, n, t);
                rfc5424 = 1;
            }
        }
    }
    t = rfc5424 ? 0 : syslog_time(s + i, n - i);
    if (t > 0) {
        j = skip_spaces(s, n, i + t);
        i = j;
        /* senders that leave out the host go straight to the tag: a host never ends in ':' */
        if (!is_tag(s + j, word_end(s, n, j) - j)) {
            *host = j;
            *host_len = word_end(s, n, j) - j;
            i = skip_spaces(s, n, j + *host_len);
        }
    }
    /* a program tag ("accesslogs:", "user2:") may come before the level word */
    j = word_end(s, n, i);
    if (is_tag(s + i, j - i) && !is_info(s + i, j - i))
        i = skip_spaces(s, n, j);
    j = word_end(s, n, i);
    if (is_info(s + i, j - i))
        i = skip_spaces(s, n, j);
    return i;
}

/* digits, optionally '.' and digits, then a space or the end */
static int is_epoch(const char *s, size_t n, size_t i)
{
    size_t j = i;

    while (j < n && is_digit(s[j]))
        j++;
    if (j == i)
        return 0;
    if (j < n && s[j] == '.') {
        size_t k = ++j;
        while (j < n && is_digit(s[j]))
            j++;
        if (j == k)
            return 0;
    }
    return j == n || ingest_is_space(s[j]);
}

/*
 * The last millisecond of the year 9999 (10000-01-01 is 253402300800 s after the epoch):
 * CTIM times are ISO 8601 with a four-digit year, so a later time cannot be answered.
 */
#define LATEST_TIME_MS 253402300799999LL

static int parse_time(const char *s, size_t n, int64_t *ms)
{
    int64_t sec = 0, frac = 0;
    size_t i = 0;
    int fd = 0;

    for (; i < n && s[i] != '.'; i++) {
        if (i >= 12)
            return -1;
        sec = sec * 10 + (s[i] - '0');
    }
    /* milliseconds: more decimals are cut, fewer are padded */
    for (i++; i < n && fd < 3; i++, fd++)
        frac = frac * 10 + (s[i] - '0');
    for (; fd < 3; fd++)
        frac *= 10;
    *ms = sec * 1000 + frac;
    return 0;
}

int ingest_parse_count(const char *s, size_t n, int64_t *out)
{
    int64_t v = 0;

    if (!all_digits(s, n) || n > 15)
        return -1;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    *out = v;
    return 0;
}

int ingest_parse_status(const char *s, size_t n, int *out)
{
    int neg = n > 0 && s[0] == '-';
    int v = 0;

    if (!all_digits(s + neg, n - (size_t)neg) || n - (size_t)neg > 4)
        return -1;
    for (size_t i = (size_t)neg; i < n; i++)
        v = v * 10 + (s[i] - '0');
    *out = neg ? -v : v;
    return 0;
}

int ingest_parse_epoch(const char *s, size_t n, int64_t *ms)
{
    if (n == 0 || !is_epoch(s, n, 0) || parse_time(s, n, ms) < 0)
        return -1;
    return *ms > LATEST_TIME_MS ? -2 : 0;
}

void ingest_hierarchy_fill(ingest_arena_t *a, const char *s, size_t n, ingest_rec_t *rec)
{
    const char *v = memchr(s, '/', n);

    if (v) {
        rec->hierarchy = ingest_arena_value(a, s, (size_t)(v - s));
        rec->hierarchy_host = ingest_arena_value(a, v + 1, n - (size_t)(v - s) - 1);
    } else {
        rec->hierarchy = ingest_arena_value(a, s, n);
        rec->warnings |= INGEST_WARN_VALUE;
    }
}

/* A tag naming a malware scanner decision: _AMW_ / _AMP_ inside or at the end. */
static int malware_tag(const char *tag)
{
    for (const char *p = tag ? strchr(tag, '_') : NULL; p; p = strchr(p + 1, '_'))
        if ((strncmp(p, "_AMW", 4) == 0 || strncmp(p, "_AMP", 4) == 0) &&
            (p[4] == '_' || p[4] == '\0'))
            return 1;
    return 0;
}

static void set_malware(ingest_rec_t *rec)
{
    /* "Unknown" is the scanners' name for verdict 0: nothing found */
    int named = rec->resp_verdict_name && strcasecmp(rec->resp_verdict_name, "Unknown") != 0;

    rec->malware = malware_tag(rec->acl_tag) || rec->amp_verdict > 3 || named;
}

static const char *const head_names[] = {"time",      "elapsed time", "client IP", "result code",
                                         "bytes",     "method",       "URL",       "user",
                                         "hierarchy", "MIME type"};
#define HEAD_FIELDS 10

/* The tokens after the MIME type: custom fields, ACL string, verdict block, tail. */
static ingest_line_kind_t parse_rest(const char *s, size_t n, size_t pos, ingest_arena_t *a,
                                     ingest_rec_t *rec, char *reason, size_t reasonlen)
{
    ingest_tok_t t, first = {0}, acl = {0}, prev = {0};
    int ntok = 0, rc;
    long end = -1;
    size_t block = 0;

    for (;;) {
        /* the block is measured by its own rules, not read as a token first */
        pos = skip_spaces(s, n, pos);
        if (pos < n && s[pos] == '<') {
            block = pos;
            end = ingest_block_end(s + pos, n - pos);
            if (end == INGEST_TOK_QUOTE)
                return reject(reason, reasonlen, "unterminated quote in verdict block");
            if (end == INGEST_BLOCK_OPEN)
                return reject(reason, reasonlen, "verdict block not closed by '>'");
            break;
        }
        rc = ingest_tok_next(s, n, &pos, &t);
        if (rc == INGEST_TOK_END)
            break;
        if (rc == INGEST_TOK_QUOTE)
            return reject(reason, reasonlen, "unterminated quote after the MIME type");
        if (ntok == 0)
            first = t;
        prev = acl;
        acl = t;
        ntok++;
    }

    if (end < 0) {
        /* no block: the default field order, ACL string first, then the user agent */
        rec->warnings |= INGEST_WARN_NO_VERDICT;
        rec->format = "squid-none";
        pos = first.end;
        if (ntok == 0) {
            rec->warnings |= INGEST_WARN_ACL;
            rec->action = INGEST_ACTION_ERROR;
            return INGEST_LINE_ACCESS;
        }
        acl = first;
    } else {
        if (ntok >= 2)
            rec->custom_pre = ingest_arena_dup(a, s + first.start, prev.end - first.start);
        ingest_verdict_parse(a, s + block + 1, (size_t)end - 1, rec);
        pos = block + (size_t)end + 1;
    }

    if (ntok > 0) {
        rec->acl_raw = ingest_arena_value(a, s + acl.start, acl.end - acl.start);
        if (rec->acl_raw)
            ingest_acl_parse(a, rec->acl_raw, strlen(rec->acl_raw), rec);
    }
    if (!rec->acl_raw) {
        rec->warnings |= INGEST_WARN_ACL;
        rec->action = INGEST_ACTION_ERROR;
    }

    /* the tail: the suspect user agent, then whatever the admin added */
    rc = ingest_tok_next(s, n, &pos, &t);
    if (rc == INGEST_TOK_QUOTE) {
        size_t from = skip_spaces(s, n, pos);
        rec->user_agent = ingest_arena_value(a, s + from, n - from);
        rec->warnings |= INGEST_WARN_VALUE;
    } else if (rc == INGEST_TOK_OK) {
        size_t from = skip_spaces(s, n, pos), to = n;
        rec->user_agent = ingest_arena_value(a, s + t.vstart, t.vend - t.vstart);
        while (to > from && ingest_is_space(s[to - 1]))
            to--;
        if (to > from)
            rec->custom_post = ingest_arena_dup(a, s + from, to - from);
    }
    return INGEST_LINE_ACCESS;
}

/* Checks the head fields 0-4 (time .. bytes) into `rec`; the client IP goes to `ip`. */
static int check_head(const char *s, ingest_tok_t t, int k, ingest_rec_t *rec, char *ip,
                      char *reason, size_t reasonlen)
{
    const char *v = s + t.start;
    size_t len = t.end - t.start;
    const char *sl;
    const char *why = NULL;

    switch (k) {
    case 0:
        if (parse_time(v, len, &rec->time_ms) < 0)
            why = "time out of range";
        else if (rec->time_ms > LATEST_TIME_MS)
            why = "time after the year 9999";
        break;
    case 1:
        if (ingest_parse_count(v, len, &rec->elapsed_ms) < 0)
            why = "bad elapsed time";
        break;
    case 2:
        if (ingest_ip_canon(v, len, ip) < 0)
            why = "bad client IP";
        break;
    case 3:
        sl = memchr(v, '/', len);
        if (!sl || sl == v)
            why = "no result code/HTTP status in";
        else if (ingest_parse_status(sl + 1, len - (size_t)(sl - v) - 1, &rec->http_status) < 0)
            why = "bad HTTP status in";
        break;
    default:
        if (ingest_parse_count(v, len, &rec->bytes) < 0)
            why = "bad byte count";
        break;
    }
    if (!why)
        return 0;
    reject(reason, reasonlen, "%s \"%.*s\"", why, SHOWN(s, t));
    return -1;
}

static ingest_line_kind_t parse_record(const char *s, size_t n, size_t pos, ingest_arena_t *a,
                                       ingest_rec_t *rec, char *reason, size_t reasonlen)
{
    ingest_tok_t t[HEAD_FIELDS];
    const char *v;
    char ip[46];
    size_t slash;

    /* each field is checked as soon as it is read, so a reason names the first bad one */
    for (int k = 0; k < HEAD_FIELDS; k++) {
        int rc = ingest_tok_next(s, n, &pos, &t[k]);
        if (rc == INGEST_TOK_QUOTE)
            return reject(reason, reasonlen, "unterminated quote in the %s field", head_names[k]);
        if (rc == INGEST_TOK_END)
            return reject(reason, reasonlen, "line ends before the %s field", head_names[k]);
        if (k < 5 && check_head(s, t[k], k, rec, ip, reason, reasonlen) < 0)
            return INGEST_LINE_REJECT;
    }
    /*
     * A transaction cannot have started before the epoch: such an elapsed time is garbled.
     * The end time is certain and kept; the duration is not, so it is 0 (start = end).
     */
    if (rec->elapsed_ms > rec->time_ms) {
        rec->elapsed_ms = 0;
        rec->warnings |= INGEST_WARN_VALUE;
    }
    rec->client_ip = ingest_arena_dup(a, ip, strlen(ip));
    v = memchr(s + t[3].start, '/', t[3].end - t[3].start);
    slash = (size_t)(v - s);
    rec->result_code = ingest_arena_dup(a, s + t[3].start, slash - t[3].start);

    rec->method = ingest_arena_value(a, s + t[5].start, t[5].end - t[5].start);

    rec->user_raw = ingest_arena_value(a, s + t[7].vstart, t[7].vend - t[7].vstart);
    if (rec->user_raw)
        ingest_user_split(a, rec->user_raw, strlen(rec->user_raw), rec);

    ingest_hierarchy_fill(a, s + t[8].start, t[8].end - t[8].start, rec);
    rec->mime = ingest_arena_value(a, s + t[9].vstart, t[9].vend - t[9].vstart);

    if (t[6].end - t[6].start == 1 && s[t[6].start] == '-') {
        if (rec->hierarchy_host)
            ingest_url_fill(a, "", 0, rec->hierarchy_host, rec);
    } else if (ingest_url_fill(a, s + t[6].start, t[6].end - t[6].start, rec->hierarchy_host, rec) <
               0) {
        rec->warnings |= INGEST_WARN_VALUE;
    }

    return parse_rest(s, n, pos, a, rec, reason, reasonlen);
}

static void rec_init(ingest_rec_t *rec)
{
    memset(rec, 0, sizeof(*rec));
    rec->amp_verdict = -1;
    rec->amp_score = -1;
}

void ingest_parser_set_format(ingest_parser_t *p, ingest_format_t format)
{
    p->format = format;
}

ingest_format_t ingest_parser_format(const ingest_parser_t *p)
{
    return p->format;
}

static int starts_with(const char *s, size_t n, const char *word)
{
    size_t wn = strlen(word);
    return n >= wn && memcmp(s, word, wn) == 0;
}

int ingest_is_w3c_start(const char *line, size_t len)
{
    size_t i = skip_spaces(line, len, 0);

    return starts_with(line + i, len - i, "#Version:") ||
           starts_with(line + i, len - i, "#Fields:");
}

/* A directive at s (already valid UTF-8): 1 taken, 0 not one, -1 unusable #Fields:. */
static int take_directive(ingest_parser_t *p, const char *s, size_t n, char *reason,
                          size_t reasonlen)
{
    if (n == 0 || s[0] != '#')
        return 0;
    if (!starts_with(s, n, "#Fields:"))
        return 1; /* #Version, #Date, #Software, #System, #Remark: nothing to keep */
    p->map_failed = ingest_w3c_fields(&p->w3c, s + 8, n - 8, reason, reasonlen) < 0;
    return p->map_failed ? -1 : 1;
}

int ingest_parser_directive(ingest_parser_t *p, const char *line, size_t len, char *reason,
                            size_t reasonlen)
{
    size_t n, i;

    if (reason && reasonlen > 0)
        reason[0] = '\0';
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
        len--;
    i = skip_spaces(line, len, 0);
    if (i >= len || line[i] != '#')
        return 0;
    if (len > MAX_LINE) {
        reject(reason, reasonlen, "directive longer than %d bytes", MAX_LINE);
        return -1;
    }
    if (reserve(p, 3 * len + 1) < 0) {
        reject(reason, reasonlen, "out of memory for a %zu-byte directive", len);
        return -1;
    }
    n = sanitize(line, len, p->buf);
    i = skip_spaces(p->buf, n, 0);
    return take_directive(p, p->buf + i, n - i, reason, reasonlen);
}

/* A line of a W3C source from `pos` on (after any syslog prefix). */
static ingest_line_kind_t parse_w3c_line(ingest_parser_t *p, size_t n, size_t pos,
                                         ingest_arena_t *a, ingest_rec_t *rec, char *reason,
                                         size_t reasonlen)
{
    int rc;

    if (pos >= n)
        return INGEST_LINE_SKIP;
    rc = take_directive(p, p->buf + pos, n - pos, reason, reasonlen);
    if (rc != 0)
        return rc > 0 ? INGEST_LINE_SKIP : INGEST_LINE_REJECT;
    if (p->w3c.ncols == 0)
        return reject(reason, reasonlen,
                      p->map_failed ? "W3C data line after a #Fields: line that could not be used"
                                    : "W3C data line before any #Fields: line");
    return ingest_w3c_parse(&p->w3c, p->buf, n, pos, a, rec, reason, reasonlen);
}

ingest_line_kind_t ingest_parse_line(ingest_parser_t *p, const char *line, size_t len,
                                     ingest_rec_t *rec, char *reason, size_t reasonlen)
{
    size_t n, pos, host = 0, host_len, text, extra = 0;
    ingest_arena_t a;
    ingest_line_kind_t kind;

    rec_init(rec);
    if (reason && reasonlen > 0)
        reason[0] = '\0';
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
        len--;
    if (len > MAX_LINE)
        return reject(reason, reasonlen, "line longer than %d bytes", MAX_LINE);
    if (p->format == INGEST_FORMAT_AUTO && skip_spaces(line, len, 0) < len)
        p->format = ingest_is_w3c_start(line, len) ? INGEST_FORMAT_W3C : INGEST_FORMAT_NATIVE;
    if (p->format == INGEST_FORMAT_W3C)
        extra = ingest_w3c_extra(&p->w3c);

    /* the sanitised copy takes up to 3 bytes a byte; the record's strings fit in four
     * times that (the URL is copied at most four times, everything else at most twice),
     * plus the names of a W3C line's custom fields */
    text = 3 * len + 1;
    if (reserve(p, text + 4 * text + 1024 + extra) < 0)
        return reject(reason, reasonlen, "out of memory for a %zu-byte line", len);
    n = sanitize(line, len, p->buf);
    a.base = p->buf + n + 1;
    a.cap = p->cap - (n + 1);
    a.len = 0;
    a.overflow = 0;

    pos = skip_prefix(p->buf, n, &host, &host_len);
    if (p->format == INGEST_FORMAT_W3C) {
        kind = parse_w3c_line(p, n, pos, &a, rec, reason, reasonlen);
    } else {
        if (pos >= n || !is_epoch(p->buf, n, pos))
            return INGEST_LINE_SKIP;
        kind = parse_record(p->buf, n, pos, &a, rec, reason, reasonlen);
    }
    if (kind != INGEST_LINE_ACCESS)
        return kind;
    if (host_len > 0)
        rec->syslog_host = ingest_arena_dup(&a, p->buf + host, host_len);
    if (a.overflow)
        return reject(reason, reasonlen, "record does not fit the parser buffer");
    set_malware(rec);
    return INGEST_LINE_ACCESS;
}
