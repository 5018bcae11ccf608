/*
 * pairstore.h - pair records and the SystemBUID in a directory, in the
 * layout usbmuxd uses (usbmux.md section 3.10), so that trust given once
 * serves ibackup, usbmuxd and libimobiledevice alike:
 *
 *   DIR/<UDID>.plist                 one record per device (XML plist)
 *   DIR/SystemConfiguration.plist    { SystemBUID: "XXXXXXXX-XXXX-..." }
 *
 * Directory choice (ib_pairstore_default_dir): an explicit directory
 * (--pair-records DIR), else /var/lib/lockdown when it exists and is
 * writable by us, else $XDG_CONFIG_HOME/ibackup/lockdown (default
 * ~/.config/ibackup/lockdown), created 0700.
 *
 * Records are validated as a plist dict before they are stored, written
 * 0600 and atomically (temp + fsync + rename). A UDID is a file name
 * component: anything but [A-Za-z0-9-] is refused (IB_ERR_INVALID_ARG),
 * so a hostile client cannot write outside DIR.
 */
#ifndef IB_PAIRSTORE_H
#define IB_PAIRSTORE_H

#include <stddef.h>
#include <stdint.h>

struct ib_pairstore;

/* Resolve the directory as described above; *dirp is malloc'd. */
int ib_pairstore_default_dir(const char *explicit_dir, char **dirp);

/* Open a store on dir (created 0700 if missing). */
int ib_pairstore_open(const char *dir, struct ib_pairstore **psp);
void ib_pairstore_free(struct ib_pairstore *ps);
const char *ib_pairstore_dir(const struct ib_pairstore *ps);

/* IB_ERR_NOT_FOUND when there is no record. */
int ib_pairstore_read(struct ib_pairstore *ps, const char *udid,
    uint8_t **datap, size_t *lenp);
/* data: binary or XML plist dict; stored as XML. */
int ib_pairstore_save(struct ib_pairstore *ps, const char *udid,
    const uint8_t *data, size_t len);
/* IB_ERR_NOT_FOUND when there was none. */
int ib_pairstore_delete(struct ib_pairstore *ps, const char *udid);
/* The persistent SystemBUID, generated (uppercase UUID) and saved on
 * first use; *buidp is malloc'd. */
int ib_pairstore_buid(struct ib_pairstore *ps, char **buidp);

#endif /* IB_PAIRSTORE_H */
