/*
 * usbmuxd socket protocol codec: exact bytes from usbmux.md 3.3 and the
 * Appendix, round trips of every kind, framing under any chunking, caps,
 * result-code mapping and the $USBMUXD_SOCKET_ADDRESS grammar.
 */
#include "ib_limits.h"
#include "ib_plist.h"
#include "ib_test.h"
#include "ib_util.h"
#include "muxd_proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* Header + XML payload as a client or server would send it. */
static size_t
make_plist_msg(uint8_t *out, size_t cap, uint32_t version, uint32_t tag, const char *xml)
{
	size_t n = strlen(xml), len = 16 + n;
	uint32_t h[4] = { (uint32_t)len, version, 8, tag };
	size_t i;

	if (len > cap)
		return 0;
	for (i = 0; i < 16; i++)
		out[i] = (uint8_t)(h[i / 4] >> (8 * (i % 4)));
	memcpy(out + 16, xml, n);
	return len;
}

static int
encode_one(const struct ib_muxd_msg *m, struct ib_buf *out)
{
	ib_buf_init(out, IB_MUXD_MSG_MAX);
	return ib_muxd_encode(out, m);
}

IB_TEST(binary_connect_matches_the_documented_bytes)
{
	/* usbmux.md 3.3: device 1, port 62078, tag 1. */
	static const uint8_t want[24] = {
		0x18, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0x01, 0, 0, 0,
		0x01, 0, 0, 0, 0xF2, 0x7E, 0, 0,
	};
	struct ib_muxd_msg m, back;
	struct ib_buf out;

	ib_muxd_msg_init(&m, IB_MUXD_K_CONNECT, 0, 1);
	m.device_id = 1;
	m.port = 62078;
	IB_CHECK_OK(encode_one(&m, &out));
	IB_CHECK_EQ(ib_buf_len(&out), 24);
	IB_CHECK(memcmp(ib_buf_ptr(&out), want, 24) == 0);
	ib_buf_free(&out);
	IB_CHECK_OK(ib_muxd_decode(want, sizeof(want), &back));
	IB_CHECK_EQ(back.kind, IB_MUXD_K_CONNECT);
	IB_CHECK_EQ(back.plist, 0);
	IB_CHECK_EQ(back.device_id, 1);
	IB_CHECK_EQ(back.port, 62078);
	IB_CHECK(back.has_device_id && back.has_port);
	IB_CHECK_EQ(back.tag, 1);
}

IB_TEST(binary_result_listen_remove_paired_sizes)
{
	struct ib_muxd_msg m, back;
	struct ib_buf out;
	const uint8_t *p;

	ib_muxd_msg_init(&m, IB_MUXD_K_RESULT, 0, 7);
	m.number = 3;
	IB_CHECK_OK(encode_one(&m, &out));
	p = ib_buf_ptr(&out);
	IB_CHECK_EQ(ib_buf_len(&out), 20);
	IB_CHECK(p[0] == 20 && p[4] == 0 && p[8] == 1 && p[12] == 7 && p[16] == 3);
	IB_CHECK_OK(ib_muxd_decode(p, 20, &back));
	IB_CHECK_EQ(back.kind, IB_MUXD_K_RESULT);
	IB_CHECK_EQ(back.number, 3);
	ib_buf_free(&out);

	ib_muxd_msg_init(&m, IB_MUXD_K_LISTEN, 0, 2);
	IB_CHECK_OK(encode_one(&m, &out));
	IB_CHECK_EQ(ib_buf_len(&out), 16);
	IB_CHECK_EQ(ib_buf_ptr(&out)[8], 3);
	ib_buf_free(&out);

	ib_muxd_msg_init(&m, IB_MUXD_K_DETACHED, 0, 0);
	m.device_id = 0x01020304;
	IB_CHECK_OK(encode_one(&m, &out));
	p = ib_buf_ptr(&out);
	IB_CHECK(ib_buf_len(&out) == 20 && p[8] == 5 && p[16] == 4 && p[19] == 1);
	ib_buf_free(&out);

	ib_muxd_msg_init(&m, IB_MUXD_K_PAIRED, 0, 0);
	m.device_id = 9;
	IB_CHECK_OK(encode_one(&m, &out));
	IB_CHECK_OK(ib_muxd_decode(ib_buf_ptr(&out), ib_buf_len(&out), &back));
	IB_CHECK(back.kind == IB_MUXD_K_PAIRED && back.device_id == 9);
	ib_buf_free(&out);
}

