/*
 * syslog_rx.c - the syslog listeners: sockets, one poll(2) loop, the allowlist, UDP loss.
 *
 * One thread serves every listener and connection: a message costs a parse and an insert,
 * so the database, not the sockets, sets the pace, and one writer is what SQLite wants.
 * A sender outside WSA_RELAY_SYSLOG_ALLOW is never read (its datagram is dropped, its
 * connection closed), because a forged line could become a verdict and then a block.
 *
 * The kernel drops datagrams when the receive queue is full; with SO_RXQ_OVFL each
 * datagram carries the socket's cumulative drop count, so the increase is known (at the
 * next datagram that arrives) and stored per listener. TCP syslog has no acknowledgement:
 * what a sender wrote before a connection broke cannot be counted here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "syslog_rx_priv.h"
#include "util.h"

#define DEFAULT_BATCH_MSGS 1000
#define DEFAULT_COMMIT_MS  1000
#define READ_CHUNK         (64 * 1024)
#define UDP_BURST          256 /* datagrams per listener per turn, so TCP gets its turn */
#define DRAIN_READS        16  /* reads per socket at the stop (UDP: bursts) */
#define WARN_SLOTS         64
#define WARN_EVERY_MS      60000
/* refusal lines a minute over every address: the per-address memory is only WARN_SLOTS
 * long, and forged or rotating sources would otherwise get a line each */
#define REFUSE_LINES_PER_MIN 10
#define ACCEPT_PAUSE_MS      1000 /* how long a listener rests when accept has no descriptor */
/* a peer that vanished (powered off, cable pulled) is found in 60 + 6 * 10 s */
#define KEEPALIVE_IDLE_S  60
#define KEEPALIVE_INTVL_S 10
#define KEEPALIVE_CNT     6

typedef struct rx_conn {
    int fd;
    uint64_t serial; /* identity across a pass: a freed one's address may come back */
    int64_t last_ms; /* when it was accepted or last sent bytes (monotonic) */
    size_t listener;
    struct sockaddr_storage peer;
    syslog_rx_framer_t framer;
} rx_conn_t;

/* When each refused address was last logged: at most one line a minute per address. */
typedef struct warn_slot {
    int family;
    unsigned char addr[16];
    int64_t last_ms;
    int64_t quiet; /* refusals since that line */
} warn_slot_t;

/* A TCP listener that accept cannot serve for now (no descriptor or memory): while it
 * rests it is left out of poll, or its queued connection would wake every pass. */
typedef struct accept_rest {
    int64_t until_ms; /* 0: not resting */
    int64_t deferred; /* failed accepts in this episode */
} accept_rest_t;

typedef struct rx {
    const syslog_rx_opts_t *opts;
    syslog_rx_sink_t sink;
    syslog_rx_listener_t ls[SYSLOG_RX_MAX_LISTENERS];
    size_t nls;
    rx_conn_t *conns[SYSLOG_RX_MAX_CONNS];
    size_t nconns;
    warn_slot_t warned[WARN_SLOTS];
    int next_warn;
    int64_t refuse_window_ms; /* when the current minute of refusal lines began */
    int refuse_lines;         /* refusal lines logged in it */
    int64_t refuse_unlogged;  /* refusals that would have had a line beyond the cap */
    accept_rest_t rest[SYSLOG_RX_MAX_LISTENERS];
    char *buf;              /* one read's bytes */
    int64_t drops_read_ms;  /* when /proc was last read for drop counts */
    int64_t full_warned_ms; /* when an idle connection was last closed for lack of room */
    uint64_t next_serial;
    /* the message callback's context */
    syslog_rx_listener_t *cur_l;
    const struct sockaddr *cur_peer;
} rx_t;

