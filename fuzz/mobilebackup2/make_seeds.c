/*
 * make_seeds - writes the seed corpora of the mobilebackup2 fuzzers from
 * the real encoders, shaped like captured traffic and backup files.
 * usage: mb2_make_seeds CORPUS_DIR   (creates CORPUS_DIR/<name>/...)
 */
#include "backup_dir.h"
#include "dl_file.h"
#include "dl_msg.h"
#include "ib_buf.h"
#include "ib_err.h"
#include "ib_plist.h"
#include "ib_util.h"
#include "mb2_msg.h"
#include "mbfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *corpus;
static int failed;

static void
seed(const char *target, const char *name, const void *data, size_t len)
{
	char dir[512], path[640];

	snprintf(dir, sizeof(dir), "%s/%s", corpus, target);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (ib_mkdir_p(dir, 0755) != IB_OK || ib_file_write_atomic(path, data, len, 0644) != IB_OK) {
		fprintf(stderr, "cannot write %s\n", path);
		failed = 1;
	}
}

/* A plist seed (binary, or XML when xml is set); frees p. */
static void
seed_plist(const char *target, const char *name, plist_t p, int xml)
{
	uint8_t *bin = NULL;
	char *x = NULL;
	size_t n = 0;

	if (p == NULL) {
		fprintf(stderr, "no plist for %s\n", name);
		failed = 1;
		return;
	}
	if (xml ? ib_plist_to_xml(p, &x, &n) : ib_plist_to_bin(p, &bin, &n)) {
		failed = 1;
	} else {
		seed(target, name, xml ? (const void *)x : bin, n);
	}
	free(bin);
	free(x);
	plist_free(p);
}

static void
dl_msg_seeds(void)
{
	static const char *const paths[] = { "U/Status.plist", "U/Manifest.plist", "U/Manifest.db" };
	static const char *const srcs[] = { "U/Snapshot/Manifest.db", "U/Snapshot/3d" };
	static const char *const dsts[] = { "U/Manifest.db", "U/3d" };
	struct ib_mb2_restore_opts ro = { 1, 0, 1, 1, 1, "pw" };
	plist_t m, errs = NULL;

	ib_dl_version_exchange_new(400, 0, &m);
	seed_plist("dl_msg", "version_exchange_400", m, 0);
	ib_dl_version_exchange_new(300, 0, &m);
	seed_plist("dl_msg", "version_exchange_300", m, 0);
	ib_dl_versions_ok_new(400, &m);
	seed_plist("dl_msg", "versions_ok", m, 0);
	ib_dl_device_ready_new(&m);
	seed_plist("dl_msg", "device_ready", m, 0);
	ib_dl_download_files_new(paths, 3, 2.5, &m);
	seed_plist("dl_msg", "download_files", m, 0);
	ib_dl_upload_files_new(0.9797, 392695960, &m);
	seed_plist("dl_msg", "upload_files", m, 0);
	ib_dl_get_free_disk_space_new(&m);
	seed_plist("dl_msg", "get_free_disk_space", m, 0);
	ib_dl_purge_disk_space_new(12265029274ull, 4, &m);
	seed_plist("dl_msg", "purge_disk_space", m, 0);
	ib_dl_contents_of_directory_new("U/Snapshot", &m);
	seed_plist("dl_msg", "contents_of_directory", m, 0);
	ib_dl_create_directory_new("U/Snapshot/3d", &m);
	seed_plist("dl_msg", "create_directory", m, 0);
	ib_dl_move_items_new(srcs, dsts, 2, 98.5, &m);
	seed_plist("dl_msg", "move_items", m, 0);
	ib_dl_remove_items_new(paths, 2, 99.0, &m);
	seed_plist("dl_msg", "remove_items", m, 0);
	ib_dl_copy_item_new("U/a", "U/b", &m);
	seed_plist("dl_msg", "copy_item", m, 0);
	ib_dl_disconnect_new(NULL, &m);
	seed_plist("dl_msg", "disconnect", m, 0);
	ib_mb2_response_new(208, "Device locked (MBErrorDomain/208)", NULL, &m);
	seed_plist("dl_msg", "final_response_208", m, 0);
	ib_mb2_response_new(0, NULL, "Domain,Path\nHomeDomain,Library\n", &m);
	seed_plist("dl_msg", "final_response_content", m, 0);
	ib_dl_file_errors_add(&errs, "U/Status.plist", -6, "No such file or directory");
	ib_dl_status_response_new(-13, "Multi status", errs, &m);
	plist_free(errs);
	seed_plist("dl_msg", "status_multi", m, 0);
	ib_mb2_hello_new(&m);
	seed_plist("dl_msg", "hello", m, 0);
	ib_mb2_hello_response_new(0, 2.1, &m);
	seed_plist("dl_msg", "hello_response", m, 0);
	ib_mb2_backup_new("00008020-001D2CD90128002E", NULL, 1, &m);
	seed_plist("dl_msg", "backup", m, 0);
	ib_mb2_restore_new("00008020-001D2CD90128002E", "00008020-001D2CD90128002E", &ro, &m);
	seed_plist("dl_msg", "restore", m, 0);
	ib_mb2_change_password_new("T", "old", "new", &m);
	seed_plist("dl_msg", "change_password", m, 0);
	ib_mb2_enable_cloud_backup_new("T", NULL, 1, &m);
	seed_plist("dl_msg", "enable_cloud_backup", m, 1);
	ib_dl_download_files_new(paths, 1, 0, &m);
	seed_plist("dl_msg", "download_files_xml", m, 1);
}

