/*
 * syslog_rx_priv.h - what the syslog receiver's files share: a listener's state and the
 * sink that turns messages into rows.
 */
#ifndef WSA_SYSLOG_RX_PRIV_H
#define WSA_SYSLOG_RX_PRIV_H

#include <stdint.h>
#include <sys/socket.h>
#include "ingest.h"
#include "syslog_rx.h"

#define SYSLOG_RX_ADDR_LEN   80
#define SYSLOG_RX_APPLIANCES 32
#define SYSLOG_RX_NAME_MAX   256

typedef struct syslog_rx_listener {
    int fd;
    int tcp;
    int v6;
    char addr[SYSLOG_RX_ADDR_LEN];    /* "udp://127.0.0.1:40123", the port as bound */
    store_source_t src;               /* this run's source; offset = bytes of messages so far */
    int src_dirty;                    /* src changed since it was last recorded */
    uint32_t ovfl;                    /* the kernel's last cumulative drop count (SO_RXQ_OVFL) */
    int64_t dropped, refused;         /* counted and not yet stored */
    int64_t dropped_all, refused_all; /* this run's totals, for the last log line */
} syslog_rx_listener_t;

typedef struct syslog_rx_app {
    char name[SYSLOG_RX_NAME_MAX];
    int64_t id;
} syslog_rx_app_t;

typedef struct syslog_rx_sink {
    store_t *st;
    const syslog_rx_opts_t *opts;
    ingest_parser_t *parser;
    load_counts_t *counts; /* the caller's, added to at each commit */
    load_counts_t batch;   /* of the open batch */
    int in_batch;
    int batch_msgs;
    int64_t batch_started_ms; /* monotonic */
    syslog_rx_app_t apps[SYSLOG_RX_APPLIANCES];
    int napps, next_app;
    char *err;
    size_t errlen;
} syslog_rx_sink_t;

/** Stores one message that arrived on `l` from `peer` (inside a batch it opens). 0 or -1. */
int syslog_rx__message(syslog_rx_sink_t *s, syslog_rx_listener_t *l, const struct sockaddr *peer,
                       const syslog_rx_frame_t *f);

/** Opens a batch when none is open (counters to store may need one). 0 or -1. */
int syslog_rx__begin(syslog_rx_sink_t *s);

/**
 * Records every listener's progress and counters in the open batch and commits it; does
 * nothing without one. 0, or -1 (the batch is rolled back, message in s->err).
 */
int syslog_rx__commit(syslog_rx_sink_t *s, syslog_rx_listener_t *ls, size_t n);

/**
 * The cumulative count of datagrams the kernel dropped on UDP socket `fd` (the counter that
 * SO_RXQ_OVFL reports), from /proc/net/udp (udp6 when `v6`). 0, or -1 when not found.
 */
int syslog_rx__proc_drops(int fd, int v6, uint32_t *total);

/** The sender's address as text ("192.0.2.10", "2001:db8::5"; IPv4-mapped as IPv4). */
void syslog_rx__peer_text(const struct sockaddr *sa, char *out, size_t outlen);

/** The family and address bytes of a socket address (for the allowlist and sender map). */
const void *syslog_rx__peer_bytes(const struct sockaddr *sa, int *family);

#endif
