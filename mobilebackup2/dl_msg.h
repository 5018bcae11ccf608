/*
 * dl_msg.h - DeviceLink messages: build and parse, for both roles.
 *
 * A DeviceLink message is a plist array whose element 0 is a string of at
 * least 9 characters starting with "DL" (mobilebackup2.md section 1). The
 * transport frames it (u32 big-endian length + binary plist, via
 * ib_plist_to_bin / ib_plist_parse); this module only turns plists into
 * typed values and back, so the host's backup driver and the virtual
 * device's backup agent share it. No I/O.
 *
 * Ownership
 *   - every *_new() returns an owned plist in *outp (free with
 *     plist_free); inputs are borrowed and copied when they end up inside
 *     the message;
 *   - every parse function borrows the message: strings and plists it
 *     hands out point into the message and live as long as it does;
 *   - outputs are written only on success.
 *
 * Errors: IB_ERR_DL_PROTOCOL (not a DL array, wrong element 0, wrong
 * element count), IB_ERR_PLIST_TYPE / IB_ERR_PLIST_MISSING (an element of
 * the wrong type or a missing one), IB_ERR_TOO_LARGE (more than
 * IB_DL_ITEMS_MAX items or a path longer than IB_PATH_MAX),
 * IB_ERR_DL_VERSION, IB_ERR_NOMEM. ib_err_detail_set() says which element.
 */
#ifndef IB_DL_MSG_H
#define IB_DL_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <plist/plist.h>

/* Newest DeviceLink version we know (iOS 14+); iOS <= 13 sends 300. */
#define IB_DL_VERSION_MAJOR 400u
#define IB_DL_VERSION_MINOR 0u
/* Placeholder DeviceLink uses for "no string". */
#define IB_DL_EMPTY_PARAM "___EmptyParameterString___"

/*
 * DeviceLink status codes (section 4.4): StatusResponse element 1 and
 * DLFileErrorCode. The file-transfer error chunk carries the negated
 * code as its code byte (0x06 = ENOENT).
 */
enum ib_dl_status {
	IB_DL_STATUS_OK = 0,
	IB_DL_STATUS_ERROR = -1,        /* anything without its own code */
	IB_DL_STATUS_ENOENT = -6,
	IB_DL_STATUS_EEXIST = -7,
	IB_DL_STATUS_ENOTDIR = -8,
	IB_DL_STATUS_EISDIR = -9,
	IB_DL_STATUS_ELOOP = -10,
	IB_DL_STATUS_EIO = -11,
	IB_DL_STATUS_MULTI = -13,       /* "Multi status" + error dict */
	IB_DL_STATUS_ENOSPC = -15,
};

/* DL status code for an errno value, mapped by name (never by number). */
int ib_dl_status_from_errno(int errnum);

/*
 * Element 0 of any DL message (borrowed). IB_ERR_DL_PROTOCOL unless msg
 * is an array whose element 0 is a string of >= 9 chars starting "DL".
 */
int ib_dl_msg_name(plist_t msg, const char **namep);

/*
 * ["name", items[0], ..., items[n-1]]. The items are consumed, also on
 * failure; a NULL item (a NULL argument to a plist_new_* call) fails with
 * IB_ERR_INVALID_ARG.
 */
int ib_dl_msg_build(plist_t *outp, const char *name, plist_t *items, size_t n);

/* --- handshake --------------------------------------------------------- */

/* Device: ["DLMessageVersionExchange", major, minor]. */
int ib_dl_version_exchange_new(uint64_t major, uint64_t minor, plist_t *outp);
/*
 * Host: parse the device's offer and decide. Accepts any version up to
 * the newest we know (400.0; 300 too) and returns the major to answer
 * with (the device's own, as pymobiledevice3 does); a newer one fails
 * with IB_ERR_DL_VERSION (libimobiledevice's rule: major > 400, or 400
 * with a minor > 0).
 */
