/*
 * mux_conn.h - the mux runtime (internal to usbmux/ and sim/): one thread
 * per link that runs a mux engine (mux_engine.h) over a mux link
 * (mux_link.h) in the loop mux_link.h describes, for both roles.
 *
 * Streams as sockets
 *   Every open mux stream is bridged to one end of a
 *   socketpair(AF_UNIX, SOCK_STREAM). The runtime keeps its end
 *   non-blocking; the other end is what the user gets (host role: the fd
 *   of the struct ib_stream from ib_mux_conn_connect; device role: the fd
 *   handed to the incoming callback).
 *
 * Backpressure, both ways, with bounded buffers
 *   - user -> peer: a stream socket is read only while the engine has
 *     send space for that stream and the link's queued() is below
 *     IB_MUX_CONN_LINK_HIGH; what is read goes straight into the engine.
 *   - peer -> user: received data is written to the stream socket and
 *     recv_consume()d only as far as the write got. Our ACK, and so the
 *     peer's window, advances only with the reader: a slow reader stalls
 *     its own stream and nothing else.
 *
 * Ends of a stream
 *   - user closes its fd (the runtime reads EOF): what the user wrote
 *     before is delivered (acknowledged by the peer, at most
 *     IB_MUX_CONN_LINGER_MS), then the engine resets the stream (RST);
 *   - peer resets it: data already received is still delivered, then the
 *     user's fd reads EOF; ib_stream_error() gives IB_ERR_MUX_RESET and
 *     ib_stream_error_text() the RST's text;
 *   - the link dies (peer unplugged, EOF, I/O error, ib_mux_conn_shutdown,
 *     ib_mux_conn_free): every stream ends with the link's reason,
 *     IB_ERR_NO_DEVICE, or IB_ERR_MUX_PROTOCOL when the peer broke the
 *     framing or the protocol; the user reads what was already in its
 *     socket, then EOF (bytes still in the engine are dropped).
 *   Once a stream has ended, the user's writes fail (EPIPE: the runtime
 *   shuts down its reading side) while its reads still return what had
 *   arrived, then EOF; a writer blocked on a dead stream is released.
 *   A link's service() error and a recv() result other than IB_OK or
 *   IB_ERR_WOULD_BLOCK are its death; packets received before it are
 *   still fed to the engine.
 *
 * Threads
 *   The runtime thread is the only caller of the engine and the link.
 *   Every function below may be called from any other thread; callbacks
 *   run on the runtime thread and must not block or call
 *   ib_mux_conn_free() on their own conn (ib_mux_conn_shutdown() and
 *   ib_mux_conn_inject_malformed() are fine there).
 */
#ifndef IB_MUX_CONN_H
#define IB_MUX_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "mux_engine.h"
#include "mux_link.h"

struct ib_stream;

/* The runtime stops reading stream sockets while the link holds this
 * many bytes not yet taken by the peer. Large enough to keep a USB bulk
 * pipe busy, small enough that a stalled link holds little memory. */
#define IB_MUX_CONN_LINK_HIGH (512u * 1024u)

/* After the user closes a stream, what it wrote is delivered before the
 * RST, but a peer that stops acknowledging gets the RST after this long. */
#define IB_MUX_CONN_LINGER_MS 5000

/* How long ib_mux_conn_connect waits by default (ib_usbmux.h: 10 s). */
#define IB_MUX_CONN_CONNECT_TIMEOUT_MS 10000

struct ib_mux_conn_cfg {
	struct ib_mux_engine_cfg engine;
	/* For log lines, e.g. "sim 00008110-001A2B3C4D5E6F70"; copied. */
	const char *name;
	/*
	 * Device role, required: a SYN arrived for port. fd is the user end
	 * of the stream's socketpair. Return IB_OK to accept: the callee now
	 * owns fd (the sim starts a service thread on it). Return anything
	 * else to refuse: the runtime closes fd and answers RST carrying
	 * reason (NUL-terminated, may be left empty).
	 */
	int (*incoming)(void *ctx, uint16_t port, int fd, char *reason,
	    size_t reason_size);
	/* Optional: the link died with err; called once. */
	void (*dead)(void *ctx, int err);
	/* Optional: n bytes of mux packets went over the link (in or out). */
	void (*bytes)(void *ctx, uint64_t n);
	void *ctx;
};

struct ib_mux_conn;

/*
 * Start the runtime thread over link (ownership of the link passes to the
 * conn, also on failure). Host role: the VERSION request is queued at
 * once. IB_ERR_NOMEM, IB_ERR_SYSTEM (thread or eventfd).
 */
int ib_mux_conn_new(const struct ib_mux_conn_cfg *cfg, struct ib_mux_link link,
    struct ib_mux_conn **cp);
/*
 * Stop the thread, end every stream (IB_ERR_NO_DEVICE unless it ended
 * already), free the engine and the link. Streams handed out stay valid
 * until ib_stream_close(); their fds read EOF. No other call on c may be
 * in progress (tr_sim counts connects in flight). NULL is a no-op.
 */
void ib_mux_conn_free(struct ib_mux_conn *c);

/*
 * Wait until the version is agreed: IB_OK, IB_ERR_TIMEOUT, or the link's
 * error (IB_ERR_NO_DEVICE, IB_ERR_MUX_VERSION, IB_ERR_MUX_PROTOCOL) if it
 * died first. timeout_ms < 0 waits forever.
 */
int ib_mux_conn_wait_ready(struct ib_mux_conn *c, int timeout_ms);
/* Negotiated mux version (0 before ready). */
uint32_t ib_mux_conn_version(struct ib_mux_conn *c);

/*
 * Host role: open a stream to a device port. Waits for the version first.
 * IB_ERR_MUX_REFUSED (the RST text, if any, in the error detail),
 * IB_ERR_NO_DEVICE / the link's error, IB_ERR_TIMEOUT after timeout_ms
 * (the half-open stream is reset), IB_ERR_MUX_NO_PORTS, IB_ERR_SYSTEM.
 * *sp is released with ib_stream_close().
 */
int ib_mux_conn_connect(struct ib_mux_conn *c, uint16_t port, int timeout_ms,
    struct ib_stream **sp);

/* Kill the link now, as if the peer had gone; streams end with err. Does
 * not wait; safe from callbacks. */
void ib_mux_conn_shutdown(struct ib_mux_conn *c, int err);
/*
 * Device role fault: have the engine emit a malformed packet of the given
 * kind (1-5, ib_mux_engine_inject_malformed), or with
 * IB_MUX_CONN_MALFORMED_FRAMING put a header on the link whose length no
 * byte-stream peer can frame (the peer's link dies with
 * IB_ERR_MUX_PROTOCOL). Does not wait.
 */
#define IB_MUX_CONN_MALFORMED_FRAMING 6
void ib_mux_conn_inject_malformed(struct ib_mux_conn *c, int kind);

/* Device role: send a CONTROL message (type 3 error, 5 warning, 7 info)
 * that the host logs. Does not wait. */
void ib_mux_conn_send_control(struct ib_mux_conn *c, uint8_t type, const char *text);

/* IB_OK while the link lives, else why it died. */
int ib_mux_conn_error(struct ib_mux_conn *c);
/* "NAME over LINK-DESCRIPTION, mux v2", written into buf; returns buf. */
const char *ib_mux_conn_describe(struct ib_mux_conn *c, char *buf, size_t size);
/* Mux packet bytes moved over the link in both directions. */
uint64_t ib_mux_conn_bytes(struct ib_mux_conn *c);

#endif /* IB_MUX_CONN_H */