IB_TEST(binary_device_add_is_284_bytes_with_padded_serial)
{
	struct ib_muxd_msg m, back;
	struct ib_buf out;
	const uint8_t *p;
	uint8_t bad[284];
	size_t i;

	ib_muxd_msg_init(&m, IB_MUXD_K_ATTACHED, 0, 0);
	m.dev.handle = 5;
	m.dev.product_id = 0x12a8;
	m.dev.location = 0x00140003;
	snprintf(m.dev.udid, sizeof(m.dev.udid), "00008030-001A2B3C4D5E6F70");
	IB_CHECK_OK(encode_one(&m, &out));
	p = ib_buf_ptr(&out);
	IB_CHECK_EQ(ib_buf_len(&out), 284);
	IB_CHECK(p[0] == 0x1c && p[1] == 0x01 && p[8] == 4);
	IB_CHECK(p[16] == 5 && p[20] == 0xa8 && p[21] == 0x12);
	IB_CHECK(memcmp(p + 22, "00008030-001A2B3C4D5E6F70", 25) == 0);
	for (i = 22 + 25; i < 22 + 256; i++)
		IB_CHECK_EQ(p[i], 0);
	IB_CHECK(p[280] == 0x03 && p[282] == 0x14);
	IB_CHECK_OK(ib_muxd_decode(p, 284, &back));
	IB_CHECK_EQ(back.kind, IB_MUXD_K_ATTACHED);
	IB_CHECK_STR(back.dev.udid, "00008030-001A2B3C4D5E6F70");
	IB_CHECK_EQ(back.dev.product_id, 0x12a8);
	IB_CHECK_EQ(back.dev.location, 0x00140003);
	IB_CHECK_EQ(back.dev.handle, 5);
	IB_CHECK_STR(back.dev.conn_detail, "USB");

	/* A 24-character serial gets its hyphen like libusbmuxd's. */
	memcpy(bad, p, 284);
	memset(bad + 22, 0, 256);
	memcpy(bad + 22, "00008030001A2B3C4D5E6F70", 24);
	IB_CHECK_OK(ib_muxd_decode(bad, 284, &back));
	IB_CHECK_STR(back.dev.udid, "00008030-001A2B3C4D5E6F70");
	/* No terminating NUL in 256 bytes, empty, too long, control bytes. */
	memset(bad + 22, 'A', 256);
	IB_CHECK_ERR(ib_muxd_decode(bad, 284, &back), IB_ERR_MUXD_PROTOCOL);
	IB_CHECK_EQ(back.tag, 0);
	memset(bad + 22, 0, 256);
	IB_CHECK_ERR(ib_muxd_decode(bad, 284, &back), IB_ERR_MUXD_PROTOCOL);
	memset(bad + 22, 'A', IB_UDID_MAX + 1);
	IB_CHECK_ERR(ib_muxd_decode(bad, 284, &back), IB_ERR_MUXD_PROTOCOL);
	memset(bad + 22, 0, 256);
	memcpy(bad + 22, "abc\x01", 4);
	IB_CHECK_ERR(ib_muxd_decode(bad, 284, &back), IB_ERR_MUXD_PROTOCOL);
	ib_buf_free(&out);
}

IB_TEST(binary_lengths_are_exact)
{
	uint8_t b[32] = { 24, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0 };
	struct ib_muxd_msg m;

	/* RESULT with 8 payload bytes, CONNECT with 4, LISTEN with 4. */
	IB_CHECK_ERR(ib_muxd_decode(b, 24, &m), IB_ERR_MUXD_PROTOCOL);
	IB_CHECK_EQ(m.tag, 9);
	b[0] = 20;
	b[8] = 2;
	IB_CHECK_ERR(ib_muxd_decode(b, 20, &m), IB_ERR_MUXD_PROTOCOL);
	b[8] = 3;
	IB_CHECK_ERR(ib_muxd_decode(b, 20, &m), IB_ERR_MUXD_PROTOCOL);
	/* Unknown binary types decode as UNKNOWN (the server says 1). */
	b[8] = 7;
	IB_CHECK_OK(ib_muxd_decode(b, 20, &m));
	IB_CHECK_EQ(m.kind, IB_MUXD_K_UNKNOWN);
	/* Buffer shorter or longer than the header's length. */
	b[8] = 1;
	IB_CHECK_ERR(ib_muxd_decode(b, 19, &m), IB_ERR_INCOMPLETE);
	IB_CHECK_ERR(ib_muxd_decode(b, 21, &m), IB_ERR_TRAILING);
}

IB_TEST(header_caps_and_version)
{
	uint8_t b[20] = { 15, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0 };
	uint32_t len, ver, type, tag;
	struct ib_muxd_msg m;

	IB_CHECK_ERR(ib_muxd_header_parse(b, 16, &len, &ver, &type, &tag),
	    IB_ERR_MUXD_PROTOCOL);
	IB_CHECK_ERR(ib_muxd_header_parse(b, 15, &len, &ver, &type, &tag), IB_ERR_INCOMPLETE);
	b[0] = 0x01;
	b[1] = 0x00;
	b[2] = 0x01;            /* 65537 */
	IB_CHECK_ERR(ib_muxd_header_parse(b, 16, &len, &ver, &type, &tag),
	    IB_ERR_MUXD_PROTOCOL);
	b[0] = 0;               /* 65536 is allowed */
	IB_CHECK_OK(ib_muxd_header_parse(b, 16, &len, &ver, &type, &tag));
	IB_CHECK_EQ(len, 65536);
	/* Version 2: BADVERSION, tag kept for the answer. */
	b[0] = 20;
	b[2] = 0;
	b[4] = 2;
	IB_CHECK_ERR(ib_muxd_decode(b, 20, &m), IB_ERR_MUXD_BADVERSION);
	IB_CHECK_EQ(m.tag, 4);
	IB_CHECK_EQ(m.version, 2);
}

