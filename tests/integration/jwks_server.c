/*
 * jwks_server.c - see jwks_server.h.
 *
 * Each server has an accept thread, and each connection its own detached thread, so that a
 * held request does not hold the others. A connection carries one request and is closed
 * after the answer (Connection: close), which keeps the counts exact: one fetch is one
 * connection and one request. The threads never call cmocka: failures there end the
 * connection, and the test sees them in the counts or in the relay's answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "jwks_server.h"
#include "util.h"

#define REQUEST_MAX  8192
#define IO_TIMEOUT_S 10

struct js_ca {
    EVP_PKEY *key;
    X509 *cert;
    char file[512];
};

struct js_server {
    int fd;
    int port;
    SSL_CTX *ctx;
    pthread_t thread;
    atomic_int stopping;
    atomic_ulong connections;
    atomic_ulong requests;
    pthread_mutex_t lock; /* guards what follows */
    pthread_cond_t cond;  /* a release, a stop, or a connection thread ending */
    char *document;
    char *location; /* JS_REDIRECT */
    js_mode_t mode;
    int delay_ms;
    int active; /* connection threads running */
};

struct js_counter {
    int fd;
    int port;
    pthread_t thread;
    atomic_int stopping;
    atomic_ulong accepted;
};

/* ---- certificates ---- */

static X509_NAME *name_of(const char *cn)
{
    X509_NAME *name = X509_NAME_new();

    assert_non_null(name);
    assert_int_equal(
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0),
        1);
    return name;
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *ext;

    X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(cert, ext, -1), 1);
    X509_EXTENSION_free(ext);
}

/* A certificate for `key` named `cn`, signed by `issuer_key` (itself when issuer is NULL). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       long serial)
{
    X509 *cert = X509_new();
    X509_NAME *subject = name_of(cn);

    assert_non_null(cert);
    assert_int_equal(X509_set_version(cert, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(cert), serial), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(cert), -3600));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(cert), 86400L));
    assert_int_equal(X509_set_subject_name(cert, subject), 1);
    assert_int_equal(
        X509_set_issuer_name(cert, issuer != NULL ? X509_get_subject_name(issuer) : subject), 1);
    assert_int_equal(X509_set_pubkey(cert, key), 1);
    X509_NAME_free(subject);
    if (issuer == NULL) {
        add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
        add_ext(cert, cert, NID_subject_key_identifier, "hash");
    } else {
        add_ext(cert, issuer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert, issuer, NID_key_usage, "critical,digitalSignature");
        add_ext(cert, issuer, NID_ext_key_usage, "serverAuth");
        add_ext(cert, issuer, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
        add_ext(cert, issuer, NID_authority_key_identifier, "keyid:always");
    }
    assert_true(X509_sign(cert, issuer_key, EVP_sha256()) > 0);
    return cert;
}

js_ca_t *js_ca_create(const char *dir)
{
    static atomic_int ca_serial;
    js_ca_t *ca = calloc(1, sizeof(*ca));
    char cn[64];
    FILE *f;

    assert_non_null(ca);
    ca->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(ca->key);
    /* CAs have names of their own: a verifier finds an issuer by its name, so two CAs of one
     * name would hide each other */
    snprintf(cn, sizeof(cn), "wsa-relay test CA %d", atomic_fetch_add(&ca_serial, 1) + 1);
    ca->cert = make_cert(ca->key, cn, NULL, ca->key, 1);
    snprintf(ca->file, sizeof(ca->file), "%s/ca.pem", dir);
    f = fopen(ca->file, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, ca->cert), 1);
    assert_int_equal(fclose(f), 0);
    return ca;
}

const char *js_ca_file(const js_ca_t *ca)
{
    return ca->file;
}

void js_ca_free(js_ca_t *ca)
{
    if (ca == NULL)
        return;
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
    free(ca);
}

/* ---- listening ---- */

static int listen_loopback(const char *address, int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    assert_int_equal(inet_pton(AF_INET, address, &sa.sin_addr), 1);
    /* loopback only: nothing here is reachable from elsewhere */
    assert_int_equal(ntohl(sa.sin_addr.s_addr) >> 24, 127);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 128), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Waits up to 100 ms for a connection; the descriptor, or -1 (none yet, or an error). */
