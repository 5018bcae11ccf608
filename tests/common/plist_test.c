/*
 * Unit tests of the plist wrapper: caps, control characters, types,
 * signed integers, dates, redaction.
 */
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_plist.h"
#include "ib_test.h"

#include <stdlib.h>

static const char xml_dict[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<plist version=\"1.0\"><dict>"
	"<key>Request</key><string>Query\x01Type</string>"
	"<key>Port</key><integer>62078</integer>"
	"<key>Neg</key><integer>18446744073709551603</integer>"
	"<key>On</key><true/>"
	"<key>Ver</key><real>2.1</real>"
	"<key>Blob</key><data>AAEC</data>"
	"<key>Arr</key><array><string>a</string><integer>7</integer></array>"
	"</dict></plist>";

IB_TEST(plist_xml_with_control_characters_parses)
{
	plist_t p = NULL, arr = NULL;
	const char *s;
	uint64_t u;
	int64_t i;
	int b;
	double d;
	const uint8_t *data;
	size_t len;

	IB_CHECK_OK(ib_plist_parse_dict(xml_dict, sizeof(xml_dict) - 1,
	    IB_PLIST_MSG_MAX, &p));
	IB_CHECK_OK(ib_plist_dict_get_string(p, "Request", &s));
	IB_CHECK_STR(s, "Query Type");
	IB_CHECK_OK(ib_plist_dict_get_uint(p, "Port", &u));
	IB_CHECK_EQ(u, 62078);
	IB_CHECK_OK(ib_plist_dict_get_int(p, "Neg", &i));
	IB_CHECK_EQ(i, -13);
	IB_CHECK_OK(ib_plist_dict_get_bool(p, "On", &b));
	IB_CHECK_EQ(b, 1);
	IB_CHECK_OK(ib_plist_dict_get_real(p, "Ver", &d));
	IB_CHECK(d > 2.09 && d < 2.11);
	IB_CHECK_OK(ib_plist_dict_get_data(p, "Blob", &data, &len));
	IB_CHECK_EQ(len, 3);
	IB_CHECK(data[2] == 2);
	IB_CHECK_OK(ib_plist_dict_get_array(p, "Arr", &arr));
	IB_CHECK_OK(ib_plist_array_get_string(arr, 0, &s));
	IB_CHECK_STR(s, "a");
	IB_CHECK_ERR(ib_plist_array_get_string(arr, 1, &s), IB_ERR_PLIST_TYPE);
	IB_CHECK(s == NULL);
	IB_CHECK_ERR(ib_plist_array_get_string(arr, 2, &s), IB_ERR_PLIST_MISSING);
	IB_CHECK_ERR(ib_plist_dict_get_uint(p, "Request", &u), IB_ERR_PLIST_TYPE);
	IB_CHECK_ERR(ib_plist_dict_get_uint(p, "Nope", &u), IB_ERR_PLIST_MISSING);
	plist_free(p);
}

IB_TEST(plist_size_cap_is_checked_first)
{
	plist_t p = (plist_t)1;

	IB_CHECK_ERR(ib_plist_parse(xml_dict, sizeof(xml_dict) - 1, 10, &p),
	    IB_ERR_TOO_LARGE);
	IB_CHECK(p == NULL);
	IB_CHECK_ERR(ib_plist_parse("", 0, 10, &p), IB_ERR_PLIST_PARSE);
	IB_CHECK_ERR(ib_plist_parse("garbage!", 8, 10, &p), IB_ERR_PLIST_PARSE);
}

IB_TEST(plist_deep_xml_is_refused_before_parsing)
{
	size_t n = IB_PLIST_DEPTH_MAX + 10, i, o = 0;
	char *x = malloc(n * 16 + 64);
	plist_t p = NULL;

	IB_CHECK(x != NULL);
	o += (size_t)sprintf(x + o, "<plist>");
	for (i = 0; i < n; i++)
		o += (size_t)sprintf(x + o, "<array>");
	for (i = 0; i < n; i++)
		o += (size_t)sprintf(x + o, "</array>");
	o += (size_t)sprintf(x + o, "</plist>");
	IB_CHECK_ERR(ib_plist_parse(x, o, IB_PLIST_MSG_MAX, &p), IB_ERR_PLIST_DEPTH);
	free(x);
}

IB_TEST(plist_binary_round_trip_and_self_reference)
{
	plist_t d = plist_new_dict(), back = NULL;
	uint8_t *bin = NULL;
	size_t len = 0;
	const char *s;
	int64_t v;

	plist_dict_set_item(d, "MessageName", plist_new_string("Hello"));
	plist_dict_set_item(d, "Status", ib_plist_new_int(-13));
	IB_CHECK_OK(ib_plist_to_bin(d, &bin, &len));
	IB_CHECK_OK(ib_plist_parse_dict(bin, len, IB_PLIST_MSG_MAX, &back));
	IB_CHECK_OK(ib_plist_dict_get_string(back, "MessageName", &s));
	IB_CHECK_STR(s, "Hello");
	IB_CHECK_OK(ib_plist_dict_get_int(back, "Status", &v));
	IB_CHECK_EQ(v, -13);
	plist_free(back);
	plist_free(d);
	free(bin);

	/* bplist whose top array contains itself: object 0 = array [ref 0]. */
	{
		static const uint8_t cyc[] = {
			'b','p','l','i','s','t','0','0',
			0xA1, 0x00,                     /* obj 0 at 8: array, 1 ref -> 0 */
			0x08,                           /* offset table at 10 */
			0,0,0,0,0,0, 1, 1,              /* trailer: offsz 1, refsz 1 */
			0,0,0,0,0,0,0,1,                /* 1 object */
			0,0,0,0,0,0,0,0,                /* top 0 */
			0,0,0,0,0,0,0,10,               /* table offset 10 */
		};
		plist_t p = NULL;
		int r = ib_plist_parse(cyc, sizeof(cyc), IB_PLIST_MSG_MAX, &p);
		IB_CHECK(r == IB_ERR_PLIST_DEPTH || r == IB_ERR_PLIST_TOO_MANY);
		IB_CHECK(p == NULL);
	}
}

IB_TEST(plist_dates_use_unix_seconds)
{
	plist_t d = ib_plist_new_date_unix(1700000000);
	int64_t t = 0;

	IB_CHECK_OK(ib_plist_get_date_unix(d, &t));
	IB_CHECK_EQ(t, 1700000000);
	plist_free(d);
}

static char logged[8192];

static void
capture(void *ctx, int level, const char *line)
{
	(void)ctx;
	(void)level;
	snprintf(logged, sizeof(logged), "%s", line);
}

IB_TEST(plist_log_redacts_secrets)
{
	plist_t d = plist_new_dict();

	plist_dict_set_item(d, "HostPrivateKey", plist_new_data("SECRETKEYBYTES", 14));
	plist_dict_set_item(d, "Password", plist_new_string("hunter2"));
	plist_dict_set_item(d, "HostID", plist_new_string("ABCD"));
	ib_log_set_sink(capture, NULL);
	ib_log_set_level(IB_LOG_TRACE);
	ib_plist_log(__func__, "record", d);
	ib_log_set_level(IB_LOG_WARN);
	ib_log_set_sink(NULL, NULL);
	IB_CHECK(strstr(logged, "ABCD") != NULL);
	IB_CHECK(strstr(logged, "hunter2") == NULL);
	IB_CHECK(strstr(logged, "SECRETKEY") == NULL);
	IB_CHECK(strstr(logged, "U0VDUkVUS0VZ") == NULL);   /* base64 of it */
	IB_CHECK(strstr(logged, "redacted 7 bytes") != NULL);
	/* The caller's plist is untouched. */
	{
		const char *s;
		IB_CHECK_OK(ib_plist_dict_get_string(d, "Password", &s));
		IB_CHECK_STR(s, "hunter2");
	}
	plist_free(d);
}

IB_TEST(plist_binary_string_with_nul_is_refused)
{
	/* {"a\0": "b"}: libplist 2.2.0 would abort when iterating it. */
	static const uint8_t bin[] = {
		'b','p','l','i','s','t','0','0',
		0xD1, 0x01, 0x02,               /* obj 0 at 8: dict, key 1, value 2 */
		0x52, 'a', 0x00,                /* obj 1 at 11: ASCII "a\0" */
		0x51, 'b',                      /* obj 2 at 14: ASCII "b" */
		0x08, 0x0B, 0x0E,               /* offset table at 16 */
		0,0,0,0,0,0, 1, 1,
		0,0,0,0,0,0,0,3,
		0,0,0,0,0,0,0,0,
		0,0,0,0,0,0,0,16,
	};
	plist_t p = NULL;
	uint8_t ok[sizeof(bin)];

	IB_CHECK_ERR(ib_plist_parse(bin, sizeof(bin), IB_PLIST_MSG_MAX, &p), IB_ERR_PLIST_PARSE);
	IB_CHECK(p == NULL);
	/* The same bytes with a printable key parse. */
	memcpy(ok, bin, sizeof(bin));
	ok[13] = 'x';
	IB_CHECK_OK(ib_plist_parse(ok, sizeof(ok), IB_PLIST_MSG_MAX, &p));
	IB_CHECK(ib_plist_is_dict(p));
	plist_free(p);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
