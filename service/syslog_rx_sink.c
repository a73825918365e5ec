/*
 * syslog_rx_sink.c - syslog messages into rows: parse, name the appliance, batch, commit.
 *
 * A batch is one SQLite transaction, committed after so many messages or so much time, so
 * that a quiet sender's lines are visible within a second. It also records each
 * listener's source (how many bytes and lines so far) and the loss counted meanwhile.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "log.h"
#include "syslog_rx_priv.h"
#include "util.h"

#define REASON_LEN 256

static int fail(syslog_rx_sink_t *s, const char *what)
{
    snprintf(s->err, s->errlen, "syslog: %s: %s", what, store_errmsg(s->st));
    return -1;
}

const void *syslog_rx__peer_bytes(const struct sockaddr *sa, int *family)
{
    *family = sa->sa_family;
    if (sa->sa_family == AF_INET)
        return &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    return &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
}

void syslog_rx__peer_text(const struct sockaddr *sa, char *out, size_t outlen)
{
    int family;
    const unsigned char *a = syslog_rx__peer_bytes(sa, &family);

    if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)(const void *)a)) {
        family = AF_INET;
        a += 12;
    }
    if (inet_ntop(family, a, out, (socklen_t)outlen) == NULL)
        snprintf(out, outlen, "?");
}

/* The rows' appliance name may reach a terminal: control characters become '_'. */
static void printable(const char *in, char *out, size_t outlen)
{
    size_t i = 0;

    for (; in[i] != '\0' && i + 1 < outlen; i++)
        out[i] = (unsigned char)in[i] < 0x20 || in[i] == 0x7f ? '_' : in[i];
    out[i] = '\0';
}

/* --appliance, else the sender map, else (without a map) the syslog host, else the sender's
 * address. */
static int appliance_of(syslog_rx_sink_t *s, const struct sockaddr *peer, const ingest_rec_t *rec,
                        int64_t *id)
{
    char name[SYSLOG_RX_NAME_MAX];
    syslog_rx_app_t *slot;
    const char *mapped;
    const void *bytes;
    int family;

    bytes = syslog_rx__peer_bytes(peer, &family);
    if (s->opts->appliance != NULL)
        snprintf(name, sizeof(name), "%s", s->opts->appliance);
    else if ((mapped = cfg_sender_name(s->opts->cfg, family, bytes)) != NULL)
        snprintf(name, sizeof(name), "%s", mapped);
    /* with a map, a sender outside it could claim a mapped appliance's name (and add rows
     * under it) through its syslog host: only the map names appliances then */
    else if (s->opts->cfg->senders_n == 0 && rec->syslog_host != NULL &&
             rec->syslog_host[0] != '\0')
        printable(rec->syslog_host, name, sizeof(name));
    else
        syslog_rx__peer_text(peer, name, sizeof(name));
    for (int i = 0; i < s->napps; i++) {
        if (strcmp(s->apps[i].name, name) == 0) {
            *id = s->apps[i].id;
            return 0;
        }
    }
    if (store_appliance_id(s->st, name, id) != 0)
        return fail(s, "naming the appliance");
    if (s->napps < SYSLOG_RX_APPLIANCES) {
        slot = &s->apps[s->napps++];
    } else {
        slot = &s->apps[s->next_app];
        s->next_app = (s->next_app + 1) % SYSLOG_RX_APPLIANCES;
    }
    memcpy(slot->name, name, sizeof(name));
    slot->id = *id;
    return 0;
}

int syslog_rx__begin(syslog_rx_sink_t *s)
{
    if (s->in_batch)
        return 0;
    if (store_begin(s->st) != 0)
        return fail(s, "starting a batch");
    s->in_batch = 1;
    s->batch_msgs = 0;
    s->batch_started_ms = util_monotonic_ms();
    return 0;
}

static int add_reject(syslog_rx_sink_t *s, syslog_rx_listener_t *l, int64_t offset,
                      const syslog_rx_frame_t *f, const char *reason)
{
    int added = store_add_reject(s->st, l->src.id, offset, f->data, f->len, reason);

    if (added < 0)
        return fail(s, "storing a rejected message");
    if (added > 0) {
        s->batch.rejected++;
        l->src.rejects++;
    } else {
        s->batch.skipped++;
    }
    return 0;
}

