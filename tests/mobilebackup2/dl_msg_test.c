/*
 * dl_msg_test - DeviceLink and MobileBackup2 messages, both roles: every
 * message built by one side parses on the other after a trip through the
 * binary writer; malformed arrays fail with the documented errors.
 */
#include "ib_test.h"
#include "dl_msg.h"
#include "mb2_msg.h"
#include "ib_limits.h"
#include "ib_plist.h"
#include "ib_util.h"
#include "mb2_test_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Serialise with ib_plist_to_bin and parse back, as the wire does. */
static plist_t
wire(plist_t msg)
{
	uint8_t *bin = NULL;
	size_t n = 0;
	plist_t back = NULL;

	if (ib_plist_to_bin(msg, &bin, &n) != IB_OK)
		return NULL;
	if (ib_plist_parse(bin, n, IB_PLIST_MSG_MAX, &back) != IB_OK)
		back = NULL;
	free(bin);
	plist_free(msg);
	return back;
}

/* ["name", items...] built by hand for malformed cases. */
static plist_t
arr(const char *name, plist_t a1, plist_t a2, plist_t a3)
{
	plist_t a = plist_new_array();

	plist_array_append_item(a, plist_new_string(name));
	if (a1 != NULL)
		plist_array_append_item(a, a1);
	if (a2 != NULL)
		plist_array_append_item(a, a2);
	if (a3 != NULL)
		plist_array_append_item(a, a3);
	return a;
}

IB_TEST(dl_version_exchange_both_roles)
{
	plist_t m = NULL;
	uint64_t major, minor;

	IB_CHECK_OK(ib_dl_version_exchange_new(400, 0, &m));
	m = wire(m);
	IB_CHECK_OK(ib_dl_version_exchange_parse(m, &major, &minor));
	IB_CHECK_EQ(major, 400);
	IB_CHECK_EQ(minor, 0);
	plist_free(m);

	IB_CHECK_OK(ib_dl_version_exchange_new(300, 0, &m));
	IB_CHECK_OK(ib_dl_version_exchange_parse(m, &major, &minor));
	IB_CHECK_EQ(major, 300);
	plist_free(m);

	IB_CHECK_OK(ib_dl_version_exchange_new(401, 0, &m));
	IB_CHECK_ERR(ib_dl_version_exchange_parse(m, &major, &minor), IB_ERR_DL_VERSION);
	IB_CHECK_EQ(major, 0);
	plist_free(m);
	IB_CHECK_OK(ib_dl_version_exchange_new(400, 1, &m));
	IB_CHECK_ERR(ib_dl_version_exchange_parse(m, &major, &minor), IB_ERR_DL_VERSION);
	plist_free(m);

	/* Host answer, parsed by the device. */
	IB_CHECK_OK(ib_dl_versions_ok_new(300, &m));
	m = wire(m);
	IB_CHECK_OK(ib_dl_versions_ok_parse(m, &major));
	IB_CHECK_EQ(major, 300);
	plist_free(m);
	m = arr("DLMessageVersionExchange", plist_new_string("DLVersionsBad"), plist_new_uint(400), NULL);
	IB_CHECK_ERR(ib_dl_versions_ok_parse(m, &major), IB_ERR_DL_VERSION);
	plist_free(m);

	/* Wrong types and counts. */
	m = arr("DLMessageVersionExchange", plist_new_string("400"), plist_new_uint(0), NULL);
	IB_CHECK_ERR(ib_dl_version_exchange_parse(m, &major, &minor), IB_ERR_PLIST_TYPE);
	plist_free(m);
	m = arr("DLMessageVersionExchange", plist_new_uint(400), NULL, NULL);
	IB_CHECK_ERR(ib_dl_version_exchange_parse(m, &major, &minor), IB_ERR_DL_PROTOCOL);
	plist_free(m);

	IB_CHECK_OK(ib_dl_device_ready_new(&m));
	m = wire(m);
	IB_CHECK_OK(ib_dl_device_ready_parse(m));
	IB_CHECK_ERR(ib_dl_version_exchange_parse(m, &major, &minor), IB_ERR_DL_PROTOCOL);
	plist_free(m);
}

IB_TEST(dl_message_shape_checks)
{
	plist_t m = plist_new_dict();
	const char *name;
	struct ib_dl_request req;
	size_t i;

	IB_CHECK_ERR(ib_dl_msg_name(m, &name), IB_ERR_DL_PROTOCOL);
	IB_CHECK_ERR(ib_dl_request_parse(m, &req), IB_ERR_DL_PROTOCOL);
	plist_free(m);
	m = plist_new_array();
	IB_CHECK_ERR(ib_dl_msg_name(m, &name), IB_ERR_DL_PROTOCOL);
	plist_free(m);
	m = arr("DLshort", NULL, NULL, NULL);
	IB_CHECK_ERR(ib_dl_msg_name(m, &name), IB_ERR_DL_PROTOCOL);
	plist_free(m);
	m = arr("XXMessageDownloadFiles", NULL, NULL, NULL);
	IB_CHECK_ERR(ib_dl_msg_name(m, &name), IB_ERR_DL_PROTOCOL);
	plist_free(m);
	m = plist_new_array();
	plist_array_append_item(m, plist_new_uint(1));
	IB_CHECK_ERR(ib_dl_msg_name(m, &name), IB_ERR_DL_PROTOCOL);
	plist_free(m);
	/* Too long: more elements than any DL message has. */
	m = arr("DLMessageGetFreeDiskSpace", NULL, NULL, NULL);
	for (i = 0; i < IB_DL_MSG_ELEMS_MAX; i++)
		plist_array_append_item(m, plist_new_uint(i));
	IB_CHECK_ERR(ib_dl_request_parse(m, &req), IB_ERR_DL_PROTOCOL);
	plist_free(m);
}

