/*
 * np_client.c - the host's notification_proxy client (np.h).
 */
#include "np.h"
#include "ib_conn.h"
#include "ib_err.h"
#include "ib_log.h"
#include "ib_util.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* While a message is partly in, ib_np_wait gives other threads the
 * connection back at least this often. */
#define NP_RECV_SLICE_MS 100
/* Shortest wait that still looks at the socket (see try_recv). */
#define NP_PEEK_MS 1

struct ib_np {
	pthread_mutex_t mu;     /* guards conn and the fields below */
	struct ib_conn *conn;
	int broken;             /* sticky: IB_ERR_EOF after ProxyDeath */
	int proxy_death;        /* ProxyDeath was received */
};

int
ib_np_new(struct ib_conn *conn, struct ib_np **npp)
{
	struct ib_np *np = calloc(1, sizeof(*np));

	*npp = NULL;
	if (np == NULL) {
		ib_conn_free(conn);
		return IB_ERR_NOMEM;
	}
	pthread_mutex_init(&np->mu, NULL);
	np->conn = conn;
	*npp = np;
	return IB_OK;
}

void
ib_np_free(struct ib_np *np)
{
	if (np == NULL)
		return;
	ib_conn_free(np->conn);
	pthread_mutex_destroy(&np->mu);
	free(np);
}

int
ib_np_fd(const struct ib_np *np)
{
	return ib_conn_fd(np->conn);
}

static int
send_cmd(struct ib_np *np, enum ib_np_cmd cmd, const char *name)
{
	plist_t msg;
	int r;

	if ((r = ib_np_msg_build(cmd, name, &msg)) != IB_OK)
		return r;
	pthread_mutex_lock(&np->mu);
	if ((r = np->broken) == IB_OK) {
		ib_conn_set_timeout(np->conn, IB_CONN_TIMEOUT_DEFAULT_MS);
		if ((r = ib_conn_send_plist(np->conn, msg)) != IB_OK)
			np->broken = r;
	}
	pthread_mutex_unlock(&np->mu);
	plist_free(msg);
	return r;
}

int
ib_np_post(struct ib_np *np, const char *name)
{
	return send_cmd(np, IB_NP_POST, name);
}

int
ib_np_observe(struct ib_np *np, const char *name)
{
	return send_cmd(np, IB_NP_OBSERVE, name);
}

int
ib_np_observe_all(struct ib_np *np, const char *const *names)
{
	size_t i;
	int r;

	for (i = 0; names[i] != NULL; i++)
		if ((r = ib_np_observe(np, names[i])) != IB_OK)
			return r;
	return IB_OK;
}

/*
 * With the lock held: take one message if one can be read now. IB_OK
 * with *namep set for a relay, IB_ERR_TIMEOUT when nothing (whole) is
 * there yet, or a sticky error.
 */
static int
try_recv(struct ib_np *np, char **namep)
{
	const char *name;
	plist_t msg = NULL;
	int r;

	/* 1, not 0: ib_conn_wait_readable(c, 0) does not poll at all. */
	if ((r = ib_conn_wait_readable(np->conn, NP_PEEK_MS)) != IB_OK)
		return r == IB_ERR_TIMEOUT ? r : (np->broken = r);
	ib_conn_set_timeout(np->conn, NP_RECV_SLICE_MS);
	if ((r = ib_conn_recv_plist(np->conn, &msg)) != IB_OK)
		return r == IB_ERR_TIMEOUT ? r : (np->broken = r);
	r = ib_np_host_input(msg, &name);
	if (r == IB_OK && (*namep = strdup(name)) == NULL)
		r = IB_ERR_NOMEM;
	if (r == IB_ERR_EOF)
		np->proxy_death = 1;
	if (r != IB_OK && r != IB_ERR_NOMEM)
		np->broken = r;
	plist_free(msg);
	return r;
}

int
ib_np_wait(struct ib_np *np, unsigned timeout_ms, char **namep)
{
	uint64_t deadline = ib_now_ms() + timeout_ms, now;
	struct pollfd pfd = { .fd = ib_conn_fd(np->conn), .events = POLLIN };
	int r;

	*namep = NULL;
	for (;;) {
		pthread_mutex_lock(&np->mu);
		if ((r = np->broken) == IB_OK)
			r = try_recv(np, namep);
		pthread_mutex_unlock(&np->mu);
		if (r != IB_ERR_TIMEOUT)
			return r;
		if ((now = ib_now_ms()) >= deadline)
			return IB_ERR_TIMEOUT;
		if (ib_interrupted())
			return IB_ERR_INTERRUPTED;
		/* Wait on the bare fd without the lock, so posts go through;
		 * bytes already inside TLS were checked by try_recv. */
		(void)poll(&pfd, 1, (int)IB_MIN(deadline - now, (uint64_t)NP_RECV_SLICE_MS * 10));
	}
}

int
ib_np_shutdown(struct ib_np *np, unsigned timeout_ms)
{
	uint64_t deadline = ib_now_ms() + timeout_ms, now;
	char *name = NULL;
	int r, died;

	if ((r = send_cmd(np, IB_NP_SHUTDOWN, NULL)) != IB_OK)
		return r;
	for (;;) {
		now = ib_now_ms();
		r = ib_np_wait(np, now < deadline ? (unsigned)(deadline - now) : 0, &name);
		if (r != IB_OK)
			break;
		ib_debug("dropping %s relayed after Shutdown", name);
		free(name);
	}
	pthread_mutex_lock(&np->mu);
	died = np->proxy_death;
	pthread_mutex_unlock(&np->mu);
	if (r == IB_ERR_EOF && died)
		return IB_OK;
	if (r == IB_ERR_TIMEOUT)
		ib_err_detail_set("notification_proxy: no ProxyDeath after Shutdown");
	return r;
}
