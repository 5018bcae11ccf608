/*
 * mux engine, streams: refusal, resets in every direction and state,
 * unknown streams, source ports, the stream cap, round robin, abort,
 * CONTROL and every injected fault (engine_test.c has link and data).
 */
#include "ib_test.h"
#include "mux_testlib.h"

#include <stdlib.h>
#include <string.h>

/* --- refusal, reset ----------------------------------------------------- */

IB_TEST(refuse_carries_reason)
{
	static struct ib_mux_event ev[MP_EV_MAX];
	struct mux_pair t;
	struct ib_mux_event e1;
	const struct ib_mux_event *c;
	size_t acc;
	uint32_t hid;
	int n;

	IB_CHECK_OK(mp_setup(&t, NULL, NULL));
	IB_CHECK_OK(ib_mux_engine_connect(t.host, 1234, &hid));
	mux_pair_pump(&t);
	IB_CHECK_OK(ib_mux_engine_next_event(t.dev, &e1));
	IB_CHECK_EQ(e1.type, IB_MUX_EV_INCOMING);
	IB_CHECK_EQ(e1.port, 1234);
	IB_CHECK_OK(ib_mux_engine_refuse(t.dev, e1.stream, "no service\x01here\n"));
	IB_CHECK_ERR(ib_mux_engine_accept(t.dev, e1.stream), IB_ERR_NOT_FOUND);
	mux_pair_pump(&t);
	n = mp_events(t.host, ev);
	IB_CHECK_EQ(n, 1);
	c = &ev[0];
	IB_CHECK_EQ(c->type, IB_MUX_EV_REFUSED);
	IB_CHECK_EQ(c->stream, hid);
	IB_CHECK_EQ(c->port, 1234);
	IB_CHECK_EQ(c->err, IB_ERR_MUX_REFUSED);
	IB_CHECK_STR(c->text, "no service?here");
	/* the id is released once the event was taken */
	IB_CHECK_ERR(ib_mux_engine_send(t.host, hid, (const uint8_t *)"x", 1, &acc),
	    IB_ERR_NOT_FOUND);
	IB_CHECK_OK(ib_mux_engine_close(t.host, hid));
	IB_CHECK_ERR(ib_mux_engine_close(t.host, hid + 1000), IB_ERR_NOT_FOUND);
	IB_CHECK_EQ(mp_events(t.dev, ev), 0);
	mux_pair_free(&t);
}

IB_TEST(unexpected_flags_while_connecting_refuse_with_rst)
{
	static struct ib_mux_event ev[MP_EV_MAX];
	struct mux_pair t;
	struct ib_mux_packet p;
	uint8_t buf[256];
	uint32_t hid;
	int n;

	IB_CHECK_OK(mp_setup(&t, NULL, NULL));
	IB_CHECK_OK(ib_mux_engine_connect(t.host, 62078, &hid));
	IB_CHECK_OK(mp_next_pkt(t.host, 2, buf, &p));
	/* plain ACK instead of SYN|ACK */
	IB_CHECK_OK(mp_feed_tcp(t.host, 2, 62078, 1, 0, 1, 0x10, 0x200, NULL, 0));
	n = mp_events(t.host, ev);
	IB_CHECK_EQ(mp_count(ev, n, IB_MUX_EV_REFUSED, hid), 1);
	IB_CHECK_EQ(mp_count(ev, n, IB_MUX_EV_CONNECTED, hid), 0);
	IB_CHECK_OK(mp_next_pkt(t.host, 2, buf, &p));
	IB_CHECK_EQ(p.tcp.flags, IB_MUX_TH_RST);
	/* RST while connecting: refused, nothing sent back */
	IB_CHECK_OK(ib_mux_engine_connect(t.host, 62078, &hid));
	IB_CHECK_OK(mp_next_pkt(t.host, 2, buf, &p));
	IB_CHECK_OK(mp_feed_tcp(t.host, 2, 62078, p.tcp.sport, 0, 1, 0x14, 0, NULL, 0));
	n = mp_events(t.host, ev);
	IB_CHECK_EQ(mp_count(ev, n, IB_MUX_EV_REFUSED, hid), 1);
	IB_CHECK_ERR(mp_next_pkt(t.host, 2, buf, &p), IB_ERR_WOULD_BLOCK);
	mux_pair_free(&t);
}

