/*
 * The virtual device framework without a host: knob parsing and
 * validation, identities, services, controls.
 */
#include "ib_limits.h"
#include "ib_sim.h"
#include "ib_test.h"
#include "sim_int.h"
#include "sim_test.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

IB_TEST(knob_numbers_take_binary_suffixes)
{
	uint64_t v;

	IB_CHECK_OK(sim_parse_u64("0", &v));
	IB_CHECK_EQ(v, 0);
	IB_CHECK_OK(sim_parse_u64("1234", &v));
	IB_CHECK_EQ(v, 1234);
	IB_CHECK_OK(sim_parse_u64("4k", &v));
	IB_CHECK_EQ(v, 4096);
	IB_CHECK_OK(sim_parse_u64("3K", &v));
	IB_CHECK_EQ(v, 3072);
	IB_CHECK_OK(sim_parse_u64("2M", &v));
	IB_CHECK_EQ(v, 2u * 1024 * 1024);
	IB_CHECK_OK(sim_parse_u64("16G", &v));
	IB_CHECK_EQ(v, 16ull << 30);
	IB_CHECK_OK(sim_parse_u64("18446744073709551615", &v));
	IB_CHECK(v == UINT64_MAX);
	IB_CHECK_ERR(sim_parse_u64("18446744073709551616", &v), IB_ERR_USAGE);
	IB_CHECK_ERR(sim_parse_u64("17179869184G", &v), IB_ERR_USAGE);
	IB_CHECK_ERR(sim_parse_u64("", &v), IB_ERR_USAGE);
	IB_CHECK_ERR(sim_parse_u64("k", &v), IB_ERR_USAGE);
	IB_CHECK_ERR(sim_parse_u64("12x", &v), IB_ERR_USAGE);
	IB_CHECK_ERR(sim_parse_u64("1kk", &v), IB_ERR_USAGE);
	IB_CHECK_ERR(sim_parse_u64("-1", &v), IB_ERR_USAGE);
	IB_CHECK_ERR(sim_parse_u64(" 1", &v), IB_ERR_USAGE);
	IB_CHECK_ERR(sim_parse_u64("1m", &v), IB_ERR_USAGE);
}

static int
try_knobs(unsigned ndev, const char *k1, const char *k2)
{
	const char *knobs[] = { k1, k2, NULL };
	struct ib_sim *sim = NULL;
	int r = ib_sim_new(ndev, knobs, 1, &sim);

	ib_sim_free(sim);
	return r;
}

IB_TEST(knob_specs_are_checked_at_start)
{
	IB_CHECK_OK(try_knobs(2, "window=1024", "2:split=1"));
	IB_CHECK_ERR(try_knobs(1, "no_such_knob=1", NULL), IB_ERR_USAGE);
	IB_CHECK(strstr(ib_err_detail(), "no_such_knob") != NULL);
	IB_CHECK_ERR(try_knobs(1, "window", NULL), IB_ERR_USAGE);
	IB_CHECK_ERR(try_knobs(1, "=5", NULL), IB_ERR_USAGE);
	IB_CHECK_ERR(try_knobs(1, "2:window=1024", NULL), IB_ERR_USAGE);
	IB_CHECK_ERR(try_knobs(2, "0:window=1024", NULL), IB_ERR_USAGE);
	IB_CHECK_ERR(try_knobs(2, "x:window=1024", NULL), IB_ERR_USAGE);
	IB_CHECK_ERR(try_knobs(2, "1k:window=1024", NULL), IB_ERR_USAGE);
	IB_CHECK_ERR(try_knobs(2, ":window=1024", NULL), IB_ERR_USAGE);
}

IB_TEST(knob_values_are_validated_by_their_layer)
{
	IB_CHECK_ERR(try_knobs(1, "window=100", NULL), IB_ERR_USAGE);
	IB_CHECK_ERR(try_knobs(1, "window=1M", NULL), IB_ERR_USAGE);
	IB_CHECK_OK(try_knobs(1, "window=256k", NULL));
	IB_CHECK_ERR(try_knobs(1, "mux_version=3", NULL), IB_ERR_USAGE);
	IB_CHECK_OK(try_knobs(1, "mux_version=1", NULL));
	IB_CHECK_ERR(try_knobs(1, "split=yes", NULL), IB_ERR_USAGE);
	IB_CHECK_ERR(try_knobs(1, "rst_port=0", NULL), IB_ERR_USAGE);
	IB_CHECK_ERR(try_knobs(1, "rst_port=65536", NULL), IB_ERR_USAGE);
	IB_CHECK_OK(try_knobs(1, "malformed=64k,flags", NULL));
	IB_CHECK_OK(try_knobs(1, "malformed=1,3", NULL));
	IB_CHECK_ERR(try_knobs(1, "malformed=64k,bogus", NULL), IB_ERR_USAGE);
	IB_CHECK_ERR(try_knobs(1, "malformed=64k,7", NULL), IB_ERR_USAGE);
	IB_CHECK_OK(try_knobs(1, "malformed=64k,framing", NULL));
	IB_CHECK_ERR(try_knobs(1, "malformed=0", NULL), IB_ERR_USAGE);
	IB_CHECK_ERR(try_knobs(1, "unplug_after=0", NULL), IB_ERR_USAGE);
	IB_CHECK_ERR(try_knobs(1, "slow_reader=abc", NULL), IB_ERR_USAGE);
	IB_CHECK_ERR(try_knobs(1, "slow_reader=1G", NULL), IB_ERR_USAGE);
	/* A device's own setting is checked too. */
	IB_CHECK_ERR(try_knobs(2, "window=1024", "2:window=5"), IB_ERR_USAGE);
}

