/*
 * jwks_fetch.c - the fetch thread: every key set fetch runs here, on one libcurl multi
 * handle, so that a slow host delays nobody else's fetch and no worker ever waits for the
 * network.
 *
 * The thread sleeps in curl_multi_poll; jwks_find wakes it with curl_multi_wakeup when it
 * queues a source, and jwks_stop does the same to end it. A transfer takes https only
 * (http too for an explicit WSA_RELAY_JWKS_URL, which the operator chose), follows no
 * redirect, verifies the peer and its name, and stops at JWKS_MAX_BYTES or at the
 * configured timeout. Anything but HTTP 200 with a JWKS document is a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <curl/curl.h>
#include "jwks_priv.h"
#include "util.h"

#define POLL_MS 1000 /* the longest sleep; a wake-up or a socket event ends it sooner */

typedef struct transfer {
    jwks_t *jwks;
    jwks_source_t *src;
    CURL *easy;
    char *body;
    size_t len;
    size_t cap;
    int too_large;
    int64_t started_ms;
    char errbuf[CURL_ERROR_SIZE];
    struct transfer *next;
} transfer_t;

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
    transfer_t *t = arg;
    size_t n = size * nmemb;

    if (n > JWKS_MAX_BYTES - t->len) {
        t->too_large = 1;
        return 0; /* fewer bytes than offered: libcurl aborts the transfer */
    }
    if (t->len + n > t->cap) {
        size_t cap = t->cap == 0 ? 16384 : t->cap;
        char *body;
        while (cap < t->len + n)
            cap *= 2;
        if (cap > JWKS_MAX_BYTES)
            cap = JWKS_MAX_BYTES;
        body = realloc(t->body, cap);
        if (body == NULL)
            return 0;
        t->body = body;
        t->cap = cap;
    }
    memcpy(t->body + t->len, data, n);
    t->len += n;
    return n;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    transfer_t *t = arg;

    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return atomic_load(&t->jwks->stopping) ? 1 : 0;
}

static void transfer_free(transfer_t *t)
{
    if (t->easy != NULL)
        curl_easy_cleanup(t->easy);
    free(t->body);
    free(t);
}

/* Sets up a transfer of src->url; NULL with a reason in `err` when libcurl refuses it. */
static transfer_t *transfer_new(jwks_t *jwks, jwks_source_t *src, char *err, size_t errlen)
{
    const cfg_t *cfg = jwks->cfg;
    transfer_t *t = calloc(1, sizeof(*t));
    CURLcode rc = CURLE_OK;
    CURL *e;

    if (t == NULL || (t->easy = curl_easy_init()) == NULL) {
        snprintf(err, errlen, "out of memory");
        free(t);
        return NULL;
    }
    t->jwks = jwks;
    t->src = src;
    t->started_ms = util_monotonic_ms();
    e = t->easy;
    /* every option is checked: a libcurl that ignored one of these would fetch unsafely */
#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(e, opt, val);                                                    \
    } while (0)
    SETOPT(CURLOPT_URL, src->url);
    /* an explicit WSA_RELAY_JWKS_URL may be plain http (a local server); a host never */
    SETOPT(CURLOPT_PROTOCOLS_STR, cfg->jwks_url != NULL ? "http,https" : "https");
    /* a redirect is a failed fetch (not 200); libcurl refuses an empty list of redirect
     * protocols, so https alone is the narrowest, should following ever be turned on */
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(CURLOPT_MAXREDIRS, 0L);
    SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "https");
    SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    /* a configured bundle is the only trust: without clearing the CA path, Debian's libcurl
     * would also accept a certificate from any CA in /etc/ssl/certs */
    if (cfg->jwks_ca != NULL) {
        SETOPT(CURLOPT_CAINFO, cfg->jwks_ca);
        SETOPT(CURLOPT_CAPATH, (const char *)NULL);
    }
    /* only a configured proxy: "" keeps libcurl from taking one from https_proxy and the
     * like, which would send the fetch somewhere the configuration does not name */
    SETOPT(CURLOPT_PROXY, cfg->jwks_proxy != NULL ? cfg->jwks_proxy : "");
    /* nor may no_proxy send around a configured one */
    SETOPT(CURLOPT_NOPROXY, "");
    SETOPT(CURLOPT_TIMEOUT_MS, (long)cfg->jwks_timeout_ms);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->jwks_timeout_ms);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)JWKS_MAX_BYTES);
    SETOPT(CURLOPT_WRITEFUNCTION, on_data);
    SETOPT(CURLOPT_WRITEDATA, t);
    SETOPT(CURLOPT_NOPROGRESS, 0L);
    SETOPT(CURLOPT_XFERINFOFUNCTION, on_progress);
    SETOPT(CURLOPT_XFERINFODATA, t);
    SETOPT(CURLOPT_ERRORBUFFER, t->errbuf);
    SETOPT(CURLOPT_PRIVATE, t);
    SETOPT(CURLOPT_USERAGENT, "wsa-relay");
