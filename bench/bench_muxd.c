/*
 * bench_muxd - throughput of the usbmuxd-compatible server's raw pipe
 * (client socket <-> device stream after a Connect), without any mux
 * behind it: the backend's "device" is a thread on a socketpair that
 * swallows (port 9) or produces (port 19) bytes as fast as it can.
 *
 *   bench_muxd [MiB]                  (default 1024 per direction)
 *
 * Prints MB/s for: a bare socketpair (the ceiling), the server's pipe in
 * both directions, and for comparison a user-space relay copying through
 * 16 KiB buffers (what "small buffers" would cost).
 *
 *   bench_muxd --transport SPEC [MiB]   (e.g. sim:/tmp/sim.sock; default 256)
 *
 * End to end over a real mux: the device's sink (port 9) and source
 * (port 19) services (sim/sim_test.h) reached directly through
 * ib_usbmux_connect, then through the server in front of the same
 * context, so the server's cost shows next to the mux's.
 */
#include "ib_err.h"
#include "ib_util.h"
#include "muxd_proto.h"
#include "muxd_server.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK (256 * 1024)

static uint64_t total;

struct dev {
	int fd;                 /* server's end */
	int peer;
	uint16_t port;
	pthread_t t;
};

static void *
dev_main(void *arg)
{
	struct dev *d = arg;
	uint8_t *buf = calloc(1, CHUNK);
	ssize_t n;

	if (buf == NULL)
		return NULL;
	if (d->port == 9) {
		while ((n = read(d->peer, buf, CHUNK)) > 0)
			;
	} else {
		while ((n = send(d->peer, buf, CHUNK, MSG_NOSIGNAL)) > 0)
			;
	}
	free(buf);
	return NULL;
}

static int
b_list(void *ctx, struct ib_device **devsp, size_t *np)
{
	(void)ctx;
	if ((*devsp = calloc(1, sizeof(**devsp))) == NULL)
		return IB_ERR_NOMEM;
	(*devsp)->handle = 1;
	snprintf((*devsp)->udid, sizeof((*devsp)->udid), "00008030-001A2B3C4D5E6F70");
	*np = 1;
	return IB_OK;
}

static int
b_connect(void *ctx, const struct ib_device *dev, uint16_t port, int *fdp, void **hp)
{
	struct dev *d = calloc(1, sizeof(*d));
	int sv[2];

	(void)ctx;
	(void)dev;
	if (d == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
		free(d);
		return IB_ERR_SYSTEM;
	}
	d->fd = sv[0];
	d->peer = sv[1];
	d->port = port;
	pthread_create(&d->t, NULL, dev_main, d);
	*fdp = d->fd;
	*hp = d;
	return IB_OK;
}

static void
b_close(void *ctx, void *h)
{
	struct dev *d = h;

	(void)ctx;
	shutdown(d->fd, SHUT_RDWR);
	pthread_join(d->t, NULL);
	close(d->fd);
	close(d->peer);
	free(d);
}

static int
b_none(void *ctx, const char *udid, uint8_t **datap, size_t *lenp)
{
	(void)ctx;
	(void)udid;
	*datap = NULL;
	*lenp = 0;
	return IB_ERR_NOT_FOUND;
}

static int
b_save(void *ctx, const char *udid, const uint8_t *data, size_t len)
{
	(void)ctx;
	(void)udid;
	(void)data;
	(void)len;
	return IB_ERR_UNSUPPORTED;
}

static int
b_delete(void *ctx, const char *udid)
{
	(void)ctx;
	(void)udid;
	return IB_ERR_NOT_FOUND;
}

static int
b_buid(void *ctx, char **buidp)
{
	(void)ctx;
	*buidp = strdup("00112233-4455-6677-8899-AABBCCDDEEFF");
	return IB_OK;
}

static int
b_sub(void *ctx, ib_usbmux_event_fn fn, void *arg, int *idp)
{
	(void)ctx;
	(void)fn;
	(void)arg;
	*idp = 0;
	return IB_OK;
}

