/*
 * ib_buf.c - bounded byte buffer (see ib_buf.h for the contract).
 */
#include "ib_buf.h"
#include "ib_err.h"

#include <stdlib.h>
#include <string.h>

/* Smallest allocation: avoids a realloc per byte for tiny messages. */
#define BUF_MIN_ALLOC 256

static void
wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

struct ib_buf *
ib_buf_new(size_t max)
{
	struct ib_buf *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	ib_buf_init(b, max);
	b->priv_heap = 1;
	return b;
}

void
ib_buf_init(struct ib_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->priv_max = max;
}

void
ib_buf_init_ro(struct ib_buf *b, const void *p, size_t len)
{
	memset(b, 0, sizeof(*b));
	/* The cast drops const: puts are refused on read-only views. */
	b->priv_d = (uint8_t *)(uintptr_t)p;
	b->priv_end = len;
	b->priv_max = len;
	b->priv_readonly = 1;
}

void
ib_buf_free(struct ib_buf *b)
{
	int heap;

	if (b == NULL)
		return;
	heap = b->priv_heap;
	if (!b->priv_readonly && b->priv_d != NULL) {
		wipe(b->priv_d, b->priv_alloc);
		free(b->priv_d);
	}
	memset(b, 0, sizeof(*b));
	if (heap)
		free(b);
}

void
ib_buf_reset(struct ib_buf *b)
{
	if (b->priv_readonly) {
		b->priv_off = b->priv_end;
		return;
	}
	wipe(b->priv_d, b->priv_alloc);
	b->priv_off = 0;
	b->priv_end = 0;
}

size_t
ib_buf_len(const struct ib_buf *b)
{
	return b->priv_end - b->priv_off;
}

const uint8_t *
ib_buf_ptr(const struct ib_buf *b)
{
	return b->priv_d != NULL ? b->priv_d + b->priv_off : (const uint8_t *)"";
}

size_t
ib_buf_max(const struct ib_buf *b)
{
	return b->priv_max;
}

size_t
ib_buf_avail(const struct ib_buf *b)
{
	size_t len = ib_buf_len(b);

	return len >= b->priv_max ? 0 : b->priv_max - len;
}

int
ib_buf_consume(struct ib_buf *b, size_t n)
{
	if (n > ib_buf_len(b))
		return IB_ERR_INCOMPLETE;
	b->priv_off += n;
	if (b->priv_off == b->priv_end && !b->priv_readonly) {
		/* Empty: rewind so the storage is reused from the start. */
		b->priv_off = 0;
		b->priv_end = 0;
	}
	return IB_OK;
}

int
ib_buf_get_end(const struct ib_buf *b)
{
	return ib_buf_len(b) == 0 ? IB_OK : IB_ERR_TRAILING;
}

static int
peek(const struct ib_buf *b, size_t off, size_t n, const uint8_t **pp)
{
	size_t len = ib_buf_len(b);

	*pp = NULL;
	/* Compare as "len - off < n" so that off + n cannot overflow. */
	if (off > len || len - off < n)
		return IB_ERR_INCOMPLETE;
	*pp = b->priv_d + b->priv_off + off;
	return IB_OK;
}

static uint64_t
load_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t
load_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = n; i > 0; i--)
		v = (v << 8) | p[i - 1];
	return v;
}

static void
store_be(uint8_t *p, uint64_t v, size_t n)
{
	size_t i;

	for (i = n; i > 0; i--) {
		p[i - 1] = (uint8_t)v;
		v >>= 8;
	}
}

