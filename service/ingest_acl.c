/*
 * ingest_acl.c - the ACL decision string: its tag, the policy names by part count, and
 * the action the tag stands for (wsa-logs.md 1.4 and 4.1).
 */
#include <string.h>
#include "ingest_priv.h"

const char *ingest_action_name(ingest_action_t action)
{
    switch (action) {
    case INGEST_ACTION_ALLOWED:
        return "allowed";
    case INGEST_ACTION_MONITORED:
        return "monitored";
    case INGEST_ACTION_WARNED:
        return "warned";
    case INGEST_ACTION_BLOCKED:
        return "blocked";
    case INGEST_ACTION_DROPPED:
        return "dropped";
    case INGEST_ACTION_ERROR:
        return "error";
    }
    return "error";
}

static int has_prefix(const char *s, size_t n, const char *prefix)
{
    size_t pn = strlen(prefix);
    return n >= pn && memcmp(s, prefix, pn) == 0;
}

static int is_exact(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && memcmp(s, word, n) == 0;
}

static ingest_action_t tag_action(const char *t, size_t n)
{
    /* the warn page shows as a block the user may click through */
    if (has_prefix(t, n, "BLOCK_CONTINUE_"))
        return INGEST_ACTION_WARNED;
    if (has_prefix(t, n, "BLOCK_") || is_exact(t, n, "NO_AUTHORIZATION") ||
        is_exact(t, n, "NO_PASSWORD"))
        return INGEST_ACTION_BLOCKED;
    if (has_prefix(t, n, "MONITOR_"))
        return INGEST_ACTION_MONITORED;
    if (has_prefix(t, n, "DROP_"))
        return INGEST_ACTION_DROPPED;
    if (is_exact(t, n, "DEFAULT_CASE") || has_prefix(t, n, "ALLOW_") ||
        has_prefix(t, n, "PASSTHRU_") || has_prefix(t, n, "DECRYPT_") ||
        has_prefix(t, n, "REDIRECT_") || is_exact(t, n, "SAAS_AUTH"))
        return INGEST_ACTION_ALLOWED;
    /* OTHER (transaction not completed) and any tag we do not know: nothing says the
     * request went through */
    return INGEST_ACTION_ERROR;
}

/* Length of the tag without the proxy's internal "_<n>" suffix. */
static size_t tag_length(const char *t, size_t n)
{
    size_t i = n;

    while (i > 0 && t[i - 1] >= '0' && t[i - 1] <= '9')
        i--;
    if (i < n && i > 1 && t[i - 1] == '_')
        return i - 1;
    return n;
}

void ingest_acl_parse(ingest_arena_t *a, const char *acl, size_t n, ingest_rec_t *rec)
{
    const char *part[9];
    size_t plen[9];
    int np = 0;
    size_t start = 0;
    const char **slot6[] = {&rec->access_policy, &rec->identity_policy, &rec->dlp_policy,
                            &rec->ext_dlp_policy, &rec->routing_policy};
    const char **slot7[] = {&rec->access_policy, &rec->identity_policy, &rec->malware_policy,
                            &rec->dlp_policy,    &rec->ext_dlp_policy,  &rec->routing_policy,
                            &rec->tap_policy};

    for (size_t i = 0; i <= n; i++) {
        if (i == n || acl[i] == '-') {
            if (np < 9) {
                part[np] = acl + start;
                plen[np] = i - start;
            }
            np++;
            start = i + 1;
        }
    }

    if (plen[0] > 0) {
        size_t tl = tag_length(part[0], plen[0]);
        rec->acl_tag = ingest_arena_dup(a, part[0], tl);
        rec->action = tag_action(part[0], tl);
    } else {
        rec->action = INGEST_ACTION_ERROR;
    }

    if (np == 6) {
        for (int k = 0; k < 5; k++)
            *slot6[k] = ingest_arena_value(a, part[k + 1], plen[k + 1]);
    } else if (np == 7 || np == 8) {
        for (int k = 0; k < np - 1; k++)
            *slot7[k] = ingest_arena_value(a, part[k + 1], plen[k + 1]);
    } else {
        rec->warnings |= INGEST_WARN_ACL;
    }
}
