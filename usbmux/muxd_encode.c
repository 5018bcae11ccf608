/*
 * muxd_encode.c - encoder of the usbmuxd client-socket protocol: binary
 * messages field by field, plist messages as XML (the only form usbmuxd
 * parses). See muxd_proto.h.
 */
#include "muxd_proto.h"
#include "ib_config.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_plist.h"
#include "ib_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG_NAME "ibackup"
#define CLIENT_VERSION "ibackup-" IB_VERSION

static int
put_header(struct ib_buf *b, size_t len, uint32_t version, uint32_t type, uint32_t tag)
{
	int r;

	if (len > IB_MUXD_MSG_MAX)
		return IB_ERR_TOO_LARGE;
	if ((r = ib_buf_put_u32le(b, (uint32_t)len)) != IB_OK ||
	    (r = ib_buf_put_u32le(b, version)) != IB_OK ||
	    (r = ib_buf_put_u32le(b, type)) != IB_OK ||
	    (r = ib_buf_put_u32le(b, tag)) != IB_OK)
		return r;
	return IB_OK;
}

static int
encode_binary(struct ib_buf *b, const struct ib_muxd_msg *m)
{
	uint8_t serial[IB_MUXD_SERIAL_LEN];
	int r;

	switch (m->kind) {
	case IB_MUXD_K_LISTEN:
		return put_header(b, IB_MUXD_HEADER_LEN, m->version, IB_MUXD_MSG_LISTEN, m->tag);
	case IB_MUXD_K_RESULT:
		if ((r = put_header(b, IB_MUXD_HEADER_LEN + 4, m->version,
		    IB_MUXD_MSG_RESULT, m->tag)) != IB_OK)
			return r;
		return ib_buf_put_u32le(b, m->number);
	case IB_MUXD_K_DETACHED:
	case IB_MUXD_K_PAIRED:
		if ((r = put_header(b, IB_MUXD_HEADER_LEN + 4, m->version,
		    m->kind == IB_MUXD_K_DETACHED ? IB_MUXD_MSG_DEVICE_REMOVE :
		    IB_MUXD_MSG_DEVICE_PAIRED, m->tag)) != IB_OK)
			return r;
		return ib_buf_put_u32le(b, m->device_id);
	case IB_MUXD_K_CONNECT:
		/* The port travels in network byte order inside an LE message. */
		if ((r = put_header(b, IB_MUXD_HEADER_LEN + 8, m->version,
		    IB_MUXD_MSG_CONNECT, m->tag)) != IB_OK ||
		    (r = ib_buf_put_u32le(b, m->device_id)) != IB_OK ||
		    (r = ib_buf_put_u16be(b, m->port)) != IB_OK)
			return r;
		return ib_buf_put_u16le(b, 0);
	case IB_MUXD_K_ATTACHED:
		memset(serial, 0, sizeof(serial));
		memcpy(serial, m->dev.udid, strnlen(m->dev.udid, IB_UDID_MAX));
		if ((r = put_header(b, IB_MUXD_HEADER_LEN + IB_MUXD_DEVICE_RECORD_LEN,
		    m->version, IB_MUXD_MSG_DEVICE_ADD, m->tag)) != IB_OK ||
		    (r = ib_buf_put_u32le(b, m->dev.handle)) != IB_OK ||
		    (r = ib_buf_put_u16le(b, m->dev.product_id)) != IB_OK ||
		    (r = ib_buf_put(b, serial, sizeof(serial))) != IB_OK ||
		    (r = ib_buf_put_u16le(b, 0)) != IB_OK)
			return r;
		return ib_buf_put_u32le(b, m->dev.location);
	default:
		return IB_ERR_INVALID_ARG;
	}
}

static void
dict_set_uint(plist_t d, const char *key, uint64_t v)
{
	plist_dict_set_item(d, key, plist_new_uint(v));
}

