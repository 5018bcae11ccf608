/*
 * backup_dir_test - the backup folder model: Info/Status/Manifest.plist,
 * backup states (complete, interrupted, in progress) and the Latest
 * Backups scan, and `extract` with hostile Manifest.db rows.
 */
#include "ib_test.h"
#include "backup_dir.h"
#include "ib_limits.h"
#include "ib_plist.h"
#include "ib_util.h"
#include "manifest_db.h"
#include "mbfile.h"
#include "mb2_test_util.h"

#include <ctype.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[64];

static void
tmp_setup(void)
{
	tu_mkdtemp(base, sizeof(base), "bdir");
}

#define tmp_teardown() tu_rmrf(base)
#define pathf(out, n, rel) tu_path((out), (n), base, (rel))
#define put(rel, data, len) tu_put(base, (rel), (data), (len))
#define exists(rel) tu_exists(base, (rel))
#define content_is(rel, want) tu_content_is(base, (rel), (want))

IB_TEST(info_plist_has_the_keys)
{
	static const char *const keys[] = {
		"Applications", "Build Version", "Device Name", "Display Name", "GUID", "ICCID",
		"IMEI", "Installed Applications", "Last Backup Date", "Product Type",
		"Product Version", "Serial Number", "Target Identifier", "Target Type",
		"Unique Identifier", "iTunes Files", "iTunes Settings", "iTunes Version",
		"iBooks Data 2",
	};
	struct ib_info_plist info;
	plist_t apps = plist_new_dict(), app = plist_new_dict(), d = NULL, a;
	uint8_t *data = NULL;
	size_t n = 0, i;
	const char *s;
	char p[256];
	struct stat st;
	int64_t t;

	plist_dict_set_item(app, "ApplicationSINF", plist_new_data("sinf", 4));
	plist_dict_set_item(app, "iTunesMetadata", plist_new_data("meta", 4));
	plist_dict_set_item(apps, "com.example.app", app);
	info = (struct ib_info_plist){ .udid = "00008020-001d2cd90128002e",
	    .device_name = "Test iPhone", .build_version = "18C66", .product_type = "iPhone9,3",
	    .product_version = "14.3", .serial_number = "F00SERIAL", .iccid = "8901",
	    .imei = "3556", .last_backup_date = 1700000000, .applications = apps,
	    .ibooks_data = (const uint8_t *)"books", .ibooks_len = 5 };

	tmp_setup();
	IB_CHECK_OK(ib_info_plist_write(base, &info));
	pathf(p, sizeof(p), "Info.plist");
	IB_CHECK_EQ(stat(p, &st), 0);
	IB_CHECK_EQ(st.st_mode & 0777, 0600);
	IB_CHECK_OK(ib_file_read(p, IB_PLIST_MSG_MAX, &data, &n));
	IB_CHECK(n > 6 && memcmp(data, "<?xml", 5) == 0);
	IB_CHECK_OK(ib_plist_parse_dict(data, n, IB_PLIST_MSG_MAX, &d));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (plist_dict_get_item(d, keys[i]) == NULL)
			fprintf(stderr, "    missing key %s\n", keys[i]);
		IB_CHECK(plist_dict_get_item(d, keys[i]) != NULL);
	}
	IB_CHECK(plist_dict_get_item(d, "MEID") == NULL);       /* NULL: left out */
	IB_CHECK_OK(ib_plist_dict_get_string(d, "Unique Identifier", &s));
	IB_CHECK_STR(s, "00008020-001D2CD90128002E");
	IB_CHECK_OK(ib_plist_dict_get_string(d, "Target Identifier", &s));
	IB_CHECK_STR(s, "00008020-001d2cd90128002e");
	IB_CHECK_OK(ib_plist_dict_get_string(d, "Target Type", &s));
	IB_CHECK_STR(s, "Device");
	IB_CHECK_OK(ib_plist_dict_get_string(d, "Display Name", &s));
	IB_CHECK_STR(s, "Test iPhone");
	IB_CHECK_OK(ib_plist_dict_get_string(d, "iTunes Version", &s));
	IB_CHECK_STR(s, "10.0.1");
	IB_CHECK_OK(ib_plist_dict_get_string(d, "GUID", &s));
	IB_CHECK_EQ(strlen(s), 32);
	for (i = 0; i < 32; i++)
		IB_CHECK(isxdigit((unsigned char)s[i]) && !islower((unsigned char)s[i]));
	IB_CHECK_OK(ib_plist_dict_get_date_unix(d, "Last Backup Date", &t));
	IB_CHECK_EQ(t, 1700000000);
	IB_CHECK_OK(ib_plist_dict_get_array(d, "Installed Applications", &a));
	IB_CHECK_OK(ib_plist_array_get_string(a, 0, &s));
	IB_CHECK_STR(s, "com.example.app");
	IB_CHECK_OK(ib_plist_dict_get_dict(d, "Applications", &a));
	IB_CHECK(plist_dict_get_item(a, "com.example.app") != NULL);
	plist_free(d);
	free(data);
	plist_free(apps);
	info.udid = NULL;
	IB_CHECK_ERR(ib_info_plist_build(&info, &d), IB_ERR_INVALID_ARG);
	tmp_teardown();
}

