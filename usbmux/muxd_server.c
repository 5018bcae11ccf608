/*
 * muxd_server.c - sockets and threads of the usbmuxd-compatible server:
 * one accept thread, one thread per client running its muxd_session, and
 * the raw pipe after a Connect. See muxd_server.h.
 */
#include "muxd_server.h"
#include "muxd_pipe.h"
#include "muxd_session.h"
#include "ib_err.h"
#include "ib_log.h"
#include "ib_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* usbmuxd's listen backlog (usbmux.md 3.1). */
#define LISTEN_BACKLOG 256
/* How long a closing client may take to read its last reply. */
#define CLOSE_FLUSH_MS 1000

struct client {
	struct ib_muxd_server *srv;
	struct muxd_session *s;
	int fd;
	int wake;                       /* eventfd: output queued or stopping */
	unsigned number;
	pthread_t thread;
	int done;                       /* thread finished (srv->lock) */
	struct client *next;
};

struct ib_muxd_server {
	struct ib_muxd_backend be;
	void *ctx;
	char *path;
	int lfd;
	int stop_fd;                    /* eventfd: stop the accept thread */
	int reap_fd;                    /* eventfd: a client thread finished */
	pthread_t accept_thread;
	int accept_started;
	int sub_id;
	int subscribed;
	pthread_mutex_t lock;           /* clients, nclients, stopping */
	struct client *clients;
	unsigned nclients;
	unsigned next_number;
	int stopping;
};

static void
poke(int efd)
{
	uint64_t one = 1;

	/* An eventfd write only fails when the counter would overflow, in
	 * which case it is readable already. */
	(void)!write(efd, &one, sizeof(one));
}

static void
drain(int efd)
{
	uint64_t v;

	(void)!read(efd, &v, sizeof(v));
}

/* --- host callbacks for the sessions ---------------------------------------- */

static int
overflowed(struct client *c)
{
	int o;

	(void)muxd_session_state(c->s, NULL, &o);
	return o;
}

static void
on_device_event(void *arg, int attached, const struct ib_device *dev)
{
	struct ib_muxd_server *srv = arg;
	struct client *c;

	pthread_mutex_lock(&srv->lock);
	for (c = srv->clients; c != NULL; c = c->next)
		if (muxd_session_notify(c->s, attached, dev) || overflowed(c))
			poke(c->wake);
	pthread_mutex_unlock(&srv->lock);
}

static void
host_paired(void *arg, uint32_t device_id)
{
	struct ib_muxd_server *srv = arg;
	struct client *c;

	pthread_mutex_lock(&srv->lock);
	for (c = srv->clients; c != NULL; c = c->next)
		if (muxd_session_notify_paired(c->s, device_id))
			poke(c->wake);
	pthread_mutex_unlock(&srv->lock);
}

static int
host_listeners(void *arg, struct ib_muxd_listener **lp, size_t *np)
{
	struct ib_muxd_server *srv = arg;
	struct ib_muxd_listener *l;
	struct client *c;
	size_t n = 0;

	*lp = NULL;
	*np = 0;
	pthread_mutex_lock(&srv->lock);
	if ((l = calloc(srv->nclients + 1, sizeof(*l))) == NULL) {
		pthread_mutex_unlock(&srv->lock);
		return IB_ERR_NOMEM;
	}
	for (c = srv->clients; c != NULL; c = c->next)
		if (muxd_session_listener_info(c->s, &l[n]))
			n++;
	pthread_mutex_unlock(&srv->lock);
	*lp = l;
	*np = n;
	return IB_OK;
}

/* --- one client ------------------------------------------------------------ */

static ssize_t
sock_write(void *arg, const uint8_t *p, size_t n)
{
	int fd = *(int *)arg;
	ssize_t w = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (w >= 0)
		return w;
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	return IB_ERR_EOF;
}

static int
stopping(struct ib_muxd_server *srv)
{
	int st;

	pthread_mutex_lock(&srv->lock);
	st = srv->stopping;
	pthread_mutex_unlock(&srv->lock);
	return st;
}

