/*
 * afc.c - AFC packet codec shared by the host client and the virtual
 * device (sim/sim_afc.c). See afc.h for the wire format.
 */
#include "afc.h"
#include "ib_buf.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC_LEN 8u

/* --- status codes ------------------------------------------------------ */

struct status_row {
	const char *name;
	const char *text;
};

/* Indexed by wire value (lockdown.md section 7). */
static const struct status_row status_rows[] = {
	{ "SUCCESS", "success" },
	{ "UNKNOWN_ERROR", "unknown error (also: directory not empty)" },
	{ "OP_HEADER_INVALID", "the request header was invalid" },
	{ "NO_RESOURCES", "the device ran out of resources" },
	{ "READ_ERROR", "read error" },
	{ "WRITE_ERROR", "write error" },
	{ "UNKNOWN_PACKET_TYPE", "unknown packet type" },
	{ "INVALID_ARG", "invalid argument" },
	{ "OBJECT_NOT_FOUND", "no such file or directory" },
	{ "OBJECT_IS_DIR", "the path is a directory" },
	{ "PERM_DENIED", "permission denied" },
	{ "SERVICE_NOT_CONNECTED", "the service is not connected" },
	{ "OP_TIMEOUT", "the operation timed out" },
	{ "TOO_MUCH_DATA", "too much data" },
	{ "END_OF_DATA", "end of data" },
	{ "OP_NOT_SUPPORTED", "operation not supported" },
	{ "OBJECT_EXISTS", "the file or directory already exists" },
	{ "OBJECT_BUSY", "the file or directory is busy" },
	{ "NO_SPACE_LEFT", "no space left on the device" },
	{ "OP_WOULD_BLOCK", "the operation would block (the lock is held)" },
	{ "IO_ERROR", "input/output error" },
	{ "OP_INTERRUPTED", "the operation was interrupted" },
	{ "OP_IN_PROGRESS", "the operation is in progress" },
	{ "INTERNAL_ERROR", "internal error on the device" },
};

const char *
ib_afc_status_name(uint64_t status)
{
	return status < IB_ARRAY_LEN(status_rows) ? status_rows[status].name : "UNKNOWN";
}

const char *
ib_afc_status_text(uint64_t status)
{
	return status < IB_ARRAY_LEN(status_rows) ? status_rows[status].text :
	    "status code not defined by AFC";
}

int
ib_afc_status_err(uint64_t status, const char *what)
{
	if (status == IB_AFC_SUCCESS)
		return IB_OK;
	ib_err_detail_set("AFC %s: status %llu (%s: %s)", what,
	    (unsigned long long)status, ib_afc_status_name(status),
	    ib_afc_status_text(status));
	switch (status) {
	case IB_AFC_OBJECT_NOT_FOUND:
		return IB_ERR_NOT_FOUND;
	case IB_AFC_OBJECT_EXISTS:
		return IB_ERR_EXISTS;
	case IB_AFC_OP_WOULD_BLOCK:
		return IB_ERR_WOULD_BLOCK;
	default:
		return IB_ERR_AFC;
	}
}

const char *
ib_afc_op_name(uint64_t op)
{
	static _Thread_local char buf[32];

	switch (op) {
	case IB_AFC_OP_STATUS: return "Status";
	case IB_AFC_OP_DATA: return "Data";
	case IB_AFC_OP_REMOVE_PATH: return "RemovePath";
	case IB_AFC_OP_MAKE_DIR: return "MakeDir";
	case IB_AFC_OP_GET_FILE_INFO: return "GetFileInfo";
	case IB_AFC_OP_FILE_OPEN: return "FileOpen";
	case IB_AFC_OP_FILE_OPEN_RES: return "FileOpenResult";
	case IB_AFC_OP_FILE_READ: return "FileRead";
	case IB_AFC_OP_FILE_WRITE: return "FileWrite";
	case IB_AFC_OP_FILE_TELL_RES: return "FileTellResult";
	case IB_AFC_OP_FILE_CLOSE: return "FileClose";
	case IB_AFC_OP_FILE_LOCK: return "FileLock";
	default:
		snprintf(buf, sizeof(buf), "op 0x%llx", (unsigned long long)op);
		return buf;
	}
}

