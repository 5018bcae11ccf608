/*
 * np.h - notification_proxy (com.apple.mobile.notification_proxy, and
 * com.apple.mobile.insecure_notification_proxy before pairing): the
 * message codec both roles share and the host client.
 *
 * Messages are ld_msg-framed plist dicts keyed by Command
 * (lockdown.md section 7):
 *   host -> device  {Command: PostNotification, Name}      no reply
 *   host -> device  {Command: ObserveNotification, Name}   no reply
 *   host -> device  {Command: Shutdown}                    -> ProxyDeath
 *   device -> host  {Command: RelayNotification, Name}     an observed name fired
 *   device -> host  {Command: ProxyDeath}                  the proxy is gone
 */
#ifndef IB_NP_H
#define IB_NP_H

#include <stddef.h>

#include <plist/plist.h>

struct ib_conn;

#define IB_NP_SERVICE "com.apple.mobile.notification_proxy"
#define IB_NP_SERVICE_INSECURE "com.apple.mobile.insecure_notification_proxy"

/* Posted by the host around a sync (see afc.h, ib_afc_sync_lock). */
#define IB_NP_SYNC_WILL_START "com.apple.itunes-mobdev.syncWillStart"
#define IB_NP_SYNC_LOCK_REQUEST "com.apple.itunes-mobdev.syncLockRequest"
#define IB_NP_SYNC_DID_START "com.apple.itunes-mobdev.syncDidStart"
#define IB_NP_SYNC_DID_FINISH "com.apple.itunes-mobdev.syncDidFinish"
/* Observed by the host during a backup. */
#define IB_NP_SYNC_CANCEL_REQUEST "com.apple.itunes-client.syncCancelRequest"
#define IB_NP_SYNC_SUSPEND_REQUEST "com.apple.itunes-client.syncSuspendRequest"
#define IB_NP_SYNC_RESUME_REQUEST "com.apple.itunes-client.syncResumeRequest"
#define IB_NP_BACKUP_DOMAIN_CHANGED "com.apple.mobile.backup.domain_changed"
#define IB_NP_LA_UI_PRESENTED "com.apple.LocalAuthentication.ui.presented"
#define IB_NP_LA_UI_DISMISSED "com.apple.LocalAuthentication.ui.dismissed"

enum ib_np_cmd {
	IB_NP_POST = 1,         /* PostNotification (host -> device) */
	IB_NP_OBSERVE,          /* ObserveNotification (host -> device) */
	IB_NP_SHUTDOWN,         /* Shutdown (host -> device) */
	IB_NP_RELAY,            /* RelayNotification (device -> host) */
	IB_NP_PROXY_DEATH,      /* ProxyDeath (device -> host) */
};

/* A decoded message; name is borrowed from the plist (NULL for
 * Shutdown and ProxyDeath). */
struct ib_np_msg {
	enum ib_np_cmd cmd;
	const char *name;
};

/* "PostNotification" etc. */
const char *ib_np_cmd_name(enum ib_np_cmd cmd);

/*
 * Build a message dict (caller frees with plist_free). name is required
 * for Post, Observe and Relay: non-empty, at most IB_NP_NAME_MAX bytes
 * (IB_ERR_INVALID_ARG otherwise).
 */
int ib_np_msg_build(enum ib_np_cmd cmd, const char *name, plist_t *msgp);

/*
 * Decode a received message. Not a dict, no string Command, or a Name
 * missing, not a string, empty or longer than IB_NP_NAME_MAX: IB_ERR_NP.
 * An unknown Command: IB_ERR_NP with the command in the detail. Other
 * keys are ignored.
 */
int ib_np_msg_parse(plist_t msg, struct ib_np_msg *m);

/*
 * What a host makes of one message from the device: a relay gives IB_OK
 * and the name (borrowed from msg); ProxyDeath gives IB_ERR_EOF; a
 * host-to-device command or anything ib_np_msg_parse refuses gives
 * IB_ERR_NP. Used by ib_np_wait and the fuzz harness.
 */
int ib_np_host_input(plist_t msg, const char **namep);

/* --- host client ------------------------------------------------------- */

/*
 * One notification_proxy connection. Threads: ib_np_wait may run on one
 * thread while another posts or observes; the handle serialises its use
 * of the connection and never holds its lock while waiting. Only one
 * thread may wait at a time.
 *
 * A backup observes its names on one long-lived connection and polls or
 * waits on it, and posts each of its own notifications on a separate
 * short connection (what idevicebackup2 does).
 */
struct ib_np;

/* Take over conn (freed by ib_np_free, also when this call fails). */
int ib_np_new(struct ib_conn *conn, struct ib_np **npp);
/* Close without Shutdown; NULL is a no-op. */
void ib_np_free(struct ib_np *np);

int ib_np_post(struct ib_np *np, const char *name);
int ib_np_observe(struct ib_np *np, const char *name);
/* Observe each name of a NULL-terminated list. */
int ib_np_observe_all(struct ib_np *np, const char *const *names);

/*
 * Wait up to timeout_ms (0: just check) for the next relayed
 * notification; *namep is a malloc'd copy (free()). Returns
 * IB_ERR_TIMEOUT when none arrived, IB_ERR_EOF when the device sent
 * ProxyDeath or closed the connection, IB_ERR_NP when the device sent a
 * message a host cannot receive (after which the handle is unusable).
 * While a message is half in, the call may return up to 100 ms after
 * timeout_ms (the rest of the message is waited for in one slice).
 */
int ib_np_wait(struct ib_np *np, unsigned timeout_ms, char **namep);
/*
 * A descriptor that becomes readable when the device sent something, for
 * callers that poll() several sources; then call ib_np_wait(np, 0, ...)
 * until it returns IB_ERR_TIMEOUT (bytes may already be buffered, so
 * drain before polling again).
 */
int ib_np_fd(const struct ib_np *np);

/*
 * Send Shutdown and wait up to timeout_ms for ProxyDeath, dropping
 * relays that arrive first. IB_ERR_TIMEOUT when ProxyDeath never came.
 */
int ib_np_shutdown(struct ib_np *np, unsigned timeout_ms);

#endif /* IB_NP_H */
