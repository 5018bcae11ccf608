/*
 * fake_usb_api.c - the libusb test double, second half: contexts, event
 * delivery, hotplug, device queries, handles and control requests, and
 * the scripting/observation functions of fake_libusb.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_usb_int.h"
#include "ib_err.h"

/* Callbacks one hotplug event may reach. */
#define HP_MAX_CALLS 16

/* --- contexts and events ------------------------------------------------ */

int
libusb_init(libusb_context **ctxp)
{
	struct libusb_context *ctx;

	if (ctxp == NULL)
		return LIBUSB_ERROR_INVALID_PARAM;      /* no default context */
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return LIBUSB_ERROR_NO_MEM;
	pthread_mutex_init(&ctx->ev_lock, NULL);
	LOCK();
	ctx->next = fk.ctxs;
	fk.ctxs = ctx;
	fk.live++;
	UNLOCK();
	*ctxp = ctx;
	return 0;
}

void
libusb_exit(libusb_context *ctx)
{
	struct libusb_context **pp;
	struct hp_cb *cb;
	struct hp_ev *ev;
	struct fake_xfer *fx;

	if (ctx == NULL)
		return;
	LOCK();
	for (pp = &fk.ctxs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == ctx) {
			*pp = ctx->next;
			break;
		}
	}
	while ((cb = ctx->cbs) != NULL) {
		ctx->cbs = cb->next;
		free(cb);
	}
	while ((ev = ctx->ev_head) != NULL) {
		ctx->ev_head = ev->next;
		fk_dev_unref_locked(ev->dev);
		free(ev);
	}
	while ((fx = ctx->cq_head) != NULL) {
		fprintf(stderr, "fake_libusb: libusb_exit with an undelivered completion\n");
		ctx->cq_head = fx->next;
		fx->state = X_IDLE;
		fk_dev_unref_locked(fx->dev);
		fx->dev = NULL;
	}
	fk.live--;
	UNLOCK();
	pthread_mutex_destroy(&ctx->ev_lock);
	free(ctx);
}

const struct libusb_version *
libusb_get_version(void)
{
	static const struct libusb_version v = { 1, 0, 26, 0, "", "fake_libusb" };

	return &v;
}

int
libusb_has_capability(uint32_t cap)
{
	int r;

	LOCK();
	r = cap == LIBUSB_CAP_HAS_CAPABILITY || cap == LIBUSB_CAP_SUPPORTS_DETACH_KERNEL_DRIVER ||
	    (cap == LIBUSB_CAP_HAS_HOTPLUG && fk.hotplug);
	UNLOCK();
	return r;
}

const char *
libusb_error_name(int code)
{
	switch (code) {
	case LIBUSB_SUCCESS: return "LIBUSB_SUCCESS";
	case LIBUSB_ERROR_IO: return "LIBUSB_ERROR_IO";
	case LIBUSB_ERROR_INVALID_PARAM: return "LIBUSB_ERROR_INVALID_PARAM";
	case LIBUSB_ERROR_ACCESS: return "LIBUSB_ERROR_ACCESS";
	case LIBUSB_ERROR_NO_DEVICE: return "LIBUSB_ERROR_NO_DEVICE";
	case LIBUSB_ERROR_NOT_FOUND: return "LIBUSB_ERROR_NOT_FOUND";
	case LIBUSB_ERROR_BUSY: return "LIBUSB_ERROR_BUSY";
	case LIBUSB_ERROR_TIMEOUT: return "LIBUSB_ERROR_TIMEOUT";
	case LIBUSB_ERROR_OVERFLOW: return "LIBUSB_ERROR_OVERFLOW";
	case LIBUSB_ERROR_PIPE: return "LIBUSB_ERROR_PIPE";
	case LIBUSB_ERROR_INTERRUPTED: return "LIBUSB_ERROR_INTERRUPTED";
	case LIBUSB_ERROR_NO_MEM: return "LIBUSB_ERROR_NO_MEM";
	case LIBUSB_ERROR_NOT_SUPPORTED: return "LIBUSB_ERROR_NOT_SUPPORTED";
	case LIBUSB_ERROR_OTHER: return "LIBUSB_ERROR_OTHER";
	default: return "**UNKNOWN**";
	}
}

