/*
 * mux engine, link and data: a host engine and a device engine back to
 * back (mux_pair), plus hand-made packets for what a well-behaved peer
 * never sends. Streams, resets and faults: engine_stream_test.c.
 *
 * `test_mux_engine --write-seeds DIR` records real exchanges as fuzz
 * seeds for fuzz_mux_packet (mux_seeds.c).
 */
#include "ib_test.h"
#include "mux_testlib.h"

#include <stdlib.h>
#include <string.h>

/* The tap of a pair that checks every packet has the 8-byte header. */
static int v1_violations, v1_packets;

static void
v1_tap(void *ctx, int to_host, const uint8_t *pkt, size_t len)
{
	struct ib_mux_packet p;

	(void)ctx;
	(void)to_host;
	v1_packets++;
	if (ib_mux_decode(pkt, len, 1, &p) != IB_OK ||
	    p.protocol == IB_MUX_PROTO_SETUP ||
	    (len >= 12 && pkt[8] == 0xfe && pkt[9] == 0xed && pkt[10] == 0xfa))
		v1_violations++;
}

/* --- handshake ---------------------------------------------------------- */

IB_TEST(v2_handshake_exact_bytes)
{
	static const uint8_t version_req[20] = { 0, 0, 0, 0, 0, 0, 0, 0x14,
	    0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t setup_pkt[17] = { 0, 0, 0, 2, 0, 0, 0, 0x11,
	    0xfe, 0xed, 0xfa, 0xce, 0, 0, 0xff, 0xff, 0x07 };
	static const uint8_t first_syn[36] = { 0, 0, 0, 6, 0, 0, 0, 0x24,
	    0xfe, 0xed, 0xfa, 0xce, 0, 1, 0xff, 0xff, 0, 1, 0xf2, 0x7e,
	    0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x02, 0x02, 0x00, 0, 0, 0, 0 };
	struct mux_pair t;
	struct ib_mux_event ev;
	struct ib_mux_packet p;
	uint8_t buf[IB_MUX_MTU];
	const uint8_t *pkt;
	size_t len;
	uint32_t hid, major, minor;

	IB_CHECK_OK(mux_pair_init(&t, NULL, NULL));
	IB_CHECK_OK(ib_mux_engine_start(t.host));
	IB_CHECK_ERR(ib_mux_engine_start(t.host), IB_ERR_STATE);
	IB_CHECK_OK(mp_relay_exact(t.host, t.dev, version_req, sizeof(version_req)));
	/* reply: short header, major 2 */
	IB_CHECK_OK(mp_next_pkt(t.dev, 1, buf, &p));
	IB_CHECK_EQ(p.length, 20);
	IB_CHECK_OK(ib_mux_decode_version(&p, &major, &minor));
	IB_CHECK_EQ(major, 2);
	IB_CHECK_ERR(ib_mux_engine_next_event(t.dev, &ev), IB_ERR_WOULD_BLOCK);
	IB_CHECK_EQ(ib_mux_engine_version(t.dev), 0);
	IB_CHECK_OK(ib_mux_engine_input(t.host, buf, 20, 0));
	IB_CHECK_OK(ib_mux_engine_next_event(t.host, &ev));
	IB_CHECK_EQ(ev.type, IB_MUX_EV_READY);
	IB_CHECK_EQ(ib_mux_engine_version(t.host), 2);
	IB_CHECK_OK(mp_relay_exact(t.host, t.dev, setup_pkt, sizeof(setup_pkt)));
	IB_CHECK_OK(ib_mux_engine_next_event(t.dev, &ev));
	IB_CHECK_EQ(ev.type, IB_MUX_EV_READY);
	IB_CHECK_EQ(ib_mux_engine_version(t.dev), 2);
	/* first SYN: usbmux.md 2.7 to the byte */
	IB_CHECK_OK(ib_mux_engine_connect(t.host, 62078, &hid));
	IB_CHECK_OK(mp_relay_exact(t.host, t.dev, first_syn, sizeof(first_syn)));
	IB_CHECK_OK(ib_mux_engine_next_event(t.dev, &ev));
	IB_CHECK_EQ(ev.type, IB_MUX_EV_INCOMING);
	IB_CHECK_EQ(ev.port, 62078);
	IB_CHECK_OK(ib_mux_engine_accept(t.dev, ev.stream));
	/* SYN|ACK exactly 0x12, seq 0, ack 1; device seq fields count */
	IB_CHECK_OK(mp_next_pkt(t.dev, 2, buf, &p));
	IB_CHECK_EQ(p.tcp.flags, 0x12);
	IB_CHECK_EQ(p.tcp.seq, 0);
	IB_CHECK_EQ(p.tcp.ack, 1);
	IB_CHECK_EQ(p.tcp.sport, 62078);
	IB_CHECK_EQ(p.tcp.dport, 1);
	IB_CHECK_EQ(p.tcp.window, 0x200);
	IB_CHECK_EQ(p.tx_seq, 0);
	IB_CHECK_EQ(p.rx_seq, 1);       /* last host tx_seq seen (the SYN) */
	IB_CHECK_OK(ib_mux_engine_input(t.host, buf, p.length, 0));
	IB_CHECK_OK(ib_mux_engine_next_event(t.host, &ev));
	IB_CHECK_EQ(ev.type, IB_MUX_EV_CONNECTED);
	IB_CHECK_EQ(ev.stream, hid);
	/* data queued at once does not replace the handshake's pure ACK */
	IB_CHECK_OK(ib_mux_engine_send(t.host, hid, (const uint8_t *)"hi", 2, &len));
	IB_CHECK_EQ(len, 2);
	/* pure ACK: seq 1, ack = device seq + 1 */
	IB_CHECK_OK(mp_next_pkt(t.host, 2, buf, &p));
	IB_CHECK_EQ(p.tcp.flags, 0x10);
	IB_CHECK_EQ(p.tcp.seq, 1);
	IB_CHECK_EQ(p.tcp.ack, 1);
	IB_CHECK_EQ(p.tx_seq, 2);
	IB_CHECK_EQ(p.rx_seq, 0);
	IB_CHECK_EQ(p.payload_len, 0);
	IB_CHECK_OK(mp_next_pkt(t.host, 2, buf, &p));
	IB_CHECK_EQ(p.tcp.flags, 0x10);
	IB_CHECK_EQ(p.tcp.seq, 1);
	IB_CHECK_EQ(p.tx_seq, 3);
	IB_CHECK_EQ(p.payload_len, 2);
	IB_CHECK_ERR(ib_mux_engine_output(t.host, &pkt, &len, 0), IB_ERR_WOULD_BLOCK);
	mux_pair_free(&t);
}

IB_TEST(host_ack_follows_device_isn)
{
	struct mux_pair t;
	struct ib_mux_event ev;
	struct ib_mux_packet p;
	uint8_t buf[256];
	uint32_t hid;

	IB_CHECK_OK(mp_setup(&t, NULL, NULL));
	IB_CHECK_OK(ib_mux_engine_connect(t.host, 62078, &hid));
	IB_CHECK_OK(mp_next_pkt(t.host, 2, buf, &p));
	/* A device with ISN 5000 (usbmuxd would assume 0) */
	IB_CHECK_OK(mp_feed_tcp(t.host, 2, 62078, 1, 5000, 1, 0x12, 0x200, NULL, 0));
	IB_CHECK_OK(ib_mux_engine_next_event(t.host, &ev));
	IB_CHECK_EQ(ev.type, IB_MUX_EV_CONNECTED);
	IB_CHECK_OK(mp_next_pkt(t.host, 2, buf, &p));
	IB_CHECK_EQ(p.tcp.seq, 1);
	IB_CHECK_EQ(p.tcp.ack, 5001);
	IB_CHECK_EQ(ib_mux_engine_send_space(t.host, hid), 131072);
	mux_pair_free(&t);
}

IB_TEST(v1_device_means_short_headers_and_no_setup)
{
	struct ib_mux_engine_cfg dc = { .role = IB_MUX_ROLE_DEVICE, .max_version = 1 };
	struct mux_pair t;
	struct mp_xfer x;
	uint32_t hid, did;

	IB_CHECK_OK(mux_pair_init(&t, NULL, &dc));
	t.tap = v1_tap;
	v1_violations = v1_packets = 0;
	IB_CHECK_OK(mux_pair_handshake(&t));
	IB_CHECK_EQ(ib_mux_engine_version(t.host), 1);
	IB_CHECK_EQ(ib_mux_engine_version(t.dev), 1);
	IB_CHECK_EQ(v1_packets, 2);     /* VERSION both ways, no SETUP */
	IB_CHECK_OK(mux_pair_open(&t, 62078, &hid, &did));
	IB_CHECK(mp_xfer_new(&x, hid, did, 200000, 1));
	IB_CHECK(mp_run_xfers(&t, &x, 1, 131072));
	mp_xfer_free(&x);
	IB_CHECK(v1_packets > 10);
	IB_CHECK_EQ(v1_violations, 0);
	IB_CHECK_ERR(ib_mux_engine_inject_malformed(t.dev, 2), IB_ERR_STATE);
	mux_pair_free(&t);
}

static int
feed_version(struct ib_mux_engine *e, uint32_t major, size_t payload)
{
	uint8_t buf[32] = { 0 };

	buf[7] = (uint8_t)(8 + payload);
	buf[11] = (uint8_t)major;
	return ib_mux_engine_input(e, buf, 8 + payload, 0);
}

IB_TEST(bad_version_reply_is_fatal)
{
	const uint32_t majors[] = { 0, 3, 0x100 };
	struct ib_mux_engine_cfg hc = { .role = IB_MUX_ROLE_HOST };
	struct ib_mux_engine *e;
	struct ib_mux_event ev;
	const uint8_t *pkt;
	uint32_t id;
	size_t len, i;

	for (i = 0; i < 4; i++) {
		IB_CHECK((e = ib_mux_engine_new(&hc)) != NULL);
		IB_CHECK_OK(ib_mux_engine_start(e));
		IB_CHECK_OK(ib_mux_engine_output(e, &pkt, &len, 0));
		if (i < 3)
			IB_CHECK_ERR(feed_version(e, majors[i], 12), IB_ERR_MUX_VERSION);
		else    /* 11-byte VERSION payload */
			IB_CHECK_ERR(feed_version(e, 2, 11), IB_ERR_MUX_PROTOCOL);
		IB_CHECK_OK(ib_mux_engine_next_event(e, &ev));
		IB_CHECK_EQ(ev.type, IB_MUX_EV_FATAL);
		IB_CHECK_EQ(ev.err, i < 3 ? IB_ERR_MUX_VERSION : IB_ERR_MUX_PROTOCOL);
		IB_CHECK_ERR(ib_mux_engine_output(e, &pkt, &len, 0), IB_ERR_WOULD_BLOCK);
		IB_CHECK_EQ(ib_mux_engine_version(e), 0);
		IB_CHECK_ERR(ib_mux_engine_connect(e, 1, &id), IB_ERR_STATE);
		IB_CHECK(feed_version(e, 2, 12) != IB_OK);
		ib_mux_engine_free(e);
	}
}

IB_TEST(device_answers_min_of_offer_and_its_max)
{
	const uint32_t offer[] = { 1, 2, 7 };
	const uint32_t maxv[] = { 1, 2 };
	struct ib_mux_engine_cfg dc = { .role = IB_MUX_ROLE_DEVICE };
	struct ib_mux_engine *e;
	struct ib_mux_packet p;
	uint8_t buf[64];
	uint32_t major, minor;
	size_t i, j;

	for (i = 0; i < 3; i++) {
		for (j = 0; j < 2; j++) {
			dc.max_version = maxv[j];
			IB_CHECK((e = ib_mux_engine_new(&dc)) != NULL);
			IB_CHECK_OK(feed_version(e, offer[i], 12));
			IB_CHECK_OK(mp_next_pkt(e, 1, buf, &p));
			IB_CHECK_OK(ib_mux_decode_version(&p, &major, &minor));
			IB_CHECK_EQ(major, offer[i] < maxv[j] ? offer[i] : maxv[j]);
			ib_mux_engine_free(e);
		}
	}
	dc.max_version = 3;
	IB_CHECK(ib_mux_engine_new(&dc) == NULL);
	dc.role = 0;
	IB_CHECK(ib_mux_engine_new(&dc) == NULL);
}

IB_TEST(host_ignores_second_version_and_tcp_before_ready_dropped)
{
	struct mux_pair t;
	struct ib_mux_event ev;
	const uint8_t *pkt;
	size_t len;
	uint32_t hid, did;

	IB_CHECK_OK(mux_pair_init(&t, NULL, NULL));
	/* Device before VERSION, host before its reply: TCP is dropped. */
	IB_CHECK_OK(mp_feed_tcp(t.dev, 2, 1, 62078, 0, 0, 0x02, 0x200, NULL, 0));
	IB_CHECK_OK(mp_feed_tcp(t.dev, 1, 1, 62078, 0, 0, 0x02, 0x200, NULL, 0));
	IB_CHECK_ERR(ib_mux_engine_next_event(t.dev, &ev), IB_ERR_WOULD_BLOCK);
	IB_CHECK_ERR(ib_mux_engine_output(t.dev, &pkt, &len, 0), IB_ERR_WOULD_BLOCK);
	IB_CHECK_OK(ib_mux_engine_start(t.host));
	IB_CHECK_OK(ib_mux_engine_output(t.host, &pkt, &len, 0));
	IB_CHECK_OK(mp_feed_tcp(t.host, 1, 62078, 1, 0, 1, 0x12, 0x200, NULL, 0));
	IB_CHECK_ERR(ib_mux_engine_next_event(t.host, &ev), IB_ERR_WOULD_BLOCK);
	/* Device answered 2 but has no SETUP yet: still drops TCP. */
	IB_CHECK_OK(feed_version(t.dev, 2, 12));
	IB_CHECK_OK(ib_mux_engine_output(t.dev, &pkt, &len, 0));
	IB_CHECK_OK(mp_feed_tcp(t.dev, 2, 1, 62078, 0, 0, 0x02, 0x200, NULL, 0));
	IB_CHECK_ERR(ib_mux_engine_next_event(t.dev, &ev), IB_ERR_WOULD_BLOCK);
	mux_pair_free(&t);

	IB_CHECK_OK(mp_setup(&t, NULL, NULL));
	IB_CHECK_OK(mux_pair_open(&t, 62078, &hid, &did));
	IB_CHECK_OK(feed_version(t.host, 1, 12));
	IB_CHECK_OK(feed_version(t.host, 9, 12));
	IB_CHECK_EQ(ib_mux_engine_version(t.host), 2);
	IB_CHECK_EQ(ib_mux_engine_version(t.dev), 2);
	IB_CHECK_ERR(ib_mux_engine_output(t.host, &pkt, &len, 0), IB_ERR_WOULD_BLOCK);
	IB_CHECK_ERR(ib_mux_engine_output(t.dev, &pkt, &len, 0), IB_ERR_WOULD_BLOCK);
	IB_CHECK_ERR(ib_mux_engine_next_event(t.host, &ev), IB_ERR_WOULD_BLOCK);
	IB_CHECK_EQ(ib_mux_engine_send_space(t.host, hid), 131072);
	mux_pair_free(&t);
}

/* Every ibackup command is a new host session on the same USB link: a
 * device that has a session must start over on a new VERSION. */
IB_TEST(device_starts_over_on_a_new_host_session)
{
	struct mux_pair t;
	struct ib_mux_engine *old_host;
	struct ib_mux_event ev;
	uint32_t hid, did, hid2, did2;
	int closed = 0, ready = 0;

	IB_CHECK_OK(mp_setup(&t, NULL, NULL));
	IB_CHECK_OK(mux_pair_open(&t, 62078, &hid, &did));
	/* The host process goes away; a fresh one opens the device. */
	old_host = t.host;
	t.host = ib_mux_engine_new(&(struct ib_mux_engine_cfg){ .role = IB_MUX_ROLE_HOST });
	IB_CHECK(t.host != NULL);
	ib_mux_engine_free(old_host);
	IB_CHECK_OK(ib_mux_engine_start(t.host));
	mux_pair_pump(&t);
	IB_CHECK_EQ(ib_mux_engine_version(t.host), 2);
	IB_CHECK_EQ(ib_mux_engine_version(t.dev), 2);
	while (ib_mux_engine_next_event(t.dev, &ev) == IB_OK) {
		if (ev.type == IB_MUX_EV_CLOSED && ev.stream == did) {
			IB_CHECK_EQ(ev.err, IB_ERR_MUX_RESET);
			closed++;
		}
		if (ev.type == IB_MUX_EV_READY)
			ready++;
	}
	IB_CHECK_EQ(closed, 1);
	IB_CHECK_EQ(ready, 1);
	IB_CHECK_OK(ib_mux_engine_close(t.dev, did));
	while (ib_mux_engine_next_event(t.host, &ev) == IB_OK)
		;
	/* The new session reuses source port 1 for the same device port. */
	IB_CHECK_OK(mux_pair_open(&t, 62078, &hid2, &did2));
	IB_CHECK(did2 != did);
	IB_CHECK_EQ(ib_mux_engine_send_space(t.host, hid2), 131072);
	mux_pair_free(&t);
}

/* Checks the v2 seq fields of every packet after SETUP: tx_seq counts
 * each side's packets (wrapping), rx_seq is the last tx_seq seen from the
 * other side (usbmuxd2 meaning). */
struct seqcheck {
	int active;
	uint16_t next_tx[2];    /* [to_host]: next tx_seq expected */
	uint16_t last_rx[2];    /* [to_host]: last tx_seq the sender saw */
	long packets, bad, wraps;
};

static void
seq_tap(void *ctx, int to_host, const uint8_t *pkt, size_t len)
{
	struct seqcheck *c = ctx;
	struct ib_mux_packet p;

	if (!c->active || ib_mux_decode(pkt, len, 2, &p) != IB_OK)
		return;
	c->packets++;
	if (p.tx_seq != c->next_tx[to_host] || p.rx_seq != c->last_rx[to_host])
		c->bad++;
	if (p.tx_seq == 0xffff)
		c->wraps++;
	c->next_tx[to_host] = (uint16_t)(p.tx_seq + 1);
	/* what the receiver will echo as rx_seq from now on */
	c->last_rx[!to_host] = p.tx_seq;
}

IB_TEST(v2_sequence_fields_count_wrap_and_echo)
{
	struct ib_mux_engine_cfg hc = { .role = IB_MUX_ROLE_HOST, .max_payload = 4 };
	struct ib_mux_engine_cfg dc = { .role = IB_MUX_ROLE_DEVICE, .max_payload = 4 };
	struct seqcheck c;
	struct mux_pair t;
	struct mp_xfer x;
	uint32_t hid, did;

	memset(&c, 0, sizeof(c));
	IB_CHECK_OK(mp_setup(&t, &hc, &dc));
	/* after SETUP (tx 0, rx 0xffff) the host's next is 1; the device
	 * starts at 0 and echoes the SETUP's 0 */
	c.next_tx[0] = 1;
	c.last_rx[0] = 0xffff;
	c.next_tx[1] = 0;
	c.last_rx[1] = 0;
	c.active = 1;
	t.tap = seq_tap;
	t.tap_ctx = &c;
	IB_CHECK_OK(mux_pair_open(&t, 62078, &hid, &did));
	IB_CHECK(mp_xfer_new(&x, hid, did, 300000, 17));
	IB_CHECK(mp_run_xfers(&t, &x, 1, 131072));
	mp_xfer_free(&x);
	IB_CHECK(c.packets > 2 * 65536);
	IB_CHECK_EQ(c.wraps, 2);
	IB_CHECK_EQ(c.bad, 0);
	mux_pair_free(&t);
}

/* --- data ---------------------------------------------------------------- */

static void
echo_case(int one_at_a_time)
{
	struct mux_pair t;
	struct mp_xfer x;
	uint32_t hid, did;

	IB_CHECK_OK(mp_setup(&t, NULL, NULL));
	t.one_at_a_time = one_at_a_time;
	IB_CHECK_OK(mux_pair_open(&t, 62078, &hid, &did));
	IB_CHECK(mp_xfer_new(&x, hid, did, 1u << 20, 7));
	IB_CHECK(mp_run_xfers(&t, &x, 1, 131072));
	IB_CHECK_EQ(x.h_recv, x.n);
	IB_CHECK_EQ(x.d_recv, x.n);
	IB_CHECK_EQ(t.last_err, IB_OK);
	mp_xfer_free(&x);
	mux_pair_free(&t);
}

IB_TEST(data_both_ways_batched)
{
	echo_case(0);
}

IB_TEST(data_both_ways_one_packet_at_a_time)
{
	echo_case(1);
}

IB_TEST(ack_only_after_consume_and_piggybacked)
{
	static struct ib_mux_event ev[MP_EV_MAX];
	struct mux_pair t;
	struct ib_mux_packet p;
	uint8_t buf[IB_MUX_MTU], data[1000];
	const uint8_t *pkt;
	size_t len, acc;
	uint32_t hid, did;

	IB_CHECK_OK(mp_setup(&t, NULL, NULL));
	IB_CHECK_OK(mux_pair_open(&t, 62078, &hid, &did));
	memset(data, 'x', sizeof(data));
	IB_CHECK_OK(ib_mux_engine_send(t.dev, did, data, sizeof(data), &acc));
	IB_CHECK_EQ(acc, 1000);
	mux_pair_pump(&t);
	IB_CHECK_EQ(mp_count(ev, mp_events(t.host, ev), IB_MUX_EV_READABLE, hid), 1);
	IB_CHECK_EQ(ib_mux_engine_recv_avail(t.host, hid), 1000);
	/* nothing consumed: no ACK */
	IB_CHECK_EQ(ib_mux_engine_send_pending(t.dev, did), 1000);
	IB_CHECK_ERR(ib_mux_engine_output(t.host, &pkt, &len, 0), IB_ERR_WOULD_BLOCK);
	IB_CHECK_ERR(ib_mux_engine_recv_consume(t.host, hid, 1001), IB_ERR_INVALID_ARG);
	IB_CHECK_OK(ib_mux_engine_recv_consume(t.host, hid, 600));
	IB_CHECK_OK(mp_next_pkt(t.host, 2, buf, &p));
	IB_CHECK_EQ(p.tcp.flags, IB_MUX_TH_ACK);
	IB_CHECK_EQ(p.tcp.ack, 601);
	IB_CHECK_EQ(p.payload_len, 0);
	IB_CHECK_ERR(ib_mux_engine_output(t.host, &pkt, &len, 0), IB_ERR_WOULD_BLOCK);
	/* consume with data queued: one data packet carries the ACK */
	IB_CHECK_OK(ib_mux_engine_send(t.host, hid, data, 10, &acc));
	IB_CHECK_OK(ib_mux_engine_recv_consume(t.host, hid, 400));
	IB_CHECK_OK(mp_next_pkt(t.host, 2, buf, &p));
	IB_CHECK_EQ(p.tcp.ack, 1001);
	IB_CHECK_EQ(p.payload_len, 10);
	IB_CHECK_ERR(ib_mux_engine_output(t.host, &pkt, &len, 0), IB_ERR_WOULD_BLOCK);
	/* the device sees everything acknowledged */
	IB_CHECK_EQ(ib_mux_engine_send_pending(t.dev, did), 1000);
	IB_CHECK_OK(ib_mux_engine_input(t.dev, buf, p.length, 0));
	IB_CHECK_EQ(ib_mux_engine_send_pending(t.dev, did), 0);
	mux_pair_free(&t);
}

IB_TEST(device_window_256_throttles_sender)
{
	static struct ib_mux_event ev[MP_EV_MAX];
	struct ib_mux_engine_cfg dc = { .role = IB_MUX_ROLE_DEVICE, .rx_window = 256 };
	struct mux_pair t;
	struct mp_xfer x;
	uint8_t data[10000];
	size_t acc;
	uint32_t hid, did;
	int n;

	IB_CHECK_OK(mp_setup(&t, NULL, &dc));
	IB_CHECK_OK(mux_pair_open(&t, 62078, &hid, &did));
	IB_CHECK_EQ(ib_mux_engine_send_space(t.host, hid), 256);
	mp_pattern(data, sizeof(data), 3);
	IB_CHECK_OK(ib_mux_engine_send(t.host, hid, data, sizeof(data), &acc));
	IB_CHECK_EQ(acc, 256);
	IB_CHECK_EQ(ib_mux_engine_send_space(t.host, hid), 0);
	mux_pair_pump(&t);
	IB_CHECK_EQ(ib_mux_engine_recv_avail(t.dev, did), 256);
	IB_CHECK_EQ(mp_count(ev, mp_events(t.dev, ev), IB_MUX_EV_READABLE, did), 1);
	/* stalled: nothing more goes until the device consumes */
	IB_CHECK_OK(ib_mux_engine_send(t.host, hid, data + 256, 100, &acc));
	IB_CHECK_EQ(acc, 0);
	IB_CHECK_EQ(mux_pair_pump(&t), 0);
	IB_CHECK_EQ(mp_count(ev, mp_events(t.host, ev), IB_MUX_EV_WRITABLE, hid), 0);
	IB_CHECK_OK(ib_mux_engine_recv_consume(t.dev, did, 100));
	mux_pair_pump(&t);
	n = mp_events(t.host, ev);
	IB_CHECK_EQ(mp_count(ev, n, IB_MUX_EV_WRITABLE, hid), 1);
	IB_CHECK_EQ(ib_mux_engine_send_space(t.host, hid), 100);
	IB_CHECK_OK(ib_mux_engine_recv_consume(t.dev, did, 156));
	mux_pair_pump(&t);
	IB_CHECK_EQ(ib_mux_engine_send_space(t.host, hid), 256);
	/* a long transfer never sees more than 256 bytes of space */
	IB_CHECK(mp_xfer_new(&x, hid, did, 300000, 11));
	IB_CHECK(mp_run_xfers(&t, &x, 1, 256));
	mp_xfer_free(&x);
	mux_pair_free(&t);
}

static void
overrun_case(int host_side)
{
	static struct ib_mux_event ev[MP_EV_MAX];
	struct ib_mux_engine_cfg dc = { .role = IB_MUX_ROLE_DEVICE, .rx_window = 256 };
	struct mux_pair t;
	struct ib_mux_packet p;
	const struct ib_mux_event *c;
	static uint8_t buf[IB_MUX_MTU], data[IB_MUX_MAX_PAYLOAD];
	uint32_t hid, did;
	int n;

	IB_CHECK_OK(mp_setup(&t, NULL, &dc));
	IB_CHECK_OK(mux_pair_open(&t, 62078, &hid, &did));
	if (host_side) {
		/* host window 128 KiB: two full packets fit, the third not */
		IB_CHECK_OK(mp_feed_tcp(t.host, 2, 62078, 1, 1, 1, 0x10, 0x200, data, 49116));
		IB_CHECK_OK(mp_feed_tcp(t.host, 2, 62078, 1, 49117, 1, 0x10, 0x200, data, 49116));
		IB_CHECK_EQ(ib_mux_engine_recv_avail(t.host, hid), 98232);
		IB_CHECK_OK(mp_feed_tcp(t.host, 2, 62078, 1, 98233, 1, 0x10, 0x200, data,
		    131072 - 98232 + 1));
	} else {
		IB_CHECK_OK(mp_feed_tcp(t.dev, 2, 1, 62078, 1, 1, 0x10, 0x200, data, 200));
		IB_CHECK_OK(ib_mux_engine_recv_consume(t.dev, did, 50));
		IB_CHECK_OK(mp_next_pkt(t.dev, 2, buf, &p));   /* the ACK */
		/* 150 unread + 107 > 256 */
		IB_CHECK_OK(mp_feed_tcp(t.dev, 2, 1, 62078, 201, 1, 0x10, 0x200, data, 107));
	}
	n = mp_events(host_side ? t.host : t.dev, ev);
	c = mp_find(ev, n, IB_MUX_EV_CLOSED, 0);
	IB_CHECK(c != NULL);
	IB_CHECK_EQ(c->err, IB_ERR_MUX_OVERRUN);
	IB_CHECK_OK(mp_next_pkt(host_side ? t.host : t.dev, 2, buf, &p));
	IB_CHECK_EQ(p.tcp.flags, IB_MUX_TH_RST);
	IB_CHECK_EQ(p.tcp.sport, host_side ? 1 : 62078);
	/* what arrived within the window is still readable */
	IB_CHECK_EQ(ib_mux_engine_recv_avail(host_side ? t.host : t.dev,
	    host_side ? hid : did), host_side ? 98232 : 150);
	mux_pair_free(&t);
}

IB_TEST(overrun_resets_device_side)
{
	overrun_case(0);
}

IB_TEST(overrun_resets_host_side)
{
	overrun_case(1);
}

IB_TEST(acks_outside_the_sent_range_are_ignored)
{
	struct mux_pair t;
	uint8_t data[100] = { 0 };
	size_t acc;
	uint32_t hid, did;

	IB_CHECK_OK(mp_setup(&t, NULL, NULL));
	IB_CHECK_OK(mux_pair_open(&t, 62078, &hid, &did));
	IB_CHECK_OK(ib_mux_engine_send(t.host, hid, data, 100, &acc));
	mux_pair_pump(&t);
	IB_CHECK_EQ(ib_mux_engine_send_space(t.host, hid), 131072 - 100);
	/* beyond what was sent, and behind the last ack: both ignored */
	IB_CHECK_OK(mp_feed_tcp(t.host, 2, 62078, 1, 1, 0x80000000u, 0x10, 0x200, NULL, 0));
	IB_CHECK_EQ(ib_mux_engine_send_space(t.host, hid), 131072 - 100);
	IB_CHECK_OK(mp_feed_tcp(t.host, 2, 62078, 1, 1, 102, 0x10, 0x200, NULL, 0));
	IB_CHECK_EQ(ib_mux_engine_send_space(t.host, hid), 131072 - 100);
	IB_CHECK_OK(mp_feed_tcp(t.host, 2, 62078, 1, 1, 0, 0x10, 0x200, NULL, 0));
	IB_CHECK_EQ(ib_mux_engine_send_space(t.host, hid), 131072 - 100);
	/* a partial ack, then the window shrinks to 0 */
	IB_CHECK_OK(mp_feed_tcp(t.host, 2, 62078, 1, 1, 51, 0x10, 0x200, NULL, 0));
	IB_CHECK_EQ(ib_mux_engine_send_space(t.host, hid), 131072 - 50);
	IB_CHECK_EQ(ib_mux_engine_send_pending(t.host, hid), 50);
	IB_CHECK_OK(mp_feed_tcp(t.host, 2, 62078, 1, 1, 101, 0x10, 0, NULL, 0));
	IB_CHECK_EQ(ib_mux_engine_send_space(t.host, hid), 0);
	IB_CHECK_EQ(ib_mux_engine_send_pending(t.host, hid), 0);
	mux_pair_free(&t);
}

IB_TEST(control_packets_go_before_data)
{
	static uint8_t data[200000];
	struct mux_pair t;
	struct ib_mux_packet p;
	uint8_t buf[IB_MUX_MTU];
	size_t acc;
	uint32_t a, da, b, db, c;

	IB_CHECK_OK(mp_setup(&t, NULL, NULL));
	IB_CHECK_OK(mux_pair_open(&t, 1, &a, &da));
	IB_CHECK_OK(mux_pair_open(&t, 2, &b, &db));
	IB_CHECK_OK(ib_mux_engine_send(t.dev, db, data, 10, &acc));
	mux_pair_pump(&t);
	/* A: a full window of data queued; B: an ACK due; C: a SYN due */
	IB_CHECK_OK(ib_mux_engine_send(t.host, a, data, sizeof(data), &acc));
	IB_CHECK_EQ(acc, 131072);
	IB_CHECK_OK(ib_mux_engine_recv_consume(t.host, b, 10));
	IB_CHECK_OK(ib_mux_engine_connect(t.host, 3, &c));
	IB_CHECK_OK(mp_next_pkt(t.host, 2, buf, &p));
	IB_CHECK(p.tcp.flags == IB_MUX_TH_ACK && p.tcp.dport == 2 && p.payload_len == 0);
	IB_CHECK_OK(mp_next_pkt(t.host, 2, buf, &p));
	IB_CHECK(p.tcp.flags == IB_MUX_TH_SYN && p.tcp.dport == 3);
	IB_CHECK_OK(mp_next_pkt(t.host, 2, buf, &p));
	IB_CHECK(p.tcp.dport == 1 && p.payload_len == IB_MUX_MAX_PAYLOAD);
	/* an RST due now overtakes A's remaining data too */
	IB_CHECK_OK(ib_mux_engine_close(t.host, b));
	IB_CHECK_OK(mp_next_pkt(t.host, 2, buf, &p));
	IB_CHECK(p.tcp.flags == IB_MUX_TH_RST && p.tcp.dport == 2);
	IB_CHECK_OK(mp_next_pkt(t.host, 2, buf, &p));
	IB_CHECK(p.tcp.dport == 1 && p.payload_len == IB_MUX_MAX_PAYLOAD);
	mux_pair_free(&t);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
		return mp_write_seeds(argv[2]) ? 0 : 1;
	return ib_test_main(argc, argv);
}
