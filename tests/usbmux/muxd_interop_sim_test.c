/*
 * Interop over virtual devices (suite 'interop'): three programs, as a
 * user would run them.
 *
 *   ibackup-sim --listen SIM --devices 2         the virtual iPhones
 *   this test: ib_usbmux on "sim:SIM" served     ibackup's own mux, and
 *     by ib_muxd_server_start at SOCK            the usbmuxd server
 *   idevice_id / inetcat / iproxy with           libimobiledevice's client
 *     USBMUXD_SOCKET_ADDRESS=UNIX:SOCK           library (libusbmuxd 2.0.2)
 *
 * and ibackup's own "usbmuxd" transport against the same server. Bytes
 * travel client -> server -> ibackup mux -> simulated device services
 * (echo 7, sink 9, source 19; sim/sim_test.h) and back; every byte is
 * checked. Skipped (77) only when the Debian tools are not installed.
 *
 * usage: test_muxd_interop_sim PATH-TO-ibackup-sim
 */
#include "ib_err.h"
#include "ib_test.h"
#include "ib_usbmux.h"
#include "ib_util.h"
#include "interop_util.h"
#include "muxd_proto.h"
#include "muxd_server.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *sim_exe;
static char simpath[128], sock[128], records[64];
static pid_t sim_pid = -1;
static struct ib_usbmux *mux;
static struct ib_muxd_server *srv;
static struct ib_device devs[2];

/* --- the device services' byte streams (sim/sim_test.h) --------------------- */

static uint64_t
splitmix(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The first n bytes of the source service's stream for seed. */
static void
source_bytes(uint64_t seed, uint8_t *out, size_t n)
{
	uint64_t st = seed, z = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (i % 8 == 0)
			z = splitmix(&st);
		out[i] = (uint8_t)(z >> (8 * (i % 8)));
	}
}

