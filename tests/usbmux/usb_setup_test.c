/*
 * usb_setup_test.c - choosing and claiming the mux interface, serial,
 * speed and mode reading (usb_setup.c), against the libusb test double
 * with descriptor sets built from real iPhone descriptor bytes.
 */
#include <stdio.h>
#include <string.h>

#include "fake_libusb.h"
#include "ib_log.h"
#include "ib_test.h"
#include "ib_usbmux.h"
#include "link_libusb.h"
#include "usb_testlog.h"

/* --- a device on the fake bus ---------------------------------------------- */

struct rig {
	libusb_context *ctx;
	struct fake_usb_dev *fd;
	libusb_device_handle *h;
};

static int
rig_open(struct rig *r, const struct fake_usb_plug_opts *o)
{
	memset(r, 0, sizeof(*r));
	fake_usb_reset();
	if (libusb_init(&r->ctx) != 0)
		return -1;
	r->fd = fake_usb_plug(o);
	return libusb_open(fake_usb_device(r->fd), &r->h);
}

/* Everything released: the double counts no live object. */
static unsigned
rig_close(struct rig *r)
{
	if (r->h != NULL)
		libusb_close(r->h);
	if (r->fd != NULL) {
		fake_usb_unplug(r->fd);
		fake_usb_put(r->fd);
	}
	libusb_exit(r->ctx);
	testlog_stop();
	return fake_usb_live();
}

static int
before(const char *log, const char *a, const char *b)
{
	const char *pa = strstr(log, a), *pb = strstr(log, b);

	return pa != NULL && pb != NULL && pa < pb;
}

/* --- descriptor sets --------------------------------------------------------- */

IB_TEST(desc_real_iphone_sizes_parse)
{
	static const uint16_t sizes[] = { 39, 149, 62, 117 };
	static const uint8_t nif[] = { 1, 3, 2, 3 };
	struct fake_usb_plug_opts o = { .spec = &fake_usb_iphone_initial };
	struct libusb_device_descriptor dd;
	struct libusb_config_descriptor *c;
	struct rig r;
	uint8_t i;

	IB_CHECK_EQ(rig_open(&r, &o), 0);
	IB_CHECK_EQ(libusb_get_device_descriptor(fake_usb_device(r.fd), &dd), 0);
	IB_CHECK_EQ(dd.idVendor, 0x05ac);
	IB_CHECK_EQ(dd.idProduct, 0x12a8);
	IB_CHECK_EQ(dd.bNumConfigurations, 4);
	for (i = 0; i < 4; i++) {
		IB_CHECK_EQ(libusb_get_config_descriptor(fake_usb_device(r.fd), i, &c), 0);
		IB_CHECK_EQ(c->wTotalLength, sizes[i]);
		IB_CHECK_EQ(c->bConfigurationValue, i + 1);
		IB_CHECK_EQ(c->bNumInterfaces, nif[i]);
		if (i == 3) {
			/* Apple USB Ethernet: alt settings 0, 1, 2 */
			IB_CHECK_EQ(c->interface[2].num_altsetting, 3);
			IB_CHECK_EQ(c->interface[2].altsetting[1].endpoint[0].bEndpointAddress, 0x86);
			IB_CHECK_EQ(c->interface[1].altsetting[0].endpoint[1].wMaxPacketSize, 512);
		}
		if (i == 1) {
			/* class-specific audio and HID descriptors land in extra */
			IB_CHECK(c->interface[0].altsetting[0].extra_length == 47);
			IB_CHECK(c->interface[2].altsetting[0].extra_length == 9);
		}
		libusb_free_config_descriptor(c);
	}
	IB_CHECK_EQ(libusb_get_config_descriptor(fake_usb_device(r.fd), 4, &c), LIBUSB_ERROR_NOT_FOUND);
	IB_CHECK_EQ(rig_close(&r), 0);
}

