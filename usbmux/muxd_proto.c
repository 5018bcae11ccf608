/*
 * muxd_proto.c - decoder of the usbmuxd client-socket protocol (usbmux.md
 * 3.2-3.7 and the Appendix), message helpers and the client's reply
 * check. The encoder is muxd_encode.c. See muxd_proto.h.
 */
#include "muxd_proto.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_plist.h"
#include "ib_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	enum ib_muxd_kind kind;
	const char *name;
} kind_names[] = {
	{ IB_MUXD_K_LISTEN, "Listen" },
	{ IB_MUXD_K_CONNECT, "Connect" },
	{ IB_MUXD_K_LIST_DEVICES, "ListDevices" },
	{ IB_MUXD_K_LIST_LISTENERS, "ListListeners" },
	{ IB_MUXD_K_READ_BUID, "ReadBUID" },
	{ IB_MUXD_K_READ_PAIR_RECORD, "ReadPairRecord" },
	{ IB_MUXD_K_SAVE_PAIR_RECORD, "SavePairRecord" },
	{ IB_MUXD_K_DELETE_PAIR_RECORD, "DeletePairRecord" },
	{ IB_MUXD_K_RESULT, "Result" },
	{ IB_MUXD_K_ATTACHED, "Attached" },
	{ IB_MUXD_K_DETACHED, "Detached" },
	{ IB_MUXD_K_PAIRED, "Paired" },
	/* Replies without MessageType: names for logs only. */
	{ IB_MUXD_K_DEVICE_LIST, "(DeviceList)" },
	{ IB_MUXD_K_LISTENER_LIST, "(ListenerList)" },
	{ IB_MUXD_K_BUID, "(BUID)" },
	{ IB_MUXD_K_PAIR_RECORD_DATA, "(PairRecordData)" },
	{ IB_MUXD_K_UNKNOWN, "(unknown)" },
};

const char *
ib_muxd_kind_name(enum ib_muxd_kind kind)
{
	size_t i;

	for (i = 0; i < IB_ARRAY_LEN(kind_names); i++)
		if (kind_names[i].kind == kind)
			return kind_names[i].name;
	return "(none)";
}

/* MessageType string to kind, for the kinds that carry one. */
static enum ib_muxd_kind
kind_from_name(const char *s)
{
	size_t i;

	for (i = 0; i < IB_ARRAY_LEN(kind_names); i++)
		if (kind_names[i].name[0] != '(' && strcmp(kind_names[i].name, s) == 0)
			return kind_names[i].kind;
	return IB_MUXD_K_UNKNOWN;
}

void
ib_muxd_msg_init(struct ib_muxd_msg *m, enum ib_muxd_kind kind, int plist, uint32_t tag)
{
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->plist = plist != 0;
	m->version = plist ? 1 : 0;
	m->tag = tag;
}

void
ib_muxd_msg_clear(struct ib_muxd_msg *m)
{
	if (m == NULL)
		return;
	free(m->devs);
	free(m->listeners);
	if (m->data != NULL) {
		explicit_bzero(m->data, m->data_len);
		free(m->data);
	}
	explicit_bzero(m, sizeof(*m));
}

/* --- small helpers ------------------------------------------------------ */

/* Printable ASCII without spaces: what a UDID or record id may hold. */
static int
udid_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > IB_UDID_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	return 1;
}

/* UDID from a usbmuxd serial: a 24-character serial gets the hyphen after
 * its 8th character, as usbmuxd and libusbmuxd write it. */
static int
udid_from_serial(const char *s, size_t len, char out[IB_UDID_MAX + 1])
{
	if (!udid_ok(s, len))
		return IB_ERR_MUXD_PROTOCOL;
	if (len == 24 && memchr(s, '-', len) == NULL)
		snprintf(out, IB_UDID_MAX + 1, "%.8s-%.16s", s, s + 8);
	else
		snprintf(out, IB_UDID_MAX + 1, "%.*s", (int)len, s);
	return IB_OK;
}

/* Copy a printable name, cut at IB_MUXD_NAME_MAX; others become "". */
static void
copy_name(char out[IB_MUXD_NAME_MAX + 1], const char *s)
{
	size_t i;

	out[0] = '\0';
	if (s == NULL)
		return;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return;
	snprintf(out, IB_MUXD_NAME_MAX + 1, "%s", s);
}