static int accept_some(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    if (poll(&p, 1, 100) <= 0)
        return -1;
    return accept4(fd, NULL, NULL, SOCK_CLOEXEC);
}

/* ---- one connection ---- */

typedef struct conn {
    js_server_t *js;
    int fd;
} conn_t;

static int write_all(SSL *ssl, const char *data, size_t len)
{
    while (len > 0) {
        int n = SSL_write(ssl, data, len > 65536 ? 65536 : (int)len);
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int answer_with(SSL *ssl, int status, const char *extra, const char *type, const char *body,
                       size_t len)
{
    char head[1024];
    const char *reason = status == 200 ? "OK" : status == 302 ? "Found" : "Not Found";
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\n%sContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, reason, extra, type, len);

    if (n < 0 || (size_t)n >= sizeof(head) || write_all(ssl, head, (size_t)n) != 0)
        return -1;
    return write_all(ssl, body, len);
}

static int answer(SSL *ssl, int status, const char *type, const char *body, size_t len)
{
    return answer_with(ssl, status, "", type, body, len);
}

/* Reads a request head; 0 with the path in `path`, or -1. */
static int read_head(SSL *ssl, char *path, size_t pathlen)
{
    char buf[REQUEST_MAX + 1];
    size_t len = 0;

    while (len < REQUEST_MAX) {
        int n = SSL_read(ssl, buf + len, (int)(REQUEST_MAX - len));
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n") != NULL) {
            char method[16];
            if (sscanf(buf, "%15s %511s", method, path) != 2 || pathlen < 512)
                return -1;
            return strcmp(method, "GET") == 0 ? 0 : -1;
        }
    }
    return -1;
}

/* Waits while the mode is `mode` (JS_HOLD) or for `ms` (JS_SLOW); 0 unless stopping. */
static int wait_turn(js_server_t *js, js_mode_t mode, int ms)
{
    struct timespec until;
    int rc = 0;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&js->lock);
    while (!js->stopping) {
        if (mode == JS_HOLD) {
            if (js->mode != JS_HOLD)
                break;
            pthread_cond_wait(&js->cond, &js->lock);
        } else if (pthread_cond_timedwait(&js->cond, &js->lock, &until) == ETIMEDOUT) {
            break;
        }
    }
    if (js->stopping)
        rc = -1;
    pthread_mutex_unlock(&js->lock);
    return rc;
}

static void serve_request(js_server_t *js, SSL *ssl, const char *path)
{
    js_mode_t mode;
    char *document;
    int delay;

    pthread_mutex_lock(&js->lock);
    mode = js->mode;
    delay = js->delay_ms;
    pthread_mutex_unlock(&js->lock);

    if (strcmp(path, JS_PATH) != 0 || mode == JS_404) {
        static const char text[] = "not found\n";
        answer(ssl, 404, "text/plain", text, sizeof(text) - 1);
        return;
    }
    if (mode == JS_HTML) {
        static const char page[] = "<!DOCTYPE html>\n<html><body><h1>Welcome</h1></body></html>\n";
        answer(ssl, 200, "text/html", page, sizeof(page) - 1);
        return;
    }
    if (mode == JS_REDIRECT) {
        char extra[600];
        pthread_mutex_lock(&js->lock);
        snprintf(extra, sizeof(extra), "Location: %s\r\n",
                 js->location != NULL ? js->location : "/");
        pthread_mutex_unlock(&js->lock);
        answer_with(ssl, 302, extra, "text/plain", "moved\n", 6);
        return;
    }
    if (mode == JS_HUGE) {
        /* valid JSON, so that only its size can be the reason to refuse it */
        char *body = malloc(JS_HUGE_BYTES);
        if (body == NULL)
            return;
        memset(body, ' ', JS_HUGE_BYTES);
        memcpy(body, "{\"keys\":[]}", 11);
        answer(ssl, 200, "application/json", body, JS_HUGE_BYTES);
        free(body);
        return;
    }
    if ((mode == JS_SLOW || mode == JS_HOLD) && wait_turn(js, mode, delay) != 0)
        return;
    pthread_mutex_lock(&js->lock);
    document = strdup(js->document);
    pthread_mutex_unlock(&js->lock);
    if (document != NULL)
        answer(ssl, 200, "application/json", document, strlen(document));
    free(document);
}

