/*
 * sim_services.h - the virtual device's small services, started through
 * its lockdownd (sim_lockdownd.h):
 *   com.apple.mobile.notification_proxy (and the insecure_ variant),
 *   com.apple.afc,
 *   com.apple.mobile.installation_proxy.
 * They share the codecs of the host (lockdown/np.h, afc.h, instproxy.h).
 *
 * Knobs:
 *   apps=N             installation_proxy lists N user apps (default 5:
 *                      com.example.notes, .weather, .chess, .recipes,
 *                      .podcasts; then com.example.app6 ...), each with a
 *                      small fake ApplicationSINF and iTunesMetadata.
 *   instproxy_total=0  leave Total out of Browse pages (as the decompiled
 *                      installd does; default 1 includes it).
 *   afc_lock_busy=N    the first N FileLock attempts of the device answer
 *                      OP_WOULD_BLOCK (another sync holds the lock).
 *   afc_lock_held=1    every FileLock attempt answers OP_WOULD_BLOCK.
 * Control action: "post NAME" posts a device notification (as
 * ib_sim_services_post).
 *
 * Behaviour worth knowing: notification_proxy drops a host connection
 * that sends garbage or lets IB_NP_QUEUE_MAX relays pile up; AFC locks
 * are released when their handle is closed or their connection drops;
 * the AFC tree is in memory and starts empty but for the root.
 */
#ifndef IB_SIM_SERVICES_H
#define IB_SIM_SERVICES_H

#include <stddef.h>
#include <stdint.h>

#include <plist/plist.h>

#include "ib_sim.h"
#include "sim_layers.h"

/* The services layer for sim_layers.c (after the lockdown layer). */
extern const struct ib_sim_layer ib_sim_layer_services;

/*
 * Post a notification on the device: every host connection observing
 * name gets a RelayNotification. Returns the number of connections it
 * was relayed to (>= 0) or an IB_ERR_* (IB_ERR_STATE when the layer is
 * not attached). The backup agent posts
 * com.apple.LocalAuthentication.ui.presented/dismissed and
 * com.apple.itunes-client.syncCancelRequest through this.
 */
int ib_sim_services_post(struct ib_sim_dev *dev, const char *name);
/* How many times hosts posted name (PostNotification) on this device. */
unsigned ib_sim_services_posted(struct ib_sim_dev *dev, const char *name);
/* Host connections observing name now (tests wait for this before
 * posting, since ObserveNotification has no reply). */
unsigned ib_sim_services_observers(struct ib_sim_dev *dev, const char *name);

/* The AFC tree, device side. put creates missing parent directories. */
int ib_sim_services_afc_put(struct ib_sim_dev *dev, const char *path,
    const void *p, size_t n);
/* *datap is malloc'd with a NUL after the data; IB_ERR_NOT_FOUND. */
int ib_sim_services_afc_get(struct ib_sim_dev *dev, const char *path,
    uint8_t **datap, size_t *lenp);
int ib_sim_services_afc_exists(struct ib_sim_dev *dev, const char *path);
/* Does a host hold /com.apple.itunes.lock_sync exclusively? */
int ib_sim_services_sync_locked(struct ib_sim_dev *dev);
/* FileLock attempts (not unlocks) the device has answered. */
uint64_t ib_sim_services_afc_lock_attempts(struct ib_sim_dev *dev);

/* A copy of the app list (array of dicts; caller plist_free()s). */
int ib_sim_services_apps(struct ib_sim_dev *dev, plist_t *appsp);

#endif /* IB_SIM_SERVICES_H */
