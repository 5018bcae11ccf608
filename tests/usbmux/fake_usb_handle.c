/*
 * fake_usb_handle.c - the libusb test double, third part: device
 * handles (open/close, configuration, kernel drivers, interface claims),
 * control requests, and the scripting/observation functions of
 * fake_libusb.h.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_usb_int.h"

#define APPLE_REQ_GET_MODE 0x45
#define APPLE_REQ_SET_MODE 0x52

/* --- handles ------------------------------------------------------------ */

int
libusb_open(libusb_device *d, libusb_device_handle **hp)
{
	struct libusb_device_handle *h;
	int r = 0;

	LOCK();
	if (!d->plugged)
		r = LIBUSB_ERROR_NO_DEVICE;
	else if (d->open_error != 0)
		r = d->open_error;
	else if (fk.ctxs == NULL)
		r = LIBUSB_ERROR_INVALID_PARAM;
	else if ((h = calloc(1, sizeof(*h))) == NULL)
		r = LIBUSB_ERROR_NO_MEM;
	if (r == 0) {
		h->dev = d;
		h->ctx = fk.ctxs;
		d->refs++;
		fk.live++;
		*hp = h;
	}
	UNLOCK();
	return r;
}

/* libusb_close() forgets transfers still in flight: no callback ever. */
static void
orphan_locked(struct fake_xfer *fx)
{
	struct libusb_device *d = fx->dev;

	if (fx->mux_in) {
		if (fx->state == X_PENDING)
			d->in_pending--;
		else
			d->in_queued--;
		fx->mux_in = 0;
	}
	fx->state = X_ORPHAN;
	fx->next = fk.orphans;
	fk.orphans = fx;
}

void
libusb_close(libusb_device_handle *h)
{
	struct libusb_device *d;
	struct fake_xfer *fx, **pp;
	unsigned dropped = 0;

	if (h == NULL)
		return;
	LOCK();
	d = h->dev;
	if (d->claimer == h) {
		memset(d->claimed, 0, sizeof(d->claimed));
		d->claimer = NULL;
	}
	for (pp = &d->pend_head; (fx = *pp) != NULL;) {
		if (XT(fx)->dev_handle != h) {
			pp = &fx->next;
			continue;
		}
		*pp = fx->next;
		orphan_locked(fx);
		dropped++;
	}
	for (d->pend_tail = d->pend_head; d->pend_tail && d->pend_tail->next;)
		d->pend_tail = d->pend_tail->next;
	for (pp = &h->ctx->cq_head; (fx = *pp) != NULL;) {
		if (XT(fx)->dev_handle != h) {
			pp = &fx->next;
			continue;
		}
		*pp = fx->next;
		orphan_locked(fx);
		dropped++;
	}
	for (h->ctx->cq_tail = h->ctx->cq_head; h->ctx->cq_tail && h->ctx->cq_tail->next;)
		h->ctx->cq_tail = h->ctx->cq_tail->next;
	if (dropped > 0)
		fprintf(stderr, "fake_libusb: handle closed with %u transfers in flight\n", dropped);
	fk_dev_unref_locked(d);
	fk.live--;
	UNLOCK();
	free(h);
}

libusb_device *
libusb_get_device(libusb_device_handle *h)
{
	return h->dev;
}

int
libusb_get_configuration(libusb_device_handle *h, int *config)
{
	int r = 0;

	LOCK();
	if (!h->dev->plugged)
		r = LIBUSB_ERROR_NO_DEVICE;
	else
		*config = h->dev->config;
	UNLOCK();
	return r;
}

/* Linux refuses while any interface of the active configuration is
 * bound to a driver, usbfs claims included (EBUSY). */
int
libusb_set_configuration(libusb_device_handle *h, int value)
{
	struct libusb_device *d = h->dev;
	unsigned i;
	int r = 0;

	LOCK();
	fk_oplog(d, "setcfg:%d", value);
	if (!d->plugged)
		r = LIBUSB_ERROR_NO_DEVICE;
	else if (value >= 0 && value < 256 && d->cfg_err[value] != 0)
		r = d->cfg_err[value];
	for (i = 0; r == 0 && i < 8; i++)
		if ((d->drivers[i] | d->claimed[i]) & d->ifaces[i])
			r = LIBUSB_ERROR_BUSY;
	if (r == 0)
		r = fk_activate_locked(d, (uint8_t)(value < 0 ? 0 : value));
	UNLOCK();
	return r;
}

