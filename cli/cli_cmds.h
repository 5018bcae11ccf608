/*
 * cli_cmds.h - the commands of `ibackup`, one file each.
 */
#ifndef IB_CLI_CMDS_H
#define IB_CLI_CMDS_H

#include <stdio.h>

#include "cli.h"

extern const struct cli_cmd cli_cmd_devices;
extern const struct cli_cmd cli_cmd_muxd;
extern const struct cli_cmd cli_cmd_info;
extern const struct cli_cmd cli_cmd_pair;
extern const struct cli_cmd cli_cmd_unpair;
extern const struct cli_cmd cli_cmd_validate;

/* The whole command line (cli/ibackup.c's main; tests call it too). */
int ibackup_main(int argc, char **argv);

void cli_help_main(FILE *f);
void cli_help_command(FILE *f, const struct cli_cmd *cmd);
/* Is this exit status in the documented table? (tests) */
int cli_exit_status_documented(int status);

#endif /* IB_CLI_CMDS_H */