IB_TEST(status_plist_round_trip_and_types)
{
	struct ib_status_plist st, back;
	uint8_t *bin = NULL;
	size_t n = 0;
	plist_t d;
	char p[256], longs[64];

	st = (struct ib_status_plist){ .backup_state = "new", .snapshot_state = "finished",
	    .uuid = "0A1B2C3D-0000-4000-8000-000000000001", .version = "3.3", .date = 1700000123,
	    .is_full_backup = 1 };
	IB_CHECK_OK(ib_status_plist_build(&st, &bin, &n));
	IB_CHECK(n > 8 && memcmp(bin, "bplist00", 8) == 0);
	IB_CHECK_OK(ib_status_plist_parse(bin, n, &back));
	free(bin);
	IB_CHECK_STR(back.backup_state, "new");
	IB_CHECK_STR(back.snapshot_state, "finished");
	IB_CHECK_STR(back.uuid, st.uuid);
	IB_CHECK_STR(back.version, "3.3");
	IB_CHECK_EQ(back.date, st.date);
	IB_CHECK_EQ(back.is_full_backup, 1);
	tmp_setup();
	pathf(p, sizeof(p), "Status.plist");
	IB_CHECK_OK(ib_status_plist_write(p, &st));
	IB_CHECK_OK(ib_status_plist_read(p, &back));
	IB_CHECK_STR(back.snapshot_state, "finished");
	tmp_teardown();

	d = plist_new_dict();
	plist_dict_set_item(d, "SnapshotState", plist_new_uint(1));
	IB_CHECK_OK(ib_plist_to_bin(d, &bin, &n));
	IB_CHECK_ERR(ib_status_plist_parse(bin, n, &back), IB_ERR_BACKUP_INVALID);
	free(bin);
	memset(longs, 'x', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	plist_dict_set_item(d, "SnapshotState", plist_new_string(longs));
	IB_CHECK_OK(ib_plist_to_bin(d, &bin, &n));
	IB_CHECK_ERR(ib_status_plist_parse(bin, n, &back), IB_ERR_BACKUP_INVALID);
	free(bin);
	plist_dict_set_item(d, "SnapshotState", plist_new_string("uploading"));
	plist_dict_set_item(d, "Date", plist_new_string("today"));
	IB_CHECK_OK(ib_plist_to_bin(d, &bin, &n));
	IB_CHECK_ERR(ib_status_plist_parse(bin, n, &back), IB_ERR_BACKUP_INVALID);
	free(bin);
	plist_free(d);
	IB_CHECK_ERR(ib_status_plist_parse((const uint8_t *)"garbage!", 8, &back), IB_ERR_BACKUP_INVALID);
	IB_CHECK_ERR(ib_status_plist_parse((const uint8_t *)"", 0, &back), IB_ERR_BACKUP_INVALID);
}

static struct ib_manifest_plist *
manifest_sample(int encrypted)
{
	struct ib_manifest_plist *m = calloc(1, sizeof(*m));

	m->is_encrypted = encrypted;
	m->was_passcode_set = 1;
	m->device_name = strdup("Test iPhone");
	m->product_type = strdup("iPhone14,2");
	m->product_version = strdup("17.5");
	m->serial_number = strdup("SERIAL1");
	m->version = strdup("10.0");
	m->date = 1700000500;
	if (encrypted) {
		m->backup_keybag = malloc(8);
		memcpy(m->backup_keybag, "VERS\0\0\0\4", 8);
		m->backup_keybag_len = 8;
	}
	return m;
}

IB_TEST(manifest_plist_round_trip_and_types)
{
	struct ib_manifest_plist *m = manifest_sample(1), *back = NULL;
	uint8_t *bin = NULL;
	size_t n = 0;
	plist_t d;

	IB_CHECK_OK(ib_manifest_plist_build(m, &bin, &n));
	IB_CHECK_OK(ib_manifest_plist_parse(bin, n, &back));
	IB_CHECK(back->is_encrypted && back->was_passcode_set);
	IB_CHECK_STR(back->device_name, "Test iPhone");
	IB_CHECK_STR(back->product_type, "iPhone14,2");
	IB_CHECK_STR(back->product_version, "17.5");
	IB_CHECK_STR(back->serial_number, "SERIAL1");
	IB_CHECK_STR(back->version, "10.0");
	IB_CHECK_EQ(back->date, 1700000500);
	IB_CHECK_EQ(back->backup_keybag_len, 8);
	IB_CHECK(back->manifest_key == NULL);
	IB_CHECK(ib_plist_is_dict(back->applications));
	ib_manifest_plist_free(back);
	back = NULL;
	free(bin);
	ib_manifest_plist_free(m);

	d = plist_new_dict();
	plist_dict_set_item(d, "IsEncrypted", plist_new_string("yes"));
	IB_CHECK_OK(ib_plist_to_bin(d, &bin, &n));
	IB_CHECK_ERR(ib_manifest_plist_parse(bin, n, &back), IB_ERR_BACKUP_INVALID);
	IB_CHECK(back == NULL);
	free(bin);
	plist_dict_set_item(d, "IsEncrypted", plist_new_bool(0));
	plist_dict_set_item(d, "Lockdown", plist_new_array());
	IB_CHECK_OK(ib_plist_to_bin(d, &bin, &n));
	IB_CHECK_ERR(ib_manifest_plist_parse(bin, n, &back), IB_ERR_BACKUP_INVALID);
	free(bin);
	plist_dict_set_item(d, "Lockdown", plist_new_dict());
	plist_dict_set_item(d, "BackupKeyBag", plist_new_string("nope"));
	IB_CHECK_OK(ib_plist_to_bin(d, &bin, &n));
	IB_CHECK_ERR(ib_manifest_plist_parse(bin, n, &back), IB_ERR_BACKUP_INVALID);
	free(bin);
	plist_free(d);
}

/* A backup folder <base>/root/<udid> in the given shape. */
static void
make_backup(const char *udid, const char *snapshot_state, int64_t date, int with_db,
    int with_snapshot, int encrypted)
{
	struct ib_status_plist st;
	struct ib_manifest_plist *m = manifest_sample(encrypted);
	uint8_t *bin = NULL;
	size_t n = 0;
	char rel[256];

	memset(&st, 0, sizeof(st));
	if (snapshot_state != NULL) {
		snprintf(st.snapshot_state, sizeof(st.snapshot_state), "%s", snapshot_state);
		snprintf(st.version, sizeof(st.version), "3.3");
		st.date = date;
		IB_CHECK_OK(ib_status_plist_build(&st, &bin, &n));
		snprintf(rel, sizeof(rel), "root/%s/Status.plist", udid);
		IB_CHECK_OK(put(rel, bin, n));
		free(bin);
	}
	m->date = date - 10;
	IB_CHECK_OK(ib_manifest_plist_build(m, &bin, &n));
	snprintf(rel, sizeof(rel), "root/%s/Manifest.plist", udid);
	IB_CHECK_OK(put(rel, bin, n));
	free(bin);
	ib_manifest_plist_free(m);
	snprintf(rel, sizeof(rel), "root/%s/Manifest.db", udid);
	IB_CHECK_OK(put(rel, "SQLite format 3", with_db ? 15 : 0));
	snprintf(rel, sizeof(rel), "root/%s/3d/3d0d7e5fb2ce288813306e4d4636395e047a3d28", udid);
	IB_CHECK_OK(put(rel, "0123456789", 10));
	snprintf(rel, sizeof(rel), "root/%s/ab/ab00000000000000000000000000000000000000", udid);
	IB_CHECK_OK(put(rel, "abcde", 5));
	if (with_snapshot) {
		snprintf(rel, sizeof(rel), "root/%s/Snapshot/Status.plist", udid);
		IB_CHECK_OK(put(rel, "x", 1));
	}
}

static const struct ib_backup_summary *
find(const struct ib_backup_summary *list, size_t n, const char *udid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i].udid, udid) == 0)
			return &list[i];
	return NULL;
}