/* --- decoder ------------------------------------------------------------ */

struct ib_afc_dec {
	uint8_t hdr[IB_AFC_HEADER_LEN];
	size_t hdr_have;
	uint64_t packet_num;
	uint64_t op;
	size_t hdata_len;
	size_t body_len;        /* header data + payload */
	struct ib_buf body;     /* capped at IB_AFC_HDATA_MAX + IB_AFC_PAYLOAD_MAX */
	int ready;
	int err;                /* sticky */
};

int
ib_afc_dec_new(struct ib_afc_dec **decp)
{
	struct ib_afc_dec *dec = calloc(1, sizeof(*dec));

	*decp = NULL;
	if (dec == NULL)
		return IB_ERR_NOMEM;
	ib_buf_init(&dec->body, (size_t)IB_AFC_HDATA_MAX + IB_AFC_PAYLOAD_MAX);
	*decp = dec;
	return IB_OK;
}

void
ib_afc_dec_free(struct ib_afc_dec *dec)
{
	if (dec == NULL)
		return;
	ib_buf_free(&dec->body);
	free(dec);
}

/* Check the 40 header bytes and take the lengths from them. */
static int
header_check(struct ib_afc_dec *dec)
{
	struct ib_buf b;
	uint8_t magic[MAGIC_LEN];
	uint64_t entire, this_len;
	int r;

	ib_buf_init_ro(&b, dec->hdr, sizeof(dec->hdr));
	if ((r = ib_buf_get_bytes(&b, magic, sizeof(magic))) != IB_OK ||
	    (r = ib_buf_get_u64le(&b, &entire)) != IB_OK ||
	    (r = ib_buf_get_u64le(&b, &this_len)) != IB_OK ||
	    (r = ib_buf_get_u64le(&b, &dec->packet_num)) != IB_OK ||
	    (r = ib_buf_get_u64le(&b, &dec->op)) != IB_OK)
		return r;
	if (memcmp(magic, IB_AFC_MAGIC, MAGIC_LEN) != 0) {
		ib_err_detail_set("AFC header: bad magic");
		return IB_ERR_AFC_PROTOCOL;
	}
	if (this_len < IB_AFC_HEADER_LEN || entire < this_len) {
		ib_err_detail_set("AFC header: this_length %llu, entire_length %llu",
		    (unsigned long long)this_len, (unsigned long long)entire);
		return IB_ERR_AFC_PROTOCOL;
	}
	/* Both differences are checked before use, so neither can wrap. */
	if (this_len - IB_AFC_HEADER_LEN > IB_AFC_HDATA_MAX) {
		ib_err_detail_set("AFC header: %llu bytes of header data (cap %u)",
		    (unsigned long long)(this_len - IB_AFC_HEADER_LEN), IB_AFC_HDATA_MAX);
		return IB_ERR_TOO_LARGE;
	}
	if (entire - this_len > IB_AFC_PAYLOAD_MAX) {
		ib_err_detail_set("AFC header: %llu bytes of payload (cap %u)",
		    (unsigned long long)(entire - this_len), IB_AFC_PAYLOAD_MAX);
		return IB_ERR_TOO_LARGE;
	}
	dec->hdata_len = (size_t)(this_len - IB_AFC_HEADER_LEN);
	dec->body_len = dec->hdata_len + (size_t)(entire - this_len);
	return IB_OK;
}

size_t
ib_afc_dec_need(const struct ib_afc_dec *dec)
{
	if (dec->err != IB_OK || dec->ready)
		return 0;
	if (dec->hdr_have < IB_AFC_HEADER_LEN)
		return IB_AFC_HEADER_LEN - dec->hdr_have;
	return dec->body_len - ib_buf_len(&dec->body);
}

