/*
 * fuzz_lockdown_msg - what a device sends the host's lockdown client.
 *
 * Input: one control byte, then the bytes a device would send on port
 * 62078. Two passes over the same bytes:
 *   1. the framing decoder, fed in chunks whose sizes follow the control
 *      byte, and every decoded message through every reply parser of
 *      the client (each request type);
 *   2. a whole conversation: the bytes are queued on a socketpair and the
 *      real client runs QueryType, GetValue (ProductVersion, DeviceClass,
 *      all values, a domain), SetValue, RemoveValue, StartService and
 *      Goodbye against them.
 * Seeds (fuzz/corpus/lockdown_msg) are recordings of the virtual
 * device's answers, made by tests/lockdown/gen_seeds.c.
 */
#include "ib_err.h"
#include "ib_plist.h"
#include "ld_client_int.h"
#include "ld_msg.h"
#include "ld_reply.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a socketpair buffers without a reader (Linux: ~200 KiB). */
#define CONVERSATION_MAX 65536u

static void
all_parsers(plist_t m)
{
	static const char *const verbs[] = {
		"QueryType", "GetValue", "SetValue", "RemoveValue", "Pair",
		"ValidatePair", "Unpair", "StartSession", "StopSession",
		"StartService", "Goodbye",
	};
	const char *s;
	const uint8_t *bag;
	plist_t v, copy;
	uint16_t port;
	size_t i, n;
	int ssl;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		(void)ld_reply_check(m, verbs[i]);
	(void)ld_reply_query_type(m, &s);
	if (ld_reply_get_value(m, &v) == IB_OK) {
		/* what the client does with a value */
		copy = plist_copy(v);
		(void)ib_plist_get_string(copy, &s);
		(void)ib_plist_get_data(copy, &bag, &n);
		plist_free(copy);
	}
	(void)ld_reply_pair(m, &bag, &n);
	(void)ld_reply_start_session(m, &s, &ssl);
	(void)ld_reply_start_service(m, "com.apple.afc", &port, &ssl);
	(void)ld_reply_start_service(m, "com.apple.mobilebackup2", &port, &ssl);
}

static void
decode_pass(const uint8_t *p, size_t n, uint8_t ctl)
{
	struct ld_msg_dec *d = NULL;
	size_t off = 0, step = (size_t)(ctl & 0x3f) + 1;

	if (ld_msg_dec_new(0, &d) != IB_OK)
		return;
	while (off < n) {
		size_t chunk = step < n - off ? step : n - off, used = 0;
		plist_t m = NULL;

		if (ld_msg_dec_feed(d, p + off, chunk, &used, &m) != IB_OK)
			break;
		off += used;
		if (m != NULL) {
			all_parsers(m);
			plist_free(m);
		}
		/* vary the chunking as we go */
		step = (step * 5 + 3) % 61 + 1;
	}
	ld_msg_dec_free(d);
}

/* --- the conversation -------------------------------------------------------- */

struct script {
	const uint8_t *p;
	size_t n;
};

static int
dial(void *ctx, const char *udid, uint16_t port, struct ib_conn **cp)
{
	struct script *s = ctx;
	int sv[2];
	size_t off = 0;

	(void)udid;
	*cp = NULL;
	if (port != 62078 || s->p == NULL)
		return IB_ERR_MUX_REFUSED;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return IB_ERR_SYSTEM;
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	while (off < s->n) {
		ssize_t k = write(sv[1], s->p + off, s->n - off);

		if (k <= 0)
			break;
		off += (size_t)k;
	}
	close(sv[1]);   /* the device says nothing more: EOF after the script */
	s->p = NULL;    /* one lockdownd connection per run */
	if (ib_conn_new_fd(sv[0], IB_CONN_ROLE_HOST, 1, cp) != IB_OK) {
		close(sv[0]);
		return IB_ERR_NOMEM;
	}
	return IB_OK;
}

static int
no_record(void *ctx, const char *udid, uint8_t **datap, size_t *lenp)
{
	(void)ctx;
	(void)udid;
	*datap = NULL;
	*lenp = 0;
	return IB_ERR_NOT_FOUND;
}

static int
no_save(void *ctx, const char *udid, const uint8_t *data, size_t len)
{
	(void)ctx;
	(void)udid;
	(void)data;
	(void)len;
	return IB_ERR_UNSUPPORTED;
}

static int
no_delete(void *ctx, const char *udid)
{
	(void)ctx;
	(void)udid;
	return IB_ERR_NOT_FOUND;
}

static int
buid(void *ctx, char **buidp)
{
	(void)ctx;
	*buidp = strdup("30142955-444094379208051516");
	return *buidp != NULL ? IB_OK : IB_ERR_NOMEM;
}

static void
conversation(const uint8_t *p, size_t n)
{
	struct script s = { p, n };
	struct ld_env env = { dial, no_record, no_save, no_delete, buid, &s };
	struct ib_lockdown_opts o;
	struct ib_lockdown *ld = NULL;
	struct ib_conn *svc = NULL;
	plist_t v = NULL, name;

	memset(&o, 0, sizeof(o));
	o.timeout_ms = 1000;
	if (ld_open_env(&env, "00008110-000A1B2C3D4E5F60", &o, &ld) != IB_OK)
		return;
	(void)ib_lockdown_get_value(ld, NULL, NULL, &v);
	plist_free(v);
	v = NULL;
	(void)ib_lockdown_get_value(ld, "com.apple.disk_usage", NULL, &v);
	plist_free(v);
	name = plist_new_string("fuzz");
	(void)ib_lockdown_set_value(ld, NULL, "DeviceName", name);
	plist_free(name);
	(void)ib_lockdown_remove_value(ld, "com.apple.mobile.wireless_lockdown",
	    "EnableWifiConnections");
	if (ib_lockdown_start_service(ld, "com.apple.afc", 0, &svc) == IB_OK)
		ib_conn_free(svc);
	(void)ib_lockdown_goodbye(ld);
	ib_lockdown_free(ld);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	decode_pass(data + 1, size - 1, data[0]);
	if (size - 1 <= CONVERSATION_MAX)
		conversation(data + 1, size - 1);
	return 0;
}
