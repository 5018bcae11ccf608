/*
 * plist_bin_test - ibackup's binary-plist writer (common/ib_plist_bin.c):
 * negative integers as 8-byte signed, byte-for-byte libplist 2.2 layout
 * otherwise, and everything reads back identically through libplist and
 * Python's plistlib.
 */
#include "ib_test.h"
#include "ib_limits.h"
#include "ib_plist.h"
#include "mb2_test_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deep equality through libplist's own XML rendering. */
static int
same_tree(plist_t a, plist_t b)
{
	char *xa = NULL, *xb = NULL;
	uint32_t na = 0, nb = 0;
	int same;

	plist_to_xml(a, &xa, &na);
	plist_to_xml(b, &xb, &nb);
	same = xa != NULL && xb != NULL && na == nb && memcmp(xa, xb, na) == 0;
	free(xa);
	free(xb);
	return same;
}

/* Does the installed libplist write plist_new_uint(2^64-13) as 8 bytes?
 * (2.2.0 does; 2.3+ writes 16.) Byte identity is only expected then. */
static int
libplist_writes_8byte(void)
{
	plist_t n = plist_new_uint((uint64_t)-13);
	char *b = NULL;
	uint32_t len = 0;
	int yes;

	plist_to_bin(n, &b, &len);
	yes = b != NULL && len > 9 && (uint8_t)b[8] == 0x13;
	free(b);
	plist_free(n);
	return yes;
}

static plist_t
rich_tree(void)
{
	static const uint64_t ints[] = {
		0, 1, 255, 256, 65535, 65536, 1u << 24, 0xffffffffull,
		0x100000000ull, 0x7fffffffffffffffull, (uint64_t)-13, (uint64_t)-1,
	};
	static const uint8_t blob[40] = { 1, 2, 3, 0, 0xff };
	plist_t d = plist_new_dict(), a = plist_new_array(), inner = plist_new_dict();
	size_t i;
	char key[32];

	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		plist_array_append_item(a, plist_new_uint(ints[i]));
	plist_array_append_item(a, plist_new_real(2.0));
	plist_array_append_item(a, plist_new_real(2.1));
	plist_array_append_item(a, plist_new_real(-0.0));
	plist_array_append_item(a, plist_new_real(1e300));
	plist_array_append_item(a, plist_new_bool(1));
	plist_array_append_item(a, plist_new_bool(0));
	plist_array_append_item(a, plist_new_bool(1));
	plist_array_append_item(a, plist_new_date(600000000, 250000));
	plist_array_append_item(a, plist_new_date(-5, 0));
	plist_array_append_item(a, plist_new_uid(1));
	plist_array_append_item(a, plist_new_uid(300));
	plist_array_append_item(a, plist_new_uid(70000));
	plist_array_append_item(a, plist_new_data((const char *)blob, 3));
	plist_array_append_item(a, plist_new_data((const char *)blob, sizeof(blob)));
	plist_array_append_item(a, plist_new_data("", 0));
	plist_array_append_item(a, plist_new_string(""));
	plist_array_append_item(a, plist_new_string("short"));
	plist_array_append_item(a, plist_new_string("a string of more than fifteen bytes"));
	plist_array_append_item(a, plist_new_string("caf\xc3\xa9 \xf0\x9f\x93\xb1 \xe2\x82\xac"));
	plist_array_append_item(a, plist_new_string("short"));
	plist_array_append_item(a, plist_new_string("Name"));
	plist_dict_set_item(d, "Array", a);
	plist_dict_set_item(d, "Name", plist_new_string("Name"));
	for (i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "Key%02zu", i);
		plist_dict_set_item(inner, key, plist_new_uint(i % 3));
	}
	plist_dict_set_item(d, "Inner", inner);
	plist_dict_set_item(d, "Empty", plist_new_dict());
	plist_dict_set_item(d, "EmptyArray", plist_new_array());
	return d;
}

static void
check_tree(plist_t t, int want_identical)
{
	uint8_t *mine = NULL;
	char *theirs = NULL;
	uint32_t tn = 0;
	size_t mn = 0;
	plist_t back = NULL;

	IB_CHECK_OK(ib_plist_to_bin(t, &mine, &mn));
	plist_to_bin(t, &theirs, &tn);
	IB_CHECK(theirs != NULL);
	if (want_identical) {
		IB_CHECK_EQ(mn, tn);
		IB_CHECK(memcmp(mine, theirs, mn) == 0);
	}
	plist_from_bin((const char *)mine, (uint32_t)mn, &back);
	IB_CHECK(back != NULL);
	IB_CHECK(same_tree(t, back));
	plist_free(back);
	back = NULL;
	IB_CHECK_OK(ib_plist_parse(mine, mn, IB_PLIST_MSG_MAX, &back));
	IB_CHECK(same_tree(t, back));
	plist_free(back);
	free(mine);
	free(theirs);
}

