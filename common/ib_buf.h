/*
 * ib_buf.h - the bounded byte buffer every parser in ibackup reads through.
 *
 * Modelled on OpenSSH's sshbuf. A buffer holds the bytes [read offset,
 * write end) of a storage block and never grows past the maximum given at
 * initialisation (the "cap"): a put that would exceed it fails with
 * IB_ERR_TOO_LARGE and changes nothing.
 *
 * Readers
 *   - every getter names its byte order (_be / _le), returns an IB_ERR_*
 *     value, zeroes its output first, and never reads past the end: with
 *     fewer bytes left than it needs it returns IB_ERR_INCOMPLETE and
 *     consumes nothing;
 *   - ib_buf_get_end() fails with IB_ERR_TRAILING when bytes remain, so a
 *     parser states that it consumed a whole message;
 *   - length-prefixed strings are checked against a caller-given maximum
 *     before anything is copied or allocated, and refuse embedded NULs.
 *
 * Storage
 *   struct ib_buf is declared here so that a parser can put a read-only
 *   view on the stack (ib_buf_init_ro) without an allocation per packet;
 *   the priv_ fields are private to ib_buf.c and must not be touched.
 *   Storage owned by a buffer is wiped before it is freed or moved, so a
 *   buffer may carry keys and passwords.
 *
 * A buffer is not thread-safe; callers serialise access.
 */
#ifndef IB_BUF_H
#define IB_BUF_H

#include <stddef.h>
#include <stdint.h>

struct ib_buf {
	uint8_t *priv_d;        /* storage (const for read-only views) */
	size_t priv_off;        /* first unread byte */
	size_t priv_end;        /* one past the last stored byte */
	size_t priv_alloc;      /* bytes allocated at priv_d (0 for views) */
	size_t priv_max;        /* cap on stored bytes (priv_end - priv_off) */
	int priv_readonly;      /* view over caller memory: no puts */
	int priv_heap;          /* struct allocated by ib_buf_new */
};

/* Heap buffer capped at max bytes; NULL when out of memory. */
struct ib_buf *ib_buf_new(size_t max);
/* Wipe and free; NULL is a no-op. Works for ib_buf_new and ib_buf_init. */
void ib_buf_free(struct ib_buf *b);

/* Growable buffer in caller-provided struct storage; release with ib_buf_free. */
void ib_buf_init(struct ib_buf *b, size_t max);
/* Read-only view of len bytes at p (borrowed; must outlive the view). */
void ib_buf_init_ro(struct ib_buf *b, const void *p, size_t len);

/* Drop all content (wiped), keep the allocation and the cap. */
void ib_buf_reset(struct ib_buf *b);

/* Bytes left to read. */
size_t ib_buf_len(const struct ib_buf *b);
/* Pointer to the first unread byte (valid until the next put or consume). */
const uint8_t *ib_buf_ptr(const struct ib_buf *b);
/* The cap given at init. */
size_t ib_buf_max(const struct ib_buf *b);
/* Room left before the cap. */
size_t ib_buf_avail(const struct ib_buf *b);

/* Skip n unread bytes (IB_ERR_INCOMPLETE if fewer remain). */
int ib_buf_consume(struct ib_buf *b, size_t n);
/* IB_OK if nothing is left, else IB_ERR_TRAILING. */
int ib_buf_get_end(const struct ib_buf *b);

int ib_buf_get_u8(struct ib_buf *b, uint8_t *vp);
int ib_buf_get_u16be(struct ib_buf *b, uint16_t *vp);
int ib_buf_get_u16le(struct ib_buf *b, uint16_t *vp);
int ib_buf_get_u32be(struct ib_buf *b, uint32_t *vp);
int ib_buf_get_u32le(struct ib_buf *b, uint32_t *vp);
int ib_buf_get_u64be(struct ib_buf *b, uint64_t *vp);
int ib_buf_get_u64le(struct ib_buf *b, uint64_t *vp);

/* Read without consuming, at byte offset off from the read position. */
int ib_buf_peek_u8(const struct ib_buf *b, size_t off, uint8_t *vp);
int ib_buf_peek_u16be(const struct ib_buf *b, size_t off, uint16_t *vp);
int ib_buf_peek_u32be(const struct ib_buf *b, size_t off, uint32_t *vp);
int ib_buf_peek_u32le(const struct ib_buf *b, size_t off, uint32_t *vp);
int ib_buf_peek_u64le(const struct ib_buf *b, size_t off, uint64_t *vp);

/* Copy n bytes out (out is zeroed on failure). */
int ib_buf_get_bytes(struct ib_buf *b, void *out, size_t n);
/* Borrow a pointer to the next n bytes and consume them. The pointer stays
 * valid until the next put on b. *pp is NULL on failure. */
int ib_buf_get_ptr(struct ib_buf *b, size_t n, const uint8_t **pp);

/*
 * Length-prefixed string: u32 big-endian length, then that many bytes, no
 * terminator on the wire. Fails with IB_ERR_TOO_LARGE when the length is
 * above max (checked before anything is allocated), IB_ERR_INCOMPLETE when
 * the bytes are not all there (nothing consumed), IB_ERR_FORMAT when they
 * contain a NUL. On success *sp is a malloc'd NUL-terminated copy and *lenp
 * (if not NULL) its length.
 */
int ib_buf_get_string_u32be(struct ib_buf *b, size_t max, char **sp, size_t *lenp);
/* NUL-terminated string of at most max bytes before the NUL; borrowed. */
int ib_buf_get_cstring(struct ib_buf *b, size_t max, const char **sp, size_t *lenp);

/* Append; IB_ERR_TOO_LARGE past the cap, IB_ERR_STATE on a read-only view. */
int ib_buf_put(struct ib_buf *b, const void *p, size_t n);
int ib_buf_put_u8(struct ib_buf *b, uint8_t v);
int ib_buf_put_u16be(struct ib_buf *b, uint16_t v);
int ib_buf_put_u16le(struct ib_buf *b, uint16_t v);
int ib_buf_put_u32be(struct ib_buf *b, uint32_t v);
int ib_buf_put_u32le(struct ib_buf *b, uint32_t v);
int ib_buf_put_u64be(struct ib_buf *b, uint64_t v);
int ib_buf_put_u64le(struct ib_buf *b, uint64_t v);
/* u32 big-endian length + bytes (the DeviceLink file-name form). */
int ib_buf_put_string_u32be(struct ib_buf *b, const void *p, size_t n);
/* Make room for n bytes at the end and return a pointer to them; the bytes
 * count as stored (fill them before the next call). */
int ib_buf_reserve(struct ib_buf *b, size_t n, uint8_t **pp);
/* Remove the last n stored bytes (undo part of a reserve). */
int ib_buf_unput(struct ib_buf *b, size_t n);

#endif /* IB_BUF_H */
