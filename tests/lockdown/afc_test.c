/*
 * Unit tests of AFC: the packet codec (any chunking, header edge cases,
 * reply checks) and the virtual device's file tree and locks, driven
 * through the codec without I/O. The host client is afc_client_test.c.
 */
#include "afc.h"
#include "ib_buf.h"
#include "ib_limits.h"
#include "ib_plist.h"
#include "ib_test.h"
#include "ib_util.h"
#include "sim_services_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* FileOpen of the lock file as in a real dump (lockdown.md section 7,
 * LIMD#205): entire = this = 0x4C, packet 1, op 0x0D, mode 2, path. */
static const uint8_t lock_open_dump[] = {
	'C', 'F', 'A', '6', 'L', 'P', 'A', 'A',
	0x4C, 0, 0, 0, 0, 0, 0, 0,
	0x4C, 0, 0, 0, 0, 0, 0, 0,
	1, 0, 0, 0, 0, 0, 0, 0,
	0x0D, 0, 0, 0, 0, 0, 0, 0,
	2, 0, 0, 0, 0, 0, 0, 0,
	'/', 'c', 'o', 'm', '.', 'a', 'p', 'p', 'l', 'e', '.', 'i', 't', 'u',
	'n', 'e', 's', '.', 'l', 'o', 'c', 'k', '_', 's', 'y', 'n', 'c', 0,
};

IB_TEST(afc_file_open_matches_real_dump)
{
	struct ib_afc_req req = { .op = IB_AFC_OP_FILE_OPEN, .arg = IB_AFC_FOPEN_RW,
		.path = IB_AFC_SYNC_LOCK_PATH };
	struct ib_buf out;

	ib_buf_init(&out, 1 << 20);
	IB_CHECK_OK(ib_afc_req_encode(&out, 1, &req));
	IB_CHECK_EQ(ib_buf_len(&out), sizeof(lock_open_dump));
	IB_CHECK(memcmp(ib_buf_ptr(&out), lock_open_dump, sizeof(lock_open_dump)) == 0);
	ib_buf_free(&out);
}

/* A stream of packets of every shape: requests, replies, payloads. */
static void
build_stream(struct ib_buf *out)
{
	static const uint8_t blob[300] = { 1, 2, 3 };
	struct ib_afc_req reqs[] = {
		{ .op = IB_AFC_OP_FILE_OPEN, .arg = 3, .path = "/iTunesRestore/x.plist" },
		{ .op = IB_AFC_OP_FILE_WRITE, .handle = 7, .data = blob, .len = sizeof(blob) },
		{ .op = IB_AFC_OP_FILE_LOCK, .handle = 7, .arg = IB_AFC_LOCK_EX },
		{ .op = IB_AFC_OP_FILE_CLOSE, .handle = 7 },
	};
	struct ib_afc_reply reps[] = {
		{ .op = IB_AFC_OP_STATUS, .value = 19 },
		{ .op = IB_AFC_OP_DATA, .data = blob, .len = 100 },
		{ .op = IB_AFC_OP_DATA },
		{ .op = IB_AFC_OP_FILE_OPEN_RES, .value = 42 },
	};
	size_t i;

	for (i = 0; i < IB_ARRAY_LEN(reqs); i++) {
		if (ib_afc_req_encode(out, 10 + i, &reqs[i]) != IB_OK ||
		    ib_afc_reply_encode(out, 20 + i, &reps[i]) != IB_OK)
			abort();
	}
}

/* Feed the stream in chunks chosen by next_len; record each packet as
 * "num:op:hdata_len:body_len:sum" into log. */
static int
decode_stream(const uint8_t *p, size_t n, size_t (*next_len)(size_t), char *log, size_t logsz)
{
	struct ib_afc_dec *dec;
	struct ib_afc_packet pkt;
	size_t off = 0, used, chunk, i, pos = 0;
	unsigned sum;
	int r = IB_OK;

	log[0] = '\0';
	if (ib_afc_dec_new(&dec) != IB_OK)
		return IB_ERR_NOMEM;
	while (off < n && r == IB_OK) {
		/* IB_MIN evaluates its arguments twice. */
		chunk = next_len(n - off);
		chunk = IB_MIN(chunk, n - off);
		while (chunk > 0 && r == IB_OK) {
			r = ib_afc_dec_feed(dec, p + off, chunk, &used);
			off += used;
			chunk -= used;
			if (r == IB_OK && ib_afc_dec_packet(dec, &pkt) == IB_OK) {
				for (sum = 0, i = 0; i < pkt.body_len; i++)
					sum += pkt.body[i];
				pos += (size_t)snprintf(log + pos, logsz - pos, "%llu:%llu:%zu:%zu:%u ",
				    (unsigned long long)pkt.packet_num, (unsigned long long)pkt.op,
				    pkt.hdata_len, pkt.body_len, sum);
				ib_afc_dec_next(dec);
			}
		}
	}
	if (r == IB_OK && ib_afc_dec_need(dec) != IB_AFC_HEADER_LEN)
		r = IB_ERR_INCOMPLETE;
	ib_afc_dec_free(dec);
	return r;
}

