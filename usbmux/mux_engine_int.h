/*
 * mux_engine_int.h - private state of the mux engine, shared by
 * mux_engine.c (link level: version, SETUP, CONTROL, output order,
 * events, fault injection), mux_stream.c (streams: the TCP-like state
 * machine and the stream API) and mux_store.c (lists, hash tables,
 * rings). Nothing outside these files includes it.
 */
#ifndef IB_MUX_ENGINE_INT_H
#define IB_MUX_ENGINE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ib_limits.h"
#include "mux_engine.h"
#include "mux_proto.h"

/*
 * Byte ring of a fixed capacity, allocated on first use (so 1024 idle
 * streams cost no ring memory) and never grown. Invariant: used <= cap,
 * head < cap; the unread bytes are [head, head + used) modulo cap.
 */
struct mux_ring {
	uint8_t *d;
	uint32_t cap;
	uint32_t head;
	uint32_t used;
};

/* The intrusive lists a stream can be on. */
enum {
	L_ALL,          /* every stream struct, in creation order */
	L_CTL,          /* streams with a control packet due (s->ctl != 0) */
	L_DATA,         /* streams with data the peer window lets us send */
	L_EV,           /* streams with events not yet taken (s->ev != 0) */
	L_COUNT
};

struct mux_stream;

struct mux_node {
	struct mux_stream *prev, *next;
	uint8_t on;
};

struct mux_list {
	struct mux_stream *head, *tail;
};

enum mux_stream_state {
	ST_SYN_PENDING = 1,     /* host: connect() called, SYN not output */
	ST_SYN_SENT,            /* host: waiting for SYN|ACK */
	ST_INCOMING,            /* device: SYN seen, accept()/refuse() due */
	ST_OPEN,                /* data flows (device: from accept() on) */
	ST_CLOSED,              /* ended; event and unread bytes remain */
	ST_ZOMBIE,              /* forgotten by the app; its RST is due */
};

/* Control packets due on a stream (s->ctl). */
#define CTL_SYN 0x01u
#define CTL_SYNACK 0x02u
#define CTL_ACK 0x04u
#define CTL_RST 0x08u
#define CTL_HANDSHAKE_ACK 0x10u /* the third packet: always a pure ACK */

#define EV_BIT(t) (1u << (t))

struct mux_stream {
	uint32_t id;
	uint16_t host_port;
	uint16_t dev_port;
	uint8_t state;          /* enum mux_stream_state */
	uint8_t ctl;            /* CTL_* due */
	uint8_t end_taken;      /* CLOSED/REFUSED event handed out */
	uint8_t in_ports;       /* in the port table */
	uint8_t rst_text;       /* text is our RST reason (sent with CTL_RST) */
	uint16_t ev;            /* EV_BIT(IB_MUX_EV_*) not yet taken */
	int err;                /* why it ended (ST_CLOSED) */
	char *text;             /* RST reason, sanitised, or NULL */
	/* Our side: next seq to send, peer's last ack, peer window bytes. */
	uint32_t snd_nxt;
	uint32_t snd_una;
	uint32_t peer_win;
	/* Peer's side: bytes received so far and what we acknowledged
	 * (= consumed); rcv_nxt - rcv_ack == rx.used. */
	uint32_t rcv_nxt;
	uint32_t rcv_ack;
	struct mux_ring rx;
	struct mux_ring tx;
	struct mux_node node[L_COUNT];
};

/* Hash slot; key 0 is a valid key, s == NULL marks an empty slot. */
struct mux_slot {
	uint32_t key;
	struct mux_stream *s;
};

/* Twice the stream cap, so linear probing stays short. */
#define MUX_TAB_BITS 11
#define MUX_TAB_SIZE (1u << MUX_TAB_BITS)
_Static_assert(MUX_TAB_SIZE >= 2 * IB_MUX_MAX_STREAMS, "hash table too small");

/* A link-level packet built ahead of output (VERSION, SETUP, CONTROL,
 * injected faults); v2 seq fields are stamped when it is output. */
#define MUX_BLOB_MAX (IB_MUX_HDR_V2_LEN + IB_MUX_TCP_HDR_LEN + IB_MUX_TEXT_MAX)
#define MUX_BLOBS 8u

enum { STAMP_NONE, STAMP_V2, STAMP_SETUP };

struct mux_blob {
	uint16_t len;
	uint8_t stamp;
	uint8_t d[MUX_BLOB_MAX];
};

/* RST for a packet that matches no stream (ports already swapped). */
struct mux_anon {
	uint16_t sport, dport;
	uint32_t seq, ack;
};

struct mux_ctlev {
	uint8_t type;
	char text[IB_MUX_TEXT_MAX + 1];
};

