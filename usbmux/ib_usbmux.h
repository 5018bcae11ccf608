/*
 * ib_usbmux.h - the usbmux layer: find iOS devices and open byte streams
 * to their TCP-like ports. This header is the whole contract the lockdown
 * layer (and the `ibackup` CLI) may use.
 *
 * Transports (chosen once per context, see ib_usbmux_new):
 *   "usb"       ibackup's own mux over libusb (Apple VID 0x05ac, mux
 *               interface 0xFF/0xFE/0x02), no daemon involved;
 *   "usbmuxd"   a running usbmuxd-protocol server at /var/run/usbmuxd or
 *               $USBMUXD_SOCKET_ADDRESS (UNIX:/path or host:port);
 *   "sim:PATH"  ibackup's own mux over the raw mux byte stream of the
 *               virtual devices served by `ibackup-sim --listen PATH`;
 *   "auto"      usb if libusb can open an Apple device in mux mode, else
 *               a running usbmuxd, else an error naming both.
 *
 * Streams
 *   ib_usbmux_connect() returns a struct ib_stream whose fd is a connected
 *   SOCK_STREAM socket: read, write, poll it, or hand it to OpenSSL. For
 *   ibackup's own mux a per-device thread moves bytes between that socket
 *   and the device, honouring the device's window and ACKing promptly; a
 *   slow reader only ever stalls its own stream. When the stream ends the
 *   fd reads EOF and ib_stream_error() says why (device reset the
 *   connection, device unplugged, protocol violation).
 *
 * Pair records
 *   Every transport offers the usbmuxd pair-record operations. Through
 *   usbmuxd they are the daemon's messages; otherwise they are served
 *   from a directory store: --pair-records DIR if given, else
 *   /var/lib/lockdown when it exists and is writable (shared with
 *   usbmuxd and libimobiledevice), else $XDG_CONFIG_HOME/ibackup/lockdown
 *   (~/.config/ibackup/lockdown). Records are written 0600, atomically.
 *
 * Thread safety: all functions may be called from any thread.
 */
#ifndef IB_USBMUX_H
#define IB_USBMUX_H

#include <stddef.h>
#include <stdint.h>

/* Longest UDID we accept: 40 hex (old) or 25 with hyphen (A12+); room
 * for unusual serials from other muxers. */
#define IB_UDID_MAX 64

enum ib_conn_type {
	IB_CONN_USB = 1,        /* ibackup's own mux over libusb */
	IB_CONN_USBMUXD = 2,    /* through a usbmuxd-protocol server */
	IB_CONN_SIM = 3,        /* ibackup's own mux to a virtual device */
	IB_CONN_NETWORK = 4,    /* a usbmuxd reported a network device */
};

struct ib_device {
	uint32_t handle;                /* id in this context (usbmuxd DeviceID) */
	char udid[IB_UDID_MAX + 1];     /* hyphenated for 24-char serials */
	uint16_t product_id;            /* USB idProduct, 0 if unknown */
	uint32_t location;              /* (bus << 16) | address, 0 if unknown */
	uint64_t speed_bps;             /* link speed in bit/s, 0 if unknown */
	enum ib_conn_type conn;
	/* The underlying link as usbmuxd reports it ("USB", "Network"). */
	char conn_detail[16];
};

struct ib_usbmux;
struct ib_stream;

struct ib_usbmux_opts {
	/* "auto" (NULL), "usb", "usbmuxd", "sim:PATH". */
	const char *transport;
	/* Directory store for pair records; NULL = default lookup. */
	const char *pair_record_dir;
};

/* Open a context. Fails with IB_ERR_TRANSPORT (auto found nothing),
 * IB_ERR_USB_INIT, IB_ERR_MUXD_CONNECT, or IB_ERR_USAGE for a bad spec. */
int ib_usbmux_new(const struct ib_usbmux_opts *opts, struct ib_usbmux **mp);
/* Close every stream and device; NULL is a no-op. */
void ib_usbmux_free(struct ib_usbmux *m);
/* Human description of the transport in use, e.g. "usb (libusb)",
 * "usbmuxd (UNIX:/var/run/usbmuxd)", "sim:/tmp/sim.sock". */
const char *ib_usbmux_describe(const struct ib_usbmux *m);
enum ib_conn_type ib_usbmux_conn_type(const struct ib_usbmux *m);

/* Snapshot of the devices visible now; *devsp is malloc'd (free()). */
int ib_usbmux_list(struct ib_usbmux *m, struct ib_device **devsp, size_t *np);
/*
 * Pick a device: with udid NULL the only one connected (IB_ERR_DEVICE_NOT_FOUND
 * if none, IB_ERR_DEVICE_AMBIGUOUS if several, with the UDIDs listed in
 * the error detail); with a udid that device. A udid also matches with
 * or without the hyphen of 24-character serials.
 */
int ib_usbmux_select(struct ib_usbmux *m, const char *udid, struct ib_device *outp);
/* Like select, but wait up to timeout_ms (negative: forever) for a
 * matching device to appear. Ends early with IB_ERR_INTERRUPTED. */
int ib_usbmux_wait(struct ib_usbmux *m, const char *udid, int timeout_ms,
    struct ib_device *outp);

/* Attach/detach notifications, called from a transport thread. */
typedef void (*ib_usbmux_event_fn)(void *ctx, int attached, const struct ib_device *dev);
int ib_usbmux_subscribe(struct ib_usbmux *m, ib_usbmux_event_fn fn, void *ctx, int *idp);
void ib_usbmux_unsubscribe(struct ib_usbmux *m, int id);

/*
 * Open a stream to a device port (host byte order, e.g. 62078).
 * IB_ERR_MUX_REFUSED when nothing listens there, IB_ERR_NO_DEVICE when
 * the device is gone, IB_ERR_TIMEOUT after 10 s without an answer.
 */
int ib_usbmux_connect(struct ib_usbmux *m, const char *udid, uint16_t port,
    struct ib_stream **sp);

/* The stream's socket; owned by the stream (do not close it). */
int ib_stream_fd(const struct ib_stream *s);
/* IB_OK while open; after EOF the reason: IB_ERR_MUX_RESET (device closed
 * or reset it), IB_ERR_NO_DEVICE (unplugged), IB_ERR_MUX_PROTOCOL, ... */
int ib_stream_error(const struct ib_stream *s);
/* Device-side text that came with the end (RST payload), or "". */
const char *ib_stream_error_text(const struct ib_stream *s);
/* Close (the device sees a reset); NULL is a no-op. */
void ib_stream_close(struct ib_stream *s);

/* Pair records (see above). Data is the record plist as stored. */
int ib_usbmux_read_pair_record(struct ib_usbmux *m, const char *udid,
    uint8_t **datap, size_t *lenp);
int ib_usbmux_save_pair_record(struct ib_usbmux *m, const char *udid,
    const uint8_t *data, size_t len);
int ib_usbmux_delete_pair_record(struct ib_usbmux *m, const char *udid);
/* This host's persistent SystemBUID (created on first use); malloc'd. */
int ib_usbmux_read_buid(struct ib_usbmux *m, char **buidp);

#endif /* IB_USBMUX_H */
