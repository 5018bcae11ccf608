/*
 * mux_engine_bench - throughput of the mux engine alone: a host engine
 * and a device engine in one process, packets handed over without I/O,
 * the receiver consuming everything at once (so every byte is copied
 * send() -> tx ring -> packet -> rx ring and read back once).
 *
 * usage: mux_engine_bench [MiB] [streams]   (default 1024 MiB, 1 stream)
 * Prints MB/s for host->device, device->host, and both at once.
 */
#include "ib_err.h"
#include "ib_util.h"
#include "mux_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STREAMS 64

struct bench {
	struct ib_mux_engine *host, *dev;
	uint32_t hid[MAX_STREAMS], did[MAX_STREAMS];
	int n;
};

static void
move(struct ib_mux_engine *from, struct ib_mux_engine *to)
{
	const uint8_t *pkt;
	size_t len;

	/* The sender's buffer stays valid until its next call: no copy. */
	while (ib_mux_engine_output(from, &pkt, &len, 0) == IB_OK)
		ib_mux_engine_input(to, pkt, len, 0);
}

static void
pump(struct bench *b)
{
	move(b->host, b->dev);
	move(b->dev, b->host);
	move(b->host, b->dev);
}

static int
setup(struct bench *b, int n)
{
	struct ib_mux_engine_cfg hc = { .role = IB_MUX_ROLE_HOST };
	struct ib_mux_engine_cfg dc = { .role = IB_MUX_ROLE_DEVICE };
	struct ib_mux_event ev;
	int i;

	b->n = n;
	if ((b->host = ib_mux_engine_new(&hc)) == NULL ||
	    (b->dev = ib_mux_engine_new(&dc)) == NULL)
		return 0;
	ib_mux_engine_start(b->host);
	pump(b);
	for (i = 0; i < n; i++)
		if (ib_mux_engine_connect(b->host, (uint16_t)(1000 + i), &b->hid[i]) != IB_OK)
			return 0;
	pump(b);
	i = 0;
	while (ib_mux_engine_next_event(b->dev, &ev) == IB_OK)
		if (ev.type == IB_MUX_EV_INCOMING) {
			ib_mux_engine_accept(b->dev, ev.stream);
			b->did[i++] = ev.stream;
		}
	pump(b);
	while (ib_mux_engine_next_event(b->host, &ev) == IB_OK)
		;
	return i == n;
}

static void
drain(struct ib_mux_engine *e, uint32_t id, size_t *got)
{
	const uint8_t *p;
	size_t k;

	while (ib_mux_engine_recv_peek(e, id, &p, &k) == IB_OK && k > 0) {
		ib_mux_engine_recv_consume(e, id, k);
		*got += k;
	}
}

/* Move total bytes per direction per stream; returns seconds. */
static double
run(struct bench *b, size_t total, int h2d, int d2h)
{
	static uint8_t src[1 << 20];
	size_t sent_h[MAX_STREAMS] = { 0 }, sent_d[MAX_STREAMS] = { 0 };
	size_t got_h = 0, got_d = 0, want_h = 0, want_d = 0, acc;
	uint64_t t0 = ib_now_ms();
	struct ib_mux_event ev;
	int i;

	if (h2d)
		want_d = total * (size_t)b->n;
	if (d2h)
		want_h = total * (size_t)b->n;
	while (got_d < want_d || got_h < want_h) {
		for (i = 0; i < b->n; i++) {
			if (h2d && sent_h[i] < total &&
			    ib_mux_engine_send(b->host, b->hid[i], src, sizeof(src), &acc) == IB_OK)
				sent_h[i] += acc;
			if (d2h && sent_d[i] < total &&
			    ib_mux_engine_send(b->dev, b->did[i], src, sizeof(src), &acc) == IB_OK)
				sent_d[i] += acc;
		}
		pump(b);
		for (i = 0; i < b->n; i++) {
			drain(b->dev, b->did[i], &got_d);
			drain(b->host, b->hid[i], &got_h);
		}
		pump(b);
		while (ib_mux_engine_next_event(b->host, &ev) == IB_OK)
			;
		while (ib_mux_engine_next_event(b->dev, &ev) == IB_OK)
			;
	}
	return (double)(ib_now_ms() - t0) / 1000.0;
}

int
main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
	int n = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 1;
	size_t total;
	struct bench b;
	double s;

	if (n < 1 || n > MAX_STREAMS || mib == 0) {
		fprintf(stderr, "usage: mux_engine_bench [MiB] [streams 1..%d]\n", MAX_STREAMS);
		return 2;
	}
	total = (mib << 20) / (size_t)n;
	memset(&b, 0, sizeof(b));
	if (!setup(&b, n)) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	s = run(&b, total, 1, 0);
	printf("host->device  %zu MiB over %d stream(s): %.0f MB/s\n", mib, n,
	    (double)(total * (size_t)n) / 1e6 / s);
	s = run(&b, total, 0, 1);
	printf("device->host  %zu MiB over %d stream(s): %.0f MB/s\n", mib, n,
	    (double)(total * (size_t)n) / 1e6 / s);
	s = run(&b, total, 1, 1);
	printf("both ways     %zu MiB each over %d stream(s): %.0f MB/s total\n", mib,
	    n, 2.0 * (double)(total * (size_t)n) / 1e6 / s);
	ib_mux_engine_free(b.host);
	ib_mux_engine_free(b.dev);
	return 0;
}
