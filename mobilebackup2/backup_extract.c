/*
 * backup_extract.c - `extract`: the files of a backup, by domain and
 * relative path, into an output folder, confined to it (backup_dir.h).
 *
 * Decisions: symlink rows are never recreated (a link from a backup could
 * point anywhere, and a later row could write through it); they are
 * skipped with an info line. Rows whose domain, path or fileID could
 * lead outside OUTDIR or the backup folder are skipped and counted.
 */
#include "backup_dir.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_util.h"
#include "manifest_db.h"
#include "mb2_fs.h"
#include "mb2_fs_int.h"
#include "mbfile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXTRACT_BUF (64u * 1024u)

struct xctx {
	struct ib_mb2_fs *src;          /* <root>/<udid> */
	struct ib_mb2_fs *dst;          /* OUTDIR */
	const struct ib_extract_opts *opts;
	struct ib_extract_stats st;
	uint8_t *buf;
	int decrypting;                 /* encrypted backup: payloads via the hook */
	int first_error;
};

/* A domain names one folder under OUTDIR. */
static int
domain_ok(const char *d)
{
	return d[0] != '\0' && strlen(d) <= 255 && strchr(d, '/') == NULL &&
	    ib_mb2_fs_path_check(d) == IB_OK;
}

static int
file_id_ok(const char *id)
{
	size_t i;

	for (i = 0; i < 40; i++)
		if (!isxdigit((unsigned char)id[i]) || isupper((unsigned char)id[i]))
			return 0;
	return id[40] == '\0';
}

int
ib_backup_entry_path(const char *domain, const char *relative_path, const char *file_id,
    int64_t flags, char **outp)
{
	char *path = NULL;

	*outp = NULL;
	if (domain == NULL || relative_path == NULL || file_id == NULL)
		return IB_ERR_INVALID_ARG;
	if (!domain_ok(domain) || !file_id_ok(file_id))
		return IB_ERR_UNSAFE_PATH;
	if (relative_path[0] == '\0') {
		/* The domain folder itself: only a directory may go there. */
		if (flags == IB_MANIFEST_FLAG_FILE)
			return IB_ERR_UNSAFE_PATH;
		path = strdup(domain);
	} else if (ib_mb2_fs_path_check(relative_path) != IB_OK) {
		return IB_ERR_UNSAFE_PATH;
	} else if (asprintf(&path, "%s/%s", domain, relative_path) < 0) {
		path = NULL;
	}
	if (path == NULL)
		return IB_ERR_NOMEM;
	if (strlen(path) > IB_PATH_MAX) {
		free(path);
		return IB_ERR_UNSAFE_PATH;
	}
	*outp = path;
	return IB_OK;
}

/* Log a row's domain and path (peer text: control characters masked). */
static void
log_row(int level, const char *what, const struct ib_manifest_row *row)
{
	char d[96], p[256];

	ib_mb2_printable(row->domain, d, sizeof(d));
	ib_mb2_printable(row->relative_path, p, sizeof(p));
	ib_logf(level, "extract", "%s (domain %s, path %s)", what, d, p);
}

static void
note_error(struct xctx *x, const char *what, const char *path)
{
	char shown[256];

	x->st.errors++;
	ib_mb2_printable(path, shown, sizeof(shown));
	ib_warn("extract: cannot write %s: %s", shown, what);
	if (x->first_error == IB_OK)
		x->first_error = IB_ERR_BACKUP_IO;
}

static int
copy_plain(int in, int out, uint8_t *buf, uint64_t *bytesp)
{
	*bytesp = 0;
	for (;;) {
		ssize_t n = read(in, buf, EXTRACT_BUF), off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ib_err_from_errno(errno, "reading a payload");
		if (n == 0)
			return IB_OK;
		while (off < n) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return ib_err_from_errno(errno, "writing");
			off += w;
		}
		*bytesp += (uint64_t)n;
		if (ib_interrupted())
			return IB_ERR_INTERRUPTED;
	}
}

/* Mode and times from the MBFile, after the data is in place. */
static void
apply_meta(int fd, const struct ib_mbfile *f, int is_dir)
{
	struct timespec ts[2];

	if (f == NULL)
		return;
	(void)fchmod(fd, (f->mode & 0777) | (is_dir ? 0700 : 0));
	ts[0].tv_sec = f->last_modified;
	ts[0].tv_nsec = 0;
	ts[1] = ts[0];
	(void)futimens(fd, ts);
}

