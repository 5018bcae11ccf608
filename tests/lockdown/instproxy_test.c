/*
 * Unit tests of installation_proxy Browse: the request, the virtual
 * device's pages, and the host's reassembly with its checks, framed
 * with ld_msg in any chunking.
 */
#include "ib_limits.h"
#include "ib_plist.h"
#include "ib_test.h"
#include "ib_util.h"
#include "instproxy.h"
#include "ld_msg.h"
#include "ib_conn.h"
#include "services_peer.h"
#include "sim_services_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const backup_attrs[] = { "CFBundleIdentifier", "ApplicationSINF",
	"iTunesMetadata", NULL };

IB_TEST(instproxy_request_has_the_backup_options)
{
	plist_t msg, opts, attrs;
	const char *s;

	IB_CHECK_OK(ib_instproxy_browse_request("User", backup_attrs, &msg));
	IB_CHECK_OK(ib_plist_dict_get_string(msg, "Command", &s));
	IB_CHECK_STR(s, "Browse");
	IB_CHECK_OK(ib_plist_dict_get_dict(msg, "ClientOptions", &opts));
	IB_CHECK_OK(ib_plist_dict_get_string(opts, "ApplicationType", &s));
	IB_CHECK_STR(s, "User");
	IB_CHECK_OK(ib_plist_dict_get_array(opts, "ReturnAttributes", &attrs));
	IB_CHECK_EQ(plist_array_get_size(attrs), 3);
	IB_CHECK_OK(ib_plist_array_get_string(attrs, 2, &s));
	IB_CHECK_STR(s, "iTunesMetadata");
	plist_free(msg);
}

/* The device's answer to a request, framed into one byte stream. */
static uint8_t *
device_stream(unsigned napps, int with_total, const char *type,
    const char *const *attrs, size_t *lenp)
{
	plist_t apps = sim_apps_new(napps), req = NULL, replies = plist_new_array();
	uint8_t *all = NULL, *frame;
	size_t flen;
	uint32_t i;

	*lenp = 0;
	if (ib_instproxy_browse_request(type, attrs, &req) != IB_OK ||
	    sim_instproxy_answer(apps, with_total, req, replies) != IB_OK)
		abort();
	for (i = 0; i < plist_array_get_size(replies); i++) {
		if (ld_msg_encode(plist_array_get_item(replies, i), LD_MSG_XML, &frame,
		    &flen) != IB_OK || (all = realloc(all, *lenp + flen)) == NULL)
			abort();
		memcpy(all + *lenp, frame, flen);
		*lenp += flen;
		free(frame);
	}
	plist_free(apps);
	plist_free(req);
	plist_free(replies);
	return all;
}

/* Feed a framed stream (chunk 0: whole, 1: bytes, else random) into a
 * Browse; messages counted in *nmsgp. */
static int
host_browse(const uint8_t *p, size_t n, unsigned chunk_mode, plist_t *appsp,
    unsigned *nmsgp)
{
	struct ib_instproxy_browse *b;
	struct ld_msg_dec *dec;
	size_t off = 0, used, chunk, bytes = 0;
	plist_t msg;
	int r = IB_OK, done = 0;

	*appsp = NULL;
	*nmsgp = 0;
	if (ib_instproxy_browse_new(&b) != IB_OK || ld_msg_dec_new(0, &dec) != IB_OK)
		abort();
	srand(chunk_mode);
	while (off < n && r == IB_OK && !done) {
		chunk = chunk_mode == 0 ? n : chunk_mode == 1 ? 1 : (size_t)(rand() % 500) + 1;
		chunk = IB_MIN(chunk, n - off);
		if ((r = ld_msg_dec_feed(dec, p + off, chunk, &used, &msg)) != IB_OK)
			break;
		off += used;
		bytes += used;
		if (msg != NULL) {
			(*nmsgp)++;
			r = ib_instproxy_browse_feed(b, msg, bytes, &done);
			bytes = 0;
			plist_free(msg);
		}
	}
	if (r == IB_OK)
		r = done ? ib_instproxy_browse_take(b, appsp) : IB_ERR_INCOMPLETE;
	ld_msg_dec_free(dec);
	ib_instproxy_browse_free(b);
	return r;
}

/* "id,id,..." of a result dict, in iteration order. */
static void
ids_of(plist_t apps, char *out, size_t outsz)
{
	plist_dict_iter it = NULL;
	char *key = NULL;
	plist_t val;

	out[0] = '\0';
	plist_dict_new_iter(apps, &it);
	for (;;) {
		plist_dict_next_item(apps, it, &key, &val);
		if (key == NULL)
			break;
		strncat(out, key, outsz - strlen(out) - 2);
		strcat(out, ",");
		free(key);
		key = NULL;
	}
	free(it);
}

