/*
 * ib_plist_bin.c - ibackup's own binary-plist writer (ib_plist_to_bin).
 *
 * Why not libplist's plist_to_bin: its integer width depends on the
 * version and on how a node was made. 2.2.0 writes a uint node of 2^63 or
 * more as 8 bytes only when the node was created with plist_new_uint, but
 * as a 16-byte unsigned integer when it was parsed from one; 2.3 and
 * later write every value above INT_MAX as 16 bytes. Apple's peers read
 * an 8-byte integer as signed, so DLMessageStatusResponse -13 must be
 * written as the 8 bytes ff..f3 (mobilebackup2.md section 1). This writer
 * always does that, whatever libplist is installed.
 *
 * Everything else follows libplist 2.2's layout so the bytes stay the
 * same as before (a unit test compares them): objects in depth-first
 * pre-order with dict keys as objects of their own, equal strings / keys
 * / integers / reals / dates / booleans / UIDs written once (strings and
 * keys kept apart, data never merged), ASCII strings as 0x5n and others
 * as UTF-16BE 0x6n, reals as 4 bytes when a float holds them exactly,
 * integers and lengths in 1/2/4/8 bytes, references and offsets in the
 * fewest bytes (3 allowed), root object 0. Deviations: a UID above 2^32 or
 * a string that is not valid UTF-8 is refused (libplist truncates both).
 */
#include "ib_plist.h"
#include "ib_buf.h"
#include "ib_err.h"
#include "ib_limits.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

/* Output cap: frames carry a u32 length, and libplist's own API used
 * uint32_t lengths, so nothing larger is meaningful. */
#define BIN_OUT_MAX 0xffffffffu

struct bobj {
	plist_t node;           /* NULL for a dict key */
	const char *key;        /* key text (owned by the writer's key list) */
	plist_type type;
	size_t ref_start;       /* containers: first slot in refs[] */
	size_t nrefs;           /* containers: slots (dict: 2 per pair) */
};

struct bw {
	struct bobj *objs;
	size_t nobjs, objcap;
	size_t *refs;
	size_t nrefs, refcap;
	char **keys;
	size_t nkeys, keycap;
	size_t *table;          /* open addressing: object index + 1, 0 empty */
	size_t tabcap;
	struct ib_buf out;
};

static int
grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *np;

	if (need <= *cap)
		return IB_OK;
	ncap = *cap ? *cap : 64;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / elem)
			return IB_ERR_NOMEM;
		ncap *= 2;
	}
	if ((np = realloc(*p, ncap * elem)) == NULL)
		return IB_ERR_NOMEM;
	*p = np;
	*cap = ncap;
	return IB_OK;
}

/* Exact IEEE double of a date node. libplist 2.2 only hands out seconds
 * and microseconds, which lose the low bits of a device-written date, so
 * read the 8 bytes back from libplist's own encoding of the node. */
static int
date_bits(plist_t node, uint8_t out[8])
{
	char *bin = NULL;
	uint32_t n = 0;
	int r = IB_ERR_PLIST_ENCODE;

	plist_to_bin(node, &bin, &n);
	/* "bplist00", marker 0x33, 8 bytes, ... */
	if (bin != NULL && n >= 17 && (uint8_t)bin[8] == 0x33) {
		memcpy(out, bin + 9, 8);
		r = IB_OK;
	}
	free(bin);
	return r;
}

static void
be_put(uint8_t *p, uint64_t v, unsigned n)
{
	while (n-- > 0) {
		p[n] = (uint8_t)v;
		v >>= 8;
	}
}

