/*
 * enrich.c - verdicts, the enrich envelope and store failures for observe and deliberate.
 */
#include <stdio.h>
#include "ctim.h"
#include "enrich.h"
#include "log.h"

int handle_verdict(http_call_t *call, const obs_t *o, int64_t now_ms, json_t *docs)
{
    const cfg_t *cfg = call->worker->cfg;
    store_thresholds_t th = {.wbrs_block = cfg->wbrs_block};
    store_evidence_t ev = {0};
    int64_t since = now_ms - (int64_t)cfg->verdict_days * CTIM_MS_PER_DAY;
    json_t *verdict;
    int found;

    found = store_evidence(call->worker->store, o, since, &th, &ev);
    if (found < 0)
        return -1;
    if (found == 0)
        return 0;
    verdict = ctim_verdict(o, ev.disposition, ev.latest_ms, cfg->verdict_days, now_ms);
    /* NULL here means expired or a disposition CTIM has no name for: no verdict */
    if (verdict != NULL)
        json_array_append_new(docs, verdict);
    return 0;
}

json_t *handle_enrich_data(json_t *sightings, json_t *verdicts)
{
    json_t *data = json_object();

    if (json_array_size(sightings) > 0)
        json_object_set_new(data, "sightings", ctim_docs(json_incref(sightings)));
    if (json_array_size(verdicts) > 0)
        json_object_set_new(data, "verdicts", ctim_docs(json_incref(verdicts)));
    json_decref(sightings);
    json_decref(verdicts);
    return data;
}

void handle_store_failed(http_call_t *call, json_t *data, int timed_out, size_t done, size_t total)
{
    char msg[160];

    if (timed_out) {
        snprintf(msg, sizeof(msg),
                 "The request ran out of time after %zu of %zu observables; the answer is "
                 "partial.",
                 done, total);
        http_add_warning(call, "time budget exceeded", msg);
        http_reply_data(call, data);
        return;
    }
    /* SQLite's message names tables and files, which the caller has no use for */
    log_msg(LOG_LEVEL_ERROR, "handler", "tracking database query failed: %s",
            store_errmsg(call->worker->store));
    json_decref(data);
    http_reply_error(call->req, 200, "internal error",
                     "The web tracking database could not be read.");
}
