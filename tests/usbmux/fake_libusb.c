/*
 * fake_libusb.c - the libusb test double (see fake_libusb.h): the bus,
 * devices and their configuration state, bulk transfers, and the
 * device's end of the mux pipe. fake_usb_api.c has contexts, events,
 * hotplug and device queries; fake_usb_handle.c handles, control
 * requests and the scripting functions; fake_usb_desc.c descriptors.
 *
 * libusb functions the double implements, which is the list of what
 * ibackup's backend (tr_usb.c, usb_setup.c, link_libusb.c) calls:
 *   context    libusb_init, libusb_exit, libusb_get_version,
 *              libusb_has_capability, libusb_error_name
 *   devices    libusb_get_device_list, libusb_free_device_list,
 *              libusb_ref_device, libusb_unref_device,
 *              libusb_get_device_descriptor, libusb_get_config_descriptor,
 *              libusb_get_config_descriptor_by_value,
 *              libusb_free_config_descriptor (fake_usb_desc.c),
 *              libusb_get_bus_number, libusb_get_device_address,
 *              libusb_get_port_numbers, libusb_get_device_speed
 *   handles    libusb_open, libusb_close, libusb_get_device,
 *              libusb_get_configuration, libusb_set_configuration,
 *              libusb_kernel_driver_active, libusb_detach_kernel_driver,
 *              libusb_claim_interface, libusb_release_interface,
 *              libusb_control_transfer (also behind the inline
 *              libusb_get_string_descriptor)
 *   transfers  libusb_alloc_transfer, libusb_submit_transfer,
 *              libusb_cancel_transfer, libusb_free_transfer (bulk only)
 *   events     libusb_handle_events_timeout_completed,
 *              libusb_interrupt_event_handler,
 *              libusb_hotplug_register_callback,
 *              libusb_hotplug_deregister_callback
 * Anything else is missing on purpose: a test binary fails to link when
 * the backend starts to use something new, and the double grows with it.
 *
 * One mutex guards the whole bus. Completions and hotplug events are
 * queued per context and delivered by the event handler without the
 * mutex, as libusb does.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fake_usb_int.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_util.h"

_Static_assert(sizeof(struct fake_xfer) % _Alignof(struct libusb_transfer) == 0,
    "transfer alignment");

struct fake_bus fk = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
	.hotplug = 1,
};

void
fk_oplog(struct libusb_device *d, const char *fmt, ...)
{
	size_t n = strlen(d->oplog);
	va_list ap;

	if (n + 2 >= sizeof(d->oplog))
		return;
	va_start(ap, fmt);
	vsnprintf(d->oplog + n, sizeof(d->oplog) - n - 1, fmt, ap);
	va_end(ap);
	strcat(d->oplog, " ");
}

static void
wake_dev_locked(struct libusb_device *d)
{
	uint64_t one = 1;

	if (d->efd >= 0 && write(d->efd, &one, sizeof(one)) < 0)
		perror("fake_libusb: eventfd");
}

static void
pkt_free_all(struct pkt *p)
{
	struct pkt *n;

	for (; p != NULL; p = n) {
		n = p->next;
		free(p);
	}
}

static void
pkt_append(struct pkt **headp, struct pkt **tailp, struct pkt *p)
{
	p->next = NULL;
	if (*tailp != NULL)
		(*tailp)->next = p;
	else
		*headp = p;
	*tailp = p;
}

static struct pkt *
pkt_pop(struct pkt **headp, struct pkt **tailp)
{
	struct pkt *p = *headp;

	if (p != NULL && (*headp = p->next) == NULL)
		*tailp = NULL;
	return p;
}

void
fk_dev_unref_locked(struct libusb_device *d)
{
	if (--d->refs > 0)
		return;
	pkt_free_all(d->rx_head);
	pkt_free_all(d->tx_head);
	free(d->link_cur);
	free(d->asm_buf);
	free(d->out_lens);
	if (d->efd >= 0)
		close(d->efd);
	free(d);
	fk.live--;
}

/* --- configurations ----------------------------------------------------- */

int
fk_config_offset(const struct libusb_device *d, unsigned idx, size_t *offp)
{
	const uint8_t *p = d->spec->desc;
	size_t off = 18, n = d->spec->desc_len, total;
	unsigned i;

	for (i = 0; off + 4 <= n; i++, off += total) {
		total = (size_t)(p[off + 2] | (p[off + 3] << 8));
		if (total < 9 || total > n - off)
			return LIBUSB_ERROR_IO;
		if (i == idx) {
			*offp = off;
			return 0;
		}
	}
	return LIBUSB_ERROR_NOT_FOUND;
}