/* Write all queued output (the Connect Result, a last BADCOMMAND). */
static int
flush_output(struct client *c, int timeout_ms)
{
	struct pollfd pfd[2];
	uint64_t deadline = ib_now_ms() + (uint64_t)timeout_ms;
	size_t pending;
	int r;

	for (;;) {
		if ((r = muxd_session_output(c->s, sock_write, &c->fd)) != IB_OK)
			return r;
		(void)muxd_session_state(c->s, &pending, NULL);
		if (pending == 0)
			return IB_OK;
		if (timeout_ms >= 0 && ib_now_ms() >= deadline)
			return IB_ERR_TIMEOUT;
		pfd[0].fd = c->fd;
		pfd[0].events = POLLOUT;
		pfd[1].fd = c->wake;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, 100) < 0 && errno != EINTR)
			return IB_ERR_SYSTEM;
		if (pfd[1].revents & POLLIN) {
			drain(c->wake);
			if (stopping(c->srv))
				return IB_ERR_INTERRUPTED;
		}
	}
}

/* COMMAND and LISTEN: read whole messages, answer, pass notifications.
 * Returns when the session leaves those states or the client goes. */
static int
serve_commands(struct client *c)
{
	uint8_t buf[16384];
	struct pollfd pfd[2];
	enum muxd_state st;
	size_t want, used, pending;
	ssize_t n;
	int over;

	for (;;) {
		if (muxd_session_output(c->s, sock_write, &c->fd) != IB_OK)
			return IB_ERR_EOF;
		st = muxd_session_state(c->s, &pending, &over);
		if (st != MUXD_COMMAND && st != MUXD_LISTEN)
			return IB_OK;
		if (over) {
			ib_debug("client %u: dropped (does not read its notifications)", c->number);
			return IB_ERR_TOO_LARGE;
		}
		want = muxd_session_want(c->s);
		pfd[0].fd = c->fd;
		pfd[0].events = (short)(POLLIN | (pending ? POLLOUT : 0));
		pfd[1].fd = c->wake;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return IB_ERR_SYSTEM;
		}
		if (pfd[1].revents & POLLIN) {
			drain(c->wake);
			if (stopping(c->srv))
				return IB_ERR_INTERRUPTED;
		}
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		/* Never more than the current message: bytes after a Connect
		 * belong to the device. */
		n = recv(c->fd, buf, IB_MIN(want, sizeof(buf)), MSG_DONTWAIT);
		if (n == 0)
			return IB_ERR_EOF;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return IB_ERR_EOF;
		}
		muxd_session_input(c->s, buf, (size_t)n, &used);
	}
}

static void
serve_connected(struct client *c)
{
	void *h = NULL;
	int sfd = -1, r;

	if (muxd_session_take_stream(c->s, &sfd, &h) != IB_OK)
		return;
	/* The Result goes out before any device byte (usbmuxd's
	 * CONNECTING2 state). */
	if ((r = flush_output(c, -1)) == IB_OK)
		r = muxd_pipe_run(c->fd, sfd, c->wake);
	ib_debug("client %u: stream ended: %s", c->number, ib_strerror(r));
	c->srv->be.close_stream(c->srv->ctx, h);
}

static void *
client_main(void *arg)
{
	struct client *c = arg;
	struct ib_muxd_server *srv = c->srv;
	int r;

	r = serve_commands(c);
	switch (muxd_session_state(c->s, NULL, NULL)) {
	case MUXD_CONNECTED:
		serve_connected(c);
		break;
	case MUXD_CLOSED:
		if (r == IB_OK)
			(void)flush_output(c, CLOSE_FLUSH_MS);
		break;
	default:
		break;
	}
	ib_debug("client %u: gone", c->number);
	pthread_mutex_lock(&srv->lock);
	c->done = 1;
	pthread_mutex_unlock(&srv->lock);
	poke(srv->reap_fd);
	return NULL;
}

