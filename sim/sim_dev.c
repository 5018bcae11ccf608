/*
 * sim_dev.c - one virtual device: identity, knobs of the mux layer,
 * services and their threads, extension slots, control actions,
 * plug/unplug, and the device side of the mux over any link.
 *
 * Lock order: sim->mu, then dev->mu. A mux runtime thread may take
 * dev->mu (incoming connections) and sim->mu (unplug_after), so no
 * runtime is ever freed with either held.
 */
#include "ib_sim.h"
#include "sim_int.h"
#include "sim_layers.h"

#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_util.h"
#include "link_stream.h"
#include "mux_conn.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Ports bound on one device at once, and control actions it knows. */
#define SIM_SERVICES_MAX 64u
#define SIM_CONTROLS_MAX 32u
/* Dynamic service ports, as lockdownd hands them out. */
#define SIM_DYN_PORT_MIN 49152u
#define SIM_DYN_PORT_SPAN (65536u - SIM_DYN_PORT_MIN)
/* USB 2 high speed, what usbmuxd reports for an iPhone. */
#define SIM_SPEED_BPS 480000000ull

struct service {
	uint16_t port;
	char name[48];
	ib_sim_service_fn fn;
	void *arg;
	int dynamic;
	unsigned left;          /* dynamic: connections still taken; 0 = any */
};

struct svc_run {
	struct ib_sim_dev *dev;
	ib_sim_service_fn fn;
	void *arg;
	int fd;
	pthread_t th;
	atomic_int done;
	struct svc_run *next;
};

struct attach {
	struct ib_sim_dev *dev;
	_Atomic(struct ib_mux_conn *) conn;
	atomic_int dead;
	atomic_int malformed_sent;
	struct attach *next;
};

struct control {
	char action[32];
	ib_sim_control_fn fn;
	void *ctx;
};

struct ib_sim_dev {
	struct ib_sim *sim;
	unsigned index;
	struct ib_sim_identity id;
	uint32_t location;
	/* mux-layer knobs, parsed at creation */
	uint32_t window;
	int split;
	uint16_t rst_port;
	uint64_t unplug_after;
	uint64_t malformed_at;
	int malformed_kind;
	uint32_t mux_version;
	/* under mu */
	pthread_mutex_t mu;
	int plugged;
	uint32_t rng;
	unsigned nattach;
	struct attach *attaches;
	struct service services[SIM_SERVICES_MAX];
	size_t nservices;
	uint16_t next_dyn;
	struct svc_run *runs;
	struct control controls[SIM_CONTROLS_MAX];
	size_t ncontrols;
	void *ext[IB_SIM_EXT_MAX];
	void (*ext_free[IB_SIM_EXT_MAX])(void *);
	/* any thread */
	atomic_uint_fast64_t bytes;
	atomic_uint_fast64_t plug_bytes;
	atomic_int unplug_fired;
};

/* --- knobs of the mux layer ---------------------------------------------- */

/* Kinds 1-5 are the engine's (ib_mux_engine_inject_malformed), 6 the
 * runtime's (IB_MUX_CONN_MALFORMED_FRAMING). */
static const char *const malformed_kinds[] = {
	"short", "magic", "stream", "protocol", "flags", "framing",
};

static int
knob_num(struct ib_sim_dev *dev, const char *name, uint64_t min, uint64_t max,
    uint64_t *vp)
{
	const char *v = ib_sim_dev_knob(dev, name);

	*vp = 0;
	if (v == NULL)
		return IB_OK;
	if (sim_parse_u64(v, vp) != IB_OK || *vp < min || *vp > max) {
		ib_err_detail_set("knob %s=%s on device %u: expected a number from %llu to %llu",
		    name, v, dev->index + 1, (unsigned long long)min, (unsigned long long)max);
		return IB_ERR_USAGE;
	}
	return IB_OK;
}

