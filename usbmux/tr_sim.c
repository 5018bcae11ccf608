/*
 * tr_sim.c - the "sim:PATH" transport: ibackup's own mux to the virtual
 * devices of `ibackup-sim --listen PATH` (doc/sim-protocol.md).
 *
 * One Watch connection tells which devices exist and when they come and
 * go. Each device gets an Attach connection that carries its raw mux byte
 * stream: link_stream.c cuts it into packets and a host-role mux runtime
 * (mux_conn.c) runs on it, just as over USB.
 *
 * A device ends when the Watch says Detached or its attach connection
 * dies (the simulator unplugged it): the core hears of it once, and every
 * stream on it ends with IB_ERR_NO_DEVICE.
 */
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_plist.h"
#include "ib_util.h"
#include "link_stream.h"
#include "mux_conn.h"
#include "sim_proto.h"
#include "transport.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* How long the simulator may take to answer a request or to agree on the
 * mux version of an attached device. */
#define SIM_REPLY_TIMEOUT_MS 5000

struct sim_dev {
	struct sim_tr *t;
	struct ib_device info;
	struct ib_mux_conn *conn;
	int reported;           /* the core knows it (under notify_mu) */
	atomic_int detached;    /* the core was told it is gone (notify_mu) */
	int removed;            /* out of the list; last ref frees (mu) */
	int refs;               /* connects in progress (mu) */
	struct sim_dev *next;
};

struct sim_tr {
	struct ib_usbmux *core;
	char *path;
	char desc[128];
	int watch_fd;
	int stopping;           /* under mu */
	pthread_t watch_thread;
	int watch_started;
	pthread_mutex_t mu;             /* the list, refs */
	pthread_mutex_t notify_mu;      /* orders attach/detach reports */
	struct sim_dev *devs;
};

static void
dev_free(struct sim_dev *d)
{
	if (d == NULL)
		return;
	ib_mux_conn_free(d->conn);
	free(d);
}

/* Tell the core once; any thread. */
static void
report_detached(struct sim_dev *d)
{
	pthread_mutex_lock(&d->t->notify_mu);
	if (d->reported && !d->detached) {
		d->detached = 1;
		ib_usbmux_core_detached(d->t->core, d->info.handle);
	}
	d->detached = 1;
	pthread_mutex_unlock(&d->t->notify_mu);
}

/* Runtime thread of d's conn: the attach connection died. */
static void
on_link_dead(void *ctx, int err)
{
	struct sim_dev *d = ctx;

	ib_debug("sim device %s gone: %s", d->info.udid, ib_strerror(err));
	report_detached(d);
}

/* Take d out of the list (under mu); returns d if the caller must free
 * it now. */
