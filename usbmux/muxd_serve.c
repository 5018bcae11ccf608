/*
 * muxd_serve.c - the usbmuxd-compatible server over an ib_usbmux context
 * (the backend `ibackup muxd` uses). Kept apart from muxd_server.c so that
 * tests and fuzzers can run the server over a fake backend without the
 * usbmux core.
 */
#include "muxd_server.h"
#include "ib_err.h"
#include "ib_util.h"

static int
um_list(void *ctx, struct ib_device **devsp, size_t *np)
{
	return ib_usbmux_list(ctx, devsp, np);
}

static int
um_connect(void *ctx, const struct ib_device *dev, uint16_t port, int *fdp, void **hp)
{
	struct ib_stream *s = NULL;
	int r;

	*fdp = -1;
	*hp = NULL;
	if ((r = ib_usbmux_connect(ctx, dev->udid, port, &s)) != IB_OK)
		return r;
	*fdp = ib_stream_fd(s);
	*hp = s;
	return IB_OK;
}

static void
um_close_stream(void *ctx, void *h)
{
	(void)ctx;
	ib_stream_close(h);
}

static int
um_read_pair_record(void *ctx, const char *udid, uint8_t **datap, size_t *lenp)
{
	return ib_usbmux_read_pair_record(ctx, udid, datap, lenp);
}

static int
um_save_pair_record(void *ctx, const char *udid, const uint8_t *data, size_t len)
{
	return ib_usbmux_save_pair_record(ctx, udid, data, len);
}

static int
um_delete_pair_record(void *ctx, const char *udid)
{
	return ib_usbmux_delete_pair_record(ctx, udid);
}

static int
um_read_buid(void *ctx, char **buidp)
{
	return ib_usbmux_read_buid(ctx, buidp);
}

static int
um_subscribe(void *ctx, ib_usbmux_event_fn fn, void *arg, int *idp)
{
	return ib_usbmux_subscribe(ctx, fn, arg, idp);
}

static void
um_unsubscribe(void *ctx, int id)
{
	ib_usbmux_unsubscribe(ctx, id);
}

static const struct ib_muxd_backend usbmux_backend = {
	.list = um_list,
	.connect = um_connect,
	.close_stream = um_close_stream,
	.read_pair_record = um_read_pair_record,
	.save_pair_record = um_save_pair_record,
	.delete_pair_record = um_delete_pair_record,
	.read_buid = um_read_buid,
	.subscribe = um_subscribe,
	.unsubscribe = um_unsubscribe,
};

int
ib_muxd_server_start(struct ib_usbmux *m, const char *socket_path, struct ib_muxd_server **sp)
{
	return ib_muxd_server_start_backend(&usbmux_backend, m, socket_path, sp);
}

int
ib_muxd_serve(struct ib_usbmux *m, const char *socket_path)
{
	struct ib_muxd_server *s = NULL;
	int r;

	if ((r = ib_muxd_server_start(m, socket_path, &s)) != IB_OK)
		return r;
	while (!ib_interrupted())
		ib_sleep_ms(200);
	ib_muxd_server_stop(s);
	return IB_ERR_INTERRUPTED;
}