IB_TEST(desc_parser_rejects_truncation)
{
	const uint8_t *cfg3 = fake_usb_iphone_initial.desc + 18 + 39 + 149;
	struct libusb_config_descriptor *c;
	uint8_t bad[62];
	size_t n;

	IB_CHECK_EQ(fake_usb_parse_config(cfg3, 62, &c), 0);
	libusb_free_config_descriptor(c);
	for (n = 0; n < 62; n++)
		IB_CHECK_EQ(fake_usb_parse_config(cfg3, n, &c), LIBUSB_ERROR_IO);
	/* an endpoint descriptor whose bLength runs past the end */
	memcpy(bad, cfg3, sizeof(bad));
	bad[55] = 9;
	IB_CHECK_EQ(fake_usb_parse_config(bad, sizeof(bad), &c), LIBUSB_ERROR_IO);
	IB_CHECK_EQ(fake_usb_live(), 0);
}

/* --- which devices, which configuration ------------------------------------ */

IB_TEST(candidate_pids)
{
	IB_CHECK(!ib_usb_is_mux_candidate(0x05ac, 0x128f, 0));
	IB_CHECK(ib_usb_is_mux_candidate(0x05ac, 0x1290, 0));
	IB_CHECK(ib_usb_is_mux_candidate(0x05ac, 0x12a8, 0));
	IB_CHECK(ib_usb_is_mux_candidate(0x05ac, 0x12af, 0));
	IB_CHECK(!ib_usb_is_mux_candidate(0x05ac, 0x12b0, 0));
	IB_CHECK(!ib_usb_is_mux_candidate(0x05ac, 0x1900, 0));
	IB_CHECK(ib_usb_is_mux_candidate(0x05ac, 0x1901, 0));
	IB_CHECK(ib_usb_is_mux_candidate(0x05ac, 0x1904, 0));
	/* Macs only when asked */
	IB_CHECK(!ib_usb_is_mux_candidate(0x05ac, 0x1905, 0));
	IB_CHECK(!ib_usb_is_mux_candidate(0x05ac, 0x8600, 0));
	IB_CHECK(ib_usb_is_mux_candidate(0x05ac, 0x1905, 1));
	IB_CHECK(ib_usb_is_mux_candidate(0x05ac, 0x8600, 1));
	IB_CHECK(!ib_usb_is_mux_candidate(0x05ac, 0x1906, 1));
	/* recovery / DFU do not speak usbmux */
	IB_CHECK(!ib_usb_is_mux_candidate(0x05ac, 0x1281, 1));
	IB_CHECK(!ib_usb_is_mux_candidate(0x05ac, 0x1227, 1));
	IB_CHECK(!ib_usb_is_mux_candidate(0x18d1, 0x12a8, 1));
}

static const struct fake_usb_spec *const with_mux[] = {
	&fake_usb_iphone_initial, &fake_usb_iphone_ncm, &fake_usb_iphone_swapped,
	&fake_usb_iphone_partial, &fake_usb_iphone_fs64, &fake_usb_iphone_ss,
	&fake_usb_mac_1905,
};

IB_TEST(find_mux_every_set)
{
	struct ib_usb_mux_iface mi;
	struct rig r;
	size_t i;

	for (i = 0; i < sizeof(with_mux) / sizeof(with_mux[0]); i++) {
		struct fake_usb_plug_opts o = { .spec = with_mux[i] };

		IB_CHECK_EQ(rig_open(&r, &o), 0);
		IB_CHECK_OK(ib_usb_find_mux(fake_usb_device(r.fd), 0, &mi));
		fprintf(stderr, "  %s: config %u if %u ep %02x/%02x mps %u\n", with_mux[i]->label,
		    mi.config, mi.iface, mi.ep_out, mi.ep_in, mi.mps_out);
		IB_CHECK_EQ(mi.config, with_mux[i]->want.config);
		IB_CHECK_EQ(mi.iface, with_mux[i]->want.iface);
		IB_CHECK_EQ(mi.ep_out, with_mux[i]->want.ep_out);
		IB_CHECK_EQ(mi.ep_in, with_mux[i]->want.ep_in);
		IB_CHECK_EQ(mi.mps_out, with_mux[i]->want.mps);
		IB_CHECK_EQ(rig_close(&r), 0);
	}
}