static int
parse_malformed(struct ib_sim_dev *dev)
{
	const char *v = ib_sim_dev_knob(dev, "malformed"), *comma;
	char num[32];
	size_t i;

	dev->malformed_kind = 1;
	if (v == NULL)
		return IB_OK;
	comma = strchr(v, ',');
	snprintf(num, sizeof(num), "%.*s", comma ? (int)(comma - v) : (int)strlen(v), v);
	if (sim_parse_u64(num, &dev->malformed_at) != IB_OK || dev->malformed_at == 0)
		goto bad;
	if (comma == NULL)
		return IB_OK;
	for (i = 0; i < IB_ARRAY_LEN(malformed_kinds); i++)
		if (strcmp(comma + 1, malformed_kinds[i]) == 0 ||
		    (comma[1] == (char)('1' + i) && comma[2] == '\0')) {
			dev->malformed_kind = (int)i + 1;
			return IB_OK;
		}
bad:
	ib_err_detail_set("knob malformed=%s: expected BYTES[,KIND] with KIND "
	    "short|magic|stream|protocol|flags|framing or 1-6", v);
	return IB_ERR_USAGE;
}

static int
parse_mux_knobs(struct ib_sim_dev *dev)
{
	uint64_t v;
	int r;

	if ((r = knob_num(dev, "window", 256, IB_MUX_STREAM_RXBUF, &v)) != IB_OK)
		return r;
	dev->window = (uint32_t)v;
	if ((r = knob_num(dev, "split", 0, 1, &v)) != IB_OK)
		return r;
	dev->split = (int)v;
	if ((r = knob_num(dev, "rst_port", 1, 65535, &v)) != IB_OK)
		return r;
	dev->rst_port = (uint16_t)v;
	if ((r = knob_num(dev, "unplug_after", 1, UINT64_MAX, &v)) != IB_OK)
		return r;
	dev->unplug_after = v;
	if ((r = knob_num(dev, "mux_version", 1, 2, &v)) != IB_OK)
		return r;
	dev->mux_version = (uint32_t)v;
	return parse_malformed(dev);
}

const char *
ib_sim_dev_knob(const struct ib_sim_dev *dev, const char *name)
{
	return sim_knob_value(dev->sim, dev->index + 1, name);
}

uint64_t
ib_sim_dev_knob_u64(const struct ib_sim_dev *dev, const char *name, uint64_t def)
{
	const char *s = ib_sim_dev_knob(dev, name);
	uint64_t v;

	return s != NULL && sim_parse_u64(s, &v) == IB_OK ? v : def;
}

/* --- services -------------------------------------------------------------- */

/* Under mu: join service threads that have finished. */
static void
reap_runs_locked(struct ib_sim_dev *dev)
{
	struct svc_run **pp = &dev->runs, *run;

	while ((run = *pp) != NULL) {
		if (!atomic_load(&run->done)) {
			pp = &run->next;
			continue;
		}
		*pp = run->next;
		pthread_join(run->th, NULL);
		free(run);
	}
}

static void *
svc_main(void *arg)
{
	struct svc_run *run = arg;

	pthread_setname_np(pthread_self(), "sim-service");
	run->fn(run->dev, run->fd, run->arg);
	close(run->fd);
	atomic_store(&run->done, 1);
	return NULL;
}

static struct service *
find_service_locked(struct ib_sim_dev *dev, uint16_t port)
{
	size_t i;

	for (i = 0; i < dev->nservices; i++)
		if (dev->services[i].port == port)
			return &dev->services[i];
	return NULL;
}

static void
remove_service_locked(struct ib_sim_dev *dev, struct service *svc)
{
	*svc = dev->services[--dev->nservices];
}

/* Runtime thread of an attach: a SYN for port. */
static int
on_incoming(void *ctx, uint16_t port, int fd, char *reason, size_t rsize)
{
	struct attach *a = ctx;
	struct ib_sim_dev *dev = a->dev;
	struct svc_run *run = NULL;
	struct service *svc;
	int r = IB_ERR_MUX_REFUSED;

	pthread_mutex_lock(&dev->mu);
	reap_runs_locked(dev);
	if (dev->rst_port != 0 && port == dev->rst_port) {
		snprintf(reason, rsize, "port %u refused (rst_port knob)", port);
		goto out;
	}
	if ((svc = find_service_locked(dev, port)) == NULL) {
		snprintf(reason, rsize, "nothing listens on port %u", port);
		goto out;
	}
	if ((run = calloc(1, sizeof(*run))) == NULL) {
		snprintf(reason, rsize, "out of memory");
		goto out;
	}
	run->dev = dev;
	run->fn = svc->fn;
	run->arg = svc->arg;
	run->fd = fd;
	if (pthread_create(&run->th, NULL, svc_main, run) != 0) {
		snprintf(reason, rsize, "cannot start a thread for port %u", port);
		free(run);
		goto out;
	}
	ib_debug("device %u: connection to %s (port %u)", dev->index + 1, svc->name, port);
	if (svc->dynamic && svc->left > 0 && --svc->left == 0)
		remove_service_locked(dev, svc);
	run->next = dev->runs;
	dev->runs = run;
	r = IB_OK;
out:
	pthread_mutex_unlock(&dev->mu);
	return r;
}

