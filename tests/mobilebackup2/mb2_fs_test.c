/*
 * mb2_fs_test - the confined backup-root operations: every unsafe path
 * kind through every operation, symlinks planted inside the root never
 * followed (with openat2 and with the openat fallback), and the normal
 * behaviour the device relies on (replace-on-move, recursive remove, copy
 * tree, listings, error codes).
 */
#include "ib_test.h"
#include "dl_msg.h"
#include "ib_limits.h"
#include "ib_plist.h"
#include "mb2_fs.h"
#include "mb2_test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[64], root[128], outside[128];

static void
sh(const char *fmt, const char *a)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), fmt, a, a, a, a);
	if (system(cmd) != 0)
		fprintf(stderr, "setup command failed: %s\n", cmd);
}

static void
put_file(const char *rel, const char *text)
{
	tu_put(base, rel, text, strlen(text));
}

#define exists(rel) tu_exists(base, (rel))
#define content_is(rel, want) tu_content_is(base, (rel), (want))

/* A fresh tree: root/U with a file, a planted escape to ../outside, an
 * absolute escape, a final-component link to a secret, and a FIFO. */
static void
setup(void)
{
	char cmd[1024];

	if (base[0] != '\0')
		tu_rmrf(base);
	tu_mkdtemp(base, sizeof(base), "mb2fs");
	snprintf(root, sizeof(root), "%s/root", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	sh("mkdir -p '%s/root/U/tree/sub' '%s/outside'", base);
	put_file("outside/secret.txt", "secret");
	put_file("root/U/a.txt", "alpha");
	put_file("root/U/tree/one", "1");
	put_file("root/U/tree/sub/two", "22");
	sh("ln -s ../../outside '%s/root/U/x'", base);
	snprintf(cmd, sizeof(cmd), "ln -s '%s' '%s/root/U/abs' && ln -s '%s/secret.txt' "
	    "'%s/root/U/f' && mkfifo '%s/root/U/fifo'", outside, base, outside, base, base);
	if (system(cmd) != 0)
		fprintf(stderr, "setup failed\n");
}

static void
teardown(void)
{
	tu_rmrf(base);
	base[0] = '\0';
}

IB_TEST(fs_path_rules)
{
	static const char *const bad[] = {
		"", "/etc/passwd", "/", "..", "../x", "a/../b", "a/..", "./a", "a/./b", "a//b",
		".", "a/.", "a//",
	};
	static const char *const good[] = {
		"a", "a/b", "a/b/", "U/Snapshot/3d/3d0d7e5f", ".hidden", "a..b", "...", "a/.b",
		"..a", "a/b..",
	};
	char *longp;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		IB_CHECK_ERR(ib_mb2_fs_path_check(bad[i]), IB_ERR_MB2_UNSAFE_PATH);
	IB_CHECK_ERR(ib_mb2_fs_path_check(NULL), IB_ERR_MB2_UNSAFE_PATH);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		IB_CHECK_OK(ib_mb2_fs_path_check(good[i]));
	longp = malloc(IB_PATH_MAX + 2);
	IB_CHECK(longp != NULL);
	memset(longp, 'a', IB_PATH_MAX + 1);
	longp[IB_PATH_MAX + 1] = '\0';
	IB_CHECK_ERR(ib_mb2_fs_path_check(longp), IB_ERR_MB2_UNSAFE_PATH);
	free(longp);
}

IB_TEST(fs_unsafe_paths_through_every_operation)
{
	static const char *const bad[] = { "/etc/passwd", "../outside/secret.txt",
	    "U/../../outside/secret.txt", "U//a.txt", "", "U/./a.txt" };
	struct ib_mb2_fs *fs = NULL;
	struct ib_mb2_fs_stat st;
	plist_t d = NULL;
	uint64_t size;
	size_t i;
	int fd = -1;

	setup();
	IB_CHECK_OK(ib_mb2_fs_open(root, 0, &fs));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *p = bad[i];

		IB_CHECK_ERR(ib_mb2_fs_open_write(fs, p, &fd, NULL), IB_ERR_MB2_UNSAFE_PATH);
		IB_CHECK_EQ(fd, -1);
		IB_CHECK_ERR(ib_mb2_fs_open_read(fs, p, &fd, &size, NULL), IB_ERR_MB2_UNSAFE_PATH);
		IB_CHECK_ERR(ib_mb2_fs_mkdir(fs, p, NULL), IB_ERR_MB2_UNSAFE_PATH);
		IB_CHECK_ERR(ib_mb2_fs_remove(fs, p, NULL), IB_ERR_MB2_UNSAFE_PATH);
		IB_CHECK_ERR(ib_mb2_fs_move(fs, p, "U/moved", NULL), IB_ERR_MB2_UNSAFE_PATH);
		IB_CHECK_ERR(ib_mb2_fs_move(fs, "U/a.txt", p, NULL), IB_ERR_MB2_UNSAFE_PATH);
		IB_CHECK_ERR(ib_mb2_fs_copy(fs, p, "U/copied", NULL), IB_ERR_MB2_UNSAFE_PATH);
		IB_CHECK_ERR(ib_mb2_fs_copy(fs, "U/a.txt", p, NULL), IB_ERR_MB2_UNSAFE_PATH);
		IB_CHECK_ERR(ib_mb2_fs_stat(fs, p, &st, NULL), IB_ERR_MB2_UNSAFE_PATH);
		IB_CHECK_ERR(ib_mb2_fs_contents(fs, p, &d, NULL), IB_ERR_MB2_UNSAFE_PATH);
	}
	IB_CHECK(content_is("outside/secret.txt", "secret"));
	IB_CHECK(content_is("root/U/a.txt", "alpha"));
	IB_CHECK(!exists("root/U/moved") && !exists("root/U/copied"));
	ib_mb2_fs_free(fs);
	teardown();
}

