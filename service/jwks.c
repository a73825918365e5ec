/*
 * jwks.c - the key set cache: the source table, the rate limits that decide when a lookup
 * starts a fetch, and the subscribers told when one ends.
 *
 * One mutex guards the table and the subscriber list. It is held only for table work and
 * for the eventfd writes of a notification, never across a fetch, so a worker's lookup
 * waits at most for another lookup or for the end of a notification.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <curl/curl.h>
#include "jwks_priv.h"
#include "log.h"
#include "util.h"

static int64_t retry_ms(const jwks_t *jwks)
{
    int64_t retry = JWKS_RETRY_S;

    if (jwks->cfg->jwks_refresh_s < retry)
        retry = jwks->cfg->jwks_refresh_s;
    return retry * 1000;
}

static jwks_source_t *source_new(const char *name, size_t name_len, const char *url)
{
    jwks_source_t *src = calloc(1, sizeof(*src));

    if (src == NULL)
        return NULL;
    src->name = malloc(name_len + 1);
    src->url = url != NULL ? strdup(url) : NULL;
    if (src->name == NULL || (url != NULL && src->url == NULL)) {
        free(src->name);
        free(src->url);
        free(src);
        return NULL;
    }
    for (size_t i = 0; i < name_len; i++)
        src->name[i] = (char)tolower((unsigned char)name[i]);
    src->name[name_len] = '\0';
    return src;
}

static void source_free(jwks_source_t *src)
{
    if (src->set != NULL)
        jwks_set_free(src->set);
    free(src->name);
    free(src->url);
    free(src);
}

static void link_source(jwks_t *jwks, jwks_source_t *src)
{
    src->next = jwks->sources;
    jwks->sources = src;
    jwks->nsources++;
}

/* The source for `host`, created on first use; NULL when the table is full (or no memory). */
static jwks_source_t *source_for(jwks_t *jwks, const char *host, size_t host_len)
{
    jwks_source_t *src;
    size_t url_len;

    /* with an override every host shares the one source made at creation */
    if (jwks->cfg->jwks_file != NULL || jwks->cfg->jwks_url != NULL)
        return jwks->sources;
    for (src = jwks->sources; src != NULL; src = src->next) {
        if (strlen(src->name) == host_len && strncasecmp(src->name, host, host_len) == 0)
            return src;
    }
    if (jwks->nsources >= JWKS_MAX_SOURCES || host_len == 0 || host_len > 300)
        return NULL;
    src = source_new(host, host_len, NULL);
    if (src == NULL)
        return NULL;
    url_len = host_len + sizeof("https:///.well-known/jwks");
    src->url = malloc(url_len);
    if (src->url == NULL) {
        source_free(src);
        return NULL;
    }
    snprintf(src->url, url_len, "https://%s/.well-known/jwks", src->name);
    link_source(jwks, src);
    return src;
}

/* Hands `src` to the thread. Called with the lock held. */
static void queue_fetch(jwks_t *jwks, jwks_source_t *src)
{
    src->fetching = 1;
    src->next_job = jwks->jobs;
    jwks->jobs = src;
    jwks->fetches++;
}

/* Whether the set of `src` is past serving (JWKS_MAX_STALE_S). Called with the lock held. */
static int set_expired(const jwks_source_t *src, int64_t now_ms)
{
    return src->set != NULL && now_ms - src->set_ms >= (int64_t)JWKS_MAX_STALE_S * 1000;
}

/*
 * Whether a fetch of `src` may start now: the retry interval after a failure; after a
 * success the refresh interval, unless the set has expired, which a fetch must replace at
 * once (a long refresh interval would otherwise refuse its known kids for hours). Called
 * with the lock held.
 */
static int fetch_due(const jwks_t *jwks, const jwks_source_t *src, int64_t now_ms)
{
    if (!src->ended)
        return 1;
    if (src->failed)
        return now_ms - src->ended_ms >= retry_ms(jwks);
    return set_expired(src, now_ms) ||
           now_ms - src->ended_ms >= (int64_t)jwks->cfg->jwks_refresh_s * 1000;
}

