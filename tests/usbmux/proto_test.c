/*
 * mux packet codec: the exact bytes of usbmux.md 2.2, 2.3 and 2.7, round
 * trips of every packet kind in both header versions, and refusal of
 * every malformed shape.
 */
#include "ib_test.h"
#include "mux_proto.h"

#include <string.h>

/* usbmux.md 2.2 */
static const uint8_t version_req[20] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14,
	0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* usbmux.md 2.3 */
static const uint8_t setup_pkt[17] = {
	0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x11,
	0xfe, 0xed, 0xfa, 0xce, 0x00, 0x00, 0xff, 0xff, 0x07,
};
/* usbmux.md 2.7: first SYN to lockdownd after SETUP */
static const uint8_t first_syn[36] = {
	0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x24,
	0xfe, 0xed, 0xfa, 0xce, 0x00, 0x01, 0xff, 0xff,
	0x00, 0x01, 0xf2, 0x7e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x50, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static void
syn_packet(struct ib_mux_packet *p)
{
	memset(p, 0, sizeof(*p));
	p->version = 2;
	p->protocol = IB_MUX_PROTO_TCP;
	p->tx_seq = 1;
	p->rx_seq = 0xffff;
	p->tcp.sport = 1;
	p->tcp.dport = 62078;
	p->tcp.flags = IB_MUX_TH_SYN;
	p->tcp.window = 131072 >> 8;
}

static int
same_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

IB_TEST(encodes_documented_packets_exactly)
{
	struct ib_mux_packet p;
	uint8_t out[64];
	size_t len;

	IB_CHECK_OK(ib_mux_encode_version(out, sizeof(out), 2, 0, &len));
	IB_CHECK(same_bytes(out, len, version_req, sizeof(version_req)));
	IB_CHECK_OK(ib_mux_encode_setup(out, sizeof(out), 0, 0xffff, &len));
	IB_CHECK(same_bytes(out, len, setup_pkt, sizeof(setup_pkt)));
	syn_packet(&p);
	IB_CHECK_OK(ib_mux_encode(out, sizeof(out), &p, &len));
	IB_CHECK(same_bytes(out, len, first_syn, sizeof(first_syn)));
}

IB_TEST(decodes_documented_packets)
{
	struct ib_mux_packet p;
	uint32_t major, minor;

	IB_CHECK_OK(ib_mux_decode(version_req, sizeof(version_req), 1, &p));
	IB_CHECK_EQ(p.protocol, IB_MUX_PROTO_VERSION);
	IB_CHECK_OK(ib_mux_decode_version(&p, &major, &minor));
	IB_CHECK_EQ(major, 2);
	IB_CHECK_EQ(minor, 0);

	IB_CHECK_OK(ib_mux_decode(setup_pkt, sizeof(setup_pkt), 2, &p));
	IB_CHECK_EQ(p.protocol, IB_MUX_PROTO_SETUP);
	IB_CHECK_EQ(p.tx_seq, 0);
	IB_CHECK_EQ(p.rx_seq, 0xffff);
	IB_CHECK_EQ(p.payload_len, 1);
	IB_CHECK_EQ(p.payload[0], 0x07);

	IB_CHECK_OK(ib_mux_decode(first_syn, sizeof(first_syn), 2, &p));
	IB_CHECK_EQ(p.protocol, IB_MUX_PROTO_TCP);
	IB_CHECK_EQ(p.length, 36);
	IB_CHECK_EQ(p.tx_seq, 1);
	IB_CHECK_EQ(p.tcp.sport, 1);
	IB_CHECK_EQ(p.tcp.dport, 62078);
	IB_CHECK_EQ(p.tcp.flags, IB_MUX_TH_SYN);
	IB_CHECK_EQ(p.tcp.window, 0x200);
	IB_CHECK_EQ(p.payload_len, 0);
}

static int
same_packet(const struct ib_mux_packet *a, const struct ib_mux_packet *b)
{
	if (a->version != b->version || a->protocol != b->protocol ||
	    a->payload_len != b->payload_len)
		return 0;
	if (a->version == 2 && (a->tx_seq != b->tx_seq || a->rx_seq != b->rx_seq))
		return 0;
	if (a->protocol == IB_MUX_PROTO_TCP &&
	    (a->tcp.sport != b->tcp.sport || a->tcp.dport != b->tcp.dport ||
	    a->tcp.seq != b->tcp.seq || a->tcp.ack != b->tcp.ack ||
	    a->tcp.flags != b->tcp.flags || a->tcp.window != b->tcp.window))
		return 0;
	return a->payload_len == 0 ||
	    memcmp(a->payload, b->payload, a->payload_len) == 0;
}

IB_TEST(round_trips_every_kind_in_both_versions)
{
	static uint8_t big[IB_MUX_MAX_PAYLOAD];
	static uint8_t out[IB_MUX_MTU];
	const uint32_t protos[] = { IB_MUX_PROTO_VERSION, IB_MUX_PROTO_CONTROL,
	    IB_MUX_PROTO_SETUP, IB_MUX_PROTO_TCP, 0x77 };
	const size_t sizes[] = { 0, 1, 12, 1000, IB_MUX_MAX_PAYLOAD };
	struct ib_mux_packet p, d;
	size_t i, j, len, head;
	uint32_t v;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 3);
	for (v = 1; v <= 2; v++) {
		for (i = 0; i < 5; i++) {
			for (j = 0; j < 5; j++) {
				memset(&p, 0, sizeof(p));
				p.version = v;
				p.protocol = protos[i];
				if (v == 2) {
					p.tx_seq = (uint16_t)(0xfff0 + i);
					p.rx_seq = (uint16_t)(j * 1000);
				}
				p.tcp.sport = 0xbeef;
				p.tcp.dport = 62078;
				p.tcp.seq = 0xfffffff0u + (uint32_t)j;
				p.tcp.ack = 0x12345678;
				p.tcp.flags = (uint8_t)(IB_MUX_TH_ACK | i);
				p.tcp.window = 0x0800;
				p.payload = big;
				p.payload_len = sizes[j];
				IB_CHECK_OK(ib_mux_encode(out, sizeof(out), &p, &len));
				head = ib_mux_hdr_len(v) +
				    (protos[i] == IB_MUX_PROTO_TCP ? 20 : 0);
				IB_CHECK_EQ(len, head + sizes[j]);
				IB_CHECK_OK(ib_mux_decode(out, len, v, &d));
				IB_CHECK_EQ(d.length, len);
				IB_CHECK(same_packet(&p, &d));
				IB_CHECK(d.payload == out + head);
			}
		}
	}
}