static void
symlink_cases(int use_openat2)
{
	struct ib_mb2_fs *fs = NULL;
	struct ib_mb2_fs_error err;
	struct ib_mb2_fs_stat st;
	plist_t d = NULL;
	uint64_t size;
	int fd = -1;

	setup();
	IB_CHECK_OK(ib_mb2_fs_open(root, 0, &fs));
	ib_mb2_fs_use_openat2(fs, use_openat2);

	/* Through a planted directory link (relative and absolute). */
	IB_CHECK_ERR(ib_mb2_fs_open_write(fs, "U/x/secret.txt", &fd, &err), IB_ERR_BACKUP_IO);
	IB_CHECK_EQ(err.dl_code, IB_DL_STATUS_ELOOP);
	IB_CHECK_ERR(ib_mb2_fs_open_write(fs, "U/abs/new.txt", &fd, &err), IB_ERR_BACKUP_IO);
	IB_CHECK_EQ(err.dl_code, IB_DL_STATUS_ELOOP);
	IB_CHECK_ERR(ib_mb2_fs_open_write(fs, "U/x/deeper/new.txt", &fd, &err), IB_ERR_BACKUP_IO);
	IB_CHECK_ERR(ib_mb2_fs_open_read(fs, "U/x/secret.txt", &fd, &size, &err), IB_ERR_BACKUP_IO);
	IB_CHECK_EQ(err.dl_code, IB_DL_STATUS_ELOOP);
	IB_CHECK_ERR(ib_mb2_fs_mkdir(fs, "U/x/newdir", &err), IB_ERR_BACKUP_IO);
	IB_CHECK_ERR(ib_mb2_fs_mkdir(fs, "U/x", &err), IB_ERR_BACKUP_IO);
	IB_CHECK_ERR(ib_mb2_fs_remove(fs, "U/x/secret.txt", &err), IB_ERR_BACKUP_IO);
	IB_CHECK_ERR(ib_mb2_fs_move(fs, "U/x/secret.txt", "U/stolen", &err), IB_ERR_BACKUP_IO);
	IB_CHECK_ERR(ib_mb2_fs_move(fs, "U/a.txt", "U/abs/a.txt", &err), IB_ERR_BACKUP_IO);
	IB_CHECK_ERR(ib_mb2_fs_copy(fs, "U/x/secret.txt", "U/copy", &err), IB_ERR_BACKUP_IO);
	IB_CHECK_ERR(ib_mb2_fs_copy(fs, "U/a.txt", "U/x/a.txt", &err), IB_ERR_BACKUP_IO);
	IB_CHECK_ERR(ib_mb2_fs_copy(fs, "U/x", "U/copy", &err), IB_ERR_BACKUP_IO);
	IB_CHECK_EQ(err.dl_code, IB_DL_STATUS_ELOOP);
	IB_CHECK_ERR(ib_mb2_fs_stat(fs, "U/x/secret.txt", &st, &err), IB_ERR_BACKUP_IO);
	IB_CHECK_ERR(ib_mb2_fs_contents(fs, "U/x", &d, &err), IB_ERR_BACKUP_IO);
	IB_CHECK_EQ(err.dl_code, IB_DL_STATUS_ELOOP);
	IB_CHECK(d == NULL);

	/* The symlink as the last component: never opened through. */
	IB_CHECK_ERR(ib_mb2_fs_open_read(fs, "U/f", &fd, &size, &err), IB_ERR_BACKUP_IO);
	IB_CHECK_EQ(err.dl_code, IB_DL_STATUS_ELOOP);
	IB_CHECK_ERR(ib_mb2_fs_open_write(fs, "U/f", &fd, &err), IB_ERR_BACKUP_IO);
	IB_CHECK_ERR(ib_mb2_fs_mkdir(fs, "U/f", &err), IB_ERR_BACKUP_IO);
	IB_CHECK_ERR(ib_mb2_fs_copy(fs, "U/f", "U/copy", &err), IB_ERR_BACKUP_IO);
	IB_CHECK_OK(ib_mb2_fs_stat(fs, "U/f", &st, &err));
	IB_CHECK_EQ(st.type, IB_DL_FILE_UNKNOWN);
	IB_CHECK(S_ISLNK(st.mode));

	/* A tree that contains a link: copy refuses, nothing outside read. */
	sh("ln -s ../../../../outside/secret.txt '%s/root/U/tree/sub/leak'", base);
	IB_CHECK_ERR(ib_mb2_fs_copy(fs, "U/tree", "U/treecopy", &err), IB_ERR_BACKUP_IO);
	IB_CHECK(!exists("root/U/treecopy/sub/leak"));

	/* Listing shows links as unknown entries and does not enter them. */
	IB_CHECK_OK(ib_mb2_fs_contents(fs, "U", &d, &err));
	IB_CHECK(tu_entry_is(d, "x", "DLFileTypeUnknown", -1, -1));
	plist_free(d);
	d = NULL;

	/* Replacing or removing a link affects the link only. */
	put_file("root/U/b.txt", "beta");
	IB_CHECK_OK(ib_mb2_fs_move(fs, "U/b.txt", "U/f", &err));
	IB_CHECK(content_is("root/U/f", "beta"));
	IB_CHECK_OK(ib_mb2_fs_remove(fs, "U/x", &err));
	IB_CHECK(!exists("root/U/x"));
	IB_CHECK_OK(ib_mb2_fs_remove(fs, "U/tree", &err));
	IB_CHECK(!exists("root/U/tree"));
	IB_CHECK_OK(ib_mb2_fs_move(fs, "U/abs", "U/abs2", &err));
	IB_CHECK_OK(ib_mb2_fs_remove(fs, "U/abs2", &err));

	/* Nothing outside changed, nothing new appeared there. */
	IB_CHECK(content_is("outside/secret.txt", "secret"));
	IB_CHECK(!exists("outside/new.txt") && !exists("outside/newdir") &&
	    !exists("outside/a.txt") && !exists("outside/deeper"));
	IB_CHECK(!exists("root/U/stolen") && !exists("root/U/copy"));
	ib_mb2_fs_free(fs);
	teardown();
}

