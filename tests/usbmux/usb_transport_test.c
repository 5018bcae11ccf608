/*
 * usb_transport_test.c - the "usb" transport end to end: ib_usbmux over
 * tr_usb.c, link_libusb.c and the libusb test double, whose devices are
 * virtual devices (ib_sim) reached through their USB descriptors and
 * bulk pipe. Lists, bulk data both ways through the test services,
 * hot attach and detach (hotplug and polling), unplug in the middle of
 * transfers, and the USB errors a user must be told about.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_libusb.h"
#include "ib_log.h"
#include "ib_sim.h"
#include "ib_test.h"
#include "ib_usbmux.h"
#include "ib_util.h"
#include "sim_harness.h"
#include "sim_test.h"
#include "usb_testlog.h"

#define MIB (1024u * 1024u)
#define WAIT_MS 30000

/* --- attach/detach events ------------------------------------------------ */

struct events {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned attached, detached;
	uint32_t last_handle;
};

static struct events ev = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0 };

static void
on_event(void *ctx, int attached, const struct ib_device *dev)
{
	struct events *e = ctx;

	pthread_mutex_lock(&e->mu);
	if (attached)
		e->attached++;
	else
		e->detached++;
	e->last_handle = dev->handle;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

static uint32_t
ev_last_handle(unsigned *attachedp)
{
	uint32_t h;

	pthread_mutex_lock(&ev.mu);
	h = ev.last_handle;
	if (attachedp != NULL)
		*attachedp = ev.attached;
	pthread_mutex_unlock(&ev.mu);
	return h;
}

/* Wait until at least n attach (or detach) events were seen. */
static int
wait_events(unsigned *counter, unsigned n)
{
	uint64_t until = ib_now_ms() + WAIT_MS;
	int ok;

	pthread_mutex_lock(&ev.mu);
	while (*counter < n && ib_now_ms() < until) {
		pthread_mutex_unlock(&ev.mu);
		ib_sleep_ms(10);
		pthread_mutex_lock(&ev.mu);
	}
	ok = *counter >= n;
	pthread_mutex_unlock(&ev.mu);
	return ok;
}

/* --- rig --------------------------------------------------------------------- */

struct rig {
	struct ib_sim *sim;
	struct ib_usbmux *mux;
	struct fake_usb_dev *fd[4];
	int nfd;
	int sub;
};

static const char *const no_knobs[] = { NULL };

static int
rig_sim(struct rig *r, int hotplug)
{
	memset(r, 0, sizeof(*r));
	fake_usb_reset();
	fake_usb_set_hotplug(hotplug);
	pthread_mutex_lock(&ev.mu);
	ev.attached = ev.detached = 0;
	pthread_mutex_unlock(&ev.mu);
	testlog_start(IB_LOG_INFO);
	return ib_sim_new(1, no_knobs, 4321, &r->sim);
}

/* A device on the fake bus; with sd, the virtual device behind it. */
static struct fake_usb_dev *
rig_plug(struct rig *r, const struct fake_usb_spec *spec, struct ib_sim_dev *sd,
    const struct fake_usb_plug_opts *extra)
{
	struct fake_usb_plug_opts o = { 0 };
	struct ib_mux_link link;
	struct fake_usb_dev *fd;

	if (extra != NULL)
		o = *extra;
	o.spec = spec;
	if (sd != NULL)
		o.serial = ib_sim_dev_identity(sd)->usb_serial;
	fd = fake_usb_plug(&o);
	if (sd != NULL && (fake_usb_dev_link(fd, &link) != IB_OK ||
	    ib_sim_dev_attach_link(sd, link) != IB_OK))
		abort();
	r->fd[r->nfd++] = fd;
	return fd;
}

static int
rig_open(struct rig *r)
{
	struct ib_usbmux_opts o = { .transport = "usb" };
	int ret;

	if ((ret = ib_usbmux_new(&o, &r->mux)) != IB_OK)
		return ret;
	return ib_usbmux_subscribe(r->mux, on_event, &ev, &r->sub);
}

/* Tear everything down; the double's live object count (0 = no leak). */
static unsigned
rig_close(struct rig *r)
{
	int i;

	ib_usbmux_free(r->mux);
	for (i = 0; i < r->nfd; i++) {
		fake_usb_unplug(r->fd[i]);
		fake_usb_put(r->fd[i]);
	}
	ib_sim_free(r->sim);
	testlog_stop();
	return fake_usb_live();
}

static const char *
udid0(struct rig *r)
{
	return ib_sim_dev_identity(ib_sim_get(r->sim, 0))->udid;
}

/* Every ZLP follows a packet that is a multiple of 512, and every such
 * packet is followed by one; returns how many packets needed one. */
static long
check_zlps(struct fake_usb_dev *fd)
{
	size_t n = fake_usb_out_lengths(fd, NULL, 0), i;
	uint32_t *l = calloc(n + 1, sizeof(*l));
	long multiples = 0;

	if (l == NULL)
		return -1;
	fake_usb_out_lengths(fd, l, n);
	for (i = 0; i < n; i++) {
		if (l[i] > 0 && l[i] % 512 == 0) {
			if (i + 1 >= n || l[i + 1] != 0) {
				fprintf(stderr, "    OUT %zu (%u bytes) has no ZLP after it\n", i, l[i]);
				multiples = -1;
				break;
			}
			multiples++;
		} else if (l[i] == 0 && (i == 0 || l[i - 1] == 0 || l[i - 1] % 512 != 0)) {
			fprintf(stderr, "    OUT %zu is a ZLP without reason\n", i);
			multiples = -1;
			break;
		}
	}
	free(l);
	return multiples;
}

/* --- tests --------------------------------------------------------------------- */

IB_TEST(usb_list_shows_the_phone_only)
{
	struct rig r;
	struct ib_device *devs = NULL;
	struct fake_usb_plug_opts at = { .bus = 2, .port = 5 };
	struct fake_usb_dev *fd;
	const struct ib_sim_identity *id;
	size_t n;

	IB_CHECK_OK(rig_sim(&r, 1));
	id = ib_sim_dev_identity(ib_sim_get(r.sim, 0));
	fd = rig_plug(&r, &fake_usb_iphone_initial, ib_sim_get(r.sim, 0), &at);
	rig_plug(&r, &fake_usb_not_apple, NULL, NULL);
	rig_plug(&r, &fake_usb_apple_no_mux, NULL, NULL);
	rig_plug(&r, &fake_usb_mac_1905, NULL, NULL);
	IB_CHECK_OK(rig_open(&r));
	IB_CHECK_OK(ib_usbmux_list(r.mux, &devs, &n));
	IB_CHECK_EQ(n, 1);
	/* the 24-character iSerialNumber, hyphenated, is the UDID */
	IB_CHECK_EQ(strlen(id->usb_serial), 24);
	IB_CHECK_STR(devs[0].udid, id->udid);
	IB_CHECK(devs[0].udid[8] == '-');
	IB_CHECK_EQ(devs[0].product_id, 0x12a8);
	IB_CHECK(devs[0].speed_bps == 480000000ull);
	IB_CHECK_EQ(devs[0].location,
	    (2u << 16) | libusb_get_device_address(fake_usb_device(fd)));
	IB_CHECK_EQ(devs[0].conn, IB_CONN_USB);
	IB_CHECK_STR(devs[0].conn_detail, "USB");
	IB_CHECK(strncmp(ib_usbmux_describe(r.mux), "usb (libusb ", 12) == 0);
	free(devs);
	/* the phone in CDC-NCM-only mode: one INFO line naming it */
	IB_CHECK(testlog_has("skipping 05ac:12a8: the device has no USB multiplexing interface"));
	/* the other vendor and the Mac: not a word */
	IB_CHECK(!testlog_has("18d1"));
	IB_CHECK(!testlog_has("1905"));
	IB_CHECK(testlog_worst() >= IB_LOG_INFO);
	IB_CHECK_EQ(fake_usb_active_config(fd), 4);
	IB_CHECK_EQ(rig_close(&r), 0);
}

struct writer {
	int fd;
	size_t n;
	int r;
};

static void *
writer_main(void *p)
{
	struct writer *w = p;
	uint8_t *buf = malloc(w->n);
	struct ib_sim_prng g;

	if (buf == NULL) {
		w->r = IB_ERR_NOMEM;
		return NULL;
	}
	ib_sim_prng_init(&g, 99);
	ib_sim_prng_fill(&g, buf, w->n);
	w->r = ib_sim_write_full(w->fd, buf, w->n);
	free(buf);
	return NULL;
}

IB_TEST(usb_bulk_data_both_ways)
{
	struct fake_usb_in_stats st;
	struct writer w = { 0 };
	struct ib_stream *s = NULL;
	struct ib_sim_prng g;
	struct fake_usb_dev *fd;
	pthread_t th;
	uint8_t *got, *want;
	long zlps;
	struct rig r;

	IB_CHECK_OK(rig_sim(&r, 1));
	fd = rig_plug(&r, &fake_usb_iphone_initial, ib_sim_get(r.sim, 0), NULL);
	IB_CHECK_OK(rig_open(&r));
	fake_usb_in_stats_reset(fd);
	/* echo: 4 MiB out and back at the same time */
	IB_CHECK_OK(ib_usbmux_connect(r.mux, udid0(&r), IB_SIM_PORT_ECHO, &s));
	w.fd = ib_stream_fd(s);
	w.n = 4 * MIB;
	IB_CHECK(pthread_create(&th, NULL, writer_main, &w) == 0);
	got = malloc(w.n);
	want = malloc(w.n);
	IB_CHECK(got != NULL && want != NULL);
	IB_CHECK_OK(ib_sim_read_full(ib_stream_fd(s), got, w.n));
	pthread_join(th, NULL);
	IB_CHECK_OK(w.r);
	ib_sim_prng_init(&g, 99);
	ib_sim_prng_fill(&g, want, w.n);
	IB_CHECK(memcmp(got, want, w.n) == 0);
	free(got);
	free(want);
	ib_stream_close(s);
	/* one way each, checked by the device (SHA-256) and by us */
	IB_CHECK_OK(h_sink(r.mux, udid0(&r), 3 * MIB + 17, 5));
	IB_CHECK_OK(h_source(r.mux, udid0(&r), 3 * MIB + 23, 6));
	fake_usb_in_stats(fd, &st);
	fprintf(stderr, "  %lu IN completions, fewest IN transfers queued after one: %u\n",
	    st.callbacks, st.min_after_cb);
	IB_CHECK(st.callbacks > 200);
	IB_CHECK(st.min_after_cb >= 3);
	IB_CHECK_EQ(st.dev_drops, 0);
	zlps = check_zlps(fd);
	fprintf(stderr, "  %ld OUT packets were followed by a ZLP\n", zlps);
	IB_CHECK(zlps > 50);
	IB_CHECK_EQ(rig_close(&r), 0);
}

static void
unplug_mid_transfer(int from_device)
{
	struct ib_stream *echo = NULL, *src = NULL, *late = NULL;
	struct ib_device *devs = NULL;
	struct fake_usb_dev *fd;
	uint8_t buf[65536];
	uint64_t got = 0;
	size_t n;
	struct rig r;

	IB_CHECK_OK(rig_sim(&r, 1));
	fd = rig_plug(&r, &fake_usb_iphone_initial, ib_sim_get(r.sim, 0), NULL);
	IB_CHECK_OK(rig_open(&r));
	IB_CHECK_OK(ib_usbmux_connect(r.mux, udid0(&r), IB_SIM_PORT_ECHO, &echo));
	IB_CHECK_OK(h_source_open(r.mux, udid0(&r), 1024ull * MIB, 7, &src));
	memset(buf, 0x5a, sizeof(buf));
	IB_CHECK_OK(ib_sim_write_full(ib_stream_fd(echo), buf, sizeof(buf)));
	IB_CHECK_OK(ib_sim_read_full(ib_stream_fd(echo), buf, sizeof(buf)));
	IB_CHECK_OK(ib_sim_read_full(ib_stream_fd(src), buf, sizeof(buf)));
	if (from_device)
		IB_CHECK_OK(ib_sim_dev_unplug(ib_sim_get(r.sim, 0)));
	else
		fake_usb_unplug(fd);
	/* both streams end, with the reason */
	IB_CHECK_OK(h_read_to_eof(ib_stream_fd(src), &got));
	IB_CHECK(got < 1024ull * MIB);
	IB_CHECK_ERR(ib_stream_error(src), IB_ERR_NO_DEVICE);
	IB_CHECK_OK(h_read_to_eof(ib_stream_fd(echo), NULL));
	IB_CHECK_ERR(ib_stream_error(echo), IB_ERR_NO_DEVICE);
	IB_CHECK(wait_events(&ev.detached, 1));
	IB_CHECK_OK(ib_usbmux_list(r.mux, &devs, &n));
	IB_CHECK_EQ(n, 0);
	free(devs);
	IB_CHECK(ib_usbmux_connect(r.mux, udid0(&r), IB_SIM_PORT_ECHO, &late) != IB_OK);
	IB_CHECK(late == NULL);
	ib_stream_close(src);
	ib_stream_close(echo);
	IB_CHECK_EQ(rig_close(&r), 0);
}

IB_TEST(usb_unplug_mid_transfer_host_side)
{
	unplug_mid_transfer(0);
}

IB_TEST(usb_unplug_mid_transfer_device_side)
{
	unplug_mid_transfer(1);
}

static void
hot_attach_detach(int hotplug)
{
	struct ib_device *devs = NULL;
	struct fake_usb_dev *fd;
	uint32_t first;
	size_t n;
	struct rig r;

	IB_CHECK_OK(rig_sim(&r, hotplug));
	IB_CHECK_OK(rig_open(&r));
	IB_CHECK_OK(ib_usbmux_list(r.mux, &devs, &n));
	IB_CHECK_EQ(n, 0);
	free(devs);
	fd = rig_plug(&r, &fake_usb_iphone_initial, ib_sim_get(r.sim, 0), NULL);
	IB_CHECK(wait_events(&ev.attached, 1));
	first = ev_last_handle(NULL);
	IB_CHECK_OK(h_source(r.mux, udid0(&r), 100000, 3));
	fake_usb_unplug(fd);
	IB_CHECK(wait_events(&ev.detached, 1));
	IB_CHECK_EQ(ev_last_handle(NULL), first);
	IB_CHECK_OK(h_wait_count(r.mux, 0));
	/* plugged in again: a new handle, and it works */
	rig_plug(&r, &fake_usb_iphone_initial, ib_sim_get(r.sim, 0), NULL);
	IB_CHECK(wait_events(&ev.attached, 2));
	IB_CHECK(ev_last_handle(NULL) != first);
	IB_CHECK_OK(h_sink(r.mux, udid0(&r), 100000, 4));
	IB_CHECK_EQ(rig_close(&r), 0);
}

IB_TEST(usb_hot_attach_detach_hotplug)
{
	hot_attach_detach(1);
}

IB_TEST(usb_hot_attach_detach_polling)
{
	hot_attach_detach(0);
}

IB_TEST(usb_attached_only_after_version)
{
	/* The device is on the bus but nothing answers its mux pipe yet:
	 * it is not listed until the VERSION reply comes. */
	struct ib_sim_dev *sd;
	struct ib_mux_link link;
	struct ib_device *devs = NULL;
	struct fake_usb_plug_opts o = { .spec = &fake_usb_iphone_initial };
	unsigned n_att;
	size_t n;
	struct rig r;

	IB_CHECK_OK(rig_sim(&r, 1));
	sd = ib_sim_get(r.sim, 0);
	IB_CHECK_OK(rig_open(&r));
	o.serial = ib_sim_dev_identity(sd)->usb_serial;
	r.fd[r.nfd++] = fake_usb_plug(&o);
	ib_sleep_ms(500);
	IB_CHECK_OK(ib_usbmux_list(r.mux, &devs, &n));
	free(devs);
	IB_CHECK_EQ(n, 0);
	(void)ev_last_handle(&n_att);
	IB_CHECK_EQ(n_att, 0);
	IB_CHECK_OK(fake_usb_dev_link(r.fd[0], &link));
	IB_CHECK_OK(ib_sim_dev_attach_link(sd, link));
	IB_CHECK(wait_events(&ev.attached, 1));
	IB_CHECK_OK(h_wait_count(r.mux, 1));
	IB_CHECK_EQ(rig_close(&r), 0);
}

IB_TEST(usb_set_configuration_busy_falls_back)
{
	struct fake_usb_dev *fd;
	struct rig r;

	IB_CHECK_OK(rig_sim(&r, 1));
	fd = rig_plug(&r, &fake_usb_iphone_initial, ib_sim_get(r.sim, 0), NULL);
	fake_usb_set_config_error(fd, 4, LIBUSB_ERROR_BUSY);
	IB_CHECK_OK(rig_open(&r));
	IB_CHECK_EQ(fake_usb_active_config(fd), 3);
	IB_CHECK(testlog_has("setting configuration 4 failed: another program holds the USB "
	    "device (is usbmuxd running?)"));
	IB_CHECK(testlog_has("trying the next lower one"));
	IB_CHECK_OK(h_source(r.mux, udid0(&r), 200000, 8));
	IB_CHECK_EQ(rig_close(&r), 0);
}

static void
open_fails(const struct fake_usb_plug_opts *o, int want, const char *sentence)
{
	struct ib_usbmux_opts mo = { .transport = "usb" };
	struct ib_usbmux *m = NULL;
	struct rig r;

	IB_CHECK_OK(rig_sim(&r, 1));
	rig_plug(&r, &fake_usb_iphone_initial, ib_sim_get(r.sim, 0), o);
	IB_CHECK_ERR(ib_usbmux_new(&mo, &m), want);
	IB_CHECK(strstr(ib_strerror(want), sentence) != NULL);
	IB_CHECK(strstr(ib_err_detail(), "usb ") != NULL);
	fprintf(stderr, "  %s: %s\n", ib_strerror(want), ib_err_detail());
	IB_CHECK_EQ(rig_close(&r), 0);
}

IB_TEST(usb_device_held_by_another_program)
{
	struct fake_usb_plug_opts o = { .claim_error = LIBUSB_ERROR_BUSY };

	open_fails(&o, IB_ERR_USB_BUSY, "is usbmuxd running?");
}

IB_TEST(usb_permission_denied)
{
	struct fake_usb_plug_opts o = { .open_error = LIBUSB_ERROR_ACCESS };

	open_fails(&o, IB_ERR_USB_ACCESS, "run as root or add a udev rule");
}

IB_TEST(usb_nothing_plugged_is_quiet)
{
	struct ib_device *devs = NULL;
	size_t n;
	struct rig r;

	IB_CHECK_OK(rig_sim(&r, 1));
	rig_plug(&r, &fake_usb_not_apple, NULL, NULL);
	IB_CHECK_OK(rig_open(&r));
	IB_CHECK_OK(ib_usbmux_list(r.mux, &devs, &n));
	IB_CHECK_EQ(n, 0);
	free(devs);
	IB_CHECK(testlog_worst() > IB_LOG_WARN);
	IB_CHECK_EQ(rig_close(&r), 0);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
