/*
 * Unit tests of notification_proxy: the message codec (framed with
 * ld_msg, in any chunking), what a host makes of device messages, and
 * the virtual device's observer registry.
 */
#include "ib_limits.h"
#include "ib_plist.h"
#include "ib_test.h"
#include "ib_util.h"
#include "ld_msg.h"
#include "np.h"
#include "ib_conn.h"
#include "services_peer.h"
#include "sim_services_int.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static plist_t
dict_of(const char *command, const char *name)
{
	plist_t d = plist_new_dict();

	if (command != NULL)
		plist_dict_set_item(d, "Command", plist_new_string(command));
	if (name != NULL)
		plist_dict_set_item(d, "Name", plist_new_string(name));
	return d;
}

IB_TEST(np_build_and_parse_every_command)
{
	static const enum ib_np_cmd cmds[] = { IB_NP_POST, IB_NP_OBSERVE, IB_NP_SHUTDOWN,
		IB_NP_RELAY, IB_NP_PROXY_DEATH };
	struct ib_np_msg m;
	const char *s;
	plist_t msg;
	size_t i;

	for (i = 0; i < IB_ARRAY_LEN(cmds); i++) {
		IB_CHECK_OK(ib_np_msg_build(cmds[i], IB_NP_SYNC_WILL_START, &msg));
		IB_CHECK_OK(ib_plist_dict_get_string(msg, "Command", &s));
		IB_CHECK_STR(s, ib_np_cmd_name(cmds[i]));
		IB_CHECK_OK(ib_np_msg_parse(msg, &m));
		IB_CHECK_EQ(m.cmd, cmds[i]);
		if (cmds[i] == IB_NP_SHUTDOWN || cmds[i] == IB_NP_PROXY_DEATH) {
			/* No Name on the wire, none decoded. */
			IB_CHECK(plist_dict_get_item(msg, "Name") == NULL);
			IB_CHECK(m.name == NULL);
		} else {
			IB_CHECK_STR(m.name, IB_NP_SYNC_WILL_START);
		}
		plist_free(msg);
	}
	IB_CHECK_STR(ib_np_cmd_name(IB_NP_OBSERVE), "ObserveNotification");
	IB_CHECK_ERR(ib_np_msg_build(IB_NP_POST, NULL, &msg), IB_ERR_INVALID_ARG);
	IB_CHECK_ERR(ib_np_msg_build(IB_NP_OBSERVE, "", &msg), IB_ERR_INVALID_ARG);
	IB_CHECK(msg == NULL);
}

IB_TEST(np_parse_refuses_garbage)
{
	char longname[IB_NP_NAME_MAX + 2];
	struct ib_np_msg m;
	plist_t d;

	IB_CHECK_ERR(ib_np_msg_parse(NULL, &m), IB_ERR_NP);
	d = plist_new_array();
	IB_CHECK_ERR(ib_np_msg_parse(d, &m), IB_ERR_NP);
	plist_free(d);
	d = dict_of(NULL, "x");
	IB_CHECK_ERR(ib_np_msg_parse(d, &m), IB_ERR_NP);
	plist_free(d);
	d = plist_new_dict();
	plist_dict_set_item(d, "Command", plist_new_uint(3));
	IB_CHECK_ERR(ib_np_msg_parse(d, &m), IB_ERR_NP);
	plist_free(d);
	d = dict_of("SelfDestruct", "x");
	IB_CHECK_ERR(ib_np_msg_parse(d, &m), IB_ERR_NP);
	IB_CHECK(strstr(ib_err_detail(), "SelfDestruct") != NULL);
	plist_free(d);
	d = dict_of("RelayNotification", NULL);
	IB_CHECK_ERR(ib_np_msg_parse(d, &m), IB_ERR_NP);
	plist_free(d);
	d = dict_of("RelayNotification", "");
	IB_CHECK_ERR(ib_np_msg_parse(d, &m), IB_ERR_NP);
	plist_free(d);
	d = dict_of("RelayNotification", NULL);
	plist_dict_set_item(d, "Name", plist_new_data("ab", 2));
	IB_CHECK_ERR(ib_np_msg_parse(d, &m), IB_ERR_NP);
	plist_free(d);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	d = dict_of("RelayNotification", longname);
	IB_CHECK_ERR(ib_np_msg_parse(d, &m), IB_ERR_NP);
	plist_free(d);
	longname[IB_NP_NAME_MAX] = '\0';
	d = dict_of("RelayNotification", longname);
	IB_CHECK_OK(ib_np_msg_parse(d, &m));
	plist_free(d);
	/* Extra keys are ignored. */
	d = dict_of("ProxyDeath", NULL);
	plist_dict_set_item(d, "Extra", plist_new_bool(1));
	IB_CHECK_OK(ib_np_msg_parse(d, &m));
	IB_CHECK_EQ(m.cmd, IB_NP_PROXY_DEATH);
	plist_free(d);
}