int ib_dl_version_exchange_parse(plist_t msg, uint64_t *majorp, uint64_t *minorp);
/* Host: ["DLMessageVersionExchange", "DLVersionsOk", major]. */
int ib_dl_versions_ok_new(uint64_t major, plist_t *outp);
/* Device: parse the host's answer; any other element 1 -> IB_ERR_DL_VERSION. */
int ib_dl_versions_ok_parse(plist_t msg, uint64_t *majorp);
/* Device: ["DLMessageDeviceReady"]; host: check it. */
int ib_dl_device_ready_new(plist_t *outp);
int ib_dl_device_ready_parse(plist_t msg);

/* --- wrappers ---------------------------------------------------------- */

/* ["DLMessageProcessMessage", dict] (dict copied) and its parse (exactly
 * 2 elements, element 1 a dict, borrowed). */
int ib_dl_process_message_new(plist_t dict, plist_t *outp);
int ib_dl_process_message_parse(plist_t msg, plist_t *dictp);
/* ["DLMessagePing", text] and ["DLMessageDisconnect", text]; NULL text
 * means IB_DL_EMPTY_PARAM. Parse gives NULL for the empty parameter. */
int ib_dl_ping_new(const char *text, plist_t *outp);
int ib_dl_disconnect_new(const char *text, plist_t *outp);
int ib_dl_disconnect_parse(plist_t msg, const char **textp);

/*
 * ["DLMessageStatusResponse", status, text, payload]: status written as
 * a signed integer (negative codes are 8-byte signed on the wire), text
 * NULL -> IB_DL_EMPTY_PARAM, payload copied (NULL -> IB_DL_EMPTY_PARAM).
 */
int ib_dl_status_response_new(int64_t status, const char *text, plist_t payload,
    plist_t *outp);
/* The common answers: 0 + {} ... */
int ib_dl_status_ok_new(plist_t *outp);
/* ... and code + text + {} for a failed request. */
int ib_dl_status_error_new(int64_t status, const char *text, plist_t *outp);

/* Parse (device side). Status may be written as unsigned two's complement
 * by old hosts: both read as the same negative number. text is NULL for
 * the empty parameter; payload is element 3, borrowed, may be a string. */
struct ib_dl_status_response {
	int64_t status;
	const char *text;
	plist_t payload;
};
int ib_dl_status_response_parse(plist_t msg, struct ib_dl_status_response *outp);

/*
 * Multi-status error dict for DownloadFiles and friends:
 * errors[path] = {DLFileErrorString: text, DLFileErrorCode: code}.
 * *errorsp is created on first use (owned by the caller).
 */
int ib_dl_file_errors_add(plist_t *errorsp, const char *path, int64_t code,
    const char *text);

/* DLContentsOfDirectory answer entries: dict name -> {DLFileType,
 * DLFileSize, DLFileModificationDate}. */
enum ib_dl_file_type {
	IB_DL_FILE_REGULAR,
	IB_DL_FILE_DIRECTORY,
	IB_DL_FILE_UNKNOWN,         /* symlinks, devices, ... */
};
int ib_dl_contents_add(plist_t dict, const char *name, enum ib_dl_file_type type,
    uint64_t size, int64_t mtime_unix);

/* --- device -> host requests (section 3) ------------------------------ */

enum ib_dl_req_kind {
	IB_DL_REQ_UNKNOWN = 0,          /* name kept in req->name for the log */
	IB_DL_REQ_DOWNLOAD_FILES,       /* paths; progress [3] */
	IB_DL_REQ_UPLOAD_FILES,         /* progress [2]; total_bytes [3] */
	IB_DL_REQ_GET_FREE_DISK_SPACE,
	IB_DL_REQ_PURGE_DISK_SPACE,     /* purge_bytes [1], purge_urgency [2] */
	IB_DL_REQ_CONTENTS_OF_DIRECTORY, /* path */
	IB_DL_REQ_CREATE_DIRECTORY,     /* path */
	IB_DL_REQ_MOVE_ITEMS,           /* srcs/dsts; progress [3] (Files and Items) */
	IB_DL_REQ_REMOVE_ITEMS,         /* paths; progress [3] (Files and Items) */
	IB_DL_REQ_COPY_ITEM,            /* path -> dst */
	IB_DL_REQ_DISCONNECT,           /* text (NULL when empty) */
	IB_DL_REQ_PROCESS_MESSAGE,      /* dict; final result fields */
};

