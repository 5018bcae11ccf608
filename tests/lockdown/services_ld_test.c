/*
 * Integration of the three services with lockdown: a paired host starts
 * each service through the device-side lockdownd (ld_device, over the
 * lockdown tests' socketpair network), gets a TLS connection when the
 * device profile asks for one (iOS 13+) and a plain one before, and
 * runs the backup's exchanges: the sync lock with its notifications, a
 * relayed device notification, and the app list.
 */
#include "afc.h"
#include "ib_lockdown.h"
#include "ib_test.h"
#include "instproxy.h"
#include "ld_testnet.h"
#include "np.h"
#include "services_peer.h"
#include "sim_services_int.h"

#include <stdlib.h>
#include <string.h>

static void
np_svc(void *owner, struct ib_conn *conn, const struct ld_service_start *st, void *arg)
{
	(void)owner;
	(void)st;
	sim_services_serve_np(arg, conn);
}

static void
afc_svc(void *owner, struct ib_conn *conn, const struct ld_service_start *st, void *arg)
{
	(void)owner;
	(void)st;
	sim_services_serve_afc(arg, conn);
}

static void
instproxy_svc(void *owner, struct ib_conn *conn, const struct ld_service_start *st,
    void *arg)
{
	(void)owner;
	(void)st;
	sim_services_serve_instproxy(arg, conn);
}

/* A paired virtual device of the given iOS with the services added. */
static int
device(const char *ios, struct sim_services *S, struct tdev **tp)
{
	struct ld_device_config cfg;
	struct tdev *t;
	int r;

	tdev_config(&cfg, ios, "accept");
	if ((r = tdev_new(&cfg, &t)) != IB_OK)
		return r;
	if ((r = ld_device_add_service(t->dev, IB_NP_SERVICE, np_svc, NULL, S, 0)) != IB_OK ||
	    (r = ld_device_add_service(t->dev, IB_AFC_SERVICE, afc_svc, NULL, S, 0)) != IB_OK ||
	    (r = ld_device_add_service(t->dev, IB_INSTPROXY_SERVICE, instproxy_svc, NULL, S,
	    0)) != IB_OK ||
	    (r = tdev_pair(t)) != IB_OK) {
		tdev_free(t);
		return r;
	}
	*tp = t;
	return IB_OK;
}

/* Post one notification on a short connection of its own (what
 * idevicebackup2 does for each post). */
struct poster {
	struct ib_lockdown *ld;
	unsigned posts;
};

static int
post(struct poster *p, const char *name)
{
	struct ib_conn *conn;
	struct ib_np *np;
	int r;

	if ((r = ib_lockdown_start_service(p->ld, IB_NP_SERVICE, 0, &conn)) != IB_OK ||
	    (r = ib_np_new(conn, &np)) != IB_OK)
		return r;
	if ((r = ib_np_post(np, name)) == IB_OK)
		r = ib_np_shutdown(np, 5000);
	ib_np_free(np);
	p->posts++;
	return r;
}

static int
post_lock_request(void *arg)
{
	return post(arg, IB_NP_SYNC_LOCK_REQUEST);
}

struct posted_wait {
	struct sim_np *np;
	const char *name;
};

static int
was_posted(void *arg)
{
	struct posted_wait *w = arg;

	return sim_np_posted(w->np, w->name) == 1;
}

