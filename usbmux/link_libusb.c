/*
 * link_libusb.c - the mux link over the bulk endpoints of a claimed mux
 * interface (host role), see mux_link.h and usbmux.md section 1.3.
 *
 * Threads. Transfer callbacks run on whichever thread handles libusb
 * events (tr_usb.c's event thread, or a thread inside a synchronous
 * libusb call); libusb runs them one at a time. Every link op runs on
 * the mux runtime thread. The two meet under `mu`: callbacks copy IN
 * data into a bounded queue, note OUT completions and deaths, and wake
 * the runtime through an eventfd (pollfd()). No libusb function is
 * called with `mu` held, so a callback waiting for `mu` can never hold
 * up a libusb call made under it.
 *
 * Lifetime. A transfer is "in flight" from just before it is submitted
 * until its callback has run; free() cancels them all and waits for
 * in_flight == 0 before it releases anything, with a time limit: usbmuxd
 * busy-waits there forever and hung in VirtualBox when a cancellation
 * never completed (usbmux.md 4). Past the limit the link is orphaned:
 * the handle is closed, and whichever late callback brings in_flight to
 * zero frees the memory (with real libusb, closing the handle drops the
 * transfers, so an orphan is a small leak instead of a hang).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "ib_buf.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "link_libusb.h"

/*
 * IN transfers: IB_USB_RX_XFERS (4) of IB_USB_RX_SIZE (16 KiB), like
 * usbmuxd's 3 x 16 KiB plus one for slack while a callback resubmits.
 * The size stays at 16 KiB although larger transfers would need fewer
 * completions: real phones have only ever been driven with 16 KiB reads,
 * so the cases where a device packet ends exactly at a transfer boundary
 * behave as they were tested, and old kernels split larger usbfs
 * transfers into 16 KiB URBs anyway (usbmux.md 1.3). Reassembly handles
 * packets up to IB_MUX_MRU.
 */

/* Completed IN data waiting for the runtime thread, overhead included.
 * Past it completed transfers are parked instead of resubmitted, so a
 * stalled runtime makes the device wait (NAK) instead of growing memory;
 * normally the queue stays far below it and the IN transfers go straight
 * back to the device. */
#define RX_QUEUE_MAX (512u * 1024u)
/* How long free() waits for cancelled transfers to come back: they
 * normally do within milliseconds; generous so that a loaded machine
 * does not look like a stuck host controller. */
#define CANCEL_WAIT_MS 5000

struct link_usb;

struct xfer {
	struct link_usb *l;
	struct libusb_transfer *t;
	struct xfer *next;      /* OUT: list of OUT transfers; IN: parked FIFO */
	size_t len;             /* OUT: bytes submitted */
	int in_flight;          /* under mu */
};

struct rx_chunk {
	struct rx_chunk *next;
	size_t len;
	uint8_t data[];
};

struct link_usb {
	libusb_device_handle *h;
	struct ib_usb_mux_iface mi;
	char name[32];
	char desc[96];
	int efd;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu */
	int dead;
	int closing;
	int orphaned;
	unsigned in_flight;
	struct rx_chunk *q_head, *q_tail;
	size_t q_bytes;
	struct xfer *park_head, *park_tail;
	size_t out_bytes;

	/* runtime thread only (and destroy) */
	struct xfer rx[IB_USB_RX_XFERS];
	struct xfer *out;
	struct rx_chunk *cur;   /* handed out by recv() */
	struct ib_usb_reasm *reasm;
};

static const char *
status_text(enum libusb_transfer_status s)
{
	switch (s) {
	case LIBUSB_TRANSFER_COMPLETED:
		return "LIBUSB_TRANSFER_COMPLETED";
	case LIBUSB_TRANSFER_ERROR:
		return "LIBUSB_TRANSFER_ERROR (the transfer failed)";
	case LIBUSB_TRANSFER_TIMED_OUT:
		return "LIBUSB_TRANSFER_TIMED_OUT";
	case LIBUSB_TRANSFER_CANCELLED:
		return "LIBUSB_TRANSFER_CANCELLED (cancelled while running)";
	case LIBUSB_TRANSFER_STALL:
		return "LIBUSB_TRANSFER_STALL (the endpoint halted)";
	case LIBUSB_TRANSFER_NO_DEVICE:
		return "LIBUSB_TRANSFER_NO_DEVICE (the device was unplugged)";
	case LIBUSB_TRANSFER_OVERFLOW:
		return "LIBUSB_TRANSFER_OVERFLOW (the device sent more than asked)";
	}
	return "an unknown transfer status";
}