IB_TEST(dl_status_response_negative_is_signed)
{
	plist_t m = NULL, payload = NULL, back;
	uint8_t *bin = NULL;
	size_t n = 0, i;
	int found = 0;
	struct ib_dl_status_response st;
	static const uint8_t neg13[] = { 0x13, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf3 };
	int64_t code;
	const char *s;

	IB_CHECK_OK(ib_dl_file_errors_add(&payload, "UDID/Status.plist", IB_DL_STATUS_ENOENT,
	    "No such file or directory"));
	IB_CHECK_OK(ib_dl_status_response_new(IB_DL_STATUS_MULTI, "Multi status", payload, &m));
	plist_free(payload);
	IB_CHECK_OK(ib_plist_to_bin(m, &bin, &n));
	for (i = 0; i + sizeof(neg13) <= n; i++)
		if (memcmp(bin + i, neg13, sizeof(neg13)) == 0)
			found = 1;
	IB_CHECK(found);
	/* -6 inside the error dict is signed too. */
	found = 0;
	for (i = 0; i + 2 <= n; i++)
		if (bin[i] == 0x13 && i + 9 <= n && bin[i + 8] == 0xfa)
			found = 1;
	IB_CHECK(found);
	IB_CHECK_OK(ib_plist_parse(bin, n, IB_PLIST_MSG_MAX, &back));
	IB_CHECK_OK(ib_dl_status_response_parse(back, &st));
	IB_CHECK_EQ(st.status, -13);
	IB_CHECK_STR(st.text, "Multi status");
	IB_CHECK(ib_plist_is_dict(st.payload));
	IB_CHECK_OK(ib_plist_dict_get_dict(st.payload, "UDID/Status.plist", &payload));
	IB_CHECK_OK(ib_plist_dict_get_int(payload, "DLFileErrorCode", &code));
	IB_CHECK_EQ(code, -6);
	IB_CHECK_OK(ib_plist_dict_get_string(payload, "DLFileErrorString", &s));
	IB_CHECK_STR(s, "No such file or directory");
	plist_free(back);

	/* An independent reader: Python's plistlib sees -13 and -6. */
	IB_CHECK(tu_plistlib_check(bin, n, "v[1]==-13 and "
	    "v[3][\"UDID/Status.plist\"][\"DLFileErrorCode\"]==-6") != 1);
	free(bin);
	plist_free(m);

	/* Empty parameters; a status written as unsigned two's complement
	 * (old hosts) reads as the same negative number. */
	IB_CHECK_OK(ib_dl_status_ok_new(&m));
	m = wire(m);
	IB_CHECK_OK(ib_dl_status_response_parse(m, &st));
	IB_CHECK_EQ(st.status, 0);
	IB_CHECK(st.text == NULL);
	plist_free(m);
	m = arr("DLMessageStatusResponse", plist_new_uint((uint64_t)-6),
	    plist_new_string(IB_DL_EMPTY_PARAM), plist_new_string(IB_DL_EMPTY_PARAM));
	IB_CHECK_OK(ib_dl_status_response_parse(m, &st));
	IB_CHECK_EQ(st.status, -6);
	IB_CHECK_OK(ib_plist_get_string(st.payload, &s));
	IB_CHECK_STR(s, IB_DL_EMPTY_PARAM);
	plist_free(m);
	m = arr("DLMessageStatusResponse", plist_new_string("0"), plist_new_string("x"),
	    plist_new_dict());
	IB_CHECK_ERR(ib_dl_status_response_parse(m, &st), IB_ERR_PLIST_TYPE);
	plist_free(m);
}

IB_TEST(dl_wrappers)
{
	plist_t d = plist_new_dict(), m = NULL, got;
	const char *s;

	plist_dict_set_item(d, "MessageName", plist_new_string("Hello"));
	IB_CHECK_OK(ib_dl_process_message_new(d, &m));
	m = wire(m);
	IB_CHECK_OK(ib_dl_process_message_parse(m, &got));
	IB_CHECK_OK(ib_plist_dict_get_string(got, "MessageName", &s));
	IB_CHECK_STR(s, "Hello");
	plist_array_append_item(m, plist_new_uint(1));
	IB_CHECK_ERR(ib_dl_process_message_parse(m, &got), IB_ERR_DL_PROTOCOL);
	plist_free(m);
	m = arr("DLMessageProcessMessage", plist_new_string("x"), NULL, NULL);
	IB_CHECK_ERR(ib_dl_process_message_parse(m, &got), IB_ERR_PLIST_TYPE);
	plist_free(m);
	plist_free(d);

	IB_CHECK_OK(ib_dl_disconnect_new(NULL, &m));
	m = wire(m);
	IB_CHECK_OK(ib_plist_array_get_string(m, 1, &s));
	IB_CHECK_STR(s, IB_DL_EMPTY_PARAM);
	IB_CHECK_OK(ib_dl_disconnect_parse(m, &s));
	IB_CHECK(s == NULL);
	plist_free(m);
	IB_CHECK_OK(ib_dl_ping_new("Are you there?", &m));
	IB_CHECK_OK(ib_plist_array_get_string(m, 0, &s));
	IB_CHECK_STR(s, "DLMessagePing");
	plist_free(m);
}

