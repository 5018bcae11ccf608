/*
 * ld_msg.h - the plist message framing shared by lockdownd (host and
 * device side) and every plist service (notification_proxy,
 * installation_proxy, DeviceLink/MobileBackup2).
 *
 * Wire format (lockdown.md section 1): a 4-byte big-endian length that
 * does not count itself, then exactly that many bytes of plist. We send
 * XML unless the caller asks for binary (DeviceLink); we accept both
 * (ib_plist_parse sniffs "bplist00" and cleans XML control characters).
 *
 * The decoder does no I/O: bytes in, in any chunking, messages out. It
 * never takes a byte beyond the end of the current message, and
 * ld_msg_dec_want() tells a reader how many bytes it may read without
 * crossing that end. That matters because TLS may start (StartSession)
 * or stop (StopSession) right after a message on the same socket.
 *
 * The length is checked against the decoder's cap (at most
 * IB_PLIST_MSG_MAX) as soon as the 4 header bytes are in, before any
 * storage for the body is allocated; the body buffer grows only as bytes
 * actually arrive.
 */
#ifndef IB_LD_MSG_H
#define IB_LD_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <plist/plist.h>

/* Bytes of the length prefix. */
#define LD_MSG_HEADER 4u

enum ld_msg_format {
	LD_MSG_XML = 0,
	LD_MSG_BINARY = 1,
};

/*
 * Serialise msg and prefix its length. *outp is malloc'd (free()) and
 * holds *lenp = 4 + body bytes. IB_ERR_TOO_LARGE when the body would
 * exceed IB_PLIST_MSG_MAX, IB_ERR_PLIST_ENCODE when libplist fails.
 */
int ld_msg_encode(plist_t msg, enum ld_msg_format fmt, uint8_t **outp, size_t *lenp);

struct ld_msg_dec;

/* Decoder accepting bodies of at most max bytes (0 or more than
 * IB_PLIST_MSG_MAX means IB_PLIST_MSG_MAX). */
int ld_msg_dec_new(size_t max, struct ld_msg_dec **dp);
/* Wipes buffered bytes (they may hold keys); NULL is a no-op. */
void ld_msg_dec_free(struct ld_msg_dec *d);

/* Bytes the decoder takes before the current message is complete;
 * never 0 unless the decoder has failed. */
size_t ld_msg_dec_want(const struct ld_msg_dec *d);
/* Is the decoder between messages (no partial message buffered)? */
int ld_msg_dec_idle(const struct ld_msg_dec *d);

/*
 * Feed up to len bytes. The decoder consumes bytes up to the end of the
 * current message at most and reports how many in *usedp. When that
 * completes a message, *msgp receives it (caller frees with plist_free)
 * and the decoder is ready for the next one; otherwise *msgp is NULL.
 * Errors: IB_ERR_TOO_LARGE (length above the cap; detected from the
 * header alone), IB_ERR_PLIST_* (body is not a plist). After an error the
 * stream has lost its framing: the decoder keeps returning that error.
 */
int ld_msg_dec_feed(struct ld_msg_dec *d, const uint8_t *p, size_t len,
    size_t *usedp, plist_t *msgp);

#endif /* IB_LD_MSG_H */