static int
add_service(struct ib_sim_dev *dev, uint16_t port, const char *name,
    ib_sim_service_fn fn, void *arg, unsigned count, uint16_t *portp)
{
	struct service *svc;
	unsigned tries;
	int r = IB_OK;

	if (fn == NULL)
		return IB_ERR_INVALID_ARG;
	pthread_mutex_lock(&dev->mu);
	if (dev->nservices >= SIM_SERVICES_MAX) {
		r = IB_ERR_BUSY;
		goto out;
	}
	if (portp != NULL) {
		for (tries = 0; tries < SIM_DYN_PORT_SPAN; tries++) {
			port = dev->next_dyn;
			dev->next_dyn = (uint16_t)(port == 65535 ? SIM_DYN_PORT_MIN : port + 1u);
			if (find_service_locked(dev, port) == NULL)
				break;
		}
	}
	if (port == 0 || find_service_locked(dev, port) != NULL) {
		r = IB_ERR_EXISTS;
		goto out;
	}
	svc = &dev->services[dev->nservices++];
	memset(svc, 0, sizeof(*svc));
	svc->port = port;
	snprintf(svc->name, sizeof(svc->name), "%s", name != NULL ? name : "service");
	svc->fn = fn;
	svc->arg = arg;
	svc->dynamic = portp != NULL;
	svc->left = count;
	if (portp != NULL)
		*portp = port;
out:
	pthread_mutex_unlock(&dev->mu);
	return r;
}

int
ib_sim_dev_listen(struct ib_sim_dev *dev, uint16_t port, const char *name,
    ib_sim_service_fn fn, void *arg)
{
	return add_service(dev, port, name, fn, arg, 0, NULL);
}

int
ib_sim_dev_listen_dynamic(struct ib_sim_dev *dev, const char *name,
    ib_sim_service_fn fn, void *arg, unsigned count, uint16_t *portp)
{
	return add_service(dev, 0, name, fn, arg, count, portp);
}

void
ib_sim_dev_unlisten(struct ib_sim_dev *dev, uint16_t port)
{
	struct service *svc;

	pthread_mutex_lock(&dev->mu);
	if ((svc = find_service_locked(dev, port)) != NULL)
		remove_service_locked(dev, svc);
	pthread_mutex_unlock(&dev->mu);
}

/* --- extension slots, controls ------------------------------------------- */

void
ib_sim_dev_set_ext(struct ib_sim_dev *dev, enum ib_sim_ext slot, void *p,
    void (*free_fn)(void *))
{
	void *old = NULL;
	void (*old_free)(void *) = NULL;

	if ((unsigned)slot >= IB_SIM_EXT_MAX)
		return;
	pthread_mutex_lock(&dev->mu);
	if (dev->ext[slot] != p) {
		old = dev->ext[slot];
		old_free = dev->ext_free[slot];
	}
	dev->ext[slot] = p;
	dev->ext_free[slot] = free_fn;
	pthread_mutex_unlock(&dev->mu);
	if (old != NULL && old_free != NULL)
		old_free(old);
}

void *
ib_sim_dev_get_ext(const struct ib_sim_dev *dev, enum ib_sim_ext slot)
{
	struct ib_sim_dev *d = (struct ib_sim_dev *)(uintptr_t)dev;
	void *p;

	if ((unsigned)slot >= IB_SIM_EXT_MAX)
		return NULL;
	pthread_mutex_lock(&d->mu);
	p = d->ext[slot];
	pthread_mutex_unlock(&d->mu);
	return p;
}

int
ib_sim_dev_on_control(struct ib_sim_dev *dev, const char *action,
    ib_sim_control_fn fn, void *ctx)
{
	size_t i;
	int r = IB_OK;

	if (action == NULL || fn == NULL || strlen(action) >= sizeof(dev->controls[0].action))
		return IB_ERR_INVALID_ARG;
	pthread_mutex_lock(&dev->mu);
	for (i = 0; i < dev->ncontrols && strcmp(dev->controls[i].action, action) != 0; i++)
		;
	if (i == dev->ncontrols && dev->ncontrols == SIM_CONTROLS_MAX)
		r = IB_ERR_BUSY;
	else {
		if (i == dev->ncontrols)
			dev->ncontrols++;
		snprintf(dev->controls[i].action, sizeof(dev->controls[i].action), "%s", action);
		dev->controls[i].fn = fn;
		dev->controls[i].ctx = ctx;
	}
	pthread_mutex_unlock(&dev->mu);
	return r;
}

