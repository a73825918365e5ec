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
    CFG_AUTH_SECRET = 0,
} cfg_auth_mode_t;

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
 * Checks what the server needs beyond valid values (a secret long enough for the mode).
 * Returns 0, or -1 with a message in `err`.
 */
int cfg_check_serve(const cfg_t *cfg, char *err, size_t errlen);

#endif
