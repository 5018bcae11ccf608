/*
 * mux_engine.c - the link level of the usbmux engine (mux_engine.h):
 * VERSION and SETUP, CONTROL messages, v2 sequence fields, the order of
 * output, events, abort and fault injection. Streams live in
 * mux_stream.c. Facts: ../shared/protocol/usbmux.md section 2.
 */
#include "mux_engine_int.h"
#include "ib_err.h"
#include "ib_log.h"

#include <stdlib.h>
#include <string.h>

/* Usbmuxd's window: 0x0200 on the wire (usbmux.md 2.6). */
#define DEFAULT_RX_WINDOW 131072u
#define HIGHEST_VERSION 2u

static int
cfg_normalise(const struct ib_mux_engine_cfg *in, struct ib_mux_engine_cfg *c)
{
	*c = *in;
	if (c->role != IB_MUX_ROLE_HOST && c->role != IB_MUX_ROLE_DEVICE)
		return IB_ERR_INVALID_ARG;
	if (c->rx_window == 0)
		c->rx_window = DEFAULT_RX_WINDOW;
	if (c->rx_window > IB_MUX_STREAM_RXBUF)
		c->rx_window = IB_MUX_STREAM_RXBUF;
	c->rx_window &= ~0xffu;
	if (c->rx_window < 256)
		c->rx_window = 256;
	if (c->max_payload == 0 || c->max_payload > IB_MUX_MAX_PAYLOAD)
		c->max_payload = IB_MUX_MAX_PAYLOAD;
	if (c->max_version == 0)
		c->max_version = HIGHEST_VERSION;
	if (c->max_version > HIGHEST_VERSION)
		return IB_ERR_INVALID_ARG;
	return IB_OK;
}

