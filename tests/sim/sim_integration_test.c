/*
 * usbmux over the virtual device, end to end in one process:
 * ib_usbmux_new("sim:PATH") -> tr_sim -> link_stream -> host mux runtime
 * -> socket -> sim frontend -> device mux runtime -> test services.
 */
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_sim.h"
#include "ib_test.h"
#include "ib_util.h"
#include "sim_harness.h"
#include "sim_proto.h"
#include "sim_test.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MiB (1024u * 1024u)

IB_TEST(transport_spec_is_checked)
{
	struct ib_usbmux_opts o = { 0 };
	struct ib_usbmux *m = NULL;
	int r;

	o.transport = "bogus";
	IB_CHECK_ERR(ib_usbmux_new(&o, &m), IB_ERR_USAGE);
	o.transport = "sim:";
	IB_CHECK_ERR(ib_usbmux_new(&o, &m), IB_ERR_USAGE);
	/* No USB bus and no usbmuxd here: auto names both attempts (a
	 * machine with a usbmuxd running gets a context instead). */
	o.transport = "auto";
	if ((r = ib_usbmux_new(&o, &m)) == IB_OK) {
		ib_usbmux_free(m);
		m = NULL;
	} else {
		IB_CHECK_ERR(r, IB_ERR_TRANSPORT);
		IB_CHECK(strstr(ib_err_detail(), "usb: ") != NULL);
		IB_CHECK(strstr(ib_err_detail(), "usbmuxd: ") != NULL);
	}
	o.transport = "sim:/nonexistent/ib-sim.sock";
	IB_CHECK_ERR(ib_usbmux_new(&o, &m), IB_ERR_TRANSPORT);
	IB_CHECK(strstr(ib_err_detail(), "/nonexistent/ib-sim.sock") != NULL);
	IB_CHECK(m == NULL);
}

IB_TEST(list_shows_every_device)
{
	struct harness h;
	struct ib_device *d = NULL;
	size_t n = 0, i, j;

	IB_CHECK_OK(h_start(&h, 3, NULL));
	IB_CHECK(strstr(ib_usbmux_describe(h.mux), h.path) != NULL);
	IB_CHECK_EQ(ib_usbmux_conn_type(h.mux), IB_CONN_SIM);
	IB_CHECK_OK(ib_usbmux_list(h.mux, &d, &n));
	IB_CHECK_EQ(n, 3);
	for (i = 0; i < 3; i++) {
		int found = 0;

		for (j = 0; j < n; j++)
			found += strcmp(d[j].udid, h_udid(&h, i)) == 0 &&
			    d[j].product_id == 0x12a8 && d[j].conn == IB_CONN_SIM;
		IB_CHECK_EQ(found, 1);
	}
	free(d);
	h_stop(&h);
}

IB_TEST(select_matches_udids_with_or_without_hyphen)
{
	struct harness h;
	struct ib_device d;
	char low[IB_UDID_MAX + 1];
	size_t i;

	IB_CHECK_OK(h_start(&h, 2, NULL));
	IB_CHECK_ERR(ib_usbmux_select(h.mux, NULL, &d), IB_ERR_DEVICE_AMBIGUOUS);
	IB_CHECK(strstr(ib_err_detail(), h_udid(&h, 0)) != NULL);
	IB_CHECK(strstr(ib_err_detail(), h_udid(&h, 1)) != NULL);
	IB_CHECK_OK(ib_usbmux_select(h.mux, h_udid(&h, 1), &d));
	IB_CHECK_STR(d.udid, h_udid(&h, 1));
	IB_CHECK_OK(ib_usbmux_select(h.mux,
	    ib_sim_dev_identity(ib_sim_get(h.sim, 0))->usb_serial, &d));
	IB_CHECK_STR(d.udid, h_udid(&h, 0));
	snprintf(low, sizeof(low), "%s", h_udid(&h, 0));
	for (i = 0; low[i]; i++)
		low[i] = (char)tolower((unsigned char)low[i]);
	IB_CHECK_OK(ib_usbmux_select(h.mux, low, &d));
	IB_CHECK_ERR(ib_usbmux_select(h.mux, "00008110-0000000000000000", &d),
	    IB_ERR_DEVICE_NOT_FOUND);
	IB_CHECK_ERR(ib_usbmux_connect(h.mux, NULL, IB_SIM_PORT_ECHO, &(struct ib_stream *){ NULL }),
	    IB_ERR_DEVICE_AMBIGUOUS);
	h_stop(&h);
	IB_CHECK_OK(h_start(&h, 1, NULL));
	IB_CHECK_OK(ib_usbmux_select(h.mux, NULL, &d));
	IB_CHECK_STR(d.udid, h_udid(&h, 0));
	h_stop(&h);
}