enum mux_link_state {
	LINK_INIT = 1,          /* host before start() */
	LINK_WAIT_VERSION,      /* host: VERSION sent; device: waiting for it */
	LINK_WAIT_SETUP,        /* device: answered 2, SETUP not seen */
	LINK_READY,
	LINK_DEAD,              /* fatal or aborted: no more output */
};

struct ib_mux_engine {
	struct ib_mux_engine_cfg cfg;   /* normalised */
	int link;                       /* enum mux_link_state */
	uint32_t version;               /* agreed; 0 before READY */
	uint32_t hdr_version;           /* header of non-VERSION packets, 0 = unknown */
	uint16_t tx_seq;                /* v2: our packet counter */
	uint16_t rx_seq;                /* v2: last peer tx_seq seen */
	int dead_err;
	uint8_t ready_ev;
	uint8_t fatal_ev;
	uint64_t rng;                   /* random_segments state */

	struct mux_blob blob[MUX_BLOBS];
	unsigned blob_head, blob_n;
	struct mux_anon anon[IB_MUX_ANON_RST_MAX];
	unsigned anon_head, anon_n;
	struct mux_ctlev ctlev[IB_MUX_CONTROL_EVENTS];
	unsigned ctlev_head, ctlev_n;

	struct mux_list list[L_COUNT];
	struct mux_slot by_id[MUX_TAB_SIZE];
	struct mux_slot by_port[MUX_TAB_SIZE];
	uint32_t nstreams;              /* stream structs alive, zombies included */
	uint32_t next_id;
	uint16_t next_port;             /* host: next source port to try */

	uint8_t out[IB_MUX_MTU];        /* the packet output() hands out */
};

/* mux_store.c */
/* Append s to list k unless it is on it already; remove if on it. */
void mux_list_push(struct ib_mux_engine *e, int k, struct mux_stream *s);
void mux_list_remove(struct ib_mux_engine *e, int k, struct mux_stream *s);
/* Tables of MUX_TAB_SIZE slots; callers keep them at most half full. */
struct mux_stream *mux_tab_get(const struct mux_slot *t, uint32_t key);
void mux_tab_put(struct mux_slot *t, uint32_t key, struct mux_stream *s);
void mux_tab_del(struct mux_slot *t, uint32_t key);
/* Allocate a ring of cap bytes on first use (IB_ERR_NOMEM). */
int mux_ring_ready(struct mux_ring *r, uint32_t cap);
void mux_ring_free(struct mux_ring *r);
/* Callers check the sizes: write n <= cap - used, read/consume n <= used. */
void mux_ring_write(struct mux_ring *r, const uint8_t *p, uint32_t n);
void mux_ring_read(struct mux_ring *r, uint8_t *out, uint32_t n);
void mux_ring_consume(struct mux_ring *r, uint32_t n);

/* mux_stream.c, used by mux_engine.c */
void mux_ev_raise(struct ib_mux_engine *e, struct mux_stream *s, int type);
void mux_tcp_input(struct ib_mux_engine *e, const struct ib_mux_packet *p);
/* Output the due control packet of s (SYN, SYN|ACK, ACK or RST, or a data
 * packet carrying the ACK). 0 when s had nothing after all. */
size_t mux_stream_ctl_output(struct ib_mux_engine *e, struct mux_stream *s);
/* Output one data packet of s; 0 when its window or ring is empty. */
size_t mux_stream_data_output(struct ib_mux_engine *e, struct mux_stream *s);
/* Take the next pending event of s (which is on L_EV). */
void mux_stream_take_event(struct ib_mux_engine *e, struct mux_stream *s,
    struct ib_mux_event *ev);
/* End every stream with err and forget the due RSTs (link is dead). */
void mux_streams_abort(struct ib_mux_engine *e, int err);
void mux_streams_free(struct ib_mux_engine *e);
/* Fault kind 5: TCP fields of a FIN|ACK on the oldest open stream, into
 * p (header fields untouched); IB_ERR_NOT_FOUND without one. */
int mux_stream_fin_packet(const struct ib_mux_engine *e, struct ib_mux_packet *p);

/* mux_engine.c, used by mux_stream.c */
/* Header fields of the next packet we send (version, v2 seq stamped). */
void mux_packet_start(struct ib_mux_engine *e, struct ib_mux_packet *p,
    uint32_t protocol);
/* Queue an RST for a packet that matched no stream. */
void mux_anon_rst(struct ib_mux_engine *e, uint16_t sport, uint16_t dport,
    uint32_t seq, uint32_t ack);

#endif /* IB_MUX_ENGINE_INT_H */