static int
extract_file(struct xctx *x, const struct ib_manifest_row *row, const char *path,
    const struct ib_mbfile *f)
{
	struct ib_mb2_fs_error err;
	char payload[44];
	uint64_t size = 0, bytes = 0;
	int in = -1, out = -1, r;

	snprintf(payload, sizeof(payload), "%.2s/%s", row->file_id, row->file_id);
	r = ib_mb2_fs_open_read(x->src, payload, &in, &size, &err);
	if (r == IB_ERR_BACKUP_IO && err.errnum == ENOENT) {
		char shown[256];

		x->st.missing++;
		ib_mb2_printable(path, shown, sizeof(shown));
		ib_info("extract: %s is not in the backup (no %s)", shown, payload);
		return IB_OK;
	}
	if (r != IB_OK)
		return r;
	if ((r = ib_mb2_fs_open_write(x->dst, path, &out, &err)) != IB_OK) {
		if (r == IB_ERR_BACKUP_IO)
			note_error(x, err.text, path);
		close(in);
		return r == IB_ERR_BACKUP_IO ? IB_OK : r;
	}
	if (x->decrypting && x->opts->decrypt->copy_file != NULL)
		r = x->opts->decrypt->copy_file(x->opts->decrypt->ctx, f, in, out);
	else
		r = copy_plain(in, out, x->buf, &bytes);
	if (r == IB_OK) {
		if (x->decrypting)
			bytes = f != NULL ? f->size : 0;
		else if (f != NULL && f->size != size)
			x->st.size_mismatch++;
		apply_meta(out, f, 0);
		x->st.files++;
		x->st.bytes += bytes;
	}
	close(in);
	if (close(out) != 0 && r == IB_OK)
		r = ib_err_from_errno(errno, path);
	if (r == IB_ERR_MB2_NO_SPACE || r == IB_ERR_INTERRUPTED || r == IB_ERR_NOMEM)
		return r;
	if (r != IB_OK) {
		note_error(x, ib_err_detail(), path);
		return IB_OK;
	}
	if (x->opts->progress != NULL)
		return x->opts->progress(x->opts->progress_ctx, row->domain, row->relative_path, bytes);
	return IB_OK;
}

static int
extract_row(void *ctx, const struct ib_manifest_row *row)
{
	struct xctx *x = ctx;
	struct ib_mb2_fs_error err;
	struct ib_mbfile *f = NULL;
	char *path = NULL;
	int r;

	if (ib_interrupted())
		return IB_ERR_INTERRUPTED;
	if (row->flags != IB_MANIFEST_FLAG_FILE && row->flags != IB_MANIFEST_FLAG_DIR) {
		if (row->flags == IB_MANIFEST_FLAG_SYMLINK) {
			x->st.links_skipped++;
			log_row(IB_LOG_INFO, "not creating a symlink", row);
		}
		return IB_OK;
	}
	r = ib_backup_entry_path(row->domain, row->relative_path, row->file_id, row->flags, &path);
	if (r == IB_ERR_UNSAFE_PATH) {
		x->st.unsafe_skipped++;
		log_row(IB_LOG_WARN, "refusing an unsafe entry", row);
		return IB_OK;
	}
	if (r != IB_OK)
		return r;
	if (row->blob != NULL && ib_mbfile_decode(row->blob, row->blob_len, &f) != IB_OK)
		ib_debug("extract: %s has no usable MBFile record", path);
	if (row->flags == IB_MANIFEST_FLAG_DIR) {
		r = ib_mb2_fs_mkdir(x->dst, path, &err);
		if (r == IB_OK)
			x->st.dirs++;
		else if (r == IB_ERR_BACKUP_IO)
			note_error(x, err.text, path);
		r = r == IB_ERR_BACKUP_IO || r == IB_ERR_MB2_UNSAFE_PATH ? IB_OK : r;
	} else {
		r = extract_file(x, row, path, f);
	}
	if (r == IB_ERR_MB2_UNSAFE_PATH)
		r = IB_OK;      /* cannot happen: the path was checked above */
	ib_mbfile_free(f);
	free(path);
	return r;
}

/* Second pass: directory modes and times, once their files are in. */
static int
dir_meta_row(void *ctx, const struct ib_manifest_row *row)
{
	struct xctx *x = ctx;
	struct ib_mbfile *f = NULL;
	char *path = NULL;
	int dfd = -1;

	if (row->blob == NULL || ib_backup_entry_path(row->domain, row->relative_path,
	    row->file_id, row->flags, &path) != IB_OK)
		return IB_OK;
	if (ib_mbfile_decode(row->blob, row->blob_len, &f) == IB_OK &&
	    ib_mb2_fs_open_dir(x->dst, path, strlen(path), 0, &dfd) == 0) {
		apply_meta(dfd, f, 1);
		close(dfd);
	}
	ib_mbfile_free(f);
	free(path);
	return IB_OK;
}

