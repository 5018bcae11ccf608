/*
 * bench_mux.c - throughput of ibackup's own mux over the stream
 * transport (sim:PATH): 1 stream and 8 streams, host -> device (discard
 * service) and device -> host (source service). Prints MB/s and CPU
 * seconds per GB.
 *
 *   bench_mux [--bytes N] [--sim PATH-TO-ibackup-sim] [--window BYTES]
 *             [--socket PATH-OF-A-RUNNING-SIM]
 *
 * In process (default) the CPU figure covers host and device together.
 * With --sim the device runs in a child process: "host" CPU is this
 * process alone, "device" CPU is the child's (read when it exits).
 */
#include "ib_err.h"
#include "ib_sim.h"
#include "ib_usbmux.h"
#include "ib_util.h"
#include "sim_test.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define BENCH_CHUNK (256u * 1024u)
#define BENCH_STREAMS_MAX 8u

struct job {
	struct ib_usbmux *mux;
	int upload;             /* host -> device */
	uint64_t bytes;
	int result;
};

static int
read_n(int fd, uint8_t *buf, size_t bufsize, uint64_t n)
{
	while (n > 0) {
		ssize_t got = recv(fd, buf, (size_t)IB_MIN(n, bufsize), 0);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return IB_ERR_EOF;
		n -= (uint64_t)got;
	}
	return IB_OK;
}

static void *
run_job(void *arg)
{
	struct job *j = arg;
	struct ib_stream *s = NULL;
	uint8_t *buf = calloc(1, BENCH_CHUNK), req[16];
	uint64_t left;
	int fd, r;

	if (buf == NULL) {
		j->result = IB_ERR_NOMEM;
		return NULL;
	}
	r = ib_usbmux_connect(j->mux, NULL, j->upload ? IB_SIM_PORT_DISCARD : IB_SIM_PORT_SOURCE, &s);
	if (r != IB_OK)
		goto out;
	fd = ib_stream_fd(s);
	if ((r = ib_sim_write_full(fd, req, ib_sim_test_request(req, j->bytes, !j->upload, 1))) != IB_OK)
		goto out;
	if (j->upload) {
		for (left = j->bytes; left > 0 && r == IB_OK; left -= IB_MIN(left, BENCH_CHUNK))
			r = ib_sim_write_full(fd, buf, (size_t)IB_MIN(left, BENCH_CHUNK));
		if (r == IB_OK)
			r = read_n(fd, buf, BENCH_CHUNK, 8);
	} else {
		r = read_n(fd, buf, BENCH_CHUNK, j->bytes);
	}
out:
	if (r != IB_OK && s != NULL && ib_stream_error(s) != IB_OK)
		r = ib_stream_error(s);
	ib_stream_close(s);
	free(buf);
	j->result = r;
	return NULL;
}

