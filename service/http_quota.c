/*
 * http_quota.c - when a handler stops building a reply: at a number of sightings, or when
 * the request's time budget runs out.
 */
#include "http.h"

http_quota_t http_quota_init(size_t max, int64_t deadline_ms)
{
    http_quota_t q = {.max = max, .deadline_ms = deadline_ms};

    return q;
}

int http_quota_in_time(http_quota_t *q, int64_t now_ms)
{
    if (!q->late && now_ms >= q->deadline_ms)
        q->late = 1;
    return !q->late;
}

int http_quota_admit(http_quota_t *q)
{
    if (q->full || q->used >= q->max) {
        q->full = 1;
        return 0;
    }
    q->used++;
    return 1;
}
