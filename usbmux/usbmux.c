/*
 * usbmux.c - the usbmux core (ib_usbmux.h) over the transport seam
 * (transport.h): transport choice, the device registry the transports
 * feed, subscriptions, select/wait, connect dispatch and pair records.
 */
#include "ib_usbmux.h"

#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_util.h"
#include "pairstore.h"
#include "transport.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ib_usbmux_wait looks at the interrupt flag this often: a signal handler
 * cannot signal a condition variable. */
#define WAIT_SLICE_MS 100
/* Room for the UDIDs listed in an ambiguity error. */
#define UDID_LIST_MAX 1024

struct sub {
	int id;
	ib_usbmux_event_fn fn;
	void *ctx;
	struct sub *next;
};

struct ib_usbmux {
	const struct ib_transport_ops *tr;
	void *t;
	char *pair_dir_opt;
	/* registry, under mu; cv signals every change */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ib_device *devs;
	size_t ndevs, devs_alloc;
	uint32_t next_handle;
	/* subscribers, under sub_mu (held while they are called, so events
	 * reach them in order) */
	pthread_mutex_t sub_mu;
	struct sub *subs;
	int next_sub_id;
	/* lazily opened directory store */
	pthread_mutex_t ps_mu;
	struct ib_pairstore *ps;
};

/* --- registry (called by transports) ----------------------------------- */

static void
notify(struct ib_usbmux *m, int attached, const struct ib_device *dev)
{
	struct sub *s;

	pthread_mutex_lock(&m->sub_mu);
	for (s = m->subs; s != NULL; s = s->next)
		s->fn(s->ctx, attached, dev);
	pthread_mutex_unlock(&m->sub_mu);
}

void
ib_usbmux_core_attached(struct ib_usbmux *m, const struct ib_device *dev)
{
	size_t i;
	int ok = 1;

	pthread_mutex_lock(&m->mu);
	for (i = 0; i < m->ndevs && m->devs[i].handle != dev->handle; i++)
		;
	if (i == m->ndevs) {
		if (m->ndevs >= IB_MUXD_MAX_DEVICES) {
			ok = 0;
		} else if (m->ndevs == m->devs_alloc) {
			size_t na = m->devs_alloc ? m->devs_alloc * 2 : 8;
			struct ib_device *nd = realloc(m->devs, na * sizeof(*nd));

			if (nd == NULL) {
				ok = 0;
			} else {
				m->devs = nd;
				m->devs_alloc = na;
			}
		}
		if (ok)
			m->ndevs++;
	}
	if (ok) {
		m->devs[i] = *dev;
		m->devs[i].udid[IB_UDID_MAX] = '\0';
		m->devs[i].conn_detail[sizeof(dev->conn_detail) - 1] = '\0';
		pthread_cond_broadcast(&m->cv);
	}
	pthread_mutex_unlock(&m->mu);
	if (!ok) {
		ib_warn("device %s not recorded (too many devices or out of memory)",
		    dev->udid);
		return;
	}
	ib_info("device attached: %s (%s)", dev->udid, dev->conn_detail);
	notify(m, 1, dev);
}

void
ib_usbmux_core_detached(struct ib_usbmux *m, uint32_t handle)
{
	struct ib_device gone;
	size_t i;
	int found = 0;

	pthread_mutex_lock(&m->mu);
	for (i = 0; i < m->ndevs; i++) {
		if (m->devs[i].handle != handle)
			continue;
		gone = m->devs[i];
		m->devs[i] = m->devs[--m->ndevs];
		found = 1;
		pthread_cond_broadcast(&m->cv);
		break;
	}
	pthread_mutex_unlock(&m->mu);
	if (!found)
		return;
	ib_info("device detached: %s", gone.udid);
	notify(m, 0, &gone);
}

uint32_t
ib_usbmux_core_next_handle(struct ib_usbmux *m)
{
	uint32_t h;

	pthread_mutex_lock(&m->mu);
	h = ++m->next_handle;
	pthread_mutex_unlock(&m->mu);
	return h;
}

/* --- opening -------------------------------------------------------------- */

static int
open_transport(struct ib_usbmux *m, const struct ib_transport_ops *tr,
    const char *spec)
{
	int r;

	if ((r = tr->open(m, spec, &m->t)) != IB_OK)
		return r;
	m->tr = tr;
	return IB_OK;
}

