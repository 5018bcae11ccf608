/*
 * dl_file_test - the file-transfer codec: encoder output decodes to the
 * same files whole, byte at a time and in random splits, in both modes;
 * per-file errors, empty files, caps and malformed frames.
 */
#include "ib_test.h"
#include "dl_file.h"
#include "ib_buf.h"
#include "ib_limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NFILES 40

struct rfile {
	char dev[64], path[64];
	uint8_t *data;
	size_t len, cap;
	int status;                     /* 0 open, 1 ok, 2 error */
	uint8_t code;
	char text[IB_DL_TEXT_MAX + 1];
};

struct rec {
	struct rfile f[NFILES + 2];
	size_t n;
	int done;
	int order_bad;
	int fail_at;                    /* return an error at this event count */
	int events;
};

static int
on_event(void *ctx, const struct ib_dlf_event *ev)
{
	struct rec *r = ctx;
	struct rfile *f = r->n > 0 ? &r->f[r->n - 1] : NULL;

	if (++r->events == r->fail_at)
		return IB_ERR_INTERRUPTED;
	switch (ev->kind) {
	case IB_DLF_FILE_BEGIN:
		if (r->n >= NFILES + 2 || (f != NULL && f->status == 0))
			return r->order_bad = 1, IB_ERR_INTERNAL;
		f = &r->f[r->n++];
		memset(f, 0, sizeof(*f));
		snprintf(f->dev, sizeof(f->dev), "%s", ev->device_path ? ev->device_path : "");
		snprintf(f->path, sizeof(f->path), "%s", ev->path);
		break;
	case IB_DLF_DATA:
		if (f == NULL || f->status != 0 || ev->len == 0)
			return r->order_bad = 1, IB_ERR_INTERNAL;
		if (f->len + ev->len > f->cap) {
			f->cap = (f->len + ev->len) * 2;
			f->data = realloc(f->data, f->cap);
		}
		memcpy(f->data + f->len, ev->data, ev->len);
		f->len += ev->len;
		break;
	case IB_DLF_FILE_OK:
	case IB_DLF_FILE_ERROR:
		if (f == NULL || f->status != 0)
			return r->order_bad = 1, IB_ERR_INTERNAL;
		f->status = ev->kind == IB_DLF_FILE_OK ? 1 : 2;
		f->code = ev->code;
		if (ev->text != NULL)
			snprintf(f->text, sizeof(f->text), "%s", ev->text);
		break;
	case IB_DLF_DONE:
		r->done++;
		break;
	}
	return IB_OK;
}

static void
rec_free(struct rec *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->f[i].data);
	memset(r, 0, sizeof(*r));
}

/* Deterministic pseudo-random numbers (xorshift). */
static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static size_t
file_size(size_t i)
{
	static const size_t sizes[] = { 0, 1, 5, IB_DL_CHUNK - 1, IB_DL_CHUNK, IB_DL_CHUNK + 1,
	    100000, 3 * IB_DL_CHUNK };

	return sizes[i % (sizeof(sizes) / sizeof(sizes[0]))] + (i / 8) * 3;
}

static uint8_t
file_byte(size_t i, size_t k)
{
	return (uint8_t)(i * 31 + k * 7 + (k >> 9));
}

/* The expected stream: NFILES files, every 7th failing. */
static struct ib_buf *
make_stream(enum ib_dlf_mode mode)
{
	struct ib_buf *b = ib_buf_new(8u * 1024u * 1024u);
	uint8_t *data = malloc(4 * IB_DL_CHUNK);
	char dev[64], path[64];
	size_t i, k, n;

	for (i = 0; i < NFILES; i++) {
		snprintf(dev, sizeof(dev), "/var/mobile/f%zu", i);
		snprintf(path, sizeof(path), "U/Snapshot/%02zx/file%zu", i, i);
		if (ib_dlf_put_file_begin(b, mode == IB_DLF_UPLOAD ? dev : NULL, path) != IB_OK)
			abort();
		if (i % 7 == 3) {
			if (ib_dlf_put_file_error(b, i % 2 ? 0x0B : 0x06, "Input/output error (5)") != IB_OK)
				abort();
			continue;
		}
		n = file_size(i);
		for (k = 0; k < n; k++)
			data[k] = file_byte(i, k);
		if (ib_dlf_put_data(b, data, n) != IB_OK || ib_dlf_put_file_ok(b) != IB_OK)
			abort();
	}
	if (ib_dlf_put_done(b) != IB_OK)
		abort();
	free(data);
	return b;
}

