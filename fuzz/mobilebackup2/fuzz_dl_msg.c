/*
 * fuzz_dl_msg - one DeviceLink message (a plist) through every parser of
 * dl_msg.h and mb2_msg.h, both roles, then the binary writer on the
 * parsed tree (its output must parse again).
 */
#include "dl_msg.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_plist.h"
#include "mb2_msg.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
parse_all(plist_t msg)
{
	struct ib_dl_request q;
	struct ib_dl_status_response st;
	struct ib_mb2_request m;
	uint64_t a, b;
	const char *s;
	plist_t d;
	double v;
	size_t i;

	if (ib_dl_request_parse(msg, &q) == IB_OK) {
		/* Every path handed out is a real C string. */
		for (i = 0; i < q.npaths; i++)
			if (strlen(q.paths[i]) > IB_PATH_MAX)
				abort();
		for (i = 0; i < q.npairs; i++)
			if (strlen(q.srcs[i]) > IB_PATH_MAX || strlen(q.dsts[i]) > IB_PATH_MAX)
				abort();
		(void)ib_dl_req_kind_name(q.kind);
		if (q.is_response)
			(void)ib_mb2_error_sentence(q.error_code);
		ib_dl_request_clear(&q);
	}
	(void)ib_dl_version_exchange_parse(msg, &a, &b);
	(void)ib_dl_versions_ok_parse(msg, &a);
	(void)ib_dl_device_ready_parse(msg);
	(void)ib_dl_disconnect_parse(msg, &s);
	(void)ib_dl_process_message_parse(msg, &d);
	(void)ib_dl_status_response_parse(msg, &st);
	(void)ib_mb2_hello_response_parse(msg, &v);
	if (ib_mb2_request_parse(msg, &m) == IB_OK && m.kind == IB_MB2_REQ_HELLO)
		(void)ib_mb2_hello_choose(&m, &v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	plist_t p = NULL, back = NULL;
	uint8_t *bin = NULL;
	size_t n = 0;

	if (ib_plist_parse(data, size, IB_PLIST_MSG_MAX, &p) != IB_OK)
		return 0;
	parse_all(p);
	/* Whatever parses must serialise, and read back. Strings that are
	 * not UTF-8 are refused by the writer, which is fine. */
	if (ib_plist_to_bin(p, &bin, &n) == IB_OK) {
		if (ib_plist_parse(bin, n, IB_PLIST_MSG_MAX, &back) != IB_OK)
			abort();
		parse_all(back);
		plist_free(back);
		free(bin);
	}
	plist_free(p);
	return 0;
}
