/*
 * ingest_verdict.c - the scanning verdict block between < and >.
 *
 * The layout is chosen by the number of fields (wsa-logs.md 1.5): 17 is the 6.x layout, 32
 * the 7.x layout (the 38-field layout without its AMP fields), 38 the documented 8.x-11.5
 * layout, 43 to 45 the 11.7+ layout with one field inserted at 23. Any other size keeps
 * only the two fields that every era puts first (category and WBRS), with a warning, and
 * the whole block raw.
 *
 * The 15-field block is known only from the Sentinel sample, where every field past the
 * WBRS score is empty or a bare 0. It is read as the 6.x layout without its last two
 * fields (the request- and response-side categories): category, WBRS, five Webroot, six
 * McAfee fields and the two DLP verdicts. UNVERIFIED: no Cisco source shows this size;
 * only fields 1 and 2, which every era puts first, are taken from it.
 */
#include <string.h>
#include "ingest_priv.h"

/* 1-based positions of the fields kept, per layout; 0 where the layout has no such field. */
typedef struct layout {
    const char *format;
    int resp_verdict, category_full, threat_type, avc_app, amp_verdict, amp_name, amp_score,
        amp_file, sha;
} layout_t;

/* 6.x: category, WBRS, then scanner verdicts and categories that no record field holds */
static const layout_t layout_15 = {"squid-15", 0, 0, 0, 0, 0, 0, 0, 0, 0};
static const layout_t layout_17 = {"squid-17", 0, 0, 0, 0, 0, 0, 0, 0, 0};
static const layout_t layout_32 = {"squid-32", 22, 0, 23, 24, 0, 0, 0, 0, 0};
static const layout_t layout_a = {"squid-38", 22, 0, 23, 24, 33, 34, 35, 37, 38};
static const layout_t layout_b[3] = {
    {"squid-43", 22, 23, 24, 25, 34, 35, 36, 38, 39},
    {"squid-44", 22, 23, 24, 25, 34, 35, 36, 38, 39},
    {"squid-45", 22, 23, 24, 25, 34, 35, 36, 38, 39},
};

typedef struct block {
    const char *s;
    const ingest_csv_t *csv;
    ingest_arena_t *a;
} block_t;

static const char *field(const block_t *b, int pos)
{
    int i = pos - 1;

    if (pos <= 0 || i >= b->csv->count || i >= INGEST_MAX_VERDICT)
        return NULL;
    return ingest_arena_value(b->a, b->s + b->csv->vstart[i], b->csv->vend[i] - b->csv->vstart[i]);
}

int ingest_small_int(const char *s, size_t n)
{
    int v = 0;

    if (n == 0 || (n == 1 && s[0] == '-'))
        return -1;
    if (n > 6)
        return -2;
    for (size_t k = 0; k < n; k++) {
        if (s[k] < '0' || s[k] > '9')
            return -2;
        v = v * 10 + (s[k] - '0');
    }
    return v;
}

static int small_int(const block_t *b, int pos)
{
    int i = pos - 1;

    if (i < 0 || i >= b->csv->count)
        return -1;
    return ingest_small_int(b->s + b->csv->vstart[i], b->csv->vend[i] - b->csv->vstart[i]);
}

/* -10 .. 10 with an optional fraction; anything else is not a score. */
static int wbrs_value(const char *s, double *out)
{
    const char *p = s;
    double v = 0, scale = 0.1;
    int neg = 0, digits = 0;

    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    while (*p >= '0' && *p <= '9' && digits < 3) {
        v = v * 10 + (*p++ - '0');
        digits++;
    }
    if (digits == 0)
        return -1;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return -1;
        while (*p >= '0' && *p <= '9' && scale > 1e-4) {
            v += (*p++ - '0') * scale;
            scale /= 10;
        }
    }
    if (*p != '\0' || v > 10.0)
        return -1;
    *out = neg ? -v : v;
    return 0;
}

void ingest_wbrs_set(const char *raw, ingest_rec_t *rec)
{
    rec->wbrs_raw = raw;
    if (!rec->wbrs_raw || strcmp(rec->wbrs_raw, "ns") == 0)
        return;
    if (wbrs_value(rec->wbrs_raw, &rec->wbrs) == 0)
        rec->has_wbrs = 1;
    else
        rec->warnings |= INGEST_WARN_WBRS;
}

void ingest_sha_set(ingest_arena_t *a, const char *s, size_t n, ingest_rec_t *rec)
{
    char hex[65];

    if (n == 0 || (n == 1 && s[0] == '-'))
        return;
    if (n != 64) {
        rec->warnings |= INGEST_WARN_SHA256;
        return;
    }
    for (size_t k = 0; k < 64; k++) {
        char c = s[k];
        if (c >= 'A' && c <= 'F')
            c = (char)(c + 32);
        else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            rec->warnings |= INGEST_WARN_SHA256;
            return;
        }
        hex[k] = c;
    }
    rec->sha256 = ingest_arena_dup(a, hex, 64);
}

static void set_sha(const block_t *b, int pos, ingest_rec_t *rec)
{
    int i = pos - 1;

    if (i < 0 || i >= b->csv->count)
        return;
    ingest_sha_set(b->a, b->s + b->csv->vstart[i], b->csv->vend[i] - b->csv->vstart[i], rec);
}

static int set_int(const block_t *b, int pos, ingest_rec_t *rec)
{
    int v = small_int(b, pos);

    if (v == -2) {
        rec->warnings |= INGEST_WARN_VALUE;
        return -1;
    }
    return v;
}

void ingest_verdict_parse(ingest_arena_t *a, const char *s, size_t n, ingest_rec_t *rec)
{
    ingest_csv_t csv;
    block_t b = {s, &csv, a};
    const layout_t *l = NULL;

    ingest_csv_split(s, n, &csv);
    rec->verdict_fields = csv.count;
    rec->verdict_raw = ingest_arena_dup(a, s, n);

    /* a field with broken quoting still ends at the next comma, so the positions of the
     * others hold; the broken value itself is only in verdict_raw */
    if (csv.bad >= 0)
        rec->warnings |= INGEST_WARN_VALUE;
    if (csv.count == 15)
        l = &layout_15;
    else if (csv.count == 17)
        l = &layout_17;
    else if (csv.count == 32)
        l = &layout_32;
    else if (csv.count == 38)
        l = &layout_a;
    else if (csv.count >= 43 && csv.count <= 45)
        l = &layout_b[csv.count - 43];

    if (!l) {
        rec->format = "squid-other";
        rec->warnings |= INGEST_WARN_VERDICT_LAYOUT;
        if (csv.bad < 0 || csv.bad >= 1)
            rec->category = field(&b, 1);
        if (csv.bad < 0 || csv.bad >= 2)
            ingest_wbrs_set(field(&b, 2), rec);
        return;
    }

    rec->format = l->format;
    rec->category = field(&b, 1);
    ingest_wbrs_set(field(&b, 2), rec);
    rec->resp_verdict_name = field(&b, l->resp_verdict);
    rec->category_full = field(&b, l->category_full);
    rec->threat_type = field(&b, l->threat_type);
    if (l->avc_app > 0) {
        rec->avc_app = field(&b, l->avc_app);
        rec->avc_type = field(&b, l->avc_app + 1);
        rec->avc_behavior = field(&b, l->avc_app + 2);
    }
    rec->amp_verdict = set_int(&b, l->amp_verdict, rec);
    rec->amp_threat_name = field(&b, l->amp_name);
    rec->amp_score = set_int(&b, l->amp_score, rec);
    rec->amp_file_name = field(&b, l->amp_file);
    set_sha(&b, l->sha, rec);
}
