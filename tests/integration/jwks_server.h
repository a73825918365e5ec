/*
 * jwks_server.h - what jwks-mode tests stand in for the platform with: a test CA, HTTPS
 * servers on 127.0.0.1 that serve GET /.well-known/jwks, a TCP listener that only counts
 * connections, RSA and EC keys made at test time, their JWKs, and tokens signed with them.
 *
 * Everything runs in threads of the test process and is built directly on OpenSSL, so that
 * a test controls exactly what the relay's fetch sees (a document, an error, a delay, a
 * fetch held until the test lets it go) and counts exactly what the relay asked for.
 * Functions abort the test through cmocka when the test machinery itself fails; they must
 * be called from the test's main thread.
 */
#ifndef WSA_JWKS_SERVER_H
#define WSA_JWKS_SERVER_H

#include <stddef.h>
#include <openssl/evp.h>

/* The path the relay fetches: https://<jwks_host>/.well-known/jwks */
#define JS_PATH "/.well-known/jwks"

/* A certificate authority whose PEM certificate is in `file` (for WSA_RELAY_JWKS_CA). */
typedef struct js_ca js_ca_t;

/** Creates a CA and writes its certificate to <dir>/ca.pem. */
js_ca_t *js_ca_create(const char *dir);
const char *js_ca_file(const js_ca_t *ca);
void js_ca_free(js_ca_t *ca);

typedef enum {
    JS_SERVE = 0, /* 200 with the document */
    JS_404,       /* 404 with a short text body */
    JS_HTML,      /* 200 with an HTML page, Content-Type text/html */
    JS_HUGE,      /* 200 with a JSON text of JS_HUGE_BYTES */
    JS_SLOW,      /* the document, after the delay set with js_set_delay_ms */
    JS_HOLD,      /* the document, once the test calls js_release */
    JS_REDIRECT,  /* 302 to the location set with js_set_redirect */
} js_mode_t;

#define JS_HUGE_BYTES (4 * 1024 * 1024)

/* An HTTPS server on 127.0.0.1 with a certificate from `ca` for IP:127.0.0.1 and localhost. */
typedef struct js_server js_server_t;

/** Starts a server on a free port in the JS_SERVE mode with the document `{"keys":[]}`. */
js_server_t *js_start(const js_ca_t *ca);

/** As js_start, listening on another loopback address (its certificate is still for
 * 127.0.0.1 and localhost only, so a client checking the name refuses it). */
js_server_t *js_start_at(const js_ca_t *ca, const char *address);
int js_port(const js_server_t *js);

/** Replaces the document served from now on (a copy is kept). */
void js_set_document(js_server_t *js, const char *json);
void js_set_mode(js_server_t *js, js_mode_t mode);
void js_set_delay_ms(js_server_t *js, int ms);

/** Sets the mode JS_REDIRECT with `location` (copied) as the Location header. */
void js_set_redirect(js_server_t *js, const char *location);

/** Lets every held request be answered, and answers later ones at once (mode JS_SERVE). */
void js_release(js_server_t *js);

/** Connections accepted and request heads read so far. */
unsigned long js_connections(const js_server_t *js);
unsigned long js_requests(const js_server_t *js);

/** Waits until at least `n` request heads were read; 0, or -1 after `timeout_ms`. */
int js_wait_requests(const js_server_t *js, unsigned long n, int timeout_ms);

/** Stops the server (held requests end unanswered) and frees it. */
void js_stop(js_server_t *js);

/* A TCP listener on 127.0.0.1 that accepts, counts and closes: nothing should reach it. */
typedef struct js_counter js_counter_t;

js_counter_t *js_counter_start(void);
int js_counter_port(const js_counter_t *c);
unsigned long js_counter_accepted(const js_counter_t *c);
void js_counter_stop(js_counter_t *c);

/* A signing key made at test time. */
typedef struct js_key {
    EVP_PKEY *pkey;
    int ec; /* 0: RSA 2048, 1: EC P-256 */
    char kid[64];
    char *private_pem;  /* PKCS#8 PEM of the private key */
    char *public_pem;   /* SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY") */
    char *pkcs1_pem;    /* RSA only: PKCS#1 PEM ("BEGIN RSA PUBLIC KEY"); NULL for EC */
    unsigned char *der; /* SubjectPublicKeyInfo DER */
    size_t der_len;
} js_key_t;

void js_key_generate(js_key_t *key, int ec, const char *kid);
void js_key_free(js_key_t *key);

/** The key's public JWK: kty, kid, use "sig", n and e (or crv, x and y), and `alg` unless
 * NULL. A malloc'd JSON object text. */
char *js_jwk(const js_key_t *key, const char *alg);

/**
 * A JWT with exactly these header and payload texts, signed with OpenSSL: `alg` "RS256",
 * "RS384", "RS512" (RSA key), "ES256" (EC key, raw r||s), or "HS256" with the `secret`
 * bytes (key unused; secret_len bytes, NULs allowed), or "none" (empty signature).
 * Returns a malloc'd string.
 */
char *js_sign(const js_key_t *key, const char *alg, const unsigned char *secret, size_t secret_len,
              const char *header_json, const char *payload_json);

#endif
