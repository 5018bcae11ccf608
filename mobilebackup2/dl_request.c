/*
 * dl_request.c - the device's DeviceLink requests (mobilebackup2.md
 * section 3): parsing on the host, building on the device (dl_msg.h).
 */
#include "dl_msg.h"
#include "dl_int.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_plist.h"

#include <stdlib.h>
#include <string.h>

struct req_name {
	const char *name;
	enum ib_dl_req_kind kind;
};

/* The ...Files and ...Items spellings mean the same (section 3 notes). */
static const struct req_name req_names[] = {
	{ "DLMessageDownloadFiles", IB_DL_REQ_DOWNLOAD_FILES },
	{ "DLMessageUploadFiles", IB_DL_REQ_UPLOAD_FILES },
	{ "DLMessageGetFreeDiskSpace", IB_DL_REQ_GET_FREE_DISK_SPACE },
	{ "DLMessagePurgeDiskSpace", IB_DL_REQ_PURGE_DISK_SPACE },
	{ "DLContentsOfDirectory", IB_DL_REQ_CONTENTS_OF_DIRECTORY },
	{ "DLMessageCreateDirectory", IB_DL_REQ_CREATE_DIRECTORY },
	{ "DLMessageMoveFiles", IB_DL_REQ_MOVE_ITEMS },
	{ "DLMessageMoveItems", IB_DL_REQ_MOVE_ITEMS },
	{ "DLMessageRemoveFiles", IB_DL_REQ_REMOVE_ITEMS },
	{ "DLMessageRemoveItems", IB_DL_REQ_REMOVE_ITEMS },
	{ "DLMessageCopyItem", IB_DL_REQ_COPY_ITEM },
	{ "DLMessageDisconnect", IB_DL_REQ_DISCONNECT },
	{ "DLMessageProcessMessage", IB_DL_REQ_PROCESS_MESSAGE },
};