IB_TEST(rst_mid_stream_both_directions)
{
	static struct ib_mux_event ev[MP_EV_MAX];
	struct mux_pair t;
	const struct ib_mux_event *c;
	uint8_t data[100];
	const uint8_t *p;
	size_t acc, n;
	uint32_t hid, did, hid2, did2;
	int k;

	IB_CHECK_OK(mp_setup(&t, NULL, NULL));
	IB_CHECK_OK(mux_pair_open(&t, 62078, &hid, &did));
	IB_CHECK_OK(mux_pair_open(&t, 62078, &hid2, &did2));
	/* host closes: device sees CLOSED(reset) */
	IB_CHECK_OK(ib_mux_engine_close(t.host, hid));
	IB_CHECK_OK(ib_mux_engine_close(t.host, hid));   /* released: harmless */
	mux_pair_pump(&t);
	k = mp_events(t.dev, ev);
	c = mp_find(ev, k, IB_MUX_EV_CLOSED, did);
	IB_CHECK(c != NULL);
	IB_CHECK_EQ(c->err, IB_ERR_MUX_RESET);
	IB_CHECK_EQ(mp_count(ev, k, IB_MUX_EV_CLOSED, did2), 0);
	/* device sends data, then resets with a reason: data stays readable */
	memset(data, 'd', sizeof(data));
	IB_CHECK_OK(ib_mux_engine_send(t.dev, did2, data, 100, &acc));
	IB_CHECK_EQ(ib_mux_engine_send_pending(t.dev, did2), 100);
	IB_CHECK_EQ(ib_mux_engine_send_pending(t.host, hid2), 0);
	mux_pair_pump(&t);
	IB_CHECK_EQ(ib_mux_engine_send_pending(t.dev, did2), 100);  /* unacked */
	IB_CHECK_OK(ib_mux_engine_inject_rst(t.dev, did2, "amnesia"));
	k = mp_events(t.dev, ev);
	c = mp_find(ev, k, IB_MUX_EV_CLOSED, did2);
	IB_CHECK(c != NULL);
	IB_CHECK_EQ(c->err, IB_ERR_MUX_RESET);
	mux_pair_pump(&t);
	k = mp_events(t.host, ev);
	IB_CHECK(k == 2 && ev[0].type == IB_MUX_EV_READABLE && ev[1].type == IB_MUX_EV_CLOSED);
	IB_CHECK_EQ(ev[1].err, IB_ERR_MUX_RESET);
	IB_CHECK_STR(ev[1].text, "amnesia");
	/* the host sends nothing back to an RST */
	IB_CHECK_EQ(mux_pair_pump(&t), 0);
	IB_CHECK_EQ(ib_mux_engine_recv_avail(t.host, hid2), 100);
	IB_CHECK_OK(ib_mux_engine_recv_peek(t.host, hid2, &p, &n));
	IB_CHECK(n == 100 && p[0] == 'd');
	IB_CHECK_ERR(ib_mux_engine_send(t.host, hid2, data, 1, &acc), IB_ERR_MUX_RESET);
	IB_CHECK_OK(ib_mux_engine_recv_consume(t.host, hid2, 100));
	/* drained after CLOSED was taken: released */
	IB_CHECK_ERR(ib_mux_engine_recv_peek(t.host, hid2, &p, &n), IB_ERR_NOT_FOUND);
	IB_CHECK_EQ(mux_pair_pump(&t), 0);   /* and no ACK for a dead stream */
	mux_pair_free(&t);
}