IB_TEST(fs_symlinks_never_followed_openat2)
{
	symlink_cases(1);
}

IB_TEST(fs_symlinks_never_followed_fallback)
{
	symlink_cases(0);
}

IB_TEST(fs_fifo_does_not_block)
{
	struct ib_mb2_fs *fs = NULL;
	struct ib_mb2_fs_error err;
	uint64_t size;
	int fd = -1;

	setup();
	IB_CHECK_OK(ib_mb2_fs_open(root, 0, &fs));
	IB_CHECK_ERR(ib_mb2_fs_open_read(fs, "U/fifo", &fd, &size, &err), IB_ERR_BACKUP_IO);
	IB_CHECK_EQ(err.dl_code, IB_DL_STATUS_ERROR);
	IB_CHECK_ERR(ib_mb2_fs_open_write(fs, "U/fifo", &fd, &err), IB_ERR_BACKUP_IO);
	IB_CHECK_EQ(fd, -1);
	ib_mb2_fs_free(fs);
	teardown();
}

static int
write_str(struct ib_mb2_fs *fs, const char *path, const char *text)
{
	int fd = -1, r = ib_mb2_fs_open_write(fs, path, &fd, NULL);

	if (r != IB_OK)
		return r;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		r = IB_ERR_SYSTEM;
	close(fd);
	return r;
}

