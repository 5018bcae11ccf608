/*
 * mux_stream.c - the streams of the mux engine: the TCP-like state
 * machine (usbmux.md 2.6-2.9) and the stream half of mux_engine.h.
 * Link-level work lives in mux_engine.c, data structures in mux_store.c.
 */
#include "mux_engine_int.h"
#include "ib_err.h"
#include "ib_log.h"

#include <stdlib.h>
#include <string.h>

/* --- ports ------------------------------------------------------------- */

/* Host role: a source port names one stream whatever the device port
 * (connect() never reuses a live one). Device role: the host picks its
 * ports, so the pair is the key. */
static uint32_t
port_key(const struct ib_mux_engine *e, uint16_t host_port, uint16_t dev_port)
{
	if (e->cfg.role == IB_MUX_ROLE_HOST)
		return host_port;
	return ((uint32_t)host_port << 16) | dev_port;
}

static struct mux_stream *
port_lookup(struct ib_mux_engine *e, uint16_t host_port, uint16_t dev_port)
{
	struct mux_stream *s = mux_tab_get(e->by_port, port_key(e, host_port, dev_port));

	if (s != NULL && (s->host_port != host_port || s->dev_port != dev_port))
		return NULL;
	return s;
}

static void
ports_drop(struct ib_mux_engine *e, struct mux_stream *s)
{
	if (s->in_ports) {
		mux_tab_del(e->by_port, port_key(e, s->host_port, s->dev_port));
		s->in_ports = 0;
	}
}

/* --- stream lifetime ---------------------------------------------------- */

static struct mux_stream *
stream_get(const struct ib_mux_engine *e, uint32_t id)
{
	return id == 0 ? NULL : mux_tab_get(e->by_id, id);
}

static struct mux_stream *
stream_new(struct ib_mux_engine *e, uint16_t host_port, uint16_t dev_port)
{
	struct mux_stream *s;

	if (e->nstreams >= IB_MUX_MAX_STREAMS || e->next_id == 0)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->id = e->next_id++;
	s->host_port = host_port;
	s->dev_port = dev_port;
	mux_tab_put(e->by_id, s->id, s);
	mux_tab_put(e->by_port, port_key(e, host_port, dev_port), s);
	s->in_ports = 1;
	mux_list_push(e, L_ALL, s);
	e->nstreams++;
	return s;
}

static void
stream_destroy(struct ib_mux_engine *e, struct mux_stream *s)
{
	int k;

	for (k = 0; k < L_COUNT; k++)
		mux_list_remove(e, k, s);
	ports_drop(e, s);
	mux_tab_del(e->by_id, s->id);
	mux_ring_free(&s->rx);
	mux_ring_free(&s->tx);
	free(s->text);
	free(s);
	e->nstreams--;
}

/*
 * The application is done with s. A due RST keeps the struct alive as a
 * zombie (no id, no ports, no rings) until output() has sent it.
 */
static void
stream_release(struct ib_mux_engine *e, struct mux_stream *s)
{
	if (!(s->ctl & CTL_RST) || e->link == LINK_DEAD) {
		stream_destroy(e, s);
		return;
	}
	mux_tab_del(e->by_id, s->id);
	ports_drop(e, s);
	mux_list_remove(e, L_EV, s);
	mux_list_remove(e, L_DATA, s);
	mux_ring_free(&s->rx);
	mux_ring_free(&s->tx);
	s->ev = 0;
	s->ctl = CTL_RST;
	s->state = ST_ZOMBIE;
}

void
mux_ev_raise(struct ib_mux_engine *e, struct mux_stream *s, int type)
{
	s->ev |= EV_BIT(type);
	mux_list_push(e, L_EV, s);
}

static void
ctl_raise(struct ib_mux_engine *e, struct mux_stream *s, uint8_t bits)
{
	s->ctl |= bits;
	mux_list_push(e, L_CTL, s);
}

/* Keep text (peer bytes or our reason) for the event and the RST. */
static void
stream_set_text(struct mux_stream *s, const uint8_t *text, size_t n)
{
	char buf[IB_MUX_TEXT_MAX + 1];
	size_t len = ib_mux_text_sanitize(buf, text, n);

	free(s->text);
	s->text = NULL;
	if (len > 0 && (s->text = malloc(len + 1)) != NULL)
		memcpy(s->text, buf, len + 1);
}