IB_TEST(np_host_input_accepts_only_device_messages)
{
	const char *name;
	plist_t d;

	d = dict_of("RelayNotification", IB_NP_SYNC_CANCEL_REQUEST);
	IB_CHECK_OK(ib_np_host_input(d, &name));
	IB_CHECK_STR(name, IB_NP_SYNC_CANCEL_REQUEST);
	plist_free(d);
	d = dict_of("ProxyDeath", NULL);
	IB_CHECK_ERR(ib_np_host_input(d, &name), IB_ERR_EOF);
	plist_free(d);
	d = dict_of("PostNotification", "x");
	IB_CHECK_ERR(ib_np_host_input(d, &name), IB_ERR_NP);
	IB_CHECK(name == NULL);
	plist_free(d);
	d = dict_of("Shutdown", NULL);
	IB_CHECK_ERR(ib_np_host_input(d, &name), IB_ERR_NP);
	plist_free(d);
}

/* Framed device messages, fed to ld_msg in chunks; the relayed names
 * joined with spaces, and the first error. */
static int
decode_framed(const uint8_t *p, size_t n, size_t step_seed, char *out, size_t outsz)
{
	struct ld_msg_dec *dec;
	const char *name;
	size_t off = 0, used, chunk;
	plist_t msg;
	int r = IB_OK;

	out[0] = '\0';
	if (ld_msg_dec_new(IB_PLIST_MSG_MAX, &dec) != IB_OK)
		return IB_ERR_NOMEM;
	srand((unsigned)step_seed);
	while (off < n && r == IB_OK) {
		chunk = step_seed == 0 ? n - off : step_seed == 1 ? 1 : (size_t)(rand() % 61) + 1;
		chunk = IB_MIN(chunk, n - off);
		if ((r = ld_msg_dec_feed(dec, p + off, chunk, &used, &msg)) != IB_OK)
			break;
		off += used;
		if (msg == NULL)
			continue;
		r = ib_np_host_input(msg, &name);
		if (r == IB_OK) {
			strncat(out, name, outsz - strlen(out) - 2);
			strcat(out, " ");
		}
		plist_free(msg);
	}
	ld_msg_dec_free(dec);
	return r;
}

IB_TEST(np_framed_stream_in_any_chunking)
{
	static const char *names[] = { IB_NP_LA_UI_PRESENTED, IB_NP_LA_UI_DISMISSED,
		IB_NP_SYNC_CANCEL_REQUEST };
	char ref[1024], got[1024];
	uint8_t *all = NULL, *frame;
	size_t len = 0, flen, i;
	plist_t msg;

	for (i = 0; i <= IB_ARRAY_LEN(names); i++) {
		if (i < IB_ARRAY_LEN(names))
			IB_CHECK_OK(ib_np_msg_build(IB_NP_RELAY, names[i], &msg));
		else
			IB_CHECK_OK(ib_np_msg_build(IB_NP_PROXY_DEATH, NULL, &msg));
		IB_CHECK_OK(ld_msg_encode(msg, i == 1 ? LD_MSG_BINARY : LD_MSG_XML, &frame, &flen));
		plist_free(msg);
		all = realloc(all, len + flen);
		IB_CHECK(all != NULL);
		memcpy(all + len, frame, flen);
		len += flen;
		free(frame);
	}
	/* Three relays then ProxyDeath, which ends the stream with EOF. */
	IB_CHECK_ERR(decode_framed(all, len, 0, ref, sizeof(ref)), IB_ERR_EOF);
	IB_CHECK(strstr(ref, IB_NP_LA_UI_PRESENTED " " IB_NP_LA_UI_DISMISSED " "
	    IB_NP_SYNC_CANCEL_REQUEST " ") == ref);
	IB_CHECK_ERR(decode_framed(all, len, 1, got, sizeof(got)), IB_ERR_EOF);
	IB_CHECK_STR(got, ref);
	for (i = 2; i < 40; i++) {
		IB_CHECK_ERR(decode_framed(all, len, i, got, sizeof(got)), IB_ERR_EOF);
		IB_CHECK_STR(got, ref);
	}
	free(all);
}

