/*
 * config_priv.h - the settings of jwks mode (config_jwks.c), called from config.c.
 */
#ifndef WSA_CONFIG_PRIV_H
#define WSA_CONFIG_PRIV_H

#include <stddef.h>
#include "config.h"

/** Sets the jwks defaults (the three regional hosts, RS256); -1 when out of memory. */
int cfg_jwks_init(cfg_t *cfg);

void cfg_jwks_free(cfg_t *cfg);

/** Sets one jwks setting; 1 when `name` is not one of them, else as cfg_set. */
int cfg_set_jwks(cfg_t *cfg, const char *name, const char *value, char *err, size_t errlen);

/** What jwks mode needs to serve: the audience, and one key source at most. */
int cfg_check_jwks(const cfg_t *cfg, char *err, size_t errlen);

#endif
