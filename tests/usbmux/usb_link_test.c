/*
 * usb_link_test.c - the libusb mux link (link_libusb.c) against the
 * libusb test double, with the device's end of the pipe driven by hand:
 * the zero-length-packet rule, IN reassembly, transfers kept queued,
 * bounded memory, every transfer failure, unplug, and freeing a link
 * whose cancellations never complete.
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_libusb.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_test.h"
#include "ib_util.h"
#include "link_libusb.h"
#include "usb_testlog.h"

#define WAIT_MS 5000

/* --- rig: fake bus, event thread, claimed device, both link ends ----------- */

struct rig {
	libusb_context *ctx;
	pthread_t ev;
	int stop;
	struct fake_usb_dev *fd;
	struct ib_mux_link host, dev;
	int host_alive;
};

static void *
ev_main(void *p)
{
	struct rig *r = p;
	struct timeval tv = { 0, 50000 };

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE))
		libusb_handle_events_timeout_completed(r->ctx, &tv, &r->stop);
	return NULL;
}

static int
rig_open(struct rig *r, const struct fake_usb_spec *spec)
{
	struct fake_usb_plug_opts o = { .spec = spec };
	struct ib_usb_mux_iface mi;
	libusb_device_handle *h;
	int ret;

	memset(r, 0, sizeof(*r));
	fake_usb_reset();
	testlog_start(IB_LOG_INFO);
	if (libusb_init(&r->ctx) != 0 || pthread_create(&r->ev, NULL, ev_main, r) != 0)
		return IB_ERR_INTERNAL;
	r->fd = fake_usb_plug(&o);
	if (libusb_open(fake_usb_device(r->fd), &h) != 0)
		return IB_ERR_INTERNAL;
	if ((ret = ib_usb_claim_mux(h, "1-1", &mi)) != IB_OK) {
		libusb_close(h);
		return ret;
	}
	if ((ret = ib_mux_link_libusb_new(h, &mi, "1-1", &r->host)) != IB_OK) {
		libusb_close(h);
		return ret;
	}
	r->host_alive = 1;
	return fake_usb_dev_link(r->fd, &r->dev);
}

static void
rig_free_host(struct rig *r)
{
	if (r->host_alive)
		r->host.ops->free(r->host.impl);
	r->host_alive = 0;
}

/* Tear down; returns the double's live object count (0 = no leak). */
static unsigned
rig_close(struct rig *r)
{
	rig_free_host(r);
	if (r->dev.ops != NULL)
		r->dev.ops->free(r->dev.impl);
	fake_usb_put(r->fd);
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	libusb_interrupt_event_handler(r->ctx);
	pthread_join(r->ev, NULL);
	libusb_exit(r->ctx);
	testlog_stop();
	return fake_usb_live();
}

/* Next packet from a link end, polling as the mux runtime does. */
static int
link_wait(struct ib_mux_link *l, const uint8_t **pp, size_t *np, int ms)
{
	uint64_t until = ib_now_ms() + (uint64_t)ms;
	struct pollfd pfd;
	int r;

	for (;;) {
		if ((r = l->ops->recv(l->impl, pp, np)) != IB_ERR_WOULD_BLOCK)
			return r;
		if (ib_now_ms() >= until)
			return IB_ERR_TIMEOUT;
		l->ops->pollfd(l->impl, &pfd);
		if (poll(&pfd, 1, 20) < 0)
			return IB_ERR_SYSTEM;
		if ((r = l->ops->service(l->impl, pfd.revents)) != IB_OK)
			return r;
	}
}

/* Service a link end until it reports an error (or time runs out). */
static int
link_wait_dead(struct ib_mux_link *l, int ms)
{
	uint64_t until = ib_now_ms() + (uint64_t)ms;
	struct pollfd pfd;
	int r;

	while (ib_now_ms() < until) {
		l->ops->pollfd(l->impl, &pfd);
		(void)poll(&pfd, 1, 20);
		if ((r = l->ops->service(l->impl, pfd.revents)) != IB_OK)
			return r;
	}
	return IB_OK;
}

/* A well-formed mux packet of len bytes (v1 header: protocol, length)
 * followed by a pattern derived from seed. */
static uint8_t *
make_pkt(size_t len, uint32_t seed)
{
	uint8_t *p = malloc(len);
	size_t i;

	if (p == NULL)
		abort();
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
	if (len >= 8) {
		p[0] = 0, p[1] = 0, p[2] = 0, p[3] = 6;
		p[4] = (uint8_t)(len >> 24), p[5] = (uint8_t)(len >> 16);
		p[6] = (uint8_t)(len >> 8), p[7] = (uint8_t)len;
	}
	return p;
}