IB_TEST(bin_writer_matches_libplist_layout)
{
	int ident = libplist_writes_8byte();
	plist_t t = rich_tree();

	check_tree(t, ident);
	plist_free(t);
	if (ib_test_failed())
		return;
	/* A lone scalar root, and a root string. */
	t = plist_new_uint(7);
	check_tree(t, ident);
	plist_free(t);
	t = plist_new_string("\xc3\xa9t\xc3\xa9");
	check_tree(t, ident);
	plist_free(t);
}

IB_TEST(bin_writer_wide_references)
{
	/* 70,000 distinct strings: 3-byte references and offsets. */
	plist_t a = plist_new_array();
	char s[32];
	size_t i;

	for (i = 0; i < 70000; i++) {
		snprintf(s, sizeof(s), "p%zu", i);
		plist_array_append_item(a, plist_new_string(s));
	}
	check_tree(a, libplist_writes_8byte());
	plist_free(a);
}

IB_TEST(bin_writer_negative_is_signed_8_bytes)
{
	plist_t a = plist_new_array();
	uint8_t *bin = NULL;
	size_t n = 0, i;
	int found = 0;
	static const uint8_t want[] = { 0x13, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf3 };

	plist_array_append_item(a, plist_new_string("DLMessageStatusResponse"));
	plist_array_append_item(a, ib_plist_new_int(-13));
	IB_CHECK_OK(ib_plist_to_bin(a, &bin, &n));
	for (i = 0; i + sizeof(want) <= n; i++)
		if (memcmp(bin + i, want, sizeof(want)) == 0)
			found = 1;
	IB_CHECK(found);
	free(bin);
	plist_free(a);
}

IB_TEST(bin_writer_parsed_16_byte_int_becomes_8)
{
	/* bplist with one 16-byte integer 2^64-13 (how libplist >= 2.3 and
	 * old libimobiledevice send -13). libplist 2.2 would write it back as
	 * 16 bytes; we write the signed 8-byte form. */
	static const uint8_t in[] = {
		'b','p','l','i','s','t','0','0',
		0x14, 0,0,0,0,0,0,0,0, 0xff,0xff,0xff,0xff,0xff,0xff,0xff,0xf3,
		0x08,
		0,0,0,0,0,0, 1, 1,
		0,0,0,0,0,0,0,1,
		0,0,0,0,0,0,0,0,
		0,0,0,0,0,0,0,25,
	};
	plist_t p = NULL;
	uint8_t *bin = NULL;
	size_t n = 0;
	int64_t v = 0;

	IB_CHECK_OK(ib_plist_parse(in, sizeof(in), IB_PLIST_MSG_MAX, &p));
	IB_CHECK_OK(ib_plist_get_int(p, &v));
	IB_CHECK_EQ(v, -13);
	IB_CHECK_OK(ib_plist_to_bin(p, &bin, &n));
	IB_CHECK(n > 17);
	IB_CHECK_EQ(bin[8], 0x13);
	IB_CHECK_EQ(bin[16], 0xf3);
	free(bin);
	plist_free(p);
}

IB_TEST(bin_writer_refuses_bad_utf8_and_wide_uid)
{
	plist_t s = plist_new_string("bad \xc3 byte");
	plist_t u = plist_new_uid(0x100000000ull);
	uint8_t *bin = NULL;
	size_t n = 0;

	IB_CHECK_ERR(ib_plist_to_bin(s, &bin, &n), IB_ERR_PLIST_ENCODE);
	IB_CHECK(bin == NULL);
	IB_CHECK_ERR(ib_plist_to_bin(u, &bin, &n), IB_ERR_PLIST_ENCODE);
	plist_free(s);
	plist_free(u);
}

/* libplist 2.2 aborts (assert in plist_get_key_val) on a dict key that
 * is UTF-16 with a U+0000 unit; ib_plist_parse refuses such input first
 * (found by fuzz_dl_msg; seeds crash_utf16_nul_key). */
IB_TEST(parse_refuses_utf16_nul_key)
{
	static const uint8_t in[] = {
		'b','p','l','i','s','t','0','0',
		0xD1, 0x01, 0x02,               /* 8: dict {1: 2} */
		0x62, 0x00, 'a', 0x00, 0x00,    /* 11: UTF-16 "a\0" */
		0x10, 0x01,                     /* 16: 1 */
		8, 11, 16,                      /* 18: offsets */
		0,0,0,0,0,0, 1, 1, 0,0,0,0,0,0,0,3, 0,0,0,0,0,0,0,0,
		0,0,0,0,0,0,0,18,
	};
	uint8_t ok[sizeof(in)];
	plist_t p = NULL;

	IB_CHECK_ERR(ib_plist_parse(in, sizeof(in), IB_PLIST_MSG_MAX, &p), IB_ERR_PLIST_PARSE);
	IB_CHECK(p == NULL);
	/* The same with "ab": fine. */
	memcpy(ok, in, sizeof(in));
	ok[15] = 'b';
	IB_CHECK_OK(ib_plist_parse(ok, sizeof(ok), IB_PLIST_MSG_MAX, &p));
	IB_CHECK(plist_dict_get_item(p, "ab") != NULL);
	plist_free(p);
}

