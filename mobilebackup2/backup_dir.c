/*
 * backup_dir.c - Info.plist, Status.plist, Manifest.plist and the
 * running-backup lock (backup_dir.h).
 */
#include "backup_dir.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_plist.h"
#include "ib_util.h"
#include "mb2_fs.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define ITUNES_VERSION_DEFAULT "10.0.1"

/* --- Info.plist ------------------------------------------------------- */

static void
set_str(plist_t d, const char *key, const char *v)
{
	if (v != NULL)
		plist_dict_set_item(d, key, plist_new_string(v));
}

static plist_t
copy_or_new_dict(plist_t p)
{
	return ib_plist_is_dict(p) ? plist_copy(p) : plist_new_dict();
}

/* Bundle ids: the given array, else the keys of applications. */
static plist_t
installed_apps(const struct ib_info_plist *info)
{
	plist_t a;
	plist_dict_iter it = NULL;
	plist_t val = NULL;
	char *key = NULL;

	if (ib_plist_is_array(info->installed_applications))
		return plist_copy(info->installed_applications);
	a = plist_new_array();
	if (!ib_plist_is_dict(info->applications))
		return a;
	plist_dict_new_iter(info->applications, &it);
	for (;;) {
		plist_dict_next_item(info->applications, it, &key, &val);
		if (key == NULL)
			break;
		plist_array_append_item(a, plist_new_string(key));
		free(key);
		key = NULL;
	}
	free(it);
	return a;
}

int
ib_info_plist_build(const struct ib_info_plist *info, plist_t *outp)
{
	char guid[33], upper[IB_PATH_MAX + 1];
	uint8_t rnd[16];
	plist_t d;
	size_t i;
	int r;

	*outp = NULL;
	if (info == NULL || info->udid == NULL || strlen(info->udid) > IB_PATH_MAX)
		return IB_ERR_INVALID_ARG;
	if (info->guid == NULL) {
		if ((r = ib_random_bytes(rnd, sizeof(rnd))) != IB_OK)
			return r;
		ib_hex(rnd, sizeof(rnd), guid);
		for (i = 0; guid[i] != '\0'; i++)
			guid[i] = (char)toupper((unsigned char)guid[i]);
	}
	for (i = 0; info->udid[i] != '\0'; i++)
		upper[i] = (char)toupper((unsigned char)info->udid[i]);
	upper[i] = '\0';
	d = plist_new_dict();
	plist_dict_set_item(d, "Applications", copy_or_new_dict(info->applications));
	set_str(d, "Build Version", info->build_version);
	set_str(d, "Device Name", info->device_name);
	set_str(d, "Display Name", info->display_name != NULL ? info->display_name : info->device_name);
	set_str(d, "GUID", info->guid != NULL ? info->guid : guid);
	set_str(d, "ICCID", info->iccid);
	set_str(d, "IMEI", info->imei);
	set_str(d, "MEID", info->meid);
	plist_dict_set_item(d, "Installed Applications", installed_apps(info));
	plist_dict_set_item(d, "Last Backup Date", ib_plist_new_date_unix(
	    info->last_backup_date != 0 ? info->last_backup_date : ib_unix_now()));
	set_str(d, "Phone Number", info->phone_number);
	set_str(d, "Product Type", info->product_type);
	set_str(d, "Product Version", info->product_version);
	set_str(d, "Serial Number", info->serial_number);
	set_str(d, "Target Identifier", info->udid);
	set_str(d, "Target Type", "Device");
	set_str(d, "Unique Identifier", upper);
	if (info->ibooks_data != NULL)
		plist_dict_set_item(d, "iBooks Data 2",
		    plist_new_data((const char *)info->ibooks_data, info->ibooks_len));
	plist_dict_set_item(d, "iTunes Files", copy_or_new_dict(info->itunes_files));
	plist_dict_set_item(d, "iTunes Settings", copy_or_new_dict(info->itunes_settings));
	set_str(d, "iTunes Version",
	    info->itunes_version != NULL ? info->itunes_version : ITUNES_VERSION_DEFAULT);
	*outp = d;
	return IB_OK;
}

int
ib_info_plist_write(const char *backup_dir, const struct ib_info_plist *info)
{
	plist_t d = NULL;
	char *xml = NULL, *path = NULL;
	size_t len = 0;
	int r;

	if ((r = ib_info_plist_build(info, &d)) != IB_OK)
		return r;
	if ((r = ib_plist_to_xml(d, &xml, &len)) != IB_OK)
		goto out;
	if (asprintf(&path, "%s/Info.plist", backup_dir) < 0) {
		path = NULL;
		r = IB_ERR_NOMEM;
		goto out;
	}
	r = ib_file_write_atomic(path, xml, len, 0600);
out:
	free(path);
	free(xml);
	plist_free(d);
	return r;
}