static void *conn_main(void *arg)
{
    conn_t *c = arg;
    js_server_t *js = c->js;
    struct timeval tv = {IO_TIMEOUT_S, 0};
    char path[512];
    SSL *ssl = SSL_new(js->ctx);

    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (ssl != NULL && SSL_set_fd(ssl, c->fd) == 1 && SSL_accept(ssl) == 1 &&
        read_head(ssl, path, sizeof(path)) == 0) {
        atomic_fetch_add(&js->requests, 1);
        serve_request(js, ssl, path);
        SSL_shutdown(ssl);
    }
    SSL_free(ssl);
    close(c->fd);
    ERR_clear_error();
    free(c);
    pthread_mutex_lock(&js->lock);
    js->active--;
    pthread_cond_broadcast(&js->cond);
    pthread_mutex_unlock(&js->lock);
    return NULL;
}

static void *accept_main(void *arg)
{
    js_server_t *js = arg;

    while (!js->stopping) {
        int fd = accept_some(js->fd);
        conn_t *c;
        pthread_t t;

        if (fd < 0)
            continue;
        atomic_fetch_add(&js->connections, 1);
        c = malloc(sizeof(*c));
        if (c == NULL) {
            close(fd);
            continue;
        }
        c->js = js;
        c->fd = fd;
        pthread_mutex_lock(&js->lock);
        js->active++;
        pthread_mutex_unlock(&js->lock);
        if (pthread_create(&t, NULL, conn_main, c) != 0) {
            close(fd);
            free(c);
            pthread_mutex_lock(&js->lock);
            js->active--;
            pthread_mutex_unlock(&js->lock);
            continue;
        }
        pthread_detach(t);
    }
    return NULL;
}

js_server_t *js_start(const js_ca_t *ca)
{
    return js_start_at(ca, "127.0.0.1");
}

