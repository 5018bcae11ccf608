/*
 * mb2_msg.c - MobileBackup2 requests, Hello and the MBErrorDomain table
 * (see mb2_msg.h).
 */
#include "mb2_msg.h"
#include "dl_msg.h"
#include "ib_err.h"
#include "ib_plist.h"

#include <stdio.h>
#include <string.h>

/* Wrap dict (consumed) as ["DLMessageProcessMessage", dict]. */
static int
wrap(plist_t dict, plist_t *outp)
{
	plist_t items[1] = { dict };

	return ib_dl_msg_build(outp, "DLMessageProcessMessage", items, 1);
}

static plist_t
request_dict(const char *name, const char *target, const char *source)
{
	plist_t d = plist_new_dict();

	plist_dict_set_item(d, "MessageName", plist_new_string(name));
	if (target != NULL)
		plist_dict_set_item(d, "TargetIdentifier", plist_new_string(target));
	if (source != NULL || target != NULL)
		plist_dict_set_item(d, "SourceIdentifier",
		    plist_new_string(source != NULL ? source : target));
	return d;
}

/* --- Hello ------------------------------------------------------------- */

int
ib_mb2_hello_new(plist_t *outp)
{
	plist_t d = plist_new_dict(), v = plist_new_array();

	plist_array_append_item(v, plist_new_real(IB_MB2_VERSION_2_0));
	plist_array_append_item(v, plist_new_real(IB_MB2_VERSION_2_1));
	plist_dict_set_item(d, "MessageName", plist_new_string("Hello"));
	plist_dict_set_item(d, "SupportedProtocolVersions", v);
	return wrap(d, outp);
}

int
ib_mb2_hello_response_parse(plist_t msg, double *versionp)
{
	plist_t d;
	const char *name;
	uint64_t code;
	double v;
	int r;

	*versionp = 0;
	if ((r = ib_dl_process_message_parse(msg, &d)) != IB_OK)
		return r;
	if ((r = ib_plist_dict_get_string(d, "MessageName", &name)) != IB_OK ||
	    strcmp(name, "Response") != 0) {
		ib_err_detail_set("the device did not answer Hello with a Response");
		return r != IB_OK ? r : IB_ERR_DL_PROTOCOL;
	}
	if ((r = ib_plist_dict_get_uint(d, "ErrorCode", &code)) != IB_OK) {
		ib_err_detail_set("Hello's Response has no unsigned ErrorCode");
		return r;
	}
	if (code == 1) {
		ib_err_detail_set("the device speaks neither MobileBackup2 2.0 nor 2.1");
		return IB_ERR_MB2_NO_COMMON_VERSION;
	}
	if (code != 0) {
		ib_err_detail_set("the device answered Hello with ErrorCode %llu",
		    (unsigned long long)code);
		return IB_ERR_MB2_DEVICE_ERROR;
	}
	if ((r = ib_plist_dict_get_real(d, "ProtocolVersion", &v)) != IB_OK) {
		ib_err_detail_set("Hello's Response has no real ProtocolVersion");
		return r;
	}
	if (v != IB_MB2_VERSION_2_0 && v != IB_MB2_VERSION_2_1) {
		ib_err_detail_set("the device chose protocol version %g, which was not offered", v);
		return IB_ERR_MB2_NO_COMMON_VERSION;
	}
	*versionp = v;
	return IB_OK;
}

int
ib_mb2_hello_response_new(uint64_t error_code, double version, plist_t *outp)
{
	plist_t d = plist_new_dict();

	plist_dict_set_item(d, "MessageName", plist_new_string("Response"));
	plist_dict_set_item(d, "ErrorCode", plist_new_uint(error_code));
	if (error_code == 0)
		plist_dict_set_item(d, "ProtocolVersion", plist_new_real(version));
	return wrap(d, outp);
}

int
ib_mb2_hello_choose(const struct ib_mb2_request *hello, double *versionp)
{
	double best = 0;
	size_t i;

	*versionp = 0;
	for (i = 0; i < hello->nversions; i++)
		if ((hello->versions[i] == IB_MB2_VERSION_2_0 ||
		    hello->versions[i] == IB_MB2_VERSION_2_1) && hello->versions[i] > best)
			best = hello->versions[i];
	if (best == 0)
		return IB_ERR_MB2_NO_COMMON_VERSION;
	*versionp = best;
	return IB_OK;
}

