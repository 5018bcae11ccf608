/*
 * fuzz_mux_packet - packets from a hostile peer into both roles of the
 * mux engine.
 *
 * Input: a sequence of packets, each a u16 big-endian length and that
 * many bytes (a short tail is fed as it is). Every packet goes to
 *   (a) a host engine past the v2 handshake with stream A (source port 1
 *       -> device port 62078) open and stream B (2 -> 1234) connecting,
 *   (b) the device engine at the other end of A (READY, A accepted),
 *   (c) a host engine waiting for the VERSION reply,
 *   (d) a device engine waiting for VERSION,
 * (a) and (b) are mux_pair_fuzz_session(); (c) and (d) reach the version
 * and SETUP paths. After each packet every engine's output is drained,
 * its events taken, received bytes consumed (after every second packet,
 * so a window can fill), INCOMING streams accepted, refused or left
 * waiting by port, CLOSED ones closed, and a few bytes sent where the
 * window allows, so ACK, window and reset paths all run on peer-chosen
 * numbers.
 *
 * A length of 0xFFF0 + k (no bytes follow) is not a packet but an
 * application action k on (a)/(b) (see act()), so stream lifetimes
 * (close with an RST due, abort, injected faults) meet hostile input too.
 * The seeds in corpus/mux_packet were recorded from the same session
 * (test_mux_engine --write-seeds DIR) and hold no actions.
 */
#include "ib_err.h"
#include "ib_log.h"
#include "mux_engine.h"
#include "mux_pair.h"

#include <stdint.h>
#include <string.h>

#define FUZZ_STREAMS 16
#define FUZZ_ACTION 0xfff0u

struct side {
	struct ib_mux_engine *e;
	uint32_t ids[FUZZ_STREAMS];
	int n;
};

/* Format every log line (so bad format arguments show) but print none. */
static void
quiet(void *ctx, int level, const char *line)
{
	(void)ctx;
	(void)level;
	(void)line;
}

static void
track(struct side *s, uint32_t id)
{
	if (s->n < FUZZ_STREAMS)
		s->ids[s->n++] = id;
}

/* Application action k on the host (h) and device (d) engines. */
static void
act(struct side *h, struct side *d, unsigned k)
{
	static const char *const texts[] = { "amnesia", "", "\x1b[2J\xff" };
	uint32_t id;

	switch (k) {
	case 0: case 1: case 2:
		if ((int)k < h->n)
			ib_mux_engine_close(h->e, h->ids[k]);
		break;
	case 3: case 4:
		if ((int)k - 3 < d->n)
			ib_mux_engine_close(d->e, d->ids[k - 3]);
		break;
	case 5:
		if (d->n > 0)
			ib_mux_engine_inject_rst(d->e, d->ids[0], texts[d->n % 3]);
		break;
	case 6: case 7: case 8: case 9: case 10:
		ib_mux_engine_inject_malformed(d->e, (int)k - 5);
		break;
	case 11:
		ib_mux_engine_send_control(d->e, 7, texts[h->n % 3]);
		break;
	case 12:
		if (ib_mux_engine_connect(h->e, (uint16_t)(62078 + h->n), &id) == IB_OK)
			track(h, id);
		break;
	case 13:
		ib_mux_engine_abort(h->e, IB_ERR_NO_DEVICE);
		break;
	case 14:
		ib_mux_engine_abort(d->e, IB_ERR_EOF);
		break;
	default:
		ib_mux_engine_start(h->e);
		break;
	}
}

static void
service(struct side *s, int consume)
{
	static const uint8_t junk[100];
	struct ib_mux_event ev;
	const uint8_t *p;
	size_t len;
	int i;

	while (ib_mux_engine_output(s->e, &p, &len, 0) == IB_OK)
		;
	while (ib_mux_engine_next_event(s->e, &ev) == IB_OK) {
		if (ev.type == IB_MUX_EV_INCOMING) {
			if (ev.port % 3 == 0) {
				ib_mux_engine_refuse(s->e, ev.stream, "not here\n");
				continue;
			}
			if (ev.port % 3 == 1)
				ib_mux_engine_accept(s->e, ev.stream);
			track(s, ev.stream);
		} else if (ev.type == IB_MUX_EV_CLOSED) {
			ib_mux_engine_close(s->e, ev.stream);
		}
	}
	for (i = 0; i < s->n; i++) {
		while (consume && ib_mux_engine_recv_peek(s->e, s->ids[i], &p,
		    &len) == IB_OK && len > 0)
			ib_mux_engine_recv_consume(s->e, s->ids[i], len);
		if (ib_mux_engine_send_space(s->e, s->ids[i]) > 0)
			ib_mux_engine_send(s->e, s->ids[i], junk, sizeof(junk), &len);
	}
	while (ib_mux_engine_output(s->e, &p, &len, 0) == IB_OK)
		;
}

/* Length of the next packet at *offp (moved past the prefix), or
 * FUZZ_ACTION + k for an action. A short tail is one packet. */
static size_t
next_item(const uint8_t *data, size_t size, size_t *offp)
{
	size_t off = *offp, n;

	if (size - off < 2)
		return size - off;
	n = ((size_t)data[off] << 8) | data[off + 1];
	*offp = off + 2;
	if (n < FUZZ_ACTION && n > size - off - 2)
		n = size - off - 2;
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ib_mux_engine_cfg hc = { .role = IB_MUX_ROLE_HOST };
	struct ib_mux_engine_cfg dc = { .role = IB_MUX_ROLE_DEVICE };
	struct mux_pair t;
	struct side side[4];
	uint32_t a, da, b;
	size_t off = 0, n, k;
	int i;

	ib_log_set_sink(quiet, NULL);
	ib_log_set_level(IB_LOG_DEBUG);
	memset(side, 0, sizeof(side));
	if (mux_pair_fuzz_session(&t, NULL, NULL, &a, &da, &b) != IB_OK)
		goto out;
	side[0].e = t.host;
	side[1].e = t.dev;
	side[2].e = ib_mux_engine_new(&hc);
	side[3].e = ib_mux_engine_new(&dc);
	if (side[2].e == NULL || side[3].e == NULL ||
	    ib_mux_engine_start(side[2].e) != IB_OK)
		goto out;
	service(&side[2], 1);
	track(&side[0], a);
	track(&side[0], b);
	track(&side[1], da);
	for (k = 0; off < size; k++) {
		n = next_item(data, size, &off);
		if (n >= FUZZ_ACTION) {
			act(&side[0], &side[1], (unsigned)(n - FUZZ_ACTION));
		} else {
			for (i = 0; i < 4; i++)
				ib_mux_engine_input(side[i].e, data + off, n, 0);
			off += n;
		}
		for (i = 0; i < 4; i++)
			service(&side[i], (int)(k & 1));
	}
out:
	ib_mux_engine_free(side[2].e);
	ib_mux_engine_free(side[3].e);
	mux_pair_free(&t);
	return 0;
}