IB_TEST(knob_device_setting_overrides_the_global_one)
{
	const char *knobs[] = { "window=1024", "2:window=2k", "window=4096", "1:slow_reader=5", NULL };
	struct ib_sim *sim = NULL;

	IB_CHECK_OK(ib_sim_new(3, knobs, 1, &sim));
	IB_CHECK_STR(ib_sim_dev_knob(ib_sim_get(sim, 0), "window"), "4096");
	IB_CHECK_STR(ib_sim_dev_knob(ib_sim_get(sim, 1), "window"), "2k");
	IB_CHECK_EQ(ib_sim_dev_knob_u64(ib_sim_get(sim, 1), "window", 0), 2048);
	IB_CHECK_STR(ib_sim_dev_knob(ib_sim_get(sim, 0), "slow_reader"), "5");
	IB_CHECK(ib_sim_dev_knob(ib_sim_get(sim, 2), "slow_reader") == NULL);
	IB_CHECK_EQ(ib_sim_dev_knob_u64(ib_sim_get(sim, 2), "slow_reader", 77), 77);
	ib_sim_free(sim);
}

struct seen {
	int window, unplug_after, slow_reader, malformed, n;
};

static void
note_knob(void *ctx, const char *name, const char *help)
{
	struct seen *s = ctx;

	s->n++;
	s->window |= strcmp(name, "window") == 0 && help[0] != '\0';
	s->unplug_after |= strcmp(name, "unplug_after") == 0;
	s->slow_reader |= strcmp(name, "slow_reader") == 0;
	s->malformed |= strcmp(name, "malformed") == 0;
}

IB_TEST(knob_registry_lists_builtin_and_layer_knobs)
{
	struct seen s = { 0 };

	ib_sim_knob_register("window", "registered twice");
	ib_sim_knob_foreach(note_knob, &s);
	IB_CHECK(s.window && s.unplug_after && s.slow_reader && s.malformed);
	IB_CHECK(s.n >= 7);
}

static int
is_upper_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || islower((unsigned char)s[i]))
			return 0;
	return 1;
}

IB_TEST(identity_is_realistic_and_deterministic)
{
	struct ib_sim_identity a, b, c;
	unsigned i, j;
	char nohyphen[IB_UDID_MAX + 1];

	sim_identity(42, 0, &a);
	sim_identity(42, 0, &b);
	IB_CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	IB_CHECK_EQ(strlen(a.udid), 25);
	IB_CHECK(a.udid[8] == '-' && is_upper_hex(a.udid, 8) && is_upper_hex(a.udid + 9, 16));
	IB_CHECK(strncmp(a.udid, "00008110-00", 11) == 0);
	snprintf(nohyphen, sizeof(nohyphen), "%.8s%.16s", a.udid, a.udid + 9);
	IB_CHECK_STR(a.usb_serial, nohyphen);
	IB_CHECK_EQ(a.product_id, 0x12a8);
	IB_CHECK_STR(a.product_type, "iPhone14,5");
	IB_CHECK_STR(a.product_version, "17.5");
	IB_CHECK_STR(a.build_version, "21F79");
	IB_CHECK_STR(a.device_name, "Virtual iPhone 1");
	IB_CHECK_STR(a.device_class, "iPhone");
	IB_CHECK_EQ(strlen(a.serial_number), 10);
	IB_CHECK_EQ(strlen(a.wifi_address), 17);
	IB_CHECK(a.ecid != 0);
	/* The ECID is the UDID's second half. */
	snprintf(nohyphen, sizeof(nohyphen), "%016llX", (unsigned long long)a.ecid);
	IB_CHECK_STR(a.udid + 9, nohyphen);
	sim_identity(43, 0, &c);
	IB_CHECK(strcmp(a.udid, c.udid) != 0);
	for (i = 0; i < IB_SIM_MAX_DEVICES; i++) {
		sim_identity(42, i, &b);
		IB_CHECK(strncmp(b.product_type, "iPhone", 6) == 0);
		for (j = 0; j < i; j++) {
			sim_identity(42, j, &c);
			IB_CHECK(strcmp(b.udid, c.udid) != 0);
			IB_CHECK(strcmp(b.serial_number, c.serial_number) != 0);
		}
	}
}