int
libusb_kernel_driver_active(libusb_device_handle *h, int iface)
{
	int r;

	LOCK();
	if (!h->dev->plugged)
		r = LIBUSB_ERROR_NO_DEVICE;
	else
		r = iface >= 0 && iface < 256 && fk_bit_get(h->dev->ifaces, (unsigned)iface) &&
		    fk_bit_get(h->dev->drivers, (unsigned)iface);
	UNLOCK();
	return r;
}

int
libusb_detach_kernel_driver(libusb_device_handle *h, int iface)
{
	struct libusb_device *d = h->dev;
	int r = 0;

	LOCK();
	fk_oplog(d, "detach:%d", iface);
	if (!d->plugged)
		r = LIBUSB_ERROR_NO_DEVICE;
	else if (iface < 0 || iface > 255 || !fk_bit_get(d->ifaces, (unsigned)iface) ||
	    !fk_bit_get(d->drivers, (unsigned)iface))
		r = LIBUSB_ERROR_NOT_FOUND;
	else
		fk_bit_set(d->drivers, (unsigned)iface, 0);
	UNLOCK();
	return r;
}

int
libusb_claim_interface(libusb_device_handle *h, int iface)
{
	struct libusb_device *d = h->dev;
	int r = 0;

	LOCK();
	fk_oplog(d, "claim:%d", iface);
	if (!d->plugged)
		r = LIBUSB_ERROR_NO_DEVICE;
	else if (iface < 0 || iface > 255 || !fk_bit_get(d->ifaces, (unsigned)iface))
		r = LIBUSB_ERROR_NOT_FOUND;
	else if (d->claim_error != 0)
		r = d->claim_error;
	else if (fk_bit_get(d->drivers, (unsigned)iface) || (d->claimer != NULL && d->claimer != h))
		r = LIBUSB_ERROR_BUSY;
	if (r == 0) {
		fk_bit_set(d->claimed, (unsigned)iface, 1);
		d->claimer = h;
	}
	UNLOCK();
	return r;
}

int
libusb_release_interface(libusb_device_handle *h, int iface)
{
	struct libusb_device *d = h->dev;
	int r = 0;

	LOCK();
	fk_oplog(d, "release:%d", iface);
	if (d->claimer != h || iface < 0 || iface > 255 || !fk_bit_get(d->claimed, (unsigned)iface))
		r = LIBUSB_ERROR_NOT_FOUND;
	else
		fk_bit_set(d->claimed, (unsigned)iface, 0);
	if (!d->plugged)
		r = LIBUSB_ERROR_NO_DEVICE;
	UNLOCK();
	return r;
}

/* GET_DESCRIPTOR; -1 for a stall. */
static int
get_descriptor(struct libusb_device *d, uint16_t wvalue, uint8_t *buf)
{
	uint8_t type = (uint8_t)(wvalue >> 8), idx = (uint8_t)wvalue;
	const char *s;
	size_t i, n;

	if (type == LIBUSB_DT_DEVICE) {
		memcpy(buf, d->spec->desc, 18);
		return 18;
	}
	if (type != LIBUSB_DT_STRING)
		return -1;
	if (idx == 0) {
		memcpy(buf, "\x04\x03\x09\x04", 4);     /* English (US) */
		return 4;
	}
	s = idx == d->spec->desc[16] ? d->serial : idx < 32 ? d->spec->strings[idx] : NULL;
	if (s == NULL)
		return -1;
	n = strlen(s) > 126 ? 126 : strlen(s);
	buf[0] = (uint8_t)(2 + 2 * n);
	buf[1] = LIBUSB_DT_STRING;
	for (i = 0; i < n; i++) {
		buf[2 + 2 * i] = (uint8_t)s[i];
		buf[3 + 2 * i] = 0;
	}
	return (int)(2 + 2 * n);
}

int
libusb_control_transfer(libusb_device_handle *h, uint8_t type, uint8_t req, uint16_t wvalue,
    uint16_t windex, unsigned char *data, uint16_t wlength, unsigned int timeout)
{
	struct libusb_device *d = h->dev;
	uint8_t buf[256];
	int n = -1;

	(void)timeout;
	LOCK();
	if (!d->plugged) {
		UNLOCK();
		return LIBUSB_ERROR_NO_DEVICE;
	}
	if (type == 0x80 && req == LIBUSB_REQUEST_GET_DESCRIPTOR) {
		n = get_descriptor(d, wvalue, buf);
	} else if (type == 0xc0 && req == APPLE_REQ_GET_MODE) {
		fk_oplog(d, "getmode");
		if (d->spec->has_mode) {
			memcpy(buf, d->spec->mode, 4);
			n = 4;
		}
	} else if (req == APPLE_REQ_SET_MODE) {
		fk_oplog(d, "setmode:%u", windex);
	}
	UNLOCK();
	if (n < 0)
		return LIBUSB_ERROR_PIPE;
	if (n > wlength)
		n = wlength;
	memcpy(data, buf, (size_t)n);
	return n;
}

