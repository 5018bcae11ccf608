/*
 * muxd_runner - serve a usbmuxd-compatible socket for tests, benchmarks
 * and hand checks with libimobiledevice's tools, until SIGTERM or SIGINT.
 *
 *   muxd_runner --socket PATH --transport SPEC   an ib_usbmux context
 *                                                ("sim:PATH", "usb", ...)
 *   muxd_runner --socket PATH --fake N           N fake devices (echo on
 *                                                port 7, sink 9, source 19)
 *   -v                                           more log (repeatable)
 *
 * Prints "READY PATH" on stdout once the socket accepts connections.
 * `ibackup muxd --socket PATH` is the command people use; this is its
 * test-only twin.
 */
#include "fake_backend.h"
#include "ib_err.h"
#include "ib_log.h"
#include "ib_util.h"
#include "muxd_server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
on_signal(int sig)
{
	(void)sig;
	ib_interrupt_set();
}

static int
usage(void)
{
	fprintf(stderr, "usage: muxd_runner --socket PATH (--transport SPEC | --fake N) [-v]...\n");
	return 2;
}

int
main(int argc, char **argv)
{
	const char *path = NULL, *spec = NULL;
	struct ib_usbmux_opts opts;
	struct ib_usbmux *m = NULL;
	struct fake_backend *fb = NULL;
	struct ib_muxd_server *srv = NULL;
	struct sigaction sa;
	int i, nfake = -1, level = IB_LOG_WARN, r;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--transport") == 0 && i + 1 < argc)
			spec = argv[++i];
		else if (strcmp(argv[i], "--fake") == 0 && i + 1 < argc)
			nfake = atoi(argv[++i]);
		else if (strcmp(argv[i], "-v") == 0)
			level++;
		else
			return usage();
	}
	if (path == NULL || (spec == NULL) == (nfake < 0))
		return usage();
	ib_log_set_level(level);
	ib_log_set_prefix("muxd_runner");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (spec != NULL) {
		memset(&opts, 0, sizeof(opts));
		opts.transport = spec;
		if ((r = ib_usbmux_new(&opts, &m)) == IB_OK)
			r = ib_muxd_server_start(m, path, &srv);
	} else {
		if ((fb = fake_backend_new()) == NULL)
			return 1;
		for (i = 0; i < nfake; i++) {
			char udid[IB_UDID_MAX + 1];

			snprintf(udid, sizeof(udid), "00008030-00000000000000%02X", i + 1);
			fake_backend_attach(fb, udid);
		}
		r = ib_muxd_server_start_backend(fake_backend_ops(), fb, path, &srv);
	}
	if (r != IB_OK) {
		fprintf(stderr, "muxd_runner: %s %s\n", ib_strerror(r), ib_err_detail());
		ib_usbmux_free(m);
		fake_backend_free(fb);
		return ib_err_exit_code(r);
	}
	printf("READY %s\n", path);
	fflush(stdout);
	while (!ib_interrupted())
		ib_sleep_ms(100);
	ib_muxd_server_stop(srv);
	ib_usbmux_free(m);
	fake_backend_free(fb);
	return 0;
}