int
fk_config_by_value(const struct libusb_device *d, uint8_t value,
    struct libusb_config_descriptor **cfgp)
{
	size_t off;
	unsigned i;

	for (i = 0; fk_config_offset(d, i, &off) == 0; i++)
		if (d->spec->desc[off + 5] == value)
			return fake_usb_parse_config(d->spec->desc + off, d->spec->desc_len - off, cfgp);
	return LIBUSB_ERROR_NOT_FOUND;
}

static void
map_endpoints(struct libusb_device *d, const struct libusb_interface_descriptor *a)
{
	const struct libusb_endpoint_descriptor *e;
	int k;

	fk_bit_set(d->ifaces, a->bInterfaceNumber, 1);
	for (k = 0; k < a->bNumEndpoints; k++) {
		e = &a->endpoint[k];
		d->ep_iface[EP_IDX(e->bEndpointAddress)] = (uint8_t)(a->bInterfaceNumber + 1);
		if (e->bEndpointAddress == d->mux_out)
			d->mps_out = e->wMaxPacketSize & 0x7ff;
		if (e->bEndpointAddress == d->mux_in)
			d->mps_in = e->wMaxPacketSize & 0x7ff;
	}
}

/* Make value the active configuration: interfaces, endpoints, mux pipe. */
int
fk_activate_locked(struct libusb_device *d, uint8_t value)
{
	struct libusb_config_descriptor *c = NULL;
	int i, j, r;
	unsigned m;

	memset(d->ep_iface, 0, sizeof(d->ep_iface));
	memset(d->ifaces, 0, sizeof(d->ifaces));
	d->mux_out = d->mux_in = 0;
	d->mps_out = d->mps_in = 0;
	d->config = 0;
	if (value == 0)
		return 0;
	if ((r = fk_config_by_value(d, value, &c)) != 0)
		return r;
	for (m = 0; m < IB_ARRAY_LEN(d->spec->mux); m++) {
		if (d->spec->mux[m].config == value) {
			d->mux_out = d->spec->mux[m].ep_out;
			d->mux_in = d->spec->mux[m].ep_in;
		}
	}
	for (i = 0; i < c->bNumInterfaces; i++)
		for (j = 0; j < c->interface[i].num_altsetting; j++)
			map_endpoints(d, &c->interface[i].altsetting[j]);
	libusb_free_config_descriptor(c);
	d->config = value;
	return 0;
}

/* --- transfers ---------------------------------------------------------- */

static void
pend_remove_locked(struct libusb_device *d, struct fake_xfer *fx)
{
	struct fake_xfer **pp, *prev = NULL;

	for (pp = &d->pend_head; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
		if (*pp == fx) {
			*pp = fx->next;
			if (d->pend_tail == fx)
				d->pend_tail = prev;
			fx->next = NULL;
			return;
		}
	}
}

static struct fake_xfer *
pend_first(struct libusb_device *d, uint8_t ep)
{
	struct fake_xfer *fx;

	for (fx = d->pend_head; fx != NULL && ep != 0; fx = fx->next)
		if (XT(fx)->endpoint == ep)
			return fx;
	return NULL;
}

void
fk_complete_locked(struct fake_xfer *fx, int status, int actual)
{
	struct libusb_context *ctx = fx->ctx;
	struct libusb_device *d = fx->dev;

	if (fx->state == X_PENDING) {
		pend_remove_locked(d, fx);
		if (fx->mux_in) {
			d->in_pending--;
			d->in_queued++;
		}
	}
	XT(fx)->status = (enum libusb_transfer_status)status;
	XT(fx)->actual_length = actual;
	fx->state = X_QUEUED;
	fx->next = NULL;
	if (ctx->cq_tail != NULL)
		ctx->cq_tail->next = fx;
	else
		ctx->cq_head = fx;
	ctx->cq_tail = fx;
	pthread_cond_broadcast(&fk.cv);
}