jwks_status_t jwks_find(jwks_t *jwks, const char *host, size_t host_len, const char *kid,
                        size_t kid_len, int64_t now_ms, jwks_key_t *out)
{
    jwks_status_t st;
    jwks_source_t *src;
    int wake = 0, stopping;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&jwks->mu);
    stopping = atomic_load(&jwks->stopping);
    src = source_for(jwks, host, host_len);
    if (src == NULL) {
        st = JWKS_FAILED;
    } else if (src->set != NULL && !set_expired(src, now_ms) &&
               jwks_set_find(src->set, kid, kid_len, out) == 0) {
        st = JWKS_FOUND;
        /* an old set goes on serving while a fresh one is fetched behind it */
        if (!stopping && !src->fetching && now_ms - src->set_ms >= (int64_t)JWKS_MAX_AGE_S * 1000 &&
            (!src->failed || now_ms - src->ended_ms >= retry_ms(jwks))) {
            queue_fetch(jwks, src);
            wake = 1;
        }
    } else if (src->fetching) {
        /* stopping: the running fetch is being aborted and no answer will come from it */
        st = stopping ? JWKS_FAILED : JWKS_PENDING;
    } else if (!fetch_due(jwks, src, now_ms)) {
        st = src->failed ? JWKS_FAILED : JWKS_NO_KID;
    } else if (stopping) {
        st = JWKS_FAILED;
    } else {
        queue_fetch(jwks, src);
        wake = 1;
        st = JWKS_PENDING;
    }
    pthread_mutex_unlock(&jwks->mu);
    if (wake)
        jwks_fetch_wake(jwks);
    return st;
}

int jwks_refresh(jwks_t *jwks, const char *host, size_t host_len, int64_t now_ms)
{
    jwks_source_t *src;
    int running = 0, wake = 0;

    pthread_mutex_lock(&jwks->mu);
    src = source_for(jwks, host, host_len);
    if (src != NULL && !atomic_load(&jwks->stopping)) {
        if (!src->fetching && fetch_due(jwks, src, now_ms)) {
            queue_fetch(jwks, src);
            wake = 1;
        }
        running = src->fetching;
    }
    pthread_mutex_unlock(&jwks->mu);
    if (wake)
        jwks_fetch_wake(jwks);
    return running;
}

/*
 * A URL as a log line shows it: scheme, host, port and path, without the user information
 * or the query, where a configured WSA_RELAY_JWKS_URL may carry a credential.
 */
static void url_for_log(const char *url, char *out, size_t outlen)
{
    const char *sep = strstr(url, "://");
    size_t scheme_len = sep != NULL ? (size_t)(sep - url) + 3 : 0;
    const char *host = url + scheme_len, *at = NULL;
    size_t authority = strcspn(host, "/?#"), shown;

    /* the last '@' of the authority ends the user information */
    for (size_t i = 0; i < authority; i++) {
        if (host[i] == '@')
            at = host + i;
    }
    if (at != NULL) {
        authority -= (size_t)(at + 1 - host);
        host = at + 1;
    }
    shown = authority + strcspn(host + authority, "?#");
    snprintf(out, outlen, "%.*s%.*s%s", (int)scheme_len, url, (int)shown, host,
             host[shown] != '\0' ? "?..." : "");
}

/* Writes to every subscriber. Called with the lock held, so that an unsubscribe that has
 * returned is never written to afterwards. */
static void notify(jwks_t *jwks)
{
    uint64_t one = 1;

    for (size_t i = 0; i < jwks->nsubs; i++) {
        /* a full eventfd or pipe already wakes its reader, so a failed write loses nothing */
        ssize_t n = write(jwks->subs[i], &one, sizeof(one));
        (void)n;
    }
}

void jwks_source_done(jwks_t *jwks, jwks_source_t *src, jwks_set_t *set, size_t skipped,
                      int64_t started_ms, const char *reason)
{
    int64_t now = util_monotonic_ms();
    char what[JWKS_REASON_LEN];
    jwks_set_t *old = NULL;

    if (src->url != NULL)
        url_for_log(src->url, what, sizeof(what));
    else
        snprintf(what, sizeof(what), "%s", jwks->cfg->jwks_file);
    if (set != NULL)
        log_msg(LOG_LEVEL_INFO, "jwks", "fetched %s: %zu key(s), %zu skipped, %lld ms", what,
                jwks_set_size(set), skipped, (long long)(now - started_ms));
    else
        log_msg(LOG_LEVEL_WARN, "jwks", "fetch of %s failed: %s", what, reason);

    pthread_mutex_lock(&jwks->mu);
    src->fetching = 0;
    src->ended = 1;
    src->ended_ms = now;
    src->failed = set == NULL;
    if (set != NULL) {
        old = src->set;
        src->set = set;
        src->set_ms = now;
    }
    notify(jwks);
    pthread_mutex_unlock(&jwks->mu);
    /* lookups copy their key out under the lock, so nobody holds the old set any more */
    if (old != NULL)
        jwks_set_free(old);
}