IB_TEST(plist_connect_port_is_byte_swapped_and_may_be_negative)
{
	struct ib_muxd_msg m, back;
	struct ib_buf out;
	uint8_t b[1024];
	size_t n;
	const char *xml;

	ib_muxd_msg_init(&m, IB_MUXD_K_CONNECT, 1, 3);
	m.device_id = 2;
	m.port = 62078;
	IB_CHECK_OK(encode_one(&m, &out));
	xml = (const char *)ib_buf_ptr(&out) + 16;
	IB_CHECK(memmem(xml, ib_buf_len(&out) - 16, "<integer>32498</integer>", 24) != NULL);
	IB_CHECK(memmem(xml, ib_buf_len(&out) - 16, "<string>Connect</string>", 24) != NULL);
	IB_CHECK_OK(ib_muxd_decode(ib_buf_ptr(&out), ib_buf_len(&out), &back));
	IB_CHECK(back.kind == IB_MUXD_K_CONNECT && back.port == 62078 && back.device_id == 2);
	IB_CHECK_STR(back.prog_name, "ibackup");
	IB_CHECK_EQ(back.lib_version, 3);
	ib_buf_free(&out);

	m.port = 22;
	IB_CHECK_OK(encode_one(&m, &out));
	IB_CHECK(memmem(ib_buf_ptr(&out), ib_buf_len(&out), "<integer>5632</integer>", 23) != NULL);
	ib_buf_free(&out);

	/* Appendix: Apple's clients write -27408 for port 61588, and add
	 * keys a server must ignore. */
	n = make_plist_msg(b, sizeof(b), 1, 11,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><plist version=\"1.0\"><dict>"
	    "<key>BundleID</key><string>com.apple.dt.Xcode</string>"
	    "<key>ClientVersionString</key><string>usbmuxd-511.10.5</string>"
	    "<key>DeviceID</key><integer>3</integer>"
	    "<key>MessageType</key><string>Connect</string>"
	    "<key>PortNumber</key><integer>-27408</integer>"
	    "<key>ProcessID</key><integer>4242</integer>"
	    "<key>ProgName</key><string>Xcode</string>"
	    "<key>kLibUSBMuxVersion</key><integer>3</integer>"
	    "</dict></plist>");
	IB_CHECK_OK(ib_muxd_decode(b, n, &back));
	IB_CHECK_EQ(back.kind, IB_MUXD_K_CONNECT);
	IB_CHECK_EQ(back.port, 61588);
	IB_CHECK_EQ(back.device_id, 3);
	IB_CHECK_EQ(back.tag, 11);
	IB_CHECK_STR(back.prog_name, "Xcode");
	IB_CHECK_STR(back.bundle_id, "com.apple.dt.Xcode");

	/* No PortNumber / no DeviceID: decoded, flags say so. */
	n = make_plist_msg(b, sizeof(b), 1, 1,
	    "<plist><dict><key>MessageType</key><string>Connect</string></dict></plist>");
	IB_CHECK_OK(ib_muxd_decode(b, n, &back));
	IB_CHECK(!back.has_port && !back.has_device_id);
	/* DeviceID of the wrong type counts as missing. */
	n = make_plist_msg(b, sizeof(b), 1, 1,
	    "<plist><dict><key>MessageType</key><string>Connect</string>"
	    "<key>DeviceID</key><string>1</string>"
	    "<key>PortNumber</key><integer>32498</integer></dict></plist>");
	IB_CHECK_OK(ib_muxd_decode(b, n, &back));
	IB_CHECK(back.has_port && !back.has_device_id && back.port == 62078);
}

static void
sample_device(struct ib_device *d, uint32_t id, const char *udid)
{
	memset(d, 0, sizeof(*d));
	d->handle = id;
	snprintf(d->udid, sizeof(d->udid), "%s", udid);
	d->product_id = 0x12a8;
	d->location = 34803712;
	d->speed_bps = 480000000;
	d->conn = IB_CONN_SIM;
	snprintf(d->conn_detail, sizeof(d->conn_detail), "USB");
}

IB_TEST(plist_attached_carries_apple_and_usbmuxd_properties)
{
	struct ib_muxd_msg m, back;
	struct ib_buf out;
	plist_t d = NULL, props = NULL;
	const char *s;
	uint64_t u;

	ib_muxd_msg_init(&m, IB_MUXD_K_ATTACHED, 1, 0);
	sample_device(&m.dev, 3, "00008020-001234560E38002E");
	IB_CHECK_OK(encode_one(&m, &out));
	IB_CHECK_OK(ib_plist_parse_dict(ib_buf_ptr(&out) + 16, ib_buf_len(&out) - 16,
	    IB_MUXD_MSG_MAX, &d));
	IB_CHECK_OK(ib_plist_dict_get_string(d, "MessageType", &s));
	IB_CHECK_STR(s, "Attached");
	IB_CHECK_OK(ib_plist_dict_get_dict(d, "Properties", &props));
	IB_CHECK_OK(ib_plist_dict_get_uint(props, "ConnectionSpeed", &u));
	IB_CHECK_EQ(u, 480000000);
	IB_CHECK_OK(ib_plist_dict_get_string(props, "ConnectionType", &s));
	IB_CHECK_STR(s, "USB");
	IB_CHECK_OK(ib_plist_dict_get_uint(props, "DeviceID", &u));
	IB_CHECK_EQ(u, 3);
	IB_CHECK_OK(ib_plist_dict_get_uint(props, "LocationID", &u));
	IB_CHECK_EQ(u, 34803712);
	IB_CHECK_OK(ib_plist_dict_get_uint(props, "ProductID", &u));
	IB_CHECK_EQ(u, 4776);
	IB_CHECK_OK(ib_plist_dict_get_string(props, "SerialNumber", &s));
	IB_CHECK_STR(s, "00008020-001234560E38002E");
	IB_CHECK_OK(ib_plist_dict_get_string(props, "UDID", &s));
	IB_CHECK_STR(s, "00008020-001234560E38002E");
	IB_CHECK_OK(ib_plist_dict_get_string(props, "USBSerialNumber", &s));
	IB_CHECK_STR(s, "00008020001234560E38002E");
	plist_free(d);

	IB_CHECK_OK(ib_muxd_decode(ib_buf_ptr(&out), ib_buf_len(&out), &back));
	IB_CHECK_EQ(back.kind, IB_MUXD_K_ATTACHED);
	IB_CHECK_EQ(back.dev.handle, 3);
	IB_CHECK_STR(back.dev.udid, "00008020-001234560E38002E");
	IB_CHECK_EQ(back.dev.speed_bps, 480000000);
	IB_CHECK_EQ(back.dev.conn, IB_CONN_USBMUXD);
	IB_CHECK_STR(back.dev.conn_detail, "USB");
	ib_buf_free(&out);

	/* libusbmuxd drops devices of any type but USB and Network: one of
	 * ibackup's own mux ("Sim") is announced as USB. */
	snprintf(m.dev.conn_detail, sizeof(m.dev.conn_detail), "Sim");
	IB_CHECK_OK(encode_one(&m, &out));
	IB_CHECK_OK(ib_muxd_decode(ib_buf_ptr(&out), ib_buf_len(&out), &back));
	IB_CHECK_STR(back.dev.conn_detail, "USB");
	ib_buf_free(&out);
	m.dev.conn = IB_CONN_NETWORK;
	IB_CHECK_OK(encode_one(&m, &out));
	IB_CHECK_OK(ib_muxd_decode(ib_buf_ptr(&out), ib_buf_len(&out), &back));
	IB_CHECK_STR(back.dev.conn_detail, "Network");
	ib_buf_free(&out);
}

