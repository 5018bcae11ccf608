/*
 * mux_conn.c - the mux runtime thread: one per link, bridging mux streams
 * to socketpairs (see mux_conn.h for the contract, mux_conn_int.h for who
 * owns what). The API other threads call is in mux_conn_api.c.
 */
#include "mux_conn_int.h"

#include "ib_err.h"
#include "ib_log.h"
#include "ib_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A socketpair: *rtp non-blocking for the runtime, *userp for the user. */
static int
make_pair(int *rtp, int *userp)
{
	int sv[2], fl;

	*rtp = *userp = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return ib_err_from_errno(errno, "socketpair");
	if ((fl = fcntl(sv[0], F_GETFL)) < 0 || fcntl(sv[0], F_SETFL, fl | O_NONBLOCK) < 0) {
		int r = ib_err_from_errno(errno, "fcntl");

		close(sv[0]);
		close(sv[1]);
		return r;
	}
	*rtp = sv[0];
	*userp = sv[1];
	return IB_OK;
}

static struct rstream *
rstream_add(struct ib_mux_conn *c, uint32_t id, uint16_t port, int fd,
    struct stream_pub *pub)
{
	struct rstream *rs = calloc(1, sizeof(*rs));

	if (rs == NULL)
		return NULL;
	rs->id = id;
	rs->port = port;
	rs->fd = fd;
	rs->pub = pub;
	rs->pidx = -1;
	rs->next = c->streams;
	c->streams = rs;
	return rs;
}

static struct rstream *
rstream_find(struct ib_mux_conn *c, uint32_t id)
{
	struct rstream *rs;

	for (rs = c->streams; rs != NULL; rs = rs->next)
		if (rs->id == id && !rs->ended)
			return rs;
	return NULL;
}

static void
rstream_free(struct rstream *rs)
{
	if (rs->fd >= 0)
		close(rs->fd);
	ib_mux_conn_pub_unref(rs->pub);
	free(rs);
}

/* The stream ended (CLOSED): what already arrived is still delivered
 * (the engine keeps it readable), then the user's fd reads EOF. */
static void
rstream_ended(struct ib_mux_conn *c, struct rstream *rs, int err, const char *text)
{
	rs->ended = 1;
	/* The user's writes now fail with EPIPE, also one blocked already;
	 * its reads still get what arrived. */
	shutdown(rs->fd, SHUT_RD);
	ib_mux_conn_pub_set_end(rs->pub, err, text);
	if (err != IB_ERR_MUX_RESET || (text != NULL && text[0] != '\0'))
		ib_debug("%s: stream to port %u ended: %s%s%s", c->name, rs->port,
		    ib_errname(err), text != NULL && text[0] ? ": " : "",
		    text != NULL ? text : "");
}

static void
send_queued_requests(struct ib_mux_conn *c)
{
	struct creq *q, *next;
	int r;

	pthread_mutex_lock(&c->mu);
	for (q = c->reqs; q != NULL; q = next) {
		next = q->next;
		if (q->state == REQ_SENT && q->abandoned) {
			/* Timed out after the SYN: reset whatever comes of it. */
			ib_mux_engine_close(c->eng, q->id);
			ib_mux_conn_req_unlink(c, q);
			free(q);
			continue;
		}
		if (q->state != REQ_QUEUED)
			continue;
		if (c->link_dead) {
			ib_mux_conn_req_finish(c, q, c->link_err, NULL);
			continue;
		}
		if (!c->ready)
			continue;
		if (q->abandoned) {
			ib_mux_conn_req_unlink(c, q);
			free(q);
			continue;
		}
		if ((r = ib_mux_engine_connect(c->eng, q->port, &q->id)) != IB_OK)
			ib_mux_conn_req_finish(c, q, r, NULL);
		else
			q->state = REQ_SENT;
	}
	pthread_mutex_unlock(&c->mu);
}

