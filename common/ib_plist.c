/*
 * ib_plist.c - bounded property-list parsing and typed access.
 *
 * First version: size cap, XML control-character cleaning, depth and node
 * caps scanned before libplist sees the input (XML tags; binary object
 * references), typed getters and redacted logging. The binary writer is
 * ibackup's own (ib_plist_bin.c).
 */
#include "ib_plist.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seconds between 1970-01-01 and 2001-01-01 (libplist 2.2 date epoch). */
#define MAC_EPOCH_OFFSET 978307200

static int
is_binary(const uint8_t *d, size_t len)
{
	return len >= 8 && memcmp(d, "bplist00", 8) == 0;
}

/*
 * XML depth scan: count opening <dict>/<array> against closing tags. A
 * self-closing <dict/> does not nest. Counts every element as a node.
 */
static int
scan_xml(const uint8_t *d, size_t len)
{
	size_t i, depth = 0, nodes = 0;

	for (i = 0; i + 1 < len; i++) {
		if (d[i] != '<')
			continue;
		if (d[i + 1] == '/') {
			if (depth > 0 && ((len - i > 6 && memcmp(d + i, "</dict", 6) == 0) ||
			    (len - i > 7 && memcmp(d + i, "</array", 7) == 0)))
				depth--;
			continue;
		}
		if (d[i + 1] == '?' || d[i + 1] == '!')
			continue;
		if (++nodes > IB_PLIST_NODES_MAX)
			return IB_ERR_PLIST_TOO_MANY;
		if ((len - i > 5 && memcmp(d + i, "<dict", 5) == 0 && d[i + 5] != '/') ||
		    (len - i > 6 && memcmp(d + i, "<array", 6) == 0 && d[i + 6] != '/')) {
			/* "<dict/>" and "<dict />" are empty and do not nest. */
			size_t j = i + 1;
			while (j < len && d[j] != '>')
				j++;
			if (j < len && d[j - 1] == '/')
				continue;
			if (++depth > IB_PLIST_DEPTH_MAX)
				return IB_ERR_PLIST_DEPTH;
		}
	}
	return IB_OK;
}

/* --- binary plist pre-scan ------------------------------------------- */

struct bscan {
	const uint8_t *d;
	size_t len;
	unsigned offsz, refsz;
	uint64_t nobjs, top, table;
	size_t visits;
};