static size_t whole(size_t left) { return left; }
static size_t one(size_t left) { (void)left; return 1; }
static size_t rnd(size_t left) { (void)left; return (size_t)(rand() % 97) + 1; }

IB_TEST(afc_decoder_takes_any_chunking)
{
	char ref[1024], got[1024];
	struct ib_buf s;
	int i;

	ib_buf_init(&s, 1 << 20);
	build_stream(&s);
	IB_CHECK_OK(decode_stream(ib_buf_ptr(&s), ib_buf_len(&s), whole, ref, sizeof(ref)));
	/* 8 packets, with the write's payload split from its handle. */
	IB_CHECK(strstr(ref, "11:16:8:308:") != NULL);
	IB_CHECK(strstr(ref, "20:1:8:8:19 ") != NULL);
	IB_CHECK(strstr(ref, "22:2:0:0:0 ") != NULL);
	IB_CHECK_OK(decode_stream(ib_buf_ptr(&s), ib_buf_len(&s), one, got, sizeof(got)));
	IB_CHECK_STR(got, ref);
	srand(7);
	for (i = 0; i < 50; i++) {
		IB_CHECK_OK(decode_stream(ib_buf_ptr(&s), ib_buf_len(&s), rnd, got, sizeof(got)));
		IB_CHECK_STR(got, ref);
	}
	ib_buf_free(&s);
}

/* A header with the given lengths and magic; feeds it and returns the
 * decoder's verdict. */
static int
feed_header(const char *magic, uint64_t entire, uint64_t this_len)
{
	struct ib_afc_dec *dec;
	struct ib_afc_packet pkt;
	struct ib_buf h;
	size_t used;
	int r, again;

	ib_buf_init(&h, 64);
	if (ib_buf_put(&h, magic, 8) != IB_OK || ib_buf_put_u64le(&h, entire) != IB_OK ||
	    ib_buf_put_u64le(&h, this_len) != IB_OK || ib_buf_put_u64le(&h, 1) != IB_OK ||
	    ib_buf_put_u64le(&h, IB_AFC_OP_STATUS) != IB_OK || ib_afc_dec_new(&dec) != IB_OK)
		abort();
	r = ib_afc_dec_feed(dec, ib_buf_ptr(&h), ib_buf_len(&h), &used);
	/* Failures are sticky and the decoder wants nothing more. */
	again = ib_afc_dec_feed(dec, ib_buf_ptr(&h), 1, &used);
	if (r != IB_OK && (again != r || used != 0 || ib_afc_dec_need(dec) != 0 ||
	    ib_afc_dec_packet(dec, &pkt) != r))
		r = IB_ERR_INTERNAL;
	ib_afc_dec_free(dec);
	ib_buf_free(&h);
	return r;
}

IB_TEST(afc_header_edge_cases_fail_cleanly)
{
	IB_CHECK_OK(feed_header(IB_AFC_MAGIC, 48, 48));
	IB_CHECK_OK(feed_header(IB_AFC_MAGIC, 40, 40));
	IB_CHECK_ERR(feed_header("CFA6LPAB", 48, 48), IB_ERR_AFC_PROTOCOL);
	IB_CHECK_ERR(feed_header(IB_AFC_MAGIC, 47, 48), IB_ERR_AFC_PROTOCOL);
	IB_CHECK_ERR(feed_header(IB_AFC_MAGIC, 48, 39), IB_ERR_AFC_PROTOCOL);
	IB_CHECK_ERR(feed_header(IB_AFC_MAGIC, 0, 0), IB_ERR_AFC_PROTOCOL);
	IB_CHECK_ERR(feed_header(IB_AFC_MAGIC, UINT64_MAX, 39), IB_ERR_AFC_PROTOCOL);
	/* Caps: header data and payload each. */
	IB_CHECK_OK(feed_header(IB_AFC_MAGIC, 40 + IB_AFC_HDATA_MAX, 40 + IB_AFC_HDATA_MAX));
	IB_CHECK_ERR(feed_header(IB_AFC_MAGIC, 41 + IB_AFC_HDATA_MAX, 41 + IB_AFC_HDATA_MAX),
	    IB_ERR_TOO_LARGE);
	IB_CHECK_OK(feed_header(IB_AFC_MAGIC, 48 + IB_AFC_PAYLOAD_MAX, 48));
	IB_CHECK_ERR(feed_header(IB_AFC_MAGIC, 49 + IB_AFC_PAYLOAD_MAX, 48), IB_ERR_TOO_LARGE);
	IB_CHECK_ERR(feed_header(IB_AFC_MAGIC, UINT64_MAX, UINT64_MAX), IB_ERR_TOO_LARGE);
	IB_CHECK_ERR(feed_header(IB_AFC_MAGIC, UINT64_MAX, 48), IB_ERR_TOO_LARGE);
}