/*
 * One parsed device request. Every pointer borrows from the message;
 * paths[], srcs[] and dsts[] are arrays owned by the struct (release with
 * ib_dl_request_clear). Elements the request does not use are zero.
 *
 * Paths are checked for type and length only (at most IB_PATH_MAX bytes,
 * no NUL); emptiness and confinement to the backup root are mb2_fs's job.
 *
 * progress: the overall 0-100 value the device sends after a step
 * (section 3.12), has_progress 0 when absent or not a real.
 *
 * PROCESS_MESSAGE: dict is element 1. When its MessageName is "Response"
 * (the final result of an operation, section 3.13), is_response = 1 and
 * error_code (0 when absent, as idevicebackup2 reads it),
 * error_description and content (NULL when absent) are filled;
 * ErrorCode of another type than uint is IB_ERR_PLIST_TYPE.
 */
struct ib_dl_request {
	enum ib_dl_req_kind kind;
	const char *name;
	double progress;
	int has_progress;
	const char **paths;             /* DOWNLOAD_FILES, REMOVE_ITEMS */
	size_t npaths;
	const char **srcs, **dsts;      /* MOVE_ITEMS: pairs */
	size_t npairs;
	const char *path;               /* CONTENTS_OF_DIRECTORY, CREATE_DIRECTORY, COPY_ITEM src */
	const char *dst;                /* COPY_ITEM */
	uint64_t total_bytes;           /* UPLOAD_FILES (0 when absent) */
	uint64_t purge_bytes;           /* PURGE_DISK_SPACE */
	int64_t purge_urgency;
	const char *text;               /* DISCONNECT */
	plist_t dict;                   /* PROCESS_MESSAGE */
	int is_response;
	uint64_t error_code;
	const char *error_description;
	const char *content;
};

/* Parse a device->host message into *req (zeroed first; cleared again on
 * failure). An unknown DL name is IB_OK with kind IB_DL_REQ_UNKNOWN. */
int ib_dl_request_parse(plist_t msg, struct ib_dl_request *req);
/* Free the arrays; the struct may be reused. NULL is a no-op. */
void ib_dl_request_clear(struct ib_dl_request *req);
/* "DownloadFiles", ... for log lines; never NULL. */
const char *ib_dl_req_kind_name(enum ib_dl_req_kind kind);

/*
 * Device side: build the requests the host parses above (used by the
 * virtual device's backup agent and by tests). Paths are copied.
 */
int ib_dl_download_files_new(const char *const *paths, size_t n, double progress,
    plist_t *outp);
int ib_dl_upload_files_new(double progress, uint64_t total_bytes, plist_t *outp);
int ib_dl_get_free_disk_space_new(plist_t *outp);
int ib_dl_purge_disk_space_new(uint64_t bytes, int64_t urgency, plist_t *outp);
int ib_dl_contents_of_directory_new(const char *path, plist_t *outp);
int ib_dl_create_directory_new(const char *path, plist_t *outp);
int ib_dl_move_items_new(const char *const *srcs, const char *const *dsts, size_t n,
    double progress, plist_t *outp);
int ib_dl_remove_items_new(const char *const *paths, size_t n, double progress,
    plist_t *outp);
int ib_dl_copy_item_new(const char *src, const char *dst, plist_t *outp);

#endif /* IB_DL_MSG_H */
