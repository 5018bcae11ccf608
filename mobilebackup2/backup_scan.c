/*
 * backup_scan.c - the "Latest Backups" view of a backup root: per <UDID>
 * folder who, what, when, how big, and whether the backup is complete,
 * running or interrupted (backup_dir.h).
 */
#include "backup_dir.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_plist.h"
#include "ib_util.h"
#include "mb2_fs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *
ib_backup_state_name(enum ib_backup_state state)
{
	switch (state) {
	case IB_BACKUP_COMPLETE:
		return "complete";
	case IB_BACKUP_IN_PROGRESS:
		return "in progress";
	case IB_BACKUP_INTERRUPTED:
		return "interrupted";
	}
	return "unknown";
}

void
ib_backup_summary_clear(struct ib_backup_summary *s)
{
	if (s == NULL)
		return;
	free(s->udid);
	free(s->device_name);
	free(s->product_type);
	free(s->product_version);
	free(s->why);
	memset(s, 0, sizeof(*s));
}

void
ib_backup_summaries_free(struct ib_backup_summary *list, size_t count)
{
	size_t i;

	for (i = 0; list != NULL && i < count; i++)
		ib_backup_summary_clear(&list[i]);
	free(list);
}

static int
udid_ok(const char *udid)
{
	return udid != NULL && strchr(udid, '/') == NULL && ib_mb2_fs_path_check(udid) == IB_OK;
}

/* Size of name under dfd as a regular file; -1 when absent or not one. */
static int64_t
file_size_at(int dfd, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
		return -1;
	return (int64_t)st.st_size;
}

/* Read dir/name when it is a regular file itself (not a symlink), at
 * most IB_PLIST_MSG_MAX bytes. */
static int
read_meta(int dfd, const char *dir, const char *name, uint8_t **datap, size_t *lenp)
{
	char *path = NULL;
	int r;

	*datap = NULL;
	*lenp = 0;
	if (file_size_at(dfd, name) < 0)
		return IB_ERR_BACKUP_NOT_FOUND;
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return IB_ERR_NOMEM;
	r = ib_file_read(path, IB_PLIST_MSG_MAX, datap, lenp);
	free(path);
	return r;
}

