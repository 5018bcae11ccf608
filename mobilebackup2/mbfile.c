/*
 * mbfile.c - MBFile NSKeyedArchiver records (mbfile.h).
 */
#include "mbfile.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_plist.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The integer keys of an MBFile, in the order a real record has them. */
enum fkind {
	F_I64,          /* signed (times, uid/gid: -2 is "nobody") */
	F_U64,          /* non-negative 64-bit */
	F_U32,          /* 0 .. 2^32-1 */
};

static const struct field {
	const char *key;
	size_t off;
	enum fkind kind;
} fields[] = {
	{ "LastModified", offsetof(struct ib_mbfile, last_modified), F_I64 },
	{ "Flags", offsetof(struct ib_mbfile, flags), F_U32 },
	{ "GroupID", offsetof(struct ib_mbfile, group_id), F_I64 },
	{ "LastStatusChange", offsetof(struct ib_mbfile, last_status_change), F_I64 },
	{ "Birth", offsetof(struct ib_mbfile, birth), F_I64 },
	{ "Size", offsetof(struct ib_mbfile, size), F_U64 },
	{ "InodeNumber", offsetof(struct ib_mbfile, inode), F_U64 },
	{ "Mode", offsetof(struct ib_mbfile, mode), F_U32 },
	{ "UserID", offsetof(struct ib_mbfile, user_id), F_I64 },
	{ "ProtectionClass", offsetof(struct ib_mbfile, protection_class), F_U32 },
};

struct ib_mbfile *
ib_mbfile_new(void)
{
	return calloc(1, sizeof(struct ib_mbfile));
}

void
ib_mbfile_free(struct ib_mbfile *f)
{
	if (f == NULL)
		return;
	free(f->relative_path);
	free(f->target);
	if (f->encryption_key != NULL) {
		explicit_bzero(f->encryption_key, f->encryption_key_len);
		free(f->encryption_key);
	}
	free(f);
}

static int
invalid(const char *what)
{
	ib_err_detail_set("MBFile record: %s", what);
	return IB_ERR_BACKUP_INVALID;
}

/* objects[uid of dict[key]]; NULL node in *outp when the key is absent
 * or the reference is $null (UID 0). */
static int
deref(plist_t objects, plist_t dict, const char *key, plist_t *outp)
{
	plist_t ref = plist_dict_get_item(dict, key);
	uint64_t uid = 0;

	*outp = NULL;
	if (ref == NULL)
		return IB_OK;
	if (plist_get_node_type(ref) != PLIST_UID)
		return invalid("a reference is not a UID");
	plist_get_uid_val(ref, &uid);
	if (uid >= plist_array_get_size(objects))
		return invalid("a UID points outside $objects");
	if (uid != 0)
		*outp = plist_array_get_item(objects, (uint32_t)uid);
	return IB_OK;
}

/* Every integer field; a missing key reads as 0. */
static int
get_fields(plist_t d, struct ib_mbfile *f)
{
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct field *fd = &fields[i];
		void *dst = (char *)f + fd->off;
		int64_t v = 0;
		int r = ib_plist_dict_get_int(d, fd->key, &v);

		if (r != IB_OK && r != IB_ERR_PLIST_MISSING)
			return invalid("an integer field has another type");
		if ((fd->kind != F_I64 && v < 0) || (fd->kind == F_U32 && v > (int64_t)UINT32_MAX))
			return invalid("an integer field is out of range");
		if (fd->kind == F_I64)
			*(int64_t *)dst = v;
		else if (fd->kind == F_U64)
			*(uint64_t *)dst = (uint64_t)v;
		else
			*(uint32_t *)dst = (uint32_t)v;
	}
	return IB_OK;
}

static int
get_ref_string(plist_t objects, plist_t d, const char *key, char **sp)
{
	plist_t node = NULL;
	const char *s;
	int r;

	if ((r = deref(objects, d, key, &node)) != IB_OK || node == NULL)
		return r;
	if (ib_plist_get_string(node, &s) != IB_OK)
		return invalid("a string reference points at something else");
	if (strlen(s) > IB_PATH_MAX)
		return invalid("a path is longer than IB_PATH_MAX");
	if ((*sp = strdup(s)) == NULL)
		return IB_ERR_NOMEM;
	return IB_OK;
}

static int
get_key(plist_t objects, plist_t d, struct ib_mbfile *f)
{
	plist_t node = NULL;
	const uint8_t *p;
	size_t n;
	int r;

	if ((r = deref(objects, d, "EncryptionKey", &node)) != IB_OK || node == NULL)
		return r;
	if (!ib_plist_is_dict(node) || ib_plist_dict_get_data(node, "NS.data", &p, &n) != IB_OK)
		return invalid("EncryptionKey is not an NSData");
	if (n > IB_MBFILE_KEY_MAX)
		return invalid("EncryptionKey is too long");
	if ((f->encryption_key = malloc(n ? n : 1)) == NULL)
		return IB_ERR_NOMEM;
	memcpy(f->encryption_key, p, n);
	f->encryption_key_len = n;
	return IB_OK;
}

