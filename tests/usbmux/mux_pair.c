/*
 * mux_pair.c - two mux engines back to back (see mux_pair.h).
 */
#include "mux_pair.h"
#include "ib_err.h"

#include <stdlib.h>
#include <string.h>

int
mux_pair_init(struct mux_pair *t, const struct ib_mux_engine_cfg *host_cfg,
    const struct ib_mux_engine_cfg *dev_cfg)
{
	struct ib_mux_engine_cfg hc = { .role = IB_MUX_ROLE_HOST };
	struct ib_mux_engine_cfg dc = { .role = IB_MUX_ROLE_DEVICE };

	memset(t, 0, sizeof(*t));
	t->host = ib_mux_engine_new(host_cfg != NULL ? host_cfg : &hc);
	t->dev = ib_mux_engine_new(dev_cfg != NULL ? dev_cfg : &dc);
	if (t->host == NULL || t->dev == NULL) {
		mux_pair_free(t);
		return IB_ERR_NOMEM;
	}
	return IB_OK;
}

void
mux_pair_free(struct mux_pair *t)
{
	ib_mux_engine_free(t->host);
	ib_mux_engine_free(t->dev);
	t->host = NULL;
	t->dev = NULL;
}

/* Move what from has to to; one packet or all of them. */
static size_t
move(struct mux_pair *t, struct ib_mux_engine *from, struct ib_mux_engine *to,
    int to_host)
{
	const uint8_t *pkt;
	uint8_t *copy;
	size_t len, n = 0;
	int r;

	while (ib_mux_engine_output(from, &pkt, &len, t->now_ms) == IB_OK) {
		n++;
		if (!to_host && t->drop_to_dev > 0) {
			t->drop_to_dev--;
			continue;
		}
		/* The receiver gets an exact-size heap copy, as a link would
		 * hand it over, so ASan sees any read past the packet. */
		if ((copy = malloc(len)) == NULL) {
			t->last_err = IB_ERR_NOMEM;
			break;
		}
		memcpy(copy, pkt, len);
		if (t->tap != NULL)
			t->tap(t->tap_ctx, to_host, copy, len);
		r = ib_mux_engine_input(to, copy, len, t->now_ms);
		free(copy);
		if (r != IB_OK && t->last_err == IB_OK)
			t->last_err = r;
		if (t->one_at_a_time)
			break;
	}
	return n;
}

size_t
mux_pair_pump(struct mux_pair *t)
{
	size_t total = 0, n;

	do {
		n = move(t, t->host, t->dev, 0);
		n += move(t, t->dev, t->host, 1);
		total += n;
	} while (n > 0);
	return total;
}

/* Take events until one of this type (and stream, if not 0) comes;
 * others are discarded, so only setup code (which expects none) uses it. */
static int
take(struct ib_mux_engine *e, int type, uint32_t stream, struct ib_mux_event *ev)
{
	while (ib_mux_engine_next_event(e, ev) == IB_OK)
		if ((int)ev->type == type && (stream == 0 || ev->stream == stream))
			return IB_OK;
	return IB_ERR_NOT_FOUND;
}

int
mux_pair_handshake(struct mux_pair *t)
{
	struct ib_mux_event ev;
	int r;

	if ((r = ib_mux_engine_start(t->host)) != IB_OK ||
	    (r = ib_mux_engine_start(t->dev)) != IB_OK)
		return r;
	mux_pair_pump(t);
	if ((r = take(t->host, IB_MUX_EV_READY, 0, &ev)) != IB_OK ||
	    (r = take(t->dev, IB_MUX_EV_READY, 0, &ev)) != IB_OK)
		return r;
	return IB_OK;
}

int
mux_pair_open(struct mux_pair *t, uint16_t port, uint32_t *host_idp,
    uint32_t *dev_idp)
{
	struct ib_mux_event ev;
	int r;

	if ((r = ib_mux_engine_connect(t->host, port, host_idp)) != IB_OK)
		return r;
	mux_pair_pump(t);
	if ((r = take(t->dev, IB_MUX_EV_INCOMING, 0, &ev)) != IB_OK)
		return r;
	*dev_idp = ev.stream;
	if ((r = ib_mux_engine_accept(t->dev, ev.stream)) != IB_OK)
		return r;
	mux_pair_pump(t);
	return take(t->host, IB_MUX_EV_CONNECTED, *host_idp, &ev);
}

int
mux_pair_fuzz_session(struct mux_pair *t, mux_pair_tap_fn tap, void *tap_ctx,
    uint32_t *ap, uint32_t *dev_ap, uint32_t *bp)
{
	struct ib_mux_engine_cfg hc = { .role = IB_MUX_ROLE_HOST, .rx_window = 4096 };
	struct ib_mux_engine_cfg dc = { .role = IB_MUX_ROLE_DEVICE, .rx_window = 2048,
	    .random_segments = 1, .seed = 7 };
	int r;

	if ((r = mux_pair_init(t, &hc, &dc)) != IB_OK)
		return r;
	t->tap = tap;
	t->tap_ctx = tap_ctx;
	if ((r = mux_pair_handshake(t)) != IB_OK ||
	    (r = mux_pair_open(t, 62078, ap, dev_ap)) != IB_OK)
		return r;
	t->drop_to_dev = 1;
	if ((r = ib_mux_engine_connect(t->host, 1234, bp)) != IB_OK)
		return r;
	mux_pair_pump(t);
	return IB_OK;
}