int
ib_sim_dev_control(struct ib_sim_dev *dev, const char *action, const char *arg)
{
	ib_sim_control_fn fn = NULL;
	char known[256] = "";
	size_t i, o = 0;
	void *ctx = NULL;

	pthread_mutex_lock(&dev->mu);
	for (i = 0; i < dev->ncontrols; i++) {
		if (strcmp(dev->controls[i].action, action) == 0) {
			fn = dev->controls[i].fn;
			ctx = dev->controls[i].ctx;
		}
		if (o < sizeof(known))
			o += (size_t)snprintf(known + o, sizeof(known) - o, "%s%s",
			    i ? ", " : "", dev->controls[i].action);
	}
	pthread_mutex_unlock(&dev->mu);
	if (fn == NULL) {
		ib_err_detail_set("unknown action \"%.40s\" (known: %s)", action, known);
		return IB_ERR_USAGE;
	}
	ib_info("device %u: control %s%s%s", dev->index + 1, action, arg ? " " : "",
	    arg ? arg : "");
	return fn(dev, action, arg, ctx);
}

/* Built-in "say TEXT": every attached host gets a CONTROL info message. */
static int
ctl_say(struct ib_sim_dev *dev, const char *action, const char *arg, void *ctx)
{
	struct ib_mux_conn *conn;
	struct attach *a;

	(void)action;
	(void)ctx;
	pthread_mutex_lock(&dev->mu);
	for (a = dev->attaches; a != NULL; a = a->next)
		if ((conn = atomic_load(&a->conn)) != NULL)
			ib_mux_conn_send_control(conn, 7, arg != NULL ? arg : "");
	pthread_mutex_unlock(&dev->mu);
	return IB_OK;
}

static int
ctl_plug(struct ib_sim_dev *dev, const char *action, const char *arg, void *ctx)
{
	(void)arg;
	(void)ctx;
	return strcmp(action, "plug") == 0 ? ib_sim_dev_plug(dev) : ib_sim_dev_unplug(dev);
}

/* --- plug, unplug and attached hosts -------------------------------------- */

/* Under mu: take the attaches whose runtime is finished (all of them with
 * all = 1) off the list; the caller frees them without locks. */
static struct attach *
take_attaches_locked(struct ib_sim_dev *dev, int all)
{
	struct attach **pp = &dev->attaches, *a, *out = NULL;

	while ((a = *pp) != NULL) {
		if (!all && !atomic_load(&a->dead) && atomic_load(&a->conn) != NULL) {
			pp = &a->next;
			continue;
		}
		*pp = a->next;
		a->next = out;
		out = a;
	}
	return out;
}

static void
free_attaches(struct attach *a)
{
	struct attach *next;

	for (; a != NULL; a = next) {
		next = a->next;
		ib_mux_conn_free(atomic_load(&a->conn));
		free(a);
	}
}

int
ib_sim_dev_unplug(struct ib_sim_dev *dev)
{
	struct ib_mux_conn *conn;
	struct attach *a;
	int was;

	pthread_mutex_lock(&dev->sim->mu);
	pthread_mutex_lock(&dev->mu);
	was = dev->plugged;
	dev->plugged = 0;
	for (a = dev->attaches; a != NULL; a = a->next)
		if ((conn = atomic_load(&a->conn)) != NULL)
			ib_mux_conn_shutdown(conn, IB_ERR_NO_DEVICE);
	pthread_mutex_unlock(&dev->mu);
	if (was)
		sim_serve_notify(dev->sim->server, dev, 0);
	pthread_mutex_unlock(&dev->sim->mu);
	if (was)
		ib_info("device %u (%s) unplugged", dev->index + 1, dev->id.udid);
	return IB_OK;
}