#undef SETOPT
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl: %s", curl_easy_strerror(rc));
        transfer_free(t);
        return NULL;
    }
    return t;
}

/* Ends a finished transfer: the reason it failed, or the parsed set. */
static void transfer_done(transfer_t *t, CURLcode rc)
{
    char reason[JWKS_REASON_LEN], perr[JWKS_REASON_LEN - 32];
    jwks_set_t *set = NULL;
    size_t skipped = 0;
    long status = 0;

    if (t->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(reason, sizeof(reason), "the document is larger than %d bytes", JWKS_MAX_BYTES);
    } else if (rc == CURLE_ABORTED_BY_CALLBACK && atomic_load(&t->jwks->stopping)) {
        snprintf(reason, sizeof(reason), "aborted: the server is stopping");
    } else if (rc != CURLE_OK) {
        snprintf(reason, sizeof(reason), "%s",
                 t->errbuf[0] != '\0' ? t->errbuf : curl_easy_strerror(rc));
    } else if (curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK ||
               status != 200) {
        snprintf(reason, sizeof(reason), "HTTP status %ld", status);
    } else {
        set = jwks_set_parse(t->body != NULL ? t->body : "", t->len, &skipped, perr, sizeof(perr));
        if (set == NULL)
            snprintf(reason, sizeof(reason), "not a JWKS: %s", perr);
    }
    jwks_source_done(t->jwks, t->src, set, skipped, t->started_ms, set != NULL ? NULL : reason);
}