IB_TEST(plist_replies_without_message_type)
{
	struct ib_muxd_msg m, back;
	struct ib_device devs[2];
	struct ib_buf out;
	uint8_t b[2048];
	size_t n;
	static const uint8_t rec[] = "<plist><dict><key>HostID</key><string>X</string></dict></plist>";

	/* Apple's {BUID} and {PairRecordData} replies (Appendix). */
	n = make_plist_msg(b, sizeof(b), 1, 5,
	    "<plist><dict><key>BUID</key><string>0A1B2C3D-0000-4000-8000-00000000ABCD"
	    "</string></dict></plist>");
	IB_CHECK_OK(ib_muxd_decode(b, n, &back));
	IB_CHECK_EQ(back.kind, IB_MUXD_K_BUID);
	IB_CHECK_STR(back.buid, "0A1B2C3D-0000-4000-8000-00000000ABCD");
	IB_CHECK_OK(ib_muxd_reply_check(IB_MUXD_K_READ_BUID, &back));

	n = make_plist_msg(b, sizeof(b), 1, 6,
	    "<plist><dict><key>PairRecordData</key><data>AAEC/w==</data></dict></plist>");
	IB_CHECK_OK(ib_muxd_decode(b, n, &back));
	IB_CHECK_EQ(back.kind, IB_MUXD_K_PAIR_RECORD_DATA);
	IB_CHECK_EQ(back.data_len, 4);
	IB_CHECK(back.data[0] == 0 && back.data[1] == 1 && back.data[3] == 0xff);
	IB_CHECK_OK(ib_muxd_reply_check(IB_MUXD_K_READ_PAIR_RECORD, &back));
	IB_CHECK_ERR(ib_muxd_reply_check(IB_MUXD_K_READ_BUID, &back), IB_ERR_MUXD_PROTOCOL);
	ib_muxd_msg_clear(&back);

	/* Round trips of every reply kind. */
	ib_muxd_msg_init(&m, IB_MUXD_K_DEVICE_LIST, 1, 8);
	sample_device(&devs[0], 1, "00008030-001A2B3C4D5E6F70");
	sample_device(&devs[1], 2, "0123456789abcdef0123456789abcdef01234567");
	m.devs = devs;
	m.ndevs = 2;
	IB_CHECK_OK(encode_one(&m, &out));
	IB_CHECK_OK(ib_muxd_decode(ib_buf_ptr(&out), ib_buf_len(&out), &back));
	IB_CHECK_EQ(back.kind, IB_MUXD_K_DEVICE_LIST);
	IB_CHECK_EQ(back.ndevs, 2);
	IB_CHECK_STR(back.devs[1].udid, "0123456789abcdef0123456789abcdef01234567");
	IB_CHECK_EQ(back.devs[1].handle, 2);
	IB_CHECK_OK(ib_muxd_reply_check(IB_MUXD_K_LIST_DEVICES, &back));
	ib_muxd_msg_clear(&back);
	ib_buf_free(&out);

	ib_muxd_msg_init(&m, IB_MUXD_K_PAIR_RECORD_DATA, 1, 9);
	m.data = (uint8_t *)rec;
	m.data_len = sizeof(rec) - 1;
	IB_CHECK_OK(encode_one(&m, &out));
	IB_CHECK_OK(ib_muxd_decode(ib_buf_ptr(&out), ib_buf_len(&out), &back));
	IB_CHECK(back.data_len == sizeof(rec) - 1 && memcmp(back.data, rec, back.data_len) == 0);
	ib_muxd_msg_clear(&back);
	ib_buf_free(&out);

	/* A dict with none of the known keys. */
	n = make_plist_msg(b, sizeof(b), 1, 6,
	    "<plist><dict><key>Foo</key><string>x</string></dict></plist>");
	IB_CHECK_ERR(ib_muxd_decode(b, n, &back), IB_ERR_MUXD_PROTOCOL);
	IB_CHECK_EQ(back.tag, 6);
	/* Not a dict, not a plist, MessageType not a string. */
	n = make_plist_msg(b, sizeof(b), 1, 6, "<plist><array/></plist>");
	IB_CHECK_ERR(ib_muxd_decode(b, n, &back), IB_ERR_MUXD_PROTOCOL);
	n = make_plist_msg(b, sizeof(b), 1, 6, "garbage");
	IB_CHECK_ERR(ib_muxd_decode(b, n, &back), IB_ERR_MUXD_PROTOCOL);
	n = make_plist_msg(b, sizeof(b), 1, 6,
	    "<plist><dict><key>MessageType</key><integer>1</integer></dict></plist>");
	IB_CHECK_ERR(ib_muxd_decode(b, n, &back), IB_ERR_MUXD_PROTOCOL);
}

