/*
 * ib_err.h - the one error space of ibackup.
 *
 * Every function that can fail returns an int: 0 (IB_OK) on success or one
 * of the negative IB_ERR_* values below. Values are grouped in ranges, one
 * per layer, and are never renumbered or reused: a retired value stays in
 * the table as IB_ERR_OBSOLETE_<n> so logs and scripts keep their meaning.
 *
 *   -1 ..  -99  general: memory, system calls, bounded-buffer parsing
 *   -100 .. -199 plist wrapper
 *   -200 .. -299 usbmux: USB access, mux protocol, streams
 *   -300 .. -399 usbmuxd socket protocol (client and server)
 *   -400 .. -499 lockdown: one value per lockdownd error string, pairing
 *   -500 .. -599 TLS and pair records
 *   -600 .. -699 DeviceLink / MobileBackup2, device services
 *   -700 .. -799 backup folder on the host
 *   -800 .. -899 backup encryption
 *   -900 .. -999 command line
 *
 * ib_strerror() gives one human sentence per value; ib_errname() the
 * symbol; ib_err_exit_code() the documented exit status of the CLI.
 *
 * Detail that only makes sense to a protocol reader ("lockdownd answered
 * Error=InvalidHostID to StartSession") travels beside the value: the code
 * that detects a failure calls ib_err_detail_set(), which keeps the text in
 * a per-thread slot that the CLI prints under -v. The value alone must
 * always be enough to act on.
 */
#ifndef IB_ERR_H
#define IB_ERR_H

#include <stdarg.h>

/*
 * X(name, value, exit_status, sentence)
 * Exit statuses are the table printed by `ibackup --help`; see ib_err.c.
 */
