/*
 * cmd.h - the subcommands of the wsa-relay binary (service/cmd_*.c).
 *
 * Each returns the process exit status: 0 success, 1 a runtime error, 2 a usage or
 * configuration error (CFG_EXIT_USAGE).
 */
#ifndef WSA_CMD_H
#define WSA_CMD_H

#include "config.h"

int cmd_ingest(int argc, char **argv);
int cmd_appliances(int argc, char **argv);
int cmd_rejects(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_jwks(int argc, char **argv);

/**
 * Reads a PEM key file (at most 1 MiB) for the `token` and `jwks` subcommands. Returns a
 * malloc'd, NUL-terminated copy with its length in `len`, or prints
 * "wsa-relay <cmd>: <path>: <reason>" and returns NULL.
 */
char *cmd_read_key_file(const char *cmd, const char *path, size_t *len);

/**
 * Initialises `cfg` from the defaults and the environment. Returns 0, or prints the
 * one-line error ("wsa-relay <cmd>: WSA_RELAY_X: ...") and returns CFG_EXIT_USAGE.
 */
int cmd_config_from_env(cfg_t *cfg, const char *cmd);

/**
 * Applies the value of `flag` ("--listen") to the setting `name` ("WSA_RELAY_LISTEN");
 * same return values as above, and the message names both.
 */
int cmd_config_flag(cfg_t *cfg, const char *cmd, const char *flag, const char *name,
                    const char *value);

/**
 * 1 when `name` may name an appliance (--appliance): it is shown in replies and logs, so
 * 1 to 255 bytes with no control character.
 */
int cmd_appliance_name_ok(const char *name);

#endif
