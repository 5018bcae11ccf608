/*
 * ld_dev_serve.c - one lockdownd connection on the device side: request
 * dispatch, sessions with TLS, and services on fresh ports.
 */
#include "ld_device_int.h"

#include "ib_err.h"
#include "ib_log.h"
#include "ib_plist.h"
#include "ib_util.h"
#include "ld_err.h"
#include "ld_pair.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* What to do after the reply went out. */
enum after {
	AFTER_NONE = 0,
	AFTER_TLS_START,        /* StartSession: we are the TLS server now */
	AFTER_TLS_STOP,         /* StopSession: close_notify, plaintext again */
	AFTER_CLOSE,            /* Goodbye */
	AFTER_DROP,             /* no reply: drop the connection (trust_reset) */
};

struct dconn {
	struct ld_device *d;
	struct ib_conn *c;
	char *session_id;
	char *host_id;                  /* session's, or validated (iOS < 7) */
	int validated;
	struct ib_tls_identity self, trust;     /* for the coming handshake */
};

plist_t
ld_dev_reply_new(const char *verb)
{
	plist_t r = plist_new_dict();

	plist_dict_set_item(r, "Request", plist_new_string(verb));
	return r;
}

plist_t
ld_dev_reply_error(const char *verb, int err)
{
	plist_t r = ld_dev_reply_new(verb);
	const char *s = ld_err_to_string(err);

	/* Our own failures (memory, TLS setup) have no lockdownd string. */
	plist_dict_set_item(r, "Error", plist_new_string(s != NULL ? s : "InternalError"));
	return r;
}

/* Optional string field: absent is NULL, another type is an error. */
static int
opt_string(plist_t req, const char *key, const char **sp)
{
	int r = ib_plist_dict_get_string(req, key, sp);

	return r == IB_ERR_PLIST_MISSING ? IB_OK : r;
}

static int
set_str(char **dst, const char *s)
{
	char *copy = NULL;

	if (s != NULL && (copy = strdup(s)) == NULL)
		return IB_ERR_NOMEM;
	free(*dst);
	*dst = copy;
	return IB_OK;
}

/* --- values --------------------------------------------------------------- */

/* Values that change while the device runs. Caller holds d->mu. */
static plist_t
dynamic_values(struct dconn *dc, int want_key)
{
	struct ld_device *d = dc->d;
	plist_t v = plist_new_dict();

	plist_dict_set_item(v, "PasswordProtected", plist_new_bool(d->locked ? 1 : 0));
	plist_dict_set_item(v, "TimeIntervalSince1970",
	    plist_new_real((double)ib_unix_now()));
	plist_dict_set_item(v, "TrustedHostAttached",
	    plist_new_bool(dc->session_id != NULL));
	plist_dict_set_item(v, "HostAttached", plist_new_bool(1));
	if (want_key && ld_dev_key(d) == IB_OK)
		plist_dict_set_item(v, "DevicePublicKey",
		    plist_new_data((const char *)d->pubkey_pem, d->pubkey_len));
	return v;
}

static plist_t
do_values(struct dconn *dc, plist_t req, const char *verb)
{
	struct ld_device *d = dc->d;
	const char *domain = NULL, *key = NULL;
	plist_t reply, value = NULL, dyn;
	int trusted = dc->session_id != NULL, r;

	if (opt_string(req, "Domain", &domain) != IB_OK ||
	    opt_string(req, "Key", &key) != IB_OK)
		return ld_dev_reply_error(verb, IB_ERR_LD_MALFORMED_COMMAND);
	pthread_mutex_lock(&d->mu);
	ld_dev_refresh_lock(d);
	if (strcmp(verb, "GetValue") == 0) {
		dyn = dynamic_values(dc, domain == NULL &&
		    (key == NULL || strcmp(key, "DevicePublicKey") == 0));
		r = ldv_get(d->values, domain, key, trusted, dyn, &value);
		plist_free(dyn);
	} else if (strcmp(verb, "SetValue") == 0) {
		r = ldv_set(d->values, domain, key, trusted, plist_dict_get_item(req, "Value"));
	} else {
		r = ldv_remove(d->values, domain, key, trusted);
	}
	pthread_mutex_unlock(&d->mu);
	if (r != IB_OK)
		return ld_dev_reply_error(verb, r);
	reply = ld_dev_reply_new(verb);
	if (domain != NULL)
		plist_dict_set_item(reply, "Domain", plist_new_string(domain));
	if (key != NULL)
		plist_dict_set_item(reply, "Key", plist_new_string(key));
	if (value != NULL)
		plist_dict_set_item(reply, "Value", value);
	return reply;
}

