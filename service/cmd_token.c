/*
 * cmd_token.c - `wsa-relay token`: mint an HS256 test token with the configured secret.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "auth.h"
#include "cmd.h"
#include "util.h"

#define MAX_TTL (10LL * 366 * 24 * 3600)

static const char token_usage[] =
    "usage: wsa-relay token [--ttl SECONDS] [--claim KEY=VALUE]...\n"
    "\n"
    "Prints an HS256 token signed with the configured secret (WSA_RELAY_SECRET or\n"
    "WSA_RELAY_SECRET_FILE), for trying the API with curl or pasting into Threat Response.\n"
    "\n"
    "options:\n"
    "  --ttl SECONDS      lifetime, sets exp (default 3600; 0 for a token without exp)\n"
    "  --claim KEY=VALUE  adds a claim; a VALUE of digits (without a leading zero) is\n"
    "                     written as a number, e.g. --claim CTR_ENTITIES_LIMIT=20\n"
    "                     --claim aud=https://relay.example; exp and iat come from --ttl\n"
    "  --help             this text\n";

/*
 * Adds KEY=VALUE to `claims`; a value of digits becomes a JSON integer (unless it has a
 * leading zero, which a number would lose). Returns 0, or -1 with the reason in `why`.
 */
static int add_claim(json_t *claims, const char *arg, const char **why)
{
    const char *eq = strchr(arg, '=');
    char key[256];
    json_t *value;
    size_t klen;

    *why = "expected KEY=VALUE in UTF-8 with a key of 1 to 255 bytes";
    if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof(key))
        return -1;
    klen = (size_t)(eq - arg);
    memcpy(key, arg, klen);
    key[klen] = '\0';
    if (!util_utf8_valid(key, klen) || !util_utf8_valid(eq + 1, strlen(eq + 1)))
        return -1;
    if (strcmp(key, "exp") == 0 || strcmp(key, "iat") == 0) {
        *why = "exp and iat are set from --ttl and the clock";
        return -1;
    }
    if (json_object_get(claims, key) != NULL) {
        *why = "this claim was already given";
        return -1;
    }

    value = NULL;
    if (eq[1] != '\0' && (eq[1] != '0' || eq[2] == '\0') &&
        strspn(eq + 1, "0123456789") == strlen(eq + 1)) {
        char *end;
        errno = 0;
        long long n = strtoll(eq + 1, &end, 10);
        /* a number too big for JSON integers stays a string rather than wrapping */
        if (errno == 0)
            value = json_integer(n);
    }
    if (value == NULL)
        value = json_string(eq + 1);
    return json_object_set_new(claims, key, value);
}

int cmd_token(int argc, char **argv)
{
    static const struct option opts[] = {
        {"ttl", required_argument, NULL, 't'},
        {"claim", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    json_t *claims = json_object();
    char *claims_text = NULL, *token = NULL;
    char err[CFG_ERR_LEN];
    long long ttl = 3600;
    cfg_t cfg;
    int c, rc;

    if ((rc = cmd_config_from_env(&cfg, "token")) != 0)
        goto out;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't': {
            char *end;
            errno = 0;
            ttl = strtoll(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || end == optarg || ttl < 0 || ttl > MAX_TTL) {
                fprintf(stderr,
                        "wsa-relay token: --ttl: expected seconds from 0 to %lld; "
                        "got \"%s\"\n",
                        MAX_TTL, optarg);
                rc = CFG_EXIT_USAGE;
                goto out;
            }
            break;
        }
        case 'c': {
            const char *why;
            if (add_claim(claims, optarg, &why) != 0) {
                fprintf(stderr, "wsa-relay token: --claim: %s; got \"%s\"\n", why, optarg);
                rc = CFG_EXIT_USAGE;
                goto out;
            }
            break;
        }
        case 'h':
            fputs(token_usage, stdout);
            goto out;
        default:
            fputs("run 'wsa-relay token --help' for usage\n", stderr);
            rc = CFG_EXIT_USAGE;
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wsa-relay token: unexpected argument \"%s\"\n", argv[optind]);
        rc = CFG_EXIT_USAGE;
        goto out;
    }
    if (cfg_check_serve(&cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "wsa-relay token: %s\n", err);
        rc = CFG_EXIT_USAGE;
        goto out;
    }

    claims_text = json_dumps(claims, JSON_COMPACT);
    token = auth_mint_hs256(cfg.secret, strlen(cfg.secret), claims_text, ttl, util_now_ms() / 1000,
                            err, sizeof(err));
    if (token == NULL) {
        fprintf(stderr, "wsa-relay token: %s\n", err);
        rc = 1;
        goto out;
    }
    printf("%s\n", token);

out:
    free(token);
    free(claims_text);
    json_decref(claims);
    cfg_free(&cfg);
    return rc;
}
