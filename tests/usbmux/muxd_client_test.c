/*
 * The "usbmuxd" transport (client) against ibackup's own server over the
 * fake backend, and against a small binary-only server like usbmuxd
 * 1.0.x on TCP. The core is faked (fake_core.c): the test sees exactly
 * what the transport reports.
 */
#include "fake_backend.h"
#include "fake_core.h"
#include "ib_limits.h"
#include "ib_test.h"
#include "ib_util.h"
#include "muxd_proto.h"
#include "muxd_server.h"
#include "transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define UDID1 "00008030-001A2B3C4D5E6F70"
#define UDID2 "00008101-000A11112222333E"

static char sockpath[128];
static char spec[160];

struct env {
	struct fake_backend *fb;
	struct ib_muxd_server *srv;
	struct ib_usbmux *core;
	void *t;
};

static int
server_start(struct env *e)
{
	return ib_muxd_server_start_backend(fake_backend_ops(), e->fb, sockpath, &e->srv);
}

static int
env_start(struct env *e, unsigned ndevs)
{
	unsigned i;
	int r;

	memset(e, 0, sizeof(*e));
	snprintf(sockpath, sizeof(sockpath), "/tmp/ib-muxdc-test-%ld.sock", (long)getpid());
	snprintf(spec, sizeof(spec), "UNIX:%s", sockpath);
	if ((e->fb = fake_backend_new()) == NULL || (e->core = fake_core_new()) == NULL)
		return IB_ERR_NOMEM;
	for (i = 0; i < ndevs; i++)
		fake_backend_attach(e->fb, i == 0 ? UDID1 : UDID2);
	if ((r = server_start(e)) != IB_OK)
		return r;
	return ib_transport_usbmuxd.open(e->core, spec, &e->t);
}

static void
env_stop(struct env *e)
{
	if (e->t != NULL)
		ib_transport_usbmuxd.close(e->t);
	ib_muxd_server_stop(e->srv);
	fake_backend_free(e->fb);
	fake_core_free(e->core);
}

static void
stream_close(struct ib_stream *s)
{
	s->ops->close(s);
	free(s);
}

IB_TEST(open_reports_every_device_before_it_returns)
{
	struct env e;
	struct ib_device d;
	uint32_t h3;

	IB_CHECK_OK(env_start(&e, 2));
	IB_CHECK_EQ(fake_core_present(e.core), 2);
	IB_CHECK_EQ(fake_core_event(e.core, 0, &d), 1);
	IB_CHECK_STR(d.udid, UDID1);
	IB_CHECK_EQ(d.handle, 1);
	IB_CHECK_EQ(d.conn, IB_CONN_USBMUXD);
	IB_CHECK_STR(d.conn_detail, "USB");
	IB_CHECK_EQ(d.product_id, 0x12a8);
	IB_CHECK_EQ(d.speed_bps, 480000000);
	IB_CHECK(strstr(ib_transport_usbmuxd.describe(e.t), sockpath) != NULL);
	/* The Listen burst repeats the snapshot: no duplicates. */
	ib_sleep_ms(200);
	IB_CHECK_EQ(fake_core_events(e.core), 2);

	h3 = fake_backend_attach(e.fb, "0123456789abcdef0123456789abcdef01234567");
	IB_CHECK(fake_core_wait_events(e.core, 3, 5000));
	IB_CHECK_EQ(fake_core_event(e.core, 2, &d), 1);
	IB_CHECK_EQ(d.handle, h3);
	fake_backend_detach(e.fb, 1);
	IB_CHECK(fake_core_wait_events(e.core, 4, 5000));
	IB_CHECK_EQ(fake_core_event(e.core, 3, &d), 0);
	IB_CHECK_EQ(d.handle, 1);
	IB_CHECK_EQ(fake_core_present(e.core), 2);
	env_stop(&e);
}

IB_TEST(connect_echo_refusal_and_stream_end)
{
	struct env e;
	struct ib_device d;
	struct ib_stream *s = NULL;
	uint8_t out[65536], in[65536];
	size_t got = 0, i;
	ssize_t k;

	IB_CHECK_OK(env_start(&e, 1));
	IB_CHECK_EQ(fake_core_event(e.core, 0, &d), 1);
	IB_CHECK_OK(ib_transport_usbmuxd.connect(e.t, &d, 7, &s));
	IB_CHECK_EQ(s->ops->error(s), IB_OK);
	for (i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 31 + 7);
	IB_CHECK(write(s->fd, out, sizeof(out)) == (ssize_t)sizeof(out));
	while (got < sizeof(in) && (k = read(s->fd, in + got, sizeof(in) - got)) > 0)
		got += (size_t)k;
	IB_CHECK_EQ(got, sizeof(in));
	IB_CHECK(memcmp(in, out, sizeof(in)) == 0);
	stream_close(s);
	s = NULL;

	IB_CHECK_ERR(ib_transport_usbmuxd.connect(e.t, &d, 62078, &s), IB_ERR_MUX_REFUSED);
	IB_CHECK(s == NULL);
	d.handle = 77;
	IB_CHECK_ERR(ib_transport_usbmuxd.connect(e.t, &d, 7, &s), IB_ERR_NO_DEVICE);

	/* The device ends the stream: EOF, then the reason. */
	d.handle = 1;
	IB_CHECK_OK(ib_transport_usbmuxd.connect(e.t, &d, 19, &s));
	got = 0;
	while ((k = read(s->fd, in, sizeof(in))) > 0)
		got += (size_t)k;
	IB_CHECK_EQ(got, FAKE_SOURCE_BYTES);
	IB_CHECK_EQ(s->ops->error(s), IB_ERR_MUX_RESET);
	IB_CHECK_STR(s->ops->error_text(s), "");
	stream_close(s);
	env_stop(&e);
}