IB_TEST(backup_states_and_latest_backups)
{
	struct ib_backup_summary *list = NULL, one;
	const struct ib_backup_summary *s;
	struct ib_backup_lock *lock = NULL, *lock2 = NULL;
	char root[128], cmd[512];
	size_t n = 0;

	tmp_setup();
	make_backup("COMPLETE", "finished", 1700000000, 1, 0, 0);
	make_backup("NEWER", "finished", 1700009999, 1, 0, 1);
	make_backup("UPLOADING", "uploading", 1700000100, 1, 1, 0);
	make_backup("LEFTOVER", "finished", 1700000200, 1, 1, 0);
	make_backup("EMPTYDB", "finished", 1700000300, 0, 0, 0);
	make_backup("NOSTATUS", NULL, 0, 1, 0, 0);
	make_backup("RUNNING", "uploading", 1700000400, 1, 1, 0);
	IB_CHECK_OK(put("root/NOTABACKUP/readme.txt", "hi", 2));
	{
		static const char info[] = "<plist><dict><key>Device Name</key><string>Old Pad</string>"
		    "<key>Product Type</key><string>iPad7,5</string></dict></plist>";

		IB_CHECK_OK(put("root/INFOONLY/Info.plist", info, strlen(info)));
	}
	snprintf(root, sizeof(root), "%s/root", base);
	snprintf(cmd, sizeof(cmd), "ln -s '%s/COMPLETE' '%s/LINKED'", root, root);
	IB_CHECK_EQ(system(cmd), 0);

	IB_CHECK_OK(ib_backup_lock_acquire(root, "RUNNING", &lock));
	IB_CHECK_ERR(ib_backup_lock_acquire(root, "RUNNING", &lock2), IB_ERR_BUSY);
	IB_CHECK_OK(ib_backup_lock_acquire(root, "FRESH", &lock2));   /* no folder yet */
	{
		struct ib_backup_lock *bad = NULL;

		IB_CHECK_ERR(ib_backup_lock_acquire(root, "../evil", &bad), IB_ERR_INVALID_ARG);
		IB_CHECK(bad == NULL);
	}

	IB_CHECK_OK(ib_backup_scan(root, &list, &n));
	IB_CHECK_EQ(n, 9);
	IB_CHECK(find(list, n, "NOTABACKUP") == NULL);
	IB_CHECK(find(list, n, "LINKED") == NULL);
	IB_CHECK_STR(list[0].udid, "NEWER");    /* newest first */

	IB_CHECK((s = find(list, n, "COMPLETE")) != NULL);
	IB_CHECK_EQ(s->state, IB_BACKUP_COMPLETE);
	IB_CHECK(s->why == NULL);
	IB_CHECK_EQ(s->date, 1700000000);
	IB_CHECK_EQ(s->size, 15);
	IB_CHECK_EQ(s->files, 2);
	IB_CHECK_STR(s->device_name, "Test iPhone");
	IB_CHECK_STR(s->product_type, "iPhone14,2");
	IB_CHECK_STR(s->product_version, "17.5");
	IB_CHECK(!s->encrypted);
	IB_CHECK((s = find(list, n, "NEWER")) != NULL);
	IB_CHECK(s->encrypted);
	IB_CHECK_EQ(s->state, IB_BACKUP_COMPLETE);

	IB_CHECK((s = find(list, n, "UPLOADING")) != NULL);
	IB_CHECK_EQ(s->state, IB_BACKUP_INTERRUPTED);
	IB_CHECK(strstr(s->why, "SnapshotState") != NULL);
	IB_CHECK_EQ(s->date, 1700000090);       /* the previous complete run */
	IB_CHECK((s = find(list, n, "LEFTOVER")) != NULL);
	IB_CHECK_EQ(s->state, IB_BACKUP_INTERRUPTED);
	IB_CHECK(strstr(s->why, "Snapshot") != NULL);
	IB_CHECK((s = find(list, n, "EMPTYDB")) != NULL);
	IB_CHECK_EQ(s->state, IB_BACKUP_INTERRUPTED);
	IB_CHECK(strstr(s->why, "Manifest.db") != NULL);
	IB_CHECK((s = find(list, n, "NOSTATUS")) != NULL);
	IB_CHECK_EQ(s->state, IB_BACKUP_INTERRUPTED);
	IB_CHECK(strstr(s->why, "Status.plist is missing") != NULL);
	IB_CHECK((s = find(list, n, "INFOONLY")) != NULL);
	IB_CHECK_EQ(s->state, IB_BACKUP_INTERRUPTED);
	IB_CHECK_STR(s->device_name, "Old Pad");
	IB_CHECK_STR(s->product_type, "iPad7,5");

	IB_CHECK((s = find(list, n, "RUNNING")) != NULL);
	IB_CHECK_EQ(s->state, IB_BACKUP_IN_PROGRESS);
	IB_CHECK((s = find(list, n, "FRESH")) != NULL);
	IB_CHECK_EQ(s->state, IB_BACKUP_IN_PROGRESS);
	ib_backup_summaries_free(list, n);
	list = NULL;

	/* Released: the same folder reads as interrupted. */
	ib_backup_lock_release(lock);
	ib_backup_lock_release(lock2);
	IB_CHECK(!ib_backup_lock_held(root, "RUNNING"));
	IB_CHECK_OK(ib_backup_inspect(root, "RUNNING", &one));
	IB_CHECK_EQ(one.state, IB_BACKUP_INTERRUPTED);
	ib_backup_summary_clear(&one);
	IB_CHECK_ERR(ib_backup_inspect(root, "FRESH", &one), IB_ERR_BACKUP_NOT_FOUND);
	IB_CHECK_ERR(ib_backup_inspect(root, "..", &one), IB_ERR_INVALID_ARG);
	tmp_teardown();
}