IB_TEST(version_zero_plist_reply_is_parsed_by_message_type)
{
	struct ib_muxd_msg back;
	uint8_t b[1024];
	size_t n;

	/* usbmuxd2 answers plist requests with header version 0. */
	n = make_plist_msg(b, sizeof(b), 0, 2,
	    "<plist><dict><key>MessageType</key><string>Result</string>"
	    "<key>Number</key><integer>0</integer></dict></plist>");
	IB_CHECK_OK(ib_muxd_decode(b, n, &back));
	IB_CHECK_EQ(back.kind, IB_MUXD_K_RESULT);
	IB_CHECK_EQ(back.version, 0);
	IB_CHECK_EQ(back.plist, 1);
	IB_CHECK_EQ(back.number, 0);
	IB_CHECK_OK(ib_muxd_reply_check(IB_MUXD_K_CONNECT, &back));
}

IB_TEST(all_request_kinds_round_trip)
{
	static const enum ib_muxd_kind kinds[] = {
		IB_MUXD_K_LISTEN, IB_MUXD_K_LIST_DEVICES, IB_MUXD_K_LIST_LISTENERS,
		IB_MUXD_K_READ_BUID, IB_MUXD_K_READ_PAIR_RECORD, IB_MUXD_K_SAVE_PAIR_RECORD,
		IB_MUXD_K_DELETE_PAIR_RECORD, IB_MUXD_K_UNKNOWN,
	};
	static const uint8_t rec[] = { 1, 2, 3, 0, 5 };
	struct ib_muxd_msg m, back;
	struct ib_buf out;
	size_t i;

	for (i = 0; i < IB_ARRAY_LEN(kinds); i++) {
		ib_muxd_msg_init(&m, kinds[i], 1, (uint32_t)i + 100);
		snprintf(m.record_id, sizeof(m.record_id), "00008030-001A2B3C4D5E6F70");
		snprintf(m.message_type, sizeof(m.message_type), "Frobnicate");
		m.data = (uint8_t *)rec;
		m.data_len = sizeof(rec);
		m.device_id = 4;
		m.has_device_id = 1;
		IB_CHECK_OK(encode_one(&m, &out));
		IB_CHECK_OK(ib_muxd_decode(ib_buf_ptr(&out), ib_buf_len(&out), &back));
		IB_CHECK_EQ(back.kind, kinds[i]);
		IB_CHECK_EQ(back.tag, i + 100);
		IB_CHECK_EQ(back.version, 1);
		if (kinds[i] == IB_MUXD_K_READ_PAIR_RECORD || kinds[i] == IB_MUXD_K_DELETE_PAIR_RECORD ||
		    kinds[i] == IB_MUXD_K_SAVE_PAIR_RECORD) {
			IB_CHECK(back.has_record_id);
			IB_CHECK_STR(back.record_id, "00008030-001A2B3C4D5E6F70");
		}
		if (kinds[i] == IB_MUXD_K_SAVE_PAIR_RECORD) {
			IB_CHECK(back.has_data && back.data_len == sizeof(rec));
			IB_CHECK(memcmp(back.data, rec, sizeof(rec)) == 0);
			IB_CHECK(back.has_device_id && back.device_id == 4);
		}
		if (kinds[i] == IB_MUXD_K_UNKNOWN)
			IB_CHECK_STR(back.message_type, "Frobnicate");
		ib_muxd_msg_clear(&back);
		ib_buf_free(&out);
	}
	/* Kinds without a binary form are refused, out untouched. */
	ib_muxd_msg_init(&m, IB_MUXD_K_READ_BUID, 0, 1);
	ib_buf_init(&out, IB_MUXD_MSG_MAX);
	IB_CHECK_ERR(ib_muxd_encode(&out, &m), IB_ERR_INVALID_ARG);
	IB_CHECK_EQ(ib_buf_len(&out), 0);
	ib_buf_free(&out);
}

IB_TEST(listener_list_round_trip)
{
	struct ib_muxd_listener ls[2];
	struct ib_muxd_msg m, back;
	struct ib_buf out;

	memset(ls, 0, sizeof(ls));
	snprintf(ls[0].id, sizeof(ls[0].id), "1-idevice_id");
	snprintf(ls[0].prog_name, sizeof(ls[0].prog_name), "idevice_id");
	ls[0].version = 3;
	snprintf(ls[1].id, sizeof(ls[1].id), "2-Xcode");
	snprintf(ls[1].prog_name, sizeof(ls[1].prog_name), "Xcode");
	snprintf(ls[1].bundle_id, sizeof(ls[1].bundle_id), "com.apple.dt.Xcode");
	ib_muxd_msg_init(&m, IB_MUXD_K_LISTENER_LIST, 1, 1);
	m.listeners = ls;
	m.nlisteners = 2;
	IB_CHECK_OK(encode_one(&m, &out));
	IB_CHECK_OK(ib_muxd_decode(ib_buf_ptr(&out), ib_buf_len(&out), &back));
	IB_CHECK_EQ(back.kind, IB_MUXD_K_LISTENER_LIST);
	IB_CHECK_EQ(back.nlisteners, 2);
	IB_CHECK_STR(back.listeners[0].id, "1-idevice_id");
	IB_CHECK_EQ(back.listeners[0].version, 3);
	IB_CHECK_STR(back.listeners[1].bundle_id, "com.apple.dt.Xcode");
	ib_muxd_msg_clear(&back);
	ib_buf_free(&out);
}