IB_TEST(pair_records_and_buid_through_the_server)
{
	struct env e;
	static const uint8_t rec[] = "<?xml version=\"1.0\"?><plist><dict><key>HostID</key>"
	    "<string>ABC</string></dict></plist>";
	uint8_t *data = NULL;
	size_t len = 0;
	char *buid = NULL;

	IB_CHECK_OK(env_start(&e, 1));
	IB_CHECK_ERR(ib_transport_usbmuxd.read_pair_record(e.t, UDID1, &data, &len),
	    IB_ERR_NOT_FOUND);
	IB_CHECK_OK(ib_transport_usbmuxd.save_pair_record(e.t, UDID1, rec, sizeof(rec) - 1, 1));
	IB_CHECK_OK(ib_transport_usbmuxd.read_pair_record(e.t, UDID1, &data, &len));
	IB_CHECK(len == sizeof(rec) - 1 && memcmp(data, rec, len) == 0);
	free(data);
	IB_CHECK_OK(ib_transport_usbmuxd.delete_pair_record(e.t, UDID1));
	IB_CHECK_ERR(ib_transport_usbmuxd.delete_pair_record(e.t, UDID1), IB_ERR_NOT_FOUND);
	/* The fake store refuses records under 8 bytes: EINVAL back. */
	IB_CHECK_ERR(ib_transport_usbmuxd.save_pair_record(e.t, UDID1, rec, 4, 0),
	    IB_ERR_INVALID_ARG);
	IB_CHECK_ERR(ib_transport_usbmuxd.read_pair_record(e.t, "", &data, &len),
	    IB_ERR_INVALID_ARG);
	IB_CHECK_OK(ib_transport_usbmuxd.read_buid(e.t, &buid));
	IB_CHECK_STR(buid, FAKE_BUID);
	free(buid);
	env_stop(&e);
}

IB_TEST(server_restart_detaches_then_reattaches)
{
	struct env e;

	IB_CHECK_OK(env_start(&e, 2));
	IB_CHECK_EQ(fake_core_present(e.core), 2);
	ib_muxd_server_stop(e.srv);
	e.srv = NULL;
	IB_CHECK(fake_core_wait_present(e.core, 0, 5000));
	IB_CHECK_OK(server_start(&e));
	IB_CHECK(fake_core_wait_present(e.core, 2, 5000));
	env_stop(&e);
}

IB_TEST(closing_the_transport_fails_its_streams)
{
	struct env e;
	struct ib_device d;
	struct ib_stream *s = NULL;
	char c;

	IB_CHECK_OK(env_start(&e, 1));
	IB_CHECK_EQ(fake_core_event(e.core, 0, &d), 1);
	IB_CHECK_OK(ib_transport_usbmuxd.connect(e.t, &d, 7, &s));
	ib_transport_usbmuxd.close(e.t);
	e.t = NULL;
	IB_CHECK_EQ(read(s->fd, &c, 1), 0);
	IB_CHECK_EQ(s->ops->error(s), IB_ERR_NO_DEVICE);
	stream_close(s);
	env_stop(&e);
}

IB_TEST(no_server_is_a_quiet_transport_error)
{
	struct ib_usbmux *core = fake_core_new();
	void *t = NULL;

	IB_CHECK(core != NULL);
	IB_CHECK_ERR(ib_transport_usbmuxd.open(core, "UNIX:/nonexistent/ib-muxd.sock", &t),
	    IB_ERR_TRANSPORT);
	IB_CHECK(t == NULL);
	IB_CHECK(strstr(ib_err_detail(), "/nonexistent/ib-muxd.sock") != NULL);
	/* The environment variable is read when no spec is given. */
	setenv("USBMUXD_SOCKET_ADDRESS", "UNIX:/nonexistent/from-env.sock", 1);
	IB_CHECK_ERR(ib_transport_usbmuxd.open(core, NULL, &t), IB_ERR_TRANSPORT);
	IB_CHECK(strstr(ib_err_detail(), "from-env.sock") != NULL);
	unsetenv("USBMUXD_SOCKET_ADDRESS");
	fake_core_free(core);
}

/* --- a binary-only server (usbmuxd 1.0.x) on TCP ----------------------------- */