/*
 * The stream ends (peer RST, protocol error, overrun, abort): RST to the
 * peer if send_rst, event ev (CLOSED, or REFUSED while connecting) for
 * the app. Received bytes stay readable until the app releases it.
 */
static void
stream_end(struct ib_mux_engine *e, struct mux_stream *s, int ev, int err,
    int send_rst)
{
	if (s->state == ST_SYN_PENDING)
		send_rst = 0;   /* the peer never heard of it */
	s->state = ST_CLOSED;
	s->err = err;
	ports_drop(e, s);
	mux_list_remove(e, L_DATA, s);
	mux_ring_free(&s->tx);
	s->ev &= (uint16_t)~EV_BIT(IB_MUX_EV_WRITABLE);
	s->ctl = 0;
	mux_list_remove(e, L_CTL, s);
	if (send_rst)
		ctl_raise(e, s, CTL_RST);
	mux_ev_raise(e, s, ev);
}

/* --- flow control ------------------------------------------------------- */

/* Bytes the peer's window still admits beyond what is in flight. */
static uint32_t
peer_budget(const struct mux_stream *s)
{
	uint32_t inflight = s->snd_nxt - s->snd_una;

	return s->peer_win > inflight ? s->peer_win - inflight : 0;
}

static size_t
stream_send_space(const struct mux_stream *s)
{
	uint32_t budget, room;

	if (s->state != ST_OPEN)
		return 0;
	budget = peer_budget(s);
	budget = budget > s->tx.used ? budget - s->tx.used : 0;
	room = IB_MUX_STREAM_TXBUF - s->tx.used;
	return budget < room ? budget : room;
}

/* A stream is on L_DATA exactly while output() could send some of it. */
static void
data_update(struct ib_mux_engine *e, struct mux_stream *s)
{
	if (s->state == ST_OPEN && s->tx.used > 0 && peer_budget(s) > 0)
		mux_list_push(e, L_DATA, s);
	else
		mux_list_remove(e, L_DATA, s);
}

/* usbmuxd takes every ack without checking; an ack for bytes we never
 * sent would make the budget arithmetic wrap, so only acks within
 * [snd_una, snd_nxt] move snd_una, anything else is ignored. */
static void
take_ack(struct mux_stream *s, uint32_t ack)
{
	uint32_t off = ack - s->snd_una;

	if (off <= s->snd_nxt - s->snd_una)
		s->snd_una = ack;
	else
		ib_debug("stream %u: ack %u outside [%u, %u], ignored", s->id,
		    ack, s->snd_una, s->snd_nxt);
}

/* --- input -------------------------------------------------------------- */

/* Device role: a SYN for a port pair we do not know. */
static void
incoming_syn(struct ib_mux_engine *e, const struct ib_mux_packet *p)
{
	const struct ib_mux_tcphdr *th = &p->tcp;
	struct mux_stream *s = NULL;

	if (p->payload_len == 0)
		s = stream_new(e, th->sport, th->dport);
	if (s == NULL) {
		ib_info("refusing SYN %u->%u (%s)", th->sport, th->dport,
		    p->payload_len ? "SYN with payload" : "stream limit");
		mux_anon_rst(e, th->dport, th->sport, 0, th->seq + 1);
		return;
	}
	s->state = ST_INCOMING;
	s->rcv_nxt = s->rcv_ack = th->seq + 1;
	s->peer_win = (uint32_t)th->window << 8;
	mux_ev_raise(e, s, IB_MUX_EV_INCOMING);
}

