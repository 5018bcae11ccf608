/*
 * ld_session.c - what commands need from lockdownd beyond one request:
 * the interactive pairing loop, opening a session from the stored
 * record, unpairing, and the `ibackup info` summary.
 */
#include "ld_client_int.h"

#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_plist.h"
#include "ib_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
ld_load_record(struct ib_lockdown *ld)
{
	uint8_t *data = NULL;
	size_t n = 0;
	struct ib_pair_record *rec = NULL;
	int r;

	r = ld->env.read_record(ld->env.ctx, ld->udid, &data, &n);
	if (r == IB_ERR_NOT_FOUND || r == IB_ERR_PAIR_RECORD_MISSING) {
		ib_err_detail_set("no pair record for %s", ld->udid);
		return IB_ERR_LD_NOT_PAIRED;
	}
	if (r != IB_OK)
		return r;
	r = ib_pair_record_parse(data, n, &rec);
	ib_pair_record_bytes_free(data, n);
	if (r != IB_OK)
		return r;
	/* Older records may lack SystemBUID: use this host's. */
	if (ib_pair_record_system_buid(rec) == NULL) {
		char *buid = NULL;

		if ((r = ld->env.read_buid(ld->env.ctx, &buid)) == IB_OK)
			r = ib_pair_record_set_system_buid(rec, buid);
		free(buid);
		if (r != IB_OK) {
			ib_pair_record_free(rec);
			return r;
		}
	}
	ib_pair_record_free(ld->rec);
	ld->rec = rec;
	return IB_OK;
}

/* --- interactive pairing -------------------------------------------------- */

struct pair_ui {
	ib_lockdown_message_fn fn;
	void *ctx;
	const char *what;       /* "iPhone", "iPad", "device" */
};

static void
tell(const struct pair_ui *ui, enum ib_lockdown_event ev)
{
	char text[160];

	switch (ev) {
	case IB_LD_EVENT_TRUST_PROMPT:
		snprintf(text, sizeof(text),
		    "Unlock the %s, tap Trust, and enter its passcode", ui->what);
		break;
	case IB_LD_EVENT_LOCKED:
		snprintf(text, sizeof(text),
		    "The %s is locked: unlock it to continue pairing", ui->what);
		break;
	case IB_LD_EVENT_RECONNECT:
		snprintf(text, sizeof(text),
		    "The %s reset the connection: reconnecting", ui->what);
		break;
	default:
		snprintf(text, sizeof(text), "Paired with the %s", ui->what);
		break;
	}
	ib_info("%s", text);
	if (ui->fn != NULL)
		ui->fn(ui->ctx, ev, text);
}

/* Lost the connection (iOS 7+ resets it after Trust; USB may re-enumerate). */
static int
connection_lost(int r)
{
	return r == IB_ERR_EOF || r == IB_ERR_MUX_RESET || r == IB_ERR_NO_DEVICE ||
	    r == IB_ERR_DEVICE_NOT_FOUND || r == IB_ERR_MUX_REFUSED ||
	    r == IB_ERR_STATE;
}

/* Sleep ms unless the deadline or an interrupt comes first. */
static int
pause_until(unsigned ms, uint64_t deadline)
{
	uint64_t end = ib_now_ms() + ms;

	if (end > deadline)
		end = deadline;
	while (ib_now_ms() < end) {
		if (ib_interrupted())
			return IB_ERR_INTERRUPTED;
		ib_sleep_ms(IB_MIN(50u, (unsigned)(end - ib_now_ms())));
	}
	if (ib_interrupted())
		return IB_ERR_INTERRUPTED;
	return ib_now_ms() >= deadline ? IB_ERR_TIMEOUT : IB_OK;
}

/* A fresh record for the device; DevicePublicKey and WiFiAddress are
 * read before Pair (after Trust, iOS 7 resets the connection). */
static int
build_record(struct ib_lockdown *ld, struct ib_pair_record **recp)
{
	plist_t key = NULL;
	char *wifi = NULL, *buid = NULL;
	const uint8_t *pem;
	size_t n;
	int r;

	*recp = NULL;
	if ((r = ib_lockdown_get_value(ld, NULL, "DevicePublicKey", &key)) != IB_OK)
		goto out;
	if ((r = ib_plist_get_data(key, &pem, &n)) != IB_OK)
		goto out;
	r = ib_lockdown_get_string(ld, NULL, "WiFiAddress", &wifi);
	if (r != IB_OK && r != IB_ERR_LD_MISSING_VALUE)
		goto out;
	if ((r = ld->env.read_buid(ld->env.ctx, &buid)) != IB_OK)
		goto out;
	if ((r = ib_pair_record_generate(pem, n, ld->ios_major, buid, recp)) != IB_OK)
		goto out;
	if ((r = ib_pair_record_set_wifi_mac(*recp, wifi)) != IB_OK ||
	    (r = ib_pair_record_set_udid(*recp, ld->udid)) != IB_OK) {
		ib_pair_record_free(*recp);
		*recp = NULL;
	}
out:
	plist_free(key);
	free(wifi);
	free(buid);
	return r;
}