IB_TEST(echo_round_trip)
{
	static const char hello[] = "hello, virtual iPhone";
	struct harness h;
	struct ib_stream *s = NULL;
	uint8_t *out = malloc(MiB), *back = malloc(MiB);
	char buf[sizeof(hello)];
	size_t i;

	IB_CHECK(out != NULL && back != NULL);
	IB_CHECK_OK(h_start(&h, 1, NULL));
	IB_CHECK_OK(ib_usbmux_connect(h.mux, NULL, IB_SIM_PORT_ECHO, &s));
	IB_CHECK_OK(ib_sim_write_full(ib_stream_fd(s), hello, sizeof(hello)));
	IB_CHECK_OK(ib_sim_read_full(ib_stream_fd(s), buf, sizeof(buf)));
	IB_CHECK(memcmp(buf, hello, sizeof(hello)) == 0);
	/* A larger echo in pieces small enough not to fill both ways. */
	for (i = 0; i < MiB; i++)
		out[i] = (uint8_t)(i * 7 + (i >> 9));
	for (i = 0; i < MiB; i += 64 * 1024) {
		IB_CHECK_OK(ib_sim_write_full(ib_stream_fd(s), out + i, 64 * 1024));
		IB_CHECK_OK(ib_sim_read_full(ib_stream_fd(s), back + i, 64 * 1024));
	}
	IB_CHECK(memcmp(out, back, MiB) == 0);
	IB_CHECK_OK(ib_stream_error(s));
	ib_stream_close(s);
	h_stop(&h);
	free(out);
	free(back);
}

IB_TEST(source_and_sink_check_hashes)
{
	const char *knobs[] = { "2:window=1024", "2:split=1", "3:mux_version=1", NULL };
	struct harness h;
	unsigned i;

	IB_CHECK_OK(h_start(&h, 3, knobs));
	for (i = 0; i < 3; i++) {
		IB_CHECK_OK(h_sink(h.mux, h_udid(&h, i), 8 * MiB + 13, 100 + i));
		IB_CHECK_OK(h_source(h.mux, h_udid(&h, i), 8 * MiB + 5, 200 + i));
		IB_CHECK_OK(h_sink(h.mux, h_udid(&h, i), 0, 1));
		IB_CHECK_OK(h_source(h.mux, h_udid(&h, i), 1, 1));
	}
	h_stop(&h);
}

/* A device service that sends and hangs up at once: every byte arrives
 * before the reset, however slowly the host reads. */
IB_TEST(device_hangup_delivers_everything_first)
{
	const char *knobs[] = { "2:split=1", "2:window=1024", NULL };
	struct harness h;
	struct ib_stream *s = NULL;
	uint8_t req[16];
	uint64_t extra = 1;
	unsigned i;

	IB_CHECK_OK(h_start(&h, 2, knobs));
	for (i = 0; i < 2; i++) {
		IB_CHECK_OK(ib_usbmux_connect(h.mux, h_udid(&h, i), IB_SIM_PORT_BURST, &s));
		IB_CHECK_OK(ib_sim_write_full(ib_stream_fd(s), req,
		    ib_sim_test_request(req, 8 * MiB, 1, 5)));
		/* Let the device finish writing and close while we read nothing. */
		ib_sleep_ms(300);
		IB_CHECK_OK(h_source_check(ib_stream_fd(s), 8 * MiB, 5));
		IB_CHECK_OK(h_read_to_eof(ib_stream_fd(s), &extra));
		IB_CHECK_EQ(extra, 0);
		IB_CHECK_ERR(ib_stream_error(s), IB_ERR_MUX_RESET);
		ib_stream_close(s);
		s = NULL;
	}
	h_stop(&h);
}

