/*
 * ctim_refer.c - refer links: a search on the appliance for an observable.
 */
#include <stdlib.h>
#include <string.h>
#include "ctim.h"
#include "util.h"

/* Appends n bytes to a growing buffer; returns -1 when out of memory. */
static int buf_add(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t want = (*cap ? *cap : 64);
        char *p;

        while (want < *len + n + 1)
            want *= 2;
        p = realloc(*buf, want);
        if (p == NULL)
            return -1;
        *buf = p;
        *cap = want;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

char *ctim_refer_url(const char *tmpl, const char *type, const char *value)
{
    static const char type_mark[] = "{type}", value_mark[] = "{value}";
    size_t vlen = strlen(value), len = 0, cap = 0;
    char *enc, *out = NULL;
    const char *p = tmpl;

    enc = malloc(3 * vlen + 1);
    if (enc == NULL)
        return NULL;
    util_url_encode(value, vlen, enc);

    if (buf_add(&out, &len, &cap, "", 0) != 0)
        goto fail;
    while (*p != '\0') {
        int r;

        if (strncmp(p, type_mark, sizeof(type_mark) - 1) == 0) {
            r = buf_add(&out, &len, &cap, type, strlen(type));
            p += sizeof(type_mark) - 1;
        } else if (strncmp(p, value_mark, sizeof(value_mark) - 1) == 0) {
            r = buf_add(&out, &len, &cap, enc, strlen(enc));
            p += sizeof(value_mark) - 1;
        } else {
            r = buf_add(&out, &len, &cap, p, 1);
            p++;
        }
        if (r != 0)
            goto fail;
    }
    free(enc);
    return out;

fail:
    free(enc);
    free(out);
    return NULL;
}

json_t *ctim_refer(const obs_t *o, const char *tmpl)
{
    const char *type = obs_type_name(o->type), *human = obs_type_human(o->type);
    size_t vlen = strlen(o->value);
    char *enc = NULL, *url = NULL, *id = NULL, *title = NULL, *desc = NULL;
    json_t *item = NULL;

    enc = malloc(3 * vlen + 1);
    url = ctim_refer_url(tmpl, type, o->value);
    if (enc == NULL || url == NULL)
        goto out;
    util_url_encode(o->value, vlen, enc);
    if (asprintf(&id, "ref-wsa-relay-search-%s-%s", type, enc) < 0) {
        id = NULL;
        goto out;
    }
    if (asprintf(&title, "Search for this %s", human) < 0) {
        title = NULL;
        goto out;
    }
    if (asprintf(&desc, "Lookup this %s on the Web Security Appliance", human) < 0) {
        desc = NULL;
        goto out;
    }
    item = json_pack("{s:s, s:s, s:s, s:s, s:[s, s]}", "id", id, "title", title, "description",
                     desc, "url", url, "categories", "Search", "Web Security Appliance");

out:
    free(enc);
    free(url);
    free(id);
    free(title);
    free(desc);
    return item;
}
