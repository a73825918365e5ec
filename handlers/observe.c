/*
 * observe.c - /observe/observables: the transactions that involve each observable, as
 * sightings, and the verdicts the appliance's own decisions support.
 *
 * A reply holds at most HTTP_MAX_REPLY_SIGHTINGS sightings and is built within the request
 * budget: whatever stops it, what is ready is answered with a warning that says why.
 */
#include <stdio.h>
#include <stdlib.h>
#include "ctim.h"
#include "enrich.h"
#include "util.h"

typedef struct observe_ctx {
    const obs_t *o;
    json_t *docs;
    json_t *by_id; /* sighting id -> the sighting in docs */
    http_quota_t *quota;
    int failed; /* out of memory while building */
} observe_ctx_t;

/*
 * A transaction found through several of the queried observables (its URL and its hash,
 * say) is one sighting listing them all: its id is the transaction's, and two entities with
 * one id in a reply would contradict each other. Only a new sighting counts against the cap.
 */
static int on_row(const store_row_t *row, void *arg)
{
    observe_ctx_t *ctx = arg;
    char id[CTIM_SIGHTING_ID_LEN];
    json_t *s, *seen;

    /* the store's deadline covers its queries; this covers building what they return */
    if (!http_quota_in_time(ctx->quota, util_monotonic_ms()))
        return 1;
    if (ctim_sighting_id(row, id) != 0)
        goto fail;
    seen = json_object_get(ctx->by_id, id);
    if (seen != NULL) {
        if (ctim_sighting_add_observable(seen, ctx->o) != 0)
            goto fail;
        return 0;
    }
    if (!http_quota_admit(ctx->quota))
        return 1;
    s = ctim_sighting(row, ctx->o);
    /* docs owns the sighting before the index refers to it */
    if (json_array_append_new(ctx->docs, s) != 0 || json_object_set(ctx->by_id, id, s) != 0)
        goto fail;
    return 0;

fail:
    ctx->failed = 1;
    return 1;
}

static void warn_more(http_call_t *call, const obs_t *o, int limit)
{
    char *msg = NULL;

    if (asprintf(&msg,
                 "There are more sightings of %s %s than the limit of %d; the newest %d are "
                 "shown.",
                 obs_type_name(o->type), o->value, limit, limit) < 0)
        return;
    http_add_warning(call, "too many sightings", msg);
    free(msg);
}

static void warn_cut(http_call_t *call, const obs_t *o)
{
    char *msg = NULL;

    if (asprintf(&msg,
                 "The reply was cut at %d sightings: %s %s and the observables after it may "
                 "have more. Ask about fewer observables at once.",
                 HTTP_MAX_REPLY_SIGHTINGS, obs_type_name(o->type), o->value) < 0)
        return;
    http_add_warning(call, "too many sightings", msg);
    free(msg);
}

/*
 * The sightings (while the reply has room) and the verdict of one observable. Returns 0,
 * 1 when the budget ran out before it was answered, -1 when the store failed.
 */
static int observe_one(http_call_t *call, const obs_t *o, http_quota_t *quota, json_t *sightings,
                       json_t *by_id, json_t *verdicts, int64_t now)
{
    int limit = call->claims.entities_limit;
    observe_ctx_t ctx = {.o = o, .docs = sightings, .by_id = by_id, .quota = quota};
    int more = 0;

    if (!http_quota_in_time(quota, util_monotonic_ms()))
        return 1;
    /* once the reply is full, the remaining observables still get their verdicts: at most
     * one each, and the most telling part of the answer */
    if (!quota->full) {
        if (store_sightings(call->worker->store, o, limit, on_row, &ctx, &more) < 0 || ctx.failed)
            return -1;
        if (quota->late)
            return 1;
        if (quota->full)
            warn_cut(call, o);
        else if (more)
            warn_more(call, o, limit);
    }
    return handle_verdict(call, o, now, verdicts) == 0 ? 0 : -1;
}

int handle_observe(http_call_t *call)
{
    store_t *st = call->worker->store;
    int64_t now = util_now_ms();
    http_quota_t quota = http_quota_init(HTTP_MAX_REPLY_SIGHTINGS, call->deadline_ms);
    http_obs_list_t list;
    json_t *sightings, *verdicts, *by_id;
    size_t i;
    int rc = 0, timed_out = 0;

    if (http_read_observables_or_reply(call, &list) != 0)
        return 0;
    sightings = json_array();
    verdicts = json_array();
    by_id = json_object();

    store_set_deadline(st, call->deadline_ms);
    for (i = 0; i < list.n && rc == 0; i++)
        rc = observe_one(call, &list.items[i], &quota, sightings, by_id, verdicts, now);
    if (rc != 0)
        timed_out = rc == 1 || store_interrupted(st);
    store_set_deadline(st, 0);
    json_decref(by_id);

    if (rc != 0) {
        /* the observable that stopped the loop is not counted as answered */
        handle_store_failed(call, handle_enrich_data(sightings, verdicts), timed_out, i - 1,
                            list.n);
        return 0;
    }
    http_reply_data(call, handle_enrich_data(sightings, verdicts));
    return 0;
}
