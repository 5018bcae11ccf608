/*
 * mux_proto.c - usbmux packet codec (see mux_proto.h for the contract).
 */
#include "mux_proto.h"
#include "ib_buf.h"
#include "ib_err.h"

#include <string.h>

size_t
ib_mux_hdr_len(uint32_t version)
{
	if (version == 1)
		return IB_MUX_HDR_V1_LEN;
	if (version == 2)
		return IB_MUX_HDR_V2_LEN;
	return 0;
}

int
ib_mux_peek_protocol(const uint8_t *pkt, size_t len, uint32_t *protocolp)
{
	struct ib_buf b;

	ib_buf_init_ro(&b, pkt, len);
	return ib_buf_peek_u32be(&b, 0, protocolp);
}

static int
bad(const char *what, uint32_t v)
{
	ib_err_detail_set("mux packet: %s (0x%x)", what, (unsigned)v);
	return IB_ERR_MUX_PROTOCOL;
}

/* The 20-byte TCP header; checksum and urgent pointer are ignored. */
static int
decode_tcp(struct ib_buf *b, struct ib_mux_tcphdr *th)
{
	uint8_t off;
	uint16_t skip;
	int r;

	if (ib_buf_len(b) < IB_MUX_TCP_HDR_LEN)
		return bad("TCP packet shorter than its header", (uint32_t)ib_buf_len(b));
	if ((r = ib_buf_get_u16be(b, &th->sport)) != IB_OK ||
	    (r = ib_buf_get_u16be(b, &th->dport)) != IB_OK ||
	    (r = ib_buf_get_u32be(b, &th->seq)) != IB_OK ||
	    (r = ib_buf_get_u32be(b, &th->ack)) != IB_OK ||
	    (r = ib_buf_get_u8(b, &off)) != IB_OK ||
	    (r = ib_buf_get_u8(b, &th->flags)) != IB_OK ||
	    (r = ib_buf_get_u16be(b, &th->window)) != IB_OK ||
	    (r = ib_buf_get_u16be(b, &skip)) != IB_OK ||
	    (r = ib_buf_get_u16be(b, &skip)) != IB_OK)
		return r;
	/* Only the offset nibble is checked; the low nibble is reserved. */
	if ((off >> 4) != (IB_MUX_TCP_OFFSET_BYTE >> 4))
		return bad("TCP data offset is not 5", off);
	return IB_OK;
}

int
ib_mux_decode(const uint8_t *pkt, size_t len, uint32_t version,
    struct ib_mux_packet *p)
{
	struct ib_mux_packet d;
	struct ib_buf b;
	size_t hlen = ib_mux_hdr_len(version);
	uint32_t magic;
	int r;

	if (hlen == 0)
		return IB_ERR_INVALID_ARG;
	if (len < hlen)
		return IB_ERR_INCOMPLETE;
	if (len > IB_MUX_MRU)
		return IB_ERR_TOO_LARGE;
	memset(&d, 0, sizeof(d));
	d.version = version;
	ib_buf_init_ro(&b, pkt, len);
	if ((r = ib_buf_get_u32be(&b, &d.protocol)) != IB_OK ||
	    (r = ib_buf_get_u32be(&b, &d.length)) != IB_OK)
		return r;
	if (d.length != len)
		return bad("length field differs from the packet size", d.length);
	if (version == 2) {
		if ((r = ib_buf_get_u32be(&b, &magic)) != IB_OK ||
		    (r = ib_buf_get_u16be(&b, &d.tx_seq)) != IB_OK ||
		    (r = ib_buf_get_u16be(&b, &d.rx_seq)) != IB_OK)
			return r;
		if (magic != IB_MUX_MAGIC)
			return bad("bad v2 magic", magic);
	}
	if (d.protocol == IB_MUX_PROTO_TCP && (r = decode_tcp(&b, &d.tcp)) != IB_OK)
		return r;
	d.payload_len = ib_buf_len(&b);
	if ((r = ib_buf_get_ptr(&b, d.payload_len, &d.payload)) != IB_OK)
		return r;
	*p = d;
	return IB_OK;
}

int
ib_mux_decode_version(const struct ib_mux_packet *p, uint32_t *majorp,
    uint32_t *minorp)
{
	struct ib_buf b;
	uint32_t major, minor, pad;
	int r;

	*majorp = 0;
	*minorp = 0;
	if (p->protocol != IB_MUX_PROTO_VERSION)
		return IB_ERR_INVALID_ARG;
	/* usbmuxd only needs >= 12 bytes; the message has a defined end, so
	 * trailing bytes are refused like everywhere else in ibackup. */
	if (p->payload_len != IB_MUX_VERSION_PAYLOAD_LEN)
		return bad("VERSION payload is not 12 bytes", (uint32_t)p->payload_len);
	ib_buf_init_ro(&b, p->payload, p->payload_len);
	if ((r = ib_buf_get_u32be(&b, &major)) != IB_OK ||
	    (r = ib_buf_get_u32be(&b, &minor)) != IB_OK ||
	    (r = ib_buf_get_u32be(&b, &pad)) != IB_OK)
		return r;
	*majorp = major;
	*minorp = minor;
	return IB_OK;
}

