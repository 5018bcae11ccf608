/*
 * The usbmuxd-compatible server on a real UNIX socket over the fake
 * backend: socket file handling, the raw pipe (echo, sink, source, bytes
 * sent before the Connect Result), many clients at once, a listener that
 * does not read, and stopping with clients in every state.
 */
#include "fake_backend.h"
#include "ib_limits.h"
#include "ib_test.h"
#include "ib_util.h"
#include "muxd_proto.h"
#include "muxd_server.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define UDID1 "00008030-001A2B3C4D5E6F70"

static char sockpath[128];

struct env {
	struct fake_backend *fb;
	struct ib_muxd_server *srv;
	uint32_t dev;
};

static int
env_start(struct env *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(sockpath, sizeof(sockpath), "/tmp/ib-muxd-test-%ld.sock", (long)getpid());
	if ((e->fb = fake_backend_new()) == NULL)
		return IB_ERR_NOMEM;
	e->dev = fake_backend_attach(e->fb, UDID1);
	return ib_muxd_server_start_backend(fake_backend_ops(), e->fb, sockpath, &e->srv);
}

static void
env_stop(struct env *e)
{
	ib_muxd_server_stop(e->srv);
	fake_backend_free(e->fb);
}

static int
cli_open(int *fdp)
{
	struct ib_muxd_addr a;
	char spec[160];

	snprintf(spec, sizeof(spec), "UNIX:%s", sockpath);
	ib_muxd_addr_parse(spec, &a);
	return ib_muxd_addr_connect(&a, 2000, fdp);
}

/* A plist Connect on a fresh socket; *fdp is the raw pipe on success. */
static int
cli_connect(uint32_t dev, uint16_t port, int *fdp)
{
	struct ib_muxd_msg m, r;
	int fd, rc;

	*fdp = -1;
	if ((rc = cli_open(&fd)) != IB_OK)
		return rc;
	ib_muxd_msg_init(&m, IB_MUXD_K_CONNECT, 1, 1);
	m.device_id = dev;
	m.port = port;
	if ((rc = ib_muxd_send_msg(fd, &m)) == IB_OK &&
	    (rc = ib_muxd_recv_msg(fd, 5000, &r)) == IB_OK)
		rc = ib_muxd_reply_check(IB_MUXD_K_CONNECT, &r);
	if (rc != IB_OK) {
		close(fd);
		return rc;
	}
	*fdp = fd;
	return IB_OK;
}

struct writer {
	int fd;
	const uint8_t *p;
	size_t n;
	int ok;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	size_t off = 0;
	ssize_t k;

	while (off < w->n) {
		k = send(w->fd, w->p + off, IB_MIN((size_t)100000, w->n - off), MSG_NOSIGNAL);
		if (k <= 0)
			return NULL;
		off += (size_t)k;
	}
	w->ok = 1;
	return NULL;
}

static size_t
read_all(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;
	ssize_t k;

	while (got < n && (k = read(fd, p + got, n - got)) > 0)
		got += (size_t)k;
	return got;
}

static void
fill_random(uint8_t *p, size_t n, unsigned seed)
{
	size_t i;

	srand(seed);
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)rand();
}

/* Send n random bytes to the echo service and compare what comes back. */
static int
echo_round(uint32_t dev, size_t n, unsigned seed)
{
	uint8_t *out = malloc(n), *in = malloc(n);
	struct writer w;
	pthread_t t;
	int fd = -1, ok = 0;

	if (out == NULL || in == NULL || cli_connect(dev, 7, &fd) != IB_OK)
		goto out;
	fill_random(out, n, seed);
	w.fd = fd;
	w.p = out;
	w.n = n;
	w.ok = 0;
	if (pthread_create(&t, NULL, writer_main, &w) != 0)
		goto out;
	ok = read_all(fd, in, n) == n && memcmp(in, out, n) == 0;
	pthread_join(t, NULL);
	ok = ok && w.ok;
 out:
	if (fd >= 0)
		close(fd);
	free(out);
	free(in);
	return ok;
}

static int
wait_streams(struct fake_backend *fb, unsigned want)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (fake_backend_stat(fb, FAKE_OPEN_STREAMS) == want)
			return 1;
		ib_sleep_ms(10);
	}
	return 0;
}