static void
dict_set_string(plist_t d, const char *key, const char *s)
{
	plist_dict_set_item(d, key, plist_new_string(s));
}

/* {MessageType Attached, DeviceID, Properties}: the keys usbmuxd sends,
 * plus UDID and USBSerialNumber as Apple's daemon does (Appendix). */
static plist_t
attached_plist(const struct ib_device *dev)
{
	plist_t d = plist_new_dict(), props = plist_new_dict();
	char usb_serial[IB_UDID_MAX + 1];
	size_t i, j;

	for (i = j = 0; dev->udid[i] != '\0' && i < IB_UDID_MAX; i++)
		if (dev->udid[i] != '-')
			usb_serial[j++] = dev->udid[i];
	usb_serial[j] = '\0';
	dict_set_uint(props, "ConnectionSpeed", dev->speed_bps);
	/* libusbmuxd knows only "USB" and "Network" and drops any other
	 * device: a device of ibackup's own mux ("Sim", ...) is USB to it. */
	dict_set_string(props, "ConnectionType", dev->conn == IB_CONN_NETWORK ||
	    strcmp(dev->conn_detail, "Network") == 0 ? "Network" : "USB");
	dict_set_uint(props, "DeviceID", dev->handle);
	dict_set_uint(props, "LocationID", dev->location);
	dict_set_uint(props, "ProductID", dev->product_id);
	dict_set_string(props, "SerialNumber", dev->udid);
	dict_set_string(props, "UDID", dev->udid);
	dict_set_string(props, "USBSerialNumber", usb_serial);
	dict_set_string(d, "MessageType", "Attached");
	dict_set_uint(d, "DeviceID", dev->handle);
	plist_dict_set_item(d, "Properties", props);
	return d;
}

static plist_t
listener_plist(const struct ib_muxd_listener *l)
{
	plist_t d = plist_new_dict();

	plist_dict_set_item(d, "Blacklisted", plist_new_bool(0));
	if (l->bundle_id[0] != '\0')
		dict_set_string(d, "BundleID", l->bundle_id);
	dict_set_uint(d, "ConnType", 0);
	dict_set_string(d, "ID String", l->id);
	dict_set_string(d, "ProgName", l->prog_name);
	dict_set_uint(d, "kLibUSBMuxVersion", l->version);
	return d;
}

/* Requests carry the informational keys libusbmuxd sends. */
static plist_t
request_plist(const struct ib_muxd_msg *m, const char *type)
{
	plist_t d = plist_new_dict();

	if (m->bundle_id[0] != '\0')
		dict_set_string(d, "BundleID", m->bundle_id);
	dict_set_string(d, "ClientVersionString", CLIENT_VERSION);
	dict_set_string(d, "MessageType", type);
	dict_set_string(d, "ProgName", m->prog_name[0] != '\0' ? m->prog_name : PROG_NAME);
	dict_set_uint(d, "kLibUSBMuxVersion", IB_MUXD_LIBUSBMUX_VERSION);
	return d;
}

static plist_t
reply_plist(const struct ib_muxd_msg *m)
{
	plist_t d = NULL, a;
	size_t i;

	switch (m->kind) {
	case IB_MUXD_K_RESULT:
		d = plist_new_dict();
		dict_set_string(d, "MessageType", "Result");
		dict_set_uint(d, "Number", m->number);
		break;
	case IB_MUXD_K_ATTACHED:
		d = attached_plist(&m->dev);
		break;
	case IB_MUXD_K_DETACHED:
	case IB_MUXD_K_PAIRED:
		d = plist_new_dict();
		dict_set_string(d, "MessageType", ib_muxd_kind_name(m->kind));
		dict_set_uint(d, "DeviceID", m->device_id);
		break;
	case IB_MUXD_K_DEVICE_LIST:
		d = plist_new_dict();
		a = plist_new_array();
		for (i = 0; i < m->ndevs; i++)
			plist_array_append_item(a, attached_plist(&m->devs[i]));
		plist_dict_set_item(d, "DeviceList", a);
		break;
	case IB_MUXD_K_LISTENER_LIST:
		d = plist_new_dict();
		a = plist_new_array();
		for (i = 0; i < m->nlisteners; i++)
			plist_array_append_item(a, listener_plist(&m->listeners[i]));
		plist_dict_set_item(d, "ListenerList", a);
		break;
	case IB_MUXD_K_BUID:
		d = plist_new_dict();
		dict_set_string(d, "BUID", m->buid);
		break;
	case IB_MUXD_K_PAIR_RECORD_DATA:
		d = plist_new_dict();
		plist_dict_set_item(d, "PairRecordData",
		    plist_new_data((const char *)m->data, m->data_len));
		break;
	default:
		break;
	}
	return d;
}