static plist_t
request(plist_t m, struct ib_dl_request *req)
{
	m = wire(m);
	if (m == NULL || ib_dl_request_parse(m, req) != IB_OK) {
		plist_free(m);
		return NULL;
	}
	return m;
}

IB_TEST(dl_requests_round_trip)
{
	static const char *const paths[] = { "U/Status.plist", "U/Manifest.plist", "U/Manifest.db" };
	static const char *const dsts[] = { "U/Status.plist", "U/Manifest.plist", "U/Manifest.db" };
	static const char *const srcs[] = { "U/Snapshot/Status.plist", "U/Snapshot/Manifest.plist",
	    "U/Snapshot/Manifest.db" };
	struct ib_dl_request q;
	plist_t m = NULL;
	size_t i;

	IB_CHECK_OK(ib_dl_download_files_new(paths, 3, 12.5, &m));
	IB_CHECK((m = request(m, &q)) != NULL);
	IB_CHECK_EQ(q.kind, IB_DL_REQ_DOWNLOAD_FILES);
	IB_CHECK_EQ(q.npaths, 3);
	for (i = 0; i < 3; i++)
		IB_CHECK_STR(q.paths[i], paths[i]);
	IB_CHECK(q.has_progress && q.progress == 12.5);
	ib_dl_request_clear(&q);
	plist_free(m);

	IB_CHECK_OK(ib_dl_download_files_new(NULL, 0, 0, &m));
	IB_CHECK((m = request(m, &q)) != NULL);
	IB_CHECK_EQ(q.npaths, 0);
	ib_dl_request_clear(&q);
	plist_free(m);

	IB_CHECK_OK(ib_dl_upload_files_new(42.25, 123456789012ull, &m));
	IB_CHECK((m = request(m, &q)) != NULL);
	IB_CHECK_EQ(q.kind, IB_DL_REQ_UPLOAD_FILES);
	IB_CHECK(q.has_progress && q.progress == 42.25);
	IB_CHECK_EQ(q.total_bytes, 123456789012ull);
	plist_free(m);

	IB_CHECK_OK(ib_dl_get_free_disk_space_new(&m));
	IB_CHECK((m = request(m, &q)) != NULL);
	IB_CHECK_EQ(q.kind, IB_DL_REQ_GET_FREE_DISK_SPACE);
	plist_free(m);

	IB_CHECK_OK(ib_dl_purge_disk_space_new(12265029274ull, 4, &m));
	IB_CHECK((m = request(m, &q)) != NULL);
	IB_CHECK_EQ(q.kind, IB_DL_REQ_PURGE_DISK_SPACE);
	IB_CHECK_EQ(q.purge_bytes, 12265029274ull);
	IB_CHECK_EQ(q.purge_urgency, 4);
	plist_free(m);

	IB_CHECK_OK(ib_dl_contents_of_directory_new("U/Snapshot", &m));
	IB_CHECK((m = request(m, &q)) != NULL);
	IB_CHECK_EQ(q.kind, IB_DL_REQ_CONTENTS_OF_DIRECTORY);
	IB_CHECK_STR(q.path, "U/Snapshot");
	plist_free(m);

	IB_CHECK_OK(ib_dl_create_directory_new("U/Snapshot/3d", &m));
	IB_CHECK((m = request(m, &q)) != NULL);
	IB_CHECK_EQ(q.kind, IB_DL_REQ_CREATE_DIRECTORY);
	IB_CHECK_STR(q.path, "U/Snapshot/3d");
	plist_free(m);

	IB_CHECK_OK(ib_dl_move_items_new(srcs, dsts, 3, 99.0, &m));
	IB_CHECK((m = request(m, &q)) != NULL);
	IB_CHECK_EQ(q.kind, IB_DL_REQ_MOVE_ITEMS);
	IB_CHECK_EQ(q.npairs, 3);
	for (i = 0; i < 3; i++) {
		IB_CHECK_STR(q.srcs[i], srcs[i]);
		IB_CHECK_STR(q.dsts[i], dsts[i]);
	}
	IB_CHECK(q.has_progress && q.progress == 99.0);
	ib_dl_request_clear(&q);
	plist_free(m);

	IB_CHECK_OK(ib_dl_remove_items_new(paths, 2, 100.0, &m));
	IB_CHECK((m = request(m, &q)) != NULL);
	IB_CHECK_EQ(q.kind, IB_DL_REQ_REMOVE_ITEMS);
	IB_CHECK_EQ(q.npaths, 2);
	IB_CHECK_STR(q.paths[1], paths[1]);
	IB_CHECK(q.has_progress && q.progress == 100.0);
	ib_dl_request_clear(&q);
	plist_free(m);

	IB_CHECK_OK(ib_dl_copy_item_new("U/a", "U/b", &m));
	IB_CHECK((m = request(m, &q)) != NULL);
	IB_CHECK_EQ(q.kind, IB_DL_REQ_COPY_ITEM);
	IB_CHECK_STR(q.path, "U/a");
	IB_CHECK_STR(q.dst, "U/b");
	plist_free(m);

	IB_CHECK_OK(ib_dl_disconnect_new("bye", &m));
	IB_CHECK((m = request(m, &q)) != NULL);
	IB_CHECK_EQ(q.kind, IB_DL_REQ_DISCONNECT);
	IB_CHECK_STR(q.text, "bye");
	plist_free(m);

	/* Old spellings map to the same kinds. */
	m = arr("DLMessageMoveFiles", plist_new_dict(), NULL, NULL);
	IB_CHECK_OK(ib_dl_request_parse(m, &q));
	IB_CHECK_EQ(q.kind, IB_DL_REQ_MOVE_ITEMS);
	IB_CHECK(!q.has_progress);
	ib_dl_request_clear(&q);
	plist_free(m);
	m = arr("DLMessageRemoveFiles", plist_new_array(), plist_new_dict(), plist_new_real(1.5));
	IB_CHECK_OK(ib_dl_request_parse(m, &q));
	IB_CHECK_EQ(q.kind, IB_DL_REQ_REMOVE_ITEMS);
	IB_CHECK(q.has_progress && q.progress == 1.5);
	ib_dl_request_clear(&q);
	plist_free(m);

	/* Unknown names parse, with the name kept for the log. */
	m = arr("DLMessageAcquireLock", plist_new_string("x"), NULL, NULL);
	IB_CHECK_OK(ib_dl_request_parse(m, &q));
	IB_CHECK_EQ(q.kind, IB_DL_REQ_UNKNOWN);
	IB_CHECK_STR(q.name, "DLMessageAcquireLock");
	IB_CHECK_STR(ib_dl_req_kind_name(q.kind), "unknown");
	plist_free(m);
}

