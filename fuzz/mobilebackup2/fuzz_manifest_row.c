/*
 * fuzz_manifest_row - one Manifest.db row: its `file` blob through the
 * MBFile decoder (what decodes must re-encode and decode the same), and
 * its domain / relativePath / fileID / flags through extract's checks,
 * whose accepted output must be a confined relative path.
 *
 * Input: u8 flags, u8 domain length, domain, u8 path length, path,
 * u8 fileID length, fileID, then the blob.
 */
#include "backup_dir.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "mb2_fs.h"
#include "mbfile.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of the next u8-length-prefixed field. */
static char *
field(const uint8_t **p, size_t *left)
{
	size_t n;
	char *s;

	if (*left < 1)
		return NULL;
	n = (*p)[0];
	if (*left - 1 < n)
		return NULL;
	if ((s = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(s, *p + 1, n);
	s[n] = '\0';
	*p += 1 + n;
	*left -= 1 + n;
	return s;
}

static void
check_blob(const uint8_t *blob, size_t n)
{
	struct ib_mbfile *f = NULL, *g = NULL;
	uint8_t *enc = NULL;
	size_t en = 0;

	if (ib_mbfile_decode(blob, n, &f) != IB_OK)
		return;
	if (ib_mbfile_encode(f, &enc, &en) == IB_OK) {
		if (ib_mbfile_decode(enc, en, &g) != IB_OK || g->size != f->size ||
		    g->mode != f->mode || g->user_id != f->user_id ||
		    g->encryption_key_len != f->encryption_key_len ||
		    (f->relative_path != NULL &&
		    strcmp(f->relative_path, g->relative_path) != 0))
			abort();
		ib_mbfile_free(g);
		free(enc);
	}
	ib_mbfile_free(f);
}

static void
check_path(const char *domain, const char *rel, const char *id, int64_t flags)
{
	char *out = NULL;

	if (ib_backup_entry_path(domain, rel, id, flags, &out) != IB_OK)
		return;
	/* Accepted: one relative path below OUTDIR, first component the
	 * domain, no way up. */
	if (ib_mb2_fs_path_check(out) != IB_OK || strncmp(out, domain, strlen(domain)) != 0 ||
	    strstr(out, "/../") != NULL || strchr(domain, '/') != NULL || strlen(out) > IB_PATH_MAX)
		abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data;
	size_t left = size;
	char *domain = NULL, *rel = NULL, *id = NULL;
	int64_t flags;

	if (left < 1)
		return 0;
	flags = p[0] & 7;
	p++;
	left--;
	if ((domain = field(&p, &left)) != NULL && (rel = field(&p, &left)) != NULL &&
	    (id = field(&p, &left)) != NULL) {
		check_path(domain, rel, id, flags);
		check_blob(p, left);
	} else {
		check_blob(data, size);
	}
	free(domain);
	free(rel);
	free(id);
	return 0;
}