static int
check_rec(const struct rec *r, enum ib_dlf_mode mode)
{
	char want[64];
	size_t i, k;

	if (r->done != 1 || r->n != NFILES || r->order_bad)
		return 0;
	for (i = 0; i < NFILES; i++) {
		const struct rfile *f = &r->f[i];

		snprintf(want, sizeof(want), "U/Snapshot/%02zx/file%zu", i, i);
		if (strcmp(f->path, want) != 0)
			return 0;
		snprintf(want, sizeof(want), "/var/mobile/f%zu", i);
		if (strcmp(f->dev, mode == IB_DLF_UPLOAD ? want : "") != 0)
			return 0;
		if (i % 7 == 3) {
			if (f->status != 2 || f->code != (i % 2 ? 0x0B : 0x06) ||
			    strcmp(f->text, "Input/output error (5)") != 0 || f->len != 0)
				return 0;
			continue;
		}
		if (f->status != 1 || f->len != file_size(i))
			return 0;
		for (k = 0; k < f->len; k++)
			if (f->data[k] != file_byte(i, k))
				return 0;
	}
	return 1;
}

/* Feed with chunk sizes from split(): 0 = whole, 1 = byte at a time,
 * else random pieces seeded by it. */
static int
decode(enum ib_dlf_mode mode, const uint8_t *p, size_t n, uint32_t split, struct rec *r)
{
	struct ib_dlf_decoder *d = ib_dlf_decoder_new(mode, on_event, r);
	size_t pos = 0, used;
	uint32_t seed = split;
	int rc = IB_OK;

	while (pos < n && rc == IB_OK) {
		size_t take = split == 0 ? n : split == 1 ? 1 : 1 + rnd(&seed) % 70000;

		if (take > n - pos)
			take = n - pos;
		rc = ib_dlf_decoder_feed(d, p + pos, take, &used);
		if (rc == IB_OK && used != take)
			rc = IB_ERR_TRAILING;
		pos += take;
	}
	if (rc == IB_OK && !ib_dlf_decoder_finished(d))
		rc = IB_ERR_EOF;
	if (rc == IB_OK && ib_dlf_decoder_files(d) != NFILES)
		rc = IB_ERR_INTERNAL;
	ib_dlf_decoder_free(d);
	return rc;
}

static void
round_trip(enum ib_dlf_mode mode)
{
	struct ib_buf *b = make_stream(mode);
	static struct rec r;
	uint32_t splits[] = { 0, 1, 7, 1234, 99999, 31337 };
	size_t i;

	for (i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
		memset(&r, 0, sizeof(r));
		IB_CHECK_OK(decode(mode, ib_buf_ptr(b), ib_buf_len(b), splits[i], &r));
		IB_CHECK(check_rec(&r, mode));
		rec_free(&r);
	}
	ib_buf_free(b);
}

IB_TEST(dlf_upload_round_trip_any_split)
{
	round_trip(IB_DLF_UPLOAD);
}

IB_TEST(dlf_download_round_trip_any_split)
{
	round_trip(IB_DLF_DOWNLOAD);
}

IB_TEST(dlf_bytes_after_done_are_left)
{
	static const uint8_t s[] = { 0, 0, 0, 0, 0xAA, 0xBB };
	static struct rec r;
	struct ib_dlf_decoder *d;
	size_t used = 99;

	memset(&r, 0, sizeof(r));
	d = ib_dlf_decoder_new(IB_DLF_UPLOAD, on_event, &r);
	IB_CHECK_OK(ib_dlf_decoder_feed(d, s, sizeof(s), &used));
	IB_CHECK_EQ(used, 4);
	IB_CHECK(ib_dlf_decoder_finished(d));
	IB_CHECK_EQ(r.done, 1);
	IB_CHECK_OK(ib_dlf_decoder_feed(d, s + 4, 2, &used));
	IB_CHECK_EQ(used, 0);
	ib_dlf_decoder_free(d);
}

/* Feed s byte by byte; return the first error and the offset it hit. */
static int
feed_bytes(enum ib_dlf_mode mode, const uint8_t *s, size_t n, size_t *atp, struct rec *r)
{
	struct ib_dlf_decoder *d = ib_dlf_decoder_new(mode, on_event, r);
	size_t i, used;
	int rc = IB_OK;

	*atp = n;
	for (i = 0; i < n && rc == IB_OK; i++)
		if ((rc = ib_dlf_decoder_feed(d, s + i, 1, &used)) != IB_OK)
			*atp = i;
	/* A failed decoder stays failed. */
	if (rc != IB_OK && ib_dlf_decoder_feed(d, s, 1, &used) != IB_ERR_STATE)
		rc = IB_ERR_INTERNAL;
	ib_dlf_decoder_free(d);
	return rc;
}