IB_TEST(closed_port_is_refused)
{
	const char *knobs[] = { "rst_port=19", NULL };
	struct harness h;
	struct ib_stream *s = NULL;

	IB_CHECK_OK(h_start(&h, 1, knobs));
	IB_CHECK_ERR(ib_usbmux_connect(h.mux, NULL, 4242, &s), IB_ERR_MUX_REFUSED);
	IB_CHECK(strstr(ib_err_detail(), "nothing listens on port 4242") != NULL);
	IB_CHECK(s == NULL);
	/* rst_port refuses a port that has a service, with its reason. */
	IB_CHECK_ERR(ib_usbmux_connect(h.mux, NULL, IB_SIM_PORT_SOURCE, &s), IB_ERR_MUX_REFUSED);
	IB_CHECK(strstr(ib_err_detail(), "rst_port") != NULL);
	/* The device still serves other ports. */
	IB_CHECK_OK(h_sink(h.mux, NULL, 1000, 5));
	h_stop(&h);
}

IB_TEST(unplug_mid_stream_ends_only_that_device)
{
	struct harness h;
	struct ib_stream *a = NULL, *b = NULL;
	uint64_t got = 0;

	IB_CHECK_OK(h_start(&h, 2, NULL));
	IB_CHECK_OK(h_source_open(h.mux, h_udid(&h, 0), 512 * MiB, 1, &a));
	IB_CHECK_OK(h_source_open(h.mux, h_udid(&h, 1), 4 * MiB, 2, &b));
	IB_CHECK_OK(h_source_check(ib_stream_fd(a), MiB, 1));
	IB_CHECK_OK(ib_sim_client_control(h.path, h_udid(&h, 0), "unplug", NULL));
	IB_CHECK_OK(h_read_to_eof(ib_stream_fd(a), &got));
	IB_CHECK(got < 511 * MiB);
	IB_CHECK_ERR(ib_stream_error(a), IB_ERR_NO_DEVICE);
	IB_CHECK_OK(h_source_check(ib_stream_fd(b), 4 * MiB, 2));
	IB_CHECK_OK(ib_stream_error(b));
	IB_CHECK_OK(h_wait_count(h.mux, 1));
	IB_CHECK_ERR(h_source(h.mux, h_udid(&h, 0), 1, 1), IB_ERR_DEVICE_NOT_FOUND);
	IB_CHECK_OK(h_sink(h.mux, h_udid(&h, 1), MiB, 3));
	/* Plugged again, the device is usable with fresh mux state. */
	IB_CHECK_OK(ib_sim_client_control(h.path, h_udid(&h, 0), "plug", NULL));
	IB_CHECK_OK(h_wait_count(h.mux, 2));
	IB_CHECK_OK(h_source(h.mux, h_udid(&h, 0), 2 * MiB, 4));
	ib_stream_close(a);
	ib_stream_close(b);
	h_stop(&h);
}

IB_TEST(unplug_after_cuts_the_device_off)
{
	const char *knobs[] = { "1:unplug_after=2M", NULL };
	struct harness h;

	IB_CHECK_OK(h_start(&h, 2, knobs));
	IB_CHECK_ERR(h_source(h.mux, h_udid(&h, 0), 64 * MiB, 9), IB_ERR_NO_DEVICE);
	IB_CHECK_OK(h_wait_count(h.mux, 1));
	IB_CHECK_OK(h_source(h.mux, h_udid(&h, 1), 8 * MiB, 9));
	IB_CHECK(ib_sim_dev_mux_bytes(ib_sim_get(h.sim, 0)) >= 2 * MiB);
	/* Counted from the last plug: a small transfer fits again. */
	IB_CHECK_OK(ib_sim_dev_plug(ib_sim_get(h.sim, 0)));
	IB_CHECK_OK(h_wait_count(h.mux, 2));
	IB_CHECK_OK(h_source(h.mux, h_udid(&h, 0), MiB, 10));
	h_stop(&h);
}

/* Junk the engine can drop (as usbmuxd does) costs nothing; a FIN on an
 * open stream ends that stream; a byte stream that cannot be framed ends
 * the device. Other streams and devices carry on, the process survives. */