/* --- scripting and observation ------------------------------------------ */

void
fake_usb_reset(void)
{
	LOCK();
	fk.hotplug = 1;
	UNLOCK();
}

void
fake_usb_set_hotplug(int on)
{
	LOCK();
	fk.hotplug = on;
	UNLOCK();
}

void
fake_usb_set_config_error(struct fake_usb_dev *fd, uint8_t value, int err)
{
	LOCK();
	((struct libusb_device *)fd)->cfg_err[value] = err;
	UNLOCK();
}

void
fake_usb_set_kernel_driver(struct fake_usb_dev *fd, uint8_t iface, int bound)
{
	LOCK();
	fk_bit_set(((struct libusb_device *)fd)->drivers, iface, bound);
	UNLOCK();
}

void
fake_usb_fail_endpoint(struct fake_usb_dev *fd, uint8_t ep, int status)
{
	struct libusb_device *d = (struct libusb_device *)fd;
	struct fake_xfer *fx, *next;

	LOCK();
	d->ep_fail[EP_IDX(ep)] = status;
	for (fx = d->pend_head; fx != NULL; fx = next) {
		next = fx->next;
		if (XT(fx)->endpoint == ep)
			fk_complete_locked(fx, status, 0);
	}
	UNLOCK();
}

void
fake_usb_set_cancel_stuck(struct fake_usb_dev *fd, int on)
{
	LOCK();
	((struct libusb_device *)fd)->cancel_stuck = on;
	UNLOCK();
}

int
fake_usb_release_orphans(void)
{
	struct fake_xfer *fx;
	int n = 0;

	LOCK();
	while ((fx = fk.orphans) != NULL) {
		fk.orphans = fx->next;
		fx->state = X_IDLE;
		fk_complete_locked(fx, LIBUSB_TRANSFER_CANCELLED, 0);
		n++;
	}
	UNLOCK();
	return n;
}

uint8_t
fake_usb_active_config(struct fake_usb_dev *fd)
{
	uint8_t c;

	LOCK();
	c = ((struct libusb_device *)fd)->config;
	UNLOCK();
	return c;
}

const char *
fake_usb_oplog(struct fake_usb_dev *fd, char *buf, size_t n)
{
	LOCK();
	snprintf(buf, n, "%s", ((struct libusb_device *)fd)->oplog);
	UNLOCK();
	return buf;
}

size_t
fake_usb_out_lengths(struct fake_usb_dev *fd, uint32_t *out, size_t max)
{
	struct libusb_device *d = (struct libusb_device *)fd;
	size_t n;

	LOCK();
	n = d->n_out;
	if (out != NULL)
		memcpy(out, d->out_lens, (n < max ? n : max) * sizeof(*out));
	UNLOCK();
	return n;
}

void
fake_usb_in_stats(struct fake_usb_dev *fd, struct fake_usb_in_stats *st)
{
	struct libusb_device *d = (struct libusb_device *)fd;

	LOCK();
	*st = d->st;
	st->in_flight = d->in_pending;
	UNLOCK();
}

void
fake_usb_in_stats_reset(struct fake_usb_dev *fd)
{
	struct libusb_device *d = (struct libusb_device *)fd;

	LOCK();
	d->st.min_after_cb = UINT_MAX;
	d->st.callbacks = 0;
	UNLOCK();
}

int
fake_usb_wait_idle(int ms)
{
	struct libusb_context *ctx;
	uint64_t waited = 0;
	int busy;

	for (;;) {
		LOCK();
		busy = fk.delivering > 0;
		for (ctx = fk.ctxs; ctx != NULL; ctx = ctx->next)
			busy |= ctx->cq_head != NULL || ctx->ev_head != NULL;
		UNLOCK();
		if (!busy || waited >= (uint64_t)ms)
			return !busy;
		usleep(2000);
		waited += 2;
	}
}

unsigned
fake_usb_live(void)
{
	unsigned n;

	LOCK();
	n = fk.live;
	UNLOCK();
	return n;
}
