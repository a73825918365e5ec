/*
 * harness.c - see harness.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "harness.h"
#include "util.h"

extern char **environ;

#define LSAN_SUPPRESSIONS TEST_DATA_DIR "/../lsan.supp"
#define START_TIMEOUT_MS  20000
#define STOP_TIMEOUT_MS   20000

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

void h_setup(h_server_t *s)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "/tmp/wsa-relay-it-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    snprintf(s->db, sizeof(s->db), "%s/t.db", s->dir);
    snprintf(s->log, sizeof(s->log), "%s/server.log", s->dir);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

void h_teardown(h_server_t *s)
{
    if (s->pid > 0)
        assert_int_equal(h_stop(s), 0);
    if (s->dir[0] != '\0')
        nftw(s->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    s->dir[0] = '\0';
}

/* The environment of this process without WSA_RELAY_*, plus `env`; a malloc'd array. */
static char **child_environment(const char *const env[])
{
    size_t n = 0, m = 0, k = 0;
    char **out;

    while (environ[n] != NULL)
        n++;
    while (env != NULL && env[m] != NULL)
        m++;
    out = calloc(n + m + 2, sizeof(*out));
    assert_non_null(out);
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "WSA_RELAY_", 10) != 0)
            out[k++] = environ[i];
    }
    for (size_t i = 0; i < m; i++)
        out[k++] = (char *)env[i];
    /* under AddressSanitizer, H2O's own per-thread caches are not the server's leaks */
    if (getenv("LSAN_OPTIONS") == NULL)
        out[k++] = "LSAN_OPTIONS=suppressions=" LSAN_SUPPRESSIONS;
    out[k] = NULL;
    return out;
}

/*
 * Forks WSA_RELAY_BIN with argv; stderr (and stdout) go to `errfile`. `nofile` > 0 limits
 * the child's open files.
 */
static pid_t spawn(const char *const argv[], const char *const env[], const char *errfile,
                   int nofile)
{
    char **envp = child_environment(env);
    const char *args[64];
    size_t n = 0;
    pid_t pid;

    args[n++] = WSA_RELAY_BIN;
    for (size_t i = 0; argv[i] != NULL && n < 63; i++)
        args[n++] = argv[i];
    args[n] = NULL;

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, STDERR_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0)
            _exit(127);
        close(fd);
        if (nofile > 0) {
            struct rlimit rl = {(rlim_t)nofile, (rlim_t)nofile};
            if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
                _exit(126);
        }
        execve(WSA_RELAY_BIN, (char *const *)args, envp);
        _exit(127);
    }
    free(envp);
    return pid;
}

static int exit_status(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long len;

    if (f == NULL)
        return strdup("");
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    len = (long)fread(buf, 1, (size_t)len, f);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

int h_run(const char *const argv[], const char *const env[], char *err, size_t errlen)
{
    char errfile[] = "/tmp/wsa-relay-run-XXXXXX";
    int fd = mkstemp(errfile), status = 0;
    pid_t pid;

    assert_true(fd >= 0);
    close(fd);
    pid = spawn(argv, env, errfile, 0);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (err != NULL && errlen > 0) {
        char *text = read_file(errfile);
        snprintf(err, errlen, "%s", text);
        free(text);
    }
    unlink(errfile);
    return exit_status(status);
}

void h_ingest(h_server_t *s, const char *const files[])
{
    const char *argv[48] = {"ingest", "--db", s->db};
    char err[4096];
    size_t n = 3;
    int rc;

    for (size_t i = 0; files[i] != NULL && n < 47; i++)
        argv[n++] = files[i];
    argv[n] = NULL;
    rc = h_run(argv, NULL, err, sizeof(err));
    if (rc != 0)
        fail_msg("wsa-relay ingest exited with %d: %s", rc, err);
}

static int read_port(const char *path)
{
    FILE *f = fopen(path, "r");
    int port = -1;

    if (f == NULL)
        return -1;
    if (fscanf(f, "%d", &port) != 1)
        port = -1;
    fclose(f);
    return port;
}

void h_start(h_server_t *s, const char *const env[])
{
    char port_file[320];
    const char *argv[] = {"serve",       "--db",        s->db,     "--listen",
                          "127.0.0.1:0", "--port-file", port_file, NULL};
    int status;

    snprintf(port_file, sizeof(port_file), "%s/port", s->dir);
    unlink(port_file);
    s->pid = spawn(argv, env, s->log, s->nofile);
    for (int waited = 0; waited < START_TIMEOUT_MS; waited += 10) {
        s->port = read_port(port_file);
        if (s->port > 0)
            return;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            char *log = h_server_log(s);
            s->pid = 0;
            fail_msg("wsa-relay serve exited with %d before listening: %s", exit_status(status),
                     log);
        }
        sleep_ms(10);
    }
    fail_msg("wsa-relay serve did not write its port file within %d ms", START_TIMEOUT_MS);
}