IB_TEST(malformed_packets_from_the_device)
{
	static const char *const dropped[] = { "short", "magic", "stream", "protocol" };
	char knob[64];
	const char *knobs[] = { knob, NULL };
	struct harness h;
	size_t i;

	for (i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++) {
		snprintf(knob, sizeof(knob), "1:malformed=256k,%s", dropped[i]);
		IB_CHECK_OK(h_start(&h, 2, knobs));
		IB_CHECK_OK(h_source(h.mux, h_udid(&h, 0), 4 * MiB, 1));
		IB_CHECK_OK(h_sink(h.mux, h_udid(&h, 0), MiB, 2));
		h_stop(&h);
	}
	snprintf(knob, sizeof(knob), "1:malformed=256k,flags");
	IB_CHECK_OK(h_start(&h, 2, knobs));
	IB_CHECK_ERR(h_source(h.mux, h_udid(&h, 0), 4 * MiB, 1), IB_ERR_MUX_PROTOCOL);
	IB_CHECK_OK(h_source(h.mux, h_udid(&h, 0), MiB, 2));
	IB_CHECK_OK(h_source(h.mux, h_udid(&h, 1), MiB, 3));
	h_stop(&h);

	snprintf(knob, sizeof(knob), "1:malformed=256k,framing");
	IB_CHECK_OK(h_start(&h, 2, knobs));
	IB_CHECK_ERR(h_source(h.mux, h_udid(&h, 0), 4 * MiB, 1), IB_ERR_MUX_PROTOCOL);
	IB_CHECK_OK(h_wait_count(h.mux, 1));
	IB_CHECK_OK(h_source(h.mux, h_udid(&h, 1), MiB, 3));
	/* A replug gives the device back, with fresh mux state (and the
	 * knob armed again for the next 256k). */
	IB_CHECK_OK(ib_sim_client_control(h.path, h_udid(&h, 0), "unplug", NULL));
	IB_CHECK_OK(ib_sim_client_control(h.path, h_udid(&h, 0), "plug", NULL));
	IB_CHECK_OK(h_wait_count(h.mux, 2));
	IB_CHECK_OK(h_source(h.mux, h_udid(&h, 0), 100000, 4));
	h_stop(&h);
}

struct heard {
	pthread_mutex_t mu;
	int found;
};

static void
log_sink(void *ctx, int level, const char *line)
{
	struct heard *h = ctx;

	pthread_mutex_lock(&h->mu);
	if (level == IB_LOG_INFO && strstr(line, "device says (info): hello from the phone"))
		h->found = 1;
	pthread_mutex_unlock(&h->mu);
}

IB_TEST(device_control_messages_are_logged_at_info)
{
	struct heard heard = { PTHREAD_MUTEX_INITIALIZER, 0 };
	struct harness h;
	int level = ib_log_get_level(), i, found = 0;

	IB_CHECK_OK(h_start(&h, 1, NULL));
	ib_log_set_sink(log_sink, &heard);
	ib_log_set_level(IB_LOG_INFO);
	IB_CHECK_OK(ib_sim_client_control(h.path, NULL, "say", "hello from the phone"));
	for (i = 0; i < 1000 && !found; i++) {
		ib_sleep_ms(5);
		pthread_mutex_lock(&heard.mu);
		found = heard.found;
		pthread_mutex_unlock(&heard.mu);
	}
	ib_log_set_level(level);
	ib_log_set_sink(NULL, NULL);
	IB_CHECK(found);
	h_stop(&h);
}

struct later {
	struct ib_sim_dev *dev;
	unsigned delay_ms;
};

static void *
plug_later(void *arg)
{
	struct later *l = arg;

	ib_sleep_ms(l->delay_ms);
	ib_sim_dev_plug(l->dev);
	return NULL;
}

IB_TEST(wait_sees_a_device_that_appears_later)
{
	struct harness h;
	struct ib_device d;
	struct later l;
	pthread_t th;

	IB_CHECK_OK(h_start(&h, 1, NULL));
	IB_CHECK_OK(ib_sim_dev_unplug(ib_sim_get(h.sim, 0)));
	IB_CHECK_OK(h_wait_count(h.mux, 0));
	IB_CHECK_ERR(ib_usbmux_wait(h.mux, NULL, 50, &d), IB_ERR_DEVICE_NOT_FOUND);
	l.dev = ib_sim_get(h.sim, 0);
	l.delay_ms = 200;
	IB_CHECK(pthread_create(&th, NULL, plug_later, &l) == 0);
	IB_CHECK_OK(ib_usbmux_wait(h.mux, h_udid(&h, 0), H_TIMEOUT_MS, &d));
	pthread_join(th, NULL);
	IB_CHECK_STR(d.udid, h_udid(&h, 0));
	IB_CHECK_OK(h_sink(h.mux, NULL, 4096, 1));
	h_stop(&h);
}

struct events {
	pthread_mutex_t mu;
	int attached, detached;
};

