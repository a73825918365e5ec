/*
 * ingest_token.c - the output arena and the quote-aware splitting of a line: tokens of
 * the space-separated head and tail, the extent of the verdict block, and its CSV fields.
 */
#include <string.h>
#include "ingest_priv.h"

const char *ingest_arena_dup(ingest_arena_t *a, const char *s, size_t n)
{
    char *d;

    if (a->cap - a->len < n + 1) {
        a->overflow = 1;
        return NULL;
    }
    d = a->base + a->len;
    memcpy(d, s, n);
    d[n] = '\0';
    a->len += n + 1;
    return d;
}

const char *ingest_arena_value(ingest_arena_t *a, const char *s, size_t n)
{
    /* the log writes an empty value as -, quoted or not, depending on the field */
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s++;
        n -= 2;
    }
    if (n == 0 || (n == 1 && s[0] == '-'))
        return NULL;
    return ingest_arena_dup(a, s, n);
}

const char *ingest_arena_lower(ingest_arena_t *a, const char *s, size_t n)
{
    char *d;

    if (a->cap - a->len < n + 1) {
        a->overflow = 1;
        return NULL;
    }
    d = a->base + a->len;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        d[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    d[n] = '\0';
    a->len += n + 1;
    return d;
}

/*
 * The bytes that end a run of plain text: in a token a space, a tab or a quote; in a
 * verdict block its end or a quote; in a block field a comma or a quote. One table look-up
 * a byte instead of two or three comparisons: these loops are most of the parser's time.
 */
static const unsigned char tok_stop[256] = {['\t'] = 1, [' '] = 1, ['"'] = 1};
static const unsigned char block_stop[256] = {['>'] = 1, ['"'] = 1};
static const unsigned char field_stop[256] = {[','] = 1, ['"'] = 1};

int ingest_tok_next(const char *s, size_t n, size_t *pos, ingest_tok_t *t)
{
    size_t i = *pos;

    while (i < n && ingest_is_space(s[i]))
        i++;
    if (i >= n) {
        *pos = n;
        return INGEST_TOK_END;
    }
    t->start = i;
    for (;;) {
        const char *q;

        while (i < n && !tok_stop[(unsigned char)s[i]])
            i++;
        if (i >= n || s[i] != '"')
            break;
        /* a quote hides the spaces up to the next one */
        q = memchr(s + i + 1, '"', n - i - 1);
        if (!q)
            return INGEST_TOK_QUOTE;
        i = (size_t)(q - s) + 1;
    }
    t->end = i;
    t->vstart = t->start;
    t->vend = t->end;
    if (t->end - t->start >= 2 && s[t->start] == '"' && s[t->end - 1] == '"') {
        t->vstart++;
        t->vend--;
    }
    *pos = i;
    return INGEST_TOK_OK;
}

long ingest_block_end(const char *s, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        const char *q;

        while (i < n && !block_stop[(unsigned char)s[i]])
            i++;
        if (i >= n)
            break;
        if (s[i] == '>')
            return (long)i;
        q = memchr(s + i + 1, '"', n - i - 1);
        if (!q)
            return INGEST_TOK_QUOTE;
        i = (size_t)(q - s);
    }
    return INGEST_BLOCK_OPEN;
}

void ingest_csv_split(const char *s, size_t n, ingest_csv_t *out)
{
    size_t i = 0;

    out->count = 0;
    out->bad = -1;
    for (;;) {
        size_t vs, ve;
        int idx = out->count;

        if (i < n && s[i] == '"') {
            /* quoted: runs to the next quote, which must end the field */
            const char *q = memchr(s + i + 1, '"', n - i - 1);
            vs = i + 1;
            ve = q ? (size_t)(q - s) : n;
            i = ve < n ? ve + 1 : n;
            if ((ve >= n || (i < n && s[i] != ',')) && out->bad < 0)
                out->bad = idx;
            /* a broken field still ends at the next comma, as a counting reader sees it */
            while (i < n && s[i] != ',')
                i++;
        } else {
            vs = i;
            for (;;) {
                while (i < n && !field_stop[(unsigned char)s[i]])
                    i++;
                if (i >= n || s[i] == ',')
                    break;
                /* a quote inside a bare field */
                if (out->bad < 0)
                    out->bad = idx;
                i++;
            }
            ve = i;
        }
        if (idx < INGEST_MAX_VERDICT) {
            out->vstart[idx] = vs;
            out->vend[idx] = ve;
        }
        out->count++;
        if (i >= n)
            break;
        i++; /* the comma */
    }
}
