/*
 * dl_msg.c - DeviceLink message codec (see dl_msg.h).
 */
#include "dl_msg.h"
#include "dl_int.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_plist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DL_VERSION_EXCHANGE "DLMessageVersionExchange"
#define DL_VERSIONS_OK "DLVersionsOk"
#define DL_DEVICE_READY "DLMessageDeviceReady"
#define DL_PROCESS_MESSAGE "DLMessageProcessMessage"
#define DL_PING "DLMessagePing"
#define DL_DISCONNECT "DLMessageDisconnect"
#define DL_STATUS_RESPONSE "DLMessageStatusResponse"

int
ib_dl_status_from_errno(int errnum)
{
	switch (errnum) {
	case 0:
		return IB_DL_STATUS_OK;
	case ENOENT:
		return IB_DL_STATUS_ENOENT;
	case EEXIST:
		return IB_DL_STATUS_EEXIST;
	case ENOTDIR:
		return IB_DL_STATUS_ENOTDIR;
	case EISDIR:
		return IB_DL_STATUS_EISDIR;
	case ELOOP:
		return IB_DL_STATUS_ELOOP;
	case EIO:
		return IB_DL_STATUS_EIO;
	case ENOSPC:
		return IB_DL_STATUS_ENOSPC;
	default:
		return IB_DL_STATUS_ERROR;
	}
}

int
ib_dl_msg_name(plist_t msg, const char **namep)
{
	const char *s = NULL;

	*namep = NULL;
	if (!ib_plist_is_array(msg) || plist_array_get_size(msg) < 1) {
		ib_err_detail_set("a DeviceLink message must be a non-empty array");
		return IB_ERR_DL_PROTOCOL;
	}
	if (plist_array_get_size(msg) > IB_DL_MSG_ELEMS_MAX) {
		ib_err_detail_set("a DeviceLink message has %u elements",
		    plist_array_get_size(msg));
		return IB_ERR_DL_PROTOCOL;
	}
	if (ib_plist_array_get_string(msg, 0, &s) != IB_OK || strlen(s) < 9 ||
	    strncmp(s, "DL", 2) != 0) {
		ib_err_detail_set("element 0 of a DeviceLink message is not a DL name");
		return IB_ERR_DL_PROTOCOL;
	}
	*namep = s;
	return IB_OK;
}

/* The message must be named want and have between min and max elements. */
static int
expect(plist_t msg, const char *want, uint32_t min, uint32_t max)
{
	const char *name;
	uint32_t n;
	int r;

	if ((r = ib_dl_msg_name(msg, &name)) != IB_OK)
		return r;
	if (strcmp(name, want) != 0) {
		ib_err_detail_set("expected %s, got %.64s", want, name);
		return IB_ERR_DL_PROTOCOL;
	}
	n = plist_array_get_size(msg);
	if (n < min || n > max) {
		ib_err_detail_set("%s has %u elements, expected %u..%u", want, n, min, max);
		return IB_ERR_DL_PROTOCOL;
	}
	return IB_OK;
}

int
ib_dl_elem_error(int r, const char *what, uint32_t idx)
{
	if (r != IB_OK)
		ib_err_detail_set("%s: element %u is %s", what, idx,
		    r == IB_ERR_PLIST_MISSING ? "missing" : "of the wrong type");
	return r;
}

int
ib_dl_msg_build(plist_t *outp, const char *name, plist_t *items, size_t n)
{
	plist_t a = plist_new_array();
	size_t i;

	*outp = NULL;
	for (i = 0; i < n; i++)
		if (items[i] == NULL)
			break;
	if (a == NULL || i < n) {
		for (i = 0; i < n; i++)
			plist_free(items[i]);
		plist_free(a);
		return a == NULL ? IB_ERR_NOMEM : IB_ERR_INVALID_ARG;
	}
	plist_array_append_item(a, plist_new_string(name));
	for (i = 0; i < n; i++)
		plist_array_append_item(a, items[i]);
	*outp = a;
	return IB_OK;
}

static plist_t
str_or_empty(const char *s)
{
	return plist_new_string(s != NULL ? s : IB_DL_EMPTY_PARAM);
}

