/*
 * harness.h - running the built wsa-relay binary on a loopback port and talking to it.
 *
 * A test gets a temporary folder (h_setup), fills its database with `wsa-relay ingest`
 * (h_ingest), starts `wsa-relay serve --listen 127.0.0.1:0` as a child process with a given
 * environment (h_start), makes requests over HTTP/1.1 or h2c with libcurl (h_request), and
 * stops the server with SIGTERM, expecting exit status 0 (h_stop). Helpers abort the test
 * through cmocka on any failure of the harness itself.
 */
#ifndef WSA_HARNESS_H
#define WSA_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <curl/curl.h>
#include <jansson.h>

/* A secret of 40 bytes, for servers started in secret mode. */
#define H_SECRET "integration-test-secret-0123456789abcdef"

typedef struct h_server {
    char dir[256]; /* the temporary folder */
    char db[320];  /* <dir>/t.db */
    char log[320]; /* <dir>/server.log: the server's stderr */
    pid_t pid;     /* 0 when not running */
    int port;
    /* when > 0, h_start runs the server with RLIMIT_NOFILE set to this (soft and hard, so
     * that the server cannot raise it back) */
    int nofile;
} h_server_t;

typedef struct h_reply {
    long status;
    long http_version;    /* CURL_HTTP_VERSION_1_1 or CURL_HTTP_VERSION_2_0 */
    long new_connections; /* CURLINFO_NUM_CONNECTS: 0 when an open connection was reused
                           * (HTTP/1.1 only: every h2c request opens its own, see h_request) */
    char *body;           /* NUL-terminated */
    size_t len;
    json_t *json; /* the parsed body, NULL when it is not JSON */
    char content_type[128];
    long content_length; /* the Content-Length header, -1 when absent */
    char allow[128];     /* the Allow header, "" when absent */
} h_reply_t;

typedef struct h_client {
    CURL *curl;
    int h2; /* 1: h2c with prior knowledge; 0: HTTP/1.1 */
} h_client_t;

/** Creates the temporary folder. */
/**
 * Removes every WSA_RELAY_ variable from this process's environment and, unless set,
 * points LeakSanitizer at the suppressions: a child started with the environment it
 * inherits then sees only the settings its test gives it.
 */
void h_clean_env(void);

void h_setup(h_server_t *s);

/** Stops the server if it runs (asserting a clean exit) and removes the folder. */
void h_teardown(h_server_t *s);

/**
 * Runs WSA_RELAY_BIN with `argv` (NULL-terminated, without the program name) and the
 * environment of this process minus every WSA_RELAY_* variable plus `env` ("NAME=value",
 * NULL-terminated, may be NULL). Returns the exit status (128 + signal when killed); the
 * child's stderr is kept in `err` (NUL-terminated, truncated to errlen) when not NULL.
 */
int h_run(const char *const argv[], const char *const env[], char *err, size_t errlen);

/** Ingests the files (NULL-terminated) into the server's database; asserts exit status 0. */
void h_ingest(h_server_t *s, const char *const files[]);

/**
 * Starts `serve --db <db> --listen 127.0.0.1:0 --port-file <dir>/port` with `env` as for
 * h_run, and waits until the port file appears. Asserts that the server started.
 */
void h_start(h_server_t *s, const char *const env[]);

/** Sends SIGTERM and waits; returns the exit status (128 + signal when killed). */
int h_stop(h_server_t *s);

/** The server's stderr so far, read into a malloc'd string. */
char *h_server_log(const h_server_t *s);

void h_client_init(h_client_t *c, int h2);
void h_client_free(h_client_t *c);

/**
 * Makes one request on the client's handle (reusing its connection when it can). `headers`
 * are "Name: value" lines (NULL-terminated, may be NULL); `body` may be NULL. Asserts that
 * the transfer completed and that it used the client's HTTP version.
 */
void h_request(h_client_t *c, const h_server_t *s, const char *method, const char *path,
               const char *const headers[], const char *body, size_t len, h_reply_t *out);

/** As h_request, but returns libcurl's error instead of failing the test on one. */
CURLcode h_try_request(h_client_t *c, const h_server_t *s, const char *method, const char *path,
                       const char *const headers[], const char *body, size_t len, h_reply_t *out);
void h_reply_free(h_reply_t *r);

/**
 * A JWT with exactly these header and payload texts, signed with HS256 under `key`, or
 * with an empty signature when `key` is NULL. Returns a malloc'd string.
 */
char *h_jwt(const char *header_json, const char *payload_json, const char *key);

/** "Authorization: Bearer <valid HS256 token for H_SECRET with `payload_json`>", malloc'd. */
char *h_bearer(const char *payload_json);

/** Asserts a reply {"errors":[{"type":"fatal","code":code,"message":message}]} and nothing else. */
void h_assert_error(const h_reply_t *r, long status, const char *code, const char *message);

/** Asserts that `r` is JSON with a correct Content-Length and content type. */
void h_assert_json(const h_reply_t *r);

#endif
