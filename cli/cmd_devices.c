/*
 * cmd_devices.c - `ibackup devices`: list connected devices.
 */
#include "cli.h"
#include "cli_cmds.h"
#include "cli_globals.h"
#include "cli_device_info.h"
#include "ib_err.h"
#include "ib_util.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_WAIT = OPT_CMD_BASE, OPT_TIMEOUT };

static const struct cli_opt devices_opts[] = {
	{ "wait", OPT_WAIT, NULL, "Wait until a device (the one named by -u, if given) is connected." },
	{ "timeout", OPT_TIMEOUT, "SECONDS", "With --wait, give up after SECONDS (default: wait forever)." },
	{ NULL, 0, NULL, NULL },
};

struct devices_args {
	int wait;
	long long timeout_s;
};

static int
devices_opt(struct cli *c, int key, const char *arg, void *ctx)
{
	struct devices_args *a = ctx;

	switch (key) {
	case OPT_WAIT:
		a->wait = 1;
		return 0;
	case OPT_TIMEOUT:
		if ((a->timeout_s = cli_parse_count(arg)) < 0) {
			cli_usage_error(c, "--timeout needs a number of seconds");
			return -1;
		}
		return 0;
	default:
		return -1;
	}
}

static const char *
conn_name(enum ib_conn_type t)
{
	switch (t) {
	case IB_CONN_USB: return "usb";
	case IB_CONN_USBMUXD: return "usbmuxd";
	case IB_CONN_SIM: return "sim";
	case IB_CONN_NETWORK: return "network";
	}
	return "?";
}

static void
speed_text(uint64_t bps, char *buf, size_t len)
{
	if (bps == 0)
		snprintf(buf, len, "-");
	else if (bps >= 1000000000ull)
		snprintf(buf, len, "%g Gbit/s", (double)bps / 1e9);
	else
		snprintf(buf, len, "%g Mbit/s", (double)bps / 1e6);
}

static int
print_devices(struct cli *c, struct ib_usbmux *m, const struct ib_device *devs, size_t n)
{
	struct cli_json j;
	size_t i;

	if (c->json) {
		cli_json_begin(&j, stdout);
		cli_json_arr_open(&j, NULL);
	} else if (n > 0) {
		printf("%-26s %-14s %-10s %-12s %s\n", "UDID", "PRODUCT", "CONNECTION",
		    "SPEED", "NAME");
	}
	for (i = 0; i < n; i++) {
		struct cli_device_info info;
		char speed[32];

		cli_device_info_query(c, m, &devs[i], &info);
		if (c->json) {
			cli_json_obj_open(&j, NULL);
			cli_json_str(&j, "udid", devs[i].udid);
			cli_json_str(&j, "product_type", info.product_type[0] ? info.product_type : NULL);
			cli_json_str(&j, "name", info.device_name[0] ? info.device_name : NULL);
			cli_json_str(&j, "connection", conn_name(devs[i].conn));
			if (devs[i].conn_detail[0] != '\0')
				cli_json_str(&j, "link", devs[i].conn_detail);
			if (devs[i].product_id != 0)
				cli_json_uint(&j, "product_id", devs[i].product_id);
			if (devs[i].speed_bps != 0)
				cli_json_uint(&j, "speed_bps", devs[i].speed_bps);
			else
				cli_json_null(&j, "speed_bps");
			if (devs[i].location != 0)
				cli_json_uint(&j, "location", devs[i].location);
			cli_json_obj_close(&j);
			continue;
		}
		speed_text(devs[i].speed_bps, speed, sizeof(speed));
		printf("%-26s %-14s %-10s %-12s %s\n", devs[i].udid,
		    info.product_type[0] ? info.product_type : "-",
		    conn_name(devs[i].conn), speed,
		    info.device_name[0] ? info.device_name : "-");
	}
	if (c->json) {
		cli_json_arr_close(&j);
		cli_json_end(&j);
	} else if (n == 0) {
		cli_say(c, "No device connected (transport: %s).", ib_usbmux_describe(m));
	}
	return 0;
}

static int
run_devices(struct cli *c, int argc, char **argv)
{
	struct devices_args a = { 0, -1 };
	struct ib_usbmux *m = NULL;
	struct ib_device *devs = NULL, one;
	size_t n = 0;
	int i, r, status;

	if ((i = cli_parse(c, argc, argv, devices_opt, &a)) < 0)
		return 2;
	if (i < argc)
		return cli_usage_error(c, "unexpected argument `%s`", argv[i]);
	if ((r = cli_usbmux_open(c, &m)) != IB_OK)
		return cli_fail(c, r);
	if (a.wait) {
		int ms = a.timeout_s < 0 ? -1 :
		    a.timeout_s > 2000000 ? 2000000000 : (int)(a.timeout_s * 1000);

		if (!c->json && c->tty)
			cli_say(c, "Waiting for %s...", c->udid != NULL ? c->udid : "a device");
		r = ib_usbmux_wait(m, c->udid, ms, &one);
		if (r == IB_ERR_DEVICE_NOT_FOUND) {
			/* Nothing appeared in time: that is a timeout here. */
			ib_err_detail_set("no device appeared within %lld s", a.timeout_s);
			r = IB_ERR_TIMEOUT;
		}
		if (r != IB_OK) {
			status = cli_fail(c, r);
			goto out;
		}
	}
	if ((r = ib_usbmux_list(m, &devs, &n)) != IB_OK) {
		status = cli_fail(c, r);
		goto out;
	}
	status = print_devices(c, m, devs, n);
out:
	free(devs);
	ib_usbmux_free(m);
	return status;
}

const struct cli_cmd cli_cmd_devices = {
	"devices", "", "List connected iPhones and iPads",
	"Shows each device's UDID, product type, name, how it is connected "
	"(usb: ibackup's own USB multiplexer; usbmuxd; sim: a virtual device) and "
	"the USB link speed where known. The product type and name are read from "
	"the device without pairing.",
	devices_opts, run_devices,
};
