/*
 * instproxy_client.c - the host's installation_proxy Browse call
 * (instproxy.h).
 */
#include "instproxy.h"
#include "ib_conn.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_util.h"
#include "ld_msg.h"

#include <stdint.h>

/* Bytes read per call while a message comes in. */
#define IP_READ_CHUNK 16384u

/* Receive one message through dec, counting its bytes on the wire (the
 * Browse byte cap needs them, which ib_conn_recv_plist does not give). */
static int
recv_counted(struct ib_conn *conn, struct ld_msg_dec *dec, plist_t *msgp, size_t *bytesp)
{
	uint8_t chunk[IP_READ_CHUNK];
	size_t want, got, used;
	int r;

	*msgp = NULL;
	*bytesp = 0;
	while (*msgp == NULL) {
		if ((want = ld_msg_dec_want(dec)) == 0)
			return IB_ERR_STATE;
		if ((r = ib_conn_read_some(conn, chunk, IB_MIN(want, sizeof(chunk)), &got)) != IB_OK ||
		    (r = ld_msg_dec_feed(dec, chunk, got, &used, msgp)) != IB_OK)
			return r;
		*bytesp += used;
	}
	return IB_OK;
}

int
ib_instproxy_browse(struct ib_conn *conn, const char *app_type,
    const char *const *attrs, unsigned timeout_ms, plist_t *appsp)
{
	struct ib_instproxy_browse *b = NULL;
	struct ld_msg_dec *dec = NULL;
	plist_t msg = NULL;
	size_t bytes;
	int r, done = 0;

	*appsp = NULL;
	if ((r = ib_instproxy_browse_request(app_type, attrs, &msg)) != IB_OK)
		return r;
	ib_conn_set_timeout(conn, (int)IB_MIN(timeout_ms, (unsigned)INT32_MAX));
	r = ib_conn_send_plist(conn, msg);
	plist_free(msg);
	if (r != IB_OK ||
	    (r = ib_instproxy_browse_new(&b)) != IB_OK ||
	    (r = ld_msg_dec_new(IB_PLIST_MSG_MAX, &dec)) != IB_OK)
		goto out;
	while (!done) {
		if ((r = recv_counted(conn, dec, &msg, &bytes)) != IB_OK)
			goto out;
		r = ib_instproxy_browse_feed(b, msg, bytes, &done);
		plist_free(msg);
		if (r != IB_OK)
			goto out;
	}
	r = ib_instproxy_browse_take(b, appsp);
out:
	ld_msg_dec_free(dec);
	ib_instproxy_browse_free(b);
	return r;
}