IB_TEST(socket_file_mode_stale_and_busy)
{
	struct env e;
	struct ib_muxd_server *second = NULL;
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	IB_CHECK_OK(env_start(&e));
	IB_CHECK(stat(sockpath, &st) == 0);
	IB_CHECK(S_ISSOCK(st.st_mode));
	IB_CHECK_EQ(st.st_mode & 0777, 0666);
	/* Someone answers there: refused, the first keeps working. */
	IB_CHECK_ERR(ib_muxd_server_start_backend(fake_backend_ops(), e.fb, sockpath, &second),
	    IB_ERR_EXISTS);
	IB_CHECK(echo_round(e.dev, 1000, 1));
	env_stop(&e);
	IB_CHECK(stat(sockpath, &st) != 0);

	/* A stale socket (nobody listening) is replaced. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, sockpath, strlen(sockpath));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	IB_CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	close(fd);
	IB_CHECK_OK(env_start(&e));
	IB_CHECK(echo_round(e.dev, 1000, 2));
	env_stop(&e);

	/* A file that is not a socket is never removed. */
	fd = open(sockpath, O_CREAT | O_WRONLY, 0600);
	IB_CHECK(fd >= 0);
	close(fd);
	IB_CHECK_ERR(env_start(&e), IB_ERR_EXISTS);
	fake_backend_free(e.fb);
	IB_CHECK(stat(sockpath, &st) == 0 && S_ISREG(st.st_mode));
	unlink(sockpath);
}

IB_TEST(echo_sink_and_source_through_the_raw_pipe)
{
	struct env e;
	uint8_t *buf;
	size_t got, i;
	int fd, ok = 1;

	IB_CHECK_OK(env_start(&e));
	IB_CHECK(echo_round(e.dev, 8u << 20, 3));

	/* Sink: everything written arrives. */
	IB_CHECK_OK(cli_connect(e.dev, 9, &fd));
	buf = calloc(1, 4u << 20);
	IB_CHECK(buf != NULL);
	IB_CHECK(write(fd, buf, 4u << 20) == (ssize_t)(4u << 20));
	for (i = 0; i < 500 && fake_backend_stat(e.fb, FAKE_SUNK) < (4u << 20); i++)
		ib_sleep_ms(10);
	IB_CHECK_EQ(fake_backend_stat(e.fb, FAKE_SUNK), 4u << 20);
	close(fd);

	/* Source: the device's bytes, then EOF when it closes. */
	IB_CHECK_OK(cli_connect(e.dev, 19, &fd));
	got = read_all(fd, buf, 4u << 20);
	IB_CHECK_EQ(got, FAKE_SOURCE_BYTES);
	for (i = 0; i < got; i++)
		ok &= buf[i] == fake_source_byte(i);
	IB_CHECK(ok);
	close(fd);
	free(buf);
	IB_CHECK(wait_streams(e.fb, 0));
	env_stop(&e);
}

IB_TEST(bytes_sent_before_the_result_reach_the_device)
{
	struct env e;
	struct ib_muxd_msg m, r;
	struct ib_buf b;
	uint8_t back[11];
	int fd;

	IB_CHECK_OK(env_start(&e));
	IB_CHECK_OK(cli_open(&fd));
	ib_buf_init(&b, IB_MUXD_MSG_MAX);
	ib_muxd_msg_init(&m, IB_MUXD_K_CONNECT, 0, 1);
	m.device_id = e.dev;
	m.port = 7;
	IB_CHECK_OK(ib_muxd_encode(&b, &m));
	IB_CHECK_OK(ib_buf_put(&b, "early bytes", 11));
	IB_CHECK(write(fd, ib_buf_ptr(&b), ib_buf_len(&b)) == (ssize_t)ib_buf_len(&b));
	ib_buf_free(&b);
	IB_CHECK_OK(ib_muxd_recv_msg(fd, 5000, &r));
	IB_CHECK(r.kind == IB_MUXD_K_RESULT && r.number == 0);
	IB_CHECK_EQ(read_all(fd, back, sizeof(back)), sizeof(back));
	IB_CHECK(memcmp(back, "early bytes", 11) == 0);
	close(fd);
	env_stop(&e);
}

static struct env *many_env;