IB_TEST(round_trips_control)
{
	struct ib_mux_packet p, d;
	uint8_t out[64], pl[6] = { 7, 'h', 'e', 'l', 'l', 'o' }, type;
	const uint8_t *text;
	size_t len, n;

	memset(&p, 0, sizeof(p));
	p.version = 2;
	p.protocol = IB_MUX_PROTO_CONTROL;
	p.payload = pl;
	p.payload_len = sizeof(pl);
	IB_CHECK_OK(ib_mux_encode(out, sizeof(out), &p, &len));
	IB_CHECK_OK(ib_mux_decode(out, len, 2, &d));
	IB_CHECK_OK(ib_mux_decode_control(&d, &type, &text, &n));
	IB_CHECK_EQ(type, 7);
	IB_CHECK_EQ(n, 5);
	IB_CHECK(memcmp(text, "hello", 5) == 0);
	/* type byte alone: empty text */
	p.payload_len = 1;
	IB_CHECK_OK(ib_mux_encode(out, sizeof(out), &p, &len));
	IB_CHECK_OK(ib_mux_decode(out, len, 2, &d));
	IB_CHECK_OK(ib_mux_decode_control(&d, &type, &text, &n));
	IB_CHECK_EQ(n, 0);
	/* nothing at all */
	p.payload_len = 0;
	IB_CHECK_OK(ib_mux_encode(out, sizeof(out), &p, &len));
	IB_CHECK_OK(ib_mux_decode(out, len, 2, &d));
	IB_CHECK_ERR(ib_mux_decode_control(&d, &type, &text, &n), IB_ERR_MUX_PROTOCOL);
}