/* Forget what a transport that is given up on reported. */
static void
drop_transport(struct ib_usbmux *m)
{
	m->tr->close(m->t);
	m->tr = NULL;
	m->t = NULL;
	pthread_mutex_lock(&m->mu);
	m->ndevs = 0;
	pthread_mutex_unlock(&m->mu);
}

static int
open_auto(struct ib_usbmux *m)
{
	char usb_why[256], muxd_why[256];
	int r;

	if ((r = open_transport(m, &ib_transport_usb, NULL)) == IB_OK) {
		pthread_mutex_lock(&m->mu);
		r = m->ndevs > 0 ? IB_OK : IB_ERR_DEVICE_NOT_FOUND;
		pthread_mutex_unlock(&m->mu);
		if (r == IB_OK)
			return IB_OK;
		drop_transport(m);
		snprintf(usb_why, sizeof(usb_why), "no Apple device in mux mode");
	} else {
		snprintf(usb_why, sizeof(usb_why), "%s%s%s", ib_strerror(r),
		    ib_err_detail()[0] ? ": " : "", ib_err_detail());
	}
	if ((r = open_transport(m, &ib_transport_usbmuxd, NULL)) == IB_OK)
		return IB_OK;
	snprintf(muxd_why, sizeof(muxd_why), "%s%s%s", ib_strerror(r),
	    ib_err_detail()[0] ? ": " : "", ib_err_detail());
	ib_err_detail_set("usb: %s; usbmuxd: %s", usb_why, muxd_why);
	return IB_ERR_TRANSPORT;
}

static int
open_spec(struct ib_usbmux *m, const char *spec)
{
	if (spec == NULL || strcmp(spec, "auto") == 0)
		return open_auto(m);
	if (strcmp(spec, "usb") == 0)
		return open_transport(m, &ib_transport_usb, NULL);
	if (strcmp(spec, "usbmuxd") == 0)
		return open_transport(m, &ib_transport_usbmuxd, NULL);
	if (strncmp(spec, "usbmuxd:", 8) == 0 && spec[8] != '\0')
		return open_transport(m, &ib_transport_usbmuxd, spec + 8);
	if (strncmp(spec, "sim:", 4) == 0 && spec[4] != '\0')
		return open_transport(m, &ib_transport_sim, spec + 4);
	ib_err_detail_set("unknown transport \"%.100s\" (use auto, usb, usbmuxd or sim:PATH)",
	    spec);
	return IB_ERR_USAGE;
}

int
ib_usbmux_new(const struct ib_usbmux_opts *opts, struct ib_usbmux **mp)
{
	struct ib_usbmux *m;
	int r;

	*mp = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return IB_ERR_NOMEM;
	pthread_mutex_init(&m->mu, NULL);
	pthread_mutex_init(&m->sub_mu, NULL);
	pthread_mutex_init(&m->ps_mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&m->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (opts != NULL && opts->pair_record_dir != NULL &&
	    (m->pair_dir_opt = strdup(opts->pair_record_dir)) == NULL) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	if ((r = open_spec(m, opts != NULL ? opts->transport : NULL)) != IB_OK)
		goto out;
	ib_info("transport: %s", ib_usbmux_describe(m));
	*mp = m;
	m = NULL;
out:
	ib_usbmux_free(m);
	return r;
}

void
ib_usbmux_free(struct ib_usbmux *m)
{
	struct sub *s;

	if (m == NULL)
		return;
	if (m->tr != NULL)
		m->tr->close(m->t);
	while ((s = m->subs) != NULL) {
		m->subs = s->next;
		free(s);
	}
	ib_pairstore_free(m->ps);
	free(m->devs);
	free(m->pair_dir_opt);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->ps_mu);
	pthread_mutex_destroy(&m->sub_mu);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

const char *
ib_usbmux_describe(const struct ib_usbmux *m)
{
	const char *d = m->tr->describe(m->t);

	return d != NULL ? d : m->tr->name;
}

enum ib_conn_type
ib_usbmux_conn_type(const struct ib_usbmux *m)
{
	if (m->tr == &ib_transport_usb)
		return IB_CONN_USB;
	if (m->tr == &ib_transport_sim)
		return IB_CONN_SIM;
	return IB_CONN_USBMUXD;
}

/* --- devices ---------------------------------------------------------------- */

/* Compare UDIDs ignoring case and the hyphen after the 8th character of
 * the 24-character form (usbmux.md 1.1). */
static void
udid_norm(const char *in, char *out, size_t size)
{
	size_t n = strlen(in), i, o = 0;

	for (i = 0; i < n && o + 1 < size; i++) {
		if (i == 8 && n == 25 && in[i] == '-')
			continue;
		out[o++] = (char)toupper((unsigned char)in[i]);
	}
	out[o] = '\0';
}

static int
udid_match(const char *have, const char *want)
{
	char a[IB_UDID_MAX + 1], b[IB_UDID_MAX + 1];

	udid_norm(have, a, sizeof(a));
	udid_norm(want, b, sizeof(b));
	return strcmp(a, b) == 0;
}

/* Under mu. */
static void
list_udids(const struct ib_usbmux *m, char *out, size_t size)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < m->ndevs && o + 1 < size; i++) {
		int n = snprintf(out + o, size - o, "%s%s", i ? ", " : "", m->devs[i].udid);

		if (n < 0)
			break;
		o += (size_t)n;
	}
}

