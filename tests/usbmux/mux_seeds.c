/*
 * mux_seeds.c - records real exchanges between a host and a device mux
 * engine as seeds for fuzz_mux_packet (`test_mux_engine --write-seeds
 * DIR`). The main session is mux_pair_fuzz_session(), the one the
 * harness attacks, so recorded packets reach its streams.
 */
#include "mux_testlib.h"
#include "ib_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Packets of one exchange as the fuzz harness reads them: u16 big-endian
 * length, then the packet. */
struct recording {
	uint8_t *d;
	size_t n, cap;
};

static void
rec_tap(void *ctx, int to_host, const uint8_t *pkt, size_t len)
{
	struct recording *r = ctx;

	(void)to_host;
	if (len > 0xffff || r->n + 2 + len > r->cap)
		return;
	r->d[r->n++] = (uint8_t)(len >> 8);
	r->d[r->n++] = (uint8_t)len;
	memcpy(r->d + r->n, pkt, len);
	r->n += len;
}

static int
rec_write(const char *dir, const char *name, struct recording *r)
{
	char path[1024];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL)
		return 0;
	ok = fwrite(r->d, 1, r->n, f) == r->n;
	ok = fclose(f) == 0 && ok;
	r->n = 0;
	return ok;
}

/* Exchanges in the session fuzz_mux_packet attacks (mux_pair.h). */
static int
seeds_fuzz_session(const char *dir, struct recording *r)
{
	static uint8_t pkt[IB_MUX_MTU];
	struct mux_pair t;
	uint8_t data[3000];
	char name[32];
	uint32_t a, da, b;
	size_t acc, len;
	int ok = 1, kind;

	mp_pattern(data, sizeof(data), 1);
	ok &= mux_pair_fuzz_session(&t, rec_tap, r, &a, &da, &b) == IB_OK;
	ok &= rec_write(dir, "handshake_and_syn", r);
	/* data both ways (the device window is 2 KiB), then the ACKs */
	ok &= ib_mux_engine_send(t.host, a, data, 1500, &acc) == IB_OK;
	ok &= ib_mux_engine_send(t.dev, da, data + 1500, 1400, &acc) == IB_OK;
	mux_pair_pump(&t);
	ok &= ib_mux_engine_recv_consume(t.dev, da, 1500) == IB_OK;
	ok &= ib_mux_engine_recv_consume(t.host, a, 1400) == IB_OK;
	mux_pair_pump(&t);
	ok &= rec_write(dir, "data_and_acks", r);
	ok &= ib_mux_engine_send_control(t.dev, 7, "Device is locked") == IB_OK;
	ok &= ib_mux_engine_send_control(t.dev, 3, "error \x01") == IB_OK;
	mux_pair_pump(&t);
	ok &= rec_write(dir, "control", r);
	/* the device refuses B with a reason (by hand: B's SYN was lost) */
	len = mp_craft_tcp(pkt, 2, 1234, 2, 0, 1, IB_MUX_TH_RST, 0,
	    (const uint8_t *)"no such service", 15);
	rec_tap(r, 1, pkt, len);
	ok &= ib_mux_engine_input(t.host, pkt, len, 0) == IB_OK;
	ok &= rec_write(dir, "refused_with_reason", r);
	/* a peer ignoring the windows: A gets 2 x 2500 bytes on each side
	 * (host window 4 KiB, device 2 KiB) */
	for (kind = 0; kind < 2; kind++) {
		len = mp_craft_tcp(pkt, 2, 62078, 1, 1401 + 2500 * (uint32_t)kind, 1501,
		    IB_MUX_TH_ACK, 8, data, 2500);
		rec_tap(r, 1, pkt, len);
		len = mp_craft_tcp(pkt, 2, 1, 62078, 1501 + 2500 * (uint32_t)kind, 1401,
		    IB_MUX_TH_ACK, 16, data, 2500);
		rec_tap(r, 0, pkt, len);
	}
	ok &= rec_write(dir, "window_overrun", r);
	for (kind = 1; kind <= 5; kind++) {
		ok &= ib_mux_engine_inject_malformed(t.dev, kind) == IB_OK;
		mux_pair_pump(&t);
		snprintf(name, sizeof(name), "malformed_%d", kind);
		ok &= rec_write(dir, name, r);
	}
	mux_pair_free(&t);
	return ok;
}

/* A v1 session and an RST with a reason after data. */
static int
seeds_v1(const char *dir, struct recording *r)
{
	struct ib_mux_engine_cfg dc = { .role = IB_MUX_ROLE_DEVICE, .max_version = 1 };
	struct mux_pair t;
	uint8_t data[2000];
	uint32_t a, da;
	size_t acc;
	int ok = 1;

	mp_pattern(data, sizeof(data), 2);
	ok &= mux_pair_init(&t, NULL, &dc) == IB_OK;
	t.tap = rec_tap;
	t.tap_ctx = r;
	ok &= mux_pair_handshake(&t) == IB_OK;
	ok &= mux_pair_open(&t, 62078, &a, &da) == IB_OK;
	ok &= ib_mux_engine_send(t.dev, da, data, sizeof(data), &acc) == IB_OK;
	mux_pair_pump(&t);
	ok &= ib_mux_engine_inject_rst(t.dev, da, "amnesia") == IB_OK;
	mux_pair_pump(&t);
	ok &= rec_write(dir, "v1_session_rst", r);
	mux_pair_free(&t);
	return ok;
}

int
mp_write_seeds(const char *dir)
{
	struct recording r = { NULL, 0, 1u << 20 };
	int ok;

	if ((r.d = malloc(r.cap)) == NULL)
		return 0;
	ok = seeds_fuzz_session(dir, &r) && seeds_v1(dir, &r);
	free(r.d);
	return ok;
}
