/*
 * deliberate.c - /deliberate/observables: verdicts derived from the appliance's own
 * decisions (AMP verdicts, malware blocks, reputation scores).
 */
#include "ctim.h"
#include "enrich.h"
#include "util.h"

int handle_deliberate(http_call_t *call)
{
    store_t *st = call->worker->store;
    int64_t now = util_now_ms();
    http_obs_list_t list;
    json_t *verdicts;
    size_t i;
    int ok = 1, timed_out = 0;

    if (http_read_observables_or_reply(call, &list) != 0)
        return 0;
    verdicts = json_array();

    store_set_deadline(st, call->deadline_ms);
    for (i = 0; i < list.n && ok; i++)
        ok = handle_verdict(call, &list.items[i], now, verdicts) == 0;
    if (!ok)
        timed_out = store_interrupted(st);
    store_set_deadline(st, 0);

    if (!ok) {
        handle_store_failed(call, handle_enrich_data(NULL, verdicts), timed_out, i - 1, list.n);
        return 0;
    }
    http_reply_data(call, handle_enrich_data(NULL, verdicts));
    return 0;
}
