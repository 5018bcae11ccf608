/*
 * sim_services_serve.c - one virtual device's services state and the
 * connection handlers for notification_proxy, AFC and installation_proxy.
 * Nothing here knows the simulator runtime, so unit tests run the
 * handlers over socketpairs (the layer glue is in sim_services.c).
 */
#include "sim_services_int.h"
#include "afc.h"
#include "ib_buf.h"
#include "ib_conn.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_plist.h"
#include "ib_util.h"
#include "instproxy.h"
#include "np.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* While a host message is partly in, the NP handler looks at its relay
 * queue at least this often. */
#define SIM_NP_SLICE_MS 100
/* Shortest wait that still looks at the socket. */
#define SIM_NP_PEEK_MS 1

struct sim_services {
	struct sim_services_cfg cfg;
	struct sim_np *np;
	struct sim_afc *afc;
	plist_t apps;
};

/* --- installation_proxy ------------------------------------------------------- */

void
sim_services_serve_instproxy(struct sim_services *S, struct ib_conn *conn)
{
	plist_t msg, replies;
	uint32_t i;
	int r = IB_OK;

	while (r == IB_OK && ib_conn_recv_plist(conn, &msg) == IB_OK) {
		if ((replies = plist_new_array()) == NULL) {
			plist_free(msg);
			break;
		}
		r = sim_instproxy_answer(S->apps, S->cfg.instproxy_total, msg, replies);
		for (i = 0; r == IB_OK && i < plist_array_get_size(replies); i++)
			r = ib_conn_send_plist(conn, plist_array_get_item(replies, i));
		plist_free(replies);
		plist_free(msg);
	}
}

/* --- notification_proxy --------------------------------------------------------- */

static int
np_send(struct ib_conn *conn, enum ib_np_cmd cmd, const char *name)
{
	plist_t msg;
	int r;

	if ((r = ib_np_msg_build(cmd, name, &msg)) != IB_OK)
		return r;
	/* Receiving runs in short slices; a send may wait for a slow host. */
	ib_conn_set_timeout(conn, IB_CONN_TIMEOUT_DEFAULT_MS);
	r = ib_conn_send_plist(conn, msg);
	plist_free(msg);
	return r;
}

/* Send what other threads queued for this connection. */
static int
np_flush(struct ib_conn *conn, struct sim_np_conn *c)
{
	char *name;
	int overflow, r = IB_OK;

	for (;;) {
		(void)sim_np_conn_next(c, &name, &overflow);
		if (overflow) {
			ib_warn("notification_proxy: host does not read its relays, dropping it");
			free(name);
			return IB_ERR_BUSY;
		}
		if (name == NULL)
			return r;
		r = np_send(conn, IB_NP_RELAY, name);
		free(name);
		if (r != IB_OK)
			return r;
	}
}

/* One message from the host; IB_ERR_EOF ends the connection normally. */
static int
np_input(struct sim_services *S, struct sim_np_conn *c, struct ib_conn *conn, plist_t msg)
{
	struct ib_np_msg m;
	int r;

	if ((r = ib_np_msg_parse(msg, &m)) != IB_OK) {
		ib_warn("notification_proxy: dropping host: %s", ib_err_detail());
		return r;
	}
	switch (m.cmd) {
	case IB_NP_OBSERVE:
		if (sim_np_conn_observe(c, m.name) != IB_OK)
			ib_warn("notification_proxy: not observing %.64s (limit)", m.name);
		return IB_OK;
	case IB_NP_POST:
		r = sim_np_post(S->np, m.name, 1);
		return r < 0 ? r : IB_OK;
	case IB_NP_SHUTDOWN:
		(void)np_send(conn, IB_NP_PROXY_DEATH, NULL);
		return IB_ERR_EOF;
	default:
		ib_warn("notification_proxy: host sent %s, dropping it", ib_np_cmd_name(m.cmd));
		return IB_ERR_NP;
	}
}

