/*
 * mux_proto.h - encoder and decoder of the packets on the usbmux bulk
 * pipe (internal to usbmux/ and sim/). Shared by the host and the device
 * role of the mux engine; no state, no I/O, no allocation.
 *
 * Wire format (../shared/protocol/usbmux.md section 2, all big-endian):
 *
 *   v1 header  u32 protocol, u32 length                        8 bytes
 *   v2 header  u32 protocol, u32 length, u32 magic 0xFEEDFACE,
 *              u16 tx_seq, u16 rx_seq                          16 bytes
 *
 *   length counts the whole packet, header included. VERSION packets
 *   always use the v1 header (the version is not agreed yet); after a
 *   VERSION exchange that agreed on 2, everything else uses v2.
 *
 *   protocol 0 VERSION  u32 major, u32 minor, u32 padding (12 bytes)
 *   protocol 1 CONTROL  u8 type, then text (not NUL-terminated)
 *   protocol 2 SETUP    one byte 0x07 (v2 only; meaning undocumented)
 *   protocol 6 TCP      20-byte BSD tcphdr (no options), then payload
 *
 * Decoding: the caller hands over one whole packet and the header version
 * it expects. Every length is checked before it is used: the header
 * length field must equal the packet size, packets above IB_MUX_MRU are
 * refused, a TCP packet must hold its 20-byte header with data offset 5.
 * The decoded packet borrows the caller's bytes (no copy).
 *
 * Encoding writes into a caller buffer of cap bytes and fails with
 * IB_ERR_TOO_LARGE, writing nothing, when the packet does not fit or
 * would exceed IB_MUX_MTU.
 */
#ifndef IB_MUX_PROTO_H
#define IB_MUX_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "ib_limits.h"

#define IB_MUX_PROTO_VERSION 0u
#define IB_MUX_PROTO_CONTROL 1u
#define IB_MUX_PROTO_SETUP 2u
#define IB_MUX_PROTO_TCP 6u

#define IB_MUX_HDR_V1_LEN 8u
#define IB_MUX_HDR_V2_LEN 16u
#define IB_MUX_TCP_HDR_LEN 20u
#define IB_MUX_MAGIC 0xFEEDFACEu
/* VERSION payload: major, minor, padding. */
#define IB_MUX_VERSION_PAYLOAD_LEN 12u
/* The one byte of the SETUP payload (usbmux.md 2.3). */
#define IB_MUX_SETUP_BYTE 0x07u
/* tcphdr byte 12: data offset 5 words in the high nibble. */
#define IB_MUX_TCP_OFFSET_BYTE 0x50u
/* Largest payload of one TCP packet we build: the MTU minus the v2 and
 * TCP headers (usbmuxd logs "sendable 49116"). */
#define IB_MUX_MAX_PAYLOAD (IB_MUX_MTU - IB_MUX_HDR_V2_LEN - IB_MUX_TCP_HDR_LEN)

/* tcphdr flags; only SYN, SYN|ACK, ACK and RST are used by the mux. */
#define IB_MUX_TH_FIN 0x01u
#define IB_MUX_TH_SYN 0x02u
#define IB_MUX_TH_RST 0x04u
#define IB_MUX_TH_PUSH 0x08u
#define IB_MUX_TH_ACK 0x10u
#define IB_MUX_TH_URG 0x20u

struct ib_mux_tcphdr {
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint8_t flags;
	uint16_t window;        /* wire value: bytes >> 8 */
};

struct ib_mux_packet {
	uint32_t version;       /* header version: 1 or 2 */
	uint32_t protocol;
	uint32_t length;        /* decode: the whole packet; encode: ignored */
	uint16_t tx_seq;        /* v2 only, 0 in v1 */
	uint16_t rx_seq;        /* v2 only, 0 in v1 */
	struct ib_mux_tcphdr tcp;       /* protocol TCP only */
	/* Bytes after the mux header, or after the TCP header for TCP;
	 * borrowed (decode: from the packet; encode: from the caller). */
	const uint8_t *payload;
	size_t payload_len;
};

/* Header size of a version: 8 for 1, 16 for 2 (and 0 for anything else). */
size_t ib_mux_hdr_len(uint32_t version);

/* Protocol field of a packet without decoding the rest
 * (IB_ERR_INCOMPLETE below 4 bytes). */
int ib_mux_peek_protocol(const uint8_t *pkt, size_t len, uint32_t *protocolp);

/*
 * Decode one whole packet with a header of the given version (1 or 2).
 * IB_ERR_INCOMPLETE: shorter than the header; IB_ERR_TOO_LARGE: above
 * IB_MUX_MRU; IB_ERR_MUX_PROTOCOL: length field differs from len, bad
 * magic, TCP packet without a full TCP header or with data offset other
 * than 5. Unknown protocol numbers decode (the engine decides). *p is
 * written only on success.
 */
int ib_mux_decode(const uint8_t *pkt, size_t len, uint32_t version,
    struct ib_mux_packet *p);

/* VERSION payload: exactly 12 bytes (IB_ERR_MUX_PROTOCOL otherwise). */
int ib_mux_decode_version(const struct ib_mux_packet *p, uint32_t *majorp,
    uint32_t *minorp);
/* CONTROL payload: type byte and the raw text after it (borrowed, may be
 * empty, not terminated); IB_ERR_MUX_PROTOCOL when the payload is empty. */
int ib_mux_decode_control(const struct ib_mux_packet *p, uint8_t *typep,
    const uint8_t **textp, size_t *lenp);

/*
 * Write the mux header (and the TCP header for protocol TCP) of p for a
 * packet carrying p->payload_len payload bytes, but not the payload:
 * *head_lenp is where the caller puts them. Lets a sender copy payload
 * straight from its own ring.
 */
int ib_mux_encode_head(uint8_t *out, size_t cap, const struct ib_mux_packet *p,
    size_t *head_lenp);
/* Whole packet: head plus p->payload. */
int ib_mux_encode(uint8_t *out, size_t cap, const struct ib_mux_packet *p,
    size_t *lenp);
/* Convenience forms of ib_mux_encode for the fixed packets. */
int ib_mux_encode_version(uint8_t *out, size_t cap, uint32_t major,
    uint32_t minor, size_t *lenp);
int ib_mux_encode_setup(uint8_t *out, size_t cap, uint16_t tx_seq,
    uint16_t rx_seq, size_t *lenp);

/* Overwrite tx_seq/rx_seq of an encoded v2 packet (at least 16 bytes). */
void ib_mux_stamp_seq(uint8_t *pkt, uint16_t tx_seq, uint16_t rx_seq);

/*
 * Peer text (CONTROL message, RST reason) made safe for logs and events:
 * at most IB_MUX_TEXT_MAX bytes, trailing NULs and line ends dropped,
 * every byte outside printable ASCII replaced by '?', NUL-terminated in
 * out (IB_MUX_TEXT_MAX + 1 bytes). Returns the text length.
 */
size_t ib_mux_text_sanitize(char *out, const uint8_t *text, size_t n);

#endif /* IB_MUX_PROTO_H */
