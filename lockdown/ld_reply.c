/*
 * ld_reply.c - lockdownd reply checks (see ld_reply.h).
 */
#include "ld_reply.h"

#include "ib_err.h"
#include "ib_plist.h"
#include "ld_err.h"

#include <string.h>

/* Longest Error string we copy into the detail. */
#define ERROR_TEXT_MAX 64

int
ld_reply_check(plist_t reply, const char *request)
{
	const char *echo = NULL, *error = NULL, *result = NULL;
	int r, has_error;

	if (!ib_plist_is_dict(reply)) {
		ib_err_detail_set("lockdownd's reply to %s is not a dict", request);
		return IB_ERR_PLIST_TYPE;
	}
	has_error = ib_plist_dict_get_string(reply, "Error", &error) == IB_OK;
	r = ib_plist_dict_get_string(reply, "Request", &echo);
	if (r != IB_OK && !(r == IB_ERR_PLIST_MISSING && has_error)) {
		ib_err_detail_set("lockdownd's reply to %s has no Request", request);
		return IB_ERR_LD_REPLY_MISMATCH;
	}
	if (echo != NULL && strcmp(echo, request) != 0 &&
	    !(strcmp(request, "Unpair") == 0 && strcmp(echo, "ValidatePair") == 0)) {
		ib_err_detail_set("lockdownd answered %.*s to %s", ERROR_TEXT_MAX,
		    echo, request);
		return IB_ERR_LD_REPLY_MISMATCH;
	}
	if (has_error) {
		ib_err_detail_set("lockdownd answered Error=%.*s to %s",
		    ERROR_TEXT_MAX, error, request);
		return ld_err_from_string(error);
	}
	if (ib_plist_dict_get_string(reply, "Result", &result) == IB_OK &&
	    strcmp(result, "Failure") == 0) {
		ib_err_detail_set("lockdownd answered Result=Failure to %s", request);
		return IB_ERR_LD_FAILURE;
	}
	return IB_OK;
}

int
ld_reply_query_type(plist_t reply, const char **typep)
{
	int r;

	*typep = NULL;
	if ((r = ld_reply_check(reply, "QueryType")) != IB_OK)
		return r;
	return ib_plist_dict_get_string(reply, "Type", typep);
}

int
ld_reply_get_value(plist_t reply, plist_t *valuep)
{
	plist_t v;
	int r;

	*valuep = NULL;
	if ((r = ld_reply_check(reply, "GetValue")) != IB_OK)
		return r;
	if ((v = plist_dict_get_item(reply, "Value")) == NULL) {
		ib_err_detail_set("lockdownd's GetValue reply has no Value");
		return IB_ERR_LD_MISSING_VALUE;
	}
	*valuep = v;
	return IB_OK;
}

int
ld_reply_pair(plist_t reply, const uint8_t **bagp, size_t *lenp)
{
	int r;

	*bagp = NULL;
	*lenp = 0;
	if ((r = ld_reply_check(reply, "Pair")) != IB_OK)
		return r;
	r = ib_plist_dict_get_data(reply, "EscrowBag", bagp, lenp);
	if (r == IB_ERR_PLIST_MISSING)
		return IB_OK;   /* Apple Watch; supervised pairing while locked */
	if (r == IB_OK && *lenp == 0) {
		*bagp = NULL;
		return IB_OK;
	}
	return r;
}

/* Optional bool: absent is false. */
static int
opt_bool(plist_t d, const char *key, int *vp)
{
	int r = ib_plist_dict_get_bool(d, key, vp);

	return r == IB_ERR_PLIST_MISSING ? IB_OK : r;
}

int
ld_reply_start_session(plist_t reply, const char **session_idp, int *sslp)
{
	const char *sid = NULL;
	int r, ssl = 0;

	*session_idp = NULL;
	*sslp = 0;
	if ((r = ld_reply_check(reply, "StartSession")) != IB_OK)
		return r;
	if ((r = ib_plist_dict_get_string(reply, "SessionID", &sid)) != IB_OK)
		return r;
	if (sid[0] == '\0')
		return IB_ERR_FORMAT;
	if ((r = opt_bool(reply, "EnableSessionSSL", &ssl)) != IB_OK)
		return r;
	*session_idp = sid;
	*sslp = ssl;
	return IB_OK;
}

int
ld_reply_start_service(plist_t reply, const char *service, uint16_t *portp, int *sslp)
{
	const char *echo = NULL;
	uint64_t port = 0;
	int r, ssl = 0;

	*portp = 0;
	*sslp = 0;
	if ((r = ld_reply_check(reply, "StartService")) != IB_OK)
		return r;
	r = ib_plist_dict_get_string(reply, "Service", &echo);
	if (r == IB_OK && strcmp(echo, service) != 0) {
		ib_err_detail_set("lockdownd started a different service");
		return IB_ERR_LD_REPLY_MISMATCH;
	}
	if (r != IB_OK && r != IB_ERR_PLIST_MISSING)
		return r;
	if ((r = ib_plist_dict_get_uint(reply, "Port", &port)) != IB_OK)
		return r;
	if (port == 0 || port > UINT16_MAX) {
		ib_err_detail_set("lockdownd named service port %llu",
		    (unsigned long long)port);
		return IB_ERR_FORMAT;
	}
	if ((r = opt_bool(reply, "EnableServiceSSL", &ssl)) != IB_OK)
		return r;
	*portp = (uint16_t)port;
	*sslp = ssl;
	return IB_OK;
}
