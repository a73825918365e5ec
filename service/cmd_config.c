/*
 * cmd_config.c - configuration helpers shared by the subcommands.
 */
#include <stdio.h>
#include "cmd.h"

int cmd_config_from_env(cfg_t *cfg, const char *cmd)
{
    char err[CFG_ERR_LEN];

    cfg_init(cfg);
    if (cfg_load_env(cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "wsa-relay %s: %s\n", cmd, err);
        return CFG_EXIT_USAGE;
    }
    return 0;
}

int cmd_config_flag(cfg_t *cfg, const char *cmd, const char *flag, const char *name,
                    const char *value)
{
    char err[CFG_ERR_LEN];

    if (cfg_set(cfg, name, value, err, sizeof(err)) != 0) {
        fprintf(stderr, "wsa-relay %s: %s: %s\n", cmd, flag, err);
        return CFG_EXIT_USAGE;
    }
    return 0;
}