/* --- pairing ---------------------------------------------------------------- */

static plist_t
do_pair(struct dconn *dc, plist_t req, enum after *after)
{
	struct ld_device *d = dc->d;
	plist_t rec = NULL, reply = NULL;
	const uint8_t *bag = NULL;
	enum ld_verdict v;
	int r;

	if (ib_plist_dict_get_dict(req, "PairRecord", &rec) != IB_OK)
		return ld_dev_reply_error("Pair", IB_ERR_LD_MISSING_PAIR_RECORD);
	pthread_mutex_lock(&d->mu);
	d->stats.pair_requests++;
	if (plist_dict_get_item(rec, "HostPrivateKey") != NULL ||
	    plist_dict_get_item(rec, "RootPrivateKey") != NULL)
		d->stats.pair_private_keys++;
	ld_dev_refresh_lock(d);
	/* A locked device cannot show the Trust dialog. */
	if (d->locked) {
		r = IB_ERR_LD_PASSWORD_PROTECTED;
		goto out;
	}
	if ((r = ld_dev_key(d)) != IB_OK)
		goto out;
	/* Refuse a broken record before bothering the user. */
	if ((r = ld_dev_check_record(d, rec)) != IB_OK)
		goto out;
	v = ld_dev_trust_verdict(d);
	if (v == LD_VERDICT_PENDING)
		r = IB_ERR_LD_PAIRING_DIALOG_PENDING;
	else if (v == LD_VERDICT_DENY)
		r = IB_ERR_LD_USER_DENIED_PAIRING;
	else if (v == LD_VERDICT_RESET)
		*after = AFTER_DROP;
	else if ((r = ld_dev_add_pairing(d, rec, &bag)) == IB_OK) {
		reply = ld_dev_reply_new("Pair");
		plist_dict_set_item(reply, "EscrowBag",
		    plist_new_data((const char *)bag, LD_ESCROW_BAG_LEN));
	}
out:
	pthread_mutex_unlock(&d->mu);
	if (*after == AFTER_DROP)
		return NULL;
	return reply != NULL ? reply : ld_dev_reply_error("Pair", r);
}

/* HostID of the PairRecord in ValidatePair / Unpair. */
static const char *
record_host_id(plist_t req)
{
	plist_t rec = NULL;
	const char *id = NULL;

	if (ib_plist_dict_get_dict(req, "PairRecord", &rec) == IB_OK)
		(void)ib_plist_dict_get_string(rec, "HostID", &id);
	else
		(void)ib_plist_dict_get_string(req, "HostID", &id);    /* PMD3 */
	return id;
}

static plist_t
do_validate(struct dconn *dc, plist_t req)
{
	const char *id = record_host_id(req);
	int known;

	if (id == NULL)
		return ld_dev_reply_error("ValidatePair", IB_ERR_LD_MISSING_HOST_ID);
	pthread_mutex_lock(&dc->d->mu);
	known = ld_dev_find_pairing(dc->d, id) != NULL;
	pthread_mutex_unlock(&dc->d->mu);
	if (!known)
		return ld_dev_reply_error("ValidatePair", IB_ERR_LD_INVALID_HOST_ID);
	if (set_str(&dc->host_id, id) != IB_OK)
		return ld_dev_reply_error("ValidatePair", IB_ERR_NOMEM);
	dc->validated = 1;
	return ld_dev_reply_new("ValidatePair");
}

static plist_t
do_unpair(struct dconn *dc, plist_t req)
{
	const char *id = record_host_id(req);
	int r;

	if (id == NULL)
		return ld_dev_reply_error("Unpair", IB_ERR_LD_MISSING_HOST_ID);
	pthread_mutex_lock(&dc->d->mu);
	r = ld_dev_remove_pairing(dc->d, id);
	pthread_mutex_unlock(&dc->d->mu);
	return r == IB_OK ? ld_dev_reply_new("Unpair") : ld_dev_reply_error("Unpair", r);
}