/* A binary "set" (0xC) is an array to libplist 2.2: the pre-scan must
 * count its depth and look inside it (found by fuzz_dl_msg). */
IB_TEST(parse_sees_inside_sets)
{
	/* Deep enough to overflow libplist's recursive parser if the
	 * pre-scan let it through. */
	enum { DEPTH = 100000 };
	static const uint8_t nul_key_in_set[] = {
		'b','p','l','i','s','t','0','0',
		0xC1, 0x01,                     /* 8: set [1] */
		0xD1, 0x02, 0x03,               /* 10: dict {2: 3} */
		0x62, 0x00, 'a', 0x00, 0x00,    /* 13: UTF-16 "a\0" */
		0x10, 0x01,                     /* 18: 1 */
		8, 10, 13, 18,                  /* 20: offsets */
		0,0,0,0,0,0, 1, 1, 0,0,0,0,0,0,0,4, 0,0,0,0,0,0,0,0,
		0,0,0,0,0,0,0,20,
	};
	uint8_t *in = malloc(8 + 4 * DEPTH + 3 * DEPTH + 32);
	plist_t p = NULL;
	size_t o = 8, i, table;

	/* DEPTH sets, each holding the next (3-byte refs); the last empty. */
	IB_CHECK(in != NULL);
	memcpy(in, "bplist00", 8);
	for (i = 0; i < DEPTH; i++) {
		in[o++] = i + 1 < DEPTH ? 0xC1 : 0xC0;
		if (i + 1 < DEPTH) {
			in[o++] = (uint8_t)((i + 1) >> 16);
			in[o++] = (uint8_t)((i + 1) >> 8);
			in[o++] = (uint8_t)(i + 1);
		}
	}
	table = o;
	for (i = 0; i < DEPTH; i++) {
		in[o++] = (uint8_t)((8 + 4 * i) >> 16);
		in[o++] = (uint8_t)((8 + 4 * i) >> 8);
		in[o++] = (uint8_t)(8 + 4 * i);
	}
	memset(in + o, 0, 32);
	in[o + 6] = 3;
	in[o + 7] = 3;
	in[o + 13] = (uint8_t)(DEPTH >> 16);
	in[o + 14] = (uint8_t)(DEPTH >> 8);
	in[o + 15] = (uint8_t)DEPTH;
	in[o + 29] = (uint8_t)(table >> 16);
	in[o + 30] = (uint8_t)(table >> 8);
	in[o + 31] = (uint8_t)table;
	o += 32;
	IB_CHECK_ERR(ib_plist_parse(in, o, IB_PLIST_MSG_MAX, &p), IB_ERR_PLIST_DEPTH);
	free(in);
	IB_CHECK_ERR(ib_plist_parse(nul_key_in_set, sizeof(nul_key_in_set), IB_PLIST_MSG_MAX, &p),
	    IB_ERR_PLIST_PARSE);
	IB_CHECK(p == NULL);
}

/* Python's plistlib is an independent reader: it must see -13 and the
 * rest of the rich tree. Skipped (with a message) without python3. */
IB_TEST(bin_writer_python_plistlib_reads_it)
{
	plist_t a = plist_new_array();
	uint8_t *bin = NULL;
	size_t n = 0;
	int rc;

	plist_array_append_item(a, plist_new_string("DLMessageStatusResponse"));
	plist_array_append_item(a, ib_plist_new_int(-13));
	plist_array_append_item(a, plist_new_string("Multi status"));
	plist_array_append_item(a, rich_tree());
	IB_CHECK_OK(ib_plist_to_bin(a, &bin, &n));
	rc = tu_plistlib_check(bin, n, "v[1]==-13 and v[3][\"Array\"][10]==-13 and "
	    "v[3][\"Array\"][11]==-1 and v[3][\"Array\"][9]==2**63-1 and "
	    "v[3][\"Array\"][13]==2.1 and "
	    "v[3][\"Array\"][30]==\"caf\\u00e9 \\U0001f4f1 \\u20ac\" and "
	    "len(v[3][\"Inner\"])==20");
	free(bin);
	plist_free(a);
	IB_CHECK(rc != 1);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
