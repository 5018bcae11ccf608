/*
 * mux_engine.h - the usbmux protocol engine (internal to usbmux/ and
 * sim/). It does no I/O: packets in, packets and events out, so the host
 * role (ibackup) and the device role (the virtual device) run the same
 * code, the fuzzers drive it directly, and tests can connect a host
 * engine to a device engine in one process.
 *
 * Protocol facts: ../shared/protocol/usbmux.md section 2.
 *
 *   host                                device
 *   start()      -> VERSION (8-byte header, major 2)
 *                <- VERSION (major 2, or 1 from an old device)
 *   SETUP 0x07   ->                     (v2 only; then 16-byte headers)
 *   connect(p)   -> SYN                 -> event INCOMING(p)
 *                                          accept() / refuse()
 *   event CONNECTED <- SYN|ACK            (or RST -> event REFUSED)
 *                -> ACK
 *   send()/recv() both ways, flags == ACK, windows x256
 *   close()      -> RST                 -> event CLOSED(IB_ERR_MUX_RESET)
 *
 * Flow control. Each side advertises a fixed receive window (its cfg
 * rx_window) and never grows it; it ACKs received bytes only when the
 * application consumes them (recv_consume), so a slow reader throttles
 * its sender without unbounded buffering. A peer that sends beyond
 * ack + window is reset (IB_ERR_MUX_OVERRUN). Outgoing data is limited to
 * the peer's window minus unacknowledged bytes and cut at max_payload.
 * ACKs for consumed data are output at once (usbmuxd's lazy 30 ms ACK
 * halves throughput, usbmux.md 4).
 *
 * Lifetime of a stream id: from connect()/INCOMING until the CLOSED or
 * REFUSED event has been taken from next_event() and, if the application
 * closed it itself, until close() returns. One refinement: bytes that
 * arrived before the stream ended stay readable after CLOSED is taken
 * (recv_avail/peek/consume keep working) until they are all consumed or
 * close() is called; the id is released at that point. close() on an id
 * that was already released returns IB_OK, so "take CLOSED, drain,
 * close()" is always safe. Ids are never reused while the engine lives.
 *
 * Events are coalesced per stream: at most one READABLE (new bytes since
 * the last READABLE was taken: drain recv_avail) and one WRITABLE (send
 * space went from 0 to more than 0) wait at a time. Per stream the order
 * is INCOMING/CONNECTED, READABLE, WRITABLE, REFUSED/CLOSED; READY and
 * CONTROL come before stream events, FATAL after them. Nothing an engine
 * call returns is ever owned by the caller except what it copies out.
 *
 * Memory is bounded by the caps in ib_limits.h whatever the peer sends:
 * per stream a receive ring of exactly rx_window bytes and a transmit
 * ring of IB_MUX_STREAM_TXBUF (each allocated on first use), at most
 * IB_MUX_MAX_STREAMS streams, fixed queues for CONTROL events and RSTs
 * to unknown streams. Nothing is allocated per packet.
 *
 * Not thread-safe: the runtime serialises all calls (one thread per link).
 */
#ifndef IB_MUX_ENGINE_H
#define IB_MUX_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "ib_limits.h"

enum ib_mux_role {
	IB_MUX_ROLE_HOST = 1,
	IB_MUX_ROLE_DEVICE = 2,
};

struct ib_mux_engine_cfg {
	enum ib_mux_role role;
	/* Receive window we advertise, bytes; rounded down to a multiple of
	 * 256, at least 256, at most IB_MUX_STREAM_RXBUF. 0 = 131072 (what
	 * usbmuxd advertises). */
	uint32_t rx_window;
	/* Largest payload per TCP packet; 0 = IB_MUX_MTU - 16 - 20 (49116). */
	uint32_t max_payload;
	/* Device role: highest mux version we answer (1 or 2; 0 = 2). A
	 * device configured for 1 answers VERSION with major 1, as old
	 * iOS did. */
	uint32_t max_version;
	/*
	 * Device role fault: cut outgoing data into random payload sizes
	 * between 1 and max_payload (still one packet per transfer, every
	 * packet valid). Uses the seed for reproducibility.
	 */
	int random_segments;
	uint32_t seed;
};