IB_TEST(fs_file_operations)
{
	struct ib_mb2_fs *fs = NULL;
	struct ib_mb2_fs_error err;
	struct ib_mb2_fs_stat st;
	uint64_t size = 0, space = 0;
	char buf[16];
	int fd = -1;

	setup();
	IB_CHECK_OK(ib_mb2_fs_open(root, 0, &fs));
	/* Parents created defensively; rewrite truncates. */
	IB_CHECK_OK(write_str(fs, "U/Snapshot/3d/3d0d", "long content here"));
	IB_CHECK_OK(write_str(fs, "U/Snapshot/3d/3d0d", "short"));
	IB_CHECK(content_is("root/U/Snapshot/3d/3d0d", "short"));
	IB_CHECK_OK(ib_mb2_fs_open_read(fs, "U/Snapshot/3d/3d0d", &fd, &size, &err));
	IB_CHECK_EQ(size, 5);
	IB_CHECK_EQ(read(fd, buf, sizeof(buf)), 5);
	close(fd);
	IB_CHECK_ERR(ib_mb2_fs_open_read(fs, "U/missing", &fd, &size, &err), IB_ERR_BACKUP_IO);
	IB_CHECK_EQ(err.dl_code, IB_DL_STATUS_ENOENT);
	IB_CHECK_STR(err.text, "No such file or directory");
	IB_CHECK_ERR(ib_mb2_fs_open_read(fs, "U/nodir/missing", &fd, &size, &err), IB_ERR_BACKUP_IO);
	IB_CHECK_EQ(err.dl_code, IB_DL_STATUS_ENOENT);
	IB_CHECK_ERR(ib_mb2_fs_open_read(fs, "U/tree", &fd, &size, &err), IB_ERR_BACKUP_IO);
	IB_CHECK_EQ(err.dl_code, IB_DL_STATUS_EISDIR);
	IB_CHECK_ERR(ib_mb2_fs_open_write(fs, "U/tree", &fd, &err), IB_ERR_BACKUP_IO);
	IB_CHECK_EQ(err.dl_code, IB_DL_STATUS_EISDIR);
	IB_CHECK_ERR(ib_mb2_fs_open_read(fs, "U/a.txt/x", &fd, &size, &err), IB_ERR_BACKUP_IO);
	IB_CHECK_EQ(err.dl_code, IB_DL_STATUS_ENOTDIR);

	/* mkdir -p; existing dir fine; a file in the way is EEXIST. */
	IB_CHECK_OK(ib_mb2_fs_mkdir(fs, "U/Snapshot/a/b/c/", &err));
	IB_CHECK_OK(ib_mb2_fs_mkdir(fs, "U/Snapshot/a/b/c", &err));
	IB_CHECK(exists("root/U/Snapshot/a/b/c"));
	IB_CHECK_ERR(ib_mb2_fs_mkdir(fs, "U/a.txt", &err), IB_ERR_BACKUP_IO);
	IB_CHECK_EQ(err.dl_code, IB_DL_STATUS_EEXIST);

	IB_CHECK_OK(ib_mb2_fs_stat(fs, "U/a.txt", &st, &err));
	IB_CHECK_EQ(st.type, IB_DL_FILE_REGULAR);
	IB_CHECK_EQ(st.size, 5);
	IB_CHECK_ERR(ib_mb2_fs_stat(fs, "U/none", &st, &err), IB_ERR_BACKUP_IO);
	IB_CHECK_EQ(err.dl_code, IB_DL_STATUS_ENOENT);
	IB_CHECK_OK(ib_mb2_fs_free_space(fs, &space, &err));
	IB_CHECK(space > 0);
	ib_mb2_fs_free(fs);
	teardown();
}