int
ib_mux_decode_control(const struct ib_mux_packet *p, uint8_t *typep,
    const uint8_t **textp, size_t *lenp)
{
	struct ib_buf b;
	int r;

	*typep = 0;
	*textp = NULL;
	*lenp = 0;
	if (p->protocol != IB_MUX_PROTO_CONTROL)
		return IB_ERR_INVALID_ARG;
	ib_buf_init_ro(&b, p->payload, p->payload_len);
	if (ib_buf_get_u8(&b, typep) != IB_OK)
		return bad("empty CONTROL payload", 0);
	*lenp = ib_buf_len(&b);
	if ((r = ib_buf_get_ptr(&b, *lenp, textp)) != IB_OK)
		*lenp = 0;
	return r;
}

static void
put16(uint8_t *d, uint16_t v)
{
	d[0] = (uint8_t)(v >> 8);
	d[1] = (uint8_t)v;
}

static void
put32(uint8_t *d, uint32_t v)
{
	d[0] = (uint8_t)(v >> 24);
	d[1] = (uint8_t)(v >> 16);
	d[2] = (uint8_t)(v >> 8);
	d[3] = (uint8_t)v;
}

int
ib_mux_encode_head(uint8_t *out, size_t cap, const struct ib_mux_packet *p,
    size_t *head_lenp)
{
	size_t hlen = ib_mux_hdr_len(p->version);
	size_t head, total;

	*head_lenp = 0;
	if (hlen == 0)
		return IB_ERR_INVALID_ARG;
	head = hlen + (p->protocol == IB_MUX_PROTO_TCP ? IB_MUX_TCP_HDR_LEN : 0);
	if (p->payload_len > IB_MUX_MTU - head)
		return IB_ERR_TOO_LARGE;
	total = head + p->payload_len;
	if (total > cap)
		return IB_ERR_TOO_LARGE;
	put32(out, p->protocol);
	put32(out + 4, (uint32_t)total);
	if (p->version == 2) {
		put32(out + 8, IB_MUX_MAGIC);
		put16(out + 12, p->tx_seq);
		put16(out + 14, p->rx_seq);
	}
	if (p->protocol == IB_MUX_PROTO_TCP) {
		uint8_t *t = out + hlen;

		put16(t, p->tcp.sport);
		put16(t + 2, p->tcp.dport);
		put32(t + 4, p->tcp.seq);
		put32(t + 8, p->tcp.ack);
		t[12] = IB_MUX_TCP_OFFSET_BYTE;
		t[13] = p->tcp.flags;
		put16(t + 14, p->tcp.window);
		put32(t + 16, 0);       /* checksum 0, urgent pointer 0 */
	}
	*head_lenp = head;
	return IB_OK;
}

int
ib_mux_encode(uint8_t *out, size_t cap, const struct ib_mux_packet *p,
    size_t *lenp)
{
	size_t head;
	int r;

	*lenp = 0;
	if ((r = ib_mux_encode_head(out, cap, p, &head)) != IB_OK)
		return r;
	if (p->payload_len > 0)
		memcpy(out + head, p->payload, p->payload_len);
	*lenp = head + p->payload_len;
	return IB_OK;
}

int
ib_mux_encode_version(uint8_t *out, size_t cap, uint32_t major,
    uint32_t minor, size_t *lenp)
{
	struct ib_mux_packet p;
	uint8_t pl[IB_MUX_VERSION_PAYLOAD_LEN];

	put32(pl, major);
	put32(pl + 4, minor);
	put32(pl + 8, 0);
	memset(&p, 0, sizeof(p));
	p.version = 1;          /* always the short header (usbmux.md 2.2) */
	p.protocol = IB_MUX_PROTO_VERSION;
	p.payload = pl;
	p.payload_len = sizeof(pl);
	return ib_mux_encode(out, cap, &p, lenp);
}

int
ib_mux_encode_setup(uint8_t *out, size_t cap, uint16_t tx_seq,
    uint16_t rx_seq, size_t *lenp)
{
	static const uint8_t setup_byte = IB_MUX_SETUP_BYTE;
	struct ib_mux_packet p;

	memset(&p, 0, sizeof(p));
	p.version = 2;
	p.protocol = IB_MUX_PROTO_SETUP;
	p.tx_seq = tx_seq;
	p.rx_seq = rx_seq;
	p.payload = &setup_byte;
	p.payload_len = 1;
	return ib_mux_encode(out, cap, &p, lenp);
}

void
ib_mux_stamp_seq(uint8_t *pkt, uint16_t tx_seq, uint16_t rx_seq)
{
	put16(pkt + 12, tx_seq);
	put16(pkt + 14, rx_seq);
}

size_t
ib_mux_text_sanitize(char *out, const uint8_t *text, size_t n)
{
	size_t i;

	if (n > IB_MUX_TEXT_MAX)
		n = IB_MUX_TEXT_MAX;
	while (n > 0 && (text[n - 1] == '\0' || text[n - 1] == '\n' ||
	    text[n - 1] == '\r'))
		n--;
	for (i = 0; i < n; i++)
		out[i] = (text[i] >= 0x20 && text[i] < 0x7f) ? (char)text[i] : '?';
	out[n] = '\0';
	return n;
}