static void
on_event(void *ctx, int attached, const struct ib_device *dev)
{
	struct events *e = ctx;

	(void)dev;
	pthread_mutex_lock(&e->mu);
	if (attached)
		e->attached++;
	else
		e->detached++;
	pthread_mutex_unlock(&e->mu);
}

IB_TEST(subscribers_hear_unplug_and_plug)
{
	struct events e = { PTHREAD_MUTEX_INITIALIZER, 0, 0 };
	struct harness h;
	int id;

	IB_CHECK_OK(h_start(&h, 2, NULL));
	IB_CHECK_OK(ib_usbmux_subscribe(h.mux, on_event, &e, &id));
	IB_CHECK_OK(ib_sim_dev_unplug(ib_sim_get(h.sim, 1)));
	IB_CHECK_OK(h_wait_count(h.mux, 1));
	IB_CHECK_OK(ib_sim_dev_plug(ib_sim_get(h.sim, 1)));
	IB_CHECK_OK(h_wait_count(h.mux, 2));
	ib_usbmux_unsubscribe(h.mux, id);
	pthread_mutex_lock(&e.mu);
	IB_CHECK_EQ(e.detached, 1);
	IB_CHECK_EQ(e.attached, 1);
	pthread_mutex_unlock(&e.mu);
	h_stop(&h);
}

/* A device app that reads slowly stalls only its own stream: with A's
 * window and socket buffers full, B still moves. */
IB_TEST(slow_reader_on_device_stalls_only_its_stream)
{
	const char *knobs[] = { "slow_reader=200", "window=4096", NULL };
	struct harness h;
	struct ib_stream *a = NULL;
	uint8_t hdr[8] = { 0, 0, 0, 0, 0x10, 0, 0, 0 }, *junk = calloc(1, 64 * 1024);
	size_t sent = 0;

	IB_CHECK(junk != NULL);
	IB_CHECK_OK(h_start(&h, 1, knobs));
	IB_CHECK_OK(ib_usbmux_connect(h.mux, NULL, IB_SIM_PORT_SINK, &a));
	IB_CHECK_OK(ib_sim_write_full(ib_stream_fd(a), hdr, sizeof(hdr)));
	for (;;) {
		ssize_t w = send(ib_stream_fd(a), junk, 64 * 1024, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0)
			break;
		sent += (size_t)w;
	}
	IB_CHECK(sent < 64 * MiB);
	IB_CHECK_OK(h_source(h.mux, NULL, 16 * MiB, 3));
	IB_CHECK_OK(h_sink(h.mux, NULL, 0, 3));
	ib_stream_close(a);
	h_stop(&h);
	free(junk);
}

struct writer {
	int fd;
	int result;
};

static void *
write_64m(void *arg)
{
	struct writer *w = arg;
	uint8_t *junk = calloc(1, 64 * MiB);

	w->result = junk != NULL ? ib_sim_write_full(w->fd, junk, 64 * MiB) : IB_ERR_NOMEM;
	free(junk);
	return NULL;
}

/* A writer blocked on a stream whose device goes away is released
 * (EPIPE), even while echoed bytes wait unread; the reader then gets
 * those bytes, EOF, and why. */
IB_TEST(blocked_writer_is_released_when_the_device_goes)
{
	struct harness h;
	struct ib_stream *s = NULL;
	struct writer w = { -1, IB_ERR_INTERNAL };
	pthread_t th;
	uint64_t got;

	IB_CHECK_OK(h_start(&h, 1, NULL));
	IB_CHECK_OK(ib_usbmux_connect(h.mux, NULL, IB_SIM_PORT_ECHO, &s));
	w.fd = ib_stream_fd(s);
	IB_CHECK(pthread_create(&th, NULL, write_64m, &w) == 0);
	ib_sleep_ms(300);
	IB_CHECK_OK(ib_sim_dev_unplug(ib_sim_get(h.sim, 0)));
	pthread_join(th, NULL);
	IB_CHECK_ERR(w.result, IB_ERR_EOF);
	IB_CHECK_OK(h_read_to_eof(ib_stream_fd(s), &got));
	IB_CHECK(got > 0 && got < 64 * MiB);
	IB_CHECK_ERR(ib_stream_error(s), IB_ERR_NO_DEVICE);
	ib_stream_close(s);
	h_stop(&h);
}