IB_TEST(fs_remove_move_copy)
{
	struct ib_mb2_fs *fs = NULL;
	struct ib_mb2_fs_error err;

	setup();
	IB_CHECK_OK(ib_mb2_fs_open(root, 0, &fs));
	/* Remove: missing is fine (also a missing parent); trees recursive. */
	IB_CHECK_OK(ib_mb2_fs_remove(fs, "U/none", &err));
	IB_CHECK_OK(ib_mb2_fs_remove(fs, "U/nodir/none", &err));
	IB_CHECK_OK(ib_mb2_fs_copy(fs, "U/tree", "U/tree2", &err));
	IB_CHECK(content_is("root/U/tree2/one", "1") && content_is("root/U/tree2/sub/two", "22"));
	IB_CHECK_OK(ib_mb2_fs_remove(fs, "U/tree2", &err));
	IB_CHECK(!exists("root/U/tree2"));

	/* Move replaces: file over file, dir over non-empty dir, file over
	 * dir, dir over file; missing source is -6. */
	IB_CHECK_OK(write_str(fs, "U/Snapshot/Manifest.db", "new db"));
	IB_CHECK_OK(write_str(fs, "U/Manifest.db", "old db"));
	IB_CHECK_OK(ib_mb2_fs_move(fs, "U/Snapshot/Manifest.db", "U/Manifest.db", &err));
	IB_CHECK(content_is("root/U/Manifest.db", "new db"));
	IB_CHECK(!exists("root/U/Snapshot/Manifest.db"));
	IB_CHECK_OK(write_str(fs, "U/Snapshot/3d/new", "n"));
	IB_CHECK_OK(write_str(fs, "U/3d/old", "o"));
	IB_CHECK_OK(ib_mb2_fs_move(fs, "U/Snapshot/3d", "U/3d", &err));
	IB_CHECK(content_is("root/U/3d/new", "n") && !exists("root/U/3d/old"));
	IB_CHECK_OK(ib_mb2_fs_move(fs, "U/a.txt", "U/3d", &err));
	IB_CHECK(content_is("root/U/3d", "alpha"));
	IB_CHECK_OK(ib_mb2_fs_move(fs, "U/tree", "U/3d", &err));
	IB_CHECK(content_is("root/U/3d/sub/two", "22"));
	IB_CHECK_OK(ib_mb2_fs_move(fs, "U/3d", "U/new/parent/3d", &err));
	IB_CHECK(content_is("root/U/new/parent/3d/one", "1"));
	IB_CHECK_ERR(ib_mb2_fs_move(fs, "U/none", "U/x2", &err), IB_ERR_BACKUP_IO);
	IB_CHECK_EQ(err.dl_code, IB_DL_STATUS_ENOENT);
	/* Moving over an ancestor of the source must not delete it. */
	IB_CHECK_ERR(ib_mb2_fs_move(fs, "U/new/parent/3d", "U/new", &err), IB_ERR_BACKUP_IO);
	IB_CHECK(content_is("root/U/new/parent/3d/one", "1"));
	IB_CHECK_OK(ib_mb2_fs_move(fs, "U/new/parent/3d/one", "U/new/parent/3d/one", &err));

	/* Copy: file, replacing; tree into itself refused. */
	IB_CHECK_OK(write_str(fs, "U/c1", "copy me"));
	IB_CHECK_OK(write_str(fs, "U/c2", "old"));
	IB_CHECK_OK(ib_mb2_fs_copy(fs, "U/c1", "U/c2", &err));
	IB_CHECK(content_is("root/U/c2", "copy me") && content_is("root/U/c1", "copy me"));
	IB_CHECK_ERR(ib_mb2_fs_copy(fs, "U/new", "U/new/inside", &err), IB_ERR_BACKUP_IO);
	IB_CHECK_ERR(ib_mb2_fs_copy(fs, "U/none", "U/c3", &err), IB_ERR_BACKUP_IO);
	IB_CHECK_EQ(err.dl_code, IB_DL_STATUS_ENOENT);
	ib_mb2_fs_free(fs);
	teardown();
}