static int
wait_out_count(struct fake_usb_dev *fd, size_t want)
{
	uint64_t until = ib_now_ms() + WAIT_MS;

	while (fake_usb_out_lengths(fd, NULL, 0) < want && ib_now_ms() < until)
		ib_sleep_ms(2);
	return fake_usb_out_lengths(fd, NULL, 0) == want;
}

/* IN transfers pending on the device reach want (callbacks run on the
 * event thread, so give them time). */
static unsigned
wait_in_flight(struct fake_usb_dev *fd, unsigned want)
{
	uint64_t until = ib_now_ms() + WAIT_MS;
	struct fake_usb_in_stats st;

	for (;;) {
		fake_usb_in_stats(fd, &st);
		if (st.in_flight == want || ib_now_ms() >= until)
			return st.in_flight;
		ib_sleep_ms(2);
	}
}

/* --- TX: one packet per transfer, ZLP after multiples of wMaxPacketSize ---- */

static void
check_zlp(const struct fake_usb_spec *spec, const size_t *lens, size_t n,
    const uint32_t *want, size_t nwant)
{
	struct rig r;
	uint32_t got[32];
	const uint8_t *pkt;
	size_t i, len;
	uint8_t *p;

	IB_CHECK_OK(rig_open(&r, spec));
	for (i = 0; i < n; i++) {
		p = make_pkt(lens[i], (uint32_t)i);
		IB_CHECK_OK(r.host.ops->send(r.host.impl, p, lens[i]));
		free(p);
	}
	IB_CHECK(wait_out_count(r.fd, nwant));
	IB_CHECK_EQ(fake_usb_out_lengths(r.fd, got, 32), nwant);
	for (i = 0; i < nwant; i++) {
		if (got[i] != want[i])
			fprintf(stderr, "    OUT transfer %zu: %u bytes, wanted %u\n", i, got[i], want[i]);
		IB_CHECK_EQ(got[i], want[i]);
	}
	/* and the device framed every packet intact */
	for (i = 0; i < n; i++) {
		IB_CHECK_OK(link_wait(&r.dev, &pkt, &len, WAIT_MS));
		IB_CHECK_EQ(len, lens[i]);
		p = make_pkt(lens[i], (uint32_t)i);
		IB_CHECK(memcmp(pkt, p, len) == 0);
		free(p);
	}
	IB_CHECK_EQ(rig_close(&r), 0);
}

IB_TEST(zlp_after_multiples_of_512)
{
	static const size_t lens[] = { 512, 1024, 511, 513 };
	static const uint32_t want[] = { 512, 0, 1024, 0, 511, 513 };

	check_zlp(&fake_usb_iphone_initial, lens, 4, want, 6);
}

IB_TEST(zlp_follows_the_descriptor)
{
	/* full speed: 64-byte packets; SuperSpeed: 1024 */
	static const size_t fs[] = { 64, 100, 128, 512 };
	static const uint32_t fs_want[] = { 64, 0, 100, 128, 0, 512, 0 };
	static const size_t ss[] = { 512, 1024, 49152 };
	static const uint32_t ss_want[] = { 512, 1024, 0, 49152, 0 };

	check_zlp(&fake_usb_iphone_fs64, fs, 4, fs_want, 7);
	check_zlp(&fake_usb_iphone_ss, ss, 3, ss_want, 5);
}

static void LIBUSB_CALL
noop_cb(struct libusb_transfer *t)
{
	(void)t;
}