js_server_t *js_start_at(const js_ca_t *ca, const char *address)
{
    js_server_t *js = calloc(1, sizeof(*js));
    static atomic_long serial = 100;
    EVP_PKEY *key;
    X509 *cert;

    assert_non_null(js);
    /* a fetch the relay abandons (a huge body) must not end the test process */
    signal(SIGPIPE, SIG_IGN);
    key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(key);
    cert = make_cert(key, "localhost", ca->cert, ca->key, atomic_fetch_add(&serial, 1));
    js->ctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(js->ctx);
    assert_int_equal(SSL_CTX_use_certificate(js->ctx, cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(js->ctx, key), 1);
    X509_free(cert);
    EVP_PKEY_free(key);

    pthread_mutex_init(&js->lock, NULL);
    pthread_cond_init(&js->cond, NULL);
    js->document = strdup("{\"keys\":[]}");
    assert_non_null(js->document);
    js->mode = JS_SERVE;
    js->fd = listen_loopback(address, &js->port);
    assert_int_equal(pthread_create(&js->thread, NULL, accept_main, js), 0);
    return js;
}

int js_port(const js_server_t *js)
{
    return js->port;
}

void js_set_document(js_server_t *js, const char *json)
{
    char *copy = strdup(json);

    assert_non_null(copy);
    pthread_mutex_lock(&js->lock);
    free(js->document);
    js->document = copy;
    pthread_mutex_unlock(&js->lock);
}

void js_set_mode(js_server_t *js, js_mode_t mode)
{
    pthread_mutex_lock(&js->lock);
    js->mode = mode;
    pthread_cond_broadcast(&js->cond);
    pthread_mutex_unlock(&js->lock);
}

void js_set_delay_ms(js_server_t *js, int ms)
{
    pthread_mutex_lock(&js->lock);
    js->delay_ms = ms;
    pthread_mutex_unlock(&js->lock);
}

void js_set_redirect(js_server_t *js, const char *location)
{
    char *copy = strdup(location);

    assert_non_null(copy);
    pthread_mutex_lock(&js->lock);
    free(js->location);
    js->location = copy;
    js->mode = JS_REDIRECT;
    pthread_mutex_unlock(&js->lock);
}

void js_release(js_server_t *js)
{
    js_set_mode(js, JS_SERVE);
}

unsigned long js_connections(const js_server_t *js)
{
    return atomic_load(&((js_server_t *)js)->connections);
}

unsigned long js_requests(const js_server_t *js)
{
    return atomic_load(&((js_server_t *)js)->requests);
}

int js_wait_requests(const js_server_t *js, unsigned long n, int timeout_ms)
{
    struct timespec ts = {0, 10 * 1000000L};

    for (int waited = 0; waited < timeout_ms; waited += 10) {
        if (js_requests(js) >= n)
            return 0;
        nanosleep(&ts, NULL);
    }
    return js_requests(js) >= n ? 0 : -1;
}

void js_stop(js_server_t *js)
{
    if (js == NULL)
        return;
    pthread_mutex_lock(&js->lock);
    js->stopping = 1;
    pthread_cond_broadcast(&js->cond);
    pthread_mutex_unlock(&js->lock);
    pthread_join(js->thread, NULL);
    close(js->fd);
    /* connection threads end within IO_TIMEOUT_S: they wait on nothing else once stopping */
    pthread_mutex_lock(&js->lock);
    while (js->active > 0)
        pthread_cond_wait(&js->cond, &js->lock);
    pthread_mutex_unlock(&js->lock);
    pthread_cond_destroy(&js->cond);
    pthread_mutex_destroy(&js->lock);
    SSL_CTX_free(js->ctx);
    free(js->document);
    free(js->location);
    free(js);
}

/* ---- the counting listener ---- */

static void *counter_main(void *arg)
{
    js_counter_t *c = arg;

    while (!c->stopping) {
        int fd = accept_some(c->fd);
        if (fd >= 0) {
            atomic_fetch_add(&c->accepted, 1);
            close(fd);
        }
    }
    return NULL;
}

js_counter_t *js_counter_start(void)
{
    js_counter_t *c = calloc(1, sizeof(*c));

    assert_non_null(c);
    c->fd = listen_loopback("127.0.0.1", &c->port);
    assert_int_equal(pthread_create(&c->thread, NULL, counter_main, c), 0);
    return c;
}

int js_counter_port(const js_counter_t *c)
{
    return c->port;
}

unsigned long js_counter_accepted(const js_counter_t *c)
{
    return atomic_load(&((js_counter_t *)c)->accepted);
}

void js_counter_stop(js_counter_t *c)
{
    if (c == NULL)
        return;
    c->stopping = 1;
    pthread_join(c->thread, NULL);
    close(c->fd);
    free(c);
}

/* ---- keys and tokens ---- */

static char *bio_text(BIO *bio)
{
    char *data;
    long len = BIO_get_mem_data(bio, &data);
    char *out = malloc((size_t)len + 1);

    assert_non_null(out);
    memcpy(out, data, (size_t)len);
    out[len] = '\0';
    BIO_free(bio);
    return out;
}

void js_key_generate(js_key_t *key, int ec, const char *kid)
{
    BIO *bio;
    unsigned char *der = NULL;
    int len;

    memset(key, 0, sizeof(*key));
    key->ec = ec;
    snprintf(key->kid, sizeof(key->kid), "%s", kid);
    key->pkey = ec ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
                   : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    assert_non_null(key->pkey);

    bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL), 1);
    key->private_pem = bio_text(bio);
    bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PUBKEY(bio, key->pkey), 1);
    key->public_pem = bio_text(bio);
    if (!ec) {
        OSSL_ENCODER_CTX *enc;
        bio = BIO_new(BIO_s_mem());
        /* PKCS#1 RSAPublicKey, the other PEM text a confused verifier might take as secret */
        enc = OSSL_ENCODER_CTX_new_for_pkey(key->pkey, EVP_PKEY_PUBLIC_KEY, "PEM", "type-specific",
                                            NULL);
        assert_non_null(enc);
        assert_int_equal(OSSL_ENCODER_to_bio(enc, bio), 1);
        OSSL_ENCODER_CTX_free(enc);
        key->pkcs1_pem = bio_text(bio);
        assert_non_null(strstr(key->pkcs1_pem, "BEGIN RSA PUBLIC KEY"));
    }
    len = i2d_PUBKEY(key->pkey, &der);
    assert_true(len > 0);
    key->der = der;
    key->der_len = (size_t)len;
}