/* A conversation of several messages of both forms. */
static size_t
make_stream(uint8_t *out, size_t cap)
{
	struct ib_muxd_msg m;
	struct ib_buf b;
	size_t n;

	ib_buf_init(&b, cap);
	ib_muxd_msg_init(&m, IB_MUXD_K_RESULT, 1, 1);
	(void)ib_muxd_encode(&b, &m);
	ib_muxd_msg_init(&m, IB_MUXD_K_ATTACHED, 1, 0);
	sample_device(&m.dev, 1, "00008030-001A2B3C4D5E6F70");
	(void)ib_muxd_encode(&b, &m);
	ib_muxd_msg_init(&m, IB_MUXD_K_ATTACHED, 0, 0);
	sample_device(&m.dev, 2, "00008030-0000000000000002");
	(void)ib_muxd_encode(&b, &m);
	ib_muxd_msg_init(&m, IB_MUXD_K_LISTEN, 0, 3);
	(void)ib_muxd_encode(&b, &m);
	ib_muxd_msg_init(&m, IB_MUXD_K_DETACHED, 1, 0);
	m.device_id = 1;
	(void)ib_muxd_encode(&b, &m);
	n = ib_buf_len(&b);
	memcpy(out, ib_buf_ptr(&b), n);
	ib_buf_free(&b);
	return n;
}

/* Feed in pieces of the given sizes (cycled); collect kinds + handles. */
static int
feed_split(const uint8_t *p, size_t n, const size_t *sizes, size_t nsizes,
    uint32_t *got, size_t *ngot)
{
	struct ib_muxd_decoder d;
	struct ib_muxd_msg m;
	size_t off = 0, k = 0, used, piece;
	int r = IB_OK;

	*ngot = 0;
	ib_muxd_decoder_init(&d);
	while (off < n && r == IB_OK) {
		piece = IB_MIN(sizes[k % nsizes], n - off);
		k++;
		while (piece > 0 && r == IB_OK) {
			if ((r = ib_muxd_decoder_feed(&d, p + off, piece, &used)) != IB_OK)
				break;
			off += used;
			piece -= used;
			if (ib_muxd_decoder_want(&d) == 0) {
				if ((r = ib_muxd_decoder_next(&d, &m)) != IB_OK)
					break;
				got[(*ngot)++] = (uint32_t)m.kind * 1000 + m.dev.handle + m.device_id;
				ib_muxd_msg_clear(&m);
			}
		}
	}
	if (r == IB_OK && ib_muxd_decoder_next(&d, &m) != IB_ERR_INCOMPLETE)
		r = IB_ERR_INTERNAL;
	ib_muxd_decoder_release(&d);
	return r;
}

IB_TEST(decoder_gives_the_same_messages_for_any_chunking)
{
	uint8_t stream[8192];
	uint32_t want[8], got[8];
	size_t n, nwant, ngot, sizes[16], i, round;
	static const size_t one = 1, all = 1 << 20;

	n = make_stream(stream, sizeof(stream));
	IB_CHECK(n > 300);
	IB_CHECK_OK(feed_split(stream, n, &all, 1, want, &nwant));
	IB_CHECK_EQ(nwant, 5);
	IB_CHECK_EQ(want[0], IB_MUXD_K_RESULT * 1000);
	IB_CHECK_EQ(want[2], IB_MUXD_K_ATTACHED * 1000 + 2);
	IB_CHECK_EQ(want[4], IB_MUXD_K_DETACHED * 1000 + 1);
	IB_CHECK_OK(feed_split(stream, n, &one, 1, got, &ngot));
	IB_CHECK_EQ(ngot, nwant);
	IB_CHECK(memcmp(got, want, nwant * sizeof(want[0])) == 0);
	srand(1234);
	for (round = 0; round < 200; round++) {
		for (i = 0; i < IB_ARRAY_LEN(sizes); i++)
			sizes[i] = 1 + (size_t)rand() % 300;
		IB_CHECK_OK(feed_split(stream, n, sizes, IB_ARRAY_LEN(sizes), got, &ngot));
		IB_CHECK_EQ(ngot, nwant);
		IB_CHECK(memcmp(got, want, nwant * sizeof(want[0])) == 0);
	}
}

