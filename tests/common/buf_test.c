/*
 * Unit tests of the bounded buffer: byte orders, bounds, caps, strings.
 */
#include "ib_buf.h"
#include "ib_test.h"

#include <stdint.h>

IB_TEST(buf_getters_name_their_byte_order)
{
	static const uint8_t d[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };
	struct ib_buf b;
	uint32_t v32;
	uint16_t v16;
	uint64_t v64;

	ib_buf_init_ro(&b, d, sizeof(d));
	IB_CHECK_OK(ib_buf_get_u32be(&b, &v32));
	IB_CHECK_EQ(v32, 0x01020304);
	IB_CHECK_OK(ib_buf_get_u16le(&b, &v16));
	IB_CHECK_EQ(v16, 0x0605);
	IB_CHECK_OK(ib_buf_get_u16be(&b, &v16));
	IB_CHECK_EQ(v16, 0x0708);
	IB_CHECK_OK(ib_buf_get_end(&b));

	ib_buf_init_ro(&b, d, sizeof(d));
	IB_CHECK_OK(ib_buf_get_u64le(&b, &v64));
	IB_CHECK(v64 == 0x0807060504030201ull);
	ib_buf_init_ro(&b, d, sizeof(d));
	IB_CHECK_OK(ib_buf_get_u64be(&b, &v64));
	IB_CHECK(v64 == 0x0102030405060708ull);
}

IB_TEST(buf_short_read_zeroes_and_consumes_nothing)
{
	static const uint8_t d[] = { 0xff, 0xff, 0xff };
	struct ib_buf b;
	uint32_t v = 77;
	uint8_t out[4] = { 9, 9, 9, 9 };

	ib_buf_init_ro(&b, d, sizeof(d));
	IB_CHECK_ERR(ib_buf_get_u32be(&b, &v), IB_ERR_INCOMPLETE);
	IB_CHECK_EQ(v, 0);
	IB_CHECK_EQ(ib_buf_len(&b), 3);
	IB_CHECK_ERR(ib_buf_get_bytes(&b, out, 4), IB_ERR_INCOMPLETE);
	IB_CHECK(out[0] == 0 && out[3] == 0);
	IB_CHECK_EQ(ib_buf_len(&b), 3);
	IB_CHECK_ERR(ib_buf_get_end(&b), IB_ERR_TRAILING);
	IB_CHECK_ERR(ib_buf_consume(&b, 4), IB_ERR_INCOMPLETE);
	IB_CHECK_OK(ib_buf_consume(&b, 3));
	IB_CHECK_OK(ib_buf_get_end(&b));
}

IB_TEST(buf_peek_offsets_cannot_overflow)
{
	static const uint8_t d[] = { 1, 2, 3, 4, 5 };
	struct ib_buf b;
	uint32_t v;

	ib_buf_init_ro(&b, d, sizeof(d));
	IB_CHECK_OK(ib_buf_peek_u32be(&b, 1, &v));
	IB_CHECK_EQ(v, 0x02030405);
	IB_CHECK_ERR(ib_buf_peek_u32be(&b, 2, &v), IB_ERR_INCOMPLETE);
	IB_CHECK_ERR(ib_buf_peek_u32be(&b, SIZE_MAX - 1, &v), IB_ERR_INCOMPLETE);
	IB_CHECK_EQ(ib_buf_len(&b), 5);
}

IB_TEST(buf_cap_refuses_growth_and_keeps_content)
{
	struct ib_buf *b = ib_buf_new(10);
	uint8_t *p;

	IB_CHECK(b != NULL);
	IB_CHECK_OK(ib_buf_put(b, "12345678", 8));
	IB_CHECK_ERR(ib_buf_put_u32be(b, 1), IB_ERR_TOO_LARGE);
	IB_CHECK_EQ(ib_buf_len(b), 8);
	IB_CHECK_ERR(ib_buf_reserve(b, SIZE_MAX, &p), IB_ERR_TOO_LARGE);
	IB_CHECK(p == NULL);
	IB_CHECK_OK(ib_buf_put_u16be(b, 0x393a));
	IB_CHECK_EQ(ib_buf_len(b), 10);
	IB_CHECK(memcmp(ib_buf_ptr(b), "123456789:", 10) == 0);
	/* Consuming makes room again (the cap is on stored bytes). */
	IB_CHECK_OK(ib_buf_consume(b, 6));
	IB_CHECK_OK(ib_buf_put(b, "abcdef", 6));
	IB_CHECK(memcmp(ib_buf_ptr(b), "789:abcdef", 10) == 0);
	ib_buf_free(b);
	ib_buf_free(NULL);
}