/* --- requests ---------------------------------------------------------- */

int
ib_mb2_backup_new(const char *target, const char *source, int force_full,
    plist_t *outp)
{
	plist_t d;

	*outp = NULL;
	if (target == NULL)
		return IB_ERR_INVALID_ARG;
	d = request_dict("Backup", target, source);
	if (force_full) {
		plist_t o = plist_new_dict();

		plist_dict_set_item(o, "ForceFullBackup", plist_new_bool(1));
		plist_dict_set_item(d, "Options", o);
	}
	return wrap(d, outp);
}

int
ib_mb2_restore_new(const char *target, const char *source,
    const struct ib_mb2_restore_opts *opts, plist_t *outp)
{
	plist_t d, o;

	*outp = NULL;
	if (target == NULL || opts == NULL)
		return IB_ERR_INVALID_ARG;
	d = request_dict("Restore", target, source);
	o = plist_new_dict();
	plist_dict_set_item(o, "RestoreSystemFiles", plist_new_bool(opts->system_files != 0));
	plist_dict_set_item(o, "RestoreShouldReboot", plist_new_bool(opts->reboot != 0));
	plist_dict_set_item(o, "RestoreDontCopyBackup", plist_new_bool(opts->copy_backup == 0));
	plist_dict_set_item(o, "RestorePreserveSettings",
	    plist_new_bool(opts->preserve_settings != 0));
	plist_dict_set_item(o, "RemoveItemsNotRestored",
	    plist_new_bool(opts->remove_items_not_restored != 0));
	if (opts->password != NULL)
		plist_dict_set_item(o, "Password", plist_new_string(opts->password));
	plist_dict_set_item(d, "Options", o);
	return wrap(d, outp);
}

int
ib_mb2_info_new(const char *target, const char *source, plist_t *outp)
{
	*outp = NULL;
	if (target == NULL)
		return IB_ERR_INVALID_ARG;
	return wrap(request_dict("Info", target, source), outp);
}

int
ib_mb2_list_new(const char *target, const char *source, plist_t *outp)
{
	*outp = NULL;
	if (target == NULL)
		return IB_ERR_INVALID_ARG;
	return wrap(request_dict("List", target, source), outp);
}

int
ib_mb2_change_password_new(const char *target, const char *old_password,
    const char *new_password, plist_t *outp)
{
	plist_t d;

	*outp = NULL;
	if (target == NULL || (old_password == NULL && new_password == NULL))
		return IB_ERR_INVALID_ARG;
	/* Keys at the top level and no SourceIdentifier (section 2.7). */
	d = request_dict("ChangePassword", NULL, NULL);
	plist_dict_set_item(d, "TargetIdentifier", plist_new_string(target));
	if (old_password != NULL)
		plist_dict_set_item(d, "OldPassword", plist_new_string(old_password));
	if (new_password != NULL)
		plist_dict_set_item(d, "NewPassword", plist_new_string(new_password));
	return wrap(d, outp);
}

int
ib_mb2_enable_cloud_backup_new(const char *target, const char *source, int state,
    plist_t *outp)
{
	plist_t d, o;

	*outp = NULL;
	if (target == NULL)
		return IB_ERR_INVALID_ARG;
	d = request_dict("EnableCloudBackup", target, source);
	o = plist_new_dict();
	plist_dict_set_item(o, "CloudBackupState", plist_new_bool(state != 0));
	plist_dict_set_item(d, "Options", o);
	plist_dict_set_item(d, "CloudBackupState", plist_new_bool(state != 0));
	return wrap(d, outp);
}

int
ib_mb2_response_new(uint64_t error_code, const char *description,
    const char *content, plist_t *outp)
{
	plist_t d = plist_new_dict();

	plist_dict_set_item(d, "MessageName", plist_new_string("Response"));
	plist_dict_set_item(d, "ErrorCode", plist_new_uint(error_code));
	if (description != NULL)
		plist_dict_set_item(d, "ErrorDescription", plist_new_string(description));
	if (content != NULL)
		plist_dict_set_item(d, "Content", plist_new_string(content));
	return wrap(d, outp);
}