int h_stop(h_server_t *s)
{
    int status = 0;

    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    for (int waited = 0; waited < STOP_TIMEOUT_MS; waited += 10) {
        pid_t r = waitpid(s->pid, &status, WNOHANG);
        if (r == s->pid) {
            s->pid = 0;
            return exit_status(status);
        }
        sleep_ms(10);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &status, 0);
    s->pid = 0;
    fail_msg("wsa-relay serve did not stop within %d ms of SIGTERM", STOP_TIMEOUT_MS);
    return -1;
}

char *h_server_log(const h_server_t *s)
{
    return read_file(s->log);
}

void h_client_init(h_client_t *c, int h2)
{
    c->curl = curl_easy_init();
    assert_non_null(c->curl);
    c->h2 = h2;
}

void h_client_free(h_client_t *c)
{
    curl_easy_cleanup(c->curl);
    c->curl = NULL;
}

typedef struct sink {
    char *buf;
    size_t len;
} sink_t;

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    sink_t *sink = ctx;
    char *grown = realloc(sink->buf, sink->len + size * n + 1);

    if (grown == NULL)
        return 0;
    sink->buf = grown;
    memcpy(sink->buf + sink->len, data, size * n);
    sink->len += size * n;
    sink->buf[sink->len] = '\0';
    return size * n;
}

/* Copies the value of header line `line` into `out` when its name is `name`. */
static void take_header(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);

    if (len <= nlen + 1 || strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
        return;
    line += nlen + 1;
    len -= nlen + 1;
    while (len > 0 && (*line == ' ' || *line == '\t')) {
        line++;
        len--;
    }
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' || line[len - 1] == ' '))
        len--;
    snprintf(out, outlen, "%.*s", (int)len, line);
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    h_reply_t *r = ctx;
    char length[32] = "";

    take_header(data, size * n, "content-type", r->content_type, sizeof(r->content_type));
    take_header(data, size * n, "allow", r->allow, sizeof(r->allow));
    take_header(data, size * n, "content-length", length, sizeof(length));
    if (length[0] != '\0')
        r->content_length = strtol(length, NULL, 10);
    return size * n;
}