static double
cpu_seconds(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int
measure(struct ib_usbmux *mux, unsigned nstreams, int upload, uint64_t total)
{
	struct job jobs[BENCH_STREAMS_MAX];
	pthread_t th[BENCH_STREAMS_MAX];
	double cpu0 = cpu_seconds(RUSAGE_SELF), cpu, secs;
	uint64_t t0 = ib_now_ms();
	unsigned i;
	int r = IB_OK;

	for (i = 0; i < nstreams; i++) {
		jobs[i] = (struct job){ mux, upload, total / nstreams, IB_ERR_INTERNAL };
		pthread_create(&th[i], NULL, run_job, &jobs[i]);
	}
	for (i = 0; i < nstreams; i++) {
		pthread_join(th[i], NULL);
		if (jobs[i].result != IB_OK)
			r = jobs[i].result;
	}
	secs = (double)(ib_now_ms() - t0) / 1000.0;
	cpu = cpu_seconds(RUSAGE_SELF) - cpu0;
	if (r != IB_OK) {
		fprintf(stderr, "bench_mux: %s\n", ib_strerror(r));
		return r;
	}
	printf("%-16s %u stream%s  %7.1f MB/s  %6.2f CPU s/GB  (%llu MiB in %.2f s)\n",
	    upload ? "host -> device" : "device -> host", nstreams, nstreams > 1 ? "s" : " ",
	    (double)total / 1e6 / secs, cpu / ((double)total / 1e9),
	    (unsigned long long)(total >> 20), secs);
	return IB_OK;
}

/* Start ibackup-sim at path; returns its pid once it said READY. */
static pid_t
spawn_sim(const char *bin, const char *path, const char *window)
{
	char knob[64], line[256];
	int pfd[2];
	pid_t pid;
	FILE *f;

	snprintf(knob, sizeof(knob), "window=%s", window);
	if (pipe(pfd) != 0)
		return -1;
	if ((pid = fork()) == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		execl(bin, bin, "--listen", path, "--set", knob, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	if (f == NULL || fgets(line, sizeof(line), f) == NULL || strncmp(line, "READY ", 6) != 0)
		pid = -1;
	if (f != NULL)
		fclose(f);
	return pid;
}

int
main(int argc, char **argv)
{
	const char *sim_bin = NULL, *window = "256k", *sock = NULL;
	uint64_t total = 1ull << 30;
	struct ib_usbmux_opts o = { 0 };
	struct ib_usbmux *mux = NULL;
	struct ib_sim *sim = NULL;
	char path[96], spec[128];
	pid_t pid = -1;
	int i, r;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--bytes") == 0)
			total = strtoull(argv[i + 1], NULL, 0);
		else if (strcmp(argv[i], "--sim") == 0)
			sim_bin = argv[i + 1];
		else if (strcmp(argv[i], "--window") == 0)
			window = argv[i + 1];
		else if (strcmp(argv[i], "--socket") == 0)
			sock = argv[i + 1];
	}
	signal(SIGPIPE, SIG_IGN);
	snprintf(path, sizeof(path), "/tmp/ib-bench-%d.sock", (int)getpid());
	if (sock != NULL) {
		snprintf(path, sizeof(path), "%s", sock);
	} else if (sim_bin != NULL) {
		if ((pid = spawn_sim(sim_bin, path, window)) < 0) {
			fprintf(stderr, "bench_mux: cannot start %s\n", sim_bin);
			return 1;
		}
	} else {
		char knob[64];
		const char *knobs[] = { knob, NULL };

		snprintf(knob, sizeof(knob), "window=%s", window);
		if ((r = ib_sim_new(1, knobs, 1, &sim)) != IB_OK ||
		    (r = ib_sim_serve(sim, path)) != IB_OK) {
			fprintf(stderr, "bench_mux: %s %s\n", ib_strerror(r), ib_err_detail());
			return 1;
		}
	}
	snprintf(spec, sizeof(spec), "sim:%s", path);
	o.transport = spec;
	if ((r = ib_usbmux_new(&o, &mux)) != IB_OK) {
		fprintf(stderr, "bench_mux: %s %s\n", ib_strerror(r), ib_err_detail());
		return 1;
	}
	printf("mux over sim:%s, device window %s, %s; CPU = %s\n", path, window,
	    sock ? "device elsewhere" : sim_bin ? "device in a child process" :
	    "device in this process",
	    sim_bin || sock ? "this (host) process only" : "host and device together");
	r = IB_OK;
	if (r == IB_OK) r = measure(mux, 1, 1, total);
	if (r == IB_OK) r = measure(mux, 1, 0, total);
	if (r == IB_OK) r = measure(mux, 8, 1, total);
	if (r == IB_OK) r = measure(mux, 8, 0, total);
	ib_usbmux_free(mux);
	ib_sim_free(sim);
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		printf("device process CPU: %.2f s for %llu MiB moved\n",
		    cpu_seconds(RUSAGE_CHILDREN), (unsigned long long)(4 * total >> 20));
	}
	return r == IB_OK ? 0 : 1;
}
