/*
 * muxd_server.h - a usbmuxd-compatible server on a UNIX socket, serving
 * any ib_usbmux context (`ibackup muxd --socket PATH`): libimobiledevice,
 * pymobiledevice3, go-ios and ibackup's own "usbmuxd" transport reach the
 * devices of a "usb" or "sim:PATH" context through it as if it were
 * usbmuxd (usbmux.md 3.1-3.7).
 *
 * Per client socket, as usbmuxd does it:
 *   COMMAND    binary (version 0) or plist (version 1) requests; replies
 *              echo the tag and use the client's form (plist once it has
 *              sent one plist message); notifications use tag 0;
 *   Listen     -> Result 0, then Attached for every device, then live
 *              Attached / Detached (and Paired after a SavePairRecord that
 *              names a connected DeviceID); the socket takes no further
 *              command (a message gets BADCOMMAND and the socket closes);
 *   Connect    -> Result 0, then the socket is a raw byte pipe to the
 *              device port until either side closes; a failed Connect
 *              answers 2 (no such device) or 3 (refused) and the socket
 *              stays in COMMAND. Bytes a client sends after the Connect
 *              message, even before reading its Result, are not read as
 *              commands: they go to the device once it is connected (the
 *              server reads only whole messages);
 *   ListDevices, ListListeners, ReadBUID, Read/Save/DeletePairRecord
 *              (pair-record failures answer errno values: ENOENT, EINVAL,
 *              EIO), anything else -> Result 1 (BADCOMMAND);
 *   a version other than 0/1 -> Result 6; a plist that does not parse or
 *   has no MessageType, or a length outside 16..64 KiB -> socket closed.
 *
 * Every client has its own thread; a client that does not read its
 * notifications is dropped once IB_MUXD_CLIENT_BACKLOG bytes queue up,
 * so no client can hold back the others or the device transport.
 * Connected pipes move bytes with splice(2) through a kernel pipe (no
 * copy through user space), falling back to large read/write buffers.
 *
 * Thread safety: start/stop from one thread; everything else is internal.
 */
#ifndef IB_MUXD_SERVER_H
#define IB_MUXD_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "ib_usbmux.h"

struct ib_muxd_server;

/*
 * What the server serves. ib_muxd_server_start() uses an ib_usbmux
 * context; tests and fuzzers pass a fake. Calls come from client threads,
 * concurrently; none is made with a server lock held, so a backend may
 * call the subscription callback from inside its own locks.
 */
struct ib_muxd_backend {
	/* Devices now; *devsp malloc'd (free()). */
	int (*list)(void *ctx, struct ib_device **devsp, size_t *np);
	/* Open a stream to dev's port: *fdp is a connected SOCK_STREAM
	 * socket owned by *hp, released with close_stream. Errors as
	 * ib_usbmux_connect (IB_ERR_MUX_REFUSED, IB_ERR_NO_DEVICE, ...). */
	int (*connect)(void *ctx, const struct ib_device *dev, uint16_t port, int *fdp,
	    void **hp);
	void (*close_stream)(void *ctx, void *h);
	int (*read_pair_record)(void *ctx, const char *udid, uint8_t **datap, size_t *lenp);
	int (*save_pair_record)(void *ctx, const char *udid, const uint8_t *data, size_t len);
	int (*delete_pair_record)(void *ctx, const char *udid);
	int (*read_buid)(void *ctx, char **buidp);
	int (*subscribe)(void *ctx, ib_usbmux_event_fn fn, void *arg, int *idp);
	void (*unsubscribe)(void *ctx, int id);
};

/*
 * Listen on socket_path (a stale socket file there is removed; the socket
 * is made mode 0666 like usbmuxd's) and serve m from a thread. Returns
 * once the socket accepts connections. m must outlive the server.
 * IB_ERR_EXISTS when another server answers on that path,
 * IB_ERR_SYSTEM (detail) when the socket cannot be made.
 */
int ib_muxd_server_start(struct ib_usbmux *m, const char *socket_path,
    struct ib_muxd_server **sp);
/* The same over any backend (ctx passed to every call). */
int ib_muxd_server_start_backend(const struct ib_muxd_backend *be, void *ctx,
    const char *socket_path, struct ib_muxd_server **sp);
/*
 * Stop accepting, close every client socket and device stream, wait for
 * the threads, remove the socket file, free. NULL is a no-op.
 */
void ib_muxd_server_stop(struct ib_muxd_server *s);
/* Clients connected now (for tests and the CLI's status line). */
unsigned ib_muxd_server_clients(struct ib_muxd_server *s);

/*
 * Start, serve until ib_interrupted() (the CLI's SIGINT/SIGTERM handler
 * sets it; checked every 200 ms), stop. Returns IB_ERR_INTERRUPTED
 * after a normal stop, or the start error.
 */
int ib_muxd_serve(struct ib_usbmux *m, const char *socket_path);

#endif /* IB_MUXD_SERVER_H */