IB_TEST(rejects_short_header)
{
	struct ib_mux_packet p;
	size_t n;

	for (n = 0; n < 8; n++)
		IB_CHECK_ERR(ib_mux_decode(version_req, n, 1, &p), IB_ERR_INCOMPLETE);
	for (n = 0; n < 16; n++)
		IB_CHECK_ERR(ib_mux_decode(first_syn, n, 2, &p), IB_ERR_INCOMPLETE);
	IB_CHECK_ERR(ib_mux_peek_protocol(first_syn, 3, &(uint32_t){ 0 }),
	    IB_ERR_INCOMPLETE);
}

IB_TEST(rejects_every_truncation_and_extension)
{
	uint8_t buf[64];
	struct ib_mux_packet p;
	size_t n;

	/* The length field no longer matches: never decoded. */
	for (n = 16; n < sizeof(first_syn); n++)
		IB_CHECK_ERR(ib_mux_decode(first_syn, n, 2, &p), IB_ERR_MUX_PROTOCOL);
	memcpy(buf, first_syn, sizeof(first_syn));
	buf[36] = 0;
	IB_CHECK_ERR(ib_mux_decode(buf, 37, 2, &p), IB_ERR_MUX_PROTOCOL);
	/* length field says more than the packet holds */
	buf[7] = 0x30;
	IB_CHECK_ERR(ib_mux_decode(buf, 36, 2, &p), IB_ERR_MUX_PROTOCOL);
	/* ... or less */
	buf[7] = 0x10;
	IB_CHECK_ERR(ib_mux_decode(buf, 36, 2, &p), IB_ERR_MUX_PROTOCOL);
}

IB_TEST(rejects_packets_above_mru)
{
	static uint8_t big[IB_MUX_MRU + 1];
	struct ib_mux_packet p;

	/* Even with a matching length field. */
	big[3] = IB_MUX_PROTO_TCP;
	big[4] = (uint8_t)((IB_MUX_MRU + 1) >> 24);
	big[5] = (uint8_t)((IB_MUX_MRU + 1) >> 16);
	big[6] = (uint8_t)((IB_MUX_MRU + 1) >> 8);
	big[7] = (uint8_t)(IB_MUX_MRU + 1);
	IB_CHECK_ERR(ib_mux_decode(big, sizeof(big), 1, &p), IB_ERR_TOO_LARGE);
	/* Exactly the MRU is fine (an unknown protocol, 8-byte header). */
	big[3] = 0x55;
	big[5] = 0x01;
	big[6] = 0;
	big[7] = 0;
	IB_CHECK_OK(ib_mux_decode(big, IB_MUX_MRU, 1, &p));
	IB_CHECK_EQ(p.payload_len, IB_MUX_MRU - 8);
}

IB_TEST(rejects_bad_magic)
{
	uint8_t buf[36];
	struct ib_mux_packet p;

	memcpy(buf, first_syn, sizeof(buf));
	buf[11] ^= 1;
	IB_CHECK_ERR(ib_mux_decode(buf, sizeof(buf), 2, &p), IB_ERR_MUX_PROTOCOL);
	/* The same bytes read as v1 have no magic but a broken TCP header. */
	IB_CHECK_ERR(ib_mux_decode(first_syn, sizeof(first_syn), 1, &p),
	    IB_ERR_MUX_PROTOCOL);
}

IB_TEST(rejects_short_tcp_and_bad_offset)
{
	uint8_t buf[36];
	struct ib_mux_packet p;
	size_t n;

	/* TCP header shorter than 20 bytes, length field consistent */
	for (n = 16; n < 36; n++) {
		memcpy(buf, first_syn, sizeof(buf));
		buf[7] = (uint8_t)n;
		IB_CHECK_ERR(ib_mux_decode(buf, n, 2, &p), IB_ERR_MUX_PROTOCOL);
	}
	memcpy(buf, first_syn, sizeof(buf));
	buf[28] = 0x60;
	IB_CHECK_ERR(ib_mux_decode(buf, sizeof(buf), 2, &p), IB_ERR_MUX_PROTOCOL);
	buf[28] = 0x40;
	IB_CHECK_ERR(ib_mux_decode(buf, sizeof(buf), 2, &p), IB_ERR_MUX_PROTOCOL);
	/* Reserved low nibble is not the offset. */
	buf[28] = 0x51;
	IB_CHECK_OK(ib_mux_decode(buf, sizeof(buf), 2, &p));
	/* Non-TCP packets have no TCP header to check. */
	buf[3] = IB_MUX_PROTO_CONTROL;
	buf[28] = 0;
	IB_CHECK_OK(ib_mux_decode(buf, sizeof(buf), 2, &p));
	IB_CHECK_EQ(p.payload_len, 20);
}

