/*
 * usb_setup.c - find and prepare the mux interface of an Apple device,
 * and read what the device list needs (serial = UDID, speed, location).
 * Facts: usbmux.md 1.1, 1.2, 1.3, 1.4 and the pitfalls in section 4.
 *
 * Deliberately absent: SET_MODE (Apple's vendor request 0x52 that makes
 * the phone re-enumerate with other configurations). The mux exists in
 * the phone's initial mode, and switching modes by default is what made
 * usbmuxd loop and phones reboot on unplug (mode 3 default, reverted;
 * usbmux.md 1.2, 4). GET_MODE is only read for the -v log.
 */
#include <stdio.h>
#include <string.h>

#include "ib_buf.h"
#include "ib_err.h"
#include "ib_log.h"
#include "ib_usbmux.h"
#include "link_libusb.h"

#define APPLE_VID 0x05ac
#define MUX_CLASS 0xff
#define MUX_SUBCLASS 0xfe
#define MUX_PROTOCOL 0x02
/* Apple vendor request: current "mode" (usbmux.md 1.2). */
#define APPLE_REQ_GET_MODE 0x45
/* Control transfers: usbmuxd's 1 s. */
#define CTRL_TIMEOUT_MS 1000
/* A string descriptor's bLength is one byte. */
#define STRING_DESC_MAX 255

int
ib_usb_is_mux_candidate(uint16_t vid, uint16_t pid, int include_macs)
{
	if (vid != APPLE_VID)
		return 0;
	if (pid >= 0x1290 && pid <= 0x12af)     /* iPhone, iPad, iPod touch */
		return 1;
	if (pid >= 0x1901 && pid <= 0x1904)     /* Apple-Silicon restore PIDs */
		return 1;
	/*
	 * The T1/T2 iBridge (0x8600) and an Apple-Silicon Mac in normal mode
	 * (0x1905) are the computer's own parts or a Mac on the cable.
	 * Setting a configuration on them breaks the Touch Bar and camera
	 * (usbmuxd#138) or makes the Mac re-enumerate every ~43 s
	 * (usbmuxd#283), and neither holds a phone's backup: only on request.
	 */
	if (pid == 0x8600 || pid == 0x1905)
		return include_macs;
	return 0;
}

int
ib_usb_err(int libusb_err, const char *name, const char *what)
{
	int r;

	switch (libusb_err) {
	case LIBUSB_ERROR_ACCESS:
		r = IB_ERR_USB_ACCESS;
		break;
	case LIBUSB_ERROR_BUSY:
		r = IB_ERR_USB_BUSY;
		break;
	case LIBUSB_ERROR_NO_DEVICE:
		r = IB_ERR_NO_DEVICE;
		break;
	case LIBUSB_ERROR_NO_MEM:
		r = IB_ERR_NOMEM;
		break;
	default:
		r = IB_ERR_USB_IO;
		break;
	}
	ib_err_detail_set("usb %s: %s failed: %s", name, what, libusb_error_name(libusb_err));
	return r;
}

static const struct libusb_interface_descriptor *
alt_zero(const struct libusb_interface *itf)
{
	int i;

	for (i = 0; i < itf->num_altsetting; i++)
		if (itf->altsetting[i].bAlternateSetting == 0)
			return &itf->altsetting[i];
	return NULL;
}

/* Exact match of all three fields (upstream usbmuxd has tested them with
 * OR since a2cbb59, which would take a PTP or Ethernet interface), and
 * exactly two bulk endpoints, one each way, in either order. */