IB_TEST(identity_follows_the_sim_seed)
{
	struct ib_sim *s1 = NULL, *s2 = NULL;

	IB_CHECK_OK(ib_sim_new(3, NULL, 7, &s1));
	IB_CHECK_OK(ib_sim_new(3, NULL, 7, &s2));
	IB_CHECK(memcmp(ib_sim_dev_identity(ib_sim_get(s1, 2)),
	    ib_sim_dev_identity(ib_sim_get(s2, 2)), sizeof(struct ib_sim_identity)) == 0);
	IB_CHECK_STR(ib_sim_dev_identity(ib_sim_get(s1, 1))->device_name, "Virtual iPhone 2");
	IB_CHECK(ib_sim_find(s1, ib_sim_dev_identity(ib_sim_get(s1, 1))->usb_serial) ==
	    ib_sim_get(s1, 1));
	IB_CHECK(ib_sim_find(s1, "nope") == NULL);
	IB_CHECK(ib_sim_get(s1, 3) == NULL);
	IB_CHECK_EQ(ib_sim_dev_random(ib_sim_get(s1, 0)), ib_sim_dev_random(ib_sim_get(s2, 0)));
	ib_sim_free(s1);
	ib_sim_free(s2);
}

static void
svc_nop(struct ib_sim_dev *dev, int fd, void *arg)
{
	(void)dev;
	(void)fd;
	(void)arg;
}

static int
ctl_count(struct ib_sim_dev *dev, const char *action, const char *arg, void *ctx)
{
	(void)dev;
	(void)action;
	*(int *)ctx += arg != NULL ? atoi(arg) : 1;
	return IB_OK;
}

IB_TEST(services_and_controls)
{
	struct ib_sim *sim = NULL;
	struct ib_sim_dev *dev;
	uint16_t p1, p2;
	int count = 0;

	IB_CHECK_OK(ib_sim_new(1, NULL, 1, &sim));
	dev = ib_sim_get(sim, 0);
	/* The test layer holds 7, 9 and 19. */
	IB_CHECK_ERR(ib_sim_dev_listen(dev, IB_SIM_PORT_ECHO, "x", svc_nop, NULL), IB_ERR_EXISTS);
	/* lockdown step: 62078 belongs to the virtual lockdownd layer now;
	 * any free fixed port shows the same. */
	IB_CHECK_OK(ib_sim_dev_listen(dev, 5000, "fixed", svc_nop, NULL));
	IB_CHECK_OK(ib_sim_dev_listen_dynamic(dev, "a", svc_nop, NULL, 1, &p1));
	IB_CHECK_OK(ib_sim_dev_listen_dynamic(dev, "b", svc_nop, NULL, 0, &p2));
	IB_CHECK(p1 >= 49152 && p2 >= 49152 && p1 != p2);
	ib_sim_dev_unlisten(dev, p1);
	IB_CHECK_OK(ib_sim_dev_listen(dev, p1, "again", svc_nop, NULL));
	IB_CHECK(ib_sim_dev_get_ext(dev, IB_SIM_EXT_TEST) != NULL);
	IB_CHECK_ERR(ib_sim_dev_control(dev, "dance", NULL), IB_ERR_USAGE);
	IB_CHECK(strstr(ib_err_detail(), "unplug") != NULL);
	IB_CHECK_OK(ib_sim_dev_on_control(dev, "dance", ctl_count, &count));
	IB_CHECK_OK(ib_sim_dev_control(dev, "dance", "3"));
	IB_CHECK_OK(ib_sim_dev_control(dev, "dance", NULL));
	IB_CHECK_EQ(count, 4);
	IB_CHECK(ib_sim_dev_is_plugged(dev));
	IB_CHECK_OK(ib_sim_dev_control(dev, "unplug", NULL));
	IB_CHECK_OK(ib_sim_dev_unplug(dev));
	IB_CHECK(!ib_sim_dev_is_plugged(dev));
	IB_CHECK_OK(ib_sim_dev_plug(dev));
	IB_CHECK(ib_sim_dev_is_plugged(dev));
	IB_CHECK_EQ(ib_sim_dev_mux_bytes(dev), 0);
	ib_sim_free(sim);
}

IB_TEST(source_stream_is_splitmix64_little_endian)
{
	struct ib_sim_prng g, h;
	uint8_t a[37], b[37];
	size_t i;

	/* SplitMix64 from seed 0 starts 0xe220a8397b1dcdaf. */
	ib_sim_prng_init(&g, 0);
	ib_sim_prng_fill(&g, a, 8);
	IB_CHECK(a[0] == 0xaf && a[1] == 0xcd && a[7] == 0xe2);
	/* Any split of the stream gives the same bytes. */
	ib_sim_prng_init(&g, 99);
	ib_sim_prng_fill(&g, a, sizeof(a));
	ib_sim_prng_init(&h, 99);
	for (i = 0; i < sizeof(b);) {
		size_t k = 1 + i % 5;

		if (k > sizeof(b) - i)
			k = sizeof(b) - i;
		ib_sim_prng_fill(&h, b + i, k);
		i += k;
	}
	IB_CHECK(memcmp(a, b, sizeof(a)) == 0);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
