/*
 * ctim.c - CTIM vocabulary, string limits and verdicts.
 */
#include <stdlib.h>
#include <string.h>
#include "ctim.h"
#include "util.h"

const char *ctim_resolution(const char *action)
{
    if (action == NULL)
        return "detected";
    if (strcmp(action, "allowed") == 0)
        return "allowed";
    if (strcmp(action, "blocked") == 0 || strcmp(action, "dropped") == 0)
        return "blocked";
    /* monitored, warned and error: the appliance saw it and neither passed nor stopped it
     * cleanly, which CTIM calls detected (also its default) */
    return "detected";
}

const char *ctim_disposition_name(int disposition)
{
    static const char *const names[] = {NULL,         "Clean",  "Malicious",
                                        "Suspicious", "Common", "Unknown"};

    if (disposition < 1 || disposition > 5)
        return NULL;
    return names[disposition];
}

size_t ctim_utf8_prefix(const char *s, size_t len, size_t max)
{
    size_t n;

    if (len <= max)
        return len;
    n = max;
    /* back off to the start of the character that would be split */
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return n;
}

const char *ctim_ip_type(const char *addr)
{
    return strchr(addr, ':') != NULL ? "ipv6" : "ip";
}

json_t *ctim_observable(const char *type, const char *value)
{
    if (type == NULL || value == NULL)
        return NULL;
    return json_pack("{s:s, s:s}", "type", type, "value", value);
}

json_t *ctim_docs(json_t *docs)
{
    size_t n = json_array_size(docs);

    return json_pack("{s:I, s:o}", "count", (json_int_t)n, "docs", docs);
}

char *ctim_code_block(const char *text, size_t max)
{
    static const char ellipsis[] = "\xe2\x80\xa6"; /* U+2026 */
    size_t len = strlen(text), run = 0, longest = 0, fence, room, keep, o = 0;
    int cut;
    char *out;

    for (size_t i = 0; i < len; i++) {
        run = text[i] == '`' ? run + 1 : 0;
        if (run > longest)
            longest = run;
    }
    fence = longest < 3 ? 3 : longest + 1;
    /* the fences, and a newline after the opening one and before the closing one */
    if (max < 2 * fence + 2 + sizeof(ellipsis) - 1)
        return NULL;
    room = max - (2 * fence + 2);
    cut = len > room;
    keep = cut ? ctim_utf8_prefix(text, len, room - (sizeof(ellipsis) - 1)) : len;

    out = malloc(2 * fence + 2 + keep + sizeof(ellipsis));
    if (out == NULL)
        return NULL;
    memset(out, '`', fence);
    o = fence;
    out[o++] = '\n';
    memcpy(out + o, text, keep);
    o += keep;
    if (cut) {
        memcpy(out + o, ellipsis, sizeof(ellipsis) - 1);
        o += sizeof(ellipsis) - 1;
    }
    out[o++] = '\n';
    memset(out + o, '`', fence);
    o += fence;
    out[o] = '\0';
    return out;
}

json_t *ctim_verdict(const obs_t *o, int disposition, int64_t latest_ms, int verdict_days,
                     int64_t now_ms)
{
    const char *name = ctim_disposition_name(disposition);
    int64_t end_ms = latest_ms + (int64_t)verdict_days * CTIM_MS_PER_DAY;
    char start[UTIL_ISO_TIME_LEN], end[UTIL_ISO_TIME_LEN];

    if (name == NULL || end_ms <= now_ms)
        return NULL;
    util_iso_time(latest_ms, start);
    util_iso_time(end_ms, end);
    return json_pack("{s:s, s:i, s:s, s:{s:s, s:s}, s:{s:s, s:s}}", "type", "verdict",
                     "disposition", disposition, "disposition_name", name, "observable", "type",
                     obs_type_name(o->type), "value", o->value, "valid_time", "start_time", start,
                     "end_time", end);
}
