/*
 * transport.h - the runtime seam between the usbmux core (usbmux.c, which
 * implements ib_usbmux.h) and its transports. Internal to usbmux/.
 *
 *   tr_usb.c      "usb": ibackup's own mux over libusb (link_libusb.c)
 *   tr_usbmuxd.c  "usbmuxd": client of a usbmuxd-protocol server
 *   tr_sim.c      "sim:PATH": ibackup's own mux over the virtual device's
 *                 socket (link_stream.c + doc/sim-protocol.md)
 *
 * The core owns the device registry, subscriptions, select/wait and the
 * pair-record directory store; a transport only reports devices coming
 * and going and opens streams. Every op is called without core locks
 * held; a transport may call the ib_usbmux_core_* functions from any of
 * its threads.
 */
#ifndef IB_TRANSPORT_H
#define IB_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "ib_usbmux.h"

struct ib_stream_ops {
	/* Reason the stream ended (IB_OK while open). */
	int (*error)(const struct ib_stream *s);
	/* Peer's text for the end, or "". */
	const char *(*error_text)(const struct ib_stream *s);
	/* Close the fd and release; the stream struct itself is freed by
	 * ib_stream_close after this returns. */
	void (*close)(struct ib_stream *s);
};

struct ib_stream {
	int fd;                         /* connected SOCK_STREAM socket */
	const struct ib_stream_ops *ops;
	void *impl;
};

struct ib_transport_ops {
	const char *name;
	/*
	 * Start the transport. spec is what followed "name:" in the
	 * transport option (NULL if nothing). For "auto" probing, return
	 * IB_ERR_TRANSPORT (quietly) when this transport has nothing to
	 * offer on this machine. Devices already present must be reported
	 * through ib_usbmux_core_attached() before open returns, so that a
	 * list right after ib_usbmux_new() is complete.
	 */
	int (*open)(struct ib_usbmux *core, const char *spec, void **tp);
	/* Stop threads, fail every stream with IB_ERR_NO_DEVICE, free. */
	void (*close)(void *t);
	/* For -v: "usb (libusb 1.0.26)", "usbmuxd (UNIX:/var/run/usbmuxd)". */
	const char *(*describe)(void *t);
	/* Open a stream to dev's port (see ib_usbmux_connect for errors). */
	int (*connect)(void *t, const struct ib_device *dev, uint16_t port,
	    struct ib_stream **sp);
	/*
	 * Pair records. NULL means "use the core's directory store" (own
	 * mux transports); usbmuxd forwards to the daemon.
	 */
	int (*read_pair_record)(void *t, const char *udid, uint8_t **datap, size_t *lenp);
	int (*save_pair_record)(void *t, const char *udid, const uint8_t *data,
	    size_t len, uint32_t handle);
	int (*delete_pair_record)(void *t, const char *udid);
	int (*read_buid)(void *t, char **buidp);
};

extern const struct ib_transport_ops ib_transport_usb;
extern const struct ib_transport_ops ib_transport_usbmuxd;
extern const struct ib_transport_ops ib_transport_sim;

/* Called by transports, from any thread. The core copies *dev. */
void ib_usbmux_core_attached(struct ib_usbmux *core, const struct ib_device *dev);
void ib_usbmux_core_detached(struct ib_usbmux *core, uint32_t handle);
/* Device ids for transports that have none of their own: 1, 2, 3, ...
 * never reused while the context lives (like usbmuxd). */
uint32_t ib_usbmux_core_next_handle(struct ib_usbmux *core);

#endif /* IB_TRANSPORT_H */