int syslog_rx_parse_url(const char *url, syslog_rx_addr_t *out, char *err, size_t errlen)
{
    char host[INET6_ADDRSTRLEN + 1] = "127.0.0.1";
    const char *rest, *colon, *hend;
    struct sockaddr_in *v4 = (struct sockaddr_in *)(void *)&out->sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)(void *)&out->sa;
    char *end;
    long port;
    int family = AF_INET;

    memset(out, 0, sizeof(*out));
    if (strncmp(url, "udp://", 6) == 0)
        out->tcp = 0;
    else if (strncmp(url, "tcp://", 6) == 0)
        out->tcp = 1;
    else
        goto bad;
    rest = url + 6;
    if (rest[0] == '[') {
        hend = strchr(rest, ']');
        if (hend == NULL || hend[1] != ':' || (size_t)(hend - rest - 1) >= sizeof(host))
            goto bad;
        memcpy(host, rest + 1, (size_t)(hend - rest - 1));
        host[hend - rest - 1] = '\0';
        colon = hend + 1;
        family = AF_INET6;
    } else if ((colon = strrchr(rest, ':')) != NULL) {
        if (colon > rest) {
            if ((size_t)(colon - rest) >= sizeof(host) || memchr(rest, ':', (size_t)(colon - rest)))
                goto bad;
            memcpy(host, rest, (size_t)(colon - rest));
            host[colon - rest] = '\0';
        }
    } else {
        colon = rest - 1; /* "udp://PORT" */
    }
    if (colon[1] < '0' || colon[1] > '9')
        goto bad;
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || port > 65535)
        goto bad;
    if (family == AF_INET6) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &v6->sin6_addr) != 1)
            goto bad;
        out->salen = sizeof(*v6);
    } else {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &v4->sin_addr) != 1)
            goto bad;
        out->salen = sizeof(*v4);
    }
    return 0;
bad:
    snprintf(err, errlen,
             "--syslog: expected udp://ADDR:PORT or tcp://ADDR:PORT with an IP address (IPv6 "
             "in brackets) and a port 0-65535, e.g. udp://127.0.0.1:5514; got \"%s\"",
             url);
    return -1;
}

void syslog_rx_addr_text(int tcp, const struct sockaddr *sa, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN];
    int family;
    const void *a = syslog_rx__peer_bytes(sa, &family);
    unsigned port = family == AF_INET
                        ? ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port)
                        : ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);

    if (inet_ntop(family, a, host, sizeof(host)) == NULL)
        snprintf(host, sizeof(host), "?");
    snprintf(out, outlen, family == AF_INET6 ? "%s://[%s]:%u" : "%s://%s:%u", tcp ? "tcp" : "udp",
             host, port);
}

static int fail_errno(rx_t *r, const char *what, const char *addr)
{
    snprintf(r->sink.err, r->sink.errlen, "syslog: %s %s: %s", what, addr, strerror(errno));
    return -1;
}

static int open_listener(rx_t *r, const syslog_rx_addr_t *a, syslog_rx_listener_t *l)
{
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    char name[SYSLOG_RX_ADDR_LEN + 16];
    int one = 1;

    syslog_rx_addr_text(a->tcp, (const struct sockaddr *)&a->sa, l->addr, sizeof(l->addr));
    l->tcp = a->tcp;
    l->v6 = a->sa.ss_family == AF_INET6;
    l->fd = socket(a->sa.ss_family,
                   (a->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->fd < 0)
        return fail_errno(r, "cannot open a socket for", l->addr);
    if (a->tcp)
        setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (a->sa.ss_family == AF_INET6)
        setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (!a->tcp) {
        int size = r->opts->cfg->syslog_rcvbuf;
        if (setsockopt(l->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) != 0)
            log_msg(LOG_LEVEL_WARN, "syslog",
                    "%s: the kernel will not count dropped datagrams (SO_RXQ_OVFL: %s)", l->addr,
                    strerror(errno));
        if (size > 0 && setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) != 0)
            return fail_errno(r, "cannot set the receive buffer of", l->addr);
    }
    if (bind(l->fd, (const struct sockaddr *)&a->sa, a->salen) != 0)
        return fail_errno(r, "cannot listen on", l->addr);
    if (a->tcp && listen(l->fd, 64) != 0)
        return fail_errno(r, "cannot listen on", l->addr);
    if (getsockname(l->fd, (struct sockaddr *)&bound, &blen) != 0)
        return fail_errno(r, "cannot read the address of", l->addr);
    syslog_rx_addr_text(a->tcp, (const struct sockaddr *)&bound, l->addr, sizeof(l->addr));
    snprintf(name, sizeof(name), "syslog %s", l->addr);
    if (store_source_open(r->sink.st, name, NULL, &l->src) != 0) {
        snprintf(r->sink.err, r->sink.errlen, "syslog: %s: %s", l->addr, store_errmsg(r->sink.st));
        return -1;
    }
    log_msg(LOG_LEVEL_INFO, "syslog", "listening on %s", l->addr);
    return 0;
}

