/*
 * mb2_test_util.h - helpers shared by the mobilebackup2 tests: scratch
 * folders, small files, listings, and the Python plistlib cross-check.
 */
#ifndef IB_MB2_TEST_UTIL_H
#define IB_MB2_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <plist/plist.h>

/* mkdtemp("/tmp/ib_<tag>_XXXXXX") into buf; aborts on failure. */
void tu_mkdtemp(char *buf, size_t n, const char *tag);
/* rm -rf dir. */
void tu_rmrf(const char *dir);
/* base/rel, into out. */
void tu_path(char *out, size_t n, const char *base, const char *rel);
/* Write base/rel (parents created); IB_OK or an error. */
int tu_put(const char *base, const char *rel, const void *data, size_t len);
/* Does base/rel exist (lstat)? */
int tu_exists(const char *base, const char *rel);
/* Is base/rel a file holding exactly want? */
int tu_content_is(const char *base, const char *rel, const char *want);
/* Does a DLContentsOfDirectory dict hold name with this type (and size
 * and mtime unless -1)? */
int tu_entry_is(plist_t dict, const char *name, const char *type, int64_t size,
    int64_t mtime);
/*
 * Run `python3 -c 'import plistlib,sys; v=plistlib.load(open(sys.argv[1],"rb")); sys.exit(0 if (EXPR) else 1)'`
 * over the bytes: 0 = EXPR held, 1 = it did not, -1 = no python3 (a line
 * says the check was skipped).
 */
int tu_plistlib_check(const void *data, size_t len, const char *expr);

#endif /* IB_MB2_TEST_UTIL_H */