IB_TEST(close_in_every_state)
{
	static struct ib_mux_event ev[MP_EV_MAX];
	struct mux_pair t;
	struct ib_mux_packet p;
	uint8_t buf[256];
	uint32_t id, hid, did;
	int n;

	IB_CHECK_OK(mp_setup(&t, NULL, NULL));
	/* SYN not output yet: the device never hears of the stream */
	IB_CHECK_OK(ib_mux_engine_connect(t.host, 62078, &id));
	IB_CHECK_OK(ib_mux_engine_close(t.host, id));
	IB_CHECK_ERR(mp_next_pkt(t.host, 2, buf, &p), IB_ERR_WOULD_BLOCK);
	/* device closes an INCOMING stream: the host is refused */
	IB_CHECK_OK(ib_mux_engine_connect(t.host, 62078, &hid));
	mux_pair_pump(&t);
	IB_CHECK_OK(ib_mux_engine_next_event(t.dev, &ev[0]));
	IB_CHECK_OK(ib_mux_engine_close(t.dev, ev[0].stream));
	mux_pair_pump(&t);
	n = mp_events(t.host, ev);
	IB_CHECK(n == 1 && ev[0].type == IB_MUX_EV_REFUSED && ev[0].text[0] == '\0');
	/* connecting: RST with seq 1 (the SYN's), the device drops its
	 * INCOMING stream with CLOSED */
	IB_CHECK_OK(ib_mux_engine_connect(t.host, 62078, &hid));
	mux_pair_pump(&t);
	IB_CHECK_OK(ib_mux_engine_close(t.host, hid));
	IB_CHECK_OK(mp_next_pkt(t.host, 2, buf, &p));
	IB_CHECK(p.tcp.flags == IB_MUX_TH_RST && p.tcp.seq == 1 && p.tcp.ack == 0);
	IB_CHECK_OK(ib_mux_engine_input(t.dev, buf, p.length, 0));
	n = mp_events(t.dev, ev);
	IB_CHECK_EQ(mp_count(ev, n, IB_MUX_EV_INCOMING, 0), 1);
	IB_CHECK(mp_find(ev, n, IB_MUX_EV_CLOSED, 0) != NULL);
	IB_CHECK_EQ(mp_find(ev, n, IB_MUX_EV_CLOSED, 0)->err, IB_ERR_MUX_RESET);
	/* open, with unread bytes: they are dropped, RST carries our ack */
	IB_CHECK_OK(mux_pair_open(&t, 62078, &hid, &did));
	IB_CHECK_OK(ib_mux_engine_send(t.dev, did, (const uint8_t *)"abc", 3, &(size_t){ 0 }));
	mux_pair_pump(&t);
	IB_CHECK_OK(ib_mux_engine_recv_consume(t.host, hid, 1));
	IB_CHECK_OK(ib_mux_engine_close(t.host, hid));
	IB_CHECK_EQ(ib_mux_engine_recv_avail(t.host, hid), 0);
	IB_CHECK_OK(mp_next_pkt(t.host, 2, buf, &p));
	IB_CHECK(p.tcp.flags == IB_MUX_TH_RST && p.tcp.seq == 1 && p.tcp.ack == 2);
	IB_CHECK_ERR(mp_next_pkt(t.host, 2, buf, &p), IB_ERR_WOULD_BLOCK);
	mux_pair_free(&t);
}

static void
flags_case(uint8_t flags, int want_err, int want_rst_back)
{
	static struct ib_mux_event ev[MP_EV_MAX];
	struct mux_pair t;
	struct ib_mux_packet p;
	const struct ib_mux_event *c;
	uint8_t buf[256];
	uint32_t hid, did, hid2, did2;
	struct mp_xfer x;

	IB_CHECK_OK(mp_setup(&t, NULL, NULL));
	IB_CHECK_OK(mux_pair_open(&t, 62078, &hid, &did));
	IB_CHECK_OK(mux_pair_open(&t, 62078, &hid2, &did2));
	IB_CHECK_OK(mp_feed_tcp(t.host, 2, 62078, 1, 1, 1, flags, 0x200,
	    (const uint8_t *)"zz", 2));
	c = mp_find(ev, mp_events(t.host, ev), IB_MUX_EV_CLOSED, hid);
	IB_CHECK(c != NULL);
	IB_CHECK_EQ(c->err, want_err);
	if (want_rst_back) {
		IB_CHECK_OK(mp_next_pkt(t.host, 2, buf, &p));
		IB_CHECK_EQ(p.tcp.flags, IB_MUX_TH_RST);
		IB_CHECK_EQ(p.tcp.sport, 1);
		IB_CHECK_EQ(p.tcp.seq, 1);
		IB_CHECK_EQ(p.tcp.ack, 1);
	}
	IB_CHECK_ERR(ib_mux_engine_output(t.host, &(const uint8_t *){ NULL },
	    &(size_t){ 0 }, 0), IB_ERR_WOULD_BLOCK);
	/* the other stream is untouched */
	IB_CHECK(mp_xfer_new(&x, hid2, did2, 100000, 5));
	IB_CHECK(mp_run_xfers(&t, &x, 1, 131072));
	mp_xfer_free(&x);
	mux_pair_free(&t);
}