IB_TEST(afc_encode_refuses_oversized_fields)
{
	struct ib_buf out;
	uint8_t *big = calloc(1, IB_AFC_PAYLOAD_MAX + 1);

	IB_CHECK(big != NULL);
	ib_buf_init(&out, 2 * IB_AFC_PAYLOAD_MAX);
	IB_CHECK_ERR(ib_afc_encode(&out, 1, 2, big, IB_AFC_HDATA_MAX + 1, NULL, 0),
	    IB_ERR_TOO_LARGE);
	IB_CHECK_ERR(ib_afc_encode(&out, 1, 2, NULL, 0, big, IB_AFC_PAYLOAD_MAX + 1),
	    IB_ERR_TOO_LARGE);
	IB_CHECK_EQ(ib_buf_len(&out), 0);
	ib_buf_free(&out);
	/* A full buffer leaves nothing half-written. */
	ib_buf_init(&out, 60);
	IB_CHECK_ERR(ib_afc_encode(&out, 1, 2, NULL, 0, big, 30), IB_ERR_TOO_LARGE);
	IB_CHECK_EQ(ib_buf_len(&out), 0);
	ib_buf_free(&out);
	free(big);
}

/* Decode one packet from raw bytes (must be whole). */
static int
one_packet(struct ib_buf *bytes, struct ib_afc_dec *dec, struct ib_afc_packet *pkt)
{
	size_t used;
	int r;

	ib_afc_dec_next(dec);
	if ((r = ib_afc_dec_feed(dec, ib_buf_ptr(bytes), ib_buf_len(bytes), &used)) != IB_OK)
		return r;
	return ib_afc_dec_packet(dec, pkt);
}

IB_TEST(afc_reply_parse_checks_echo_and_sizes)
{
	struct ib_afc_reply rep = { .op = IB_AFC_OP_STATUS, .value = 19 }, got;
	struct ib_afc_packet pkt;
	struct ib_afc_dec *dec;
	struct ib_buf b;
	uint8_t nine[9] = { 0 };

	IB_CHECK_OK(ib_afc_dec_new(&dec));
	ib_buf_init(&b, 4096);
	IB_CHECK_OK(ib_afc_reply_encode(&b, 5, &rep));
	IB_CHECK_OK(one_packet(&b, dec, &pkt));
	IB_CHECK_OK(ib_afc_reply_parse(&pkt, 5, &got));
	IB_CHECK_EQ(got.op, IB_AFC_OP_STATUS);
	IB_CHECK_EQ(got.value, 19);
	IB_CHECK_ERR(ib_afc_reply_parse(&pkt, 6, &got), IB_ERR_AFC_PROTOCOL);
	IB_CHECK_EQ(got.op, 0);

	/* STATUS needs exactly 8 bytes: none, 7 or 9 are refused. */
	ib_buf_reset(&b);
	IB_CHECK_OK(ib_afc_encode(&b, 1, IB_AFC_OP_STATUS, NULL, 0, NULL, 0));
	IB_CHECK_OK(one_packet(&b, dec, &pkt));
	IB_CHECK_ERR(ib_afc_reply_parse(&pkt, 1, &got), IB_ERR_AFC_PROTOCOL);
	ib_buf_reset(&b);
	IB_CHECK_OK(ib_afc_encode(&b, 1, IB_AFC_OP_FILE_OPEN_RES, nine, 7, NULL, 0));
	IB_CHECK_OK(one_packet(&b, dec, &pkt));
	IB_CHECK_ERR(ib_afc_reply_parse(&pkt, 1, &got), IB_ERR_AFC_PROTOCOL);
	ib_buf_reset(&b);
	IB_CHECK_OK(ib_afc_encode(&b, 1, IB_AFC_OP_STATUS, nine, 8, nine, 1));
	IB_CHECK_OK(one_packet(&b, dec, &pkt));
	IB_CHECK_ERR(ib_afc_reply_parse(&pkt, 1, &got), IB_ERR_AFC_PROTOCOL);
	/* The value may sit in the payload instead (LIMD and PMD3 read the
	 * body as one). */
	ib_buf_reset(&b);
	nine[0] = 42;
	IB_CHECK_OK(ib_afc_encode(&b, 1, IB_AFC_OP_FILE_OPEN_RES, NULL, 0, nine, 8));
	IB_CHECK_OK(one_packet(&b, dec, &pkt));
	IB_CHECK_OK(ib_afc_reply_parse(&pkt, 1, &got));
	IB_CHECK_EQ(got.value, 42);
	/* A request operation is not a reply. */
	ib_buf_reset(&b);
	IB_CHECK_OK(ib_afc_encode(&b, 1, IB_AFC_OP_FILE_LOCK, nine, 8, NULL, 0));
	IB_CHECK_OK(one_packet(&b, dec, &pkt));
	IB_CHECK_ERR(ib_afc_reply_parse(&pkt, 1, &got), IB_ERR_AFC_PROTOCOL);
	ib_buf_free(&b);
	ib_afc_dec_free(dec);
}