static void
b_unsub(void *ctx, int id)
{
	(void)ctx;
	(void)id;
}

static const struct ib_muxd_backend backend = {
	.list = b_list, .connect = b_connect, .close_stream = b_close,
	.read_pair_record = b_none, .save_pair_record = b_save,
	.delete_pair_record = b_delete, .read_buid = b_buid,
	.subscribe = b_sub, .unsubscribe = b_unsub,
};

static double
mbps(uint64_t bytes, uint64_t ms)
{
	return ms ? (double)bytes / 1e6 / ((double)ms / 1000.0) : 0.0;
}

/* Push total bytes into fd (or pull them when reading). */
static uint64_t
move(int fd, int reading)
{
	uint8_t *buf = calloc(1, CHUNK);
	uint64_t done = 0, t0 = ib_now_ms();
	ssize_t n;

	while (buf != NULL && done < total) {
		size_t want = (size_t)IB_MIN((uint64_t)CHUNK, total - done);

		n = reading ? read(fd, buf, want) : send(fd, buf, want, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		done += (uint64_t)n;
	}
	free(buf);
	if (done != total)
		fprintf(stderr, "short transfer: %llu of %llu\n", (unsigned long long)done,
		    (unsigned long long)total);
	return ib_now_ms() - t0;
}

static int
through_server(const char *path, uint16_t port)
{
	struct ib_muxd_addr a;
	struct ib_muxd_msg m, r;
	char spec[160];
	int fd, rc;

	snprintf(spec, sizeof(spec), "UNIX:%s", path);
	ib_muxd_addr_parse(spec, &a);
	if ((rc = ib_muxd_addr_connect(&a, 2000, &fd)) != IB_OK)
		return -1;
	ib_muxd_msg_init(&m, IB_MUXD_K_CONNECT, 1, 1);
	m.device_id = 1;
	m.port = port;
	if (ib_muxd_send_msg(fd, &m) != IB_OK || ib_muxd_recv_msg(fd, 5000, &r) != IB_OK ||
	    ib_muxd_reply_check(IB_MUXD_K_CONNECT, &r) != IB_OK) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The relay a naive server would run: read 16 KiB, write it, repeat. */
struct relay {
	int from, to;
};

static void *
relay_main(void *arg)
{
	struct relay *rl = arg;
	uint8_t buf[16384];
	ssize_t n, w, off;

	while ((n = read(rl->from, buf, sizeof(buf))) > 0)
		for (off = 0; off < n; off += w)
			if ((w = write(rl->to, buf + off, (size_t)(n - off))) <= 0)
				return NULL;
	shutdown(rl->to, SHUT_WR);
	return NULL;
}

static void
bench_small_relay(void)
{
	int a[2], b[2];
	struct relay rl;
	pthread_t t, sink;
	struct dev d;
	uint64_t ms;

	socketpair(AF_UNIX, SOCK_STREAM, 0, a);
	socketpair(AF_UNIX, SOCK_STREAM, 0, b);
	rl.from = a[1];
	rl.to = b[0];
	d.peer = b[1];
	d.port = 9;
	pthread_create(&t, NULL, relay_main, &rl);
	pthread_create(&sink, NULL, dev_main, &d);
	ms = move(a[0], 0);
	printf("16 KiB user-space relay, client -> device: %8.0f MB/s\n", mbps(total, ms));
	shutdown(a[0], SHUT_WR);
	pthread_join(t, NULL);
	pthread_join(sink, NULL);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}

static void
put_u64be(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Sink then source on fd (a fresh stream each): MB/s into *in, *out. */
static int
sink_or_source(int fd, int source, uint64_t *msp)
{
	uint8_t req[16], md[32];
	uint64_t t0;
	size_t got = 0;
	ssize_t k;

	put_u64be(req, total);
	put_u64be(req + 8, 1);
	if (write(fd, req, source ? 16 : 8) != (source ? 16 : 8))
		return -1;
	t0 = ib_now_ms();
	if (source) {
		if (move(fd, 1) == 0 && total > 0)
			return -1;
	} else {
		(void)move(fd, 0);
		while (got < sizeof(md) && (k = read(fd, md + got, sizeof(md) - got)) > 0)
			got += (size_t)k;
		if (got != sizeof(md))
			return -1;
	}
	*msp = ib_now_ms() - t0;
	return 0;
}

static int
end_to_end(const char *spec)
{
	struct ib_usbmux_opts o;
	struct ib_usbmux *m = NULL;
	struct ib_muxd_server *srv = NULL;
	struct ib_device *devs = NULL;
	struct ib_stream *s = NULL;
	char path[128];
	uint64_t ms;
	size_t n = 0;
	int fd, source, r;

	memset(&o, 0, sizeof(o));
	o.transport = spec;
	if ((r = ib_usbmux_new(&o, &m)) != IB_OK || (r = ib_usbmux_list(m, &devs, &n)) != IB_OK ||
	    n == 0) {
		fprintf(stderr, "%s: %s %s\n", spec, ib_strerror(r), ib_err_detail());
		ib_usbmux_free(m);
		return 1;
	}
	snprintf(path, sizeof(path), "/tmp/ib-bench-muxd-%ld.sock", (long)getpid());
	if (ib_muxd_server_start(m, path, &srv) != IB_OK)
		return 1;
	for (source = 0; source < 2; source++) {
		if (ib_usbmux_connect(m, devs[0].udid, source ? 19 : 9, &s) == IB_OK &&
		    sink_or_source(ib_stream_fd(s), source, &ms) == 0)
			printf("%s, direct (ib_usbmux):      %8.0f MB/s\n",
			    source ? "device -> host" : "host -> device", mbps(total, ms));
		ib_stream_close(s);
		if ((fd = through_server(path, source ? 19 : 9)) >= 0 &&
		    sink_or_source(fd, source, &ms) == 0)
			printf("%s, through the muxd server: %8.0f MB/s\n",
			    source ? "device -> host" : "host -> device", mbps(total, ms));
		if (fd >= 0)
			close(fd);
	}
	ib_muxd_server_stop(srv);
	free(devs);
	ib_usbmux_free(m);
	return 0;
}

int
main(int argc, char **argv)
{
	struct ib_muxd_server *srv = NULL;
	char path[128];
	struct dev d;
	pthread_t sink;
	int sv[2], fd;
	uint64_t ms;

	if (argc > 2 && strcmp(argv[1], "--transport") == 0) {
		total = (uint64_t)(argc > 3 ? atoi(argv[3]) : 256) << 20;
		return end_to_end(argv[2]);
	}
	total = (uint64_t)(argc > 1 ? atoi(argv[1]) : 1024) << 20;
	snprintf(path, sizeof(path), "/tmp/ib-bench-muxd-%ld.sock", (long)getpid());

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	d.peer = sv[1];
	d.port = 9;
	pthread_create(&sink, NULL, dev_main, &d);
	ms = move(sv[0], 0);
	printf("bare socketpair (ceiling),       one way: %8.0f MB/s\n", mbps(total, ms));
	shutdown(sv[0], SHUT_RDWR);
	pthread_join(sink, NULL);
	close(sv[0]);
	close(sv[1]);

	if (ib_muxd_server_start_backend(&backend, NULL, path, &srv) != IB_OK) {
		fprintf(stderr, "server: %s\n", ib_err_detail());
		return 1;
	}
	if ((fd = through_server(path, 9)) >= 0) {
		ms = move(fd, 0);
		printf("muxd server pipe, client -> device:    %8.0f MB/s\n", mbps(total, ms));
		close(fd);
	}
	if ((fd = through_server(path, 19)) >= 0) {
		ms = move(fd, 1);
		printf("muxd server pipe, device -> client:    %8.0f MB/s\n", mbps(total, ms));
		close(fd);
	}
	ib_muxd_server_stop(srv);
	bench_small_relay();
	return 0;
}
