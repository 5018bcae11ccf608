/*
 * mux_testlib.h - helpers shared by the mux engine test programs: event
 * collection, hand-made packets, checked bulk transfers over a
 * mux_pair, and the fuzz-seed recorder (not product code).
 */
#ifndef MUX_TESTLIB_H
#define MUX_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

#include "mux_engine.h"
#include "mux_pair.h"
#include "mux_proto.h"

#define MP_EV_MAX 4096

/* mux_pair_init + handshake. */
int mp_setup(struct mux_pair *t, const struct ib_mux_engine_cfg *hc,
    const struct ib_mux_engine_cfg *dc);
/* All events of e now, into ev[] (at most MP_EV_MAX); their count. */
int mp_events(struct ib_mux_engine *e, struct ib_mux_event *ev);
/* How many of ev[0..n) have this type (and stream, unless 0); the first. */
int mp_count(const struct ib_mux_event *ev, int n, int type, uint32_t stream);
const struct ib_mux_event *mp_find(const struct ib_mux_event *ev, int n,
    int type, uint32_t stream);
/* Next output packet of e copied to buf (IB_MUX_MTU) and decoded with
 * header version v. */
int mp_next_pkt(struct ib_mux_engine *e, uint32_t v, uint8_t *buf,
    struct ib_mux_packet *p);
/* Hand-made TCP packet into buf (IB_MUX_MTU bytes); its length. */
size_t mp_craft_tcp(uint8_t *buf, uint32_t v, uint16_t sport, uint16_t dport,
    uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
    const uint8_t *payload, size_t n);
/* ... fed straight into e (input()'s result). */
int mp_feed_tcp(struct ib_mux_engine *e, uint32_t v, uint16_t sport,
    uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
    const uint8_t *payload, size_t n);
/* Output of from must be exactly want (IB_ERR_FORMAT if not); it is then
 * fed to to. */
int mp_relay_exact(struct ib_mux_engine *from, struct ib_mux_engine *to,
    const uint8_t *want, size_t n);
/* Deterministic bytes. */
void mp_pattern(uint8_t *p, size_t n, uint32_t seed);

/* Bytes flowing both ways over one stream, checked on arrival. */
struct mp_xfer {
	uint32_t hid, did;
	uint8_t *h2d, *d2h;
	size_t n;
	size_t h_sent, d_sent, h_recv, d_recv;
	int bad;
};

int mp_xfer_new(struct mp_xfer *x, uint32_t hid, uint32_t did, size_t n,
    uint32_t seed);
void mp_xfer_free(struct mp_xfer *x);
/*
 * Run transfers until every byte arrived (1) or nothing moves any more,
 * a byte differs or a stream closes (0). space_cap: the largest
 * send_space the host may ever report.
 */
int mp_run_xfers(struct mux_pair *t, struct mp_xfer *x, int nx, size_t space_cap);

/* Record the fuzz_mux_packet seeds into dir (mux_seeds.c); 1 on success. */
int mp_write_seeds(const char *dir);

#endif /* MUX_TESTLIB_H */
