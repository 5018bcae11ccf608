/*
 * mux_pair.h - a host mux engine and a device mux engine wired back to
 * back in one process (test and fuzz helper, not product code).
 *
 * mux_pair_pump() moves packets between the two until neither has
 * output, either one packet per turn or whole batches, and shows every
 * packet to an optional tap (used to record fuzz seeds and to check
 * exact bytes). It never takes events: callers do.
 */
#ifndef MUX_PAIR_H
#define MUX_PAIR_H

#include <stddef.h>
#include <stdint.h>

#include "mux_engine.h"

typedef void (*mux_pair_tap_fn)(void *ctx, int to_host, const uint8_t *pkt,
    size_t len);

struct mux_pair {
	struct ib_mux_engine *host;
	struct ib_mux_engine *dev;
	int one_at_a_time;      /* 1: alternate after every packet */
	int drop_to_dev;        /* >0: swallow that many host packets */
	mux_pair_tap_fn tap;
	void *tap_ctx;
	uint64_t now_ms;
	int last_err;           /* first non-OK input() result */
};

/* cfgs may be NULL for the defaults of each role. */
int mux_pair_init(struct mux_pair *t, const struct ib_mux_engine_cfg *host_cfg,
    const struct ib_mux_engine_cfg *dev_cfg);
void mux_pair_free(struct mux_pair *t);
/* Move packets until both are quiet; returns how many moved. */
size_t mux_pair_pump(struct mux_pair *t);
/* start() and pump until both sides are READY (events up to READY are
 * taken and discarded). */
int mux_pair_handshake(struct mux_pair *t);
/* Host connect(port), device accept, host CONNECTED (events up to the
 * INCOMING and CONNECTED of this stream are taken and discarded). */
int mux_pair_open(struct mux_pair *t, uint16_t port, uint32_t *host_idp,
    uint32_t *dev_idp);

/*
 * The session fuzz_mux_packet attacks and its seeds were recorded from:
 * small receive windows (host 4 KiB, device 2 KiB, so overrun is within
 * reach of one fuzzed packet), random segments on the device, v2
 * handshake done, stream A (host port 1
 * -> device port 62078) open on both sides, stream B (2 -> 1234)
 * connecting: its SYN was output but never reached the device. tap (may
 * be NULL) sees the packets from the first one on.
 */
int mux_pair_fuzz_session(struct mux_pair *t, mux_pair_tap_fn tap, void *tap_ctx,
    uint32_t *ap, uint32_t *dev_ap, uint32_t *bp);

#endif /* MUX_PAIR_H */