IB_TEST(double_merges_packets_without_zlp)
{
	/* The double behaves like the phone: without the ZLP, a 512-byte
	 * packet runs into the next one, so the ZLP test above can fail. */
	struct rig r;
	struct libusb_transfer *t[2];
	const uint8_t *pkt;
	uint8_t *a = make_pkt(512, 1), *b = make_pkt(20, 2);
	libusb_device_handle *h;
	struct fake_usb_in_stats st;
	size_t len;
	int i;

	IB_CHECK_OK(rig_open(&r, &fake_usb_iphone_initial));
	rig_free_host(&r);      /* releases the interface */
	IB_CHECK_EQ(libusb_open(fake_usb_device(r.fd), &h), 0);
	IB_CHECK_EQ(libusb_claim_interface(h, 1), 0);
	for (i = 0; i < 2; i++) {
		t[i] = libusb_alloc_transfer(0);
		libusb_fill_bulk_transfer(t[i], h, 0x04, i == 0 ? a : b, i == 0 ? 512 : 20,
		    noop_cb, NULL, 0);
	}
	IB_CHECK_EQ(libusb_submit_transfer(t[0]), 0);
	IB_CHECK_EQ(libusb_submit_transfer(t[1]), 0);
	IB_CHECK_OK(link_wait(&r.dev, &pkt, &len, WAIT_MS));
	IB_CHECK_EQ(len, 532);
	fake_usb_in_stats(r.fd, &st);
	IB_CHECK_EQ(st.dev_drops, 0);
	ib_sleep_ms(100);       /* both completions delivered (no callback) */
	for (i = 0; i < 2; i++)
		libusb_free_transfer(t[i]);
	libusb_release_interface(h, 1);
	libusb_close(h);
	free(a);
	free(b);
	IB_CHECK_EQ(rig_close(&r), 0);
}

IB_TEST(version_exchange_scripted)
{
	/* usbmux.md 2.2: VERSION with the 8-byte header, major 2; the
	 * scripted device answers with the same bytes */
	static const uint8_t version[20] = { 0, 0, 0, 0, 0, 0, 0, 0x14, 0, 0, 0, 2 };
	const uint8_t *pkt;
	size_t len;
	struct rig r;

	IB_CHECK_OK(rig_open(&r, &fake_usb_iphone_initial));
	IB_CHECK_OK(r.host.ops->send(r.host.impl, version, sizeof(version)));
	IB_CHECK_OK(link_wait(&r.dev, &pkt, &len, WAIT_MS));
	IB_CHECK_EQ(len, 20);
	IB_CHECK(memcmp(pkt, version, 20) == 0);
	IB_CHECK_OK(r.dev.ops->send(r.dev.impl, pkt, len));
	IB_CHECK_OK(link_wait(&r.host, &pkt, &len, WAIT_MS));
	IB_CHECK_EQ(len, 20);
	IB_CHECK(memcmp(pkt, version, 20) == 0);
	IB_CHECK_EQ(fake_usb_out_lengths(r.fd, NULL, 0), 1);
	IB_CHECK_EQ(rig_close(&r), 0);
}

IB_TEST(send_limits)
{
	struct rig r;
	uint8_t *p = make_pkt(IB_MUX_MTU + 1, 0);

	IB_CHECK_OK(rig_open(&r, &fake_usb_iphone_initial));
	IB_CHECK_ERR(r.host.ops->send(r.host.impl, p, IB_MUX_MTU + 1), IB_ERR_TOO_LARGE);
	IB_CHECK_ERR(r.host.ops->send(r.host.impl, p, 0), IB_ERR_INVALID_ARG);
	IB_CHECK_STR(r.host.ops->describe(r.host.impl),
	    "usb 1-1 (config 4, if 1, ep 04/85, mps 512)");
	free(p);
	IB_CHECK_EQ(rig_close(&r), 0);
}

IB_TEST(queued_counts_unaccepted_bytes)
{
	/* The device stops reading after 256 KiB: OUT transfers stay
	 * pending, queued() says so, and drops once it reads again. */
	struct rig r;
	const uint8_t *pkt;
	size_t len, i, got = 0;
	uint8_t *p = make_pkt(40000, 9);
	uint64_t until;

	IB_CHECK_OK(rig_open(&r, &fake_usb_iphone_initial));
	for (i = 0; i < 16; i++)
		IB_CHECK_OK(r.host.ops->send(r.host.impl, p, 40000));
	until = ib_now_ms() + WAIT_MS;
	while (r.host.ops->queued(r.host.impl) > 16 * 40000 - 7 * 40000 && ib_now_ms() < until)
		ib_sleep_ms(2);
	IB_CHECK(r.host.ops->queued(r.host.impl) > 0);
	IB_CHECK(r.host.ops->queued(r.host.impl) <= 16 * 40000);
	while (got < 16 && link_wait(&r.dev, &pkt, &len, WAIT_MS) == IB_OK) {
		IB_CHECK_EQ(len, 40000);
		IB_CHECK(memcmp(pkt, p, len) == 0);
		got++;
	}
	IB_CHECK_EQ(got, 16);
	until = ib_now_ms() + WAIT_MS;
	while (r.host.ops->queued(r.host.impl) > 0 && ib_now_ms() < until)
		(void)link_wait_dead(&r.host, 10);
	IB_CHECK_EQ(r.host.ops->queued(r.host.impl), 0);
	free(p);
	IB_CHECK_EQ(rig_close(&r), 0);
}

