/*
 * cmd_muxd.c - `ibackup muxd`: a usbmuxd-compatible server on top of
 * ibackup's own USB multiplexer (or any transport), so libimobiledevice,
 * pymobiledevice3 and go-ios work on a machine without usbmuxd.
 */
#include "cli.h"
#include "cli_cmds.h"
#include "cli_globals.h"
#include "ib_err.h"
#include "ib_util.h"
#include "muxd_server.h"

#include <stdio.h>

enum { OPT_SOCKET = OPT_CMD_BASE };

/* Where usbmuxd listens on Linux and macOS (usbmux.md 3.1). */
#define MUXD_DEFAULT_SOCKET "/var/run/usbmuxd"

static const struct cli_opt muxd_opts[] = {
	{ "socket", OPT_SOCKET, "PATH", "Listen on the UNIX socket PATH (default "
	  MUXD_DEFAULT_SOCKET "; clients find another path through "
	  "USBMUXD_SOCKET_ADDRESS=UNIX:PATH)." },
	{ NULL, 0, NULL, NULL },
};

static int
muxd_opt(struct cli *c, int key, const char *arg, void *ctx)
{
	(void)c;
	if (key != OPT_SOCKET)
		return -1;
	*(const char **)ctx = arg;
	return 0;
}

static int
run_muxd(struct cli *c, int argc, char **argv)
{
	const char *path = MUXD_DEFAULT_SOCKET;
	struct ib_muxd_server *s = NULL;
	struct ib_usbmux *m = NULL;
	int i, r;

	if ((i = cli_parse(c, argc, argv, muxd_opt, &path)) < 0)
		return 2;
	if (i < argc)
		return cli_usage_error(c, "unexpected argument `%s`", argv[i]);
	if ((r = cli_usbmux_open(c, &m)) != IB_OK)
		goto out;
	if ((r = ib_muxd_server_start(m, path, &s)) != IB_OK)
		goto out;
	/* Machine-readable start line, like ibackup-sim's. */
	printf("READY %s\n", path);
	fflush(stdout);
	cli_say(c, "Serving the usbmuxd protocol on %s (devices through %s). Ctrl-C stops.",
	    path, ib_usbmux_describe(m));
	while (!ib_interrupted())
		ib_sleep_ms(200);
	r = IB_OK;
out:
	ib_muxd_server_stop(s);
	ib_usbmux_free(m);
	return r == IB_OK ? 0 : cli_fail(c, r);
}

const struct cli_cmd cli_cmd_muxd = {
	"muxd", "", "Serve the usbmuxd protocol for other tools",
	"Runs a usbmuxd-compatible server (binary and plist clients: ListDevices, "
	"Listen, Connect, ReadBUID, Read/Save/DeletePairRecord, ListListeners) on "
	"top of ibackup's transport, so idevice_id, ideviceinfo, idevicebackup2, "
	"iproxy and other usbmuxd clients work without usbmuxd. Pairing records are "
	"served from ibackup's store. Prints `READY PATH` once listening; Ctrl-C or "
	"SIGTERM stops it and removes the socket.",
	muxd_opts, run_muxd,
};
