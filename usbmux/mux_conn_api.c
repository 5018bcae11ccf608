/*
 * mux_conn_api.c - the mux runtime's API (mux_conn.h) as other threads
 * call it, and the struct ib_stream handed to host-role users. The
 * runtime thread itself is in mux_conn.c.
 */
#include "mux_conn_int.h"

#include "ib_err.h"
#include "ib_log.h"
#include "ib_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* --- what the stream's user holds --------------------------------------- */

void
ib_mux_conn_pub_unref(struct stream_pub *p)
{
	int last;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	last = --p->refs == 0;
	pthread_mutex_unlock(&p->mu);
	if (last) {
		pthread_mutex_destroy(&p->mu);
		free(p);
	}
}

void
ib_mux_conn_pub_set_end(struct stream_pub *p, int err, const char *text)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	if (p->err == IB_OK) {
		snprintf(p->text, sizeof(p->text), "%s", text != NULL ? text : "");
		p->err = err != IB_OK ? err : IB_ERR_MUX_RESET;
	}
	pthread_mutex_unlock(&p->mu);
}

static int
st_error(const struct ib_stream *s)
{
	struct stream_pub *p = s->impl;
	int err;

	pthread_mutex_lock(&p->mu);
	err = p->err;
	pthread_mutex_unlock(&p->mu);
	return err;
}

static const char *
st_error_text(const struct ib_stream *s)
{
	struct stream_pub *p = s->impl;
	const char *t;

	/* text is written once, before err, and never again. */
	pthread_mutex_lock(&p->mu);
	t = p->err != IB_OK ? p->text : "";
	pthread_mutex_unlock(&p->mu);
	return t;
}

static void
st_close(struct ib_stream *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	ib_mux_conn_pub_unref(s->impl);
	s->impl = NULL;
}

const struct ib_stream_ops ib_mux_conn_stream_ops = {
	.error = st_error,
	.error_text = st_error_text,
	.close = st_close,
};

void
ib_mux_conn_wake(struct ib_mux_conn *c)
{
	uint64_t one = 1;

	if (write(c->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		ib_debug("%s: eventfd write: %s", c->name, strerror(errno));
}

/* --- connect requests ---------------------------------------------------- */

struct creq *
ib_mux_conn_req_find(struct ib_mux_conn *c, uint32_t id)
{
	struct creq *q;

	for (q = c->reqs; q != NULL; q = q->next)
		if (q->state == REQ_SENT && q->id == id)
			return q;
	return NULL;
}

void
ib_mux_conn_req_unlink(struct ib_mux_conn *c, struct creq *q)
{
	struct creq **pp;

	for (pp = &c->reqs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			return;
		}
}

/* Under mu. An abandoned request is the runtime's to free. */
void
ib_mux_conn_req_finish(struct ib_mux_conn *c, struct creq *q, int result, const char *text)
{
	q->state = REQ_DONE;
	q->result = result;
	snprintf(q->text, sizeof(q->text), "%s", text != NULL ? text : "");
	if (q->abandoned) {
		ib_mux_conn_req_unlink(c, q);
		if (q->stream != NULL)
			ib_stream_close(q->stream);
		free(q);
		return;
	}
	pthread_cond_broadcast(&c->cv);
}

/* --- public ------------------------------------------------------------------ */

int
ib_mux_conn_new(const struct ib_mux_conn_cfg *cfg, struct ib_mux_link link,
    struct ib_mux_conn **cp)
{
	struct ib_mux_conn *c = NULL;
	pthread_condattr_t ca;
	const char *d;
	int r;

	*cp = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		link.ops->free(link.impl);
		return IB_ERR_NOMEM;
	}
	c->cfg = *cfg;
	c->link = link;
	c->wake_fd = -1;
	atomic_init(&c->bytes, 0);
	snprintf(c->name, sizeof(c->name), "%s", cfg->name != NULL ? cfg->name : "mux");
	c->cfg.name = c->name;
	d = link.ops->describe(link.impl);
	snprintf(c->link_desc, sizeof(c->link_desc), "%s", d != NULL ? d : "?");
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		r = ib_err_from_errno(errno, "eventfd");
		goto fail;
	}
	if ((c->scratch = malloc(CONN_SCRATCH)) == NULL ||
	    (c->eng = ib_mux_engine_new(&cfg->engine)) == NULL) {
		r = IB_ERR_NOMEM;
		goto fail;
	}
	if (cfg->engine.role == IB_MUX_ROLE_HOST &&
	    (r = ib_mux_engine_start(c->eng)) != IB_OK)
		goto fail;
	if ((r = pthread_create(&c->thread, NULL, ib_mux_conn_run, c)) != 0) {
		r = ib_err_from_errno(r, "pthread_create");
		goto fail;
	}
	*cp = c;
	return IB_OK;
fail:
	c->link.ops->free(c->link.impl);
	ib_mux_engine_free(c->eng);
	free(c->scratch);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
	return r;
}