/* The value bytes that decide whether two scalars are the same object. */
static int
scalar_bytes(const struct bobj *o, uint8_t tmp[8], const uint8_t **pp, size_t *np)
{
	uint64_t u = 0, len = 0;
	double d = 0;
	uint8_t b = 0;

	switch (o->type) {
	case PLIST_KEY:
		*pp = (const uint8_t *)o->key;
		*np = strlen(o->key);
		return IB_OK;
	case PLIST_STRING:
		*pp = (const uint8_t *)plist_get_string_ptr(o->node, &len);
		*np = (size_t)len;
		if (*pp == NULL)
			*pp = (const uint8_t *)"";
		return IB_OK;
	case PLIST_BOOLEAN:
		plist_get_bool_val(o->node, &b);
		u = b != 0;
		break;
	case PLIST_UINT:
		plist_get_uint_val(o->node, &u);
		break;
	case PLIST_UID:
		plist_get_uid_val(o->node, &u);
		break;
	case PLIST_REAL:
		plist_get_real_val(o->node, &d);
		memcpy(&u, &d, sizeof(u));
		break;
	case PLIST_DATE:
		if (date_bits(o->node, tmp) != IB_OK)
			return IB_ERR_PLIST_ENCODE;
		*pp = tmp;
		*np = 8;
		return IB_OK;
	default:
		return IB_ERR_INTERNAL;
	}
	be_put(tmp, u, 8);
	*pp = tmp;
	*np = 8;
	return IB_OK;
}

static size_t
hash_bytes(plist_type t, const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)t;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return (size_t)h;
}

static int
is_scalar(plist_type t)
{
	return t == PLIST_KEY || t == PLIST_STRING || t == PLIST_BOOLEAN ||
	    t == PLIST_UINT || t == PLIST_UID || t == PLIST_REAL || t == PLIST_DATE;
}

static int
table_rehash(struct bw *w)
{
	size_t ncap = w->tabcap ? w->tabcap * 2 : 1024, i;
	size_t *nt = calloc(ncap, sizeof(*nt));
	int r = IB_OK;

	if (nt == NULL)
		return IB_ERR_NOMEM;
	for (i = 0; i < w->tabcap && r == IB_OK; i++) {
		uint8_t tmp[8];
		const uint8_t *p;
		size_t n, h;
		const struct bobj *o;

		if (w->table[i] == 0)
			continue;
		o = &w->objs[w->table[i] - 1];
		if ((r = scalar_bytes(o, tmp, &p, &n)) != IB_OK)
			break;
		h = hash_bytes(o->type, p, n) & (ncap - 1);
		while (nt[h] != 0)
			h = (h + 1) & (ncap - 1);
		nt[h] = w->table[i];
	}
	if (r != IB_OK) {
		free(nt);
		return r;
	}
	free(w->table);
	w->table = nt;
	w->tabcap = ncap;
	return IB_OK;
}

/*
 * Add object o (already appended as the last entry) or, for a scalar
 * equal to an earlier one, drop it again and return the earlier index.
 */
static int
intern(struct bw *w, size_t *idxp)
{
	size_t idx = w->nobjs - 1, h;
	const struct bobj *o = &w->objs[idx];
	uint8_t tmp[8], tmp2[8];
	const uint8_t *p, *p2;
	size_t n, n2;
	int r;

	*idxp = idx;
	if (!is_scalar(o->type))
		return IB_OK;
	if ((w->nobjs * 2 >= w->tabcap) && (r = table_rehash(w)) != IB_OK)
		return r;
	if ((r = scalar_bytes(o, tmp, &p, &n)) != IB_OK)
		return r;
	h = hash_bytes(o->type, p, n) & (w->tabcap - 1);
	for (; w->table[h] != 0; h = (h + 1) & (w->tabcap - 1)) {
		const struct bobj *q = &w->objs[w->table[h] - 1];

		if (q->type != o->type)
			continue;
		if ((r = scalar_bytes(q, tmp2, &p2, &n2)) != IB_OK)
			return r;
		if (n2 == n && memcmp(p, p2, n) == 0) {
			*idxp = w->table[h] - 1;
			w->nobjs--;
			return IB_OK;
		}
	}
	w->table[h] = idx + 1;
	return IB_OK;
}

static int
add_obj(struct bw *w, plist_t node, const char *key, plist_type t, size_t *idxp)
{
	struct bobj *o;
	int r;

	if ((r = grow((void **)&w->objs, &w->objcap, w->nobjs + 1, sizeof(*w->objs))) != IB_OK)
		return r;
	o = &w->objs[w->nobjs++];
	memset(o, 0, sizeof(*o));
	o->node = node;
	o->key = key;
	o->type = t;
	return intern(w, idxp);
}

