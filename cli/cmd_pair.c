/*
 * cmd_pair.c - `ibackup pair`, `ibackup unpair`, `ibackup validate`.
 */
#include "cli.h"
#include "cli_cmds.h"
#include "cli_globals.h"
#include "cli_lockdown.h"
#include "ib_err.h"

#include <stdlib.h>

enum { OPT_TIMEOUT = OPT_CMD_BASE };

static const struct cli_opt pair_opts[] = {
	{ "timeout", OPT_TIMEOUT, "SECONDS", "Give up waiting for Trust and the passcode after "
	  "SECONDS (default 180; 0 waits until Ctrl-C)." },
	{ NULL, 0, NULL, NULL },
};

static int
pair_opt(struct cli *c, int key, const char *arg, void *ctx)
{
	long long *timeout = ctx;

	if (key != OPT_TIMEOUT)
		return -1;
	if ((*timeout = cli_parse_count(arg)) < 0 || *timeout > 86400) {
		cli_usage_error(c, "--timeout needs a number of seconds (at most 86400)");
		return -1;
	}
	return 0;
}

static void
say_done(struct cli *c, const char *event, const char *udid, const char *text)
{
	if (c->json) {
		struct cli_json j;

		cli_json_begin(&j, stdout);
		cli_json_obj_open(&j, NULL);
		cli_json_str(&j, "event", event);
		cli_json_str(&j, "udid", udid);
		cli_json_str(&j, "message", text);
		cli_json_obj_close(&j);
		cli_json_end(&j);
	} else if (!c->quiet) {
		printf("%s\n", text);
	}
}

static int
run_pair(struct cli *c, int argc, char **argv)
{
	long long timeout_s = CLI_PAIR_TIMEOUT_S;
	struct ib_lockdown_opts o;
	struct ib_lockdown *ld = NULL;
	struct ib_usbmux *m = NULL;
	struct ib_device dev;
	char text[256];
	int i, r;

	if ((i = cli_parse(c, argc, argv, pair_opt, &timeout_s)) < 0)
		return 2;
	if (i < argc)
		return cli_usage_error(c, "unexpected argument `%s`", argv[i]);
	if ((r = cli_select_device(c, &m, &dev)) != IB_OK)
		goto out;
	cli_lockdown_opts(c, &o, timeout_s == 0 ? -1 : (int)(timeout_s * 1000));
	if ((r = ib_lockdown_open(m, dev.udid, &o, &ld)) != IB_OK)
		goto out;
	cli_pair_prompt(c);
	if ((r = ib_lockdown_pair_interactive(ld, o.pair_timeout_ms, cli_pair_message, c)) != IB_OK)
		goto out;
	snprintf(text, sizeof(text), "Paired with %s.", dev.udid);
	say_done(c, "paired", dev.udid, text);
out:
	ib_lockdown_free(ld);
	ib_usbmux_free(m);
	if (r == IB_ERR_TIMEOUT) {
		/* Say what timed out: the generic sentence is too vague here. */
		cli_say(c, "Nobody answered the Trust dialog in time.");
	}
	return r == IB_OK ? 0 : cli_fail(c, r);
}

static int
run_unpair(struct cli *c, int argc, char **argv)
{
	struct ib_lockdown *ld = NULL;
	struct ib_usbmux *m = NULL;
	struct ib_lockdown_opts o;
	struct ib_device dev;
	char text[256];
	int i, r;

	if ((i = cli_parse(c, argc, argv, NULL, NULL)) < 0)
		return 2;
	if (i < argc)
		return cli_usage_error(c, "unexpected argument `%s`", argv[i]);
	if ((r = cli_select_device(c, &m, &dev)) != IB_OK)
		goto out;
	cli_lockdown_opts(c, &o, 0);
	if ((r = ib_lockdown_open(m, dev.udid, &o, &ld)) != IB_OK)
		goto out;
	if ((r = ib_lockdown_unpair_host(ld)) != IB_OK)
		goto out;
	snprintf(text, sizeof(text), "Unpaired: %s no longer trusts this computer.", dev.udid);
	say_done(c, "unpaired", dev.udid, text);
out:
	ib_lockdown_free(ld);
	ib_usbmux_free(m);
	return r == IB_OK ? 0 : cli_fail(c, r);
}

static int
run_validate(struct cli *c, int argc, char **argv)
{
	struct ib_lockdown *ld = NULL;
	struct ib_usbmux *m = NULL;
	struct ib_lockdown_opts o;
	struct ib_device dev;
	char text[256];
	int i, r;

	if ((i = cli_parse(c, argc, argv, NULL, NULL)) < 0)
		return 2;
	if (i < argc)
		return cli_usage_error(c, "unexpected argument `%s`", argv[i]);
	if ((r = cli_select_device(c, &m, &dev)) != IB_OK)
		goto out;
	cli_lockdown_opts(c, &o, 0);
	o.no_auto_pair = 1;
	if ((r = ib_lockdown_session_open(m, dev.udid, &o, NULL, NULL, &ld)) != IB_OK)
		goto out;
	snprintf(text, sizeof(text), "%s trusts this computer.", dev.udid);
	say_done(c, "valid", dev.udid, text);
out:
	ib_lockdown_close(ld);
	ib_usbmux_free(m);
	return r == IB_OK ? 0 : cli_fail(c, r);
}

const struct cli_cmd cli_cmd_pair = {
	"pair", "", "Pair with a device (tap Trust and enter the passcode on it)",
	"Creates a pairing record for this computer and asks the device to trust it. "
	"Unlock the iPhone, tap Trust, and enter its passcode; ibackup keeps asking "
	"while the dialog is open and tells you when the device is locked. The record "
	"is saved (0600) only when the device accepts; it is shared with usbmuxd and "
	"libimobiledevice when /var/lib/lockdown is used. Exit status 5 when the "
	"user taps Don't Trust, 6 when nobody answers in time.",
	pair_opts, run_pair,
};

const struct cli_cmd cli_cmd_unpair = {
	"unpair", "", "Make the device forget this computer and delete the record",
	"Tells the device to forget this computer's pairing and deletes the local "
	"pairing record. A record the device already forgot is deleted too.",
	NULL, run_unpair,
};

const struct cli_cmd cli_cmd_validate = {
	"validate", "", "Check that the device still trusts this computer",
	"Starts a lockdown session with the stored pairing record, without pairing. "
	"Exit status 0 when the device accepts it, 4 when this computer is not paired "
	"or no longer trusted (run `ibackup pair`).",
	NULL, run_validate,
};
