/*
 * sim_serve.c - the socket frontend of the virtual device: serves
 * doc/sim-protocol.md on a UNIX socket (`ibackup-sim --listen PATH`).
 *
 * One thread accepts; each connection gets a thread that answers
 * requests until it turns into something else: a Watch connection keeps
 * its thread to write events, an Attach connection is handed to the
 * device's mux runtime (link_stream.c + ib_sim_dev_attach_link) and its
 * thread ends.
 */
#include "ib_sim.h"
#include "sim_int.h"

#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_plist.h"
#include "ib_util.h"
#include "mux_link.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Events queued for a Watch client that does not read before we drop it. */
#define SERVE_EVENTS_MAX 1024u
/* A client that takes longer than this to take one message is dropped. */
#define SERVE_WRITE_TIMEOUT_MS 5000
#define SERVE_BACKLOG 64

struct event {
	uint8_t *msg;
	size_t len;
	struct event *next;
};

struct client {
	struct sim_server *srv;
	int fd;                 /* -1 once closed or handed to a link (srv->mu) */
	pthread_t th;
	atomic_int done;
	/* Watch state, under srv->mu */
	int watching;
	int wake_fd;
	struct event *head, *tail;
	unsigned nevents;
	int overflow;
	struct client *next;
};

struct sim_server {
	struct ib_sim *sim;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd;
	int stop_fd;
	pthread_t accept_th;
	pthread_mutex_t mu;
	struct client *clients;
};

/* --- events ----------------------------------------------------------------- */

static plist_t
devices_plist(struct ib_sim *sim)
{
	plist_t arr = plist_new_array();
	struct ib_sim_devinfo info;
	unsigned i;

	for (i = 0; i < ib_sim_count(sim); i++) {
		struct ib_sim_dev *dev = ib_sim_get(sim, i);

		if (!ib_sim_dev_is_plugged(dev))
			continue;
		sim_dev_devinfo(dev, &info);
		plist_array_append_item(arr, ib_sim_devinfo_to_plist(&info));
	}
	return arr;
}

void
sim_serve_notify(struct sim_server *srv, const struct ib_sim_dev *dev, int plugged)
{
	plist_t ev = plist_new_dict();
	struct ib_sim_devinfo info;
	struct client *c;
	uint8_t *msg = NULL;
	size_t len;
	uint64_t one = 1;

	if (srv == NULL)
		goto out;
	plist_dict_set_item(ev, "Event", plist_new_string(plugged ? "Attached" : "Detached"));
	sim_dev_devinfo(dev, &info);
	if (plugged)
		plist_dict_set_item(ev, "Device", ib_sim_devinfo_to_plist(&info));
	else
		plist_dict_set_item(ev, "UDID", plist_new_string(info.udid));
	if (ib_sim_msg_encode(ev, &msg, &len) != IB_OK)
		goto out;
	pthread_mutex_lock(&srv->mu);
	for (c = srv->clients; c != NULL; c = c->next) {
		struct event *e = NULL;

		if (!c->watching || c->overflow)
			continue;
		if (c->nevents < SERVE_EVENTS_MAX && (e = calloc(1, sizeof(*e))) != NULL &&
		    (e->msg = malloc(len)) == NULL) {
			free(e);
			e = NULL;
		}
		if (e == NULL) {
			/* The watcher is dropped rather than told a lie. */
			c->overflow = 1;
		} else {
			memcpy(e->msg, msg, len);
			e->len = len;
			if (c->tail != NULL)
				c->tail->next = e;
			else
				c->head = e;
			c->tail = e;
			c->nevents++;
		}
		if (write(c->wake_fd, &one, sizeof(one)) < 0)
			(void)0;        /* counter full: it is awake anyway */
	}
	pthread_mutex_unlock(&srv->mu);
out:
	free(msg);
	plist_free(ev);
}

