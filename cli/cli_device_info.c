/*
 * cli_device_info.c - unpaired lockdown queries for `devices`: the values
 * any host may read (product type, name), so no Trust dialog appears.
 */
#include "cli_device_info.h"
#include "cli_lockdown.h"
#include "ib_err.h"
#include "ib_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A listing must not hang on one silent device. */
#define DEVICE_INFO_TIMEOUT_MS 3000

static void
copy_value(struct ib_lockdown *ld, const char *key, char *out, size_t len)
{
	char *s = NULL;

	if (ib_lockdown_get_string(ld, NULL, key, &s) == IB_OK)
		snprintf(out, len, "%s", s);
	free(s);
}

void
cli_device_info_query(struct cli *c, struct ib_usbmux *m,
    const struct ib_device *dev, struct cli_device_info *info)
{
	struct ib_lockdown_opts o;
	struct ib_lockdown *ld = NULL;
	int r;

	memset(info, 0, sizeof(*info));
	cli_lockdown_opts(c, &o, 0);
	o.timeout_ms = DEVICE_INFO_TIMEOUT_MS;
	if ((r = ib_lockdown_open(m, dev->udid, &o, &ld)) != IB_OK) {
		ib_info("%s: lockdownd not reachable: %s", dev->udid, ib_strerror(r));
		return;
	}
	copy_value(ld, "ProductType", info->product_type, sizeof(info->product_type));
	copy_value(ld, "DeviceName", info->device_name, sizeof(info->device_name));
	ib_lockdown_close(ld);
}