IB_TEST(non_ack_flags_reset_the_stream)
{
	flags_case(IB_MUX_TH_FIN | IB_MUX_TH_ACK, IB_ERR_MUX_PROTOCOL, 1);
	flags_case(IB_MUX_TH_FIN, IB_ERR_MUX_PROTOCOL, 1);
	flags_case(IB_MUX_TH_PUSH | IB_MUX_TH_ACK, IB_ERR_MUX_PROTOCOL, 1);
	flags_case(IB_MUX_TH_SYN, IB_ERR_MUX_PROTOCOL, 1);
	flags_case(0, IB_ERR_MUX_PROTOCOL, 1);
	flags_case(IB_MUX_TH_RST, IB_ERR_MUX_RESET, 0);
	flags_case(IB_MUX_TH_RST | IB_MUX_TH_ACK, IB_ERR_MUX_RESET, 0);
}

IB_TEST(unknown_stream_gets_anonymous_rst)
{
	static const uint8_t want_tcp[20] = { 0, 7, 0x03, 0xe7, 0, 0, 0, 0,
	    0x11, 0x22, 0x33, 0x44, 0x50, 0x04, 0, 0, 0, 0, 0, 0 };
	struct mux_pair t;
	struct ib_mux_packet p;
	uint8_t buf[256];
	struct ib_mux_event ev;

	IB_CHECK_OK(mp_setup(&t, NULL, NULL));
	/* device port 999 -> host port 7: no such stream */
	IB_CHECK_OK(mp_feed_tcp(t.host, 2, 999, 7, 0x11223344, 5, 0x10, 0x200,
	    (const uint8_t *)"abc", 3));
	IB_CHECK_OK(mp_next_pkt(t.host, 2, buf, &p));
	IB_CHECK_EQ(p.length, 36);
	IB_CHECK(memcmp(buf + 16, want_tcp, 20) == 0);
	IB_CHECK_ERR(ib_mux_engine_next_event(t.host, &ev), IB_ERR_WOULD_BLOCK);
	/* an RST for an unknown stream is not answered */
	IB_CHECK_OK(mp_feed_tcp(t.host, 2, 999, 7, 1, 0, 0x04, 0, NULL, 0));
	IB_CHECK_ERR(mp_next_pkt(t.host, 2, buf, &p), IB_ERR_WOULD_BLOCK);
	/* device role: a non-SYN for no stream too */
	IB_CHECK_OK(mp_feed_tcp(t.dev, 2, 5, 62078, 42, 0, 0x10, 0x200, NULL, 0));
	IB_CHECK_OK(mp_next_pkt(t.dev, 2, buf, &p));
	IB_CHECK_EQ(p.tcp.flags, IB_MUX_TH_RST);
	IB_CHECK_EQ(p.tcp.sport, 62078);
	IB_CHECK_EQ(p.tcp.dport, 5);
	IB_CHECK_EQ(p.tcp.ack, 42);
	IB_CHECK_EQ(p.tcp.window, 0);
	/* a flood is bounded: at most IB_MUX_ANON_RST_MAX wait */
	for (int i = 0; i < 1000; i++)
		IB_CHECK_OK(mp_feed_tcp(t.host, 2, 999, 7, (uint32_t)i, 5, 0x10, 0x200, NULL, 0));
	IB_CHECK_EQ(mux_pair_pump(&t) >= 1, 1);
	mux_pair_free(&t);
}

/* --- streams: ports, cap ------------------------------------------------ */

static uint16_t
host_port(struct ib_mux_engine *e, uint32_t id)
{
	uint16_t hp = 0, dp = 0;

	ib_mux_engine_stream_ports(e, id, &hp, &dp);
	return hp;
}