IB_TEST(fs_contents_and_scope)
{
	struct ib_mb2_fs *fs = NULL;
	struct ib_mb2_fs_error err;
	plist_t d = NULL;
	struct timespec times[2] = { { 1600000000, 0 }, { 1600000000, 0 } };
	char p[512];

	setup();
	snprintf(p, sizeof(p), "%s/U/a.txt", root);
	IB_CHECK_EQ(utimensat(AT_FDCWD, p, times, 0), 0);
	IB_CHECK_OK(ib_mb2_fs_open(root, 0, &fs));
	IB_CHECK_OK(ib_mb2_fs_contents(fs, "U", &d, &err));
	IB_CHECK_EQ(plist_dict_get_size(d), 6);    /* a.txt tree x abs f fifo */
	IB_CHECK(tu_entry_is(d, "a.txt", "DLFileTypeRegular", 5, 1600000000));
	IB_CHECK(tu_entry_is(d, "tree", "DLFileTypeDirectory", -1, -1));
	IB_CHECK(tu_entry_is(d, "fifo", "DLFileTypeUnknown", -1, -1));
	plist_free(d);
	d = NULL;
	IB_CHECK_ERR(ib_mb2_fs_contents(fs, "U/missing", &d, &err), IB_ERR_BACKUP_IO);
	IB_CHECK_EQ(err.dl_code, IB_DL_STATUS_ENOENT);
	IB_CHECK_ERR(ib_mb2_fs_contents(fs, "U/a.txt", &d, &err), IB_ERR_BACKUP_IO);
	IB_CHECK_EQ(err.dl_code, IB_DL_STATUS_ENOTDIR);

	/* Scope: only U and below. */
	IB_CHECK_OK(ib_mb2_fs_set_scope(fs, "U"));
	IB_CHECK_OK(ib_mb2_fs_contents(fs, "U", &d, &err));
	plist_free(d);
	d = NULL;
	IB_CHECK_OK(ib_mb2_fs_mkdir(fs, "U/ok", &err));
	IB_CHECK_ERR(ib_mb2_fs_mkdir(fs, "V/no", &err), IB_ERR_MB2_UNSAFE_PATH);
	IB_CHECK_ERR(ib_mb2_fs_mkdir(fs, "Ux/no", &err), IB_ERR_MB2_UNSAFE_PATH);
	IB_CHECK_ERR(ib_mb2_fs_move(fs, "U/a.txt", "V/a.txt", &err), IB_ERR_MB2_UNSAFE_PATH);
	IB_CHECK(!exists("root/V"));
	IB_CHECK_ERR(ib_mb2_fs_set_scope(fs, "a/b"), IB_ERR_INVALID_ARG);
	IB_CHECK_OK(ib_mb2_fs_set_scope(fs, NULL));
	IB_CHECK_OK(ib_mb2_fs_mkdir(fs, "V/yes", &err));
	ib_mb2_fs_free(fs);
	teardown();
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