static void *
many_main(void *arg)
{
	struct ib_muxd_msg m, r;
	int fd, *ok = arg;

	*ok = 0;
	if (cli_open(&fd) != IB_OK)
		return NULL;
	ib_muxd_msg_init(&m, IB_MUXD_K_LIST_DEVICES, 1, 1);
	if (ib_muxd_send_msg(fd, &m) != IB_OK || ib_muxd_recv_msg(fd, 5000, &r) != IB_OK ||
	    ib_muxd_reply_check(IB_MUXD_K_LIST_DEVICES, &r) != IB_OK || r.ndevs != 1) {
		ib_muxd_msg_clear(&r);
		close(fd);
		return NULL;
	}
	ib_muxd_msg_clear(&r);
	close(fd);
	*ok = echo_round(many_env->dev, 256u << 10, (unsigned)(size_t)arg);
	return NULL;
}

IB_TEST(many_clients_at_once)
{
	struct env e;
	pthread_t t[24];
	int ok[24], i, all = 1;

	IB_CHECK_OK(env_start(&e));
	many_env = &e;
	for (i = 0; i < 24; i++)
		IB_CHECK(pthread_create(&t[i], NULL, many_main, &ok[i]) == 0);
	for (i = 0; i < 24; i++) {
		pthread_join(t[i], NULL);
		all &= ok[i];
	}
	IB_CHECK(all);
	IB_CHECK(wait_streams(e.fb, 0));
	env_stop(&e);
}

struct listener {
	int fd;
	unsigned adds, removes;
	int eof;
};