IB_TEST(source_ports_skip_in_use_and_zero_and_wrap)
{
	struct mux_pair t;
	uint32_t a, b, c, id, i;
	uint16_t port;

	IB_CHECK_OK(mp_setup(&t, NULL, NULL));
	t.drop_to_dev = 1 << 30;        /* the device never hears of these */
	IB_CHECK_OK(ib_mux_engine_connect(t.host, 62078, &a));
	IB_CHECK_OK(ib_mux_engine_connect(t.host, 62078, &b));
	IB_CHECK_OK(ib_mux_engine_connect(t.host, 62078, &c));
	IB_CHECK_EQ(host_port(t.host, a), 1);
	IB_CHECK_EQ(host_port(t.host, b), 2);
	IB_CHECK_EQ(host_port(t.host, c), 3);
	mux_pair_pump(&t);
	IB_CHECK_OK(ib_mux_engine_close(t.host, b));
	mux_pair_pump(&t);
	/* 4, 5, ... 65535, then 0 and 1 and 3 are skipped: 2 is free */
	for (i = 4; i <= 65535; i++) {
		IB_CHECK_OK(ib_mux_engine_connect(t.host, 62078, &id));
		port = host_port(t.host, id);
		if (port != i)
			IB_CHECK_EQ(port, i);
		mux_pair_pump(&t);
		IB_CHECK_OK(ib_mux_engine_close(t.host, id));
	}
	mux_pair_pump(&t);
	IB_CHECK_OK(ib_mux_engine_connect(t.host, 62078, &id));
	IB_CHECK_EQ(host_port(t.host, id), 2);
	IB_CHECK_OK(ib_mux_engine_connect(t.host, 62078, &id));
	IB_CHECK_EQ(host_port(t.host, id), 4);
	IB_CHECK(id > 65535);   /* ids never reused */
	mux_pair_free(&t);
}

IB_TEST(at_most_1024_streams)
{
	static uint32_t ids[IB_MUX_MAX_STREAMS];
	static struct ib_mux_event ev[MP_EV_MAX];
	struct mux_pair t;
	struct ib_mux_packet p;
	uint8_t buf[256];
	uint32_t id, i;
	int n;

	IB_CHECK_OK(mp_setup(&t, NULL, NULL));
	t.drop_to_dev = 1 << 30;
	for (i = 0; i < IB_MUX_MAX_STREAMS; i++)
		IB_CHECK_OK(ib_mux_engine_connect(t.host, 62078, &ids[i]));
	IB_CHECK_ERR(ib_mux_engine_connect(t.host, 62078, &id), IB_ERR_MUX_NO_PORTS);
	mux_pair_pump(&t);
	IB_CHECK_OK(ib_mux_engine_close(t.host, ids[500]));
	/* its RST is still due: the slot is not free yet */
	IB_CHECK_ERR(ib_mux_engine_connect(t.host, 62078, &id), IB_ERR_MUX_NO_PORTS);
	IB_CHECK_EQ(mux_pair_pump(&t), 1);
	IB_CHECK_OK(ib_mux_engine_connect(t.host, 62078, &id));
	IB_CHECK_EQ(host_port(t.host, id), 1025);  /* the counter goes on */
	mux_pair_free(&t);

	/* device role: the 1025th SYN is refused with an RST */
	IB_CHECK_OK(mp_setup(&t, NULL, NULL));
	for (i = 1; i <= IB_MUX_MAX_STREAMS + 1; i++)
		IB_CHECK_OK(mp_feed_tcp(t.dev, 2, (uint16_t)i, 62078, 0, 0, 0x02,
		    0x200, NULL, 0));
	n = mp_events(t.dev, ev);
	IB_CHECK_EQ(mp_count(ev, n, IB_MUX_EV_INCOMING, 0), IB_MUX_MAX_STREAMS);
	IB_CHECK_OK(mp_next_pkt(t.dev, 2, buf, &p));
	IB_CHECK_EQ(p.tcp.flags, IB_MUX_TH_RST);
	IB_CHECK_EQ(p.tcp.dport, IB_MUX_MAX_STREAMS + 1);
	IB_CHECK_EQ(p.tcp.ack, 1);
	IB_CHECK_ERR(mp_next_pkt(t.dev, 2, buf, &p), IB_ERR_WOULD_BLOCK);
	/* all accepted in one go: 1024 SYN|ACKs */
	for (i = 0; i < (uint32_t)n; i++)
		IB_CHECK_OK(ib_mux_engine_accept(t.dev, ev[i].stream));
	for (i = 0; mp_next_pkt(t.dev, 2, buf, &p) == IB_OK; i++)
		IB_CHECK_EQ(p.tcp.flags, 0x12);
	IB_CHECK_EQ(i, IB_MUX_MAX_STREAMS);
	mux_pair_free(&t);
}

