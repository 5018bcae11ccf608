/*
 * cli_device_info.c - unpaired lockdown queries for `devices`.
 * (Filled in when the lockdown layer lands; until then nothing is known.)
 */
#include "cli_device_info.h"

#include <string.h>

void
cli_device_info_query(struct cli *c, struct ib_usbmux *m,
    const struct ib_device *dev, struct cli_device_info *info)
{
	(void)c;
	(void)m;
	(void)dev;
	memset(info, 0, sizeof(*info));
}
