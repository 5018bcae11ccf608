/*
 * The server's per-client state machine (usbmux.md 3.7) without sockets:
 * bytes in, replies out, over the fake backend.
 */
#include "fake_backend.h"
#include "ib_limits.h"
#include "ib_test.h"
#include "ib_util.h"
#include "muxd_session.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define UDID1 "00008030-001A2B3C4D5E6F70"
#define UDID2 "00008101-000A11112222333E"

struct harness {
	struct fake_backend *fb;
	struct muxd_session *s;
	unsigned paired_calls;
	uint32_t paired_id;
	struct ib_buf out;
	size_t last_used, last_n;
};

static int
h_listeners(void *arg, struct ib_muxd_listener **lp, size_t *np)
{
	struct harness *h = arg;
	struct ib_muxd_listener *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return IB_ERR_NOMEM;
	*np = muxd_session_listener_info(h->s, l) ? 1 : 0;
	/* Report ourselves even when not listening, for the test. */
	if (*np == 0) {
		snprintf(l->id, sizeof(l->id), "7-probe");
		snprintf(l->prog_name, sizeof(l->prog_name), "probe");
		*np = 1;
	}
	*lp = l;
	return IB_OK;
}

static void
h_paired(void *arg, uint32_t device_id)
{
	struct harness *h = arg;

	h->paired_calls++;
	h->paired_id = device_id;
	muxd_session_notify_paired(h->s, device_id);
}

static int
h_open(struct harness *h)
{
	struct muxd_host host;

	memset(h, 0, sizeof(*h));
	if ((h->fb = fake_backend_new()) == NULL)
		return IB_ERR_NOMEM;
	host.be = fake_backend_ops();
	host.be_ctx = h->fb;
	host.listeners = h_listeners;
	host.paired = h_paired;
	host.hctx = h;
	ib_buf_init(&h->out, 1 << 24);
	return muxd_session_new(&host, 1, &h->s);
}

static void
h_close(struct harness *h)
{
	muxd_session_free(h->s);
	fake_backend_free(h->fb);
	ib_buf_free(&h->out);
}

static ssize_t
collect(void *arg, const uint8_t *p, size_t n)
{
	return ib_buf_put(arg, p, n) == IB_OK ? (ssize_t)n : IB_ERR_TOO_LARGE;
}

static void
h_bytes(struct harness *h, const uint8_t *p, size_t n)
{
	muxd_session_input(h->s, p, n, &h->last_used);
	h->last_n = n;
}

static void
h_send(struct harness *h, const struct ib_muxd_msg *m)
{
	struct ib_buf b;

	ib_buf_init(&b, IB_MUXD_MSG_MAX);
	if (ib_muxd_encode(&b, m) == IB_OK)
		h_bytes(h, ib_buf_ptr(&b), ib_buf_len(&b));
	ib_buf_free(&b);
}

/* A plist message with this XML payload, as any client could send it. */
static void
h_xml(struct harness *h, uint32_t tag, const char *xml)
{
	uint8_t b[2048];
	size_t n = strlen(xml), len = 16 + n, i;
	uint32_t hdr[4] = { (uint32_t)len, 1, 8, tag };

	if (len > sizeof(b))
		return;
	for (i = 0; i < 16; i++)
		b[i] = (uint8_t)(hdr[i / 4] >> (8 * (i % 4)));
	memcpy(b + 16, xml, n);
	h_bytes(h, b, len);
}

/* Next reply from the session's output; IB_ERR_INCOMPLETE when none. */
static int
h_recv(struct harness *h, struct ib_muxd_msg *m)
{
	uint32_t len, v, t, tag;
	int r;

	memset(m, 0, sizeof(*m));
	(void)muxd_session_output(h->s, collect, &h->out);
	if ((r = ib_muxd_header_parse(ib_buf_ptr(&h->out), ib_buf_len(&h->out), &len, &v, &t,
	    &tag)) != IB_OK)
		return r;
	if (ib_buf_len(&h->out) < len)
		return IB_ERR_INCOMPLETE;
	r = ib_muxd_decode(ib_buf_ptr(&h->out), len, m);
	(void)ib_buf_consume(&h->out, len);
	return r;
}

