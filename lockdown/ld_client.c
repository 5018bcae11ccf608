/*
 * ld_client.c - the host's lockdownd client: one request, one reply
 * (see ib_lockdown.h). Reply checks live in ld_reply.c, the pairing loop
 * and sessions in ld_session.c.
 */
#include "ld_client_int.h"

#include "ib_err.h"
#include "ib_log.h"
#include "ib_plist.h"
#include "ib_util.h"
#include "ld_reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LD_LABEL_DEFAULT "ibackup"
/* What a device in normal mode answers to QueryType. */
#define LD_TYPE_LOCKDOWN "com.apple.mobile.lockdown"
/* Pairing protocol version: the string "2", not an integer. */
#define LD_PROTOCOL_VERSION "2"
/* Pause between Pair attempts while the user decides (PMD3, IDEV). */
#define LD_PAIR_RETRY_MS 1000

void
ld_parse_version(const char *s, unsigned *majorp, unsigned *minorp)
{
	unsigned v[2] = { 0, 0 };
	size_t i = 0;

	*majorp = *minorp = 0;
	if (s == NULL)
		return;
	for (; i < 2; i++) {
		unsigned n = 0, digits = 0;

		while (*s >= '0' && *s <= '9' && digits < 4) {
			n = n * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (digits == 0)
			break;
		v[i] = n;
		if (*s != '.')
			break;
		s++;
	}
	*majorp = v[0];
	*minorp = v[1];
}

/* --- requests ------------------------------------------------------------ */

static plist_t
request_new(const struct ib_lockdown *ld, const char *verb)
{
	plist_t d = plist_new_dict();

	if (d == NULL)
		return NULL;
	plist_dict_set_item(d, "Label", plist_new_string(ld->label));
	plist_dict_set_item(d, "Request", plist_new_string(verb));
	return d;
}

static void
set_domain_key(plist_t req, const char *domain, const char *key)
{
	if (domain != NULL)
		plist_dict_set_item(req, "Domain", plist_new_string(domain));
	if (key != NULL)
		plist_dict_set_item(req, "Key", plist_new_string(key));
}

/* Send req (consumed) and receive its reply (caller frees). The reply is
 * not checked here: each caller runs its ld_reply_* parser. */
static int
exchange(struct ib_lockdown *ld, plist_t req, plist_t *replyp)
{
	const char *verb = NULL;
	int r;

	*replyp = NULL;
	if (req == NULL)
		return IB_ERR_NOMEM;
	if (ld->conn == NULL) {
		r = IB_ERR_STATE;
		goto out;
	}
	(void)ib_plist_dict_get_string(req, "Request", &verb);
	ib_debug("lockdownd request %s", verb != NULL ? verb : "?");
	if ((r = ib_conn_send_plist(ld->conn, req)) != IB_OK)
		goto out;
	r = ib_conn_recv_plist(ld->conn, replyp);
out:
	/* Pair/ValidatePair/Unpair carry no secrets, StartService may carry
	 * the escrow bag: wipe what is secret either way. */
	ib_pair_record_plist_free(req);
	return r;
}

/* Exchange and run the common check only. */
static int
simple_request(struct ib_lockdown *ld, plist_t req, const char *verb)
{
	plist_t reply = NULL;
	int r;

	if ((r = exchange(ld, req, &reply)) == IB_OK)
		r = ld_reply_check(reply, verb);
	plist_free(reply);
	return r;
}

int
ld_connect(struct ib_lockdown *ld)
{
	plist_t reply = NULL;
	const char *type;
	int r;

	ib_conn_free(ld->conn);
	ld->conn = NULL;
	free(ld->session_id);
	ld->session_id = NULL;
	if ((r = ld->env.dial(ld->env.ctx, ld->udid, IB_LOCKDOWN_PORT, &ld->conn)) != IB_OK)
		return r;
	ib_conn_set_timeout(ld->conn, ld->timeout_ms);
	if ((r = exchange(ld, request_new(ld, "QueryType"), &reply)) != IB_OK)
		goto out;
	if ((r = ld_reply_query_type(reply, &type)) != IB_OK)
		goto out;
	if (strcmp(type, LD_TYPE_LOCKDOWN) != 0) {
		ib_err_detail_set("QueryType answered %.64s", type);
		r = IB_ERR_LD_WRONG_TYPE;
	}
out:
	plist_free(reply);
	return r;
}

int
ld_get_short_string(struct ib_lockdown *ld, const char *key, char *out, size_t n)
{
	char *s = NULL;
	int r = ib_lockdown_get_string(ld, NULL, key, &s);

	if (r == IB_OK)
		snprintf(out, n, "%s", s);
	free(s);
	return r;
}

int
ld_open_env(const struct ld_env *env, const char *udid,
    const struct ib_lockdown_opts *opts, struct ib_lockdown **ldp)
{
	struct ib_lockdown *ld;
	int r;

	*ldp = NULL;
	if (udid == NULL || strlen(udid) > IB_UDID_MAX)
		return IB_ERR_INVALID_ARG;
	if ((ld = calloc(1, sizeof(*ld))) == NULL)
		return IB_ERR_NOMEM;
	ld->env = *env;
	snprintf(ld->udid, sizeof(ld->udid), "%s", udid);
	ld->timeout_ms = opts != NULL && opts->timeout_ms != 0 ? opts->timeout_ms :
	    IB_CONN_TIMEOUT_DEFAULT_MS;
	ld->tls_root_cert = opts != NULL && opts->tls_root_cert;
	ld->retry_ms = LD_PAIR_RETRY_MS;
	ld->label = strdup(opts != NULL && opts->label != NULL ? opts->label :
	    LD_LABEL_DEFAULT);
	if (ld->label == NULL) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	if ((r = ld_connect(ld)) != IB_OK)
		goto out;
	/* Both readable before pairing; the version picks the TLS range,
	 * ValidatePair and the certificate hash. */
	if ((r = ld_get_short_string(ld, "ProductVersion", ld->product_version,
	    sizeof(ld->product_version))) != IB_OK)
		goto out;
	ld_parse_version(ld->product_version, &ld->ios_major, &ld->ios_minor);
	r = ld_get_short_string(ld, "DeviceClass", ld->device_class, sizeof(ld->device_class));
	if (r != IB_OK && r != IB_ERR_LD_MISSING_VALUE && r != IB_ERR_LD_GET_PROHIBITED)
		goto out;
	ib_debug("lockdownd of %s: %s %s", ld->udid, ld->device_class, ld->product_version);
	*ldp = ld;
	ld = NULL;
	r = IB_OK;
out:
	ib_lockdown_free(ld);
	return r;
}

void
ib_lockdown_free(struct ib_lockdown *ld)
{
	if (ld == NULL)
		return;
	ib_conn_free(ld->conn);
	ib_pair_record_free(ld->rec);
	free(ld->session_id);
	free(ld->label);
	free(ld);
}

void
ib_lockdown_close(struct ib_lockdown *ld)
{
	if (ld == NULL)
		return;
	if (ld->conn != NULL) {
		if (ld->session_id != NULL)
			(void)ib_lockdown_stop_session(ld);
		(void)ib_lockdown_goodbye(ld);
	}
	ib_lockdown_free(ld);
}

const char *
ib_lockdown_udid(const struct ib_lockdown *ld)
{
	return ld->udid;
}

const char *
ib_lockdown_product_version(const struct ib_lockdown *ld)
{
	return ld->product_version;
}

const char *
ib_lockdown_device_class(const struct ib_lockdown *ld)
{
	return ld->device_class;
}

int
ib_lockdown_has_session(const struct ib_lockdown *ld)
{
	return ld->session_id != NULL;
}

/* --- values ---------------------------------------------------------------- */

int
ib_lockdown_get_value(struct ib_lockdown *ld, const char *domain, const char *key,
    plist_t *valuep)
{
	plist_t req = request_new(ld, "GetValue"), reply = NULL, v;
	int r;

	*valuep = NULL;
	if (req != NULL)
		set_domain_key(req, domain, key);
	if ((r = exchange(ld, req, &reply)) != IB_OK)
		goto out;
	if ((r = ld_reply_get_value(reply, &v)) != IB_OK)
		goto out;
	if ((*valuep = plist_copy(v)) == NULL)
		r = IB_ERR_NOMEM;
out:
	plist_free(reply);
	return r;
}

int
ib_lockdown_get_string(struct ib_lockdown *ld, const char *domain, const char *key,
    char **sp)
{
	plist_t v = NULL;
	const char *s;
	int r;

	*sp = NULL;
	if ((r = ib_lockdown_get_value(ld, domain, key, &v)) != IB_OK)
		return r;
	if ((r = ib_plist_get_string(v, &s)) == IB_OK && (*sp = strdup(s)) == NULL)
		r = IB_ERR_NOMEM;
	plist_free(v);
	return r;
}

int
ib_lockdown_set_value(struct ib_lockdown *ld, const char *domain, const char *key,
    plist_t value)
{
	plist_t req, copy;

	if (value == NULL)
		return IB_ERR_INVALID_ARG;
	if ((req = request_new(ld, "SetValue")) == NULL)
		return IB_ERR_NOMEM;
	if ((copy = plist_copy(value)) == NULL) {
		plist_free(req);
		return IB_ERR_NOMEM;
	}
	set_domain_key(req, domain, key);
	plist_dict_set_item(req, "Value", copy);
	return simple_request(ld, req, "SetValue");
}

int
ib_lockdown_remove_value(struct ib_lockdown *ld, const char *domain, const char *key)
{
	plist_t req = request_new(ld, "RemoveValue");

	if (req != NULL)
		set_domain_key(req, domain, key);
	return simple_request(ld, req, "RemoveValue");
}

/* --- pairing requests -------------------------------------------------- */

/* Pair / ValidatePair / Unpair: the record without private keys. */
static plist_t
pair_request(const struct ib_lockdown *ld, const char *verb,
    const struct ib_pair_record *rec)
{
	plist_t req = request_new(ld, verb), pr;

	if (req == NULL)
		return NULL;
	if ((pr = ib_pair_record_request_plist(rec)) == NULL) {
		plist_free(req);
		return NULL;
	}
	plist_dict_set_item(req, "PairRecord", pr);
	plist_dict_set_item(req, "ProtocolVersion", plist_new_string(LD_PROTOCOL_VERSION));
	return req;
}

int
ib_lockdown_pair(struct ib_lockdown *ld, struct ib_pair_record *rec)
{
	plist_t req = pair_request(ld, "Pair", rec), reply = NULL, opts;
	const uint8_t *bag;
	size_t n;
	int r;

	if (req != NULL) {
		opts = plist_new_dict();
		plist_dict_set_item(opts, "ExtendedPairingErrors", plist_new_bool(1));
		plist_dict_set_item(req, "PairingOptions", opts);
	}
	if ((r = exchange(ld, req, &reply)) != IB_OK)
		goto out;
	if ((r = ld_reply_pair(reply, &bag, &n)) != IB_OK)
		goto out;
	r = ib_pair_record_set_escrow_bag(rec, bag, n);
out:
	ib_pair_record_plist_free(reply);   /* holds the escrow bag */
	return r;
}

int
ib_lockdown_validate_pair(struct ib_lockdown *ld, const struct ib_pair_record *rec)
{
	return simple_request(ld, pair_request(ld, "ValidatePair", rec), "ValidatePair");
}

int
ib_lockdown_unpair(struct ib_lockdown *ld, const struct ib_pair_record *rec)
{
	/* ld_reply_check accepts the "ValidatePair" echo for Unpair. */
	return simple_request(ld, pair_request(ld, "Unpair", rec), "Unpair");
}

/* --- sessions and services ---------------------------------------------- */

int
ld_tls_params(struct ib_lockdown *ld, struct ib_tls_identity **idp,
    struct ib_tls_params *tp)
{
	int r;

	memset(tp, 0, sizeof(*tp));
	*idp = NULL;
	if (ld->rec == NULL)
		return IB_ERR_LD_NOT_PAIRED;
	if ((r = ib_pair_record_tls_identity(ld->rec, ld->tls_root_cert ?
	    IB_PAIR_CERT_ROOT : IB_PAIR_CERT_HOST, idp)) != IB_OK)
		return r;
	tp->self = *idp;
	tp->ios_major = ld->ios_major;
	tp->ios_minor = ld->ios_minor;
	return IB_OK;
}

/* Keep a private copy of rec in ld (services need it for TLS). */
static int
adopt_record(struct ib_lockdown *ld, const struct ib_pair_record *rec)
{
	uint8_t *data = NULL;
	size_t n = 0;
	struct ib_pair_record *copy = NULL;
	int r;

	if (rec == ld->rec)
		return IB_OK;
	if ((r = ib_pair_record_serialize(rec, &data, &n)) != IB_OK)
		return r;
	r = ib_pair_record_parse(data, n, &copy);
	ib_pair_record_bytes_free(data, n);
	if (r != IB_OK)
		return r;
	ib_pair_record_free(ld->rec);
	ld->rec = copy;
	return IB_OK;
}

int
ib_lockdown_start_session(struct ib_lockdown *ld, const struct ib_pair_record *rec)
{
	plist_t req = NULL, reply = NULL;
	struct ib_tls_identity *id = NULL;
	struct ib_tls_params tp;
	const char *sid, *buid;
	int r, ssl;

	if (ld->session_id != NULL)
		return IB_ERR_LD_SESSION_ACTIVE;
	if ((r = adopt_record(ld, rec)) != IB_OK)
		return r;
	buid = ib_pair_record_system_buid(ld->rec);
	if ((req = request_new(ld, "StartSession")) != NULL) {
		plist_dict_set_item(req, "HostID",
		    plist_new_string(ib_pair_record_host_id(ld->rec)));
		if (buid != NULL)
			plist_dict_set_item(req, "SystemBUID", plist_new_string(buid));
	}
	if ((r = exchange(ld, req, &reply)) != IB_OK)
		goto out;
	if ((r = ld_reply_start_session(reply, &sid, &ssl)) != IB_OK)
		goto out;
	if ((ld->session_id = strdup(sid)) == NULL) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	/* The very next bytes are the ClientHello (lockdown.md section 5). */
	if (ssl && ((r = ld_tls_params(ld, &id, &tp)) != IB_OK ||
	    (r = ib_conn_tls_start(ld->conn, &tp)) != IB_OK)) {
		free(ld->session_id);
		ld->session_id = NULL;
		goto out;
	}
	/*
	 * TLS 1.3 completes the client's handshake before the device has
	 * judged our certificate; a refusal would only show at the next
	 * read. Make that read now, so a stale pairing is reported here as
	 * IB_ERR_TLS_HANDSHAKE and not by whatever request comes next.
	 */
	if (ssl && ib_conn_tls_version(ld->conn) >= IB_TLS_1_3) {
		plist_t v = NULL;

		r = ib_lockdown_get_value(ld, NULL, "ProductVersion", &v);
		plist_free(v);
		if (r != IB_OK) {
			free(ld->session_id);
			ld->session_id = NULL;
			goto out;
		}
	}
	ib_debug("lockdown session started%s", ssl ? " (TLS)" : "");
out:
	ib_tls_identity_free(id);
	plist_free(reply);
	return r;
}

int
ib_lockdown_stop_session(struct ib_lockdown *ld)
{
	plist_t req;
	int r;

	if (ld->session_id == NULL)
		return IB_ERR_LD_SESSION_INACTIVE;
	if ((req = request_new(ld, "StopSession")) != NULL)
		plist_dict_set_item(req, "SessionID", plist_new_string(ld->session_id));
	r = simple_request(ld, req, "StopSession");
	free(ld->session_id);
	ld->session_id = NULL;
	/* The reply came inside TLS; now close_notify both ways. */
	if (ld->conn != NULL && ib_conn_tls_active(ld->conn)) {
		int r2 = ib_conn_tls_stop(ld->conn);

		if (r == IB_OK)
			r = r2;
	}
	return r;
}

int
ib_lockdown_start_service(struct ib_lockdown *ld, const char *name,
    int with_escrow_bag, struct ib_conn **cp)
{
	plist_t req = NULL, reply = NULL;
	struct ib_conn *c = NULL;
	struct ib_tls_identity *id = NULL;
	struct ib_tls_params tp;
	uint16_t port;
	int r, ssl;

	*cp = NULL;
	if (name == NULL)
		return IB_ERR_INVALID_ARG;
	if ((req = request_new(ld, "StartService")) != NULL) {
		const uint8_t *bag;
		size_t n;

		plist_dict_set_item(req, "Service", plist_new_string(name));
		if (with_escrow_bag && ld->rec != NULL &&
		    ib_pair_record_escrow_bag(ld->rec, &bag, &n) == IB_OK)
			plist_dict_set_item(req, "EscrowBag",
			    plist_new_data((const char *)bag, n));
	}
	if ((r = exchange(ld, req, &reply)) != IB_OK)
		goto out;
	if ((r = ld_reply_start_service(reply, name, &port, &ssl)) != IB_OK)
		goto out;
	ib_debug("service %s on port %u%s", name, port, ssl ? " (TLS)" : "");
	if ((r = ld->env.dial(ld->env.ctx, ld->udid, port, &c)) != IB_OK)
		goto out;
	ib_conn_set_timeout(c, ld->timeout_ms);
	/* Handshake right after connecting, before any service byte. */
	if (ssl && ((r = ld_tls_params(ld, &id, &tp)) != IB_OK ||
	    (r = ib_conn_tls_start(c, &tp)) != IB_OK))
		goto out;
	*cp = c;
	c = NULL;
out:
	ib_conn_free(c);
	ib_tls_identity_free(id);
	plist_free(reply);
	return r;
}

int
ib_lockdown_goodbye(struct ib_lockdown *ld)
{
	return simple_request(ld, request_new(ld, "Goodbye"), "Goodbye");
}

/* --- the usbmux environment --------------------------------------------- */

static int
mux_dial(void *ctx, const char *udid, uint16_t port, struct ib_conn **cp)
{
	struct ib_stream *s = NULL;
	int r;

	*cp = NULL;
	if ((r = ib_usbmux_connect(ctx, udid, port, &s)) != IB_OK)
		return r;
	if ((r = ib_conn_new_stream(s, cp)) != IB_OK)
		ib_stream_close(s);
	return r;
}

static int
mux_read_record(void *ctx, const char *udid, uint8_t **datap, size_t *lenp)
{
	return ib_usbmux_read_pair_record(ctx, udid, datap, lenp);
}

static int
mux_save_record(void *ctx, const char *udid, const uint8_t *data, size_t len)
{
	return ib_usbmux_save_pair_record(ctx, udid, data, len);
}

static int
mux_delete_record(void *ctx, const char *udid)
{
	return ib_usbmux_delete_pair_record(ctx, udid);
}

static int
mux_read_buid(void *ctx, char **buidp)
{
	return ib_usbmux_read_buid(ctx, buidp);
}

static int
mux_env(struct ib_usbmux *m, const char *udid, struct ld_env *env,
    struct ib_device *dev)
{
	int r;

	if (m == NULL)
		return IB_ERR_INVALID_ARG;
	if ((r = ib_usbmux_select(m, udid, dev)) != IB_OK)
		return r;
	env->dial = mux_dial;
	env->read_record = mux_read_record;
	env->save_record = mux_save_record;
	env->delete_record = mux_delete_record;
	env->read_buid = mux_read_buid;
	env->ctx = m;
	return IB_OK;
}

int
ib_lockdown_open(struct ib_usbmux *m, const char *udid,
    const struct ib_lockdown_opts *opts, struct ib_lockdown **ldp)
{
	struct ld_env env;
	struct ib_device dev;
	int r;

	*ldp = NULL;
	if ((r = mux_env(m, udid, &env, &dev)) != IB_OK)
		return r;
	return ld_open_env(&env, dev.udid, opts, ldp);
}

int
ib_lockdown_session_open(struct ib_usbmux *m, const char *udid,
    const struct ib_lockdown_opts *opts, ib_lockdown_message_fn fn, void *ctx,
    struct ib_lockdown **ldp)
{
	struct ld_env env;
	struct ib_device dev;
	int r;

	*ldp = NULL;
	if ((r = mux_env(m, udid, &env, &dev)) != IB_OK)
		return r;
	return ld_session_open_env(&env, dev.udid, opts, fn, ctx, ldp);
}

int
ib_lockdown_query_info(struct ib_usbmux *m, const char *udid,
    const struct ib_lockdown_opts *opts, struct ib_lockdown_info *info)
{
	struct ld_env env;
	struct ib_device dev;
	int r;

	if ((r = mux_env(m, udid, &env, &dev)) != IB_OK)
		return r;
	return ld_query_info_env(&env, dev.udid, opts, info);
}