static void
backup_prologue(const char *ios, int want_tls)
{
	static const char *const watch[] = { IB_NP_SYNC_CANCEL_REQUEST, IB_NP_LA_UI_PRESENTED,
		NULL };
	static const char *const attrs[] = { "CFBundleIdentifier", "ApplicationSINF",
		"iTunesMetadata", NULL };
	struct sim_services_cfg cfg = { .apps = 12, .instproxy_total = 1,
		.afc = { .lock_busy = 2 } };
	struct posted_wait pw;
	struct sim_services *S;
	struct ib_lockdown *ld;
	struct ib_conn *conn;
	struct poster poster;
	struct ib_np *watcher;
	struct ib_afc *afc;
	struct tdev *t;
	unsigned tries;
	uint64_t lock;
	char *name;
	plist_t apps;

	IB_CHECK_OK(sim_services_new(&cfg, &S));
	IB_CHECK_OK(device(ios, S, &t));
	IB_CHECK_OK(tdev_session(t, &ld));
	poster.ld = ld;
	poster.posts = 0;

	/* The apps for Info.plist. */
	IB_CHECK_OK(ib_lockdown_start_service(ld, IB_INSTPROXY_SERVICE, 0, &conn));
	IB_CHECK_EQ(ib_conn_tls_active(conn), want_tls);
	IB_CHECK_OK(ib_instproxy_browse(conn, "User", attrs, 5000, &apps));
	IB_CHECK_EQ(plist_dict_get_size(apps), 12);
	plist_free(apps);
	ib_conn_free(conn);

	/* One long-lived connection observes. */
	IB_CHECK_OK(ib_lockdown_start_service(ld, IB_NP_SERVICE, 0, &conn));
	IB_CHECK_EQ(ib_conn_tls_active(conn), want_tls);
	IB_CHECK_OK(ib_np_new(conn, &watcher));
	IB_CHECK_OK(ib_np_observe_all(watcher, watch));

	/* The sync lock, with each post on its own connection. */
	IB_CHECK_OK(ib_lockdown_start_service(ld, IB_AFC_SERVICE, 0, &conn));
	IB_CHECK_EQ(ib_conn_tls_active(conn), want_tls);
	IB_CHECK_OK(ib_afc_new(conn, &afc));
	IB_CHECK_OK(post(&poster, IB_NP_SYNC_WILL_START));
	IB_CHECK_OK(ib_afc_sync_lock_ex(afc, IB_AFC_LOCK_ATTEMPTS, 5, post_lock_request,
	    &poster, &lock, &tries));
	IB_CHECK_EQ(tries, 3);
	IB_CHECK_OK(post(&poster, IB_NP_SYNC_DID_START));
	IB_CHECK(sim_afc_locked_ex(sim_services_afc(S), IB_AFC_SYNC_LOCK_PATH));

	/* The user cancels on the device; the watcher hears it (over TLS
	 * from iOS 13 on). */
	pw = (struct posted_wait){ sim_services_np(S), IB_NP_SYNC_DID_START };
	IB_CHECK(peer_wait_for(was_posted, &pw, 5000));
	IB_CHECK_EQ(sim_np_observers(sim_services_np(S), IB_NP_SYNC_CANCEL_REQUEST), 1);
	IB_CHECK_EQ(sim_np_post(sim_services_np(S), IB_NP_SYNC_CANCEL_REQUEST, 0), 1);
	IB_CHECK_OK(ib_np_wait(watcher, 5000, &name));
	IB_CHECK_STR(name, IB_NP_SYNC_CANCEL_REQUEST);
	free(name);

	IB_CHECK_OK(ib_afc_sync_unlock(afc, lock));
	IB_CHECK(!sim_afc_locked_ex(sim_services_afc(S), IB_AFC_SYNC_LOCK_PATH));
	IB_CHECK_OK(post(&poster, IB_NP_SYNC_DID_FINISH));
	IB_CHECK_EQ(poster.posts, 4);
	pw.name = IB_NP_SYNC_WILL_START;
	IB_CHECK(peer_wait_for(was_posted, &pw, 5000));
	pw.name = IB_NP_SYNC_LOCK_REQUEST;
	IB_CHECK(peer_wait_for(was_posted, &pw, 5000));
	pw.name = IB_NP_SYNC_DID_FINISH;
	IB_CHECK(peer_wait_for(was_posted, &pw, 5000));
	IB_CHECK_OK(ib_np_shutdown(watcher, 5000));
	ib_np_free(watcher);
	ib_afc_free(afc);
	ib_lockdown_close(ld);
	tdev_free(t);
	sim_services_free(S);
}

IB_TEST(services_over_tls_ios17)
{
	backup_prologue("17.5", 1);
}

IB_TEST(services_in_plaintext_ios12)
{
	backup_prologue("12.5", 0);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
