/*
 * afc_client.c - the host's AFC client over an ib_conn (afc.h): one
 * request in flight, replies read exactly to the end of their packet,
 * and the sync-lock sequence of a backup or restore.
 */
#include "afc.h"
#include "ib_buf.h"
#include "ib_conn.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes read from the connection per call while a reply comes in. */
#define AFC_READ_CHUNK 16384u
/* Longest error detail kept across the cleanup of a failed call. */
#define AFC_DETAIL_MAX 512

struct ib_afc {
	struct ib_conn *conn;
	struct ib_afc_dec *dec;
	struct ib_buf out;
	uint64_t packet_num;    /* of the last request sent */
	uint64_t last_status;
	unsigned timeout_ms;
	int broken;             /* sticky transport or protocol error */
};

int
ib_afc_new(struct ib_conn *conn, struct ib_afc **afcp)
{
	struct ib_afc *afc = calloc(1, sizeof(*afc));
	int r;

	*afcp = NULL;
	if (afc == NULL) {
		ib_conn_free(conn);
		return IB_ERR_NOMEM;
	}
	afc->conn = conn;
	afc->timeout_ms = IB_AFC_REPLY_TIMEOUT_MS;
	ib_buf_init(&afc->out, (size_t)IB_AFC_HEADER_LEN + IB_AFC_HDATA_MAX + IB_AFC_IO_CHUNK);
	if ((r = ib_afc_dec_new(&afc->dec)) != IB_OK) {
		ib_afc_free(afc);
		return r;
	}
	*afcp = afc;
	return IB_OK;
}

void
ib_afc_free(struct ib_afc *afc)
{
	if (afc == NULL)
		return;
	ib_afc_dec_free(afc->dec);
	ib_buf_free(&afc->out);
	ib_conn_free(afc->conn);
	free(afc);
}

void
ib_afc_set_timeout(struct ib_afc *afc, unsigned ms)
{
	afc->timeout_ms = ms;
}

uint64_t
ib_afc_last_status(const struct ib_afc *afc)
{
	return afc->last_status;
}

int
ib_afc_recv_packet(struct ib_conn *conn, struct ib_afc_dec *dec)
{
	uint8_t chunk[AFC_READ_CHUNK];
	size_t need, got, used;
	int r = IB_OK;

	while ((need = ib_afc_dec_need(dec)) > 0) {
		if ((r = ib_conn_read_some(conn, chunk, IB_MIN(need, sizeof(chunk)), &got)) != IB_OK)
			break;
		if ((r = ib_afc_dec_feed(dec, chunk, got, &used)) != IB_OK)
			break;
	}
	if (r == IB_OK) {
		struct ib_afc_packet pkt;

		/* need is also 0 when the decoder failed earlier. */
		r = ib_afc_dec_packet(dec, &pkt);
	}
	return r;
}

/*
 * Send one request and take its reply. Transport and protocol failures
 * break the client; a request we cannot encode does not.
 */
static int
transact(struct ib_afc *afc, const struct ib_afc_req *req, struct ib_afc_reply *rep)
{
	struct ib_afc_packet pkt;
	int r;

	memset(rep, 0, sizeof(*rep));
	if (afc->broken != IB_OK)
		return afc->broken;
	ib_buf_reset(&afc->out);
	if ((r = ib_afc_req_encode(&afc->out, afc->packet_num + 1, req)) != IB_OK)
		return r;
	/* LIMD numbers from 1 and checks the echo; so do we. */
	afc->packet_num++;
	ib_conn_set_timeout(afc->conn, (int)IB_MIN(afc->timeout_ms, (unsigned)INT32_MAX));
	ib_afc_dec_next(afc->dec);
	if ((r = ib_conn_write(afc->conn, ib_buf_ptr(&afc->out), ib_buf_len(&afc->out))) != IB_OK ||
	    (r = ib_afc_recv_packet(afc->conn, afc->dec)) != IB_OK ||
	    (r = ib_afc_dec_packet(afc->dec, &pkt)) != IB_OK ||
	    (r = ib_afc_reply_parse(&pkt, afc->packet_num, rep)) != IB_OK) {
		afc->broken = r;
		return r;
	}
	return IB_OK;
}

/* A reply that must be a status (a header-only DATA counts as success,
 * as in libimobiledevice). */