void js_key_free(js_key_t *key)
{
    EVP_PKEY_free(key->pkey);
    free(key->private_pem);
    free(key->public_pem);
    free(key->pkcs1_pem);
    OPENSSL_free(key->der);
    memset(key, 0, sizeof(*key));
}

static char *b64url(const unsigned char *in, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);

    assert_non_null(out);
    util_b64url_encode(in, len, out);
    return out;
}

/* A big-endian number of exactly `width` bytes (0: its own length), base64url. */
static char *bn_param(const EVP_PKEY *pkey, const char *name, int width)
{
    BIGNUM *bn = NULL;
    unsigned char buf[512];
    int len;
    char *out;

    assert_int_equal(EVP_PKEY_get_bn_param(pkey, name, &bn), 1);
    len = width > 0 ? BN_bn2binpad(bn, buf, width) : BN_bn2bin(bn, buf);
    assert_true(len > 0);
    out = b64url(buf, (size_t)len);
    BN_free(bn);
    return out;
}

char *js_jwk(const js_key_t *key, const char *alg)
{
    json_t *jwk;
    char *a, *b, *text;

    if (key->ec) {
        a = bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32);
        b = bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
        jwk = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kty", "EC", "kid", key->kid, "use", "sig",
                        "crv", "P-256", "x", a, "y", b);
    } else {
        a = bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_N, 0);
        b = bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_E, 0);
        jwk = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "RSA", "kid", key->kid, "use", "sig", "n",
                        a, "e", b);
    }
    assert_non_null(jwk);
    if (alg != NULL)
        json_object_set_new(jwk, "alg", json_string(alg));
    text = json_dumps(jwk, JSON_COMPACT);
    assert_non_null(text);
    json_decref(jwk);
    free(a);
    free(b);
    return text;
}

/* An ECDSA DER signature as the 64 bytes r||s that JWS uses. */
static size_t ecdsa_raw(const unsigned char *der, size_t len, unsigned char *out)
{
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &der, (long)len);

    assert_non_null(sig);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, 32), 32);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + 32, 32), 32);
    ECDSA_SIG_free(sig);
    return 64;
}

char *js_sign(const js_key_t *key, const char *alg, const unsigned char *secret, size_t secret_len,
              const char *header_json, const char *payload_json)
{
    char *h = b64url((const unsigned char *)header_json, strlen(header_json));
    char *p = b64url((const unsigned char *)payload_json, strlen(payload_json));
    size_t ilen = strlen(h) + 1 + strlen(p);
    char *input = malloc(ilen + 1), *sig = NULL, *token;
    unsigned char raw[1024];
    size_t rawlen = 0;

    assert_non_null(input);
    snprintf(input, ilen + 1, "%s.%s", h, p);
    if (strcmp(alg, "HS256") == 0) {
        unsigned int maclen = 0;
        assert_non_null(HMAC(EVP_sha256(), secret, (int)secret_len, (unsigned char *)input, ilen,
                             raw, &maclen));
        rawlen = maclen;
    } else if (strcmp(alg, "none") != 0) {
        const EVP_MD *md = strcmp(alg, "RS384") == 0   ? EVP_sha384()
                           : strcmp(alg, "RS512") == 0 ? EVP_sha512()
                                                       : EVP_sha256();
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned char der[1024];
        size_t len = sizeof(der);

        assert_non_null(ctx);
        assert_int_equal(EVP_DigestSignInit(ctx, NULL, md, NULL, key->pkey), 1);
        assert_int_equal(EVP_DigestSign(ctx, der, &len, (unsigned char *)input, ilen), 1);
        EVP_MD_CTX_free(ctx);
        if (key->ec) {
            rawlen = ecdsa_raw(der, len, raw);
        } else {
            memcpy(raw, der, len);
            rawlen = len;
        }
    }
    sig = b64url(raw, rawlen);
    token = malloc(ilen + 2 + strlen(sig));
    assert_non_null(token);
    sprintf(token, "%s.%s", input, sig);
    free(sig);
    free(input);
    free(h);
    free(p);
    return token;
}
