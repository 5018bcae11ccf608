/*
 * mb2_bench - figures for the MobileBackup2 building blocks:
 *   manifest  N rows written to a new Manifest.db (rows/s), then read
 *             back with the reader (rows/s);
 *   dlfile    UploadFiles decode throughput (MB/s) over an in-memory
 *             stream of 32 KiB chunks, fed in 64 KiB reads, each data
 *             piece copied once.
 * usage: mb2_bench [manifest ROWS DIR] [dlfile MIB]
 */
#include "dl_file.h"
#include "ib_buf.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_util.h"
#include "manifest_db.h"
#include "mbfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
count_row(void *ctx, const struct ib_manifest_row *row)
{
	(void)row;
	++*(uint64_t *)ctx;
	return IB_OK;
}

static int
bench_manifest(unsigned long rows, const char *dir)
{
	struct ib_manifest_writer *w = NULL;
	struct ib_manifest_reader *r = NULL;
	struct ib_mbfile *f = ib_mbfile_new();
	char path[512], rel[128];
	uint8_t *blob = NULL;
	size_t bn = 0;
	uint64_t t0, t1, t2, got = 0;
	unsigned long i;
	int e;

	snprintf(path, sizeof(path), "%s/bench-Manifest.db", dir);
	unlink(path);
	f->relative_path = strdup("Library/Application Support/some/file.sqlite");
	f->mode = 0100644;
	f->size = 123456;
	if (ib_mbfile_encode(f, &blob, &bn) != IB_OK)
		return 1;
	t0 = ib_now_ms();
	if ((e = ib_manifest_writer_create(path, &w)) != IB_OK)
		goto fail;
	for (i = 0; i < rows; i++) {
		snprintf(rel, sizeof(rel), "Library/Application Support/d%03lu/file%lu.sqlite",
		    i % 997, i);
		if ((e = ib_manifest_writer_add(w, i % 7 ? "AppDomain-com.example.app" : "HomeDomain",
		    rel, 1, blob, bn)) != IB_OK)
			goto fail;
	}
	t1 = ib_now_ms();
	if ((e = ib_manifest_writer_finish(w)) != IB_OK) {
		w = NULL;
		goto fail;
	}
	w = NULL;
	t2 = ib_now_ms();
	printf("manifest: %lu rows (%zu-byte MBFile blobs): inserts %llu ms, indexes+close %llu ms, "
	    "total %.0f rows/s\n", rows, bn, (unsigned long long)(t1 - t0),
	    (unsigned long long)(t2 - t1), rows * 1000.0 / (double)(t2 - t0 ? t2 - t0 : 1));
	t0 = ib_now_ms();
	if ((e = ib_manifest_reader_open(path, &r)) != IB_OK ||
	    (e = ib_manifest_reader_foreach(r, NULL, count_row, &got)) != IB_OK)
		goto fail;
	t1 = ib_now_ms();
	printf("manifest: read %llu rows in %llu ms, %.0f rows/s\n", (unsigned long long)got,
	    (unsigned long long)(t1 - t0), got * 1000.0 / (double)(t1 - t0 ? t1 - t0 : 1));
	ib_manifest_reader_free(r);
	unlink(path);
	free(blob);
	ib_mbfile_free(f);
	return 0;
fail:
	fprintf(stderr, "manifest bench: %s %s\n", ib_strerror(e), ib_err_detail());
	ib_manifest_writer_free(w);
	ib_manifest_reader_free(r);
	free(blob);
	ib_mbfile_free(f);
	return 1;
}

/* Copy every data piece once, as handing it to write() would: the
 * decoder itself is zero-copy, so this is the realistic figure. */
static uint8_t sink[128 * 1024];

static int
on_event(void *ctx, const struct ib_dlf_event *ev)
{
	if (ev->kind == IB_DLF_DATA) {
		memcpy(sink, ev->data, IB_MIN(ev->len, sizeof(sink)));
		*(uint64_t *)ctx += ev->len;
	}
	return IB_OK;
}

static int
bench_dlfile(unsigned long mib)
{
	size_t file = 4u * 1024u * 1024u, nfiles = (mib * 1024u * 1024u) / file, i;
	struct ib_buf *b = ib_buf_new(nfiles * (file + file / IB_DL_CHUNK * 5 + 256) + 64);
	uint8_t *data = malloc(file);
	struct ib_dlf_decoder *d;
	uint64_t got = 0, t0, t1;
	size_t pos = 0, used;
	char name[64];
	int round;

	if (b == NULL || data == NULL)
		return 1;
	memset(data, 0x5a, file);
	for (i = 0; i < nfiles; i++) {
		snprintf(name, sizeof(name), "UDID/Snapshot/ab/file%zu", i);
		if (ib_dlf_put_file_begin(b, "/var/mobile/x", name) != IB_OK ||
		    ib_dlf_put_data(b, data, file) != IB_OK || ib_dlf_put_file_ok(b) != IB_OK)
			return 1;
	}
	ib_dlf_put_done(b);
	t0 = ib_now_ms();
	for (round = 0; round < 5; round++) {
		d = ib_dlf_decoder_new(IB_DLF_UPLOAD, on_event, &got);
		for (pos = 0; pos < ib_buf_len(b); pos += 65536) {
			size_t n = IB_MIN(65536u, ib_buf_len(b) - pos);

			if (ib_dlf_decoder_feed(d, ib_buf_ptr(b) + pos, n, &used) != IB_OK)
				return 1;
		}
		if (!ib_dlf_decoder_finished(d))
			return 1;
		ib_dlf_decoder_free(d);
	}
	t1 = ib_now_ms();
	printf("dlfile: decoded %.0f MiB of file data in %llu ms: %.0f MB/s\n",
	    got / 1048576.0, (unsigned long long)(t1 - t0),
	    got / 1e6 / ((double)(t1 - t0 ? t1 - t0 : 1) / 1000.0));
	free(data);
	ib_buf_free(b);
	return 0;
}

int
main(int argc, char **argv)
{
	int rc = 0;

	if (argc == 1) {
		rc |= bench_manifest(100000, "/tmp");
		rc |= bench_dlfile(256);
		return rc;
	}
	if (argc >= 4 && strcmp(argv[1], "manifest") == 0)
		rc |= bench_manifest(strtoul(argv[2], NULL, 10), argv[3]);
	else if (argc >= 3 && strcmp(argv[1], "dlfile") == 0)
		rc |= bench_dlfile(strtoul(argv[2], NULL, 10));
	else
		fprintf(stderr, "usage: mb2_bench [manifest ROWS DIR] [dlfile MIB]\n");
	return rc;
}
