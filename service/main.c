/*
 * main.c - the wsa-relay command line: one binary, one subcommand per job.
 */
#include <stdio.h>
#include <string.h>
#include "cmd.h"
#include "config.h"

static const char usage_text[] =
    "usage: wsa-relay <command> [options]\n"
    "\n"
    "Threat Response relay module for Web Security Appliance access logs.\n"
    "\n"
    "commands:\n"
    "  ingest       load access logs into the tracking database\n"
    "  appliances   list the appliances with their rows and last sighting\n"
    "  rejects      show the rejected lines, or parse them again (--retry)\n"
    "  serve        answer the relay module API (HTTP/1.1 and h2c)\n"
    "  token        mint a test token (HS256 with the secret, or RS256 with a key)\n"
    "  jwks         print the key set (JWKS) of an RSA key, for trying jwks mode\n"
    "\n"
    "Run 'wsa-relay <command> --help' for a command's options and settings.\n";

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;

    if (cmd == NULL) {
        fputs(usage_text, stderr);
        return CFG_EXIT_USAGE;
    }
    /* getopt names the program by argv[0] in its messages: make that the subcommand */
    if (strcmp(cmd, "ingest") == 0) {
        argv[1] = "wsa-relay ingest";
        return cmd_ingest(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "appliances") == 0) {
        argv[1] = "wsa-relay appliances";
        return cmd_appliances(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "rejects") == 0) {
        argv[1] = "wsa-relay rejects";
        return cmd_rejects(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "serve") == 0) {
        argv[1] = "wsa-relay serve";
        return cmd_serve(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "token") == 0) {
        argv[1] = "wsa-relay token";
        return cmd_token(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "jwks") == 0) {
        argv[1] = "wsa-relay jwks";
        return cmd_jwks(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("wsa-relay %s\n", WSA_RELAY_VERSION);
        return 0;
    }
    fprintf(stderr, "wsa-relay: unknown command \"%s\"\n\n%s", cmd, usage_text);
    return CFG_EXIT_USAGE;
}