/*
 * ["DLMessageDownloadFiles", [item x n]] parsed from a hand-made binary
 * plist, item being false or the string "U/x": building it node by node
 * is quadratic in libplist 2.2 under ASan, parsing it is not.
 */
static plist_t
big_download(uint32_t n, int strings)
{
	static const char name[] = "DLMessageDownloadFiles";
	uint32_t i;
	size_t len = 8 + 3 + 3 + (sizeof(name) - 1) + 6 + n + 4 + 4 * 4 + 32, o = 0;
	size_t offs[4], table;
	uint8_t *b = calloc(1, len);
	plist_t p = NULL;

	if (b == NULL)
		return NULL;
	memcpy(b, "bplist00", 8);
	o = 8;
	offs[0] = o;                            /* [name, paths] */
	b[o++] = 0xA2;
	b[o++] = 1;
	b[o++] = 2;
	offs[1] = o;                            /* the name */
	b[o++] = 0x5F;
	b[o++] = 0x10;
	b[o++] = sizeof(name) - 1;
	memcpy(b + o, name, sizeof(name) - 1);
	o += sizeof(name) - 1;
	offs[2] = o;                            /* the paths array */
	b[o++] = 0xAF;
	b[o++] = 0x12;
	b[o++] = (uint8_t)(n >> 24);
	b[o++] = (uint8_t)(n >> 16);
	b[o++] = (uint8_t)(n >> 8);
	b[o++] = (uint8_t)n;
	for (i = 0; i < n; i++)
		b[o++] = 3;
	offs[3] = o;                            /* false, or "U/x" */
	if (strings) {
		memcpy(b + o, "\x53U/x", 4);
		o += 4;
	} else {
		b[o++] = 0x08;
	}
	table = o;
	for (i = 0; i < 4; i++) {
		b[o++] = (uint8_t)(offs[i] >> 24);
		b[o++] = (uint8_t)(offs[i] >> 16);
		b[o++] = (uint8_t)(offs[i] >> 8);
		b[o++] = (uint8_t)offs[i];
	}
	b[o + 6] = 4;                           /* offset size */
	b[o + 7] = 1;                           /* ref size */
	b[o + 15] = 4;                          /* objects */
	for (i = 0; i < 8; i++)
		b[o + 31 - i] = (uint8_t)(table >> (8 * i));
	o += 32;
	if (ib_plist_parse(b, o, IB_PLIST_MSG_MAX, &p) != IB_OK)
		p = NULL;
	free(b);
	return p;
}

