/*
 * sim_lockdownd.c - the virtual device's lockdownd: the device-side
 * engine (lockdown/ld_device.h) bound to port 62078 of a virtual device,
 * its knobs and control actions, and the service registry other
 * device-side layers use (sim_lockdownd.h).
 */
#include "sim_lockdownd.h"

#include "ib_err.h"
#include "ib_lockdown.h"
#include "ib_log.h"
#include "ld_device.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* One registered service: the sim-side handler behind the engine's. */
struct glue_svc {
	ib_sim_lockdownd_service_fn fn;
	void *arg;
	struct glue_svc *next;
};

struct sim_ld {
	struct ib_sim_dev *dev;
	struct ld_device *ld;
	pthread_mutex_t mu;             /* guards svcs */
	struct glue_svc *svcs;
};

static const char *const actions[] = {
	"trust", "deny", "unlock", "lock", "reset-privacy",
};

static void
register_knobs(void)
{
	ib_sim_knob_register("trust",
	    "accept|pending:N|pending_s:T|deny|manual: Trust dialog: "
	    "pending for N Pairs/T s then accepted; deny after one; "
	    "manual: control trust|deny");
	ib_sim_knob_register("trust_reset",
	    "1: drop the lockdown connection once when the user accepts "
	    "Trust, as iOS 7+ may (the host must reconnect)");
	ib_sim_knob_register("locked",
	    "1: device locked: Pair and StartService answer "
	    "PasswordProtected until control unlock (or unlock_file exists)");
	ib_sim_knob_register("unlock_file",
	    "PATH: unlock the device once PATH exists");
	ib_sim_knob_register("forget_pairings",
	    "hostid|tls: what control reset-privacy does: forget all hosts "
	    "(InvalidHostID, default) or refuse their TLS certificates");
	ib_sim_knob_register("ios",
	    "6.1|12.5|17.5|18.2: iOS profile: versions, TLS (1.0 only for "
	    "6.1, 1.2+ from 10), ValidatePair below 7, EnableServiceSSL "
	    "from 13");
	ib_sim_knob_register("idle_timeout",
	    "N: drop a lockdown connection idle for N seconds (real "
	    "devices: about 30; default off)");
}

static struct sim_ld *
sim_ld_of(struct ib_sim_dev *dev)
{
	return dev != NULL ? ib_sim_dev_get_ext(dev, IB_SIM_EXT_LOCKDOWN) : NULL;
}

