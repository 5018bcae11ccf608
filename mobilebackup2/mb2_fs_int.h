/*
 * mb2_fs_int.h - pieces of mb2_fs shared by its two files; not an API.
 */
#ifndef IB_MB2_FS_INT_H
#define IB_MB2_FS_INT_H

#include <stddef.h>
#include <sys/stat.h>

#include "mb2_fs.h"

/* Copy s into out[n] with control characters as '?' (peer text headed
 * for a terminal); truncated to fit. */
void ib_mb2_printable(const char *s, char *out, size_t n);
/* Fill *errp from errnum (DL code by name, strerror text), note path in
 * the error detail; returns IB_ERR_BACKUP_IO. */
int ib_mb2_fs_errno(struct ib_mb2_fs_error *errp, int errnum, const char *path);
/* Validate path, apply the scope, return a copy without the trailing '/'
 * (IB_OK, IB_ERR_MB2_UNSAFE_PATH, IB_ERR_NOMEM). */
int ib_mb2_fs_check(const struct ib_mb2_fs *fs, const char *path, char **normp);
/* Open the directory rel[0..len) under the root without following a
 * symlink (mkdir -p when create); 0 or an errno value. */
int ib_mb2_fs_open_dir(struct ib_mb2_fs *fs, const char *rel, size_t len, int create,
    int *fdp);
/*
 * Check path and open its parent directory: *normp is the checked path
 * (owned, without trailing '/'), *dirfdp the parent's fd (owned), *namep
 * the last component (inside *normp). IB_OK, IB_ERR_MB2_UNSAFE_PATH,
 * IB_ERR_NOMEM, or IB_ERR_BACKUP_IO with *errp filled.
 */
int ib_mb2_fs_resolve(struct ib_mb2_fs *fs, const char *path, int create_parents,
    char **normp, int *dirfdp, const char **namep, struct ib_mb2_fs_error *errp);
void ib_mb2_fs_fill_stat(const struct stat *st, struct ib_mb2_fs_stat *stp);

#endif /* IB_MB2_FS_INT_H */