IB_TEST(decoder_stops_at_the_message_end_and_fails_on_bad_lengths)
{
	static const uint8_t two[40] = {
		20, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
		'r', 'a', 'w', ' ', 'b', 'y', 't', 'e', 's', ' ', 'a', 'f', 't', 'e', 'r', '.',
		'.', '.', '.', '.',
	};
	static const uint8_t shortlen[16] = { 8, 0, 0, 0 };
	struct ib_muxd_decoder d;
	struct ib_muxd_msg m;
	size_t used;

	ib_muxd_decoder_init(&d);
	IB_CHECK_EQ(ib_muxd_decoder_want(&d), 16);
	IB_CHECK_OK(ib_muxd_decoder_feed(&d, two, 10, &used));
	IB_CHECK_EQ(used, 10);
	IB_CHECK_EQ(ib_muxd_decoder_want(&d), 6);
	IB_CHECK_ERR(ib_muxd_decoder_next(&d, &m), IB_ERR_INCOMPLETE);
	IB_CHECK_OK(ib_muxd_decoder_feed(&d, two + 10, 30, &used));
	/* Only the rest of the Result: what follows is someone else's. */
	IB_CHECK_EQ(used, 10);
	IB_CHECK_EQ(ib_muxd_decoder_want(&d), 0);
	IB_CHECK_OK(ib_muxd_decoder_next(&d, &m));
	IB_CHECK_EQ(m.kind, IB_MUXD_K_RESULT);
	IB_CHECK_EQ(ib_muxd_decoder_want(&d), 16);
	ib_muxd_decoder_release(&d);

	ib_muxd_decoder_init(&d);
	IB_CHECK_ERR(ib_muxd_decoder_feed(&d, shortlen, 16, &used), IB_ERR_MUXD_PROTOCOL);
	IB_CHECK_ERR(ib_muxd_decoder_feed(&d, shortlen, 16, &used), IB_ERR_MUXD_PROTOCOL);
	IB_CHECK_ERR(ib_muxd_decoder_next(&d, &m), IB_ERR_MUXD_PROTOCOL);
	ib_muxd_decoder_release(&d);
}

IB_TEST(result_codes_map_by_operation)
{
	IB_CHECK_OK(ib_muxd_result_err(IB_MUXD_K_CONNECT, 0));
	IB_CHECK_ERR(ib_muxd_result_err(IB_MUXD_K_CONNECT, 1), IB_ERR_MUXD_BADCOMMAND);
	IB_CHECK_ERR(ib_muxd_result_err(IB_MUXD_K_CONNECT, 2), IB_ERR_MUXD_BADDEV);
	IB_CHECK_ERR(ib_muxd_result_err(IB_MUXD_K_CONNECT, 3), IB_ERR_MUX_REFUSED);
	IB_CHECK_ERR(ib_muxd_result_err(IB_MUXD_K_LISTEN, 6), IB_ERR_MUXD_BADVERSION);
	IB_CHECK_ERR(ib_muxd_result_err(IB_MUXD_K_LISTEN, 4), IB_ERR_MUXD_RESULT);
	/* Pair-record operations answer errno values. */
	IB_CHECK_ERR(ib_muxd_result_err(IB_MUXD_K_READ_PAIR_RECORD, ENOENT), IB_ERR_NOT_FOUND);
	IB_CHECK_ERR(ib_muxd_result_err(IB_MUXD_K_DELETE_PAIR_RECORD, ENOENT), IB_ERR_NOT_FOUND);
	IB_CHECK_ERR(ib_muxd_result_err(IB_MUXD_K_SAVE_PAIR_RECORD, EINVAL), IB_ERR_INVALID_ARG);
	IB_CHECK_ERR(ib_muxd_result_err(IB_MUXD_K_SAVE_PAIR_RECORD, EACCES), IB_ERR_MUXD_RESULT);
	IB_CHECK_OK(ib_muxd_result_err(IB_MUXD_K_SAVE_PAIR_RECORD, 0));
}

IB_TEST(reply_check_refuses_the_wrong_reply)
{
	struct ib_muxd_msg m;

	ib_muxd_msg_init(&m, IB_MUXD_K_RESULT, 1, 1);
	m.number = 0;
	IB_CHECK_OK(ib_muxd_reply_check(IB_MUXD_K_CONNECT, &m));
	IB_CHECK_OK(ib_muxd_reply_check(IB_MUXD_K_SAVE_PAIR_RECORD, &m));
	IB_CHECK_ERR(ib_muxd_reply_check(IB_MUXD_K_READ_BUID, &m), IB_ERR_MUXD_PROTOCOL);
	IB_CHECK_ERR(ib_muxd_reply_check(IB_MUXD_K_LIST_DEVICES, &m), IB_ERR_MUXD_PROTOCOL);
	m.number = ENOENT;
	IB_CHECK_ERR(ib_muxd_reply_check(IB_MUXD_K_READ_PAIR_RECORD, &m), IB_ERR_NOT_FOUND);
	IB_CHECK_ERR(ib_muxd_reply_check(IB_MUXD_K_CONNECT, &m), IB_ERR_MUXD_BADDEV);
	/* 6 is ENXIO in a plist reply to a pair-record request, BADVERSION
	 * in a binary one (a server without plist support). */
	m.number = 6;
	IB_CHECK_ERR(ib_muxd_reply_check(IB_MUXD_K_SAVE_PAIR_RECORD, &m), IB_ERR_MUXD_RESULT);
	m.plist = 0;
	m.version = 0;
	IB_CHECK_ERR(ib_muxd_reply_check(IB_MUXD_K_SAVE_PAIR_RECORD, &m), IB_ERR_MUXD_BADVERSION);
	m.kind = IB_MUXD_K_ATTACHED;
	IB_CHECK_ERR(ib_muxd_reply_check(IB_MUXD_K_CONNECT, &m), IB_ERR_MUXD_PROTOCOL);
}

static void
check_addr(const char *spec, int is_unix, const char *name, unsigned port, int is_default)
{
	struct ib_muxd_addr a;

	ib_muxd_addr_parse(spec, &a);
	if (a.is_unix != is_unix || strcmp(a.name, name) != 0 ||
	    (!is_unix && a.port != port) || a.is_default != is_default) {
		fprintf(stderr, "    spec \"%s\": unix %d name \"%s\" port %u default %d\n",
		    spec ? spec : "(null)", a.is_unix, a.name, a.port, a.is_default);
		ib_test_fail(__FILE__, __LINE__, spec ? spec : "(null)");
	}
}