/* Write the queued events; IB_OK while the client keeps up. */
static int
flush_events(struct client *c)
{
	struct event *list, *e;
	int overflow, r = IB_OK;
	ssize_t w;

	pthread_mutex_lock(&c->srv->mu);
	list = c->head;
	c->head = c->tail = NULL;
	c->nevents = 0;
	overflow = c->overflow;
	pthread_mutex_unlock(&c->srv->mu);
	while ((e = list) != NULL) {
		list = e->next;
		for (size_t off = 0; r == IB_OK && off < e->len; off += (size_t)w) {
			struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };

			if (poll(&pfd, 1, SERVE_WRITE_TIMEOUT_MS) <= 0 ||
			    (w = send(c->fd, e->msg + off, e->len - off, MSG_NOSIGNAL | MSG_DONTWAIT)) < 0) {
				r = IB_ERR_EOF;
				w = 0;
			}
		}
		free(e->msg);
		free(e);
	}
	return overflow ? IB_ERR_TOO_LARGE : r;
}

static void
watch_loop(struct client *c)
{
	plist_t reply = ib_sim_reply_ok();
	struct ib_sim *sim = c->srv->sim;
	int r;

	/* Snapshot and subscription under sim->mu: no plug or unplug can
	 * fall between them. */
	pthread_mutex_lock(&sim->mu);
	plist_dict_set_item(reply, "ProtocolVersion", plist_new_uint(IB_SIM_PROTO_VERSION));
	plist_dict_set_item(reply, "Devices", devices_plist(sim));
	pthread_mutex_lock(&c->srv->mu);
	c->watching = 1;
	pthread_mutex_unlock(&c->srv->mu);
	pthread_mutex_unlock(&sim->mu);
	r = ib_sim_msg_send(c->fd, reply, SERVE_WRITE_TIMEOUT_MS);
	plist_free(reply);
	while (r == IB_OK) {
		struct pollfd pfd[2] = {
			{ .fd = c->fd, .events = POLLIN },
			{ .fd = c->wake_fd, .events = POLLIN },
		};
		uint64_t drain;
		uint8_t junk;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		/* A watcher only listens: input is its end (or a violation). */
		if (pfd[0].revents != 0 && recv(c->fd, &junk, 1, MSG_DONTWAIT) != -1)
			break;
		if (pfd[1].revents != 0 && read(c->wake_fd, &drain, sizeof(drain)) >= 0)
			r = flush_events(c);
	}
	pthread_mutex_lock(&c->srv->mu);
	c->watching = 0;
	pthread_mutex_unlock(&c->srv->mu);
}

/* --- requests ----------------------------------------------------------------- */

static int
find_device(struct client *c, plist_t req, int required, struct ib_sim_dev **devp)
{
	struct ib_sim *sim = c->srv->sim;
	const char *udid;
	int r;

	*devp = NULL;
	if ((r = ib_plist_dict_get_string(req, "UDID", &udid)) == IB_OK) {
		if ((*devp = ib_sim_find(sim, udid)) == NULL) {
			ib_err_detail_set("no virtual device %.64s", udid);
			return IB_ERR_DEVICE_NOT_FOUND;
		}
		return IB_OK;
	}
	if (r != IB_ERR_PLIST_MISSING || required) {
		ib_err_detail_set("request needs a UDID string");
		return r;
	}
	if (ib_sim_count(sim) != 1) {
		ib_err_detail_set("%u virtual devices: name one with a UDID", ib_sim_count(sim));
		return IB_ERR_DEVICE_AMBIGUOUS;
	}
	*devp = ib_sim_get(sim, 0);
	return IB_OK;
}

/* Returns 1 when the connection was handed to the device. */
static int
do_attach(struct client *c, plist_t req)
{
	struct ib_sim_dev *dev;
	struct ib_mux_link link;
	plist_t reply;
	int r, fd;

	if ((r = find_device(c, req, 1, &dev)) == IB_OK && !ib_sim_dev_is_plugged(dev)) {
		ib_err_detail_set("the device is unplugged");
		r = IB_ERR_NO_DEVICE;
	}
	reply = r == IB_OK ? ib_sim_reply_ok() : ib_sim_reply_error(r, ib_err_detail());
	if (ib_sim_msg_send(c->fd, reply, SERVE_WRITE_TIMEOUT_MS) != IB_OK)
		r = IB_ERR_EOF;
	plist_free(reply);
	if (r != IB_OK)
		return 0;
	pthread_mutex_lock(&c->srv->mu);
	fd = c->fd;
	c->fd = -1;
	pthread_mutex_unlock(&c->srv->mu);
	if ((r = ib_mux_link_stream_new(fd, &link)) != IB_OK) {
		close(fd);
		return 1;
	}
	if ((r = ib_sim_dev_attach_link(dev, link)) != IB_OK)
		ib_info("attach to %s failed: %s", ib_sim_dev_identity(dev)->udid, ib_strerror(r));
	return 1;
}