IB_TEST(buf_growth_preserves_order_across_many_puts)
{
	struct ib_buf b;
	uint32_t i, v;

	ib_buf_init(&b, 1 << 20);
	for (i = 0; i < 10000; i++)
		IB_CHECK_OK(ib_buf_put_u32le(&b, i));
	for (i = 0; i < 5000; i++) {
		IB_CHECK_OK(ib_buf_get_u32le(&b, &v));
		IB_CHECK_EQ(v, i);
	}
	for (i = 10000; i < 20000; i++)
		IB_CHECK_OK(ib_buf_put_u32le(&b, i));
	for (i = 5000; i < 20000; i++) {
		IB_CHECK_OK(ib_buf_get_u32le(&b, &v));
		IB_CHECK_EQ(v, i);
	}
	IB_CHECK_OK(ib_buf_get_end(&b));
	ib_buf_free(&b);
}

IB_TEST(buf_readonly_view_refuses_puts)
{
	struct ib_buf b;

	ib_buf_init_ro(&b, "abc", 3);
	IB_CHECK_ERR(ib_buf_put_u8(&b, 1), IB_ERR_STATE);
	IB_CHECK_ERR(ib_buf_put(&b, "", 0), IB_ERR_STATE);
	IB_CHECK_EQ(ib_buf_len(&b), 3);
}

IB_TEST(buf_u32_strings_check_length_before_allocating)
{
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xf0, 'a' };
	static const uint8_t nul[] = { 0, 0, 0, 3, 'a', 0, 'b' };
	static const uint8_t ok[] = { 0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 0 };
	static const uint8_t part[] = { 0, 0, 0, 5, 'a', 'b' };
	struct ib_buf b;
	char *s = (char *)1;
	size_t len = 9;

	ib_buf_init_ro(&b, huge, sizeof(huge));
	IB_CHECK_ERR(ib_buf_get_string_u32be(&b, 4096, &s, &len), IB_ERR_TOO_LARGE);
	IB_CHECK(s == NULL && len == 0);
	IB_CHECK_EQ(ib_buf_len(&b), sizeof(huge));

	ib_buf_init_ro(&b, nul, sizeof(nul));
	IB_CHECK_ERR(ib_buf_get_string_u32be(&b, 4096, &s, &len), IB_ERR_FORMAT);

	ib_buf_init_ro(&b, part, sizeof(part));
	IB_CHECK_ERR(ib_buf_get_string_u32be(&b, 4096, &s, &len), IB_ERR_INCOMPLETE);
	IB_CHECK_EQ(ib_buf_len(&b), sizeof(part));

	ib_buf_init_ro(&b, ok, sizeof(ok));
	IB_CHECK_OK(ib_buf_get_string_u32be(&b, 3, &s, &len));
	IB_CHECK_STR(s, "abc");
	IB_CHECK_EQ(len, 3);
	free(s);
	IB_CHECK_OK(ib_buf_get_string_u32be(&b, 3, &s, &len));
	IB_CHECK_STR(s, "");
	free(s);
	IB_CHECK_OK(ib_buf_get_end(&b));
}

IB_TEST(buf_put_string_round_trips)
{
	struct ib_buf b;
	char *s = NULL;

	ib_buf_init(&b, 64);
	IB_CHECK_OK(ib_buf_put_string_u32be(&b, "UDID/Status.plist", 17));
	IB_CHECK_EQ(ib_buf_len(&b), 21);
	IB_CHECK_OK(ib_buf_get_string_u32be(&b, 100, &s, NULL));
	IB_CHECK_STR(s, "UDID/Status.plist");
	free(s);
	IB_CHECK_ERR(ib_buf_put_string_u32be(&b, "x", 61), IB_ERR_TOO_LARGE);
	IB_CHECK_EQ(ib_buf_len(&b), 0);
	ib_buf_free(&b);
}

IB_TEST(buf_cstring_bounded)
{
	static const uint8_t d[] = { '/', 'a', 0, 'x', 'y', 'z' };
	struct ib_buf b;
	const char *s;
	size_t len;

	ib_buf_init_ro(&b, d, sizeof(d));
	IB_CHECK_OK(ib_buf_get_cstring(&b, 10, &s, &len));
	IB_CHECK_STR(s, "/a");
	IB_CHECK_EQ(len, 2);
	IB_CHECK_ERR(ib_buf_get_cstring(&b, 10, &s, &len), IB_ERR_INCOMPLETE);
	IB_CHECK_ERR(ib_buf_get_cstring(&b, 2, &s, &len), IB_ERR_TOO_LARGE);
	IB_CHECK_EQ(ib_buf_len(&b), 3);
}

IB_TEST(buf_unput_and_reset)
{
	struct ib_buf b;

	ib_buf_init(&b, 100);
	IB_CHECK_OK(ib_buf_put(&b, "hello", 5));
	IB_CHECK_OK(ib_buf_unput(&b, 2));
	IB_CHECK_EQ(ib_buf_len(&b), 3);
	IB_CHECK_ERR(ib_buf_unput(&b, 4), IB_ERR_INVALID_ARG);
	ib_buf_reset(&b);
	IB_CHECK_EQ(ib_buf_len(&b), 0);
	IB_CHECK_EQ(ib_buf_avail(&b), 100);
	ib_buf_free(&b);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
