/*
 * mb2_fs_tree.c - the recursive operations of mb2_fs: remove, move, copy,
 * and directory listings. Every walk goes through directory fds opened
 * with O_NOFOLLOW and looks at entries with AT_SYMLINK_NOFOLLOW, so a
 * symlink inside a tree is removed as a link, never entered.
 */
#include "mb2_fs.h"
#include "mb2_fs_int.h"
#include "dl_msg.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_BUF (64u * 1024u)

/*
 * Call fn(dirfd, name, ctx) for each entry of the directory fd except "."
 * and ".."; fd is taken (closed here). Stops at the first non-zero
 * return. 0 or an errno value.
 */
static int
each_entry(int fd, int (*fn)(int dfd, const char *name, void *ctx), void *ctx)
{
	struct dirent *de;
	DIR *dir;
	int e = 0;

	if ((dir = fdopendir(fd)) == NULL) {
		e = errno;
		close(fd);
		return e;
	}
	while (e == 0) {
		errno = 0;
		if ((de = readdir(dir)) == NULL) {
			e = errno;
			break;
		}
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			e = fn(dirfd(dir), de->d_name, ctx);
	}
	closedir(dir);
	return e;
}

static int rm_at(int dfd, const char *name, unsigned depth);

static int
rm_entry(int dfd, const char *name, void *ctx)
{
	return rm_at(dfd, name, *(const unsigned *)ctx);
}

/* Remove name under dfd: a file or link with unlink, a directory with
 * its whole tree. Missing is fine. 0 or errno. */
static int
rm_at(int dfd, const char *name, unsigned depth)
{
	struct stat st;
	unsigned next = depth + 1;
	int fd, e;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) == 0 || errno == ENOENT ? 0 : errno;
	if (depth >= IB_FS_DEPTH_MAX)
		return ELOOP;
	if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno;
	e = each_entry(fd, rm_entry, &next);
	if (e == 0 && unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		e = errno;
	return e;
}

int
ib_mb2_fs_remove(struct ib_mb2_fs *fs, const char *path, struct ib_mb2_fs_error *errp)
{
	struct ib_mb2_fs_error le;
	const char *name;
	char *norm = NULL;
	int dfd = -1, r, e;

	r = ib_mb2_fs_resolve(fs, path, 0, &norm, &dfd, &name, &le);
	if (r == IB_ERR_BACKUP_IO && le.errnum == ENOENT) {
		ib_err_detail_clear();
		return IB_OK;   /* the parent is missing: nothing to remove */
	}
	if (r == IB_ERR_BACKUP_IO && errp != NULL)
		*errp = le;
	if (r != IB_OK)
		return r;
	e = rm_at(dfd, name, 0);
	r = e != 0 ? ib_mb2_fs_errno(errp, e, norm) : IB_OK;
	close(dfd);
	free(norm);
	return r;
}

/* Is path a (proper) descendant of dir, as normalised strings? */
static int
is_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* Source and destination of a move or copy, resolved. */
struct pair {
	char *snorm, *dnorm;
	const char *sname, *dname;
	int sfd, dfd;
};

/* Resolve both (dst's parents created); on failure nothing is held. */
static int
pair_resolve(struct ib_mb2_fs *fs, const char *src, const char *dst, struct pair *p,
    struct ib_mb2_fs_error *errp)
{
	int r;

	memset(p, 0, sizeof(*p));
	p->sfd = p->dfd = -1;
	/* Check dst first: an unsafe dst must not leave parents behind. */
	if ((r = ib_mb2_fs_path_check(dst)) != IB_OK ||
	    (r = ib_mb2_fs_resolve(fs, src, 0, &p->snorm, &p->sfd, &p->sname, errp)) != IB_OK)
		return r;
	if ((r = ib_mb2_fs_resolve(fs, dst, 1, &p->dnorm, &p->dfd, &p->dname, errp)) != IB_OK) {
		close(p->sfd);
		free(p->snorm);
		memset(p, 0, sizeof(*p));
	}
	return r;
}

static void
pair_free(struct pair *p)
{
	close(p->sfd);
	close(p->dfd);
	free(p->snorm);
	free(p->dnorm);
}

static int
move_resolved(int sfd, const char *sname, int dfd, const char *dname)
{
	struct stat ss, ds;

	if (fstatat(sfd, sname, &ss, AT_SYMLINK_NOFOLLOW) != 0)
		return errno;
	if (fstatat(dfd, dname, &ds, AT_SYMLINK_NOFOLLOW) == 0) {
		if (ds.st_dev == ss.st_dev && ds.st_ino == ss.st_ino)
			return 0;
		/* rename() replaces a file atomically, but not a non-empty
		 * directory, nor one type with the other. */
		if (S_ISDIR(ds.st_mode) || S_ISDIR(ss.st_mode)) {
			int e = rm_at(dfd, dname, 0);

			if (e != 0)
				return e;
		}
	} else if (errno != ENOENT) {
		return errno;
	}
	return renameat(sfd, sname, dfd, dname) == 0 ? 0 : errno;
}

int
ib_mb2_fs_move(struct ib_mb2_fs *fs, const char *src, const char *dst,
    struct ib_mb2_fs_error *errp)
{
	struct pair p;
	int r, e;

	if ((r = pair_resolve(fs, src, dst, &p, errp)) != IB_OK)
		return r;
	/* Replacing an ancestor of the source would delete the source. */
	e = is_below(p.snorm, p.dnorm) || is_below(p.dnorm, p.snorm) ? EINVAL :
	    move_resolved(p.sfd, p.sname, p.dfd, p.dname);
	r = e != 0 ? ib_mb2_fs_errno(errp, e, e == ENOENT ? p.snorm : p.dnorm) : IB_OK;
	pair_free(&p);
	return r;
}

