/*
 * reply_test.c - lockdownd replies: every Error string maps to its own
 * value, Request echo rules (Unpair quirk), Result=Failure, typed fields.
 */
#include "ib_test.h"

#include "ib_plist.h"
#include "ld_err.h"
#include "ld_reply.h"

#include <string.h>

static const char *const all_errors[] = {
	"InvalidResponse", "MissingKey", "MissingValue", "GetProhibited",
	"SetProhibited", "RemoveProhibited", "ImmutableValue",
	"PasswordProtected", "UserDeniedPairing", "PairingDialogResponsePending",
	"MissingHostID", "InvalidHostID", "SessionActive", "SessionInactive",
	"MissingSessionID", "InvalidSessionID", "MissingService",
	"InvalidService", "ServiceLimit", "MissingPairRecord",
	"SavePairRecordFailed", "InvalidPairRecord", "InvalidActivationRecord",
	"MissingActivationRecord", "ServiceProhibited", "EscrowLocked",
	"PairingProhibitedOverThisConnection", "FMiPProtected", "MCProtected",
	"MCChallengeRequired", "InvalidConnection", "DeviceLocked",
	"MalformedCommand",
};

static plist_t
reply(const char *request, const char *error)
{
	plist_t d = plist_new_dict();

	if (request != NULL)
		plist_dict_set_item(d, "Request", plist_new_string(request));
	if (error != NULL)
		plist_dict_set_item(d, "Error", plist_new_string(error));
	return d;
}

IB_TEST(reply_every_error_string_has_a_distinct_value)
{
	int seen[sizeof(all_errors) / sizeof(all_errors[0])];
	size_t i, j;

	for (i = 0; i < sizeof(all_errors) / sizeof(all_errors[0]); i++) {
		int v = ld_err_from_string(all_errors[i]);

		IB_CHECK(v != IB_ERR_LD_UNKNOWN);
		IB_CHECK(v <= -400 && v > -500);
		/* the sentence is not the generic one */
		IB_CHECK(strcmp(ib_strerror(v), ib_strerror(IB_ERR_LD_UNKNOWN)) != 0);
		IB_CHECK_STR(ld_err_to_string(v), all_errors[i]);
		for (j = 0; j < i; j++)
			IB_CHECK(seen[j] != v);
		seen[i] = v;
	}
	IB_CHECK_EQ(ld_err_from_string("NoSuchThing"), IB_ERR_LD_UNKNOWN);
	IB_CHECK_EQ(ld_err_from_string(NULL), IB_ERR_LD_UNKNOWN);
	IB_CHECK(ld_err_to_string(IB_ERR_LD_UNKNOWN) == NULL);
	IB_CHECK(ld_err_to_string(IB_ERR_NOMEM) == NULL);
}

IB_TEST(reply_errors_come_through_check)
{
	size_t i;

	for (i = 0; i < sizeof(all_errors) / sizeof(all_errors[0]); i++) {
		plist_t r = reply("StartService", all_errors[i]);

		IB_CHECK_EQ(ld_reply_check(r, "StartService"), ld_err_from_string(all_errors[i]));
		IB_CHECK(strstr(ib_err_detail(), all_errors[i]) != NULL);
		plist_free(r);
	}
}

IB_TEST(reply_user_actionable_values)
{
	IB_CHECK_EQ(ld_err_from_string("InvalidHostID"), IB_ERR_LD_INVALID_HOST_ID);
	IB_CHECK_EQ(ld_err_from_string("PasswordProtected"), IB_ERR_LD_PASSWORD_PROTECTED);
	IB_CHECK_EQ(ld_err_from_string("UserDeniedPairing"), IB_ERR_LD_USER_DENIED_PAIRING);
	IB_CHECK_EQ(ld_err_from_string("PairingDialogResponsePending"),
	    IB_ERR_LD_PAIRING_DIALOG_PENDING);
	IB_CHECK(strstr(ib_strerror(IB_ERR_LD_INVALID_HOST_ID), "ibackup pair") != NULL);
	IB_CHECK(strstr(ib_strerror(IB_ERR_TLS_HANDSHAKE), "ibackup pair") != NULL);
}