/* Pair until the device says yes, no, or time runs out. */
static int
pair_loop(struct ib_lockdown *ld, struct ib_pair_record *rec,
    const struct pair_ui *ui, uint64_t deadline)
{
	int prompted = 0, locked = 0, reconnecting = 0, r;

	for (;;) {
		if (ib_interrupted())
			return IB_ERR_INTERRUPTED;
		if (ld->conn == NULL)
			r = ld_connect(ld);
		else
			r = ib_lockdown_pair(ld, rec);
		if (r == IB_OK && reconnecting) {
			reconnecting = 0;       /* reconnected: send Pair now */
			continue;
		}
		if (r == IB_OK)
			return IB_OK;
		if (r == IB_ERR_LD_PAIRING_DIALOG_PENDING) {
			if (!prompted)
				tell(ui, IB_LD_EVENT_TRUST_PROMPT);
			prompted = 1;
			locked = 0;
		} else if (r == IB_ERR_LD_PASSWORD_PROTECTED) {
			/* Ask once per lock; retry at the same slow pace. */
			if (!locked)
				tell(ui, IB_LD_EVENT_LOCKED);
			locked = 1;
		} else if (connection_lost(r)) {
			if (!reconnecting)
				tell(ui, IB_LD_EVENT_RECONNECT);
			reconnecting = 1;
			ib_conn_free(ld->conn);
			ld->conn = NULL;
		} else {
			return r;
		}
		if ((r = pause_until(ld->retry_ms, deadline)) != IB_OK)
			return r;
	}
}

int
ib_lockdown_pair_interactive(struct ib_lockdown *ld, int timeout_ms,
    ib_lockdown_message_fn fn, void *ctx)
{
	struct pair_ui ui = { fn, ctx, ld->device_class[0] ? ld->device_class : "device" };
	struct ib_pair_record *rec = NULL;
	uint8_t *data = NULL;
	size_t n = 0;
	uint64_t deadline;
	int r;

	if (timeout_ms == 0)
		timeout_ms = IB_LOCKDOWN_PAIR_TIMEOUT_DEFAULT_MS;
	if (ld->session_id != NULL)
		return IB_ERR_LD_SESSION_ACTIVE;
	if ((r = build_record(ld, &rec)) != IB_OK)
		goto out;
	/* The wait for the user starts now, not before the key generation. */
	deadline = timeout_ms < 0 ? UINT64_MAX : ib_now_ms() + (uint64_t)timeout_ms;
	if ((r = pair_loop(ld, rec, &ui, deadline)) != IB_OK) {
		if (r == IB_ERR_TIMEOUT)
			ib_err_detail_set("nobody answered the Trust dialog within %d s",
			    timeout_ms / 1000);
		goto out;
	}
	/* Saved only now: a denied or abandoned pairing leaves nothing. */
	if ((r = ib_pair_record_serialize(rec, &data, &n)) != IB_OK)
		goto out;
	if ((r = ld->env.save_record(ld->env.ctx, ld->udid, data, n)) != IB_OK)
		goto out;
	ib_pair_record_free(ld->rec);
	ld->rec = rec;
	rec = NULL;
	tell(&ui, IB_LD_EVENT_PAIRED);
out:
	ib_pair_record_bytes_free(data, n);
	ib_pair_record_free(rec);
	return r;
}

int
ib_lockdown_unpair_host(struct ib_lockdown *ld)
{
	int r, r2;

	if ((r = ld_load_record(ld)) != IB_OK)
		return r;
	r = ib_lockdown_unpair(ld, ld->rec);
	if (r != IB_OK && r != IB_ERR_LD_INVALID_HOST_ID)
		return r;
	r2 = ld->env.delete_record(ld->env.ctx, ld->udid);
	if (r2 != IB_OK && r2 != IB_ERR_NOT_FOUND)
		return r2;
	ib_pair_record_free(ld->rec);
	ld->rec = NULL;
	return IB_OK;
}

/* --- sessions ---------------------------------------------------------- */

int
ld_session_open_env(const struct ld_env *env, const char *udid,
    const struct ib_lockdown_opts *opts, ib_lockdown_message_fn fn, void *ctx,
    struct ib_lockdown **ldp)
{
	struct ib_lockdown *ld = NULL;
	int r;

	*ldp = NULL;
	if ((r = ld_open_env(env, udid, opts, &ld)) != IB_OK)
		return r;
	r = ld_load_record(ld);
	if (r == IB_ERR_LD_NOT_PAIRED && (opts == NULL || !opts->no_auto_pair))
		r = ib_lockdown_pair_interactive(ld, opts->pair_timeout_ms, fn, ctx);
	if (r != IB_OK)
		goto out;
	/* Below iOS 7 a session needs ValidatePair first (LIMD, PMD3). */
	if (ld->ios_major > 0 && ld->ios_major < 7 &&
	    (r = ib_lockdown_validate_pair(ld, ld->rec)) != IB_OK)
		goto out;
	if ((r = ib_lockdown_start_session(ld, ld->rec)) != IB_OK)
		goto out;
	*ldp = ld;
	ld = NULL;
out:
	ib_lockdown_free(ld);
	return r;
}

