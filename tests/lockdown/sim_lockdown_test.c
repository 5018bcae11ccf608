/*
 * sim_lockdown_test.c - the lockdown layer end to end: ibackup's client
 * through ib_usbmux (transport sim:PATH, its own mux) to the virtual
 * device's lockdownd, with the pair record in a directory store.
 * Checks pairing with the Trust dialog and a connection reset, the
 * stored record, sessions per iOS profile, a service registered through
 * sim_lockdownd.h, control actions (reset-privacy, unplug) and the knobs.
 */
#include "ib_test.h"

#include "ib_lockdown.h"
#include "ib_log.h"
#include "ib_plist.h"
#include "ib_sim.h"
#include "ib_usbmux.h"
#include "ib_util.h"
#include "ld_client_int.h"
#include "ld_testnet.h"
#include "sim_lockdownd.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
};

static int
env_start(struct env *e, const char *const *knobs)
{
	struct ib_usbmux_opts o;
	struct ib_device d;
	int r;

	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/ib-ld-sim-XXXXXX");
	if (mkdtemp(e->dir) == NULL)
		return IB_ERR_SYSTEM;
	snprintf(e->sock, sizeof(e->sock), "%s/sock", e->dir);
	snprintf(e->records, sizeof(e->records), "%s/records", e->dir);
	if ((r = ib_sim_new(1, knobs, 7, &e->sim)) != IB_OK ||
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
	return IB_OK;
}

static void
env_stop(struct env *e)
{
	char cmd[256];

	ib_usbmux_free(e->mux);
	ib_sim_free(e->sim);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	if (e->dir[0] != '\0' && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", e->dir);
}

static struct ib_lockdown_opts
opts(void)
{
	struct ib_lockdown_opts o;

	memset(&o, 0, sizeof(o));
	o.timeout_ms = 60000;       /* ASan on a shared machine */
	o.pair_timeout_ms = 60000;
	return o;
}

struct heard {
	int n;
	enum ib_lockdown_event ev[8];
};

static void
heard(void *ctx, enum ib_lockdown_event ev, const char *text)
{
	struct heard *h = ctx;

	(void)text;
	if (h->n < 8)
		h->ev[h->n++] = ev;
}

static int
pair(struct env *e, struct heard *h)
{
	struct ib_lockdown_opts o = opts();
	struct ib_lockdown *ld = NULL;
	int r;

	memset(h, 0, sizeof(*h));
	if ((r = ib_lockdown_open(e->mux, e->udid, &o, &ld)) != IB_OK)
		return r;
	r = ib_lockdown_pair_interactive(ld, o.pair_timeout_ms, heard, h);
	ib_lockdown_close(ld);
	return r;
}

/* A service registered the way the services layer does. */
static void
echo(struct ib_sim_dev *dev, struct ib_conn *c, const struct ib_sim_service_start *st,
    void *arg)
{
	plist_t m = NULL;

	(void)dev;
	(void)arg;
	while (ib_conn_recv_plist(c, &m) == IB_OK) {
		plist_dict_set_item(m, "TLS", plist_new_bool(st->tls));
		if (ib_conn_send_plist(c, m) != IB_OK)
			break;
		plist_free(m);
		m = NULL;
	}
	plist_free(m);
}

IB_TEST(sim_pair_with_dialog_and_reset_then_session_and_service)
{
	static const char *const knobs[] = { "trust=pending:1", "trust_reset=1", NULL };
	struct env e;
	struct heard h;
	struct ib_lockdown_opts o = opts();
	struct ib_lockdown *ld = NULL;
	struct ib_conn *svc = NULL;
	plist_t m = plist_new_dict(), back = NULL;
	char path[256];
	struct stat st;
	int tls = 0;

	IB_CHECK_OK(env_start(&e, knobs));
	IB_CHECK_OK(ib_sim_lockdownd_add_service(e.dev, "com.example.echo", echo, NULL));
	IB_CHECK_OK(pair(&e, &h));
	/* prompt, the device drops the connection after Trust, paired */
	IB_CHECK_EQ(h.n, 3);
	IB_CHECK_EQ(h.ev[0], IB_LD_EVENT_TRUST_PROMPT);
	IB_CHECK_EQ(h.ev[1], IB_LD_EVENT_RECONNECT);
	IB_CHECK_EQ(h.ev[2], IB_LD_EVENT_PAIRED);
	IB_CHECK_EQ(ib_sim_lockdownd_pairings(e.dev), 1);
	/* the record is in the store, 0600 */
	snprintf(path, sizeof(path), "%s/%s.plist", e.records, e.udid);
	IB_CHECK(stat(path, &st) == 0);
	IB_CHECK_EQ(st.st_mode & 0777, 0600);
	IB_CHECK_OK(ib_lockdown_session_open(e.mux, e.udid, &o, NULL, NULL, &ld));
	IB_CHECK(ib_conn_tls_version(ld->conn) >= IB_TLS_1_2);
	IB_CHECK_OK(ib_lockdown_start_service(ld, "com.example.echo", 1, &svc));
	IB_CHECK(ib_conn_tls_active(svc));
	plist_dict_set_item(m, "Request", plist_new_string("Ping"));
	IB_CHECK_OK(ib_conn_send_plist(svc, m));
	IB_CHECK_OK(ib_conn_recv_plist(svc, &back));
	IB_CHECK_OK(ib_plist_dict_get_bool(back, "TLS", &tls));
	IB_CHECK(tls);
	ib_conn_free(svc);
	IB_CHECK_OK(ib_lockdown_stop_session(ld));
	ib_lockdown_close(ld);
	plist_free(m);
	plist_free(back);
	env_stop(&e);
}

IB_TEST(sim_ios6_profile)
{
	static const char *const knobs[] = { "ios=6.1", NULL };
	struct env e;
	struct heard h;
	struct ib_lockdown_opts o = opts();
	struct ib_lockdown *ld = NULL;
	struct ib_lockdown_info info;

	IB_CHECK_OK(env_start(&e, knobs));
	IB_CHECK_OK(pair(&e, &h));
	IB_CHECK_OK(ib_lockdown_session_open(e.mux, e.udid, &o, NULL, NULL, &ld));
	IB_CHECK_EQ(ib_conn_tls_version(ld->conn), IB_TLS_1_0);
	IB_CHECK_OK(ib_lockdown_get_info(ld, &info));
	IB_CHECK_STR(info.product_version, "6.1");
	IB_CHECK_STR(info.build_version, "10B141");
	IB_CHECK_EQ(info.paired, 1);
	ib_lockdown_close(ld);
	env_stop(&e);
}

IB_TEST(sim_reset_privacy_and_pair_again)
{
	struct env e;
	struct heard h;
	struct ib_lockdown_opts o = opts();
	struct ib_lockdown *ld = NULL;

	IB_CHECK_OK(env_start(&e, NULL));
	IB_CHECK_OK(pair(&e, &h));
	IB_CHECK_OK(ib_sim_dev_control(e.dev, "reset-privacy", NULL));
	IB_CHECK_ERR(ib_lockdown_session_open(e.mux, e.udid, &o, NULL, NULL, &ld),
	    IB_ERR_LD_INVALID_HOST_ID);
	IB_CHECK_OK(pair(&e, &h));
	IB_CHECK_OK(ib_lockdown_session_open(e.mux, e.udid, &o, NULL, NULL, &ld));
	ib_lockdown_close(ld);
	env_stop(&e);
}

IB_TEST(sim_manual_trust_by_control_action)
{
	static const char *const knobs[] = { "trust=manual", "locked=1", NULL };
	struct env e;
	struct heard h;
	int r;

	IB_CHECK_OK(env_start(&e, knobs));
	IB_CHECK(ib_sim_lockdownd_is_locked(e.dev));
	/* answer as the user would, from the control actions */
	IB_CHECK_OK(ib_sim_dev_control(e.dev, "unlock", NULL));
	IB_CHECK_OK(ib_sim_dev_control(e.dev, "trust", NULL));
	r = pair(&e, &h);
	IB_CHECK_OK(r);
	IB_CHECK(!ib_sim_lockdownd_is_locked(e.dev));
	/* the framework refuses actions no layer registered */
	IB_CHECK(ib_sim_dev_control(e.dev, "no-such-action", NULL) != IB_OK);
	env_stop(&e);
}

IB_TEST(sim_unplug_reported_as_unplugged)
{
	struct env e;
	struct heard h;
	struct ib_lockdown_opts o = opts();
	struct ib_lockdown *ld = NULL;
	plist_t v = NULL;
	int r;

	IB_CHECK_OK(env_start(&e, NULL));
	IB_CHECK_OK(pair(&e, &h));
	IB_CHECK_OK(ib_lockdown_session_open(e.mux, e.udid, &o, NULL, NULL, &ld));
	IB_CHECK_OK(ib_sim_dev_control(e.dev, "unplug", NULL));
	r = ib_lockdown_get_value(ld, NULL, "DeviceName", &v);
	/* the stream's end reason, not a bare EOF */
	IB_CHECK_ERR(r, IB_ERR_NO_DEVICE);
	IB_CHECK(strstr(ib_strerror(r), "unplugged") != NULL);
	ib_lockdown_free(ld);
	env_stop(&e);
}

IB_TEST(sim_bad_knob_values_refused)
{
	static const char *const bad_ios[] = { "ios=9.9", NULL };
	static const char *const bad_trust[] = { "trust=maybe", NULL };
	static const char *const bad_forget[] = { "forget_pairings=all", NULL };
	struct ib_sim *sim = NULL;

	IB_CHECK(ib_sim_new(1, bad_ios, 1, &sim) != IB_OK);
	IB_CHECK(ib_sim_new(1, bad_trust, 1, &sim) != IB_OK);
	IB_CHECK(ib_sim_new(1, bad_forget, 1, &sim) != IB_OK);
	IB_CHECK(sim == NULL);
}

/* Every layer at -vvv (mux, pair-record store, lockdown, device side):
 * no private key and no escrow bag in any form. */
IB_TEST(sim_no_secrets_in_trace_log)
{
	struct tlog cap;
	struct env e;
	struct heard h;
	struct ib_lockdown_opts o = opts();
	struct ib_lockdown *ld = NULL;
	struct ib_conn *svc = NULL;
	char path[256], hex[65];
	uint8_t *data = NULL;
	size_t n;
	plist_t rec = NULL;
	const uint8_t *bag;

	IB_CHECK_OK(env_start(&e, NULL));
	IB_CHECK_OK(ib_sim_lockdownd_add_service(e.dev, "com.example.echo", echo, NULL));
	tlog_start(&cap);
	IB_CHECK_OK(pair(&e, &h));
	IB_CHECK_OK(ib_lockdown_session_open(e.mux, e.udid, &o, NULL, NULL, &ld));
	IB_CHECK_OK(ib_lockdown_start_service(ld, "com.example.echo", 1, &svc));
	ib_conn_free(svc);
	ib_lockdown_close(ld);
	tlog_stop(&cap);
	IB_CHECK(cap.text != NULL && strstr(cap.text, "StartSession") != NULL);
	IB_CHECK(strstr(cap.text, "PRIVATE KEY") == NULL);
	IB_CHECK(strstr(cap.text, "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t") == NULL);
	/* "-----BEGIN PRIV" as a hex dump would show it */
	IB_CHECK(strstr(cap.text, "2d2d2d2d2d424547494e2050524956") == NULL);
	IB_CHECK(strstr(cap.text, "2d2d2d2d 2d424547 494e2050 52495641") == NULL);
	snprintf(path, sizeof(path), "%s/%s.plist", e.records, e.udid);
	IB_CHECK_OK(ib_file_read(path, 1 << 20, &data, &n));
	IB_CHECK_OK(ib_plist_parse_dict(data, n, n, &rec));
	IB_CHECK_OK(ib_plist_dict_get_data(rec, "EscrowBag", &bag, &n));
	IB_CHECK_EQ(n, 32);
	ib_hex(bag, 16, hex);
	IB_CHECK(strstr(cap.text, hex) == NULL);
	{
		char four[36];

		/* the first 16 bytes in 4-byte groups, as ib_log_hexdump prints */
		snprintf(four, sizeof(four), "%.8s %.8s %.8s %.8s", hex, hex + 8, hex + 16,
		    hex + 24);
		IB_CHECK(strstr(cap.text, four) == NULL);
	}
	plist_free(rec);
	free(data);
	free(cap.text);
	env_stop(&e);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