static int
open_manifest(const char *root, const char *udid, const struct ib_extract_opts *opts,
    struct ib_manifest_reader **rp, int *decryptingp)
{
	struct ib_manifest_plist *mp = NULL;
	char *dir = NULL, *mpath = NULL, *dbpath = NULL, *plain = NULL;
	int r;

	*decryptingp = 0;
	if (asprintf(&dir, "%s/%s", root, udid) < 0 ||
	    asprintf(&mpath, "%s/Manifest.plist", dir) < 0 ||
	    asprintf(&dbpath, "%s/Manifest.db", dir) < 0) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	r = ib_manifest_plist_read(mpath, &mp);
	if (r != IB_OK && r != IB_ERR_BACKUP_NOT_FOUND)
		goto out;
	if (mp != NULL && mp->is_encrypted) {
		if (opts->decrypt == NULL || opts->decrypt->open_manifest == NULL) {
			ib_err_detail_set("the backup of %s is encrypted: extracting it needs the "
			    "password support of step 4", udid);
			r = IB_ERR_BACKUP_ENCRYPTED;
			goto out;
		}
		if ((r = opts->decrypt->open_manifest(opts->decrypt->ctx, dbpath, mp, &plain)) != IB_OK)
			goto out;
		*decryptingp = 1;
	}
	if (plain == NULL && access(dbpath, F_OK) != 0) {
		ib_err_detail_set("the backup of %s has no Manifest.db", udid);
		r = IB_ERR_BACKUP_INCOMPLETE;
		goto out;
	}
	r = ib_manifest_reader_open(plain != NULL ? plain : dbpath, rp);
out:
	free(plain);
	ib_manifest_plist_free(mp);
	free(dir);
	free(mpath);
	free(dbpath);
	return r;
}

int
ib_backup_extract(const char *root, const char *udid, const char *outdir,
    const struct ib_extract_opts *opts, struct ib_extract_stats *stats)
{
	static const struct ib_extract_opts no_opts;
	struct ib_manifest_filter filter;
	struct ib_manifest_reader *db = NULL;
	struct xctx x;
	char *bdir = NULL;
	int r, decrypting = 0;

	memset(&x, 0, sizeof(x));
	if (stats != NULL)
		memset(stats, 0, sizeof(*stats));
	if (opts == NULL)
		opts = &no_opts;
	x.opts = opts;
	if (root == NULL || outdir == NULL || !domain_ok(udid ? udid : ""))
		return IB_ERR_INVALID_ARG;
	if (asprintf(&bdir, "%s/%s", root, udid) < 0) {
		bdir = NULL;
		r = IB_ERR_NOMEM;
		goto out;
	}
	if ((r = ib_mb2_fs_open(bdir, 0, &x.src)) != IB_OK)
		goto out;
	if ((r = open_manifest(root, udid, opts, &db, &decrypting)) != IB_OK)
		goto out;
	x.decrypting = decrypting;
	if ((r = ib_mb2_fs_open(outdir, 1, &x.dst)) != IB_OK)
		goto out;
	if ((x.buf = malloc(EXTRACT_BUF)) == NULL) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	filter.domain = opts->domain;
	filter.path_glob = opts->path_glob;
	filter.flags = 0;
	if ((r = ib_manifest_reader_foreach(db, &filter, extract_row, &x)) != IB_OK)
		goto out;
	filter.flags = IB_MANIFEST_FLAG_DIR;
	if ((r = ib_manifest_reader_foreach(db, &filter, dir_meta_row, &x)) != IB_OK)
		goto out;
	r = x.first_error != IB_OK ? x.first_error :
	    x.st.unsafe_skipped > 0 ? IB_ERR_UNSAFE_PATH : IB_OK;
out:
	if (decrypting && opts->decrypt->done != NULL)
		opts->decrypt->done(opts->decrypt->ctx);
	if (stats != NULL)
		*stats = x.st;
	ib_manifest_reader_free(db);
	ib_mb2_fs_free(x.src);
	ib_mb2_fs_free(x.dst);
	free(x.buf);
	free(bdir);
	return r;
}