static void *
listener_main(void *arg)
{
	struct listener *l = arg;
	struct ib_muxd_msg r;

	while (ib_muxd_recv_msg(l->fd, 10000, &r) == IB_OK) {
		__atomic_add_fetch(&l->adds, r.kind == IB_MUXD_K_ATTACHED, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&l->removes, r.kind == IB_MUXD_K_DETACHED, __ATOMIC_SEQ_CST);
		ib_muxd_msg_clear(&r);
	}
	__atomic_store_n(&l->eof, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static int
cli_listen(int *fdp)
{
	struct ib_muxd_msg m, r;
	int rc;

	if ((rc = cli_open(fdp)) != IB_OK)
		return rc;
	ib_muxd_msg_init(&m, IB_MUXD_K_LISTEN, 1, 1);
	if ((rc = ib_muxd_send_msg(*fdp, &m)) == IB_OK &&
	    (rc = ib_muxd_recv_msg(*fdp, 5000, &r)) == IB_OK)
		rc = ib_muxd_reply_check(IB_MUXD_K_LISTEN, &r);
	return rc;
}

IB_TEST(a_listener_that_does_not_read_is_dropped_the_others_get_everything)
{
	struct env e;
	struct listener fast;
	pthread_t t;
	int slow, rcv = 4096, i, n = 4000;
	char c;

	IB_CHECK_OK(env_start(&e));
	IB_CHECK_OK(cli_listen(&slow));
	IB_CHECK(setsockopt(slow, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv)) == 0);
	memset(&fast, 0, sizeof(fast));
	IB_CHECK_OK(cli_listen(&fast.fd));
	IB_CHECK(pthread_create(&t, NULL, listener_main, &fast) == 0);
	/* Events at the pace of the reader that keeps up: the one that does
	 * not read must not slow them down or block them. */
	for (i = 0; i < n; i++) {
		fake_backend_detach(e.fb, fake_backend_attach(e.fb, UDID1));
		while (i - (int)__atomic_load_n(&fast.removes, __ATOMIC_SEQ_CST) > 200 &&
		    !__atomic_load_n(&fast.eof, __ATOMIC_SEQ_CST))
			ib_sleep_ms(1);
	}
	/* The fast one saw the initial device and every event. */
	for (i = 0; i < 1000 && __atomic_load_n(&fast.removes, __ATOMIC_SEQ_CST) < (unsigned)n; i++)
		ib_sleep_ms(10);
	IB_CHECK_EQ(fast.adds, n + 1);
	IB_CHECK_EQ(fast.removes, n);
	/* The slow one was dropped: draining it ends in EOF. */
	while (read(slow, &c, 1) == 1)
		;
	for (i = 0; i < 500 && ib_muxd_server_clients(e.srv) != 1; i++)
		ib_sleep_ms(10);
	IB_CHECK_EQ(ib_muxd_server_clients(e.srv), 1);
	close(slow);
	shutdown(fast.fd, SHUT_RDWR);
	pthread_join(t, NULL);
	close(fast.fd);
	env_stop(&e);
}

IB_TEST(listeners_are_listed_and_hear_paired)
{
	struct env e;
	struct ib_muxd_msg m, r;
	static const uint8_t rec[] = "<plist><dict/></plist>";
	int lfd, cfd, paired = 0, i;

	IB_CHECK_OK(env_start(&e));
	IB_CHECK_OK(cli_open(&lfd));
	ib_muxd_msg_init(&m, IB_MUXD_K_LISTEN, 1, 1);
	snprintf(m.prog_name, sizeof(m.prog_name), "watcher");
	IB_CHECK_OK(ib_muxd_send_msg(lfd, &m));
	IB_CHECK_OK(ib_muxd_recv_msg(lfd, 5000, &r));
	IB_CHECK_OK(ib_muxd_reply_check(IB_MUXD_K_LISTEN, &r));
	IB_CHECK_OK(ib_muxd_recv_msg(lfd, 5000, &r));
	IB_CHECK(r.kind == IB_MUXD_K_ATTACHED && r.dev.handle == e.dev);

	/* ListListeners names it. */
	IB_CHECK_OK(cli_open(&cfd));
	ib_muxd_msg_init(&m, IB_MUXD_K_LIST_LISTENERS, 1, 2);
	IB_CHECK_OK(ib_muxd_send_msg(cfd, &m));
	IB_CHECK_OK(ib_muxd_recv_msg(cfd, 5000, &r));
	IB_CHECK_OK(ib_muxd_reply_check(IB_MUXD_K_LIST_LISTENERS, &r));
	IB_CHECK_EQ(r.nlisteners, 1);
	IB_CHECK_STR(r.listeners[0].prog_name, "watcher");
	IB_CHECK(strstr(r.listeners[0].id, "-watcher") != NULL);
	ib_muxd_msg_clear(&r);

	/* A record saved for a connected DeviceID: the listener hears Paired. */
	ib_muxd_msg_init(&m, IB_MUXD_K_SAVE_PAIR_RECORD, 1, 3);
	snprintf(m.record_id, sizeof(m.record_id), UDID1);
	m.data = (uint8_t *)rec;
	m.data_len = sizeof(rec) - 1;
	m.has_device_id = 1;
	m.device_id = e.dev;
	IB_CHECK_OK(ib_muxd_send_msg(cfd, &m));
	IB_CHECK_OK(ib_muxd_recv_msg(cfd, 5000, &r));
	IB_CHECK_OK(ib_muxd_reply_check(IB_MUXD_K_SAVE_PAIR_RECORD, &r));
	for (i = 0; i < 5 && !paired; i++) {
		IB_CHECK_OK(ib_muxd_recv_msg(lfd, 5000, &r));
		paired = r.kind == IB_MUXD_K_PAIRED && r.device_id == e.dev && r.tag == 0;
	}
	IB_CHECK(paired);
	close(cfd);
	close(lfd);
	env_stop(&e);
}

IB_TEST(stop_with_clients_in_every_state)
{
	struct env e;
	int idle, listening, connected, gone, i;
	char c;

	IB_CHECK_OK(env_start(&e));
	IB_CHECK_OK(cli_open(&idle));
	IB_CHECK_OK(cli_listen(&listening));
	IB_CHECK_OK(cli_connect(e.dev, 7, &connected));
	IB_CHECK_OK(cli_connect(e.dev, 7, &gone));
	close(gone);
	IB_CHECK(wait_streams(e.fb, 1));
	for (i = 0; i < 500 && ib_muxd_server_clients(e.srv) != 3; i++)
		ib_sleep_ms(10);
	IB_CHECK_EQ(ib_muxd_server_clients(e.srv), 3);
	ib_muxd_server_stop(e.srv);
	IB_CHECK_EQ(fake_backend_stat(e.fb, FAKE_OPEN_STREAMS), 0);
	IB_CHECK_EQ(read(connected, &c, 1), 0);
	IB_CHECK_EQ(read(idle, &c, 1), 0);
	close(idle);
	close(listening);
	close(connected);
	fake_backend_free(e.fb);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