static void
plist_req(struct ib_muxd_msg *m, enum ib_muxd_kind kind, uint32_t tag)
{
	ib_muxd_msg_init(m, kind, 1, tag);
}

IB_TEST(binary_listen_sends_result_adds_then_live_events)
{
	struct harness h;
	struct ib_muxd_msg m, r;
	struct ib_device d;
	uint32_t h2;

	IB_CHECK_OK(h_open(&h));
	fake_backend_attach(h.fb, UDID1);
	ib_muxd_msg_init(&m, IB_MUXD_K_LISTEN, 0, 5);
	h_send(&h, &m);
	IB_CHECK_EQ(muxd_session_state(h.s, NULL, NULL), MUXD_LISTEN);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_RESULT && r.number == 0 && r.tag == 5 && !r.plist);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_ATTACHED && !r.plist && r.tag == 0);
	IB_CHECK_STR(r.dev.udid, UDID1);
	IB_CHECK_ERR(h_recv(&h, &r), IB_ERR_INCOMPLETE);

	/* Live events, each told once. */
	memset(&d, 0, sizeof(d));
	h2 = fake_backend_attach(h.fb, UDID2);
	d.handle = h2;
	snprintf(d.udid, sizeof(d.udid), UDID2);
	IB_CHECK(muxd_session_notify(h.s, 1, &d));
	IB_CHECK(!muxd_session_notify(h.s, 1, &d));
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_ATTACHED && r.dev.handle == h2);
	IB_CHECK_ERR(h_recv(&h, &r), IB_ERR_INCOMPLETE);
	IB_CHECK(muxd_session_notify(h.s, 0, &d));
	IB_CHECK(!muxd_session_notify(h.s, 0, &d));
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_DETACHED && r.device_id == h2 && !r.plist);
	/* Paired only for announced devices. */
	IB_CHECK(!muxd_session_notify_paired(h.s, h2));
	IB_CHECK(muxd_session_notify_paired(h.s, 1));
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_PAIRED && r.device_id == 1);

	/* A listener takes no command: BADCOMMAND, then closed. */
	ib_muxd_msg_init(&m, IB_MUXD_K_LISTEN, 0, 6);
	h_send(&h, &m);
	IB_CHECK_EQ(muxd_session_state(h.s, NULL, NULL), MUXD_CLOSED);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_RESULT && r.number == 1 && r.tag == 6);
	h_close(&h);
}

IB_TEST(plist_listen_and_lists)
{
	struct harness h;
	struct ib_muxd_msg m, r;

	IB_CHECK_OK(h_open(&h));
	fake_backend_attach(h.fb, UDID1);
	fake_backend_attach(h.fb, UDID2);
	plist_req(&m, IB_MUXD_K_LIST_DEVICES, 2);
	h_send(&h, &m);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_DEVICE_LIST && r.ndevs == 2 && r.tag == 2 && r.version == 1);
	IB_CHECK_STR(r.devs[1].udid, UDID2);
	ib_muxd_msg_clear(&r);

	plist_req(&m, IB_MUXD_K_READ_BUID, 3);
	h_send(&h, &m);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_BUID && r.tag == 3);
	IB_CHECK_STR(r.buid, FAKE_BUID);

	plist_req(&m, IB_MUXD_K_LIST_LISTENERS, 4);
	h_send(&h, &m);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_LISTENER_LIST && r.nlisteners == 1);
	IB_CHECK_STR(r.listeners[0].id, "7-probe");
	ib_muxd_msg_clear(&r);

	plist_req(&m, IB_MUXD_K_UNKNOWN, 5);
	snprintf(m.message_type, sizeof(m.message_type), "Frobnicate");
	h_send(&h, &m);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_RESULT && r.number == 1 && r.tag == 5);

	plist_req(&m, IB_MUXD_K_LISTEN, 6);
	snprintf(m.prog_name, sizeof(m.prog_name), "idevice_id");
	h_send(&h, &m);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_RESULT && r.number == 0 && r.plist);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_ATTACHED && r.plist);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_ATTACHED && r.plist);
	{
		struct ib_muxd_listener l;

		IB_CHECK(muxd_session_listener_info(h.s, &l));
		IB_CHECK_STR(l.id, "1-idevice_id");
		IB_CHECK_EQ(l.version, 3);
	}
	h_close(&h);
}

