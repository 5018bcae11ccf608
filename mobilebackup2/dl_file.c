/*
 * dl_file.c - streaming codec of the DeviceLink file transfer (dl_file.h).
 */
#include "dl_file.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_util.h"

#include <stdlib.h>
#include <string.h>

enum dstate {
	S_NAME_LEN,
	S_NAME,
	S_CHUNK_LEN,
	S_CODE,
	S_DATA,
	S_TEXT,
	S_DONE,
	S_FAILED,
};

struct ib_dlf_decoder {
	enum ib_dlf_mode mode;
	ib_dlf_event_fn fn;
	void *ctx;
	enum dstate state;
	uint8_t hdr[4];                 /* length field being collected */
	size_t hdr_have;
	uint32_t need;                  /* bytes left of the name or chunk */
	unsigned name_idx;              /* 0, or 1 for the upload host path */
	size_t name_len;
	char names[2][IB_PATH_MAX + 1];
	uint8_t code;
	char text[IB_DL_TEXT_MAX + 1];
	size_t text_len;
	uint64_t files;
};

struct ib_dlf_decoder *
ib_dlf_decoder_new(enum ib_dlf_mode mode, ib_dlf_event_fn fn, void *ctx)
{
	struct ib_dlf_decoder *d;

	if (fn == NULL || (mode != IB_DLF_UPLOAD && mode != IB_DLF_DOWNLOAD))
		return NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->mode = mode;
	d->fn = fn;
	d->ctx = ctx;
	d->state = S_NAME_LEN;
	return d;
}

void
ib_dlf_decoder_free(struct ib_dlf_decoder *d)
{
	free(d);
}

int
ib_dlf_decoder_finished(const struct ib_dlf_decoder *d)
{
	return d != NULL && d->state == S_DONE;
}

uint64_t
ib_dlf_decoder_files(const struct ib_dlf_decoder *d)
{
	return d != NULL ? d->files : 0;
}

static int
emit(struct ib_dlf_decoder *d, enum ib_dlf_event_kind kind, const uint8_t *data, size_t len)
{
	struct ib_dlf_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	if (d->mode == IB_DLF_UPLOAD) {
		ev.device_path = d->names[0];
		ev.path = d->names[1];
	} else {
		ev.path = d->names[0];
	}
	ev.data = data;
	ev.len = len;
	if (kind == IB_DLF_FILE_ERROR) {
		ev.code = d->code;
		ev.text = d->text;
	}
	if (kind == IB_DLF_DONE)
		ev.device_path = ev.path = NULL;
	return d->fn(d->ctx, &ev);
}

/* A finished length field: a name length or a chunk length. */
static int
got_length(struct ib_dlf_decoder *d, uint32_t v)
{
	if (d->state == S_NAME_LEN) {
		if (v == 0) {
			if (d->name_idx != 0) {
				ib_err_detail_set("file transfer: empty host path");
				return IB_ERR_DL_PROTOCOL;
			}
			d->state = S_DONE;
			return emit(d, IB_DLF_DONE, NULL, 0);
		}
		if (v > IB_PATH_MAX) {
			ib_err_detail_set("file transfer: a file name of %u bytes (limit %u)",
			    v, IB_PATH_MAX);
			return IB_ERR_TOO_LARGE;
		}
		d->need = v;
		d->name_len = 0;
		d->state = S_NAME;
		return IB_OK;
	}
	if (v == 0) {
		ib_err_detail_set("file transfer: a chunk of length 0 (no code byte)");
		return IB_ERR_DL_PROTOCOL;
	}
	if (v - 1 > IB_DL_CHUNK_MAX) {
		ib_err_detail_set("file transfer: a chunk of %u bytes (limit %u)",
		    v - 1, IB_DL_CHUNK_MAX);
		return IB_ERR_TOO_LARGE;
	}
	d->need = v - 1;
	d->state = S_CODE;
	return IB_OK;
}

static int
name_done(struct ib_dlf_decoder *d)
{
	char *name = d->names[d->name_idx];

	name[d->name_len] = '\0';
	if (memchr(name, '\0', d->name_len) != NULL) {
		ib_err_detail_set("file transfer: a file name contains a NUL byte");
		return IB_ERR_DL_PROTOCOL;
	}
	if (d->mode == IB_DLF_UPLOAD && d->name_idx == 0) {
		d->name_idx = 1;
		d->state = S_NAME_LEN;
		return IB_OK;
	}
	d->name_idx = 0;
	d->state = S_CHUNK_LEN;
	return emit(d, IB_DLF_FILE_BEGIN, NULL, 0);
}

static int
file_error_done(struct ib_dlf_decoder *d)
{
	size_t i;

	/* The text goes to logs: no control characters. */
	for (i = 0; i < d->text_len; i++)
		if ((uint8_t)d->text[i] < 0x20 || d->text[i] == 0x7f)
			d->text[i] = '?';
	d->text[d->text_len] = '\0';
	d->files++;
	d->state = S_NAME_LEN;
	return emit(d, IB_DLF_FILE_ERROR, NULL, 0);
}

static int
got_code(struct ib_dlf_decoder *d, uint8_t code)
{
	d->code = code;
	if (code == IB_DLF_CODE_DATA) {
		d->state = d->need ? S_DATA : S_CHUNK_LEN;
		return IB_OK;
	}
	if (code == IB_DLF_CODE_SUCCESS) {
		if (d->need != 0) {
			ib_err_detail_set("file transfer: a success chunk with %u bytes of payload",
			    d->need);
			return IB_ERR_DL_PROTOCOL;
		}
		d->files++;
		d->state = S_NAME_LEN;
		return emit(d, IB_DLF_FILE_OK, NULL, 0);
	}
	d->text_len = 0;
	if (d->need == 0)
		return file_error_done(d);
	d->state = S_TEXT;
	return IB_OK;
}

