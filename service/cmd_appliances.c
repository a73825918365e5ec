/*
 * cmd_appliances.c - `wsa-relay appliances`: every appliance with its rows and last sighting.
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "store.h"
#include "util.h"

static const char appliances_usage[] =
    "usage: wsa-relay appliances [--db PATH] [--json]\n"
    "\n"
    "Lists every appliance the tracking database names, sorted by name, with the number of\n"
    "transactions it has and the time of its newest one (ISO 8601 UTC; '-' when it has\n"
    "none). Counting reads every transaction, so it takes a while on a large database.\n"
    "\n"
    "Syslog loss: a DROPPED column, shown when an appliance has any, counts the UDP\n"
    "datagrams the kernel dropped on a listener started with --appliance for it. Drops on\n"
    "other listeners cannot be told apart by sender (the datagram never arrived); each such\n"
    "listener is listed below the appliances with the datagrams dropped on it and the\n"
    "datagrams and connections it refused (senders outside WSA_RELAY_SYSLOG_ALLOW).\n"
    "\n"
    "options:\n"
    "  --db PATH   the database (WSA_RELAY_DB; default " CFG_DEFAULT_DB ")\n"
    "  --json      a JSON array of {\"name\", \"rows\", \"last_seen\", \"dropped\"} instead\n"
    "              of a table (last_seen null when there is no transaction), followed by\n"
    "              {\"listener\", \"dropped\", \"refused\", \"last_counted\"} per syslog\n"
    "              listener that dropped or refused anything\n"
    "  --help      this text\n"
    "\n"
    "Exit status: 0 when listed, 1 when the database cannot be read, 2 for a usage or\n"
    "configuration error.\n";

typedef struct appliance_row {
    char *name;
    int64_t rows;
    int64_t last_ms;
    int64_t dropped;
} appliance_row_t;

typedef struct listener_row {
    char *address;
    int64_t dropped, refused, last_ms;
} listener_row_t;

typedef struct appliance_list {
    appliance_row_t *rows;
    size_t n, cap;
    listener_row_t *listeners;
    size_t nl, capl;
    int nomem;
} appliance_list_t;

static int collect(const store_appliance_info_t *a, void *ctx)
{
    appliance_list_t *l = ctx;

    if (l->n == l->cap) {
        size_t cap = l->cap > 0 ? 2 * l->cap : 16;
        appliance_row_t *grown = realloc(l->rows, cap * sizeof(*grown));
        if (grown == NULL) {
            l->nomem = 1;
            return 1;
        }
        l->rows = grown;
        l->cap = cap;
    }
    if ((l->rows[l->n].name = strdup(a->name)) == NULL) {
        l->nomem = 1;
        return 1;
    }
    l->rows[l->n].rows = a->rows;
    l->rows[l->n].last_ms = a->last_ms;
    l->rows[l->n].dropped = a->dropped;
    l->n++;
    return 0;
}

static int collect_listener(const store_listener_info_t *a, void *ctx)
{
    appliance_list_t *l = ctx;

    if (l->nl == l->capl) {
        size_t cap = l->capl > 0 ? 2 * l->capl : 8;
        listener_row_t *grown = realloc(l->listeners, cap * sizeof(*grown));
        if (grown == NULL) {
            l->nomem = 1;
            return 1;
        }
        l->listeners = grown;
        l->capl = cap;
    }
    if ((l->listeners[l->nl].address = strdup(a->address)) == NULL) {
        l->nomem = 1;
        return 1;
    }
    l->listeners[l->nl].dropped = a->dropped;
    l->listeners[l->nl].refused = a->refused;
    l->listeners[l->nl].last_ms = a->last_ms;
    l->nl++;
    return 0;
}

static int num_width(int64_t v, int min)
{
    char num[32];
    int d = snprintf(num, sizeof(num), "%" PRId64, v);

    return d > min ? d : min;
}

/* The syslog listeners' loss, under the appliances: it belongs to no appliance. */
static void print_listeners(const appliance_list_t *l)
{
    int addr_w = (int)strlen("SYSLOG LISTENER"), drop_w = (int)strlen("DROPPED"),
        ref_w = (int)strlen("REFUSED");
    char when[UTIL_ISO_TIME_LEN];

    if (l->nl == 0)
        return;
    for (size_t i = 0; i < l->nl; i++) {
        int w = (int)strlen(l->listeners[i].address);
        addr_w = w > addr_w ? w : addr_w;
        drop_w = num_width(l->listeners[i].dropped, drop_w);
        ref_w = num_width(l->listeners[i].refused, ref_w);
    }
    printf("\n%-*s  %*s  %*s  %s\n", addr_w, "SYSLOG LISTENER", drop_w, "DROPPED", ref_w, "REFUSED",
           "LAST COUNTED");
    for (size_t i = 0; i < l->nl; i++) {
        const listener_row_t *r = &l->listeners[i];
        util_iso_time(r->last_ms, when);
        printf("%-*s  %*" PRId64 "  %*" PRId64 "  %s\n", addr_w, r->address, drop_w, r->dropped,
               ref_w, r->refused, when);
    }
}

