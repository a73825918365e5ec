/*
 * server.h - running the HTTP server: listeners, worker threads, graceful stop.
 */
#ifndef WSA_SERVER_H
#define WSA_SERVER_H

#include "config.h"

/**
 * Serves until SIGINT or SIGTERM. Opens one read-only store per worker thread (the
 * database must exist with the current schema). When `port_file` is not NULL, writes the
 * bound port to it once every listener is ready (tests listen on port 0 and read it back).
 * Returns 0 after a graceful stop, -1 when the server could not start (already logged).
 */
int server_run(const cfg_t *cfg, const char *port_file);

#endif