static void
client_free(struct client *c)
{
	if (c == NULL)
		return;
	muxd_session_free(c->s);
	if (c->fd >= 0)
		close(c->fd);
	if (c->wake >= 0)
		close(c->wake);
	free(c);
}

static int
client_new(struct ib_muxd_server *srv, int fd, struct client **cp)
{
	struct muxd_host host = {
		.be = &srv->be, .be_ctx = srv->ctx, .listeners = host_listeners,
		.paired = host_paired, .hctx = srv,
	};
	struct client *c;
	int r;

	*cp = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return IB_ERR_NOMEM;
	c->srv = srv;
	c->fd = fd;
	if ((c->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		r = ib_err_from_errno(errno, "eventfd");
		c->fd = -1;
		free(c);
		return r;
	}
	pthread_mutex_lock(&srv->lock);
	c->number = ++srv->next_number;
	pthread_mutex_unlock(&srv->lock);
	if ((r = muxd_session_new(&host, c->number, &c->s)) != IB_OK) {
		c->fd = -1;
		client_free(c);
		return r;
	}
	*cp = c;
	return IB_OK;
}

/* --- accept thread ----------------------------------------------------------- */

/* Join and free the clients whose threads are done. */
static void
reap(struct ib_muxd_server *srv, int all)
{
	struct client **pp, *c, *gone = NULL;

	pthread_mutex_lock(&srv->lock);
	for (pp = &srv->clients; (c = *pp) != NULL;) {
		if (c->done || all) {
			*pp = c->next;
			c->next = gone;
			gone = c;
			srv->nclients--;
		} else {
			pp = &c->next;
		}
	}
	pthread_mutex_unlock(&srv->lock);
	while ((c = gone) != NULL) {
		gone = c->next;
		pthread_join(c->thread, NULL);
		client_free(c);
	}
}

static void
accept_one(struct ib_muxd_server *srv)
{
	struct client *c = NULL;
	int fd;

	fd = accept4(srv->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			ib_warn("usbmuxd server: accept: %s", strerror(errno));
			ib_sleep_ms(100);
		}
		return;
	}
	if (client_new(srv, fd, &c) != IB_OK) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&srv->lock);
	if (pthread_create(&c->thread, NULL, client_main, c) != 0) {
		pthread_mutex_unlock(&srv->lock);
		client_free(c);
		return;
	}
	c->next = srv->clients;
	srv->clients = c;
	srv->nclients++;
	pthread_mutex_unlock(&srv->lock);
	ib_debug("usbmuxd server: client %u connected", c->number);
}