static struct sim_dev *
dev_unlink_locked(struct sim_tr *t, struct sim_dev *d)
{
	struct sim_dev **pp;

	for (pp = &t->devs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	d->removed = 1;
	return d->refs == 0 ? d : NULL;
}

/* Forget every entry for udid (Detached, or a replug replacing it). */
static void
forget_udid(struct sim_tr *t, const char *udid)
{
	struct sim_dev *d, *next, *dead = NULL;

	pthread_mutex_lock(&t->mu);
	for (d = t->devs; d != NULL; d = next) {
		next = d->next;
		if (strcmp(d->info.udid, udid) != 0)
			continue;
		if (dev_unlink_locked(t, d) != NULL) {
			d->next = dead;
			dead = d;
		} else {
			ib_mux_conn_shutdown(d->conn, IB_ERR_NO_DEVICE);
		}
	}
	pthread_mutex_unlock(&t->mu);
	while ((d = dead) != NULL) {
		dead = d->next;
		report_detached(d);
		dev_free(d);
	}
}

static int
open_attach(struct sim_tr *t, const char *udid, int *fdp)
{
	plist_t req = plist_new_dict();
	int fd = -1, r;

	*fdp = -1;
	plist_dict_set_item(req, "Request", plist_new_string("Attach"));
	plist_dict_set_item(req, "ProtocolVersion", plist_new_uint(IB_SIM_PROTO_VERSION));
	plist_dict_set_item(req, "UDID", plist_new_string(udid));
	if ((r = ib_sim_client_connect(t->path, SIM_REPLY_TIMEOUT_MS, &fd)) == IB_OK &&
	    (r = ib_sim_client_request(fd, req, SIM_REPLY_TIMEOUT_MS, NULL)) == IB_OK) {
		*fdp = fd;
		fd = -1;
	}
	if (fd >= 0)
		close(fd);
	plist_free(req);
	return r;
}

/* Attach one device and report it; failures are logged, not fatal. */
static void
attach(struct sim_tr *t, const struct ib_sim_devinfo *info)
{
	struct ib_mux_conn_cfg cfg;
	struct ib_mux_link link;
	struct sim_dev *d = NULL;
	char name[IB_UDID_MAX + 8];
	int fd = -1, r;

	forget_udid(t, info->udid);
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	d->t = t;
	d->info.handle = ib_usbmux_core_next_handle(t->core);
	snprintf(d->info.udid, sizeof(d->info.udid), "%s", info->udid);
	d->info.product_id = info->product_id;
	d->info.location = info->location;
	d->info.speed_bps = info->speed_bps;
	d->info.conn = IB_CONN_SIM;
	snprintf(d->info.conn_detail, sizeof(d->info.conn_detail), "Sim");
	if ((r = open_attach(t, info->udid, &fd)) != IB_OK)
		goto out;
	if ((r = ib_mux_link_stream_new(fd, &link)) != IB_OK)
		goto out;
	fd = -1;
	memset(&cfg, 0, sizeof(cfg));
	cfg.engine.role = IB_MUX_ROLE_HOST;
	cfg.engine.rx_window = IB_MUX_STREAM_RXBUF;
	snprintf(name, sizeof(name), "sim %s", info->udid);
	cfg.name = name;
	cfg.dead = on_link_dead;
	cfg.ctx = d;
	if ((r = ib_mux_conn_new(&cfg, link, &d->conn)) != IB_OK ||
	    (r = ib_mux_conn_wait_ready(d->conn, SIM_REPLY_TIMEOUT_MS)) != IB_OK)
		goto out;
	pthread_mutex_lock(&t->mu);
	d->next = t->devs;
	t->devs = d;
	pthread_mutex_unlock(&t->mu);
	pthread_mutex_lock(&t->notify_mu);
	if (!d->detached) {
		d->reported = 1;
		ib_usbmux_core_attached(t->core, &d->info);
	}
	pthread_mutex_unlock(&t->notify_mu);
	d = NULL;
out:
	if (r != IB_OK)
		ib_warn("cannot attach sim device %s: %s%s%s", info->udid, ib_strerror(r),
		    ib_err_detail()[0] ? ": " : "", ib_err_detail());
	if (fd >= 0)
		close(fd);
	dev_free(d);
}

static void
handle_event(struct sim_tr *t, plist_t ev)
{
	struct ib_sim_devinfo info;
	const char *name, *udid;
	plist_t dev;

	if (ib_plist_dict_get_string(ev, "Event", &name) != IB_OK) {
		ib_warn("simulator %s sent a message without Event", t->path);
		return;
	}
	if (strcmp(name, "Attached") == 0) {
		if (ib_plist_dict_get_dict(ev, "Device", &dev) != IB_OK ||
		    ib_sim_devinfo_from_plist(dev, &info) != IB_OK) {
			ib_warn("simulator %s: bad Attached event: %s", t->path, ib_err_detail());
			return;
		}
		attach(t, &info);
	} else if (strcmp(name, "Detached") == 0) {
		if (ib_plist_dict_get_string(ev, "UDID", &udid) != IB_OK) {
			ib_warn("simulator %s: Detached without UDID", t->path);
			return;
		}
		forget_udid(t, udid);
	} else {
		ib_debug("simulator %s: ignoring event %.40s", t->path, name);
	}
}

static void *
watch_main(void *arg)
{
	struct sim_tr *t = arg;
	plist_t ev = NULL;
	int r, stopping;

	for (;;) {
		struct pollfd pfd = { .fd = t->watch_fd, .events = POLLIN };

		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			break;
		if ((r = ib_sim_msg_recv(t->watch_fd, SIM_REPLY_TIMEOUT_MS, &ev)) != IB_OK)
			break;
		handle_event(t, ev);
		plist_free(ev);
		ev = NULL;
	}
	pthread_mutex_lock(&t->mu);
	stopping = t->stopping;
	pthread_mutex_unlock(&t->mu);
	if (!stopping) {
		struct sim_dev *d;

		ib_warn("lost the simulator at %s: %s", t->path, ib_strerror(r));
		for (;;) {
			pthread_mutex_lock(&t->mu);
			d = t->devs;
			pthread_mutex_unlock(&t->mu);
			if (d == NULL)
				break;
			forget_udid(t, d->info.udid);
		}
	}
	return NULL;
}

static void
op_close(void *tp)
{
	struct sim_tr *t = tp;
	struct sim_dev *d;

	if (t == NULL)
		return;
	pthread_mutex_lock(&t->mu);
	t->stopping = 1;
	pthread_mutex_unlock(&t->mu);
	if (t->watch_fd >= 0)
		shutdown(t->watch_fd, SHUT_RDWR);
	if (t->watch_started)
		pthread_join(t->watch_thread, NULL);
	while ((d = t->devs) != NULL) {
		t->devs = d->next;
		report_detached(d);
		dev_free(d);
	}
	if (t->watch_fd >= 0)
		close(t->watch_fd);
	pthread_mutex_destroy(&t->notify_mu);
	pthread_mutex_destroy(&t->mu);
	free(t->path);
	free(t);
}

static int
op_open(struct ib_usbmux *core, const char *spec, void **tp)
{
	struct ib_sim_devinfo *devs = NULL;
	plist_t req = plist_new_dict(), reply = NULL;
	struct sim_tr *t = NULL;
	size_t n = 0, i;
	int r;

	*tp = NULL;
	if (spec == NULL || spec[0] == '\0') {
		ib_err_detail_set("sim: needs the simulator's socket path (sim:PATH)");
		r = IB_ERR_USAGE;
		goto out;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL || (t->path = strdup(spec)) == NULL) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	t->core = core;
	t->watch_fd = -1;
	pthread_mutex_init(&t->mu, NULL);
	pthread_mutex_init(&t->notify_mu, NULL);
	snprintf(t->desc, sizeof(t->desc), "sim:%s", spec);
	plist_dict_set_item(req, "Request", plist_new_string("Watch"));
	plist_dict_set_item(req, "ProtocolVersion", plist_new_uint(IB_SIM_PROTO_VERSION));
	if ((r = ib_sim_client_connect(spec, SIM_REPLY_TIMEOUT_MS, &t->watch_fd)) != IB_OK ||
	    (r = ib_sim_client_request(t->watch_fd, req, SIM_REPLY_TIMEOUT_MS, &reply)) != IB_OK ||
	    (r = ib_sim_devinfo_list(reply, &devs, &n)) != IB_OK)
		goto out;
	/* Devices present now are reported before open returns. */
	for (i = 0; i < n; i++)
		attach(t, &devs[i]);
	if ((r = pthread_create(&t->watch_thread, NULL, watch_main, t)) != 0) {
		r = ib_err_from_errno(r, "pthread_create");
		goto out;
	}
	t->watch_started = 1;
	*tp = t;
	t = NULL;
	r = IB_OK;
out:
	if (t != NULL && t->path != NULL)
		op_close(t);
	else
		free(t);
	plist_free(req);
	plist_free(reply);
	free(devs);
	return r;
}

static const char *
op_describe(void *tp)
{
	struct sim_tr *t = tp;

	return t->desc;
}

static int
op_connect(void *tp, const struct ib_device *dev, uint16_t port, struct ib_stream **sp)
{
	struct sim_tr *t = tp;
	struct sim_dev *d, *done = NULL;
	int r;

	*sp = NULL;
	pthread_mutex_lock(&t->mu);
	for (d = t->devs; d != NULL; d = d->next)
		if (d->info.handle == dev->handle && !d->detached)
			break;
	if (d != NULL)
		d->refs++;
	pthread_mutex_unlock(&t->mu);
	if (d == NULL) {
		ib_err_detail_set("sim device %s is gone", dev->udid);
		return IB_ERR_NO_DEVICE;
	}
	r = ib_mux_conn_connect(d->conn, port, IB_MUX_CONN_CONNECT_TIMEOUT_MS, sp);
	pthread_mutex_lock(&t->mu);
	if (--d->refs == 0 && d->removed)
		done = d;
	pthread_mutex_unlock(&t->mu);
	if (done != NULL) {
		report_detached(done);
		dev_free(done);
	}
	return r;
}

const struct ib_transport_ops ib_transport_sim = {
	.name = "sim",
	.open = op_open,
	.close = op_close,
	.describe = op_describe,
	.connect = op_connect,
};