static void
on_connected(struct ib_mux_conn *c, uint32_t id, uint16_t port)
{
	struct stream_pub *pub = NULL;
	struct ib_stream *s = NULL;
	struct creq *q;
	int rt = -1, user = -1, r;

	pthread_mutex_lock(&c->mu);
	if ((q = ib_mux_conn_req_find(c, id)) == NULL || q->abandoned) {
		if (q != NULL) {
			ib_mux_conn_req_unlink(c, q);
			free(q);
		}
		pthread_mutex_unlock(&c->mu);
		ib_mux_engine_close(c->eng, id);
		return;
	}
	if ((r = make_pair(&rt, &user)) != IB_OK)
		goto fail;
	r = IB_ERR_NOMEM;
	if ((pub = calloc(1, sizeof(*pub))) == NULL || (s = calloc(1, sizeof(*s))) == NULL)
		goto fail;
	pthread_mutex_init(&pub->mu, NULL);
	pub->refs = 2;
	if (rstream_add(c, id, port, rt, pub) == NULL) {
		pthread_mutex_destroy(&pub->mu);
		goto fail;
	}
	s->fd = user;
	s->ops = &ib_mux_conn_stream_ops;
	s->impl = pub;
	q->stream = s;
	ib_mux_conn_req_finish(c, q, IB_OK, NULL);
	pthread_mutex_unlock(&c->mu);
	return;
fail:
	ib_mux_conn_req_finish(c, q, r, "cannot create the stream's socket pair");
	pthread_mutex_unlock(&c->mu);
	if (rt >= 0)
		close(rt);
	if (user >= 0)
		close(user);
	free(pub);
	free(s);
	ib_mux_engine_close(c->eng, id);
}

static void
on_incoming(struct ib_mux_conn *c, uint32_t id, uint16_t port)
{
	char reason[IB_MUX_TEXT_MAX + 1] = "";
	int rt = -1, user = -1, r;

	if (c->cfg.incoming == NULL) {
		ib_mux_engine_refuse(c->eng, id, "no listener");
		return;
	}
	if ((r = make_pair(&rt, &user)) != IB_OK) {
		ib_mux_engine_refuse(c->eng, id, "out of resources");
		return;
	}
	if ((r = c->cfg.incoming(c->cfg.ctx, port, user, reason, sizeof(reason))) != IB_OK) {
		close(user);
		close(rt);
		reason[sizeof(reason) - 1] = '\0';
		ib_mux_engine_refuse(c->eng, id, reason);
		return;
	}
	if (ib_mux_engine_accept(c->eng, id) != IB_OK ||
	    rstream_add(c, id, port, rt, NULL) == NULL) {
		/* The service sees EOF at once. */
		close(rt);
		ib_mux_engine_refuse(c->eng, id, "out of resources");
	}
}

static void
on_closed(struct ib_mux_conn *c, const struct ib_mux_event *ev)
{
	struct rstream *rs;
	struct creq *q;

	pthread_mutex_lock(&c->mu);
	if ((q = ib_mux_conn_req_find(c, ev->stream)) != NULL) {
		ib_mux_conn_req_finish(c, q, ev->err != IB_OK ? ev->err : IB_ERR_MUX_RESET, ev->text);
		pthread_mutex_unlock(&c->mu);
		return;
	}
	pthread_mutex_unlock(&c->mu);
	if ((rs = rstream_find(c, ev->stream)) != NULL)
		rstream_ended(c, rs, ev->err, ev->text);
}

static void
on_refused(struct ib_mux_conn *c, const struct ib_mux_event *ev)
{
	struct creq *q;

	pthread_mutex_lock(&c->mu);
	if ((q = ib_mux_conn_req_find(c, ev->stream)) != NULL)
		ib_mux_conn_req_finish(c, q, IB_ERR_MUX_REFUSED, ev->text);
	pthread_mutex_unlock(&c->mu);
}

static void link_die(struct ib_mux_conn *c, int err);