static void
record_out(struct libusb_device *d, size_t n)
{
	if (d->n_out == d->cap_out) {
		size_t cap = d->cap_out ? d->cap_out * 2 : 256;
		uint32_t *nl = realloc(d->out_lens, cap * sizeof(*nl));

		if (nl == NULL)
			abort();
		d->out_lens = nl;
		d->cap_out = cap;
	}
	d->out_lens[d->n_out++] = (uint32_t)n;
}

/* The device has read a whole packet (ended by a short or zero-length
 * transfer). */
static void
out_packet_end(struct libusb_device *d)
{
	struct pkt *p;

	if (d->asm_bad) {
		d->st.dev_drops++;
	} else if (d->asm_len > 0) {
		if ((p = malloc(sizeof(*p) + d->asm_len)) == NULL)
			abort();
		p->len = d->asm_len;
		p->off = 0;
		memcpy(p->data, d->asm_buf, d->asm_len);
		pkt_append(&d->rx_head, &d->rx_tail, p);
		d->rx_bytes += p->len;
		wake_dev_locked(d);
	}
	d->asm_len = 0;
	d->asm_bad = 0;
}

/* Host->device, while the device has room to read. */
static void
pump_out_locked(struct libusb_device *d)
{
	struct fake_xfer *fx;
	size_t n;

	while (d->mps_out > 0 && d->rx_bytes < FAKE_RX_MAX &&
	    (fx = pend_first(d, d->mux_out)) != NULL) {
		n = (size_t)XT(fx)->length;
		record_out(d, n);
		if (d->asm_len + n > IB_MUX_MRU) {
			d->asm_bad = 1;
		} else {
			memcpy(d->asm_buf + d->asm_len, XT(fx)->buffer, n);
			d->asm_len += n;
		}
		if (n % d->mps_out != 0 || n == 0)
			out_packet_end(d);
		fk_complete_locked(fx, LIBUSB_TRANSFER_COMPLETED, (int)n);
	}
}

/*
 * Device->host: each device packet fills IN transfers in order. A packet
 * that is a multiple of wMaxPacketSize is followed by a ZLP, so a
 * transfer ends where the packet ends, or, when the packet ended exactly
 * at the end of a full transfer, the next transfer receives 0 bytes.
 */
static void
pump_in_locked(struct libusb_device *d)
{
	struct fake_xfer *fx;
	struct libusb_transfer *t;
	struct pkt *p;
	size_t rem, n;

	while (d->mps_in > 0 && (p = d->tx_head) != NULL &&
	    (fx = pend_first(d, d->mux_in)) != NULL) {
		t = XT(fx);
		rem = p->len - p->off;
		if (rem > (size_t)t->length && t->length % d->mps_in != 0) {
			fk_complete_locked(fx, LIBUSB_TRANSFER_OVERFLOW, 0);
			continue;
		}
		n = rem < (size_t)t->length ? rem : (size_t)t->length;
		memcpy(t->buffer, p->data + p->off, n);
		p->off += n;
		if (n < (size_t)t->length || rem == 0 ||
		    (p->off == p->len && p->len % d->mps_in != 0)) {
			pkt_pop(&d->tx_head, &d->tx_tail);
			d->tx_bytes -= p->len;
			free(p);
			wake_dev_locked(d);
		}
		fk_complete_locked(fx, LIBUSB_TRANSFER_COMPLETED, (int)n);
	}
}

void
fk_pump_locked(struct libusb_device *d)
{
	pump_out_locked(d);
	pump_in_locked(d);
}

struct libusb_transfer *
libusb_alloc_transfer(int iso_packets)
{
	struct fake_xfer *fx;

	fx = calloc(1, sizeof(*fx) + sizeof(struct libusb_transfer) +
	    (size_t)iso_packets * sizeof(struct libusb_iso_packet_descriptor));
	if (fx == NULL)
		return NULL;
	LOCK();
	fk.live++;
	UNLOCK();
	XT(fx)->num_iso_packets = iso_packets;
	return XT(fx);
}

void
libusb_free_transfer(struct libusb_transfer *t)
{
	struct fake_xfer *fx, **pp;

	if (t == NULL)
		return;
	fx = FX(t);
	LOCK();
	if (fx->state == X_PENDING || fx->state == X_QUEUED) {
		fprintf(stderr, "fake_libusb: libusb_free_transfer on a transfer in flight\n");
		abort();
	}
	if (fx->state == X_ORPHAN) {
		for (pp = &fk.orphans; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == fx) {
				*pp = fx->next;
				break;
			}
		}
		fk_dev_unref_locked(fx->dev);
	}
	fk.live--;
	UNLOCK();
	if (t->flags & LIBUSB_TRANSFER_FREE_BUFFER)
		free(t->buffer);
	free(fx);
}