/* --- extract ------------------------------------------------------------ */

struct xrow {
	const char *domain, *path;
	int flags;
	const char *content;            /* payload; NULL = none written */
};

static void
build_backup(const struct xrow *rows, size_t n, int encrypted)
{
	struct ib_manifest_writer *w = NULL;
	struct ib_manifest_plist *m = manifest_sample(encrypted);
	uint8_t *bin = NULL;
	size_t bn = 0, i;
	char dbp[256], rel[512], id[41];

	IB_CHECK_OK(ib_manifest_plist_build(m, &bin, &bn));
	IB_CHECK_OK(put("root/U/Manifest.plist", bin, bn));
	free(bin);
	ib_manifest_plist_free(m);
	pathf(dbp, sizeof(dbp), "root/U/Manifest.db");
	IB_CHECK_OK(ib_manifest_writer_create(dbp, &w));
	for (i = 0; i < n; i++) {
		struct ib_mbfile *f = ib_mbfile_new();

		f->relative_path = strdup(rows[i].path);
		f->mode = rows[i].flags == 2 ? 040750 : rows[i].flags == 4 ? 0120755 : 0100640;
		f->last_modified = 1500000000 + (int64_t)i;
		f->size = rows[i].content != NULL ? strlen(rows[i].content) : 0;
		if (rows[i].flags == 4)
			f->target = strdup("/etc/passwd");
		IB_CHECK_OK(ib_mbfile_encode(f, &bin, &bn));
		ib_mbfile_free(f);
		IB_CHECK_OK(ib_manifest_file_id(rows[i].domain, rows[i].path, id));
		IB_CHECK_OK(ib_manifest_writer_add(w, rows[i].domain, rows[i].path,
		    rows[i].flags, bin, bn));
		free(bin);
		if (rows[i].content != NULL) {
			snprintf(rel, sizeof(rel), "root/U/%.2s/%s", id, id);
			IB_CHECK_OK(put(rel, rows[i].content, strlen(rows[i].content)));
		}
	}
	IB_CHECK_OK(ib_manifest_writer_finish(w));
}