static void *
accept_main(void *arg)
{
	struct ib_muxd_server *srv = arg;
	struct pollfd pfd[3];
	sigset_t set;

	/* Peers that vanish mid-write give EPIPE, never a process-wide
	 * SIGPIPE; client threads inherit this mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (;;) {
		pfd[0].fd = srv->lfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = srv->stop_fd;
		pfd[1].events = POLLIN;
		pfd[2].fd = srv->reap_fd;
		pfd[2].events = POLLIN;
		if (poll(pfd, 3, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN)
			break;
		if (pfd[2].revents & POLLIN) {
			drain(srv->reap_fd);
			reap(srv, 0);
		}
		if (pfd[0].revents & POLLIN)
			accept_one(srv);
	}
	return NULL;
}

/* --- start / stop -------------------------------------------------------------- */

/* A socket file at path: refuse if a server answers there, else remove
 * it. Anything that is not a socket is left alone. */
static int
clear_stale(const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, r;

	if (lstat(sun->sun_path, &st) != 0)
		return IB_OK;
	if (!S_ISSOCK(st.st_mode)) {
		ib_err_detail_set("%s exists and is not a socket", sun->sun_path);
		return IB_ERR_EXISTS;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return ib_err_from_errno(errno, "socket");
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (r == 0) {
		ib_err_detail_set("a server already answers on %s", sun->sun_path);
		return IB_ERR_EXISTS;
	}
	if (unlink(sun->sun_path) != 0 && errno != ENOENT)
		return ib_err_from_errno(errno, sun->sun_path);
	return IB_OK;
}

static int
listen_socket(const char *path, int *fdp)
{
	struct sockaddr_un sun;
	int fd, r;

	*fdp = -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		ib_err_detail_set("socket path is longer than %zu bytes", sizeof(sun.sun_path) - 1);
		return IB_ERR_INVALID_ARG;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((r = clear_stale(&sun)) != IB_OK)
		return r;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return ib_err_from_errno(errno, "socket");
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		r = ib_err_from_errno(errno, path);
		close(fd);
		return r == IB_ERR_EXISTS ? r : IB_ERR_SYSTEM;
	}
	/* Every local user may talk to usbmuxd (its socket is 0666). */
	if (chmod(path, 0666) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
		r = ib_err_from_errno(errno, path);
		close(fd);
		unlink(path);
		return IB_ERR_SYSTEM;
	}
	*fdp = fd;
	return IB_OK;
}

static void
server_free(struct ib_muxd_server *srv)
{
	if (srv->lfd >= 0) {
		close(srv->lfd);
		unlink(srv->path);
	}
	if (srv->stop_fd >= 0)
		close(srv->stop_fd);
	if (srv->reap_fd >= 0)
		close(srv->reap_fd);
	pthread_mutex_destroy(&srv->lock);
	free(srv->path);
	free(srv);
}

int
ib_muxd_server_start_backend(const struct ib_muxd_backend *be, void *ctx,
    const char *socket_path, struct ib_muxd_server **sp)
{
	struct ib_muxd_server *srv;
	int r;

	*sp = NULL;
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return IB_ERR_NOMEM;
	srv->be = *be;
	srv->ctx = ctx;
	srv->lfd = srv->stop_fd = srv->reap_fd = -1;
	pthread_mutex_init(&srv->lock, NULL);
	if ((srv->path = strdup(socket_path)) == NULL) {
		r = IB_ERR_NOMEM;
		goto fail;
	}
	if ((srv->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    (srv->reap_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		r = ib_err_from_errno(errno, "eventfd");
		goto fail;
	}
	if ((r = listen_socket(socket_path, &srv->lfd)) != IB_OK)
		goto fail;
	if ((r = be->subscribe(ctx, on_device_event, srv, &srv->sub_id)) != IB_OK)
		goto fail;
	srv->subscribed = 1;
	if (pthread_create(&srv->accept_thread, NULL, accept_main, srv) != 0) {
		r = IB_ERR_SYSTEM;
		goto fail;
	}
	srv->accept_started = 1;
	ib_info("usbmuxd server listening on %s", socket_path);
	*sp = srv;
	return IB_OK;
 fail:
	if (srv->subscribed)
		be->unsubscribe(ctx, srv->sub_id);
	server_free(srv);
	return r;
}

void
ib_muxd_server_stop(struct ib_muxd_server *srv)
{
	struct client *c;

	if (srv == NULL)
		return;
	pthread_mutex_lock(&srv->lock);
	srv->stopping = 1;
	pthread_mutex_unlock(&srv->lock);
	poke(srv->stop_fd);
	if (srv->accept_started)
		pthread_join(srv->accept_thread, NULL);
	/* No new clients now; no more device events after this returns. */
	srv->be.unsubscribe(srv->ctx, srv->sub_id);
	pthread_mutex_lock(&srv->lock);
	for (c = srv->clients; c != NULL; c = c->next)
		poke(c->wake);
	pthread_mutex_unlock(&srv->lock);
	reap(srv, 1);
	server_free(srv);
}

unsigned
ib_muxd_server_clients(struct ib_muxd_server *srv)
{
	unsigned n;

	pthread_mutex_lock(&srv->lock);
	n = srv->nclients;
	pthread_mutex_unlock(&srv->lock);
	return n;
}