/* Ends a minute of refusal lines: one line for what the cap kept out of the log. */
static void refusals_tick(rx_t *r, int64_t now, int force)
{
    if (!force && now - r->refuse_window_ms < WARN_EVERY_MS)
        return;
    if (r->refuse_unlogged > 0)
        log_msg(LOG_LEVEL_WARN, "syslog",
                "%" PRId64 " more refusals not logged (at most %d refusal lines a minute); "
                "syslog_listeners counts every one",
                r->refuse_unlogged, REFUSE_LINES_PER_MIN);
    r->refuse_window_ms = now;
    r->refuse_lines = 0;
    r->refuse_unlogged = 0;
}

/* Counts a sender outside the allowlist; logs it at most once a minute per address and
 * REFUSE_LINES_PER_MIN times a minute in all. */
static void refuse(rx_t *r, syslog_rx_listener_t *l, const struct sockaddr *peer, const char *what)
{
    int family;
    const void *a = syslog_rx__peer_bytes(peer, &family);
    size_t alen = family == AF_INET ? 4 : 16;
    int64_t now = util_monotonic_ms();
    char text[INET6_ADDRSTRLEN];
    warn_slot_t *w = NULL;

    l->refused++;
    l->refused_all++;
    for (int i = 0; i < WARN_SLOTS; i++) {
        if (r->warned[i].family == family && memcmp(r->warned[i].addr, a, alen) == 0) {
            w = &r->warned[i];
            break;
        }
    }
    if (w != NULL && now - w->last_ms < WARN_EVERY_MS) {
        w->quiet++;
        return;
    }
    refusals_tick(r, now, 0);
    if (r->refuse_lines >= REFUSE_LINES_PER_MIN) {
        r->refuse_unlogged++;
        if (w != NULL)
            w->quiet++;
        return;
    }
    r->refuse_lines++;
    if (w == NULL) {
        w = &r->warned[r->next_warn];
        r->next_warn = (r->next_warn + 1) % WARN_SLOTS;
        w->family = family;
        memcpy(w->addr, a, alen);
        w->quiet = 0;
    }
    syslog_rx__peer_text(peer, text, sizeof(text));
    log_msg(LOG_LEVEL_WARN, "syslog",
            "%s: refused a %s from %s, which is not in WSA_RELAY_SYSLOG_ALLOW (%" PRId64
            " more refused from it since the last such line)",
            l->addr, what, text, w->quiet);
    w->last_ms = now;
    w->quiet = 0;
}

static int allowed(rx_t *r, const struct sockaddr *peer)
{
    int family;
    const void *a = syslog_rx__peer_bytes(peer, &family);

    return cfg_syslog_allowed(r->opts->cfg, family, a);
}

static int on_frame(const syslog_rx_frame_t *f, void *ctx)
{
    rx_t *r = ctx;

    return syslog_rx__message(&r->sink, r->cur_l, r->cur_peer, f);
}

/*
 * The socket's cumulative drop count as last seen, from either source. It only grows, and
 * an older reading (a datagram queued before the latest drops) must not count again: a
 * 32-bit counter, so "newer" is a forward difference under 2^31.
 */
static void note_total(syslog_rx_listener_t *l, uint32_t total)
{
    uint32_t diff = total - l->ovfl;

    if (diff != 0 && diff < 0x80000000u) {
        l->dropped += diff;
        l->dropped_all += diff;
        l->ovfl = total;
    }
}

/* The drop count a datagram carries, when it carries one. */
static void note_drops(syslog_rx_listener_t *l, struct msghdr *mh)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
            uint32_t total;
            memcpy(&total, CMSG_DATA(c), sizeof(total));
            note_total(l, total);
        }
    }
}

/* Drops after the last datagram that arrived, read from /proc at most once a second. */
static void poll_drops(rx_t *r, int64_t now, int force)
{
    if (!force && now - r->drops_read_ms < 1000)
        return;
    r->drops_read_ms = now;
    for (size_t i = 0; i < r->nls; i++) {
        uint32_t total;
        if (!r->ls[i].tcp && syslog_rx__proc_drops(r->ls[i].fd, r->ls[i].v6, &total) == 0)
            note_total(&r->ls[i], total);
    }
}