/* The override's source, with the file read once now so that a bad file stops the start. */
static int make_override(jwks_t *jwks, char *err, size_t errlen)
{
    const cfg_t *cfg = jwks->cfg;
    jwks_source_t *src = source_new("", 0, cfg->jwks_url);
    char why[JWKS_REASON_LEN];
    size_t skipped = 0;
    int64_t started = util_monotonic_ms();

    if (src == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    link_source(jwks, src);
    if (cfg->jwks_file == NULL)
        return 0;
    src->set = jwks_read_file(cfg->jwks_file, &skipped, why, sizeof(why));
    if (src->set == NULL) {
        snprintf(err, errlen, "WSA_RELAY_JWKS_FILE %s: %s", cfg->jwks_file, why);
        return -1;
    }
    src->ended = 1;
    src->ended_ms = src->set_ms = util_monotonic_ms();
    log_msg(LOG_LEVEL_INFO, "jwks", "read %s: %zu key(s), %zu skipped, %lld ms", cfg->jwks_file,
            jwks_set_size(src->set), skipped, (long long)(src->ended_ms - started));
    return 0;
}

jwks_t *jwks_create(const cfg_t *cfg, char *err, size_t errlen)
{
    jwks_t *jwks = NULL;

    if (cfg->jwks_file != NULL && cfg->jwks_url != NULL) {
        snprintf(err, errlen, "set WSA_RELAY_JWKS_FILE or WSA_RELAY_JWKS_URL, not both");
        return NULL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "cannot initialise libcurl");
        return NULL;
    }
    jwks = calloc(1, sizeof(*jwks));
    if (jwks == NULL) {
        snprintf(err, errlen, "out of memory");
        curl_global_cleanup();
        return NULL;
    }
    jwks->cfg = cfg;
    pthread_mutex_init(&jwks->mu, NULL);
    atomic_init(&jwks->stopping, 0);
    if ((cfg->jwks_file != NULL || cfg->jwks_url != NULL) && make_override(jwks, err, errlen) != 0)
        goto fail;
    if (jwks_fetch_start(jwks, err, errlen) != 0)
        goto fail;
    return jwks;

fail:
    jwks_destroy(jwks);
    return NULL;
}

void jwks_stop(jwks_t *jwks)
{
    pthread_mutex_lock(&jwks->mu);
    atomic_store(&jwks->stopping, 1);
    pthread_mutex_unlock(&jwks->mu);
    if (jwks->thread_started)
        jwks_fetch_wake(jwks);
}

void jwks_destroy(jwks_t *jwks)
{
    jwks_source_t *src, *next;

    if (jwks == NULL)
        return;
    jwks_stop(jwks);
    jwks_fetch_join(jwks);
    for (src = jwks->sources; src != NULL; src = next) {
        next = src->next;
        source_free(src);
    }
    pthread_mutex_destroy(&jwks->mu);
    free(jwks);
    curl_global_cleanup();
}

int jwks_subscribe(jwks_t *jwks, int fd)
{
    int flags = fcntl(fd, F_GETFL), rc = -1;

    /* notifications are written under the lock: a full pipe must not make them wait */
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
        return -1;
    pthread_mutex_lock(&jwks->mu);
    if (jwks->nsubs < JWKS_MAX_SUBSCRIBERS) {
        jwks->subs[jwks->nsubs++] = fd;
        rc = 0;
    }
    pthread_mutex_unlock(&jwks->mu);
    return rc;
}

void jwks_unsubscribe(jwks_t *jwks, int fd)
{
    pthread_mutex_lock(&jwks->mu);
    for (size_t i = 0; i < jwks->nsubs; i++) {
        if (jwks->subs[i] == fd) {
            jwks->subs[i] = jwks->subs[--jwks->nsubs];
            break;
        }
    }
    pthread_mutex_unlock(&jwks->mu);
}

unsigned long jwks_fetch_count(jwks_t *jwks)
{
    unsigned long n;

    pthread_mutex_lock(&jwks->mu);
    n = jwks->fetches;
    pthread_mutex_unlock(&jwks->mu);
    return n;
}
