/*
 * Interop (suite 'interop'): libimobiledevice's own tools (Debian 12:
 * idevice_id and iproxy/inetcat from libusbmuxd 2.0.2, an independent
 * implementation of the usbmuxd client protocol) talk to ibackup's
 * usbmuxd-compatible server. Skipped (77) only when the tools are not
 * installed.
 *
 * This file serves the fake backend (no mux involved): it proves the
 * protocol (ListDevices, Connect, the raw pipe, refusals) byte-compatible
 * with libusbmuxd. muxd_interop_sim_test.c does the same over virtual
 * devices behind ibackup's own mux.
 */
#include "fake_backend.h"
#include "ib_test.h"
#include "ib_util.h"
#include "interop_util.h"
#include "muxd_server.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#define UDID_A "00008030-001A2B3C4D5E6F70"
#define UDID_B "0123456789abcdef0123456789abcdef01234567"

static char sock[128];
static struct fake_backend *fb;
static struct ib_muxd_server *srv;

static uint8_t *
random_bytes(size_t n)
{
	uint8_t *p = malloc(n);

	if (p != NULL && ib_random_bytes(p, n) != IB_OK) {
		free(p);
		p = NULL;
	}
	return p;
}

IB_TEST(idevice_id_lists_both_devices)
{
	char *argv[] = { "idevice_id", "-l", NULL };
	struct tool_run r;
	char out[1024];

	memset(&r, 0, sizeof(r));
	r.out = (uint8_t *)out;
	r.out_max = sizeof(out) - 1;
	r.timeout_ms = 20000;
	IB_CHECK_OK(interop_run(argv, sock, &r));
	IB_CHECK_EQ(r.status, 0);
	out[r.out_len] = '\0';
	IB_CHECK(strcmp(out, UDID_A "\n" UDID_B "\n") == 0 ||
	    strcmp(out, UDID_B "\n" UDID_A "\n") == 0);
}

IB_TEST(inetcat_echoes_4_mib_intact)
{
	char *argv[] = { "inetcat", "-u", UDID_B, "7", NULL };
	const size_t n = 4u << 20;
	struct tool_run r;
	uint8_t *data = random_bytes(n), *back = malloc(n);

	IB_CHECK(data != NULL && back != NULL);
	memset(&r, 0, sizeof(r));
	r.in = data;
	r.in_len = n;
	r.window = 64 * 1024;
	r.out = back;
	r.out_max = n;
	r.want = n;
	r.timeout_ms = 60000;
	IB_CHECK_OK(interop_run(argv, sock, &r));
	IB_CHECK_EQ(r.out_len, n);
	IB_CHECK(memcmp(back, data, n) == 0);
	IB_CHECK_EQ(r.status, 0);
	free(data);
	free(back);
}

IB_TEST(inetcat_on_a_closed_port_fails)
{
	char *argv[] = { "inetcat", "62078", NULL };
	struct tool_run r;
	uint8_t out[256];

	memset(&r, 0, sizeof(r));
	r.out = out;
	r.out_max = sizeof(out);
	r.timeout_ms = 20000;
	IB_CHECK_OK(interop_run(argv, sock, &r));
	IB_CHECK(r.status != 0);
	IB_CHECK_EQ(fake_backend_stat(fb, FAKE_LAST_PORT), 62078);
}

IB_TEST(iproxy_echoes_8_mib_intact)
{
	const size_t n = 8u << 20;
	uint16_t port = interop_free_port();
	char spec[32];
	char *argv[] = { "iproxy", spec, NULL };
	uint8_t *data = random_bytes(n), *back = malloc(n);
	pid_t pid = -1;
	int fd = -1, rc;

	IB_CHECK(data != NULL && back != NULL && port != 0);
	snprintf(spec, sizeof(spec), "%u:7", port);
	IB_CHECK_OK(interop_spawn(argv, sock, &pid));
	rc = interop_tcp_connect(port, 10000, &fd);
	if (rc == IB_OK) {
		/* Windowed: iproxy drops bytes after a 1 s blocked send. */
		rc = interop_exchange(fd, data, n, back, n, 256u * 1024u, 60000);
		close(fd);
	}
	interop_stop(pid);
	IB_CHECK_OK(rc);
	IB_CHECK(memcmp(back, data, n) == 0);
	free(data);
	free(back);
}

int
main(int argc, char **argv)
{
	static const char *const tools[] = { "idevice_id", "inetcat", "iproxy", NULL };
	int r;

	interop_require_tools(tools);
	signal(SIGPIPE, SIG_IGN);
	snprintf(sock, sizeof(sock), "/tmp/ib-interop-%ld.sock", (long)getpid());
	if ((fb = fake_backend_new()) == NULL)
		return 1;
	fake_backend_attach(fb, UDID_A);
	fake_backend_attach(fb, UDID_B);
	if ((r = ib_muxd_server_start_backend(fake_backend_ops(), fb, sock, &srv)) != IB_OK) {
		fprintf(stderr, "server: %s %s\n", ib_strerror(r), ib_err_detail());
		return 1;
	}
	r = ib_test_main(argc, argv);
	ib_muxd_server_stop(srv);
	fake_backend_free(fb);
	return r;
}