/* Parse a request whose body is the given bytes. */
static int
parse_body(uint64_t op, const void *body, size_t n, struct ib_afc_req *req)
{
	struct ib_afc_packet pkt = { .packet_num = 1, .op = op, .body = body,
		.body_len = n, .hdata_len = n };

	return ib_afc_req_parse(&pkt, req);
}

IB_TEST(afc_request_parse_refuses_malformed_bodies)
{
	static const uint8_t lock[16] = { 7, 0, 0, 0, 0, 0, 0, 0, 6 };
	static const uint8_t lock_long[17] = { 7, 0, 0, 0, 0, 0, 0, 0, 6 };
	static const uint8_t open_nopath[8] = { 2 };
	static const uint8_t open_nonul[10] = { 2, 0, 0, 0, 0, 0, 0, 0, '/', 'a' };
	static const uint8_t open_twonul[12] = { 2, 0, 0, 0, 0, 0, 0, 0, '/', 0, 'a', 0 };
	struct ib_afc_req req;
	char *longpath;

	IB_CHECK_OK(parse_body(IB_AFC_OP_FILE_LOCK, lock, sizeof(lock), &req));
	IB_CHECK_EQ(req.handle, 7);
	IB_CHECK_EQ(req.arg, 6);
	IB_CHECK_ERR(parse_body(IB_AFC_OP_FILE_LOCK, lock_long, sizeof(lock_long), &req),
	    IB_ERR_AFC_PROTOCOL);
	IB_CHECK_ERR(parse_body(IB_AFC_OP_FILE_LOCK, lock, 15, &req), IB_ERR_AFC_PROTOCOL);
	IB_CHECK_ERR(parse_body(IB_AFC_OP_FILE_CLOSE, lock, 16, &req), IB_ERR_AFC_PROTOCOL);
	IB_CHECK_ERR(parse_body(IB_AFC_OP_FILE_OPEN, open_nopath, 8, &req), IB_ERR_AFC_PROTOCOL);
	IB_CHECK_ERR(parse_body(IB_AFC_OP_FILE_OPEN, open_nonul, 10, &req), IB_ERR_AFC_PROTOCOL);
	IB_CHECK_ERR(parse_body(IB_AFC_OP_FILE_OPEN, open_twonul, 12, &req), IB_ERR_AFC_PROTOCOL);
	IB_CHECK_ERR(parse_body(IB_AFC_OP_REMOVE_PATH, "", 1, &req), IB_ERR_AFC_PROTOCOL);
	IB_CHECK_OK(parse_body(IB_AFC_OP_REMOVE_PATH, "/x", 3, &req));
	IB_CHECK_STR(req.path, "/x");
	longpath = malloc(IB_PATH_MAX + 2);
	IB_CHECK(longpath != NULL);
	memset(longpath, 'a', IB_PATH_MAX + 1);
	longpath[IB_PATH_MAX + 1] = '\0';
	IB_CHECK_ERR(parse_body(IB_AFC_OP_MAKE_DIR, longpath, IB_PATH_MAX + 2, &req),
	    IB_ERR_AFC_PROTOCOL);
	longpath[IB_PATH_MAX] = '\0';
	IB_CHECK_OK(parse_body(IB_AFC_OP_MAKE_DIR, longpath, IB_PATH_MAX + 1, &req));
	free(longpath);
}