static void
unknown_stream(struct ib_mux_engine *e, const struct ib_mux_packet *p)
{
	const struct ib_mux_tcphdr *th = &p->tcp;

	if (th->flags & IB_MUX_TH_RST) {
		ib_debug("RST for unknown stream %u->%u dropped", th->sport, th->dport);
		return;
	}
	if (e->cfg.role == IB_MUX_ROLE_DEVICE && th->flags == IB_MUX_TH_SYN) {
		incoming_syn(e, p);
		return;
	}
	ib_debug("packet for unknown stream %u->%u flags 0x%02x: RST", th->sport,
	    th->dport, th->flags);
	/* usbmuxd: seq 0, ack = their seq, window 0. usbmuxd2 instead
	 * answers seq = their ack and copies their window. */
	mux_anon_rst(e, th->dport, th->sport, 0, th->seq);
}

static void
connecting_input(struct ib_mux_engine *e, struct mux_stream *s,
    const struct ib_mux_packet *p)
{
	const struct ib_mux_tcphdr *th = &p->tcp;

	if (th->flags & IB_MUX_TH_RST) {
		stream_set_text(s, p->payload, p->payload_len);
		ib_info("stream %u: device port %u refused%s%s", s->id, s->dev_port,
		    s->text ? ": " : "", s->text ? s->text : "");
		stream_end(e, s, IB_MUX_EV_REFUSED, IB_ERR_MUX_REFUSED, 0);
		return;
	}
	if (th->flags != (IB_MUX_TH_SYN | IB_MUX_TH_ACK) || s->state != ST_SYN_SENT) {
		ib_info("stream %u: flags 0x%02x while connecting: refused", s->id,
		    th->flags);
		stream_end(e, s, IB_MUX_EV_REFUSED, IB_ERR_MUX_REFUSED, 1);
		return;
	}
	if (p->payload_len > 0)
		ib_debug("stream %u: %zu payload bytes on SYN|ACK ignored", s->id,
		    p->payload_len);
	/* Our ack follows the device's ISN (usbmuxd2); usbmuxd assumes 0. */
	s->rcv_nxt = s->rcv_ack = th->seq + 1;
	s->peer_win = (uint32_t)th->window << 8;
	take_ack(s, th->ack);
	s->state = ST_OPEN;
	/* usbmuxd sends a bare ACK before reporting success; we never let
	 * data the app queues meanwhile stand in for it. */
	ctl_raise(e, s, CTL_HANDSHAKE_ACK);
	mux_ev_raise(e, s, IB_MUX_EV_CONNECTED);
}

static void
open_input(struct ib_mux_engine *e, struct mux_stream *s,
    const struct ib_mux_packet *p)
{
	const struct ib_mux_tcphdr *th = &p->tcp;
	size_t space_before = stream_send_space(s);
	uint32_t n;

	if (th->flags != IB_MUX_TH_ACK) {
		if (th->flags & IB_MUX_TH_RST) {
			stream_set_text(s, p->payload, p->payload_len);
			ib_info("stream %u: reset by peer%s%s", s->id,
			    s->text ? ": " : "", s->text ? s->text : "");
			stream_end(e, s, IB_MUX_EV_CLOSED, IB_ERR_MUX_RESET, 0);
		} else {
			ib_info("stream %u: flags 0x%02x on an open stream: reset",
			    s->id, th->flags);
			stream_end(e, s, IB_MUX_EV_CLOSED, IB_ERR_MUX_PROTOCOL, 1);
		}
		return;
	}
	/* Sequence numbers are not checked (usbmuxd; nothing is ever
	 * retransmitted). usbmuxd2 drops data whose seq is not the next
	 * expected one; the window check below bounds memory either way. */
	s->peer_win = (uint32_t)th->window << 8;
	take_ack(s, th->ack);
	if (p->payload_len > 0) {
		if (p->payload_len > e->cfg.rx_window - s->rx.used) {
			ib_info("stream %u: %zu bytes beyond our window (%u unread of %u)",
			    s->id, p->payload_len, s->rx.used, e->cfg.rx_window);
			stream_end(e, s, IB_MUX_EV_CLOSED, IB_ERR_MUX_OVERRUN, 1);
			return;
		}
		if (mux_ring_ready(&s->rx, e->cfg.rx_window) != IB_OK) {
			stream_end(e, s, IB_MUX_EV_CLOSED, IB_ERR_NOMEM, 1);
			return;
		}
		n = (uint32_t)p->payload_len;
		mux_ring_write(&s->rx, p->payload, n);
		s->rcv_nxt += n;
		mux_ev_raise(e, s, IB_MUX_EV_READABLE);
	}
	data_update(e, s);
	if (space_before == 0 && stream_send_space(s) > 0)
		mux_ev_raise(e, s, IB_MUX_EV_WRITABLE);
}