const char *
ib_dl_req_kind_name(enum ib_dl_req_kind kind)
{
	static const char *const names[] = {
		"unknown", "DownloadFiles", "UploadFiles", "GetFreeDiskSpace",
		"PurgeDiskSpace", "ContentsOfDirectory", "CreateDirectory",
		"MoveItems", "RemoveItems", "CopyItem", "Disconnect", "ProcessMessage",
	};

	if ((unsigned)kind >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[kind];
}

/* A path string: type-checked, at most IB_PATH_MAX bytes. Emptiness and
 * confinement are judged by mb2_fs. */
static int
path_ok(plist_t node, const char *name, const char **sp)
{
	int r;

	if ((r = ib_plist_get_string(node, sp)) != IB_OK)
		return r;
	if (strlen(*sp) > IB_PATH_MAX) {
		ib_err_detail_set("%s: a path of %zu bytes (limit %u)", name,
		    strlen(*sp), IB_PATH_MAX);
		*sp = NULL;
		return IB_ERR_TOO_LARGE;
	}
	return IB_OK;
}

static int
path_at(plist_t msg, uint32_t idx, const char *name, const char **sp)
{
	plist_t node = idx < plist_array_get_size(msg) ? plist_array_get_item(msg, idx) : NULL;
	int r = path_ok(node, name, sp);

	return r == IB_ERR_TOO_LARGE ? r : ib_dl_elem_error(r, name, idx);
}

static void
progress_at(plist_t msg, uint32_t idx, struct ib_dl_request *req)
{
	/* Informational only: a missing or odd value is not an error. */
	req->has_progress = ib_plist_array_get_real(msg, idx, &req->progress) == IB_OK;
}

static int
parse_path_array(plist_t msg, struct ib_dl_request *req)
{
	plist_array_iter it = NULL;
	plist_t arr, item = NULL;
	uint32_t n, i;
	int r;

	if ((r = ib_plist_array_get_array(msg, 1, &arr)) != IB_OK)
		return ib_dl_elem_error(r, req->name, 1);
	n = plist_array_get_size(arr);
	if (n > IB_DL_ITEMS_MAX) {
		ib_err_detail_set("%s lists %u paths (limit %u)", req->name, n, IB_DL_ITEMS_MAX);
		return IB_ERR_TOO_LARGE;
	}
	if ((req->paths = calloc(n ? n : 1, sizeof(*req->paths))) == NULL)
		return IB_ERR_NOMEM;
	/* Iterate: plist_array_get_item is linear on parsed arrays. */
	plist_array_new_iter(arr, &it);
	for (i = 0, r = IB_OK; i < n && r == IB_OK; i++) {
		plist_array_next_item(arr, it, &item);
		if ((r = path_ok(item, req->name, &req->paths[i])) != IB_OK &&
		    r != IB_ERR_TOO_LARGE)
			ib_err_detail_set("%s: path %u is not a string", req->name, i);
	}
	free(it);
	if (r != IB_OK)
		return r;
	req->npaths = n;
	progress_at(msg, 3, req);
	return IB_OK;
}

static int
parse_move(plist_t msg, struct ib_dl_request *req)
{
	plist_dict_iter it = NULL;
	plist_t dict, val = NULL;
	char *key = NULL;
	uint32_t n, i;
	int r = IB_OK;

	if ((r = ib_plist_array_get_dict(msg, 1, &dict)) != IB_OK)
		return ib_dl_elem_error(r, req->name, 1);
	n = plist_dict_get_size(dict);
	if (n > IB_DL_ITEMS_MAX) {
		ib_err_detail_set("%s lists %u pairs (limit %u)", req->name, n, IB_DL_ITEMS_MAX);
		return IB_ERR_TOO_LARGE;
	}
	req->srcs = calloc(n ? n : 1, sizeof(*req->srcs));
	req->dsts = calloc(n ? n : 1, sizeof(*req->dsts));
	if (req->srcs == NULL || req->dsts == NULL)
		return IB_ERR_NOMEM;
	plist_dict_new_iter(dict, &it);
	for (i = 0; i < n; i++) {
		plist_dict_next_item(dict, it, &key, &val);
		if (key == NULL || val == NULL) {
			r = IB_ERR_PLIST_MISSING;
			break;
		}
		/* The key is a copy libplist made; the struct owns it now. */
		req->srcs[i] = key;
		req->npairs = i + 1;
		key = NULL;
		if (strlen(req->srcs[i]) > IB_PATH_MAX) {
			r = IB_ERR_TOO_LARGE;
			break;
		}
		if ((r = path_ok(val, req->name, &req->dsts[i])) != IB_OK)
			break;
	}
	free(key);
	free(it);
	if (r != IB_OK) {
		ib_err_detail_set("%s: pair %u is not a path -> path", req->name, i);
		return r;
	}
	progress_at(msg, 3, req);
	return IB_OK;
}

static int
parse_process_message(plist_t msg, struct ib_dl_request *req)
{
	const char *mname = NULL;
	int r;

	if ((r = ib_dl_process_message_parse(msg, &req->dict)) != IB_OK)
		return r;
	if (ib_plist_dict_get_string(req->dict, "MessageName", &mname) != IB_OK ||
	    strcmp(mname, "Response") != 0)
		return IB_OK;
	req->is_response = 1;
	r = ib_plist_dict_get_uint(req->dict, "ErrorCode", &req->error_code);
	if (r == IB_ERR_PLIST_TYPE) {
		ib_err_detail_set("the final Response has a non-integer ErrorCode");
		return r;
	}
	r = ib_plist_dict_get_string(req->dict, "ErrorDescription", &req->error_description);
	if (r == IB_ERR_PLIST_TYPE)
		return r;
	r = ib_plist_dict_get_string(req->dict, "Content", &req->content);
	return r == IB_ERR_PLIST_TYPE ? r : IB_OK;
}

static int
parse_kind(plist_t msg, struct ib_dl_request *req)
{
	uint32_t n = plist_array_get_size(msg);
	const char *s = NULL;
	int r;

	switch (req->kind) {
	case IB_DL_REQ_DOWNLOAD_FILES:
	case IB_DL_REQ_REMOVE_ITEMS:
		return parse_path_array(msg, req);
	case IB_DL_REQ_MOVE_ITEMS:
		return parse_move(msg, req);
	case IB_DL_REQ_UPLOAD_FILES:
		progress_at(msg, 2, req);
		r = ib_plist_array_get_uint(msg, 3, &req->total_bytes);
		return r == IB_ERR_PLIST_TYPE ? ib_dl_elem_error(r, req->name, 3) : IB_OK;
	case IB_DL_REQ_GET_FREE_DISK_SPACE:
		return IB_OK;
	case IB_DL_REQ_PURGE_DISK_SPACE:
		if ((r = ib_plist_array_get_uint(msg, 1, &req->purge_bytes)) != IB_OK)
			return ib_dl_elem_error(r, req->name, 1);
		r = ib_plist_array_get_int(msg, 2, &req->purge_urgency);
		return r == IB_ERR_PLIST_TYPE ? ib_dl_elem_error(r, req->name, 2) : IB_OK;
	case IB_DL_REQ_CONTENTS_OF_DIRECTORY:
	case IB_DL_REQ_CREATE_DIRECTORY:
		return path_at(msg, 1, req->name, &req->path);
	case IB_DL_REQ_COPY_ITEM:
		if ((r = path_at(msg, 1, req->name, &req->path)) != IB_OK)
			return r;
		return path_at(msg, 2, req->name, &req->dst);
	case IB_DL_REQ_DISCONNECT:
		if (n >= 2 && (r = ib_plist_array_get_string(msg, 1, &s)) != IB_OK)
			return ib_dl_elem_error(r, req->name, 1);
		req->text = s != NULL && strcmp(s, IB_DL_EMPTY_PARAM) != 0 ? s : NULL;
		return IB_OK;
	case IB_DL_REQ_PROCESS_MESSAGE:
		return parse_process_message(msg, req);
	default:
		return IB_OK;
	}
}

int
ib_dl_request_parse(plist_t msg, struct ib_dl_request *req)
{
	const char *name;
	size_t i;
	int r;

	memset(req, 0, sizeof(*req));
	if ((r = ib_dl_msg_name(msg, &name)) != IB_OK)
		return r;
	req->name = name;
	for (i = 0; i < sizeof(req_names) / sizeof(req_names[0]); i++)
		if (strcmp(name, req_names[i].name) == 0)
			req->kind = req_names[i].kind;
	if ((r = parse_kind(msg, req)) != IB_OK) {
		ib_dl_request_clear(req);
		return r;
	}
	return IB_OK;
}

void
ib_dl_request_clear(struct ib_dl_request *req)
{
	size_t i;

	if (req == NULL)
		return;
	free(req->paths);
	if (req->srcs != NULL)
		for (i = 0; i < req->npairs; i++)
			free((char *)req->srcs[i]);
	free(req->srcs);
	free(req->dsts);
	memset(req, 0, sizeof(*req));
}

/* --- device side: building the requests ------------------------------ */

/* NULL when paths holds a NULL (the builder then fails cleanly). */
static plist_t
string_array(const char *const *paths, size_t n)
{
	plist_t a = plist_new_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++) {
		if (paths[i] == NULL) {
			plist_free(a);
			return NULL;
		}
		plist_array_append_item(a, plist_new_string(paths[i]));
	}
	return a;
}

