/*
 * cli_device_info.h - what `devices` shows beyond the usbmux listing,
 * read from lockdownd without pairing (product type, name).
 */
#ifndef IB_CLI_DEVICE_INFO_H
#define IB_CLI_DEVICE_INFO_H

#include "cli.h"

struct cli_device_info {
	char product_type[32];
	char device_name[128];
};

/* Best effort: fields stay empty when the device does not answer. */
void cli_device_info_query(struct cli *c, struct ib_usbmux *m,
    const struct ib_device *dev, struct cli_device_info *info);

#endif /* IB_CLI_DEVICE_INFO_H */