static int
ep_usable(const struct libusb_device *d, const struct libusb_device_handle *h, uint8_t ep)
{
	unsigned iface = d->ep_iface[EP_IDX(ep)];

	return iface != 0 && d->claimer == h && fk_bit_get(d->claimed, iface - 1);
}

int
libusb_submit_transfer(struct libusb_transfer *t)
{
	struct fake_xfer *fx = FX(t);
	struct libusb_device *d;
	int r = 0, fail;

	LOCK();
	d = t->dev_handle->dev;
	if (fx->state != X_IDLE)
		r = LIBUSB_ERROR_BUSY;
	else if (!d->plugged)
		r = LIBUSB_ERROR_NO_DEVICE;
	else if (t->type != LIBUSB_TRANSFER_TYPE_BULK)
		r = LIBUSB_ERROR_NOT_SUPPORTED;
	else if (t->length < 0 || (t->length > 0 && t->buffer == NULL))
		r = LIBUSB_ERROR_INVALID_PARAM;
	else if (!ep_usable(d, t->dev_handle, t->endpoint))
		r = LIBUSB_ERROR_NOT_FOUND;
	if (r != 0) {
		UNLOCK();
		return r;
	}
	fx->ctx = t->dev_handle->ctx;
	fx->dev = d;
	d->refs++;
	fx->cancel_req = 0;
	fx->mux_in = t->endpoint == d->mux_in;
	t->actual_length = 0;
	fx->state = X_PENDING;
	fx->next = NULL;
	if (d->pend_tail != NULL)
		d->pend_tail->next = fx;
	else
		d->pend_head = fx;
	d->pend_tail = fx;
	if (fx->mux_in)
		d->in_pending++;
	if ((fail = d->ep_fail[EP_IDX(t->endpoint)]) != 0)
		fk_complete_locked(fx, fail, 0);
	else
		fk_pump_locked(d);
	UNLOCK();
	return 0;
}

int
libusb_cancel_transfer(struct libusb_transfer *t)
{
	struct fake_xfer *fx = FX(t);
	int r = 0;

	LOCK();
	if (fx->state != X_PENDING || fx->cancel_req)
		r = LIBUSB_ERROR_NOT_FOUND;
	else {
		fx->cancel_req = 1;
		if (!fx->dev->cancel_stuck)
			fk_complete_locked(fx, LIBUSB_TRANSFER_CANCELLED, 0);
	}
	UNLOCK();
	return r;
}

/* --- plugging ----------------------------------------------------------- */