IB_TEST(afc_status_codes_have_names_and_errors)
{
	uint64_t s;

	for (s = 0; s <= 23; s++)
		IB_CHECK(strcmp(ib_afc_status_name(s), "UNKNOWN") != 0);
	IB_CHECK_STR(ib_afc_status_name(19), "OP_WOULD_BLOCK");
	IB_CHECK_STR(ib_afc_status_name(8), "OBJECT_NOT_FOUND");
	IB_CHECK_STR(ib_afc_status_name(23), "INTERNAL_ERROR");
	/* 30..34 are libimobiledevice's own, never on the wire. */
	IB_CHECK_STR(ib_afc_status_name(24), "UNKNOWN");
	IB_CHECK_STR(ib_afc_status_name(33), "UNKNOWN");
	IB_CHECK_OK(ib_afc_status_err(0, "x"));
	IB_CHECK_ERR(ib_afc_status_err(19, "FileLock"), IB_ERR_WOULD_BLOCK);
	IB_CHECK(strstr(ib_err_detail(), "FileLock: status 19 (OP_WOULD_BLOCK") != NULL);
	IB_CHECK_ERR(ib_afc_status_err(8, "x"), IB_ERR_NOT_FOUND);
	IB_CHECK_ERR(ib_afc_status_err(16, "x"), IB_ERR_EXISTS);
	IB_CHECK_ERR(ib_afc_status_err(1, "x"), IB_ERR_AFC);
	IB_CHECK_ERR(ib_afc_status_err(33, "x"), IB_ERR_AFC);
}

/* An answer of n distinct keys "kN" with value "1". */
static int
info_of_keys(unsigned n, plist_t *dp)
{
	struct ib_buf b;
	char kv[32];
	unsigned i;
	int len, r;

	ib_buf_init(&b, 1 << 20);
	for (i = 0; i < n; i++) {
		len = snprintf(kv, sizeof(kv), "k%u%c1", i, 0);
		if (ib_buf_put(&b, kv, (size_t)len + 1) != IB_OK)
			abort();
	}
	r = ib_afc_info_parse(ib_buf_ptr(&b), ib_buf_len(&b), dp);
	ib_buf_free(&b);
	return r;
}

IB_TEST(afc_file_info_parse)
{
	static const char ok[] = "st_size\0" "123\0st_ifmt\0S_IFDIR\0"
	    "st_mtime\0" "18446744073709551615\0big\0" "18446744073709551616\0"
	    "odd\0" "12a\0";
	const char *s;
	uint64_t v;
	plist_t d;

	IB_CHECK_OK(ib_afc_info_parse((const uint8_t *)ok, sizeof(ok) - 1, &d));
	IB_CHECK_OK(ib_plist_dict_get_uint(d, "st_size", &v));
	IB_CHECK_EQ(v, 123);
	IB_CHECK_OK(ib_plist_dict_get_uint(d, "st_mtime", &v));
	IB_CHECK(v == UINT64_MAX);
	/* Not a u64: kept as text. */
	IB_CHECK_OK(ib_plist_dict_get_string(d, "big", &s));
	IB_CHECK_OK(ib_plist_dict_get_string(d, "odd", &s));
	IB_CHECK_STR(s, "12a");
	IB_CHECK_OK(ib_plist_dict_get_string(d, "st_ifmt", &s));
	IB_CHECK_STR(s, "S_IFDIR");
	plist_free(d);
	IB_CHECK_OK(ib_afc_info_parse(NULL, 0, &d));
	IB_CHECK_EQ(plist_dict_get_size(d), 0);
	plist_free(d);
	/* A key without value, a missing final NUL, an empty string. */
	IB_CHECK_ERR(ib_afc_info_parse((const uint8_t *)"k\0", 2, &d), IB_ERR_AFC_PROTOCOL);
	IB_CHECK(d == NULL);
	IB_CHECK_ERR(ib_afc_info_parse((const uint8_t *)"k\0v", 3, &d), IB_ERR_AFC_PROTOCOL);
	IB_CHECK_ERR(ib_afc_info_parse((const uint8_t *)"k\0\0", 3, &d), IB_ERR_AFC_PROTOCOL);
	/* No more keys than a device could mean. */
	IB_CHECK_OK(info_of_keys(IB_AFC_INFO_KEYS_MAX, &d));
	IB_CHECK_EQ(plist_dict_get_size(d), IB_AFC_INFO_KEYS_MAX);
	plist_free(d);
	IB_CHECK_ERR(info_of_keys(IB_AFC_INFO_KEYS_MAX + 1, &d), IB_ERR_AFC_PROTOCOL);
}

/* --- the virtual device's tree and locks, through the codec ------------------ */

struct dev_io {
	struct ib_afc_dec *dec;
	struct ib_buf req, rep;
	uint64_t num;
};

/* One request through sim_afc_handle; returns the parsed reply. */
static int
dev_call(struct dev_io *io, struct sim_afc_session *s, const struct ib_afc_req *req,
    struct ib_afc_reply *rep)
{
	struct ib_afc_packet pkt;
	int r;

