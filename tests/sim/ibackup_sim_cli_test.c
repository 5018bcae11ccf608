/*
 * The real `ibackup-sim` binary (path in argv[1], from meson): the
 * READY line, reaching its devices through tr_sim, `control unplug/plug`,
 * --help, bad options, and a clean exit on SIGTERM.
 */
#include "ib_test.h"
#include "ib_usbmux.h"
#include "ib_util.h"
#include "sim_harness.h"
#include "sim_test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *sim_bin;

/* Start argv with its stdout on a pipe; *outp is the read end. */
static pid_t
spawn(char *const argv[], int *outp)
{
	int pfd[2];
	pid_t pid;

	if (pipe(pfd) != 0)
		return -1;
	if ((pid = fork()) == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	*outp = pfd[0];
	return pid;
}

/* Run argv to completion; its stdout (up to size-1 bytes) into out. */
static int
run(char *const argv[], char *out, size_t size)
{
	int fd, status = -1;
	size_t len = 0;
	pid_t pid;

	if ((pid = spawn(argv, &fd)) < 0)
		return -1;
	for (;;) {
		ssize_t got = read(fd, out + len, size - 1 - len);

		if (got <= 0)
			break;
		len += (size_t)got;
		if (len == size - 1)
			len = 0;        /* keep reading; only the tail matters */
	}
	out[len] = '\0';
	close(fd);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Start `ibackup-sim --listen path ...` and wait for its READY line. */
static pid_t
start_sim(const char *path, char *const extra[])
{
	char *argv[16] = { (char *)sim_bin, "--listen", (char *)path, NULL };
	char line[256], want[256];
	size_t len = 0, i;
	int fd;
	pid_t pid;

	for (i = 0; extra != NULL && extra[i] != NULL && i < 12; i++)
		argv[3 + i] = extra[i];
	argv[3 + i] = NULL;
	if ((pid = spawn(argv, &fd)) < 0)
		return -1;
	snprintf(want, sizeof(want), "READY %s\n", path);
	while (len < sizeof(line) - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t got;

		if (poll(&p, 1, H_TIMEOUT_MS) <= 0 || (got = read(fd, line + len, 1)) <= 0)
			break;
		len += (size_t)got;
		if (line[len - 1] == '\n')
			break;
	}
	line[len] = '\0';
	close(fd);
	if (strcmp(line, want) != 0) {
		fprintf(stderr, "    expected \"READY %s\", got \"%s\"\n", path, line);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

static int
control(const char *path, const char *udid, const char *action)
{
	char *argv[] = { (char *)sim_bin, "control", "--socket", (char *)path,
	    "-u", (char *)udid, (char *)action, NULL };
	char out[256];

	return run(argv, out, sizeof(out));
}

IB_TEST(cli_help_lists_the_knobs)
{
	char *argv[] = { (char *)sim_bin, "--help", NULL };
	char out[8192];

	IB_CHECK_EQ(run(argv, out, sizeof(out)), 0);
	IB_CHECK(strstr(out, "--listen PATH") != NULL);
	IB_CHECK(strstr(out, "unplug_after") != NULL);
	IB_CHECK(strstr(out, "slow_reader") != NULL);
	IB_CHECK(strstr(out, "mux_version") != NULL);
}

IB_TEST(cli_refuses_bad_options)
{
	char *unknown[] = { (char *)sim_bin, "--listen", "/tmp/ib-cli-x.sock", "--set",
	    "no_such_knob=1", NULL };
	char *nolisten[] = { (char *)sim_bin, "--devices", "2", NULL };
	char *baddev[] = { (char *)sim_bin, "--listen", "/tmp/ib-cli-x.sock", "--devices",
	    "0", NULL };
	char out[256];

	IB_CHECK_EQ(run(unknown, out, sizeof(out)), 2);
	IB_CHECK(strstr(out, "READY") == NULL);
	IB_CHECK_EQ(run(nolisten, out, sizeof(out)), 2);
	IB_CHECK_EQ(run(baddev, out, sizeof(out)), 2);
}

IB_TEST(cli_serves_devices_and_obeys_control)
{
	char *extra[] = { "--devices", "2", "--set", "2:window=2k", "--seed", "77", NULL };
	char path[96], spec[128];
	struct ib_usbmux_opts o = { 0 };
	struct ib_usbmux *m = NULL;
	struct ib_stream *s = NULL;
	struct ib_device *d = NULL;
	struct stat st;
	uint64_t got;
	size_t n = 0;
	int status;
	pid_t pid;

	snprintf(path, sizeof(path), "/tmp/ib-cli-test-%d.sock", (int)getpid());
	IB_CHECK((pid = start_sim(path, extra)) > 0);
	snprintf(spec, sizeof(spec), "sim:%s", path);
	o.transport = spec;
	IB_CHECK_OK(ib_usbmux_new(&o, &m));
	IB_CHECK_OK(ib_usbmux_list(m, &d, &n));
	IB_CHECK_EQ(n, 2);
	IB_CHECK_OK(h_sink(m, d[1].udid, 1 << 20, 7));
	IB_CHECK_OK(h_source_open(m, d[0].udid, 1ull << 32, 1, &s));
	IB_CHECK_OK(h_source_check(ib_stream_fd(s), 1 << 20, 1));
	IB_CHECK_EQ(control(path, d[0].udid, "unplug"), 0);
	IB_CHECK_OK(h_read_to_eof(ib_stream_fd(s), &got));
	IB_CHECK_ERR(ib_stream_error(s), IB_ERR_NO_DEVICE);
	ib_stream_close(s);
	IB_CHECK_OK(h_wait_count(m, 1));
	IB_CHECK_EQ(control(path, d[0].udid, "dance"), 2);
	IB_CHECK_EQ(control(path, "00008110-0000000000000000", "unplug"), 3);
	IB_CHECK_EQ(control(path, d[0].udid, "plug"), 0);
	IB_CHECK_OK(h_wait_count(m, 2));
	IB_CHECK_OK(h_source(m, d[0].udid, 1 << 20, 2));
	ib_usbmux_free(m);
	free(d);
	IB_CHECK(kill(pid, SIGTERM) == 0);
	IB_CHECK(waitpid(pid, &status, 0) == pid);
	IB_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	IB_CHECK(stat(path, &st) != 0 && errno == ENOENT);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-ibackup-sim [TEST]\n", argv[0]);
		return 2;
	}
	sim_bin = argv[1];
	signal(SIGPIPE, SIG_IGN);
	argv[1] = argv[0];
	return ib_test_main(argc - 1, argv + 1);
}
