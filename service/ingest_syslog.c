/*
 * ingest_syslog.c - the RFC 5424 syslog header in front of a WSA record.
 *
 * "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG": the header's fields
 * are single words ("-" when absent); structured data is "-" or one or more
 * "[id name="value" ...]" elements, where a value may hold spaces and the escapes \" \\ \].
 * MSG may start with the UTF-8 byte order mark. The appliance's name is HOSTNAME.
 */
#include "ingest_priv.h"

#define MAX_HOSTNAME 255

static size_t word_end(const char *s, size_t n, size_t i)
{
    while (i < n && s[i] != ' ')
        i++;
    return i;
}

/* One "[...]" element at s[i] == '['; returns the index after its ']' or 0 when broken. */
static size_t sd_element(const char *s, size_t n, size_t i)
{
    int quoted = 0;

    for (i++; i < n; i++) {
        if (quoted && s[i] == '\\' && i + 1 < n)
            i++;
        else if (s[i] == '"')
            quoted = !quoted;
        else if (!quoted && s[i] == ']')
            return i + 1;
    }
    return 0;
}

size_t ingest_syslog_5424(const char *s, size_t n, size_t i, size_t *host, size_t *host_len)
{
    size_t start[5], end[5];

    /* VERSION: 1 to 2 digits, not starting with 0 (this is "1"), then a space: a native
     * record's epoch right after the PRI is longer and has a dot */
    if (i >= n || s[i] < '1' || s[i] > '9')
        return 0;
    i++;
    if (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i >= n || s[i] != ' ')
        return 0;
    i++;
    /* TIMESTAMP HOSTNAME APP-NAME PROCID MSGID: each one non-empty word */
    for (int f = 0; f < 5; f++) {
        start[f] = i;
        end[f] = word_end(s, n, i);
        if (end[f] == start[f] || end[f] >= n)
            return 0;
        i = end[f] + 1;
    }
    /* a timestamp is "-" or starts with a four-digit year and a dash */
    if (!(end[0] - start[0] == 1 && s[start[0]] == '-') &&
        !(end[0] - start[0] >= 10 && s[start[0] + 4] == '-'))
        return 0;
    if (i >= n)
        return 0;
    if (s[i] == '-') {
        i++;
    } else if (s[i] == '[') {
        while (i < n && s[i] == '[') {
            i = sd_element(s, n, i);
            if (i == 0)
                return 0;
        }
    } else {
        return 0;
    }
    if (i < n && s[i] != ' ')
        return 0;
    if (i < n)
        i++;
    if (n - i >= 3 && (unsigned char)s[i] == 0xef && (unsigned char)s[i + 1] == 0xbb &&
        (unsigned char)s[i + 2] == 0xbf)
        i += 3;
    *host_len = 0;
    if (!(end[1] - start[1] == 1 && s[start[1]] == '-') && end[1] - start[1] <= MAX_HOSTNAME) {
        *host = start[1];
        *host_len = end[1] - start[1];
    }
    return i;
}