IB_TEST(dl_requests_malformed)
{
	struct ib_dl_request q;
	plist_t m, paths;
	char *longp;
	size_t i;

	m = arr("DLMessageDownloadFiles", plist_new_string("U/Status.plist"), NULL, NULL);
	IB_CHECK_ERR(ib_dl_request_parse(m, &q), IB_ERR_PLIST_TYPE);
	IB_CHECK(q.paths == NULL);
	plist_free(m);
	m = arr("DLMessageDownloadFiles", NULL, NULL, NULL);
	IB_CHECK_ERR(ib_dl_request_parse(m, &q), IB_ERR_PLIST_MISSING);
	plist_free(m);
	paths = plist_new_array();
	plist_array_append_item(paths, plist_new_string("ok"));
	plist_array_append_item(paths, plist_new_uint(7));
	m = arr("DLMessageRemoveItems", paths, NULL, NULL);
	IB_CHECK_ERR(ib_dl_request_parse(m, &q), IB_ERR_PLIST_TYPE);
	IB_CHECK(q.paths == NULL);
	plist_free(m);

	longp = malloc(IB_PATH_MAX + 2);
	IB_CHECK(longp != NULL);
	memset(longp, 'a', IB_PATH_MAX + 1);
	longp[IB_PATH_MAX + 1] = '\0';
	m = arr("DLMessageCreateDirectory", plist_new_string(longp), NULL, NULL);
	IB_CHECK_ERR(ib_dl_request_parse(m, &q), IB_ERR_TOO_LARGE);
	plist_free(m);
	{
		plist_t d = plist_new_dict();

		plist_dict_set_item(d, longp, plist_new_string("U/x"));
		m = arr("DLMessageMoveItems", d, NULL, NULL);
		IB_CHECK_ERR(ib_dl_request_parse(m, &q), IB_ERR_TOO_LARGE);
		IB_CHECK(q.srcs == NULL);
		plist_free(m);
	}
	longp[IB_PATH_MAX] = '\0';
	m = arr("DLMessageCreateDirectory", plist_new_string(longp), NULL, NULL);
	IB_CHECK_OK(ib_dl_request_parse(m, &q));
	plist_free(m);
	free(longp);

	{
		plist_t d = plist_new_dict();

		plist_dict_set_item(d, "U/a", plist_new_string("U/b"));
		plist_dict_set_item(d, "U/c", plist_new_uint(3));
		m = arr("DLMessageMoveItems", d, NULL, NULL);
		IB_CHECK_ERR(ib_dl_request_parse(m, &q), IB_ERR_PLIST_TYPE);
		plist_free(m);
	}
	m = arr("DLMessageMoveItems", plist_new_array(), NULL, NULL);
	IB_CHECK_ERR(ib_dl_request_parse(m, &q), IB_ERR_PLIST_TYPE);
	plist_free(m);
	m = arr("DLMessageCopyItem", plist_new_string("U/a"), NULL, NULL);
	IB_CHECK_ERR(ib_dl_request_parse(m, &q), IB_ERR_PLIST_MISSING);
	plist_free(m);
	m = arr("DLMessageCopyItem", plist_new_string("U/a"), plist_new_bool(1), NULL);
	IB_CHECK_ERR(ib_dl_request_parse(m, &q), IB_ERR_PLIST_TYPE);
	plist_free(m);
	m = arr("DLMessagePurgeDiskSpace", plist_new_string("lots"), NULL, NULL);
	IB_CHECK_ERR(ib_dl_request_parse(m, &q), IB_ERR_PLIST_TYPE);
	plist_free(m);
	m = arr("DLMessageUploadFiles", plist_new_dict(), plist_new_real(1), plist_new_string("x"));
	IB_CHECK_ERR(ib_dl_request_parse(m, &q), IB_ERR_PLIST_TYPE);
	plist_free(m);
	m = arr("DLContentsOfDirectory", plist_new_data("U", 1), NULL, NULL);
	IB_CHECK_ERR(ib_dl_request_parse(m, &q), IB_ERR_PLIST_TYPE);
	plist_free(m);
	/* A path with a NUL inside: ib_plist_parse refuses strings with NUL
	 * (libplist 2.2 would cut them at the NUL); either way the bytes after
	 * the NUL never reach a path. */
	{
		static const uint8_t bin[] = {
			'b','p','l','i','s','t','0','0',
			0xA2, 0x01, 0x02,
			0x5F, 0x10, 0x18, 'D','L','M','e','s','s','a','g','e','C','r','e','a','t','e',
			'D','i','r','e','c','t','o','r','y',
			0x53, 'a', 0x00, 'b',
			8, 11, 38,
			0,0,0,0,0,0, 1, 1, 0,0,0,0,0,0,0,3, 0,0,0,0,0,0,0,0,
			0,0,0,0,0,0,0,42,
		};
		int r = ib_plist_parse(bin, sizeof(bin), IB_PLIST_MSG_MAX, &m);

		if (r == IB_OK) {
			r = ib_dl_request_parse(m, &q);
			IB_CHECK(r == IB_ERR_PLIST_TYPE || (r == IB_OK && strcmp(q.path, "a") == 0));
			plist_free(m);
		} else {
			IB_CHECK_EQ(r, IB_ERR_PLIST_PARSE);
		}
	}

	/* More paths than the cap, as a device would send them. */
	IB_CHECK((m = big_download(IB_DL_ITEMS_MAX + 1, 0)) != NULL);
	IB_CHECK_EQ(plist_array_get_size(plist_array_get_item(m, 1)), IB_DL_ITEMS_MAX + 1);
	IB_CHECK_ERR(ib_dl_request_parse(m, &q), IB_ERR_TOO_LARGE);
	IB_CHECK(q.paths == NULL);
	plist_free(m);
	(void)i;
}