void
mux_tcp_input(struct ib_mux_engine *e, const struct ib_mux_packet *p)
{
	const struct ib_mux_tcphdr *th = &p->tcp;
	struct mux_stream *s;

	if (e->cfg.role == IB_MUX_ROLE_HOST)
		s = port_lookup(e, th->dport, th->sport);
	else
		s = port_lookup(e, th->sport, th->dport);
	if (s == NULL) {
		unknown_stream(e, p);
		return;
	}
	switch (s->state) {
	case ST_SYN_PENDING:
	case ST_SYN_SENT:
		connecting_input(e, s, p);
		break;
	case ST_OPEN:
		open_input(e, s, p);
		break;
	default:
		/* ST_INCOMING: the host may not talk before SYN|ACK. */
		if (th->flags & IB_MUX_TH_RST) {
			stream_set_text(s, p->payload, p->payload_len);
			stream_end(e, s, IB_MUX_EV_CLOSED, IB_ERR_MUX_RESET, 0);
		} else {
			stream_end(e, s, IB_MUX_EV_CLOSED, IB_ERR_MUX_PROTOCOL, 1);
		}
		break;
	}
}

/* --- output ------------------------------------------------------------- */

/* TCP header of a packet on s with our current seq, ack and window. */
static void
stream_tcp_fields(const struct ib_mux_engine *e, const struct mux_stream *s,
    uint8_t flags, struct ib_mux_packet *p)
{
	if (e->cfg.role == IB_MUX_ROLE_HOST) {
		p->tcp.sport = s->host_port;
		p->tcp.dport = s->dev_port;
	} else {
		p->tcp.sport = s->dev_port;
		p->tcp.dport = s->host_port;
	}
	p->tcp.seq = s->snd_nxt;
	p->tcp.ack = s->rcv_ack;
	p->tcp.flags = flags;
	p->tcp.window = (uint16_t)(e->cfg.rx_window >> 8);
}

static void
stream_packet(struct ib_mux_engine *e, const struct mux_stream *s,
    uint8_t flags, struct ib_mux_packet *p)
{
	mux_packet_start(e, p, IB_MUX_PROTO_TCP);
	stream_tcp_fields(e, s, flags, p);
}

static size_t
tcp_output(struct ib_mux_engine *e, struct mux_stream *s, uint8_t flags,
    const char *text)
{
	struct ib_mux_packet p;
	size_t len;

	stream_packet(e, s, flags, &p);
	p.payload = (const uint8_t *)text;
	p.payload_len = text != NULL ? strlen(text) : 0;
	/* Cannot fail: text is at most IB_MUX_TEXT_MAX, out is the MTU. */
	if (ib_mux_encode(e->out, sizeof(e->out), &p, &len) != IB_OK)
		return 0;
	return len;
}

static uint32_t
segment_size(struct ib_mux_engine *e, struct mux_stream *s)
{
	uint32_t n = s->tx.used, budget = peer_budget(s);

	if (n > budget)
		n = budget;
	if (n > e->cfg.max_payload)
		n = e->cfg.max_payload;
	if (e->cfg.random_segments && n > 1) {
		uint64_t x = e->rng;    /* xorshift64: reproducible from seed */
		uint32_t cut;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		e->rng = x;
		cut = 1 + (uint32_t)(x % e->cfg.max_payload);
		if (n > cut)
			n = cut;
	}
	return n;
}