static int
add_key(struct bw *w, char *key, size_t *idxp)
{
	int r;

	if ((r = grow((void **)&w->keys, &w->keycap, w->nkeys + 1, sizeof(*w->keys))) != IB_OK) {
		free(key);
		return r;
	}
	w->keys[w->nkeys++] = key;
	return add_obj(w, NULL, key, PLIST_KEY, idxp);
}

static int collect(struct bw *w, plist_t node, size_t depth, size_t *idxp);

static int
collect_children(struct bw *w, plist_t node, plist_type t, size_t self, size_t depth)
{
	size_t count, slot, i, idx;
	int r = IB_OK;

	count = t == PLIST_ARRAY ? plist_array_get_size(node) : plist_dict_get_size(node);
	if (t == PLIST_DICT)
		count *= 2;
	if ((r = grow((void **)&w->refs, &w->refcap, w->nrefs + count, sizeof(*w->refs))) != IB_OK)
		return r;
	slot = w->nrefs;
	w->nrefs += count;
	w->objs[self].ref_start = slot;
	w->objs[self].nrefs = count;
	if (t == PLIST_ARRAY) {
		plist_array_iter it = NULL;
		plist_t item = NULL;

		plist_array_new_iter(node, &it);
		for (i = 0; i < count && r == IB_OK; i++) {
			plist_array_next_item(node, it, &item);
			if (item == NULL) {
				r = IB_ERR_PLIST_ENCODE;
				break;
			}
			if ((r = collect(w, item, depth + 1, &idx)) == IB_OK)
				w->refs[slot + i] = idx;
		}
		free(it);
		return r;
	}
	{
		plist_dict_iter it = NULL;
		plist_t val = NULL;
		char *key = NULL;
		size_t pairs = count / 2;

		plist_dict_new_iter(node, &it);
		for (i = 0; i < pairs && r == IB_OK; i++) {
			plist_dict_next_item(node, it, &key, &val);
			if (key == NULL || val == NULL) {
				free(key);
				r = IB_ERR_PLIST_ENCODE;
				break;
			}
			/* Keys first, values after: dict refs are laid out as
			 * all keys then all values. */
			if ((r = add_key(w, key, &idx)) != IB_OK)
				break;
			key = NULL;
			w->refs[slot + i] = idx;
			if ((r = collect(w, val, depth + 1, &idx)) == IB_OK)
				w->refs[slot + pairs + i] = idx;
		}
		free(it);
	}
	return r;
}

static int
collect(struct bw *w, plist_t node, size_t depth, size_t *idxp)
{
	plist_type t = plist_get_node_type(node);
	size_t self;
	int r;

	if (depth > IB_PLIST_DEPTH_MAX)
		return IB_ERR_PLIST_DEPTH;
	if (w->nobjs >= IB_PLIST_NODES_MAX)
		return IB_ERR_PLIST_TOO_MANY;
	switch (t) {
	case PLIST_BOOLEAN: case PLIST_UINT: case PLIST_REAL: case PLIST_STRING:
	case PLIST_DATE: case PLIST_DATA: case PLIST_UID:
		return add_obj(w, node, NULL, t, idxp);
	case PLIST_ARRAY:
	case PLIST_DICT:
		if ((r = add_obj(w, node, NULL, t, &self)) != IB_OK)
			return r;
		*idxp = self;
		return collect_children(w, node, t, self, depth);
	default:
		return IB_ERR_PLIST_ENCODE;
	}
}

/* Bytes libplist uses for a count, reference or offset (3 allowed). */
static unsigned
needed_bytes(uint64_t v)
{
	if (v < (1ull << 8))
		return 1;
	if (v < (1ull << 16))
		return 2;
	if (v < (1ull << 24))
		return 3;
	if (v < (1ull << 32))
		return 4;
	return 8;
}

static int
put_be(struct ib_buf *b, uint64_t v, unsigned n)
{
	uint8_t *p;
	int r;

	if ((r = ib_buf_reserve(b, n, &p)) != IB_OK)
		return r;
	be_put(p, v, n);
	return IB_OK;
}

/* Integer object: 1, 2, 4 or 8 bytes. 8 bytes holds the two's complement
 * of negative numbers, which every reader takes as signed. */
