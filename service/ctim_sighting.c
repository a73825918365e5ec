/*
 * ctim_sighting.c - one CTIM sighting per web transaction.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctim.h"
#include "util.h"

#define NONEMPTY(s) ((s) != NULL && (s)[0] != '\0')

/* The host part of a URL is an address rather than a name (brackets allowed for IPv6). */
static int is_ip_literal(const char *host)
{
    unsigned char addr[16];
    char buf[64];
    size_t len = strlen(host);

    if (len >= 2 && host[0] == '[' && host[len - 1] == ']' && len - 2 < sizeof(buf)) {
        memcpy(buf, host + 1, len - 2);
        buf[len - 2] = '\0';
        return inet_pton(AF_INET6, buf, addr) == 1;
    }
    return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

/* A TCP_CONNECT record logs "host:port" where the URL goes: that is not a URL to pivot on. */
static const char *row_url(const store_row_t *row)
{
    return NONEMPTY(row->url) && strstr(row->url, "://") != NULL ? row->url : NULL;
}

static const char *row_domain(const store_row_t *row)
{
    return NONEMPTY(row->host) && !is_ip_literal(row->host) ? row->host : NULL;
}

/* Why the appliance acted, from its ACL decision tag (wsa-logs.md 4.1). */
static const char *decision_reason(const store_row_t *row)
{
    const char *tag = row->acl_tag != NULL ? row->acl_tag : "";

    if (strstr(tag, "_AMW_") != NULL || strstr(tag, "_AMP_") != NULL)
        return "malware";
    if (strstr(tag, "DLP") != NULL || strstr(tag, "ICAP") != NULL)
        return "data security";
    if (strstr(tag, "WBRS") != NULL)
        return "web reputation";
    if (strstr(tag, "WEBCAT") != NULL || strstr(tag, "CUSTOMCAT") != NULL)
        return "URL category";
    if (strstr(tag, "AVC") != NULL)
        return "application control";
    if (strstr(tag, "SUSPECT_USER_AGENT") != NULL)
        return "suspect user agent";
    if (strstr(tag, "UNSAFE") != NULL || strstr(tag, "SEARCH") != NULL)
        return "unsafe content";
    if (strncmp(tag, "NO_", 3) == 0)
        return "authentication";
    if (strstr(tag, "ADMIN") != NULL)
        return "policy settings";
    return row->malware ? "malware" : NULL;
}

void ctim_sighting_title(const store_row_t *row, char *out, size_t outlen)
{
    const char *action = row->action != NULL ? row->action : "";
    const char *reason = decision_reason(row);

    if (strcmp(action, "allowed") == 0) {
        /* an allowed request still deserves attention when a scanner named it malware */
        snprintf(out, outlen, "Web request allowed%s", row->malware ? ": malware detected" : "");
    } else if (strcmp(action, "error") == 0) {
        snprintf(out, outlen, "Web request failed");
    } else if (action[0] != '\0') {
        snprintf(out, outlen, "Web request %s%s%s", action, reason ? ": " : "",
                 reason ? reason : "");
    } else {
        snprintf(out, outlen, "Web request");
    }
}

int ctim_sighting_id(const store_row_t *row, char out[CTIM_SIGHTING_ID_LEN])
{
    char *name = NULL, uuid[37];
    int n;

    /* a line's identity is its source and offset; without a source name, the row's id */
    if (row->source_name != NULL)
        n = asprintf(&name, "sighting:%s:%" PRId64 ":%s", row->source_name, row->offset,
                     row->appliance ? row->appliance : "");
    else
        n = asprintf(&name, "sighting:#%" PRId64 ":%" PRId64 ":%s", row->id, row->offset,
                     row->appliance ? row->appliance : "");
    if (n < 0)
        return -1;
    util_uuid_from_name(name, (size_t)n, uuid);
    free(name);
    snprintf(out, CTIM_SIGHTING_ID_LEN, "transient:sighting-%s", uuid);
    return 0;
}

static json_t *short_description(const store_row_t *row)
{
    char *text = NULL;
    json_t *s;
    int n;

    n = asprintf(&text, "%s: %s %s %s -> %d (%s)", row->appliance ? row->appliance : "-",
                 row->client_ip ? row->client_ip : "-", row->method ? row->method : "-",
                 row->url ? row->url : "-", row->http_status, row->acl_tag ? row->acl_tag : "-");
    if (n < 0)
        return NULL;
    s = json_stringn(text, ctim_utf8_prefix(text, (size_t)n, CTIM_SHORT_DESC_MAX));
    free(text);
    return s;
}

static json_t *description(const store_row_t *row)
{
    char *block = ctim_code_block(row->raw ? row->raw : "", CTIM_DESCRIPTION_MAX);
    json_t *s;

    if (block == NULL)
        return NULL;
    s = json_string(block);
    free(block);
    return s;
}

static int same_observable(json_t *ob, const char *type, const char *value)
{
    return strcmp(json_string_value(json_object_get(ob, "type")), type) == 0 &&
           strcmp(json_string_value(json_object_get(ob, "value")), value) == 0;
}

/* Adds {type, value} unless it is empty or already there; -1 when out of memory. */
static int add_observable(json_t *arr, const obs_t *queried, const char *type, const char *value)
{
    size_t i;
    json_t *ob;

    if (!NONEMPTY(value))
        return 0;
    /* the queried observable is listed as sent; the row holds the normalised key */
    if (queried != NULL && strcmp(obs_type_name(queried->type), type) == 0 &&
        queried->key != NULL && strcmp(queried->key, value) == 0)
        return 0;
    json_array_foreach(arr, i, ob)
    {
        if (same_observable(ob, type, value))
            return 0;
    }
    return json_array_append_new(arr, ctim_observable(type, value));
}

int ctim_sighting_add_observable(json_t *sighting, const obs_t *o)
{
    json_t *arr = json_object_get(sighting, "observables"), *ob;
    const char *type = obs_type_name(o->type);
    size_t i;

    if (arr == NULL)
        return -1;
    json_array_foreach(arr, i, ob)
    {
        if (same_observable(ob, type, o->value) ||
            (o->key != NULL && same_observable(ob, type, o->key)))
            return 0;
    }
    return json_array_append_new(arr, ctim_observable(type, o->value));
}

static json_t *observables(const store_row_t *row, const obs_t *queried)
{
    json_t *arr = json_array();
    int err = 0;

    if (arr == NULL)
        return NULL;
    err |= add_observable(arr, NULL, obs_type_name(queried->type), queried->value);
    err |= add_observable(arr, queried, "url", row_url(row));
    err |= add_observable(arr, queried, "domain", row_domain(row));
    if (NONEMPTY(row->dest_ip))
        err |= add_observable(arr, queried, ctim_ip_type(row->dest_ip), row->dest_ip);
    err |= add_observable(arr, queried, "sha256", row->sha256);
    if (err) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

/* The user as the user observable is queried: DOMAIN\name, or the name alone. */
static char *user_value(const store_row_t *row)
{
    char *v = NULL;

    if (NONEMPTY(row->user_name) && NONEMPTY(row->user_domain)) {
        if (asprintf(&v, "%s\\%s", row->user_domain, row->user_name) < 0)
            return NULL;
        return v;
    }
    if (NONEMPTY(row->user_name))
        return strdup(row->user_name);
    return NONEMPTY(row->user_raw) ? strdup(row->user_raw) : NULL;
}

static json_t *targets(const store_row_t *row, json_t *observed_time)
{
    json_t *obs = json_array(), *arr = json_array(), *target;
    char *user = user_value(row);
    int err = obs == NULL || arr == NULL;

    if (!err && NONEMPTY(row->client_ip))
        err |= json_array_append_new(obs,
                                     ctim_observable(ctim_ip_type(row->client_ip), row->client_ip));
    if (!err && user != NULL)
        err |= json_array_append_new(obs, ctim_observable("user", user));
    if (!err && json_array_size(obs) > 0) {
        target = json_pack("{s:s, s:O, s:O}", "type", "endpoint", "observables", obs,
                           "observed_time", observed_time);
        err |= json_array_append_new(arr, target);
    }
    free(user);
    json_decref(obs);
    if (err) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

static int add_relation(json_t *arr, const char *relation, const char *src_type, const char *src,
                        const char *dst_type, const char *dst)
{
    json_t *rel;

    if (!NONEMPTY(src) || !NONEMPTY(dst))
        return 0;
    rel = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}}", "origin", CTIM_SOURCE, "relation",
                    relation, "source", "type", src_type, "value", src, "related", "type", dst_type,
                    "value", dst);
    return json_array_append_new(arr, rel);
}

