/*
 * syslog_rx.h - receiving WSA access lines by syslog push: UDP and TCP listeners on one
 * poll(2) loop, RFC 6587 framing, the sender allowlist, and the loss that can be counted.
 *
 * Every listener is one source of the store (a fresh one each run, as stdin is); a
 * message's offset is where it starts in the bytes that listener took in, so each message
 * is its own row. The parser reads the syslog header (RFC 3164 or RFC 5424).
 */
#ifndef WSA_SYSLOG_RX_H
#define WSA_SYSLOG_RX_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "config.h"
#include "load.h"
#include "store.h"

/* The longest message kept: a longer one is rejected with its first SYSLOG_RX_MAX_MSG bytes. */
#define SYSLOG_RX_MAX_MSG 65536
/* The longest octet count believed: a larger one is a broken stream, not a message. */
#define SYSLOG_RX_MAX_COUNTED   (16 * 1024 * 1024)
#define SYSLOG_RX_MAX_LISTENERS 8
#define SYSLOG_RX_MAX_CONNS     256

/* A listener as given on the command line. */
typedef struct syslog_rx_addr {
    int tcp; /* 1 for tcp://, 0 for udp:// */
    struct sockaddr_storage sa;
    socklen_t salen;
} syslog_rx_addr_t;

/**
 * Parses "udp://ADDR:PORT" or "tcp://ADDR:PORT" (ADDR an IPv4 address or a bracketed IPv6
 * one; "udp://:PORT" and "udp://PORT" mean 127.0.0.1; port 0 picks a free port). Returns 0,
 * or -1 with a message in `err`.
 */
int syslog_rx_parse_url(const char *url, syslog_rx_addr_t *out, char *err, size_t errlen);

/** Writes "udp://127.0.0.1:5514" or "tcp://[::1]:6514" for an address (64 bytes suffice). */
void syslog_rx_addr_text(int tcp, const struct sockaddr *sa, char *out, size_t outlen);

/*
 * Framing of a TCP stream (RFC 6587), decided frame by frame: "LEN SP <..." is octet
 * counting, anything else runs to the next LF or NUL. Empty frames are skipped.
 */
typedef enum {
    SYSLOG_RX_FRAME_OK = 0,   /* a whole message */
    SYSLOG_RX_FRAME_OVERSIZE, /* the first SYSLOG_RX_MAX_MSG bytes of a longer message */
    SYSLOG_RX_FRAME_CUT,      /* the stream ended inside an octet-counted message */
} syslog_rx_frame_kind_t;

typedef struct syslog_rx_frame {
    syslog_rx_frame_kind_t kind;
    const char *data;
    size_t len;
    int64_t declared; /* an octet-counted message's length; -1 for a delimited one */
    size_t consumed;  /* stream bytes taken since the previous frame, this one's included */
    size_t gap;       /* of those, the bytes before this frame began (delimiters between frames,
                         the dropped rest of an oversize message) */
} syslog_rx_frame_t;

/* Returns 0 to go on, -1 to stop (the feed then returns -1). */
typedef int (*syslog_rx_frame_cb)(const syslog_rx_frame_t *f, void *ctx);

typedef struct syslog_rx_framer {
    char *buf; /* bytes of the frame in progress */
    size_t len;
    int skipping;      /* 1: the rest of an oversize delimited message; 2: of a counted one */
    int64_t skip_left; /* bytes of an oversize counted message still to drop */
    size_t consumed;   /* stream bytes taken since the last frame */
    char why[160];     /* what was wrong with the framing */
} syslog_rx_framer_t;

int syslog_rx_framer_init(syslog_rx_framer_t *fr);
void syslog_rx_framer_free(syslog_rx_framer_t *fr);

/**
 * Takes `len` more bytes of the stream and calls `cb` for each frame they complete.
 * Returns 0; -1 when `cb` asked to stop; -2 when the framing is broken (an octet count
 * with a leading zero, of zero, or above SYSLOG_RX_MAX_COUNTED): fr->why says how, and the
 * stream cannot be read further.
 */
int syslog_rx_framer_feed(syslog_rx_framer_t *fr, const char *data, size_t len,
                          syslog_rx_frame_cb cb, void *ctx);

/** At the end of the stream: a last delimited message without its LF is a message; a
 * counted one cut short is SYSLOG_RX_FRAME_CUT. Returns as syslog_rx_framer_feed. */
int syslog_rx_framer_finish(syslog_rx_framer_t *fr, syslog_rx_frame_cb cb, void *ctx);

typedef struct syslog_rx_opts {
    const syslog_rx_addr_t *addrs;
    size_t naddrs;
    const char *appliance;       /* forced name, or NULL: sender map, syslog host, sender address */
    const cfg_t *cfg;            /* allowlist, sender map, receive buffer size */
    volatile sig_atomic_t *stop; /* set by a signal handler: commit and return */
    int batch_msgs;              /* messages per transaction at most; 0: 1000 */
    int commit_ms;               /* a batch is committed this soon at the latest; 0: 1000 */
} syslog_rx_opts_t;

/**
 * Listens on every address and stores what arrives until *opts->stop is set. Each listener
 * is logged at INFO as "listening on udp://127.0.0.1:40123" with its real port. Adds to
 * `counts`. Returns 0 after a stop, -1 when a listener cannot be opened or the store fails
 * (message in `err`; what was committed stays).
 */
int syslog_rx_run(store_t *st, const syslog_rx_opts_t *opts, load_counts_t *counts, char *err,
                  size_t errlen);

#endif