/* Up to UDP_BURST datagrams: 1 when that many were read, 0 when the queue ran empty, -1
 * when the store failed. */
static int read_udp(rx_t *r, syslog_rx_listener_t *l)
{
    for (int i = 0; i < UDP_BURST; i++) {
        struct sockaddr_storage peer;
        union {
            char buf[CMSG_SPACE(sizeof(uint32_t))];
            struct cmsghdr align;
        } control;
        struct iovec iov = {.iov_base = r->buf, .iov_len = READ_CHUNK};
        struct msghdr mh = {.msg_name = &peer,
                            .msg_namelen = sizeof(peer),
                            .msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = control.buf,
                            .msg_controllen = sizeof(control.buf)};
        syslog_rx_frame_t f = {.kind = SYSLOG_RX_FRAME_OK, .declared = -1};
        ssize_t n = recvmsg(l->fd, &mh, MSG_DONTWAIT);

        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return 0;
            /* an ICMP error queued on the socket, for instance: not the listener's end */
            log_msg(LOG_LEVEL_WARN, "syslog", "%s: %s", l->addr, strerror(errno));
            return 0;
        }
        note_drops(l, &mh);
        if (!allowed(r, (struct sockaddr *)&peer)) {
            refuse(r, l, (struct sockaddr *)&peer, "datagram");
            continue;
        }
        f.data = r->buf;
        f.len = (size_t)n;
        f.consumed = (size_t)n;
        /* one message a datagram (RFC 5426); some senders end it with an LF or a NUL */
        while (f.len > 0 && (f.data[f.len - 1] == '\n' || f.data[f.len - 1] == '\0'))
            f.len--;
        /* and some put a NUL before it, as TCP senders do between frames */
        while (f.len > 0 && f.data[0] == '\0') {
            f.data++;
            f.len--;
        }
        if (f.len > 0 && syslog_rx__message(&r->sink, l, (struct sockaddr *)&peer, &f) != 0)
            return -1;
    }
    return 1; /* a whole burst: more may be waiting */
}

static void close_conn(rx_t *r, size_t i)
{
    rx_conn_t *c = r->conns[i];

    close(c->fd);
    syslog_rx_framer_free(&c->framer);
    free(c);
    r->conns[i] = r->conns[--r->nconns];
}

/* The connection idle longest, whose slot a newcomer takes when the table is full. */
static size_t longest_idle(const rx_t *r)
{
    size_t best = 0;

    for (size_t i = 1; i < r->nconns; i++)
        if (r->conns[i]->last_ms < r->conns[best]->last_ms)
            best = i;
    return best;
}

/* Keepalive finds a peer that went away without a word; failing to set it costs only that. */
static void keepalive(int fd)
{
    int one = 1, idle = KEEPALIVE_IDLE_S, intvl = KEEPALIVE_INTVL_S, cnt = KEEPALIVE_CNT;

    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) != 0)
        log_msg(LOG_LEVEL_DEBUG, "syslog", "keepalive: %s", strerror(errno));
}

/*
 * Closes connections that sent nothing for WSA_RELAY_SYSLOG_IDLE_S: without it, idle
 * connections from any allowed sender hold every slot for good. An unfinished message is
 * dropped, as at the stop.
 */
static void close_idle(rx_t *r, int64_t now)
{
    int64_t limit = (int64_t)r->opts->cfg->syslog_idle_s * 1000;
    char text[INET6_ADDRSTRLEN];

    for (size_t i = r->nconns; i-- > 0;) {
        rx_conn_t *c = r->conns[i];
        if (now - c->last_ms < limit)
            continue;
        syslog_rx__peer_text((struct sockaddr *)&c->peer, text, sizeof(text));
        log_msg(LOG_LEVEL_INFO, "syslog",
                "%s: closed the connection from %s: nothing received for %d s "
                "(WSA_RELAY_SYSLOG_IDLE_S); %zu bytes of an unfinished message dropped",
                r->ls[c->listener].addr, text, r->opts->cfg->syslog_idle_s, c->framer.len);
        close_conn(r, i);
    }
}

