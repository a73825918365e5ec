/*
 * syslog_rx_frame.c - cutting a TCP syslog stream into messages (RFC 6587).
 *
 * Senders use either framing and some switch between them, so each frame decides its own:
 * "LEN SP" followed by the '<' of a PRI is octet counting, anything else is a message that
 * runs to the next LF (or NUL, which some senders use). Requiring the '<' keeps a bare WSA
 * line ("1700000000.125 42 ...") from being read as a count. The buffer holds one message
 * at most: a longer one is cut at SYSLOG_RX_MAX_MSG bytes and the rest is dropped as it
 * arrives, so a sender cannot make the receiver hold more than that per connection.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "syslog_rx.h"

/* a count of at most 9 digits, its space and the '<' that follows it */
#define COUNT_DIGITS_MAX 9
#define BUF_CAP          (SYSLOG_RX_MAX_MSG + COUNT_DIGITS_MAX + 2)

enum { SKIP_NONE = 0, SKIP_LINE = 1, SKIP_COUNTED = 2 };

int syslog_rx_framer_init(syslog_rx_framer_t *fr)
{
    memset(fr, 0, sizeof(*fr));
    fr->buf = malloc(BUF_CAP);
    return fr->buf != NULL ? 0 : -1;
}

void syslog_rx_framer_free(syslog_rx_framer_t *fr)
{
    free(fr->buf);
    fr->buf = NULL;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Drops what is left of an oversize message from p[0..n); returns the bytes taken. */
static size_t skip(syslog_rx_framer_t *fr, const char *p, size_t n)
{
    size_t take = 0;

    if (fr->skipping == SKIP_COUNTED) {
        take = (int64_t)n < fr->skip_left ? n : (size_t)fr->skip_left;
        fr->skip_left -= (int64_t)take;
        if (fr->skip_left == 0)
            fr->skipping = SKIP_NONE;
    } else if (fr->skipping == SKIP_LINE) {
        for (; take < n; take++) {
            if (p[take] == '\n' || p[take] == '\0') {
                take++;
                fr->skipping = SKIP_NONE;
                break;
            }
        }
    }
    fr->consumed += take;
    return take;
}

static int emit(syslog_rx_framer_t *fr, syslog_rx_frame_kind_t kind, const char *data, size_t len,
                int64_t declared, size_t frame_bytes, syslog_rx_frame_cb cb, void *ctx)
{
    syslog_rx_frame_t f = {.kind = kind,
                           .data = data,
                           .len = len,
                           .declared = declared,
                           .consumed = fr->consumed + frame_bytes,
                           .gap = fr->consumed};

    fr->consumed = 0;
    return cb(&f, ctx) == 0 ? 0 : -1;
}

/*
 * An octet count at b[0..n) (b[0] is a digit). Returns 1 with the count and the header's
 * length when it is one, 0 when it is not (a delimited message), -1 when more bytes must
 * arrive to tell, -2 when it is a broken count.
 */
static int counted(syslog_rx_framer_t *fr, const char *b, size_t n, int64_t *count, size_t *hdr)
{
    size_t j = 0;
    int64_t v = 0;

    while (j < n && is_digit(b[j]) && j <= COUNT_DIGITS_MAX)
        v = v * 10 + (b[j++] - '0');
    if (j > COUNT_DIGITS_MAX)
        return 0;
    if (j == n || (b[j] == ' ' && j + 1 == n))
        return -1;
    if (b[j] != ' ' || b[j + 1] != '<')
        return 0;
    if (b[0] == '0' || v > SYSLOG_RX_MAX_COUNTED) {
        snprintf(fr->why, sizeof(fr->why), "octet count \"%.*s\" %s", (int)j, b,
                 b[0] == '0' ? "starts with a zero" : "is larger than the limit of 16 MiB");
        return -2;
    }
    *count = v;
    *hdr = j + 1;
    return 1;
}

/* Takes every whole frame out of the buffer and keeps the incomplete rest at its start. */
static int drain(syslog_rx_framer_t *fr, syslog_rx_frame_cb cb, void *ctx)
{
    size_t pos = 0;
    int rc = 0;

    while (rc == 0) {
        const char *b = fr->buf + pos, *end;
        size_t n = fr->len - pos, hdr = 0;
        int64_t count = 0;
        int c;

        if (fr->skipping != SKIP_NONE) {
            pos += skip(fr, b, n);
            if (fr->skipping != SKIP_NONE)
                break;
            continue;
        }
        if (n == 0)
            break;
        /* the LF that ends each message, a CR before it, a NUL: no message between them */
        if (b[0] == '\n' || b[0] == '\r' || b[0] == '\0') {
            fr->consumed++;
            pos++;
            continue;
        }
        c = is_digit(b[0]) ? counted(fr, b, n, &count, &hdr) : 0;
        if (c == -2)
            return -2;
        if (c == -1)
            break;
        if (c == 1) {
            size_t have = n - hdr;
            if (count <= SYSLOG_RX_MAX_MSG) {
                if (have < (size_t)count)
                    break;
                rc = emit(fr, SYSLOG_RX_FRAME_OK, b + hdr, (size_t)count, count,
                          hdr + (size_t)count, cb, ctx);
                pos += hdr + (size_t)count;
            } else {
                if (have < SYSLOG_RX_MAX_MSG)
                    break;
                rc = emit(fr, SYSLOG_RX_FRAME_OVERSIZE, b + hdr, SYSLOG_RX_MAX_MSG, count,
                          hdr + SYSLOG_RX_MAX_MSG, cb, ctx);
                pos += hdr + SYSLOG_RX_MAX_MSG;
                fr->skipping = SKIP_COUNTED;
                fr->skip_left = count - SYSLOG_RX_MAX_MSG;
            }
            continue;
        }
        end = b;
        while (end < b + n && *end != '\n' && *end != '\0')
            end++;
        if (end < b + n && (size_t)(end - b) <= SYSLOG_RX_MAX_MSG) {
            size_t mlen = (size_t)(end - b);
            /* a CR before the LF is a CR LF sender's line end, not part of its message */
            if (*end == '\n' && mlen > 0 && b[mlen - 1] == '\r')
                mlen--;
            rc = emit(fr, SYSLOG_RX_FRAME_OK, b, mlen, -1, (size_t)(end - b) + 1, cb, ctx);
            pos += (size_t)(end - b) + 1;
        } else if (n > SYSLOG_RX_MAX_MSG) {
            rc = emit(fr, SYSLOG_RX_FRAME_OVERSIZE, b, SYSLOG_RX_MAX_MSG, -1, SYSLOG_RX_MAX_MSG, cb,
                      ctx);
            pos += SYSLOG_RX_MAX_MSG;
            fr->skipping = SKIP_LINE;
        } else {
            break;
        }
    }
    memmove(fr->buf, fr->buf + pos, fr->len - pos);
    fr->len -= pos;
    return rc;
}

int syslog_rx_framer_feed(syslog_rx_framer_t *fr, const char *data, size_t len,
                          syslog_rx_frame_cb cb, void *ctx)
{
    while (len > 0) {
        size_t take;
        int rc;

        if (fr->skipping != SKIP_NONE && fr->len == 0) {
            /* dropped bytes need not pass through the buffer */
            take = skip(fr, data, len);
            data += take;
            len -= take;
            continue;
        }
        take = BUF_CAP - fr->len < len ? BUF_CAP - fr->len : len;
        memcpy(fr->buf + fr->len, data, take);
        fr->len += take;
        data += take;
        len -= take;
        if ((rc = drain(fr, cb, ctx)) != 0)
            return rc;
    }
    return 0;
}

int syslog_rx_framer_finish(syslog_rx_framer_t *fr, syslog_rx_frame_cb cb, void *ctx)
{
    int64_t count = 0;
    size_t hdr = 0, n = fr->len;
    int c, rc;

    if (fr->skipping != SKIP_NONE || n == 0)
        return 0;
    c = is_digit(fr->buf[0]) ? counted(fr, fr->buf, n, &count, &hdr) : 0;
    if (c == -2)
        return -2;
    if (c == 1)
        rc = emit(fr, SYSLOG_RX_FRAME_CUT, fr->buf + hdr, n - hdr, count, n, cb, ctx);
    else
        rc = emit(fr, SYSLOG_RX_FRAME_OK, fr->buf, n, -1, n, cb, ctx);
    fr->len = 0;
    return rc;
}
