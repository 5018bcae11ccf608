/*
 * ld_reply.h - checking lockdownd's replies, without I/O, so that the
 * host client and the lockdown_msg fuzzer run the same code.
 *
 * Every function takes a parsed reply of any plist type (the peer is
 * untrusted) and returns IB_OK or an error value; borrowed outputs point
 * into the reply.
 */
#ifndef IB_LD_REPLY_H
#define IB_LD_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include <plist/plist.h>

/*
 * The common checks (lockdown.md section 1), in order:
 *   - the reply is a dict (IB_ERR_PLIST_TYPE);
 *   - "Request" echoes request (IB_ERR_LD_REPLY_MISMATCH), except that
 *     the reply to Unpair may say "ValidatePair" (a firmware quirk), and
 *     a reply without "Request" is accepted when it carries an Error;
 *   - "Error" (string) maps to its IB_ERR_LD_* value, unknown strings to
 *     IB_ERR_LD_UNKNOWN, with the string in the error detail;
 *   - "Result" = "Failure" (iOS < 5) is IB_ERR_LD_FAILURE.
 */
int ld_reply_check(plist_t reply, const char *request);

/* QueryType: *typep is "Type" (IB_ERR_PLIST_MISSING/TYPE otherwise). */
int ld_reply_query_type(plist_t reply, const char **typep);
/* GetValue: *valuep is "Value" (borrowed); IB_ERR_LD_MISSING_VALUE when
 * the reply has none. */
int ld_reply_get_value(plist_t reply, plist_t *valuep);
/* Pair: the EscrowBag, or *bagp NULL when the reply has none (Watch). */
int ld_reply_pair(plist_t reply, const uint8_t **bagp, size_t *lenp);
/* StartSession: "SessionID" (non-empty string) and "EnableSessionSSL"
 * (bool, absent = false). */
int ld_reply_start_session(plist_t reply, const char **session_idp, int *sslp);
/* StartService: "Port" (1..65535), "EnableServiceSSL" (absent = false),
 * "Service" echo when present must equal service. */
int ld_reply_start_service(plist_t reply, const char *service, uint16_t *portp,
    int *sslp);

#endif /* IB_LD_REPLY_H */