void
sim_services_serve_np(struct sim_services *S, struct ib_conn *conn)
{
	struct sim_np_conn *c;
	struct pollfd pfd[2];
	plist_t msg;
	int r;

	if (sim_np_conn_new(S->np, &c) != IB_OK)
		return;
	pfd[0] = (struct pollfd){ .fd = ib_conn_fd(conn), .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sim_np_conn_wake_fd(c), .events = POLLIN };
	while ((r = np_flush(conn, c)) == IB_OK) {
		/* 1, not 0: ib_conn_wait_readable(c, 0) does not poll at all. */
		if ((r = ib_conn_wait_readable(conn, SIM_NP_PEEK_MS)) == IB_ERR_TIMEOUT) {
			(void)poll(pfd, 2, -1);
			continue;
		}
		ib_conn_set_timeout(conn, SIM_NP_SLICE_MS);
		if (r != IB_OK || ((r = ib_conn_recv_plist(conn, &msg)) != IB_OK &&
		    r != IB_ERR_TIMEOUT))
			break;
		if (r == IB_OK) {
			r = np_input(S, c, conn, msg);
			plist_free(msg);
			if (r != IB_OK)
				break;
		}
	}
	sim_np_conn_free(c);
}

/* --- AFC --------------------------------------------------------------------------- */

void
sim_services_serve_afc(struct sim_services *S, struct ib_conn *conn)
{
	struct sim_afc_session *s = NULL;
	struct ib_afc_dec *dec = NULL;
	struct ib_afc_packet pkt;
	struct ib_buf out;
	int r;

	ib_buf_init(&out, (size_t)IB_AFC_HEADER_LEN + IB_AFC_HDATA_MAX + IB_AFC_PAYLOAD_MAX);
	if (sim_afc_session_new(S->afc, &s) != IB_OK || ib_afc_dec_new(&dec) != IB_OK)
		goto out;
	for (;;) {
		if ((r = ib_afc_recv_packet(conn, dec)) != IB_OK) {
			if (r != IB_ERR_EOF)
				ib_warn("AFC: dropping host: %s (%s)", ib_strerror(r), ib_err_detail());
			break;
		}
		(void)ib_afc_dec_packet(dec, &pkt);
		ib_buf_reset(&out);
		if (sim_afc_handle(s, &pkt, &out) != IB_OK ||
		    ib_conn_write(conn, ib_buf_ptr(&out), ib_buf_len(&out)) != IB_OK)
			break;
		ib_afc_dec_next(dec);
	}
out:
	ib_afc_dec_free(dec);
	sim_afc_session_free(s);
	ib_buf_free(&out);
}

/* --- state ---------------------------------------------------------------------------- */

int
sim_services_new(const struct sim_services_cfg *cfg, struct sim_services **sp)
{
	struct sim_services *S = calloc(1, sizeof(*S));
	int r = IB_ERR_NOMEM;

	*sp = NULL;
	if (S == NULL)
		return r;
	S->cfg = *cfg;
	if ((r = sim_np_new(&S->np)) != IB_OK || (r = sim_afc_new(&cfg->afc, &S->afc)) != IB_OK)
		goto fail;
	if ((S->apps = sim_apps_new(cfg->apps)) == NULL) {
		r = IB_ERR_NOMEM;
		goto fail;
	}
	*sp = S;
	return IB_OK;
fail:
	sim_services_free(S);
	return r;
}

void
sim_services_free(struct sim_services *S)
{
	if (S == NULL)
		return;
	sim_np_free(S->np);
	sim_afc_free(S->afc);
	plist_free(S->apps);
	free(S);
}

struct sim_np *
sim_services_np(struct sim_services *S)
{
	return S->np;
}

struct sim_afc *
sim_services_afc(struct sim_services *S)
{
	return S->afc;
}

plist_t
sim_services_apps(struct sim_services *S)
{
	return S->apps;
}