static plist_t
string_or_null(const char *s)
{
	return s != NULL ? plist_new_string(s) : NULL;
}

int
ib_dl_download_files_new(const char *const *paths, size_t n, double progress,
    plist_t *outp)
{
	/* Layout of a real capture (lim#112): paths, {}, progress, 0. */
	plist_t items[4] = { string_array(paths, n), plist_new_dict(),
	    plist_new_real(progress), plist_new_uint(0) };

	return ib_dl_msg_build(outp, "DLMessageDownloadFiles", items, 4);
}

int
ib_dl_upload_files_new(double progress, uint64_t total_bytes, plist_t *outp)
{
	plist_t items[3] = { plist_new_dict(), plist_new_real(progress),
	    plist_new_uint(total_bytes) };

	return ib_dl_msg_build(outp, "DLMessageUploadFiles", items, 3);
}

int
ib_dl_get_free_disk_space_new(plist_t *outp)
{
	return ib_dl_msg_build(outp, "DLMessageGetFreeDiskSpace", NULL, 0);
}

int
ib_dl_purge_disk_space_new(uint64_t bytes, int64_t urgency, plist_t *outp)
{
	plist_t items[2] = { plist_new_uint(bytes), ib_plist_new_int(urgency) };

	return ib_dl_msg_build(outp, "DLMessagePurgeDiskSpace", items, 2);
}

int
ib_dl_contents_of_directory_new(const char *path, plist_t *outp)
{
	plist_t items[1] = { string_or_null(path) };

	return ib_dl_msg_build(outp, "DLContentsOfDirectory", items, 1);
}

int
ib_dl_create_directory_new(const char *path, plist_t *outp)
{
	plist_t items[1] = { string_or_null(path) };

	return ib_dl_msg_build(outp, "DLMessageCreateDirectory", items, 1);
}

int
ib_dl_move_items_new(const char *const *srcs, const char *const *dsts, size_t n,
    double progress, plist_t *outp)
{
	plist_t d = plist_new_dict();
	size_t i;

	for (i = 0; d != NULL && i < n; i++) {
		if (srcs[i] == NULL || dsts[i] == NULL) {
			plist_free(d);
			d = NULL;
			break;
		}
		plist_dict_set_item(d, srcs[i], plist_new_string(dsts[i]));
	}
	{
		plist_t items[3] = { d, plist_new_dict(), plist_new_real(progress) };

		return ib_dl_msg_build(outp, "DLMessageMoveItems", items, 3);
	}
}

int
ib_dl_remove_items_new(const char *const *paths, size_t n, double progress,
    plist_t *outp)
{
	plist_t items[3] = { string_array(paths, n), plist_new_dict(),
	    plist_new_real(progress) };

	return ib_dl_msg_build(outp, "DLMessageRemoveItems", items, 3);
}

int
ib_dl_copy_item_new(const char *src, const char *dst, plist_t *outp)
{
	plist_t items[2] = { string_or_null(src), string_or_null(dst) };

	return ib_dl_msg_build(outp, "DLMessageCopyItem", items, 2);
}
