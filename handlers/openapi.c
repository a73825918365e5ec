/*
 * openapi.c - GET /openapi.yaml: the interface description, compiled in from openapi.yaml.
 */
#include "http.h"

int handle_openapi(http_call_t *call)
{
    http_reply_raw(call->req, 200, "application/yaml", http_openapi_yaml, http_openapi_yaml_len);
    return 0;
}
