/*
 * log.h - the one logging function of wsa-relay.
 *
 * Every line has the same shape, written with a single write(2) so that lines from
 * several threads never interleave:
 *
 *   2026-12-04T16:01:32.123Z INFO  [server] listening on 127.0.0.1:9090
 *
 * Never pass a token, a secret or a credential claim to these functions.
 */
#ifndef WSA_LOG_H
#define WSA_LOG_H

typedef enum {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO,
    LOG_LEVEL_WARN,
    LOG_LEVEL_ERROR,
} log_level_t;

/** Lines below `level` are dropped. The default is LOG_LEVEL_INFO. */
void log_set_level(log_level_t level);

/** Parses "debug", "info", "warn" or "error"; returns -1 for anything else. */
int log_level_parse(const char *name, log_level_t *out);

/** Writes one line to stderr. `module` names the layer, e.g. "server" or "ingest". */
void log_msg(log_level_t level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