enum ib_mux_event_type {
	/* Version agreed (host: after SETUP was queued; device: after
	 * VERSION answered and, for v2, SETUP received). */
	IB_MUX_EV_READY = 1,
	/* Host: the stream from connect() is open (its pure ACK is output
	 * before any data the app queues). */
	IB_MUX_EV_CONNECTED,
	/* Host: the device refused the connect (RST, or unexpected flags). */
	IB_MUX_EV_REFUSED,
	/* Device: a SYN arrived for ev.port; accept() or refuse() it. */
	IB_MUX_EV_INCOMING,
	/* Received bytes are waiting on ev.stream. */
	IB_MUX_EV_READABLE,
	/* The peer's window opened for ev.stream. */
	IB_MUX_EV_WRITABLE,
	/* ev.stream ended; ev.err says why, ev.text holds an RST reason. */
	IB_MUX_EV_CLOSED,
	/* Host: the device sent a CONTROL message (ev.control_type: 3 error,
	 * 4/5 warning, 7 info) with ev.text. */
	IB_MUX_EV_CONTROL,
	/* The link cannot continue (VERSION reply malformed or with a major
	 * other than 1 or 2): ev.err says why (IB_ERR_MUX_VERSION or
	 * IB_ERR_MUX_PROTOCOL); every stream has been failed already and
	 * nothing more is output. Other garbage (before VERSION too) is
	 * dropped with a log line, as usbmuxd does. */
	IB_MUX_EV_FATAL,
};

struct ib_mux_event {
	enum ib_mux_event_type type;
	uint32_t stream;
	uint16_t port;          /* device port of the stream */
	int err;                /* IB_OK or the reason */
	uint8_t control_type;
	char text[IB_MUX_TEXT_MAX + 1];   /* NUL-terminated, printable only */
};

struct ib_mux_engine;

/* NULL when out of memory or cfg invalid (no role). */
struct ib_mux_engine *ib_mux_engine_new(const struct ib_mux_engine_cfg *cfg);
void ib_mux_engine_free(struct ib_mux_engine *e);

/* Host role: queue the VERSION request. Must be the first call
 * (IB_ERR_STATE when repeated). Device role: nothing to do, IB_OK. */
int ib_mux_engine_start(struct ib_mux_engine *e);
/* Negotiated version (0 before READY). */
uint32_t ib_mux_engine_version(const struct ib_mux_engine *e);

/*
 * Feed one complete received packet (a whole USB transfer / one framed
 * packet of the byte stream). The bytes are only read during the call.
 * Per-stream problems reset that stream and produce events; undecodable
 * packets are dropped; returns an error only for a fatal link problem
 * (also reported as IB_MUX_EV_FATAL), and that error again once the
 * link is dead (fatal or aborted). now_ms is a monotonic clock (no
 * timer needs it yet).
 */
int ib_mux_engine_input(struct ib_mux_engine *e, const uint8_t *pkt, size_t len,
    uint64_t now_ms);

/*
 * Next packet to transmit: control packets (VERSION, SETUP, SYN, ACK,
 * RST) before data; data round-robin across streams. IB_ERR_WOULD_BLOCK
 * when nothing is due. The bytes belong to the engine and stay valid
 * until the next call on this engine; at most IB_MUX_MTU bytes. Call it
 * until IB_ERR_WOULD_BLOCK after every input/send/recv_consume/close:
 * an ACK for consumed bytes is due at once.
 */
int ib_mux_engine_output(struct ib_mux_engine *e, const uint8_t **pktp,
    size_t *lenp, uint64_t now_ms);

/* Next event, or IB_ERR_WOULD_BLOCK. */
int ib_mux_engine_next_event(struct ib_mux_engine *e, struct ib_mux_event *ev);

/* Host: open a stream to a device port. IB_ERR_MUX_NO_PORTS when
 * IB_MUX_MAX_STREAMS streams exist (streams closed by close() count until
 * their RST has been output) or no source port is free, IB_ERR_STATE
 * before READY or in the device role. Source ports count up from 1,
 * skip 0 and ports in use, and wrap. */
int ib_mux_engine_connect(struct ib_mux_engine *e, uint16_t port, uint32_t *streamp);
/* Device: answer an INCOMING stream (IB_ERR_STATE if it is not, e.g. the
 * host reset it already). refuse() sends RST with the reason text (may
 * be NULL) and releases the id at once. */
