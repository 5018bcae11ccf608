/*
 * mb2_msg.h - MobileBackup2 requests (host -> device) and their answers,
 * for both roles (mobilebackup2.md section 2), plus the table of the
 * device's MBErrorDomain codes (section 8).
 *
 * Every request travels as ["DLMessageProcessMessage", {MessageName, ...}]:
 * the *_new() builders return that whole DL message (owned; plist_free),
 * ready for ib_plist_to_bin. String arguments are copied. Passwords are
 * put into the message and nowhere else; callers log messages only with
 * ib_plist_log (which redacts them).
 *
 * Parsing (the device side, and the host for Hello's answer) borrows the
 * message: strings point into it. Errors as in dl_msg.h.
 */
#ifndef IB_MB2_MSG_H
#define IB_MB2_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <plist/plist.h>

/* Protocol versions the host offers in Hello, oldest first. */
#define IB_MB2_VERSION_2_0 2.0
#define IB_MB2_VERSION_2_1 2.1

/* --- Hello ------------------------------------------------------------- */

/* Host: {MessageName:"Hello", SupportedProtocolVersions:[2.0, 2.1]}. */
int ib_mb2_hello_new(plist_t *outp);
/*
 * Host: the device's answer {MessageName:"Response", ErrorCode:uint,
 * ProtocolVersion:real}. ErrorCode 1 -> IB_ERR_MB2_NO_COMMON_VERSION,
 * other non-zero -> IB_ERR_MB2_DEVICE_ERROR (code in the detail), a
 * version we did not offer -> IB_ERR_MB2_NO_COMMON_VERSION.
 */
int ib_mb2_hello_response_parse(plist_t msg, double *versionp);
/* Device: the answer (version ignored when error_code != 0). */
int ib_mb2_hello_response_new(uint64_t error_code, double version, plist_t *outp);

/* --- requests ---------------------------------------------------------- */

enum ib_mb2_req_kind {
	IB_MB2_REQ_UNKNOWN = 0,
	IB_MB2_REQ_HELLO,
	IB_MB2_REQ_BACKUP,
	IB_MB2_REQ_RESTORE,
	IB_MB2_REQ_INFO,
	IB_MB2_REQ_LIST,
	IB_MB2_REQ_CHANGE_PASSWORD,
	IB_MB2_REQ_ENABLE_CLOUD_BACKUP,
};

/*
 * Restore options (section 2.4), each sent explicitly because the device
 * defaults absent keys to "yes" for reboot, system files and remove-items.
 * copy_backup and preserve_settings are the positive meanings; the wire
 * keys RestoreDontCopyBackup / RestorePreserveSettings are derived.
 */
struct ib_mb2_restore_opts {
	int system_files;               /* RestoreSystemFiles */
	int reboot;                     /* RestoreShouldReboot */
	int copy_backup;                /* RestoreDontCopyBackup = !copy_backup */
	int preserve_settings;          /* RestorePreserveSettings */
	int remove_items_not_restored;  /* RemoveItemsNotRestored */
	const char *password;           /* Options.Password; NULL = none */
};

/* Backup: target = UDID of the connected device, source = the folder to
 * use (NULL = target); Options.ForceFullBackup only when force_full. */
int ib_mb2_backup_new(const char *target, const char *source, int force_full,
    plist_t *outp);
int ib_mb2_restore_new(const char *target, const char *source,
    const struct ib_mb2_restore_opts *opts, plist_t *outp);
/* Info / List: {MessageName, TargetIdentifier, SourceIdentifier}. */
int ib_mb2_info_new(const char *target, const char *source, plist_t *outp);
int ib_mb2_list_new(const char *target, const char *source, plist_t *outp);
/* ChangePassword: keys at top level; NULL old = enable, NULL new = disable. */
int ib_mb2_change_password_new(const char *target, const char *old_password,
    const char *new_password, plist_t *outp);
/* EnableCloudBackup: CloudBackupState in Options and at top level. */
int ib_mb2_enable_cloud_backup_new(const char *target, const char *source, int state,
    plist_t *outp);

/*
 * Device side: one parsed request (strings borrowed from the message).
 * Restore options absent from the message take the device's defaults
 * (reboot, system files, remove items, copy: yes; preserve settings: no,
 * which no source documents). versions[] holds Hello's offer.
 */
#define IB_MB2_HELLO_VERSIONS_MAX 8u
struct ib_mb2_request {
	enum ib_mb2_req_kind kind;
	const char *name;               /* MessageName */
	const char *target;             /* TargetIdentifier (NULL if absent) */
	const char *source;             /* SourceIdentifier, else target */
	int force_full;
	struct ib_mb2_restore_opts restore;
	const char *old_password, *new_password;
	int cloud_state;
	double versions[IB_MB2_HELLO_VERSIONS_MAX];
	size_t nversions;
};
/* Parse ["DLMessageProcessMessage", {...}]. Unknown MessageName -> IB_OK
 * with kind IB_MB2_REQ_UNKNOWN and name set. A request other than Hello
 * without TargetIdentifier is IB_ERR_PLIST_MISSING. */
int ib_mb2_request_parse(plist_t msg, struct ib_mb2_request *req);
/* Device: the highest version both sides speak; IB_ERR_MB2_NO_COMMON_VERSION
 * if none (the device then answers Hello with ErrorCode 1). */
int ib_mb2_hello_choose(const struct ib_mb2_request *hello, double *versionp);

/* Device: final {MessageName:"Response", ErrorCode, ErrorDescription?,
 * Content?} that ends an operation (section 3.13). */
int ib_mb2_response_new(uint64_t error_code, const char *description,
    const char *content, plist_t *outp);

/* --- MBErrorDomain codes ----------------------------------------------- */

/*
 * A human sentence for a device error code of a final Response, and the
 * IB_ERR_* value the CLI should exit with: 105 -> IB_ERR_MB2_NO_SPACE,
 * 207 -> IB_ERR_MB2_WRONG_PASSWORD, 208 -> IB_ERR_MB2_LOCKED, other known
 * and unknown codes -> IB_ERR_MB2_DEVICE_ERROR. Code 0 -> IB_OK.
 * The sentence is never NULL ("the device reported error N" for unknown
 * codes, in a per-thread buffer).
 */
const char *ib_mb2_error_sentence(uint64_t code);
int ib_mb2_error_to_ib(uint64_t code);

#endif /* IB_MB2_MSG_H */
