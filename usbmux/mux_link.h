/*
 * mux_link.h - the packet seam under ibackup's own mux (internal to
 * usbmux/ and sim/).
 *
 * A link carries whole mux packets between the mux engine and one device
 * (host role) or one host (device role). Implementations:
 *   link_stream.c  the raw mux byte stream over a socket (sim:PATH, and
 *                  the virtual device's side of it); packets are cut from
 *                  the byte stream by the header's length field;
 *   link_libusb.c  bulk endpoints through libusb (host role): one packet
 *                  per OUT transfer plus a zero-length packet when the
 *                  length is a multiple of wMaxPacketSize; several IN
 *                  transfers always queued; reassembly of packets longer
 *                  than one IN transfer as usbmux.md section 1.3 says;
 *   link_ffs.c     (step 5) FunctionFS endpoint files (device role).
 *
 * The mux runtime owns exactly one thread per link and calls every op
 * from that thread only, in this loop:
 *
 *     for (;;) {
 *         ops->pollfd(link, &pfd);     // fd and events to wait for
 *         poll(pfd + stream fds ...);
 *         ops->service(link, revents); // move bytes; may kill the link
 *         while (ops->recv(link, &pkt, &len) == IB_OK)
 *             engine input;
 *         engine output -> ops->send(link, pkt, len);
 *     }
 *
 * Nothing in a link may block indefinitely: a device that stops reading
 * must not stop us from reading what it sends (both directions are
 * independent on real USB, and on a socket two blocked writers deadlock).
 */
#ifndef IB_MUX_LINK_H
#define IB_MUX_LINK_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

struct ib_mux_link_ops {
	/*
	 * Queue one complete mux packet for transmission; never blocks. The
	 * link copies the bytes. Returns IB_OK, IB_ERR_NO_DEVICE once the
	 * link is dead, or IB_ERR_TOO_LARGE for a packet above IB_MUX_MTU.
	 */
	int (*send)(void *link, const uint8_t *pkt, size_t len);
	/*
	 * Bytes queued by send() and not yet accepted by the device. The
	 * runtime stops reading stream sockets while this is above its
	 * threshold (backpressure without blocking).
	 */
	size_t (*queued)(void *link);
	/*
	 * Fill pfd with the descriptor and events the runtime must poll for
	 * this link (POLLIN always; POLLOUT while output is queued, where
	 * the link writes to a socket). fd -1 means "nothing to poll; call
	 * service() after the timeout in *timeout_ms" (never used yet).
	 */
	void (*pollfd)(void *link, struct pollfd *pfd);
	/*
	 * Do the I/O poll() reported: write queued output, read input and
	 * cut it into packets. Returns IB_OK, or IB_ERR_NO_DEVICE when the
	 * peer is gone (EOF, USB no-device, transfer error: usbmux.md 1.5).
	 */
	int (*service)(void *link, short revents);
	/*
	 * Next complete received packet, or IB_ERR_WOULD_BLOCK when none is
	 * waiting. The bytes stay valid until the next recv() or service().
	 * Packets longer than IB_MUX_MRU, or whose header length disagrees
	 * with what arrived, are dropped by the link with a log line
	 * (usbmuxd does the same) and never reach the engine.
	 */
	int (*recv)(void *link, const uint8_t **pktp, size_t *lenp);
	/* Text for -v, e.g. "usb 1-4 (config 4, if 1, ep 04/85, mps 512)". */
	const char *(*describe)(void *link);
	/* Release everything (cancel transfers, close fds); NULL-safe. */
	void (*free)(void *link);
};

struct ib_mux_link {
	const struct ib_mux_link_ops *ops;
	void *impl;
};

/*
 * The stream link (link_stream.c): takes ownership of a connected socket
 * carrying the raw mux byte stream.
 */
int ib_mux_link_stream_new(int fd, struct ib_mux_link *linkp);

#endif /* IB_MUX_LINK_H */
