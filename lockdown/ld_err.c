/*
 * ld_err.c - lockdownd Error string <-> IB_ERR_LD_* (see ld_err.h).
 */
#include "ld_err.h"

#include "ib_err.h"
#include "ib_util.h"

#include <string.h>

static const struct {
	const char *text;
	int err;
} ld_errors[] = {
	/* value access */
	{ "InvalidResponse", IB_ERR_LD_INVALID_RESPONSE },
	{ "MissingKey", IB_ERR_LD_MISSING_KEY },
	{ "MissingValue", IB_ERR_LD_MISSING_VALUE },
	{ "GetProhibited", IB_ERR_LD_GET_PROHIBITED },
	{ "SetProhibited", IB_ERR_LD_SET_PROHIBITED },
	{ "RemoveProhibited", IB_ERR_LD_REMOVE_PROHIBITED },
	{ "ImmutableValue", IB_ERR_LD_IMMUTABLE_VALUE },
	/* pairing and sessions */
	{ "PasswordProtected", IB_ERR_LD_PASSWORD_PROTECTED },
	{ "UserDeniedPairing", IB_ERR_LD_USER_DENIED_PAIRING },
	{ "PairingDialogResponsePending", IB_ERR_LD_PAIRING_DIALOG_PENDING },
	{ "MissingHostID", IB_ERR_LD_MISSING_HOST_ID },
	{ "InvalidHostID", IB_ERR_LD_INVALID_HOST_ID },
	{ "SessionActive", IB_ERR_LD_SESSION_ACTIVE },
	{ "SessionInactive", IB_ERR_LD_SESSION_INACTIVE },
	{ "MissingSessionID", IB_ERR_LD_MISSING_SESSION_ID },
	{ "InvalidSessionID", IB_ERR_LD_INVALID_SESSION_ID },
	/* services */
	{ "MissingService", IB_ERR_LD_MISSING_SERVICE },
	{ "InvalidService", IB_ERR_LD_INVALID_SERVICE },
	{ "ServiceLimit", IB_ERR_LD_SERVICE_LIMIT },
	/* records and policy */
	{ "MissingPairRecord", IB_ERR_LD_MISSING_PAIR_RECORD },
	{ "SavePairRecordFailed", IB_ERR_LD_SAVE_PAIR_RECORD_FAILED },
	{ "InvalidPairRecord", IB_ERR_LD_INVALID_PAIR_RECORD },
	{ "InvalidActivationRecord", IB_ERR_LD_INVALID_ACTIVATION_RECORD },
	{ "MissingActivationRecord", IB_ERR_LD_MISSING_ACTIVATION_RECORD },
	{ "ServiceProhibited", IB_ERR_LD_SERVICE_PROHIBITED },
	{ "EscrowLocked", IB_ERR_LD_ESCROW_LOCKED },
	{ "PairingProhibitedOverThisConnection", IB_ERR_LD_PAIRING_PROHIBITED },
	{ "FMiPProtected", IB_ERR_LD_FMIP_PROTECTED },
	{ "MCProtected", IB_ERR_LD_MC_PROTECTED },
	{ "MCChallengeRequired", IB_ERR_LD_MC_CHALLENGE_REQUIRED },
	/* seen in PMD3 (InvalidConnection) and IDEV (the other two) */
	{ "InvalidConnection", IB_ERR_LD_INVALID_CONNECTION },
	{ "DeviceLocked", IB_ERR_LD_DEVICE_LOCKED },
	{ "MalformedCommand", IB_ERR_LD_MALFORMED_COMMAND },
};

int
ld_err_from_string(const char *s)
{
	size_t i;

	if (s == NULL)
		return IB_ERR_LD_UNKNOWN;
	for (i = 0; i < IB_ARRAY_LEN(ld_errors); i++)
		if (strcmp(s, ld_errors[i].text) == 0)
			return ld_errors[i].err;
	return IB_ERR_LD_UNKNOWN;
}

const char *
ld_err_to_string(int err)
{
	size_t i;

	for (i = 0; i < IB_ARRAY_LEN(ld_errors); i++)
		if (ld_errors[i].err == err)
			return ld_errors[i].text;
	return NULL;
}
