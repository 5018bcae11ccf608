/*
 * fake_libusb.h - a test double of the libusb API, linked into test
 * binaries instead of libusb-1.0 (meson: libusb_headers_dep), so that
 * tr_usb.c, usb_setup.c and link_libusb.c run unchanged against it.
 *
 * It implements exactly the libusb functions ibackup's backend calls
 * (see the list at the top of fake_libusb.c) over a simulated bus:
 *
 *   - devices are described by raw descriptor bytes, the device
 *     descriptor followed by every configuration as the kernel returns
 *     them; configuration descriptors are parsed from those bytes into
 *     libusb's structures (fake_usb_desc.c);
 *   - control requests: GET_DESCRIPTOR (strings, UTF-16LE), Apple's
 *     GET_MODE; SET_CONFIGURATION refuses while a kernel driver or a
 *     claim holds an interface of the active configuration, as Linux
 *     does; errors can be scripted per configuration value;
 *   - the mux pipe of the active configuration behaves like a device
 *     reading and writing whole packets: an OUT packet ends with a short
 *     transfer or a zero-length one (so a missing ZLP runs two packets
 *     together, as on real hardware), and each device packet fills IN
 *     transfers in order, a short packet or a ZLP ending the transfer;
 *   - the device's end of that pipe is an ib_mux_link
 *     (fake_usb_dev_link), which a test drives by hand or hands to the
 *     virtual device (ib_sim_dev_attach_link);
 *   - completions and hotplug events are delivered by
 *     libusb_handle_events_timeout_completed() on the caller's thread,
 *     never from inside libusb_submit_transfer(), as with libusb.
 *
 * The bus is global (like the kernel's); libusb contexts come and go.
 * Thread safety: everything may be called from any thread.
 */
#ifndef FAKE_LIBUSB_H
#define FAKE_LIBUSB_H

#include <stddef.h>
#include <stdint.h>

#include <libusb.h>

#include "mux_link.h"

/* Where a simulated device serves its mux, per configuration value. */
struct fake_usb_mux_map {
	uint8_t config;
	uint8_t ep_out;
	uint8_t ep_in;
};

struct fake_usb_spec {
	const char *label;
	const uint8_t *desc;            /* device descriptor + configurations */
	size_t desc_len;
	const char *strings[32];        /* by string index; [0] unused */
	struct fake_usb_mux_map mux[4];
	int has_mode;                   /* answers GET_MODE with mode[] */
	uint8_t mode[4];
	/* What ibackup must pick (for the tests); config 0: not usable. */
	struct {
		uint8_t config, iface, ep_out, ep_in;
		uint16_t mps;
	} want;
};

/* Descriptor sets, built from real bytes (usb-descriptors.md). */
extern const struct fake_usb_spec fake_usb_iphone_initial;  /* 4 configs, mux in 3 and 4 */
extern const struct fake_usb_spec fake_usb_iphone_ncm;      /* 5 configs, 5 = NCM + mux */
extern const struct fake_usb_spec fake_usb_iphone_swapped;  /* mux endpoints IN first */
extern const struct fake_usb_spec fake_usb_iphone_partial;  /* config 4: 0xFF/0xFE/0x01 */
extern const struct fake_usb_spec fake_usb_iphone_fs64;     /* wMaxPacketSize 64 */
extern const struct fake_usb_spec fake_usb_iphone_ss;       /* SuperSpeed, 1024 */
extern const struct fake_usb_spec fake_usb_apple_no_mux;    /* CDC-NCM only */
extern const struct fake_usb_spec fake_usb_not_apple;       /* 0x18d1 with a 0xFF/0xFE/0x02 interface */
extern const struct fake_usb_spec fake_usb_mac_1905;        /* Apple-Silicon Mac, has a mux */

/* Parse one configuration (the bytes from its header on) like libusb. */
int fake_usb_parse_config(const uint8_t *p, size_t n, struct libusb_config_descriptor **cfgp);

struct fake_usb_dev;

struct fake_usb_plug_opts {
	const struct fake_usb_spec *spec;
	const char *serial;     /* replaces the iSerialNumber string */
	uint8_t bus;            /* 0: bus 1 */
	uint8_t port;           /* 0: next free port */
	int speed;              /* LIBUSB_SPEED_*, 0: high */
	uint8_t config;         /* active at plug time (udev parks 0) */
	uint32_t drivers;       /* interfaces of it with a kernel driver (bits) */
	int open_error;         /* libusb_open fails with this */
	int claim_error;        /* another process holds the interfaces */
};

/* Forget everything (at the start of a test); hotplug capability on. */
void fake_usb_reset(void);
/* What libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG) says from now on. */
void fake_usb_set_hotplug(int on);

/* Plug a device in; ARRIVED goes to every hotplug callback. The test
 * owns a reference: fake_usb_put() when done. */
struct fake_usb_dev *fake_usb_plug(const struct fake_usb_plug_opts *o);
/* Pull it out: transfers in flight complete with LIBUSB_TRANSFER_NO_DEVICE,
 * the device leaves the list, then LEFT is delivered. */
void fake_usb_unplug(struct fake_usb_dev *d);
void fake_usb_put(struct fake_usb_dev *d);
/* The libusb_device behind it (borrowed). */
libusb_device *fake_usb_device(struct fake_usb_dev *d);

/* Scripting. */
void fake_usb_set_config_error(struct fake_usb_dev *d, uint8_t value, int libusb_err);
void fake_usb_set_kernel_driver(struct fake_usb_dev *d, uint8_t iface, int bound);
/* Halt an endpoint: its transfers complete with status from now on. */
void fake_usb_fail_endpoint(struct fake_usb_dev *d, uint8_t ep, int status);
/* Cancellations are accepted but never complete (VirtualBox, usbmux.md 4). */
void fake_usb_set_cancel_stuck(struct fake_usb_dev *d, int on);
/* Complete (CANCELLED) the transfers libusb_close() dropped; returns
 * how many. Real libusb never calls them back: this checks that a late
 * callback is harmless too. */
int fake_usb_release_orphans(void);

/* Observation. */
uint8_t fake_usb_active_config(struct fake_usb_dev *d);
/* "detach:0 setcfg:4 claim:1 release:1 ..." since plug. */
const char *fake_usb_oplog(struct fake_usb_dev *d, char *buf, size_t n);
/* Lengths of every OUT transfer on the mux endpoint, in order. */
size_t fake_usb_out_lengths(struct fake_usb_dev *d, uint32_t *out, size_t max);

struct fake_usb_in_stats {
	unsigned in_flight;             /* IN transfers pending now */
	unsigned min_after_cb;          /* fewest queued after a callback */
	unsigned long callbacks;        /* IN completions delivered */
	unsigned long dev_drops;        /* OUT packets the device could not frame */
};
void fake_usb_in_stats(struct fake_usb_dev *d, struct fake_usb_in_stats *st);
void fake_usb_in_stats_reset(struct fake_usb_dev *d);

/* Wait up to ms until every queued completion and hotplug event has
 * been delivered and its callback has returned; 1 if so. */
int fake_usb_wait_idle(int ms);

/* Live objects (devices, handles, transfers, contexts): 0 after a
 * clean test. */
unsigned fake_usb_live(void);

/*
 * The device's end of the mux pipe, once per plug (IB_ERR_EXISTS after).
 * send() queues a device packet for IN transfers, recv() returns each
 * packet the host framed. Freeing it is the device going away: the USB
 * device is unplugged.
 */
int fake_usb_dev_link(struct fake_usb_dev *d, struct ib_mux_link *linkp);

#endif /* FAKE_LIBUSB_H */