static int
is_mux(const struct libusb_interface_descriptor *a, struct ib_usb_mux_iface *mi)
{
	const struct libusb_endpoint_descriptor *e0, *e1, *in, *out;

	if (a->bInterfaceClass != MUX_CLASS || a->bInterfaceSubClass != MUX_SUBCLASS ||
	    a->bInterfaceProtocol != MUX_PROTOCOL || a->bNumEndpoints != 2 ||
	    a->endpoint == NULL)
		return 0;
	e0 = &a->endpoint[0];
	e1 = &a->endpoint[1];
	if ((e0->bmAttributes & LIBUSB_TRANSFER_TYPE_MASK) != LIBUSB_TRANSFER_TYPE_BULK ||
	    (e1->bmAttributes & LIBUSB_TRANSFER_TYPE_MASK) != LIBUSB_TRANSFER_TYPE_BULK)
		return 0;
	if ((e0->bEndpointAddress & LIBUSB_ENDPOINT_IN) == (e1->bEndpointAddress & LIBUSB_ENDPOINT_IN))
		return 0;
	in = (e0->bEndpointAddress & LIBUSB_ENDPOINT_IN) ? e0 : e1;
	out = in == e0 ? e1 : e0;
	mi->iface = a->bInterfaceNumber;
	mi->ep_in = in->bEndpointAddress;
	mi->ep_out = out->bEndpointAddress;
	/* Bits 11-12 count extra transactions of periodic endpoints only. */
	mi->mps_out = out->wMaxPacketSize & 0x7ff;
	if (mi->mps_out == 0)
		mi->mps_out = 64;
	return 1;
}

static int
config_has_mux(const struct libusb_config_descriptor *cfg, struct ib_usb_mux_iface *mi)
{
	const struct libusb_interface_descriptor *a;
	int i;

	for (i = 0; i < cfg->bNumInterfaces; i++) {
		if ((a = alt_zero(&cfg->interface[i])) != NULL && is_mux(a, mi)) {
			mi->config = cfg->bConfigurationValue;
			return 1;
		}
	}
	return 0;
}

int
ib_usb_find_mux(libusb_device *dev, unsigned below, struct ib_usb_mux_iface *mip)
{
	struct libusb_device_descriptor dd;
	struct libusb_config_descriptor *cfg;
	struct ib_usb_mux_iface mi;
	unsigned v;
	int r, found;

	if ((r = libusb_get_device_descriptor(dev, &dd)) != 0)
		return ib_usb_err(r, "device", "reading the device descriptor");
	for (v = dd.bNumConfigurations; v >= 1; v--) {
		if (below != 0 && v >= below)
			continue;
		r = libusb_get_config_descriptor_by_value(dev, (uint8_t)v, &cfg);
		if (r == LIBUSB_ERROR_NO_DEVICE)
			return IB_ERR_NO_DEVICE;
		if (r != 0) {
			ib_debug("configuration %u unreadable: %s", v, libusb_error_name(r));
			continue;
		}
		memset(&mi, 0, sizeof(mi));
		found = config_has_mux(cfg, &mi);
		libusb_free_config_descriptor(cfg);
		if (found) {
			*mip = mi;
			return IB_OK;
		}
	}
	ib_err_detail_set("no configuration%s has an interface 0xFF/0xFE/0x02 with one bulk "
	    "IN and one bulk OUT endpoint", below != 0 ? " below the failed one" : "");
	return IB_ERR_USB_NO_MUX;
}

/*
 * Detach kernel drivers before SET_CONFIGURATION. usbmuxd detaches from
 * the interfaces of the target configuration; Linux refuses the request
 * (EBUSY) while a driver is bound to an interface of the ACTIVE one.
 * Interface numbers coincide in Apple's configurations, so both sets are
 * covered: an interface number that does not exist right now simply
 * reports no driver.
 */
static int
detach_drivers(libusb_device_handle *h, const char *name, unsigned cur, unsigned target)
{
	libusb_device *dev = libusb_get_device(h);
	struct libusb_config_descriptor *cfg;
	uint8_t done[32] = { 0 };
	unsigned values[2] = { cur, target }, k;
	int i, r, num;

	for (k = 0; k < 2; k++) {
		if (values[k] == 0 ||
		    libusb_get_config_descriptor_by_value(dev, (uint8_t)values[k], &cfg) != 0)
			continue;
		for (i = 0; i < cfg->bNumInterfaces; i++) {
			if (cfg->interface[i].num_altsetting < 1)
				continue;
			num = cfg->interface[i].altsetting[0].bInterfaceNumber;
			if (done[num / 8] & (1u << (num % 8)))
				continue;
			done[num / 8] |= (uint8_t)(1u << (num % 8));
			if ((r = libusb_kernel_driver_active(h, num)) == 1)
				r = libusb_detach_kernel_driver(h, num);
			if (r == LIBUSB_ERROR_NO_DEVICE) {
				libusb_free_config_descriptor(cfg);
				return ib_usb_err(r, name, "detaching a kernel driver");
			}
			if (r != 0 && r != 1 && r != LIBUSB_ERROR_NOT_FOUND &&
			    r != LIBUSB_ERROR_NOT_SUPPORTED)
				ib_debug("usb %s: interface %d: kernel driver: %s", name, num,
				    libusb_error_name(r));
		}
		libusb_free_config_descriptor(cfg);
	}
	return IB_OK;
}