IB_TEST(reply_request_echo)
{
	plist_t r = reply("GetValue", NULL);

	IB_CHECK_OK(ld_reply_check(r, "GetValue"));
	IB_CHECK_ERR(ld_reply_check(r, "SetValue"), IB_ERR_LD_REPLY_MISMATCH);
	plist_free(r);

	/* no Request at all: mismatch, unless an Error explains it */
	r = reply(NULL, NULL);
	IB_CHECK_ERR(ld_reply_check(r, "GetValue"), IB_ERR_LD_REPLY_MISMATCH);
	plist_free(r);
	r = reply(NULL, "MalformedCommand");
	IB_CHECK_ERR(ld_reply_check(r, "GetValue"), IB_ERR_LD_MALFORMED_COMMAND);
	plist_free(r);

	/* Request of the wrong type */
	r = plist_new_dict();
	plist_dict_set_item(r, "Request", plist_new_uint(3));
	IB_CHECK_ERR(ld_reply_check(r, "GetValue"), IB_ERR_LD_REPLY_MISMATCH);
	plist_free(r);

	/* a mismatched echo wins over an Error */
	r = reply("Pair", "InvalidHostID");
	IB_CHECK_ERR(ld_reply_check(r, "StartSession"), IB_ERR_LD_REPLY_MISMATCH);
	plist_free(r);
}

IB_TEST(reply_unpair_quirk)
{
	plist_t r = reply("ValidatePair", NULL);

	/* The reply to Unpair may say ValidatePair (firmware bug). */
	IB_CHECK_OK(ld_reply_check(r, "Unpair"));
	/* ... but only for Unpair. */
	IB_CHECK_ERR(ld_reply_check(r, "Pair"), IB_ERR_LD_REPLY_MISMATCH);
	plist_free(r);
	r = reply("Unpair", NULL);
	IB_CHECK_OK(ld_reply_check(r, "Unpair"));
	plist_free(r);
}

IB_TEST(reply_result_failure_old_ios)
{
	plist_t r = reply("StartSession", NULL);

	plist_dict_set_item(r, "Result", plist_new_string("Failure"));
	IB_CHECK_ERR(ld_reply_check(r, "StartSession"), IB_ERR_LD_FAILURE);
	plist_dict_set_item(r, "Result", plist_new_string("Success"));
	IB_CHECK_OK(ld_reply_check(r, "StartSession"));
	plist_free(r);
}

IB_TEST(reply_not_a_dict)
{
	plist_t a = plist_new_array();

	IB_CHECK_ERR(ld_reply_check(a, "GetValue"), IB_ERR_PLIST_TYPE);
	IB_CHECK_ERR(ld_reply_check(NULL, "GetValue"), IB_ERR_PLIST_TYPE);
	plist_free(a);
}

IB_TEST(reply_start_service_fields)
{
	plist_t r = reply("StartService", NULL);
	uint16_t port;
	int ssl;

	/* no Port */
	IB_CHECK_ERR(ld_reply_start_service(r, "com.apple.afc", &port, &ssl), IB_ERR_PLIST_MISSING);
	plist_dict_set_item(r, "Port", plist_new_uint(49200));
	/* EnableServiceSSL absent means false (LIMD#694) */
	IB_CHECK_OK(ld_reply_start_service(r, "com.apple.afc", &port, &ssl));
	IB_CHECK_EQ(port, 49200);
	IB_CHECK_EQ(ssl, 0);
	plist_dict_set_item(r, "EnableServiceSSL", plist_new_bool(1));
	IB_CHECK_OK(ld_reply_start_service(r, "com.apple.afc", &port, &ssl));
	IB_CHECK_EQ(ssl, 1);
	plist_dict_set_item(r, "EnableServiceSSL", plist_new_string("yes"));
	IB_CHECK_ERR(ld_reply_start_service(r, "com.apple.afc", &port, &ssl), IB_ERR_PLIST_TYPE);
	IB_CHECK_EQ(port, 0);
	plist_dict_set_item(r, "EnableServiceSSL", plist_new_bool(0));
	/* Service echo must match when present */
	plist_dict_set_item(r, "Service", plist_new_string("com.apple.mobilebackup2"));
	IB_CHECK_ERR(ld_reply_start_service(r, "com.apple.afc", &port, &ssl),
	    IB_ERR_LD_REPLY_MISMATCH);
	plist_dict_set_item(r, "Service", plist_new_string("com.apple.afc"));
	IB_CHECK_OK(ld_reply_start_service(r, "com.apple.afc", &port, &ssl));
	/* ports out of range */
	plist_dict_set_item(r, "Port", plist_new_uint(0));
	IB_CHECK_ERR(ld_reply_start_service(r, "com.apple.afc", &port, &ssl), IB_ERR_FORMAT);
	plist_dict_set_item(r, "Port", plist_new_uint(65536));
	IB_CHECK_ERR(ld_reply_start_service(r, "com.apple.afc", &port, &ssl), IB_ERR_FORMAT);
	plist_dict_set_item(r, "Port", plist_new_string("49200"));
	IB_CHECK_ERR(ld_reply_start_service(r, "com.apple.afc", &port, &ssl), IB_ERR_PLIST_TYPE);
	plist_free(r);
}

