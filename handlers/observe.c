/*
 * observe.c - /observe/observables: the transactions that involve each observable, as
 * sightings, and the verdicts the appliance's own decisions support.
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
    int failed;    /* out of memory while building */
} observe_ctx_t;

/*
 * A transaction found through several of the queried observables (its URL and its hash,
 * say) is one sighting listing them all: its id is the transaction's, and two entities with
 * one id in a reply would contradict each other.
 */
static int on_row(const store_row_t *row, void *arg)
{
    observe_ctx_t *ctx = arg;
    char id[CTIM_SIGHTING_ID_LEN];
    json_t *s, *seen;

    if (ctim_sighting_id(row, id) != 0)
        goto fail;
    seen = json_object_get(ctx->by_id, id);
    if (seen != NULL) {
        if (ctim_sighting_add_observable(seen, ctx->o) != 0)
            goto fail;
        return 0;
    }
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

int handle_observe(http_call_t *call)
{
    store_t *st = call->worker->store;
    int limit = call->claims.entities_limit;
    int64_t now = util_now_ms();
    http_obs_list_t list;
    json_t *sightings, *verdicts, *by_id;
    size_t i;
    int ok = 1, timed_out = 0;

    if (http_read_observables_or_reply(call, &list) != 0)
        return 0;
    sightings = json_array();
    verdicts = json_array();
    by_id = json_object();

    store_set_deadline(st, call->deadline_ms);
    for (i = 0; i < list.n && ok; i++) {
        observe_ctx_t ctx = {.o = &list.items[i], .docs = sightings, .by_id = by_id};
        int more = 0;

        ok = store_sightings(st, ctx.o, limit, on_row, &ctx, &more) >= 0 && !ctx.failed;
        if (ok && more)
            warn_more(call, ctx.o, limit);
        if (ok)
            ok = handle_verdict(call, ctx.o, now, verdicts) == 0;
    }
    if (!ok)
        timed_out = store_interrupted(st);
    store_set_deadline(st, 0);
    json_decref(by_id);

    if (!ok) {
        /* the observable that failed is not counted as answered */
        handle_store_failed(call, handle_enrich_data(sightings, verdicts), timed_out, i - 1,
                            list.n);
        return 0;
    }
    http_reply_data(call, handle_enrich_data(sightings, verdicts));
    return 0;
}