static json_t *relations(const store_row_t *row)
{
    json_t *arr = json_array();
    const char *url = row_url(row), *domain = row_domain(row);
    int err = 0;

    if (arr == NULL)
        return NULL;
    if (NONEMPTY(row->client_ip))
        err |= add_relation(arr, "Connected_To", ctim_ip_type(row->client_ip), row->client_ip,
                            "url", url);
    if (NONEMPTY(row->dest_ip))
        err |= add_relation(arr, "Resolved_To", "domain", domain, ctim_ip_type(row->dest_ip),
                            row->dest_ip);
    err |= add_relation(arr, "Downloaded_From", "sha256", row->sha256, "url", url);
    if (err) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

/* The data table: every column is always present, with "" where the log had no value. */
static json_t *data_table(const store_row_t *row)
{
    char amp[16] = "", *user = user_value(row);
    json_t *columns = json_array(), *cells = json_array(), *table = NULL;
    int err = columns == NULL || cells == NULL;
    struct {
        const char *name, *type, *text;
        int is_int;
        json_int_t num;
    } cols[] = {
        {"appliance", "string", row->appliance, 0, 0},
        {"client_ip", "string", row->client_ip, 0, 0},
        {"user", "string", user, 0, 0},
        {"method", "string", row->method, 0, 0},
        {"url", "url", row->url, 0, 0},
        {"http_status", "integer", NULL, 1, row->http_status},
        {"result_code", "string", row->result_code, 0, 0},
        {"acl_tag", "string", row->acl_tag, 0, 0},
        {"action", "string", row->action, 0, 0},
        {"category", "string", row->category, 0, 0},
        {"wbrs", "string", row->wbrs_raw, 0, 0},
        {"amp_verdict", "string", amp, 0, 0},
        {"sha256", "string", row->sha256, 0, 0},
        {"destination_ip", "string", row->dest_ip, 0, 0},
        {"user_agent", "string", row->user_agent, 0, 0},
    };

    /* an AMP verdict is a code, not a quantity: text keeps "absent" distinct from 0 */
    if (row->amp_verdict >= 0)
        snprintf(amp, sizeof(amp), "%d", row->amp_verdict);
    for (size_t i = 0; !err && i < sizeof(cols) / sizeof(cols[0]); i++) {
        err |= json_array_append_new(
            columns, json_pack("{s:s, s:s}", "name", cols[i].name, "type", cols[i].type));
        err |= json_array_append_new(cells, cols[i].is_int
                                                ? json_integer(cols[i].num)
                                                : json_string(cols[i].text ? cols[i].text : ""));
    }
    if (!err)
        table = json_pack("{s:O, s:[O]}", "columns", columns, "rows", cells);
    free(user);
    json_decref(columns);
    json_decref(cells);
    return table;
}

json_t *ctim_sighting(const store_row_t *row, const obs_t *queried)
{
    char start[UTIL_ISO_TIME_LEN], end[UTIL_ISO_TIME_LEN], title[256],
        id[CTIM_SIGHTING_ID_LEN] = "";
    int64_t elapsed = row->elapsed_ms > 0 ? row->elapsed_ms : 0;
    json_t *s = json_object(), *observed;
    int err = s == NULL;

    /* the log records the end of the transaction and how long it took */
    util_iso_time(row->time_ms - elapsed, start);
    util_iso_time(row->time_ms, end);
    observed = json_pack("{s:s, s:s}", "start_time", start, "end_time", end);
    ctim_sighting_title(row, title, sizeof(title));

    err |= ctim_sighting_id(row, id);
    err |= json_object_set_new(s, "id", json_string(id));
    err |= json_object_set_new(s, "type", json_string("sighting"));
    err |= json_object_set_new(s, "schema_version", json_string(CTIM_SCHEMA_VERSION));
    err |= json_object_set_new(s, "source", json_string(CTIM_SOURCE));
    err |= json_object_set_new(s, "sensor", json_string(CTIM_SENSOR));
    err |= json_object_set_new(s, "confidence", json_string("High"));
    err |= json_object_set_new(s, "internal", json_true());
    err |= json_object_set_new(s, "count", json_integer(1));
    err |= json_object_set(s, "observed_time", observed);
    err |= json_object_set_new(s, "resolution", json_string(ctim_resolution(row->action)));
    err |= json_object_set_new(s, "title", json_string(title));
    err |= json_object_set_new(s, "short_description", short_description(row));
    err |= json_object_set_new(s, "description", description(row));
    err |= json_object_set_new(s, "observables", observables(row, queried));
    if (!err) {
        json_t *t = targets(row, observed), *r = relations(row);

        if (t == NULL || r == NULL) {
            err = 1;
        } else {
            /* CTIM lists are optional: an empty one says nothing */
            if (json_array_size(t) > 0)
                err |= json_object_set(s, "targets", t);
            if (json_array_size(r) > 0)
                err |= json_object_set(s, "relations", r);
        }
        json_decref(t);
        json_decref(r);
    }
    err |= json_object_set_new(s, "data", data_table(row));
    json_decref(observed);
    if (err) {
        json_decref(s);
        return NULL;
    }
    return s;
}