/* Record the sport of host data packets. */
static uint16_t rr_ports[64];
static int rr_n;

static void
rr_tap(void *ctx, int to_host, const uint8_t *pkt, size_t len)
{
	struct ib_mux_packet p;

	(void)ctx;
	if (!to_host && rr_n < 64 && ib_mux_decode(pkt, len, 2, &p) == IB_OK &&
	    p.protocol == IB_MUX_PROTO_TCP && p.payload_len > 0)
		rr_ports[rr_n++] = p.tcp.sport;
}

IB_TEST(eight_streams_round_robin_random_segments)
{
	struct ib_mux_engine_cfg hc = { .role = IB_MUX_ROLE_HOST,
	    .random_segments = 1, .seed = 99 };
	struct ib_mux_engine_cfg dc = { .role = IB_MUX_ROLE_DEVICE,
	    .random_segments = 1, .seed = 42 };
	static uint8_t chunk[300000];
	struct mux_pair t;
	struct mp_xfer x[8];
	size_t acc;
	int i, j, seen;

	IB_CHECK_OK(mp_setup(&t, &hc, &dc));
	for (i = 0; i < 8; i++) {
		uint32_t hid, did;

		IB_CHECK_OK(mux_pair_open(&t, (uint16_t)(1000 + i), &hid, &did));
		IB_CHECK(mp_xfer_new(&x[i], hid, did, 1u << 20, (uint32_t)(100 + i)));
	}
	/* fill every stream's window, then look at who gets to send */
	for (i = 0; i < 8; i++) {
		IB_CHECK_OK(ib_mux_engine_send(t.host, x[i].hid, x[i].h2d,
		    sizeof(chunk), &acc));
		IB_CHECK_EQ(acc, 131072);
		x[i].h_sent = acc;
	}
	rr_n = 0;
	t.tap = rr_tap;
	t.one_at_a_time = 1;
	IB_CHECK(mp_run_xfers(&t, x, 8, 131072));
	IB_CHECK(rr_n >= 8);
	for (i = 0; i < 8; i++) {
		seen = 0;
		for (j = 0; j < 8; j++)
			seen += rr_ports[j] == host_port(t.host, x[i].hid);
		IB_CHECK_EQ(seen, 1);   /* each stream once in the first round */
	}
	for (i = 0; i < 8; i++) {
		IB_CHECK_EQ(x[i].h_recv, x[i].n);
		IB_CHECK_EQ(x[i].d_recv, x[i].n);
		mp_xfer_free(&x[i]);
	}
	mux_pair_free(&t);
}

/* --- link-wide ----------------------------------------------------------- */

IB_TEST(abort_fails_every_stream)
{
	static struct ib_mux_event ev[MP_EV_MAX];
	struct mux_pair t;
	uint32_t h1, d1, h2, d2, h3, id;
	const uint8_t *pkt;
	size_t len;
	int n;

	IB_CHECK_OK(mp_setup(&t, NULL, NULL));
	IB_CHECK_OK(mux_pair_open(&t, 1, &h1, &d1));
	IB_CHECK_OK(mux_pair_open(&t, 2, &h2, &d2));
	IB_CHECK_OK(ib_mux_engine_connect(t.host, 3, &h3));     /* connecting */
	IB_CHECK_OK(ib_mux_engine_close(t.host, h2));            /* RST due */
	ib_mux_engine_abort(t.host, IB_ERR_NO_DEVICE);
	IB_CHECK_ERR(ib_mux_engine_output(t.host, &pkt, &len, 0), IB_ERR_WOULD_BLOCK);
	n = mp_events(t.host, ev);
	IB_CHECK_EQ(n, 2);
	IB_CHECK(ev[0].type == IB_MUX_EV_CLOSED && ev[0].stream == h1 &&
	    ev[0].err == IB_ERR_NO_DEVICE);
	IB_CHECK(ev[1].type == IB_MUX_EV_CLOSED && ev[1].stream == h3 &&
	    ev[1].err == IB_ERR_NO_DEVICE);
	IB_CHECK_ERR(ib_mux_engine_connect(t.host, 1, &id), IB_ERR_STATE);
	IB_CHECK_ERR(mp_feed_tcp(t.host, 2, 1, 1, 1, 1, 0x10, 0x200, NULL, 0),
	    IB_ERR_NO_DEVICE);
	ib_mux_engine_abort(t.dev, IB_ERR_EOF);
	n = mp_events(t.dev, ev);
	IB_CHECK_EQ(mp_count(ev, n, IB_MUX_EV_CLOSED, 0), 2);
	mux_pair_free(&t);
}

