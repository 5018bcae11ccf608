/*
 * sim_proto.h - the virtual device's socket protocol (doc/sim-protocol.md):
 * message framing and the device description, shared by the client
 * (tr_sim.c, `ibackup-sim control`) and the server (sim/sim_serve.c).
 *
 * A message is a u32 big-endian payload length followed by that many
 * bytes of XML property list, a dict. Requests carry "Request"; replies
 * "Status" ("OK" or "Error", with "Code" = -IB_ERR_* and "Detail");
 * notifications on a Watch connection carry "Event".
 */
#ifndef IB_SIM_PROTO_H
#define IB_SIM_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <plist/plist.h>

#include "ib_buf.h"
#include "ib_usbmux.h"

#define IB_SIM_PROTO_VERSION 1

/* What a List reply, a Watch reply and an Attached event say about one
 * device. */
struct ib_sim_devinfo {
	char udid[IB_UDID_MAX + 1];
	char usb_serial[IB_UDID_MAX + 1];
	uint16_t product_id;
	uint32_t location;
	uint64_t speed_bps;
	char product_type[32];
	char product_version[16];
	char build_version[16];
	char device_name[64];
};

/* Serialise dict as one message (length prefix + XML); *outp malloc'd. */
int ib_sim_msg_encode(plist_t dict, uint8_t **outp, size_t *lenp);
/*
 * Take one whole message from the front of in: IB_ERR_INCOMPLETE (nothing
 * consumed) until it is all there, IB_ERR_TOO_LARGE for a length above
 * IB_SIM_MSG_MAX, IB_ERR_PLIST_* when the payload is not a dict.
 */
int ib_sim_msg_take(struct ib_buf *in, plist_t *dictp);

/* Blocking I/O of one message with a timeout (negative: none). recv reads
 * exactly one message and nothing after it, so a connection can turn
 * into a raw byte stream right after a reply. */
int ib_sim_msg_send(int fd, plist_t dict, int timeout_ms);
int ib_sim_msg_recv(int fd, int timeout_ms, plist_t *dictp);

/* Replies. */
plist_t ib_sim_reply_ok(void);
plist_t ib_sim_reply_error(int err, const char *detail);
/* IB_OK for Status "OK"; the error the reply carries (detail set) for
 * "Error"; IB_ERR_FORMAT/IB_ERR_PLIST_* for anything else. */
int ib_sim_reply_status(plist_t reply);

/* Device description <-> dict. */
plist_t ib_sim_devinfo_to_plist(const struct ib_sim_devinfo *d);
int ib_sim_devinfo_from_plist(plist_t dict, struct ib_sim_devinfo *outp);
/* Parse the "Devices" array of a reply; *devsp malloc'd. At most
 * IB_SIM_MAX_DEVICES entries. */
int ib_sim_devinfo_list(plist_t reply, struct ib_sim_devinfo **devsp, size_t *np);

/* Client side: connect to the UNIX socket at path (timeout in ms). */
int ib_sim_client_connect(const char *path, int timeout_ms, int *fdp);
/* Send request and read its reply; returns ib_sim_reply_status(). On
 * IB_OK *replyp (if not NULL) receives the reply. */
int ib_sim_client_request(int fd, plist_t request, int timeout_ms, plist_t *replyp);
/* One Control command on a fresh connection (udid NULL: the only device). */
int ib_sim_client_control(const char *path, const char *udid, const char *action,
    const char *arg);

#endif /* IB_SIM_PROTO_H */