int ib_mux_engine_accept(struct ib_mux_engine *e, uint32_t stream);
int ib_mux_engine_refuse(struct ib_mux_engine *e, uint32_t stream, const char *reason);

/* Bytes send() would take now: the peer's open window (its window minus
 * bytes in flight and queued), at most IB_MUX_STREAM_TXBUF; 0 unless the
 * stream is open. */
size_t ib_mux_engine_send_space(const struct ib_mux_engine *e, uint32_t stream);
/* Queue up to n bytes; *acceptedp says how many were taken (copied).
 * IB_OK with 0 taken while connecting or when the window is shut (wait
 * for WRITABLE); the stream's error once it ended; IB_ERR_NOT_FOUND for
 * an unknown id. */
int ib_mux_engine_send(struct ib_mux_engine *e, uint32_t stream,
    const uint8_t *p, size_t n, size_t *acceptedp);
/* Added: bytes given to send() that the peer has not acknowledged yet
 * (queued here or in flight); 0 for an unknown or ended stream. close()
 * drops what is still queued, so a graceful close waits for 0 (it can
 * only drop on input(), when an ACK arrives). */
size_t ib_mux_engine_send_pending(const struct ib_mux_engine *e, uint32_t stream);
/* Received bytes waiting; peek them without copying (the longest
 * contiguous piece; *np == 0 when none; valid until the next call on
 * this engine), then consume what was delivered (this is what advances
 * our ACK; IB_ERR_INVALID_ARG beyond recv_avail). */
size_t ib_mux_engine_recv_avail(const struct ib_mux_engine *e, uint32_t stream);
int ib_mux_engine_recv_peek(struct ib_mux_engine *e, uint32_t stream,
    const uint8_t **pp, size_t *np);
int ib_mux_engine_recv_consume(struct ib_mux_engine *e, uint32_t stream, size_t n);

/* Reset the stream (RST with current seq/ack to the peer, unless it has
 * ended already or its SYN was never output) and forget it: no more
 * events, unread bytes dropped. IB_OK for an id already released. */
int ib_mux_engine_close(struct ib_mux_engine *e, uint32_t stream);
/* The link died: every stream not ended yet (connecting ones too) gets
 * CLOSED with err (usually IB_ERR_NO_DEVICE); due RSTs are dropped and
 * nothing more is output; input() returns err, connect() IB_ERR_STATE.
 * Events and unread bytes stay available. */
void ib_mux_engine_abort(struct ib_mux_engine *e, int err);

/*
 * Device role fault injection (the sim's knobs; they work in the host
 * role too). inject_rst: RST with the reason as payload on a live stream,
 * which then ends locally as if reset (CLOSED event, IB_ERR_MUX_RESET,
 * reason in ev.text). inject_malformed: queue one broken packet that a
 * byte-stream link still frames correctly (its length field always
 * matches its size) - 1 = TCP packet too short for its TCP header,
 * 2 = bad v2 magic (IB_ERR_STATE on a v1 link), 3 = TCP data for an
 * unknown stream, 4 = unknown protocol number, 5 = FIN|ACK on the oldest
 * open stream (IB_ERR_NOT_FOUND without one); the sender's own state is
 * unchanged. IB_ERR_STATE before READY, IB_ERR_INVALID_ARG for other
 * kinds, IB_ERR_WOULD_BLOCK when 8 link packets already wait.
 */
int ib_mux_engine_inject_rst(struct ib_mux_engine *e, uint32_t stream, const char *reason);
int ib_mux_engine_inject_malformed(struct ib_mux_engine *e, int kind);
/* Device role: queue a CONTROL message (type 3/5/7) with text (at most
 * IB_MUX_TEXT_MAX bytes, else IB_ERR_TOO_LARGE). IB_ERR_STATE before
 * READY, IB_ERR_WOULD_BLOCK when 8 link packets already wait. */
int ib_mux_engine_send_control(struct ib_mux_engine *e, uint8_t type, const char *text);

/* Added: the ports of a stream (host_port = the host's source port). */
int ib_mux_engine_stream_ports(const struct ib_mux_engine *e, uint32_t stream,
    uint16_t *host_portp, uint16_t *dev_portp);

#endif /* IB_MUX_ENGINE_H */
