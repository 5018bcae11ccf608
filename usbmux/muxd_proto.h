/*
 * muxd_proto.h - the usbmuxd client-socket protocol (usbmux.md section 3
 * and its Appendix): one codec shared by ibackup's usbmuxd client (the
 * "usbmuxd" transport) and its usbmuxd-compatible server (`ibackup muxd`).
 * Internal to usbmux/. No I/O except the socket helpers at the end
 * (muxd_sock.c).
 *
 * Framing: a 16-byte little-endian header (length including the header,
 * version 0 binary / 1 plist, message type, tag) and a payload. Binary
 * payloads are fixed structs read field by field through ib_buf; plist
 * payloads (message type 8) are XML dicts read through ib_plist. The
 * payload parser is chosen by the message type, never by the header
 * version (usbmuxd2 sends plist replies with version 0; pymobiledevice3
 * PR #347).
 *
 * One message kind per meaning, whatever its encoding:
 *   client -> server  LISTEN, CONNECT, LIST_DEVICES, LIST_LISTENERS,
 *                     READ_BUID, READ_PAIR_RECORD, SAVE_PAIR_RECORD,
 *                     DELETE_PAIR_RECORD, and UNKNOWN (a plist with a
 *                     MessageType nobody knows: the server answers 1);
 *   server -> client  RESULT, ATTACHED, DETACHED, PAIRED, and the replies
 *                     without MessageType: DEVICE_LIST, LISTENER_LIST,
 *                     BUID, PAIR_RECORD_DATA.
 * The decoder does not know which side it runs on; each side rejects the
 * kinds it does not expect.
 */
#ifndef IB_MUXD_PROTO_H
#define IB_MUXD_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "ib_buf.h"
#include "ib_usbmux.h"

#define IB_MUXD_HEADER_LEN 16u
/* Binary DEVICE_ADD payload: id, product, serial[256], pad, location. */
#define IB_MUXD_SERIAL_LEN 256u
#define IB_MUXD_DEVICE_RECORD_LEN (4u + 2u + IB_MUXD_SERIAL_LEN + 2u + 4u)
/* Longest BUID, ProgName or listener id string we keep (a BUID is a
 * 36-character UUID; longer text is refused or, for names, cut). */
#define IB_MUXD_NAME_MAX 63u
/* kLibUSBMuxVersion that libusbmuxd 2.x sends. */
#define IB_MUXD_LIBUSBMUX_VERSION 3u
/* Default socket (Linux and macOS). */
#define IB_MUXD_DEFAULT_SOCKET "/var/run/usbmuxd"

enum ib_muxd_msgtype {
	IB_MUXD_MSG_RESULT = 1,
	IB_MUXD_MSG_CONNECT = 2,
	IB_MUXD_MSG_LISTEN = 3,
	IB_MUXD_MSG_DEVICE_ADD = 4,
	IB_MUXD_MSG_DEVICE_REMOVE = 5,
	IB_MUXD_MSG_DEVICE_PAIRED = 6,
	IB_MUXD_MSG_PLIST = 8,
};

enum ib_muxd_result {
	IB_MUXD_RESULT_OK = 0,
	IB_MUXD_RESULT_BADCOMMAND = 1,
	IB_MUXD_RESULT_BADDEV = 2,
	IB_MUXD_RESULT_CONNREFUSED = 3,
	IB_MUXD_RESULT_BADVERSION = 6,
};

enum ib_muxd_kind {
	IB_MUXD_K_NONE = 0,
	/* requests */
	IB_MUXD_K_LISTEN,
	IB_MUXD_K_CONNECT,
	IB_MUXD_K_LIST_DEVICES,
	IB_MUXD_K_LIST_LISTENERS,
	IB_MUXD_K_READ_BUID,
	IB_MUXD_K_READ_PAIR_RECORD,
	IB_MUXD_K_SAVE_PAIR_RECORD,
	IB_MUXD_K_DELETE_PAIR_RECORD,
	IB_MUXD_K_UNKNOWN,
	/* replies and notifications */
	IB_MUXD_K_RESULT,
	IB_MUXD_K_ATTACHED,
	IB_MUXD_K_DETACHED,
	IB_MUXD_K_PAIRED,
	IB_MUXD_K_DEVICE_LIST,
	IB_MUXD_K_LISTENER_LIST,
	IB_MUXD_K_BUID,
	IB_MUXD_K_PAIR_RECORD_DATA,
};

/* One entry of a ListListeners reply. */
struct ib_muxd_listener {
	char id[IB_MUXD_NAME_MAX + 1];          /* "ID String", "<n>-<ProgName>" */
	char prog_name[IB_MUXD_NAME_MAX + 1];
	char bundle_id[IB_MUXD_NAME_MAX + 1];   /* "" when the client sent none */
	uint64_t version;                       /* kLibUSBMuxVersion */
};

