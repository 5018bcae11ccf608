/*
 * mb2_fs.h - the host's file operations on a backup root, confined to it.
 *
 * During a backup or restore the device drives the host's disk through
 * DeviceLink requests (mobilebackup2.md section 3): every path it sends is
 * relative to the backup root ("<UDID>/Snapshot/3d/3d0d..."). This module
 * is the only code that turns such a path into a file-system operation.
 *
 * Path rules (ib_mb2_fs_path_check): a device path must be non-empty, at
 * most IB_PATH_MAX bytes, relative (no leading '/'), without empty, "."
 * or ".." components; one trailing '/' is tolerated and ignored. A path
 * that breaks a rule is IB_ERR_MB2_UNSAFE_PATH: the backup driver aborts
 * ("the device sent an unsafe path") instead of answering.
 *
 * Resolution never follows a symbolic link below the root: with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
 * when the kernel has it (checked at run time: ENOSYS switches to the
 * fallback), else component by component with openat(O_NOFOLLOW |
 * O_DIRECTORY) from the root's directory fd; the last component is always
 * handled with *at() calls and O_NOFOLLOW / AT_SYMLINK_NOFOLLOW. A symlink
 * met on the way fails the operation with ELOOP (DL code -10); removing
 * or replacing a symlink removes the link itself. The root directory may
 * itself be a symlink: it is opened once, by the caller's trust.
 *
 * Errors. Every operation returns
 *   IB_OK;
 *   IB_ERR_MB2_UNSAFE_PATH - the path breaks the rules above (or leaves the
 *     scope set with ib_mb2_fs_set_scope): abort the session;
 *   IB_ERR_BACKUP_IO - the operation failed on disk; *errp (if not NULL)
 *     holds errno, the DL status code mapped by name (ENOENT -6, EEXIST -7,
 *     ENOTDIR -8, EISDIR -9, ELOOP -10, EIO -11, ENOSPC -15, else -1) and
 *     the text to send back ("No such file or directory"): answer the
 *     device with them and carry on;
 *   IB_ERR_NOMEM / IB_ERR_INVALID_ARG.
 *
 * Files are created 0600 and directories 0700 (a backup holds private
 * data). Not thread-safe; one struct per session.
 */
#ifndef IB_MB2_FS_H
#define IB_MB2_FS_H

#include <stddef.h>
#include <stdint.h>

#include <plist/plist.h>

struct ib_mb2_fs;

struct ib_mb2_fs_error {
	int errnum;                     /* errno of the failed call */
	int dl_code;                    /* IB_DL_STATUS_* */
	char text[128];                 /* strerror-style sentence */
};

struct ib_mb2_fs_stat {
	int type;                       /* enum ib_dl_file_type (dl_msg.h) */
	uint64_t size;
	int64_t mtime;                  /* Unix seconds */
	uint32_t mode;                  /* st_mode */
};

/* The path rules alone (no file system): IB_OK or IB_ERR_MB2_UNSAFE_PATH. */
int ib_mb2_fs_path_check(const char *path);

/* Open the root (a directory; created with mkdir -p when create). */
int ib_mb2_fs_open(const char *root, int create, struct ib_mb2_fs **fsp);
void ib_mb2_fs_free(struct ib_mb2_fs *fs);
/* Optional: every path must also lie inside the first component name
 * (the device's own <UDID> folder). NULL lifts it. */
int ib_mb2_fs_set_scope(struct ib_mb2_fs *fs, const char *first_component);
/* Test hook: 0 forces the openat fallback, 1 tries openat2 again. */
void ib_mb2_fs_use_openat2(struct ib_mb2_fs *fs, int on);
/* The root's directory fd (borrowed; for callers that walk it). */
int ib_mb2_fs_root_fd(const struct ib_mb2_fs *fs);

/* Create or truncate a regular file for writing (parents created first);
 * *fdp is the caller's to close. A symlink or a directory there fails. */
int ib_mb2_fs_open_write(struct ib_mb2_fs *fs, const char *path, int *fdp,
    struct ib_mb2_fs_error *errp);
/* Open a regular file for reading; *sizep its size. */
int ib_mb2_fs_open_read(struct ib_mb2_fs *fs, const char *path, int *fdp,
    uint64_t *sizep, struct ib_mb2_fs_error *errp);
/* mkdir -p; an existing directory is fine, anything else there EEXIST. */
int ib_mb2_fs_mkdir(struct ib_mb2_fs *fs, const char *path, struct ib_mb2_fs_error *errp);
/* Remove a file, link or whole tree; a missing path (or parent) is IB_OK. */
int ib_mb2_fs_remove(struct ib_mb2_fs *fs, const char *path, struct ib_mb2_fs_error *errp);
/* Rename src to dst, replacing dst (recursively when a directory);
 * dst's parents are created. */
int ib_mb2_fs_move(struct ib_mb2_fs *fs, const char *src, const char *dst,
    struct ib_mb2_fs_error *errp);
/* Copy a file or a directory tree (regular files and directories only;
 * anything else inside fails with ELOOP/-1), replacing dst. */
int ib_mb2_fs_copy(struct ib_mb2_fs *fs, const char *src, const char *dst,
    struct ib_mb2_fs_error *errp);
/* lstat-like. */
int ib_mb2_fs_stat(struct ib_mb2_fs *fs, const char *path, struct ib_mb2_fs_stat *stp,
    struct ib_mb2_fs_error *errp);
/* DLContentsOfDirectory answer: *dictp = {name: {DLFileType, DLFileSize,
 * DLFileModificationDate}} (owned); at most IB_DL_ITEMS_MAX entries. */
int ib_mb2_fs_contents(struct ib_mb2_fs *fs, const char *path, plist_t *dictp,
    struct ib_mb2_fs_error *errp);
/* Bytes available to us on the root's file system (f_bavail * f_frsize). */
int ib_mb2_fs_free_space(struct ib_mb2_fs *fs, uint64_t *bytesp,
    struct ib_mb2_fs_error *errp);

#endif /* IB_MB2_FS_H */
