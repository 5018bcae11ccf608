/*
 * cli_plist.h - print plist values for people (ideviceinfo style) or as
 * JSON. Secret keys (ib_plist_key_is_secret) are printed as "<redacted>".
 */
#ifndef IB_CLI_PLIST_H
#define IB_CLI_PLIST_H

#include <stdio.h>

#include <plist/plist.h>

#include "cli.h"

/* "Key: value" lines; nested containers indented. */
void cli_plist_print_text(FILE *f, plist_t p);
/* The value as JSON (data as base64, dates as ISO 8601 UTC). */
void cli_plist_print_json(struct cli_json *j, const char *key, plist_t p);

#endif /* IB_CLI_PLIST_H */