static plist_t
message_plist(const struct ib_muxd_msg *m)
{
	plist_t d;

	switch (m->kind) {
	case IB_MUXD_K_LISTEN:
	case IB_MUXD_K_LIST_DEVICES:
	case IB_MUXD_K_LIST_LISTENERS:
	case IB_MUXD_K_READ_BUID:
		return request_plist(m, ib_muxd_kind_name(m->kind));
	case IB_MUXD_K_UNKNOWN:
		return request_plist(m, m->message_type[0] != '\0' ? m->message_type : "Unknown");
	case IB_MUXD_K_CONNECT:
		d = request_plist(m, "Connect");
		dict_set_uint(d, "DeviceID", m->device_id);
		/* libusbmuxd writes htons(port) as a positive integer. */
		dict_set_uint(d, "PortNumber", ib_muxd_swap16(m->port));
		return d;
	case IB_MUXD_K_READ_PAIR_RECORD:
	case IB_MUXD_K_SAVE_PAIR_RECORD:
	case IB_MUXD_K_DELETE_PAIR_RECORD:
		d = request_plist(m, ib_muxd_kind_name(m->kind));
		dict_set_string(d, "PairRecordID", m->record_id);
		if (m->kind == IB_MUXD_K_SAVE_PAIR_RECORD) {
			plist_dict_set_item(d, "PairRecordData",
			    plist_new_data((const char *)m->data, m->data_len));
			if (m->has_device_id)
				dict_set_uint(d, "DeviceID", m->device_id);
		}
		return d;
	default:
		return reply_plist(m);
	}
}

static int
encode_plist(struct ib_buf *b, const struct ib_muxd_msg *m)
{
	plist_t d;
	char *xml = NULL;
	size_t len = 0;
	int r;

	if ((d = message_plist(m)) == NULL)
		return IB_ERR_INVALID_ARG;
	r = ib_plist_to_xml(d, &xml, &len);
	plist_free(d);
	if (r != IB_OK)
		return r;
	if (len > IB_MUXD_MSG_MAX - IB_MUXD_HEADER_LEN) {
		r = IB_ERR_TOO_LARGE;
		goto out;
	}
	if ((r = put_header(b, IB_MUXD_HEADER_LEN + len, m->version, IB_MUXD_MSG_PLIST,
	    m->tag)) != IB_OK)
		goto out;
	r = ib_buf_put(b, xml, len);
 out:
	/* The XML may carry a pair record. */
	explicit_bzero(xml, len);
	free(xml);
	return r;
}

int
ib_muxd_encode(struct ib_buf *out, const struct ib_muxd_msg *m)
{
	struct ib_buf tmp;
	int r;

	/* Build aside, then append in one put: out is unchanged on failure. */
	ib_buf_init(&tmp, IB_MUXD_MSG_MAX);
	r = m->plist ? encode_plist(&tmp, m) : encode_binary(&tmp, m);
	if (r == IB_OK)
		r = ib_buf_put(out, ib_buf_ptr(&tmp), ib_buf_len(&tmp));
	ib_buf_free(&tmp);
	return r;
}