/* --- RX: reassembly per usbmux.md 1.3 ------------------------------------ */

static void
expect_packets(struct rig *r, const size_t *lens, size_t n, uint32_t seed0)
{
	const uint8_t *pkt;
	uint8_t *want;
	size_t i, len;

	for (i = 0; i < n; i++) {
		IB_CHECK_OK(link_wait(&r->host, &pkt, &len, WAIT_MS));
		if (len != lens[i])
			fprintf(stderr, "    packet %zu: %zu bytes, wanted %zu\n", i, len, lens[i]);
		IB_CHECK_EQ(len, lens[i]);
		want = make_pkt(lens[i], seed0 + (uint32_t)i);
		IB_CHECK(memcmp(pkt, want, len) == 0);
		free(want);
	}
}

IB_TEST(rx_sizes_around_transfer_boundaries)
{
	static const size_t lens[] = { 20, 8, 512, 16383, 16384, 16385, 32768, 40000,
	    49152, 49153, IB_MUX_MRU };
	size_t i, n = IB_ARRAY_LEN(lens);
	struct rig r;
	uint8_t *p;

	IB_CHECK_OK(rig_open(&r, &fake_usb_iphone_initial));
	for (i = 0; i < n; i++) {
		p = make_pkt(lens[i], (uint32_t)i);
		IB_CHECK_OK(r.dev.ops->send(r.dev.impl, p, lens[i]));
		free(p);
	}
	expect_packets(&r, lens, n, 0);
	IB_CHECK(!testlog_has("dropped"));
	IB_CHECK_EQ(rig_close(&r), 0);
}

IB_TEST(rx_random_sizes)
{
	enum { N = 300 };
	static size_t lens[N];
	uint32_t x = 12345;
	struct rig r;
	uint8_t *p;
	size_t i;

	IB_CHECK_OK(rig_open(&r, &fake_usb_iphone_initial));
	for (i = 0; i < N; i++) {
		x = x * 1103515245u + 12345u;
		lens[i] = 8 + (x >> 8) % (IB_MUX_MRU - 7);
		if (i % 5 == 0)
			lens[i] = IB_USB_RX_SIZE * (1 + i % 4);   /* exact multiples */
		p = make_pkt(lens[i], 1000 + (uint32_t)i);
		IB_CHECK_OK(r.dev.ops->send(r.dev.impl, p, lens[i]));
		free(p);
		/* keep the device queue moving */
		if (i % 8 == 7)
			expect_packets(&r, lens + i - 7, 8, 1000 + (uint32_t)i - 7);
	}
	IB_CHECK(!testlog_has("dropped"));
	IB_CHECK_EQ(rig_close(&r), 0);
}

IB_TEST(rx_drops_bad_framing)
{
	/* oversize (> IB_MUX_MRU), header longer than the data, header
	 * shorter than the data, shorter than a header: each dropped with a
	 * log line, and the good packets around them still arrive */
	static const size_t good[] = { 100, 20000, 30 };
	struct rig r;
	uint8_t *p;

	IB_CHECK_OK(rig_open(&r, &fake_usb_iphone_initial));
	p = make_pkt(100, 0);
	IB_CHECK_OK(r.dev.ops->send(r.dev.impl, p, 100));
	free(p);
	p = make_pkt(IB_MUX_MRU + 1, 77);
	IB_CHECK_OK(r.dev.ops->send(r.dev.impl, p, IB_MUX_MRU + 1));
	free(p);
	p = make_pkt(20000, 1);
	IB_CHECK_OK(r.dev.ops->send(r.dev.impl, p, 20000));
	free(p);
	p = make_pkt(50, 77);
	p[7] = 100;     /* says 100, carries 50 */
	IB_CHECK_OK(r.dev.ops->send(r.dev.impl, p, 50));
	p[7] = 40;      /* says 40, carries 50 */
	IB_CHECK_OK(r.dev.ops->send(r.dev.impl, p, 50));
	IB_CHECK_OK(r.dev.ops->send(r.dev.impl, p, 5));
	free(p);
	p = make_pkt(16384, 77);
	p[5] = 0x01;    /* a full first transfer asking for 81920: continues, */
	p[6] = 0x40;    /* then ends short of that */
	IB_CHECK_OK(r.dev.ops->send(r.dev.impl, p, 16384));
	free(p);
	/* swallowed by the unfinished packet before it, as usbmuxd does */
	p = make_pkt(30, 99);
	IB_CHECK_OK(r.dev.ops->send(r.dev.impl, p, 30));
	free(p);
	p = make_pkt(30, 2);
	IB_CHECK_OK(r.dev.ops->send(r.dev.impl, p, 30));
	free(p);
	expect_packets(&r, good, 3, 0);
	IB_CHECK(testlog_has("dropped a 16414-byte mux packet: shorter than its header says"));
	IB_CHECK(testlog_has("dropped a 65537-byte mux packet: larger than IB_MUX_MRU"));
	IB_CHECK(testlog_has("dropped a 50-byte mux packet: shorter than its header says"));
	IB_CHECK(testlog_has("dropped a 50-byte mux packet: longer than its header says"));
	IB_CHECK(testlog_has("dropped a 5-byte mux packet: shorter than a mux header"));
	IB_CHECK_EQ(rig_close(&r), 0);
}