static void
stream_seed(const char *name, enum ib_dlf_mode mode, const uint8_t *cuts, size_t ncuts)
{
	struct ib_buf *b = ib_buf_new(1 << 20);
	uint8_t data[70000], hdr = (uint8_t)((mode == IB_DLF_DOWNLOAD) | (ncuts << 1));
	const char *dev = mode == IB_DLF_UPLOAD ? "/var/mobile/Library/SMS/sms.db" : NULL;
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	ib_buf_put_u8(b, hdr);
	ib_buf_put(b, cuts, ncuts);
	ib_dlf_put_file_begin(b, dev, "U/Snapshot/3d/3d0d7e5fb2ce288813306e4d4636395e047a3d28");
	ib_dlf_put_data(b, data, sizeof(data));
	ib_dlf_put_file_ok(b);
	ib_dlf_put_file_begin(b, dev, "U/Snapshot/Status.plist");
	ib_dlf_put_file_ok(b);
	ib_dlf_put_file_begin(b, dev, "U/Snapshot/backup_manifest.db");
	ib_dlf_put_file_error(b, 0x0B, "Input/output error (5)");
	ib_dlf_put_file_begin(b, dev, "U/Snapshot/Manifest.plist");
	ib_dlf_put_data(b, data, 189);
	ib_dlf_put_file_ok(b);
	ib_dlf_put_done(b);
	seed("dl_file", name, ib_buf_ptr(b), ib_buf_len(b));
	ib_buf_free(b);
}

static void
dl_file_seeds(void)
{
	static const uint8_t cuts[] = { 0, 3, 4, 200, 255, 1, 7 };

	stream_seed("upload_whole", IB_DLF_UPLOAD, NULL, 0);
	stream_seed("upload_cuts", IB_DLF_UPLOAD, cuts, sizeof(cuts));
	stream_seed("download_whole", IB_DLF_DOWNLOAD, NULL, 0);
	stream_seed("download_cuts", IB_DLF_DOWNLOAD, cuts, 3);
	seed("dl_file", "empty_transfer", "\x00\x00\x00\x00\x00", 5);
}