static void
sim_ld_free(void *p)
{
	struct sim_ld *s = p;

	if (s == NULL)
		return;
	ld_device_free(s->ld);
	while (s->svcs != NULL) {
		struct glue_svc *g = s->svcs;

		s->svcs = g->next;
		free(g);
	}
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* --- the framework seen by the engine ------------------------------------ */

static void
serve_lockdownd(struct ib_sim_dev *dev, int fd, void *arg)
{
	(void)dev;
	ld_device_serve(arg, fd);
}

static void
accept_service(struct ib_sim_dev *dev, int fd, void *token)
{
	(void)dev;
	ld_device_accept(token, fd);
}

static int
listen_once(void *ctx, const char *name, void *token, uint16_t *portp)
{
	return ib_sim_dev_listen_dynamic(ctx, name, accept_service, token, 1, portp);
}

static int
control(struct ib_sim_dev *dev, const char *action, const char *arg, void *ctx)
{
	(void)dev;
	(void)arg;
	return ld_device_control(((struct sim_ld *)ctx)->ld, action);
}

/* --- knobs -> configuration ------------------------------------------------- */

static int
config_of(struct ib_sim_dev *dev, struct ld_device_config *cfg)
{
	const struct ib_sim_identity *id = ib_sim_dev_identity(dev);
	const char *v;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	cfg->udid = id->udid;
	cfg->product_type = id->product_type;
	cfg->product_version = id->product_version;
	cfg->build_version = id->build_version;
	cfg->device_name = id->device_name;
	cfg->serial_number = id->serial_number;
	cfg->device_class = id->device_class;
	cfg->wifi_address = id->wifi_address;
	cfg->ecid = id->ecid;
	if ((v = ib_sim_dev_knob(dev, "ios")) != NULL &&
	    (r = ld_device_profile(v, cfg)) != IB_OK)
		return r;
	if ((r = ld_device_parse_trust(ib_sim_dev_knob(dev, "trust"), cfg)) != IB_OK)
		return r;
	cfg->trust_reset = ib_sim_dev_knob_u64(dev, "trust_reset", 0) != 0;
	cfg->locked = ib_sim_dev_knob_u64(dev, "locked", 0) != 0;
	cfg->unlock_file = ib_sim_dev_knob(dev, "unlock_file");
	v = ib_sim_dev_knob(dev, "forget_pairings");
	if (v == NULL || strcmp(v, "hostid") == 0) {
		cfg->forget = LD_FORGET_HOSTID;
	} else if (strcmp(v, "tls") == 0) {
		cfg->forget = LD_FORGET_TLS;
	} else {
		ib_err_detail_set("forget_pairings=%s: use hostid or tls", v);
		return IB_ERR_USAGE;
	}
	cfg->idle_timeout_s = (unsigned)ib_sim_dev_knob_u64(dev, "idle_timeout", 0);
	return IB_OK;
}

static int
attach(struct ib_sim_dev *dev)
{
	struct ld_device_config cfg;
	struct ld_device_ops ops;
	struct sim_ld *s;
	size_t i;
	int r;

	if ((r = config_of(dev, &cfg)) != IB_OK)
		return r;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return IB_ERR_NOMEM;
	pthread_mutex_init(&s->mu, NULL);
	s->dev = dev;
	ops.listen_once = listen_once;
	ops.ctx = dev;
	if ((r = ld_device_new(&cfg, &ops, &s->ld)) != IB_OK) {
		sim_ld_free(s);
		return r;
	}
	/* From here the device owns s. */
	ib_sim_dev_set_ext(dev, IB_SIM_EXT_LOCKDOWN, s, sim_ld_free);
	if ((r = ib_sim_dev_listen(dev, IB_LOCKDOWN_PORT, "lockdownd", serve_lockdownd,
	    s->ld)) != IB_OK)
		return r;
	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if ((r = ib_sim_dev_on_control(dev, actions[i], control, s)) != IB_OK)
			return r;
	return IB_OK;
}

const struct ib_sim_layer ib_sim_layer_lockdown = {
	"lockdown",
	register_knobs,
	attach,
};

/* --- the API of sim_lockdownd.h ----------------------------------------- */

static void
run_service(void *owner, struct ib_conn *conn, const struct ld_service_start *st,
    void *arg)
{
	struct sim_ld *s = owner;
	struct glue_svc *g = arg;
	struct ib_sim_service_start sst;

	memset(&sst, 0, sizeof(sst));
	sst.service = st->service;
	sst.host_id = st->host_id;
	sst.escrow_bag_ok = st->escrow_bag_ok;
	sst.tls = st->tls;
	sst.ios_major = st->ios_major;
	sst.ios_minor = st->ios_minor;
	g->fn(s->dev, conn, &sst, g->arg);
}

int
ib_sim_lockdownd_add_service_ex(struct ib_sim_dev *dev, const char *name,
    ib_sim_lockdownd_service_fn fn, void *arg, unsigned flags)
{
	struct sim_ld *s = sim_ld_of(dev);
	struct glue_svc *g;
	unsigned f = 0;
	int r;

	if (s == NULL)
		return IB_ERR_STATE;
	if (name == NULL || fn == NULL)
		return IB_ERR_INVALID_ARG;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return IB_ERR_NOMEM;
	g->fn = fn;
	g->arg = arg;
	if (flags & IB_SIM_SERVICE_NO_SESSION)
		f |= LD_SERVICE_NO_SESSION;
	if (flags & IB_SIM_SERVICE_NO_SSL)
		f |= LD_SERVICE_NO_SSL;
	if ((r = ld_device_add_service(s->ld, name, run_service, s, g, f)) != IB_OK) {
		free(g);
		return r;
	}
	/* Kept until the device goes: a replaced registration's glue may
	 * still serve a connection already started. */
	pthread_mutex_lock(&s->mu);
	g->next = s->svcs;
	s->svcs = g;
	pthread_mutex_unlock(&s->mu);
	return IB_OK;
}

int
ib_sim_lockdownd_add_service(struct ib_sim_dev *dev, const char *name,
    ib_sim_lockdownd_service_fn fn, void *arg)
{
	unsigned flags = 0;

	/* usbmuxd's preflight starts it unpaired (lockdown.md section 3). */
	if (name != NULL &&
	    strcmp(name, "com.apple.mobile.insecure_notification_proxy") == 0)
		flags |= IB_SIM_SERVICE_NO_SESSION;
	return ib_sim_lockdownd_add_service_ex(dev, name, fn, arg, flags);
}

int
ib_sim_lockdownd_set_value(struct ib_sim_dev *dev, const char *domain,
    const char *key, plist_t value)
{
	struct sim_ld *s = sim_ld_of(dev);

	return s != NULL ? ld_device_set_value(s->ld, domain, key, value) : IB_ERR_STATE;
}

int
ib_sim_lockdownd_get_value(struct ib_sim_dev *dev, const char *domain,
    const char *key, plist_t *valuep)
{
	struct sim_ld *s = sim_ld_of(dev);

	*valuep = NULL;
	return s != NULL ? ld_device_get_value(s->ld, domain, key, valuep) : IB_ERR_STATE;
}

int
ib_sim_lockdownd_is_locked(struct ib_sim_dev *dev)
{
	struct sim_ld *s = sim_ld_of(dev);

	return s != NULL && ld_device_is_locked(s->ld);
}

unsigned
ib_sim_lockdownd_pairings(struct ib_sim_dev *dev)
{
	struct sim_ld *s = sim_ld_of(dev);

	return s != NULL ? ld_device_pairings(s->ld) : 0;
}