IB_TEST(rx_transfers_stay_queued)
{
	/* 8 MiB device->host while the host consumes: after every IN
	 * completion the link has its transfers back with the device */
	struct fake_usb_in_stats st;
	size_t i, len, n = 8u * 1024 * 1024 / 49152;
	const uint8_t *pkt;
	struct rig r;
	uint8_t *p = make_pkt(49152, 3);

	IB_CHECK_OK(rig_open(&r, &fake_usb_iphone_initial));
	fake_usb_in_stats_reset(r.fd);
	for (i = 0; i < n; i++) {
		IB_CHECK_OK(r.dev.ops->send(r.dev.impl, p, 49152));
		IB_CHECK_OK(link_wait(&r.host, &pkt, &len, WAIT_MS));
		IB_CHECK_EQ(len, 49152);
	}
	fake_usb_in_stats(r.fd, &st);
	fprintf(stderr, "  %lu IN completions, fewest queued after one: %u\n", st.callbacks,
	    st.min_after_cb);
	IB_CHECK(st.callbacks >= 3 * n);
	IB_CHECK(st.min_after_cb >= 3);
	IB_CHECK_EQ(st.min_after_cb, IB_USB_RX_XFERS);
	IB_CHECK_EQ(wait_in_flight(r.fd, IB_USB_RX_XFERS), IB_USB_RX_XFERS);
	free(p);
	IB_CHECK_EQ(rig_close(&r), 0);
}

IB_TEST(rx_memory_is_bounded)
{
	/* The host stops reading: the link parks its transfers after its
	 * queue cap, the rest stays on the device (NAK); then everything
	 * arrives, in order. */
	enum { N = 64 };
	static size_t lens[N];
	struct rig r;
	size_t i;
	uint8_t *p;

	IB_CHECK_OK(rig_open(&r, &fake_usb_iphone_initial));
	for (i = 0; i < N; i++) {
		lens[i] = 49152;
		p = make_pkt(lens[i], (uint32_t)i);
		IB_CHECK_OK(r.dev.ops->send(r.dev.impl, p, lens[i]));
		free(p);
	}
	IB_CHECK_EQ(wait_in_flight(r.fd, 0), 0);
	/* at most the 512 KiB queue plus the parked transfers left it */
	IB_CHECK(r.dev.ops->queued(r.dev.impl) >= (size_t)N * 49152 - 512 * 1024 -
	    IB_USB_RX_XFERS * IB_USB_RX_SIZE);
	expect_packets(&r, lens, N, 0);
	IB_CHECK_EQ(wait_in_flight(r.fd, IB_USB_RX_XFERS), IB_USB_RX_XFERS);
	IB_CHECK_EQ(r.dev.ops->queued(r.dev.impl), 0);
	IB_CHECK_EQ(rig_close(&r), 0);
}

/* --- deaths ------------------------------------------------------------------- */

static void
check_death(uint8_t ep, int status, const char *name)
{
	struct rig r;
	uint8_t *p = make_pkt(100, 0);

	IB_CHECK_OK(rig_open(&r, &fake_usb_iphone_initial));
	fake_usb_fail_endpoint(r.fd, ep, status);
	if (ep == 0x04)
		IB_CHECK_OK(r.host.ops->send(r.host.impl, p, 100));
	IB_CHECK_ERR(link_wait_dead(&r.host, WAIT_MS), IB_ERR_NO_DEVICE);
	IB_CHECK_ERR(r.host.ops->send(r.host.impl, p, 100), IB_ERR_NO_DEVICE);
	if (!testlog_has(name))
		testlog_dump();
	IB_CHECK(testlog_has(name));
	IB_CHECK(testlog_has(ep == 0x04 ? "bulk OUT" : "bulk IN"));
	free(p);
	IB_CHECK_EQ(rig_close(&r), 0);
}

