/*
 * mbfile.c - MBFile NSKeyedArchiver records (mbfile.h).
 */
#include "mbfile.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_plist.h"

#include <stdlib.h>
#include <string.h>

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

static int
get_i64(plist_t d, const char *key, int64_t *vp)
{
	int r = ib_plist_dict_get_int(d, key, vp);

	if (r == IB_ERR_PLIST_MISSING) {
		*vp = 0;
		return IB_OK;
	}
	return r == IB_OK ? IB_OK : invalid("an integer field has another type");
}

static int
get_u32(plist_t d, const char *key, uint32_t *vp)
{
	int64_t v = 0;
	int r;

	if ((r = get_i64(d, key, &v)) != IB_OK)
		return r;
	if (v < 0 || v > (int64_t)UINT32_MAX)
		return invalid("a 32-bit field is out of range");
	*vp = (uint32_t)v;
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
	int64_t size = 0, inode = 0;
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
	if ((r = get_i64(root, "LastModified", &f->last_modified)) != IB_OK ||
	    (r = get_i64(root, "LastStatusChange", &f->last_status_change)) != IB_OK ||
	    (r = get_i64(root, "Birth", &f->birth)) != IB_OK ||
	    (r = get_i64(root, "Size", &size)) != IB_OK ||
	    (r = get_i64(root, "InodeNumber", &inode)) != IB_OK ||
	    (r = get_u32(root, "Mode", &f->mode)) != IB_OK ||
	    (r = get_i64(root, "UserID", &f->user_id)) != IB_OK ||
	    (r = get_i64(root, "GroupID", &f->group_id)) != IB_OK ||
	    (r = get_u32(root, "Flags", &f->flags)) != IB_OK ||
	    (r = get_u32(root, "ProtectionClass", &f->protection_class)) != IB_OK)
		goto out;
	if (size < 0) {
		r = invalid("a negative Size");
		goto out;
	}
	f->size = (uint64_t)size;
	f->inode = (uint64_t)inode;
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

	/* Key order as in a real record. */
	plist_dict_set_item(d, "LastModified", ib_plist_new_int(f->last_modified));
	plist_dict_set_item(d, "Flags", plist_new_uint(f->flags));
	plist_dict_set_item(d, "GroupID", ib_plist_new_int(f->group_id));
	plist_dict_set_item(d, "LastStatusChange", ib_plist_new_int(f->last_status_change));
	plist_dict_set_item(d, "Birth", ib_plist_new_int(f->birth));
	plist_dict_set_item(d, "Size", plist_new_uint(f->size));
	plist_dict_set_item(d, "InodeNumber", plist_new_uint(f->inode));
	plist_dict_set_item(d, "Mode", plist_new_uint(f->mode));
	plist_dict_set_item(d, "UserID", ib_plist_new_int(f->user_id));
	plist_dict_set_item(d, "ProtectionClass", plist_new_uint(f->protection_class));
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
