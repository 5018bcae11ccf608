/*
 * ib_lockdown.h - the lockdown layer's contract: talk to a device's
 * lockdownd (port 62078) to read values, pair, start a TLS session and
 * start services. Built on ib_usbmux.h (streams, pair records, BUID) and
 * ib_conn.h (framing, TLS).
 *
 * Typical use (each CLI command is a few lines):
 *
 *   ibackup pair      ib_lockdown_open + ib_lockdown_pair_interactive
 *   ibackup validate  ib_lockdown_session_open (opts.no_auto_pair = 1)
 *   ibackup unpair    ib_lockdown_open + ib_lockdown_unpair_host
 *   ibackup info      ib_lockdown_query_info
 *   backup/restore    ib_lockdown_session_open, then
 *                     ib_lockdown_start_service(ld, "com.apple.mobilebackup2",
 *                     1, &conn)
 *   finally           ib_lockdown_close
 *
 * Errors are IB_ERR_* values; lockdownd's Error strings each have their
 * own IB_ERR_LD_* value (ib_err.h) with the string in the error detail.
 * The ones a user acts on:
 *   IB_ERR_LD_NOT_PAIRED         no pair record here: run `ibackup pair`;
 *   IB_ERR_LD_INVALID_HOST_ID    the device forgot us (e.g. after "Reset
 *                                Location & Privacy"): run `ibackup pair`;
 *   IB_ERR_TLS_HANDSHAKE         the device refused our certificate
 *                                (stale record): run `ibackup pair`;
 *   IB_ERR_LD_PASSWORD_PROTECTED the device is locked;
 *   IB_ERR_LD_USER_DENIED_PAIRING, IB_ERR_TIMEOUT, IB_ERR_INTERRUPTED.
 *
 * A struct ib_lockdown is one lockdownd connection; use it from one
 * thread at a time. Every call waits at most opts.timeout_ms for the
 * device and ends early with IB_ERR_INTERRUPTED once ib_interrupted().
 */
#ifndef IB_LOCKDOWN_H
#define IB_LOCKDOWN_H

#include <stddef.h>
#include <stdint.h>

#include <plist/plist.h>

#include "ib_conn.h"

#define IB_LOCKDOWN_PORT 62078
/* How long the interactive pairing waits for the user by default. */
#define IB_LOCKDOWN_PAIR_TIMEOUT_DEFAULT_MS 120000

struct ib_lockdown;
struct ib_usbmux;
struct ib_pair_record;

struct ib_lockdown_opts {
	const char *label;      /* "Label" of each request; NULL = "ibackup" */
	int timeout_ms;         /* per reply; 0 = IB_CONN_TIMEOUT_DEFAULT_MS */
	/* TLS client certificate: 0 = HostCertificate (default), 1 =
	 * RootCertificate (what libimobiledevice's OpenSSL build presents). */
	int tls_root_cert;
	/* ib_lockdown_session_open pairs interactively when this host has
	 * no record for the device; set this to get IB_ERR_LD_NOT_PAIRED
	 * instead. */
	int no_auto_pair;
	/* Interactive pairing limit; 0 = IB_LOCKDOWN_PAIR_TIMEOUT_DEFAULT_MS,
	 * negative = wait until interrupted. */
	int pair_timeout_ms;
};

/* What the interactive pairing tells the user, via a callback. */
enum ib_lockdown_event {
	IB_LD_EVENT_TRUST_PROMPT = 1,   /* "Unlock the iPhone, tap Trust, and enter its passcode" */
	IB_LD_EVENT_LOCKED = 2,         /* the device is locked: unlock it */
	IB_LD_EVENT_RECONNECT = 3,      /* the device reset the connection: reconnecting */
	IB_LD_EVENT_PAIRED = 4,         /* done; the record is saved */
};
/* text is a complete sentence for the user (borrowed during the call). */
typedef void (*ib_lockdown_message_fn)(void *ctx, enum ib_lockdown_event ev,
    const char *text);

/* --- connection ---------------------------------------------------------- */

/*
 * Connect to lockdownd of the device udid (NULL: the only one), check
 * QueryType says com.apple.mobile.lockdown (IB_ERR_LD_WRONG_TYPE, e.g.
 * restore mode), and read ProductVersion and DeviceClass (allowed before
 * pairing). opts may be NULL.
 */
int ib_lockdown_open(struct ib_usbmux *m, const char *udid,
    const struct ib_lockdown_opts *opts, struct ib_lockdown **ldp);
/*
 * Open a session for a command that needs one: ib_lockdown_open, load
 * this host's record (none: pair interactively, reporting through fn,
 * unless opts->no_auto_pair: IB_ERR_LD_NOT_PAIRED), ValidatePair when the
 * device runs iOS < 7, StartSession and TLS. On InvalidHostID or a
 * refused handshake it returns IB_ERR_LD_INVALID_HOST_ID /
 * IB_ERR_TLS_HANDSHAKE and leaves the record alone.
 */
int ib_lockdown_session_open(struct ib_usbmux *m, const char *udid,
    const struct ib_lockdown_opts *opts, ib_lockdown_message_fn fn, void *ctx,
    struct ib_lockdown **ldp);
/* Close without a word to the device; NULL is a no-op. */
void ib_lockdown_free(struct ib_lockdown *ld);
/* StopSession (if one is active) and Goodbye, errors ignored, then free. */
void ib_lockdown_close(struct ib_lockdown *ld);