struct ib_mux_engine *
ib_mux_engine_new(const struct ib_mux_engine_cfg *cfg)
{
	struct ib_mux_engine *e;

	if (cfg == NULL || (e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if (cfg_normalise(cfg, &e->cfg) != IB_OK) {
		free(e);
		return NULL;
	}
	e->link = e->cfg.role == IB_MUX_ROLE_HOST ? LINK_INIT : LINK_WAIT_VERSION;
	e->rx_seq = 0xffff;
	e->next_id = 1;
	e->next_port = 1;
	/* xorshift must not start at 0 */
	e->rng = ((uint64_t)e->cfg.seed << 32) ^ 0x9e3779b97f4a7c15ull;
	return e;
}

void
ib_mux_engine_free(struct ib_mux_engine *e)
{
	if (e == NULL)
		return;
	mux_streams_free(e);
	free(e);
}

/* --- queued link-level packets ------------------------------------------ */

/* Queue a link-level packet already encoded. */
static int
blob_push_raw(struct ib_mux_engine *e, const uint8_t *pkt, size_t len, int stamp)
{
	struct mux_blob *b;

	if (e->blob_n == MUX_BLOBS)
		return IB_ERR_WOULD_BLOCK;
	b = &e->blob[(e->blob_head + e->blob_n) % MUX_BLOBS];
	memcpy(b->d, pkt, len);
	b->len = (uint16_t)len;
	b->stamp = (uint8_t)stamp;
	e->blob_n++;
	return IB_OK;
}

static int
blob_push(struct ib_mux_engine *e, const struct ib_mux_packet *p, int stamp)
{
	uint8_t pkt[MUX_BLOB_MAX];
	size_t len;
	int r;

	if ((r = ib_mux_encode(pkt, sizeof(pkt), p, &len)) != IB_OK)
		return r;
	return blob_push_raw(e, pkt, len, p->version == 2 ? stamp : STAMP_NONE);
}

void
mux_packet_start(struct ib_mux_engine *e, struct ib_mux_packet *p,
    uint32_t protocol)
{
	memset(p, 0, sizeof(*p));
	p->version = e->hdr_version;
	p->protocol = protocol;
	if (p->version == 2) {
		p->tx_seq = e->tx_seq++;
		p->rx_seq = e->rx_seq;
	}
}

/* A packet built ahead for the current header, not yet stamped. */
static void
blob_packet(const struct ib_mux_engine *e, struct ib_mux_packet *p,
    uint32_t protocol)
{
	memset(p, 0, sizeof(*p));
	p->version = e->hdr_version;
	p->protocol = protocol;
}

void
mux_anon_rst(struct ib_mux_engine *e, uint16_t sport, uint16_t dport,
    uint32_t seq, uint32_t ack)
{
	struct mux_anon *a;

	if (e->anon_n == IB_MUX_ANON_RST_MAX) {
		ib_debug("RST queue full; RST %u->%u dropped", sport, dport);
		return;
	}
	a = &e->anon[(e->anon_head + e->anon_n) % IB_MUX_ANON_RST_MAX];
	a->sport = sport;
	a->dport = dport;
	a->seq = seq;
	a->ack = ack;
	e->anon_n++;
}

/* --- input -------------------------------------------------------------- */

static void
fatal(struct ib_mux_engine *e, int err)
{
	ib_warn("mux link failed: %s", ib_strerror(err));
	ib_mux_engine_abort(e, err);
	e->fatal_ev = 1;
}

/* VERSION always goes out with the short header (usbmux.md 2.2). */
static int
blob_push_version(struct ib_mux_engine *e, uint32_t major)
{
	uint8_t pkt[IB_MUX_HDR_V1_LEN + IB_MUX_VERSION_PAYLOAD_LEN];
	size_t len;
	int r;

	if ((r = ib_mux_encode_version(pkt, sizeof(pkt), major, 0, &len)) != IB_OK)
		return r;
	return blob_push_raw(e, pkt, len, STAMP_NONE);
}

static int
version_input(struct ib_mux_engine *e, const uint8_t *pkt, size_t len)
{
	struct ib_mux_packet p;
	uint32_t major, minor;
	int r;

	if (e->cfg.role == IB_MUX_ROLE_DEVICE &&
	    (e->link == LINK_READY || e->link == LINK_WAIT_SETUP)) {
		/* A new host session on the same link: the host process
		 * exited and another one (or a restarted usbmuxd) opened the
		 * device. Every ibackup command does this, so a device must
		 * start over: drop the old session's streams and queued
		 * output, and answer the VERSION afresh. */
		ib_debug("VERSION from a new host session: resetting the link");
		mux_streams_abort(e, IB_ERR_MUX_RESET);
		e->blob_n = 0;
		e->anon_n = 0;
		e->hdr_version = 0;
		e->version = 0;
		e->link = LINK_WAIT_VERSION;
	}
	if (e->link != LINK_WAIT_VERSION) {
		ib_debug("VERSION ignored (%s)", e->link == LINK_INIT ?
		    "not started" : "already agreed");
		return IB_OK;
	}
	if ((r = ib_mux_decode(pkt, len, 1, &p)) != IB_OK ||
	    (r = ib_mux_decode_version(&p, &major, &minor)) != IB_OK) {
		fatal(e, IB_ERR_MUX_PROTOCOL);
		return IB_ERR_MUX_PROTOCOL;
	}
	if (e->cfg.role == IB_MUX_ROLE_DEVICE) {
		if (major == 0) {
			fatal(e, IB_ERR_MUX_VERSION);
			return IB_ERR_MUX_VERSION;
		}
		if (major > e->cfg.max_version)
			major = e->cfg.max_version;
		if ((r = blob_push_version(e, major)) != IB_OK)
			return r;
		e->hdr_version = major;
		if (major == 1) {
			e->version = 1;
			e->link = LINK_READY;
			e->ready_ev = 1;
		} else {
			e->link = LINK_WAIT_SETUP;
		}
		return IB_OK;
	}
	if (major != 1 && major != 2) {
		ib_err_detail_set("device answered mux version %u.%u", major, minor);
		fatal(e, IB_ERR_MUX_VERSION);
		return IB_ERR_MUX_VERSION;
	}
	ib_debug("device speaks mux version %u.%u", major, minor);
	e->version = major;
	e->hdr_version = major;
	if (major == 2) {
		blob_packet(e, &p, IB_MUX_PROTO_SETUP);
		p.payload = (const uint8_t *)"\x07";
		p.payload_len = 1;
		if ((r = blob_push(e, &p, STAMP_SETUP)) != IB_OK)
			return r;
	}
	e->link = LINK_READY;
	e->ready_ev = 1;
	return IB_OK;
}

static void
setup_input(struct ib_mux_engine *e, const struct ib_mux_packet *p)
{
	if (e->cfg.role != IB_MUX_ROLE_DEVICE || e->link != LINK_WAIT_SETUP) {
		ib_debug("SETUP ignored");
		return;
	}
	if (p->payload_len != 1) {
		ib_debug("SETUP with %zu payload bytes ignored", p->payload_len);
		return;
	}
	if (p->payload[0] != IB_MUX_SETUP_BYTE)
		ib_debug("SETUP byte 0x%02x (expected 0x07)", p->payload[0]);
	/* Peer reset its counter; our answer starts at 0 too. */
	e->tx_seq = 0;
	e->version = 2;
	e->link = LINK_READY;
	e->ready_ev = 1;
}

static void
control_input(struct ib_mux_engine *e, const struct ib_mux_packet *p)
{
	struct mux_ctlev *c;
	const uint8_t *text;
	uint8_t type;
	size_t n;

	/*
	 * usbmuxd reads the CONTROL payload at offset 16 whatever the header
	 * version, which is only right for v2; we parse after the header
	 * the packet really has.
	 */
	if (e->cfg.role != IB_MUX_ROLE_HOST ||
	    ib_mux_decode_control(p, &type, &text, &n) != IB_OK) {
		ib_debug("CONTROL packet ignored");
		return;
	}
	if (e->ctlev_n == IB_MUX_CONTROL_EVENTS) {
		ib_debug("CONTROL queue full; message dropped");
		return;
	}
	c = &e->ctlev[(e->ctlev_head + e->ctlev_n) % IB_MUX_CONTROL_EVENTS];
	c->type = type;
	ib_mux_text_sanitize(c->text, text, n);
	e->ctlev_n++;
	ib_info("device message (type %u): %s", type, c->text);
}

int
ib_mux_engine_input(struct ib_mux_engine *e, const uint8_t *pkt, size_t len,
    uint64_t now_ms)
{
	struct ib_mux_packet p;
	uint32_t proto;
	int r;

	(void)now_ms;
	if (e->link == LINK_DEAD)
		return e->dead_err;
	if (ib_mux_peek_protocol(pkt, len, &proto) != IB_OK) {
		ib_debug("runt packet of %zu bytes dropped", len);
		return IB_OK;
	}
	/* VERSION always has the short header, even once v2 is agreed. */
	if (proto == IB_MUX_PROTO_VERSION)
		return version_input(e, pkt, len);
	if (e->hdr_version == 0) {
		ib_debug("packet (protocol %u) before VERSION dropped", proto);
		return IB_OK;
	}
	if ((r = ib_mux_decode(pkt, len, e->hdr_version, &p)) != IB_OK) {
		ib_debug("bad packet dropped: %s %s", ib_strerror(r), ib_err_detail());
		return IB_OK;
	}
	/*
	 * rx_seq meaning differs: usbmuxd copies the device's rx_seq field
	 * into its own; usbmuxd2 keeps the last device tx_seq it received
	 * (and reorders/drops by it). We keep the usbmuxd2 meaning and never
	 * reject a packet over these fields: both hosts work with real
	 * phones, so phones evidently do not check them strictly.
	 */
	if (p.version == 2)
		e->rx_seq = p.tx_seq;
	switch (p.protocol) {
	case IB_MUX_PROTO_SETUP:
		setup_input(e, &p);
		break;
	case IB_MUX_PROTO_CONTROL:
		control_input(e, &p);
		break;
	case IB_MUX_PROTO_TCP:
		if (e->link != LINK_READY)
			ib_debug("TCP packet before the link is ready dropped");
		else
			mux_tcp_input(e, &p);
		break;
	default:
		ib_debug("packet of unknown protocol %u dropped", p.protocol);
		break;
	}
	return IB_OK;
}

/* --- output ------------------------------------------------------------- */

static size_t
blob_output(struct ib_mux_engine *e)
{
	struct mux_blob *b = &e->blob[e->blob_head];
	size_t len = b->len;

	if (b->stamp == STAMP_SETUP) {
		/* usbmux.md 2.3: counters restart just before SETUP. */
		e->tx_seq = 0;
		e->rx_seq = 0xffff;
	}
	if (b->stamp != STAMP_NONE)
		ib_mux_stamp_seq(b->d, e->tx_seq++, e->rx_seq);
	memcpy(e->out, b->d, len);
	e->blob_head = (e->blob_head + 1) % MUX_BLOBS;
	e->blob_n--;
	return len;
}

static size_t
anon_output(struct ib_mux_engine *e)
{
	struct mux_anon *a = &e->anon[e->anon_head];
	struct ib_mux_packet p;
	size_t len;

	e->anon_head = (e->anon_head + 1) % IB_MUX_ANON_RST_MAX;
	e->anon_n--;
	mux_packet_start(e, &p, IB_MUX_PROTO_TCP);
	p.tcp.sport = a->sport;
	p.tcp.dport = a->dport;
	p.tcp.seq = a->seq;
	p.tcp.ack = a->ack;
	p.tcp.flags = IB_MUX_TH_RST;
	if (ib_mux_encode(e->out, sizeof(e->out), &p, &len) != IB_OK)
		return 0;
	return len;
}

int
ib_mux_engine_output(struct ib_mux_engine *e, const uint8_t **pktp,
    size_t *lenp, uint64_t now_ms)
{
	struct mux_stream *s;
	size_t len = 0;

	(void)now_ms;
	*pktp = NULL;
	*lenp = 0;
	if (e->link == LINK_DEAD)
		return IB_ERR_WOULD_BLOCK;
	if (e->blob_n > 0)
		len = blob_output(e);
	else if (e->anon_n > 0)
		len = anon_output(e);
	while (len == 0 && (s = e->list[L_CTL].head) != NULL)
		len = mux_stream_ctl_output(e, s);
	while (len == 0 && (s = e->list[L_DATA].head) != NULL)
		len = mux_stream_data_output(e, s);
	if (len == 0)
		return IB_ERR_WOULD_BLOCK;
	*pktp = e->out;
	*lenp = len;
	return IB_OK;
}

/* --- events ------------------------------------------------------------- */

int
ib_mux_engine_next_event(struct ib_mux_engine *e, struct ib_mux_event *ev)
{
	struct mux_stream *s;

	memset(ev, 0, sizeof(*ev));
	if (e->ready_ev) {
		e->ready_ev = 0;
		ev->type = IB_MUX_EV_READY;
		return IB_OK;
	}
	if (e->ctlev_n > 0) {
		struct mux_ctlev *c = &e->ctlev[e->ctlev_head];

		ev->type = IB_MUX_EV_CONTROL;
		ev->control_type = c->type;
		memcpy(ev->text, c->text, sizeof(ev->text));
		e->ctlev_head = (e->ctlev_head + 1) % IB_MUX_CONTROL_EVENTS;
		e->ctlev_n--;
		return IB_OK;
	}
	if ((s = e->list[L_EV].head) != NULL) {
		mux_stream_take_event(e, s, ev);
		return IB_OK;
	}
	if (e->fatal_ev) {
		e->fatal_ev = 0;
		ev->type = IB_MUX_EV_FATAL;
		ev->err = e->dead_err;
		return IB_OK;
	}
	return IB_ERR_WOULD_BLOCK;
}

/* --- link-wide API ------------------------------------------------------ */

int
ib_mux_engine_start(struct ib_mux_engine *e)
{
	int r;

	if (e->cfg.role == IB_MUX_ROLE_DEVICE)
		return IB_OK;   /* the device waits for the host */
	if (e->link != LINK_INIT)
		return IB_ERR_STATE;
	if ((r = blob_push_version(e, HIGHEST_VERSION)) != IB_OK)
		return r;
	e->link = LINK_WAIT_VERSION;
	return IB_OK;
}

uint32_t
ib_mux_engine_version(const struct ib_mux_engine *e)
{
	return e->link == LINK_READY ? e->version : 0;
}

void
ib_mux_engine_abort(struct ib_mux_engine *e, int err)
{
	if (e->link == LINK_DEAD)
		return;
	mux_streams_abort(e, err);
	e->link = LINK_DEAD;
	e->dead_err = err;
	e->blob_n = 0;
	e->anon_n = 0;
}

int
ib_mux_engine_send_control(struct ib_mux_engine *e, uint8_t type, const char *text)
{
	struct ib_mux_packet p;
	uint8_t pl[1 + IB_MUX_TEXT_MAX];
	size_t n = text != NULL ? strlen(text) : 0;

	if (e->link != LINK_READY)
		return IB_ERR_STATE;
	if (n > IB_MUX_TEXT_MAX)
		return IB_ERR_TOO_LARGE;
	pl[0] = type;
	if (n > 0)
		memcpy(pl + 1, text, n);
	blob_packet(e, &p, IB_MUX_PROTO_CONTROL);
	p.payload = pl;
	p.payload_len = 1 + n;
	return blob_push(e, &p, STAMP_V2);
}

static struct mux_blob *
blob_last(struct ib_mux_engine *e)
{
	return &e->blob[(e->blob_head + e->blob_n - 1) % MUX_BLOBS];
}

int
ib_mux_engine_inject_malformed(struct ib_mux_engine *e, int kind)
{
	static const uint8_t junk[10] = { 0, 1, 0xf2, 0x7e, 0, 0, 0, 0, 0, 0 };
	struct ib_mux_packet p;
	int r;

	if (e->link != LINK_READY)
		return IB_ERR_STATE;
	blob_packet(e, &p, IB_MUX_PROTO_TCP);
	switch (kind) {
	case 1:
		/* TCP packet cut inside its TCP header. The length field
		 * matches the bytes, so a byte-stream link stays framed: the
		 * 10 bytes go in as the payload of a non-TCP packet, whose
		 * protocol byte is then turned into TCP. */
		p.protocol = IB_MUX_PROTO_CONTROL;
		p.payload = junk;
		p.payload_len = sizeof(junk);
		if ((r = blob_push(e, &p, STAMP_V2)) != IB_OK)
			return r;
		blob_last(e)->d[3] = IB_MUX_PROTO_TCP;
		return IB_OK;
	case 2:
		if (e->hdr_version != 2)
			return IB_ERR_STATE;    /* v1 has no magic */
		p.tcp.flags = IB_MUX_TH_ACK;
		if ((r = blob_push(e, &p, STAMP_V2)) != IB_OK)
			return r;
		memcpy(blob_last(e)->d + 8, "\xde\xad\xbe\xef", 4);
		return IB_OK;
	case 3:
		/* Ports no stream uses: the host never hands out port 0. */
		p.tcp.sport = e->cfg.role == IB_MUX_ROLE_HOST ? 0 : 0xffff;
		p.tcp.dport = e->cfg.role == IB_MUX_ROLE_HOST ? 0xffff : 0;
		p.tcp.seq = 0x1234;
		p.tcp.flags = IB_MUX_TH_ACK;
		p.payload = junk;
		p.payload_len = 4;
		break;
	case 4:
		p.protocol = 0x4242;
		p.payload = junk;
		p.payload_len = sizeof(junk);
		break;
	case 5:
		if ((r = mux_stream_fin_packet(e, &p)) != IB_OK)
			return r;
		break;
	default:
		return IB_ERR_INVALID_ARG;
	}
	return blob_push(e, &p, STAMP_V2);
}
