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
    int failed; /* out of memory while building */
} observe_ctx_t;

static int on_row(const store_row_t *row, void *arg)
{
    observe_ctx_t *ctx = arg;

    if (json_array_append_new(ctx->docs, ctim_sighting(row, ctx->o)) != 0) {
        ctx->failed = 1;
        return 1;
    }
    return 0;
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
    json_t *sightings, *verdicts;
    size_t i;
    int ok = 1;

    if (http_read_observables_or_reply(call, &list) != 0)
        return 0;
    sightings = json_array();
    verdicts = json_array();

    store_set_deadline(st, call->deadline_ms);
    for (i = 0; i < list.n && ok; i++) {
        observe_ctx_t ctx = {.o = &list.items[i], .docs = sightings};
        int more = 0;

        ok = store_sightings(st, ctx.o, limit, on_row, &ctx, &more) >= 0 && !ctx.failed;
        if (ok && more)
            warn_more(call, ctx.o, limit);
        if (ok)
            ok = handle_verdict(call, ctx.o, now, verdicts) == 0;
    }
    store_set_deadline(st, 0);

    if (!ok) {
        /* the observable that failed is not counted as answered */
        handle_store_failed(call, handle_enrich_data(sightings, verdicts), i - 1, list.n);
        return 0;
    }
    http_reply_data(call, handle_enrich_data(sightings, verdicts));
    return 0;
}