/* A big valid request parses in linear time (libplist 2.2 makes indexed
 * access to parsed arrays linear, so an index loop would be quadratic). */
IB_TEST(dl_requests_big_but_valid)
{
	struct ib_dl_request q;
	plist_t m = big_download(300000, 1);
	uint64_t t0 = ib_now_ms();

	IB_CHECK(m != NULL);
	IB_CHECK_OK(ib_dl_request_parse(m, &q));
	IB_CHECK_EQ(q.npaths, 300000);
	IB_CHECK_STR(q.paths[299999], "U/x");
	printf("parsed 300000 paths in %llu ms\n", (unsigned long long)(ib_now_ms() - t0));
	ib_dl_request_clear(&q);
	plist_free(m);
}

IB_TEST(dl_final_response)
{
	plist_t m = NULL, d;
	struct ib_dl_request q;

	IB_CHECK_OK(ib_mb2_response_new(208, "Device locked (MBErrorDomain/208)", NULL, &m));
	IB_CHECK((m = request(m, &q)) != NULL);
	IB_CHECK_EQ(q.kind, IB_DL_REQ_PROCESS_MESSAGE);
	IB_CHECK(q.is_response);
	IB_CHECK_EQ(q.error_code, 208);
	IB_CHECK_STR(q.error_description, "Device locked (MBErrorDomain/208)");
	IB_CHECK(q.content == NULL);
	IB_CHECK_EQ(ib_mb2_error_to_ib(q.error_code), IB_ERR_MB2_LOCKED);
	plist_free(m);

	IB_CHECK_OK(ib_mb2_response_new(0, NULL, "a,b,c\n", &m));
	IB_CHECK((m = request(m, &q)) != NULL);
	IB_CHECK_EQ(q.error_code, 0);
	IB_CHECK_STR(q.content, "a,b,c\n");
	plist_free(m);

	d = plist_new_dict();
	plist_dict_set_item(d, "MessageName", plist_new_string("Response"));
	IB_CHECK_OK(ib_dl_process_message_new(d, &m));
	IB_CHECK_OK(ib_dl_request_parse(m, &q));
	IB_CHECK(q.is_response);
	IB_CHECK_EQ(q.error_code, 0);
	plist_free(m);
	plist_dict_set_item(d, "ErrorCode", plist_new_string("208"));
	IB_CHECK_OK(ib_dl_process_message_new(d, &m));
	IB_CHECK_ERR(ib_dl_request_parse(m, &q), IB_ERR_PLIST_TYPE);
	plist_free(m);
	plist_free(d);
}

IB_TEST(mb2_hello_both_roles)
{
	plist_t m = NULL;
	struct ib_mb2_request q;
	plist_t d, v;
	double ver = 0;

	IB_CHECK_OK(ib_mb2_hello_new(&m));
	m = wire(m);
	IB_CHECK_OK(ib_dl_process_message_parse(m, &d));
	IB_CHECK_OK(ib_plist_dict_get_array(d, "SupportedProtocolVersions", &v));
	IB_CHECK_EQ(plist_get_node_type(plist_array_get_item(v, 0)), PLIST_REAL);
	IB_CHECK_OK(ib_mb2_request_parse(m, &q));
	IB_CHECK_EQ(q.kind, IB_MB2_REQ_HELLO);
	IB_CHECK_EQ(q.nversions, 2);
	IB_CHECK(q.versions[0] == 2.0 && q.versions[1] == 2.1);
	IB_CHECK_OK(ib_mb2_hello_choose(&q, &ver));
	IB_CHECK(ver == 2.1);
	plist_free(m);

	IB_CHECK_OK(ib_mb2_hello_response_new(0, 2.1, &m));
	m = wire(m);
	IB_CHECK_OK(ib_mb2_hello_response_parse(m, &ver));
	IB_CHECK(ver == 2.1);
	plist_free(m);
	IB_CHECK_OK(ib_mb2_hello_response_new(1, 0, &m));
	IB_CHECK_ERR(ib_mb2_hello_response_parse(m, &ver), IB_ERR_MB2_NO_COMMON_VERSION);
	plist_free(m);
	IB_CHECK_OK(ib_mb2_hello_response_new(0, 3.0, &m));
	IB_CHECK_ERR(ib_mb2_hello_response_parse(m, &ver), IB_ERR_MB2_NO_COMMON_VERSION);
	plist_free(m);
	IB_CHECK_OK(ib_mb2_hello_response_new(7, 0, &m));
	IB_CHECK_ERR(ib_mb2_hello_response_parse(m, &ver), IB_ERR_MB2_DEVICE_ERROR);
	plist_free(m);

	/* ErrorCode must be a uint, ProtocolVersion a real. */
	d = plist_new_dict();
	plist_dict_set_item(d, "MessageName", plist_new_string("Response"));
	plist_dict_set_item(d, "ErrorCode", plist_new_real(0));
	plist_dict_set_item(d, "ProtocolVersion", plist_new_real(2.1));
	IB_CHECK_OK(ib_dl_process_message_new(d, &m));
	IB_CHECK_ERR(ib_mb2_hello_response_parse(m, &ver), IB_ERR_PLIST_TYPE);
	plist_free(m);
	plist_dict_set_item(d, "ErrorCode", plist_new_uint(0));
	plist_dict_set_item(d, "ProtocolVersion", plist_new_uint(2));
	IB_CHECK_OK(ib_dl_process_message_new(d, &m));
	IB_CHECK_ERR(ib_mb2_hello_response_parse(m, &ver), IB_ERR_PLIST_TYPE);
	plist_free(m);
	plist_free(d);
}

