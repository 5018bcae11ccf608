/*
 * tr_usb.c - placeholder for the "usb" transport (ibackup's own mux over libusb). Another
 * step replaces this file wholesale; until then the transport reports
 * that it is not built, so "auto" moves on and "usb" fails clearly.
 */
#include "ib_err.h"
#include "transport.h"

#include <stddef.h>

static int
op_open(struct ib_usbmux *core, const char *spec, void **tp)
{
	(void)core;
	(void)spec;
	*tp = NULL;
	ib_err_detail_set("the usb transport is not built yet");
	return IB_ERR_UNSUPPORTED;
}

static void
op_close(void *t)
{
	(void)t;
}

static const char *
op_describe(void *t)
{
	(void)t;
	return "usb (not built yet)";
}

static int
op_connect(void *t, const struct ib_device *dev, uint16_t port, struct ib_stream **sp)
{
	(void)t;
	(void)dev;
	(void)port;
	*sp = NULL;
	return IB_ERR_UNSUPPORTED;
}

const struct ib_transport_ops ib_transport_usb = {
	.name = "usb",
	.open = op_open,
	.close = op_close,
	.describe = op_describe,
	.connect = op_connect,
};
