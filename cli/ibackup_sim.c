/*
 * ibackup_sim.c - `ibackup-sim`: serve virtual iPhones on a UNIX socket,
 * or send a control action to a running simulator.
 *
 *   ibackup-sim --listen PATH [--devices N] [--set [N:]KNOB=VALUE]...
 *               [--seed N] [-v...]
 *   ibackup-sim control --socket PATH [-u UDID] ACTION [ARG]
 *   ibackup-sim --help
 *
 * Other programs and tests rely on this contract: once listening, exactly
 * one line "READY PATH" is printed to stdout and flushed; SIGINT or
 * SIGTERM stops the simulator, removes the socket and exits 0.
 */
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_sim.h"
#include "sim_proto.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --set options on one command line. */
#define CLI_KNOBS_MAX 128

static void
print_knob(void *ctx, const char *name, const char *help)
{
	fprintf(ctx, "  %-14s %s\n", name, help);
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: ibackup-sim --listen PATH [--devices N] [--set [N:]KNOB=VALUE]... [--seed N] [-v...]\n"
	    "       ibackup-sim control --socket PATH [-u UDID] ACTION [ARG]\n"
	    "\n"
	    "Serve virtual iPhones on the UNIX socket PATH (reach them with\n"
	    "`ibackup --transport sim:PATH`). Prints \"READY PATH\" once listening;\n"
	    "runs until SIGINT or SIGTERM, then removes the socket.\n"
	    "\n"
	    "  --listen PATH      the socket to serve on\n"
	    "  --devices N        number of virtual devices (1-%u, default 1)\n"
	    "  --set [N:]K=V      set knob K to V for every device, or for device N only\n"
	    "                     (numbers take k/M/G suffixes, powers of 1024)\n"
	    "  --seed N           seed for identities and generated content (default 1)\n"
	    "  -v                 more log output (repeat for more)\n"
	    "\n"
	    "control: send ACTION (unplug, plug, and actions of the protocol layers)\n"
	    "to device UDID (optional with one device) of a running simulator.\n"
	    "\n"
	    "Knobs:\n", IB_SIM_MAX_DEVICES);
	ib_sim_knob_foreach(print_knob, f);
}

static int
fail(int r)
{
	const char *d = ib_err_detail();

	fprintf(stderr, "ibackup-sim: %s%s%s\n", ib_strerror(r), d[0] ? ": " : "", d);
	return ib_err_exit_code(r);
}

static int
parse_uint(const char *s, unsigned long max, unsigned long *vp)
{
	char *end;
	unsigned long v;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return IB_ERR_USAGE;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v > max)
		return IB_ERR_USAGE;
	*vp = v;
	return IB_OK;
}

static int
cmd_control(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "udid", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *udid = NULL;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:u:hv", opts, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'u': udid = optarg; break;
		case 'v': ib_log_set_level(ib_log_get_level() + 1); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return ib_err_exit_code(IB_ERR_USAGE);
		}
	}
	if (path == NULL || optind >= argc || argc - optind > 2) {
		ib_err_detail_set("control needs --socket PATH and ACTION [ARG]");
		return fail(IB_ERR_USAGE);
	}
	r = ib_sim_client_control(path, udid, argv[optind],
	    optind + 1 < argc ? argv[optind + 1] : NULL);
	return r == IB_OK ? 0 : fail(r);
}

static int
serve(const char *path, unsigned ndev, const char *const *knobs, uint32_t seed)
{
	struct ib_sim *sim = NULL;
	sigset_t set;
	int r, sig;

	/* Every thread inherits the mask; the main thread takes the signal. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((r = ib_sim_new(ndev, knobs, seed, &sim)) != IB_OK ||
	    (r = ib_sim_serve(sim, path)) != IB_OK) {
		ib_sim_free(sim);
		return fail(r);
	}
	printf("READY %s\n", path);
	fflush(stdout);
	while (sigwait(&set, &sig) != 0)
		;
	ib_info("signal %d: stopping", sig);
	ib_sim_free(sim);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "devices", required_argument, NULL, 'n' },
		{ "set", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *knobs[CLI_KNOBS_MAX + 1];
	const char *path = NULL;
	unsigned long ndev = 1, seed = 1;
	int c, nknobs = 0;

	ib_log_set_prefix("ibackup-sim");
	if (argc > 1 && strcmp(argv[1], "control") == 0)
		return cmd_control(argc - 1, argv + 1);
	while ((c = getopt_long(argc, argv, "l:n:s:S:hv", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			path = optarg;
			break;
		case 'n':
			if (parse_uint(optarg, IB_SIM_MAX_DEVICES, &ndev) != IB_OK || ndev == 0) {
				ib_err_detail_set("--devices takes 1 to %u", IB_SIM_MAX_DEVICES);
				return fail(IB_ERR_USAGE);
			}
			break;
		case 's':
			if (nknobs == CLI_KNOBS_MAX) {
				ib_err_detail_set("more than %d --set options", CLI_KNOBS_MAX);
				return fail(IB_ERR_USAGE);
			}
			knobs[nknobs++] = optarg;
			break;
		case 'S':
			if (parse_uint(optarg, UINT32_MAX, &seed) != IB_OK) {
				ib_err_detail_set("--seed takes 0 to %u", UINT32_MAX);
				return fail(IB_ERR_USAGE);
			}
			break;
		case 'v':
			ib_log_set_level(ib_log_get_level() + 1);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return ib_err_exit_code(IB_ERR_USAGE);
		}
	}
	knobs[nknobs] = NULL;
	if (path == NULL || optind != argc) {
		ib_err_detail_set("--listen PATH is required (see --help)");
		return fail(IB_ERR_USAGE);
	}
	return serve(path, (unsigned)ndev, knobs, (uint32_t)seed);
}
