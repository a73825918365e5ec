/*
 * health.c - POST /health: the platform's check that the module can answer.
 */
#include <stdio.h>
#include "http.h"
#include "log.h"

int handle_health(http_call_t *call)
{
    char message[STORE_ERR_LEN + 128];

    if (store_healthy(call->worker->store)) {
        http_reply_data(call, json_pack("{s:s}", "status", "ok"));
        return 0;
    }
    /* the platform shows this text: name the problem, not the file system layout */
    snprintf(message, sizeof(message),
             "The tracking database cannot be read or its schema is not version %d: %s",
             store_schema_version(), store_errmsg(call->worker->store));
    log_msg(LOG_LEVEL_WARN, "health", "%s (%s)", message, call->worker->cfg->db_path);
    http_reply_error(call->req, 200, "health check failed", message);
    return 0;
}