static int
copy_data(int in, int out, uint8_t *buf)
{
	for (;;) {
		ssize_t n = read(in, buf, COPY_BUF), off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return 0;
		while (off < n) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return errno;
			off += w;
		}
	}
}

static int
copy_file_at(int sfd, const char *sname, const struct stat *ss, int dfd, const char *dname,
    uint8_t *buf)
{
	struct timespec times[2];
	int in, out, e;

	in = openat(sfd, sname, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (in < 0)
		return errno;
	out = openat(dfd, dname, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		e = errno;
		close(in);
		return e;
	}
	e = copy_data(in, out, buf);
	/* Keep the mtime: the device compares it in directory listings. */
	times[0] = ss->st_atim;
	times[1] = ss->st_mtim;
	if (e == 0 && futimens(out, times) != 0)
		e = errno;
	if (close(out) != 0 && e == 0)
		e = errno;
	close(in);
	return e;
}

struct copy_ctx {
	int out;                        /* destination directory */
	unsigned depth;
	uint8_t *buf;
};

static int copy_at(int sfd, const char *sname, int dfd, const char *dname, unsigned depth,
    uint8_t *buf);

static int
copy_entry(int dfd, const char *name, void *ctx)
{
	const struct copy_ctx *c = ctx;

	return copy_at(dfd, name, c->out, name, c->depth, c->buf);
}

static int
copy_at(int sfd, const char *sname, int dfd, const char *dname, unsigned depth, uint8_t *buf)
{
	struct copy_ctx c;
	struct stat ss;
	int in, e;

	if (fstatat(sfd, sname, &ss, AT_SYMLINK_NOFOLLOW) != 0)
		return errno;
	if (S_ISREG(ss.st_mode))
		return copy_file_at(sfd, sname, &ss, dfd, dname, buf);
	if (!S_ISDIR(ss.st_mode))
		return S_ISLNK(ss.st_mode) ? ELOOP : EINVAL;
	if (depth >= IB_FS_DEPTH_MAX)
		return ELOOP;
	if (mkdirat(dfd, dname, 0700) != 0)
		return errno;
	if ((in = openat(sfd, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno;
	c.out = openat(dfd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (c.out < 0) {
		e = errno;
		close(in);
		return e;
	}
	c.depth = depth + 1;
	c.buf = buf;
	e = each_entry(in, copy_entry, &c);
	close(c.out);
	return e;
}

int
ib_mb2_fs_copy(struct ib_mb2_fs *fs, const char *src, const char *dst,
    struct ib_mb2_fs_error *errp)
{
	struct stat st;
	struct pair p;
	uint8_t *buf;
	int r, e;

	if ((r = pair_resolve(fs, src, dst, &p, errp)) != IB_OK)
		return r;
	if ((buf = malloc(COPY_BUF)) == NULL) {
		pair_free(&p);
		return IB_ERR_NOMEM;
	}
	if (strcmp(p.snorm, p.dnorm) == 0 || is_below(p.dnorm, p.snorm) ||
	    is_below(p.snorm, p.dnorm)) {
		e = EINVAL;     /* into itself, or over its own ancestor */
	} else if (fstatat(p.sfd, p.sname, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		e = errno;
	} else {
		e = rm_at(p.dfd, p.dname, 0);
		if (e == 0)
			e = copy_at(p.sfd, p.sname, p.dfd, p.dname, 0, buf);
	}
	r = e != 0 ? ib_mb2_fs_errno(errp, e, p.snorm) : IB_OK;
	free(buf);
	pair_free(&p);
	return r;
}

/* Names go into a binary plist, which only carries valid UTF-8. */
static int
valid_utf8(const char *s)
{
	const uint8_t *p = (const uint8_t *)s;

	while (*p != 0) {
		size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 :
		    (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
		size_t i;

		if (n == 0 || (n == 2 && *p < 0xc2))
			return 0;
		for (i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return 0;
		p += n;
	}
	return 1;
}

struct list_ctx {
	plist_t dict;
	size_t count;
};

static int
list_entry(int dfd, const char *name, void *ctx)
{
	struct list_ctx *l = ctx;
	struct ib_mb2_fs_stat fst;
	struct stat st;

	if (!valid_utf8(name)) {
		ib_debug("skipping a name that is not UTF-8 in a listing");
		return 0;
	}
	if (++l->count > IB_DL_ITEMS_MAX)
		return EFBIG;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : errno;     /* ENOENT: removed meanwhile */
	ib_mb2_fs_fill_stat(&st, &fst);
	if (ib_dl_contents_add(l->dict, name, (enum ib_dl_file_type)fst.type, fst.size,
	    fst.mtime) != IB_OK)
		return ENOMEM;
	return 0;
}

int
ib_mb2_fs_contents(struct ib_mb2_fs *fs, const char *path, plist_t *dictp,
    struct ib_mb2_fs_error *errp)
{
	char *norm = NULL;
	plist_t dict = NULL;
	int fd = -1, r, e;

	*dictp = NULL;
	if ((r = ib_mb2_fs_check(fs, path, &norm)) != IB_OK)
		return r;
	if ((dict = plist_new_dict()) == NULL) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	e = ib_mb2_fs_open_dir(fs, norm, strlen(norm), 0, &fd);
	if (e == 0) {
		struct list_ctx l = { dict, 0 };

		e = each_entry(fd, list_entry, &l);     /* takes fd */
	}
	if (e == ENOMEM) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	if (e != 0) {
		r = ib_mb2_fs_errno(errp, e, norm);
		goto out;
	}
	*dictp = dict;
	dict = NULL;
	r = IB_OK;
out:
	plist_free(dict);
	free(norm);
	return r;
}