CURLcode h_try_request(h_client_t *c, const h_server_t *s, const char *method, const char *path,
                       const char *const headers[], const char *body, size_t len, h_reply_t *out)
{
    struct curl_slist *list = NULL;
    sink_t sink = {NULL, 0};
    char url[512];
    CURLcode rc;

    memset(out, 0, sizeof(*out));
    out->content_length = -1;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        list = curl_slist_append(list, headers[i]);
    /* no Expect: 100-continue round trip, so that large bodies go out at once */
    list = curl_slist_append(list, "Expect:");

    curl_easy_reset(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_HTTP_VERSION,
                     c->h2 ? (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                           : (long)CURL_HTTP_VERSION_1_1);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL) {
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, out);
    /*
     * libcurl 7.88.1 (Debian bookworm) fails a second request on a reused prior-knowledge
     * HTTP/2 connection with "Error in the HTTP2 framing layer" before sending it (curl
     * issue 10634, fixed in 8.0.0): every h2c request gets its own connection.
     */
    if (c->h2) {
        curl_easy_setopt(c->curl, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(c->curl, CURLOPT_FORBID_REUSE, 1L);
    }
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c->curl, CURLOPT_NOPROXY, "*");

    rc = curl_easy_perform(c->curl);
    curl_slist_free_all(list);
    if (rc != CURLE_OK) {
        free(sink.buf);
        return rc;
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_getinfo(c->curl, CURLINFO_HTTP_VERSION, &out->http_version);
    curl_easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &out->new_connections);
    assert_int_equal(out->http_version,
                     c->h2 ? (long)CURL_HTTP_VERSION_2_0 : (long)CURL_HTTP_VERSION_1_1);

    out->body = sink.buf != NULL ? sink.buf : strdup("");
    out->len = sink.len;
    out->json = json_loadb(out->body, out->len, 0, NULL);
    return CURLE_OK;
}

void h_request(h_client_t *c, const h_server_t *s, const char *method, const char *path,
               const char *const headers[], const char *body, size_t len, h_reply_t *out)
{
    CURLcode rc = h_try_request(c, s, method, path, headers, body, len, out);

    if (rc != CURLE_OK)
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
}

void h_reply_free(h_reply_t *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

static char *b64url(const char *in, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);

    assert_non_null(out);
    util_b64url_encode((const unsigned char *)in, len, out);
    return out;
}

char *h_jwt(const char *header_json, const char *payload_json, const char *key)
{
    char *h = b64url(header_json, strlen(header_json));
    char *p = b64url(payload_json, strlen(payload_json));
    size_t ilen = strlen(h) + 1 + strlen(p);
    char *token = malloc(ilen + 2 + 64);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;

    assert_non_null(token);
    snprintf(token, ilen + 2, "%s.%s.", h, p);
    if (key != NULL) {
        char *sig;
        assert_non_null(
            HMAC(EVP_sha256(), key, (int)strlen(key), (unsigned char *)token, ilen, mac, &maclen));
        sig = b64url((const char *)mac, maclen);
        strcat(token, sig);
        free(sig);
    }
    free(h);
    free(p);
    return token;
}

char *h_bearer(const char *payload_json)
{
    char *token = h_jwt("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload_json, H_SECRET);
    size_t len = strlen(token) + 32;
    char *header = malloc(len);

    assert_non_null(header);
    snprintf(header, len, "Authorization: Bearer %s", token);
    free(token);
    return header;
}

void h_assert_json(const h_reply_t *r)
{
    if (r->json == NULL)
        fail_msg("not JSON (HTTP %ld): %s", r->status, r->body);
    assert_string_equal(r->content_type, "application/json");
    assert_int_equal(r->content_length, (long)r->len);
}

void h_assert_error(const h_reply_t *r, long status, const char *code, const char *message)
{
    json_t *errors, *e;

    h_assert_json(r);
    assert_int_equal(r->status, status);
    assert_int_equal(json_object_size(r->json), 1);
    errors = json_object_get(r->json, "errors");
    assert_true(json_is_array(errors));
    assert_int_equal(json_array_size(errors), 1);
    e = json_array_get(errors, 0);
    assert_int_equal(json_object_size(e), 3);
    assert_string_equal(json_string_value(json_object_get(e, "type")), "fatal");
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    assert_string_equal(json_string_value(json_object_get(e, "message")), message);
}

void h_clean_env(void)
{
    for (size_t i = 0; environ[i] != NULL;) {
        if (strncmp(environ[i], "WSA_RELAY_", 10) == 0) {
            char name[256];
            snprintf(name, sizeof(name), "%.*s", (int)strcspn(environ[i], "="), environ[i]);
            unsetenv(name);
        } else {
            i++;
        }
    }
    setenv("LSAN_OPTIONS", "suppressions=" LSAN_SUPPRESSIONS, 0);
}