IB_TEST(dlf_malformed_frames)
{
	static struct rec r;
	size_t at;
	/* Name length above IB_PATH_MAX: refused at the 4th byte. */
	static const uint8_t longname[] = { 0, 0, 0x10, 0x01, 'a' };
	/* Chunk above IB_DL_CHUNK_MAX. */
	static const uint8_t bigchunk[] = { 0, 0, 0, 1, 'a', 0, 0, 0, 1, 'b',
	    0, 0x02, 0x00, 0x02, 0x0C };
	static const uint8_t zerochunk[] = { 0, 0, 0, 1, 'a', 0, 0, 0, 0 };
	static const uint8_t okpayload[] = { 0, 0, 0, 1, 'a', 0, 0, 0, 2, 0x00, 'x' };
	static const uint8_t nulname[] = { 0, 0, 0, 3, 'a', 0, 'b' };
	static const uint8_t emptyhost[] = { 0, 0, 0, 1, 'a', 0, 0, 0, 0 };
	/* Exactly at the caps: fine. */
	uint8_t *maxchunk = calloc(1, 9 + IB_DL_CHUNK_MAX + 1 + 5 + 4);

	memset(&r, 0, sizeof(r));
	IB_CHECK_ERR(feed_bytes(IB_DLF_UPLOAD, longname, sizeof(longname), &at, &r), IB_ERR_TOO_LARGE);
	IB_CHECK_EQ(at, 3);
	IB_CHECK_ERR(feed_bytes(IB_DLF_UPLOAD, bigchunk, sizeof(bigchunk), &at, &r), IB_ERR_TOO_LARGE);
	IB_CHECK_EQ(at, 13);
	rec_free(&r);
	IB_CHECK_ERR(feed_bytes(IB_DLF_UPLOAD, zerochunk, sizeof(zerochunk), &at, &r), IB_ERR_DL_PROTOCOL);
	rec_free(&r);
	IB_CHECK_ERR(feed_bytes(IB_DLF_DOWNLOAD, okpayload, sizeof(okpayload), &at, &r), IB_ERR_DL_PROTOCOL);
	rec_free(&r);
	IB_CHECK_ERR(feed_bytes(IB_DLF_DOWNLOAD, nulname, sizeof(nulname), &at, &r), IB_ERR_DL_PROTOCOL);
	rec_free(&r);
	IB_CHECK_ERR(feed_bytes(IB_DLF_UPLOAD, emptyhost, sizeof(emptyhost), &at, &r), IB_ERR_DL_PROTOCOL);
	rec_free(&r);

	IB_CHECK(maxchunk != NULL);
	memcpy(maxchunk, "\0\0\0\1a", 5);
	maxchunk[5] = (uint8_t)((IB_DL_CHUNK_MAX + 1) >> 24);
	maxchunk[6] = (uint8_t)((IB_DL_CHUNK_MAX + 1) >> 16);
	maxchunk[7] = (uint8_t)((IB_DL_CHUNK_MAX + 1) >> 8);
	maxchunk[8] = (uint8_t)(IB_DL_CHUNK_MAX + 1);
	maxchunk[9] = 0x0C;
	memcpy(maxchunk + 10 + IB_DL_CHUNK_MAX, "\0\0\0\1\0\0\0\0\0", 9);
	{
		struct ib_dlf_decoder *d = ib_dlf_decoder_new(IB_DLF_DOWNLOAD, on_event, &r);
		size_t used;

		IB_CHECK_OK(ib_dlf_decoder_feed(d, maxchunk, 10 + IB_DL_CHUNK_MAX + 9, &used));
		IB_CHECK(ib_dlf_decoder_finished(d));
		IB_CHECK_EQ(r.n, 1);
		IB_CHECK_EQ(r.f[0].len, IB_DL_CHUNK_MAX);
		IB_CHECK_EQ(r.f[0].status, 1);
		ib_dlf_decoder_free(d);
	}
	rec_free(&r);
	free(maxchunk);
}