int
ib_sim_dev_plug(struct ib_sim_dev *dev)
{
	struct attach *old = NULL;
	int was;

	pthread_mutex_lock(&dev->sim->mu);
	pthread_mutex_lock(&dev->mu);
	was = dev->plugged;
	if (!was) {
		dev->plugged = 1;
		atomic_store(&dev->plug_bytes, 0);
		atomic_store(&dev->unplug_fired, 0);
		/* Unplugging shut every runtime down: the device starts afresh. */
		old = take_attaches_locked(dev, 1);
	}
	pthread_mutex_unlock(&dev->mu);
	if (!was)
		sim_serve_notify(dev->sim->server, dev, 1);
	pthread_mutex_unlock(&dev->sim->mu);
	free_attaches(old);
	if (!was)
		ib_info("device %u (%s) plugged", dev->index + 1, dev->id.udid);
	return IB_OK;
}

int
ib_sim_dev_is_plugged(const struct ib_sim_dev *dev)
{
	struct ib_sim_dev *d = (struct ib_sim_dev *)(uintptr_t)dev;
	int p;

	pthread_mutex_lock(&d->mu);
	p = d->plugged;
	pthread_mutex_unlock(&d->mu);
	return p;
}

static void
on_dead(void *ctx, int err)
{
	struct attach *a = ctx;

	ib_debug("device %u: host link ended: %s", a->dev->index + 1, ib_strerror(err));
	atomic_store(&a->dead, 1);
}

/* Runtime thread: count traffic, fire the byte-triggered faults. */
static void
on_bytes(void *ctx, uint64_t n)
{
	struct attach *a = ctx;
	struct ib_sim_dev *dev = a->dev;
	struct ib_mux_conn *conn;
	uint64_t since_plug;

	atomic_fetch_add(&dev->bytes, n);
	since_plug = atomic_fetch_add(&dev->plug_bytes, n) + n;
	if (dev->unplug_after != 0 && since_plug >= dev->unplug_after &&
	    !atomic_exchange(&dev->unplug_fired, 1)) {
		ib_info("device %u: unplug_after=%llu reached", dev->index + 1,
		    (unsigned long long)dev->unplug_after);
		ib_sim_dev_unplug(dev);
	}
	if (dev->malformed_at != 0 && since_plug >= dev->malformed_at &&
	    (conn = atomic_load(&a->conn)) != NULL &&
	    !atomic_exchange(&a->malformed_sent, 1)) {
		ib_info("device %u: sending a malformed packet (%s)", dev->index + 1,
		    malformed_kinds[dev->malformed_kind - 1]);
		ib_mux_conn_inject_malformed(conn, dev->malformed_kind);
	}
}

int
ib_sim_dev_attach_link(struct ib_sim_dev *dev, struct ib_mux_link link)
{
	struct ib_mux_conn_cfg cfg;
	struct ib_mux_conn *conn = NULL;
	struct attach *a, *old, **pp;
	char name[IB_UDID_MAX + 16];
	unsigned n;
	int r;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		link.ops->free(link.impl);
		return IB_ERR_NOMEM;
	}
	a->dev = dev;
	pthread_mutex_lock(&dev->mu);
	if (!dev->plugged) {
		pthread_mutex_unlock(&dev->mu);
		free(a);
		link.ops->free(link.impl);
		return IB_ERR_NO_DEVICE;
	}
	old = take_attaches_locked(dev, 0);
	a->next = dev->attaches;
	dev->attaches = a;
	n = ++dev->nattach;
	pthread_mutex_unlock(&dev->mu);
	free_attaches(old);

	memset(&cfg, 0, sizeof(cfg));
	cfg.engine.role = IB_MUX_ROLE_DEVICE;
	cfg.engine.rx_window = dev->window;
	cfg.engine.max_version = dev->mux_version;
	cfg.engine.random_segments = dev->split;
	cfg.engine.seed = dev->sim->seed ^ (dev->index << 16) ^ n;
	if (dev->split)
		ib_mux_link_stream_set_random_writes(&link, cfg.engine.seed * 2654435761u + 1);
	snprintf(name, sizeof(name), "virtual %s", dev->id.udid);
	cfg.name = name;
	cfg.incoming = on_incoming;
	cfg.dead = on_dead;
	cfg.bytes = on_bytes;
	cfg.ctx = a;
	r = ib_mux_conn_new(&cfg, link, &conn);
	pthread_mutex_lock(&dev->mu);
	if (r != IB_OK) {
		for (pp = &dev->attaches; *pp != NULL; pp = &(*pp)->next)
			if (*pp == a) {
				*pp = a->next;
				break;
			}
		free(a);
	} else {
		atomic_store(&a->conn, conn);
		if (!dev->plugged)
			ib_mux_conn_shutdown(conn, IB_ERR_NO_DEVICE);
	}
	pthread_mutex_unlock(&dev->mu);
	return r;
}