/* Give the row (domain, path) a hand-made fileID. */
static void
patch_id(const char *domain, const char *path, const char *id)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char p[256];

	pathf(p, sizeof(p), "root/U/Manifest.db");
	IB_CHECK_EQ(sqlite3_open(p, &db), SQLITE_OK);
	IB_CHECK_EQ(sqlite3_prepare_v2(db, "UPDATE Files SET fileID = ?1 WHERE domain = ?2 AND "
	    "relativePath = ?3", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, path, -1, SQLITE_STATIC);
	IB_CHECK_EQ(sqlite3_step(st), SQLITE_DONE);
	IB_CHECK_EQ(sqlite3_changes(db), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* A backup <base>/root/U from rows; root and out paths for extract. */
static void
fixture(const struct xrow *rows, size_t n, int encrypted, char *root, char *out)
{
	tmp_setup();
	build_backup(rows, n, encrypted);
	snprintf(root, 128, "%s/root", base);
	snprintf(out, 128, "%s/out", base);
}

static const struct xrow extract_rows[] = {
	{ "HomeDomain", "", 2, NULL },
	{ "HomeDomain", "Library", 2, NULL },
	{ "HomeDomain", "Library/SMS", 2, NULL },
	{ "HomeDomain", "Library/SMS/sms.db", 1, "sms database" },
	{ "HomeDomain", "Library/Notes/notes.sqlite", 1, "notes" },
	{ "MediaDomain", "Media/DCIM/IMG_0001.JPG", 1, "jpeg bytes" },
	{ "HomeDomain", "Library/link", 4, NULL },
	{ "HomeDomain", "Library/missing.db", 1, NULL },
	{ "HomeDomain", "Library/wrongsize", 1, "abc" },
	/* hostile */
	{ "../evil", "x", 1, "evil1" },
	{ "Home/Domain", "x", 1, "evil2" },
	{ "..", "x", 1, "evil3" },
	{ "HomeDomain", "../../../outside/evil4", 1, "evil4" },
	{ "HomeDomain", "/abs/evil5", 1, "evil5" },
	{ "HomeDomain", "a//evil6", 1, "evil6" },
	{ "HomeDomain", "Library/../../evil7", 1, "evil7" },
	{ "EvilDomain", "", 1, "evil8" },
	{ "HomeDomain", "Library/badid", 1, "evil9" },
	{ "HomeDomain", "Library/upperid", 1, "evil10" },
	{ "HomeDomain", "planted/through", 1, "evil11" },
};

IB_TEST(extract_confined_with_hostile_rows)
{
	struct ib_extract_stats st;
	char root[128], out[128], p[512], cmd[512];
	struct stat sb;
	int r;

	fixture(extract_rows, sizeof(extract_rows) / sizeof(extract_rows[0]), 0, root, out);
	patch_id("HomeDomain", "Library/badid", "../../../../outside/id");
	patch_id("HomeDomain", "Library/upperid", "AB00000000000000000000000000000000000000");
	/* The wrong size: payload longer than the MBFile says. */
	{
		char id[41], rel[256];

		IB_CHECK_OK(ib_manifest_file_id("HomeDomain", "Library/wrongsize", id));
		snprintf(rel, sizeof(rel), "root/U/%.2s/%s", id, id);
		IB_CHECK_OK(put(rel, "abcdef", 6));
	}
	IB_CHECK_OK(put("outside/.keep", "", 0));
	/* A symlink already inside OUTDIR must not be written through. */
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/HomeDomain' && ln -s '%s/outside' '%s/HomeDomain/planted'",
	    out, base, out);
	IB_CHECK_EQ(system(cmd), 0);

	r = ib_backup_extract(root, "U", out, NULL, &st);
	IB_CHECK_EQ(r, IB_ERR_BACKUP_IO);       /* the planted link failed */
	IB_CHECK_EQ(st.files, 4);
	IB_CHECK_EQ(st.dirs, 3);
	IB_CHECK_EQ(st.links_skipped, 1);
	IB_CHECK_EQ(st.missing, 1);
	IB_CHECK_EQ(st.size_mismatch, 1);
	IB_CHECK_EQ(st.unsafe_skipped, 10);
	IB_CHECK_EQ(st.errors, 1);
	IB_CHECK_EQ(st.bytes, 12 + 5 + 10 + 6);

	IB_CHECK(content_is("out/HomeDomain/Library/SMS/sms.db", "sms database"));
	IB_CHECK(content_is("out/HomeDomain/Library/Notes/notes.sqlite", "notes"));
	IB_CHECK(content_is("out/MediaDomain/Media/DCIM/IMG_0001.JPG", "jpeg bytes"));
	IB_CHECK(!exists("out/HomeDomain/Library/link"));
	IB_CHECK(!exists("out/HomeDomain/Library/missing.db"));
	/* Mode and mtime from the MBFile. */
	pathf(p, sizeof(p), "out/HomeDomain/Library/SMS/sms.db");
	IB_CHECK_EQ(stat(p, &sb), 0);
	IB_CHECK_EQ(sb.st_mode & 0777, 0640);
	IB_CHECK_EQ(sb.st_mtime, 1500000003);
	pathf(p, sizeof(p), "out/HomeDomain/Library/SMS");
	IB_CHECK_EQ(stat(p, &sb), 0);
	IB_CHECK_EQ(sb.st_mode & 0777, 0750);
	IB_CHECK_EQ(sb.st_mtime, 1500000002);
	/* Nothing escaped. */
	IB_CHECK(!exists("evil") && !exists("out/../evil") && !exists("x"));
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s/outside' | grep -v '^.keep$')\"", base);
	IB_CHECK_EQ(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "test -z \"$(find '%s' -path '%s/out' -prune -o -path '%s/root' "
	    "-prune -o -name 'evil*' -print)\"", base, base, base);
	IB_CHECK_EQ(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "! grep -rq evil '%s/out'", base);
	IB_CHECK_EQ(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "test -z \"$(find '%s/out' -type l ! -name planted)\"", base);
	IB_CHECK_EQ(system(cmd), 0);
	tmp_teardown();
}

IB_TEST(extract_filters_and_unsafe_result)
{
	static const struct xrow rows[] = {
		{ "HomeDomain", "Library/SMS/sms.db", 1, "sms" },
		{ "HomeDomain", "Library/Notes/n.db", 1, "notes" },
		{ "MediaDomain", "Library/SMS/photo", 1, "photo" },
		{ "HomeDomain", "../x", 1, "bad" },
	};
	struct ib_extract_opts o;
	struct ib_extract_stats st;
	char root[128], out[128];

	fixture(rows, 4, 0, root, out);
	memset(&o, 0, sizeof(o));
	o.domain = "HomeDomain";
	o.path_glob = "Library/SMS/*";
	IB_CHECK_OK(ib_backup_extract(root, "U", out, &o, &st));
	IB_CHECK_EQ(st.files, 1);
	IB_CHECK(content_is("out/HomeDomain/Library/SMS/sms.db", "sms"));
	IB_CHECK(!exists("out/HomeDomain/Library/Notes"));
	IB_CHECK(!exists("out/MediaDomain"));
	o.domain = NULL;
	o.path_glob = NULL;
	IB_CHECK_ERR(ib_backup_extract(root, "U", out, &o, &st), IB_ERR_UNSAFE_PATH);
	IB_CHECK_EQ(st.files, 3);
	IB_CHECK_EQ(st.unsafe_skipped, 1);
	IB_CHECK_ERR(ib_backup_extract(root, "../U", out, &o, &st), IB_ERR_INVALID_ARG);
	IB_CHECK_ERR(ib_backup_extract(root, "NONE", out, &o, &st), IB_ERR_BACKUP_NOT_FOUND);
	IB_CHECK_OK(put("root/NODB/Status.plist", "x", 1));
	IB_CHECK_ERR(ib_backup_extract(root, "NODB", out, &o, &st), IB_ERR_BACKUP_INCOMPLETE);
	IB_CHECK_OK(put("root/BADDB/Manifest.db", "not sqlite at all, just bytes", 29));
	IB_CHECK_ERR(ib_backup_extract(root, "BADDB", out, &o, &st), IB_ERR_SQLITE);
	tmp_teardown();
}

IB_TEST(extract_entry_path_rules)
{
	static const char id[] = "3d0d7e5fb2ce288813306e4d4636395e047a3d28";
	static const struct {
		const char *domain, *path, *id;
		int flags;
		const char *want;       /* NULL = refused */
	} cases[] = {
		{ "HomeDomain", "Library/SMS/sms.db", id, 1, "HomeDomain/Library/SMS/sms.db" },
		{ "HomeDomain", "", id, 2, "HomeDomain" },
		{ "HomeDomain", "", id, 1, NULL },
		{ "HomeDomain", "a/", id, 1, "HomeDomain/a/" },
		{ "..", "x", id, 1, NULL },
		{ ".", "x", id, 1, NULL },
		{ "", "x", id, 1, NULL },
		{ "A/B", "x", id, 1, NULL },
		{ "D", "/etc/passwd", id, 1, NULL },
		{ "D", "x/../../y", id, 1, NULL },
		{ "D", "x//y", id, 1, NULL },
		{ "D", "x", "3D0D7E5FB2CE288813306E4D4636395E047A3D28", 1, NULL },
		{ "D", "x", "3d0d7e5f", 1, NULL },
		{ "D", "x", "../3d0d7e5fb2ce288813306e4d4636395e047a3d", 1, NULL },
	};
	size_t i;
	char *p;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = NULL;
		r = ib_backup_entry_path(cases[i].domain, cases[i].path, cases[i].id,
		    cases[i].flags, &p);
		if (cases[i].want == NULL) {
			IB_CHECK_ERR(r, IB_ERR_UNSAFE_PATH);
			IB_CHECK(p == NULL);
		} else {
			IB_CHECK_OK(r);
			IB_CHECK_STR(p, cases[i].want);
		}
		free(p);
	}
}

