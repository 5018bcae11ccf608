/*
 * ld_msg.c - 4-byte big-endian length + plist framing (see ld_msg.h).
 */
#include "ld_msg.h"

#include "ib_buf.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_plist.h"
#include "ib_util.h"

#include <stdlib.h>
#include <string.h>

int
ld_msg_encode(plist_t msg, enum ld_msg_format fmt, uint8_t **outp, size_t *lenp)
{
	uint8_t *body = NULL, *out = NULL;
	char *xml = NULL;
	size_t blen = 0;
	int r;

	*outp = NULL;
	*lenp = 0;
	if (msg == NULL)
		return IB_ERR_INVALID_ARG;
	if (fmt == LD_MSG_BINARY)
		r = ib_plist_to_bin(msg, &body, &blen);
	else {
		r = ib_plist_to_xml(msg, &xml, &blen);
		body = (uint8_t *)xml;
	}
	if (r != IB_OK)
		goto out;
	if (blen > IB_PLIST_MSG_MAX) {
		ib_err_detail_set("outgoing plist of %zu bytes exceeds the %u-byte message cap",
		    blen, IB_PLIST_MSG_MAX);
		r = IB_ERR_TOO_LARGE;
		goto out;
	}
	if ((out = malloc(LD_MSG_HEADER + blen)) == NULL) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	out[0] = (uint8_t)(blen >> 24);
	out[1] = (uint8_t)(blen >> 16);
	out[2] = (uint8_t)(blen >> 8);
	out[3] = (uint8_t)blen;
	memcpy(out + LD_MSG_HEADER, body, blen);
	*outp = out;
	*lenp = LD_MSG_HEADER + blen;
	r = IB_OK;
out:
	/* The body may carry a pair record or an escrow bag. */
	if (body != NULL)
		explicit_bzero(body, blen);
	free(body);
	return r;
}

struct ld_msg_dec {
	size_t max;             /* cap on one body */
	uint8_t hdr[LD_MSG_HEADER];
	size_t hdr_have;        /* header bytes collected (0..4) */
	size_t body_len;        /* valid once hdr_have == 4 */
	struct ib_buf body;     /* capped at body_len when the header is in */
	int failed;             /* sticky error, 0 while healthy */
};

int
ld_msg_dec_new(size_t max, struct ld_msg_dec **dp)
{
	struct ld_msg_dec *d;

	*dp = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return IB_ERR_NOMEM;
	d->max = (max == 0 || max > IB_PLIST_MSG_MAX) ? IB_PLIST_MSG_MAX : max;
	ib_buf_init(&d->body, 0);
	*dp = d;
	return IB_OK;
}

void
ld_msg_dec_free(struct ld_msg_dec *d)
{
	if (d == NULL)
		return;
	ib_buf_free(&d->body);
	explicit_bzero(d, sizeof(*d));
	free(d);
}

size_t
ld_msg_dec_want(const struct ld_msg_dec *d)
{
	if (d->failed)
		return 0;
	if (d->hdr_have < LD_MSG_HEADER)
		return LD_MSG_HEADER - d->hdr_have;
	return d->body_len - ib_buf_len(&d->body);
}

int
ld_msg_dec_idle(const struct ld_msg_dec *d)
{
	return !d->failed && d->hdr_have == 0;
}

/* The whole body is in: parse it and get ready for the next message. */
static int
finish(struct ld_msg_dec *d, plist_t *msgp)
{
	int r;

	r = ib_plist_parse(ib_buf_ptr(&d->body), ib_buf_len(&d->body), d->max, msgp);
	ib_buf_free(&d->body);
	ib_buf_init(&d->body, 0);
	d->hdr_have = 0;
	d->body_len = 0;
	return r;
}

int
ld_msg_dec_feed(struct ld_msg_dec *d, const uint8_t *p, size_t len,
    size_t *usedp, plist_t *msgp)
{
	size_t used = 0, n;
	int r;

	*usedp = 0;
	*msgp = NULL;
	if (d->failed)
		return d->failed;
	if (d->hdr_have < LD_MSG_HEADER) {
		n = IB_MIN(LD_MSG_HEADER - d->hdr_have, len);
		memcpy(d->hdr + d->hdr_have, p, n);
		d->hdr_have += n;
		used += n;
		if (d->hdr_have < LD_MSG_HEADER) {
			*usedp = used;
			return IB_OK;
		}
		d->body_len = (size_t)d->hdr[0] << 24 | (size_t)d->hdr[1] << 16 |
		    (size_t)d->hdr[2] << 8 | d->hdr[3];
		if (d->body_len > d->max) {
			ib_err_detail_set("plist message announces %zu bytes, cap is %zu",
			    d->body_len, d->max);
			d->failed = IB_ERR_TOO_LARGE;
			*usedp = used;
			return d->failed;
		}
		ib_buf_free(&d->body);
		ib_buf_init(&d->body, d->body_len);
	}
	n = IB_MIN(d->body_len - ib_buf_len(&d->body), len - used);
	if (n > 0 && (r = ib_buf_put(&d->body, p + used, n)) != IB_OK) {
		d->failed = r;
		*usedp = used;
		return r;
	}
	used += n;
	*usedp = used;
	if (ib_buf_len(&d->body) < d->body_len)
		return IB_OK;
	if ((r = finish(d, msgp)) != IB_OK)
		d->failed = r;
	return r;
}