/* Deliver the oldest completion, without the lock around the callback. */
static void
deliver_xfer_locked(struct libusb_context *ctx)
{
	struct fake_xfer *fx = ctx->cq_head;
	struct libusb_transfer *t = XT(fx);
	struct libusb_device *d = fx->dev;
	int mux_in = fx->mux_in, ok = t->status == LIBUSB_TRANSFER_COMPLETED;
	unsigned n;

	if ((ctx->cq_head = fx->next) == NULL)
		ctx->cq_tail = NULL;
	fx->next = NULL;
	fx->state = X_IDLE;
	fx->dev = NULL;
	if (mux_in)
		d->in_queued--;
	fk.delivering++;
	UNLOCK();
	t->callback(t);         /* may free or resubmit t */
	LOCK();
	fk.delivering--;
	if (mux_in && ok && d->plugged) {
		n = d->in_pending + d->in_queued;
		if (n < d->st.min_after_cb)
			d->st.min_after_cb = n;
		d->st.callbacks++;
	}
	fk_dev_unref_locked(d);
}

static int
hp_registered_locked(struct libusb_context *ctx, int handle)
{
	struct hp_cb *cb;

	for (cb = ctx->cbs; cb != NULL; cb = cb->next)
		if (cb->handle == handle)
			return 1;
	return 0;
}

static void
deliver_hp_locked(struct libusb_context *ctx)
{
	struct hp_ev *ev = ctx->ev_head;
	struct hp_cb calls[HP_MAX_CALLS], *cb;
	const uint8_t *dd = ev->dev->spec->desc;
	int vid = dd[8] | (dd[9] << 8), pid = dd[10] | (dd[11] << 8);
	size_t n = 0, i;
	int r, reg;

	if ((ctx->ev_head = ev->next) == NULL)
		ctx->ev_tail = NULL;
	for (cb = ctx->cbs; cb != NULL && n < HP_MAX_CALLS; cb = cb->next)
		if ((cb->events & (int)ev->ev) && (cb->vid == LIBUSB_HOTPLUG_MATCH_ANY || cb->vid == vid) &&
		    (cb->pid == LIBUSB_HOTPLUG_MATCH_ANY || cb->pid == pid))
			calls[n++] = *cb;
	fk.delivering++;
	for (i = 0; i < n; i++) {
		reg = hp_registered_locked(ctx, calls[i].handle);
		UNLOCK();
		r = reg ? calls[i].fn(ctx, ev->dev, ev->ev, calls[i].user) : 0;
		if (r != 0)
			libusb_hotplug_deregister_callback(ctx, calls[i].handle);
		LOCK();
	}
	fk.delivering--;
	fk_dev_unref_locked(ev->dev);
	free(ev);
}

int
libusb_handle_events_timeout_completed(libusb_context *ctx, struct timeval *tv, int *completed)
{
	struct timespec dl;
	int handled = 0;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += tv != NULL ? tv->tv_sec : 60;
	dl.tv_nsec += tv != NULL ? tv->tv_usec * 1000L : 0;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&ctx->ev_lock);
	LOCK();
	for (;;) {
		if (completed != NULL && __atomic_load_n(completed, __ATOMIC_ACQUIRE))
			break;
		if (ctx->interrupted) {
			ctx->interrupted = 0;
			break;
		}
		if (ctx->cq_head != NULL) {
			deliver_xfer_locked(ctx);
			handled = 1;
		} else if (ctx->ev_head != NULL) {
			deliver_hp_locked(ctx);
			handled = 1;
		} else if (handled || pthread_cond_timedwait(&fk.cv, &fk.mu, &dl) == ETIMEDOUT) {
			break;
		}
	}
	UNLOCK();
	pthread_mutex_unlock(&ctx->ev_lock);
	return 0;
}

void
libusb_interrupt_event_handler(libusb_context *ctx)
{
	LOCK();
	ctx->interrupted = 1;
	pthread_cond_broadcast(&fk.cv);
	UNLOCK();
}

/* --- hotplug ---------------------------------------------------------- */

void
fk_queue_hotplug_locked(struct libusb_device *d, libusb_hotplug_event e)
{
	struct libusb_context *ctx;
	struct hp_ev *ev;

	for (ctx = fk.ctxs; ctx != NULL; ctx = ctx->next) {
		if (ctx->cbs == NULL)
			continue;
		if ((ev = calloc(1, sizeof(*ev))) == NULL)
			abort();
		ev->dev = d;
		ev->ev = e;
		d->refs++;
		if (ctx->ev_tail != NULL)
			ctx->ev_tail->next = ev;
		else
			ctx->ev_head = ev;
		ctx->ev_tail = ev;
	}
	pthread_cond_broadcast(&fk.cv);
}

