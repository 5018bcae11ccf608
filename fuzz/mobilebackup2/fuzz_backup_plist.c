/*
 * fuzz_backup_plist - the backup folder's plists: the bytes as
 * Status.plist and Manifest.plist (parsed directly, and what parses is
 * rebuilt and parsed again), then as all three metadata files of a
 * scratch backup folder that ib_backup_inspect judges (Info.plist is
 * only read there).
 */
#include "backup_dir.h"
#include "ib_err.h"
#include "ib_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[64];

static void
cleanup(void)
{
	static const char *const names[] = { "Status.plist", "Manifest.plist", "Info.plist" };
	char p[192];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/UDID/%s", root, names[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/UDID", root);
	rmdir(p);
	rmdir(root);
}

static void
scratch(void)
{
	char dir[128];

	if (root[0] != '\0')
		return;
	snprintf(root, sizeof(root), "%s/ib_fuzz_bplist_XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(root) == NULL)
		abort();
	snprintf(dir, sizeof(dir), "%s/UDID", root);
	if (ib_mkdir_p(dir, 0700) != IB_OK)
		abort();
	atexit(cleanup);
}

static void
put(const char *name, const uint8_t *data, size_t size)
{
	char p[192];

	snprintf(p, sizeof(p), "%s/UDID/%s", root, name);
	if (ib_file_write_atomic(p, data, size, 0600) != IB_OK)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ib_status_plist st, st2;
	struct ib_manifest_plist *m = NULL, *m2 = NULL;
	struct ib_backup_summary s;
	uint8_t *bin = NULL;
	size_t n = 0;

	if (ib_status_plist_parse(data, size, &st) == IB_OK &&
	    ib_status_plist_build(&st, &bin, &n) == IB_OK) {
		if (ib_status_plist_parse(bin, n, &st2) != IB_OK ||
		    strcmp(st.snapshot_state, st2.snapshot_state) != 0)
			abort();
		free(bin);
		bin = NULL;
	}
	if (ib_manifest_plist_parse(data, size, &m) == IB_OK) {
		if (ib_manifest_plist_build(m, &bin, &n) == IB_OK) {
			if (ib_manifest_plist_parse(bin, n, &m2) != IB_OK ||
			    m2->is_encrypted != m->is_encrypted)
				abort();
			ib_manifest_plist_free(m2);
			free(bin);
		}
		ib_manifest_plist_free(m);
	}
	scratch();
	put("Status.plist", data, size);
	put("Manifest.plist", data, size);
	put("Info.plist", data, size);
	if (ib_backup_inspect(root, "UDID", &s) == IB_OK) {
		(void)ib_backup_state_name(s.state);
		if (s.state == IB_BACKUP_COMPLETE)
			abort();        /* no Manifest.db: never complete */
		ib_backup_summary_clear(&s);
	}
	return 0;
}