/* --- Status.plist ------------------------------------------------------- */

static int
bad_key(const char *file, const char *key)
{
	ib_err_detail_set("%s: %s has the wrong type or size", file, key);
	return IB_ERR_BACKUP_INVALID;
}

/* Optional string into a fixed field. */
static int
opt_field(plist_t d, const char *file, const char *key, char *out, size_t n)
{
	const char *s;
	int r = ib_plist_dict_get_string(d, key, &s);

	out[0] = '\0';
	if (r == IB_ERR_PLIST_MISSING)
		return IB_OK;
	if (r != IB_OK || strlen(s) >= n)
		return bad_key(file, key);
	memcpy(out, s, strlen(s) + 1);
	return IB_OK;
}

static int
opt_date(plist_t d, const char *file, const char *key, int64_t *vp)
{
	int r = ib_plist_dict_get_date_unix(d, key, vp);

	if (r == IB_ERR_PLIST_MISSING) {
		*vp = 0;
		return IB_OK;
	}
	return r == IB_OK ? IB_OK : bad_key(file, key);
}

static int
opt_bool(plist_t d, const char *file, const char *key, int *vp)
{
	int r = ib_plist_dict_get_bool(d, key, vp);

	if (r == IB_ERR_PLIST_MISSING) {
		*vp = 0;
		return IB_OK;
	}
	return r == IB_OK ? IB_OK : bad_key(file, key);
}

static int
parse_dict(const uint8_t *data, size_t len, const char *file, plist_t *dp)
{
	int r = ib_plist_parse_dict(data, len, IB_PLIST_MSG_MAX, dp);

	if (r == IB_ERR_PLIST_PARSE || r == IB_ERR_PLIST_TYPE) {
		ib_err_detail_set("%s is not a property list dict", file);
		return IB_ERR_BACKUP_INVALID;
	}
	return r;
}

int
ib_status_plist_parse(const uint8_t *data, size_t len, struct ib_status_plist *outp)
{
	struct ib_status_plist st;
	plist_t d = NULL;
	int r;

	memset(outp, 0, sizeof(*outp));
	memset(&st, 0, sizeof(st));
	if ((r = parse_dict(data, len, "Status.plist", &d)) != IB_OK)
		return r;
	if ((r = opt_field(d, "Status.plist", "BackupState", st.backup_state,
	    sizeof(st.backup_state))) == IB_OK &&
	    (r = opt_field(d, "Status.plist", "SnapshotState", st.snapshot_state,
	    sizeof(st.snapshot_state))) == IB_OK &&
	    (r = opt_field(d, "Status.plist", "UUID", st.uuid, sizeof(st.uuid))) == IB_OK &&
	    (r = opt_field(d, "Status.plist", "Version", st.version, sizeof(st.version))) == IB_OK &&
	    (r = opt_date(d, "Status.plist", "Date", &st.date)) == IB_OK &&
	    (r = opt_bool(d, "Status.plist", "IsFullBackup", &st.is_full_backup)) == IB_OK)
		*outp = st;
	plist_free(d);
	return r;
}

/* Read a metadata file of the backup folder with the plist cap. */
static int
read_meta(const char *path, uint8_t **datap, size_t *lenp)
{
	int r = ib_file_read(path, IB_PLIST_MSG_MAX, datap, lenp);

	if (r == IB_ERR_NOT_FOUND)
		return IB_ERR_BACKUP_NOT_FOUND;
	if (r == IB_ERR_TOO_LARGE || r == IB_ERR_FORMAT)
		return IB_ERR_BACKUP_INVALID;
	return r;
}

int
ib_status_plist_read(const char *path, struct ib_status_plist *outp)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int r;

	memset(outp, 0, sizeof(*outp));
	if ((r = read_meta(path, &data, &len)) != IB_OK)
		return r;
	r = ib_status_plist_parse(data, len, outp);
	free(data);
	return r;
}