/* Out of descriptors or memory: the listener rests; one line when an episode starts. */
static void accept_starved(rx_t *r, size_t li, int err)
{
    accept_rest_t *a = &r->rest[li];

    if (a->deferred == 0)
        log_msg(LOG_LEVEL_WARN, "syslog",
                "%s: accept: %s; new connections wait (retried every %d ms, said once until it "
                "recovers)",
                r->ls[li].addr, strerror(err), ACCEPT_PAUSE_MS);
    a->deferred++;
    a->until_ms = util_monotonic_ms() + ACCEPT_PAUSE_MS;
}

static void accept_recovered(rx_t *r, size_t li)
{
    accept_rest_t *a = &r->rest[li];

    if (a->deferred > 0)
        log_msg(LOG_LEVEL_INFO, "syslog",
                "%s: accepting connections again after %" PRId64 " deferred accept attempts",
                r->ls[li].addr, a->deferred);
    a->deferred = 0;
    a->until_ms = 0;
}

static void accept_tcp(rx_t *r, size_t li)
{
    syslog_rx_listener_t *l = &r->ls[li];

    for (;;) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        char text[INET6_ADDRSTRLEN];
        rx_conn_t *c;
        int fd = accept4(l->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                accept_starved(r, li, errno);
                return;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                log_msg(LOG_LEVEL_WARN, "syslog", "%s: accept: %s", l->addr, strerror(errno));
            /* the episode ends when the queue is empty, not at the first success: the
             * connections taken may use up the descriptors again */
            accept_recovered(r, li);
            return;
        }
        if (!allowed(r, (struct sockaddr *)&peer)) {
            refuse(r, l, (struct sockaddr *)&peer, "connection");
            close(fd);
            continue;
        }
        syslog_rx__peer_text((struct sockaddr *)&peer, text, sizeof(text));
        if (r->nconns == SYSLOG_RX_MAX_CONNS) {
            /* the newcomer is the likelier to have something to say; once a minute, so a
             * sender that reconnects in a loop does not fill the log */
            size_t victim = longest_idle(r);
            rx_conn_t *v = r->conns[victim];
            int64_t now = util_monotonic_ms();
            if (r->full_warned_ms == 0 || now - r->full_warned_ms >= WARN_EVERY_MS) {
                char vtext[INET6_ADDRSTRLEN];
                syslog_rx__peer_text((struct sockaddr *)&v->peer, vtext, sizeof(vtext));
                log_msg(LOG_LEVEL_WARN, "syslog",
                        "%s: closed the connection from %s, idle for %" PRId64
                        " ms, to admit one from %s: %d connections are open (said at most "
                        "once a minute)",
                        r->ls[v->listener].addr, vtext, now - v->last_ms, text,
                        SYSLOG_RX_MAX_CONNS);
                r->full_warned_ms = now;
            }
            close_conn(r, victim);
        }
        if ((c = calloc(1, sizeof(*c))) == NULL) {
            log_msg(LOG_LEVEL_WARN, "syslog", "%s: out of memory for a connection from %s", l->addr,
                    text);
            close(fd);
            continue;
        }
        if (syslog_rx_framer_init(&c->framer) != 0) {
            log_msg(LOG_LEVEL_WARN, "syslog", "%s: out of memory for a connection from %s", l->addr,
                    text);
            free(c);
            close(fd);
            continue;
        }
        keepalive(fd);
        c->fd = fd;
        c->serial = ++r->next_serial;
        c->last_ms = util_monotonic_ms();
        c->listener = li;
        c->peer = peer;
        r->conns[r->nconns++] = c;
        log_msg(LOG_LEVEL_DEBUG, "syslog", "%s: connection from %s", l->addr, text);
    }
}

/* Reads what a connection has; closes it at its end or when its framing is broken. 1 when
 * it read bytes and stays open, 0 when there was nothing or it closed, -1 when the store
 * failed. */