int
ib_afc_dec_feed(struct ib_afc_dec *dec, const void *p, size_t n, size_t *usedp)
{
	const uint8_t *in = p;
	size_t used = 0, take;
	int r = IB_OK;

	*usedp = 0;
	if (dec->err != IB_OK)
		return dec->err;
	while (!dec->ready) {
		if (dec->hdr_have < IB_AFC_HEADER_LEN) {
			take = IB_MIN(IB_AFC_HEADER_LEN - dec->hdr_have, n - used);
			memcpy(dec->hdr + dec->hdr_have, in + used, take);
			dec->hdr_have += take;
			used += take;
			if (dec->hdr_have < IB_AFC_HEADER_LEN)
				break;
			if ((r = header_check(dec)) != IB_OK)
				break;
		}
		take = IB_MIN(ib_afc_dec_need(dec), n - used);
		if (take > 0 && (r = ib_buf_put(&dec->body, in + used, take)) != IB_OK)
			break;
		used += take;
		if (ib_afc_dec_need(dec) > 0)
			break;
		dec->ready = 1;
	}
	if (r != IB_OK)
		dec->err = r;
	*usedp = used;
	return r;
}

int
ib_afc_dec_packet(const struct ib_afc_dec *dec, struct ib_afc_packet *pktp)
{
	memset(pktp, 0, sizeof(*pktp));
	if (dec->err != IB_OK)
		return dec->err;
	if (!dec->ready)
		return IB_ERR_INCOMPLETE;
	pktp->packet_num = dec->packet_num;
	pktp->op = dec->op;
	pktp->body = ib_buf_ptr(&dec->body);
	pktp->body_len = dec->body_len;
	pktp->hdata_len = dec->hdata_len;
	return IB_OK;
}

void
ib_afc_dec_next(struct ib_afc_dec *dec)
{
	if (dec->err != IB_OK || !dec->ready)
		return;
	ib_buf_reset(&dec->body);
	dec->hdr_have = 0;
	dec->ready = 0;
}

/* --- encoder ------------------------------------------------------------ */

int
ib_afc_encode(struct ib_buf *out, uint64_t packet_num, uint64_t op,
    const void *hdata, size_t hdata_len, const void *payload, size_t payload_len)
{
	size_t before = ib_buf_len(out);
	uint64_t this_len = IB_AFC_HEADER_LEN + (uint64_t)hdata_len;
	int r;

	if (hdata_len > IB_AFC_HDATA_MAX || payload_len > IB_AFC_PAYLOAD_MAX)
		return IB_ERR_TOO_LARGE;
	if ((r = ib_buf_put(out, IB_AFC_MAGIC, MAGIC_LEN)) != IB_OK ||
	    (r = ib_buf_put_u64le(out, this_len + payload_len)) != IB_OK ||
	    (r = ib_buf_put_u64le(out, this_len)) != IB_OK ||
	    (r = ib_buf_put_u64le(out, packet_num)) != IB_OK ||
	    (r = ib_buf_put_u64le(out, op)) != IB_OK ||
	    (r = ib_buf_put(out, hdata, hdata_len)) != IB_OK ||
	    (r = ib_buf_put(out, payload, payload_len)) != IB_OK)
		(void)ib_buf_unput(out, ib_buf_len(out) - before);
	return r;
}

/* --- requests ------------------------------------------------------------ */

static int
op_has_path(uint64_t op)
{
	return op == IB_AFC_OP_FILE_OPEN || op == IB_AFC_OP_REMOVE_PATH ||
	    op == IB_AFC_OP_MAKE_DIR || op == IB_AFC_OP_GET_FILE_INFO;
}