int
ib_status_plist_build(const struct ib_status_plist *st, uint8_t **outp, size_t *lenp)
{
	plist_t d = plist_new_dict();
	int r;

	if (st->backup_state[0] != '\0')
		plist_dict_set_item(d, "BackupState", plist_new_string(st->backup_state));
	plist_dict_set_item(d, "Date", ib_plist_new_date_unix(st->date));
	plist_dict_set_item(d, "IsFullBackup", plist_new_bool(st->is_full_backup != 0));
	if (st->snapshot_state[0] != '\0')
		plist_dict_set_item(d, "SnapshotState", plist_new_string(st->snapshot_state));
	if (st->uuid[0] != '\0')
		plist_dict_set_item(d, "UUID", plist_new_string(st->uuid));
	if (st->version[0] != '\0')
		plist_dict_set_item(d, "Version", plist_new_string(st->version));
	r = ib_plist_to_bin(d, outp, lenp);
	plist_free(d);
	return r;
}

int
ib_status_plist_write(const char *path, const struct ib_status_plist *st)
{
	uint8_t *bin = NULL;
	size_t n = 0;
	int r;

	if ((r = ib_status_plist_build(st, &bin, &n)) != IB_OK)
		return r;
	r = ib_file_write_atomic(path, bin, n, 0600);
	free(bin);
	return r;
}

/* --- Manifest.plist ---------------------------------------------------- */

static int
opt_strdup(plist_t d, const char *key, char **sp)
{
	const char *s;
	int r = ib_plist_dict_get_string(d, key, &s);

	if (r == IB_ERR_PLIST_MISSING)
		return IB_OK;
	if (r != IB_OK || strlen(s) > IB_PATH_MAX)
		return bad_key("Manifest.plist", key);
	return (*sp = strdup(s)) != NULL ? IB_OK : IB_ERR_NOMEM;
}

static int
opt_data(plist_t d, const char *key, uint8_t **pp, size_t *lenp)
{
	const uint8_t *p;
	size_t n;
	int r = ib_plist_dict_get_data(d, key, &p, &n);

	if (r == IB_ERR_PLIST_MISSING)
		return IB_OK;
	if (r != IB_OK)
		return bad_key("Manifest.plist", key);
	if ((*pp = malloc(n ? n : 1)) == NULL)
		return IB_ERR_NOMEM;
	memcpy(*pp, p, n);
	*lenp = n;
	return IB_OK;
}

static int
parse_lockdown(plist_t d, struct ib_manifest_plist *m)
{
	plist_t ld = NULL;
	int r = ib_plist_dict_get_dict(d, "Lockdown", &ld);

	if (r == IB_ERR_PLIST_MISSING)
		return IB_OK;
	if (r != IB_OK)
		return bad_key("Manifest.plist", "Lockdown");
	if ((r = opt_strdup(ld, "DeviceName", &m->device_name)) != IB_OK ||
	    (r = opt_strdup(ld, "ProductVersion", &m->product_version)) != IB_OK ||
	    (r = opt_strdup(ld, "ProductType", &m->product_type)) != IB_OK ||
	    (r = opt_strdup(ld, "SerialNumber", &m->serial_number)) != IB_OK ||
	    (r = opt_strdup(ld, "UniqueDeviceID", &m->unique_device_id)) != IB_OK)
		return r;
	return IB_OK;
}

int
ib_manifest_plist_parse(const uint8_t *data, size_t len, struct ib_manifest_plist **outp)
{
	struct ib_manifest_plist *m = NULL;
	plist_t d = NULL, apps = NULL;
	int r;

	*outp = NULL;
	if ((r = parse_dict(data, len, "Manifest.plist", &d)) != IB_OK)
		return r;
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	if ((r = opt_bool(d, "Manifest.plist", "IsEncrypted", &m->is_encrypted)) != IB_OK ||
	    (r = opt_bool(d, "Manifest.plist", "WasPasscodeSet", &m->was_passcode_set)) != IB_OK ||
	    (r = opt_date(d, "Manifest.plist", "Date", &m->date)) != IB_OK ||
	    (r = opt_strdup(d, "Version", &m->version)) != IB_OK ||
	    (r = parse_lockdown(d, m)) != IB_OK ||
	    (r = opt_data(d, "BackupKeyBag", &m->backup_keybag, &m->backup_keybag_len)) != IB_OK ||
	    (r = opt_data(d, "ManifestKey", &m->manifest_key, &m->manifest_key_len)) != IB_OK)
		goto out;
	r = ib_plist_dict_get_dict(d, "Applications", &apps);
	if (r == IB_OK)
		m->applications = plist_copy(apps);
	else if (r != IB_ERR_PLIST_MISSING) {
		r = bad_key("Manifest.plist", "Applications");
		goto out;
	}
	*outp = m;
	m = NULL;
	r = IB_OK;
out:
	ib_manifest_plist_free(m);
	plist_free(d);
	return r;
}

