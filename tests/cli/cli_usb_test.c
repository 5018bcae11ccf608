/*
 * `ibackup devices` and `ibackup info` over the "usb" transport, in
 * process: the CLI's ibackup_main runs ibackup's libusb backend against
 * the libusb test double, whose fake iPhone (real descriptor bytes, four
 * configurations) is backed by a virtual device.
 */
#include "cli_cmds.h"
#include "fake_libusb.h"
#include "ib_sim.h"
#include "ib_test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char out[16384];

/* Run the command line with stdout captured into out[]. */
static int
run_cli(const char *const *args)
{
	char *argv[16];
	char path[] = "/tmp/ib-cli-usb-XXXXXX";
	int fd, saved, argc = 0, status;
	ssize_t n;

	while (args[argc] != NULL && argc < 15) {
		argv[argc] = (char *)(uintptr_t)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	fflush(stdout);
	if ((fd = mkstemp(path)) < 0)
		return -1;
	unlink(path);
	saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	status = ibackup_main(argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	return status;
}

IB_TEST(devices_and_info_over_the_usb_transport)
{
	static const char *const no_knobs[] = { NULL };
	struct fake_usb_plug_opts o = { 0 };
	struct ib_sim *sim = NULL;
	struct ib_sim_dev *sd;
	struct fake_usb_dev *fd;
	struct ib_mux_link link;
	char records[] = "/tmp/ib-cli-usb-rec-XXXXXX";
	const char *udid;

	IB_CHECK(mkdtemp(records) != NULL);
	fake_usb_reset();
	IB_CHECK_OK(ib_sim_new(1, no_knobs, 99, &sim));
	sd = ib_sim_get(sim, 0);
	udid = ib_sim_dev_identity(sd)->udid;
	o.spec = &fake_usb_iphone_initial;
	o.serial = ib_sim_dev_identity(sd)->usb_serial;
	fd = fake_usb_plug(&o);
	IB_CHECK(fd != NULL);
	IB_CHECK_OK(fake_usb_dev_link(fd, &link));
	IB_CHECK_OK(ib_sim_dev_attach_link(sd, link));

	{
		const char *args[] = { "ibackup", "--transport", "usb", "--pair-records", records,
			"devices", "--json", NULL };
		IB_CHECK_EQ(run_cli(args), 0);
	}
	IB_CHECK(strstr(out, udid) != NULL);
	IB_CHECK(strstr(out, "\"connection\":\"usb\"") != NULL);
	IB_CHECK(strstr(out, "\"product_type\":\"iPhone") != NULL);
	IB_CHECK(strstr(out, "\"speed_bps\":480000000") != NULL);
	/* The backend chose the highest configuration with the mux. */
	IB_CHECK_EQ(fake_usb_active_config(fd), 4);

	{
		const char *args[] = { "ibackup", "--transport", "usb", "--pair-records", records,
			"pair", NULL };
		IB_CHECK_EQ(run_cli(args), 0);
	}
	{
		const char *args[] = { "ibackup", "--transport", "usb", "--pair-records", records,
			"info", "--json", NULL };
		IB_CHECK_EQ(run_cli(args), 0);
	}
	IB_CHECK(strstr(out, "\"paired\":true") != NULL);
	IB_CHECK(strstr(out, udid) != NULL);

	fake_usb_unplug(fd);
	{
		const char *args[] = { "ibackup", "--transport", "usb", "--pair-records", records,
			"devices", "--json", NULL };
		IB_CHECK_EQ(run_cli(args), 0);
	}
	IB_CHECK(strcmp(out, "[]\n") == 0);
	fake_usb_put(fd);
	ib_sim_free(sim);
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", records);
		IB_CHECK(system(cmd) == 0);
	}
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
