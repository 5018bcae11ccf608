/*
 * sim_services_test.c - the services end to end: ibackup's clients
 * through ib_usbmux (transport sim:PATH) and the virtual device's
 * lockdownd to its notification_proxy, AFC and installation_proxy, with
 * the services layer's knobs, control action and device-side API.
 */
#include "ib_test.h"

#include "afc.h"
#include "ib_lockdown.h"
#include "ib_sim.h"
#include "ib_usbmux.h"
#include "ib_util.h"
#include "instproxy.h"
#include "np.h"
#include "sim_services.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct env {
	char dir[64];
	char sock[128];
	char records[128];
	char spec[160];
	struct ib_sim *sim;
	struct ib_usbmux *mux;
	struct ib_sim_dev *dev;
	const char *udid;
	struct ib_lockdown *ld;
};

static struct ib_lockdown_opts
opts(void)
{
	struct ib_lockdown_opts o;

	memset(&o, 0, sizeof(o));
	o.timeout_ms = 60000;       /* ASan on a shared machine */
	o.pair_timeout_ms = 60000;
	return o;
}

/* A simulator with knobs, an ib_usbmux on it, and a lockdown session. */
static int
env_start(struct env *e, const char *const *knobs)
{
	struct ib_lockdown_opts lo = opts();
	struct ib_usbmux_opts o;
	struct ib_device d;
	int r;

	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/ib-svc-sim-XXXXXX");
	if (mkdtemp(e->dir) == NULL)
		return IB_ERR_SYSTEM;
	snprintf(e->sock, sizeof(e->sock), "%s/sock", e->dir);
	snprintf(e->records, sizeof(e->records), "%s/records", e->dir);
	if ((r = ib_sim_new(1, knobs, 11, &e->sim)) != IB_OK ||
	    (r = ib_sim_serve(e->sim, e->sock)) != IB_OK)
		return r;
	memset(&o, 0, sizeof(o));
	snprintf(e->spec, sizeof(e->spec), "sim:%s", e->sock);
	o.transport = e->spec;
	o.pair_record_dir = e->records;
	if ((r = ib_usbmux_new(&o, &e->mux)) != IB_OK ||
	    (r = ib_usbmux_wait(e->mux, NULL, 20000, &d)) != IB_OK)
		return r;
	e->dev = ib_sim_get(e->sim, 0);
	e->udid = ib_sim_dev_identity(e->dev)->udid;
	return ib_lockdown_session_open(e->mux, e->udid, &lo, NULL, NULL, &e->ld);
}