struct old_muxd {
	int lfd;
	uint16_t port;
	pthread_t thread;
	int plist_seen;
	int stop;
};

static void
old_reply(int fd, uint32_t tag, uint32_t number)
{
	struct ib_muxd_msg m;

	ib_muxd_msg_init(&m, IB_MUXD_K_RESULT, 0, tag);
	m.number = number;
	(void)ib_muxd_send_msg(fd, &m);
}

static void *
old_client_main(void *arg)
{
	int fd = (int)(intptr_t)arg, n;
	struct ib_muxd_msg m, add;
	uint8_t buf[4096];

	while (ib_muxd_recv_msg(fd, 10000, &m) == IB_OK) {
		if (m.plist) {
			/* Before plist support: BADVERSION in binary. */
			old_reply(fd, m.tag, IB_MUXD_RESULT_BADVERSION);
		} else if (m.kind == IB_MUXD_K_LISTEN) {
			old_reply(fd, m.tag, 0);
			ib_muxd_msg_init(&add, IB_MUXD_K_ATTACHED, 0, 0);
			add.dev.handle = 5;
			add.dev.product_id = 0x12a8;
			snprintf(add.dev.udid, sizeof(add.dev.udid), "00008030001A2B3C4D5E6F70");
			(void)ib_muxd_send_msg(fd, &add);
		} else if (m.kind == IB_MUXD_K_CONNECT) {
			old_reply(fd, m.tag, m.device_id != 5 ? 2 : m.port != 7 ? 3 : 0);
			if (m.device_id == 5 && m.port == 7) {
				while ((n = (int)read(fd, buf, sizeof(buf))) > 0)
					if (write(fd, buf, (size_t)n) != n)
						break;
				break;
			}
		} else {
			old_reply(fd, m.tag, IB_MUXD_RESULT_BADCOMMAND);
		}
		ib_muxd_msg_clear(&m);
	}
	close(fd);
	return NULL;
}

static void *
old_main(void *arg)
{
	struct old_muxd *o = arg;
	pthread_t t;
	int fd;

	while ((fd = accept(o->lfd, NULL, NULL)) >= 0) {
		if (__atomic_load_n(&o->stop, __ATOMIC_SEQ_CST)) {
			close(fd);
			break;
		}
		if (pthread_create(&t, NULL, old_client_main, (void *)(intptr_t)fd) == 0)
			pthread_detach(t);
		else
			close(fd);
	}
	return NULL;
}

IB_TEST(binary_only_server_on_tcp)
{
	struct old_muxd o;
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	struct ib_usbmux *core = fake_core_new();
	struct ib_device d;
	struct ib_stream *s = NULL;
	uint8_t *data = NULL;
	size_t len;
	char tcp[64], back[6];
	void *t = NULL;
	int one = 1, fd;

	memset(&o, 0, sizeof(o));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	o.lfd = socket(AF_INET, SOCK_STREAM, 0);
	IB_CHECK(o.lfd >= 0);
	setsockopt(o.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	IB_CHECK(bind(o.lfd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	IB_CHECK(listen(o.lfd, 16) == 0);
	IB_CHECK(getsockname(o.lfd, (struct sockaddr *)&sin, &slen) == 0);
	IB_CHECK(pthread_create(&o.thread, NULL, old_main, &o) == 0);
	snprintf(tcp, sizeof(tcp), "127.0.0.1:%u", ntohs(sin.sin_port));

	IB_CHECK_OK(ib_transport_usbmuxd.open(core, tcp, &t));
	IB_CHECK_EQ(fake_core_present(core), 1);
	IB_CHECK_EQ(fake_core_event(core, 0, &d), 1);
	IB_CHECK_EQ(d.handle, 5);
	IB_CHECK_STR(d.udid, "00008030-001A2B3C4D5E6F70");
	IB_CHECK(strstr(ib_transport_usbmuxd.describe(t), tcp) != NULL);
	IB_CHECK_OK(ib_transport_usbmuxd.connect(t, &d, 7, &s));
	IB_CHECK(write(s->fd, "binary", 6) == 6);
	IB_CHECK(read(s->fd, back, 6) == 6 && memcmp(back, "binary", 6) == 0);
	stream_close(s);
	IB_CHECK_ERR(ib_transport_usbmuxd.connect(t, &d, 8, &s), IB_ERR_MUX_REFUSED);
	/* Pair records need the plist protocol this server lacks. */
	IB_CHECK_ERR(ib_transport_usbmuxd.read_pair_record(t, UDID1, &data, &len),
	    IB_ERR_MUXD_BADVERSION);
	ib_transport_usbmuxd.close(t);

	/* Stop the accept loop with one last connection. */
	__atomic_store_n(&o.stop, 1, __ATOMIC_SEQ_CST);
	{
		struct ib_muxd_addr a;

		ib_muxd_addr_parse(tcp, &a);
		if (ib_muxd_addr_connect(&a, 1000, &fd) == IB_OK)
			close(fd);
	}
	pthread_join(o.thread, NULL);
	close(o.lfd);
	fake_core_free(core);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