static int read_conn(rx_t *r, size_t i)
{
    rx_conn_t *c = r->conns[i];
    syslog_rx_listener_t *l = &r->ls[c->listener];
    char text[INET6_ADDRSTRLEN];
    ssize_t n = read(c->fd, r->buf, READ_CHUNK);
    int rc;

    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    r->cur_l = l;
    r->cur_peer = (struct sockaddr *)&c->peer;
    if (n > 0) {
        c->last_ms = util_monotonic_ms();
        rc = syslog_rx_framer_feed(&c->framer, r->buf, (size_t)n, on_frame, r);
    } else {
        rc = syslog_rx_framer_finish(&c->framer, on_frame, r);
    }
    if (rc == -1)
        return -1;
    if (rc == -2) {
        syslog_rx__peer_text(r->cur_peer, text, sizeof(text));
        log_msg(LOG_LEVEL_WARN, "syslog", "%s: closed the connection from %s: broken framing: %s",
                l->addr, text, c->framer.why);
    } else if (n < 0) {
        syslog_rx__peer_text(r->cur_peer, text, sizeof(text));
        log_msg(LOG_LEVEL_WARN, "syslog", "%s: connection from %s: %s", l->addr, text,
                strerror(errno));
    }
    if (n <= 0 || rc == -2) {
        close_conn(r, i);
        return 0;
    }
    return 1;
}

/*
 * At the stop, what has already arrived is stored too: the datagrams queued on each UDP
 * listener and the bytes waiting on each connection, within bounds. A message still on its
 * way is not waited for, and a connection's unfinished last message is dropped.
 */
static int drain(rx_t *r)
{
    for (size_t i = 0; i < r->nls; i++) {
        int more = 1;
        for (int k = 0; !r->ls[i].tcp && more == 1 && k < DRAIN_READS; k++)
            if ((more = read_udp(r, &r->ls[i])) < 0)
                return -1;
    }
    /* from the last: closing one moves the last into its slot, which is done already */
    for (size_t i = r->nconns; i-- > 0;) {
        int more = 1;
        for (int k = 0; more == 1 && k < DRAIN_READS; k++)
            if ((more = read_conn(r, i)) < 0)
                return -1;
    }
    return 0;
}

/* How long poll may sleep: until the open batch is due, else a short tick for the stop
 * flag (a signal between the check and poll would otherwise wait for the next message). */
static int poll_timeout(rx_t *r, int commit_ms)
{
    int64_t left;

    if (!r->sink.in_batch)
        return 250;
    left = r->sink.batch_started_ms + commit_ms - util_monotonic_ms();
    return left < 0 ? 0 : left > 250 ? 250 : (int)left;
}

static int loop(rx_t *r)
{
    int batch_msgs = r->opts->batch_msgs > 0 ? r->opts->batch_msgs : DEFAULT_BATCH_MSGS;
    int commit_ms = r->opts->commit_ms > 0 ? r->opts->commit_ms : DEFAULT_COMMIT_MS;
    struct pollfd pfd[SYSLOG_RX_MAX_LISTENERS + SYSLOG_RX_MAX_CONNS];
    uint64_t polled[SYSLOG_RX_MAX_CONNS];

    while (!*r->opts->stop) {
        size_t np = 0, nc;
        int ready;
        int64_t now = util_monotonic_ms();

        close_idle(r, now);
        nc = r->nconns;

        /* a resting listener's turn comes with the tick after its rest */
        for (size_t i = 0; i < r->nls; i++) {
            int resting = r->rest[i].until_ms > now;
            pfd[np++] = (struct pollfd){.fd = resting ? -1 : r->ls[i].fd, .events = POLLIN};
        }
        for (size_t i = 0; i < nc; i++) {
            polled[i] = r->conns[i]->serial;
            pfd[np++] = (struct pollfd){.fd = r->conns[i]->fd, .events = POLLIN};
        }
        ready = poll(pfd, np, poll_timeout(r, commit_ms));
        if (ready < 0 && errno != EINTR) {
            snprintf(r->sink.err, r->sink.errlen, "syslog: poll: %s", strerror(errno));
            return -1;
        }
        for (size_t i = 0; i < r->nls; i++) {
            int retry = r->rest[i].until_ms != 0 && r->rest[i].until_ms <= util_monotonic_ms();
            if ((ready <= 0 || pfd[i].revents == 0) && !retry)
                continue;
            if (r->ls[i].tcp)
                accept_tcp(r, i);
            else if (read_udp(r, &r->ls[i]) < 0)
                return -1;
        }
        /* connections by identity: closing one moves another into its slot */
        for (size_t k = 0; ready > 0 && k < nc; k++) {
            if (pfd[r->nls + k].revents == 0)
                continue;
            for (size_t i = 0; i < r->nconns; i++) {
                if (r->conns[i]->serial == polled[k]) {
                    if (read_conn(r, i) < 0)
                        return -1;
                    break;
                }
            }
        }
        if (r->sink.in_batch && (r->sink.batch_msgs >= batch_msgs ||
                                 util_monotonic_ms() - r->sink.batch_started_ms >= commit_ms)) {
            if (syslog_rx__commit(&r->sink, r->ls, r->nls) != 0)
                return -1;
        }
        /* loss and refusals are stored within a second too, even with no message to carry */
        poll_drops(r, util_monotonic_ms(), 0);
        refusals_tick(r, util_monotonic_ms(), 0);
        for (size_t i = 0; !r->sink.in_batch && i < r->nls; i++) {
            if (r->ls[i].dropped > 0 || r->ls[i].refused > 0) {
                if (syslog_rx__begin(&r->sink) != 0)
                    return -1;
            }
        }
    }
    if (drain(r) != 0)
        return -1;
    poll_drops(r, util_monotonic_ms(), 1);
    if (syslog_rx__begin(&r->sink) != 0)
        return -1;
    return syslog_rx__commit(&r->sink, r->ls, r->nls);
}