int
ib_afc_req_encode(struct ib_buf *out, uint64_t packet_num, const struct ib_afc_req *req)
{
	struct ib_buf h;
	const void *payload = NULL;
	size_t payload_len = 0;
	int r = IB_OK;

	ib_buf_init(&h, IB_AFC_HDATA_MAX);
	switch (req->op) {
	case IB_AFC_OP_FILE_OPEN:
		r = ib_buf_put_u64le(&h, req->arg);
		break;
	case IB_AFC_OP_FILE_READ:
	case IB_AFC_OP_FILE_LOCK:
		if ((r = ib_buf_put_u64le(&h, req->handle)) == IB_OK)
			r = ib_buf_put_u64le(&h, req->arg);
		break;
	case IB_AFC_OP_FILE_WRITE:
		payload = req->data;
		payload_len = req->len;
		/* FALLTHROUGH */
	case IB_AFC_OP_FILE_CLOSE:
		r = ib_buf_put_u64le(&h, req->handle);
		break;
	case IB_AFC_OP_REMOVE_PATH:
	case IB_AFC_OP_MAKE_DIR:
	case IB_AFC_OP_GET_FILE_INFO:
		break;
	default:
		r = ib_buf_put(&h, req->data, req->len);
		break;
	}
	if (r == IB_OK && op_has_path(req->op)) {
		size_t plen = req->path != NULL ? strlen(req->path) : 0;

		if (plen == 0 || plen > IB_PATH_MAX)
			r = IB_ERR_INVALID_ARG;
		else
			r = ib_buf_put(&h, req->path, plen + 1);
	}
	if (r == IB_OK)
		r = ib_afc_encode(out, packet_num, req->op, ib_buf_ptr(&h), ib_buf_len(&h),
		    payload, payload_len);
	ib_buf_free(&h);
	return r;
}

/* A NUL-terminated, non-empty path that ends the body. */
static int
get_path(struct ib_buf *b, const char **pathp)
{
	size_t len;
	int r;

	if ((r = ib_buf_get_cstring(b, IB_PATH_MAX, pathp, &len)) != IB_OK)
		return r;
	if (len == 0)
		return IB_ERR_FORMAT;
	return ib_buf_get_end(b);
}

int
ib_afc_req_parse(const struct ib_afc_packet *pkt, struct ib_afc_req *req)
{
	struct ib_buf b;
	int r = IB_OK;

	memset(req, 0, sizeof(*req));
	req->op = pkt->op;
	ib_buf_init_ro(&b, pkt->body, pkt->body_len);
	switch (pkt->op) {
	case IB_AFC_OP_FILE_OPEN:
		if ((r = ib_buf_get_u64le(&b, &req->arg)) == IB_OK)
			r = get_path(&b, &req->path);
		break;
	case IB_AFC_OP_FILE_READ:
	case IB_AFC_OP_FILE_LOCK:
		if ((r = ib_buf_get_u64le(&b, &req->handle)) == IB_OK &&
		    (r = ib_buf_get_u64le(&b, &req->arg)) == IB_OK)
			r = ib_buf_get_end(&b);
		break;
	case IB_AFC_OP_FILE_CLOSE:
		if ((r = ib_buf_get_u64le(&b, &req->handle)) == IB_OK)
			r = ib_buf_get_end(&b);
		break;
	case IB_AFC_OP_FILE_WRITE:
		/* LIMD and pymobiledevice3 both send the handle as header
		 * data and the bytes as payload; the rest of the body is data
		 * whichever way a peer splits it. */
		if ((r = ib_buf_get_u64le(&b, &req->handle)) == IB_OK) {
			req->len = ib_buf_len(&b);
			req->data = ib_buf_ptr(&b);
		}
		break;
	case IB_AFC_OP_REMOVE_PATH:
	case IB_AFC_OP_MAKE_DIR:
	case IB_AFC_OP_GET_FILE_INFO:
		r = get_path(&b, &req->path);
		break;
	default:
		req->data = pkt->body;
		req->len = pkt->body_len;
		break;
	}
	if (r != IB_OK) {
		ib_err_detail_set("AFC %s request: malformed body (%s)",
		    ib_afc_op_name(pkt->op), ib_errname(r));
		memset(req, 0, sizeof(*req));
		return IB_ERR_AFC_PROTOCOL;
	}
	return IB_OK;
}

/* --- replies -------------------------------------------------------------- */

static int
op_has_value(uint64_t op)
{
	return op == IB_AFC_OP_STATUS || op == IB_AFC_OP_FILE_OPEN_RES ||
	    op == IB_AFC_OP_FILE_TELL_RES;
}