static void
store_le(uint8_t *p, uint64_t v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static int
get_int(struct ib_buf *b, size_t n, int big_endian, uint64_t *vp)
{
	const uint8_t *p;
	int r;

	*vp = 0;
	if ((r = peek(b, 0, n, &p)) != IB_OK)
		return r;
	*vp = big_endian ? load_be(p, n) : load_le(p, n);
	return ib_buf_consume(b, n);
}

int
ib_buf_get_u8(struct ib_buf *b, uint8_t *vp)
{
	uint64_t v;
	int r = get_int(b, 1, 1, &v);

	*vp = (uint8_t)v;
	return r;
}

#define GETTER_(fn, type, size, be) \
	int fn(struct ib_buf *b, type *vp) \
	{ \
		uint64_t v; \
		int r = get_int(b, size, be, &v); \
		*vp = (type)v; \
		return r; \
	}

GETTER_(ib_buf_get_u16be, uint16_t, 2, 1)
GETTER_(ib_buf_get_u16le, uint16_t, 2, 0)
GETTER_(ib_buf_get_u32be, uint32_t, 4, 1)
GETTER_(ib_buf_get_u32le, uint32_t, 4, 0)
GETTER_(ib_buf_get_u64be, uint64_t, 8, 1)
GETTER_(ib_buf_get_u64le, uint64_t, 8, 0)

#define PEEKER_(fn, type, size, be) \
	int fn(const struct ib_buf *b, size_t off, type *vp) \
	{ \
		const uint8_t *p; \
		int r; \
		*vp = 0; \
		if ((r = peek(b, off, size, &p)) != IB_OK) \
			return r; \
		*vp = (type)(be ? load_be(p, size) : load_le(p, size)); \
		return IB_OK; \
	}

PEEKER_(ib_buf_peek_u8, uint8_t, 1, 1)
PEEKER_(ib_buf_peek_u16be, uint16_t, 2, 1)
PEEKER_(ib_buf_peek_u32be, uint32_t, 4, 1)
PEEKER_(ib_buf_peek_u32le, uint32_t, 4, 0)
PEEKER_(ib_buf_peek_u64le, uint64_t, 8, 0)

int
ib_buf_get_bytes(struct ib_buf *b, void *out, size_t n)
{
	const uint8_t *p;
	int r;

	if ((r = peek(b, 0, n, &p)) != IB_OK) {
		if (n > 0)
			memset(out, 0, n);
		return r;
	}
	if (n > 0)
		memcpy(out, p, n);
	return ib_buf_consume(b, n);
}

int
ib_buf_get_ptr(struct ib_buf *b, size_t n, const uint8_t **pp)
{
	int r;

	if ((r = peek(b, 0, n, pp)) != IB_OK)
		return r;
	/* consume() may rewind an emptied buffer, but the bytes stay in
	 * place until the next put, as the contract says. */
	b->priv_off += n;
	return IB_OK;
}

int
ib_buf_get_string_u32be(struct ib_buf *b, size_t max, char **sp, size_t *lenp)
{
	uint32_t len;
	const uint8_t *p;
	char *s;
	int r;

	*sp = NULL;
	if (lenp != NULL)
		*lenp = 0;
	if ((r = ib_buf_peek_u32be(b, 0, &len)) != IB_OK)
		return r;
	if (len > max)
		return IB_ERR_TOO_LARGE;
	if ((r = peek(b, 4, len, &p)) != IB_OK)
		return r;
	if (len > 0 && memchr(p, '\0', len) != NULL)
		return IB_ERR_FORMAT;
	if ((s = malloc((size_t)len + 1)) == NULL)
		return IB_ERR_NOMEM;
	if (len > 0)
		memcpy(s, p, len);
	s[len] = '\0';
	*sp = s;
	if (lenp != NULL)
		*lenp = len;
	return ib_buf_consume(b, 4 + (size_t)len);
}

int
ib_buf_get_cstring(struct ib_buf *b, size_t max, const char **sp, size_t *lenp)
{
	const uint8_t *p = ib_buf_ptr(b);
	const uint8_t *nul;
	size_t len = ib_buf_len(b);
	size_t scan = len < max + 1 ? len : max + 1;

	*sp = NULL;
	if (lenp != NULL)
		*lenp = 0;
	nul = scan > 0 ? memchr(p, '\0', scan) : NULL;
	if (nul == NULL)
		return scan > max ? IB_ERR_TOO_LARGE : IB_ERR_INCOMPLETE;
	*sp = (const char *)p;
	if (lenp != NULL)
		*lenp = (size_t)(nul - p);
	b->priv_off += (size_t)(nul - p) + 1;
	return IB_OK;
}

/* Make sure n more bytes fit at the end, compacting or growing. */
static int
ensure(struct ib_buf *b, size_t n)
{
	size_t len = ib_buf_len(b);
	size_t need, nalloc;
	uint8_t *nd;

	if (b->priv_readonly)
		return IB_ERR_STATE;
	if (n > b->priv_max || len > b->priv_max - n)
		return IB_ERR_TOO_LARGE;
	if (b->priv_alloc - b->priv_end >= n)
		return IB_OK;
	need = len + n;
	if (b->priv_off > 0 && b->priv_alloc >= need) {
		memmove(b->priv_d, b->priv_d + b->priv_off, len);
		wipe(b->priv_d + len, b->priv_alloc - len);
		b->priv_off = 0;
		b->priv_end = len;
		return IB_OK;
	}
	nalloc = b->priv_alloc > BUF_MIN_ALLOC ? b->priv_alloc : BUF_MIN_ALLOC;
	while (nalloc < need)
		nalloc = nalloc > SIZE_MAX / 2 ? need : nalloc * 2;
	if (nalloc > b->priv_max && b->priv_max >= need)
		nalloc = b->priv_max;
	/* malloc + copy + wipe instead of realloc: realloc may leave a
	 * copy of secrets behind in the old block. */
	if ((nd = malloc(nalloc)) == NULL)
		return IB_ERR_NOMEM;
	if (len > 0)
		memcpy(nd, b->priv_d + b->priv_off, len);
	if (b->priv_d != NULL) {
		wipe(b->priv_d, b->priv_alloc);
		free(b->priv_d);
	}
	b->priv_d = nd;
	b->priv_alloc = nalloc;
	b->priv_off = 0;
	b->priv_end = len;
	return IB_OK;
}

int
ib_buf_reserve(struct ib_buf *b, size_t n, uint8_t **pp)
{
	int r;

	*pp = NULL;
	if ((r = ensure(b, n)) != IB_OK)
		return r;
	*pp = b->priv_d + b->priv_end;
	b->priv_end += n;
	return IB_OK;
}

int
ib_buf_unput(struct ib_buf *b, size_t n)
{
	if (b->priv_readonly)
		return IB_ERR_STATE;
	if (n > ib_buf_len(b))
		return IB_ERR_INVALID_ARG;
	b->priv_end -= n;
	wipe(b->priv_d + b->priv_end, n);
	return IB_OK;
}

int
ib_buf_put(struct ib_buf *b, const void *p, size_t n)
{
	uint8_t *d;
	int r;

	if (n == 0)
		return b->priv_readonly ? IB_ERR_STATE : IB_OK;
	if ((r = ib_buf_reserve(b, n, &d)) != IB_OK)
		return r;
	memcpy(d, p, n);
	return IB_OK;
}

static int
put_int(struct ib_buf *b, uint64_t v, size_t n, int big_endian)
{
	uint8_t *d;
	int r;

	if ((r = ib_buf_reserve(b, n, &d)) != IB_OK)
		return r;
	if (big_endian)
		store_be(d, v, n);
	else
		store_le(d, v, n);
	return IB_OK;
}

int ib_buf_put_u8(struct ib_buf *b, uint8_t v) { return put_int(b, v, 1, 1); }
int ib_buf_put_u16be(struct ib_buf *b, uint16_t v) { return put_int(b, v, 2, 1); }
int ib_buf_put_u16le(struct ib_buf *b, uint16_t v) { return put_int(b, v, 2, 0); }
int ib_buf_put_u32be(struct ib_buf *b, uint32_t v) { return put_int(b, v, 4, 1); }
int ib_buf_put_u32le(struct ib_buf *b, uint32_t v) { return put_int(b, v, 4, 0); }
int ib_buf_put_u64be(struct ib_buf *b, uint64_t v) { return put_int(b, v, 8, 1); }
int ib_buf_put_u64le(struct ib_buf *b, uint64_t v) { return put_int(b, v, 8, 0); }

int
ib_buf_put_string_u32be(struct ib_buf *b, const void *p, size_t n)
{
	int r;

	if (n > UINT32_MAX)
		return IB_ERR_TOO_LARGE;
	if (n > SIZE_MAX - 4 || ib_buf_avail(b) < 4 + n)
		return IB_ERR_TOO_LARGE;
	if ((r = ib_buf_put_u32be(b, (uint32_t)n)) != IB_OK)
		return r;
	return ib_buf_put(b, p, n);
}