	ib_buf_reset(&io->req);
	ib_buf_reset(&io->rep);
	if ((r = ib_afc_req_encode(&io->req, ++io->num, req)) != IB_OK ||
	    (r = one_packet(&io->req, io->dec, &pkt)) != IB_OK ||
	    (r = sim_afc_handle(s, &pkt, &io->rep)) != IB_OK ||
	    (r = one_packet(&io->rep, io->dec, &pkt)) != IB_OK)
		return r;
	return ib_afc_reply_parse(&pkt, io->num, rep);
}

/* The status of a request (FILE_OPEN_RES and DATA count as 0). */
static uint64_t
dev_status(struct dev_io *io, struct sim_afc_session *s, uint64_t op, uint64_t handle,
    uint64_t arg, const char *path)
{
	struct ib_afc_req req = { .op = op, .handle = handle, .arg = arg, .path = path };
	struct ib_afc_reply rep;

	if (dev_call(io, s, &req, &rep) != IB_OK)
		return 999;
	return rep.op == IB_AFC_OP_STATUS ? rep.value : 0;
}

static uint64_t
dev_open(struct dev_io *io, struct sim_afc_session *s, const char *path, uint64_t mode)
{
	struct ib_afc_req req = { .op = IB_AFC_OP_FILE_OPEN, .arg = mode, .path = path };
	struct ib_afc_reply rep;

	if (dev_call(io, s, &req, &rep) != IB_OK || rep.op != IB_AFC_OP_FILE_OPEN_RES)
		return 0;
	return rep.value;
}

static int
dev_io_init(struct dev_io *io)
{
	memset(io, 0, sizeof(*io));
	ib_buf_init(&io->req, 1 << 20);
	ib_buf_init(&io->rep, 1 << 20);
	return ib_afc_dec_new(&io->dec);
}

static void
dev_io_done(struct dev_io *io)
{
	ib_buf_free(&io->req);
	ib_buf_free(&io->rep);
	ib_afc_dec_free(io->dec);
}

IB_TEST(afc_device_locks_are_flock_like)
{
	struct sim_afc_cfg cfg = { 0 };
	struct sim_afc *afc;
	struct sim_afc_session *a, *b;
	struct dev_io io;
	uint64_t ha, hb, ha2;

	IB_CHECK_OK(dev_io_init(&io));
	IB_CHECK_OK(sim_afc_new(&cfg, &afc));
	IB_CHECK_OK(sim_afc_session_new(afc, &a));
	IB_CHECK_OK(sim_afc_session_new(afc, &b));
	/* r+ creates the lock file. */
	IB_CHECK((ha = dev_open(&io, a, IB_AFC_SYNC_LOCK_PATH, IB_AFC_FOPEN_RW)) != 0);
	IB_CHECK((hb = dev_open(&io, b, IB_AFC_SYNC_LOCK_PATH, IB_AFC_FOPEN_RW)) != 0);
	IB_CHECK(ha != hb);
	IB_CHECK_EQ(dev_status(&io, a, IB_AFC_OP_FILE_LOCK, ha, IB_AFC_LOCK_EX, NULL), 0);
	IB_CHECK(sim_afc_locked_ex(afc, IB_AFC_SYNC_LOCK_PATH));
	IB_CHECK_EQ(dev_status(&io, b, IB_AFC_OP_FILE_LOCK, hb, IB_AFC_LOCK_EX, NULL), 19);
	IB_CHECK_EQ(dev_status(&io, b, IB_AFC_OP_FILE_LOCK, hb, IB_AFC_LOCK_SH, NULL), 19);
	/* A handle of another connection is not usable. */
	IB_CHECK_EQ(dev_status(&io, b, IB_AFC_OP_FILE_LOCK, ha, IB_AFC_LOCK_UN, NULL), 7);
	/* A second handle of the same connection conflicts too (flock). */
	IB_CHECK((ha2 = dev_open(&io, a, "com.apple.itunes.lock_sync", IB_AFC_FOPEN_RDONLY)) != 0);
	IB_CHECK_EQ(dev_status(&io, a, IB_AFC_OP_FILE_LOCK, ha2, IB_AFC_LOCK_SH, NULL), 19);
	IB_CHECK_EQ(dev_status(&io, a, IB_AFC_OP_FILE_LOCK, ha, IB_AFC_LOCK_UN, NULL), 0);
	IB_CHECK(!sim_afc_locked_ex(afc, IB_AFC_SYNC_LOCK_PATH));
	/* Shared locks share, and keep EX out. */
	IB_CHECK_EQ(dev_status(&io, a, IB_AFC_OP_FILE_LOCK, ha2, IB_AFC_LOCK_SH, NULL), 0);
	IB_CHECK_EQ(dev_status(&io, b, IB_AFC_OP_FILE_LOCK, hb, IB_AFC_LOCK_SH, NULL), 0);
	IB_CHECK_EQ(dev_status(&io, a, IB_AFC_OP_FILE_LOCK, ha, IB_AFC_LOCK_EX, NULL), 19);
	/* Dropping a connection releases its locks. */
	sim_afc_session_free(a);
	IB_CHECK_EQ(dev_status(&io, b, IB_AFC_OP_FILE_LOCK, hb, IB_AFC_LOCK_EX, NULL), 0);
	IB_CHECK(sim_afc_locked_ex(afc, IB_AFC_SYNC_LOCK_PATH));
	/* Closing the handle releases it too. */
	IB_CHECK_EQ(dev_status(&io, b, IB_AFC_OP_FILE_CLOSE, hb, 0, NULL), 0);
	IB_CHECK(!sim_afc_locked_ex(afc, IB_AFC_SYNC_LOCK_PATH));
	IB_CHECK_EQ(dev_status(&io, b, IB_AFC_OP_FILE_CLOSE, hb, 0, NULL), 7);
	IB_CHECK_EQ(dev_status(&io, b, IB_AFC_OP_FILE_LOCK, hb, 3 | 4, NULL), 7);
	IB_CHECK_EQ(sim_afc_lock_attempts(afc), 8);
	sim_afc_session_free(b);
	sim_afc_free(afc);
	dev_io_done(&io);
}