IB_TEST(instproxy_multi_page_browse_in_any_chunking)
{
	static const char first6[] = "com.example.notes,com.example.weather,"
	    "com.example.chess,com.example.recipes,com.example.podcasts,com.example.app6,";
	char ref[4096], got[4096];
	unsigned nmsg, mode;
	uint8_t *s;
	size_t n;
	plist_t apps, app;
	const uint8_t *d;
	size_t dlen;

	s = device_stream(25, 1, "User", backup_attrs, &n);
	IB_CHECK_OK(host_browse(s, n, 0, &apps, &nmsg));
	/* 10 + 10 + 5, then Complete. */
	IB_CHECK_EQ(nmsg, 4);
	IB_CHECK_EQ(plist_dict_get_size(apps), 25);
	ids_of(apps, ref, sizeof(ref));
	IB_CHECK(strncmp(ref, first6, strlen(first6)) == 0);
	IB_CHECK(strstr(ref, "com.example.app24,com.example.app25,") != NULL);
	/* Only the attributes asked for, with their data. */
	app = plist_dict_get_item(apps, "com.example.chess");
	IB_CHECK_EQ(plist_dict_get_size(app), 3);
	IB_CHECK_OK(ib_plist_dict_get_data(app, "ApplicationSINF", &d, &dlen));
	IB_CHECK(dlen > 8 && memcmp(d + 4, "sinf", 4) == 0);
	IB_CHECK_OK(ib_plist_dict_get_data(app, "iTunesMetadata", &d, &dlen));
	IB_CHECK(dlen > 8 && memcmp(d, "bplist00", 8) == 0);
	plist_free(apps);
	for (mode = 1; mode < 12; mode++) {
		IB_CHECK_OK(host_browse(s, n, mode, &apps, &nmsg));
		ids_of(apps, got, sizeof(got));
		IB_CHECK_STR(got, ref);
		plist_free(apps);
	}
	free(s);
	/* Without Total (as installd sends it) the same apps arrive. */
	s = device_stream(25, 0, "User", backup_attrs, &n);
	IB_CHECK_OK(host_browse(s, n, 0, &apps, &nmsg));
	ids_of(apps, got, sizeof(got));
	IB_CHECK_STR(got, ref);
	plist_free(apps);
	free(s);
	/* No apps: just Complete. System apps: the sim has none. */
	s = device_stream(0, 1, "User", NULL, &n);
	IB_CHECK_OK(host_browse(s, n, 1, &apps, &nmsg));
	IB_CHECK_EQ(nmsg, 1);
	IB_CHECK_EQ(plist_dict_get_size(apps), 0);
	plist_free(apps);
	free(s);
	s = device_stream(3, 1, "System", NULL, &n);
	IB_CHECK_OK(host_browse(s, n, 0, &apps, &nmsg));
	IB_CHECK_EQ(plist_dict_get_size(apps), 0);
	plist_free(apps);
	free(s);
	/* No ReturnAttributes: everything the device has. */
	s = device_stream(1, 1, NULL, NULL, &n);
	IB_CHECK_OK(host_browse(s, n, 0, &apps, &nmsg));
	app = plist_dict_get_item(apps, "com.example.notes");
	IB_CHECK(plist_dict_get_size(app) > 5);
	plist_free(apps);
	free(s);
}

/* Feed hand-made messages; returns the first error, or the result of
 * take when all went in. */
static int
feed_msgs(plist_t *msgs, unsigned n)
{
	struct ib_instproxy_browse *b;
	unsigned i;
	plist_t apps = NULL;
	int r = IB_OK, done = 0;

	if (ib_instproxy_browse_new(&b) != IB_OK)
		abort();
	for (i = 0; i < n && r == IB_OK; i++)
		r = ib_instproxy_browse_feed(b, msgs[i], 100, &done);
	if (r == IB_OK)
		r = ib_instproxy_browse_take(b, &apps);
	plist_free(apps);
	ib_instproxy_browse_free(b);
	for (i = 0; i < n; i++)
		plist_free(msgs[i]);
	return r;
}

static plist_t
page(unsigned first, unsigned count, int total)
{
	plist_t m = plist_new_dict(), list = plist_new_array(), app;
	char id[32];
	unsigned i;

	for (i = 0; i < count; i++) {
		snprintf(id, sizeof(id), "com.t.a%u", first + i);
		app = plist_new_dict();
		plist_dict_set_item(app, "CFBundleIdentifier", plist_new_string(id));
		plist_array_append_item(list, app);
	}
	plist_dict_set_item(m, "Status", plist_new_string("BrowsingApplications"));
	plist_dict_set_item(m, "CurrentIndex", plist_new_uint(first));
	plist_dict_set_item(m, "CurrentAmount", plist_new_uint(count));
	plist_dict_set_item(m, "CurrentList", list);
	if (total >= 0)
		plist_dict_set_item(m, "Total", plist_new_uint((uint64_t)total));
	return m;
}

