/*
 * link_libusb.h - ibackup's host side of the mux over libusb (internal to
 * usbmux/): finding and preparing the mux interface of an Apple device
 * (usb_setup.c) and the mux link over its bulk endpoints
 * (link_libusb.c). tr_usb.c puts them together; the tests call them
 * directly against the libusb test double (tests/usbmux/fake_libusb.c).
 *
 * Protocol facts: ../shared/protocol/usbmux.md section 1.
 */
#ifndef IB_LINK_LIBUSB_H
#define IB_LINK_LIBUSB_H

#include <stddef.h>
#include <stdint.h>

#include <libusb.h>

#include "mux_link.h"

/* Where the mux lives on one device. */
struct ib_usb_mux_iface {
	uint8_t config;         /* bConfigurationValue that holds it */
	uint8_t iface;          /* bInterfaceNumber (alt setting 0) */
	uint8_t ep_in;          /* bulk IN bEndpointAddress (bit 7 set) */
	uint8_t ep_out;         /* bulk OUT bEndpointAddress */
	/* wMaxPacketSize of ep_out: decides the zero-length packet rule.
	 * 64 when the descriptor gives 0 (usbmuxd's fallback). */
	uint16_t mps_out;
};

/* --- usb_setup.c ------------------------------------------------------ */

/*
 * Whether ibackup handles this VID:PID: Apple iOS devices
 * (0x1290-0x12AF) and Apple-Silicon restore PIDs (0x1901-0x1904);
 * with include_macs also the T1/T2 iBridge (0x8600) and Apple-Silicon
 * Macs in normal mode (0x1905), which are otherwise left alone.
 */
int ib_usb_is_mux_candidate(uint16_t vid, uint16_t pid, int include_macs);

/*
 * Walk configuration values from bNumConfigurations down to 1 and find
 * the highest one whose alt setting 0 of some interface is exactly
 * class 0xFF, subclass 0xFE, protocol 0x02 with two bulk endpoints, one
 * IN and one OUT in either order. below: only consider values < below
 * (0 = no limit), for the fallback after a failed SET_CONFIGURATION.
 * IB_ERR_USB_NO_MUX when there is none; IB_ERR_NO_DEVICE when the
 * device went away. No I/O beyond the cached descriptors.
 */
int ib_usb_find_mux(libusb_device *dev, unsigned below, struct ib_usb_mux_iface *mip);

/*
 * Make the mux interface usable on an open handle: choose the
 * configuration as ib_usb_find_mux says; only if it is not already
 * active, detach kernel drivers from the interfaces of the current and
 * the target configuration and SET_CONFIGURATION; on failure fall back
 * to the next lower configuration holding a mux interface. Then detach
 * a driver from the mux interface if one is bound, and claim it.
 * name ("1-4") is for log lines. Errors: IB_ERR_USB_NO_MUX,
 * IB_ERR_USB_BUSY, IB_ERR_USB_ACCESS, IB_ERR_NO_DEVICE, IB_ERR_USB_IO
 * (with a detail naming the libusb error).
 */
int ib_usb_claim_mux(libusb_device_handle *h, const char *name,
    struct ib_usb_mux_iface *mip);

/*
 * The device's serial number string (= UDID): language list from string
 * descriptor 0, then iSerialNumber in the first language; UTF-16LE
 * turned into ASCII with '?' for anything else; a 24-character serial
 * gets a hyphen after the 8th character. out has IB_UDID_MAX + 1 bytes.
 */
int ib_usb_read_serial(libusb_device_handle *h, uint8_t iserial, char *out, size_t outsz);

/*
 * The serial number from a string descriptor as it arrived (n bytes):
 * the conversion ib_usb_read_serial applies. IB_ERR_FORMAT for a
 * malformed descriptor, IB_ERR_TOO_LARGE when it does not fit.
 */
int ib_usb_serial_from_desc(const uint8_t *d, size_t n, char *out, size_t outsz);

/* Apple's GET_MODE vendor request (for the -v log only); 4 bytes. */
int ib_usb_get_mode(libusb_device_handle *h, uint8_t mode[4]);

/* Link speed in bit/s for a libusb speed value (usbmux.md 1.3). */
uint64_t ib_usb_speed_bps(int libusb_speed);

/* "bus-port.port..." as the kernel names USB devices ("1-4.2"). */
void ib_usb_dev_name(libusb_device *dev, char *out, size_t outsz);

/* Map a libusb error to IB_ERR_*, with a detail naming what failed. */
int ib_usb_err(int libusb_err, const char *name, const char *what);

/* --- link_libusb.c ---------------------------------------------------- */

/* Bulk IN transfers kept queued at all times, and their size. */
#define IB_USB_RX_XFERS 4
#define IB_USB_RX_SIZE 16384

/*
 * Reassembly of IN completions into mux packets (usbmux.md 1.3): one
 * packet per transfer; a completion that fills a whole IB_USB_RX_SIZE
 * transfer while its header asks for more is continued by the next ones
 * until one is short or the header's length is reached, which must be
 * met exactly. Packets above IB_MUX_MRU and mismatches are dropped with
 * a log line naming `name`.
 */
struct ib_usb_reasm;
struct ib_usb_reasm *ib_usb_reasm_new(const char *name);
void ib_usb_reasm_free(struct ib_usb_reasm *r);
/* Feed one completion (n <= IB_USB_RX_SIZE, n > 0). Returns 1 with a
 * whole packet, valid until the next call, or 0. */
int ib_usb_reasm_feed(struct ib_usb_reasm *r, const uint8_t *d, size_t n,
    const uint8_t **pktp, size_t *lenp);

/*
 * A mux link over the claimed mux interface of h (see mux_link.h). The
 * callbacks of its transfers run wherever libusb events are handled;
 * the caller keeps a thread doing that (tr_usb.c's event thread) for as
 * long as the link lives, and must not free the link from that thread.
 * name is copied and used in log lines ("1-4"). On success the link owns
 * h: its free() cancels every transfer, waits for their callbacks, then
 * releases the interface and closes h. On failure h stays the caller's.
 */
int ib_mux_link_libusb_new(libusb_device_handle *h, const struct ib_usb_mux_iface *mi,
    const char *name, struct ib_mux_link *linkp);

#endif /* IB_LINK_LIBUSB_H */