/* NULL for the empty parameter, else the string. */
static const char *
unempty(const char *s)
{
	return s != NULL && strcmp(s, IB_DL_EMPTY_PARAM) == 0 ? NULL : s;
}

/* --- handshake --------------------------------------------------------- */

int
ib_dl_version_exchange_new(uint64_t major, uint64_t minor, plist_t *outp)
{
	plist_t items[2] = { plist_new_uint(major), plist_new_uint(minor) };

	return ib_dl_msg_build(outp, DL_VERSION_EXCHANGE, items, 2);
}

int
ib_dl_version_exchange_parse(plist_t msg, uint64_t *majorp, uint64_t *minorp)
{
	uint64_t major = 0, minor = 0;
	int r;

	*majorp = *minorp = 0;
	if ((r = expect(msg, DL_VERSION_EXCHANGE, 3, 3)) != IB_OK)
		return r;
	if ((r = ib_plist_array_get_uint(msg, 1, &major)) != IB_OK)
		return ib_dl_elem_error(r, DL_VERSION_EXCHANGE, 1);
	if ((r = ib_plist_array_get_uint(msg, 2, &minor)) != IB_OK)
		return ib_dl_elem_error(r, DL_VERSION_EXCHANGE, 2);
	if (major > IB_DL_VERSION_MAJOR ||
	    (major == IB_DL_VERSION_MAJOR && minor > IB_DL_VERSION_MINOR) || major == 0) {
		ib_err_detail_set("the device offers DeviceLink %llu.%llu; ibackup knows up to %u.%u",
		    (unsigned long long)major, (unsigned long long)minor,
		    IB_DL_VERSION_MAJOR, IB_DL_VERSION_MINOR);
		return IB_ERR_DL_VERSION;
	}
	*majorp = major;
	*minorp = minor;
	return IB_OK;
}

int
ib_dl_versions_ok_new(uint64_t major, plist_t *outp)
{
	plist_t items[2] = { plist_new_string(DL_VERSIONS_OK), plist_new_uint(major) };

	return ib_dl_msg_build(outp, DL_VERSION_EXCHANGE, items, 2);
}

int
ib_dl_versions_ok_parse(plist_t msg, uint64_t *majorp)
{
	const char *s;
	uint64_t major;
	int r;

	*majorp = 0;
	if ((r = expect(msg, DL_VERSION_EXCHANGE, 3, 3)) != IB_OK)
		return r;
	if ((r = ib_plist_array_get_string(msg, 1, &s)) != IB_OK)
		return ib_dl_elem_error(r, DL_VERSION_EXCHANGE, 1);
	if (strcmp(s, DL_VERSIONS_OK) != 0) {
		ib_err_detail_set("the host answered %.64s to the version exchange", s);
		return IB_ERR_DL_VERSION;
	}
	if ((r = ib_plist_array_get_uint(msg, 2, &major)) != IB_OK)
		return ib_dl_elem_error(r, DL_VERSION_EXCHANGE, 2);
	*majorp = major;
	return IB_OK;
}

int
ib_dl_device_ready_new(plist_t *outp)
{
	return ib_dl_msg_build(outp, DL_DEVICE_READY, NULL, 0);
}

int
ib_dl_device_ready_parse(plist_t msg)
{
	return expect(msg, DL_DEVICE_READY, 1, 1);
}

/* --- wrappers ---------------------------------------------------------- */

int
ib_dl_process_message_new(plist_t dict, plist_t *outp)
{
	plist_t items[1];

	*outp = NULL;
	if (!ib_plist_is_dict(dict))
		return IB_ERR_INVALID_ARG;
	items[0] = plist_copy(dict);
	return ib_dl_msg_build(outp, DL_PROCESS_MESSAGE, items, 1);
}

int
ib_dl_process_message_parse(plist_t msg, plist_t *dictp)
{
	int r;

	*dictp = NULL;
	if ((r = expect(msg, DL_PROCESS_MESSAGE, 2, 2)) != IB_OK)
		return r;
	if ((r = ib_plist_array_get_dict(msg, 1, dictp)) != IB_OK)
		return ib_dl_elem_error(r, DL_PROCESS_MESSAGE, 1);
	return IB_OK;
}

int
ib_dl_ping_new(const char *text, plist_t *outp)
{
	plist_t items[1] = { str_or_empty(text) };

	return ib_dl_msg_build(outp, DL_PING, items, 1);
}

