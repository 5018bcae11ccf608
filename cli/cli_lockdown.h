/*
 * cli_lockdown.h - lockdown helpers shared by the commands: the pairing
 * messages for people, and opening a session with pair-on-first-use.
 */
#ifndef IB_CLI_LOCKDOWN_H
#define IB_CLI_LOCKDOWN_H

#include "cli.h"
#include "ib_lockdown.h"

/* Prints the pairing loop's sentences (stderr, or JSON events). */
void cli_pair_message(void *ctx, enum ib_lockdown_event ev, const char *text);
/* Print the Trust sentence now (once per command). */
void cli_pair_prompt(struct cli *c);
/* Lockdown options from the CLI state (pair timeout in ms, <0 forever). */
void cli_lockdown_opts(struct cli *c, struct ib_lockdown_opts *o, int pair_timeout_ms);
/* Default wait for the person at the phone: a few minutes. */
#define CLI_PAIR_TIMEOUT_S 180

#endif /* IB_CLI_LOCKDOWN_H */