size_t
mux_stream_data_output(struct ib_mux_engine *e, struct mux_stream *s)
{
	struct ib_mux_packet p;
	size_t space_before = stream_send_space(s), head;
	uint32_t n = segment_size(e, s);

	mux_list_remove(e, L_DATA, s);
	if (n == 0)
		return 0;
	stream_packet(e, s, IB_MUX_TH_ACK, &p);
	p.payload_len = n;
	if (ib_mux_encode_head(e->out, sizeof(e->out), &p, &head) != IB_OK)
		return 0;
	mux_ring_read(&s->tx, e->out + head, n);
	s->snd_nxt += n;
	/* The data carries our ack: no separate ACK is due. */
	s->ctl &= (uint8_t)~CTL_ACK;
	if (s->ctl == 0)
		mux_list_remove(e, L_CTL, s);
	data_update(e, s);      /* to the tail: round robin */
	if (space_before == 0 && stream_send_space(s) > 0)
		mux_ev_raise(e, s, IB_MUX_EV_WRITABLE);
	return head + n;
}

size_t
mux_stream_ctl_output(struct ib_mux_engine *e, struct mux_stream *s)
{
	size_t len = 0;

	if (s->ctl & CTL_RST) {
		len = tcp_output(e, s, IB_MUX_TH_RST, s->rst_text ? s->text : NULL);
		s->ctl = 0;
		mux_list_remove(e, L_CTL, s);
		if (s->state == ST_ZOMBIE)
			stream_destroy(e, s);
		return len;
	}
	if (s->ctl & CTL_SYN) {
		len = tcp_output(e, s, IB_MUX_TH_SYN, NULL);
		s->snd_nxt = s->snd_una + 1;
		s->state = ST_SYN_SENT;
		s->ctl &= (uint8_t)~CTL_SYN;
	} else if (s->ctl & CTL_SYNACK) {
		len = tcp_output(e, s, IB_MUX_TH_SYN | IB_MUX_TH_ACK, NULL);
		s->snd_nxt = s->snd_una + 1;
		s->ctl &= (uint8_t)~CTL_SYNACK;
		data_update(e, s);
	} else if (s->ctl & CTL_HANDSHAKE_ACK) {
		len = tcp_output(e, s, IB_MUX_TH_ACK, NULL);
		s->ctl &= (uint8_t)~(CTL_HANDSHAKE_ACK | CTL_ACK);
	} else if (s->ctl & CTL_ACK) {
		if (s->node[L_DATA].on && (len = mux_stream_data_output(e, s)) > 0)
			return len;
		len = tcp_output(e, s, IB_MUX_TH_ACK, NULL);
		s->ctl &= (uint8_t)~CTL_ACK;
	}
	if (s->ctl == 0)
		mux_list_remove(e, L_CTL, s);
	return len;
}

/* --- events ------------------------------------------------------------- */

/* Per stream, events come out in this order. */
static const int ev_order[] = {
	IB_MUX_EV_INCOMING, IB_MUX_EV_CONNECTED, IB_MUX_EV_READABLE,
	IB_MUX_EV_WRITABLE, IB_MUX_EV_REFUSED, IB_MUX_EV_CLOSED,
};

void
mux_stream_take_event(struct ib_mux_engine *e, struct mux_stream *s,
    struct ib_mux_event *ev)
{
	size_t i;
	int type = 0;

	for (i = 0; i < sizeof(ev_order) / sizeof(ev_order[0]); i++) {
		if (s->ev & EV_BIT(ev_order[i])) {
			type = ev_order[i];
			break;
		}
	}
	s->ev &= (uint16_t)~EV_BIT(type);
	if (s->ev == 0)
		mux_list_remove(e, L_EV, s);
	ev->type = (enum ib_mux_event_type)type;
	ev->stream = s->id;
	ev->port = s->dev_port;
	if (type == IB_MUX_EV_REFUSED || type == IB_MUX_EV_CLOSED) {
		ev->err = s->err;
		if (s->text != NULL)
			memcpy(ev->text, s->text, strlen(s->text) + 1);
		s->end_taken = 1;
		/* Released now unless unread bytes wait (see recv_consume). */
		if (s->rx.used == 0)
			stream_release(e, s);
	}
}

/* --- link-wide --------------------------------------------------------- */

void
mux_streams_abort(struct ib_mux_engine *e, int err)
{
	struct mux_stream *s, *next;

	for (s = e->list[L_ALL].head; s != NULL; s = next) {
		next = s->node[L_ALL].next;
		if (s->state == ST_ZOMBIE) {
			stream_destroy(e, s);
			continue;
		}
		s->ctl = 0;
		mux_list_remove(e, L_CTL, s);
		if (s->state != ST_CLOSED)
			stream_end(e, s, IB_MUX_EV_CLOSED, err, 0);
	}
}