/*
 * A message in either direction. Which fields mean something depends on
 * kind; the rest are zero.
 *
 * Ownership: after ib_muxd_decode the pointers devs, listeners and data
 * are owned by the message (ib_muxd_msg_clear frees them; data is wiped
 * because it carries pair records). For ib_muxd_encode they are borrowed
 * from the caller and the encoder never frees them.
 */
struct ib_muxd_msg {
	/* header */
	uint32_t version;               /* 0 binary, 1 plist (as on the wire) */
	uint32_t tag;
	int plist;                      /* payload is a plist (message type 8) */
	enum ib_muxd_kind kind;

	uint32_t number;                /* RESULT */
	uint32_t device_id;             /* CONNECT, DETACHED, PAIRED, SAVE (optional) */
	int has_device_id;              /* requests: DeviceID present and valid */
	uint16_t port;                  /* CONNECT, host byte order */
	int has_port;                   /* CONNECT: PortNumber present and valid */
	char record_id[IB_UDID_MAX + 1]; /* PairRecordID */
	int has_record_id;
	char buid[IB_MUXD_NAME_MAX + 1]; /* BUID reply */
	/* Informational request keys (kept for ListListeners). */
	char prog_name[IB_MUXD_NAME_MAX + 1];
	char bundle_id[IB_MUXD_NAME_MAX + 1];
	uint64_t lib_version;           /* kLibUSBMuxVersion */
	/* MessageType of an UNKNOWN request, for the log. */
	char message_type[IB_MUXD_NAME_MAX + 1];

	struct ib_device dev;           /* ATTACHED */
	struct ib_device *devs;         /* DEVICE_LIST */
	size_t ndevs;
	struct ib_muxd_listener *listeners; /* LISTENER_LIST */
	size_t nlisteners;
	uint8_t *data;                  /* PAIR_RECORD_DATA, SAVE_PAIR_RECORD */
	size_t data_len;
	int has_data;
};

/* The Connect port is big-endian inside little-endian messages; the
 * plist PortNumber is that value read as a host integer. */
static inline uint16_t
ib_muxd_swap16(uint16_t v)
{
	return (uint16_t)((v << 8) | (v >> 8));
}

/* Zero a message for encoding: kind, plist or binary form, tag. The
 * header version follows the form (1 plist, 0 binary). */
void ib_muxd_msg_init(struct ib_muxd_msg *m, enum ib_muxd_kind kind, int plist,
    uint32_t tag);
/* Free what a decode allocated and zero the message; NULL is a no-op. */
void ib_muxd_msg_clear(struct ib_muxd_msg *m);
/* "Connect", "Result", ... for logs. */
const char *ib_muxd_kind_name(enum ib_muxd_kind kind);

/*
 * Append the wire form of m to out. Binary forms exist for RESULT,
 * CONNECT, LISTEN, ATTACHED, DETACHED and PAIRED; every kind has a plist
 * form (XML). The header carries m->version as given. IB_ERR_INVALID_ARG
 * for a kind without the requested form, IB_ERR_TOO_LARGE past out's cap.
 * On failure out is unchanged.
 */
int ib_muxd_encode(struct ib_buf *out, const struct ib_muxd_msg *m);

/*
 * Read a header: IB_ERR_INCOMPLETE with fewer than 16 bytes,
 * IB_ERR_MUXD_PROTOCOL when the length is < 16 or > IB_MUXD_MSG_MAX.
 */
int ib_muxd_header_parse(const uint8_t *p, size_t n, uint32_t *lenp,
    uint32_t *versionp, uint32_t *typep, uint32_t *tagp);

/*
 * Decode one whole message (p, n: exactly the header's length). On
 * failure m->version, m->tag and m->plist still describe the header so a
 * server can answer with the right tag, and the result says what was
 * wrong:
 *   IB_ERR_MUXD_PROTOCOL   bad length, malformed binary payload, plist
 *                          that is not a dict, plist without a known
 *                          shape, invalid field values;
 *   IB_ERR_MUXD_BADVERSION header version is neither 0 nor 1;
 *   IB_ERR_TRAILING / IB_ERR_INCOMPLETE  n does not match the header.
 * A binary message type that has no meaning (7, 99, ...) decodes as kind
 * UNKNOWN. Missing request fields are not errors (has_* stay 0): the
 * server decides what to answer, as usbmuxd does.
 */
int ib_muxd_decode(const uint8_t *p, size_t n, struct ib_muxd_msg *m);