static void
backup_plist_seeds(void)
{
	struct ib_status_plist st;
	struct ib_manifest_plist m;
	struct ib_info_plist info;
	uint8_t *bin = NULL, kb[48];
	size_t n = 0;
	plist_t d = NULL;

	st = (struct ib_status_plist){ .backup_state = "new", .snapshot_state = "finished",
	    .uuid = "0A1B2C3D-4E5F-4000-8000-00112233AABB", .version = "3.3", .date = 1700000000,
	    .is_full_backup = 1 };
	if (ib_status_plist_build(&st, &bin, &n) == IB_OK)
		seed("backup_plist", "status_finished", bin, n);
	free(bin);
	snprintf(st.snapshot_state, sizeof(st.snapshot_state), "uploading");
	if (ib_status_plist_build(&st, &bin, &n) == IB_OK)
		seed("backup_plist", "status_uploading", bin, n);
	free(bin);

	memset(kb, 0x41, sizeof(kb));
	memcpy(kb, "VERS\0\0\0\4\0\0\0\5TYPE\0\0\0\4\0\0\0\1", 24);
	m = (struct ib_manifest_plist){ .is_encrypted = 1, .was_passcode_set = 1,
	    .device_name = "iPhone", .product_type = "iPhone14,2", .product_version = "17.5",
	    .serial_number = "F2LXXXXXXXXX", .unique_device_id = "00008020-001D2CD90128002E",
	    .version = "10.0", .date = 1700000000, .backup_keybag = kb,
	    .backup_keybag_len = sizeof(kb), .manifest_key = kb, .manifest_key_len = 44 };
	if (ib_manifest_plist_build(&m, &bin, &n) == IB_OK)
		seed("backup_plist", "manifest_encrypted", bin, n);
	free(bin);
	m.is_encrypted = 0;
	m.backup_keybag = m.manifest_key = NULL;
	if (ib_manifest_plist_build(&m, &bin, &n) == IB_OK)
		seed("backup_plist", "manifest_plain", bin, n);
	free(bin);

	info = (struct ib_info_plist){ .udid = "00008020-001d2cd90128002e",
	    .device_name = "iPhone", .build_version = "21F79", .product_type = "iPhone14,2",
	    .product_version = "17.5", .serial_number = "F2LXXXXXXXXX",
	    .guid = "0123456789ABCDEF0123456789ABCDEF", .last_backup_date = 1700000000 };
	if (ib_info_plist_build(&info, &d) == IB_OK)
		seed_plist("backup_plist", "info_xml", d, 1);
}

static void
row_seed(const char *name, int flags, const char *domain, const char *rel, const char *id,
    const struct ib_mbfile *f)
{
	uint8_t buf[4096], *blob = NULL;
	size_t n = 0, o = 0;

	buf[o++] = (uint8_t)flags;
	buf[o++] = (uint8_t)strlen(domain);
	memcpy(buf + o, domain, strlen(domain));
	o += strlen(domain);
	buf[o++] = (uint8_t)strlen(rel);
	memcpy(buf + o, rel, strlen(rel));
	o += strlen(rel);
	buf[o++] = (uint8_t)strlen(id);
	memcpy(buf + o, id, strlen(id));
	o += strlen(id);
	if (ib_mbfile_encode(f, &blob, &n) != IB_OK || o + n > sizeof(buf)) {
		failed = 1;
		free(blob);
		return;
	}
	memcpy(buf + o, blob, n);
	free(blob);
	seed("manifest_row", name, buf, o + n);
}

static void
manifest_row_seeds(void)
{
	static const char id[] = "3d0d7e5fb2ce288813306e4d4636395e047a3d28";
	static uint8_t key[44] = { 3, 0, 0, 0, 0xce, 0x40, 0x7b, 0x1d };
	struct ib_mbfile f;

	f = (struct ib_mbfile){ .relative_path = "Library/SMS/sms.db", .mode = 0100644,
	    .size = 1234567, .user_id = 501, .group_id = 501, .inode = 55569,
	    .protection_class = 3, .last_modified = 1610659523,
	    .last_status_change = 1610659523, .birth = 1610659523 };
	row_seed("file", 1, "HomeDomain", "Library/SMS/sms.db", id, &f);
	f.encryption_key = key;
	f.encryption_key_len = sizeof(key);
	row_seed("file_encrypted", 1, "HomeDomain", "Library/SMS/sms.db", id, &f);
	f.encryption_key = NULL;
	f.encryption_key_len = 0;
	f.relative_path = "";
	f.mode = 040755;
	f.size = 0;
	f.group_id = -2;
	row_seed("domain_root", 2, "AppDomain-com.example.app", "", id, &f);
	f.relative_path = "Library/WebKit/WebsiteData/IndexedDB/v0";
	f.target = "/var/mobile/Containers/Data/Application/X/Library/WebKit";
	f.mode = 0120755;
	row_seed("symlink", 4, "AppDomain-com.example.app", f.relative_path, id, &f);
	f.target = NULL;
	f.mode = 0100644;
	f.relative_path = "../../../etc/passwd";
	row_seed("hostile_path", 1, "HomeDomain", f.relative_path, id, &f);
	row_seed("hostile_domain", 1, "..", "x", "../../../../../../../../../etc/passwd", &f);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mb2_make_seeds CORPUS_DIR\n");
		return 2;
	}
	corpus = argv[1];
	dl_msg_seeds();
	dl_file_seeds();
	backup_plist_seeds();
	manifest_row_seeds();
	return failed;
}
