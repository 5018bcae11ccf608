/*
 * services_peer.c - device ends for the service tests (services_peer.h).
 */
#include "services_peer.h"
#include "ib_conn.h"
#include "ib_err.h"
#include "ib_util.h"
#include "sim_services_int.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct peer {
	pthread_t thread;
	int fd;                 /* device end */
	peer_serve_fn serve;
	struct sim_services *S;
	uint8_t *script;
	size_t script_len;
};

static void *
peer_main(void *arg)
{
	struct peer *p = arg;
	struct ib_conn *conn;
	uint8_t sink[4096];

	if (p->serve != NULL) {
		if (ib_conn_new_fd(p->fd, IB_CONN_ROLE_DEVICE, 0, &conn) == IB_OK) {
			ib_conn_set_timeout(conn, -1);
			p->serve(p->S, conn);
			ib_conn_free(conn);
		}
	} else {
		size_t off = 0;
		ssize_t n;

		while (off < p->script_len &&
		    (n = send(p->fd, p->script + off, p->script_len - off, MSG_NOSIGNAL)) > 0)
			off += (size_t)n;
		/* Nothing more will come: the host reads EOF after the script. */
		shutdown(p->fd, SHUT_WR);
		while (read(p->fd, sink, sizeof(sink)) > 0)
			;
	}
	/* The host sees EOF once the device is done. */
	shutdown(p->fd, SHUT_RDWR);
	return NULL;
}

static int
start(struct peer *p, struct ib_conn **hostp, struct peer **pp)
{
	int sv[2], r;

	*hostp = NULL;
	*pp = NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
		free(p->script);
		free(p);
		return IB_ERR_SYSTEM;
	}
	p->fd = sv[1];
	if ((r = ib_conn_new_fd(sv[0], IB_CONN_ROLE_HOST, 1, hostp)) != IB_OK) {
		close(sv[0]);
		close(sv[1]);
		free(p->script);
		free(p);
		return r;
	}
	if (pthread_create(&p->thread, NULL, peer_main, p) != 0) {
		ib_conn_free(*hostp);
		*hostp = NULL;
		close(sv[1]);
		free(p->script);
		free(p);
		return IB_ERR_SYSTEM;
	}
	*pp = p;
	return IB_OK;
}

int
peer_serve(peer_serve_fn serve, struct sim_services *S, struct ib_conn **hostp,
    struct peer **pp)
{
	struct peer *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return IB_ERR_NOMEM;
	p->serve = serve;
	p->S = S;
	return start(p, hostp, pp);
}

int
peer_script(const void *bytes, size_t n, struct ib_conn **hostp, struct peer **pp)
{
	struct peer *p = calloc(1, sizeof(*p));

	if (p == NULL || (p->script = malloc(n ? n : 1)) == NULL) {
		free(p);
		return IB_ERR_NOMEM;
	}
	if (n > 0)
		memcpy(p->script, bytes, n);
	p->script_len = n;
	return start(p, hostp, pp);
}

void
peer_join(struct peer *p)
{
	if (p == NULL)
		return;
	pthread_join(p->thread, NULL);
	close(p->fd);
	free(p->script);
	free(p);
}

int
peer_wait_for(int (*cond)(void *arg), void *arg, unsigned ms)
{
	uint64_t end = ib_now_ms() + ms;
	int v;

	while (!(v = cond(arg)) && ib_now_ms() < end)
		ib_sleep_ms(1);
	return v;
}