/*
 * Incremental decoder: bytes in any chunking, whole messages out.
 *   feed   consumes bytes up to the end of the current message and stops
 *          there (so a caller can hand what follows to someone else, as a
 *          Connect does); fails (for good) with IB_ERR_MUXD_PROTOCOL when
 *          a header's length is out of range;
 *   want   bytes still missing from the current message (0 when one is
 *          ready): a server reading exactly this many never takes bytes
 *          that belong to the raw stream after a Connect;
 *   next   IB_ERR_INCOMPLETE until a message is complete, then the result
 *          of ib_muxd_decode on it; either way the decoder moves on.
 */
struct ib_muxd_decoder {
	uint8_t hdr[IB_MUXD_HEADER_LEN];
	size_t hdr_have;
	uint32_t len;                   /* whole message, once hdr is read */
	struct ib_buf msg;              /* header + payload of the message */
	int ready;
	int failed;
};
void ib_muxd_decoder_init(struct ib_muxd_decoder *d);
void ib_muxd_decoder_release(struct ib_muxd_decoder *d);
int ib_muxd_decoder_feed(struct ib_muxd_decoder *d, const uint8_t *p, size_t n,
    size_t *usedp);
size_t ib_muxd_decoder_want(const struct ib_muxd_decoder *d);
int ib_muxd_decoder_next(struct ib_muxd_decoder *d, struct ib_muxd_msg *m);

/*
 * A Result code as an ibackup error. op says what was asked, because
 * pair-record operations answer with errno values that collide with the
 * result codes (2 = ENOENT there, BADDEV elsewhere):
 *   commands:     0 OK, 1 MUXD_BADCOMMAND, 2 MUXD_BADDEV, 3 MUX_REFUSED,
 *                 6 MUXD_BADVERSION, other MUXD_RESULT;
 *   pair records: 0 OK, ENOENT NOT_FOUND, EINVAL INVALID_ARG, other
 *                 MUXD_RESULT (with the errno in the detail).
 */
int ib_muxd_result_err(enum ib_muxd_kind op, uint32_t number);

/*
 * Interpret the reply m to request op (client side, no I/O). On IB_OK:
 *   READ_BUID          m->buid holds the BUID;
 *   READ_PAIR_RECORD   m->data holds the record;
 *   LIST_DEVICES       m->devs / m->ndevs hold the devices;
 *   everything else    the Result was 0.
 * A Result where data was expected is mapped by ib_muxd_result_err
 * (except that a binary Result is always a result code: errno values only
 * come in plist replies); a reply of another kind is IB_ERR_MUXD_PROTOCOL.
 */
int ib_muxd_reply_check(enum ib_muxd_kind op, const struct ib_muxd_msg *m);

/* --- socket address ($USBMUXD_SOCKET_ADDRESS, usbmux.md 3.9) --- */

struct ib_muxd_addr {
	int is_unix;                    /* else TCP host:port */
	int is_default;                 /* nothing usable given: the default */
	char name[512];                 /* UNIX path or TCP host (no brackets) */
	int name_too_long;              /* connect fails, as libusbmuxd's would */
	uint16_t port;
};

/*
 * Parse like libusbmuxd 2.0.x: NULL or "" -> default; "UNIX:" + path ->
 * that path ("UNIX:" alone -> default); else the text after the last ':'
 * must be a number 1..65535 (strtol rules) and the host before it
 * non-empty, with "[v6]" brackets removed; anything else silently falls
 * back to the default /var/run/usbmuxd. Never fails.
 */
void ib_muxd_addr_parse(const char *spec, struct ib_muxd_addr *a);
/* "UNIX:/var/run/usbmuxd", "host:port", "[v6]:port" into out. */
void ib_muxd_addr_format(const struct ib_muxd_addr *a, char *out, size_t outlen);
/*
 * Connect a blocking SOCK_STREAM socket (close-on-exec) to a, giving up
 * after timeout_ms. IB_ERR_MUXD_CONNECT (errno text in the detail) when
 * nothing answers.
 */
int ib_muxd_addr_connect(const struct ib_muxd_addr *a, int timeout_ms, int *fdp);

/* --- whole messages on a blocking socket --- */

/* Encode and write all of m (no SIGPIPE). IB_ERR_EOF when the peer is gone. */
int ib_muxd_send_msg(int fd, const struct ib_muxd_msg *m);
/*
 * Read exactly one message, never a byte past its end (after a Connect
 * Result the socket carries the device's bytes), and decode it. Gives up
 * after timeout_ms (negative: never) with IB_ERR_TIMEOUT; IB_ERR_EOF when
 * the peer closes; otherwise the result of ib_muxd_decode.
 */
int ib_muxd_recv_msg(int fd, int timeout_ms, struct ib_muxd_msg *m);

#endif /* IB_MUXD_PROTO_H */
