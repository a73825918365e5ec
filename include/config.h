/*
 * config.h - settings from the environment and from command-line flags.
 *
 * Every setting has an environment name (WSA_RELAY_*) and most have a flag; a flag wins
 * over the environment. A bad value is reported as one line that names the setting, and
 * the caller exits with status 2 (CFG_EXIT_USAGE).
 */
#ifndef WSA_CONFIG_H
#define WSA_CONFIG_H

#include <stddef.h>

#define CFG_EXIT_USAGE 2

#define CFG_DEFAULT_DB           "var/tracking.db"
#define CFG_DEFAULT_LISTEN       "127.0.0.1:9090"
#define CFG_DEFAULT_VERDICT_DAYS 30
#define CFG_MIN_SECRET_LEN       32
#define CFG_ERR_LEN              256

typedef enum {
    CFG_AUTH_SECRET = 0, /* HS256 with the shared secret */
    CFG_AUTH_JWKS,       /* the platform's signed tokens, keys from the token's jwks_host */
} cfg_auth_mode_t;

/* Token algorithms jwks mode may accept (WSA_RELAY_JWT_ALGS); the token never chooses. */
enum {
    CFG_ALG_RS256 = 1u << 0,
    CFG_ALG_RS384 = 1u << 1,
    CFG_ALG_RS512 = 1u << 2,
    CFG_ALG_ES256 = 1u << 3,
};

#define CFG_JWKS_HOSTS_MAX          64
#define CFG_DEFAULT_JWKS_REFRESH_S  60
#define CFG_DEFAULT_JWKS_TIMEOUT_MS 5000

/* One range of addresses: an IPv4 or IPv6 network and its prefix length. */
typedef struct cfg_net {
    int family;             /* AF_INET or AF_INET6 */
    unsigned char addr[16]; /* the first 4 (IPv4) or 16 bytes, host bits zero */
    int prefix;             /* 0..32 or 0..128 */
} cfg_net_t;

/* One entry of the sender map: the appliance that sends from an address. */
typedef struct cfg_sender {
    char *name;
    int family;
    unsigned char addr[16];
} cfg_sender_t;

#define CFG_SYSLOG_ALLOW_MAX 256
#define CFG_SENDERS_MAX      1024

typedef struct cfg {
    char *db_path;             /* WSA_RELAY_DB */
    char *listen_host;         /* WSA_RELAY_LISTEN, host part ("127.0.0.1", "::1") */
    int listen_port;           /* WSA_RELAY_LISTEN, port part; 0 asks the kernel for a free one */
    cfg_auth_mode_t auth_mode; /* WSA_RELAY_AUTH_MODE */
    char *secret;              /* WSA_RELAY_SECRET; never logged */
    char *public_url;          /* WSA_RELAY_PUBLIC_URL, without a trailing slash; NULL when unset */
    char *refer_url;  /* WSA_RELAY_REFER_URL, a template with {type} and {value}; NULL when unset */
    int verdict_days; /* WSA_RELAY_VERDICT_DAYS, 1..36500 */
    int threads;      /* WSA_RELAY_THREADS, 1..64 */
    double wbrs_block;     /* WSA_RELAY_WBRS_BLOCK, -10.0..10.0; the appliance default is -6.0 */
    int request_budget_ms; /* WSA_RELAY_REQUEST_BUDGET_MS, 100..60000 */
    /* WSA_RELAY_SYSLOG_ALLOW, comma-separated addresses and CIDRs; default loopback only
     * (127.0.0.0/8 and ::1) */
    cfg_net_t *syslog_allow;
    size_t syslog_allow_n;
    cfg_sender_t *senders; /* WSA_RELAY_APPLIANCES, name=addr,...; none by default */
    size_t senders_n;
    int syslog_rcvbuf; /* WSA_RELAY_SYSLOG_RCVBUF, bytes of a UDP receive buffer; 0: the
                          kernel's default */
    int syslog_idle_s; /* WSA_RELAY_SYSLOG_IDLE_S, 1..86400: a TCP sender silent this long is
                          closed; default 600 */
    /* WSA_RELAY_JWKS_HOSTS, comma-separated: the jwks_host values a token may name, each
     * lower-case "host" or "host:port" ("[v6addr]:port"); default the three regional hosts */
    char **jwks_hosts;
    size_t jwks_hosts_n;
    char *jwks_file;     /* WSA_RELAY_JWKS_FILE: keys from this file instead of the host */
    char *jwks_url;      /* WSA_RELAY_JWKS_URL: keys from this http(s) URL instead */
    char *jwks_ca;       /* WSA_RELAY_JWKS_CA: a PEM CA bundle for https; NULL: the system's */
    char *jwks_proxy;    /* WSA_RELAY_JWKS_PROXY: the proxy for fetches; NULL: none (the
                            environment's proxy variables are not followed) */
    int jwks_refresh_s;  /* WSA_RELAY_JWKS_REFRESH, 1..86400: least time between fetches of
                            one source that an unknown kid may cause; default 60 */
    int jwks_timeout_ms; /* WSA_RELAY_JWKS_TIMEOUT_MS, 100..30000 and at most half the request
                            budget: a whole fetch; default 5000 */
    unsigned jwt_algs;   /* WSA_RELAY_JWT_ALGS, comma-separated names: CFG_ALG_* bits;
                            default CFG_ALG_RS256 */
} cfg_t;

/** Fills `cfg` with the defaults. */
void cfg_init(cfg_t *cfg);

/** Frees what `cfg` owns. */
void cfg_free(cfg_t *cfg);

/**
 * Applies every WSA_RELAY_* variable present in the environment. Returns 0, or -1 with a
 * one-line message in `err` that names the variable.
 */
int cfg_load_env(cfg_t *cfg, char *err, size_t errlen);

/**
 * Sets one setting by its environment name ("WSA_RELAY_DB"); flags call this too, so that a
 * flag and its variable are validated the same way. Returns 0, or -1 with a message in `err`
 * that names `name`.
 */
int cfg_set(cfg_t *cfg, const char *name, const char *value, char *err, size_t errlen);

/**
 * Checks what the server needs beyond valid values: in secret mode a secret long enough; in
 * jwks mode WSA_RELAY_PUBLIC_URL (the audience) and at most one of JWKS_FILE and JWKS_URL.
 * Returns 0, or -1 with a message in `err`.
 */
int cfg_check_serve(const cfg_t *cfg, char *err, size_t errlen);

/**
 * 1 when the address (AF_INET: 4 bytes, AF_INET6: 16 bytes) is in WSA_RELAY_SYSLOG_ALLOW.
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is taken as its IPv4 address.
 */
int cfg_syslog_allowed(const cfg_t *cfg, int family, const void *addr);

/** The CFG_ALG_* bit of a JOSE alg name ("RS256"), compared exactly; 0 for any other. */
unsigned cfg_alg_bit(const char *name, size_t len);

/**
 * 1 when a token's jwks_host (`len` bytes, not NUL-terminated, any case) is exactly one of
 * WSA_RELAY_JWKS_HOSTS. Decides with no network request.
 */
int cfg_jwks_host_allowed(const cfg_t *cfg, const char *host, size_t len);

/** The appliance WSA_RELAY_APPLIANCES names for an address (mapped as above), or NULL. */
const char *cfg_sender_name(const cfg_t *cfg, int family, const void *addr);

#endif