IB_TEST(rejects_bad_version_payload)
{
	uint8_t buf[24];
	struct ib_mux_packet p;
	uint32_t major, minor;

	memcpy(buf, version_req, 20);
	buf[7] = 19;
	IB_CHECK_OK(ib_mux_decode(buf, 19, 1, &p));
	IB_CHECK_ERR(ib_mux_decode_version(&p, &major, &minor), IB_ERR_MUX_PROTOCOL);
	buf[7] = 24;
	memset(buf + 20, 0, 4);
	IB_CHECK_OK(ib_mux_decode(buf, 24, 1, &p));
	IB_CHECK_ERR(ib_mux_decode_version(&p, &major, &minor), IB_ERR_MUX_PROTOCOL);
	IB_CHECK_ERR(ib_mux_decode(version_req, 20, 3, &p), IB_ERR_INVALID_ARG);
}

IB_TEST(encoder_refuses_what_does_not_fit)
{
	static uint8_t out[IB_MUX_MTU + 64];
	static uint8_t pl[IB_MUX_MTU];
	struct ib_mux_packet p;
	size_t len = 99;

	syn_packet(&p);
	IB_CHECK_ERR(ib_mux_encode(out, 35, &p, &len), IB_ERR_TOO_LARGE);
	IB_CHECK_EQ(len, 0);
	p.payload = pl;
	p.payload_len = IB_MUX_MAX_PAYLOAD + 1;
	IB_CHECK_ERR(ib_mux_encode(out, sizeof(out), &p, &len), IB_ERR_TOO_LARGE);
	p.payload_len = IB_MUX_MAX_PAYLOAD;
	IB_CHECK_OK(ib_mux_encode(out, sizeof(out), &p, &len));
	IB_CHECK_EQ(len, IB_MUX_MTU);
	IB_CHECK_ERR(ib_mux_encode_version(out, 19, 2, 0, &len), IB_ERR_TOO_LARGE);
	p.version = 3;
	IB_CHECK_ERR(ib_mux_encode(out, sizeof(out), &p, &len), IB_ERR_INVALID_ARG);
}

IB_TEST(stamps_seq_fields)
{
	uint8_t buf[36];
	struct ib_mux_packet p;

	memcpy(buf, first_syn, sizeof(buf));
	ib_mux_stamp_seq(buf, 0x1234, 0xabcd);
	IB_CHECK_OK(ib_mux_decode(buf, sizeof(buf), 2, &p));
	IB_CHECK_EQ(p.tx_seq, 0x1234);
	IB_CHECK_EQ(p.rx_seq, 0xabcd);
	IB_CHECK_EQ(p.tcp.sport, 1);
}

IB_TEST(sanitises_peer_text)
{
	static uint8_t big[IB_MUX_TEXT_MAX + 100];
	char out[IB_MUX_TEXT_MAX + 1];
	const uint8_t raw[] = { 'o', 'k', 0x1b, '[', '3', '1', 'm', 0xff, 0,
	    'x', '\r', '\n', 0, 0 };

	IB_CHECK_EQ(ib_mux_text_sanitize(out, raw, sizeof(raw)), 10);
	IB_CHECK_STR(out, "ok?[31m??x");
	IB_CHECK_EQ(ib_mux_text_sanitize(out, NULL, 0), 0);
	IB_CHECK_STR(out, "");
	memset(big, 'a', sizeof(big));
	IB_CHECK_EQ(ib_mux_text_sanitize(out, big, sizeof(big)), IB_MUX_TEXT_MAX);
	IB_CHECK_EQ(strlen(out), IB_MUX_TEXT_MAX);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