jwks_set_t *jwks_read_file(const char *path, size_t *skipped, char *err, size_t errlen)
{
    char perr[JWKS_REASON_LEN - 32];
    jwks_set_t *set = NULL;
    char *text = NULL;
    size_t len = 0;
    int fd = util_open_regular(path, err, errlen);

    *skipped = 0;
    if (fd < 0)
        goto out;
    /* one byte more than allowed tells a document at the cap from one past it */
    text = malloc(JWKS_MAX_BYTES + 1);
    if (text == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    while (len <= JWKS_MAX_BYTES) {
        ssize_t n = read(fd, text + len, JWKS_MAX_BYTES + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "%s", strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > JWKS_MAX_BYTES) {
        snprintf(err, errlen, "the document is larger than %d bytes", JWKS_MAX_BYTES);
        goto out;
    }
    set = jwks_set_parse(text, len, skipped, perr, sizeof(perr));
    if (set == NULL)
        snprintf(err, errlen, "not a JWKS: %s", perr);

out:
    free(text);
    if (fd >= 0)
        close(fd);
    return set;
}

/* Starts one queued source: a file is read at once, a URL becomes a running transfer. */
static void start_job(jwks_t *jwks, jwks_source_t *src, transfer_t **running)
{
    char reason[JWKS_REASON_LEN];
    int64_t started = util_monotonic_ms();
    jwks_set_t *set;
    transfer_t *t;
    size_t skipped = 0;

    if (src->url == NULL) {
        set = jwks_read_file(jwks->cfg->jwks_file, &skipped, reason, sizeof(reason));
        jwks_source_done(jwks, src, set, skipped, started, reason);
        return;
    }
    t = transfer_new(jwks, src, reason, sizeof(reason));
    if (t != NULL && curl_multi_add_handle(jwks->multi, t->easy) != CURLM_OK) {
        snprintf(reason, sizeof(reason), "libcurl refused the transfer");
        transfer_free(t);
        t = NULL;
    }
    if (t == NULL) {
        jwks_source_done(jwks, src, NULL, 0, started, reason);
        return;
    }
    t->next = *running;
    *running = t;
}

static void unlink_transfer(transfer_t **running, transfer_t *t)
{
    for (transfer_t **p = running; *p != NULL; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            return;
        }
    }
}

/* Ends every transfer libcurl reports finished. */
static void reap(jwks_t *jwks, transfer_t **running)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(jwks->multi, &left)) != NULL) {
        transfer_t *t = NULL;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        /* msg points into the handle's state: read the result before removing it */
        CURLcode rc = msg->data.result;
        curl_multi_remove_handle(jwks->multi, t->easy);
        unlink_transfer(running, t);
        transfer_done(t, rc);
        transfer_free(t);
    }
}

/* At the stop: every fetch still queued or running ends as a failure. */
static void fail_all(jwks_t *jwks, jwks_source_t *jobs, transfer_t *running)
{
    const char *reason = "aborted: the server is stopping";

    while (running != NULL) {
        transfer_t *t = running;
        running = t->next;
        curl_multi_remove_handle(jwks->multi, t->easy);
        jwks_source_done(jwks, t->src, NULL, 0, t->started_ms, reason);
        transfer_free(t);
    }
    while (jobs != NULL) {
        jwks_source_t *src = jobs;
        jobs = src->next_job;
        jwks_source_done(jwks, src, NULL, 0, util_monotonic_ms(), reason);
    }
}

static void *fetch_main(void *arg)
{
    jwks_t *jwks = arg;
    transfer_t *running = NULL;
    jwks_source_t *jobs;
    int stop, active = 0;

    for (;;) {
        pthread_mutex_lock(&jwks->mu);
        stop = atomic_load(&jwks->stopping);
        jobs = jwks->jobs;
        jwks->jobs = NULL;
        pthread_mutex_unlock(&jwks->mu);
        if (stop)
            break;
        while (jobs != NULL) {
            jwks_source_t *src = jobs;
            jobs = src->next_job;
            start_job(jwks, src, &running);
        }
        curl_multi_perform(jwks->multi, &active);
        reap(jwks, &running);
        curl_multi_poll(jwks->multi, NULL, 0, POLL_MS, NULL);
    }
    fail_all(jwks, jobs, running);
    return NULL;
}

int jwks_fetch_start(jwks_t *jwks, char *err, size_t errlen)
{
    jwks->multi = curl_multi_init();
    if (jwks->multi == NULL) {
        snprintf(err, errlen, "cannot initialise libcurl");
        return -1;
    }
    if (pthread_create(&jwks->thread, NULL, fetch_main, jwks) != 0) {
        snprintf(err, errlen, "cannot start the JWKS fetch thread");
        return -1;
    }
    jwks->thread_started = 1;
    return 0;
}

void jwks_fetch_wake(jwks_t *jwks)
{
    curl_multi_wakeup(jwks->multi);
}

void jwks_fetch_join(jwks_t *jwks)
{
    if (jwks->thread_started) {
        pthread_join(jwks->thread, NULL);
        jwks->thread_started = 0;
    }
    if (jwks->multi != NULL) {
        curl_multi_cleanup(jwks->multi);
        jwks->multi = NULL;
    }
}