IB_TEST(dlf_error_text_capped_and_clean)
{
	struct ib_buf *b = ib_buf_new(64 * 1024);
	static struct rec r;
	struct ib_dlf_decoder *d;
	size_t used, i;
	uint8_t hdr[5];

	memset(&r, 0, sizeof(r));
	IB_CHECK_OK(ib_dlf_put_file_begin(b, NULL, "U/x"));
	/* A 5000-byte error text with an escape sequence in it. */
	hdr[0] = 0;
	hdr[1] = 0;
	hdr[2] = (uint8_t)(5001 >> 8);
	hdr[3] = (uint8_t)(5001 & 0xff);
	hdr[4] = 0x06;
	IB_CHECK_OK(ib_buf_put(b, hdr, 5));
	IB_CHECK_OK(ib_buf_put(b, "bad\x1b[2J\n", 8));
	for (i = 8; i < 5000; i++)
		IB_CHECK_OK(ib_buf_put_u8(b, 'e'));
	IB_CHECK_OK(ib_dlf_put_done(b));
	d = ib_dlf_decoder_new(IB_DLF_DOWNLOAD, on_event, &r);
	IB_CHECK_OK(ib_dlf_decoder_feed(d, ib_buf_ptr(b), ib_buf_len(b), &used));
	IB_CHECK(ib_dlf_decoder_finished(d));
	IB_CHECK_EQ(r.f[0].status, 2);
	IB_CHECK_EQ(r.f[0].code, 0x06);
	IB_CHECK_EQ(strlen(r.f[0].text), IB_DL_TEXT_MAX);
	IB_CHECK(strncmp(r.f[0].text, "bad?[2J?e", 9) == 0);
	ib_dlf_decoder_free(d);
	rec_free(&r);
	ib_buf_free(b);
}

IB_TEST(dlf_callback_error_stops)
{
	struct ib_buf *b = make_stream(IB_DLF_UPLOAD);
	static struct rec r;
	struct ib_dlf_decoder *d;
	size_t used;

	memset(&r, 0, sizeof(r));
	r.fail_at = 5;
	d = ib_dlf_decoder_new(IB_DLF_UPLOAD, on_event, &r);
	IB_CHECK_ERR(ib_dlf_decoder_feed(d, ib_buf_ptr(b), ib_buf_len(b), &used), IB_ERR_INTERRUPTED);
	IB_CHECK(used < ib_buf_len(b));
	IB_CHECK(!ib_dlf_decoder_finished(d));
	ib_dlf_decoder_free(d);
	rec_free(&r);

	/* A truncated stream is simply not finished. */
	memset(&r, 0, sizeof(r));
	d = ib_dlf_decoder_new(IB_DLF_UPLOAD, on_event, &r);
	IB_CHECK_OK(ib_dlf_decoder_feed(d, ib_buf_ptr(b), ib_buf_len(b) - 1, &used));
	IB_CHECK(!ib_dlf_decoder_finished(d));
	ib_dlf_decoder_free(d);
	rec_free(&r);
	ib_buf_free(b);
}

IB_TEST(dlf_encoder_frames_and_caps)
{
	struct ib_buf *b = ib_buf_new(IB_DL_CHUNK * 2 + 64);
	uint8_t *data = calloc(1, IB_DL_CHUNK + 10);
	uint32_t v;
	uint8_t c;
	size_t before;

	IB_CHECK(data != NULL);
	IB_CHECK_OK(ib_dlf_put_data(b, data, IB_DL_CHUNK + 10));
	IB_CHECK_OK(ib_buf_get_u32be(b, &v));
	IB_CHECK_EQ(v, IB_DL_CHUNK + 1);
	IB_CHECK_OK(ib_buf_get_u8(b, &c));
	IB_CHECK_EQ(c, 0x0C);
	IB_CHECK_OK(ib_buf_consume(b, IB_DL_CHUNK));
	IB_CHECK_OK(ib_buf_get_u32be(b, &v));
	IB_CHECK_EQ(v, 11);
	IB_CHECK_OK(ib_buf_consume(b, 11));
	IB_CHECK_EQ(ib_buf_len(b), 0);
	IB_CHECK_OK(ib_dlf_put_file_ok(b));
	IB_CHECK_OK(ib_buf_get_u32be(b, &v));
	IB_CHECK_EQ(v, 1);
	IB_CHECK_OK(ib_buf_get_u8(b, &c));
	IB_CHECK_EQ(c, 0);
	ib_buf_free(b);

	/* Too little room: nothing written. */
	b = ib_buf_new(100);
	IB_CHECK_OK(ib_dlf_put_file_begin(b, "/dev/path", "U/host"));
	before = ib_buf_len(b);
	IB_CHECK_ERR(ib_dlf_put_data(b, data, 90), IB_ERR_TOO_LARGE);
	IB_CHECK_EQ(ib_buf_len(b), before);
	IB_CHECK_ERR(ib_dlf_put_file_error(b, 0x0C, "x"), IB_ERR_INVALID_ARG);
	IB_CHECK_ERR(ib_dlf_put_file_error(b, 0x00, "x"), IB_ERR_INVALID_ARG);
	IB_CHECK_ERR(ib_dlf_put_file_begin(b, NULL, ""), IB_ERR_INVALID_ARG);
	IB_CHECK_EQ(ib_buf_len(b), before);
	ib_buf_free(b);
	free(data);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