static plist_t
complete(void)
{
	plist_t m;

	if (ib_instproxy_status_build("Complete", &m) != IB_OK)
		abort();
	return m;
}

IB_TEST(instproxy_host_refuses_inconsistent_answers)
{
	plist_t m[4];

	m[0] = page(0, 2, 4); m[1] = page(2, 2, 4); m[2] = complete();
	IB_CHECK_OK(feed_msgs(m, 3));
	/* Total changes between pages. */
	m[0] = page(0, 2, 4); m[1] = page(2, 2, 5); m[2] = complete();
	IB_CHECK_ERR(feed_msgs(m, 3), IB_ERR_SERVICE);
	/* Complete before Total apps came. */
	m[0] = page(0, 2, 4); m[1] = complete();
	IB_CHECK_ERR(feed_msgs(m, 2), IB_ERR_SERVICE);
	IB_CHECK(strstr(ib_err_detail(), "Total") != NULL);
	/* Total smaller than what arrived. */
	m[0] = page(0, 3, 2);
	IB_CHECK_ERR(feed_msgs(m, 1), IB_ERR_SERVICE);
	/* A page skipped (CurrentIndex), a wrong CurrentAmount. */
	m[0] = page(0, 2, -1); m[1] = page(3, 2, -1);
	IB_CHECK_ERR(feed_msgs(m, 2), IB_ERR_SERVICE);
	m[0] = page(0, 2, -1);
	plist_dict_set_item(m[0], "CurrentAmount", plist_new_uint(3));
	IB_CHECK_ERR(feed_msgs(m, 1), IB_ERR_SERVICE);
	m[0] = page(0, 2, -1);
	plist_dict_set_item(m[0], "CurrentIndex", plist_new_string("0"));
	IB_CHECK_ERR(feed_msgs(m, 1), IB_ERR_PLIST_TYPE);
	/* Missing Status, an Error, a message that is no dict. */
	m[0] = page(0, 1, -1);
	plist_dict_remove_item(m[0], "Status");
	IB_CHECK_ERR(feed_msgs(m, 1), IB_ERR_SERVICE);
	IB_CHECK(strstr(ib_err_detail(), "Status") != NULL);
	IB_CHECK_OK(ib_instproxy_error_build("APIInternalError", "boom", &m[0]));
	IB_CHECK_ERR(feed_msgs(m, 1), IB_ERR_SERVICE);
	IB_CHECK(strstr(ib_err_detail(), "APIInternalError") != NULL);
	m[0] = plist_new_array();
	IB_CHECK_ERR(feed_msgs(m, 1), IB_ERR_SERVICE);
	/* The same app twice; an app without a bundle id; not a dict. */
	m[0] = page(0, 2, -1); m[1] = page(1, 1, -1);
	plist_dict_remove_item(m[1], "CurrentIndex");
	IB_CHECK_ERR(feed_msgs(m, 2), IB_ERR_SERVICE);
	m[0] = page(0, 1, -1);
	plist_dict_remove_item(plist_array_get_item(plist_dict_get_item(m[0], "CurrentList"), 0),
	    "CFBundleIdentifier");
	IB_CHECK_ERR(feed_msgs(m, 1), IB_ERR_PLIST_MISSING);
	m[0] = page(0, 0, -1);
	plist_array_append_item(plist_dict_get_item(m[0], "CurrentList"), plist_new_uint(1));
	plist_dict_set_item(m[0], "CurrentAmount", plist_new_uint(1));
	IB_CHECK_ERR(feed_msgs(m, 1), IB_ERR_PLIST_TYPE);
	/* Nothing after Complete; no result before it. */
	m[0] = complete(); m[1] = page(0, 1, -1);
	IB_CHECK_ERR(feed_msgs(m, 2), IB_ERR_STATE);
	m[0] = page(0, 1, -1);
	IB_CHECK_ERR(feed_msgs(m, 1), IB_ERR_STATE);
}