static int
put_int(struct ib_buf *b, uint64_t v)
{
	unsigned n = needed_bytes(v);
	int r;

	if (n == 3)
		n = 4;
	if ((r = ib_buf_put_u8(b, (uint8_t)(0x10 | (n == 1 ? 0 : n == 2 ? 1 : n == 4 ? 2 : 3)))) != IB_OK)
		return r;
	return put_be(b, v, n);
}

static int
put_marker(struct ib_buf *b, uint8_t kind, uint64_t count)
{
	int r;

	if ((r = ib_buf_put_u8(b, (uint8_t)(kind | (count < 15 ? count : 0x0f)))) != IB_OK)
		return r;
	return count < 15 ? IB_OK : put_int(b, count);
}

/* UTF-8 -> UTF-16BE code units; IB_ERR_PLIST_ENCODE on invalid input. */
static int
put_utf16(struct ib_buf *b, const uint8_t *s, size_t n)
{
	size_t i, units = 0, pass;
	int r;

	for (pass = 0; pass < 2; pass++) {
		if (pass == 1 && (r = put_marker(b, 0x60, units)) != IB_OK)
			return r;
		for (i = 0; i < n;) {
			uint32_t c = s[i];
			size_t k, len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 :
			    (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;

			if (len == 0 || n - i < len)
				return IB_ERR_PLIST_ENCODE;
			if (len > 1)
				c &= 0x3fu >> (len - 1);
			for (k = 1; k < len; k++) {
				if ((s[i + k] & 0xc0) != 0x80)
					return IB_ERR_PLIST_ENCODE;
				c = (c << 6) | (s[i + k] & 0x3fu);
			}
			if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) ||
			    (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
			    (c >= 0xd800 && c <= 0xdfff))
				return IB_ERR_PLIST_ENCODE;
			i += len;
			if (pass == 0) {
				units += c >= 0x10000 ? 2 : 1;
				continue;
			}
			if (c >= 0x10000) {
				c -= 0x10000;
				if ((r = put_be(b, 0xd800 + (c >> 10), 2)) != IB_OK ||
				    (r = put_be(b, 0xdc00 + (c & 0x3ff), 2)) != IB_OK)
					return r;
			} else if ((r = put_be(b, c, 2)) != IB_OK) {
				return r;
			}
		}
	}
	return IB_OK;
}

static int
put_string(struct ib_buf *b, const uint8_t *s, size_t n)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++)
		if (s[i] >= 0x80)
			return put_utf16(b, s, n);
	if ((r = put_marker(b, 0x50, n)) != IB_OK)
		return r;
	return ib_buf_put(b, s, n);
}

static int
put_refs(struct bw *w, const struct bobj *o, unsigned refsz)
{
	size_t i;
	int r;

	for (i = 0; i < o->nrefs; i++)
		if ((r = put_be(&w->out, w->refs[o->ref_start + i], refsz)) != IB_OK)
			return r;
	return IB_OK;
}