IB_TEST(afc_device_knobs_busy_and_held)
{
	struct sim_afc_cfg busy = { .lock_busy = 3 }, held = { .lock_held = 1 };
	struct sim_afc *afc;
	struct sim_afc_session *s;
	struct dev_io io;
	uint64_t h;
	int i;

	IB_CHECK_OK(dev_io_init(&io));
	IB_CHECK_OK(sim_afc_new(&busy, &afc));
	IB_CHECK_OK(sim_afc_session_new(afc, &s));
	IB_CHECK((h = dev_open(&io, s, IB_AFC_SYNC_LOCK_PATH, IB_AFC_FOPEN_RW)) != 0);
	for (i = 0; i < 3; i++)
		IB_CHECK_EQ(dev_status(&io, s, IB_AFC_OP_FILE_LOCK, h, IB_AFC_LOCK_EX, NULL), 19);
	IB_CHECK_EQ(dev_status(&io, s, IB_AFC_OP_FILE_LOCK, h, IB_AFC_LOCK_EX, NULL), 0);
	IB_CHECK_EQ(sim_afc_lock_attempts(afc), 4);
	sim_afc_session_free(s);
	sim_afc_free(afc);

	IB_CHECK_OK(sim_afc_new(&held, &afc));
	IB_CHECK_OK(sim_afc_session_new(afc, &s));
	IB_CHECK((h = dev_open(&io, s, IB_AFC_SYNC_LOCK_PATH, IB_AFC_FOPEN_RW)) != 0);
	for (i = 0; i < 100; i++)
		IB_CHECK_EQ(dev_status(&io, s, IB_AFC_OP_FILE_LOCK, h, IB_AFC_LOCK_EX, NULL), 19);
	/* Unlocking is never refused. */
	IB_CHECK_EQ(dev_status(&io, s, IB_AFC_OP_FILE_LOCK, h, IB_AFC_LOCK_UN, NULL), 0);
	sim_afc_session_free(s);
	sim_afc_free(afc);
	dev_io_done(&io);
}

