/*
 * refer.c - /refer/observables: a search link on the appliance's reporting pages for each
 * observable, when the operator configured the URL template.
 */
#include "ctim.h"
#include "http.h"

int handle_refer(http_call_t *call)
{
    const char *tmpl = call->worker->cfg->refer_url;
    http_obs_list_t list;
    json_t *items;

    if (http_read_observables_or_reply(call, &list) != 0)
        return 0;
    items = json_array();
    for (size_t i = 0; tmpl != NULL && i < list.n; i++)
        json_array_append_new(items, ctim_refer(&list.items[i], tmpl));
    http_reply_data(call, items);
    return 0;
}