static uint64_t
be_n(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static int
bscan_offset(const struct bscan *s, uint64_t obj, uint64_t *offp)
{
	uint64_t at;

	if (obj >= s->nobjs)
		return IB_ERR_PLIST_PARSE;
	at = s->table + obj * s->offsz;
	if (at > s->len - 32 || s->len - 32 - at < s->offsz)
		return IB_ERR_PLIST_PARSE;
	*offp = be_n(s->d + at, s->offsz);
	if (*offp < 8 || *offp >= s->len - 32)
		return IB_ERR_PLIST_PARSE;
	return IB_OK;
}

/* Length of a container/string object: low nibble, or a following int. */
static int
bscan_count(const struct bscan *s, uint64_t off, uint64_t *countp, uint64_t *startp)
{
	uint8_t marker = s->d[off];
	uint64_t count = marker & 0x0f;
	uint64_t p = off + 1;

	if (count == 0x0f) {
		uint8_t im;
		unsigned n;

		if (p >= s->len - 32)
			return IB_ERR_PLIST_PARSE;
		im = s->d[p];
		if ((im & 0xf0) != 0x10 || (im & 0x0f) > 3)
			return IB_ERR_PLIST_PARSE;
		n = 1u << (im & 0x0f);
		if (s->len - 32 - (p + 1) < n)
			return IB_ERR_PLIST_PARSE;
		count = be_n(s->d + p + 1, n);
		p += 1 + n;
	}
	*countp = count;
	*startp = p;
	return IB_OK;
}

/*
 * Strings must not contain NUL: libplist 2.2.0 records the byte length but
 * later asserts length == strlen() (plist_get_key_val, reached by
 * plist_dict_next_item), aborting the process on a key like "a\0b". Found
 * by fuzz_plist (corpus: regression_libplist_nul_in_key).
 */
static int
bscan_string(const struct bscan *s, uint64_t off)
{
	uint64_t count, start, nbytes, i;
	int r;

	if ((r = bscan_count(s, off, &count, &start)) != IB_OK)
		return r;
	if ((s->d[off] >> 4) == 0x6) {
		if (count > (uint64_t)(s->len) / 2)
			return IB_ERR_PLIST_PARSE;
		nbytes = count * 2;
	} else {
		nbytes = count;
	}
	if (start > s->len - 32 || s->len - 32 - start < nbytes)
		return IB_ERR_PLIST_PARSE;
	if ((s->d[off] >> 4) == 0x5)
		return memchr(s->d + start, 0, nbytes) == NULL ? IB_OK : IB_ERR_PLIST_PARSE;
	for (i = 0; i < nbytes; i += 2)
		if (s->d[start + i] == 0 && s->d[start + i + 1] == 0)
			return IB_ERR_PLIST_PARSE;
	return IB_OK;
}

static int
bscan_dict_keys(const struct bscan *s, uint64_t start, uint64_t count)
{
	uint64_t k, off;
	int r;

	for (k = 0; k < count; k++) {
		uint64_t ref = be_n(s->d + start + k * s->refsz, s->refsz);
		uint8_t t;

		if ((r = bscan_offset(s, ref, &off)) != IB_OK)
			return r;
		t = s->d[off] >> 4;
		if (t != 0x5 && t != 0x6)
			return IB_ERR_PLIST_PARSE;
	}
	return IB_OK;
}

struct bframe {
	uint64_t start;   /* first reference byte of this container */
	uint64_t count;   /* references in total */
	uint64_t next;    /* next reference to visit */
};

static int
scan_bin(const uint8_t *d, size_t len)
{
	struct bscan s;
	struct bframe *stack = NULL;
	uint8_t *seen = NULL;            /* strings already checked */
	const uint8_t *t;
	size_t depth = 0;
	uint64_t off, cur;
	int r;

	if (len < 8 + 32)
		return IB_ERR_PLIST_PARSE;
	memset(&s, 0, sizeof(s));
	s.d = d;
	s.len = len;
	t = d + len - 32;
	s.offsz = t[6];
	s.refsz = t[7];
	s.nobjs = be_n(t + 8, 8);
	s.top = be_n(t + 16, 8);
	s.table = be_n(t + 24, 8);
	if (s.offsz < 1 || s.offsz > 8 || s.refsz < 1 || s.refsz > 8)
		return IB_ERR_PLIST_PARSE;
	if (s.nobjs == 0 || s.nobjs > IB_PLIST_NODES_MAX)
		return s.nobjs == 0 ? IB_ERR_PLIST_PARSE : IB_ERR_PLIST_TOO_MANY;
	if (s.table < 8 || s.table > len - 32 ||
	    (len - 32 - s.table) / s.offsz < s.nobjs)
		return IB_ERR_PLIST_PARSE;
	if ((stack = calloc(IB_PLIST_DEPTH_MAX + 1, sizeof(*stack))) == NULL ||
	    (seen = calloc((size_t)(s.nobjs + 7) / 8, 1)) == NULL) {
		free(stack);
		return IB_ERR_NOMEM;
	}

	/* Depth-first walk with an explicit stack. Every visit counts, so
	 * shared references that libplist would copy are charged each time. */
	cur = s.top;
	if ((r = bscan_offset(&s, s.top, &off)) != IB_OK)
		goto out;
	for (;;) {
		uint8_t type = d[off] >> 4;

		if (++s.visits > IB_PLIST_NODES_MAX) {
			r = IB_ERR_PLIST_TOO_MANY;
			goto out;
		}
		/* Each string once: one shared by many references would be
		 * rescanned at every visit (up to IB_PLIST_NODES_MAX times). */
		if ((type == 0x5 || type == 0x6) && !(seen[cur / 8] & (1u << (cur % 8)))) {
			seen[cur / 8] |= (uint8_t)(1u << (cur % 8));
			if ((r = bscan_string(&s, off)) != IB_OK)
				goto out;
		}
		/* Array, set, dict: libplist 2.2 parses a set (0xC) as an array,
		 * so it nests and shares like one (found by fuzz_dl_msg). */
		if (type == 0xA || type == 0xC || type == 0xD) {
			uint64_t count, start, refs;

			if ((r = bscan_count(&s, off, &count, &start)) != IB_OK)
				goto out;
			refs = type == 0xD ? count * 2 : count;
			if (count > IB_PLIST_NODES_MAX ||
			    (len - 32 - start) / s.refsz < refs) {
				r = IB_ERR_PLIST_PARSE;
				goto out;
			}
			/* Dict keys must be strings (libplist 2.2.0 turns any
			 * node into a key and trusts it later). */
			if (type == 0xD &&
			    (r = bscan_dict_keys(&s, start, count)) != IB_OK)
				goto out;
			if (depth >= IB_PLIST_DEPTH_MAX) {
				r = IB_ERR_PLIST_DEPTH;
				goto out;
			}
			stack[depth].start = start;
			stack[depth].count = refs;
			stack[depth].next = 0;
			depth++;
		}
		/* Find the next reference to follow, popping finished frames. */
		for (;;) {
			struct bframe *f;
			uint64_t ref;

			if (depth == 0) {
				r = IB_OK;
				goto out;
			}
			f = &stack[depth - 1];
			if (f->next >= f->count) {
				depth--;
				continue;
			}
			ref = be_n(d + f->start + f->next * s.refsz, s.refsz);
			f->next++;
			if ((r = bscan_offset(&s, ref, &off)) != IB_OK)
				goto out;
			cur = ref;
			break;
		}
	}
out:
	free(stack);
	free(seen);
	return r;
}

/* Walk a parsed tree to be sure libplist built what the scan allowed. */
static int
check_tree(plist_t node, size_t depth, size_t *nodes)
{
	plist_type t;

	if (depth > IB_PLIST_DEPTH_MAX)
		return IB_ERR_PLIST_DEPTH;
	if (++*nodes > IB_PLIST_NODES_MAX)
		return IB_ERR_PLIST_TOO_MANY;
	t = plist_get_node_type(node);
	if (t == PLIST_ARRAY) {
		/* The iterator, not plist_array_get_item: libplist 2.2 indexes
		 * only arrays it built itself, so get_item on a parsed array
		 * walks the list and a loop over it is quadratic. */
		plist_array_iter it = NULL;
		plist_t item = NULL;
		int r = IB_OK;

		plist_array_new_iter(node, &it);
		for (;;) {
			plist_array_next_item(node, it, &item);
			if (item == NULL)
				break;
			if ((r = check_tree(item, depth + 1, nodes)) != IB_OK)
				break;
		}
		free(it);
		return r;
	} else if (t == PLIST_DICT) {
		plist_dict_iter it = NULL;
		plist_t val = NULL;
		int r = IB_OK;

		plist_dict_new_iter(node, &it);
		for (;;) {
			/* libplist 2.2's binary parser can leave a dict key that
			 * is not a key node (found by fuzz_np); asking for its
			 * text then aborts in an assert, so take the value alone
			 * and check the key's type first (services step). */
			plist_dict_next_item(node, it, NULL, &val);
			if (val == NULL)
				break;
			if (plist_get_node_type(plist_dict_item_get_key(val)) != PLIST_KEY) {
				r = IB_ERR_PLIST_PARSE;
				break;
			}
			if ((r = check_tree(val, depth + 1, nodes)) != IB_OK)
				break;
		}
		free(it);
		return r;
	}
	return IB_OK;
}

int
ib_plist_parse(const void *data, size_t len, size_t max_len, plist_t *outp)
{
	const uint8_t *d = data;
	uint8_t *clean = NULL;
	plist_t p = NULL;
	size_t nodes = 0, i;
	int r;

	*outp = NULL;
	if (max_len > IB_PLIST_MSG_MAX)
		max_len = IB_PLIST_MSG_MAX;
	if (len > max_len)
		return IB_ERR_TOO_LARGE;
	if (data == NULL || len == 0)
		return IB_ERR_PLIST_PARSE;
	if (is_binary(d, len)) {
		if ((r = scan_bin(d, len)) != IB_OK)
			return r;
		plist_from_bin((const char *)d, (uint32_t)len, &p);
	} else {
		if ((r = scan_xml(d, len)) != IB_OK)
			return r;
		/* iOS >= 4.3 puts raw control characters into XML strings;
		 * turn all but TAB, LF and CR into spaces (lockdown.md s.1). */
		if ((clean = malloc(len)) == NULL)
			return IB_ERR_NOMEM;
		for (i = 0; i < len; i++)
			clean[i] = (d[i] < 0x20 && d[i] != '\t' && d[i] != '\n' &&
			    d[i] != '\r') ? ' ' : d[i];
		plist_from_xml((const char *)clean, (uint32_t)len, &p);
		free(clean);
	}
	if (p == NULL) {
		ib_err_detail_set("libplist could not parse a %zu-byte %s plist",
		    len, is_binary(d, len) ? "binary" : "XML");
		return IB_ERR_PLIST_PARSE;
	}
	if ((r = check_tree(p, 0, &nodes)) != IB_OK) {
		plist_free(p);
		return r;
	}
	*outp = p;
	return IB_OK;
}

int
ib_plist_parse_dict(const void *data, size_t len, size_t max_len, plist_t *outp)
{
	plist_t p = NULL;
	int r;

	*outp = NULL;
	if ((r = ib_plist_parse(data, len, max_len, &p)) != IB_OK)
		return r;
	if (plist_get_node_type(p) != PLIST_DICT) {
		plist_free(p);
		return IB_ERR_PLIST_TYPE;
	}
	*outp = p;
	return IB_OK;
}

int
ib_plist_to_xml(plist_t p, char **outp, size_t *lenp)
{
	char *x = NULL;
	uint32_t n = 0;

	*outp = NULL;
	*lenp = 0;
	if (p == NULL)
		return IB_ERR_INVALID_ARG;
	plist_to_xml(p, &x, &n);
	if (x == NULL)
		return IB_ERR_PLIST_ENCODE;
	*outp = x;
	*lenp = n;
	return IB_OK;
}

/* ib_plist_to_bin lives in ib_plist_bin.c (own writer, see there). */

plist_t
ib_plist_new_int(int64_t v)
{
	/* Two's complement in a uint node; readers use ib_plist_get_int. */
	return plist_new_uint((uint64_t)v);
}

plist_t
ib_plist_new_date_unix(int64_t secs)
{
	return plist_new_date((int32_t)(secs - MAC_EPOCH_OFFSET), 0);
}

/* --- typed access ------------------------------------------------------ */

static int
node_is(plist_t node, plist_type t)
{
	if (node == NULL)
		return IB_ERR_PLIST_MISSING;
	return plist_get_node_type(node) == t ? IB_OK : IB_ERR_PLIST_TYPE;
}

int
ib_plist_get_string(plist_t node, const char **sp)
{
	uint64_t len = 0;
	const char *s;
	int r;

	*sp = NULL;
	if ((r = node_is(node, PLIST_STRING)) != IB_OK)
		return r;
	s = plist_get_string_ptr(node, &len);
	if (s == NULL || strlen(s) != len)
		return IB_ERR_PLIST_TYPE;
	*sp = s;
	return IB_OK;
}

int
ib_plist_get_uint(plist_t node, uint64_t *vp)
{
	int r;

	*vp = 0;
	if ((r = node_is(node, PLIST_UINT)) != IB_OK)
		return r;
	plist_get_uint_val(node, vp);
	return IB_OK;
}

int
ib_plist_get_int(plist_t node, int64_t *vp)
{
	uint64_t u = 0;
	int r;

	*vp = 0;
	if ((r = ib_plist_get_uint(node, &u)) != IB_OK)
		return r;
	*vp = (int64_t)u;   /* >= 2^63 are negative numbers (see header) */
	return IB_OK;
}

int
ib_plist_get_bool(plist_t node, int *vp)
{
	uint8_t b = 0;
	int r;

	*vp = 0;
	if ((r = node_is(node, PLIST_BOOLEAN)) != IB_OK)
		return r;
	plist_get_bool_val(node, &b);
	*vp = b != 0;
	return IB_OK;
}

int
ib_plist_get_real(plist_t node, double *vp)
{
	int r;

	*vp = 0;
	if ((r = node_is(node, PLIST_REAL)) != IB_OK)
		return r;
	plist_get_real_val(node, vp);
	return IB_OK;
}

int
ib_plist_get_data(plist_t node, const uint8_t **pp, size_t *lenp)
{
	uint64_t len = 0;
	const char *p;
	int r;

	*pp = NULL;
	*lenp = 0;
	if ((r = node_is(node, PLIST_DATA)) != IB_OK)
		return r;
	p = plist_get_data_ptr(node, &len);
	*pp = (const uint8_t *)(p != NULL ? p : "");
	*lenp = (size_t)len;
	return IB_OK;
}

int
ib_plist_get_date_unix(plist_t node, int64_t *secsp)
{
	int32_t sec = 0, usec = 0;
	int r;

	*secsp = 0;
	if ((r = node_is(node, PLIST_DATE)) != IB_OK)
		return r;
	plist_get_date_val(node, &sec, &usec);
	*secsp = (int64_t)sec + MAC_EPOCH_OFFSET;
	return IB_OK;
}

static plist_t
dict_item(plist_t dict, const char *key)
{
	if (dict == NULL || plist_get_node_type(dict) != PLIST_DICT)
		return NULL;
	return plist_dict_get_item(dict, key);
}

static plist_t
array_item(plist_t array, uint32_t idx)
{
	if (array == NULL || plist_get_node_type(array) != PLIST_ARRAY ||
	    idx >= plist_array_get_size(array))
		return NULL;
	return plist_array_get_item(array, idx);
}

int
ib_plist_dict_get_string(plist_t dict, const char *key, const char **sp)
{
	return ib_plist_get_string(dict_item(dict, key), sp);
}

int
ib_plist_dict_get_uint(plist_t dict, const char *key, uint64_t *vp)
{
	return ib_plist_get_uint(dict_item(dict, key), vp);
}

int
ib_plist_dict_get_int(plist_t dict, const char *key, int64_t *vp)
{
	return ib_plist_get_int(dict_item(dict, key), vp);
}

int
ib_plist_dict_get_bool(plist_t dict, const char *key, int *vp)
{
	return ib_plist_get_bool(dict_item(dict, key), vp);
}

int
ib_plist_dict_get_real(plist_t dict, const char *key, double *vp)
{
	return ib_plist_get_real(dict_item(dict, key), vp);
}

int
ib_plist_dict_get_data(plist_t dict, const char *key, const uint8_t **pp, size_t *lenp)
{
	return ib_plist_get_data(dict_item(dict, key), pp, lenp);
}

int
ib_plist_dict_get_date_unix(plist_t dict, const char *key, int64_t *secsp)
{
	return ib_plist_get_date_unix(dict_item(dict, key), secsp);
}

static int
get_container(plist_t node, plist_type t, plist_t *vp)
{
	int r;

	*vp = NULL;
	if ((r = node_is(node, t)) != IB_OK)
		return r;
	*vp = node;
	return IB_OK;
}

int
ib_plist_dict_get_dict(plist_t dict, const char *key, plist_t *vp)
{
	return get_container(dict_item(dict, key), PLIST_DICT, vp);
}

int
ib_plist_dict_get_array(plist_t dict, const char *key, plist_t *vp)
{
	return get_container(dict_item(dict, key), PLIST_ARRAY, vp);
}

int
ib_plist_array_get_string(plist_t array, uint32_t idx, const char **sp)
{
	return ib_plist_get_string(array_item(array, idx), sp);
}

int
ib_plist_array_get_uint(plist_t array, uint32_t idx, uint64_t *vp)
{
	return ib_plist_get_uint(array_item(array, idx), vp);
}

int
ib_plist_array_get_int(plist_t array, uint32_t idx, int64_t *vp)
{
	return ib_plist_get_int(array_item(array, idx), vp);
}

int
ib_plist_array_get_real(plist_t array, uint32_t idx, double *vp)
{
	return ib_plist_get_real(array_item(array, idx), vp);
}

int
ib_plist_array_get_dict(plist_t array, uint32_t idx, plist_t *vp)
{
	return get_container(array_item(array, idx), PLIST_DICT, vp);
}

int
ib_plist_array_get_array(plist_t array, uint32_t idx, plist_t *vp)
{
	return get_container(array_item(array, idx), PLIST_ARRAY, vp);
}

int
ib_plist_is_dict(plist_t node)
{
	return node != NULL && plist_get_node_type(node) == PLIST_DICT;
}

int
ib_plist_is_array(plist_t node)
{
	return node != NULL && plist_get_node_type(node) == PLIST_ARRAY;
}

/* --- redacted logging ------------------------------------------------- */

static const char *const secret_keys[] = {
	"HostPrivateKey", "RootPrivateKey", "EscrowBag", "PairRecordData",
	"Password", "NewPassword", "OldPassword", "BackupKeyBag",
	"ManifestKey", "EncryptionKey", "PairingChallenge", "ChallengeResponse",
	"Passcode",
};

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int
ib_plist_key_is_secret(const char *key)
{
	size_t i;

	if (key == NULL)
		return 0;
	for (i = 0; i < sizeof(secret_keys) / sizeof(secret_keys[0]); i++)
		if (strcmp(key, secret_keys[i]) == 0)
			return 1;
	return ends_with(key, "PrivateKey") || ends_with(key, "Password") ||
	    ends_with(key, "Passcode");
}

static void
redact(plist_t node, size_t depth)
{
	plist_type t;

	if (node == NULL || depth > IB_PLIST_DEPTH_MAX)
		return;
	t = plist_get_node_type(node);
	if (t == PLIST_ARRAY) {
		plist_array_iter it = NULL;
		plist_t item = NULL;

		plist_array_new_iter(node, &it);
		for (;;) {
			plist_array_next_item(node, it, &item);
			if (item == NULL)
				break;
			redact(item, depth + 1);
		}
		free(it);
	} else if (t == PLIST_DICT) {
		plist_dict_iter it = NULL;
		char *key = NULL;
		plist_t val = NULL;

		plist_dict_new_iter(node, &it);
		for (;;) {
			plist_dict_next_item(node, it, &key, &val);
			if (val == NULL)
				break;
			if (ib_plist_key_is_secret(key)) {
				char text[64];
				uint64_t len = 0;
				plist_type vt = plist_get_node_type(val);

				if (vt == PLIST_DATA)
					plist_get_data_ptr(val, &len);
				else if (vt == PLIST_STRING)
					plist_get_string_ptr(val, &len);
				snprintf(text, sizeof(text), "<redacted %llu bytes>",
				    (unsigned long long)len);
				/* Replacing the value in place keeps the iterator
				 * valid (no insertion or removal). */
				if (vt == PLIST_STRING)
					plist_set_string_val(val, text);
				else if (vt == PLIST_DATA)
					plist_set_data_val(val, text, strlen(text));
				else
					redact(val, depth + 1);
			} else {
				redact(val, depth + 1);
			}
			free(key);
			key = NULL;
		}
		free(it);
	}
}

void
ib_plist_log(const char *func, const char *what, plist_t p)
{
	plist_t copy;
	char *xml = NULL;
	size_t len = 0;

	if (!ib_log_enabled(IB_LOG_TRACE) || p == NULL)
		return;
	if ((copy = plist_copy(p)) == NULL)
		return;
	redact(copy, 0);
	if (ib_plist_to_xml(copy, &xml, &len) == IB_OK) {
		/* Trim the XML prologue for readability. */
		const char *body = strstr(xml, "<plist");
		ib_logf(IB_LOG_TRACE, func, "%s:\n%s", what, body != NULL ? body : xml);
		free(xml);
	}
	plist_free(copy);
}