static int add_access(syslog_rx_sink_t *s, syslog_rx_listener_t *l, int64_t offset,
                      const struct sockaddr *peer, const syslog_rx_frame_t *f,
                      const ingest_rec_t *rec)
{
    int64_t appliance_id;
    int added;

    if (appliance_of(s, peer, rec, &appliance_id) != 0)
        return -1;
    added = store_add_txn(s->st, l->src.id, offset, appliance_id, rec, f->data, f->len);
    if (added < 0)
        return fail(s, "storing a message");
    if (added == 0)
        s->batch.skipped++;
    else if (rec->warnings != 0)
        s->batch.warned++;
    else
        s->batch.stored++;
    return 0;
}

int syslog_rx__message(syslog_rx_sink_t *s, syslog_rx_listener_t *l, const struct sockaddr *peer,
                       const syslog_rx_frame_t *f)
{
    char reason[REASON_LEN];
    /* where the frame starts in what this listener took in (exact for one sender at a
     * time; with several connections their bytes count in the order their messages end):
     * unique within the source, since every frame takes at least one byte */
    int64_t offset = l->src.offset + (int64_t)f->gap;
    ingest_rec_t rec;
    syslog_rx_frame_t bomless;
    int rc = 0;

    if (syslog_rx__begin(s) != 0)
        return -1;
    l->src.offset += (int64_t)(f->consumed > f->gap ? f->consumed : f->gap + 1);
    l->src.size = l->src.offset;
    l->src.lines++;
    l->src_dirty = 1;
    s->batch.read++;
    s->batch_msgs++;
    reason[0] = '\0';
    switch (f->kind) {
    case SYSLOG_RX_FRAME_OVERSIZE:
        if (f->declared >= 0)
            snprintf(reason, sizeof(reason),
                     "syslog message of %" PRId64 " bytes is longer than the limit of %d bytes "
                     "(first %d kept)",
                     f->declared, SYSLOG_RX_MAX_MSG, SYSLOG_RX_MAX_MSG);
        else
            snprintf(reason, sizeof(reason),
                     "syslog message longer than the limit of %d bytes (first %d kept)",
                     SYSLOG_RX_MAX_MSG, SYSLOG_RX_MAX_MSG);
        return add_reject(s, l, offset, f, reason);
    case SYSLOG_RX_FRAME_CUT:
        snprintf(reason, sizeof(reason),
                 "the connection closed %zu bytes into an octet-counted message of %" PRId64
                 " bytes",
                 f->len, f->declared);
        return add_reject(s, l, offset, f, reason);
    case SYSLOG_RX_FRAME_OK:
    default:
        break;
    }
    /* some senders put a UTF-8 byte order mark before the whole message, where RFC 5424
     * allows one only before its MSG part; the row keeps the message without it */
    if (f->len > 3 && memcmp(f->data, "\xef\xbb\xbf<", 4) == 0) {
        bomless = *f;
        bomless.data += 3;
        bomless.len -= 3;
        f = &bomless;
    }
    memset(&rec, 0, sizeof(rec));
    switch (ingest_parse_line(s->parser, f->data, f->len, &rec, reason, sizeof(reason))) {
    case INGEST_LINE_ACCESS:
        rc = add_access(s, l, offset, peer, f, &rec);
        break;
    case INGEST_LINE_REJECT:
        rc = add_reject(s, l, offset, f, reason[0] != '\0' ? reason : "not a valid access record");
        break;
    case INGEST_LINE_SKIP:
    default:
        s->batch.skipped++;
        break;
    }
    return rc;
}

int syslog_rx__commit(syslog_rx_sink_t *s, syslog_rx_listener_t *ls, size_t n)
{
    if (!s->in_batch)
        return 0;
    for (size_t i = 0; i < n; i++) {
        syslog_rx_listener_t *l = &ls[i];
        if (l->src_dirty && store_source_update(s->st, &l->src) != 0)
            goto fail;
        if ((l->dropped > 0 || l->refused > 0) &&
            store_listener_add(s->st, l->addr, l->dropped, l->refused) != 0)
            goto fail;
        /* with --appliance every datagram of the listener was that appliance's */
        if (l->dropped > 0 && s->opts->appliance != NULL) {
            int64_t id;
            if (store_appliance_id(s->st, s->opts->appliance, &id) != 0 ||
                store_appliance_add_dropped(s->st, id, l->dropped) != 0)
                goto fail;
        }
    }
    if (store_commit(s->st) != 0)
        goto fail;
    s->in_batch = 0;
    for (size_t i = 0; i < n; i++) {
        ls[i].src_dirty = 0;
        ls[i].dropped = 0;
        ls[i].refused = 0;
    }
    load_counts_add(s->counts, &s->batch);
    memset(&s->batch, 0, sizeof(s->batch));
    return 0;
fail:
    fail(s, "committing a batch");
    store_rollback(s->st);
    s->in_batch = 0;
    return -1;
}