IB_TEST(control_text_sanitised_and_bounded)
{
	static struct ib_mux_event ev[MP_EV_MAX];
	static uint8_t big[IB_MUX_HDR_V2_LEN + 1 + 2000];
	struct mux_pair t;
	int i, n;

	IB_CHECK_OK(mp_setup(&t, NULL, NULL));
	IB_CHECK_OK(ib_mux_engine_send_control(t.dev, 7, "hello\x1b[0m\x7f w\xc3\xa9\n"));
	mux_pair_pump(&t);
	n = mp_events(t.host, ev);
	IB_CHECK_EQ(n, 1);
	IB_CHECK_EQ(ev[0].type, IB_MUX_EV_CONTROL);
	IB_CHECK_EQ(ev[0].control_type, 7);
	IB_CHECK_STR(ev[0].text, "hello?[0m? w??");
	/* the host role does not deliver what the host sent to the device */
	IB_CHECK_EQ(mp_events(t.dev, ev), 0);
	/* 2000 text bytes: kept up to IB_MUX_TEXT_MAX */
	memset(big, 'A', sizeof(big));
	memcpy(big, "\0\0\0\1\0\0\x07\xe1\xfe\xed\xfa\xce\0\0\0\0\x05", 17);
	IB_CHECK_OK(ib_mux_engine_input(t.host, big, sizeof(big), 0));
	n = mp_events(t.host, ev);
	IB_CHECK(n == 1 && ev[0].control_type == 5);
	IB_CHECK_EQ(strlen(ev[0].text), IB_MUX_TEXT_MAX);
	/* a flood keeps IB_MUX_CONTROL_EVENTS */
	for (i = 0; i < 40; i++) {
		int r = ib_mux_engine_send_control(t.dev, 3, "x");

		if (r == IB_ERR_WOULD_BLOCK) {
			mux_pair_pump(&t);
			r = ib_mux_engine_send_control(t.dev, 3, "x");
		}
		IB_CHECK_OK(r);
	}
	mux_pair_pump(&t);
	IB_CHECK_EQ(mp_count(ev, mp_events(t.host, ev), IB_MUX_EV_CONTROL, 0),
	    IB_MUX_CONTROL_EVENTS);
	{
		char longtext[IB_MUX_TEXT_MAX + 2];

		memset(longtext, 'b', sizeof(longtext) - 1);
		longtext[sizeof(longtext) - 1] = '\0';
		IB_CHECK_ERR(ib_mux_engine_send_control(t.dev, 3, longtext),
		    IB_ERR_TOO_LARGE);
	}
	mux_pair_free(&t);
}

