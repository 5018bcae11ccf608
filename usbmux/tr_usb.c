/*
 * tr_usb.c - the "usb" transport: ibackup's own mux over libusb, no
 * daemon (transport.h). Facts: usbmux.md section 1.
 *
 * Threads
 *   event    runs libusb's event handling for the transport's own
 *            context: transfer callbacks of every link_libusb.c link and
 *            hotplug callbacks, which only queue work for the manager;
 *   manager  owns device arrival and departure: opens, configures and
 *            claims arriving devices (blocking control requests must not
 *            run inside libusb callbacks), starts their mux runtime and
 *            reports them once the mux VERSION exchange succeeded;
 *            reports departures (hotplug LEFT, a rescan miss, a dead
 *            link) and frees their runtime; without hotplug support it
 *            rescans the bus every second (usbmux.md 1.5);
 *   runtime  one per device (mux_conn.c), which calls the link.
 *
 * Not done here, on purpose: SET_MODE switching (usb_setup.c says why)
 * and port resets or clear-halt: a stalled device is gone until it
 * re-enumerates, as with usbmuxd.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "link_libusb.h"
#include "mux_conn.h"
#include "transport.h"

#define APPLE_VID 0x05ac
/* Polling interval without hotplug support (usbmuxd: 1 s). */
#define RESCAN_MS 1000
/* How long a device may take to answer the mux VERSION request. usbmuxd
 * waits forever (the device just never shows up); a phone answers in
 * milliseconds. */
#define VERSION_TIMEOUT_MS 10000

struct usb_dev {
	struct usb_tr *t;
	struct usb_dev *next;
	libusb_device *dev;             /* referenced */
	char name[32];                  /* "1-4" */
	struct ib_device info;
	struct ib_mux_conn *conn;
	int live;                       /* attached; 0: skipped (no mux, error) */
	int seen;                       /* rescan mark (manager) */
	int refs;                       /* connects in progress (mu) */
	int removed;                    /* out of the list (mu) */
	int dead;                       /* the link died (mu) */
	int reported;                   /* the core knows it (notify_mu) */
	int detached;                   /* ... and was told it left (notify_mu) */
};

struct hp_msg {
	struct hp_msg *next;
	libusb_device *dev;             /* referenced */
	int arrived;
};

struct usb_tr {
	struct ib_usbmux *core;
	libusb_context *ctx;
	int include_macs;
	char desc[64];
	char why[256];                  /* detail of the first unusable device */
	int ev_stop;                    /* atomic: the event thread's "completed" */
	pthread_t ev_thread, mgr_thread;
	int ev_started, mgr_started;
	int hotplug;
	libusb_hotplug_callback_handle hp_handle;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_mutex_t notify_mu;      /* orders attach/detach reports */
	/* under mu */
	int stopping;
	int reap;                       /* some link died */
	unsigned ndevs;                 /* allocated, listed or not */
	struct hp_msg *q_head, *q_tail;
	struct usb_dev *devs;
};

/* --- reporting ------------------------------------------------------------ */

static void
report_attached(struct usb_dev *d)
{
	pthread_mutex_lock(&d->t->notify_mu);
	if (!d->detached) {
		d->reported = 1;
		ib_usbmux_core_attached(d->t->core, &d->info);
	}
	pthread_mutex_unlock(&d->t->notify_mu);
}

static void
report_detached(struct usb_dev *d)
{
	pthread_mutex_lock(&d->t->notify_mu);
	if (d->reported && !d->detached)
		ib_usbmux_core_detached(d->t->core, d->info.handle);
	d->detached = 1;
	pthread_mutex_unlock(&d->t->notify_mu);
}

/* Frees the runtime (and with it the link, the handle, every stream). Not
 * on the event thread: the link waits for its transfer callbacks. */