static int
put_object(struct bw *w, const struct bobj *o, unsigned refsz)
{
	struct ib_buf *b = &w->out;
	uint8_t tmp[8], byte;
	const uint8_t *p;
	uint64_t u = 0, len = 0;
	double d = 0;
	size_t n;
	int r;

	switch (o->type) {
	case PLIST_BOOLEAN:
		plist_get_bool_val(o->node, &byte);
		return ib_buf_put_u8(b, byte ? 0x09 : 0x08);
	case PLIST_UINT:
		plist_get_uint_val(o->node, &u);
		return put_int(b, u);
	case PLIST_REAL:
		plist_get_real_val(o->node, &d);
		/* The range test keeps the float conversion defined. */
		if (d >= -FLT_MAX && d <= FLT_MAX && (double)(float)d == d) {
			float f = (float)d;
			uint32_t fb;

			memcpy(&fb, &f, sizeof(fb));
			if ((r = ib_buf_put_u8(b, 0x22)) != IB_OK)
				return r;
			return put_be(b, fb, 4);
		}
		memcpy(&u, &d, sizeof(u));
		if ((r = ib_buf_put_u8(b, 0x23)) != IB_OK)
			return r;
		return put_be(b, u, 8);
	case PLIST_DATE:
		if ((r = date_bits(o->node, tmp)) != IB_OK ||
		    (r = ib_buf_put_u8(b, 0x33)) != IB_OK)
			return r;
		return ib_buf_put(b, tmp, 8);
	case PLIST_KEY:
	case PLIST_STRING:
		if ((r = scalar_bytes(o, tmp, &p, &n)) != IB_OK)
			return r;
		return put_string(b, p, n);
	case PLIST_DATA:
		p = (const uint8_t *)plist_get_data_ptr(o->node, &len);
		if ((r = put_marker(b, 0x40, len)) != IB_OK)
			return r;
		return len ? ib_buf_put(b, p, (size_t)len) : IB_OK;
	case PLIST_UID:
		plist_get_uid_val(o->node, &u);
		if (u > 0xffffffffu)
			return IB_ERR_PLIST_ENCODE;
		n = needed_bytes(u);
		if (n == 3)
			n = 4;
		if ((r = ib_buf_put_u8(b, (uint8_t)(0x80 | (n - 1)))) != IB_OK)
			return r;
		return put_be(b, u, (unsigned)n);
	case PLIST_ARRAY:
		if ((r = put_marker(b, 0xa0, o->nrefs)) != IB_OK)
			return r;
		return put_refs(w, o, refsz);
	case PLIST_DICT:
		if ((r = put_marker(b, 0xd0, o->nrefs / 2)) != IB_OK)
			return r;
		return put_refs(w, o, refsz);
	default:
		return IB_ERR_PLIST_ENCODE;
	}
}

static int
write_all(struct bw *w, size_t **offsp)
{
	size_t *offs, i, table;
	unsigned refsz = needed_bytes(w->nobjs), offsz;
	int r;

	if ((offs = calloc(w->nobjs ? w->nobjs : 1, sizeof(*offs))) == NULL)
		return IB_ERR_NOMEM;
	*offsp = offs;
	if ((r = ib_buf_put(&w->out, "bplist00", 8)) != IB_OK)
		return r;
	for (i = 0; i < w->nobjs; i++) {
		offs[i] = ib_buf_len(&w->out);
		if ((r = put_object(w, &w->objs[i], refsz)) != IB_OK)
			return r;
	}
	table = ib_buf_len(&w->out);
	offsz = needed_bytes(table);
	for (i = 0; i < w->nobjs; i++)
		if ((r = put_be(&w->out, offs[i], offsz)) != IB_OK)
			return r;
	/* Trailer: 6 unused bytes, offset size, ref size, count, root, table. */
	if ((r = put_be(&w->out, 0, 6)) != IB_OK ||
	    (r = ib_buf_put_u8(&w->out, (uint8_t)offsz)) != IB_OK ||
	    (r = ib_buf_put_u8(&w->out, (uint8_t)refsz)) != IB_OK ||
	    (r = put_be(&w->out, w->nobjs, 8)) != IB_OK ||
	    (r = put_be(&w->out, 0, 8)) != IB_OK ||
	    (r = put_be(&w->out, table, 8)) != IB_OK)
		return r;
	return IB_OK;
}

int
ib_plist_to_bin(plist_t p, uint8_t **outp, size_t *lenp)
{
	struct bw w;
	size_t root = 0, i, *offs = NULL;
	uint8_t *copy = NULL;
	int r;

	*outp = NULL;
	*lenp = 0;
	if (p == NULL)
		return IB_ERR_INVALID_ARG;
	memset(&w, 0, sizeof(w));
	ib_buf_init(&w.out, BIN_OUT_MAX);
	if ((r = collect(&w, p, 0, &root)) != IB_OK)
		goto out;
	if ((r = write_all(&w, &offs)) != IB_OK)
		goto out;
	if ((copy = malloc(ib_buf_len(&w.out))) == NULL) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	memcpy(copy, ib_buf_ptr(&w.out), ib_buf_len(&w.out));
	*lenp = ib_buf_len(&w.out);
	*outp = copy;
	r = IB_OK;
out:
	if (r == IB_ERR_TOO_LARGE)
		r = IB_ERR_PLIST_ENCODE;
	free(offs);
	for (i = 0; i < w.nkeys; i++)
		free(w.keys[i]);
	free(w.keys);
	free(w.objs);
	free(w.refs);
	free(w.table);
	ib_buf_free(&w.out);
	return r;
}