void
ib_mux_conn_free(struct ib_mux_conn *c)
{
	struct creq *q;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_mutex_unlock(&c->mu);
	ib_mux_conn_wake(c);
	pthread_join(c->thread, NULL);
	while ((q = c->reqs) != NULL) {
		c->reqs = q->next;
		if (q->stream != NULL)
			ib_stream_close(q->stream);
		free(q);
	}
	ib_mux_engine_free(c->eng);
	free(c->scratch);
	free(c->pfds);
	close(c->wake_fd);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static void
deadline_ts(struct timespec *ts, int timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int
ib_mux_conn_wait_ready(struct ib_mux_conn *c, int timeout_ms)
{
	struct timespec ts;
	int r = IB_OK;

	deadline_ts(&ts, timeout_ms > 0 ? timeout_ms : 0);
	pthread_mutex_lock(&c->mu);
	while (!c->ready && c->link_err == IB_OK && r == IB_OK) {
		if (timeout_ms < 0)
			pthread_cond_wait(&c->cv, &c->mu);
		else if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT)
			r = IB_ERR_TIMEOUT;
	}
	if (!c->ready)
		r = c->link_err != IB_OK ? c->link_err : IB_ERR_TIMEOUT;
	else
		r = IB_OK;
	pthread_mutex_unlock(&c->mu);
	return r;
}

uint32_t
ib_mux_conn_version(struct ib_mux_conn *c)
{
	uint32_t v;

	pthread_mutex_lock(&c->mu);
	v = c->version;
	pthread_mutex_unlock(&c->mu);
	return v;
}

int
ib_mux_conn_connect(struct ib_mux_conn *c, uint16_t port, int timeout_ms,
    struct ib_stream **sp)
{
	struct timespec ts;
	struct creq *q;
	int r;

	*sp = NULL;
	if (c->cfg.engine.role != IB_MUX_ROLE_HOST)
		return IB_ERR_STATE;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return IB_ERR_NOMEM;
	q->port = port;
	q->state = REQ_QUEUED;
	deadline_ts(&ts, timeout_ms);
	pthread_mutex_lock(&c->mu);
	q->next = c->reqs;
	c->reqs = q;
	pthread_mutex_unlock(&c->mu);
	ib_mux_conn_wake(c);
	pthread_mutex_lock(&c->mu);
	while (q->state != REQ_DONE)
		if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT)
			break;
	if (q->state != REQ_DONE) {
		q->abandoned = 1;       /* the runtime resets and frees it */
		pthread_mutex_unlock(&c->mu);
		ib_mux_conn_wake(c);
		ib_err_detail_set("port %u did not answer within %d ms", port, timeout_ms);
		return IB_ERR_TIMEOUT;
	}
	ib_mux_conn_req_unlink(c, q);
	pthread_mutex_unlock(&c->mu);
	r = q->result;
	if (r == IB_OK)
		*sp = q->stream;
	else if (q->text[0] != '\0')
		ib_err_detail_set("device port %u: %s", port, q->text);
	else
		ib_err_detail_set("device port %u: %s", port, ib_strerror(r));
	free(q);
	return r;
}

void
ib_mux_conn_shutdown(struct ib_mux_conn *c, int err)
{
	pthread_mutex_lock(&c->mu);
	c->shutdown_err = err != IB_OK ? err : IB_ERR_NO_DEVICE;
	pthread_mutex_unlock(&c->mu);
	ib_mux_conn_wake(c);
}

void
ib_mux_conn_inject_malformed(struct ib_mux_conn *c, int kind)
{
	pthread_mutex_lock(&c->mu);
	if (c->ninject < CONN_INJECT_MAX)
		c->inject[c->ninject++] = kind;
	pthread_mutex_unlock(&c->mu);
	ib_mux_conn_wake(c);
}

void
ib_mux_conn_send_control(struct ib_mux_conn *c, uint8_t type, const char *text)
{
	pthread_mutex_lock(&c->mu);
	c->control_pending = 1;
	c->control_type = type;
	snprintf(c->control_text, sizeof(c->control_text), "%s", text != NULL ? text : "");
	pthread_mutex_unlock(&c->mu);
	ib_mux_conn_wake(c);
}

int
ib_mux_conn_error(struct ib_mux_conn *c)
{
	int r;

	pthread_mutex_lock(&c->mu);
	r = c->link_err;
	pthread_mutex_unlock(&c->mu);
	return r;
}

const char *
ib_mux_conn_describe(struct ib_mux_conn *c, char *buf, size_t size)
{
	pthread_mutex_lock(&c->mu);
	if (c->version != 0)
		snprintf(buf, size, "%s over %s, mux v%u", c->name, c->link_desc,
		    (unsigned)c->version);
	else
		snprintf(buf, size, "%s over %s", c->name, c->link_desc);
	pthread_mutex_unlock(&c->mu);
	return buf;
}

uint64_t
ib_mux_conn_bytes(struct ib_mux_conn *c)
{
	return atomic_load(&c->bytes);
}