IB_TEST(afc_device_tree_as_restore_uses_it)
{
	static const char body[] = "<plist>apps</plist>";
	struct sim_afc_cfg cfg = { 0 };
	struct ib_afc_req req;
	struct ib_afc_reply rep;
	struct sim_afc *afc;
	struct sim_afc_session *s;
	struct dev_io io;
	uint8_t *data;
	size_t len;
	uint64_t h;

	IB_CHECK_OK(dev_io_init(&io));
	IB_CHECK_OK(sim_afc_new(&cfg, &afc));
	IB_CHECK_OK(sim_afc_session_new(afc, &s));
	/* No parent yet: creating the file fails, reading it too. */
	IB_CHECK_EQ(dev_status(&io, s, IB_AFC_OP_FILE_OPEN, 0, IB_AFC_FOPEN_WR,
	    "/iTunesRestore/RestoreApplications.plist"), 8);
	IB_CHECK_EQ(dev_status(&io, s, IB_AFC_OP_MAKE_DIR, 0, 0, "/iTunesRestore"), 0);
	IB_CHECK_EQ(dev_status(&io, s, IB_AFC_OP_MAKE_DIR, 0, 0, "/iTunesRestore"), 0);
	IB_CHECK((h = dev_open(&io, s, "/iTunesRestore/RestoreApplications.plist",
	    IB_AFC_FOPEN_WR)) != 0);
	req = (struct ib_afc_req){ .op = IB_AFC_OP_FILE_WRITE, .handle = h,
		.data = (const uint8_t *)body, .len = sizeof(body) - 1 };
	IB_CHECK_OK(dev_call(&io, s, &req, &rep));
	IB_CHECK(rep.op == IB_AFC_OP_STATUS && rep.value == 0);
	/* An open file is busy (the sim does not unlink open files). */
	IB_CHECK_EQ(dev_status(&io, s, IB_AFC_OP_REMOVE_PATH, 0, 0,
	    "/iTunesRestore/RestoreApplications.plist"), 17);
	IB_CHECK_EQ(dev_status(&io, s, IB_AFC_OP_FILE_CLOSE, h, 0, NULL), 0);
	IB_CHECK_OK(sim_afc_get(afc, "iTunesRestore//RestoreApplications.plist", &data, &len));
	IB_CHECK_EQ(len, sizeof(body) - 1);
	IB_CHECK(memcmp(data, body, len) == 0);
	free(data);
	/* GetFileInfo reports size and type. */
	req = (struct ib_afc_req){ .op = IB_AFC_OP_GET_FILE_INFO,
		.path = "/iTunesRestore/RestoreApplications.plist" };
	IB_CHECK_OK(dev_call(&io, s, &req, &rep));
	IB_CHECK_EQ(rep.op, IB_AFC_OP_DATA);
	IB_CHECK(memmem(rep.data, rep.len, "st_size\0" "19\0", 11) != NULL);
	IB_CHECK(memmem(rep.data, rep.len, "st_ifmt\0S_IFREG\0", 16) != NULL);
	/* Read it back. */
	IB_CHECK((h = dev_open(&io, s, "/iTunesRestore/RestoreApplications.plist",
	    IB_AFC_FOPEN_RDONLY)) != 0);
	req = (struct ib_afc_req){ .op = IB_AFC_OP_FILE_READ, .handle = h, .arg = 5 };
	IB_CHECK_OK(dev_call(&io, s, &req, &rep));
	IB_CHECK(rep.op == IB_AFC_OP_DATA && rep.len == 5 && memcmp(rep.data, "<plis", 5) == 0);
	req.arg = 1000;
	IB_CHECK_OK(dev_call(&io, s, &req, &rep));
	IB_CHECK_EQ(rep.len, sizeof(body) - 1 - 5);
	IB_CHECK_OK(dev_call(&io, s, &req, &rep));
	IB_CHECK(rep.op == IB_AFC_OP_DATA && rep.len == 0);
	/* Read-only handles do not write. */
	req = (struct ib_afc_req){ .op = IB_AFC_OP_FILE_WRITE, .handle = h,
		.data = (const uint8_t *)"x", .len = 1 };
	IB_CHECK_OK(dev_call(&io, s, &req, &rep));
	IB_CHECK(rep.op == IB_AFC_OP_STATUS && rep.value == IB_AFC_PERM_DENIED);
	IB_CHECK_EQ(dev_status(&io, s, IB_AFC_OP_FILE_CLOSE, h, 0, NULL), 0);
	/* A directory with a file is not removed (UNKNOWN_ERROR, which LIMD
	 * reads as "not empty"); the file then the directory are. */
	IB_CHECK_EQ(dev_status(&io, s, IB_AFC_OP_REMOVE_PATH, 0, 0, "/iTunesRestore"), 1);
	IB_CHECK_EQ(dev_status(&io, s, IB_AFC_OP_REMOVE_PATH, 0, 0,
	    "/iTunesRestore/RestoreApplications.plist"), 0);
	IB_CHECK_EQ(dev_status(&io, s, IB_AFC_OP_REMOVE_PATH, 0, 0, "/iTunesRestore"), 0);
	IB_CHECK(!sim_afc_exists(afc, "/iTunesRestore"));
	IB_CHECK_EQ(dev_status(&io, s, IB_AFC_OP_REMOVE_PATH, 0, 0, "/iTunesRestore"), 8);
	/* Paths that climb out are refused, the root is not removable. */
	IB_CHECK_EQ(dev_status(&io, s, IB_AFC_OP_MAKE_DIR, 0, 0, "/a/../../b"), 10);
	IB_CHECK_EQ(dev_status(&io, s, IB_AFC_OP_REMOVE_PATH, 0, 0, "/"), 10);
	IB_CHECK_EQ(dev_status(&io, s, IB_AFC_OP_FILE_OPEN, 0, 9, "/x"), 7);
	IB_CHECK_EQ(dev_status(&io, s, 0x99, 0, 0, NULL), IB_AFC_OP_NOT_SUPPORTED);
	sim_afc_session_free(s);
	sim_afc_free(afc);
	dev_io_done(&io);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