/* --- decoding ----------------------------------------------------------- */

int
ib_muxd_header_parse(const uint8_t *p, size_t n, uint32_t *lenp, uint32_t *versionp,
    uint32_t *typep, uint32_t *tagp)
{
	struct ib_buf b;
	uint32_t len = 0, version = 0, type = 0, tag = 0;

	*lenp = *versionp = *typep = *tagp = 0;
	if (n < IB_MUXD_HEADER_LEN)
		return IB_ERR_INCOMPLETE;
	ib_buf_init_ro(&b, p, IB_MUXD_HEADER_LEN);
	if (ib_buf_get_u32le(&b, &len) != IB_OK || ib_buf_get_u32le(&b, &version) != IB_OK ||
	    ib_buf_get_u32le(&b, &type) != IB_OK || ib_buf_get_u32le(&b, &tag) != IB_OK)
		return IB_ERR_INCOMPLETE;
	if (len < IB_MUXD_HEADER_LEN || len > IB_MUXD_MSG_MAX) {
		ib_err_detail_set("usbmuxd message length %u outside 16..%u", len,
		    IB_MUXD_MSG_MAX);
		return IB_ERR_MUXD_PROTOCOL;
	}
	*lenp = len;
	*versionp = version;
	*typep = type;
	*tagp = tag;
	return IB_OK;
}

static int
protocol_error(const char *what)
{
	ib_err_detail_set("usbmuxd message: %s", what);
	return IB_ERR_MUXD_PROTOCOL;
}

static int
decode_device_record(struct ib_buf *b, struct ib_muxd_msg *m)
{
	const uint8_t *serial = NULL;
	const void *nul;
	uint16_t pid = 0, pad = 0;
	uint32_t id = 0, location = 0;
	int r;

	if ((r = ib_buf_get_u32le(b, &id)) != IB_OK ||
	    (r = ib_buf_get_u16le(b, &pid)) != IB_OK ||
	    (r = ib_buf_get_ptr(b, IB_MUXD_SERIAL_LEN, &serial)) != IB_OK ||
	    (r = ib_buf_get_u16le(b, &pad)) != IB_OK ||
	    (r = ib_buf_get_u32le(b, &location)) != IB_OK)
		return protocol_error("short DEVICE_ADD");
	if ((nul = memchr(serial, '\0', IB_MUXD_SERIAL_LEN)) == NULL)
		return protocol_error("DEVICE_ADD serial is not terminated");
	if ((r = udid_from_serial((const char *)serial,
	    (size_t)((const uint8_t *)nul - serial), m->dev.udid)) != IB_OK)
		return protocol_error("DEVICE_ADD serial is not a UDID");
	m->dev.handle = id;
	m->dev.product_id = pid;
	m->dev.location = location;
	m->dev.conn = IB_CONN_USBMUXD;
	snprintf(m->dev.conn_detail, sizeof(m->dev.conn_detail), "USB");
	return IB_OK;
}

static int
decode_binary(struct ib_buf *b, uint32_t type, struct ib_muxd_msg *m)
{
	uint16_t reserved = 0;
	int r = IB_OK;

	switch (type) {
	case IB_MUXD_MSG_RESULT:
		m->kind = IB_MUXD_K_RESULT;
		r = ib_buf_get_u32le(b, &m->number);
		break;
	case IB_MUXD_MSG_CONNECT:
		m->kind = IB_MUXD_K_CONNECT;
		if ((r = ib_buf_get_u32le(b, &m->device_id)) == IB_OK &&
		    (r = ib_buf_get_u16be(b, &m->port)) == IB_OK)
			r = ib_buf_get_u16le(b, &reserved);
		m->has_device_id = m->has_port = r == IB_OK;
		break;
	case IB_MUXD_MSG_LISTEN:
		m->kind = IB_MUXD_K_LISTEN;
		break;
	case IB_MUXD_MSG_DEVICE_ADD:
		m->kind = IB_MUXD_K_ATTACHED;
		r = decode_device_record(b, m);
		break;
	case IB_MUXD_MSG_DEVICE_REMOVE:
	case IB_MUXD_MSG_DEVICE_PAIRED:
		m->kind = type == IB_MUXD_MSG_DEVICE_REMOVE ? IB_MUXD_K_DETACHED : IB_MUXD_K_PAIRED;
		r = ib_buf_get_u32le(b, &m->device_id);
		m->has_device_id = r == IB_OK;
		break;
	default:
		/* No meaning; the server answers BADCOMMAND. */
		m->kind = IB_MUXD_K_UNKNOWN;
		snprintf(m->message_type, sizeof(m->message_type), "binary type %u", type);
		return IB_OK;
	}
	if (r != IB_OK)
		return protocol_error("binary payload too short");
	if (ib_buf_get_end(b) != IB_OK)
		return protocol_error("binary payload too long");
	return IB_OK;
}