struct fake_usb_dev *
fake_usb_plug(const struct fake_usb_plug_opts *o)
{
	struct libusb_device *d;

	if ((d = calloc(1, sizeof(*d))) == NULL || (d->asm_buf = malloc(IB_MUX_MRU)) == NULL ||
	    (d->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		abort();
	d->spec = o->spec;
	snprintf(d->serial, sizeof(d->serial), "%s",
	    o->serial != NULL ? o->serial : (o->spec->strings[3] ? o->spec->strings[3] : ""));
	d->speed = o->speed != 0 ? o->speed : LIBUSB_SPEED_HIGH;
	d->open_error = o->open_error;
	d->claim_error = o->claim_error;
	d->refs = 2;    /* the bus and the test */
	d->st.min_after_cb = UINT_MAX;
	d->plugged = 1;
	LOCK();
	fk.live++;
	d->bus = o->bus != 0 ? o->bus : 1;
	d->port = o->port != 0 ? o->port : (uint8_t)(++fk.next_port % 16 + 1);
	fk.next_addr = (uint8_t)(fk.next_addr % 126 + 1);
	d->addr = (uint8_t)(fk.next_addr + 1);
	if (fk_activate_locked(d, o->config) != 0)
		abort();
	d->drivers[0] = o->drivers;
	d->next = fk.bus;
	fk.bus = d;
	fk_queue_hotplug_locked(d, LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED);
	UNLOCK();
	return (struct fake_usb_dev *)d;
}

void
fake_usb_unplug(struct fake_usb_dev *fd)
{
	struct libusb_device *d = (struct libusb_device *)fd, **pp;

	LOCK();
	if (!d->plugged) {
		UNLOCK();
		return;
	}
	d->plugged = 0;
	while (d->pend_head != NULL)
		fk_complete_locked(d->pend_head, LIBUSB_TRANSFER_NO_DEVICE, 0);
	for (pp = &fk.bus; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	fk_queue_hotplug_locked(d, LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT);
	wake_dev_locked(d);
	fk_dev_unref_locked(d);         /* the bus's reference */
	UNLOCK();
}

void
fake_usb_put(struct fake_usb_dev *fd)
{
	if (fd == NULL)
		return;
	LOCK();
	fk_dev_unref_locked((struct libusb_device *)fd);
	UNLOCK();
}

libusb_device *
fake_usb_device(struct fake_usb_dev *fd)
{
	return (struct libusb_device *)fd;
}

/* --- the device's end of the mux pipe ----------------------------------- */

static int
dl_send(void *p, const uint8_t *pkt, size_t len)
{
	struct libusb_device *d = p;
	struct pkt *k;

	/* Larger than any valid packet is allowed: a test may play a
	 * misbehaving device. */
	if (len > 4 * IB_MUX_MRU)
		return IB_ERR_TOO_LARGE;
	if ((k = malloc(sizeof(*k) + len)) == NULL)
		return IB_ERR_NOMEM;
	k->len = len;
	k->off = 0;
	memcpy(k->data, pkt, len);
	LOCK();
	if (!d->plugged) {
		UNLOCK();
		free(k);
		return IB_ERR_NO_DEVICE;
	}
	pkt_append(&d->tx_head, &d->tx_tail, k);
	d->tx_bytes += len;
	pump_in_locked(d);
	UNLOCK();
	return IB_OK;
}

static size_t
dl_queued(void *p)
{
	struct libusb_device *d = p;
	size_t n;

	LOCK();
	n = d->tx_bytes;
	UNLOCK();
	return n;
}

static void
dl_pollfd(void *p, struct pollfd *pfd)
{
	struct libusb_device *d = p;

	pfd->fd = d->efd;
	pfd->events = POLLIN;
	pfd->revents = 0;
}

static int
dl_service(void *p, short revents)
{
	struct libusb_device *d = p;
	uint64_t v;
	int r;

	(void)revents;
	if (read(d->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		perror("fake_libusb: eventfd");
	LOCK();
	free(d->link_cur);
	d->link_cur = NULL;
	r = d->plugged ? IB_OK : IB_ERR_NO_DEVICE;
	UNLOCK();
	return r;
}

static int
dl_recv(void *p, const uint8_t **pktp, size_t *lenp)
{
	struct libusb_device *d = p;
	struct pkt *k;

	LOCK();
	free(d->link_cur);
	d->link_cur = NULL;
	if ((k = pkt_pop(&d->rx_head, &d->rx_tail)) != NULL) {
		d->rx_bytes -= k->len;
		d->link_cur = k;
		pump_out_locked(d);
	}
	UNLOCK();
	if (k == NULL)
		return IB_ERR_WOULD_BLOCK;
	*pktp = k->data;
	*lenp = k->len;
	return IB_OK;
}

static const char *
dl_describe(void *p)
{
	struct libusb_device *d = p;

	return d->spec->label;
}

static void
dl_free(void *p)
{
	struct libusb_device *d = p;

	if (d == NULL)
		return;
	/* The device side went away: to the host that is an unplug. */
	fake_usb_unplug((struct fake_usb_dev *)d);
	LOCK();
	d->link_state = 2;
	fk_dev_unref_locked(d);
	UNLOCK();
}

static const struct ib_mux_link_ops dev_link_ops = {
	.send = dl_send,
	.queued = dl_queued,
	.pollfd = dl_pollfd,
	.service = dl_service,
	.recv = dl_recv,
	.describe = dl_describe,
	.free = dl_free,
};

int
fake_usb_dev_link(struct fake_usb_dev *fd, struct ib_mux_link *linkp)
{
	struct libusb_device *d = (struct libusb_device *)fd;

	LOCK();
	if (d->link_state != 0) {
		UNLOCK();
		return IB_ERR_EXISTS;
	}
	d->link_state = 1;
	d->refs++;
	UNLOCK();
	linkp->ops = &dev_link_ops;
	linkp->impl = d;
	return IB_OK;
}
