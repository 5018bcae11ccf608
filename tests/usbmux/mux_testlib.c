/*
 * mux_testlib.c - helpers of the mux engine tests (see mux_testlib.h).
 */
#include "mux_testlib.h"
#include "ib_err.h"

#include <stdlib.h>
#include <string.h>

int
mp_setup(struct mux_pair *t, const struct ib_mux_engine_cfg *hc,
    const struct ib_mux_engine_cfg *dc)
{
	if (mux_pair_init(t, hc, dc) != IB_OK)
		return IB_ERR_NOMEM;
	return mux_pair_handshake(t);
}

/* See mux_testlib.h for the helpers' contracts. */
int
mp_events(struct ib_mux_engine *e, struct ib_mux_event *ev)
{
	int n = 0;

	while (n < MP_EV_MAX && ib_mux_engine_next_event(e, &ev[n]) == IB_OK)
		n++;
	return n;
}

int
mp_count(const struct ib_mux_event *ev, int n, int type, uint32_t stream)
{
	int i, c = 0;

	for (i = 0; i < n; i++)
		if ((int)ev[i].type == type && (stream == 0 || ev[i].stream == stream))
			c++;
	return c;
}

const struct ib_mux_event *
mp_find(const struct ib_mux_event *ev, int n, int type, uint32_t stream)
{
	int i;

	for (i = 0; i < n; i++)
		if ((int)ev[i].type == type && (stream == 0 || ev[i].stream == stream))
			return &ev[i];
	return NULL;
}

/* Next output packet of e, decoded with the header version v (its
 * bytes are copied to buf, which the decoded payload points into). */
int
mp_next_pkt(struct ib_mux_engine *e, uint32_t v, uint8_t *buf, struct ib_mux_packet *p)
{
	const uint8_t *pkt;
	size_t len;
	int r;

	if ((r = ib_mux_engine_output(e, &pkt, &len, 0)) != IB_OK)
		return r;
	memcpy(buf, pkt, len);
	return ib_mux_decode(buf, len, v, p);
}

/* Hand-made TCP packet into buf (IB_MUX_MTU bytes); its length. */
size_t
mp_craft_tcp(uint8_t *buf, uint32_t v, uint16_t sport, uint16_t dport,
    uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
    const uint8_t *payload, size_t n)
{
	struct ib_mux_packet p;
	size_t len;

	memset(&p, 0, sizeof(p));
	p.version = v;
	p.protocol = IB_MUX_PROTO_TCP;
	p.tx_seq = 77;
	p.tcp.sport = sport;
	p.tcp.dport = dport;
	p.tcp.seq = seq;
	p.tcp.ack = ack;
	p.tcp.flags = flags;
	p.tcp.window = win;
	p.payload = payload;
	p.payload_len = n;
	if (ib_mux_encode(buf, IB_MUX_MTU, &p, &len) != IB_OK)
		return 0;
	return len;
}

/* ... fed straight into e. */
int
mp_feed_tcp(struct ib_mux_engine *e, uint32_t v, uint16_t sport, uint16_t dport,
    uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
    const uint8_t *payload, size_t n)
{
	static uint8_t buf[IB_MUX_MTU];
	size_t len = mp_craft_tcp(buf, v, sport, dport, seq, ack, flags, win,
	    payload, n);

	return ib_mux_engine_input(e, buf, len, 0);
}

void
mp_pattern(uint8_t *p, size_t n, uint32_t seed)
{
	size_t i;
	uint32_t x = seed * 2654435761u + 1;

	for (i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> 16);
	}
}


static void
push(struct ib_mux_engine *e, uint32_t id, const uint8_t *src, size_t n,
    size_t *sent, size_t space_cap, int *bad)
{
	size_t acc, space = ib_mux_engine_send_space(e, id);

	if (space > space_cap)
		*bad = 1;
	if (*sent < n && ib_mux_engine_send(e, id, src + *sent, n - *sent, &acc) == IB_OK)
		*sent += acc;
}

static void
pull(struct ib_mux_engine *e, uint32_t id, const uint8_t *want, size_t n,
    size_t *got, int *bad)
{
	const uint8_t *p;
	size_t k;

	while (ib_mux_engine_recv_peek(e, id, &p, &k) == IB_OK && k > 0) {
		if (*got + k > n || memcmp(p, want + *got, k) != 0)
			*bad = 1;
		*got += k;
		ib_mux_engine_recv_consume(e, id, k);
	}
}

/*
 * Run transfers until every byte arrived or nothing moves any more.
 * space_cap: the largest send_space the host may ever see.
 */
int
mp_run_xfers(struct mux_pair *t, struct mp_xfer *x, int nx, size_t space_cap)
{
	static struct ib_mux_event ev[MP_EV_MAX];
	int i, done, idle = 0;

	for (;;) {
		done = 1;
		for (i = 0; i < nx; i++) {
			push(t->host, x[i].hid, x[i].h2d, x[i].n, &x[i].h_sent,
			    space_cap, &x[i].bad);
			push(t->dev, x[i].did, x[i].d2h, x[i].n, &x[i].d_sent,
			    IB_MUX_STREAM_TXBUF, &x[i].bad);
			pull(t->dev, x[i].did, x[i].h2d, x[i].n, &x[i].d_recv, &x[i].bad);
			pull(t->host, x[i].hid, x[i].d2h, x[i].n, &x[i].h_recv, &x[i].bad);
			if (x[i].bad)
				return 0;
			if (x[i].h_recv < x[i].n || x[i].d_recv < x[i].n)
				done = 0;
		}
		if (done)
			return 1;
		if (mux_pair_pump(t) == 0 && ++idle > 3)
			return 0;
		if (mp_count(ev, mp_events(t->host, ev), IB_MUX_EV_CLOSED, 0) > 0 ||
		    mp_count(ev, mp_events(t->dev, ev), IB_MUX_EV_CLOSED, 0) > 0)
			return 0;
	}
}

int
mp_xfer_new(struct mp_xfer *x, uint32_t hid, uint32_t did, size_t n, uint32_t seed)
{
	memset(x, 0, sizeof(*x));
	x->hid = hid;
	x->did = did;
	x->n = n;
	x->h2d = malloc(n);
	x->d2h = malloc(n);
	if (x->h2d == NULL || x->d2h == NULL)
		return 0;
	mp_pattern(x->h2d, n, seed);
	mp_pattern(x->d2h, n, seed + 1000);
	return 1;
}

void
mp_xfer_free(struct mp_xfer *x)
{
	free(x->h2d);
	free(x->d2h);
}

/* Output of from must be exactly want; it is then fed to to. */
int
mp_relay_exact(struct ib_mux_engine *from, struct ib_mux_engine *to,
    const uint8_t *want, size_t n)
{
	uint8_t buf[IB_MUX_MTU];
	const uint8_t *pkt;
	size_t len;

	if (ib_mux_engine_output(from, &pkt, &len, 0) != IB_OK || len != n ||
	    memcmp(pkt, want, n) != 0)
		return IB_ERR_FORMAT;
	memcpy(buf, pkt, len);
	return ib_mux_engine_input(to, buf, len, 0);
}