/* An unsigned plist integer that must fit in 32 bits. */
static int
get_u32(plist_t d, const char *key, uint32_t *vp)
{
	uint64_t v = 0;
	int r;

	*vp = 0;
	if ((r = ib_plist_dict_get_uint(d, key, &v)) != IB_OK)
		return r;
	if (v > UINT32_MAX)
		return IB_ERR_PLIST_TYPE;
	*vp = (uint32_t)v;
	return IB_OK;
}

/* Attached dict (notification or DeviceList entry) to a device. */
static int
parse_attached(plist_t d, struct ib_device *dev)
{
	plist_t props = NULL;
	const char *s = NULL;
	uint32_t v = 0;
	uint64_t speed = 0;

	memset(dev, 0, sizeof(*dev));
	if (ib_plist_dict_get_dict(d, "Properties", &props) != IB_OK)
		return protocol_error("Attached without Properties");
	/* libusbmuxd reads DeviceID from Properties; usbmuxd sends both. */
	if (get_u32(props, "DeviceID", &dev->handle) != IB_OK &&
	    get_u32(d, "DeviceID", &dev->handle) != IB_OK)
		return protocol_error("Attached without DeviceID");
	if (ib_plist_dict_get_string(props, "SerialNumber", &s) != IB_OK ||
	    udid_from_serial(s, strlen(s), dev->udid) != IB_OK)
		return protocol_error("Attached without a valid SerialNumber");
	/* Informational keys: a wrong type or range counts as absent. */
	if (get_u32(props, "ProductID", &v) == IB_OK && v <= UINT16_MAX)
		dev->product_id = (uint16_t)v;
	if (get_u32(props, "LocationID", &v) == IB_OK)
		dev->location = v;
	if (ib_plist_dict_get_uint(props, "ConnectionSpeed", &speed) == IB_OK)
		dev->speed_bps = speed;
	dev->conn = IB_CONN_USBMUXD;
	if (ib_plist_dict_get_string(props, "ConnectionType", &s) != IB_OK)
		s = "USB";
	if (strlen(s) >= sizeof(dev->conn_detail) || !udid_ok(s, strlen(s)))
		return protocol_error("Attached with an invalid ConnectionType");
	snprintf(dev->conn_detail, sizeof(dev->conn_detail), "%s", s);
	return IB_OK;
}

static int
parse_device_list(plist_t arr, struct ib_muxd_msg *m)
{
	uint32_t i, n = plist_array_get_size(arr);
	plist_t e = NULL;
	int r;

	if (n > IB_MUXD_MAX_DEVICES)
		return protocol_error("DeviceList has too many devices");
	if (n > 0 && (m->devs = calloc(n, sizeof(*m->devs))) == NULL)
		return IB_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		if (ib_plist_array_get_dict(arr, i, &e) != IB_OK)
			return protocol_error("DeviceList entry is not a dict");
		if ((r = parse_attached(e, &m->devs[i])) != IB_OK)
			return r;
		m->ndevs++;
	}
	return IB_OK;
}

static int
parse_listener_list(plist_t arr, struct ib_muxd_msg *m)
{
	uint32_t i, n = plist_array_get_size(arr);
	struct ib_muxd_listener *l;
	plist_t e = NULL;
	const char *s;

	if (n > IB_MUXD_MAX_LISTENERS)
		return protocol_error("ListenerList has too many entries");
	if (n > 0 && (m->listeners = calloc(n, sizeof(*m->listeners))) == NULL)
		return IB_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		l = &m->listeners[i];
		if (ib_plist_array_get_dict(arr, i, &e) != IB_OK)
			return protocol_error("ListenerList entry is not a dict");
		if (ib_plist_dict_get_string(e, "ID String", &s) == IB_OK)
			copy_name(l->id, s);
		if (ib_plist_dict_get_string(e, "ProgName", &s) == IB_OK)
			copy_name(l->prog_name, s);
		if (ib_plist_dict_get_string(e, "BundleID", &s) == IB_OK)
			copy_name(l->bundle_id, s);
		(void)ib_plist_dict_get_uint(e, "kLibUSBMuxVersion", &l->version);
		m->nlisteners++;
	}
	return IB_OK;
}