/* The archive frame: $archiver, $objects, the root object and its class. */
static int
find_root(plist_t top, plist_t *objectsp, plist_t *rootp)
{
	plist_t t = NULL, cls = NULL;
	const char *s;
	int r;

	if (ib_plist_dict_get_string(top, "$archiver", &s) != IB_OK ||
	    strcmp(s, "NSKeyedArchiver") != 0)
		return invalid("not an NSKeyedArchiver archive");
	if (ib_plist_dict_get_array(top, "$objects", objectsp) != IB_OK)
		return invalid("no $objects array");
	if (ib_plist_dict_get_dict(top, "$top", &t) != IB_OK)
		return invalid("no $top dict");
	if ((r = deref(*objectsp, t, "root", rootp)) != IB_OK)
		return r;
	if (!ib_plist_is_dict(*rootp))
		return invalid("the root object is not a dict");
	if ((r = deref(*objectsp, *rootp, "$class", &cls)) != IB_OK)
		return r;
	if (!ib_plist_is_dict(cls) || ib_plist_dict_get_string(cls, "$classname", &s) != IB_OK ||
	    strcmp(s, "MBFile") != 0)
		return invalid("the root object is not of class MBFile");
	return IB_OK;
}

int
ib_mbfile_decode(const uint8_t *blob, size_t len, struct ib_mbfile **outp)
{
	struct ib_mbfile *f = NULL;
	plist_t top = NULL, objects = NULL, root = NULL;
	int r;

	*outp = NULL;
	if (len > IB_MBFILE_MAX) {
		ib_err_detail_set("an MBFile record of %zu bytes (limit %u)", len, IB_MBFILE_MAX);
		return IB_ERR_TOO_LARGE;
	}
	if ((r = ib_plist_parse(blob, len, IB_MBFILE_MAX, &top)) != IB_OK)
		return r;
	if (!ib_plist_is_dict(top)) {
		r = invalid("not a dict");
		goto out;
	}
	if ((r = find_root(top, &objects, &root)) != IB_OK)
		goto out;
	if ((f = ib_mbfile_new()) == NULL) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	if ((r = get_fields(root, f)) != IB_OK)
		goto out;
	if ((r = get_ref_string(objects, root, "RelativePath", &f->relative_path)) != IB_OK ||
	    (r = get_ref_string(objects, root, "Target", &f->target)) != IB_OK ||
	    (r = get_key(objects, root, f)) != IB_OK)
		goto out;
	*outp = f;
	f = NULL;
	r = IB_OK;
out:
	ib_mbfile_free(f);
	plist_free(top);
	return r;
}

/* --- encoding ---------------------------------------------------------- */

static plist_t
class_dict(const char *name, const char *const *chain, size_t n)
{
	plist_t d = plist_new_dict(), a = plist_new_array();
	size_t i;

	for (i = 0; i < n; i++)
		plist_array_append_item(a, plist_new_string(chain[i]));
	plist_dict_set_item(d, "$classname", plist_new_string(name));
	plist_dict_set_item(d, "$classes", a);
	return d;
}

static plist_t
mbfile_dict(const struct ib_mbfile *f)
{
	plist_t d = plist_new_dict();
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const void *src = (const char *)f + fields[i].off;

		plist_dict_set_item(d, fields[i].key,
		    fields[i].kind == F_I64 ? ib_plist_new_int(*(const int64_t *)src) :
		    fields[i].kind == F_U64 ? plist_new_uint(*(const uint64_t *)src) :
		    plist_new_uint(*(const uint32_t *)src));
	}
	return d;
}

int
ib_mbfile_encode(const struct ib_mbfile *f, uint8_t **outp, size_t *lenp)
{
	static const char *const mbfile_chain[] = { "MBFile", "NSObject" };
	static const char *const data_chain[] = { "NSMutableData", "NSData", "NSObject" };
	plist_t top, objects, obj, t;
	uint64_t next = 2;
	int r;

	*outp = NULL;
	*lenp = 0;
	if (f == NULL || f->size > INT64_MAX || f->encryption_key_len > IB_MBFILE_KEY_MAX)
		return IB_ERR_INVALID_ARG;
	top = plist_new_dict();
	objects = plist_new_array();
	obj = mbfile_dict(f);
	plist_array_append_item(objects, plist_new_string("$null"));
	plist_array_append_item(objects, obj);
	plist_dict_set_item(obj, "RelativePath", plist_new_uid(next++));
	plist_array_append_item(objects, plist_new_string(f->relative_path ? f->relative_path : ""));
	if (f->encryption_key != NULL) {
		plist_t k = plist_new_dict();

		plist_dict_set_item(obj, "EncryptionKey", plist_new_uid(next++));
		plist_dict_set_item(k, "NS.data", plist_new_data((const char *)f->encryption_key,
		    f->encryption_key_len));
		plist_dict_set_item(k, "$class", plist_new_uid(next++));
		plist_array_append_item(objects, k);
		plist_array_append_item(objects, class_dict("NSMutableData", data_chain, 3));
	}
	if (f->target != NULL) {
		plist_dict_set_item(obj, "Target", plist_new_uid(next++));
		plist_array_append_item(objects, plist_new_string(f->target));
	}
	plist_dict_set_item(obj, "$class", plist_new_uid(next));
	plist_array_append_item(objects, class_dict("MBFile", mbfile_chain, 2));
	t = plist_new_dict();
	plist_dict_set_item(t, "root", plist_new_uid(1));
	plist_dict_set_item(top, "$version", plist_new_uint(100000));
	plist_dict_set_item(top, "$archiver", plist_new_string("NSKeyedArchiver"));
	plist_dict_set_item(top, "$top", t);
	plist_dict_set_item(top, "$objects", objects);
	r = ib_plist_to_bin(top, outp, lenp);
	plist_free(top);
	return r;
}
