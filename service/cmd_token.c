/*
 * cmd_token.c - `wsa-relay token`: mint an HS256 test token with the configured secret, or an
 * RS256 one with a private key for trying jwks mode.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "auth.h"
#include "cmd.h"
#include "util.h"

#define MAX_TTL (10LL * 366 * 24 * 3600)

static const char token_usage[] =
    "usage: wsa-relay token [--ttl SECONDS] [--claim KEY=VALUE]...\n"
    "       wsa-relay token --rs256 KEY.pem --kid KID [--ttl SECONDS] [--claim KEY=VALUE]...\n"
    "\n"
    "Prints an HS256 token signed with the configured secret (WSA_RELAY_SECRET or\n"
    "WSA_RELAY_SECRET_FILE), for trying the API with curl or pasting into Threat Response.\n"
    "With --rs256 it prints an RS256 token signed with the RSA private key in KEY.pem\n"
    "instead (no secret needed), for trying jwks mode: `wsa-relay jwks` prints the key set\n"
    "to serve with WSA_RELAY_JWKS_FILE. Its aud defaults to WSA_RELAY_PUBLIC_URL and its\n"
    "jwks_host to the first WSA_RELAY_JWKS_HOSTS entry; --claim overrides either.\n"
    "\n"
    "options:\n"
    "  --rs256 KEY.pem    sign with this RSA private key (PEM, not encrypted)\n"
    "  --kid KID          the key id put in the token's header; needed with --rs256\n"
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

/*
 * What jwks mode requires of a token and the configuration already knows: aud, the public
 * URL, and jwks_host, the first allowed host. A --claim of either wins.
 */
static int rs256_defaults(json_t *claims, const cfg_t *cfg)
{
    if (cfg->public_url != NULL && json_object_get(claims, "aud") == NULL &&
        json_object_set_new(claims, "aud", json_string(cfg->public_url)) != 0)
        return -1;
    if (cfg->jwks_hosts_n > 0 && json_object_get(claims, "jwks_host") == NULL &&
        json_object_set_new(claims, "jwks_host", json_string(cfg->jwks_hosts[0])) != 0)
        return -1;
    return 0;
}

int cmd_token(int argc, char **argv)
{
    static const struct option opts[] = {
        {"ttl", required_argument, NULL, 't'}, {"rs256", required_argument, NULL, 'r'},
        {"kid", required_argument, NULL, 'k'}, {"claim", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0},
    };
    json_t *claims = json_object();
    char *claims_text = NULL, *token = NULL, *pem = NULL;
    const char *key_path = NULL, *kid = NULL;
    char err[CFG_ERR_LEN];
    size_t pem_len = 0;
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
        case 'r':
            key_path = optarg;
            break;
        case 'k':
            kid = optarg;
            break;
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
    if (kid != NULL && key_path == NULL) {
        fputs("wsa-relay token: --kid is for RS256 tokens; give the key with --rs256 KEY.pem\n",
              stderr);
        rc = CFG_EXIT_USAGE;
        goto out;
    }
    if (key_path != NULL) {
        if (kid == NULL || kid[0] == '\0') {
            fputs("wsa-relay token: --rs256 needs --kid KID, the key id the key set names\n",
                  stderr);
            rc = CFG_EXIT_USAGE;
            goto out;
        }
        pem = cmd_read_key_file("token", key_path, &pem_len);
        if (pem == NULL) {
            rc = 1;
            goto out;
        }
        if (rs256_defaults(claims, &cfg) != 0) {
            fputs("wsa-relay token: out of memory while building the claims\n", stderr);
            rc = 1;
            goto out;
        }
        if ((cfg.jwt_algs & CFG_ALG_RS256) == 0) {
            fputs("wsa-relay token: WSA_RELAY_JWT_ALGS does not allow RS256, the algorithm "
                  "--rs256 signs with\n",
                  stderr);
            rc = CFG_EXIT_USAGE;
            goto out;
        }
        /* jwks mode refuses a token without aud: minting one would only mislead */
        if (json_object_get(claims, "aud") == NULL) {
            fputs("wsa-relay token: an RS256 token needs an aud, the relay's URL: set "
                  "WSA_RELAY_PUBLIC_URL or give --claim aud=URL\n",
                  stderr);
            rc = CFG_EXIT_USAGE;
            goto out;
        }
    } else if (cfg_check_serve(&cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "wsa-relay token: %s\n", err);
        rc = CFG_EXIT_USAGE;
        goto out;
    }

    claims_text = json_dumps(claims, JSON_COMPACT);
    if (pem != NULL)
        token = auth_mint_rs256(pem, pem_len, kid, claims_text, ttl, util_now_ms() / 1000, err,
                                sizeof(err));
    else
        token = auth_mint_hs256(cfg.secret, strlen(cfg.secret), claims_text, ttl,
                                util_now_ms() / 1000, err, sizeof(err));
    if (token == NULL) {
        if (pem != NULL)
            fprintf(stderr, "wsa-relay token: %s: %s\n", key_path, err);
        else
            fprintf(stderr, "wsa-relay token: %s\n", err);
        rc = 1;
        goto out;
    }
    printf("%s\n", token);

out:
    free(token);
    free(claims_text);
    if (pem != NULL)
        OPENSSL_cleanse(pem, pem_len);
    free(pem);
    json_decref(claims);
    cfg_free(&cfg);
    return rc;
}
