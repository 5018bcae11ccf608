/*
 * mbfile_test - MBFile archives: encode/decode round trips, the layout a
 * real record has, and hostile archives (UIDs out of range, wrong types,
 * self references, truncation) that must fail cleanly.
 */
#include "ib_test.h"
#include "ib_limits.h"
#include "ib_plist.h"
#include "mbfile.h"
#include "mb2_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t key44[44] = { 3, 0, 0, 0, 0xce, 0x40, 0x7b, 0x1d, 0xa3, 0x44 };

static struct ib_mbfile *
sample(int with_key, const char *target)
{
	struct ib_mbfile *f = ib_mbfile_new();

	f->last_modified = 1610659523;
	f->last_status_change = 1610659524;
	f->birth = 1610659525;
	f->size = 5000000000ull;
	f->mode = 0100644;
	f->user_id = 501;
	f->group_id = -2;       /* "nobody", as real records have */
	f->inode = 55569;
	f->flags = 0;
	f->protection_class = 3;
	f->relative_path = strdup("Media/PhotoData/momentanalysis");
	if (target != NULL) {
		f->mode = 0120755;
		f->target = strdup(target);
	}
	if (with_key) {
		f->encryption_key = malloc(sizeof(key44));
		memcpy(f->encryption_key, key44, sizeof(key44));
		f->encryption_key_len = sizeof(key44);
	}
	return f;
}

static int
same(const struct ib_mbfile *a, const struct ib_mbfile *b)
{
	return a->last_modified == b->last_modified &&
	    a->last_status_change == b->last_status_change && a->birth == b->birth &&
	    a->size == b->size && a->mode == b->mode && a->user_id == b->user_id &&
	    a->group_id == b->group_id && a->inode == b->inode && a->flags == b->flags &&
	    a->protection_class == b->protection_class &&
	    strcmp(a->relative_path, b->relative_path) == 0 &&
	    (a->target == NULL) == (b->target == NULL) &&
	    (a->target == NULL || strcmp(a->target, b->target) == 0) &&
	    a->encryption_key_len == b->encryption_key_len &&
	    (a->encryption_key == NULL) == (b->encryption_key == NULL) &&
	    (a->encryption_key == NULL ||
	    memcmp(a->encryption_key, b->encryption_key, a->encryption_key_len) == 0);
}

IB_TEST(mbfile_round_trips)
{
	struct ib_mbfile *cases[3], *back = NULL;
	uint8_t *blob = NULL;
	size_t n = 0, i;

	cases[0] = sample(1, NULL);
	cases[1] = sample(0, "/var/mobile/Containers/Data/Application/X/Library");
	cases[2] = ib_mbfile_new();
	cases[2]->relative_path = strdup("");
	cases[2]->mode = 040755;
	cases[2]->last_modified = -5;   /* before 1970: signed on the wire */
	for (i = 0; i < 3; i++) {
		IB_CHECK_OK(ib_mbfile_encode(cases[i], &blob, &n));
		IB_CHECK(n > 100 && n < 1024);
		IB_CHECK_OK(ib_mbfile_decode(blob, n, &back));
		IB_CHECK(same(cases[i], back));
		ib_mbfile_free(back);
		back = NULL;
		free(blob);
		blob = NULL;
	}
	for (i = 0; i < 3; i++)
		ib_mbfile_free(cases[i]);
	ib_mbfile_free(NULL);
}

