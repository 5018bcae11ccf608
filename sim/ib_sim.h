/*
 * ib_sim.h - the virtual device: a simulated iPhone that speaks the
 * device side of every protocol ibackup speaks the host side of.
 *
 * A struct ib_sim holds one or more virtual devices (struct ib_sim_dev).
 * Each device has
 *   - an identity (UDID, USB product ID, product type, iOS version, ...),
 *   - knobs: named string settings that select fault and user scenarios
 *     ("window=1024", "trust=pending:3", "unplug_after=1048576"); each
 *     layer reads the knobs it understands, unknown knobs are an error at
 *     start-up (ib_sim_knob_register),
 *   - services: handlers bound to device ports. Every accepted connection
 *     runs the handler on its own thread with a connected socket fd, the
 *     same way a host-side caller gets an fd from ib_usbmux_connect(),
 *   - extension slots where each protocol layer keeps its device state
 *     (the lockdownd's keys and pairings, the backup agent's file tree),
 *   - control actions that a test or a person triggers while it runs
 *     ("unlock", "trust", "deny", "unplug", "plug", "enter-passcode").
 *
 * Frontends attach a device to a host:
 *   - the socket frontend (ib_sim_serve): `ibackup-sim --listen PATH`,
 *     reached by `ibackup --transport sim:PATH`; protocol in
 *     doc/sim-protocol.md;
 *   - the libusb test double (tests/usbmux/fake_libusb.c), which presents
 *     the device's USB descriptors and feeds bulk transfers to
 *     ib_sim_dev_attach_link();
 *   - (step 5) FunctionFS, a real USB gadget.
 * All of them run the same device-side mux engine over a mux link.
 *
 * Thread safety: all functions may be called from any thread; handlers
 * run concurrently.
 */
#ifndef IB_SIM_H
#define IB_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "ib_usbmux.h"
#include "mux_link.h"

struct ib_sim;
struct ib_sim_dev;

struct ib_sim_identity {
	char udid[IB_UDID_MAX + 1];     /* as lockdown reports it (hyphenated A12+) */
	char usb_serial[IB_UDID_MAX + 1]; /* iSerialNumber (24 hex, no hyphen) */
	uint16_t product_id;            /* 0x12a8 */
	char product_type[32];          /* "iPhone14,5" */
	char product_version[16];       /* "17.5" */
	char build_version[16];         /* "21F79" */
	char device_name[64];           /* "Virtual iPhone 1" */
	char serial_number[32];         /* hardware serial (invented) */
	char device_class[16];          /* "iPhone" */
	uint64_t ecid;                  /* UniqueChipID */
	char wifi_address[18];          /* "aa:bb:cc:dd:ee:ff" */
};

/* --- the simulator -------------------------------------------------- */

/*
 * Create a simulator with ndevices devices. knobs is a NULL-terminated
 * list of "name=value" or "N:name=value" (device N only, 1-based)
 * strings; unknown names fail with IB_ERR_USAGE and a detail naming them.
 * seed makes identities and generated content reproducible.
 */
int ib_sim_new(unsigned ndevices, const char *const *knobs, uint32_t seed,
    struct ib_sim **simp);
/* Stop frontends, unplug and free every device; NULL is a no-op. */
void ib_sim_free(struct ib_sim *sim);
unsigned ib_sim_count(const struct ib_sim *sim);
/* Device i (0-based), or NULL. Owned by sim. */
struct ib_sim_dev *ib_sim_get(struct ib_sim *sim, unsigned i);
struct ib_sim_dev *ib_sim_find(struct ib_sim *sim, const char *udid);

/*
 * Serve all devices on a UNIX socket at path (the socket frontend);
 * returns once listening. Runs until ib_sim_free().
 */
int ib_sim_serve(struct ib_sim *sim, const char *path);

/* --- one device ------------------------------------------------------ */