static int
take_data(plist_t d, const char *key, struct ib_muxd_msg *m)
{
	const uint8_t *p = NULL;
	size_t n = 0;

	if (ib_plist_dict_get_data(d, key, &p, &n) != IB_OK)
		return IB_ERR_PLIST_MISSING;
	if ((m->data = malloc(n ? n : 1)) == NULL)
		return IB_ERR_NOMEM;
	if (n > 0)
		memcpy(m->data, p, n);
	m->data_len = n;
	m->has_data = 1;
	return IB_OK;
}

/* Request fields; absent or invalid ones leave has_* at 0. */
static int
parse_request(plist_t d, struct ib_muxd_msg *m)
{
	const char *s = NULL;
	int64_t port = 0;
	int r;

	if (ib_plist_dict_get_string(d, "ProgName", &s) == IB_OK)
		copy_name(m->prog_name, s);
	if (ib_plist_dict_get_string(d, "BundleID", &s) == IB_OK)
		copy_name(m->bundle_id, s);
	(void)ib_plist_dict_get_uint(d, "kLibUSBMuxVersion", &m->lib_version);
	m->has_device_id = get_u32(d, "DeviceID", &m->device_id) == IB_OK;
	if (m->kind == IB_MUXD_K_CONNECT &&
	    ib_plist_dict_get_int(d, "PortNumber", &port) == IB_OK) {
		/* The byte-swapped port; Apple's clients write it as a signed
		 * integer, negative when bit 15 is set: keep the low 16 bits. */
		m->port = ib_muxd_swap16((uint16_t)((uint64_t)port & 0xffffu));
		m->has_port = 1;
	}
	if (ib_plist_dict_get_string(d, "PairRecordID", &s) == IB_OK &&
	    udid_ok(s, strlen(s))) {
		snprintf(m->record_id, sizeof(m->record_id), "%s", s);
		m->has_record_id = 1;
	}
	if (m->kind == IB_MUXD_K_SAVE_PAIR_RECORD &&
	    (r = take_data(d, "PairRecordData", m)) == IB_ERR_NOMEM)
		return r;
	return IB_OK;
}

/* A dict with a MessageType. */
static int
parse_typed(plist_t d, const char *type, struct ib_muxd_msg *m)
{
	m->kind = kind_from_name(type);
	switch (m->kind) {
	case IB_MUXD_K_RESULT:
		if (get_u32(d, "Number", &m->number) != IB_OK)
			return protocol_error("Result without a valid Number");
		return IB_OK;
	case IB_MUXD_K_ATTACHED:
		return parse_attached(d, &m->dev);
	case IB_MUXD_K_DETACHED:
	case IB_MUXD_K_PAIRED:
		if (get_u32(d, "DeviceID", &m->device_id) != IB_OK)
			return protocol_error("notification without a valid DeviceID");
		m->has_device_id = 1;
		return IB_OK;
	case IB_MUXD_K_UNKNOWN:
		copy_name(m->message_type, type);
		return parse_request(d, m);
	default:
		return parse_request(d, m);
	}
}

/* Replies without MessageType, told apart by their one key (Appendix). */
static int
parse_untyped(plist_t d, struct ib_muxd_msg *m)
{
	plist_t arr = NULL;
	const char *s = NULL;
	int r;

	if (ib_plist_dict_get_array(d, "DeviceList", &arr) == IB_OK) {
		m->kind = IB_MUXD_K_DEVICE_LIST;
		return parse_device_list(arr, m);
	}
	if (ib_plist_dict_get_array(d, "ListenerList", &arr) == IB_OK) {
		m->kind = IB_MUXD_K_LISTENER_LIST;
		return parse_listener_list(arr, m);
	}
	if (ib_plist_dict_get_string(d, "BUID", &s) == IB_OK) {
		if (s[0] == '\0' || strlen(s) > IB_MUXD_NAME_MAX)
			return protocol_error("BUID of invalid length");
		m->kind = IB_MUXD_K_BUID;
		copy_name(m->buid, s);
		return m->buid[0] != '\0' ? IB_OK : protocol_error("BUID is not printable");
	}
	if ((r = take_data(d, "PairRecordData", m)) == IB_OK) {
		m->kind = IB_MUXD_K_PAIR_RECORD_DATA;
		return IB_OK;
	}
	if (r == IB_ERR_NOMEM)
		return r;
	return protocol_error("plist without MessageType and without a known reply key");
}

