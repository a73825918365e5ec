/*
 * version.c - the two endpoints without authentication that operators and load balancers
 * poll: POST/GET /version and GET /watchdog.
 */
#include <string.h>
#include "http.h"
#include "util.h"

int handle_version(http_call_t *call)
{
    /* the one reply of the contract without the "data" envelope */
    http_reply_json(call->req, 200, json_pack("{s:s}", "version", WSA_RELAY_VERSION));
    return 0;
}

int handle_watchdog(http_call_t *call)
{
    h2o_req_t *req = call->req;
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("health-check"), -1);
    h2o_iovec_t value;
    char *clean;

    if (i < 0 || req->headers.entries[i].value.len == 0) {
        http_reply_error(req, 200, "health check failed", "Invalid Health Check");
        return 0;
    }
    value = req->headers.entries[i].value;
    /* a header is bytes; JSON needs UTF-8 */
    clean = h2o_mem_alloc_pool(&req->pool, 3 * value.len + 1);
    util_utf8_sanitize(value.base, value.len, clean);
    http_reply_data(call, json_string(clean));
    return 0;
}
