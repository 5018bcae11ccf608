/*
 * mb2_fs.c - confined file operations on the backup root (mb2_fs.h).
 *
 * Internal helpers return 0 or an errno value; the public functions turn
 * that into IB_ERR_BACKUP_IO plus the DL code and text in one place.
 */
#include "mb2_fs.h"
#include "mb2_fs_int.h"
#include "dl_msg.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

struct ib_mb2_fs {
	int rootfd;
	int try_openat2;                /* cleared for good on ENOSYS */
	char *scope;
};

int
ib_mb2_fs_path_check(const char *path)
{
	size_t len, i, start;

	if (path == NULL || (len = strlen(path)) == 0) {
		ib_err_detail_set("the device sent an empty path");
		return IB_ERR_MB2_UNSAFE_PATH;
	}
	if (len > IB_PATH_MAX || path[0] == '/') {
		ib_err_detail_set("the device sent an %s path",
		    path[0] == '/' ? "absolute" : "overlong");
		return IB_ERR_MB2_UNSAFE_PATH;
	}
	if (len > 1 && path[len - 1] == '/')
		len--;          /* one trailing slash is tolerated */
	for (start = 0, i = 0; i <= len; i++) {
		size_t n;

		if (i < len && path[i] != '/')
			continue;
		n = i - start;
		if (n == 0 || (n == 1 && path[start] == '.') ||
		    (n == 2 && path[start] == '.' && path[start + 1] == '.')) {
			ib_err_detail_set("the device sent a path with an empty, \".\" or \"..\" component");
			return IB_ERR_MB2_UNSAFE_PATH;
		}
		start = i + 1;
	}
	return IB_OK;
}