/* Under mu. Detail set on failure. */
static int
select_locked(struct ib_usbmux *m, const char *udid, struct ib_device *outp)
{
	char list[UDID_LIST_MAX];
	size_t i;

	if (udid == NULL) {
		if (m->ndevs == 1) {
			*outp = m->devs[0];
			return IB_OK;
		}
		if (m->ndevs == 0) {
			ib_err_detail_set("no device is connected");
			return IB_ERR_DEVICE_NOT_FOUND;
		}
		list_udids(m, list, sizeof(list));
		ib_err_detail_set("%zu devices are connected: %s", m->ndevs, list);
		return IB_ERR_DEVICE_AMBIGUOUS;
	}
	for (i = 0; i < m->ndevs; i++)
		if (udid_match(m->devs[i].udid, udid)) {
			*outp = m->devs[i];
			return IB_OK;
		}
	list_udids(m, list, sizeof(list));
	ib_err_detail_set("no device %.64s is connected%s%s", udid,
	    m->ndevs ? "; connected: " : "", list);
	return IB_ERR_DEVICE_NOT_FOUND;
}

int
ib_usbmux_list(struct ib_usbmux *m, struct ib_device **devsp, size_t *np)
{
	struct ib_device *d;
	size_t n;

	*devsp = NULL;
	*np = 0;
	pthread_mutex_lock(&m->mu);
	n = m->ndevs;
	if ((d = malloc((n > 0 ? n : 1) * sizeof(*d))) != NULL && n > 0)
		memcpy(d, m->devs, n * sizeof(*d));
	pthread_mutex_unlock(&m->mu);
	if (d == NULL)
		return IB_ERR_NOMEM;
	*devsp = d;
	*np = n;
	return IB_OK;
}

int
ib_usbmux_select(struct ib_usbmux *m, const char *udid, struct ib_device *outp)
{
	struct ib_device d;
	int r;

	pthread_mutex_lock(&m->mu);
	r = select_locked(m, udid, &d);
	pthread_mutex_unlock(&m->mu);
	if (r == IB_OK)
		*outp = d;
	return r;
}

int
ib_usbmux_wait(struct ib_usbmux *m, const char *udid, int timeout_ms,
    struct ib_device *outp)
{
	uint64_t deadline = ib_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	struct ib_device d;
	int r;

	pthread_mutex_lock(&m->mu);
	while ((r = select_locked(m, udid, &d)) == IB_ERR_DEVICE_NOT_FOUND) {
		uint64_t now = ib_now_ms(), slice = WAIT_SLICE_MS;
		struct timespec ts;

		if (ib_interrupted()) {
			r = IB_ERR_INTERRUPTED;
			break;
		}
		if (timeout_ms >= 0) {
			if (now >= deadline)
				break;
			slice = IB_MIN(slice, deadline - now);
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long)slice * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&m->cv, &m->mu, &ts);
	}
	pthread_mutex_unlock(&m->mu);
	if (r == IB_ERR_DEVICE_NOT_FOUND && timeout_ms >= 0)
		ib_err_detail_set("no %s%.64s appeared within %d ms",
		    udid != NULL ? "device " : "device", udid != NULL ? udid : "",
		    timeout_ms);
	if (r == IB_OK)
		*outp = d;
	return r;
}

