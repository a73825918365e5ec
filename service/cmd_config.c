/*
 * cmd_config.c - configuration helpers shared by the subcommands.
 */
#include <stdio.h>
#include <string.h>
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

int cmd_appliance_name_ok(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > 255)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return 0;
    }
    return 1;
}