/* --- device side parsing ------------------------------------------------ */

static const struct {
	const char *name;
	enum ib_mb2_req_kind kind;
} mb2_names[] = {
	{ "Hello", IB_MB2_REQ_HELLO },
	{ "Backup", IB_MB2_REQ_BACKUP },
	{ "Restore", IB_MB2_REQ_RESTORE },
	{ "Info", IB_MB2_REQ_INFO },
	{ "List", IB_MB2_REQ_LIST },
	{ "ChangePassword", IB_MB2_REQ_CHANGE_PASSWORD },
	{ "EnableCloudBackup", IB_MB2_REQ_ENABLE_CLOUD_BACKUP },
};

/* Optional bool key: absent keeps *vp, wrong type is an error. */
static int
opt_bool(plist_t dict, const char *key, int *vp)
{
	int v, r = ib_plist_dict_get_bool(dict, key, &v);

	if (r == IB_ERR_PLIST_MISSING)
		return IB_OK;
	if (r != IB_OK) {
		ib_err_detail_set("%s is not a boolean", key);
		return r;
	}
	*vp = v;
	return IB_OK;
}

static int
opt_string(plist_t dict, const char *key, const char **sp)
{
	int r = ib_plist_dict_get_string(dict, key, sp);

	if (r == IB_ERR_PLIST_TYPE)
		ib_err_detail_set("%s is not a string", key);
	return r == IB_ERR_PLIST_MISSING ? IB_OK : r;
}

static int
parse_hello(plist_t d, struct ib_mb2_request *req)
{
	plist_t v;
	uint32_t i, n;
	int r;

	if ((r = ib_plist_dict_get_array(d, "SupportedProtocolVersions", &v)) != IB_OK) {
		ib_err_detail_set("Hello has no SupportedProtocolVersions array");
		return r;
	}
	n = plist_array_get_size(v);
	if (n > IB_MB2_HELLO_VERSIONS_MAX) {
		ib_err_detail_set("Hello offers %u versions", n);
		return IB_ERR_TOO_LARGE;
	}
	for (i = 0; i < n; i++)
		if ((r = ib_plist_array_get_real(v, i, &req->versions[i])) != IB_OK) {
			ib_err_detail_set("Hello's version %u is not a real", i);
			return r;
		}
	req->nversions = n;
	return IB_OK;
}

static int
parse_options(plist_t d, struct ib_mb2_request *req)
{
	struct ib_mb2_restore_opts *o = &req->restore;
	plist_t opts = NULL;
	int r, dont_copy = 0;

	/* Device defaults for absent keys (section 2.4, E-SET). */
	o->system_files = o->reboot = o->copy_backup = o->remove_items_not_restored = 1;
	o->preserve_settings = 0;
	r = ib_plist_dict_get_dict(d, "Options", &opts);
	if (r == IB_ERR_PLIST_MISSING)
		return IB_OK;
	if (r != IB_OK) {
		ib_err_detail_set("Options is not a dict");
		return r;
	}
	if ((r = opt_bool(opts, "ForceFullBackup", &req->force_full)) != IB_OK ||
	    (r = opt_bool(opts, "RestoreSystemFiles", &o->system_files)) != IB_OK ||
	    (r = opt_bool(opts, "RestoreShouldReboot", &o->reboot)) != IB_OK ||
	    (r = opt_bool(opts, "RestorePreserveSettings", &o->preserve_settings)) != IB_OK ||
	    (r = opt_bool(opts, "RemoveItemsNotRestored", &o->remove_items_not_restored)) != IB_OK ||
	    (r = opt_bool(opts, "CloudBackupState", &req->cloud_state)) != IB_OK ||
	    (r = opt_string(opts, "Password", &o->password)) != IB_OK)
		return r;
	dont_copy = !o->copy_backup;
	if ((r = opt_bool(opts, "RestoreDontCopyBackup", &dont_copy)) != IB_OK)
		return r;
	o->copy_backup = !dont_copy;
	return IB_OK;
}