/* A host app that does not read stalls only its own stream too. */
IB_TEST(slow_reader_on_host_stalls_only_its_stream)
{
	struct harness h;
	struct ib_stream *a = NULL;

	IB_CHECK_OK(h_start(&h, 1, NULL));
	IB_CHECK_OK(h_source_open(h.mux, NULL, 256 * MiB, 1, &a));
	IB_CHECK_OK(h_source(h.mux, NULL, 16 * MiB, 2));
	IB_CHECK_OK(h_sink(h.mux, NULL, 16 * MiB, 2));
	/* A was only parked: it still delivers the right bytes. */
	IB_CHECK_OK(h_source_check(ib_stream_fd(a), 4 * MiB, 1));
	ib_stream_close(a);
	h_stop(&h);
}

IB_TEST(free_with_streams_open_ends_them)
{
	struct harness h;
	struct ib_stream *a = NULL, *b = NULL;
	uint64_t got;

	IB_CHECK_OK(h_start(&h, 1, NULL));
	IB_CHECK_OK(h_source_open(h.mux, NULL, 64 * MiB, 1, &a));
	IB_CHECK_OK(ib_usbmux_connect(h.mux, NULL, IB_SIM_PORT_ECHO, &b));
	IB_CHECK_OK(h_source_check(ib_stream_fd(a), 100000, 1));
	ib_usbmux_free(h.mux);
	h.mux = NULL;
	IB_CHECK_OK(h_read_to_eof(ib_stream_fd(a), &got));
	IB_CHECK_OK(h_read_to_eof(ib_stream_fd(b), &got));
	IB_CHECK_ERR(ib_stream_error(a), IB_ERR_NO_DEVICE);
	IB_CHECK_ERR(ib_stream_error(b), IB_ERR_NO_DEVICE);
	ib_stream_close(a);
	ib_stream_close(b);
	h_stop(&h);
}

IB_TEST(closing_a_stream_resets_it_on_the_device)
{
	struct harness h;
	struct ib_stream *a = NULL;
	int i;

	IB_CHECK_OK(h_start(&h, 1, NULL));
	/* Many short-lived streams: each close must free both ends. */
	for (i = 0; i < 50; i++) {
		IB_CHECK_OK(h_source_open(h.mux, NULL, 64 * MiB, (uint64_t)i, &a));
		IB_CHECK_OK(h_source_check(ib_stream_fd(a), 1000, (uint64_t)i));
		ib_stream_close(a);
		a = NULL;
	}
	IB_CHECK_OK(h_source(h.mux, NULL, MiB, 1));
	h_stop(&h);
}

IB_TEST(pair_records_use_the_directory_store)
{
	static const char rec[] =
	    "<?xml version=\"1.0\"?><plist version=\"1.0\"><dict><key>HostID</key>"
	    "<string>X</string></dict></plist>";
	char dir[] = "/tmp/ib-sim-pairs-XXXXXX", spec[160];
	struct ib_usbmux_opts o = { 0 };
	struct ib_usbmux *m = NULL;
	struct harness h;
	uint8_t *data = NULL;
	size_t len;
	char *buid = NULL;

	IB_CHECK(mkdtemp(dir) != NULL);
	IB_CHECK_OK(h_start(&h, 1, NULL));
	snprintf(spec, sizeof(spec), "sim:%s", h.path);
	o.transport = spec;
	o.pair_record_dir = dir;
	IB_CHECK_OK(ib_usbmux_new(&o, &m));
	IB_CHECK_ERR(ib_usbmux_read_pair_record(m, h_udid(&h, 0), &data, &len), IB_ERR_NOT_FOUND);
	IB_CHECK_OK(ib_usbmux_save_pair_record(m, h_udid(&h, 0), (const uint8_t *)rec,
	    sizeof(rec) - 1));
	IB_CHECK_OK(ib_usbmux_read_pair_record(m, h_udid(&h, 0), &data, &len));
	IB_CHECK(len > 0);
	free(data);
	IB_CHECK_OK(ib_usbmux_delete_pair_record(m, h_udid(&h, 0)));
	IB_CHECK_OK(ib_usbmux_read_buid(m, &buid));
	IB_CHECK_EQ(strlen(buid), 36);
	free(buid);
	ib_usbmux_free(m);
	h_stop(&h);
	snprintf(spec, sizeof(spec), "rm -rf %s", dir);
	IB_CHECK(system(spec) == 0);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