IB_TEST(pair_records_answer_errno_and_announce_paired)
{
	struct harness h;
	struct ib_muxd_msg m, r;
	static const uint8_t rec[] = "<plist><dict/></plist>";
	uint32_t id;

	IB_CHECK_OK(h_open(&h));
	id = fake_backend_attach(h.fb, UDID1);
	plist_req(&m, IB_MUXD_K_READ_PAIR_RECORD, 1);
	snprintf(m.record_id, sizeof(m.record_id), UDID1);
	h_send(&h, &m);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_RESULT && r.number == ENOENT);

	/* No data, no id, a record the store refuses. */
	plist_req(&m, IB_MUXD_K_SAVE_PAIR_RECORD, 2);
	h_xml(&h, 2, "<plist><dict><key>MessageType</key><string>SavePairRecord</string>"
	    "<key>PairRecordID</key><string>" UDID1 "</string></dict></plist>");
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_RESULT && r.number == EINVAL && r.tag == 2);
	m.data = (uint8_t *)rec;
	m.data_len = 3;
	h_send(&h, &m);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_RESULT && r.number == EINVAL);

	/* DeviceID of a connected device with another UDID: no Paired. */
	m.data_len = sizeof(rec) - 1;
	m.has_device_id = 1;
	m.device_id = id;
	snprintf(m.record_id, sizeof(m.record_id), UDID2);
	h_send(&h, &m);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_RESULT && r.number == 0);
	IB_CHECK_EQ(h.paired_calls, 0);
	/* The right one (without its hyphen, as some clients write it). */
	snprintf(m.record_id, sizeof(m.record_id), "00008030001A2B3C4D5E6F70");
	h_send(&h, &m);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_RESULT && r.number == 0);
	IB_CHECK_EQ(h.paired_calls, 1);
	IB_CHECK_EQ(h.paired_id, id);

	plist_req(&m, IB_MUXD_K_READ_PAIR_RECORD, 9);
	snprintf(m.record_id, sizeof(m.record_id), UDID2);
	h_send(&h, &m);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_PAIR_RECORD_DATA && r.tag == 9);
	IB_CHECK(r.data_len == sizeof(rec) - 1 && memcmp(r.data, rec, r.data_len) == 0);
	ib_muxd_msg_clear(&r);

	plist_req(&m, IB_MUXD_K_DELETE_PAIR_RECORD, 10);
	snprintf(m.record_id, sizeof(m.record_id), UDID2);
	h_send(&h, &m);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_RESULT && r.number == 0);
	h_send(&h, &m);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_RESULT && r.number == ENOENT);
	h_close(&h);
}

