/*
 * cmd_info.c - `ibackup info`: what the device is, like ideviceinfo.
 */
#include "cli.h"
#include "cli_cmds.h"
#include "cli_globals.h"
#include "cli_lockdown.h"
#include "cli_plist.h"
#include "ib_err.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_DOMAIN = OPT_CMD_BASE, OPT_KEY };

static const struct cli_opt info_opts[] = {
	{ "domain", OPT_DOMAIN, "D", "Print the raw values of lockdown domain D "
	  "(e.g. com.apple.disk_usage) instead of the summary." },
	{ "key", OPT_KEY, "K", "Print the raw value of key K (in --domain, or the default domain)." },
	{ NULL, 0, NULL, NULL },
};

struct info_args {
	const char *domain;
	const char *key;
};

static int
info_opt(struct cli *c, int key, const char *arg, void *ctx)
{
	struct info_args *a = ctx;

	(void)c;
	if (key == OPT_DOMAIN)
		a->domain = arg;
	else if (key == OPT_KEY)
		a->key = arg;
	else
		return -1;
	return 0;
}

static void
print_summary(struct cli *c, const struct ib_lockdown_info *in)
{
	char b1[32], b2[32];

	if (c->json) {
		struct cli_json j;

		cli_json_begin(&j, stdout);
		cli_json_obj_open(&j, NULL);
		cli_json_str(&j, "name", in->name);
		cli_json_str(&j, "udid", in->udid);
		cli_json_str(&j, "product_type", in->product_type);
		cli_json_str(&j, "device_class", in->device_class);
		cli_json_str(&j, "ios_version", in->product_version);
		cli_json_str(&j, "build_version", in->build_version[0] ? in->build_version : NULL);
		cli_json_str(&j, "serial_number", in->serial_number[0] ? in->serial_number : NULL);
		if (in->total_capacity >= 0)
			cli_json_int(&j, "capacity_bytes", in->total_capacity);
		else
			cli_json_null(&j, "capacity_bytes");
		if (in->free_space >= 0)
			cli_json_int(&j, "free_bytes", in->free_space);
		else
			cli_json_null(&j, "free_bytes");
		if (in->battery_percent >= 0)
			cli_json_int(&j, "battery_percent", in->battery_percent);
		else
			cli_json_null(&j, "battery_percent");
		if (in->battery_charging >= 0)
			cli_json_bool(&j, "battery_charging", in->battery_charging);
		else
			cli_json_null(&j, "battery_charging");
		if (in->backup_encrypted >= 0)
			cli_json_bool(&j, "backup_encryption", in->backup_encrypted);
		else
			cli_json_null(&j, "backup_encryption");
		cli_json_bool(&j, "paired", in->paired);
		cli_json_obj_close(&j);
		cli_json_end(&j);
		return;
	}
	printf("Name:              %s\n", in->name[0] ? in->name : "-");
	printf("Model:             %s%s%s\n", in->product_type[0] ? in->product_type : "-",
	    in->device_class[0] ? " " : "", in->device_class[0] ? in->device_class : "");
	printf("iOS:               %s%s%s%s\n", in->product_version[0] ? in->product_version : "-",
	    in->build_version[0] ? " (" : "", in->build_version, in->build_version[0] ? ")" : "");
	printf("UDID:              %s\n", in->udid);
	if (in->serial_number[0])
		printf("Serial number:     %s\n", in->serial_number);
	if (in->total_capacity >= 0)
		printf("Capacity:          %s (%s free)\n",
		    cli_human_bytes((uint64_t)in->total_capacity, b1, sizeof(b1)),
		    in->free_space >= 0 ? cli_human_bytes((uint64_t)in->free_space, b2, sizeof(b2)) : "?");
	else
		printf("Capacity:          unknown (pair to read it)\n");
	if (in->battery_percent >= 0)
		printf("Battery:           %d%%%s\n", in->battery_percent,
		    in->battery_charging > 0 ? " (charging)" : "");
	else
		printf("Battery:           unknown\n");
	printf("Backup encryption: %s\n", in->backup_encrypted < 0 ? "unknown (pair to read it)" :
	    in->backup_encrypted ? "on" : "off");
	printf("Paired:            %s\n", in->paired ? "yes" : "no (run `ibackup pair`)");
}

/* Raw GetValue: with a session when paired, else what an untrusted
 * host may read. */
static int
print_raw(struct cli *c, struct ib_usbmux *m, const struct ib_device *dev,
    const struct info_args *a)
{
	struct ib_lockdown_opts o;
	struct ib_lockdown *ld = NULL;
	plist_t v = NULL;
	int r;

	cli_lockdown_opts(c, &o, 0);
	o.no_auto_pair = 1;
	r = ib_lockdown_session_open(m, dev->udid, &o, NULL, NULL, &ld);
	if (r == IB_ERR_LD_NOT_PAIRED)
		r = ib_lockdown_open(m, dev->udid, &o, &ld);
	if (r != IB_OK)
		goto out;
	if ((r = ib_lockdown_get_value(ld, a->domain, a->key, &v)) != IB_OK)
		goto out;
	if (c->json) {
		struct cli_json j;

		cli_json_begin(&j, stdout);
		cli_plist_print_json(&j, NULL, v);
		cli_json_end(&j);
	} else {
		cli_plist_print_text(stdout, v);
	}
out:
	plist_free(v);
	ib_lockdown_close(ld);
	return r;
}

static int
run_info(struct cli *c, int argc, char **argv)
{
	struct info_args a = { NULL, NULL };
	struct ib_lockdown_info info;
	struct ib_lockdown_opts o;
	struct ib_usbmux *m = NULL;
	struct ib_device dev;
	int i, r;

	if ((i = cli_parse(c, argc, argv, info_opt, &a)) < 0)
		return 2;
	if (i < argc)
		return cli_usage_error(c, "unexpected argument `%s`", argv[i]);
	if ((r = cli_select_device(c, &m, &dev)) != IB_OK)
		goto out;
	if (a.domain != NULL || a.key != NULL) {
		r = print_raw(c, m, &dev, &a);
		goto out;
	}
	cli_lockdown_opts(c, &o, 0);
	memset(&info, 0, sizeof(info));
	if ((r = ib_lockdown_query_info(m, dev.udid, &o, &info)) != IB_OK)
		goto out;
	print_summary(c, &info);
out:
	ib_usbmux_free(m);
	return r == IB_OK ? 0 : cli_fail(c, r);
}

const struct cli_cmd cli_cmd_info = {
	"info", "", "Show what the device is: name, model, iOS, capacity, battery, encryption",
	"Without options, a readable summary: name, model, iOS version and build, "
	"capacity and free space, battery, whether backups are encrypted, and "
	"whether this computer is paired (unpaired, only the values an untrusted "
	"computer may read are shown). --domain and --key print raw lockdown "
	"values like ideviceinfo; with --json the values are printed as JSON.",
	info_opts, run_info,
};
