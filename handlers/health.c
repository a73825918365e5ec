/*
 * health.c - POST /health: the platform's check that the module can answer.
 */
#include <stdio.h>
#include <string.h>
#include "http.h"
#include "log.h"

int handle_health(http_call_t *call)
{
    const char *db_path = call->worker->cfg->db_path;
    const char *why = store_errmsg(call->worker->store);
    size_t path_len = strlen(db_path);
    char message[STORE_ERR_LEN + 64];

    if (store_healthy(call->worker->store)) {
        http_reply_data(call, json_pack("{s:s}", "status", "ok"));
        return 0;
    }
    /*
     * The platform shows this text: name the problem (the version found and the one needed,
     * or the read that failed), not the file system layout, which the log line gives.
     */
    if (strncmp(why, db_path, path_len) == 0 && strncmp(why + path_len, ": ", 2) == 0)
        why += path_len + 2;
    snprintf(message, sizeof(message), "The tracking database is not usable: %s", why);
    log_msg(LOG_LEVEL_WARN, "health", "%s (%s)", message, db_path);
    http_reply_error(call->req, 200, "health check failed", message);
    return 0;
}