static int
status_of(struct ib_afc *afc, const struct ib_afc_reply *rep, const char *what)
{
	if (rep->op == IB_AFC_OP_DATA && rep->len == 0) {
		afc->last_status = IB_AFC_SUCCESS;
		return IB_OK;
	}
	if (rep->op != IB_AFC_OP_STATUS) {
		ib_err_detail_set("AFC %s: answered with %s", what, ib_afc_op_name(rep->op));
		afc->broken = IB_ERR_AFC_PROTOCOL;
		return afc->broken;
	}
	afc->last_status = rep->value;
	return ib_afc_status_err(rep->value, what);
}

/* A status where a result (handle, data) was expected: an error status
 * maps to its error, a success status is a protocol error. */
static int
status_instead(struct ib_afc *afc, const struct ib_afc_reply *rep, const char *what)
{
	int r;

	if ((r = status_of(afc, rep, what)) != IB_OK)
		return r;
	ib_err_detail_set("AFC %s: success status without a result", what);
	return afc->broken = IB_ERR_AFC_PROTOCOL;
}

static int
simple_op(struct ib_afc *afc, const struct ib_afc_req *req)
{
	struct ib_afc_reply rep;
	int r;

	if ((r = transact(afc, req, &rep)) != IB_OK)
		return r;
	return status_of(afc, &rep, ib_afc_op_name(req->op));
}

int
ib_afc_file_open(struct ib_afc *afc, const char *path, enum ib_afc_mode mode,
    uint64_t *handlep)
{
	struct ib_afc_req req = { .op = IB_AFC_OP_FILE_OPEN, .arg = mode, .path = path };
	struct ib_afc_reply rep;
	int r;

	*handlep = 0;
	if ((r = transact(afc, &req, &rep)) != IB_OK)
		return r;
	if (rep.op != IB_AFC_OP_FILE_OPEN_RES)
		return status_instead(afc, &rep, "FileOpen");
	afc->last_status = IB_AFC_SUCCESS;
	*handlep = rep.value;
	return IB_OK;
}

int
ib_afc_file_close(struct ib_afc *afc, uint64_t handle)
{
	struct ib_afc_req req = { .op = IB_AFC_OP_FILE_CLOSE, .handle = handle };

	return simple_op(afc, &req);
}

int
ib_afc_file_lock(struct ib_afc *afc, uint64_t handle, uint64_t lock_op)
{
	struct ib_afc_req req = { .op = IB_AFC_OP_FILE_LOCK, .handle = handle, .arg = lock_op };

	return simple_op(afc, &req);
}

int
ib_afc_remove_path(struct ib_afc *afc, const char *path)
{
	struct ib_afc_req req = { .op = IB_AFC_OP_REMOVE_PATH, .path = path };

	return simple_op(afc, &req);
}

int
ib_afc_make_dir(struct ib_afc *afc, const char *path)
{
	struct ib_afc_req req = { .op = IB_AFC_OP_MAKE_DIR, .path = path };

	return simple_op(afc, &req);
}

int
ib_afc_file_write(struct ib_afc *afc, uint64_t handle, const void *p, size_t n)
{
	struct ib_afc_req req = { .op = IB_AFC_OP_FILE_WRITE, .handle = handle };
	const uint8_t *d = p;
	size_t off = 0;
	int r = IB_OK;

	do {
		req.data = d + off;
		req.len = IB_MIN(n - off, (size_t)IB_AFC_IO_CHUNK);
		if ((r = simple_op(afc, &req)) != IB_OK)
			break;
		off += req.len;
	} while (off < n);
	return r;
}

int
ib_afc_file_read(struct ib_afc *afc, uint64_t handle, void *p, size_t n, size_t *gotp)
{
	struct ib_afc_req req = { .op = IB_AFC_OP_FILE_READ, .handle = handle };
	struct ib_afc_reply rep;
	uint8_t *d = p;
	size_t got = 0;
	int r = IB_OK;

	*gotp = 0;
	while (got < n) {
		req.arg = IB_MIN(n - got, (size_t)IB_AFC_IO_CHUNK);
		if ((r = transact(afc, &req, &rep)) != IB_OK)
			return r;
		if (rep.op != IB_AFC_OP_DATA)
			return status_instead(afc, &rep, "FileRead");
		if (rep.len > req.arg) {
			ib_err_detail_set("AFC FileRead: %zu bytes for %llu asked", rep.len,
			    (unsigned long long)req.arg);
			return afc->broken = IB_ERR_AFC_PROTOCOL;
		}
		afc->last_status = IB_AFC_SUCCESS;
		if (rep.len == 0)
			break;
		memcpy(d + got, rep.data, rep.len);
		got += rep.len;
	}
	*gotp = got;
	return IB_OK;
}