/* The device's UDID, ProductVersion ("17.5"), DeviceClass ("iPhone"). */
const char *ib_lockdown_udid(const struct ib_lockdown *ld);
const char *ib_lockdown_product_version(const struct ib_lockdown *ld);
const char *ib_lockdown_device_class(const struct ib_lockdown *ld);
/* Is a session (StartSession) active? */
int ib_lockdown_has_session(const struct ib_lockdown *ld);

/* --- values ------------------------------------------------------------- */

/*
 * GetValue. domain and key may each be NULL: no key returns the whole
 * domain as a dict (no domain: the default one). *valuep is a copy the
 * caller frees (plist_free). Before a session only a few keys are
 * readable (IB_ERR_LD_GET_PROHIBITED for the others).
 */
int ib_lockdown_get_value(struct ib_lockdown *ld, const char *domain,
    const char *key, plist_t *valuep);
/* Convenience: a string value, malloc'd (IB_ERR_PLIST_TYPE if not one). */
int ib_lockdown_get_string(struct ib_lockdown *ld, const char *domain,
    const char *key, char **sp);
/* SetValue (value borrowed, copied) and RemoveValue. */
int ib_lockdown_set_value(struct ib_lockdown *ld, const char *domain,
    const char *key, plist_t value);
int ib_lockdown_remove_value(struct ib_lockdown *ld, const char *domain,
    const char *key);

/* --- pairing ----------------------------------------------------------- */

/*
 * Pair this host with the device, waiting for the user. Reads
 * DevicePublicKey and WiFiAddress first (iOS 7 resets the connection
 * after Trust), builds a fresh record, and sends the same Pair about once
 * a second while the device answers PairingDialogResponsePending (fn
 * hears IB_LD_EVENT_TRUST_PROMPT once) or PasswordProtected
 * (IB_LD_EVENT_LOCKED once per lock). If the device resets or drops the
 * connection it reconnects and carries on (IB_LD_EVENT_RECONNECT). On
 * success the record (with EscrowBag and WiFiMACAddress) is saved
 * through the usbmux layer's pair-record store and kept in ld for a
 * session. Nothing is saved otherwise: IB_ERR_LD_USER_DENIED_PAIRING,
 * IB_ERR_TIMEOUT after timeout_ms (negative: no limit),
 * IB_ERR_INTERRUPTED, or the device's other errors. fn may be NULL.
 */
int ib_lockdown_pair_interactive(struct ib_lockdown *ld, int timeout_ms,
    ib_lockdown_message_fn fn, void *ctx);
/*
 * Unpair: tell the device to forget this host (Unpair with the stored
 * record) and delete the record here. A device that already forgot us
 * (InvalidHostID) still gets the local record deleted. IB_ERR_LD_NOT_PAIRED
 * when there is no record.
 */
int ib_lockdown_unpair_host(struct ib_lockdown *ld);

/* Single requests, for callers that manage records themselves. */
int ib_lockdown_pair(struct ib_lockdown *ld, struct ib_pair_record *rec);
int ib_lockdown_validate_pair(struct ib_lockdown *ld, const struct ib_pair_record *rec);
int ib_lockdown_unpair(struct ib_lockdown *ld, const struct ib_pair_record *rec);

/* --- sessions and services -------------------------------------------- */

/* StartSession with rec's HostID and SystemBUID, then TLS when the
 * device asks (it always does). rec is copied into ld for services. */
int ib_lockdown_start_session(struct ib_lockdown *ld, const struct ib_pair_record *rec);
/* StopSession inside TLS, then back to plaintext on the same connection. */
int ib_lockdown_stop_session(struct ib_lockdown *ld);
/*
 * StartService name, with the pair record's EscrowBag when
 * with_escrow_bag (mobilebackup2: lets a locked device back up). Connects
 * to the port the device names and runs the TLS handshake there when the
 * reply says EnableServiceSSL=true. *cp is the caller's (ib_conn_free).
 */
int ib_lockdown_start_service(struct ib_lockdown *ld, const char *name,
    int with_escrow_bag, struct ib_conn **cp);
int ib_lockdown_goodbye(struct ib_lockdown *ld);

/* --- what `ibackup info` shows ------------------------------------------- */

struct ib_lockdown_info {
	char name[128];             /* DeviceName */
	char product_type[32];      /* "iPhone14,5" */
	char product_version[32];   /* "17.5" */
	char build_version[32];     /* "21F79" */
	char device_class[32];      /* "iPhone" */
	char udid[72];
	char serial_number[32];
	/* com.apple.disk_usage, bytes; -1 unknown */
	int64_t total_capacity, free_space;
	/* com.apple.mobile.battery; -1 unknown */
	int battery_percent, battery_charging;
	/* com.apple.mobile.backup WillEncrypt; -1 unknown */
	int backup_encrypted;
	/* this host has a pairing the device accepts (a session started) */
	int paired;
};

/* Fill info from ld (values that the device does not give without a
 * session are left empty / -1). Fails only when the connection does. */
int ib_lockdown_get_info(struct ib_lockdown *ld, struct ib_lockdown_info *info);
/* One call for `ibackup info`: a session if this host is paired (paired
 * = 1), else the values an untrusted host may read (paired = 0). */
int ib_lockdown_query_info(struct ib_usbmux *m, const char *udid,
    const struct ib_lockdown_opts *opts, struct ib_lockdown_info *info);

#endif /* IB_LOCKDOWN_H */