/* The layout an independent reader sees (Python's plistlib, if present). */
IB_TEST(mbfile_layout_matches_real_records)
{
	struct ib_mbfile *f = sample(1, NULL);
	uint8_t *blob = NULL;
	size_t n = 0;
	plist_t top = NULL, objects, root, t;
	const char *s;
	uint64_t uid = 0, v = 0;

	IB_CHECK_OK(ib_mbfile_encode(f, &blob, &n));
	IB_CHECK_OK(ib_plist_parse_dict(blob, n, IB_MBFILE_MAX, &top));
	IB_CHECK_OK(ib_plist_dict_get_string(top, "$archiver", &s));
	IB_CHECK_STR(s, "NSKeyedArchiver");
	IB_CHECK_OK(ib_plist_dict_get_uint(top, "$version", &v));
	IB_CHECK_EQ(v, 100000);
	IB_CHECK_OK(ib_plist_dict_get_dict(top, "$top", &t));
	plist_get_uid_val(plist_dict_get_item(t, "root"), &uid);
	IB_CHECK_EQ(uid, 1);
	IB_CHECK_OK(ib_plist_dict_get_array(top, "$objects", &objects));
	IB_CHECK_OK(ib_plist_array_get_string(objects, 0, &s));
	IB_CHECK_STR(s, "$null");
	IB_CHECK_OK(ib_plist_array_get_dict(objects, 1, &root));
	IB_CHECK_EQ(plist_get_node_type(plist_dict_get_item(root, "RelativePath")), PLIST_UID);
	IB_CHECK_OK(ib_plist_array_get_string(objects, 2, &s));
	IB_CHECK_STR(s, "Media/PhotoData/momentanalysis");
	plist_free(top);

	IB_CHECK(tu_plistlib_check(blob, n, "v[\"$top\"][\"root\"]==plistlib.UID(1) and "
	    "v[\"$objects\"][1][\"Mode\"]==0o100644 and v[\"$objects\"][1][\"Size\"]==5000000000 and "
	    "v[\"$objects\"][1][\"GroupID\"]==-2 and "
	    "v[\"$objects\"][v[\"$objects\"][1][\"RelativePath\"].data]==\"Media/PhotoData/momentanalysis\" and "
	    "len(v[\"$objects\"][v[\"$objects\"][1][\"EncryptionKey\"].data][\"NS.data\"])==44 and "
	    "v[\"$objects\"][v[\"$objects\"][1][\"$class\"].data][\"$classname\"]==\"MBFile\"") != 1);
	free(blob);
	ib_mbfile_free(f);
}

/* A valid archive as a plist we can then damage. */
static plist_t
archive(void)
{
	struct ib_mbfile *f = sample(1, NULL);
	uint8_t *blob = NULL;
	size_t n = 0;
	plist_t top = NULL;

	if (ib_mbfile_encode(f, &blob, &n) == IB_OK)
		ib_plist_parse_dict(blob, n, IB_MBFILE_MAX, &top);
	free(blob);
	ib_mbfile_free(f);
	return top;
}

static int
decode_plist(plist_t top)
{
	struct ib_mbfile *f = NULL;
	uint8_t *blob = NULL;
	size_t n = 0;
	int r;

	if ((r = ib_plist_to_bin(top, &blob, &n)) != IB_OK)
		return r;
	r = ib_mbfile_decode(blob, n, &f);
	if ((r == IB_OK) != (f != NULL))
		r = IB_ERR_INTERNAL;
	ib_mbfile_free(f);
	free(blob);
	plist_free(top);
	return r;
}

static plist_t
root_of(plist_t top)
{
	return plist_array_get_item(plist_dict_get_item(top, "$objects"), 1);
}