int
ib_afc_reply_encode(struct ib_buf *out, uint64_t packet_num, const struct ib_afc_reply *rep)
{
	uint8_t v[8];
	unsigned i;

	if (rep->op == IB_AFC_OP_DATA)
		return ib_afc_encode(out, packet_num, rep->op, NULL, 0, rep->data, rep->len);
	if (!op_has_value(rep->op))
		return IB_ERR_INVALID_ARG;
	for (i = 0; i < sizeof(v); i++)
		v[i] = (uint8_t)(rep->value >> (8 * i));
	return ib_afc_encode(out, packet_num, rep->op, v, sizeof(v), NULL, 0);
}

int
ib_afc_reply_parse(const struct ib_afc_packet *pkt, uint64_t want_num,
    struct ib_afc_reply *rep)
{
	struct ib_buf b;
	int r;

	memset(rep, 0, sizeof(*rep));
	if (pkt->packet_num != want_num) {
		ib_err_detail_set("AFC reply: packet_num %llu, expected %llu",
		    (unsigned long long)pkt->packet_num, (unsigned long long)want_num);
		return IB_ERR_AFC_PROTOCOL;
	}
	rep->op = pkt->op;
	if (pkt->op == IB_AFC_OP_DATA) {
		rep->data = pkt->body;
		rep->len = pkt->body_len;
		return IB_OK;
	}
	if (!op_has_value(pkt->op)) {
		ib_err_detail_set("AFC reply: unexpected %s", ib_afc_op_name(pkt->op));
		memset(rep, 0, sizeof(*rep));
		return IB_ERR_AFC_PROTOCOL;
	}
	ib_buf_init_ro(&b, pkt->body, pkt->body_len);
	if ((r = ib_buf_get_u64le(&b, &rep->value)) != IB_OK ||
	    (r = ib_buf_get_end(&b)) != IB_OK) {
		ib_err_detail_set("AFC reply: %s carries %zu bytes, expected 8",
		    ib_afc_op_name(pkt->op), pkt->body_len);
		memset(rep, 0, sizeof(*rep));
		return IB_ERR_AFC_PROTOCOL;
	}
	return IB_OK;
}

/* --- GetFileInfo ---------------------------------------------------------------- */

/* One NUL-terminated string of a GetFileInfo answer. */
static int
info_string(struct ib_buf *b, const char **sp)
{
	size_t len;
	int r;

	if ((r = ib_buf_get_cstring(b, IB_PATH_MAX, sp, &len)) != IB_OK)
		return r;
	return len == 0 ? IB_ERR_FORMAT : IB_OK;
}

/* A decimal number without sign or spaces that fits a u64. */
static int
parse_u64(const char *s, uint64_t *vp)
{
	uint64_t v = 0;

	*vp = 0;
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return 0;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*vp = v;
	return 1;
}

int
ib_afc_info_parse(const uint8_t *p, size_t n, plist_t *infop)
{
	const char *key, *val;
	struct ib_buf b;
	uint64_t v;
	plist_t d;
	int r = IB_OK;

	*infop = NULL;
	if ((d = plist_new_dict()) == NULL)
		return IB_ERR_NOMEM;
	ib_buf_init_ro(&b, p, n);
	while (ib_buf_len(&b) > 0) {
		if (plist_dict_get_size(d) >= IB_AFC_INFO_KEYS_MAX) {
			r = IB_ERR_TOO_LARGE;
			break;
		}
		if ((r = info_string(&b, &key)) != IB_OK ||
		    (r = info_string(&b, &val)) != IB_OK)
			break;
		plist_dict_set_item(d, key, parse_u64(val, &v) ? plist_new_uint(v) :
		    plist_new_string(val));
	}
	if (r != IB_OK) {
		ib_err_detail_set("AFC GetFileInfo: malformed key/value list (%s)", ib_errname(r));
		plist_free(d);
		return IB_ERR_AFC_PROTOCOL;
	}
	*infop = d;
	return IB_OK;
}
