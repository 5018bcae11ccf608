/*
 * muxd_session.h - one client of the usbmuxd-compatible server: its
 * protocol state machine (usbmux.md 3.7) without I/O. Bytes from the
 * client go in, reply bytes come out, and the backend is called for
 * devices, streams and pair records. muxd_server.c owns the sockets and
 * threads; the fuzzer drives sessions directly. Internal to usbmux/.
 *
 * Threads: muxd_session_input is called by one thread (the client's);
 * notify, output, state and listener_info may be called from any thread. The
 * session never holds its lock while it calls the backend or the host.
 */
#ifndef IB_MUXD_SESSION_H
#define IB_MUXD_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "muxd_proto.h"
#include "muxd_server.h"

enum muxd_state {
	MUXD_COMMAND,           /* reading commands */
	MUXD_LISTEN,            /* notification-only */
	MUXD_CONNECTED,         /* Result queued; then a raw pipe to the stream */
	MUXD_CLOSED,            /* flush the output, then close the socket */
};

/* What the session needs from the server around it. */
struct muxd_host {
	const struct ib_muxd_backend *be;
	void *be_ctx;
	/* Every client in LISTEN state (ListListeners); *lp malloc'd. */
	int (*listeners)(void *hctx, struct ib_muxd_listener **lp, size_t *np);
	/* A SavePairRecord named a connected device: tell the listeners. */
	void (*paired)(void *hctx, uint32_t device_id);
	void *hctx;
};

struct muxd_session;

/* number: this client's serial number (ListListeners "ID String"). */
int muxd_session_new(const struct muxd_host *host, unsigned number,
    struct muxd_session **sp);
/* Closes a stream that was not taken; NULL is a no-op. */
void muxd_session_free(struct muxd_session *s);

/* The state, and (when not NULL) the bytes of output queued and whether
 * too much was queued for a client that does not read (drop it then). */
enum muxd_state muxd_session_state(struct muxd_session *s, size_t *pendingp,
    int *overflowedp);
/* Bytes the server should read next: exactly the rest of the current
 * message in COMMAND state (never more, so that what follows a Connect
 * stays in the socket), 0 once CONNECTED or CLOSED. */
size_t muxd_session_want(struct muxd_session *s);

/*
 * Bytes from the client. Handles every complete message, calling the
 * backend as needed, and stops consuming (*usedp < n) after a message
 * that leaves COMMAND state. Never fails: protocol errors become replies
 * or the CLOSED state.
 */
void muxd_session_input(struct muxd_session *s, const uint8_t *p, size_t n, size_t *usedp);

/* Device events from the backend subscription, and Paired broadcasts.
 * Return 1 when output was queued (the server wakes the client). */
int muxd_session_notify(struct muxd_session *s, int attached, const struct ib_device *dev);
int muxd_session_notify_paired(struct muxd_session *s, uint32_t device_id);

/*
 * Hand queued output to write_fn until it takes less than offered.
 * write_fn returns bytes taken (0 = would block) or a negative IB_ERR_*,
 * which is returned. IB_OK otherwise.
 */
typedef ssize_t (*muxd_write_fn)(void *arg, const uint8_t *p, size_t n);
int muxd_session_output(struct muxd_session *s, muxd_write_fn write_fn, void *arg);

/* In CONNECTED state: the stream (once; the caller then closes it with
 * the backend's close_stream). IB_ERR_STATE otherwise. */
int muxd_session_take_stream(struct muxd_session *s, int *fdp, void **hp);

/* 1 and *l filled when the client is listening, else 0. */
int muxd_session_listener_info(struct muxd_session *s, struct ib_muxd_listener *l);

#endif /* IB_MUXD_SESSION_H */