IB_TEST(connect_results_and_raw_bytes_after_the_connect)
{
	struct harness h;
	struct ib_muxd_msg m, r;
	struct ib_buf b;
	uint32_t id;
	uint8_t echo[5];
	void *hs;
	int fd;

	IB_CHECK_OK(h_open(&h));
	id = fake_backend_attach(h.fb, UDID1);
	/* Missing DeviceID -> 2, missing PortNumber -> 1 (usbmuxd order). */
	h_xml(&h, 1, "<plist><dict><key>MessageType</key><string>Connect</string>"
	    "<key>PortNumber</key><integer>1792</integer></dict></plist>");
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_RESULT && r.number == 2 && r.tag == 1);
	h_xml(&h, 2, "<plist><dict><key>MessageType</key><string>Connect</string>"
	    "<key>DeviceID</key><integer>1</integer></dict></plist>");
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_RESULT && r.number == 1 && r.tag == 2);
	ib_muxd_msg_init(&m, IB_MUXD_K_CONNECT, 0, 2);
	m.device_id = 99;
	m.port = 7;
	h_send(&h, &m);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_RESULT && r.number == 2 && r.tag == 2);
	m.device_id = id;
	m.port = 62078;
	h_send(&h, &m);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_RESULT && r.number == 3);
	IB_CHECK_EQ(muxd_session_state(h.s, NULL, NULL), MUXD_COMMAND);

	/* Connect followed at once by payload: only the message is read. */
	m.port = 7;
	ib_buf_init(&b, IB_MUXD_MSG_MAX);
	IB_CHECK_OK(ib_muxd_encode(&b, &m));
	IB_CHECK_OK(ib_buf_put(&b, "hello", 5));
	h_bytes(&h, ib_buf_ptr(&b), ib_buf_len(&b));
	ib_buf_free(&b);
	IB_CHECK_EQ(h.last_used, h.last_n - 5);
	IB_CHECK_EQ(muxd_session_state(h.s, NULL, NULL), MUXD_CONNECTED);
	IB_CHECK_EQ(muxd_session_want(h.s), 0);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_RESULT && r.number == 0 && r.plist);
	IB_CHECK_OK(muxd_session_take_stream(h.s, &fd, &hs));
	{
		void *hs2;
		int fd2;

		IB_CHECK_ERR(muxd_session_take_stream(h.s, &fd2, &hs2), IB_ERR_STATE);
		IB_CHECK(fd2 == -1 && hs2 == NULL);
	}
	IB_CHECK(write(fd, "hello", 5) == 5);
	IB_CHECK(read(fd, echo, 5) == 5 && memcmp(echo, "hello", 5) == 0);
	fake_backend_ops()->close_stream(h.fb, hs);
	IB_CHECK_EQ(fake_backend_stat(h.fb, FAKE_OPEN_STREAMS), 0);
	h_close(&h);
}

IB_TEST(connect_not_taken_is_closed_with_the_session)
{
	struct harness h;
	struct ib_muxd_msg m;

	IB_CHECK_OK(h_open(&h));
	ib_muxd_msg_init(&m, IB_MUXD_K_CONNECT, 1, 1);
	m.device_id = fake_backend_attach(h.fb, UDID1);
	m.port = 9;
	h_send(&h, &m);
	IB_CHECK_EQ(muxd_session_state(h.s, NULL, NULL), MUXD_CONNECTED);
	IB_CHECK_EQ(fake_backend_stat(h.fb, FAKE_OPEN_STREAMS), 1);
	muxd_session_free(h.s);
	h.s = NULL;
	IB_CHECK_EQ(fake_backend_stat(h.fb, FAKE_OPEN_STREAMS), 0);
	h_close(&h);
}

IB_TEST(negative_port_number_from_apple_clients)
{
	struct harness h;
	struct ib_muxd_msg r;

	IB_CHECK_OK(h_open(&h));
	fake_backend_attach(h.fb, UDID1);
	h_xml(&h, 4, "<plist><dict><key>MessageType</key><string>Connect</string>"
	    "<key>DeviceID</key><integer>1</integer>"
	    "<key>PortNumber</key><integer>-27408</integer></dict></plist>");
	IB_CHECK_EQ(fake_backend_stat(h.fb, FAKE_LAST_PORT), 61588);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_RESULT && r.number == 3 && r.plist && r.tag == 4);
	h_close(&h);
}