static void
dev_free(struct usb_dev *d)
{
	struct usb_tr *t;

	if (d == NULL)
		return;
	t = d->t;
	ib_mux_conn_free(d->conn);
	libusb_unref_device(d->dev);
	free(d);
	pthread_mutex_lock(&t->mu);
	t->ndevs--;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

/* Runtime thread of d: its link died. The manager reaps it. */
static void
on_link_dead(void *ctx, int err)
{
	struct usb_dev *d = ctx;
	int live;

	pthread_mutex_lock(&d->t->mu);
	live = d->live;
	d->dead = 1;
	d->t->reap = 1;
	pthread_cond_broadcast(&d->t->cv);
	pthread_mutex_unlock(&d->t->mu);
	if (live) {
		ib_info("usb %s: device %s gone: %s", d->name, d->info.udid, ib_strerror(err));
		report_detached(d);
	}
}

/* Take d out of the list and free it, or leave that to the last
 * connect in progress. */
static void
dev_remove(struct usb_tr *t, struct usb_dev *d)
{
	struct usb_dev **pp;
	int now;

	report_detached(d);
	pthread_mutex_lock(&t->mu);
	for (pp = &t->devs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	d->removed = 1;
	now = d->refs == 0;
	pthread_mutex_unlock(&t->mu);
	if (now)
		dev_free(d);
	else
		ib_mux_conn_shutdown(d->conn, IB_ERR_NO_DEVICE);
}

/* --- bringing one device up ----------------------------------------------- */

/* Everything the list shows, then the mux runtime; h is consumed. */
static int
dev_start(struct usb_dev *d, libusb_device_handle *h, const struct libusb_device_descriptor *dd)
{
	struct ib_mux_conn_cfg cfg;
	struct ib_usb_mux_iface mi;
	struct ib_mux_link link;
	char name[48];
	uint8_t mode[4];
	int r;

	if (ib_log_enabled(IB_LOG_INFO) && ib_usb_get_mode(h, mode) == IB_OK)
		ib_info("usb %s: Apple mode %u:%u:%u:%u", d->name, mode[0], mode[1], mode[2],
		    mode[3]);
	if ((r = ib_usb_claim_mux(h, d->name, &mi)) != IB_OK) {
		libusb_close(h);
		return r;
	}
	if ((r = ib_usb_read_serial(h, dd->iSerialNumber, d->info.udid,
	    sizeof(d->info.udid))) != IB_OK ||
	    (r = ib_mux_link_libusb_new(h, &mi, d->name, &link)) != IB_OK) {
		(void)libusb_release_interface(h, mi.iface);
		libusb_close(h);
		return r;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.engine.role = IB_MUX_ROLE_HOST;
	cfg.engine.rx_window = IB_MUX_STREAM_RXBUF;
	snprintf(name, sizeof(name), "usb %s", d->name);
	cfg.name = name;
	cfg.dead = on_link_dead;
	cfg.ctx = d;
	/* The link (and h) belong to the runtime from here, even on failure. */
	if ((r = ib_mux_conn_new(&cfg, link, &d->conn)) != IB_OK)
		return r;
	if ((r = ib_mux_conn_wait_ready(d->conn, VERSION_TIMEOUT_MS)) == IB_ERR_TIMEOUT)
		ib_err_detail_set("usb %s: no answer to the mux VERSION request within %d ms",
		    d->name, VERSION_TIMEOUT_MS);
	return r;
}

/*
 * A device appeared (manager, or open() for those present at start).
 * Apple devices outside the mux PIDs and everything else are ignored
 * without a word. Returns what made a candidate unusable, IB_OK if it
 * was attached or ignored.
 */
static int
dev_add(struct usb_tr *t, libusb_device *ldev, int quiet)
{
	struct libusb_device_descriptor dd;
	libusb_device_handle *h;
	struct usb_dev *d;
	int r, lvl;

	if (libusb_get_device_descriptor(ldev, &dd) != 0 ||
	    !ib_usb_is_mux_candidate(dd.idVendor, dd.idProduct, t->include_macs))
		return IB_OK;
	pthread_mutex_lock(&t->mu);
	for (d = t->devs; d != NULL && d->dev != ldev; d = d->next)
		;
	if (d != NULL)
		d->seen = 1;
	pthread_mutex_unlock(&t->mu);
	if (d != NULL)
		return IB_OK;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return IB_ERR_NOMEM;
	pthread_mutex_lock(&t->mu);
	t->ndevs++;
	pthread_mutex_unlock(&t->mu);
	d->t = t;
	d->dev = libusb_ref_device(ldev);
	d->seen = 1;
	ib_usb_dev_name(ldev, d->name, sizeof(d->name));
	d->info.handle = ib_usbmux_core_next_handle(t->core);
	d->info.product_id = dd.idProduct;
	d->info.location = (uint32_t)libusb_get_bus_number(ldev) << 16 |
	    libusb_get_device_address(ldev);
	d->info.speed_bps = ib_usb_speed_bps(libusb_get_device_speed(ldev));
	d->info.conn = IB_CONN_USB;
	snprintf(d->info.conn_detail, sizeof(d->info.conn_detail), "USB");
	ib_debug("usb %s: Apple device %04x:%04x", d->name, dd.idVendor, dd.idProduct);
	ib_err_detail_clear();
	if ((r = libusb_open(ldev, &h)) != 0)
		r = ib_usb_err(r, d->name, "opening the device");
	else
		r = dev_start(d, h, &dd);
	/* Listed even when unusable, so that a rescan does not retry (and
	 * log) every second; it goes when the device does. */
	pthread_mutex_lock(&t->mu);
	d->live = r == IB_OK;
	d->next = t->devs;
	t->devs = d;
	pthread_mutex_unlock(&t->mu);
	if (r == IB_OK) {
		ib_info("usb %s: %04x:%04x %s, %llu Mbit/s, mux v%u", d->name, dd.idVendor,
		    dd.idProduct, d->info.udid, (unsigned long long)(d->info.speed_bps / 1000000),
		    ib_mux_conn_version(d->conn));
		report_attached(d);
		return IB_OK;
	}
	/* A device without a mux (iOS >= 17 in CDC-NCM-only mode, a Mac) is
	 * no fault; one that went away meanwhile is not worth a warning. */
	lvl = quiet || r == IB_ERR_USB_NO_MUX ? IB_LOG_INFO :
	    r == IB_ERR_NO_DEVICE ? IB_LOG_DEBUG : IB_LOG_WARN;
	ib_logf(lvl, __func__, "usb %s: skipping %04x:%04x: %s%s%s%s", d->name, dd.idVendor,
	    dd.idProduct, ib_strerror(r), ib_err_detail()[0] ? " (" : "", ib_err_detail(),
	    ib_err_detail()[0] ? ")" : "");
	if (t->why[0] == '\0' && r != IB_ERR_NO_DEVICE)
		snprintf(t->why, sizeof(t->why), "%s", ib_err_detail());
	ib_mux_conn_free(d->conn);
	/* The skipped entry stays until the device leaves (hotplug LEFT or
	 * a rescan miss), whatever the runtime said while it went down. */
	pthread_mutex_lock(&t->mu);
	d->conn = NULL;
	d->dead = 0;
	pthread_mutex_unlock(&t->mu);
	return r;
}

/* --- discovery -------------------------------------------------------------- */

static int LIBUSB_CALL
hotplug_cb(libusb_context *ctx, libusb_device *dev, libusb_hotplug_event ev, void *user)
{
	struct usb_tr *t = user;
	struct hp_msg *m;

	(void)ctx;
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		ib_error("out of memory: a USB hotplug event was lost");
		return 0;
	}
	m->dev = libusb_ref_device(dev);
	m->arrived = ev == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED;
	pthread_mutex_lock(&t->mu);
	if (t->q_tail != NULL)
		t->q_tail->next = m;
	else
		t->q_head = m;
	t->q_tail = m;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	return 0;
}

/* Remove the device ldev is (hotplug LEFT). */
static void
dev_left(struct usb_tr *t, libusb_device *ldev)
{
	struct usb_dev *d;

	pthread_mutex_lock(&t->mu);
	for (d = t->devs; d != NULL && d->dev != ldev; d = d->next)
		;
	pthread_mutex_unlock(&t->mu);
	if (d != NULL) {
		ib_info("usb %s: unplugged", d->name);
		dev_remove(t, d);
	}
}

/* Remove every device that was not seen (rescan) or whose link died. */
static void
sweep(struct usb_tr *t, int unseen)
{
	struct usb_dev *d;

	for (;;) {
		pthread_mutex_lock(&t->mu);
		for (d = t->devs; d != NULL; d = d->next)
			if (d->dead || (unseen && !d->seen))
				break;
		pthread_mutex_unlock(&t->mu);
		if (d == NULL)
			return;
		dev_remove(t, d);
	}
}

/* Add what is on the bus; with mark, remove what is no longer there.
 * *firstp gets the first error of a device that could not be used. */
static int
scan(struct usb_tr *t, int mark, int quiet, int *firstp)
{
	libusb_device **list;
	struct usb_dev *d;
	ssize_t n, i;
	int r;

	if ((n = libusb_get_device_list(t->ctx, &list)) < 0)
		return ib_usb_err((int)n, "bus", "listing USB devices");
	if (mark) {
		pthread_mutex_lock(&t->mu);
		for (d = t->devs; d != NULL; d = d->next)
			d->seen = 0;
		pthread_mutex_unlock(&t->mu);
	}
	for (i = 0; i < n; i++) {
		r = dev_add(t, list[i], quiet);
		if (r != IB_OK && r != IB_ERR_NO_DEVICE && firstp != NULL && *firstp == IB_OK)
			*firstp = r;
	}
	libusb_free_device_list(list, 1);
	if (mark)
		sweep(t, 1);
	return IB_OK;
}

static void *
mgr_main(void *arg)
{
	struct usb_tr *t = arg;
	struct timespec until;
	struct hp_msg *m;
	int stopping, reap, r, failing = 0;

	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += RESCAN_MS / 1000;
		pthread_mutex_lock(&t->mu);
		while (!t->stopping && !t->reap && t->q_head == NULL &&
		    pthread_cond_timedwait(&t->cv, &t->mu, &until) != ETIMEDOUT)
			;
		stopping = t->stopping;
		reap = t->reap;
		t->reap = 0;
		m = NULL;
		if (!stopping && (m = t->q_head) != NULL && (t->q_head = m->next) == NULL)
			t->q_tail = NULL;
		pthread_mutex_unlock(&t->mu);
		if (stopping)
			break;
		if (reap)
			sweep(t, 0);
		if (m != NULL) {
			if (m->arrived)
				(void)dev_add(t, m->dev, 0);
			else
				dev_left(t, m->dev);
			libusb_unref_device(m->dev);
			free(m);
		} else if (!t->hotplug && !reap) {
			/* usbmuxd gives up after 5 failed listings; a library
			 * cannot exit, so it says so once and keeps trying. */
			if ((r = scan(t, 1, 0, NULL)) != IB_OK && failing++ == 5)
				ib_error("cannot list USB devices: %s", ib_err_detail());
			else if (r == IB_OK)
				failing = 0;
		}
	}
	return NULL;
}

static void *
ev_main(void *arg)
{
	struct usb_tr *t = arg;
	struct timeval tv = { 1, 0 };

	while (!__atomic_load_n(&t->ev_stop, __ATOMIC_ACQUIRE))
		(void)libusb_handle_events_timeout_completed(t->ctx, &tv, &t->ev_stop);
	return NULL;
}

/* --- transport ops ------------------------------------------------------------ */

static void
op_close(void *tp)
{
	struct usb_tr *t = tp;
	struct usb_dev *d;
	struct hp_msg *m;

	if (t == NULL)
		return;
	pthread_mutex_lock(&t->mu);
	t->stopping = 1;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	if (t->mgr_started)
		pthread_join(t->mgr_thread, NULL);
	if (t->hotplug)
		libusb_hotplug_deregister_callback(t->ctx, t->hp_handle);
	/* Links still need the event thread while they are freed; a connect
	 * in progress frees its device when it returns. */
	for (;;) {
		pthread_mutex_lock(&t->mu);
		d = t->devs;
		pthread_mutex_unlock(&t->mu);
		if (d == NULL)
			break;
		dev_remove(t, d);
	}
	pthread_mutex_lock(&t->mu);
	while (t->ndevs > 0)
		pthread_cond_wait(&t->cv, &t->mu);
	pthread_mutex_unlock(&t->mu);
	if (t->ev_started) {
		__atomic_store_n(&t->ev_stop, 1, __ATOMIC_RELEASE);
		libusb_interrupt_event_handler(t->ctx);
		pthread_join(t->ev_thread, NULL);
	}
	while ((m = t->q_head) != NULL) {
		t->q_head = m->next;
		libusb_unref_device(m->dev);
		free(m);
	}
	if (t->ctx != NULL)
		libusb_exit(t->ctx);
	pthread_mutex_destroy(&t->notify_mu);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static int
tr_new(struct ib_usbmux *core, const char *spec, struct usb_tr **tp)
{
	const struct libusb_version *v;
	pthread_condattr_t ca;
	struct usb_tr *t;
	int r;

	if (spec != NULL && spec[0] != '\0' && strcmp(spec, "include-macs") != 0) {
		ib_err_detail_set("usb: unknown option \"%.60s\" (only include-macs)", spec);
		return IB_ERR_USAGE;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return IB_ERR_NOMEM;
	t->core = core;
	t->include_macs = spec != NULL && spec[0] != '\0';
	pthread_mutex_init(&t->mu, NULL);
	pthread_mutex_init(&t->notify_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cv, &ca);
	pthread_condattr_destroy(&ca);
	*tp = t;
	if ((r = libusb_init(&t->ctx)) != 0) {
		t->ctx = NULL;
		ib_err_detail_set("libusb_init: %s", libusb_error_name(r));
		return IB_ERR_USB_INIT;
	}
	v = libusb_get_version();
	snprintf(t->desc, sizeof(t->desc), "usb (libusb %u.%u.%u)", v->major, v->minor, v->micro);
	if ((r = pthread_create(&t->ev_thread, NULL, ev_main, t)) != 0)
		return ib_err_from_errno(r, "pthread_create");
	t->ev_started = 1;
	/* Registered before the first scan: a device arriving meanwhile is
	 * seen twice (harmless), never missed. */
	t->hotplug = libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG) &&
	    libusb_hotplug_register_callback(t->ctx, LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED |
	    LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT, 0, APPLE_VID, LIBUSB_HOTPLUG_MATCH_ANY,
	    LIBUSB_HOTPLUG_MATCH_ANY, hotplug_cb, t, &t->hp_handle) == 0;
	ib_debug("usb: %s, %s", t->desc, t->hotplug ? "hotplug" : "polling every second");
	return IB_OK;
}

static int
op_open(struct ib_usbmux *core, const char *spec, void **tp)
{
	struct usb_tr *t = NULL;
	struct usb_dev *d;
	int r, first = IB_OK, live = 0;

	*tp = NULL;
	if ((r = tr_new(core, spec, &t)) != IB_OK)
		goto out;
	/* Devices present now are reported before open returns. */
	if ((r = scan(t, 0, 1, &first)) != IB_OK)
		goto out;
	for (d = t->devs; d != NULL; d = d->next)
		live += d->live;
	/* Apple devices are there but none can be used: say why (another
	 * program holds it, permissions) rather than list nothing. */
	if (live == 0 && first != IB_OK) {
		ib_err_detail_set("%s", t->why);
		r = first;
		goto out;
	}
	if ((r = pthread_create(&t->mgr_thread, NULL, mgr_main, t)) != 0) {
		r = ib_err_from_errno(r, "pthread_create");
		goto out;
	}
	t->mgr_started = 1;
	*tp = t;
	t = NULL;
out:
	op_close(t);
	return r;
}

static const char *
op_describe(void *tp)
{
	struct usb_tr *t = tp;

	return t->desc;
}

static int
op_connect(void *tp, const struct ib_device *dev, uint16_t port, struct ib_stream **sp)
{
	struct usb_tr *t = tp;
	struct usb_dev *d;
	int r, done;

	*sp = NULL;
	pthread_mutex_lock(&t->mu);
	for (d = t->devs; d != NULL; d = d->next)
		if (d->info.handle == dev->handle && d->live && !d->dead)
			break;
	if (d != NULL)
		d->refs++;
	pthread_mutex_unlock(&t->mu);
	if (d == NULL) {
		ib_err_detail_set("usb device %s is gone", dev->udid);
		return IB_ERR_NO_DEVICE;
	}
	r = ib_mux_conn_connect(d->conn, port, IB_MUX_CONN_CONNECT_TIMEOUT_MS, sp);
	pthread_mutex_lock(&t->mu);
	done = --d->refs == 0 && d->removed;
	pthread_mutex_unlock(&t->mu);
	if (done)
		dev_free(d);
	return r;
}

const struct ib_transport_ops ib_transport_usb = {
	.name = "usb",
	.open = op_open,
	.close = op_close,
	.describe = op_describe,
	.connect = op_connect,
};