uint64_t
ib_sim_dev_mux_bytes(const struct ib_sim_dev *dev)
{
	return atomic_load(&dev->bytes);
}

/* --- the device -------------------------------------------------------------- */

const struct ib_sim_identity *
ib_sim_dev_identity(const struct ib_sim_dev *dev)
{
	return &dev->id;
}

uint32_t
ib_sim_dev_random(struct ib_sim_dev *dev)
{
	uint32_t x;

	pthread_mutex_lock(&dev->mu);
	x = dev->rng;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	dev->rng = x;
	pthread_mutex_unlock(&dev->mu);
	return x;
}

void
sim_dev_devinfo(const struct ib_sim_dev *dev, struct ib_sim_devinfo *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->udid, sizeof(out->udid), "%s", dev->id.udid);
	snprintf(out->usb_serial, sizeof(out->usb_serial), "%s", dev->id.usb_serial);
	out->product_id = dev->id.product_id;
	out->location = dev->location;
	out->speed_bps = SIM_SPEED_BPS;
	snprintf(out->product_type, sizeof(out->product_type), "%s", dev->id.product_type);
	snprintf(out->product_version, sizeof(out->product_version), "%s",
	    dev->id.product_version);
	snprintf(out->build_version, sizeof(out->build_version), "%s", dev->id.build_version);
	snprintf(out->device_name, sizeof(out->device_name), "%s", dev->id.device_name);
}

int
sim_dev_new(struct ib_sim *sim, unsigned index, struct ib_sim_dev **devp)
{
	const struct ib_sim_layer *const *l;
	struct ib_sim_dev *dev;
	int r;

	*devp = NULL;
	if ((dev = calloc(1, sizeof(*dev))) == NULL)
		return IB_ERR_NOMEM;
	pthread_mutex_init(&dev->mu, NULL);
	dev->sim = sim;
	dev->index = index;
	dev->plugged = 1;
	sim_identity(sim->seed, index, &dev->id);
	dev->location = (1u << 16) | (index + 2);
	dev->rng = (uint32_t)(dev->id.ecid ^ (dev->id.ecid >> 32)) | 1u;
	dev->next_dyn = (uint16_t)(SIM_DYN_PORT_MIN + ib_sim_dev_random(dev) % 4096u);
	atomic_init(&dev->bytes, 0);
	atomic_init(&dev->plug_bytes, 0);
	atomic_init(&dev->unplug_fired, 0);
	if ((r = parse_mux_knobs(dev)) != IB_OK ||
	    (r = ib_sim_dev_on_control(dev, "unplug", ctl_plug, NULL)) != IB_OK ||
	    (r = ib_sim_dev_on_control(dev, "plug", ctl_plug, NULL)) != IB_OK ||
	    (r = ib_sim_dev_on_control(dev, "say", ctl_say, NULL)) != IB_OK)
		goto out;
	for (l = ib_sim_layers; *l != NULL; l++)
		if ((*l)->attach != NULL && (r = (*l)->attach(dev)) != IB_OK) {
			ib_debug("layer %s refused device %u: %s", (*l)->name, index + 1,
			    ib_strerror(r));
			goto out;
		}
	*devp = dev;
	dev = NULL;
	r = IB_OK;
out:
	sim_dev_free(dev);
	return r;
}

void
sim_dev_free(struct ib_sim_dev *dev)
{
	struct attach *all;
	struct svc_run *run;
	unsigned i;

	if (dev == NULL)
		return;
	pthread_mutex_lock(&dev->mu);
	dev->plugged = 0;
	all = take_attaches_locked(dev, 1);
	pthread_mutex_unlock(&dev->mu);
	/* Freeing the runtimes closes their stream sockets: services read
	 * EOF and return. */
	free_attaches(all);
	while ((run = dev->runs) != NULL) {
		dev->runs = run->next;
		pthread_join(run->th, NULL);
		free(run);
	}
	for (i = 0; i < IB_SIM_EXT_MAX; i++)
		if (dev->ext[i] != NULL && dev->ext_free[i] != NULL)
			dev->ext_free[i](dev->ext[i]);
	pthread_mutex_destroy(&dev->mu);
	free(dev);
}