IB_TEST(find_mux_below_walks_down)
{
	struct fake_usb_plug_opts o = { .spec = &fake_usb_iphone_ncm };
	struct ib_usb_mux_iface mi;
	struct rig r;

	IB_CHECK_EQ(rig_open(&r, &o), 0);
	IB_CHECK_OK(ib_usb_find_mux(fake_usb_device(r.fd), 5, &mi));
	IB_CHECK_EQ(mi.config, 4);
	IB_CHECK_OK(ib_usb_find_mux(fake_usb_device(r.fd), 4, &mi));
	IB_CHECK_EQ(mi.config, 3);
	IB_CHECK_ERR(ib_usb_find_mux(fake_usb_device(r.fd), 3, &mi), IB_ERR_USB_NO_MUX);
	IB_CHECK_EQ(rig_close(&r), 0);
}

IB_TEST(find_mux_none)
{
	struct fake_usb_plug_opts o = { .spec = &fake_usb_apple_no_mux };
	struct ib_usb_mux_iface mi;
	struct rig r;
	char log[256];

	IB_CHECK_EQ(rig_open(&r, &o), 0);
	IB_CHECK_ERR(ib_usb_find_mux(fake_usb_device(r.fd), 0, &mi), IB_ERR_USB_NO_MUX);
	IB_CHECK_ERR(ib_usb_claim_mux(r.h, "1-1", &mi), IB_ERR_USB_NO_MUX);
	/* nothing was changed on the device */
	IB_CHECK_STR(fake_usb_oplog(r.fd, log, sizeof(log)), "");
	IB_CHECK_EQ(rig_close(&r), 0);
}

/* --- claiming ------------------------------------------------------------------ */

static int
claim(const struct fake_usb_plug_opts *o, struct ib_usb_mux_iface *mi, char *oplog,
    size_t n, uint8_t *activep)
{
	struct rig r;
	int ret;

	if (rig_open(&r, o) != 0)
		return IB_ERR_INTERNAL;
	testlog_start(IB_LOG_DEBUG);
	ret = ib_usb_claim_mux(r.h, "1-1", mi);
	fake_usb_oplog(r.fd, oplog, n);
	*activep = fake_usb_active_config(r.fd);
	if (rig_close(&r) != 0)
		return IB_ERR_INTERNAL;
	return ret;
}

IB_TEST(claim_sets_highest_config_from_unconfigured)
{
	struct fake_usb_plug_opts o = { .spec = &fake_usb_iphone_initial, .config = 0 };
	struct ib_usb_mux_iface mi;
	char log[512];
	uint8_t active;

	IB_CHECK_OK(claim(&o, &mi, log, sizeof(log), &active));
	IB_CHECK_EQ(mi.config, 4);
	IB_CHECK_EQ(mi.iface, 1);
	IB_CHECK_EQ(mi.ep_out, 0x04);
	IB_CHECK_EQ(mi.ep_in, 0x85);
	IB_CHECK_EQ(mi.mps_out, 512);
	IB_CHECK_EQ(active, 4);
	IB_CHECK(before(log, "setcfg:4", "claim:1"));
	IB_CHECK(strstr(log, "setmode") == NULL);
	IB_CHECK(testlog_has("setting configuration 4 (was 0)"));
}

IB_TEST(claim_keeps_active_config)
{
	struct fake_usb_plug_opts o = { .spec = &fake_usb_iphone_initial, .config = 4 };
	struct ib_usb_mux_iface mi;
	char log[512];
	uint8_t active;

	IB_CHECK_OK(claim(&o, &mi, log, sizeof(log), &active));
	IB_CHECK_EQ(mi.config, 4);
	IB_CHECK_STR(log, "claim:1 ");
}