/* Under mu. The eventfd is closed only after closing is set. */
static void
wake_locked(struct link_usb *l)
{
	uint64_t one = 1;

	if (!l->closing && write(l->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		ib_debug("usb %s: eventfd write: %s", l->name, strerror(errno));
}

/* Under mu: the link is dead for good; the runtime learns it from
 * service() (IB_ERR_NO_DEVICE) and tears the mux down. */
static void
die_locked(struct link_usb *l, const char *what, const char *why, int unplug)
{
	if (!l->dead && !l->closing)
		ib_logf(unplug ? IB_LOG_INFO : IB_LOG_WARN, __func__,
		    "usb %s: %s %s; the device is treated as gone", l->name, what, why);
	l->dead = 1;
	wake_locked(l);
}

/* Under mu, after in_flight dropped: wake free(); returns 1 when the
 * caller must destroy an orphaned link (after unlocking). */
static int
finish_locked(struct link_usb *l)
{
	if (l->closing)
		pthread_cond_broadcast(&l->cv);
	return l->orphaned && l->in_flight == 0;
}

static void
destroy(struct link_usb *l)
{
	struct rx_chunk *c;
	struct xfer *x;
	size_t i;

	while ((c = l->q_head) != NULL) {
		l->q_head = c->next;
		free(c);
	}
	free(l->cur);
	for (i = 0; i < IB_USB_RX_XFERS; i++) {
		if (l->rx[i].t != NULL) {
			free(l->rx[i].t->buffer);
			libusb_free_transfer(l->rx[i].t);
		}
	}
	while ((x = l->out) != NULL) {
		l->out = x->next;
		free(x->t->buffer);
		libusb_free_transfer(x->t);
		free(x);
	}
	ib_usb_reasm_free(l->reasm);
	if (l->efd >= 0)
		close(l->efd);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

/*
 * Submit x, already counted in flight. A transfer submitted while free()
 * runs is cancelled at once: free() may have passed it already. Safe
 * without mu afterwards: l cannot be freed while x is in flight, and x's
 * own callback cannot run before the callback that resubmitted it ends.
 */
static int
submit(struct link_usb *l, struct xfer *x, const char *what)
{
	int r = libusb_submit_transfer(x->t);
	int cancel, last = 0;
	char why[96];

	pthread_mutex_lock(&l->mu);
	if (r != 0) {
		x->in_flight = 0;
		l->in_flight--;
		snprintf(why, sizeof(why), "failed: %s", libusb_error_name(r));
		die_locked(l, what, why, r == LIBUSB_ERROR_NO_DEVICE);
		last = finish_locked(l);
	}
	cancel = r == 0 && l->closing;
	pthread_mutex_unlock(&l->mu);
	if (cancel)
		(void)libusb_cancel_transfer(x->t);
	if (last)
		destroy(l);
	return r == 0 ? IB_OK : IB_ERR_NO_DEVICE;
}

/* Under mu: append n bytes of IN data to the queue; -1 if no room. */
static int
queue_locked(struct link_usb *l, const uint8_t *p, size_t n)
{
	struct rx_chunk *c;

	if (l->q_bytes + sizeof(*c) + n > RX_QUEUE_MAX)
		return -1;
	if ((c = malloc(sizeof(*c) + n)) == NULL)
		return -1;
	c->next = NULL;
	c->len = n;
	memcpy(c->data, p, n);
	if (l->q_tail != NULL)
		l->q_tail->next = c;
	else
		l->q_head = c;
	l->q_tail = c;
	l->q_bytes += sizeof(*c) + n;
	wake_locked(l);
	return 0;
}

/* Under mu: keep what a completed IN transfer carried. Returns 1 when x
 * may go back to the device now, 0 when it is parked behind a full queue
 * (rx_unpark() resubmits it). */
static int
rx_take_locked(struct link_usb *l, struct xfer *x)
{
	size_t n = (size_t)x->t->actual_length;

	/* A zero-length packet only ends a transfer: ignored (usbmux.md 1.3). */
	if (n == 0)
		return 1;
	if (l->park_head == NULL && queue_locked(l, x->t->buffer, n) == 0)
		return 1;
	x->next = NULL;
	if (l->park_tail != NULL)
		l->park_tail->next = x;
	else
		l->park_head = x;
	l->park_tail = x;
	wake_locked(l);
	return 0;
}

static void LIBUSB_CALL
rx_cb(struct libusb_transfer *t)
{
	struct xfer *x = t->user_data;
	struct link_usb *l = x->l;
	int resubmit = 0, last;

	pthread_mutex_lock(&l->mu);
	x->in_flight = 0;
	l->in_flight--;
	if (l->closing || l->dead) {
		/* nothing more to receive */
	} else if (t->status != LIBUSB_TRANSFER_COMPLETED) {
		die_locked(l, "a bulk IN transfer ended with", status_text(t->status),
		    t->status == LIBUSB_TRANSFER_NO_DEVICE);
	} else if (t->actual_length < 0 || t->actual_length > t->length) {
		die_locked(l, "a bulk IN transfer", "reported an impossible length", 0);
	} else {
		resubmit = rx_take_locked(l, x);
	}
	if (resubmit) {
		x->in_flight = 1;
		l->in_flight++;
	}
	last = finish_locked(l);
	pthread_mutex_unlock(&l->mu);
	if (resubmit)
		(void)submit(l, x, "resubmitting a bulk IN transfer");
	else if (last)
		destroy(l);
}

/* Runtime thread: move parked IN data into the queue as room appears
 * and give those transfers back to the device, oldest first. */
static void
rx_unpark(struct link_usb *l)
{
	struct xfer *x;

	for (;;) {
		pthread_mutex_lock(&l->mu);
		x = l->park_head;
		if (x == NULL || l->dead ||
		    queue_locked(l, x->t->buffer, (size_t)x->t->actual_length) != 0) {
			pthread_mutex_unlock(&l->mu);
			return;
		}
		l->park_head = x->next;
		if (l->park_head == NULL)
			l->park_tail = NULL;
		x->in_flight = 1;
		l->in_flight++;
		pthread_mutex_unlock(&l->mu);
		if (submit(l, x, "resubmitting a bulk IN transfer") != IB_OK)
			return;
	}
}

static void LIBUSB_CALL
tx_cb(struct libusb_transfer *t)
{
	struct xfer *x = t->user_data;
	struct link_usb *l = x->l;
	int last;

	pthread_mutex_lock(&l->mu);
	x->in_flight = 0;
	l->in_flight--;
	l->out_bytes -= x->len;
	if (!l->closing) {
		if (t->status != LIBUSB_TRANSFER_COMPLETED)
			die_locked(l, "a bulk OUT transfer ended with", status_text(t->status),
			    t->status == LIBUSB_TRANSFER_NO_DEVICE);
		else if (t->actual_length != t->length)
			die_locked(l, "a bulk OUT transfer", "was cut short", 0);
		/* service() frees it, and the runtime sees queued() drop. */
		wake_locked(l);
	}
	last = finish_locked(l);
	pthread_mutex_unlock(&l->mu);
	if (last)
		destroy(l);
}

/* Runtime thread: free the OUT transfers whose callback has run. */
static void
tx_reap(struct link_usb *l)
{
	struct xfer **pp, *x, *done = NULL;

	pthread_mutex_lock(&l->mu);
	for (pp = &l->out; (x = *pp) != NULL;) {
		if (x->in_flight) {
			pp = &x->next;
			continue;
		}
		*pp = x->next;
		x->next = done;
		done = x;
	}
	pthread_mutex_unlock(&l->mu);
	while ((x = done) != NULL) {
		done = x->next;
		free(x->t->buffer);
		libusb_free_transfer(x->t);
		free(x);
	}
}

static int
tx_submit(struct link_usb *l, const uint8_t *pkt, size_t len)
{
	struct xfer *x = NULL;
	struct libusb_transfer *t = NULL;
	uint8_t *buf = NULL;
	int dead, r;

	pthread_mutex_lock(&l->mu);
	dead = l->dead;
	pthread_mutex_unlock(&l->mu);
	if (dead)
		return IB_ERR_NO_DEVICE;
	/* One byte even for the zero-length packet: some backends reject a
	 * NULL buffer. */
	if ((x = calloc(1, sizeof(*x))) == NULL ||
	    (t = libusb_alloc_transfer(0)) == NULL ||
	    (buf = malloc(len > 0 ? len : 1)) == NULL) {
		free(buf);
		if (t != NULL)
			libusb_free_transfer(t);
		free(x);
		return IB_ERR_NOMEM;
	}
	if (len > 0)
		memcpy(buf, pkt, len);
	libusb_fill_bulk_transfer(t, l->h, l->mi.ep_out, buf, (int)len, tx_cb, x, 0);
	x->l = l;
	x->t = t;
	x->len = len;
	x->next = l->out;
	l->out = x;
	pthread_mutex_lock(&l->mu);
	x->in_flight = 1;
	l->in_flight++;
	l->out_bytes += len;
	pthread_mutex_unlock(&l->mu);
	if ((r = submit(l, x, "submitting a bulk OUT transfer")) != IB_OK) {
		pthread_mutex_lock(&l->mu);
		l->out_bytes -= len;
		pthread_mutex_unlock(&l->mu);
	}
	return r;
}

static int
link_send(void *p, const uint8_t *pkt, size_t len)
{
	struct link_usb *l = p;
	int r;

	if (len == 0)
		return IB_ERR_INVALID_ARG;
	if (len > IB_MUX_MTU)
		return IB_ERR_TOO_LARGE;
	if ((r = tx_submit(l, pkt, len)) != IB_OK)
		return r;
	/*
	 * A packet that ends exactly on a USB packet boundary is not ended by
	 * a short packet, so the device would run it into the next one: send
	 * a zero-length packet after it (usbmux.md 1.3). A transfer of its
	 * own, as usbmuxd does, rather than LIBUSB_TRANSFER_ADD_ZERO_PACKET,
	 * which only some libusb backends support.
	 */
	if (len % l->mi.mps_out == 0)
		r = tx_submit(l, NULL, 0);
	return r;
}

static size_t
link_queued(void *p)
{
	struct link_usb *l = p;
	size_t n;

	pthread_mutex_lock(&l->mu);
	n = l->out_bytes;
	pthread_mutex_unlock(&l->mu);
	return n;
}

static void
link_pollfd(void *p, struct pollfd *pfd)
{
	struct link_usb *l = p;

	pfd->fd = l->efd;
	pfd->events = POLLIN;
	pfd->revents = 0;
}

static void
rx_release_cur(struct link_usb *l)
{
	free(l->cur);
	l->cur = NULL;
}

static int
link_service(void *p, short revents)
{
	struct link_usb *l = p;
	uint64_t v;
	int dead;

	(void)revents;
	if (read(l->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		ib_debug("usb %s: eventfd read: %s", l->name, strerror(errno));
	tx_reap(l);
	rx_release_cur(l);
	rx_unpark(l);
	pthread_mutex_lock(&l->mu);
	dead = l->dead;
	pthread_mutex_unlock(&l->mu);
	return dead ? IB_ERR_NO_DEVICE : IB_OK;
}

struct ib_usb_reasm {
	char name[32];
	uint8_t *buf;           /* IB_MUX_MRU bytes */
	size_t len;             /* bytes of the packet so far */
	uint32_t want;          /* its header's length */
	int active;             /* continuing a packet */
	int discard;            /* ... that is too large to keep */
};

struct ib_usb_reasm *
ib_usb_reasm_new(const char *name)
{
	struct ib_usb_reasm *r;

	if ((r = calloc(1, sizeof(*r))) == NULL || (r->buf = malloc(IB_MUX_MRU)) == NULL) {
		free(r);
		return NULL;
	}
	snprintf(r->name, sizeof(r->name), "%s", name);
	return r;
}

void
ib_usb_reasm_free(struct ib_usb_reasm *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r);
}

static int
reasm_drop(struct ib_usb_reasm *r, size_t len, const char *why)
{
	ib_warn("usb %s: dropped a %zu-byte mux packet: %s", r->name, len, why);
	r->active = 0;
	return 0;
}

/* Continue the packet in progress with one more completion. */
static int
reasm_continue(struct ib_usb_reasm *r, const uint8_t *d, size_t n,
    const uint8_t **pktp, size_t *lenp)
{
	if (n > r->want - r->len)
		return reasm_drop(r, r->len + n, "longer than its header says");
	if (!r->discard)
		memcpy(r->buf + r->len, d, n);
	r->len += n;
	if (r->len == r->want) {
		if (r->discard)
			return reasm_drop(r, r->len, "larger than IB_MUX_MRU");
		r->active = 0;
		*pktp = r->buf;
		*lenp = r->len;
		return 1;
	}
	if (n < IB_USB_RX_SIZE)
		return reasm_drop(r, r->len, "shorter than its header says");
	return 0;
}

int
ib_usb_reasm_feed(struct ib_usb_reasm *r, const uint8_t *d, size_t n,
    const uint8_t **pktp, size_t *lenp)
{
	struct ib_buf b;
	uint32_t want;

	if (r->active)
		return reasm_continue(r, d, n, pktp, lenp);
	ib_buf_init_ro(&b, d, n);
	if (ib_buf_consume(&b, 4) != IB_OK || ib_buf_get_u32be(&b, &want) != IB_OK)
		return reasm_drop(r, n, "shorter than a mux header");
	if (want == n) {
		*pktp = d;
		*lenp = n;
		return 1;
	}
	if (n == IB_USB_RX_SIZE && want > n) {
		r->active = 1;
		r->want = want;
		r->len = n;
		r->discard = want > IB_MUX_MRU;
		if (!r->discard)
			memcpy(r->buf, d, n);
		return 0;
	}
	return reasm_drop(r, n, want > n ? "shorter than its header says" :
	    "longer than its header says");
}

static int
link_recv(void *p, const uint8_t **pktp, size_t *lenp)
{
	struct link_usb *l = p;
	struct rx_chunk *c;

	for (;;) {
		rx_release_cur(l);
		rx_unpark(l);
		pthread_mutex_lock(&l->mu);
		if ((c = l->q_head) != NULL) {
			l->q_head = c->next;
			if (l->q_head == NULL)
				l->q_tail = NULL;
			l->q_bytes -= sizeof(*c) + c->len;
		}
		pthread_mutex_unlock(&l->mu);
		if (c == NULL)
			return IB_ERR_WOULD_BLOCK;
		l->cur = c;
		if (ib_usb_reasm_feed(l->reasm, c->data, c->len, pktp, lenp))
			return IB_OK;
	}
}

static const char *
link_describe(void *p)
{
	struct link_usb *l = p;

	return l->desc;
}

/*
 * Cancel everything and wait for the callbacks. Returns 1 when the link
 * was orphaned (some never came back): it must not be touched again.
 */
static int
shutdown_xfers(struct link_usb *l)
{
	struct timespec until;
	struct xfer *x;
	unsigned left;
	size_t i;
	int orphan;

	pthread_mutex_lock(&l->mu);
	l->closing = 1;
	pthread_mutex_unlock(&l->mu);
	/* Cancelling a transfer that is not in flight is a harmless
	 * LIBUSB_ERROR_NOT_FOUND; these transfers stay allocated meanwhile. */
	for (i = 0; i < IB_USB_RX_XFERS; i++)
		if (l->rx[i].t != NULL)
			(void)libusb_cancel_transfer(l->rx[i].t);
	for (x = l->out; x != NULL; x = x->next)
		(void)libusb_cancel_transfer(x->t);

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += CANCEL_WAIT_MS / 1000;
	until.tv_nsec += (long)(CANCEL_WAIT_MS % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&l->mu);
	while (l->in_flight > 0)
		if (pthread_cond_timedwait(&l->cv, &l->mu, &until) == ETIMEDOUT)
			break;
	left = l->in_flight;
	orphan = left > 0;
	l->orphaned = orphan;
	pthread_mutex_unlock(&l->mu);
	if (orphan)
		ib_warn("%u USB transfers did not come back within %d ms of being "
		    "cancelled; giving up on them (a USB host controller or "
		    "virtual machine problem)", left, CANCEL_WAIT_MS);
	return orphan;
}

static void
link_free(void *p)
{
	struct link_usb *l = p;
	libusb_device_handle *h;
	uint8_t iface;

	if (l == NULL)
		return;
	h = l->h;
	iface = l->mi.iface;
	if (!shutdown_xfers(l))
		destroy(l);
	/* NO_DEVICE here after an unplug is expected and harmless. */
	(void)libusb_release_interface(h, iface);
	libusb_close(h);
}

static const struct ib_mux_link_ops link_libusb_ops = {
	.send = link_send,
	.queued = link_queued,
	.pollfd = link_pollfd,
	.service = link_service,
	.recv = link_recv,
	.describe = link_describe,
	.free = link_free,
};

static int
init_sync(struct link_usb *l)
{
	pthread_condattr_t ca;
	int r;

	if (pthread_condattr_init(&ca) != 0)
		return IB_ERR_NOMEM;
	r = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (r == 0)
		r = pthread_cond_init(&l->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (r != 0)
		return IB_ERR_NOMEM;
	if (pthread_mutex_init(&l->mu, NULL) != 0) {
		pthread_cond_destroy(&l->cv);
		return IB_ERR_NOMEM;
	}
	return IB_OK;
}

int
ib_mux_link_libusb_new(libusb_device_handle *h, const struct ib_usb_mux_iface *mi,
    const char *name, struct ib_mux_link *linkp)
{
	struct link_usb *l;
	size_t i;
	uint8_t *buf;
	int r;

	if (h == NULL || mi == NULL || name == NULL || linkp == NULL)
		return IB_ERR_INVALID_ARG;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return IB_ERR_NOMEM;
	l->efd = -1;
	if ((r = init_sync(l)) != IB_OK) {
		free(l);
		return r;
	}
	l->h = h;
	l->mi = *mi;
	if (l->mi.mps_out == 0)
		l->mi.mps_out = 64;
	snprintf(l->name, sizeof(l->name), "%s", name);
	snprintf(l->desc, sizeof(l->desc), "usb %s (config %u, if %u, ep %02x/%02x, mps %u)",
	    l->name, l->mi.config, l->mi.iface, l->mi.ep_out, l->mi.ep_in, l->mi.mps_out);
	r = IB_ERR_NOMEM;
	if ((l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		r = ib_err_from_errno(errno, "eventfd");
		goto fail;
	}
	if ((l->reasm = ib_usb_reasm_new(l->name)) == NULL)
		goto fail;
	for (i = 0; i < IB_USB_RX_XFERS; i++) {
		l->rx[i].l = l;
		if ((l->rx[i].t = libusb_alloc_transfer(0)) == NULL)
			goto fail;
		if ((buf = malloc(IB_USB_RX_SIZE)) == NULL)
			goto fail;
		libusb_fill_bulk_transfer(l->rx[i].t, h, l->mi.ep_in, buf, IB_USB_RX_SIZE,
		    rx_cb, &l->rx[i], 0);
	}
	/* IN transfers go out before the first packet, so the VERSION reply
	 * always finds one waiting (usbmuxd2 does the same). */
	for (i = 0; i < IB_USB_RX_XFERS; i++) {
		pthread_mutex_lock(&l->mu);
		l->rx[i].in_flight = 1;
		l->in_flight++;
		pthread_mutex_unlock(&l->mu);
		if ((r = submit(l, &l->rx[i], "submitting a bulk IN transfer")) != IB_OK)
			goto fail;
	}
	linkp->ops = &link_libusb_ops;
	linkp->impl = l;
	return IB_OK;

fail:
	if (!shutdown_xfers(l))
		destroy(l);
	return r;
}