static void
malformed_case(uint32_t max_version, int kind)
{
	static struct ib_mux_event ev[MP_EV_MAX];
	struct ib_mux_engine_cfg dc = { .role = IB_MUX_ROLE_DEVICE,
	    .max_version = max_version };
	struct mux_pair t;
	struct mp_xfer x;
	uint32_t h1, d1, h2, d2;
	int n, hn;

	IB_CHECK_OK(mp_setup(&t, NULL, &dc));
	IB_CHECK_OK(mux_pair_open(&t, 62078, &h1, &d1));
	IB_CHECK_OK(mux_pair_open(&t, 62078, &h2, &d2));
	IB_CHECK_OK(ib_mux_engine_inject_malformed(t.dev, kind));
	mux_pair_pump(&t);
	IB_CHECK_EQ(t.last_err, IB_OK);
	hn = mp_events(t.host, ev);
	n = mp_events(t.dev, ev + hn);
	if (kind == 5) {
		/* the oldest stream is reset on both sides */
		IB_CHECK(mp_find(ev, hn, IB_MUX_EV_CLOSED, h1) != NULL);
		IB_CHECK_EQ(mp_find(ev, hn, IB_MUX_EV_CLOSED, h1)->err,
		    IB_ERR_MUX_PROTOCOL);
		IB_CHECK(mp_find(ev + hn, n, IB_MUX_EV_CLOSED, d1) != NULL);
		IB_CHECK_EQ(mp_find(ev + hn, n, IB_MUX_EV_CLOSED, d1)->err,
		    IB_ERR_MUX_RESET);
		IB_CHECK_EQ(hn, 1);
	} else {
		IB_CHECK_EQ(hn + n, 0);   /* dropped, or anon RST ignored */
	}
	IB_CHECK(mp_xfer_new(&x, h2, d2, 100000, (uint32_t)kind));
	IB_CHECK(mp_run_xfers(&t, &x, 1, 131072));
	mp_xfer_free(&x);
	if (kind != 5) {
		IB_CHECK(mp_xfer_new(&x, h1, d1, 1000, 9));
		IB_CHECK(mp_run_xfers(&t, &x, 1, 131072));
		mp_xfer_free(&x);
	}
	mux_pair_free(&t);
}

IB_TEST(every_malformed_kind_is_handled)
{
	struct mux_pair t;
	int kind;

	for (kind = 1; kind <= 5; kind++)
		malformed_case(2, kind);
	for (kind = 1; kind <= 5; kind++)
		if (kind != 2)
			malformed_case(1, kind);
	IB_CHECK_OK(mp_setup(&t, NULL, NULL));
	IB_CHECK_ERR(ib_mux_engine_inject_malformed(t.dev, 0), IB_ERR_INVALID_ARG);
	IB_CHECK_ERR(ib_mux_engine_inject_malformed(t.dev, 6), IB_ERR_INVALID_ARG);
	IB_CHECK_ERR(ib_mux_engine_inject_malformed(t.dev, 5), IB_ERR_NOT_FOUND);
	mux_pair_free(&t);
}

IB_TEST(random_packets_never_hurt)
{
	static uint8_t buf[600];
	struct mux_pair t;
	struct mp_xfer x;
	uint32_t hid, did, seed = 12345;
	int i;
	size_t len, k;

	IB_CHECK_OK(mp_setup(&t, NULL, NULL));
	IB_CHECK_OK(mux_pair_open(&t, 62078, &hid, &did));
	for (i = 0; i < 20000; i++) {
		seed = seed * 1103515245u + 12345u;
		len = (seed >> 8) % sizeof(buf);
		for (k = 0; k < len; k++) {
			seed = seed * 1103515245u + 12345u;
			buf[k] = (uint8_t)(seed >> 16);
		}
		/* mostly plausible headers, so the garbage gets deep */
		if (len >= 36 && (i & 1)) {
			memcpy(buf, "\0\0\0\x06\0\0\0\0\xfe\xed\xfa\xce", 12);
			buf[6] = (uint8_t)(len >> 8);
			buf[7] = (uint8_t)len;
			buf[28] = 0x50;
		}
		ib_mux_engine_input((i & 2) ? t.host : t.dev, buf, len, 0);
		if (i % 64 == 0) {
			static struct ib_mux_event ev[MP_EV_MAX];

			mux_pair_pump(&t);
			mp_events(t.host, ev);
			mp_events(t.dev, ev);
		}
	}
	mux_pair_pump(&t);
	/* the link still works for a new stream */
	IB_CHECK_OK(mux_pair_open(&t, 1, &hid, &did));
	IB_CHECK(mp_xfer_new(&x, hid, did, 50000, 3));
	IB_CHECK(mp_run_xfers(&t, &x, 1, 131072));
	mp_xfer_free(&x);
	mux_pair_free(&t);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