int syslog_rx_run(store_t *st, const syslog_rx_opts_t *opts, load_counts_t *counts, char *err,
                  size_t errlen)
{
    rx_t *r = calloc(1, sizeof(*r));
    int rc = -1;

    if (r == NULL) {
        snprintf(err, errlen, "syslog: out of memory");
        return -1;
    }
    r->opts = opts;
    r->sink =
        (syslog_rx_sink_t){.st = st, .opts = opts, .counts = counts, .err = err, .errlen = errlen};
    for (size_t i = 0; i < SYSLOG_RX_MAX_LISTENERS; i++)
        r->ls[i].fd = -1;
    if (opts->naddrs == 0 || opts->naddrs > SYSLOG_RX_MAX_LISTENERS) {
        snprintf(err, errlen, "syslog: 1 to %d listeners, not %zu", SYSLOG_RX_MAX_LISTENERS,
                 opts->naddrs);
        goto out;
    }
    if ((r->buf = malloc(READ_CHUNK)) == NULL || (r->sink.parser = ingest_parser_new()) == NULL) {
        snprintf(err, errlen, "syslog: out of memory");
        goto out;
    }
    /* appliances push native access logs; one sender's W3C header must not switch the rest */
    ingest_parser_set_format(r->sink.parser, INGEST_FORMAT_NATIVE);
    /* the sources are created in one batch, so a failed start leaves none behind */
    if (store_begin(st) != 0) {
        snprintf(err, errlen, "syslog: %s", store_errmsg(st));
        goto out;
    }
    for (r->nls = 0; r->nls < opts->naddrs; r->nls++) {
        if (open_listener(r, &opts->addrs[r->nls], &r->ls[r->nls]) != 0) {
            store_rollback(st);
            r->nls++;
            goto out;
        }
    }
    if (store_commit(st) != 0) {
        snprintf(err, errlen, "syslog: %s", store_errmsg(st));
        store_rollback(st);
        goto out;
    }
    r->refuse_window_ms = util_monotonic_ms();
    rc = loop(r);
    refusals_tick(r, util_monotonic_ms(), 1);
    for (size_t i = 0; i < r->nls; i++) {
        if (r->ls[i].dropped_all > 0 || r->ls[i].refused_all > 0)
            log_msg(LOG_LEVEL_INFO, "syslog",
                    "%s: %" PRId64 " datagrams dropped by the kernel, %" PRId64
                    " datagrams or connections refused in this run",
                    r->ls[i].addr, r->ls[i].dropped_all, r->ls[i].refused_all);
    }
out:
    while (r->nconns > 0)
        close_conn(r, r->nconns - 1);
    for (size_t i = 0; i < SYSLOG_RX_MAX_LISTENERS; i++)
        if (r->ls[i].fd >= 0)
            close(r->ls[i].fd);
    if (r->sink.parser != NULL)
        ingest_parser_free(r->sink.parser);
    free(r->buf);
    free(r);
    return rc;
}