/* Choose and activate the configuration; *mip gets the mux interface. */
static int
set_config(libusb_device_handle *h, const char *name, struct ib_usb_mux_iface *mip)
{
	libusb_device *dev = libusb_get_device(h);
	struct ib_usb_mux_iface mi;
	unsigned below = 0;
	int cur, r, first_err = IB_OK;
	char first_detail[256] = "";

	if ((r = libusb_get_configuration(h, &cur)) != 0)
		return ib_usb_err(r, name, "reading the active configuration");
	for (;;) {
		if ((r = ib_usb_find_mux(dev, below, &mi)) != IB_OK) {
			if (first_err == IB_OK)
				return r;
			ib_err_detail_set("%s", first_detail);
			return first_err;
		}
		/* Only when needed: on an active configuration the request is a
		 * lightweight reset of the device. */
		if ((int)mi.config == cur)
			break;
		if ((r = detach_drivers(h, name, (unsigned)cur, mi.config)) != IB_OK)
			return r;
		ib_info("usb %s: setting configuration %u (was %d)", name, mi.config, cur);
		if ((r = libusb_set_configuration(h, mi.config)) == 0)
			break;
		r = ib_usb_err(r, name, "SET_CONFIGURATION");
		if (r == IB_ERR_NO_DEVICE)
			return r;
		ib_warn("usb %s: setting configuration %u failed: %s (%s); trying the next lower one",
		    name, mi.config, ib_strerror(r), ib_err_detail());
		if (first_err == IB_OK) {
			first_err = r;
			snprintf(first_detail, sizeof(first_detail), "%s", ib_err_detail());
		}
		below = mi.config;
	}
	*mip = mi;
	return IB_OK;
}

int
ib_usb_claim_mux(libusb_device_handle *h, const char *name, struct ib_usb_mux_iface *mip)
{
	struct ib_usb_mux_iface mi;
	int r;

	if ((r = set_config(h, name, &mi)) != IB_OK)
		return r;
	if (libusb_kernel_driver_active(h, mi.iface) == 1 &&
	    (r = libusb_detach_kernel_driver(h, mi.iface)) != 0 && r != LIBUSB_ERROR_NOT_FOUND)
		return ib_usb_err(r, name, "detaching the kernel driver from the mux interface");
	if ((r = libusb_claim_interface(h, mi.iface)) != 0)
		return ib_usb_err(r, name, "claiming the mux interface");
	ib_info("usb %s: mux on configuration %u, interface %u, endpoints %02x/%02x, "
	    "wMaxPacketSize %u", name, mi.config, mi.iface, mi.ep_out, mi.ep_in, mi.mps_out);
	*mip = mi;
	return IB_OK;
}

/* A string descriptor into its UTF-16LE code units: checks bLength and
 * bDescriptorType against what arrived. */
static int
string_desc(const uint8_t *p, int n, struct ib_buf *units)
{
	struct ib_buf b;
	uint8_t blen, type;

	if (n < 2)
		return IB_ERR_INCOMPLETE;
	ib_buf_init_ro(&b, p, (size_t)n);
	if (ib_buf_get_u8(&b, &blen) != IB_OK || ib_buf_get_u8(&b, &type) != IB_OK)
		return IB_ERR_INCOMPLETE;
	if (type != LIBUSB_DT_STRING || blen < 2 || blen > n || blen % 2 != 0)
		return IB_ERR_FORMAT;
	ib_buf_init_ro(units, p + 2, (size_t)blen - 2);
	return IB_OK;
}