IB_TEST(instproxy_host_caps_apps_and_bytes)
{
	struct ib_instproxy_browse *b;
	unsigned first;
	plist_t m;
	int done, r = IB_OK;

	IB_CHECK_OK(ib_instproxy_browse_new(&b));
	for (first = 0; first <= IB_INSTPROXY_APPS_MAX && r == IB_OK; first += 500) {
		m = page(first, 500, -1);
		r = ib_instproxy_browse_feed(b, m, 1000, &done);
		plist_free(m);
	}
	IB_CHECK_ERR(r, IB_ERR_TOO_LARGE);
	IB_CHECK_EQ(first, IB_INSTPROXY_APPS_MAX + 500);
	ib_instproxy_browse_free(b);

	IB_CHECK_OK(ib_instproxy_browse_new(&b));
	m = page(0, 1, -1);
	IB_CHECK_OK(ib_instproxy_browse_feed(b, m, IB_INSTPROXY_BYTES_MAX - 10, &done));
	IB_CHECK_ERR(ib_instproxy_browse_feed(b, m, 11, &done), IB_ERR_TOO_LARGE);
	plist_free(m);
	ib_instproxy_browse_free(b);
}

IB_TEST(instproxy_device_answers_unknown_commands_with_error)
{
	plist_t replies = plist_new_array(), apps = sim_apps_new(2), req = plist_new_dict();
	const char *s;

	plist_dict_set_item(req, "Command", plist_new_string("Uninstall"));
	IB_CHECK_OK(sim_instproxy_answer(apps, 1, req, replies));
	IB_CHECK_EQ(plist_array_get_size(replies), 1);
	IB_CHECK_OK(ib_plist_dict_get_string(plist_array_get_item(replies, 0), "Error", &s));
	IB_CHECK_STR(s, "UnknownCommand");
	plist_dict_remove_item(req, "Command");
	IB_CHECK_OK(sim_instproxy_answer(apps, 1, req, replies));
	IB_CHECK_OK(ib_plist_dict_get_string(plist_array_get_item(replies, 1), "Error", &s));
	IB_CHECK_STR(s, "MissingCommand");
	plist_free(req);
	plist_free(apps);
	plist_free(replies);
}

/* --- the host call against the virtual device, over socketpairs ------------- */

IB_TEST(instproxy_browse_against_the_device)
{
	struct sim_services_cfg cfg = { .apps = 23, .instproxy_total = 1 };
	struct sim_services *S;
	struct ib_conn *conn;
	struct peer *p;
	plist_t apps, app;
	const char *s;

	IB_CHECK_OK(sim_services_new(&cfg, &S));
	IB_CHECK_OK(peer_serve(sim_services_serve_instproxy, S, &conn, &p));
	IB_CHECK_OK(ib_instproxy_browse(conn, "User", backup_attrs, 5000, &apps));
	IB_CHECK_EQ(plist_dict_get_size(apps), 23);
	app = plist_dict_get_item(apps, "com.example.app23");
	IB_CHECK(app != NULL);
	IB_CHECK_OK(ib_plist_dict_get_string(app, "CFBundleIdentifier", &s));
	IB_CHECK_STR(s, "com.example.app23");
	IB_CHECK(plist_dict_get_item(app, "CFBundleDisplayName") == NULL);
	plist_free(apps);
	/* The connection serves another request. */
	IB_CHECK_OK(ib_instproxy_browse(conn, NULL, NULL, 5000, &apps));
	IB_CHECK(plist_dict_get_item(plist_dict_get_item(apps, "com.example.notes"),
	    "CFBundleDisplayName") != NULL);
	plist_free(apps);
	ib_conn_free(conn);
	peer_join(p);
	sim_services_free(S);
}

IB_TEST(instproxy_browse_device_failures)
{
	struct ib_conn *conn;
	struct peer *pr;
	uint8_t *frame;
	size_t flen;
	plist_t msg, apps = NULL;

	/* An Error answer. */
	IB_CHECK_OK(ib_instproxy_error_build("APIInternalError", "nope", &msg));
	IB_CHECK_OK(ld_msg_encode(msg, LD_MSG_XML, &frame, &flen));
	plist_free(msg);
	IB_CHECK_OK(peer_script(frame, flen, &conn, &pr));
	IB_CHECK_ERR(ib_instproxy_browse(conn, "User", backup_attrs, 5000, &apps),
	    IB_ERR_SERVICE);
	IB_CHECK(apps == NULL);
	ib_conn_free(conn);
	peer_join(pr);
	/* Half a message, then the device hangs up. */
	IB_CHECK_OK(peer_script(frame, flen / 2, &conn, &pr));
	IB_CHECK_ERR(ib_instproxy_browse(conn, "User", backup_attrs, 5000, &apps),
	    IB_ERR_EOF);
	ib_conn_free(conn);
	peer_join(pr);
	free(frame);
	/* A length prefix above the cap. */
	IB_CHECK_OK(peer_script("\xff\xff\xff\xff", 4, &conn, &pr));
	IB_CHECK_ERR(ib_instproxy_browse(conn, "User", backup_attrs, 5000, &apps),
	    IB_ERR_TOO_LARGE);
	ib_conn_free(conn);
	peer_join(pr);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
