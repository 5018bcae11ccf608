/*
 * sim_np.c - the virtual device's notification_proxy state: which host
 * connection observes which names, the relays queued for each, and a log
 * of what hosts posted (for tests and the backup agent).
 *
 * A connection's handler thread owns its socket; posts from other
 * threads (another connection, the sim, the backup agent) only queue a
 * name and write a byte to the connection's wake pipe, so a TLS
 * connection is never written from two threads.
 */
#include "sim_services_int.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Distinct names the posted log remembers. */
#define SIM_NP_POSTED_MAX 256u

struct sim_np_conn {
	struct sim_np_conn *next;
	struct sim_np *np;
	char *observed[IB_NP_OBSERVE_MAX];
	unsigned nobserved;
	char *queue[IB_NP_QUEUE_MAX];
	unsigned qhead, qlen;
	int overflow;
	int wake[2];            /* [0] polled by the handler, [1] written by posters */
};

struct posted {
	struct posted *next;
	char *name;
	unsigned count;
};

struct sim_np {
	pthread_mutex_t mu;
	struct sim_np_conn *conns;
	struct posted *posted;
	unsigned nposted;
};

int
sim_np_new(struct sim_np **npp)
{
	struct sim_np *np = calloc(1, sizeof(*np));

	*npp = NULL;
	if (np == NULL)
		return IB_ERR_NOMEM;
	pthread_mutex_init(&np->mu, NULL);
	*npp = np;
	return IB_OK;
}

void
sim_np_free(struct sim_np *np)
{
	struct posted *p;

	if (np == NULL)
		return;
	/* Connections are freed by their handlers before the device goes. */
	while ((p = np->posted) != NULL) {
		np->posted = p->next;
		free(p->name);
		free(p);
	}
	pthread_mutex_destroy(&np->mu);
	free(np);
}

int
sim_np_conn_new(struct sim_np *np, struct sim_np_conn **cp)
{
	struct sim_np_conn *c = calloc(1, sizeof(*c));

	*cp = NULL;
	if (c == NULL)
		return IB_ERR_NOMEM;
	if (pipe2(c->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
		free(c);
		return ib_err_from_errno(errno, "pipe2");
	}
	c->np = np;
	pthread_mutex_lock(&np->mu);
	c->next = np->conns;
	np->conns = c;
	pthread_mutex_unlock(&np->mu);
	*cp = c;
	return IB_OK;
}

void
sim_np_conn_free(struct sim_np_conn *c)
{
	struct sim_np_conn **pp;
	unsigned i;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->np->mu);
	for (pp = &c->np->conns; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&c->np->mu);
	for (i = 0; i < c->nobserved; i++)
		free(c->observed[i]);
	for (i = 0; i < c->qlen; i++)
		free(c->queue[(c->qhead + i) % IB_NP_QUEUE_MAX]);
	close(c->wake[0]);
	close(c->wake[1]);
	free(c);
}

int
sim_np_conn_wake_fd(const struct sim_np_conn *c)
{
	return c->wake[0];
}

static int
observes(const struct sim_np_conn *c, const char *name)
{
	unsigned i;

	for (i = 0; i < c->nobserved; i++)
		if (strcmp(c->observed[i], name) == 0)
			return 1;
	return 0;
}

int
sim_np_conn_observe(struct sim_np_conn *c, const char *name)
{
	int r = IB_OK;
	char *copy;

	pthread_mutex_lock(&c->np->mu);
	if (observes(c, name))
		goto out;
	if (c->nobserved >= IB_NP_OBSERVE_MAX) {
		r = IB_ERR_TOO_LARGE;
		goto out;
	}
	if ((copy = strdup(name)) == NULL) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	c->observed[c->nobserved++] = copy;
out:
	pthread_mutex_unlock(&c->np->mu);
	return r;
}

int
sim_np_conn_next(struct sim_np_conn *c, char **namep, int *overflowp)
{
	char drain[64];

	*namep = NULL;
	pthread_mutex_lock(&c->np->mu);
	*overflowp = c->overflow;
	if (c->qlen > 0) {
		*namep = c->queue[c->qhead];
		c->qhead = (c->qhead + 1) % IB_NP_QUEUE_MAX;
		c->qlen--;
	} else {
		/* Posters write under the same lock, so no wake-up is lost. */
		while (read(c->wake[0], drain, sizeof(drain)) > 0)
			;
	}
	pthread_mutex_unlock(&c->np->mu);
	return IB_OK;
}

static void
log_posted(struct sim_np *np, const char *name)
{
	struct posted *p;

	for (p = np->posted; p != NULL; p = p->next) {
		if (strcmp(p->name, name) == 0) {
			p->count++;
			return;
		}
	}
	if (np->nposted >= SIM_NP_POSTED_MAX || (p = calloc(1, sizeof(*p))) == NULL)
		return;
	if ((p->name = strdup(name)) == NULL) {
		free(p);
		return;
	}
	p->count = 1;
	p->next = np->posted;
	np->posted = p;
	np->nposted++;
}

int
sim_np_post(struct sim_np *np, const char *name, int from_host)
{
	struct sim_np_conn *c;
	int queued = 0;
	char *copy;

	pthread_mutex_lock(&np->mu);
	if (from_host)
		log_posted(np, name);
	for (c = np->conns; c != NULL; c = c->next) {
		if (!observes(c, name))
			continue;
		if (c->qlen >= IB_NP_QUEUE_MAX || (copy = strdup(name)) == NULL) {
			c->overflow = 1;
		} else {
			c->queue[(c->qhead + c->qlen) % IB_NP_QUEUE_MAX] = copy;
			c->qlen++;
			queued++;
		}
		/* A full pipe already wakes the handler. */
		(void)!write(c->wake[1], "", 1);
	}
	pthread_mutex_unlock(&np->mu);
	ib_debug("device posted %s: relayed to %d connection(s)", name, queued);
	return queued;
}

unsigned
sim_np_posted(struct sim_np *np, const char *name)
{
	struct posted *p;
	unsigned n = 0;

	pthread_mutex_lock(&np->mu);
	for (p = np->posted; p != NULL; p = p->next)
		if (strcmp(p->name, name) == 0)
			n = p->count;
	pthread_mutex_unlock(&np->mu);
	return n;
}

unsigned
sim_np_observers(struct sim_np *np, const char *name)
{
	struct sim_np_conn *c;
	unsigned n = 0;

	pthread_mutex_lock(&np->mu);
	for (c = np->conns; c != NULL; c = c->next)
		n += (unsigned)observes(c, name);
	pthread_mutex_unlock(&np->mu);
	return n;
}
