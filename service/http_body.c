/*
 * http_body.c - reading the observables of a request body.
 *
 * The body is a JSON array of {"type","value"} objects. Anything else gets `invalid argument`
 * with a message that names the element, so that an analyst with curl sees what to fix.
 * Unknown types and values that cannot be of their type are skipped: the platform sends
 * every observable to every module.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "http.h"
#include "util.h"

#define PREFIX      "Invalid JSON payload received. "
#define MESSAGE_LEN 512

/* A set of (type, key, key_domain) built in the request's pool; 2 slots per observable. */
typedef struct seen {
    const obs_t **slots;
    size_t cap;
} seen_t;

static int reply_invalid(http_call_t *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int reply_invalid(http_call_t *call, const char *fmt, ...)
{
    char message[MESSAGE_LEN], clean[3 * MESSAGE_LEN + 1];
    va_list ap;
    int n;

    n = snprintf(message, sizeof(message), "%s", PREFIX);
    va_start(ap, fmt);
    vsnprintf(message + n, sizeof(message) - (size_t)n, fmt, ap);
    va_end(ap);
    /* jansson quotes the bytes it choked on, which need not be UTF-8 */
    util_utf8_sanitize(message, strlen(message), clean);
    http_reply_error(call->req, 200, "invalid argument", clean);
    return -1;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* Blank: empty, or nothing but spaces, tabs and line breaks. */
static int is_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return 0;
    }
    return 1;
}

/* Checks one string field of element `i`; replies and returns -1 when it is not usable. */
static int check_field(http_call_t *call, size_t i, const json_t *elem, const char *name,
                       const json_t **out)
{
    const json_t *v = json_object_get(elem, name);

    if (v == NULL)
        return reply_invalid(call, "Element %zu: \"%s\" is missing.", i, name);
    if (!json_is_string(v))
        return reply_invalid(call, "Element %zu: \"%s\" must be a string, not %s.", i, name,
                             json_kind(v));
    if (is_blank(json_string_value(v), json_string_length(v)))
        return reply_invalid(call, "Element %zu: \"%s\" may not be blank.", i, name);
    *out = v;
    return 0;
}

static uint64_t hash_bytes(uint64_t h, const char *s)
{
    /* FNV-1a: keys are attacker-chosen but the table only holds 2000 slots of one request */
    for (; s != NULL && *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return (h ^ 0xff) * 1099511628211u;
}

static int same_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Returns 1 when an observable with the same type and keys was added before, else adds it. */
static int seen_before(seen_t *seen, const obs_t *o)
{
    uint64_t h =
        hash_bytes(hash_bytes(14695981039346656037u + (uint64_t)o->type, o->key), o->key_domain);
    size_t i = (size_t)(h % seen->cap);

    for (; seen->slots[i] != NULL; i = (i + 1) % seen->cap) {
        const obs_t *p = seen->slots[i];
        if (p->type == o->type && strcmp(p->key, o->key) == 0 &&
            same_str(p->key_domain, o->key_domain))
            return 1;
    }
    seen->slots[i] = o;
    return 0;
}

/* Adds element `i` to `out` when its type is supported and its value fits the type. */
static void add_observable(h2o_mem_pool_t *pool, const json_t *type, const json_t *value,
                           seen_t *seen, http_obs_list_t *out)
{
    obs_t *o = &out->items[out->n];
    size_t len = json_string_length(value);
    size_t buflen = 3 * len + 256;
    char *buf;

    o->type = obs_type_parse(json_string_value(type), json_string_length(type));
    if (o->type == OBS_UNSUPPORTED)
        return;
    o->value = h2o_strdup(pool, json_string_value(value), len).base;
    o->key = o->key_domain = o->key_reg_domain = NULL;
    buf = h2o_mem_alloc_pool(pool, buflen);
    if (obs_prepare(o, buf, buflen) != 0 || o->key == NULL)
        return;
    if (seen_before(seen, o))
        return;
    out->n++;
}

static int read_elements(http_call_t *call, const json_t *root, http_obs_list_t *out)
{
    h2o_mem_pool_t *pool = &call->req->pool;
    size_t n = json_array_size(root), i;
    seen_t seen;

    out->items = h2o_mem_alloc_pool(pool, sizeof(obs_t) * (n > 0 ? n : 1));
    out->n = 0;
    seen.cap = 2 * n + 1;
    seen.slots = h2o_mem_alloc_pool(pool, sizeof(*seen.slots) * seen.cap);
    memset(seen.slots, 0, sizeof(*seen.slots) * seen.cap);

    for (i = 0; i < n; i++) {
        const json_t *elem = json_array_get(root, i), *type = NULL, *value = NULL;

        if (!json_is_object(elem))
            return reply_invalid(call,
                                 "Element %zu: expected an object with \"type\" and "
                                 "\"value\", not %s.",
                                 i, json_kind(elem));
        if (check_field(call, i, elem, "type", &type) != 0 ||
            check_field(call, i, elem, "value", &value) != 0)
            return -1;
        if (json_string_length(value) > HTTP_MAX_VALUE)
            return reply_invalid(call, "Element %zu: \"value\" is longer than %d bytes.", i,
                                 HTTP_MAX_VALUE);
        add_observable(pool, type, value, &seen, out);
    }
    return 0;
}

int http_read_observables_or_reply(http_call_t *call, http_obs_list_t *out)
{
    h2o_iovec_t body = call->req->entity;
    json_error_t jerr;
    json_t *root = NULL;
    int rc = -1;

    out->items = NULL;
    out->n = 0;
    if (body.base == NULL || is_blank(body.base, body.len)) {
        rc = reply_invalid(call, "The body is empty: expected a JSON array of observables.");
        goto out;
    }
    /* no JSON_ALLOW_NUL: a value with \u0000 is refused, so every value is a C string */
    root = json_loadb(body.base, body.len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        /* jansson's text for this one names its own flag, which means nothing to a client */
        if (json_error_code(&jerr) == json_error_null_character)
            rc = reply_invalid(call, "Line %d, column %d: a string may not contain \\u0000.",
                               jerr.line, jerr.column);
        else
            rc = reply_invalid(call, "Line %d, column %d: %s.", jerr.line, jerr.column, jerr.text);
        goto out;
    }
    if (!json_is_array(root)) {
        rc = reply_invalid(call, "Expected a JSON array of observables, not %s.", json_kind(root));
        goto out;
    }
    if (json_array_size(root) > HTTP_MAX_OBSERVABLES) {
        rc = reply_invalid(call, "%zu observables: at most %d are accepted in one request.",
                           json_array_size(root), HTTP_MAX_OBSERVABLES);
        goto out;
    }
    rc = read_elements(call, root, out);
    if (rc != 0)
        out->n = 0;

out:
    json_decref(root);
    return rc;
}