int
ib_dl_disconnect_new(const char *text, plist_t *outp)
{
	plist_t items[1] = { str_or_empty(text) };

	return ib_dl_msg_build(outp, DL_DISCONNECT, items, 1);
}

int
ib_dl_disconnect_parse(plist_t msg, const char **textp)
{
	const char *s = NULL;
	int r;

	*textp = NULL;
	if ((r = expect(msg, DL_DISCONNECT, 1, 2)) != IB_OK)
		return r;
	if (plist_array_get_size(msg) == 2 &&
	    (r = ib_plist_array_get_string(msg, 1, &s)) != IB_OK)
		return ib_dl_elem_error(r, DL_DISCONNECT, 1);
	*textp = unempty(s);
	return IB_OK;
}

int
ib_dl_status_response_new(int64_t status, const char *text, plist_t payload,
    plist_t *outp)
{
	plist_t items[3];

	items[0] = ib_plist_new_int(status);
	items[1] = str_or_empty(text);
	items[2] = payload != NULL ? plist_copy(payload) : plist_new_string(IB_DL_EMPTY_PARAM);
	return ib_dl_msg_build(outp, DL_STATUS_RESPONSE, items, 3);
}

int
ib_dl_status_ok_new(plist_t *outp)
{
	plist_t empty = plist_new_dict();
	int r = ib_dl_status_response_new(0, NULL, empty, outp);

	plist_free(empty);
	return r;
}

int
ib_dl_status_error_new(int64_t status, const char *text, plist_t *outp)
{
	plist_t empty = plist_new_dict();
	int r = ib_dl_status_response_new(status, text, empty, outp);

	plist_free(empty);
	return r;
}

int
ib_dl_status_response_parse(plist_t msg, struct ib_dl_status_response *outp)
{
	struct ib_dl_status_response s;
	int r;

	memset(outp, 0, sizeof(*outp));
	memset(&s, 0, sizeof(s));
	if ((r = expect(msg, DL_STATUS_RESPONSE, 4, 4)) != IB_OK)
		return r;
	if ((r = ib_plist_array_get_int(msg, 1, &s.status)) != IB_OK)
		return ib_dl_elem_error(r, DL_STATUS_RESPONSE, 1);
	if ((r = ib_plist_array_get_string(msg, 2, &s.text)) != IB_OK)
		return ib_dl_elem_error(r, DL_STATUS_RESPONSE, 2);
	s.text = unempty(s.text);
	s.payload = plist_array_get_item(msg, 3);
	*outp = s;
	return IB_OK;
}

int
ib_dl_file_errors_add(plist_t *errorsp, const char *path, int64_t code,
    const char *text)
{
	plist_t e;

	if (path == NULL)
		return IB_ERR_INVALID_ARG;
	if (*errorsp == NULL && (*errorsp = plist_new_dict()) == NULL)
		return IB_ERR_NOMEM;
	if ((e = plist_new_dict()) == NULL)
		return IB_ERR_NOMEM;
	plist_dict_set_item(e, "DLFileErrorString", plist_new_string(text != NULL ? text : ""));
	plist_dict_set_item(e, "DLFileErrorCode", ib_plist_new_int(code));
	plist_dict_set_item(*errorsp, path, e);
	return IB_OK;
}

int
ib_dl_contents_add(plist_t dict, const char *name, enum ib_dl_file_type type,
    uint64_t size, int64_t mtime_unix)
{
	static const char *const names[] = {
		"DLFileTypeRegular", "DLFileTypeDirectory", "DLFileTypeUnknown",
	};
	plist_t e;

	if (!ib_plist_is_dict(dict) || name == NULL || (unsigned)type > IB_DL_FILE_UNKNOWN)
		return IB_ERR_INVALID_ARG;
	if ((e = plist_new_dict()) == NULL)
		return IB_ERR_NOMEM;
	plist_dict_set_item(e, "DLFileType", plist_new_string(names[type]));
	plist_dict_set_item(e, "DLFileSize", plist_new_uint(size));
	plist_dict_set_item(e, "DLFileModificationDate", ib_plist_new_date_unix(mtime_unix));
	plist_dict_set_item(dict, name, e);
	return IB_OK;
}