int
libusb_hotplug_register_callback(libusb_context *ctx, int events, int flags, int vid,
    int pid, int dev_class, libusb_hotplug_callback_fn fn, void *user,
    libusb_hotplug_callback_handle *handlep)
{
	struct hp_cb *cb;

	(void)dev_class;
	if (flags != 0)
		return LIBUSB_ERROR_NOT_SUPPORTED;      /* ENUMERATE: not needed */
	if ((cb = calloc(1, sizeof(*cb))) == NULL)
		return LIBUSB_ERROR_NO_MEM;
	LOCK();
	if (!fk.hotplug) {
		UNLOCK();
		free(cb);
		return LIBUSB_ERROR_NOT_SUPPORTED;
	}
	cb->handle = ++fk.next_cb;
	cb->events = events;
	cb->vid = vid;
	cb->pid = pid;
	cb->fn = fn;
	cb->user = user;
	cb->next = ctx->cbs;
	ctx->cbs = cb;
	if (handlep != NULL)
		*handlep = cb->handle;
	UNLOCK();
	return 0;
}

void
libusb_hotplug_deregister_callback(libusb_context *ctx, libusb_hotplug_callback_handle handle)
{
	struct hp_cb **pp, *cb;

	LOCK();
	for (pp = &ctx->cbs; (cb = *pp) != NULL; pp = &cb->next) {
		if (cb->handle == handle) {
			*pp = cb->next;
			free(cb);
			break;
		}
	}
	UNLOCK();
}

/* --- devices ------------------------------------------------------------ */

ssize_t
libusb_get_device_list(libusb_context *ctx, libusb_device ***listp)
{
	struct libusb_device *d, **list;
	size_t n = 0;

	(void)ctx;
	LOCK();
	for (d = fk.bus; d != NULL; d = d->next)
		n++;
	if ((list = calloc(n + 1, sizeof(*list))) == NULL) {
		UNLOCK();
		return LIBUSB_ERROR_NO_MEM;
	}
	n = 0;
	for (d = fk.bus; d != NULL; d = d->next) {
		d->refs++;
		list[n++] = d;
	}
	UNLOCK();
	*listp = list;
	return (ssize_t)n;
}

void
libusb_free_device_list(libusb_device **list, int unref)
{
	size_t i;

	if (list == NULL)
		return;
	LOCK();
	for (i = 0; unref && list[i] != NULL; i++)
		fk_dev_unref_locked(list[i]);
	UNLOCK();
	free(list);
}

libusb_device *
libusb_ref_device(libusb_device *d)
{
	LOCK();
	d->refs++;
	UNLOCK();
	return d;
}

void
libusb_unref_device(libusb_device *d)
{
	if (d == NULL)
		return;
	LOCK();
	fk_dev_unref_locked(d);
	UNLOCK();
}

int
libusb_get_device_descriptor(libusb_device *d, struct libusb_device_descriptor *dd)
{
	const uint8_t *p = d->spec->desc;

	if (d->spec->desc_len < 18 || p[0] != 18 || p[1] != LIBUSB_DT_DEVICE)
		return LIBUSB_ERROR_IO;
	dd->bLength = p[0];
	dd->bDescriptorType = p[1];
	dd->bcdUSB = (uint16_t)(p[2] | (p[3] << 8));
	dd->bDeviceClass = p[4];
	dd->bDeviceSubClass = p[5];
	dd->bDeviceProtocol = p[6];
	dd->bMaxPacketSize0 = p[7];
	dd->idVendor = (uint16_t)(p[8] | (p[9] << 8));
	dd->idProduct = (uint16_t)(p[10] | (p[11] << 8));
	dd->bcdDevice = (uint16_t)(p[12] | (p[13] << 8));
	dd->iManufacturer = p[14];
	dd->iProduct = p[15];
	dd->iSerialNumber = p[16];
	dd->bNumConfigurations = p[17];
	return 0;
}

int
libusb_get_config_descriptor(libusb_device *d, uint8_t idx, struct libusb_config_descriptor **cfgp)
{
	size_t off;
	int r;

	if ((r = fk_config_offset(d, idx, &off)) != 0)
		return r;
	return fake_usb_parse_config(d->spec->desc + off, d->spec->desc_len - off, cfgp);
}

int
libusb_get_config_descriptor_by_value(libusb_device *d, uint8_t value,
    struct libusb_config_descriptor **cfgp)
{
	return fk_config_by_value(d, value, cfgp);
}

uint8_t
libusb_get_bus_number(libusb_device *d)
{
	return d->bus;
}

uint8_t
libusb_get_device_address(libusb_device *d)
{
	return d->addr;
}

int
libusb_get_port_numbers(libusb_device *d, uint8_t *ports, int len)
{
	if (len < 1)
		return LIBUSB_ERROR_OVERFLOW;
	ports[0] = d->port;
	return 1;
}

int
libusb_get_device_speed(libusb_device *d)
{
	return d->speed;
}