IB_TEST(np_garbage_from_the_device_is_an_error)
{
	static const uint8_t not_plist[] = { 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o' };
	char got[256];
	uint8_t *frame;
	size_t flen;
	plist_t msg = dict_of("Reboot", NULL);

	IB_CHECK_ERR(decode_framed(not_plist, sizeof(not_plist), 1, got, sizeof(got)),
	    IB_ERR_PLIST_PARSE);
	IB_CHECK_OK(ld_msg_encode(msg, LD_MSG_XML, &frame, &flen));
	IB_CHECK_ERR(decode_framed(frame, flen, 3, got, sizeof(got)), IB_ERR_NP);
	IB_CHECK(strstr(ib_err_detail(), "Reboot") != NULL);
	free(frame);
	plist_free(msg);
	msg = plist_new_string("RelayNotification");
	IB_CHECK_OK(ld_msg_encode(msg, LD_MSG_BINARY, &frame, &flen));
	IB_CHECK_ERR(decode_framed(frame, flen, 0, got, sizeof(got)), IB_ERR_NP);
	free(frame);
	plist_free(msg);
}

/* --- the device's registry ---------------------------------------------------- */

static int
readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

IB_TEST(np_device_relays_only_to_observers)
{
	struct sim_np *np;
	struct sim_np_conn *a, *b;
	char *name;
	int overflow;

	IB_CHECK_OK(sim_np_new(&np));
	IB_CHECK_OK(sim_np_conn_new(np, &a));
	IB_CHECK_OK(sim_np_conn_new(np, &b));
	IB_CHECK_OK(sim_np_conn_observe(a, IB_NP_SYNC_CANCEL_REQUEST));
	IB_CHECK_OK(sim_np_conn_observe(a, IB_NP_SYNC_CANCEL_REQUEST));
	IB_CHECK_OK(sim_np_conn_observe(a, IB_NP_LA_UI_PRESENTED));
	IB_CHECK_OK(sim_np_conn_observe(b, IB_NP_LA_UI_PRESENTED));
	IB_CHECK_EQ(sim_np_observers(np, IB_NP_SYNC_CANCEL_REQUEST), 1);
	IB_CHECK_EQ(sim_np_observers(np, IB_NP_LA_UI_PRESENTED), 2);
	IB_CHECK(!readable(sim_np_conn_wake_fd(a)));

	IB_CHECK_EQ(sim_np_post(np, IB_NP_SYNC_CANCEL_REQUEST, 0), 1);
	IB_CHECK_EQ(sim_np_post(np, "com.example.unobserved", 1), 0);
	IB_CHECK_EQ(sim_np_post(np, IB_NP_LA_UI_PRESENTED, 0), 2);
	IB_CHECK(readable(sim_np_conn_wake_fd(a)));
	IB_CHECK(readable(sim_np_conn_wake_fd(b)));
	/* In order, each once (the repeated observe did not double it). */
	IB_CHECK_OK(sim_np_conn_next(a, &name, &overflow));
	IB_CHECK_STR(name, IB_NP_SYNC_CANCEL_REQUEST);
	free(name);
	IB_CHECK_OK(sim_np_conn_next(a, &name, &overflow));
	IB_CHECK_STR(name, IB_NP_LA_UI_PRESENTED);
	free(name);
	IB_CHECK_OK(sim_np_conn_next(a, &name, &overflow));
	IB_CHECK(name == NULL && !overflow);
	/* An empty queue drains the wake pipe. */
	IB_CHECK(!readable(sim_np_conn_wake_fd(a)));
	IB_CHECK_OK(sim_np_conn_next(b, &name, &overflow));
	IB_CHECK_STR(name, IB_NP_LA_UI_PRESENTED);
	free(name);
	/* Only host posts are logged. */
	IB_CHECK_EQ(sim_np_posted(np, "com.example.unobserved"), 1);
	IB_CHECK_EQ(sim_np_posted(np, IB_NP_LA_UI_PRESENTED), 0);
	/* A closed connection gets nothing. */
	sim_np_conn_free(b);
	IB_CHECK_EQ(sim_np_post(np, IB_NP_LA_UI_PRESENTED, 1), 1);
	IB_CHECK_EQ(sim_np_posted(np, IB_NP_LA_UI_PRESENTED), 1);
	sim_np_conn_free(a);
	sim_np_free(np);
}

IB_TEST(np_device_caps_observes_and_queue)
{
	struct sim_np *np;
	struct sim_np_conn *c;
	char name[32], *got;
	unsigned i;
	int overflow;

	IB_CHECK_OK(sim_np_new(&np));
	IB_CHECK_OK(sim_np_conn_new(np, &c));
	for (i = 0; i < IB_NP_OBSERVE_MAX; i++) {
		snprintf(name, sizeof(name), "n%u", i);
		IB_CHECK_OK(sim_np_conn_observe(c, name));
	}
	IB_CHECK_ERR(sim_np_conn_observe(c, "one.too.many"), IB_ERR_TOO_LARGE);
	for (i = 0; i < IB_NP_QUEUE_MAX; i++)
		IB_CHECK_EQ(sim_np_post(np, "n0", 0), 1);
	IB_CHECK_EQ(sim_np_post(np, "n0", 0), 0);
	IB_CHECK_OK(sim_np_conn_next(c, &got, &overflow));
	IB_CHECK(overflow);
	free(got);
	sim_np_conn_free(c);
	sim_np_free(np);
}

/* --- the host client against the virtual device, over socketpairs ----------- */

struct np_dut {
	struct ib_np *np;
	struct peer *peer;
};

static int
np_dut_new(struct sim_services *S, struct np_dut *d)
{
	struct ib_conn *conn;
	int r;

	memset(d, 0, sizeof(*d));
	if ((r = peer_serve(sim_services_serve_np, S, &conn, &d->peer)) != IB_OK)
		return r;
	return ib_np_new(conn, &d->np);
}

static void
np_dut_free(struct np_dut *d)
{
	ib_np_free(d->np);
	peer_join(d->peer);
}

static struct sim_services *
np_services(void)
{
	struct sim_services_cfg cfg = { .apps = 0 };
	struct sim_services *S;

	return sim_services_new(&cfg, &S) == IB_OK ? S : NULL;
}

struct obs_wait {
	struct sim_np *np;
	const char *name;
	unsigned want;
};

static int
observers_are(void *arg)
{
	struct obs_wait *w = arg;

	return sim_np_observers(w->np, w->name) == w->want;
}

static int
posted_once(void *arg)
{
	struct obs_wait *w = arg;

	return sim_np_posted(w->np, w->name) == w->want;
}

IB_TEST(np_client_observe_relay_shutdown)
{
	static const char *const names[] = { IB_NP_SYNC_CANCEL_REQUEST, IB_NP_LA_UI_PRESENTED,
		IB_NP_LA_UI_DISMISSED, NULL };
	struct sim_services *S = np_services();
	struct obs_wait w;
	struct np_dut d;
	char *name = NULL;

	IB_CHECK(S != NULL);
	IB_CHECK_OK(np_dut_new(S, &d));
	IB_CHECK_OK(ib_np_observe_all(d.np, names));
	w = (struct obs_wait){ sim_services_np(S), IB_NP_LA_UI_DISMISSED, 1 };
	IB_CHECK(peer_wait_for(observers_are, &w, 2000));
	/* Nothing yet. */
	IB_CHECK_ERR(ib_np_wait(d.np, 20, &name), IB_ERR_TIMEOUT);
	/* Unobserved names are not relayed; observed ones are, in order. */
	IB_CHECK_EQ(sim_np_post(sim_services_np(S), "com.example.unobserved", 0), 0);
	IB_CHECK_EQ(sim_np_post(sim_services_np(S), IB_NP_LA_UI_PRESENTED, 0), 1);
	IB_CHECK_EQ(sim_np_post(sim_services_np(S), IB_NP_LA_UI_DISMISSED, 0), 1);
	IB_CHECK_OK(ib_np_wait(d.np, 2000, &name));
	IB_CHECK_STR(name, IB_NP_LA_UI_PRESENTED);
	free(name);
	IB_CHECK_OK(ib_np_wait(d.np, 2000, &name));
	IB_CHECK_STR(name, IB_NP_LA_UI_DISMISSED);
	free(name);
	IB_CHECK_ERR(ib_np_wait(d.np, 0, &name), IB_ERR_TIMEOUT);
	/* Shutdown is answered with ProxyDeath; the handle is done after. */
	IB_CHECK_OK(ib_np_shutdown(d.np, 2000));
	IB_CHECK_ERR(ib_np_wait(d.np, 0, &name), IB_ERR_EOF);
	IB_CHECK_ERR(ib_np_post(d.np, IB_NP_SYNC_DID_FINISH), IB_ERR_EOF);
	np_dut_free(&d);
	sim_services_free(S);
}

IB_TEST(np_client_posts_reach_device_and_other_hosts)
{
	struct sim_services *S = np_services();
	struct np_dut watcher, poster;
	struct obs_wait w;
	char *name = NULL;

	IB_CHECK(S != NULL);
	IB_CHECK_OK(np_dut_new(S, &watcher));
	IB_CHECK_OK(np_dut_new(S, &poster));
	IB_CHECK_OK(ib_np_observe(watcher.np, IB_NP_SYNC_DID_START));
	w = (struct obs_wait){ sim_services_np(S), IB_NP_SYNC_DID_START, 1 };
	IB_CHECK(peer_wait_for(observers_are, &w, 2000));
	IB_CHECK_OK(ib_np_post(poster.np, IB_NP_SYNC_WILL_START));
	IB_CHECK_OK(ib_np_post(poster.np, IB_NP_SYNC_DID_START));
	IB_CHECK_OK(ib_np_wait(watcher.np, 2000, &name));
	IB_CHECK_STR(name, IB_NP_SYNC_DID_START);
	free(name);
	IB_CHECK(peer_wait_for(posted_once, &w, 2000));
	w.name = IB_NP_SYNC_WILL_START;
	IB_CHECK(peer_wait_for(posted_once, &w, 2000));
	/* The poster observed nothing and got nothing. */
	IB_CHECK_ERR(ib_np_wait(poster.np, 20, &name), IB_ERR_TIMEOUT);
	np_dut_free(&poster);
	np_dut_free(&watcher);
	sim_services_free(S);
}

struct watch {
	struct ib_np *np;
	char *name;
	int r;
};

static void *
watch_main(void *arg)
{
	struct watch *wt = arg;

	wt->r = ib_np_wait(wt->np, 5000, &wt->name);
	return NULL;
}

IB_TEST(np_client_waits_on_one_thread_while_another_posts)
{
	struct sim_services *S = np_services();
	struct watch wt = { 0 };
	struct obs_wait w;
	struct np_dut d;
	pthread_t th;
	struct pollfd pfd;
	char *name;

	IB_CHECK(S != NULL);
	IB_CHECK_OK(np_dut_new(S, &d));
	wt.np = d.np;
	IB_CHECK(pthread_create(&th, NULL, watch_main, &wt) == 0);
	/* The watcher is blocked in ib_np_wait; observe and post still go
	 * through on this thread, and the relay comes back to the watcher. */
	IB_CHECK_OK(ib_np_observe(d.np, IB_NP_BACKUP_DOMAIN_CHANGED));
	w = (struct obs_wait){ sim_services_np(S), IB_NP_BACKUP_DOMAIN_CHANGED, 1 };
	IB_CHECK(peer_wait_for(observers_are, &w, 2000));
	IB_CHECK_OK(ib_np_post(d.np, IB_NP_BACKUP_DOMAIN_CHANGED));
	pthread_join(th, NULL);
	IB_CHECK_OK(wt.r);
	IB_CHECK_STR(wt.name, IB_NP_BACKUP_DOMAIN_CHANGED);
	free(wt.name);
	/* Pollable: the fd turns readable, then the relay is taken with a
	 * zero wait, then nothing is left. */
	pfd = (struct pollfd){ .fd = ib_np_fd(d.np), .events = POLLIN };
	IB_CHECK_EQ(poll(&pfd, 1, 0), 0);
	IB_CHECK_EQ(sim_np_post(sim_services_np(S), IB_NP_BACKUP_DOMAIN_CHANGED, 0), 1);
	IB_CHECK_EQ(poll(&pfd, 1, 2000), 1);
	IB_CHECK_OK(ib_np_wait(d.np, 0, &name));
	IB_CHECK_STR(name, IB_NP_BACKUP_DOMAIN_CHANGED);
	free(name);
	IB_CHECK_ERR(ib_np_wait(d.np, 0, &name), IB_ERR_TIMEOUT);
	np_dut_free(&d);
	sim_services_free(S);
}

/* A device that sends these framed messages, then hangs up. */
static int
np_scripted(plist_t *msgs, size_t n, struct ib_np **npp, struct peer **pp)
{
	uint8_t *all = NULL, *frame;
	size_t len = 0, flen, i;
	struct ib_conn *conn;
	int r = IB_OK;

	for (i = 0; i < n && r == IB_OK; i++) {
		if ((r = ld_msg_encode(msgs[i], LD_MSG_XML, &frame, &flen)) != IB_OK)
			break;
		all = realloc(all, len + flen);
		memcpy(all + len, frame, flen);
		len += flen;
		free(frame);
	}
	for (i = 0; i < n; i++)
		plist_free(msgs[i]);
	if (r == IB_OK && (r = peer_script(all, len, &conn, pp)) == IB_OK)
		r = ib_np_new(conn, npp);
	free(all);
	return r;
}

IB_TEST(np_client_garbage_from_the_device)
{
	struct ib_np *np;
	struct peer *p;
	char *name = NULL;
	plist_t m[2];

	m[0] = dict_of("RelayNotification", "a.b");
	m[1] = dict_of("Explode", NULL);
	IB_CHECK_OK(np_scripted(m, 2, &np, &p));
	IB_CHECK_OK(ib_np_wait(np, 2000, &name));
	IB_CHECK_STR(name, "a.b");
	free(name);
	IB_CHECK_ERR(ib_np_wait(np, 2000, &name), IB_ERR_NP);
	IB_CHECK(strstr(ib_err_detail(), "Explode") != NULL);
	/* Sticky: the stream cannot be trusted any more. */
	IB_CHECK_ERR(ib_np_wait(np, 0, &name), IB_ERR_NP);
	IB_CHECK_ERR(ib_np_observe(np, "x"), IB_ERR_NP);
	ib_np_free(np);
	peer_join(p);
	/* A host-only command from the device; a non-dict. */
	m[0] = dict_of("ObserveNotification", "x");
	IB_CHECK_OK(np_scripted(m, 1, &np, &p));
	IB_CHECK_ERR(ib_np_wait(np, 2000, &name), IB_ERR_NP);
	ib_np_free(np);
	peer_join(p);
	m[0] = plist_new_uint(7);
	IB_CHECK_OK(np_scripted(m, 1, &np, &p));
	IB_CHECK_ERR(ib_np_wait(np, 2000, &name), IB_ERR_NP);
	ib_np_free(np);
	peer_join(p);
	/* Shutdown with a device that hangs up without ProxyDeath. */
	IB_CHECK_OK(np_scripted(m, 0, &np, &p));
	IB_CHECK_ERR(ib_np_shutdown(np, 2000), IB_ERR_EOF);
	ib_np_free(np);
	peer_join(p);
	/* Relays before ProxyDeath are dropped by shutdown. */
	m[0] = dict_of("RelayNotification", "a.b");
	m[1] = dict_of("ProxyDeath", NULL);
	IB_CHECK_OK(np_scripted(m, 2, &np, &p));
	IB_CHECK_OK(ib_np_shutdown(np, 2000));
	ib_np_free(np);
	peer_join(p);
}

IB_TEST(np_device_drops_a_host_that_sends_garbage)
{
	struct sim_services *S = np_services();
	struct ib_conn *conn;
	struct peer *p;
	plist_t msg;

	IB_CHECK(S != NULL);
	IB_CHECK_OK(peer_serve(sim_services_serve_np, S, &conn, &p));
	msg = dict_of("RelayNotification", "x");
	IB_CHECK_OK(ib_conn_send_plist(conn, msg));
	plist_free(msg);
	ib_conn_set_timeout(conn, 2000);
	IB_CHECK_ERR(ib_conn_recv_plist(conn, &msg), IB_ERR_EOF);
	ib_conn_free(conn);
	peer_join(p);
	sim_services_free(S);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