static void
put_u64be(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

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

/* --- libimobiledevice's tools --------------------------------------------------- */

IB_TEST(idevice_id_lists_the_virtual_devices)
{
	char *argv[] = { "idevice_id", "-l", NULL };
	struct tool_run r;
	char out[1024], want1[200], want2[200];

	memset(&r, 0, sizeof(r));
	r.out = (uint8_t *)out;
	r.out_max = sizeof(out) - 1;
	r.timeout_ms = 30000;
	IB_CHECK_OK(interop_run(argv, sock, &r));
	IB_CHECK_EQ(r.status, 0);
	out[r.out_len] = '\0';
	snprintf(want1, sizeof(want1), "%s\n%s\n", devs[0].udid, devs[1].udid);
	snprintf(want2, sizeof(want2), "%s\n%s\n", devs[1].udid, devs[0].udid);
	if (strcmp(out, want1) != 0 && strcmp(out, want2) != 0)
		fprintf(stderr, "    idevice_id said:\n%s", out);
	IB_CHECK(strcmp(out, want1) == 0 || strcmp(out, want2) == 0);
}

IB_TEST(inetcat_echo_4_mib_on_the_second_device)
{
	char *argv[] = { "inetcat", "-u", devs[1].udid, "7", NULL };
	const size_t n = 4u << 20;
	uint8_t *data = random_bytes(n), *back = malloc(n);
	struct tool_run r;

	IB_CHECK(data != NULL && back != NULL);
	memset(&r, 0, sizeof(r));
	r.in = data;
	r.in_len = n;
	/* inetcat drops what its non-blocking socket does not take. */
	r.window = 64 * 1024;
	r.out = back;
	r.out_max = n;
	r.want = n;
	r.timeout_ms = 120000;
	IB_CHECK_OK(interop_run(argv, sock, &r));
	IB_CHECK_EQ(r.out_len, n);
	IB_CHECK(memcmp(back, data, n) == 0);
	free(data);
	free(back);
}

IB_TEST(inetcat_source_3_mib)
{
	char *argv[] = { "inetcat", "-u", devs[0].udid, "19", NULL };
	const size_t n = 3u << 20;
	uint8_t req[16], *want = malloc(n), *back = malloc(n);
	struct tool_run r;

	IB_CHECK(want != NULL && back != NULL);
	put_u64be(req, n);
	put_u64be(req + 8, 0x1234);
	source_bytes(0x1234, want, n);
	memset(&r, 0, sizeof(r));
	r.in = req;
	r.in_len = sizeof(req);
	r.out = back;
	r.out_max = n;
	r.want = n;
	r.timeout_ms = 120000;
	IB_CHECK_OK(interop_run(argv, sock, &r));
	IB_CHECK_EQ(r.out_len, n);
	IB_CHECK(memcmp(back, want, n) == 0);
	free(want);
	free(back);
}

IB_TEST(inetcat_refused_port)
{
	char *argv[] = { "inetcat", "-u", devs[0].udid, "4242", NULL };
	struct tool_run r;
	uint8_t out[64];

	memset(&r, 0, sizeof(r));
	r.out = out;
	r.out_max = sizeof(out);
	r.timeout_ms = 30000;
	IB_CHECK_OK(interop_run(argv, sock, &r));
	IB_CHECK(r.status != 0);
}

/* iproxy on a free port to device port; fd connected to it. */
static int
iproxy_open(uint16_t dport, pid_t *pidp, int *fdp)
{
	uint16_t port = interop_free_port();
	char spec[32];
	char *argv[] = { "iproxy", spec, "-u", devs[0].udid, NULL };
	int r;

	snprintf(spec, sizeof(spec), "%u:%u", port, dport);
	if ((r = interop_spawn(argv, sock, pidp)) != IB_OK)
		return r;
	if ((r = interop_tcp_connect(port, 20000, fdp)) != IB_OK)
		interop_stop(*pidp);
	return r;
}

/*
 * iproxy 2.0.2 relays with one thread per connection and gives a blocked
 * send one second (socket_send) before it drops the rest of its buffer:
 * an echo must not run far ahead of what came back (else iproxy blocks
 * writing to the device while the echo waits for it to read) and the
 * sink is kept small, so that a loaded machine does not lose bytes in
 * iproxy itself.
 */
#define ECHO_WINDOW (256u * 1024u)

IB_TEST(iproxy_echo_sink_and_source)
{
	const size_t n = 16u << 20, sink_n = 4u << 20;
	uint8_t *data = random_bytes(n), *back = malloc(n), hdr[16], md[32], got[32];
	unsigned mdlen = 0;
	pid_t pid;
	int fd, r;

	IB_CHECK(data != NULL && back != NULL);
	/* echo */
	IB_CHECK_OK(iproxy_open(7, &pid, &fd));
	r = interop_exchange(fd, data, n, back, n, ECHO_WINDOW, 120000);
	close(fd);
	interop_stop(pid);
	IB_CHECK_OK(r);
	IB_CHECK(memcmp(back, data, n) == 0);

	/* sink: u64 N, N bytes; the device answers their SHA-256 */
	IB_CHECK(EVP_Digest(data, sink_n, md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32);
	put_u64be(hdr, sink_n);
	IB_CHECK_OK(iproxy_open(9, &pid, &fd));
	r = interop_exchange(fd, hdr, 8, NULL, 0, 0, 10000);
	if (r == IB_OK)
		r = interop_exchange(fd, data, sink_n, got, sizeof(got), 0, 120000);
	close(fd);
	interop_stop(pid);
	IB_CHECK_OK(r);
	IB_CHECK(memcmp(got, md, 32) == 0);

	/* source: u64 N, u64 SEED; N bytes of the seed's stream */
	put_u64be(hdr, n);
	put_u64be(hdr + 8, 77);
	source_bytes(77, data, n);
	IB_CHECK_OK(iproxy_open(19, &pid, &fd));
	r = interop_exchange(fd, hdr, 16, back, n, 0, 120000);
	close(fd);
	interop_stop(pid);
	IB_CHECK_OK(r);
	IB_CHECK(memcmp(back, data, n) == 0);
	free(data);
	free(back);
}

/* --- ibackup's own usbmuxd transport against the server --------------------------- */

static int
client_open(struct ib_usbmux **cp)
{
	struct ib_usbmux_opts o;
	char spec[200];

	snprintf(spec, sizeof(spec), "usbmuxd:UNIX:%s", sock);
	memset(&o, 0, sizeof(o));
	o.transport = spec;
	return ib_usbmux_new(&o, cp);
}

IB_TEST(ibackup_usbmuxd_transport_list_connect_records_buid)
{
	struct ib_usbmux *c = NULL;
	struct ib_device *list = NULL;
	struct ib_stream *s = NULL;
	static const uint8_t rec[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<plist version=\"1.0\"><dict><key>HostID</key><string>5A1E5A1E-0000-4000-8000-"
	    "000000000001</string></dict></plist>\n";
	uint8_t *data = NULL, buf[65536], back[65536];
	char *buid_c = NULL, *buid_s = NULL;
	size_t n = 0, len = 0, i;
	int found = 0;

	IB_CHECK_OK(client_open(&c));
	IB_CHECK(strstr(ib_usbmux_describe(c), sock) != NULL);
	IB_CHECK_EQ(ib_usbmux_conn_type(c), IB_CONN_USBMUXD);
	IB_CHECK_OK(ib_usbmux_list(c, &list, &n));
	IB_CHECK_EQ(n, 2);
	for (i = 0; i < n; i++)
		found += strcmp(list[i].udid, devs[0].udid) == 0 ||
		    strcmp(list[i].udid, devs[1].udid) == 0;
	IB_CHECK_EQ(found, 2);
	IB_CHECK_STR(list[0].conn_detail, "USB");
	free(list);

	IB_CHECK_OK(ib_usbmux_connect(c, devs[1].udid, 7, &s));
	IB_CHECK_OK(ib_random_bytes(buf, sizeof(buf)));
	IB_CHECK_OK(interop_exchange(ib_stream_fd(s), buf, sizeof(buf), back, sizeof(back),
	    0, 60000));
	IB_CHECK(memcmp(buf, back, sizeof(buf)) == 0);
	IB_CHECK_EQ(ib_stream_error(s), IB_OK);
	ib_stream_close(s);
	s = NULL;
	IB_CHECK_ERR(ib_usbmux_connect(c, devs[1].udid, 4242, &s), IB_ERR_MUX_REFUSED);

	/* Pair records land in the serving context's store. */
	IB_CHECK_ERR(ib_usbmux_read_pair_record(c, devs[0].udid, &data, &len), IB_ERR_NOT_FOUND);
	IB_CHECK_OK(ib_usbmux_save_pair_record(c, devs[0].udid, rec, sizeof(rec) - 1));
	IB_CHECK_OK(ib_usbmux_read_pair_record(mux, devs[0].udid, &data, &len));
	free(data);
	IB_CHECK_OK(ib_usbmux_read_pair_record(c, devs[0].udid, &data, &len));
	IB_CHECK(len > 20 && memmem(data, len, "5A1E5A1E", 8) != NULL);
	free(data);
	IB_CHECK_OK(ib_usbmux_delete_pair_record(c, devs[0].udid));
	IB_CHECK_ERR(ib_usbmux_delete_pair_record(c, devs[0].udid), IB_ERR_NOT_FOUND);

	IB_CHECK_OK(ib_usbmux_read_buid(c, &buid_c));
	IB_CHECK_OK(ib_usbmux_read_buid(mux, &buid_s));
	IB_CHECK_STR(buid_c, buid_s);
	free(buid_c);
	free(buid_s);
	ib_usbmux_free(c);
}

/* `ibackup-sim control` unplugs a device: every client hears it. */
static int
sim_control(const char *udid, const char *action)
{
	char *argv[] = { (char *)sim_exe, "control", "--socket", simpath, "-u", (char *)udid,
		(char *)action, NULL };
	struct tool_run r;
	uint8_t out[256];

	memset(&r, 0, sizeof(r));
	r.out = out;
	r.out_max = sizeof(out);
	r.timeout_ms = 30000;
	if (interop_run(argv, sock, &r) != IB_OK || r.status != 0)
		return IB_ERR_INTERNAL;
	return IB_OK;
}

static int
wait_count(struct ib_usbmux *m, size_t want)
{
	struct ib_device *l = NULL;
	size_t n = 0;
	int i;

	for (i = 0; i < 600; i++) {
		if (ib_usbmux_list(m, &l, &n) == IB_OK) {
			free(l);
			if (n == want)
				return IB_OK;
		}
		ib_sleep_ms(50);
	}
	return IB_ERR_TIMEOUT;
}

IB_TEST(unplug_and_plug_reach_every_client)
{
	char *argv[] = { "idevice_id", "-l", NULL };
	struct ib_usbmux *c = NULL;
	struct tool_run r;
	char out[1024];

	IB_CHECK_OK(client_open(&c));
	IB_CHECK_OK(sim_control(devs[0].udid, "unplug"));
	IB_CHECK_OK(wait_count(mux, 1));
	IB_CHECK_OK(wait_count(c, 1));
	memset(&r, 0, sizeof(r));
	r.out = (uint8_t *)out;
	r.out_max = sizeof(out) - 1;
	r.timeout_ms = 30000;
	IB_CHECK_OK(interop_run(argv, sock, &r));
	out[r.out_len] = '\0';
	IB_CHECK(strstr(out, devs[0].udid) == NULL && strstr(out, devs[1].udid) != NULL);
	IB_CHECK_OK(sim_control(devs[0].udid, "plug"));
	IB_CHECK_OK(wait_count(mux, 2));
	IB_CHECK_OK(wait_count(c, 2));
	ib_usbmux_free(c);
}

/* ib_muxd_serve (what `ibackup muxd` runs) ends on the interrupt flag
 * that the CLI's SIGINT handler sets. */
static char serve_path[128];

static void *
serve_main(void *arg)
{
	*(int *)arg = ib_muxd_serve(mux, serve_path);
	return NULL;
}

IB_TEST(serve_runs_until_interrupted)
{
	char *argv[] = { "idevice_id", "-l", NULL };
	struct tool_run r;
	pthread_t t;
	char out[1024];
	int rc = IB_OK, i;

	snprintf(serve_path, sizeof(serve_path), "/tmp/ib-interop-serve-%ld.sock", (long)getpid());
	ib_interrupt_clear();
	IB_CHECK(pthread_create(&t, NULL, serve_main, &rc) == 0);
	/* Until it accepts (the file exists a moment before it listens). */
	for (i = 0; i < 500; i++) {
		struct ib_muxd_addr a;
		char spec[160];
		int fd;

		snprintf(spec, sizeof(spec), "UNIX:%s", serve_path);
		ib_muxd_addr_parse(spec, &a);
		if (ib_muxd_addr_connect(&a, 1000, &fd) == IB_OK) {
			close(fd);
			break;
		}
		ib_sleep_ms(10);
	}
	memset(&r, 0, sizeof(r));
	r.out = (uint8_t *)out;
	r.out_max = sizeof(out) - 1;
	r.timeout_ms = 30000;
	if (interop_run(argv, serve_path, &r) != IB_OK)
		r.status = -1;
	ib_interrupt_set();
	pthread_join(t, NULL);
	ib_interrupt_clear();
	IB_CHECK_EQ(r.status, 0);
	out[r.out_len] = '\0';
	IB_CHECK(strstr(out, devs[0].udid) != NULL);
	IB_CHECK_ERR(rc, IB_ERR_INTERRUPTED);
	IB_CHECK(access(serve_path, F_OK) != 0);
}

/* --- setup ------------------------------------------------------------------------------ */

static int
start_sim(void)
{
	char *argv[] = { (char *)sim_exe, "--listen", simpath, "--devices", "2", NULL };
	char line[256];
	int p[2];
	FILE *f;

	if (pipe(p) != 0)
		return IB_ERR_SYSTEM;
	if ((sim_pid = fork()) == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	if (sim_pid < 0 || (f = fdopen(p[0], "r")) == NULL)
		return IB_ERR_SYSTEM;
	/* ibackup-sim prints "READY PATH" once it serves. */
	if (fgets(line, sizeof(line), f) == NULL || strncmp(line, "READY ", 6) != 0) {
		fclose(f);
		return IB_ERR_INTERNAL;
	}
	fclose(f);
	return IB_OK;
}

static int
setup(void)
{
	struct ib_usbmux_opts o;
	struct ib_device *l = NULL;
	char spec[200];
	size_t n = 0;
	int r;

	snprintf(simpath, sizeof(simpath), "/tmp/ib-interop-sim-%ld.sock", (long)getpid());
	snprintf(sock, sizeof(sock), "/tmp/ib-interop-muxd-%ld.sock", (long)getpid());
	snprintf(records, sizeof(records), "/tmp/ib-interop-records-XXXXXX");
	if (mkdtemp(records) == NULL)
		return IB_ERR_SYSTEM;
	if ((r = start_sim()) != IB_OK)
		return r;
	snprintf(spec, sizeof(spec), "sim:%s", simpath);
	memset(&o, 0, sizeof(o));
	o.transport = spec;
	o.pair_record_dir = records;
	if ((r = ib_usbmux_new(&o, &mux)) != IB_OK || (r = wait_count(mux, 2)) != IB_OK ||
	    (r = ib_usbmux_list(mux, &l, &n)) != IB_OK)
		return r;
	memcpy(devs, l, sizeof(devs));
	free(l);
	return ib_muxd_server_start(mux, sock, &srv);
}

static void
teardown(void)
{
	char cmd[128];

	ib_muxd_server_stop(srv);
	ib_usbmux_free(mux);
	if (sim_pid > 0)
		interop_stop(sim_pid);
	unlink(simpath);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", records);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", records);
}

int
main(int argc, char **argv)
{
	static const char *const tools[] = { "idevice_id", "inetcat", "iproxy", NULL };
	int r;

	interop_require_tools(tools);
	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-ibackup-sim [TEST]\n", argv[0]);
		return 2;
	}
	sim_exe = argv[1];
	signal(SIGPIPE, SIG_IGN);
	if ((r = setup()) != IB_OK) {
		fprintf(stderr, "setup: %s %s\n", ib_strerror(r), ib_err_detail());
		teardown();
		return 1;
	}
	argv[1] = argv[0];
	r = ib_test_main(argc - 1, argv + 1);
	teardown();
	return r;
}