int
ib_usbmux_subscribe(struct ib_usbmux *m, ib_usbmux_event_fn fn, void *ctx, int *idp)
{
	struct sub *s;

	if (fn == NULL)
		return IB_ERR_INVALID_ARG;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return IB_ERR_NOMEM;
	s->fn = fn;
	s->ctx = ctx;
	pthread_mutex_lock(&m->sub_mu);
	s->id = ++m->next_sub_id;
	s->next = m->subs;
	m->subs = s;
	pthread_mutex_unlock(&m->sub_mu);
	if (idp != NULL)
		*idp = s->id;
	return IB_OK;
}

void
ib_usbmux_unsubscribe(struct ib_usbmux *m, int id)
{
	struct sub **pp, *s;

	pthread_mutex_lock(&m->sub_mu);
	for (pp = &m->subs; (s = *pp) != NULL; pp = &s->next)
		if (s->id == id) {
			*pp = s->next;
			free(s);
			break;
		}
	pthread_mutex_unlock(&m->sub_mu);
}

/* --- streams ------------------------------------------------------------------ */

int
ib_usbmux_connect(struct ib_usbmux *m, const char *udid, uint16_t port,
    struct ib_stream **sp)
{
	struct ib_device d;
	int r;

	*sp = NULL;
	if ((r = ib_usbmux_select(m, udid, &d)) != IB_OK)
		return r;
	ib_debug("connecting to %s port %u", d.udid, port);
	return m->tr->connect(m->t, &d, port, sp);
}

int
ib_stream_fd(const struct ib_stream *s)
{
	return s->fd;
}

int
ib_stream_error(const struct ib_stream *s)
{
	return s->ops->error(s);
}

const char *
ib_stream_error_text(const struct ib_stream *s)
{
	const char *t = s->ops->error_text(s);

	return t != NULL ? t : "";
}

void
ib_stream_close(struct ib_stream *s)
{
	if (s == NULL)
		return;
	s->ops->close(s);
	free(s);
}

/* --- pair records --------------------------------------------------------------- */

static int
store(struct ib_usbmux *m, struct ib_pairstore **psp)
{
	char *dir = NULL;
	int r = IB_OK;

	pthread_mutex_lock(&m->ps_mu);
	if (m->ps == NULL &&
	    (r = ib_pairstore_default_dir(m->pair_dir_opt, &dir)) == IB_OK)
		r = ib_pairstore_open(dir, &m->ps);
	*psp = m->ps;
	pthread_mutex_unlock(&m->ps_mu);
	free(dir);
	return r;
}

int
ib_usbmux_read_pair_record(struct ib_usbmux *m, const char *udid,
    uint8_t **datap, size_t *lenp)
{
	struct ib_pairstore *ps;
	int r;

	if (m->tr->read_pair_record != NULL)
		return m->tr->read_pair_record(m->t, udid, datap, lenp);
	if ((r = store(m, &ps)) != IB_OK)
		return r;
	return ib_pairstore_read(ps, udid, datap, lenp);
}

int
ib_usbmux_save_pair_record(struct ib_usbmux *m, const char *udid,
    const uint8_t *data, size_t len)
{
	struct ib_pairstore *ps;
	struct ib_device d;
	int r;

	if (m->tr->save_pair_record != NULL) {
		if (ib_usbmux_select(m, udid, &d) != IB_OK)
			d.handle = 0;
		ib_err_detail_clear();
		return m->tr->save_pair_record(m->t, udid, data, len, d.handle);
	}
	if ((r = store(m, &ps)) != IB_OK)
		return r;
	return ib_pairstore_save(ps, udid, data, len);
}

int
ib_usbmux_delete_pair_record(struct ib_usbmux *m, const char *udid)
{
	struct ib_pairstore *ps;
	int r;

	if (m->tr->delete_pair_record != NULL)
		return m->tr->delete_pair_record(m->t, udid);
	if ((r = store(m, &ps)) != IB_OK)
		return r;
	return ib_pairstore_delete(ps, udid);
}

int
ib_usbmux_read_buid(struct ib_usbmux *m, char **buidp)
{
	struct ib_pairstore *ps;
	int r;

	if (m->tr->read_buid != NULL)
		return m->tr->read_buid(m->t, buidp);
	if ((r = store(m, &ps)) != IB_OK)
		return r;
	return ib_pairstore_buid(ps, buidp);
}
