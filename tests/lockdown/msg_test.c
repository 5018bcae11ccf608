/*
 * msg_test.c - the 4-byte length + plist framing: any chunking gives the
 * same messages, caps are checked before allocating, the decoder never
 * takes bytes past a message, errors are sticky.
 */
#include "ib_test.h"

#include "ib_limits.h"
#include "ib_plist.h"
#include "ld_msg.h"

#include <stdlib.h>
#include <string.h>

static plist_t
sample(int i)
{
	plist_t d = plist_new_dict(), a = plist_new_array();

	plist_dict_set_item(d, "Request", plist_new_string(i % 2 ? "GetValue" : "Pair"));
	plist_dict_set_item(d, "Label", plist_new_string("ibackup"));
	plist_dict_set_item(d, "Index", plist_new_uint((uint64_t)i));
	plist_dict_set_item(d, "EscrowBag", plist_new_data("\x01\x02\x03\0\xff", 5));
	plist_array_append_item(a, plist_new_bool(1));
	plist_array_append_item(a, plist_new_real(2.5));
	plist_dict_set_item(d, "List", a);
	return d;
}

/* Three messages (XML, binary, XML) back to back. */
static uint8_t *
stream_of_three(size_t *lenp)
{
	uint8_t *all = NULL, *one;
	size_t n = 0, len;
	int i;

	for (i = 0; i < 3; i++) {
		plist_t p = sample(i);

		if (ld_msg_encode(p, i == 1 ? LD_MSG_BINARY : LD_MSG_XML, &one, &len) != IB_OK)
			abort();
		all = realloc(all, n + len);
		memcpy(all + n, one, len);
		n += len;
		free(one);
		plist_free(p);
	}
	*lenp = n;
	return all;
}

/* Feed in chunks chosen by next_chunk; collect messages. */
static int
decode_chunked(const uint8_t *b, size_t n, unsigned seed, int byte_at_a_time,
    plist_t out[3])
{
	struct ld_msg_dec *d = NULL;
	size_t off = 0, got = 0;
	int r = IB_OK;

	if (ld_msg_dec_new(0, &d) != IB_OK)
		return IB_ERR_NOMEM;
	srand(seed);
	while (off < n) {
		size_t chunk = byte_at_a_time ? 1 : (size_t)(rand() % 97) + 1, used;
		plist_t msg = NULL;

		if (chunk > n - off)
			chunk = n - off;
		while (chunk > 0) {
			if ((r = ld_msg_dec_feed(d, b + off, chunk, &used, &msg)) != IB_OK)
				goto out;
			/* never past a message end */
			if (msg == NULL && used != chunk) {
				r = IB_ERR_INTERNAL;
				goto out;
			}
			off += used;
			chunk -= used;
			if (msg != NULL) {
				if (got == 3) {
					plist_free(msg);
					r = IB_ERR_INTERNAL;
					goto out;
				}
				out[got++] = msg;
			}
		}
	}
	if (got != 3 || !ld_msg_dec_idle(d))
		r = IB_ERR_INCOMPLETE;
out:
	ld_msg_dec_free(d);
	return r;
}

static int
same_as_sample(plist_t p, int i)
{
	plist_t s = sample(i);
	char *a = NULL, *b = NULL;
	size_t la, lb;
	int eq;

	ib_plist_to_xml(p, &a, &la);
	ib_plist_to_xml(s, &b, &lb);
	eq = a != NULL && b != NULL && la == lb && memcmp(a, b, la) == 0;
	free(a);
	free(b);
	plist_free(s);
	return eq;
}

IB_TEST(msg_encode_prefix_is_big_endian_body_length)
{
	plist_t p = sample(0);
	uint8_t *f = NULL;
	size_t n = 0, body;

	IB_CHECK_OK(ld_msg_encode(p, LD_MSG_XML, &f, &n));
	body = (size_t)f[0] << 24 | (size_t)f[1] << 16 | (size_t)f[2] << 8 | f[3];
	IB_CHECK_EQ(body, n - 4);
	IB_CHECK(memcmp(f + 4, "<?xml", 5) == 0);
	free(f);
	IB_CHECK_OK(ld_msg_encode(p, LD_MSG_BINARY, &f, &n));
	IB_CHECK(memcmp(f + 4, "bplist00", 8) == 0);
	free(f);
	plist_free(p);
}

IB_TEST(msg_byte_at_a_time)
{
	size_t n;
	uint8_t *b = stream_of_three(&n);
	plist_t out[3] = { NULL, NULL, NULL };
	int i;

	IB_CHECK_OK(decode_chunked(b, n, 0, 1, out));
	for (i = 0; i < 3; i++) {
		IB_CHECK(same_as_sample(out[i], i));
		plist_free(out[i]);
	}
	free(b);
}

IB_TEST(msg_random_splits)
{
	size_t n;
	uint8_t *b = stream_of_three(&n);
	unsigned seed;
	int i;

	for (seed = 1; seed <= 200; seed++) {
		plist_t out[3] = { NULL, NULL, NULL };

		IB_CHECK_OK(decode_chunked(b, n, seed, 0, out));
		for (i = 0; i < 3; i++) {
			IB_CHECK(same_as_sample(out[i], i));
			plist_free(out[i]);
		}
	}
	free(b);
}