int
ib_manifest_plist_read(const char *path, struct ib_manifest_plist **outp)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int r;

	*outp = NULL;
	if ((r = read_meta(path, &data, &len)) != IB_OK)
		return r;
	r = ib_manifest_plist_parse(data, len, outp);
	free(data);
	return r;
}

static void
free_secret(uint8_t *p, size_t n)
{
	if (p != NULL) {
		explicit_bzero(p, n);
		free(p);
	}
}

void
ib_manifest_plist_free(struct ib_manifest_plist *m)
{
	if (m == NULL)
		return;
	free(m->device_name);
	free(m->product_version);
	free(m->product_type);
	free(m->serial_number);
	free(m->unique_device_id);
	free(m->version);
	plist_free(m->applications);
	free_secret(m->backup_keybag, m->backup_keybag_len);
	free_secret(m->manifest_key, m->manifest_key_len);
	free(m);
}

int
ib_manifest_plist_build(const struct ib_manifest_plist *m, uint8_t **outp, size_t *lenp)
{
	plist_t d = plist_new_dict(), ld = plist_new_dict();
	int r;

	set_str(ld, "DeviceName", m->device_name);
	set_str(ld, "ProductVersion", m->product_version);
	set_str(ld, "ProductType", m->product_type);
	set_str(ld, "SerialNumber", m->serial_number);
	set_str(ld, "UniqueDeviceID", m->unique_device_id);
	if (m->backup_keybag != NULL)
		plist_dict_set_item(d, "BackupKeyBag",
		    plist_new_data((const char *)m->backup_keybag, m->backup_keybag_len));
	plist_dict_set_item(d, "Lockdown", ld);
	plist_dict_set_item(d, "Date", ib_plist_new_date_unix(m->date));
	plist_dict_set_item(d, "IsEncrypted", plist_new_bool(m->is_encrypted != 0));
	if (m->manifest_key != NULL)
		plist_dict_set_item(d, "ManifestKey",
		    plist_new_data((const char *)m->manifest_key, m->manifest_key_len));
	set_str(d, "Version", m->version);
	plist_dict_set_item(d, "WasPasscodeSet", plist_new_bool(m->was_passcode_set != 0));
	plist_dict_set_item(d, "Applications", copy_or_new_dict(m->applications));
	r = ib_plist_to_bin(d, outp, lenp);
	plist_free(d);
	return r;
}

/* --- lock ---------------------------------------------------------------- */

struct ib_backup_lock {
	int fd;
};

/* <root>/.ibackup-<udid>.lock, udid being one safe path component. */
static int
lock_path(const char *root, const char *udid, char **pathp)
{
	*pathp = NULL;
	if (root == NULL || udid == NULL || strchr(udid, '/') != NULL ||
	    ib_mb2_fs_path_check(udid) != IB_OK)
		return IB_ERR_INVALID_ARG;
	if (asprintf(pathp, "%s/.ibackup-%s.lock", root, udid) < 0) {
		*pathp = NULL;
		return IB_ERR_NOMEM;
	}
	return IB_OK;
}

int
ib_backup_lock_acquire(const char *root, const char *udid, struct ib_backup_lock **lockp)
{
	struct ib_backup_lock *l = NULL;
	char *path = NULL, pid[32];
	int fd = -1, r;

	*lockp = NULL;
	if ((r = lock_path(root, udid, &path)) != IB_OK)
		return r;
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		r = ib_err_from_errno(errno, path);
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		r = errno == EWOULDBLOCK ? IB_ERR_BUSY : ib_err_from_errno(errno, path);
		if (r == IB_ERR_BUSY)
			ib_err_detail_set("a backup of %s is already running", udid);
		goto out;
	}
	/* For a curious human: who holds it. */
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, strlen(pid), 0) < 0)
		ib_debug("could not write the pid into %s", path);
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	l->fd = fd;
	fd = -1;
	*lockp = l;
	r = IB_OK;
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return r;
}

void
ib_backup_lock_release(struct ib_backup_lock *lock)
{
	if (lock == NULL)
		return;
	close(lock->fd);        /* drops the flock */
	free(lock);
}

int
ib_backup_lock_held(const char *root, const char *udid)
{
	char *path = NULL;
	int fd, held = 0;

	if (lock_path(root, udid, &path) != IB_OK)
		return 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		if (flock(fd, LOCK_SH | LOCK_NB) != 0)
			held = errno == EWOULDBLOCK;
		close(fd);      /* also drops our probe lock */
	}
	free(path);
	return held;
}
