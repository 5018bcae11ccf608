/*
 * sim_services.c - the services layer of the virtual device: knobs,
 * registration with the virtual lockdownd, control actions, and the
 * device-side API of sim_services.h.
 */
#include "sim_services.h"
#include "sim_services_int.h"
#include "afc.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_util.h"
#include "instproxy.h"
#include "np.h"
#include "sim_lockdownd.h"

#include <string.h>

/* Apps the sim lists by default (knob apps). */
#define SIM_APPS_DEFAULT 5u

static void
register_knobs(void)
{
	ib_sim_knob_register("apps", "installation_proxy lists N user apps (default 5)");
	ib_sim_knob_register("instproxy_total",
	    "0: Browse pages carry no Total, as on a real installd (default 1)");
	ib_sim_knob_register("afc_lock_busy",
	    "the first N AFC FileLock attempts answer OP_WOULD_BLOCK (sync lock taken)");
	ib_sim_knob_register("afc_lock_held",
	    "1: every AFC FileLock attempt answers OP_WOULD_BLOCK (lock never free)");
}

static void
np_handler(struct ib_sim_dev *dev, struct ib_conn *conn,
    const struct ib_sim_service_start *st, void *arg)
{
	(void)dev;
	(void)st;
	sim_services_serve_np(arg, conn);
}

static void
afc_handler(struct ib_sim_dev *dev, struct ib_conn *conn,
    const struct ib_sim_service_start *st, void *arg)
{
	(void)dev;
	(void)st;
	sim_services_serve_afc(arg, conn);
}

static void
instproxy_handler(struct ib_sim_dev *dev, struct ib_conn *conn,
    const struct ib_sim_service_start *st, void *arg)
{
	(void)dev;
	(void)st;
	sim_services_serve_instproxy(arg, conn);
}

static int
control_post(struct ib_sim_dev *dev, const char *action, const char *arg, void *ctx)
{
	int r;

	(void)dev;
	(void)action;
	if (arg == NULL || arg[0] == '\0' || strlen(arg) > IB_NP_NAME_MAX)
		return IB_ERR_INVALID_ARG;
	r = sim_np_post(sim_services_np(ctx), arg, 0);
	return r < 0 ? r : IB_OK;
}

static void
free_ext(void *p)
{
	sim_services_free(p);
}

static int
attach(struct ib_sim_dev *dev)
{
	struct sim_services_cfg cfg = { 0 };
	struct sim_services *S;
	int r;

	cfg.apps = (unsigned)IB_MIN(ib_sim_dev_knob_u64(dev, "apps", SIM_APPS_DEFAULT),
	    (uint64_t)IB_INSTPROXY_APPS_MAX);
	cfg.instproxy_total = ib_sim_dev_knob_u64(dev, "instproxy_total", 1) != 0;
	cfg.afc.lock_busy = ib_sim_dev_knob_u64(dev, "afc_lock_busy", 0);
	cfg.afc.lock_held = ib_sim_dev_knob_u64(dev, "afc_lock_held", 0) != 0;
	if ((r = sim_services_new(&cfg, &S)) != IB_OK)
		return r;
	ib_sim_dev_set_ext(dev, IB_SIM_EXT_SERVICES, S, free_ext);
	if ((r = ib_sim_lockdownd_add_service(dev, IB_NP_SERVICE, np_handler, S)) != IB_OK ||
	    (r = ib_sim_lockdownd_add_service(dev, IB_NP_SERVICE_INSECURE, np_handler, S)) != IB_OK ||
	    (r = ib_sim_lockdownd_add_service(dev, IB_AFC_SERVICE, afc_handler, S)) != IB_OK ||
	    (r = ib_sim_lockdownd_add_service(dev, IB_INSTPROXY_SERVICE, instproxy_handler,
	    S)) != IB_OK)
		return r;
	return ib_sim_dev_on_control(dev, "post", control_post, S);
}

const struct ib_sim_layer ib_sim_layer_services = {
	.name = "services",
	.register_knobs = register_knobs,
	.attach = attach,
};

static struct sim_services *
dev_services(struct ib_sim_dev *dev)
{
	return dev != NULL ? ib_sim_dev_get_ext(dev, IB_SIM_EXT_SERVICES) : NULL;
}

int
ib_sim_services_post(struct ib_sim_dev *dev, const char *name)
{
	struct sim_services *S = dev_services(dev);

	if (S == NULL)
		return IB_ERR_STATE;
	if (name == NULL || name[0] == '\0' || strlen(name) > IB_NP_NAME_MAX)
		return IB_ERR_INVALID_ARG;
	return sim_np_post(sim_services_np(S), name, 0);
}

unsigned
ib_sim_services_posted(struct ib_sim_dev *dev, const char *name)
{
	struct sim_services *S = dev_services(dev);

	return S != NULL ? sim_np_posted(sim_services_np(S), name) : 0;
}

unsigned
ib_sim_services_observers(struct ib_sim_dev *dev, const char *name)
{
	struct sim_services *S = dev_services(dev);

	return S != NULL ? sim_np_observers(sim_services_np(S), name) : 0;
}

int
ib_sim_services_afc_put(struct ib_sim_dev *dev, const char *path, const void *p, size_t n)
{
	struct sim_services *S = dev_services(dev);

	return S != NULL ? sim_afc_put(sim_services_afc(S), path, p, n) : IB_ERR_STATE;
}

int
ib_sim_services_afc_get(struct ib_sim_dev *dev, const char *path, uint8_t **datap,
    size_t *lenp)
{
	struct sim_services *S = dev_services(dev);

	*datap = NULL;
	*lenp = 0;
	return S != NULL ? sim_afc_get(sim_services_afc(S), path, datap, lenp) : IB_ERR_STATE;
}

int
ib_sim_services_afc_exists(struct ib_sim_dev *dev, const char *path)
{
	struct sim_services *S = dev_services(dev);

	return S != NULL && sim_afc_exists(sim_services_afc(S), path);
}

int
ib_sim_services_sync_locked(struct ib_sim_dev *dev)
{
	struct sim_services *S = dev_services(dev);

	return S != NULL && sim_afc_locked_ex(sim_services_afc(S), IB_AFC_SYNC_LOCK_PATH);
}

uint64_t
ib_sim_services_afc_lock_attempts(struct ib_sim_dev *dev)
{
	struct sim_services *S = dev_services(dev);

	return S != NULL ? sim_afc_lock_attempts(sim_services_afc(S)) : 0;
}

int
ib_sim_services_apps(struct ib_sim_dev *dev, plist_t *appsp)
{
	struct sim_services *S = dev_services(dev);

	*appsp = NULL;
	if (S == NULL)
		return IB_ERR_STATE;
	return (*appsp = plist_copy(sim_services_apps(S))) != NULL ? IB_OK : IB_ERR_NOMEM;
}