static void
handle_events(struct ib_mux_conn *c)
{
	struct ib_mux_event ev;

	while (ib_mux_engine_next_event(c->eng, &ev) == IB_OK) {
		switch (ev.type) {
		case IB_MUX_EV_READY:
			pthread_mutex_lock(&c->mu);
			c->ready = 1;
			c->version = ib_mux_engine_version(c->eng);
			pthread_cond_broadcast(&c->cv);
			pthread_mutex_unlock(&c->mu);
			ib_debug("%s: mux v%u ready", c->name, (unsigned)c->version);
			send_queued_requests(c);
			break;
		case IB_MUX_EV_CONNECTED:
			on_connected(c, ev.stream, ev.port);
			break;
		case IB_MUX_EV_REFUSED:
			on_refused(c, &ev);
			break;
		case IB_MUX_EV_INCOMING:
			on_incoming(c, ev.stream, ev.port);
			break;
		case IB_MUX_EV_CLOSED:
			on_closed(c, &ev);
			break;
		case IB_MUX_EV_CONTROL:
			ib_info("%s: device says (%s): %s", c->name,
			    ev.control_type == 3 ? "error" :
			    ev.control_type == 7 ? "info" : "warning", ev.text);
			break;
		case IB_MUX_EV_FATAL:
			link_die(c, ev.err != IB_OK ? ev.err : IB_ERR_MUX_PROTOCOL);
			break;
		case IB_MUX_EV_READABLE:
		case IB_MUX_EV_WRITABLE:
			/* Stream state is looked at on every turn of the loop. */
			break;
		}
	}
}

/* --- the link ------------------------------------------------------------- */

static void
count_bytes(struct ib_mux_conn *c, size_t n)
{
	atomic_fetch_add(&c->bytes, n);
	if (c->cfg.bytes != NULL)
		c->cfg.bytes(c->cfg.ctx, n);
}

static void
link_die(struct ib_mux_conn *c, int err)
{
	struct creq *q, *next;

	if (c->link_dead)
		return;
	c->link_dead = 1;
	if (err == IB_ERR_NO_DEVICE)
		ib_debug("%s: link gone", c->name);
	else
		ib_warn("%s: link failed: %s", c->name, ib_strerror(err));
	ib_mux_engine_abort(c->eng, err);
	c->link.ops->free(c->link.impl);
	c->link.impl = NULL;
	pthread_mutex_lock(&c->mu);
	c->link_err = err;
	for (q = c->reqs; q != NULL; q = next) {
		next = q->next;
		if (q->state == REQ_QUEUED)
			ib_mux_conn_req_finish(c, q, err, NULL);
	}
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	handle_events(c);
	if (c->cfg.dead != NULL)
		c->cfg.dead(c->cfg.ctx, err);
}

static void
link_input(struct ib_mux_conn *c, short revents)
{
	const uint8_t *pkt;
	size_t len;
	int r, rr;

	r = c->link.ops->service(c->link.impl, revents);
	while ((rr = c->link.ops->recv(c->link.impl, &pkt, &len)) == IB_OK) {
		count_bytes(c, len);
		if (ib_mux_engine_input(c->eng, pkt, len, ib_now_ms()) != IB_OK)
			return;         /* FATAL event follows */
	}
	if (rr != IB_ERR_WOULD_BLOCK)
		r = rr;
	if (r != IB_OK)
		link_die(c, r);
}

static void
link_output(struct ib_mux_conn *c)
{
	const uint8_t *pkt;
	size_t len;
	int r;

	while (!c->link_dead &&
	    c->link.ops->queued(c->link.impl) < IB_MUX_CONN_LINK_HIGH &&
	    ib_mux_engine_output(c->eng, &pkt, &len, ib_now_ms()) == IB_OK) {
		count_bytes(c, len);
		if ((r = c->link.ops->send(c->link.impl, pkt, len)) != IB_OK) {
			link_die(c, r == IB_ERR_TOO_LARGE ? IB_ERR_INTERNAL : r);
			return;
		}
	}
}

/* --- moving stream bytes -------------------------------------------------- */

/* Peer -> user: write what the socket takes, consume only that. */
static void
to_user(struct ib_mux_conn *c, struct rstream *rs)
{
	const uint8_t *p;
	size_t n;
	ssize_t w;

	while (ib_mux_engine_recv_peek(c->eng, rs->id, &p, &n) == IB_OK && n > 0) {
		if (rs->user_gone) {
			w = (ssize_t)n;
		} else if (rs->out_blocked) {
			return;
		} else if ((w = send(rs->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT)) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				rs->out_blocked = 1;
			else
				rs->user_gone = 1;
			continue;
		}
		ib_mux_engine_recv_consume(c->eng, rs->id, (size_t)w);
	}
}

/* User -> peer: read only what the engine takes now and the link has room
 * for; the rest waits in the socket (the user's write blocks). */