IB_TEST(claim_switches_lower_config_up)
{
	/* config 3 holds a mux too, but the highest one wins */
	struct fake_usb_plug_opts o = { .spec = &fake_usb_iphone_initial, .config = 3 };
	struct ib_usb_mux_iface mi;
	char log[512];
	uint8_t active;

	IB_CHECK_OK(claim(&o, &mi, log, sizeof(log), &active));
	IB_CHECK_EQ(active, 4);
	IB_CHECK(strstr(log, "setcfg:4") != NULL);
}

IB_TEST(claim_detaches_kernel_drivers_first)
{
	/* config 1 active with the PTP interface bound to a kernel driver:
	 * Linux refuses SET_CONFIGURATION until it is detached */
	struct fake_usb_plug_opts o = { .spec = &fake_usb_iphone_initial, .config = 1,
	    .drivers = 1u << 0 };
	struct ib_usb_mux_iface mi;
	char log[512];
	uint8_t active;

	IB_CHECK_OK(claim(&o, &mi, log, sizeof(log), &active));
	IB_CHECK_EQ(active, 4);
	IB_CHECK(before(log, "detach:0", "setcfg:4"));
	IB_CHECK(before(log, "setcfg:4", "claim:1"));
}

IB_TEST(claim_detaches_driver_on_mux_interface)
{
	struct fake_usb_plug_opts o = { .spec = &fake_usb_iphone_initial, .config = 4,
	    .drivers = 1u << 1 };
	struct ib_usb_mux_iface mi;
	char log[512];
	uint8_t active;

	IB_CHECK_OK(claim(&o, &mi, log, sizeof(log), &active));
	IB_CHECK_STR(log, "detach:1 claim:1 ");
}

IB_TEST(claim_busy_falls_back_to_lower_config)
{
	struct fake_usb_plug_opts o = { .spec = &fake_usb_iphone_initial };
	struct ib_usb_mux_iface mi;
	struct rig r;
	char log[512];

	IB_CHECK_EQ(rig_open(&r, &o), 0);
	fake_usb_set_config_error(r.fd, 4, LIBUSB_ERROR_BUSY);
	testlog_start(IB_LOG_DEBUG);
	IB_CHECK_OK(ib_usb_claim_mux(r.h, "1-1", &mi));
	IB_CHECK_EQ(mi.config, 3);
	IB_CHECK_EQ(fake_usb_active_config(r.fd), 3);
	fake_usb_oplog(r.fd, log, sizeof(log));
	IB_CHECK(before(log, "setcfg:4", "setcfg:3"));
	IB_CHECK(before(log, "setcfg:3", "claim:1"));
	/* the message says what happened and what to check */
	IB_CHECK(testlog_has("setting configuration 4 failed"));
	IB_CHECK(testlog_has("is usbmuxd running?"));
	IB_CHECK(testlog_has("LIBUSB_ERROR_BUSY"));
	IB_CHECK(testlog_has("trying the next lower one"));
	IB_CHECK_EQ(rig_close(&r), 0);
}

IB_TEST(claim_busy_everywhere_reports_busy)
{
	struct fake_usb_plug_opts o = { .spec = &fake_usb_iphone_initial };
	struct ib_usb_mux_iface mi;
	struct rig r;

	IB_CHECK_EQ(rig_open(&r, &o), 0);
	fake_usb_set_config_error(r.fd, 4, LIBUSB_ERROR_BUSY);
	fake_usb_set_config_error(r.fd, 3, LIBUSB_ERROR_IO);
	testlog_start(IB_LOG_DEBUG);
	IB_CHECK_ERR(ib_usb_claim_mux(r.h, "1-1", &mi), IB_ERR_USB_BUSY);
	/* never fell through to configurations without a mux */
	IB_CHECK_EQ(fake_usb_active_config(r.fd), 0);
	IB_CHECK_EQ(rig_close(&r), 0);
}

IB_TEST(claim_partial_triple_not_chosen)
{
	struct fake_usb_plug_opts o = { .spec = &fake_usb_iphone_partial };
	struct ib_usb_mux_iface mi;
	char log[512];
	uint8_t active;

	IB_CHECK_OK(claim(&o, &mi, log, sizeof(log), &active));
	IB_CHECK_EQ(mi.config, 3);
	IB_CHECK_EQ(active, 3);
	IB_CHECK(strstr(log, "setcfg:4") == NULL);
}