/* A stand-in decryptor: "ciphertext" is the plaintext XOR 0x5a. */
struct fake_crypto {
	int opened, done, copied;
	char plain[256];
};

static int
fake_open(void *ctx, const char *db, const struct ib_manifest_plist *mp, char **plainp)
{
	struct fake_crypto *c = ctx;

	(void)mp;
	c->opened++;
	snprintf(c->plain, sizeof(c->plain), "%s", db);    /* already plain here */
	return (*plainp = strdup(c->plain)) != NULL ? IB_OK : IB_ERR_NOMEM;
}

static int
fake_copy(void *ctx, const struct ib_mbfile *f, int in, int out)
{
	struct fake_crypto *c = ctx;
	uint8_t b[64];
	ssize_t n, i;

	(void)f;
	c->copied++;
	while ((n = read(in, b, sizeof(b))) > 0) {
		for (i = 0; i < n; i++)
			b[i] ^= 0x5a;
		if (write(out, b, (size_t)n) != n)
			return IB_ERR_BACKUP_IO;
	}
	return n == 0 ? IB_OK : IB_ERR_BACKUP_IO;
}

static void
fake_done(void *ctx)
{
	((struct fake_crypto *)ctx)->done++;
}

IB_TEST(extract_encrypted_needs_the_hook)
{
	static const struct xrow rows[] = {
		{ "HomeDomain", "Library/secret", 1, "\x12\x3f\x39\x28\x3f\x2e" },  /* "Hecret"^0x5a */
	};
	struct fake_crypto fc;
	struct ib_extract_decryptor dec = { &fc, fake_open, fake_copy, fake_done };
	struct ib_extract_opts o;
	struct ib_extract_stats st;
	char root[128], out[128];

	fixture(rows, 1, 1, root, out);
	IB_CHECK_ERR(ib_backup_extract(root, "U", out, NULL, &st), IB_ERR_BACKUP_ENCRYPTED);
	IB_CHECK(strstr(ib_err_detail(), "step 4") != NULL);
	IB_CHECK(!exists("out/HomeDomain"));
	memset(&fc, 0, sizeof(fc));
	memset(&o, 0, sizeof(o));
	o.decrypt = &dec;
	IB_CHECK_OK(ib_backup_extract(root, "U", out, &o, &st));
	IB_CHECK_EQ(fc.opened, 1);
	IB_CHECK_EQ(fc.copied, 1);
	IB_CHECK_EQ(fc.done, 1);
	IB_CHECK(content_is("out/HomeDomain/Library/secret", "Hecret"));
	tmp_teardown();
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