int
ib_mb2_request_parse(plist_t msg, struct ib_mb2_request *req)
{
	struct ib_mb2_request q;
	plist_t d;
	size_t i;
	int r;

	memset(req, 0, sizeof(*req));
	memset(&q, 0, sizeof(q));
	if ((r = ib_dl_process_message_parse(msg, &d)) != IB_OK)
		return r;
	if ((r = ib_plist_dict_get_string(d, "MessageName", &q.name)) != IB_OK) {
		ib_err_detail_set("the request has no MessageName string");
		return r;
	}
	for (i = 0; i < sizeof(mb2_names) / sizeof(mb2_names[0]); i++)
		if (strcmp(q.name, mb2_names[i].name) == 0)
			q.kind = mb2_names[i].kind;
	if (q.kind == IB_MB2_REQ_UNKNOWN) {
		*req = q;
		return IB_OK;
	}
	if (q.kind == IB_MB2_REQ_HELLO) {
		if ((r = parse_hello(d, &q)) != IB_OK)
			return r;
		*req = q;
		return IB_OK;
	}
	if ((r = ib_plist_dict_get_string(d, "TargetIdentifier", &q.target)) != IB_OK) {
		ib_err_detail_set("%s has no TargetIdentifier string", q.name);
		return r;
	}
	if ((r = opt_string(d, "SourceIdentifier", &q.source)) != IB_OK ||
	    (r = opt_string(d, "OldPassword", &q.old_password)) != IB_OK ||
	    (r = opt_string(d, "NewPassword", &q.new_password)) != IB_OK ||
	    (r = parse_options(d, &q)) != IB_OK ||
	    (r = opt_bool(d, "CloudBackupState", &q.cloud_state)) != IB_OK)
		return r;
	if (q.source == NULL)
		q.source = q.target;
	*req = q;
	return IB_OK;
}

/* --- MBErrorDomain ---------------------------------------------------- */

static const struct {
	uint64_t code;
	int err;
	const char *text;
} mb_errors[] = {
	{ 3, IB_ERR_MB2_DEVICE_ERROR,
	  "the device could not create its backup snapshot (restart the device and try again)" },
	{ 25, IB_ERR_MB2_DEVICE_ERROR,
	  "the device is restoring from iCloud; computer backups are unavailable until it finishes" },
	{ 100, IB_ERR_MB2_DEVICE_ERROR,
	  "a file operation on this computer failed in a way the device could not classify" },
	{ 103, IB_ERR_MB2_DEVICE_ERROR,
	  "the device could not read the backup status from this computer" },
	{ 104, IB_ERR_MB2_DEVICE_ERROR,
	  "the device reported errors uploading several files" },
	{ 105, IB_ERR_MB2_NO_SPACE,
	  "not enough free space on this computer (or, during a restore, on the device)" },
	{ 205, IB_ERR_BACKUP_INVALID,
	  "the device could not read the backup's properties or files (damaged or incomplete backup)" },
	{ 207, IB_ERR_MB2_WRONG_PASSWORD,
	  "the backup password is wrong (or device management requires a backup password)" },
	{ 208, IB_ERR_MB2_LOCKED,
	  "the device is locked: the passcode was not entered on the device" },
	{ 212, IB_ERR_MB2_DEVICE_ERROR,
	  "the device has not finished its setup: complete it on the device first" },
};

const char *
ib_mb2_error_sentence(uint64_t code)
{
	static _Thread_local char buf[64];
	size_t i;

	if (code == 0)
		return "success";
	for (i = 0; i < sizeof(mb_errors) / sizeof(mb_errors[0]); i++)
		if (mb_errors[i].code == code)
			return mb_errors[i].text;
	snprintf(buf, sizeof(buf), "the device reported error %llu", (unsigned long long)code);
	return buf;
}

int
ib_mb2_error_to_ib(uint64_t code)
{
	size_t i;

	if (code == 0)
		return IB_OK;
	for (i = 0; i < sizeof(mb_errors) / sizeof(mb_errors[0]); i++)
		if (mb_errors[i].code == code)
			return mb_errors[i].err;
	return IB_ERR_MB2_DEVICE_ERROR;
}