IB_TEST(socket_address_parses_like_libusbmuxd)
{
	const char *def = IB_MUXD_DEFAULT_SOCKET;
	struct ib_muxd_addr a;
	char text[600], longspec[700];

	check_addr(NULL, 1, def, 0, 1);
	check_addr("", 1, def, 0, 1);
	check_addr("UNIX:/tmp/muxd.sock", 1, "/tmp/muxd.sock", 0, 0);
	check_addr("UNIX:relative", 1, "relative", 0, 0);
	check_addr("UNIX:", 1, def, 0, 1);
	check_addr("unix:/tmp/x", 1, def, 0, 1);        /* case-sensitive prefix */
	check_addr("127.0.0.1:27015", 0, "127.0.0.1", 27015, 0);
	check_addr("localhost:1", 0, "localhost", 1, 0);
	check_addr("host:65535", 0, "host", 65535, 0);
	check_addr("[::1]:27015", 0, "::1", 27015, 0);
	check_addr("[fe80::1%eth0]:5000", 0, "fe80::1%eth0", 5000, 0);
	check_addr("::1:27015", 0, "::1", 27015, 0);    /* last colon splits */
	check_addr("[::1:27015", 0, "::1", 27015, 0);   /* no ']' */
	check_addr("host: 80", 0, "host", 80, 0);       /* strtol skips blanks */
	check_addr("host:+80", 0, "host", 80, 0);
	/* Fallbacks to the default. */
	check_addr("host", 1, def, 0, 1);
	check_addr("host:", 1, def, 0, 1);
	check_addr("host:0", 1, def, 0, 1);
	check_addr("host:65536", 1, def, 0, 1);
	check_addr("host:-1", 1, def, 0, 1);
	check_addr("host:12ab", 1, def, 0, 1);
	check_addr("host:80 ", 1, def, 0, 1);
	check_addr("host:99999999999999999999999", 1, def, 0, 1);
	check_addr(":27015", 1, def, 0, 1);
	check_addr("[]:27015", 1, def, 0, 1);
	check_addr("[:27015", 1, def, 0, 1);
	check_addr("[::1]", 1, def, 0, 1);
	if (ib_test_failed())
		return;

	ib_muxd_addr_parse("[::1]:27015", &a);
	ib_muxd_addr_format(&a, text, sizeof(text));
	IB_CHECK_STR(text, "[::1]:27015");
	ib_muxd_addr_parse("UNIX:/tmp/s", &a);
	ib_muxd_addr_format(&a, text, sizeof(text));
	IB_CHECK_STR(text, "UNIX:/tmp/s");
	ib_muxd_addr_parse(NULL, &a);
	ib_muxd_addr_format(&a, text, sizeof(text));
	IB_CHECK_STR(text, "UNIX:/var/run/usbmuxd");

	/* A path too long for a socket is kept (no fallback) and fails. */
	memset(longspec, 'a', sizeof(longspec));
	memcpy(longspec, "UNIX:/", 6);
	longspec[sizeof(longspec) - 1] = '\0';
	ib_muxd_addr_parse(longspec, &a);
	IB_CHECK(a.is_unix && !a.is_default && a.name_too_long);
	{
		int fd;

		IB_CHECK_ERR(ib_muxd_addr_connect(&a, 100, &fd), IB_ERR_MUXD_CONNECT);
		IB_CHECK_EQ(fd, -1);
	}
}

IB_TEST(connect_over_tcp_v4_and_v6)
{
	static const char *const specs[] = { "127.0.0.1:%u", "localhost:%u", "[::1]:%u" };
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;
	struct ib_muxd_addr a;
	socklen_t len;
	char spec[64];
	size_t i;
	int l4, l6, fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l4 = socket(AF_INET, SOCK_STREAM, 0);
	len = sizeof(sin);
	IB_CHECK(l4 >= 0 && bind(l4, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    listen(l4, 4) == 0 && getsockname(l4, (struct sockaddr *)&sin, &len) == 0);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	l6 = socket(AF_INET6, SOCK_STREAM, 0);
	len = sizeof(sin6);
	if (l6 >= 0 && (bind(l6, (struct sockaddr *)&sin6, sizeof(sin6)) != 0 ||
	    listen(l6, 4) != 0 || getsockname(l6, (struct sockaddr *)&sin6, &len) != 0)) {
		close(l6);
		l6 = -1;        /* no IPv6 loopback here */
	}
	for (i = 0; i < IB_ARRAY_LEN(specs); i++) {
		if (i == 2 && l6 < 0)
			continue;
		snprintf(spec, sizeof(spec), specs[i],
		    ntohs(i == 2 ? sin6.sin6_port : sin.sin_port));
		ib_muxd_addr_parse(spec, &a);
		IB_CHECK(!a.is_unix);
		IB_CHECK_OK(ib_muxd_addr_connect(&a, 2000, &fd));
		close(fd);
	}
	close(l4);
	if (l6 >= 0)
		close(l6);
}

IB_TEST(connect_to_nothing_fails_cleanly)
{
	struct ib_muxd_addr a;
	int fd = 0;

	ib_muxd_addr_parse("UNIX:/nonexistent/ibackup-muxd.sock", &a);
	IB_CHECK_ERR(ib_muxd_addr_connect(&a, 500, &fd), IB_ERR_MUXD_CONNECT);
	IB_CHECK_EQ(fd, -1);
	IB_CHECK(strstr(ib_err_detail(), "UNIX:/nonexistent/ibackup-muxd.sock") != NULL);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