#define IB_ERR_LIST(X) \
	X(IB_OK, 0, 0, "success") \
	/* general */ \
	X(IB_ERR_INTERNAL, -1, 1, "internal error (a bug in ibackup)") \
	X(IB_ERR_NOMEM, -2, 1, "out of memory") \
	X(IB_ERR_INVALID_ARG, -3, 1, "invalid argument") \
	X(IB_ERR_SYSTEM, -4, 15, "system call failed (see the error detail)") \
	X(IB_ERR_INCOMPLETE, -5, 8, "message is truncated") \
	X(IB_ERR_TOO_LARGE, -6, 8, "message or field is larger than the allowed limit") \
	X(IB_ERR_TRAILING, -7, 8, "message has unexpected trailing bytes") \
	X(IB_ERR_TIMEOUT, -8, 6, "timed out") \
	X(IB_ERR_INTERRUPTED, -9, 130, "interrupted") \
	X(IB_ERR_EOF, -10, 8, "the peer closed the connection") \
	X(IB_ERR_FORMAT, -11, 8, "malformed data") \
	X(IB_ERR_NOT_FOUND, -12, 1, "not found") \
	X(IB_ERR_UNSUPPORTED, -13, 1, "not supported") \
	X(IB_ERR_BUSY, -14, 1, "resource busy") \
	X(IB_ERR_OVERFLOW, -15, 8, "numeric overflow in a length or count") \
	X(IB_ERR_EXISTS, -16, 1, "already exists") \
	X(IB_ERR_WOULD_BLOCK, -17, 1, "operation would block") \
	X(IB_ERR_STATE, -18, 1, "operation not valid in the current state") \
	/* plist */ \
	X(IB_ERR_PLIST_PARSE, -100, 8, "the peer sent a property list that cannot be parsed") \
	X(IB_ERR_PLIST_TYPE, -101, 8, "a property list value has the wrong type") \
	X(IB_ERR_PLIST_DEPTH, -102, 8, "a property list is nested too deeply") \
	X(IB_ERR_PLIST_MISSING, -103, 8, "a required property list key is missing") \
	X(IB_ERR_PLIST_TOO_MANY, -104, 8, "a property list has too many entries") \
	X(IB_ERR_PLIST_ENCODE, -105, 1, "could not encode a property list") \
	/* usbmux */ \
	X(IB_ERR_NO_DEVICE, -200, 3, "the device was unplugged or is no longer reachable") \
	X(IB_ERR_DEVICE_NOT_FOUND, -201, 3, "no matching device is connected") \
	X(IB_ERR_DEVICE_AMBIGUOUS, -202, 2, "several devices are connected: choose one with -u UDID") \
	X(IB_ERR_MUX_REFUSED, -203, 16, "the device refused the connection (nothing listens on that port)") \
	X(IB_ERR_MUX_RESET, -204, 8, "the device reset the connection") \
	X(IB_ERR_MUX_PROTOCOL, -205, 8, "the device broke the USB multiplexing protocol") \
	X(IB_ERR_MUX_VERSION, -206, 8, "the device speaks an unsupported multiplexing version") \
	X(IB_ERR_MUX_NO_PORTS, -207, 1, "too many connections are open to this device") \
	X(IB_ERR_MUX_OVERRUN, -208, 8, "the peer sent more data than the window allowed") \
	X(IB_ERR_USB_ACCESS, -209, 15, "permission denied opening the USB device (run as root or add a udev rule)") \
	X(IB_ERR_USB_BUSY, -210, 15, "another program holds the USB device (is usbmuxd running?)") \
	X(IB_ERR_USB_NO_MUX, -211, 3, "the device has no USB multiplexing interface in any configuration") \
	X(IB_ERR_USB_IO, -212, 3, "a USB transfer failed") \
	X(IB_ERR_USB_INIT, -213, 15, "could not initialise USB access (libusb)") \
	X(IB_ERR_TRANSPORT, -214, 3, "no transport can reach a device (no USB device, no usbmuxd)") \
	/* usbmuxd socket protocol */ \
	X(IB_ERR_MUXD_CONNECT, -300, 3, "cannot connect to the usbmuxd socket") \
	X(IB_ERR_MUXD_PROTOCOL, -301, 8, "the usbmuxd peer broke the usbmuxd protocol") \
	X(IB_ERR_MUXD_BADCOMMAND, -302, 8, "usbmuxd rejected the command") \
	X(IB_ERR_MUXD_BADDEV, -303, 3, "usbmuxd does not know that device") \
	X(IB_ERR_MUXD_BADVERSION, -304, 8, "usbmuxd rejected the protocol version") \
	X(IB_ERR_MUXD_RESULT, -305, 8, "usbmuxd answered with an unknown result code") \
	/* lockdown: one per lockdownd error string (lockdown.md section 1) */ \
	X(IB_ERR_LD_UNKNOWN, -400, 8, "lockdownd reported an error ibackup does not know") \
	X(IB_ERR_LD_INVALID_RESPONSE, -401, 8, "lockdownd says the request was invalid (InvalidResponse)") \
	X(IB_ERR_LD_MISSING_KEY, -402, 8, "lockdownd says a key is missing (MissingKey)") \
	X(IB_ERR_LD_MISSING_VALUE, -403, 1, "the device has no value for that key (MissingValue)") \
	X(IB_ERR_LD_GET_PROHIBITED, -404, 1, "the device does not allow reading that value (GetProhibited)") \
	X(IB_ERR_LD_SET_PROHIBITED, -405, 1, "the device does not allow setting that value (SetProhibited)") \
	X(IB_ERR_LD_REMOVE_PROHIBITED, -406, 1, "the device does not allow removing that value (RemoveProhibited)") \
	X(IB_ERR_LD_IMMUTABLE_VALUE, -407, 1, "that value cannot be changed (ImmutableValue)") \
	X(IB_ERR_LD_PASSWORD_PROTECTED, -408, 7, "the device is locked: unlock it with its passcode") \
	X(IB_ERR_LD_USER_DENIED_PAIRING, -409, 5, "the user tapped Don't Trust on the device") \
	X(IB_ERR_LD_PAIRING_DIALOG_PENDING, -410, 6, "the Trust dialog on the device has not been answered") \
	X(IB_ERR_LD_MISSING_HOST_ID, -411, 4, "the device needs a pairing record (MissingHostID)") \
	X(IB_ERR_LD_INVALID_HOST_ID, -412, 4, "this computer is no longer trusted by the device: run `ibackup pair`") \
	X(IB_ERR_LD_SESSION_ACTIVE, -413, 8, "a lockdown session is already active (SessionActive)") \
	X(IB_ERR_LD_SESSION_INACTIVE, -414, 8, "no lockdown session is active (SessionInactive)") \
	X(IB_ERR_LD_MISSING_SESSION_ID, -415, 8, "lockdownd needs a session ID (MissingSessionID)") \
	X(IB_ERR_LD_INVALID_SESSION_ID, -416, 8, "lockdownd does not know that session (InvalidSessionID)") \
	X(IB_ERR_LD_MISSING_SERVICE, -417, 16, "lockdownd says the service name is missing (MissingService)") \
	X(IB_ERR_LD_INVALID_SERVICE, -418, 16, "the device does not offer that service (InvalidService)") \
	X(IB_ERR_LD_SERVICE_LIMIT, -419, 16, "the device runs too many instances of that service (ServiceLimit)") \
	X(IB_ERR_LD_MISSING_PAIR_RECORD, -420, 4, "the device has no pairing record for this computer (MissingPairRecord)") \
	X(IB_ERR_LD_SAVE_PAIR_RECORD_FAILED, -421, 1, "the device could not save the pairing (SavePairRecordFailed)") \
	X(IB_ERR_LD_INVALID_PAIR_RECORD, -422, 4, "the device rejected the pairing record (InvalidPairRecord)") \
	X(IB_ERR_LD_INVALID_ACTIVATION_RECORD, -423, 1, "invalid activation record (InvalidActivationRecord)") \
	X(IB_ERR_LD_MISSING_ACTIVATION_RECORD, -424, 1, "the device is not activated (MissingActivationRecord)") \
	X(IB_ERR_LD_SERVICE_PROHIBITED, -425, 16, "the device does not allow that service (ServiceProhibited)") \
	X(IB_ERR_LD_ESCROW_LOCKED, -426, 7, "the device is locked and the escrow bag cannot unlock it (EscrowLocked)") \
	X(IB_ERR_LD_PAIRING_PROHIBITED, -427, 1, "pairing is not allowed over this connection; use USB (PairingProhibitedOverThisConnection)") \
	X(IB_ERR_LD_FMIP_PROTECTED, -428, 1, "Find My prevents this operation (FMiPProtected)") \
	X(IB_ERR_LD_MC_PROTECTED, -429, 1, "device management (MDM) prevents pairing (MCProtected)") \
	X(IB_ERR_LD_MC_CHALLENGE_REQUIRED, -430, 1, "supervised pairing needs a challenge response (MCChallengeRequired)") \
	X(IB_ERR_LD_INVALID_CONNECTION, -431, 8, "lockdownd says the connection is invalid (InvalidConnection)") \
	X(IB_ERR_LD_DEVICE_LOCKED, -432, 7, "the device is locked (DeviceLocked)") \
	X(IB_ERR_LD_MALFORMED_COMMAND, -433, 8, "lockdownd says the command was malformed (MalformedCommand)") \
	X(IB_ERR_LD_WRONG_TYPE, -434, 8, "the device is not in normal mode (QueryType did not answer com.apple.mobile.lockdown)") \
	X(IB_ERR_LD_REPLY_MISMATCH, -435, 8, "lockdownd answered a different request than the one sent") \
	X(IB_ERR_LD_NOT_PAIRED, -436, 4, "this computer is not paired with the device: run `ibackup pair`") \
	X(IB_ERR_LD_FAILURE, -437, 8, "lockdownd reported failure (Result=Failure)") \
	/* TLS and pair records */ \
	X(IB_ERR_TLS_HANDSHAKE, -500, 4, "this computer is no longer trusted by the device: run `ibackup pair`") \
	X(IB_ERR_TLS_IO, -501, 8, "the encrypted connection to the device failed") \
	X(IB_ERR_TLS_SETUP, -502, 1, "could not set up TLS (OpenSSL)") \
	X(IB_ERR_CERT, -503, 1, "could not create or load a certificate or key") \
	X(IB_ERR_PAIR_RECORD_INVALID, -504, 4, "the stored pairing record is damaged: run `ibackup pair`") \
	X(IB_ERR_PAIR_RECORD_WRITE, -505, 15, "could not save the pairing record") \
	X(IB_ERR_PAIR_RECORD_MISSING, -506, 4, "no pairing record for this device: run `ibackup pair`") \
	/* DeviceLink / MobileBackup2 / services */ \
	X(IB_ERR_DL_PROTOCOL, -600, 8, "the device broke the DeviceLink protocol") \
	X(IB_ERR_DL_VERSION, -601, 8, "the device speaks a DeviceLink version ibackup does not support") \
	X(IB_ERR_MB2_NO_COMMON_VERSION, -602, 8, "the device and ibackup share no MobileBackup2 protocol version") \
	X(IB_ERR_MB2_DEVICE_ERROR, -603, 10, "the device reported that the operation failed") \
	X(IB_ERR_MB2_UNSAFE_PATH, -604, 9, "the device sent an unsafe path") \
	X(IB_ERR_MB2_NO_SPACE, -605, 11, "not enough space on this computer") \
	X(IB_ERR_MB2_LOCKED, -606, 7, "the passcode was not entered on the device") \
	X(IB_ERR_MB2_CANCELLED, -607, 10, "the operation was cancelled on the device") \
	X(IB_ERR_AFC, -608, 8, "the device's file service (AFC) reported an error") \
	X(IB_ERR_AFC_LOCK_TIMEOUT, -609, 6, "timed out waiting for the device's sync lock (another sync in progress?)") \
	X(IB_ERR_NP, -610, 8, "the notification service failed") \
	X(IB_ERR_MB2_WRONG_PASSWORD, -611, 13, "the backup password is wrong") \
	X(IB_ERR_SERVICE, -612, 8, "a device service reported an error") \
	X(IB_ERR_AFC_PROTOCOL, -613, 8, "the device broke the AFC file-service protocol") \
	/* backup folder */ \
	X(IB_ERR_BACKUP_NOT_FOUND, -700, 12, "no such backup") \
	X(IB_ERR_BACKUP_INCOMPLETE, -701, 12, "the backup is not complete") \
	X(IB_ERR_BACKUP_INVALID, -702, 12, "the backup folder is damaged or not an iOS backup") \
	X(IB_ERR_BACKUP_IO, -703, 15, "reading or writing the backup folder failed") \
	X(IB_ERR_BACKUP_NEWER_IOS, -704, 14, "the backup comes from a newer iOS than the device runs: update the device first") \
	X(IB_ERR_BACKUP_ENCRYPTED, -705, 13, "the backup is encrypted: give its password") \
	X(IB_ERR_BACKUP_AMBIGUOUS, -706, 2, "several backups match: choose one with --from") \
	X(IB_ERR_BACKUP_MISMATCH, -707, 12, "a file in the backup does not match Manifest.db") \
	X(IB_ERR_SQLITE, -708, 12, "the backup database (Manifest.db) cannot be read") \
	X(IB_ERR_UNSAFE_PATH, -709, 9, "a path would escape its folder") \
	/* encryption */ \
	X(IB_ERR_CRYPTO, -800, 1, "a cryptographic operation failed (OpenSSL)") \
	X(IB_ERR_WRONG_PASSWORD, -801, 13, "the backup password is wrong") \
	X(IB_ERR_KEYBAG, -802, 12, "the backup's keybag is damaged") \
	X(IB_ERR_DECRYPT, -803, 12, "a file of the backup cannot be decrypted") \
	/* command line */ \
	X(IB_ERR_USAGE, -900, 2, "invalid command line") \
	X(IB_ERR_PASSWORD_REQUIRED, -901, 2, "a password is needed: use a prompt, --password-file or IBACKUP_PASSWORD")

enum ib_err {
#define IB_ERR_ENUM_(name, value, exit, text) name = (value),
	IB_ERR_LIST(IB_ERR_ENUM_)
#undef IB_ERR_ENUM_
};

/* One human sentence for an error value; never NULL. */
const char *ib_strerror(int err);

/* The symbol ("IB_ERR_TIMEOUT"); "IB_ERR_<n>" style text for unknown values. */
const char *ib_errname(int err);

/* Exit status the CLI uses for this error (documented in `ibackup --help`). */
int ib_err_exit_code(int err);

/*
 * Per-thread protocol detail for the most recent failure. Setting a detail
 * replaces the previous one. ib_err_detail() returns "" when there is none.
 * Details must never contain secrets (keys, passwords, escrow bags).
 */
void ib_err_detail_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ib_err_detail_vset(const char *fmt, va_list ap);
const char *ib_err_detail(void);
void ib_err_detail_clear(void);

/* Map an errno value to IB_ERR_* (ENOMEM -> NOMEM, ETIMEDOUT -> TIMEOUT, ...)
 * and record strerror() in the detail slot. */
int ib_err_from_errno(int errnum, const char *what);

#endif /* IB_ERR_H */
