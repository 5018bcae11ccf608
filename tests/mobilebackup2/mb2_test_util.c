/*
 * mb2_test_util.c - see mb2_test_util.h.
 */
#include "mb2_test_util.h"
#include "ib_err.h"
#include "ib_plist.h"
#include "ib_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
tu_mkdtemp(char *buf, size_t n, const char *tag)
{
	snprintf(buf, n, "/tmp/ib_%s_XXXXXX", tag);
	if (mkdtemp(buf) == NULL)
		abort();
}

void
tu_rmrf(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

void
tu_path(char *out, size_t n, const char *base, const char *rel)
{
	snprintf(out, n, "%s/%s", base, rel);
}

int
tu_put(const char *base, const char *rel, const void *data, size_t len)
{
	char p[1024], *slash;

	tu_path(p, sizeof(p), base, rel);
	if ((slash = strrchr(p, '/')) != NULL) {
		*slash = '\0';
		ib_mkdir_p(p, 0700);
		*slash = '/';
	}
	return ib_file_write_atomic(p, data, len, 0600);
}

int
tu_exists(const char *base, const char *rel)
{
	char p[1024];
	struct stat st;

	tu_path(p, sizeof(p), base, rel);
	return lstat(p, &st) == 0;
}

int
tu_content_is(const char *base, const char *rel, const char *want)
{
	char p[1024];
	uint8_t *d = NULL;
	size_t n = 0;
	int same;

	tu_path(p, sizeof(p), base, rel);
	if (ib_file_read(p, 1 << 20, &d, &n) != IB_OK)
		return 0;
	same = n == strlen(want) && memcmp(d, want, n) == 0;
	free(d);
	return same;
}

int
tu_entry_is(plist_t dict, const char *name, const char *type, int64_t size, int64_t mtime)
{
	plist_t e = NULL;
	const char *s;
	uint64_t sz;
	int64_t t;

	if (ib_plist_dict_get_dict(dict, name, &e) != IB_OK ||
	    ib_plist_dict_get_string(e, "DLFileType", &s) != IB_OK || strcmp(s, type) != 0)
		return 0;
	if (size >= 0 && (ib_plist_dict_get_uint(e, "DLFileSize", &sz) != IB_OK ||
	    sz != (uint64_t)size))
		return 0;
	if (mtime >= 0 && (ib_plist_dict_get_date_unix(e, "DLFileModificationDate", &t) != IB_OK ||
	    t != mtime))
		return 0;
	return 1;
}

int
tu_plistlib_check(const void *data, size_t len, const char *expr)
{
	char path[] = "/tmp/ib_plistlib_XXXXXX", *cmd = NULL;
	int fd, rc;

	if (system("command -v python3 >/dev/null 2>&1") != 0) {
		printf("python3 not found: plistlib check skipped\n");
		return -1;
	}
	if ((fd = mkstemp(path)) < 0)
		return 1;
	rc = write(fd, data, len) == (ssize_t)len ? 0 : 1;
	close(fd);
	if (rc == 0 && asprintf(&cmd, "python3 -c 'import plistlib,sys;"
	    "v=plistlib.load(open(sys.argv[1],\"rb\"));sys.exit(0 if (%s) else 1)' %s",
	    expr, path) < 0)
		cmd = NULL;
	rc = cmd != NULL && system(cmd) == 0 ? 0 : 1;
	free(cmd);
	unlink(path);
	return rc;
}
