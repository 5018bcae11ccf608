/*
 * fuzz_dl_file - bytes into the UploadFiles and DownloadFiles decoders,
 * once whole and once in pieces whose sizes come from the input itself;
 * both runs must agree on the outcome and the data seen.
 */
#include "dl_file.h"
#include "ib_err.h"
#include "ib_limits.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
	uint64_t bytes, files, events;
	uint32_t hash;
	int open;
};

static int
on_event(void *ctx, const struct ib_dlf_event *ev)
{
	struct tally *t = ctx;
	size_t i;

	t->events++;
	switch (ev->kind) {
	case IB_DLF_FILE_BEGIN:
		if (t->open || ev->path == NULL || strlen(ev->path) > IB_PATH_MAX)
			abort();
		t->open = 1;
		break;
	case IB_DLF_DATA:
		if (!t->open || ev->len == 0 || ev->len > IB_DL_CHUNK_MAX)
			abort();
		for (i = 0; i < ev->len; i++)
			t->hash = t->hash * 31 + ev->data[i];
		t->bytes += ev->len;
		break;
	case IB_DLF_FILE_OK:
	case IB_DLF_FILE_ERROR:
		if (!t->open || (ev->kind == IB_DLF_FILE_ERROR && strlen(ev->text) > IB_DL_TEXT_MAX))
			abort();
		t->open = 0;
		t->files++;
		break;
	case IB_DLF_DONE:
		if (t->open)
			abort();
		break;
	}
	return IB_OK;
}

static int
run(enum ib_dlf_mode mode, const uint8_t *d, size_t n, const uint8_t *cuts, size_t ncuts,
    struct tally *t, size_t *usedp)
{
	struct ib_dlf_decoder *dec = ib_dlf_decoder_new(mode, on_event, t);
	size_t pos = 0, k = 0, used;
	int r = IB_OK;

	*usedp = 0;
	memset(t, 0, sizeof(*t));
	while (pos < n && r == IB_OK && !ib_dlf_decoder_finished(dec)) {
		size_t take = ncuts ? (size_t)cuts[k++ % ncuts] + 1 : n;

		if (take > n - pos)
			take = n - pos;
		r = ib_dlf_decoder_feed(dec, d + pos, take, &used);
		if (used > take)
			abort();
		*usedp += used;
		pos += take;
	}
	ib_dlf_decoder_free(dec);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tally a, b;
	size_t ncuts, ua, ub;
	int mode, ra, rb;

	if (size < 2)
		return 0;
	/* Byte 0: mode and how many of the next bytes are piece sizes. */
	mode = data[0] & 1;
	ncuts = (data[0] >> 1) % 16;
	if (size < 1 + ncuts)
		return 0;
	ra = run(mode ? IB_DLF_DOWNLOAD : IB_DLF_UPLOAD, data + 1 + ncuts, size - 1 - ncuts,
	    NULL, 0, &a, &ua);
	rb = run(mode ? IB_DLF_DOWNLOAD : IB_DLF_UPLOAD, data + 1 + ncuts, size - 1 - ncuts,
	    data + 1, ncuts, &b, &ub);
	/* Chunking must not change what the decoder saw. */
	if (ra != rb || a.bytes != b.bytes || a.files != b.files || a.hash != b.hash ||
	    (ra == IB_OK && ua != ub))
		abort();
	return 0;
}