void
mux_streams_free(struct ib_mux_engine *e)
{
	while (e->list[L_ALL].head != NULL)
		stream_destroy(e, e->list[L_ALL].head);
}

int
mux_stream_fin_packet(const struct ib_mux_engine *e, struct ib_mux_packet *p)
{
	const struct mux_stream *s;

	for (s = e->list[L_ALL].head; s != NULL; s = s->node[L_ALL].next) {
		if (s->state == ST_OPEN) {
			p->protocol = IB_MUX_PROTO_TCP;
			stream_tcp_fields(e, s, IB_MUX_TH_FIN | IB_MUX_TH_ACK, p);
			return IB_OK;
		}
	}
	return IB_ERR_NOT_FOUND;
}

/* --- stream API --------------------------------------------------------- */

static int
next_free_port(struct ib_mux_engine *e, uint16_t *portp)
{
	uint32_t tries;

	/* usbmuxd hands out port 0 once after a wrap (a failure); skip it
	 * like usbmuxd2. At most IB_MUX_MAX_STREAMS ports are live, so a
	 * free one turns up long before the loop ends. */
	for (tries = 0; tries < 65536; tries++) {
		uint16_t p = e->next_port++;

		if (p != 0 && mux_tab_get(e->by_port, p) == NULL) {
			*portp = p;
			return IB_OK;
		}
	}
	return IB_ERR_MUX_NO_PORTS;
}

int
ib_mux_engine_connect(struct ib_mux_engine *e, uint16_t port, uint32_t *streamp)
{
	struct mux_stream *s;
	uint16_t sport;
	int r;

	*streamp = 0;
	if (e->cfg.role != IB_MUX_ROLE_HOST || e->link != LINK_READY)
		return IB_ERR_STATE;
	if (e->nstreams >= IB_MUX_MAX_STREAMS || e->next_id == 0)
		return IB_ERR_MUX_NO_PORTS;
	if ((r = next_free_port(e, &sport)) != IB_OK)
		return r;
	if ((s = stream_new(e, sport, port)) == NULL)
		return IB_ERR_NOMEM;
	s->state = ST_SYN_PENDING;
	/* ISN 0 like usbmuxd (usbmuxd2 picks a random one). */
	ctl_raise(e, s, CTL_SYN);
	*streamp = s->id;
	return IB_OK;
}

int
ib_mux_engine_accept(struct ib_mux_engine *e, uint32_t stream)
{
	struct mux_stream *s = stream_get(e, stream);

	if (s == NULL)
		return IB_ERR_NOT_FOUND;
	if (s->state != ST_INCOMING)
		return IB_ERR_STATE;
	s->state = ST_OPEN;
	ctl_raise(e, s, CTL_SYNACK);
	return IB_OK;
}

static void
set_reason(struct mux_stream *s, const char *reason)
{
	if (reason != NULL && reason[0] != '\0') {
		stream_set_text(s, (const uint8_t *)reason, strlen(reason));
		s->rst_text = s->text != NULL;
	}
}

int
ib_mux_engine_refuse(struct ib_mux_engine *e, uint32_t stream, const char *reason)
{
	struct mux_stream *s = stream_get(e, stream);

	if (s == NULL)
		return IB_ERR_NOT_FOUND;
	if (s->state != ST_INCOMING)
		return IB_ERR_STATE;
	set_reason(s, reason);
	s->ev = 0;
	ctl_raise(e, s, CTL_RST);
	stream_release(e, s);
	return IB_OK;
}

size_t
ib_mux_engine_send_space(const struct ib_mux_engine *e, uint32_t stream)
{
	const struct mux_stream *s = stream_get(e, stream);

	return s != NULL ? stream_send_space(s) : 0;
}

