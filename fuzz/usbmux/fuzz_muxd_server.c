/*
 * fuzz_muxd_server - bytes from a usbmuxd client into the server's
 * per-client state machine (muxd_session.c: decoder and dispatcher) over
 * a fake backend, in the chunking the first input byte picks, with device
 * events between chunks. Everything the server answers must decode with
 * our own decoder (else abort: an encoder bug).
 */
#include "ib_err.h"
#include "ib_limits.h"
#include "muxd_proto.h"
#include "muxd_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define UDID1 "00008030-001A2B3C4D5E6F70"
#define UDID2 "0123456789abcdef0123456789abcdef01234567"

static struct muxd_session *cur;
static int stream_token;

static void
fake_dev(struct ib_device *d, uint32_t id)
{
	memset(d, 0, sizeof(*d));
	d->handle = id;
	snprintf(d->udid, sizeof(d->udid), "%s", id == 1 ? UDID1 : UDID2);
	d->product_id = 0x12a8;
	d->speed_bps = 480000000;
	snprintf(d->conn_detail, sizeof(d->conn_detail), "USB");
}

static int
f_list(void *ctx, struct ib_device **devsp, size_t *np)
{
	(void)ctx;
	if ((*devsp = calloc(2, sizeof(**devsp))) == NULL)
		return IB_ERR_NOMEM;
	fake_dev(&(*devsp)[0], 1);
	fake_dev(&(*devsp)[1], 2);
	*np = 2;
	return IB_OK;
}

static int
f_connect(void *ctx, const struct ib_device *dev, uint16_t port, int *fdp, void **hp)
{
	(void)ctx;
	(void)dev;
	*fdp = -1;
	*hp = NULL;
	if (port == 62078)
		return IB_ERR_TIMEOUT;
	if (port != 7)
		return IB_ERR_MUX_REFUSED;
	*hp = &stream_token;
	return IB_OK;
}

static void
f_close_stream(void *ctx, void *h)
{
	(void)ctx;
	if (h != &stream_token)
		abort();
}

static int
f_read(void *ctx, const char *udid, uint8_t **datap, size_t *lenp)
{
	static const char rec[] = "<plist><dict><key>HostID</key><string>X</string></dict></plist>";

	(void)ctx;
	*datap = NULL;
	*lenp = 0;
	if (strcmp(udid, UDID1) != 0)
		return IB_ERR_NOT_FOUND;
	if ((*datap = malloc(sizeof(rec))) == NULL)
		return IB_ERR_NOMEM;
	memcpy(*datap, rec, sizeof(rec));
	*lenp = sizeof(rec);
	return IB_OK;
}

static int
f_save(void *ctx, const char *udid, const uint8_t *data, size_t len)
{
	(void)ctx;
	(void)data;
	if (len < 8)
		return IB_ERR_INVALID_ARG;
	return udid[0] == 'x' ? IB_ERR_PAIR_RECORD_WRITE : IB_OK;
}

static int
f_delete(void *ctx, const char *udid)
{
	(void)ctx;
	return strcmp(udid, UDID1) == 0 ? IB_OK : IB_ERR_NOT_FOUND;
}

static int
f_buid(void *ctx, char **buidp)
{
	(void)ctx;
	*buidp = strdup("00112233-4455-6677-8899-AABBCCDDEEFF");
	return *buidp != NULL ? IB_OK : IB_ERR_NOMEM;
}

static int
f_subscribe(void *ctx, ib_usbmux_event_fn fn, void *arg, int *idp)
{
	(void)ctx;
	(void)fn;
	(void)arg;
	*idp = 0;
	return IB_OK;
}

static void
f_unsubscribe(void *ctx, int id)
{
	(void)ctx;
	(void)id;
}

static const struct ib_muxd_backend fake = {
	.list = f_list, .connect = f_connect, .close_stream = f_close_stream,
	.read_pair_record = f_read, .save_pair_record = f_save,
	.delete_pair_record = f_delete, .read_buid = f_buid,
	.subscribe = f_subscribe, .unsubscribe = f_unsubscribe,
};

static int
h_listeners(void *hctx, struct ib_muxd_listener **lp, size_t *np)
{
	(void)hctx;
	if ((*lp = calloc(1, sizeof(**lp))) == NULL)
		return IB_ERR_NOMEM;
	*np = muxd_session_listener_info(cur, *lp);
	return IB_OK;
}

static void
h_paired(void *hctx, uint32_t id)
{
	(void)hctx;
	(void)muxd_session_notify_paired(cur, id);
}

/* Output must be whole, decodable messages. */
static ssize_t
check_output(void *arg, const uint8_t *p, size_t n)
{
	struct ib_muxd_decoder *d = arg;
	struct ib_muxd_msg m;
	size_t used, off = 0;

	while (off < n) {
		if (ib_muxd_decoder_feed(d, p + off, n - off, &used) != IB_OK)
			abort();
		off += used;
		if (ib_muxd_decoder_want(d) == 0) {
			if (ib_muxd_decoder_next(d, &m) != IB_OK)
				abort();
			ib_muxd_msg_clear(&m);
		}
	}
	return (ssize_t)n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct muxd_host host = {
		.be = &fake, .be_ctx = NULL, .listeners = h_listeners,
		.paired = h_paired, .hctx = NULL,
	};
	struct ib_muxd_decoder out;
	struct ib_device dev;
	size_t chunk, off = 1, used, k = 0;
	void *h;
	int fd;

	if (size < 1 || muxd_session_new(&host, 1, &cur) != IB_OK)
		return 0;
	/* 0 means all at once, else pieces of that many bytes. */
	chunk = data[0] == 0 ? size : data[0];
	ib_muxd_decoder_init(&out);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;

		muxd_session_input(cur, data + off, n, &used);
		if (used < n)
			break;  /* connected or closed: the rest is not commands */
		off += n;
		fake_dev(&dev, 3 + (uint32_t)(k % 2));
		(void)muxd_session_notify(cur, (int)(k++ % 3 != 2), &dev);
		(void)muxd_session_output(cur, check_output, &out);
	}
	(void)muxd_session_output(cur, check_output, &out);
	if (muxd_session_state(cur, NULL, NULL) == MUXD_CONNECTED &&
	    muxd_session_take_stream(cur, &fd, &h) == IB_OK)
		f_close_stream(NULL, h);
	muxd_session_free(cur);
	cur = NULL;
	ib_muxd_decoder_release(&out);
	return 0;
}