static void
from_user(struct ib_mux_conn *c, struct rstream *rs)
{
	while (!rs->in_eof && !rs->ended && !c->link_dead) {
		size_t space = ib_mux_engine_send_space(c->eng, rs->id);
		size_t want = IB_MIN(space, CONN_SCRATCH), acc = 0;
		ssize_t got;

		if (want == 0 || c->link.ops->queued(c->link.impl) >= IB_MUX_CONN_LINK_HIGH)
			return;
		got = recv(rs->fd, c->scratch, want, MSG_DONTWAIT);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				rs->in_eof = 1;
				rs->eof_ms = ib_now_ms();
			}
			return;
		}
		if (got == 0) {
			rs->in_eof = 1;
			rs->eof_ms = ib_now_ms();
			return;
		}
		if (ib_mux_engine_send(c->eng, rs->id, c->scratch, (size_t)got, &acc) != IB_OK ||
		    acc != (size_t)got) {
			/* send_space promised room: an engine bug, not the peer's. */
			ib_error("%s: engine took %zu of %zd bytes", c->name, acc, got);
			ib_mux_engine_close(c->eng, rs->id);
			rs->ended = 1;
			ib_mux_conn_pub_set_end(rs->pub, IB_ERR_INTERNAL, "");
			return;
		}
		if ((size_t)got < want)
			return;
	}
}

/* End streams whose user is done, and free those fully delivered. */
static void
reap_streams(struct ib_mux_conn *c)
{
	struct rstream **pp = &c->streams, *rs;
	uint64_t now = ib_now_ms();

	c->poll_ms = -1;
	while ((rs = *pp) != NULL) {
		/* Graceful: the peer has acknowledged everything the user
		 * wrote before the RST goes out (close() drops the rest),
		 * unless it keeps us waiting too long. */
		if (rs->in_eof && !rs->ended &&
		    (c->link_dead || ib_mux_engine_send_pending(c->eng, rs->id) == 0 ||
		    now - rs->eof_ms >= IB_MUX_CONN_LINGER_MS)) {
			rs->ended = 1;
			rs->user_gone = 1;
			ib_mux_conn_pub_set_end(rs->pub, IB_ERR_MUX_RESET, "closed by this side");
		} else if (rs->in_eof && !rs->ended) {
			int left = (int)(IB_MUX_CONN_LINGER_MS - (now - rs->eof_ms));

			if (c->poll_ms < 0 || left < c->poll_ms)
				c->poll_ms = left;
		}
		if (rs->ended && (rs->user_gone || ib_mux_engine_recv_avail(c->eng, rs->id) == 0)) {
			ib_mux_engine_close(c->eng, rs->id);
			*pp = rs->next;
			rstream_free(rs);
			continue;
		}
		pp = &rs->next;
	}
}

static int
build_poll(struct ib_mux_conn *c)
{
	struct rstream *rs;
	size_t n = 2, i;
	int link_room;

	for (rs = c->streams; rs != NULL; rs = rs->next)
		n++;
	if (n > c->pfds_alloc) {
		struct pollfd *np = realloc(c->pfds, n * 2 * sizeof(*np));

		if (np == NULL)
			return -1;
		c->pfds = np;
		c->pfds_alloc = n * 2;
	}
	c->pfds[0].fd = c->wake_fd;
	c->pfds[0].events = POLLIN;
	c->pfds[0].revents = 0;
	if (c->link_dead) {
		c->pfds[1].fd = -1;
		c->pfds[1].revents = 0;
		link_room = 0;
	} else {
		c->link.ops->pollfd(c->link.impl, &c->pfds[1]);
		link_room = c->link.ops->queued(c->link.impl) < IB_MUX_CONN_LINK_HIGH;
	}
	for (i = 2, rs = c->streams; rs != NULL; rs = rs->next, i++) {
		short ev = 0;

		if (!rs->in_eof && !rs->ended && link_room &&
		    ib_mux_engine_send_space(c->eng, rs->id) > 0)
			ev |= POLLIN;
		if (rs->out_blocked && !rs->user_gone)
			ev |= POLLOUT;
		c->pfds[i].fd = ev != 0 ? rs->fd : -1;
		c->pfds[i].events = ev;
		c->pfds[i].revents = 0;
		rs->pidx = (int)i;
	}
	return (int)n;
}

/* --- the thread ------------------------------------------------------------ */