static void
env_stop(struct env *e)
{
	char cmd[256];

	ib_lockdown_close(e->ld);
	ib_usbmux_free(e->mux);
	ib_sim_free(e->sim);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	if (e->dir[0] != '\0' && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", e->dir);
}

static int
post(struct env *e, const char *name)
{
	struct ib_conn *conn;
	struct ib_np *np;
	int r;

	if ((r = ib_lockdown_start_service(e->ld, IB_NP_SERVICE, 0, &conn)) != IB_OK ||
	    (r = ib_np_new(conn, &np)) != IB_OK)
		return r;
	if ((r = ib_np_post(np, name)) == IB_OK)
		r = ib_np_shutdown(np, 30000);
	ib_np_free(np);
	return r;
}

static int
post_lock_request(void *arg)
{
	return post(arg, IB_NP_SYNC_LOCK_REQUEST);
}

/* Poll cond for up to ms. */
static int
eventually(int (*cond)(struct env *e, const char *s), struct env *e, const char *s,
    unsigned ms)
{
	uint64_t end = ib_now_ms() + ms;

	while (!cond(e, s) && ib_now_ms() < end)
		ib_sleep_ms(2);
	return cond(e, s);
}

static int
observed(struct env *e, const char *name)
{
	return ib_sim_services_observers(e->dev, name) == 1;
}

static int
posted(struct env *e, const char *name)
{
	return ib_sim_services_posted(e->dev, name) == 1;
}

static int
unlocked(struct env *e, const char *unused)
{
	(void)unused;
	return !ib_sim_services_sync_locked(e->dev);
}

IB_TEST(sim_services_backup_prologue)
{
	static const char *const knobs[] = { "apps=7", "afc_lock_busy=2", NULL };
	static const char *const attrs[] = { "CFBundleIdentifier", "ApplicationSINF",
		"iTunesMetadata", NULL };
	struct env e;
	struct ib_conn *conn;
	struct ib_np *watcher;
	struct ib_afc *afc;
	unsigned tries;
	uint64_t lock;
	char *name;
	plist_t apps;

	IB_CHECK_OK(env_start(&e, knobs));
	IB_CHECK_OK(ib_lockdown_start_service(e.ld, IB_INSTPROXY_SERVICE, 0, &conn));
	IB_CHECK(ib_conn_tls_active(conn));
	IB_CHECK_OK(ib_instproxy_browse(conn, "User", attrs, 60000, &apps));
	IB_CHECK_EQ(plist_dict_get_size(apps), 7);
	IB_CHECK(plist_dict_get_item(apps, "com.example.podcasts") != NULL);
	plist_free(apps);
	ib_conn_free(conn);

	IB_CHECK_OK(ib_lockdown_start_service(e.ld, IB_NP_SERVICE, 0, &conn));
	IB_CHECK_OK(ib_np_new(conn, &watcher));
	IB_CHECK_OK(ib_np_observe(watcher, IB_NP_LA_UI_PRESENTED));
	IB_CHECK(eventually(observed, &e, IB_NP_LA_UI_PRESENTED, 30000));

	IB_CHECK_OK(ib_lockdown_start_service(e.ld, IB_AFC_SERVICE, 0, &conn));
	IB_CHECK_OK(ib_afc_new(conn, &afc));
	IB_CHECK_OK(post(&e, IB_NP_SYNC_WILL_START));
	IB_CHECK_OK(ib_afc_sync_lock_ex(afc, IB_AFC_LOCK_ATTEMPTS, 5, post_lock_request, &e,
	    &lock, &tries));
	IB_CHECK_EQ(tries, 3);
	IB_CHECK_EQ(ib_sim_services_afc_lock_attempts(e.dev), 3);
	IB_CHECK(ib_sim_services_sync_locked(e.dev));
	IB_CHECK_OK(post(&e, IB_NP_SYNC_DID_START));
	IB_CHECK(eventually(posted, &e, IB_NP_SYNC_WILL_START, 30000));
	IB_CHECK(eventually(posted, &e, IB_NP_SYNC_LOCK_REQUEST, 30000));
	IB_CHECK(eventually(posted, &e, IB_NP_SYNC_DID_START, 30000));

	/* The passcode prompt shows on the device (control action). */
	IB_CHECK_OK(ib_sim_dev_control(e.dev, "post", IB_NP_LA_UI_PRESENTED));
	IB_CHECK_OK(ib_np_wait(watcher, 30000, &name));
	IB_CHECK_STR(name, IB_NP_LA_UI_PRESENTED);
	free(name);

	/* The holder's connection drops: the device frees the lock. */
	ib_afc_free(afc);
	IB_CHECK(eventually(unlocked, &e, NULL, 30000));
	IB_CHECK_OK(ib_np_shutdown(watcher, 30000));
	ib_np_free(watcher);
	env_stop(&e);
}

IB_TEST(sim_services_restore_file_and_held_lock)
{
	static const char *const knobs[] = { "afc_lock_held=1", NULL };
	static const char path[] = "/iTunesRestore/RestoreApplications.plist";
	static const char body[] = "<plist><dict/></plist>";
	struct env e;
	struct ib_conn *conn;
	struct ib_afc *afc;
	unsigned tries;
	uint64_t h;
	uint8_t *data;
	size_t len;

	IB_CHECK_OK(env_start(&e, knobs));
	IB_CHECK_OK(ib_lockdown_start_service(e.ld, IB_AFC_SERVICE, 0, &conn));
	IB_CHECK_OK(ib_afc_new(conn, &afc));
	IB_CHECK_ERR(ib_afc_sync_lock_ex(afc, 4, 1, NULL, NULL, &h, &tries),
	    IB_ERR_AFC_LOCK_TIMEOUT);
	IB_CHECK_EQ(tries, 4);
	IB_CHECK_OK(ib_afc_make_dir(afc, "/iTunesRestore"));
	IB_CHECK_OK(ib_afc_file_open(afc, path, IB_AFC_FOPEN_WRONLY, &h));
	IB_CHECK_OK(ib_afc_file_write(afc, h, body, sizeof(body) - 1));
	IB_CHECK_OK(ib_afc_file_close(afc, h));
	IB_CHECK_OK(ib_sim_services_afc_get(e.dev, path, &data, &len));
	IB_CHECK_EQ(len, sizeof(body) - 1);
	IB_CHECK(memcmp(data, body, len) == 0);
	free(data);
	IB_CHECK_OK(ib_afc_remove_path(afc, path));
	IB_CHECK_OK(ib_afc_remove_path(afc, "/iTunesRestore"));
	IB_CHECK(!ib_sim_services_afc_exists(e.dev, "/iTunesRestore"));
	/* What the device puts there, the host reads. */
	IB_CHECK_OK(ib_sim_services_afc_put(e.dev, "/Books/iBooksData2.plist", "books", 5));
	IB_CHECK_OK(ib_afc_file_open(afc, "/Books/iBooksData2.plist", IB_AFC_FOPEN_RDONLY, &h));
	ib_afc_free(afc);
	env_stop(&e);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