IB_TEST(mb2_requests_both_roles)
{
	struct ib_mb2_restore_opts o = { 0, 0, 1, 0, 1, "secret" };
	struct ib_mb2_request q;
	plist_t m = NULL, d, opts;
	int b;

	IB_CHECK_OK(ib_mb2_backup_new("TGT", NULL, 1, &m));
	m = wire(m);
	IB_CHECK_OK(ib_mb2_request_parse(m, &q));
	IB_CHECK_EQ(q.kind, IB_MB2_REQ_BACKUP);
	IB_CHECK_STR(q.target, "TGT");
	IB_CHECK_STR(q.source, "TGT");
	IB_CHECK(q.force_full);
	plist_free(m);
	IB_CHECK_OK(ib_mb2_backup_new("TGT", "SRC", 0, &m));
	IB_CHECK_OK(ib_dl_process_message_parse(m, &d));
	IB_CHECK(plist_dict_get_item(d, "Options") == NULL);
	IB_CHECK_OK(ib_mb2_request_parse(m, &q));
	IB_CHECK_STR(q.source, "SRC");
	IB_CHECK(!q.force_full);
	plist_free(m);

	/* Restore: every option explicit on the wire. */
	IB_CHECK_OK(ib_mb2_restore_new("TGT", "SRC", &o, &m));
	m = wire(m);
	IB_CHECK_OK(ib_dl_process_message_parse(m, &d));
	IB_CHECK_OK(ib_plist_dict_get_dict(d, "Options", &opts));
	IB_CHECK_OK(ib_plist_dict_get_bool(opts, "RestoreSystemFiles", &b));
	IB_CHECK_EQ(b, 0);
	IB_CHECK_OK(ib_plist_dict_get_bool(opts, "RestoreShouldReboot", &b));
	IB_CHECK_EQ(b, 0);
	IB_CHECK_OK(ib_plist_dict_get_bool(opts, "RestoreDontCopyBackup", &b));
	IB_CHECK_EQ(b, 0);
	IB_CHECK_OK(ib_plist_dict_get_bool(opts, "RestorePreserveSettings", &b));
	IB_CHECK_EQ(b, 0);
	IB_CHECK_OK(ib_plist_dict_get_bool(opts, "RemoveItemsNotRestored", &b));
	IB_CHECK_EQ(b, 1);
	IB_CHECK(plist_dict_get_item(d, "Password") == NULL);
	IB_CHECK_OK(ib_mb2_request_parse(m, &q));
	IB_CHECK_EQ(q.kind, IB_MB2_REQ_RESTORE);
	IB_CHECK_EQ(q.restore.reboot, 0);
	IB_CHECK_EQ(q.restore.system_files, 0);
	IB_CHECK_EQ(q.restore.copy_backup, 1);
	IB_CHECK_EQ(q.restore.remove_items_not_restored, 1);
	IB_CHECK_STR(q.restore.password, "secret");
	plist_free(m);

	/* Absent options take the device defaults. */
	d = plist_new_dict();
	plist_dict_set_item(d, "MessageName", plist_new_string("Restore"));
	plist_dict_set_item(d, "TargetIdentifier", plist_new_string("TGT"));
	IB_CHECK_OK(ib_dl_process_message_new(d, &m));
	IB_CHECK_OK(ib_mb2_request_parse(m, &q));
	IB_CHECK(q.restore.reboot && q.restore.system_files && q.restore.copy_backup &&
	    q.restore.remove_items_not_restored && !q.restore.preserve_settings);
	plist_free(m);
	plist_dict_set_item(d, "Options", plist_new_string("nope"));
	IB_CHECK_OK(ib_dl_process_message_new(d, &m));
	IB_CHECK_ERR(ib_mb2_request_parse(m, &q), IB_ERR_PLIST_TYPE);
	plist_free(m);
	plist_dict_remove_item(d, "TargetIdentifier");
	plist_dict_remove_item(d, "Options");
	IB_CHECK_OK(ib_dl_process_message_new(d, &m));
	IB_CHECK_ERR(ib_mb2_request_parse(m, &q), IB_ERR_PLIST_MISSING);
	plist_free(m);
	plist_free(d);

	IB_CHECK_OK(ib_mb2_info_new("TGT", NULL, &m));
	IB_CHECK_OK(ib_mb2_request_parse(m, &q));
	IB_CHECK_EQ(q.kind, IB_MB2_REQ_INFO);
	plist_free(m);
	IB_CHECK_OK(ib_mb2_list_new("TGT", "SRC", &m));
	IB_CHECK_OK(ib_mb2_request_parse(m, &q));
	IB_CHECK_EQ(q.kind, IB_MB2_REQ_LIST);
	IB_CHECK_STR(q.source, "SRC");
	plist_free(m);

	IB_CHECK_OK(ib_mb2_change_password_new("TGT", NULL, "new", &m));
	IB_CHECK_OK(ib_dl_process_message_parse(m, &d));
	IB_CHECK(plist_dict_get_item(d, "SourceIdentifier") == NULL);
	IB_CHECK(plist_dict_get_item(d, "Options") == NULL);
	IB_CHECK_OK(ib_mb2_request_parse(m, &q));
	IB_CHECK_EQ(q.kind, IB_MB2_REQ_CHANGE_PASSWORD);
	IB_CHECK(q.old_password == NULL);
	IB_CHECK_STR(q.new_password, "new");
	plist_free(m);
	IB_CHECK_ERR(ib_mb2_change_password_new("TGT", NULL, NULL, &m), IB_ERR_INVALID_ARG);

	IB_CHECK_OK(ib_mb2_enable_cloud_backup_new("TGT", NULL, 1, &m));
	IB_CHECK_OK(ib_dl_process_message_parse(m, &d));
	IB_CHECK_OK(ib_plist_dict_get_bool(d, "CloudBackupState", &b));
	IB_CHECK_EQ(b, 1);
	IB_CHECK_OK(ib_plist_dict_get_dict(d, "Options", &opts));
	IB_CHECK_OK(ib_plist_dict_get_bool(opts, "CloudBackupState", &b));
	IB_CHECK_EQ(b, 1);
	IB_CHECK_OK(ib_mb2_request_parse(m, &q));
	IB_CHECK_EQ(q.kind, IB_MB2_REQ_ENABLE_CLOUD_BACKUP);
	IB_CHECK_EQ(q.cloud_state, 1);
	plist_free(m);

	d = plist_new_dict();
	plist_dict_set_item(d, "MessageName", plist_new_string("EraseDevice"));
	IB_CHECK_OK(ib_dl_process_message_new(d, &m));
	IB_CHECK_OK(ib_mb2_request_parse(m, &q));
	IB_CHECK_EQ(q.kind, IB_MB2_REQ_UNKNOWN);
	IB_CHECK_STR(q.name, "EraseDevice");
	plist_free(m);
	plist_free(d);
}