int
ib_afc_get_file_info(struct ib_afc *afc, const char *path, plist_t *infop)
{
	struct ib_afc_req req = { .op = IB_AFC_OP_GET_FILE_INFO, .path = path };
	struct ib_afc_reply rep;
	int r;

	*infop = NULL;
	if ((r = transact(afc, &req, &rep)) != IB_OK)
		return r;
	if (rep.op != IB_AFC_OP_DATA) {
		r = status_instead(afc, &rep, "GetFileInfo");
		/* pymobiledevice3 reads READ_ERROR here as "no such file". */
		return afc->last_status == IB_AFC_READ_ERROR ? IB_ERR_NOT_FOUND : r;
	}
	afc->last_status = IB_AFC_SUCCESS;
	if ((r = ib_afc_info_parse(rep.data, rep.len, infop)) != IB_OK)
		afc->broken = r;
	return r;
}

/* --- the sync lock ------------------------------------------------------------ */

int
ib_afc_sync_lock(struct ib_afc *afc, ib_afc_lock_requested_fn lock_requested,
    void *arg, uint64_t *handlep)
{
	return ib_afc_sync_lock_ex(afc, IB_AFC_LOCK_ATTEMPTS, IB_AFC_LOCK_DELAY_MS,
	    lock_requested, arg, handlep, NULL);
}

/* FileLock(EX|NB) until it succeeds, retrying only on OP_WOULD_BLOCK. */
static int
lock_loop(struct ib_afc *afc, uint64_t handle, unsigned attempts, unsigned delay_ms,
    unsigned *triesp)
{
	int r;

	for (*triesp = 1;; (*triesp)++) {
		r = ib_afc_file_lock(afc, handle, IB_AFC_LOCK_EX);
		if (r != IB_ERR_WOULD_BLOCK)
			return r;
		if (*triesp >= attempts) {
			ib_err_detail_set("AFC sync lock %s: still held elsewhere after %u attempts",
			    IB_AFC_SYNC_LOCK_PATH, *triesp);
			return IB_ERR_AFC_LOCK_TIMEOUT;
		}
		ib_debug("sync lock busy (attempt %u of %u)", *triesp, attempts);
		if (!ib_interrupted())
			ib_sleep_ms(delay_ms);
		if (ib_interrupted())
			return IB_ERR_INTERRUPTED;
	}
}

int
ib_afc_sync_lock_ex(struct ib_afc *afc, unsigned attempts, unsigned delay_ms,
    ib_afc_lock_requested_fn lock_requested, void *arg, uint64_t *handlep,
    unsigned *attemptsp)
{
	char detail[AFC_DETAIL_MAX];
	unsigned tries = 0;
	uint64_t handle;
	int r;

	*handlep = 0;
	if (attemptsp != NULL)
		*attemptsp = 0;
	if (attempts == 0)
		return IB_ERR_INVALID_ARG;
	if ((r = ib_afc_file_open(afc, IB_AFC_SYNC_LOCK_PATH, IB_AFC_FOPEN_RW, &handle)) != IB_OK)
		return r;
	if (lock_requested == NULL || (r = lock_requested(arg)) == IB_OK)
		r = lock_loop(afc, handle, attempts, delay_ms, &tries);
	if (attemptsp != NULL)
		*attemptsp = tries;
	if (r == IB_OK) {
		*handlep = handle;
		return IB_OK;
	}
	/* Close without losing the reason we are closing. */
	snprintf(detail, sizeof(detail), "%s", ib_err_detail());
	(void)ib_afc_file_close(afc, handle);
	ib_err_detail_set("%s", detail);
	return r;
}

int
ib_afc_sync_unlock(struct ib_afc *afc, uint64_t handle)
{
	char detail[AFC_DETAIL_MAX] = "";
	int r, r2;

	if ((r = ib_afc_file_lock(afc, handle, IB_AFC_LOCK_UN)) != IB_OK)
		snprintf(detail, sizeof(detail), "%s", ib_err_detail());
	r2 = ib_afc_file_close(afc, handle);
	if (r != IB_OK) {
		ib_err_detail_set("%s", detail);
		return r;
	}
	return r2;
}