const struct ib_sim_identity *ib_sim_dev_identity(const struct ib_sim_dev *dev);
/* Value of a knob for this device, or NULL when not set. */
const char *ib_sim_dev_knob(const struct ib_sim_dev *dev, const char *name);
/* Knob as a number (accepts k/M/G suffixes), or def when not set/invalid. */
uint64_t ib_sim_dev_knob_u64(const struct ib_sim_dev *dev, const char *name, uint64_t def);
/* Per-device deterministic random stream (seeded from the sim seed). */
uint32_t ib_sim_dev_random(struct ib_sim_dev *dev);

/*
 * Register a knob name before ib_sim_new() parses knobs (call from a
 * layer's ib_sim_*_register function, see sim_layers.c). help is one line
 * for `ibackup-sim --help`.
 */
void ib_sim_knob_register(const char *name, const char *help);
/* Every registered knob with its help line, in registration order (for
 * `ibackup-sim --help`). */
void ib_sim_knob_foreach(void (*fn)(void *ctx, const char *name, const char *help),
    void *ctx);

/* Service handlers: fd is a connected socket; closed by the framework
 * after the handler returns. */
typedef void (*ib_sim_service_fn)(struct ib_sim_dev *dev, int fd, void *arg);

/* Bind a handler to a fixed port (e.g. lockdownd on 62078). */
int ib_sim_dev_listen(struct ib_sim_dev *dev, uint16_t port, const char *name,
    ib_sim_service_fn fn, void *arg);
/* Bind a handler to a fresh port >= 49152 (lockdown StartService) that
 * accepts `count` connections (0 = unlimited) and then closes. */
int ib_sim_dev_listen_dynamic(struct ib_sim_dev *dev, const char *name,
    ib_sim_service_fn fn, void *arg, unsigned count, uint16_t *portp);
void ib_sim_dev_unlisten(struct ib_sim_dev *dev, uint16_t port);

/* Extension slots: one per layer, for its per-device state. */
enum ib_sim_ext {
	IB_SIM_EXT_TEST = 0,      /* test services (echo/sink/source) */
	IB_SIM_EXT_LOCKDOWN,      /* lockdownd: keys, pairings, values, trust */
	IB_SIM_EXT_SERVICES,      /* notification_proxy, AFC, installation_proxy */
	IB_SIM_EXT_BACKUP,        /* backup agent: file tree, backup state */
	IB_SIM_EXT_MAX
};
void ib_sim_dev_set_ext(struct ib_sim_dev *dev, enum ib_sim_ext slot, void *p,
    void (*free_fn)(void *));
void *ib_sim_dev_get_ext(const struct ib_sim_dev *dev, enum ib_sim_ext slot);

/*
 * Control actions. A layer registers the actions it understands; the
 * socket frontend's "Control" command and tests call ib_sim_dev_control.
 * Built in: "unplug" (host sees the device vanish; services get EOF),
 * "plug" (device appears again with fresh mux state).
 */
typedef int (*ib_sim_control_fn)(struct ib_sim_dev *dev, const char *action,
    const char *arg, void *ctx);
int ib_sim_dev_on_control(struct ib_sim_dev *dev, const char *action,
    ib_sim_control_fn fn, void *ctx);
int ib_sim_dev_control(struct ib_sim_dev *dev, const char *action, const char *arg);

int ib_sim_dev_unplug(struct ib_sim_dev *dev);
int ib_sim_dev_plug(struct ib_sim_dev *dev);
int ib_sim_dev_is_plugged(const struct ib_sim_dev *dev);

/*
 * Run the device side of the mux over a link (takes ownership of the
 * link). Used by the socket frontend for each attached host connection,
 * by the libusb test double, and by the FunctionFS gadget. Returns once
 * the runtime thread is started; the device serves until the link dies or
 * the device is unplugged.
 */
int ib_sim_dev_attach_link(struct ib_sim_dev *dev, struct ib_mux_link link);

/* Bytes moved through this device's mux since start (both directions),
 * for the unplug_after knob and for tests. */
uint64_t ib_sim_dev_mux_bytes(const struct ib_sim_dev *dev);

#endif /* IB_SIM_H */