int
ib_mux_engine_send(struct ib_mux_engine *e, uint32_t stream,
    const uint8_t *p, size_t n, size_t *acceptedp)
{
	struct mux_stream *s = stream_get(e, stream);
	size_t k;

	*acceptedp = 0;
	if (s == NULL)
		return IB_ERR_NOT_FOUND;
	if (s->state == ST_CLOSED)
		return s->err;
	k = stream_send_space(s);
	if (k > n)
		k = n;
	if (k == 0)
		return IB_OK;
	if (mux_ring_ready(&s->tx, IB_MUX_STREAM_TXBUF) != IB_OK)
		return IB_ERR_NOMEM;
	mux_ring_write(&s->tx, p, (uint32_t)k);
	data_update(e, s);
	*acceptedp = k;
	return IB_OK;
}

size_t
ib_mux_engine_send_pending(const struct ib_mux_engine *e, uint32_t stream)
{
	const struct mux_stream *s = stream_get(e, stream);

	if (s == NULL || s->state != ST_OPEN)
		return 0;
	return s->tx.used + (s->snd_nxt - s->snd_una);
}

size_t
ib_mux_engine_recv_avail(const struct ib_mux_engine *e, uint32_t stream)
{
	const struct mux_stream *s = stream_get(e, stream);

	return s != NULL ? s->rx.used : 0;
}

int
ib_mux_engine_recv_peek(struct ib_mux_engine *e, uint32_t stream,
    const uint8_t **pp, size_t *np)
{
	struct mux_stream *s = stream_get(e, stream);
	uint32_t first;

	*pp = NULL;
	*np = 0;
	if (s == NULL)
		return IB_ERR_NOT_FOUND;
	if (s->rx.used == 0)
		return IB_OK;
	first = s->rx.cap - s->rx.head;
	*pp = s->rx.d + s->rx.head;
	*np = first < s->rx.used ? first : s->rx.used;
	return IB_OK;
}

int
ib_mux_engine_recv_consume(struct ib_mux_engine *e, uint32_t stream, size_t n)
{
	struct mux_stream *s = stream_get(e, stream);

	if (s == NULL)
		return IB_ERR_NOT_FOUND;
	if (n > s->rx.used)
		return IB_ERR_INVALID_ARG;
	if (n == 0)
		return IB_OK;
	mux_ring_consume(&s->rx, (uint32_t)n);
	s->rcv_ack += (uint32_t)n;
	if (s->state == ST_OPEN)
		ctl_raise(e, s, CTL_ACK);   /* prompt ACK: usbmux.md 4 */
	else if (s->state == ST_CLOSED && s->end_taken && s->rx.used == 0)
		stream_release(e, s);
	return IB_OK;
}

int
ib_mux_engine_close(struct ib_mux_engine *e, uint32_t stream)
{
	struct mux_stream *s = stream_get(e, stream);

	if (s == NULL)
		/* Ended and already released: closing it again is harmless. */
		return stream != 0 && stream < e->next_id ? IB_OK : IB_ERR_NOT_FOUND;
	if (e->link != LINK_DEAD && (s->state == ST_SYN_SENT ||
	    s->state == ST_INCOMING || s->state == ST_OPEN)) {
		s->ctl = 0;
		ctl_raise(e, s, CTL_RST);
	}
	stream_release(e, s);
	return IB_OK;
}

int
ib_mux_engine_stream_ports(const struct ib_mux_engine *e, uint32_t stream,
    uint16_t *host_portp, uint16_t *dev_portp)
{
	const struct mux_stream *s = stream_get(e, stream);

	*host_portp = 0;
	*dev_portp = 0;
	if (s == NULL)
		return IB_ERR_NOT_FOUND;
	*host_portp = s->host_port;
	*dev_portp = s->dev_port;
	return IB_OK;
}

int
ib_mux_engine_inject_rst(struct ib_mux_engine *e, uint32_t stream, const char *reason)
{
	struct mux_stream *s = stream_get(e, stream);

	if (s == NULL)
		return IB_ERR_NOT_FOUND;
	if (e->link == LINK_DEAD || (s->state != ST_OPEN && s->state != ST_INCOMING))
		return IB_ERR_STATE;
	stream_end(e, s, IB_MUX_EV_CLOSED, IB_ERR_MUX_RESET, 1);
	set_reason(s, reason);
	return IB_OK;
}