int
ib_usb_serial_from_desc(const uint8_t *d, size_t len, char *out, size_t outsz)
{
	char s[IB_UDID_MAX + 2];
	struct ib_buf u;
	uint16_t c;
	size_t n = 0;

	if (len > STRING_DESC_MAX || string_desc(d, (int)len, &u) != IB_OK) {
		ib_err_detail_set("the device sent a malformed serial number descriptor");
		return IB_ERR_FORMAT;
	}
	while (ib_buf_get_u16le(&u, &c) == IB_OK) {
		if (n >= IB_UDID_MAX) {
			ib_err_detail_set("the device's serial number is longer than %u characters",
			    IB_UDID_MAX);
			return IB_ERR_TOO_LARGE;
		}
		/* usbmuxd turns anything outside ASCII into '?'; control
		 * characters too here, as the serial ends up in log lines. */
		s[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (n == 0) {
		ib_err_detail_set("the device's serial number is empty");
		return IB_ERR_FORMAT;
	}
	/* A12 and later: 24 characters shown as 8-16 (usbmux.md 1.1). */
	if (n == 24) {
		memmove(s + 9, s + 8, 16);
		s[8] = '-';
		n++;
	}
	s[n] = '\0';
	if (outsz <= n) {
		ib_err_detail_set("no room for a %zu-character serial number", n);
		return IB_ERR_TOO_LARGE;
	}
	memcpy(out, s, n + 1);
	return IB_OK;
}

int
ib_usb_read_serial(libusb_device_handle *h, uint8_t iserial, char *out, size_t outsz)
{
	uint8_t d[STRING_DESC_MAX];
	struct ib_buf u;
	uint16_t lang;
	int r;

	if (iserial == 0) {
		ib_err_detail_set("the device has no serial number string");
		return IB_ERR_USB_IO;
	}
	if ((r = libusb_get_string_descriptor(h, 0, 0, d, sizeof(d))) < 0)
		return ib_usb_err(r, "device", "reading the string language list");
	if (string_desc(d, r, &u) != IB_OK || ib_buf_get_u16le(&u, &lang) != IB_OK) {
		ib_err_detail_set("the device sent a malformed string language list");
		return IB_ERR_USB_IO;
	}
	if ((r = libusb_get_string_descriptor(h, iserial, lang, d, sizeof(d))) < 0)
		return ib_usb_err(r, "device", "reading the serial number");
	if ((r = ib_usb_serial_from_desc(d, (size_t)r, out, outsz)) == IB_ERR_FORMAT)
		r = IB_ERR_USB_IO;
	return r;
}

int
ib_usb_get_mode(libusb_device_handle *h, uint8_t mode[4])
{
	uint8_t d[4];
	int r;

	r = libusb_control_transfer(h, LIBUSB_ENDPOINT_IN | LIBUSB_REQUEST_TYPE_VENDOR |
	    LIBUSB_RECIPIENT_DEVICE, APPLE_REQ_GET_MODE, 0, 0, d, sizeof(d), CTRL_TIMEOUT_MS);
	if (r < 0)
		return ib_usb_err(r, "device", "GET_MODE");
	if (r != (int)sizeof(d)) {
		ib_err_detail_set("GET_MODE answered %d bytes instead of 4", r);
		return IB_ERR_USB_IO;
	}
	memcpy(mode, d, sizeof(d));
	return IB_OK;
}

uint64_t
ib_usb_speed_bps(int speed)
{
	switch (speed) {
	case LIBUSB_SPEED_LOW:
		return 1500000ull;
	case LIBUSB_SPEED_FULL:
		return 12000000ull;
	case LIBUSB_SPEED_SUPER:
		return 5000000000ull;
	case LIBUSB_SPEED_SUPER_PLUS:
		return 10000000000ull;
	default:
		/* high, and unknown as usbmuxd reports it */
		return 480000000ull;
	}
}

void
ib_usb_dev_name(libusb_device *dev, char *out, size_t outsz)
{
	uint8_t ports[8];
	int n, i;
	size_t len;

	len = (size_t)snprintf(out, outsz, "%u-", libusb_get_bus_number(dev));
	n = libusb_get_port_numbers(dev, ports, (int)sizeof(ports));
	if (n <= 0) {
		snprintf(out, outsz, "%u:%u", libusb_get_bus_number(dev),
		    libusb_get_device_address(dev));
		return;
	}
	for (i = 0; i < n && len < outsz; i++)
		len += (size_t)snprintf(out + len, outsz - len, i == 0 ? "%u" : ".%u", ports[i]);
}