IB_TEST(claim_swapped_and_ncm)
{
	struct fake_usb_plug_opts o = { .spec = &fake_usb_iphone_swapped };
	struct ib_usb_mux_iface mi;
	char log[512];
	uint8_t active;

	IB_CHECK_OK(claim(&o, &mi, log, sizeof(log), &active));
	IB_CHECK_EQ(mi.config, 4);
	IB_CHECK_EQ(mi.ep_out, 0x04);
	IB_CHECK_EQ(mi.ep_in, 0x85);
	o.spec = &fake_usb_iphone_ncm;
	IB_CHECK_OK(claim(&o, &mi, log, sizeof(log), &active));
	IB_CHECK_EQ(mi.config, 5);
	IB_CHECK_EQ(active, 5);
}

IB_TEST(claim_held_by_another_program)
{
	struct fake_usb_plug_opts o = { .spec = &fake_usb_iphone_initial, .config = 4,
	    .claim_error = LIBUSB_ERROR_BUSY };
	struct ib_usb_mux_iface mi;
	char log[512];
	uint8_t active;

	IB_CHECK_ERR(claim(&o, &mi, log, sizeof(log), &active), IB_ERR_USB_BUSY);
	o.claim_error = LIBUSB_ERROR_ACCESS;
	IB_CHECK_ERR(claim(&o, &mi, log, sizeof(log), &active), IB_ERR_USB_ACCESS);
}

IB_TEST(claim_on_unplugged_device)
{
	struct fake_usb_plug_opts o = { .spec = &fake_usb_iphone_initial };
	struct ib_usb_mux_iface mi;
	struct rig r;

	IB_CHECK_EQ(rig_open(&r, &o), 0);
	fake_usb_unplug(r.fd);
	IB_CHECK_ERR(ib_usb_claim_mux(r.h, "1-1", &mi), IB_ERR_NO_DEVICE);
	IB_CHECK_EQ(rig_close(&r), 0);
}

IB_TEST(error_mapping)
{
	IB_CHECK_ERR(ib_usb_err(LIBUSB_ERROR_ACCESS, "1-2", "opening"), IB_ERR_USB_ACCESS);
	IB_CHECK(strstr(ib_strerror(IB_ERR_USB_ACCESS), "run as root or add a udev rule") != NULL);
	IB_CHECK_ERR(ib_usb_err(LIBUSB_ERROR_BUSY, "1-2", "claiming"), IB_ERR_USB_BUSY);
	IB_CHECK(strstr(ib_strerror(IB_ERR_USB_BUSY), "is usbmuxd running?") != NULL);
	IB_CHECK_ERR(ib_usb_err(LIBUSB_ERROR_NO_DEVICE, "1-2", "x"), IB_ERR_NO_DEVICE);
	IB_CHECK_ERR(ib_usb_err(LIBUSB_ERROR_PIPE, "1-2", "GET_MODE"), IB_ERR_USB_IO);
	IB_CHECK_STR(ib_err_detail(), "usb 1-2: GET_MODE failed: LIBUSB_ERROR_PIPE");
}

/* --- what the device list shows -------------------------------------------------- */

static int
serial_of(const struct fake_usb_spec *spec, const char *override, char *out, size_t n)
{
	struct fake_usb_plug_opts o = { .spec = spec, .serial = override };
	struct libusb_device_descriptor dd;
	struct rig r;
	int ret;

	if (rig_open(&r, &o) != 0 ||
	    libusb_get_device_descriptor(fake_usb_device(r.fd), &dd) != 0)
		return IB_ERR_INTERNAL;
	ret = ib_usb_read_serial(r.h, dd.iSerialNumber, out, n);
	if (rig_close(&r) != 0)
		return IB_ERR_INTERNAL;
	return ret;
}