IB_TEST(versions_and_malformed_messages)
{
	struct harness h;
	struct ib_muxd_msg m, r;
	uint8_t b[64];

	IB_CHECK_OK(h_open(&h));
	/* Version 2: Result 6 in the client's (binary) form, still usable. */
	memset(b, 0, sizeof(b));
	b[0] = 16;
	b[4] = 2;
	b[8] = 3;
	b[12] = 8;
	h_bytes(&h, b, 16);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_RESULT && r.number == 6 && r.tag == 8 && !r.plist);
	/* Unknown binary type and malformed binary: BADCOMMAND, usable. */
	b[4] = 0;
	b[8] = 7;
	h_bytes(&h, b, 16);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_RESULT && r.number == 1);
	b[0] = 20;
	b[8] = 2;       /* CONNECT with 4 payload bytes */
	h_bytes(&h, b, 20);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_RESULT && r.number == 1);
	IB_CHECK_EQ(muxd_session_state(h.s, NULL, NULL), MUXD_COMMAND);
	/* After a plist message, binary requests get plist replies. */
	plist_req(&m, IB_MUXD_K_READ_BUID, 9);
	h_send(&h, &m);
	IB_CHECK_OK(h_recv(&h, &r));
	ib_muxd_msg_init(&m, IB_MUXD_K_CONNECT, 0, 10);
	m.device_id = 42;
	h_send(&h, &m);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_RESULT && r.number == 2 && r.plist && r.version == 1);
	/* A plist that does not parse: closed without an answer. */
	b[0] = 20;
	b[4] = 1;
	b[8] = 8;
	memcpy(b + 16, "<pl>", 4);
	h_bytes(&h, b, 20);
	IB_CHECK_EQ(muxd_session_state(h.s, NULL, NULL), MUXD_CLOSED);
	IB_CHECK_ERR(h_recv(&h, &r), IB_ERR_INCOMPLETE);
	h_close(&h);

	/* A length under 16 closes the connection. */
	IB_CHECK_OK(h_open(&h));
	memset(b, 0, 16);
	b[0] = 8;
	h_bytes(&h, b, 16);
	IB_CHECK_EQ(muxd_session_state(h.s, NULL, NULL), MUXD_CLOSED);
	h_close(&h);

	/* A plist reply shape sent by a client: closed (no MessageType). */
	IB_CHECK_OK(h_open(&h));
	ib_muxd_msg_init(&m, IB_MUXD_K_BUID, 1, 1);
	snprintf(m.buid, sizeof(m.buid), "X");
	h_send(&h, &m);
	IB_CHECK_EQ(muxd_session_state(h.s, NULL, NULL), MUXD_CLOSED);
	h_close(&h);
}

/* Events that happen while the Listen snapshot is taken. */
struct race {
	struct harness *h;
	uint32_t gone;
	int done;
};

static void
race_on_list(void *arg)
{
	struct race *rc = arg;
	struct ib_device d;

	if (rc->done++)
		return;
	/* A device leaves and another arrives between Listen and the
	 * snapshot; the backend tells the session (pending) about both. */
	memset(&d, 0, sizeof(d));
	d.handle = rc->gone;
	snprintf(d.udid, sizeof(d.udid), UDID1);
	fake_backend_detach(rc->h->fb, rc->gone);
	muxd_session_notify(rc->h->s, 0, &d);
	d.handle = fake_backend_attach(rc->h->fb, UDID2);
	snprintf(d.udid, sizeof(d.udid), UDID2);
	muxd_session_notify(rc->h->s, 1, &d);
	/* And the new one is told twice (events and snapshot overlap). */
	muxd_session_notify(rc->h->s, 1, &d);
}