static int
decode_plist(const uint8_t *p, size_t n, struct ib_muxd_msg *m)
{
	plist_t d = NULL;
	const char *type = NULL;
	int r;

	if (ib_plist_parse_dict(p, n, IB_MUXD_MSG_MAX, &d) != IB_OK) {
		r = protocol_error("payload is not a plist dict");
		goto out;
	}
	r = ib_plist_dict_get_string(d, "MessageType", &type);
	if (r == IB_OK)
		r = parse_typed(d, type, m);
	else if (r == IB_ERR_PLIST_MISSING)
		r = parse_untyped(d, m);
	else
		r = protocol_error("MessageType is not a string");
 out:
	plist_free(d);
	return r;
}

int
ib_muxd_decode(const uint8_t *p, size_t n, struct ib_muxd_msg *m)
{
	struct ib_buf b;
	uint32_t len, version, type, tag;
	int r;

	memset(m, 0, sizeof(*m));
	if ((r = ib_muxd_header_parse(p, n, &len, &version, &type, &tag)) != IB_OK)
		return r;
	m->version = version;
	m->tag = tag;
	m->plist = type == IB_MUXD_MSG_PLIST;
	if (n != len)
		return n < len ? IB_ERR_INCOMPLETE : IB_ERR_TRAILING;
	if (version > 1) {
		ib_err_detail_set("usbmuxd message version %u", version);
		return IB_ERR_MUXD_BADVERSION;
	}
	/* The payload parser follows the message type, not the version. */
	if (m->plist) {
		r = decode_plist(p + IB_MUXD_HEADER_LEN, n - IB_MUXD_HEADER_LEN, m);
	} else {
		ib_buf_init_ro(&b, p + IB_MUXD_HEADER_LEN, n - IB_MUXD_HEADER_LEN);
		r = decode_binary(&b, type, m);
	}
	if (r != IB_OK) {
		/* Keep the header for the answer, drop half-parsed content. */
		ib_muxd_msg_clear(m);
		m->version = version;
		m->tag = tag;
		m->plist = type == IB_MUXD_MSG_PLIST;
	}
	return r;
}

/* --- incremental decoder -------------------------------------------------- */

void
ib_muxd_decoder_init(struct ib_muxd_decoder *d)
{
	memset(d, 0, sizeof(*d));
	ib_buf_init(&d->msg, IB_MUXD_MSG_MAX);
}

void
ib_muxd_decoder_release(struct ib_muxd_decoder *d)
{
	if (d == NULL)
		return;
	ib_buf_free(&d->msg);
	memset(d, 0, sizeof(*d));
}

int
ib_muxd_decoder_feed(struct ib_muxd_decoder *d, const uint8_t *p, size_t n, size_t *usedp)
{
	uint32_t version, type, tag;
	size_t used = 0, take;
	int r;

	*usedp = 0;
	if (d->failed)
		return IB_ERR_MUXD_PROTOCOL;
	while (used < n && !d->ready) {
		if (d->hdr_have < IB_MUXD_HEADER_LEN) {
			take = IB_MIN(IB_MUXD_HEADER_LEN - d->hdr_have, n - used);
			memcpy(d->hdr + d->hdr_have, p + used, take);
			d->hdr_have += take;
			used += take;
			if (d->hdr_have < IB_MUXD_HEADER_LEN)
				break;
			if ((r = ib_muxd_header_parse(d->hdr, IB_MUXD_HEADER_LEN, &d->len,
			    &version, &type, &tag)) != IB_OK) {
				d->failed = 1;
				*usedp = used;
				return r;
			}
			ib_buf_reset(&d->msg);
			if ((r = ib_buf_put(&d->msg, d->hdr, IB_MUXD_HEADER_LEN)) != IB_OK) {
				d->failed = 1;
				*usedp = used;
				return r;
			}
		} else {
			take = IB_MIN(d->len - ib_buf_len(&d->msg), n - used);
			if ((r = ib_buf_put(&d->msg, p + used, take)) != IB_OK) {
				d->failed = 1;
				*usedp = used;
				return r;
			}
			used += take;
		}
		if (ib_buf_len(&d->msg) == d->len)
			d->ready = 1;
	}
	*usedp = used;
	return IB_OK;
}