/* --- info --------------------------------------------------------------- */

/* A value that may legitimately be unreadable: only connection-level
 * failures are errors. */
static int
soft(int r)
{
	switch (r) {
	case IB_ERR_LD_UNKNOWN:
	case IB_ERR_LD_MISSING_VALUE:
	case IB_ERR_LD_MISSING_KEY:
	case IB_ERR_LD_GET_PROHIBITED:
	case IB_ERR_LD_INVALID_RESPONSE:
	case IB_ERR_LD_SESSION_INACTIVE:
	case IB_ERR_LD_PASSWORD_PROTECTED:
	case IB_ERR_LD_DEVICE_LOCKED:
	case IB_ERR_LD_FAILURE:
	case IB_ERR_PLIST_TYPE:
	case IB_ERR_PLIST_MISSING:
		return IB_OK;
	default:
		return r;
	}
}

static int
info_string(struct ib_lockdown *ld, const char *key, char *out, size_t n)
{
	return soft(ld_get_short_string(ld, key, out, n));
}

static int
info_domain(struct ib_lockdown *ld, const char *domain, plist_t *dp)
{
	int r = ib_lockdown_get_value(ld, domain, NULL, dp);

	if (r == IB_OK && !ib_plist_is_dict(*dp)) {
		plist_free(*dp);
		*dp = NULL;
	}
	return soft(r);
}

static int64_t
dict_i64(plist_t d, const char *key)
{
	uint64_t v;

	return ib_plist_dict_get_uint(d, key, &v) == IB_OK && v <= INT64_MAX ?
	    (int64_t)v : -1;
}

static int
dict_flag(plist_t d, const char *key)
{
	int v;

	return ib_plist_dict_get_bool(d, key, &v) == IB_OK ? v : -1;
}

int
ib_lockdown_get_info(struct ib_lockdown *ld, struct ib_lockdown_info *info)
{
	plist_t disk = NULL, batt = NULL, backup = NULL;
	int64_t pct;
	int r;

	memset(info, 0, sizeof(*info));
	info->total_capacity = info->free_space = -1;
	info->battery_percent = info->battery_charging = info->backup_encrypted = -1;
	snprintf(info->udid, sizeof(info->udid), "%s", ld->udid);
	if ((r = info_string(ld, "DeviceName", info->name, sizeof(info->name))) != IB_OK ||
	    (r = info_string(ld, "ProductType", info->product_type,
	    sizeof(info->product_type))) != IB_OK ||
	    (r = info_string(ld, "ProductVersion", info->product_version,
	    sizeof(info->product_version))) != IB_OK ||
	    (r = info_string(ld, "BuildVersion", info->build_version,
	    sizeof(info->build_version))) != IB_OK ||
	    (r = info_string(ld, "DeviceClass", info->device_class,
	    sizeof(info->device_class))) != IB_OK ||
	    (r = info_string(ld, "SerialNumber", info->serial_number,
	    sizeof(info->serial_number))) != IB_OK)
		goto out;
	if ((r = info_domain(ld, "com.apple.disk_usage", &disk)) != IB_OK ||
	    (r = info_domain(ld, "com.apple.mobile.battery", &batt)) != IB_OK ||
	    (r = info_domain(ld, "com.apple.mobile.backup", &backup)) != IB_OK)
		goto out;
	info->total_capacity = dict_i64(disk, "TotalDiskCapacity");
	if ((info->free_space = dict_i64(disk, "TotalDataAvailable")) < 0)
		info->free_space = dict_i64(disk, "AmountDataAvailable");
	pct = dict_i64(batt, "BatteryCurrentCapacity");
	info->battery_percent = pct >= 0 && pct <= 100 ? (int)pct : -1;
	info->battery_charging = dict_flag(batt, "BatteryIsCharging");
	info->backup_encrypted = dict_flag(backup, "WillEncrypt");
	info->paired = ld->session_id != NULL;
out:
	plist_free(disk);
	plist_free(batt);
	plist_free(backup);
	return r;
}

/* Errors meaning "this host is not (or no longer) trusted". */
static int
untrusted(int r)
{
	return r == IB_ERR_LD_NOT_PAIRED || r == IB_ERR_LD_INVALID_HOST_ID ||
	    r == IB_ERR_TLS_HANDSHAKE || r == IB_ERR_PAIR_RECORD_INVALID ||
	    r == IB_ERR_LD_PASSWORD_PROTECTED || r == IB_ERR_LD_MISSING_PAIR_RECORD;
}

int
ld_query_info_env(const struct ld_env *env, const char *udid,
    const struct ib_lockdown_opts *opts, struct ib_lockdown_info *info)
{
	struct ib_lockdown_opts o = { 0 };
	struct ib_lockdown *ld = NULL;
	int r;

	if (opts != NULL)
		o = *opts;
	o.no_auto_pair = 1;
	r = ld_session_open_env(env, udid, &o, NULL, NULL, &ld);
	if (untrusted(r))
		r = ld_open_env(env, udid, &o, &ld);
	if (r == IB_OK)
		r = ib_lockdown_get_info(ld, info);
	ib_lockdown_close(ld);
	return r;
}
