/*
 * sim_lockdownd.h - the virtual device's lockdownd (port 62078) and the
 * API other device-side layers use to plug services into it.
 *
 * Registering a service (e.g. from the services layer's attach, which
 * runs after the lockdown layer in sim_layers.c):
 *
 *   static void afc_serve(struct ib_sim_dev *dev, struct ib_conn *conn,
 *       const struct ib_sim_service_start *st, void *arg) { ... }
 *   ib_sim_lockdownd_add_service(dev, "com.apple.afc", afc_serve, arg);
 *
 * When a host sends StartService for that name, lockdownd opens a fresh
 * port (ib_sim_dev_listen_dynamic, one connection), answers
 * {Service, Port, EnableServiceSSL} and, when the host connects, runs the
 * handler on that connection's own thread with:
 *   - conn: an ib_conn in IB_CONN_ROLE_DEVICE, already TLS'd (server
 *     side, presenting the pairing's device certificate) when the reply
 *     said EnableServiceSSL=true. Use ib_conn_recv_plist/send_plist for
 *     plist services or ib_conn_read/write for AFC. The framework frees
 *     it (and closes the fd) after the handler returns; do not free it.
 *     Its timeout is "forever" (the idle_timeout knob aside); set your own
 *     with ib_conn_set_timeout if the service has one.
 *   - st: what the StartService request carried (valid during the call).
 *
 * Rules lockdownd applies before starting a service (realistic iOS
 * behaviour, lockdown.md section 2):
 *   - a session (StartSession) is required, except for services
 *     registered with IB_SIM_SERVICE_NO_SESSION;
 *   - while the device is locked (knob locked=1) the answer is
 *     PasswordProtected unless the host sent the pairing's EscrowBag, or
 *     the service has IB_SIM_SERVICE_NO_SESSION;
 *   - EnableServiceSSL is true from iOS 13 on (key absent before), unless
 *     the service has IB_SIM_SERVICE_NO_SSL;
 *   - unknown names answer InvalidService.
 *
 * Knobs (ibackup-sim --help lists them with the rest):
 *   trust=accept|pending:N|pending_s:T|deny|manual
 *       how the "Trust This Computer?" dialog goes: accepted at once;
 *       Pair answers PairingDialogResponsePending N times (or for T
 *       seconds), then succeeds; the first Pair is pending and the next
 *       is UserDeniedPairing; pending until control "trust" or "deny".
 *   trust_reset=1
 *       after the user accepts, drop the lockdown connection once instead
 *       of answering (iOS 7+ may reset the connection after Trust).
 *   locked=1, unlock_file=PATH
 *       the device is locked: Pair and StartService answer
 *       PasswordProtected until control "unlock" or until PATH exists.
 *   forget_pairings=hostid|tls
 *       what the control action "reset-privacy" (Reset Location &
 *       Privacy) does: forget every pairing so StartSession answers
 *       InvalidHostID (hostid, the default), or keep the HostIDs but no
 *       longer accept their certificates, so the TLS handshake fails (tls).
 *   ios=6.1|12.5|17.5|18.2
 *       device profile: ProductVersion/BuildVersion/ProductType; TLS
 *       range (6.1: TLS 1.0 only; >= 10: TLS 1.2+); ValidatePair needed
 *       before StartSession below iOS 7; EnableServiceSSL from iOS 13.
 *   idle_timeout=N
 *       drop a lockdown connection idle for N seconds (real devices: ~30;
 *       default off).
 * Control actions: "trust", "deny", "unlock", "lock", "reset-privacy".
 */
#ifndef IB_SIM_LOCKDOWND_H
#define IB_SIM_LOCKDOWND_H

#include <stddef.h>
#include <stdint.h>

#include <plist/plist.h>

#include "ib_conn.h"
#include "ib_sim.h"
#include "sim_layers.h"

/* What the StartService request carried. */
struct ib_sim_service_start {
	const char *service;    /* the name requested */
	const char *host_id;    /* HostID of the session, NULL without one */
	int escrow_bag_ok;      /* the pairing's EscrowBag was sent */
	int tls;                /* conn is TLS'd (EnableServiceSSL=true) */
	unsigned ios_major, ios_minor;  /* device profile */
};

typedef void (*ib_sim_lockdownd_service_fn)(struct ib_sim_dev *dev,
    struct ib_conn *conn, const struct ib_sim_service_start *st, void *arg);

/* Service flags. */
#define IB_SIM_SERVICE_NO_SESSION 0x1u  /* may start unpaired and locked
                                           (insecure_notification_proxy) */
#define IB_SIM_SERVICE_NO_SSL 0x2u      /* never answers EnableServiceSSL */

/*
 * Let StartService start `name` on dev. Flags are derived from the name:
 * "com.apple.mobile.insecure_notification_proxy" gets
 * IB_SIM_SERVICE_NO_SESSION, everything else 0. A second registration of
 * the same name replaces the first. IB_ERR_STATE if the lockdown layer is
 * not attached to dev.
 */
int ib_sim_lockdownd_add_service(struct ib_sim_dev *dev, const char *name,
    ib_sim_lockdownd_service_fn fn, void *arg);
/* Same with explicit IB_SIM_SERVICE_* flags. */
int ib_sim_lockdownd_add_service_ex(struct ib_sim_dev *dev, const char *name,
    ib_sim_lockdownd_service_fn fn, void *arg, unsigned flags);

/*
 * The device's lockdown values, for other layers (e.g. the backup agent
 * sets com.apple.mobile.backup WillEncrypt when encryption is turned on).
 * domain NULL is the default domain. set copies value; get returns a
 * copy (plist_free) or IB_ERR_NOT_FOUND.
 */
int ib_sim_lockdownd_set_value(struct ib_sim_dev *dev, const char *domain,
    const char *key, plist_t value);
int ib_sim_lockdownd_get_value(struct ib_sim_dev *dev, const char *domain,
    const char *key, plist_t *valuep);

/* Is the device locked now (locked knob, "unlock"/"lock" actions)? */
int ib_sim_lockdownd_is_locked(struct ib_sim_dev *dev);
/* Number of hosts the device trusts now. */
unsigned ib_sim_lockdownd_pairings(struct ib_sim_dev *dev);

/* The lockdown layer for sim_layers.c. */
extern const struct ib_sim_layer ib_sim_layer_lockdown;

#endif /* IB_SIM_LOCKDOWND_H */