size_t
ib_muxd_decoder_want(const struct ib_muxd_decoder *d)
{
	if (d->ready || d->failed)
		return 0;
	if (d->hdr_have < IB_MUXD_HEADER_LEN)
		return IB_MUXD_HEADER_LEN - d->hdr_have;
	return d->len - ib_buf_len(&d->msg);
}

int
ib_muxd_decoder_next(struct ib_muxd_decoder *d, struct ib_muxd_msg *m)
{
	int r;

	if (!d->ready) {
		memset(m, 0, sizeof(*m));
		return d->failed ? IB_ERR_MUXD_PROTOCOL : IB_ERR_INCOMPLETE;
	}
	r = ib_muxd_decode(ib_buf_ptr(&d->msg), ib_buf_len(&d->msg), m);
	ib_buf_reset(&d->msg);
	d->hdr_have = 0;
	d->len = 0;
	d->ready = 0;
	return r;
}

/* --- reply interpretation (client side) ----------------------------------- */

static int
is_pair_op(enum ib_muxd_kind op)
{
	return op == IB_MUXD_K_READ_PAIR_RECORD || op == IB_MUXD_K_SAVE_PAIR_RECORD ||
	    op == IB_MUXD_K_DELETE_PAIR_RECORD;
}

static int
map_result(enum ib_muxd_kind op, uint32_t number, int errno_values)
{
	if (number == IB_MUXD_RESULT_OK)
		return IB_OK;
	if (errno_values) {
		/* errno values (usbmux.md 3.6). */
		if (number == ENOENT)
			return IB_ERR_NOT_FOUND;
		ib_err_detail_set("usbmuxd %s failed with errno %u", ib_muxd_kind_name(op),
		    number);
		return number == EINVAL ? IB_ERR_INVALID_ARG : IB_ERR_MUXD_RESULT;
	}
	switch (number) {
	case IB_MUXD_RESULT_BADCOMMAND:
		return IB_ERR_MUXD_BADCOMMAND;
	case IB_MUXD_RESULT_BADDEV:
		return IB_ERR_MUXD_BADDEV;
	case IB_MUXD_RESULT_CONNREFUSED:
		return IB_ERR_MUX_REFUSED;
	case IB_MUXD_RESULT_BADVERSION:
		return IB_ERR_MUXD_BADVERSION;
	default:
		ib_err_detail_set("usbmuxd answered %s with result %u", ib_muxd_kind_name(op),
		    number);
		return IB_ERR_MUXD_RESULT;
	}
}

int
ib_muxd_result_err(enum ib_muxd_kind op, uint32_t number)
{
	return map_result(op, number, is_pair_op(op));
}

int
ib_muxd_reply_check(enum ib_muxd_kind op, const struct ib_muxd_msg *m)
{
	enum ib_muxd_kind want = IB_MUXD_K_RESULT;
	int r;

	switch (op) {
	case IB_MUXD_K_READ_BUID:
		want = IB_MUXD_K_BUID;
		break;
	case IB_MUXD_K_READ_PAIR_RECORD:
		want = IB_MUXD_K_PAIR_RECORD_DATA;
		break;
	case IB_MUXD_K_LIST_DEVICES:
		want = IB_MUXD_K_DEVICE_LIST;
		break;
	case IB_MUXD_K_LIST_LISTENERS:
		want = IB_MUXD_K_LISTENER_LIST;
		break;
	default:
		break;
	}
	if (m->kind == want && want != IB_MUXD_K_RESULT)
		return IB_OK;
	if (m->kind == IB_MUXD_K_RESULT) {
		/* errno values come in plist replies; a binary Result is a
		 * result code (an old server refusing plist says 6). */
		r = map_result(op, m->number, is_pair_op(op) && m->plist);
		if (r == IB_OK && want != IB_MUXD_K_RESULT)
			return protocol_error("Result 0 where a reply with data was due");
		return r;
	}
	ib_err_detail_set("usbmuxd answered %s with %s", ib_muxd_kind_name(op),
	    ib_muxd_kind_name(m->kind));
	return IB_ERR_MUXD_PROTOCOL;
}