/* --- sessions ---------------------------------------------------------------- */

static plist_t
do_start_session(struct dconn *dc, plist_t req, enum after *after)
{
	struct ld_device *d = dc->d;
	const char *id = NULL;
	char sid[37];
	plist_t reply;
	int r;

	if (ib_plist_dict_get_string(req, "HostID", &id) != IB_OK)
		return ld_dev_reply_error("StartSession", IB_ERR_LD_MISSING_HOST_ID);
	if (dc->session_id != NULL)
		return ld_dev_reply_error("StartSession", IB_ERR_LD_SESSION_ACTIVE);
	/* Below iOS 7 the host must ValidatePair this HostID first; we
	 * answer as if we did not know it. */
	if (d->ios_major < 7 && (!dc->validated || strcmp(dc->host_id, id) != 0))
		return ld_dev_reply_error("StartSession", IB_ERR_LD_INVALID_HOST_ID);
	pthread_mutex_lock(&d->mu);
	r = ld_dev_key(d);
	if (r == IB_OK)
		r = ld_dev_tls_identity(d, id, &dc->self, &dc->trust);
	pthread_mutex_unlock(&d->mu);
	if (r == IB_OK)
		r = ib_uuid_upper(sid);
	if (r == IB_OK && (r = set_str(&dc->host_id, id)) == IB_OK)
		r = set_str(&dc->session_id, sid);
	if (r != IB_OK) {
		ld_dev_identity_clear(&dc->self);
		ld_dev_identity_clear(&dc->trust);
		return ld_dev_reply_error("StartSession", r);
	}
	reply = ld_dev_reply_new("StartSession");
	plist_dict_set_item(reply, "SessionID", plist_new_string(sid));
	plist_dict_set_item(reply, "EnableSessionSSL", plist_new_bool(1));
	*after = AFTER_TLS_START;
	return reply;
}

static plist_t
do_stop_session(struct dconn *dc, plist_t req, enum after *after)
{
	const char *sid = NULL;
	plist_t reply;

	if (dc->session_id == NULL)
		return ld_dev_reply_error("StopSession", IB_ERR_LD_SESSION_INACTIVE);
	if (ib_plist_dict_get_string(req, "SessionID", &sid) != IB_OK)
		return ld_dev_reply_error("StopSession", IB_ERR_LD_MISSING_SESSION_ID);
	if (strcmp(sid, dc->session_id) != 0)
		return ld_dev_reply_error("StopSession", IB_ERR_LD_INVALID_SESSION_ID);
	free(dc->session_id);
	dc->session_id = NULL;
	reply = ld_dev_reply_new("StopSession");
	plist_dict_set_item(reply, "Result", plist_new_string("Success"));
	*after = AFTER_TLS_STOP;
	return reply;
}

/* Which certificate did the host show: its root or its host cert? */
static void
count_client_cert(struct dconn *dc)
{
	uint8_t *der = NULL, *root = NULL;
	size_t n = 0;
	int rn, same;

	if (ib_conn_tls_peer_cert(dc->c, &der, &n) != IB_OK)
		return;
	rn = i2d_X509(dc->trust.cert, &root);
	same = rn > 0 && (size_t)rn == n && memcmp(der, root, n) == 0;
	pthread_mutex_lock(&dc->d->mu);
	if (same)
		dc->d->stats.client_root_cert++;
	else
		dc->d->stats.client_host_cert++;
	dc->d->stats.sessions++;
	pthread_mutex_unlock(&dc->d->mu);
	free(der);
	OPENSSL_free(root);
}

static int
tls_up(struct dconn *dc)
{
	struct ib_tls_params tp;
	int r;

	memset(&tp, 0, sizeof(tp));
	tp.self = &dc->self;
	tp.trust = &dc->trust;
	tp.ios_major = dc->d->ios_major;
	tp.ios_minor = dc->d->ios_minor;
	r = ib_conn_tls_start(dc->c, &tp);
	if (r == IB_OK) {
		count_client_cert(dc);
	} else {
		ib_info("virtual lockdownd: TLS handshake failed: %s", ib_err_detail());
		pthread_mutex_lock(&dc->d->mu);
		dc->d->stats.tls_refused++;
		pthread_mutex_unlock(&dc->d->mu);
	}
	ld_dev_identity_clear(&dc->self);
	ld_dev_identity_clear(&dc->trust);
	return r;
}