IB_TEST(reply_start_session_fields)
{
	plist_t r = reply("StartSession", NULL);
	const char *sid;
	int ssl;

	IB_CHECK_ERR(ld_reply_start_session(r, &sid, &ssl), IB_ERR_PLIST_MISSING);
	plist_dict_set_item(r, "SessionID", plist_new_string(""));
	IB_CHECK_ERR(ld_reply_start_session(r, &sid, &ssl), IB_ERR_FORMAT);
	IB_CHECK(sid == NULL);
	plist_dict_set_item(r, "SessionID", plist_new_string("A1B2C3"));
	IB_CHECK_OK(ld_reply_start_session(r, &sid, &ssl));
	IB_CHECK_STR(sid, "A1B2C3");
	IB_CHECK_EQ(ssl, 0);
	plist_dict_set_item(r, "EnableSessionSSL", plist_new_bool(1));
	IB_CHECK_OK(ld_reply_start_session(r, &sid, &ssl));
	IB_CHECK_EQ(ssl, 1);
	plist_dict_set_item(r, "EnableSessionSSL", plist_new_uint(1));
	IB_CHECK_ERR(ld_reply_start_session(r, &sid, &ssl), IB_ERR_PLIST_TYPE);
	IB_CHECK(sid == NULL);
	plist_free(r);
}

IB_TEST(reply_pair_escrow_bag_optional)
{
	plist_t r = reply("Pair", NULL);
	const uint8_t *bag;
	size_t n;

	IB_CHECK_OK(ld_reply_pair(r, &bag, &n));
	IB_CHECK(bag == NULL);
	plist_dict_set_item(r, "EscrowBag", plist_new_data("0123456789abcdef0123456789abcdef", 32));
	IB_CHECK_OK(ld_reply_pair(r, &bag, &n));
	IB_CHECK_EQ(n, 32);
	IB_CHECK(memcmp(bag, "0123", 4) == 0);
	plist_dict_set_item(r, "EscrowBag", plist_new_string("not data"));
	IB_CHECK_ERR(ld_reply_pair(r, &bag, &n), IB_ERR_PLIST_TYPE);
	plist_free(r);
}

IB_TEST(reply_get_value_and_query_type)
{
	plist_t r = reply("GetValue", NULL), v;
	const char *t;

	IB_CHECK_ERR(ld_reply_get_value(r, &v), IB_ERR_LD_MISSING_VALUE);
	plist_dict_set_item(r, "Value", plist_new_bool(1));
	IB_CHECK_OK(ld_reply_get_value(r, &v));
	IB_CHECK(plist_get_node_type(v) == PLIST_BOOLEAN);
	plist_free(r);
	r = reply("QueryType", NULL);
	IB_CHECK_ERR(ld_reply_query_type(r, &t), IB_ERR_PLIST_MISSING);
	plist_dict_set_item(r, "Type", plist_new_string("com.apple.mobile.restored"));
	IB_CHECK_OK(ld_reply_query_type(r, &t));
	IB_CHECK_STR(t, "com.apple.mobile.restored");
	plist_free(r);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