IB_TEST(every_failed_status_kills_the_link)
{
	static const struct { int status; const char *name; } st[] = {
		{ LIBUSB_TRANSFER_ERROR, "LIBUSB_TRANSFER_ERROR" },
		{ LIBUSB_TRANSFER_TIMED_OUT, "LIBUSB_TRANSFER_TIMED_OUT" },
		{ LIBUSB_TRANSFER_CANCELLED, "LIBUSB_TRANSFER_CANCELLED" },
		{ LIBUSB_TRANSFER_STALL, "LIBUSB_TRANSFER_STALL" },
		{ LIBUSB_TRANSFER_NO_DEVICE, "LIBUSB_TRANSFER_NO_DEVICE" },
		{ LIBUSB_TRANSFER_OVERFLOW, "LIBUSB_TRANSFER_OVERFLOW" },
	};
	size_t i;

	for (i = 0; i < IB_ARRAY_LEN(st); i++) {
		check_death(0x85, st[i].status, st[i].name);
		check_death(0x04, st[i].status, st[i].name);
	}
}

IB_TEST(unplug_kills_the_link)
{
	struct rig r;
	uint8_t *p = make_pkt(49152, 0);
	int i;

	IB_CHECK_OK(rig_open(&r, &fake_usb_iphone_initial));
	for (i = 0; i < 10; i++) {
		IB_CHECK_OK(r.host.ops->send(r.host.impl, p, 49152));
		IB_CHECK_OK(r.dev.ops->send(r.dev.impl, p, 49152));
	}
	fake_usb_unplug(r.fd);
	IB_CHECK_ERR(link_wait_dead(&r.host, WAIT_MS), IB_ERR_NO_DEVICE);
	/* a completion or a resubmission saw it first */
	IB_CHECK(testlog_has("NO_DEVICE"));
	IB_CHECK_ERR(r.host.ops->send(r.host.impl, p, 100), IB_ERR_NO_DEVICE);
	IB_CHECK_ERR(r.dev.ops->send(r.dev.impl, p, 100), IB_ERR_NO_DEVICE);
	free(p);
	IB_CHECK_EQ(rig_close(&r), 0);
}

IB_TEST(free_with_transfers_in_flight)
{
	/* OUT transfers stuck behind a device that does not read, IN
	 * transfers waiting: free() cancels them all and waits */
	struct rig r;
	uint8_t *p = make_pkt(49152, 0);
	int i;

	IB_CHECK_OK(rig_open(&r, &fake_usb_iphone_initial));
	for (i = 0; i < 20; i++)
		IB_CHECK_OK(r.host.ops->send(r.host.impl, p, 49152));
	rig_free_host(&r);
	free(p);
	IB_CHECK_EQ(rig_close(&r), 0);
}

IB_TEST(free_does_not_hang_on_stuck_cancel)
{
	struct rig r;
	uint64_t t0, dt;
	uint8_t *p = make_pkt(512, 0);

	IB_CHECK_OK(rig_open(&r, &fake_usb_iphone_initial));
	IB_CHECK_OK(r.host.ops->send(r.host.impl, p, 512));
	/* the packet and its ZLP are through: only the IN transfers stick */
	IB_CHECK(wait_out_count(r.fd, 2));
	IB_CHECK(fake_usb_wait_idle(WAIT_MS));
	fake_usb_set_cancel_stuck(r.fd, 1);
	t0 = ib_now_ms();
	rig_free_host(&r);
	dt = ib_now_ms() - t0;
	fprintf(stderr, "  free() gave up after %llu ms\n", (unsigned long long)dt);
	IB_CHECK(dt < 10000);
	IB_CHECK(testlog_has("did not come back"));
	/* late callbacks (real libusb drops them at close) are harmless
	 * and the last one releases the orphaned link */
	IB_CHECK_EQ(fake_usb_release_orphans(), IB_USB_RX_XFERS);
	/* left: the context and the device; the last callback freed the
	 * link and its transfers */
	IB_CHECK(fake_usb_wait_idle(WAIT_MS));
	IB_CHECK_EQ(fake_usb_live(), 2);
	free(p);
	IB_CHECK_EQ(rig_close(&r), 0);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