static plist_t
do_control(struct client *c, plist_t req)
{
	const char *action, *arg = NULL;
	struct ib_sim_dev *dev;
	int r;

	if ((r = find_device(c, req, 0, &dev)) != IB_OK)
		return ib_sim_reply_error(r, ib_err_detail());
	if ((r = ib_plist_dict_get_string(req, "Action", &action)) != IB_OK)
		return ib_sim_reply_error(r, "Control needs an Action string");
	if ((r = ib_plist_dict_get_string(req, "Arg", &arg)) != IB_OK &&
	    r != IB_ERR_PLIST_MISSING)
		return ib_sim_reply_error(r, "Arg must be a string");
	ib_err_detail_clear();
	if ((r = ib_sim_dev_control(dev, action, arg)) != IB_OK)
		return ib_sim_reply_error(r, ib_err_detail());
	return ib_sim_reply_ok();
}

/* Serve one request; returns 1 when the connection ends or changes role. */
static int
handle_request(struct client *c, plist_t req)
{
	const char *what = "";
	plist_t reply = NULL;
	uint64_t ver;
	int r, end = 0;

	if ((r = ib_plist_dict_get_string(req, "Request", &what)) != IB_OK) {
		reply = ib_sim_reply_error(r, "a request needs a Request string");
		end = 1;
	} else if ((r = ib_plist_dict_get_uint(req, "ProtocolVersion", &ver)) != IB_OK &&
	    r != IB_ERR_PLIST_MISSING) {
		reply = ib_sim_reply_error(r, "ProtocolVersion must be an integer");
	} else if (r == IB_OK && ver != IB_SIM_PROTO_VERSION) {
		reply = ib_sim_reply_error(IB_ERR_UNSUPPORTED, "protocol version 1 only");
	} else if (strcmp(what, "List") == 0) {
		reply = ib_sim_reply_ok();
		plist_dict_set_item(reply, "ProtocolVersion", plist_new_uint(IB_SIM_PROTO_VERSION));
		plist_dict_set_item(reply, "Devices", devices_plist(c->srv->sim));
	} else if (strcmp(what, "Watch") == 0) {
		watch_loop(c);
		return 1;
	} else if (strcmp(what, "Attach") == 0) {
		if (do_attach(c, req))
			return 1;
		return 0;
	} else if (strcmp(what, "Control") == 0) {
		reply = do_control(c, req);
	} else {
		reply = ib_sim_reply_error(IB_ERR_UNSUPPORTED, "unknown Request");
	}
	ib_debug("sim request %.40s answered", what);
	if (ib_sim_msg_send(c->fd, reply, SERVE_WRITE_TIMEOUT_MS) != IB_OK)
		end = 1;
	plist_free(reply);
	return end;
}

static void *
client_main(void *arg)
{
	struct client *c = arg;
	plist_t req = NULL;
	int r;

	for (;;) {
		if ((r = ib_sim_msg_recv(c->fd, -1, &req)) != IB_OK) {
			if (r != IB_ERR_EOF)
				ib_debug("sim client: %s %s", ib_strerror(r), ib_err_detail());
			break;
		}
		r = handle_request(c, req);
		plist_free(req);
		req = NULL;
		if (r)
			break;
	}
	pthread_mutex_lock(&c->srv->mu);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	pthread_mutex_unlock(&c->srv->mu);
	atomic_store(&c->done, 1);
	return NULL;
}

/* --- accepting ------------------------------------------------------------------ */

static void
client_free(struct client *c)
{
	struct event *e;

	while ((e = c->head) != NULL) {
		c->head = e->next;
		free(e->msg);
		free(e);
	}
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	free(c);
}

/* Join finished clients (all of them when all is set). */
static void
reap_clients(struct sim_server *srv, int all)
{
	struct client **pp, *c, *done = NULL;

	pthread_mutex_lock(&srv->mu);
	for (pp = &srv->clients; (c = *pp) != NULL;) {
		if (all || atomic_load(&c->done)) {
			*pp = c->next;
			c->next = done;
			done = c;
		} else {
			pp = &c->next;
		}
	}
	pthread_mutex_unlock(&srv->mu);
	while ((c = done) != NULL) {
		done = c->next;
		pthread_join(c->th, NULL);
		client_free(c);
	}
}