IB_TEST(mbfile_hostile_archives)
{
	plist_t t;

	IB_CHECK_OK(decode_plist(archive()));
	/* References outside $objects. */
	t = archive();
	plist_dict_set_item(root_of(t), "RelativePath", plist_new_uid(99));
	IB_CHECK_ERR(decode_plist(t), IB_ERR_BACKUP_INVALID);
	t = archive();
	plist_dict_set_item(root_of(t), "$class", plist_new_uid(1000000));
	IB_CHECK_ERR(decode_plist(t), IB_ERR_BACKUP_INVALID);
	t = archive();
	plist_dict_set_item(plist_dict_get_item(t, "$top"), "root", plist_new_uid(4000000000u));
	IB_CHECK_ERR(decode_plist(t), IB_ERR_BACKUP_INVALID);
	t = archive();
	plist_dict_set_item(root_of(t), "EncryptionKey", plist_new_uid(7));
	IB_CHECK_ERR(decode_plist(t), IB_ERR_BACKUP_INVALID);
	/* Self references (cycles) and wrong targets. */
	t = archive();
	plist_dict_set_item(root_of(t), "RelativePath", plist_new_uid(1));
	IB_CHECK_ERR(decode_plist(t), IB_ERR_BACKUP_INVALID);
	t = archive();
	plist_dict_set_item(root_of(t), "$class", plist_new_uid(1));
	IB_CHECK_ERR(decode_plist(t), IB_ERR_BACKUP_INVALID);
	t = archive();
	plist_dict_set_item(root_of(t), "EncryptionKey", plist_new_uid(1));
	IB_CHECK_ERR(decode_plist(t), IB_ERR_BACKUP_INVALID);
	t = archive();
	plist_dict_set_item(root_of(t), "$class", plist_new_uid(2));   /* a string */
	IB_CHECK_ERR(decode_plist(t), IB_ERR_BACKUP_INVALID);
	/* Wrong types. */
	t = archive();
	plist_dict_set_item(root_of(t), "Mode", plist_new_string("0644"));
	IB_CHECK_ERR(decode_plist(t), IB_ERR_BACKUP_INVALID);
	t = archive();
	plist_dict_set_item(root_of(t), "RelativePath", plist_new_string("inline"));
	IB_CHECK_ERR(decode_plist(t), IB_ERR_BACKUP_INVALID);
	t = archive();
	plist_dict_set_item(root_of(t), "Size", ib_plist_new_int(-1));
	IB_CHECK_ERR(decode_plist(t), IB_ERR_BACKUP_INVALID);
	t = archive();
	plist_dict_set_item(root_of(t), "Mode", plist_new_uint(1ull << 40));
	IB_CHECK_ERR(decode_plist(t), IB_ERR_BACKUP_INVALID);
	t = archive();
	plist_dict_set_item(t, "$objects", plist_new_dict());
	IB_CHECK_ERR(decode_plist(t), IB_ERR_BACKUP_INVALID);
	t = archive();
	plist_dict_set_item(t, "$archiver", plist_new_string("NSArchiver"));
	IB_CHECK_ERR(decode_plist(t), IB_ERR_BACKUP_INVALID);
	t = archive();
	plist_dict_remove_item(t, "$top");
	IB_CHECK_ERR(decode_plist(t), IB_ERR_BACKUP_INVALID);
	t = archive();
	plist_dict_set_item(plist_dict_get_item(t, "$top"), "root", plist_new_uid(2));
	IB_CHECK_ERR(decode_plist(t), IB_ERR_BACKUP_INVALID);
	t = archive();
	plist_dict_set_item(plist_dict_get_item(t, "$top"), "root", plist_new_uint(1));
	IB_CHECK_ERR(decode_plist(t), IB_ERR_BACKUP_INVALID);
	/* A $null RelativePath is simply absent. */
	t = archive();
	plist_dict_set_item(root_of(t), "RelativePath", plist_new_uid(0));
	IB_CHECK_OK(decode_plist(t));
	/* Not a dict at all. */
	IB_CHECK_ERR(decode_plist(plist_new_array()), IB_ERR_BACKUP_INVALID);
}

IB_TEST(mbfile_truncations_and_size_cap)
{
	struct ib_mbfile *f = sample(1, "/x"), *back = NULL;
	uint8_t *blob = NULL, *big;
	size_t n = 0, cut;

	IB_CHECK_OK(ib_mbfile_encode(f, &blob, &n));
	for (cut = 0; cut < n; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);

		memcpy(copy, blob, cut);
		IB_CHECK(ib_mbfile_decode(copy, cut, &back) != IB_OK);
		IB_CHECK(back == NULL);
		free(copy);
	}
	big = calloc(1, IB_MBFILE_MAX + 1);
	IB_CHECK_ERR(ib_mbfile_decode(big, IB_MBFILE_MAX + 1, &back), IB_ERR_TOO_LARGE);
	IB_CHECK(ib_mbfile_decode(big, 64, &back) != IB_OK);
	free(big);
	free(blob);
	ib_mbfile_free(f);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
