/*
 * http_reply.c - every response goes out through here: JSON bodies, the error envelope, and
 * always a Content-Length (without it H2O 2.2.5 closes an HTTP/1.1 connection after any
 * status other than 200).
 */
#include <stdlib.h>
#include <string.h>
#include "http.h"
#include "log.h"

static const char *status_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

void http_reply_raw(h2o_req_t *req, int status, const char *content_type, const char *body,
                    size_t len)
{
    req->res.status = status;
    req->res.reason = status_reason(status);
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type,
                   strlen(content_type));
    /* h2o_send_inline copies the body into the pool and sends none for HEAD */
    h2o_send_inline(req, body, len);
}

static void free_slot(void *slot)
{
    free(*(char **)slot);
}

/*
 * Sends `text` (malloc'd, `len` bytes) without copying it, as h2o_send_inline would: the
 * request's pool frees it once the request is done with, after the last byte went out.
 */
static void send_owned(h2o_req_t *req, int status, char *text, size_t len)
{
    static h2o_generator_t generator = {NULL, NULL};
    char **slot = h2o_mem_alloc_shared(&req->pool, sizeof(*slot), free_slot);
    h2o_iovec_t buf = h2o_iovec_init(text, len);

    *slot = text;
    req->res.status = status;
    req->res.reason = status_reason(status);
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json"));
    h2o_start_response(req, &generator);
    if (h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD")))
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    else
        h2o_send(req, &buf, 1, H2O_SEND_STATE_FINAL);
}

/*
 * The text is written once into a buffer of its exact size (a first pass measures it),
 * and the tree is released before the response starts: at no point are there two copies
 * of the text, and the tree and the text overlap only while it is written.
 */
void http_reply_json(h2o_req_t *req, int status, json_t *body)
{
    size_t len = body != NULL ? json_dumpb(body, NULL, 0, JSON_COMPACT) : 0;
    char *text = len > 0 ? malloc(len) : NULL;

    if (text != NULL && json_dumpb(body, text, len, JSON_COMPACT) != len) {
        free(text);
        text = NULL;
    }
    json_decref(body);
    if (text == NULL) {
        /* only an allocation failure gets here: answer something the client can read */
        static const char fallback[] =
            "{\"errors\":[{\"type\":\"fatal\",\"code\":\"internal error\","
            "\"message\":\"The response could not be encoded.\"}]}";
        log_msg(LOG_LEVEL_ERROR, "http", "could not encode a response for %.*s",
                (int)req->path_normalized.len, req->path_normalized.base);
        http_reply_raw(req, 500, "application/json", fallback, sizeof(fallback) - 1);
        return;
    }
    send_owned(req, status, text, len);
}

static json_t *error_entry(const char *type, const char *code, const char *message)
{
    return json_pack("{s:s, s:s, s:s}", "type", type, "code", code, "message", message);
}

void http_reply_error(h2o_req_t *req, int status, const char *code, const char *message)
{
    json_t *body = json_pack("{s:[o]}", "errors", error_entry("fatal", code, message));

    http_reply_json(req, status, body);
}

void http_add_warning(http_call_t *call, const char *code, const char *message)
{
    json_t *entry = error_entry("warning", code, message);

    if (entry == NULL)
        return;
    if (call->warnings == NULL)
        call->warnings = json_array();
    if (call->warnings == NULL || json_array_append_new(call->warnings, entry) != 0)
        log_msg(LOG_LEVEL_ERROR, "http", "could not record the warning %s", code);
}

void http_reply_data(http_call_t *call, json_t *data)
{
    json_t *body = json_pack("{s:o}", "data", data);

    /* json_pack steals `data` even when it fails, so there is nothing else to release */
    if (body != NULL && call->warnings != NULL && json_array_size(call->warnings) > 0)
        json_object_set(body, "errors", call->warnings);
    http_reply_json(call->req, 200, body);
}