static void
start_client(struct sim_server *srv, int fd)
{
	struct client *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		ib_warn("sim: dropping a client: out of resources");
		free(c);
		close(fd);
		return;
	}
	c->srv = srv;
	c->fd = fd;
	pthread_mutex_lock(&srv->mu);
	if (pthread_create(&c->th, NULL, client_main, c) != 0) {
		pthread_mutex_unlock(&srv->mu);
		ib_warn("sim: dropping a client: cannot start a thread");
		close(fd);
		client_free(c);
		return;
	}
	c->next = srv->clients;
	srv->clients = c;
	pthread_mutex_unlock(&srv->mu);
}

static void *
accept_main(void *arg)
{
	struct sim_server *srv = arg;

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = srv->lfd, .events = POLLIN },
			{ .fd = srv->stop_fd, .events = POLLIN },
		};
		int fd;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents != 0)
			break;
		reap_clients(srv, 0);
		if (pfd[0].revents == 0)
			continue;
		if ((fd = accept4(srv->lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
				ib_warn("sim: accept: %s", strerror(errno));
				ib_sleep_ms(100);
			}
			continue;
		}
		start_client(srv, fd);
	}
	return NULL;
}

static int
listen_on(const char *path, int *fdp)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, r;

	*fdp = -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof(sa.sun_path)) {
		ib_err_detail_set("socket path missing or longer than %zu bytes",
		    sizeof(sa.sun_path) - 1);
		return IB_ERR_USAGE;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* A socket left behind by a simulator that died is replaced. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return ib_err_from_errno(errno, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, SERVE_BACKLOG) != 0) {
		r = ib_err_from_errno(errno, path);
		close(fd);
		return r;
	}
	*fdp = fd;
	return IB_OK;
}

int
ib_sim_serve(struct ib_sim *sim, const char *path)
{
	struct sim_server *srv = NULL;
	int r;

	if (sim->server != NULL)
		return IB_ERR_BUSY;
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return IB_ERR_NOMEM;
	srv->sim = sim;
	srv->lfd = -1;
	pthread_mutex_init(&srv->mu, NULL);
	if ((srv->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		r = ib_err_from_errno(errno, "eventfd");
		goto fail;
	}
	if ((r = listen_on(path, &srv->lfd)) != IB_OK)
		goto fail;
	snprintf(srv->path, sizeof(srv->path), "%s", path);
	if ((r = pthread_create(&srv->accept_th, NULL, accept_main, srv)) != 0) {
		r = ib_err_from_errno(r, "pthread_create");
		unlink(srv->path);
		goto fail;
	}
	pthread_mutex_lock(&sim->mu);
	sim->server = srv;
	pthread_mutex_unlock(&sim->mu);
	ib_info("serving %u virtual devices on %s", ib_sim_count(sim), path);
	return IB_OK;
fail:
	if (srv->lfd >= 0)
		close(srv->lfd);
	if (srv->stop_fd >= 0)
		close(srv->stop_fd);
	pthread_mutex_destroy(&srv->mu);
	free(srv);
	return r;
}

void
sim_serve_stop(struct sim_server *srv)
{
	struct ib_sim *sim;
	struct client *c;
	uint64_t one = 1;

	if (srv == NULL)
		return;
	sim = srv->sim;
	pthread_mutex_lock(&sim->mu);
	sim->server = NULL;
	pthread_mutex_unlock(&sim->mu);
	if (write(srv->stop_fd, &one, sizeof(one)) < 0)
		ib_warn("sim: cannot stop the accept thread: %s", strerror(errno));
	pthread_join(srv->accept_th, NULL);
	close(srv->lfd);
	unlink(srv->path);
	pthread_mutex_lock(&srv->mu);
	for (c = srv->clients; c != NULL; c = c->next) {
		if (c->fd >= 0)
			shutdown(c->fd, SHUT_RDWR);
		if (write(c->wake_fd, &one, sizeof(one)) < 0)
			(void)0;
	}
	pthread_mutex_unlock(&srv->mu);
	reap_clients(srv, 1);
	close(srv->stop_fd);
	pthread_mutex_destroy(&srv->mu);
	free(srv);
}