void
ib_mb2_printable(const char *s, char *out, size_t n)
{
	size_t i;

	if (n == 0)
		return;
	for (i = 0; s != NULL && s[i] != '\0' && i + 1 < n; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	out[i] = '\0';
}

int
ib_mb2_fs_errno(struct ib_mb2_fs_error *errp, int errnum, const char *path)
{
	const char *text = strerrordesc_np(errnum);
	char shown[256];

	if (text == NULL)
		text = "Unknown error";
	if (errp != NULL) {
		errp->errnum = errnum;
		errp->dl_code = ib_dl_status_from_errno(errnum);
		snprintf(errp->text, sizeof(errp->text), "%s", text);
	}
	ib_mb2_printable(path, shown, sizeof(shown));
	ib_err_detail_set("%s: %s", shown, text);
	return IB_ERR_BACKUP_IO;
}

int
ib_mb2_fs_check(const struct ib_mb2_fs *fs, const char *path, char **normp)
{
	size_t len;
	int r;

	*normp = NULL;
	if ((r = ib_mb2_fs_path_check(path)) != IB_OK)
		return r;
	len = strlen(path);
	if (path[len - 1] == '/')
		len--;
	if (fs->scope != NULL) {
		size_t sl = strlen(fs->scope);

		if (len < sl || memcmp(path, fs->scope, sl) != 0 ||
		    (len > sl && path[sl] != '/')) {
			ib_err_detail_set("the device named a path outside its folder %s", fs->scope);
			return IB_ERR_MB2_UNSAFE_PATH;
		}
	}
	if ((*normp = strndup(path, len)) == NULL)
		return IB_ERR_NOMEM;
	return IB_OK;
}

int
ib_mb2_fs_open(const char *root, int create, struct ib_mb2_fs **fsp)
{
	struct ib_mb2_fs *fs;
	int r;

	*fsp = NULL;
	if (root == NULL)
		return IB_ERR_INVALID_ARG;
	if (create && (r = ib_mkdir_p(root, 0700)) != IB_OK)
		return r;
	if ((fs = calloc(1, sizeof(*fs))) == NULL)
		return IB_ERR_NOMEM;
	fs->try_openat2 = 1;
	if ((fs->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = ib_err_from_errno(errno, root);
		free(fs);
		return r == IB_ERR_NOT_FOUND ? IB_ERR_BACKUP_NOT_FOUND : r;
	}
	*fsp = fs;
	return IB_OK;
}

void
ib_mb2_fs_free(struct ib_mb2_fs *fs)
{
	if (fs == NULL)
		return;
	close(fs->rootfd);
	free(fs->scope);
	free(fs);
}

int
ib_mb2_fs_set_scope(struct ib_mb2_fs *fs, const char *first_component)
{
	char *s = NULL;

	if (first_component != NULL) {
		if (strchr(first_component, '/') != NULL ||
		    ib_mb2_fs_path_check(first_component) != IB_OK)
			return IB_ERR_INVALID_ARG;
		if ((s = strdup(first_component)) == NULL)
			return IB_ERR_NOMEM;
	}
	free(fs->scope);
	fs->scope = s;
	return IB_OK;
}

void
ib_mb2_fs_use_openat2(struct ib_mb2_fs *fs, int on)
{
	fs->try_openat2 = on != 0;
}

int
ib_mb2_fs_root_fd(const struct ib_mb2_fs *fs)
{
	return fs->rootfd;
}

/* openat2 of a relative directory path; -1 with errno ENOSYS when the
 * kernel (or libc headers) lack it. */
static int
open_dir_openat2(int rootfd, const char *rel)
{
#ifdef SYS_openat2
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	return (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
#else
	(void)rootfd;
	(void)rel;
	errno = ENOSYS;
	return -1;
#endif
}

/* One step down: the directory name under dfd, never through a symlink;
 * created (0700) when missing and create is set. */
static int
step_dir(int dfd, const char *name, int create, int *fdp)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(dfd, name, 0700) != 0 && errno != EEXIST)
			return errno;
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		int e = errno;
		struct stat st;

		/* O_NOFOLLOW | O_DIRECTORY on a link says ENOTDIR; report a
		 * link as ELOOP, as openat2 does. */
		if (e == ENOTDIR && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			e = ELOOP;
		return e;
	}
	*fdp = fd;
	return 0;
}

/* Component-by-component walk; rel is validated and may be modified. */
static int
open_dir_walk(int rootfd, char *rel, int create, int *fdp)
{
	int fd, nfd = -1, e;
	char *comp, *slash;

	if ((fd = dup(rootfd)) < 0)
		return errno;
	for (comp = rel; comp != NULL; comp = slash != NULL ? slash + 1 : NULL) {
		if ((slash = strchr(comp, '/')) != NULL)
			*slash = '\0';
		e = step_dir(fd, comp, create, &nfd);
		if (slash != NULL)
			*slash = '/';
		close(fd);
		if (e != 0)
			return e;
		fd = nfd;
	}
	*fdp = fd;
	return 0;
}

int
ib_mb2_fs_open_dir(struct ib_mb2_fs *fs, const char *rel, size_t len, int create, int *fdp)
{
	char *copy;
	int fd, e;

	*fdp = -1;
	if (len == 0) {
		if ((fd = dup(fs->rootfd)) < 0)
			return errno;
		*fdp = fd;
		return 0;
	}
	if ((copy = strndup(rel, len)) == NULL)
		return ENOMEM;
	if (fs->try_openat2) {
		fd = open_dir_openat2(fs->rootfd, copy);
		if (fd >= 0) {
			free(copy);
			*fdp = fd;
			return 0;
		}
		e = errno;
		if (e == ENOSYS)
			fs->try_openat2 = 0;
		/* EXDEV/ELOOP: an escape or a symlink; EAGAIN: a rename race
		 * the kernel refused to resolve. All final except ENOENT when
		 * we may create, and ENOSYS. */
		if (e != ENOSYS && !(e == ENOENT && create)) {
			free(copy);
			return e == EXDEV ? ELOOP : e;
		}
	}
	e = open_dir_walk(fs->rootfd, copy, create, fdp);
	free(copy);
	return e;
}

int
ib_mb2_fs_resolve(struct ib_mb2_fs *fs, const char *path, int create_parents,
    char **normp, int *dirfdp, const char **namep, struct ib_mb2_fs_error *errp)
{
	char *norm = NULL, *slash;
	int r, e;

	*normp = NULL;
	*dirfdp = -1;
	*namep = NULL;
	if ((r = ib_mb2_fs_check(fs, path, &norm)) != IB_OK)
		return r;
	slash = strrchr(norm, '/');
	e = ib_mb2_fs_open_dir(fs, norm, slash != NULL ? (size_t)(slash - norm) : 0,
	    create_parents, dirfdp);
	if (e != 0) {
		r = e == ENOMEM ? IB_ERR_NOMEM : ib_mb2_fs_errno(errp, e, norm);
		free(norm);
		return r;
	}
	*normp = norm;
	*namep = slash != NULL ? slash + 1 : norm;
	return IB_OK;
}

/* Open a regular file; O_NONBLOCK so a planted FIFO cannot block us. */
static int
open_regular(int dfd, const char *name, int flags, int *fdp, uint64_t *sizep)
{
	struct stat st;
	int fd = openat(dfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600);

	if (fd < 0)
		return errno;
	if (fstat(fd, &st) != 0) {
		int e = errno;

		close(fd);
		return e;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
	}
	if (fcntl(fd, F_SETFL, flags & O_ACCMODE) != 0) {
		close(fd);
		return errno;
	}
	if (sizep != NULL)
		*sizep = (uint64_t)st.st_size;
	*fdp = fd;
	return 0;
}

int
ib_mb2_fs_open_write(struct ib_mb2_fs *fs, const char *path, int *fdp,
    struct ib_mb2_fs_error *errp)
{
	const char *name;
	char *norm = NULL;
	int dfd = -1, r, e;

	*fdp = -1;
	if ((r = ib_mb2_fs_resolve(fs, path, 1, &norm, &dfd, &name, errp)) != IB_OK)
		return r;
	e = open_regular(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, fdp, NULL);
	r = e != 0 ? ib_mb2_fs_errno(errp, e, norm) : IB_OK;
	close(dfd);
	free(norm);
	return r;
}

int
ib_mb2_fs_open_read(struct ib_mb2_fs *fs, const char *path, int *fdp,
    uint64_t *sizep, struct ib_mb2_fs_error *errp)
{
	const char *name;
	char *norm = NULL;
	uint64_t size = 0;
	int dfd = -1, r, e;

	*fdp = -1;
	if (sizep != NULL)
		*sizep = 0;
	if ((r = ib_mb2_fs_resolve(fs, path, 0, &norm, &dfd, &name, errp)) != IB_OK)
		return r;
	e = open_regular(dfd, name, O_RDONLY, fdp, &size);
	r = e != 0 ? ib_mb2_fs_errno(errp, e, norm) : IB_OK;
	if (r == IB_OK && sizep != NULL)
		*sizep = size;
	close(dfd);
	free(norm);
	return r;
}

int
ib_mb2_fs_mkdir(struct ib_mb2_fs *fs, const char *path, struct ib_mb2_fs_error *errp)
{
	char *norm = NULL;
	int fd = -1, r, e;

	if ((r = ib_mb2_fs_check(fs, path, &norm)) != IB_OK)
		return r;
	e = ib_mb2_fs_open_dir(fs, norm, strlen(norm), 1, &fd);
	/* Something else already there: mkdir -p says "File exists". */
	if (e == ENOTDIR)
		e = EEXIST;
	r = e == ENOMEM ? IB_ERR_NOMEM : e != 0 ? ib_mb2_fs_errno(errp, e, norm) : IB_OK;
	if (fd >= 0)
		close(fd);
	free(norm);
	return r;
}

int
ib_mb2_fs_stat(struct ib_mb2_fs *fs, const char *path, struct ib_mb2_fs_stat *stp,
    struct ib_mb2_fs_error *errp)
{
	struct stat st;
	const char *name;
	char *norm = NULL;
	int dfd = -1, r;

	memset(stp, 0, sizeof(*stp));
	if ((r = ib_mb2_fs_resolve(fs, path, 0, &norm, &dfd, &name, errp)) != IB_OK)
		return r;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		r = ib_mb2_fs_errno(errp, errno, norm);
	} else {
		ib_mb2_fs_fill_stat(&st, stp);
		r = IB_OK;
	}
	close(dfd);
	free(norm);
	return r;
}

void
ib_mb2_fs_fill_stat(const struct stat *st, struct ib_mb2_fs_stat *stp)
{
	stp->type = S_ISREG(st->st_mode) ? IB_DL_FILE_REGULAR :
	    S_ISDIR(st->st_mode) ? IB_DL_FILE_DIRECTORY : IB_DL_FILE_UNKNOWN;
	stp->size = (uint64_t)st->st_size;
	stp->mtime = (int64_t)st->st_mtim.tv_sec;
	stp->mode = st->st_mode;
}

int
ib_mb2_fs_free_space(struct ib_mb2_fs *fs, uint64_t *bytesp, struct ib_mb2_fs_error *errp)
{
	struct statvfs sv;

	*bytesp = 0;
	if (fstatvfs(fs->rootfd, &sv) != 0)
		return ib_mb2_fs_errno(errp, errno, ".");
	if (sv.f_frsize != 0 && sv.f_bavail > UINT64_MAX / sv.f_frsize)
		*bytesp = UINT64_MAX;
	else
		*bytesp = (uint64_t)sv.f_bavail * sv.f_frsize;
	return IB_OK;
}