IB_TEST(mb2_error_table)
{
	IB_CHECK_EQ(ib_mb2_error_to_ib(0), IB_OK);
	IB_CHECK_EQ(ib_mb2_error_to_ib(105), IB_ERR_MB2_NO_SPACE);
	IB_CHECK_EQ(ib_mb2_error_to_ib(207), IB_ERR_MB2_WRONG_PASSWORD);
	IB_CHECK_EQ(ib_mb2_error_to_ib(208), IB_ERR_MB2_LOCKED);
	IB_CHECK_EQ(ib_mb2_error_to_ib(205), IB_ERR_BACKUP_INVALID);
	IB_CHECK_EQ(ib_mb2_error_to_ib(3), IB_ERR_MB2_DEVICE_ERROR);
	IB_CHECK_EQ(ib_mb2_error_to_ib(99999), IB_ERR_MB2_DEVICE_ERROR);
	IB_CHECK(strstr(ib_mb2_error_sentence(105), "space on this computer") != NULL);
	IB_CHECK(strstr(ib_mb2_error_sentence(208), "passcode") != NULL);
	IB_CHECK(strstr(ib_mb2_error_sentence(212), "setup") != NULL);
	IB_CHECK_STR(ib_mb2_error_sentence(4242), "the device reported error 4242");
}

IB_TEST(dl_contents_and_errno_map)
{
	plist_t d = plist_new_dict();

	IB_CHECK_OK(ib_dl_contents_add(d, "Manifest.db", IB_DL_FILE_REGULAR, 4096, 1700000000));
	IB_CHECK_OK(ib_dl_contents_add(d, "3d", IB_DL_FILE_DIRECTORY, 0, 1700000001));
	IB_CHECK(tu_entry_is(d, "Manifest.db", "DLFileTypeRegular", 4096, 1700000000));
	IB_CHECK(tu_entry_is(d, "3d", "DLFileTypeDirectory", 0, 1700000001));
	IB_CHECK(!tu_entry_is(d, "3d", "DLFileTypeRegular", -1, -1));
	plist_free(d);

	IB_CHECK_EQ(ib_dl_status_from_errno(ENOENT), -6);
	IB_CHECK_EQ(ib_dl_status_from_errno(EEXIST), -7);
	IB_CHECK_EQ(ib_dl_status_from_errno(ENOTDIR), -8);
	IB_CHECK_EQ(ib_dl_status_from_errno(EISDIR), -9);
	IB_CHECK_EQ(ib_dl_status_from_errno(ELOOP), -10);
	IB_CHECK_EQ(ib_dl_status_from_errno(EIO), -11);
	IB_CHECK_EQ(ib_dl_status_from_errno(ENOSPC), -15);
	IB_CHECK_EQ(ib_dl_status_from_errno(EACCES), -1);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
