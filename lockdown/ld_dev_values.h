/*
 * ld_dev_values.h - the virtual lockdownd's value store: the default
 * domain and the domains backup tools read, built from the device
 * identity (lockdown.md section 2, real-device/lockdown-getvalue-keys.md).
 * Not thread-safe: ld_device.c calls it under its lock.
 *
 * Results are IB_OK or the IB_ERR_LD_* value whose Error string the
 * device answers (ld_err_to_string).
 */
#ifndef IB_LD_DEV_VALUES_H
#define IB_LD_DEV_VALUES_H

#include <plist/plist.h>

#include "ld_device.h"

struct ldv;

int ldv_new(const struct ld_device_config *cfg, struct ldv **vp);
void ldv_free(struct ldv *v);

/*
 * GetValue. dynamic is a dict of default-domain values computed per
 * request (PasswordProtected, TimeIntervalSince1970, DevicePublicKey,
 * ...), overriding stored ones. Without trust (no session) only the
 * untrusted subset of the default domain is readable
 * (IB_ERR_LD_GET_PROHIBITED otherwise). *valuep is a copy.
 */
int ldv_get(struct ldv *v, const char *domain, const char *key, int trusted,
    plist_t dynamic, plist_t *valuep);
/* SetValue / RemoveValue as the device allows them (value borrowed). */
int ldv_set(struct ldv *v, const char *domain, const char *key, int trusted,
    plist_t value);
int ldv_remove(struct ldv *v, const char *domain, const char *key, int trusted);
/* Unconditional set, for other device-side layers; copies value. */
int ldv_force_set(struct ldv *v, const char *domain, const char *key, plist_t value);

#endif /* IB_LD_DEV_VALUES_H */