IB_TEST(msg_want_stops_at_message_end)
{
	size_t n, used;
	uint8_t *b = stream_of_three(&n);
	struct ld_msg_dec *d = NULL;
	plist_t msg = NULL;
	size_t first = 4 + ((size_t)b[0] << 24 | (size_t)b[1] << 16 |
	    (size_t)b[2] << 8 | b[3]);

	IB_CHECK_OK(ld_msg_dec_new(0, &d));
	IB_CHECK_EQ(ld_msg_dec_want(d), 4);
	IB_CHECK_OK(ld_msg_dec_feed(d, b, 4, &used, &msg));
	IB_CHECK_EQ(ld_msg_dec_want(d), first - 4);
	/* offering everything, it takes only the first message */
	IB_CHECK_OK(ld_msg_dec_feed(d, b + 4, n - 4, &used, &msg));
	IB_CHECK_EQ(used, first - 4);
	IB_CHECK(msg != NULL);
	IB_CHECK(ld_msg_dec_idle(d));
	IB_CHECK_EQ(ld_msg_dec_want(d), 4);
	plist_free(msg);
	ld_msg_dec_free(d);
	free(b);
}

IB_TEST(msg_oversize_refused_from_header_alone)
{
	struct ld_msg_dec *d = NULL;
	uint8_t hdr[4] = { 0x01, 0x00, 0x00, 0x01 };    /* 16 MiB + 1 */
	size_t used;
	plist_t msg = NULL;

	IB_CHECK_OK(ld_msg_dec_new(0, &d));
	IB_CHECK_ERR(ld_msg_dec_feed(d, hdr, 4, &used, &msg), IB_ERR_TOO_LARGE);
	IB_CHECK(msg == NULL);
	/* sticky: the framing is lost */
	IB_CHECK_ERR(ld_msg_dec_feed(d, hdr, 1, &used, &msg), IB_ERR_TOO_LARGE);
	IB_CHECK_EQ(ld_msg_dec_want(d), 0);
	ld_msg_dec_free(d);

	/* a smaller cap applies too; exactly the cap is fine to announce */
	IB_CHECK_OK(ld_msg_dec_new(100, &d));
	hdr[0] = 0; hdr[1] = 0; hdr[2] = 0; hdr[3] = 101;
	IB_CHECK_ERR(ld_msg_dec_feed(d, hdr, 4, &used, &msg), IB_ERR_TOO_LARGE);
	ld_msg_dec_free(d);
	IB_CHECK_OK(ld_msg_dec_new(100, &d));
	hdr[3] = 100;
	IB_CHECK_OK(ld_msg_dec_feed(d, hdr, 4, &used, &msg));
	IB_CHECK_EQ(ld_msg_dec_want(d), 100);
	ld_msg_dec_free(d);
}

IB_TEST(msg_bad_bodies)
{
	static const uint8_t zero[4] = { 0, 0, 0, 0 };
	static const uint8_t junk[] = { 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o' };
	static const uint8_t trunc_bin[] = { 0, 0, 0, 10, 'b', 'p', 'l', 'i', 's',
	    't', '0', '0', 0xd1, 0x01 };
	struct ld_msg_dec *d = NULL;
	size_t used;
	plist_t msg = NULL;

	IB_CHECK_OK(ld_msg_dec_new(0, &d));
	IB_CHECK(ld_msg_dec_feed(d, zero, 4, &used, &msg) == IB_ERR_PLIST_PARSE);
	ld_msg_dec_free(d);
	IB_CHECK_OK(ld_msg_dec_new(0, &d));
	IB_CHECK(ld_msg_dec_feed(d, junk, sizeof(junk), &used, &msg) != IB_OK);
	IB_CHECK(msg == NULL);
	ld_msg_dec_free(d);
	IB_CHECK_OK(ld_msg_dec_new(0, &d));
	IB_CHECK(ld_msg_dec_feed(d, trunc_bin, sizeof(trunc_bin), &used, &msg) != IB_OK);
	IB_CHECK(msg == NULL);
	ld_msg_dec_free(d);
}

IB_TEST(msg_xml_control_characters_accepted)
{
	/* iOS >= 4.3 puts raw control characters into XML strings. */
	static const char xml[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">"
	    "<dict><key>DeviceName</key><string>Bob\x01\x02's iPhone</string></dict></plist>";
	uint8_t frame[4 + sizeof(xml)];
	struct ld_msg_dec *d = NULL;
	size_t used, n = sizeof(xml) - 1;
	plist_t msg = NULL;
	const char *s;

	frame[0] = 0; frame[1] = 0; frame[2] = (uint8_t)(n >> 8); frame[3] = (uint8_t)n;
	memcpy(frame + 4, xml, n);
	IB_CHECK_OK(ld_msg_dec_new(0, &d));
	IB_CHECK_OK(ld_msg_dec_feed(d, frame, 4 + n, &used, &msg));
	IB_CHECK(msg != NULL);
	IB_CHECK_OK(ib_plist_dict_get_string(msg, "DeviceName", &s));
	IB_CHECK_STR(s, "Bob  's iPhone");
	plist_free(msg);
	ld_msg_dec_free(d);
}

IB_TEST(msg_array_messages_pass)
{
	/* DeviceLink messages are arrays: the codec takes any plist. */
	plist_t a = plist_new_array(), got = NULL;
	struct ld_msg_dec *d = NULL;
	uint8_t *f = NULL;
	size_t n, used;

	plist_array_append_item(a, plist_new_string("DLMessageVersionExchange"));
	IB_CHECK_OK(ld_msg_encode(a, LD_MSG_BINARY, &f, &n));
	IB_CHECK_OK(ld_msg_dec_new(0, &d));
	IB_CHECK_OK(ld_msg_dec_feed(d, f, n, &used, &got));
	IB_CHECK(ib_plist_is_array(got));
	IB_CHECK_EQ(used, n);
	plist_free(got);
	plist_free(a);
	free(f);
	ld_msg_dec_free(d);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