static void print_table(const appliance_list_t *l)
{
    int name_w = (int)strlen("APPLIANCE"), rows_w = (int)strlen("ROWS"), drop_w = 0;
    char num[32], when[UTIL_ISO_TIME_LEN];

    for (size_t i = 0; i < l->n; i++) {
        int w = (int)strlen(l->rows[i].name);
        int d = snprintf(num, sizeof(num), "%" PRId64, l->rows[i].rows);
        if (w > name_w)
            name_w = w;
        if (d > rows_w)
            rows_w = d;
        if (l->rows[i].dropped > 0)
            drop_w = num_width(l->rows[i].dropped, (int)strlen("DROPPED"));
    }
    /* the column only where syslog lost something: file loads never do */
    if (drop_w > 0)
        printf("%-*s  %*s  %*s  %s\n", name_w, "APPLIANCE", rows_w, "ROWS", drop_w, "DROPPED",
               "LAST SEEN");
    else
        printf("%-*s  %*s  %s\n", name_w, "APPLIANCE", rows_w, "ROWS", "LAST SEEN");
    for (size_t i = 0; i < l->n; i++) {
        const appliance_row_t *r = &l->rows[i];
        if (r->last_ms >= 0)
            util_iso_time(r->last_ms, when);
        else
            snprintf(when, sizeof(when), "-");
        if (drop_w > 0)
            printf("%-*s  %*" PRId64 "  %*" PRId64 "  %s\n", name_w, r->name, rows_w, r->rows,
                   drop_w, r->dropped, when);
        else
            printf("%-*s  %*" PRId64 "  %s\n", name_w, r->name, rows_w, r->rows, when);
    }
    print_listeners(l);
}

static int print_json(const appliance_list_t *l)
{
    json_t *arr = json_array();
    char when[UTIL_ISO_TIME_LEN], *text = NULL;
    int rc = -1;

    if (arr == NULL)
        goto out;
    for (size_t i = 0; i < l->n; i++) {
        const appliance_row_t *r = &l->rows[i];
        json_t *o;
        if (r->last_ms >= 0)
            util_iso_time(r->last_ms, when);
        o = json_pack("{s:s, s:I, s:o, s:I}", "name", r->name, "rows", (json_int_t)r->rows,
                      "last_seen", r->last_ms >= 0 ? json_string(when) : json_null(), "dropped",
                      (json_int_t)r->dropped);
        if (o == NULL || json_array_append_new(arr, o) != 0)
            goto out;
    }
    for (size_t i = 0; i < l->nl; i++) {
        const listener_row_t *r = &l->listeners[i];
        json_t *o;
        util_iso_time(r->last_ms, when);
        o = json_pack("{s:s, s:I, s:I, s:s}", "listener", r->address, "dropped",
                      (json_int_t)r->dropped, "refused", (json_int_t)r->refused, "last_counted",
                      when);
        if (o == NULL || json_array_append_new(arr, o) != 0)
            goto out;
    }
    if ((text = json_dumps(arr, JSON_COMPACT)) == NULL)
        goto out;
    printf("%s\n", text);
    rc = 0;
out:
    free(text);
    json_decref(arr);
    return rc;
}

int cmd_appliances(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char err[STORE_ERR_LEN];
    appliance_list_t list = {0};
    store_t *st = NULL;
    cfg_t cfg;
    int c, rc, json = 0;

    if ((rc = cmd_config_from_env(&cfg, "appliances")) != 0)
        goto out;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            if ((rc = cmd_config_flag(&cfg, "appliances", "--db", "WSA_RELAY_DB", optarg)) != 0)
                goto out;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            fputs(appliances_usage, stdout);
            rc = 0;
            goto out;
        default:
            fputs("run 'wsa-relay appliances --help' for usage\n", stderr);
            rc = CFG_EXIT_USAGE;
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wsa-relay appliances: unexpected argument \"%s\"\n", argv[optind]);
        rc = CFG_EXIT_USAGE;
        goto out;
    }
    rc = 1;
    if (store_open(&st, cfg.db_path, STORE_READ_ONLY, err, sizeof(err)) != 0) {
        fprintf(stderr, "wsa-relay appliances: %s\n", err);
        goto out;
    }
    if ((store_appliances(st, collect, &list) < 0 ||
         store_listeners(st, collect_listener, &list) < 0) &&
        !list.nomem) {
        fprintf(stderr, "wsa-relay appliances: %s\n", store_errmsg(st));
        goto out;
    }
    if (list.nomem) {
        fputs("wsa-relay appliances: out of memory\n", stderr);
        goto out;
    }
    if (json) {
        if (print_json(&list) != 0) {
            fputs("wsa-relay appliances: out of memory\n", stderr);
            goto out;
        }
    } else {
        print_table(&list);
    }
    rc = 0;
out:
    for (size_t i = 0; i < list.n; i++)
        free(list.rows[i].name);
    free(list.rows);
    for (size_t i = 0; i < list.nl; i++)
        free(list.listeners[i].address);
    free(list.listeners);
    store_close(st);
    cfg_free(&cfg);
    return rc;
}