static int
exists_at(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Bytes and count of the payload files in the xx/ folders. */
static void
payload_size(int dfd, struct ib_backup_summary *s)
{
	struct dirent *de;
	DIR *dir;
	int fd;

	if ((fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		struct dirent *fe;
		struct stat st;
		DIR *sub;
		int sfd;

		if (strlen(de->d_name) != 2 || !isxdigit((unsigned char)de->d_name[0]) ||
		    !isxdigit((unsigned char)de->d_name[1]))
			continue;
		sfd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0)
			continue;
		if ((sub = fdopendir(sfd)) == NULL) {
			close(sfd);
			continue;
		}
		while ((fe = readdir(sub)) != NULL)
			if (fstatat(sfd, fe->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISREG(st.st_mode)) {
				s->size += (uint64_t)st.st_size;
				s->files++;
			}
		closedir(sub);
	}
	closedir(dir);
}

/* Device name / model / iOS from Info.plist, when Manifest.plist had none. */
static void
info_fallback(int dfd, const char *dir, struct ib_backup_summary *s)
{
	static const char *const keys[3] = { "Device Name", "Product Type", "Product Version" };
	char **dst[3] = { &s->device_name, &s->product_type, &s->product_version };
	uint8_t *data = NULL;
	size_t len = 0, i;
	plist_t d = NULL;
	const char *v;

	if (s->device_name != NULL && s->product_type != NULL && s->product_version != NULL)
		return;
	if (read_meta(dfd, dir, "Info.plist", &data, &len) != IB_OK ||
	    ib_plist_parse_dict(data, len, IB_PLIST_MSG_MAX, &d) != IB_OK) {
		free(data);
		return;
	}
	for (i = 0; i < 3; i++)
		if (*dst[i] == NULL && ib_plist_dict_get_string(d, keys[i], &v) == IB_OK)
			*dst[i] = strdup(v);
	plist_free(d);
	free(data);
}

static void
take(char **dst, char **src)
{
	*dst = *src;
	*src = NULL;
}

/* Decide the state; *why gets the first reason it is not complete. */
static enum ib_backup_state
judge(int dfd, int status_r, const struct ib_status_plist *st, const char **why)
{
	*why = NULL;
	if (status_r == IB_ERR_BACKUP_NOT_FOUND)
		*why = "Status.plist is missing";
	else if (status_r != IB_OK)
		*why = "Status.plist is damaged";
	else if (strcmp(st->snapshot_state, "finished") != 0)
		*why = "the device did not finish (SnapshotState is not \"finished\")";
	else if (exists_at(dfd, "Snapshot"))
		*why = "a Snapshot folder is left over";
	else if (file_size_at(dfd, "Manifest.plist") <= 0)
		*why = "Manifest.plist is missing or empty";
	else if (file_size_at(dfd, "Manifest.db") <= 0)
		*why = "Manifest.db is missing or empty";
	return *why == NULL ? IB_BACKUP_COMPLETE : IB_BACKUP_INTERRUPTED;
}

static int
inspect_at(int rootfd, const char *root, const char *udid, struct ib_backup_summary *out)
{
	struct ib_backup_summary s;
	struct ib_status_plist st;
	struct ib_manifest_plist *mp = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	const char *why;
	char *dir = NULL;
	int dfd, held, status_r, r = IB_OK;

	memset(&s, 0, sizeof(s));
	memset(&st, 0, sizeof(st));
	held = ib_backup_lock_held(root, udid);
	dfd = openat(rootfd, udid, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 && !held)
		return IB_ERR_BACKUP_NOT_FOUND;
	if ((s.udid = strdup(udid)) == NULL || asprintf(&dir, "%s/%s", root, udid) < 0) {
		free(s.udid);
		if (dfd >= 0)
			close(dfd);
		return IB_ERR_NOMEM;
	}
	s.state = IB_BACKUP_IN_PROGRESS;
	if (dfd >= 0) {
		status_r = read_meta(dfd, dir, "Status.plist", &data, &len);
		if (status_r == IB_OK)
			status_r = ib_status_plist_parse(data, len, &st);
		free(data);
		data = NULL;
		if (read_meta(dfd, dir, "Manifest.plist", &data, &len) == IB_OK &&
		    ib_manifest_plist_parse(data, len, &mp) == IB_OK) {
			take(&s.device_name, &mp->device_name);
			take(&s.product_type, &mp->product_type);
			take(&s.product_version, &mp->product_version);
			s.encrypted = mp->is_encrypted;
		}
		free(data);
		info_fallback(dfd, dir, &s);
		s.state = judge(dfd, status_r, &st, &why);
		if (s.state == IB_BACKUP_COMPLETE)
			s.date = st.date != 0 ? st.date : mp != NULL ? mp->date : 0;
		else if (mp != NULL && file_size_at(dfd, "Manifest.db") > 0)
			s.date = mp->date;      /* the last complete run's */
		if (s.state == IB_BACKUP_INTERRUPTED && (s.why = strdup(why)) == NULL)
			r = IB_ERR_NOMEM;
		payload_size(dfd, &s);
		close(dfd);
	}
	if (held) {
		s.state = IB_BACKUP_IN_PROGRESS;
		free(s.why);
		s.why = NULL;
	}
	ib_manifest_plist_free(mp);
	free(dir);
	if (r != IB_OK) {
		ib_backup_summary_clear(&s);
		return r;
	}
	*out = s;
	return IB_OK;
}

int
ib_backup_inspect(const char *root, const char *udid, struct ib_backup_summary *outp)
{
	int rootfd, r;

	memset(outp, 0, sizeof(*outp));
	if (root == NULL || !udid_ok(udid))
		return IB_ERR_INVALID_ARG;
	if ((rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return IB_ERR_BACKUP_NOT_FOUND;
	r = inspect_at(rootfd, root, udid, outp);
	close(rootfd);
	return r;
}

/* Does this folder look like a backup (or is a backup of it running)? */
static int
is_backup_dir(int rootfd, const char *root, const char *name)
{
	static const char *const marks[] = { "Info.plist", "Status.plist", "Manifest.plist",
	    "Manifest.db", "Snapshot" };
	struct stat st;
	size_t i;
	int dfd, yes = 0;

	if (fstatat(rootfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
		return 0;
	if ((dfd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0;
	for (i = 0; i < sizeof(marks) / sizeof(marks[0]) && !yes; i++)
		yes = exists_at(dfd, marks[i]);
	close(dfd);
	return yes || ib_backup_lock_held(root, name);
}

/* The UDID of a lock file name ".ibackup-<udid>.lock", in buf. */
static const char *
lock_udid(const char *name, char *buf, size_t n)
{
	size_t len = strlen(name), pre = strlen(".ibackup-"), suf = strlen(".lock");

	if (len <= pre + suf || strncmp(name, ".ibackup-", pre) != 0 ||
	    strcmp(name + len - suf, ".lock") != 0 || len - pre - suf >= n)
		return NULL;
	memcpy(buf, name + pre, len - pre - suf);
	buf[len - pre - suf] = '\0';
	return buf;
}

static int
newest_first(const void *a, const void *b)
{
	const struct ib_backup_summary *x = a, *y = b;

	if (x->date != y->date)
		return x->date > y->date ? -1 : 1;
	return strcmp(x->udid, y->udid);
}

static int
add_summary(struct ib_backup_summary **list, size_t *n, size_t *cap,
    const struct ib_backup_summary *s)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*list)[i].udid, s->udid) == 0)
			return 1;       /* already listed */
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct ib_backup_summary *nl = realloc(*list, nc * sizeof(*nl));

		if (nl == NULL)
			return -1;
		*list = nl;
		*cap = nc;
	}
	(*list)[(*n)++] = *s;
	return 0;
}

int
ib_backup_scan(const char *root, struct ib_backup_summary **listp, size_t *countp)
{
	struct ib_backup_summary *list = NULL, s;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *dir = NULL;
	char buf[256];
	int rootfd, r = IB_OK, added;

	*listp = NULL;
	*countp = 0;
	if (root == NULL)
		return IB_ERR_INVALID_ARG;
	if ((rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return IB_ERR_BACKUP_NOT_FOUND;
	if ((dir = opendir(root)) == NULL) {
		close(rootfd);
		return ib_err_from_errno(errno, root);
	}
	while (r == IB_OK && (de = readdir(dir)) != NULL) {
		const char *udid = de->d_name;

		if (de->d_name[0] == '.') {
			/* A running backup whose folder may not exist yet. */
			if ((udid = lock_udid(de->d_name, buf, sizeof(buf))) == NULL ||
			    !udid_ok(udid) || !ib_backup_lock_held(root, udid))
				continue;
		} else if (!udid_ok(udid) || !is_backup_dir(rootfd, root, udid)) {
			continue;
		}
		if (n >= IB_DL_ITEMS_MAX)
			break;
		if ((r = inspect_at(rootfd, root, udid, &s)) == IB_ERR_BACKUP_NOT_FOUND) {
			r = IB_OK;
			continue;
		}
		if (r != IB_OK)
			break;
		if ((added = add_summary(&list, &n, &cap, &s)) != 0) {
			ib_backup_summary_clear(&s);
			if (added < 0)
				r = IB_ERR_NOMEM;
		}
	}
	closedir(dir);
	close(rootfd);
	if (r != IB_OK) {
		ib_backup_summaries_free(list, n);
		return r;
	}
	if (n > 1)
		qsort(list, n, sizeof(*list), newest_first);
	*listp = list;
	*countp = n;
	return IB_OK;
}