/* One step on the bytes at in[0..avail); returns bytes used in *usedp. */
static int
step(struct ib_dlf_decoder *d, const uint8_t *in, size_t avail, size_t *usedp)
{
	size_t take;

	*usedp = 0;
	switch (d->state) {
	case S_NAME_LEN:
	case S_CHUNK_LEN:
		take = IB_MIN(4 - d->hdr_have, avail);
		memcpy(d->hdr + d->hdr_have, in, take);
		d->hdr_have += take;
		*usedp = take;
		if (d->hdr_have < 4)
			return IB_OK;
		d->hdr_have = 0;
		return got_length(d, (uint32_t)d->hdr[0] << 24 | (uint32_t)d->hdr[1] << 16 |
		    (uint32_t)d->hdr[2] << 8 | d->hdr[3]);
	case S_NAME:
		take = IB_MIN(d->need, avail);
		memcpy(d->names[d->name_idx] + d->name_len, in, take);
		d->name_len += take;
		d->need -= (uint32_t)take;
		*usedp = take;
		return d->need == 0 ? name_done(d) : IB_OK;
	case S_CODE:
		*usedp = 1;
		return got_code(d, in[0]);
	case S_DATA:
		take = IB_MIN(d->need, avail);
		d->need -= (uint32_t)take;
		*usedp = take;
		if (d->need == 0)
			d->state = S_CHUNK_LEN;
		return emit(d, IB_DLF_DATA, in, take);
	case S_TEXT:
		take = IB_MIN(d->need, avail);
		if (d->text_len < IB_DL_TEXT_MAX) {
			size_t keep = IB_MIN(take, IB_DL_TEXT_MAX - d->text_len);

			memcpy(d->text + d->text_len, in, keep);
			d->text_len += keep;
		}
		d->need -= (uint32_t)take;
		*usedp = take;
		return d->need == 0 ? file_error_done(d) : IB_OK;
	default:
		return IB_ERR_STATE;
	}
}

int
ib_dlf_decoder_feed(struct ib_dlf_decoder *d, const uint8_t *in, size_t len, size_t *usedp)
{
	size_t pos = 0, used;
	int r = IB_OK;

	if (usedp != NULL)
		*usedp = 0;
	if (d == NULL || (in == NULL && len > 0))
		return IB_ERR_INVALID_ARG;
	if (d->state == S_FAILED)
		return IB_ERR_STATE;
	while (pos < len && d->state != S_DONE) {
		if ((r = step(d, in + pos, len - pos, &used)) != IB_OK) {
			d->state = S_FAILED;
			break;
		}
		pos += used;
	}
	if (usedp != NULL)
		*usedp = pos;
	return r;
}

/* --- encoder ------------------------------------------------------------ */

static int
put_name(struct ib_buf *out, const char *s)
{
	return ib_buf_put_string_u32be(out, s, strlen(s));
}

static int
name_ok(const char *s)
{
	return s != NULL && s[0] != '\0' && strlen(s) <= IB_PATH_MAX;
}

int
ib_dlf_put_file_begin(struct ib_buf *out, const char *device_path, const char *path)
{
	size_t need;
	int r;

	if (!name_ok(path) || (device_path != NULL && !name_ok(device_path)))
		return IB_ERR_INVALID_ARG;
	need = 4 + strlen(path) + (device_path != NULL ? 4 + strlen(device_path) : 0);
	if (ib_buf_avail(out) < need)
		return IB_ERR_TOO_LARGE;
	if (device_path != NULL && (r = put_name(out, device_path)) != IB_OK)
		return r;
	return put_name(out, path);
}

static int
put_chunk(struct ib_buf *out, uint8_t code, const void *p, size_t n)
{
	int r;

	if ((r = ib_buf_put_u32be(out, (uint32_t)(n + 1))) != IB_OK ||
	    (r = ib_buf_put_u8(out, code)) != IB_OK)
		return r;
	return n ? ib_buf_put(out, p, n) : IB_OK;
}

int
ib_dlf_put_data(struct ib_buf *out, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t chunks = (n + IB_DL_CHUNK - 1) / IB_DL_CHUNK, k;
	int r;

	if (n == 0)
		return IB_OK;
	if (p == NULL)
		return IB_ERR_INVALID_ARG;
	if (ib_buf_avail(out) < n || ib_buf_avail(out) - n < chunks * 5)
		return IB_ERR_TOO_LARGE;
	while (n > 0) {
		k = IB_MIN(n, (size_t)IB_DL_CHUNK);
		if ((r = put_chunk(out, IB_DLF_CODE_DATA, b, k)) != IB_OK)
			return r;
		b += k;
		n -= k;
	}
	return IB_OK;
}

int
ib_dlf_put_file_ok(struct ib_buf *out)
{
	if (ib_buf_avail(out) < 5)
		return IB_ERR_TOO_LARGE;
	return put_chunk(out, IB_DLF_CODE_SUCCESS, NULL, 0);
}

int
ib_dlf_put_file_error(struct ib_buf *out, uint8_t code, const char *text)
{
	size_t n = text != NULL ? strlen(text) : 0;

	if (code == IB_DLF_CODE_SUCCESS || code == IB_DLF_CODE_DATA)
		return IB_ERR_INVALID_ARG;
	if (n > IB_DL_TEXT_MAX)
		n = IB_DL_TEXT_MAX;
	if (ib_buf_avail(out) < n + 5)
		return IB_ERR_TOO_LARGE;
	return put_chunk(out, code, text, n);
}

int
ib_dlf_put_done(struct ib_buf *out)
{
	return ib_buf_put_u32be(out, 0);
}
