/*
 * cli_globals.h - the global options, shared by main.c and cli_parse().
 */
#ifndef IB_CLI_GLOBALS_H
#define IB_CLI_GLOBALS_H

#include "cli.h"

enum {
	OPT_TRANSPORT = 256,
	OPT_PAIR_RECORDS,
	OPT_JSON,
	OPT_VERSION,
	/* Command options use keys from 300 up or letters. */
	OPT_CMD_BASE = 300,
};

extern const struct cli_opt cli_global_opts[];

/* Apply a global option; 0 if key was one, -1 otherwise. */
int cli_global_option(struct cli *c, int key, const char *arg);

#endif /* IB_CLI_GLOBALS_H */