/* --- dispatch ---------------------------------------------------------------- */

static plist_t
dispatch(struct dconn *dc, plist_t req, enum after *after)
{
	const char *verb = NULL;
	plist_t reply;

	*after = AFTER_NONE;
	if (!ib_plist_is_dict(req) ||
	    ib_plist_dict_get_string(req, "Request", &verb) != IB_OK) {
		reply = plist_new_dict();
		plist_dict_set_item(reply, "Error", plist_new_string("MalformedCommand"));
		return reply;
	}
	if (strcmp(verb, "QueryType") == 0) {
		reply = ld_dev_reply_new(verb);
		plist_dict_set_item(reply, "Type", plist_new_string("com.apple.mobile.lockdown"));
		return reply;
	}
	if (strcmp(verb, "GetValue") == 0 || strcmp(verb, "SetValue") == 0 ||
	    strcmp(verb, "RemoveValue") == 0)
		return do_values(dc, req, verb);
	if (strcmp(verb, "Pair") == 0)
		return do_pair(dc, req, after);
	if (strcmp(verb, "ValidatePair") == 0)
		return do_validate(dc, req);
	if (strcmp(verb, "Unpair") == 0)
		return do_unpair(dc, req);
	if (strcmp(verb, "StartSession") == 0)
		return do_start_session(dc, req, after);
	if (strcmp(verb, "StopSession") == 0)
		return do_stop_session(dc, req, after);
	if (strcmp(verb, "StartService") == 0)
		return ld_dev_start_service(dc->d,
		    dc->session_id != NULL ? dc->host_id : NULL, req);
	if (strcmp(verb, "Goodbye") == 0) {
		*after = AFTER_CLOSE;
		return ld_dev_reply_new(verb);
	}
	reply = ld_dev_reply_new(verb);
	plist_dict_set_item(reply, "Error", plist_new_string("InvalidRequest"));
	return reply;
}

/* After the reply: switch TLS on or off, or end. 0 = keep serving. */
static int
after_reply(struct dconn *dc, enum after after)
{
	switch (after) {
	case AFTER_TLS_START:
		if (tls_up(dc) == IB_OK)
			return 0;
		free(dc->session_id);
		dc->session_id = NULL;
		return 1;
	case AFTER_TLS_STOP:
		return ib_conn_tls_stop(dc->c) != IB_OK;
	case AFTER_CLOSE:
	case AFTER_DROP:
		return 1;
	default:
		return 0;
	}
}

void
ld_device_serve(struct ld_device *d, int fd)
{
	struct dconn dc;
	int r;

	memset(&dc, 0, sizeof(dc));
	dc.d = d;
	if (ib_conn_new_fd(fd, IB_CONN_ROLE_DEVICE, 0, &dc.c) != IB_OK)
		return;
	/* Real devices drop an idle lockdown connection after ~30 s. */
	ib_conn_set_timeout(dc.c, d->cfg.idle_timeout_s > 0 ?
	    (int)(d->cfg.idle_timeout_s * 1000u) : -1);
	for (;;) {
		plist_t req = NULL, reply;
		enum after after;

		if ((r = ib_conn_recv_plist(dc.c, &req)) != IB_OK) {
			ib_debug("virtual lockdownd: connection ends: %s", ib_strerror(r));
			break;
		}
		reply = dispatch(&dc, req, &after);
		ib_pair_record_plist_free(req);
		if (reply != NULL) {
			r = ib_conn_send_plist(dc.c, reply);
			ib_pair_record_plist_free(reply);   /* may hold the escrow bag */
			if (r != IB_OK)
				break;
		}
		if (after_reply(&dc, after))
			break;
	}
	ld_dev_identity_clear(&dc.self);
	ld_dev_identity_clear(&dc.trust);
	free(dc.session_id);
	free(dc.host_id);
	ib_conn_free(dc.c);
}
