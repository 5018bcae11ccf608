/*
 * fuzz_plist - the plist wrapper on arbitrary bytes: parse with caps, then
 * touch every typed getter on the result and re-serialise it.
 */
#include "ib_limits.h"
#include "ib_plist.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	plist_t p = NULL;
	uint8_t *bin = NULL;
	char *xml = NULL;
	size_t len;
	const char *s;
	uint64_t u;
	int64_t i;
	int b;
	double d;
	const uint8_t *dp;
	plist_t child;

	if (ib_plist_parse(data, size, IB_PLIST_MSG_MAX, &p) != 0)
		return 0;
	(void)ib_plist_dict_get_string(p, "Request", &s);
	(void)ib_plist_dict_get_uint(p, "Port", &u);
	(void)ib_plist_dict_get_int(p, "Number", &i);
	(void)ib_plist_dict_get_bool(p, "EnableServiceSSL", &b);
	(void)ib_plist_dict_get_real(p, "ProtocolVersion", &d);
	(void)ib_plist_dict_get_data(p, "EscrowBag", &dp, &len);
	(void)ib_plist_dict_get_dict(p, "Value", &child);
	(void)ib_plist_array_get_string(p, 0, &s);
	(void)ib_plist_array_get_dict(p, 1, &child);
	if (ib_plist_to_bin(p, &bin, &len) == 0)
		free(bin);
	if (ib_plist_to_xml(p, &xml, &len) == 0)
		free(xml);
	plist_free(p);
	return 0;
}