/* Returns 1 when the conn is being freed. */
static int
take_commands(struct ib_mux_conn *c)
{
	char text[IB_MUX_TEXT_MAX + 1];
	int inject[CONN_INJECT_MAX];
	int stop, sd, r, control;
	uint8_t type;
	unsigned n, i;

	pthread_mutex_lock(&c->mu);
	stop = c->stop;
	sd = c->shutdown_err;
	c->shutdown_err = IB_OK;
	n = c->ninject;
	memcpy(inject, c->inject, sizeof(inject));
	c->ninject = 0;
	control = c->control_pending;
	c->control_pending = 0;
	type = c->control_type;
	memcpy(text, c->control_text, sizeof(text));
	pthread_mutex_unlock(&c->mu);
	if (stop)
		return 1;
	if (sd != IB_OK)
		link_die(c, sd);
	if (control && !c->link_dead &&
	    (r = ib_mux_engine_send_control(c->eng, type, text)) != IB_OK)
		ib_warn("%s: cannot send a CONTROL message: %s", c->name, ib_strerror(r));
	for (i = 0; i < n && !c->link_dead; i++) {
		/* protocol TCP, length 0xffffffff: above any MRU */
		static const uint8_t unframable[8] = { 0, 0, 0, 6, 0xff, 0xff, 0xff, 0xff };

		if (inject[i] == IB_MUX_CONN_MALFORMED_FRAMING)
			r = c->link.ops->send(c->link.impl, unframable, sizeof(unframable));
		else
			r = ib_mux_engine_inject_malformed(c->eng, inject[i]);
		if (r != IB_OK)
			ib_warn("%s: cannot inject malformed packet kind %d: %s", c->name,
			    inject[i], ib_strerror(r));
	}
	send_queued_requests(c);
	return 0;
}

static void
teardown(struct ib_mux_conn *c)
{
	struct rstream *rs;
	struct creq *q, *next;

	c->cfg.dead = NULL;     /* the owner is freeing us: no callback */
	link_die(c, IB_ERR_NO_DEVICE);
	while ((rs = c->streams) != NULL) {
		c->streams = rs->next;
		ib_mux_conn_pub_set_end(rs->pub, IB_ERR_NO_DEVICE, "");
		rstream_free(rs);
	}
	pthread_mutex_lock(&c->mu);
	for (q = c->reqs; q != NULL; q = next) {
		next = q->next;
		if (q->state != REQ_DONE)
			ib_mux_conn_req_finish(c, q, IB_ERR_NO_DEVICE, NULL);
	}
	pthread_mutex_unlock(&c->mu);
}

void *
ib_mux_conn_run(void *arg)
{
	struct ib_mux_conn *c = arg;
	struct rstream *rs;
	int n;

	/* For top -H and perf: which side of which mux this thread runs. */
	pthread_setname_np(pthread_self(),
	    c->cfg.engine.role == IB_MUX_ROLE_HOST ? "mux-host" : "mux-device");
	for (;;) {
		uint64_t drain;

		if (take_commands(c))
			break;
		reap_streams(c);
		link_output(c);
		handle_events(c);
		if ((n = build_poll(c)) < 0) {
			ib_error("%s: out of memory", c->name);
			ib_sleep_ms(100);
			continue;
		}
		if (poll(c->pfds, (nfds_t)n, c->poll_ms) < 0 && errno != EINTR) {
			ib_error("%s: poll: %s", c->name, strerror(errno));
			ib_sleep_ms(100);
			continue;
		}
		if (c->pfds[0].revents != 0 && read(c->wake_fd, &drain, sizeof(drain)) < 0)
			(void)0;        /* EAGAIN: another turn already drained it */
		if (!c->link_dead && c->pfds[1].revents != 0)
			link_input(c, c->pfds[1].revents);
		handle_events(c);
		for (rs = c->streams; rs != NULL; rs = rs->next) {
			short rev = rs->pidx >= 0 && rs->pidx < n ? c->pfds[rs->pidx].revents : 0;

			if (rev & (POLLOUT | POLLHUP | POLLERR))
				rs->out_blocked = 0;
			to_user(c, rs);
			if (rev & (POLLIN | POLLHUP | POLLERR))
				from_user(c, rs);
			rs->pidx = -1;
		}
	}
	teardown(c);
	return NULL;
}