IB_TEST(serial_number_rules)
{
	char s[IB_UDID_MAX + 1];
	char longer[IB_UDID_MAX + 2];

	IB_CHECK_OK(serial_of(&fake_usb_iphone_initial, NULL, s, sizeof(s)));
	IB_CHECK_STR(s, "00008101-000A1B2C3D4E5F60");
	IB_CHECK_OK(serial_of(&fake_usb_iphone_fs64, NULL, s, sizeof(s)));
	IB_CHECK_STR(s, "0123456789abcdef0123456789abcdef01234567");
	/* 23 and 25 characters: no hyphen */
	IB_CHECK_OK(serial_of(&fake_usb_iphone_initial, "00008101000A1B2C3D4E5F6", s, sizeof(s)));
	IB_CHECK_STR(s, "00008101000A1B2C3D4E5F6");
	IB_CHECK_OK(serial_of(&fake_usb_iphone_initial, "00008101000A1B2C3D4E5F601", s, sizeof(s)));
	IB_CHECK_STR(s, "00008101000A1B2C3D4E5F601");
	/* non-ASCII (the double sends each byte as one UTF-16 unit) and
	 * control characters become '?' */
	IB_CHECK_OK(serial_of(&fake_usb_iphone_initial, "ab\xe9\x01z", s, sizeof(s)));
	IB_CHECK_STR(s, "ab??z");
	memset(longer, 'A', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	IB_CHECK_ERR(serial_of(&fake_usb_iphone_initial, longer, s, sizeof(s)), IB_ERR_TOO_LARGE);
	IB_CHECK_ERR(serial_of(&fake_usb_iphone_initial, "", s, sizeof(s)), IB_ERR_USB_IO);
	/* too small an output buffer */
	IB_CHECK_ERR(serial_of(&fake_usb_iphone_initial, NULL, s, 25), IB_ERR_TOO_LARGE);
}

IB_TEST(get_mode_read_only)
{
	struct fake_usb_plug_opts o = { .spec = &fake_usb_iphone_initial };
	uint8_t mode[4];
	struct rig r;
	char log[256];

	IB_CHECK_EQ(rig_open(&r, &o), 0);
	IB_CHECK_OK(ib_usb_get_mode(r.h, mode));
	IB_CHECK(memcmp(mode, "\x03\x03\x03\x00", 4) == 0);
	IB_CHECK_STR(fake_usb_oplog(r.fd, log, sizeof(log)), "getmode ");
	IB_CHECK_EQ(rig_close(&r), 0);
	o.spec = &fake_usb_iphone_fs64;         /* stalls the request */
	IB_CHECK_EQ(rig_open(&r, &o), 0);
	IB_CHECK_ERR(ib_usb_get_mode(r.h, mode), IB_ERR_USB_IO);
	IB_CHECK_EQ(rig_close(&r), 0);
}

IB_TEST(speed_and_name)
{
	struct fake_usb_plug_opts o = { .spec = &fake_usb_iphone_initial, .bus = 3, .port = 7 };
	struct rig r;
	char name[32];

	IB_CHECK_EQ(ib_usb_speed_bps(LIBUSB_SPEED_LOW), 1500000);
	IB_CHECK_EQ(ib_usb_speed_bps(LIBUSB_SPEED_FULL), 12000000);
	IB_CHECK_EQ(ib_usb_speed_bps(LIBUSB_SPEED_HIGH), 480000000);
	IB_CHECK_EQ(ib_usb_speed_bps(LIBUSB_SPEED_UNKNOWN), 480000000);
	IB_CHECK(ib_usb_speed_bps(LIBUSB_SPEED_SUPER) == 5000000000ull);
	IB_CHECK(ib_usb_speed_bps(LIBUSB_SPEED_SUPER_PLUS) == 10000000000ull);
	IB_CHECK_EQ(rig_open(&r, &o), 0);
	ib_usb_dev_name(fake_usb_device(r.fd), name, sizeof(name));
	IB_CHECK_STR(name, "3-7");
	IB_CHECK_EQ(rig_close(&r), 0);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