IB_TEST(listen_snapshot_and_concurrent_events_agree)
{
	struct harness h;
	struct ib_muxd_msg m, r;
	struct race rc;
	int adds = 0, removes = 0, saw2 = 0;

	IB_CHECK_OK(h_open(&h));
	rc.h = &h;
	rc.gone = fake_backend_attach(h.fb, UDID1);
	rc.done = 0;
	fake_backend_on_list(h.fb, race_on_list, &rc);
	plist_req(&m, IB_MUXD_K_LISTEN, 1);
	h_send(&h, &m);
	IB_CHECK_OK(h_recv(&h, &r));
	IB_CHECK(r.kind == IB_MUXD_K_RESULT && r.number == 0);
	while (h_recv(&h, &r) == IB_OK) {
		if (r.kind == IB_MUXD_K_ATTACHED) {
			adds++;
			saw2 |= strcmp(r.dev.udid, UDID2) == 0;
		} else if (r.kind == IB_MUXD_K_DETACHED) {
			removes++;
		}
	}
	/* The snapshot (after the events) holds only device 2: one Attached,
	 * no Detached for a device this listener never heard of. */
	IB_CHECK_EQ(adds, 1);
	IB_CHECK_EQ(removes, 0);
	IB_CHECK(saw2);
	h_close(&h);
}

IB_TEST(byte_at_a_time_gives_the_same_replies)
{
	static const enum ib_muxd_kind kinds[] = {
		IB_MUXD_K_LIST_DEVICES, IB_MUXD_K_READ_BUID, IB_MUXD_K_UNKNOWN,
		IB_MUXD_K_READ_PAIR_RECORD, IB_MUXD_K_LISTEN,
	};
	struct harness h;
	struct ib_muxd_msg m;
	struct ib_buf in, whole;
	size_t i, used;
	int pass;

	ib_buf_init(&in, 1 << 20);
	ib_buf_init(&whole, 1 << 20);
	for (i = 0; i < IB_ARRAY_LEN(kinds); i++) {
		plist_req(&m, kinds[i], (uint32_t)i + 1);
		snprintf(m.record_id, sizeof(m.record_id), UDID1);
		IB_CHECK_OK(ib_muxd_encode(&in, &m));
	}
	for (pass = 0; pass < 2; pass++) {
		IB_CHECK_OK(h_open(&h));
		fake_backend_attach(h.fb, UDID1);
		if (pass == 0) {
			muxd_session_input(h.s, ib_buf_ptr(&in), ib_buf_len(&in), &used);
			IB_CHECK_EQ(used, ib_buf_len(&in));
		} else {
			for (i = 0; i < ib_buf_len(&in); i++) {
				muxd_session_input(h.s, ib_buf_ptr(&in) + i, 1, &used);
				IB_CHECK_EQ(used, 1);
			}
		}
		(void)muxd_session_output(h.s, collect, &h.out);
		if (pass == 0) {
			IB_CHECK_OK(ib_buf_put(&whole, ib_buf_ptr(&h.out), ib_buf_len(&h.out)));
		} else {
			IB_CHECK_EQ(ib_buf_len(&h.out), ib_buf_len(&whole));
			IB_CHECK(memcmp(ib_buf_ptr(&h.out), ib_buf_ptr(&whole), ib_buf_len(&whole)) == 0);
		}
		IB_CHECK_EQ(muxd_session_state(h.s, NULL, NULL), MUXD_LISTEN);
		h_close(&h);
	}
	ib_buf_free(&in);
	ib_buf_free(&whole);
}

IB_TEST(a_listener_that_does_not_read_overflows)
{
	struct harness h;
	struct ib_muxd_msg m;
	struct ib_device d;
	size_t pending = 0;
	unsigned i;
	int over = 0;

	IB_CHECK_OK(h_open(&h));
	plist_req(&m, IB_MUXD_K_LISTEN, 1);
	h_send(&h, &m);
	memset(&d, 0, sizeof(d));
	snprintf(d.udid, sizeof(d.udid), UDID1);
	for (i = 0; i < 10000 && !over; i++) {
		d.handle = i + 1;
		muxd_session_notify(h.s, 1, &d);
		muxd_session_notify(h.s, 0, &d);
		(void)muxd_session_state(h.s, &pending, &over);
	}
	IB_CHECK(over);
	IB_CHECK(pending <= IB_MUXD_CLIENT_BACKLOG);
	IB_CHECK(pending > IB_MUXD_CLIENT_BACKLOG / 2);
	h_close(&h);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
