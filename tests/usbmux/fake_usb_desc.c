/*
 * fake_usb_desc.c - the descriptor side of the libusb test double:
 * descriptor sets of simulated devices as raw bytes, and the parser that
 * turns a configuration's bytes into libusb's structures.
 *
 * The bytes of the iPhone's configurations 1, 3 and 4 and of its device
 * descriptor are the real ones quoted in
 * shared/protocol/real-device/usb-descriptors.md (facedancer#82,
 * fritzlb/iOS17-JIT-WIN#8, liquidctl#412). Configuration 2 ("iPod USB
 * Interface", 149 bytes in libusb#1328) was never published: it is a
 * plausible audio + HID set of exactly that length, with the 208-byte
 * HID report descriptor length reported in facedancer#82. The CDC-NCM
 * configurations follow the shape go-ios#380 shows. Everything else is
 * a variant of these for one rule each.
 */
#include <stdlib.h>
#include <string.h>

#include "fake_libusb.h"

/* --- descriptor sets -------------------------------------------------- */

#define DEV(bcdusb_lo, bcdusb_hi, vid_lo, vid_hi, pid_lo, pid_hi, nconf) \
	0x12, 0x01, bcdusb_lo, bcdusb_hi, 0x00, 0x00, 0x00, 0x40, \
	vid_lo, vid_hi, pid_lo, pid_hi, 0x05, 0x12, 0x01, 0x02, 0x03, nconf
#define DEV_IPHONE(nconf) DEV(0x00, 0x02, 0xac, 0x05, 0xa8, 0x12, nconf)

#define EP_BULK(addr, mps_lo, mps_hi) 0x07, 0x05, addr, 0x02, mps_lo, mps_hi, 0x00
#define EP_BULK512(addr) EP_BULK(addr, 0x00, 0x02)

/* Interface 0 of configurations 1, 3, 4: PTP (still image, 6/1/1). */
#define PTP_IF0 \
	0x09, 0x04, 0x00, 0x00, 0x03, 0x06, 0x01, 0x01, 0x1b, \
	EP_BULK512(0x02), EP_BULK512(0x81), \
	0x07, 0x05, 0x83, 0x03, 0x40, 0x00, 0x0a

/* The mux interface: 0xFF/0xFE/proto, two bulk endpoints (23 bytes). */
#define MUX_IF(num, proto, ep_a, ep_b) \
	0x09, 0x04, num, 0x00, 0x02, 0xff, 0xfe, proto, 0x0f, ep_a, ep_b

#define CFG1 \
	0x09, 0x02, 0x27, 0x00, 0x01, 0x01, 0x05, 0xc0, 0xfa, PTP_IF0

/* 149 bytes: audio control (header, input terminal, feature unit,
 * selector, output terminal), audio streaming alt 0/1 with one iso IN
 * endpoint, HID with interrupt IN and OUT. */
#define CFG2 \
	0x09, 0x02, 0x95, 0x00, 0x03, 0x02, 0x06, 0xc0, 0xfa, \
	0x09, 0x04, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, \
	0x09, 0x24, 0x01, 0x00, 0x01, 0x2f, 0x00, 0x01, 0x01, \
	0x0c, 0x24, 0x02, 0x01, 0x01, 0x02, 0x00, 0x02, 0x03, 0x00, 0x00, 0x00, \
	0x0a, 0x24, 0x06, 0x02, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, \
	0x07, 0x24, 0x05, 0x03, 0x01, 0x02, 0x00, \
	0x09, 0x24, 0x03, 0x04, 0x01, 0x01, 0x00, 0x03, 0x00, \
	0x09, 0x04, 0x01, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, \
	0x09, 0x04, 0x01, 0x01, 0x01, 0x01, 0x02, 0x00, 0x00, \
	0x07, 0x24, 0x01, 0x04, 0x01, 0x01, 0x00, \
	0x0b, 0x24, 0x02, 0x01, 0x02, 0x02, 0x10, 0x01, 0x44, 0xac, 0x00, \
	0x09, 0x05, 0x81, 0x05, 0xc0, 0x00, 0x01, 0x00, 0x00, \
	0x07, 0x25, 0x01, 0x00, 0x00, 0x00, 0x00, \
	0x09, 0x04, 0x02, 0x00, 0x02, 0x03, 0x00, 0x00, 0x00, \
	0x09, 0x21, 0x11, 0x01, 0x00, 0x01, 0x22, 0xd0, 0x00, \
	0x07, 0x05, 0x83, 0x03, 0x40, 0x00, 0x0a, \
	0x07, 0x05, 0x02, 0x03, 0x40, 0x00, 0x0a

#define CFG3 \
	0x09, 0x02, 0x3e, 0x00, 0x02, 0x03, 0x07, 0xc0, 0xfa, PTP_IF0, \
	MUX_IF(0x01, 0x02, EP_BULK512(0x04), EP_BULK512(0x85))

/* Apple USB Ethernet: alt 0 without endpoints, alt 1 and 2 with two. */
#define ETH_IF2 \
	0x09, 0x04, 0x02, 0x00, 0x00, 0xff, 0xfd, 0x01, 0x11, \
	0x09, 0x04, 0x02, 0x01, 0x02, 0xff, 0xfd, 0x01, 0x11, \
	EP_BULK512(0x86), EP_BULK512(0x05), \
	0x09, 0x04, 0x02, 0x02, 0x02, 0xff, 0xfd, 0x01, 0x11, \
	EP_BULK512(0x86), EP_BULK512(0x05)

#define CFG4(mux_if) \
	0x09, 0x02, 0x75, 0x00, 0x03, 0x04, 0x08, 0xc0, 0xfa, PTP_IF0, mux_if, ETH_IF2
#define CFG4_REAL CFG4(MUX_IF(0x01, 0x02, EP_BULK512(0x04), EP_BULK512(0x85)))

/* CDC-NCM function (IAD, control with functional descriptors and an
 * interrupt endpoint, data alt 0/1), 94 bytes, on interfaces 2 and 3. */
#define NCM_FN(ctl, data) \
	0x08, 0x0b, ctl, 0x02, 0x02, 0x0d, 0x00, 0x0a, \
	0x09, 0x04, ctl, 0x00, 0x01, 0x02, 0x0d, 0x00, 0x0a, \
	0x05, 0x24, 0x00, 0x10, 0x01, \
	0x05, 0x24, 0x06, ctl, data, \
	0x0d, 0x24, 0x0f, 0x0b, 0x00, 0x00, 0x00, 0x00, 0xea, 0x05, 0x00, 0x00, 0x00, \
	0x06, 0x24, 0x1a, 0x00, 0x01, 0x00, \
	0x07, 0x05, 0x89, 0x03, 0x10, 0x00, 0x09, \
	0x09, 0x04, data, 0x00, 0x00, 0x0a, 0x00, 0x01, 0x00, \
	0x09, 0x04, data, 0x01, 0x02, 0x0a, 0x00, 0x01, 0x00, \
	EP_BULK512(0x86), EP_BULK512(0x05)

/* Configuration 5 in CDC-NCM mode: PTP, mux, NCM (9+30+23+85 bytes). */
#define CFG5_NCM \
	0x09, 0x02, 0x93, 0x00, 0x04, 0x05, 0x09, 0xc0, 0xfa, PTP_IF0, \
	MUX_IF(0x01, 0x02, EP_BULK512(0x04), EP_BULK512(0x85)), NCM_FN(0x02, 0x03)

#define IPHONE_STRINGS \
	[1] = "Apple Inc.", [2] = "iPhone", [3] = "00008101000A1B2C3D4E5F60", \
	[5] = "PTP", [6] = "iPod USB Interface", [7] = "PTP + Apple Mobile Device", \
	[8] = "PTP + Apple Mobile Device + Apple USB Ethernet", \
	[9] = "PTP + Apple Mobile Device + CDC NCM", [10] = "NCM Control", \
	[11] = "2AB3C4D5E6F7", [15] = "Apple USB Multiplexor", \
	[17] = "Apple USB Ethernet", [27] = "PTP"

#define IPHONE_MODE1 .has_mode = 1, .mode = { 3, 3, 3, 0 }

static const uint8_t iphone_initial[] = { DEV_IPHONE(4), CFG1, CFG2, CFG3, CFG4_REAL };

const struct fake_usb_spec fake_usb_iphone_initial = {
	.label = "iPhone, initial mode",
	.desc = iphone_initial, .desc_len = sizeof(iphone_initial),
	.strings = { IPHONE_STRINGS },
	.mux = { { 3, 0x04, 0x85 }, { 4, 0x04, 0x85 } },
	IPHONE_MODE1,
	.want = { 4, 1, 0x04, 0x85, 512 },
};

static const uint8_t iphone_ncm[] = { DEV_IPHONE(5), CFG1, CFG2, CFG3, CFG4_REAL, CFG5_NCM };

const struct fake_usb_spec fake_usb_iphone_ncm = {
	.label = "iPhone, CDC-NCM mode",
	.desc = iphone_ncm, .desc_len = sizeof(iphone_ncm),
	.strings = { IPHONE_STRINGS },
	.mux = { { 3, 0x04, 0x85 }, { 4, 0x04, 0x85 }, { 5, 0x04, 0x85 } },
	.has_mode = 1, .mode = { 5, 3, 3, 0 },
	.want = { 5, 1, 0x04, 0x85, 512 },
};

static const uint8_t iphone_swapped[] = {
	DEV_IPHONE(4), CFG1, CFG2, CFG3,
	CFG4(MUX_IF(0x01, 0x02, EP_BULK512(0x85), EP_BULK512(0x04))),
};

const struct fake_usb_spec fake_usb_iphone_swapped = {
	.label = "iPhone, mux endpoints IN before OUT",
	.desc = iphone_swapped, .desc_len = sizeof(iphone_swapped),
	.strings = { IPHONE_STRINGS },
	.mux = { { 3, 0x04, 0x85 }, { 4, 0x04, 0x85 } },
	IPHONE_MODE1,
	.want = { 4, 1, 0x04, 0x85, 512 },
};

/* Configuration 4's interface matches class and subclass but not the
 * protocol: an OR match would take it; config 3 is the right answer. */
static const uint8_t iphone_partial[] = {
	DEV_IPHONE(4), CFG1, CFG2, CFG3,
	CFG4(MUX_IF(0x01, 0x01, EP_BULK512(0x04), EP_BULK512(0x85))),
};

const struct fake_usb_spec fake_usb_iphone_partial = {
	.label = "iPhone, config 4 interface 0xFF/0xFE/0x01",
	.desc = iphone_partial, .desc_len = sizeof(iphone_partial),
	.strings = { IPHONE_STRINGS },
	.mux = { { 3, 0x04, 0x85 } },
	IPHONE_MODE1,
	.want = { 3, 1, 0x04, 0x85, 512 },
};

/* An iPhone 4 at full speed logged wMaxPacketSize=64 (libimobiledevice#84);
 * 40-character serial of that era. */
static const uint8_t iphone_fs64[] = {
	DEV(0x00, 0x02, 0xac, 0x05, 0x97, 0x12, 1),
	0x09, 0x02, 0x3e, 0x00, 0x02, 0x01, 0x07, 0xc0, 0xfa,
	0x09, 0x04, 0x00, 0x00, 0x03, 0x06, 0x01, 0x01, 0x1b,
	EP_BULK(0x02, 0x40, 0x00), EP_BULK(0x81, 0x40, 0x00),
	0x07, 0x05, 0x83, 0x03, 0x40, 0x00, 0x0a,
	MUX_IF(0x01, 0x02, EP_BULK(0x04, 0x40, 0x00), EP_BULK(0x85, 0x40, 0x00)),
};

const struct fake_usb_spec fake_usb_iphone_fs64 = {
	.label = "iPhone 4, full speed",
	.desc = iphone_fs64, .desc_len = sizeof(iphone_fs64),
	.strings = { [1] = "Apple Inc.", [2] = "iPhone",
	    [3] = "0123456789abcdef0123456789abcdef01234567", [7] = "PTP + Apple Mobile Device",
	    [15] = "Apple USB Multiplexor", [27] = "PTP" },
	.mux = { { 1, 0x04, 0x85 } },
	.want = { 1, 1, 0x04, 0x85, 64 },
};

/* SuperSpeed: wMaxPacketSize 1024, each bulk endpoint followed by its
 * SuperSpeed endpoint companion (which libusb leaves in `extra`). */
#define SS_COMP 0x06, 0x30, 0x00, 0x00, 0x00, 0x00
static const uint8_t iphone_ss[] = {
	DEV(0x20, 0x03, 0xac, 0x05, 0xa8, 0x12, 1),
	0x09, 0x02, 0x2c, 0x00, 0x01, 0x01, 0x07, 0xc0, 0x70,
	MUX_IF(0x00, 0x02, EP_BULK(0x04, 0x00, 0x04), SS_COMP),
	EP_BULK(0x85, 0x00, 0x04), SS_COMP,
};

const struct fake_usb_spec fake_usb_iphone_ss = {
	.label = "iPhone, SuperSpeed",
	.desc = iphone_ss, .desc_len = sizeof(iphone_ss),
	.strings = { IPHONE_STRINGS },
	.mux = { { 1, 0x04, 0x85 } },
	IPHONE_MODE1,
	.want = { 1, 0, 0x04, 0x85, 1024 },
};

/* iOS >= 17 in mode 5: a single CDC-NCM configuration, no mux. */
static const uint8_t apple_no_mux[] = {
	DEV_IPHONE(1),
	0x09, 0x02, 0x5e, 0x00, 0x02, 0x01, 0x09, 0xc0, 0xfa, NCM_FN(0x00, 0x01),
};

const struct fake_usb_spec fake_usb_apple_no_mux = {
	.label = "iPhone, CDC-NCM only",
	.desc = apple_no_mux, .desc_len = sizeof(apple_no_mux),
	.strings = { IPHONE_STRINGS },
	.has_mode = 1, .mode = { 5, 3, 3, 0 },
};

/* Not Apple, yet with an interface that matches the mux triple: it must
 * be left alone because of its vendor ID alone. */
static const uint8_t not_apple[] = {
	DEV(0x00, 0x02, 0xd1, 0x18, 0xe1, 0x4e, 1),
	0x09, 0x02, 0x20, 0x00, 0x01, 0x01, 0x00, 0x80, 0x32,
	MUX_IF(0x00, 0x02, EP_BULK512(0x81), EP_BULK512(0x02)),
};

const struct fake_usb_spec fake_usb_not_apple = {
	.label = "not an Apple device",
	.desc = not_apple, .desc_len = sizeof(not_apple),
	.strings = { [1] = "Other Inc.", [2] = "Gadget", [3] = "0123456789AB" },
	.mux = { { 1, 0x02, 0x81 } },
};

/* An Apple-Silicon Mac on the cable (0x1905) that even offers a mux. */
static const uint8_t mac_1905[] = {
	DEV(0x00, 0x02, 0xac, 0x05, 0x05, 0x19, 1),
	0x09, 0x02, 0x3e, 0x00, 0x02, 0x01, 0x07, 0xc0, 0xfa, PTP_IF0,
	MUX_IF(0x01, 0x02, EP_BULK512(0x04), EP_BULK512(0x85)),
};

const struct fake_usb_spec fake_usb_mac_1905 = {
	.label = "Apple-Silicon Mac",
	.desc = mac_1905, .desc_len = sizeof(mac_1905),
	.strings = { [1] = "Apple Inc.", [2] = "Mac", [3] = "00006000001234567890ABCD" },
	.mux = { { 1, 0x04, 0x85 } },
	.want = { 1, 1, 0x04, 0x85, 512 },
};

/* --- parser ----------------------------------------------------------- */

static uint16_t
le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static int
extra_add(const unsigned char **xp, int *xlen, const uint8_t *d, size_t n)
{
	unsigned char *x = realloc((unsigned char *)*xp, (size_t)*xlen + n);

	if (x == NULL)
		return -1;
	memcpy(x + *xlen, d, n);
	*xp = x;
	*xlen += (int)n;
	return 0;
}

static void
free_alt(struct libusb_interface_descriptor *a)
{
	int e;

	for (e = 0; a->endpoint != NULL && e < a->bNumEndpoints; e++)
		free((unsigned char *)a->endpoint[e].extra);
	free((struct libusb_endpoint_descriptor *)a->endpoint);
	free((unsigned char *)a->extra);
}

void
libusb_free_config_descriptor(struct libusb_config_descriptor *c)
{
	int i, j;

	if (c == NULL)
		return;
	for (i = 0; c->interface != NULL && i < c->bNumInterfaces; i++) {
		struct libusb_interface *itf = (struct libusb_interface *)&c->interface[i];

		for (j = 0; j < itf->num_altsetting; j++)
			free_alt((struct libusb_interface_descriptor *)&itf->altsetting[j]);
		free((struct libusb_interface_descriptor *)itf->altsetting);
	}
	free((struct libusb_interface *)c->interface);
	free((unsigned char *)c->extra);
	free(c);
}

struct parse {
	struct libusb_config_descriptor *c;
	struct libusb_interface *ifs;
	struct libusb_interface_descriptor *alt;
	struct libusb_endpoint_descriptor *eps;
	int nif, neps;
	const unsigned char **xp;
	int *xlen;
};

static int
parse_interface(struct parse *ps, const uint8_t *d, size_t len)
{
	struct libusb_interface *itf;
	struct libusb_interface_descriptor *alts;

	if (len < 9 || (ps->alt != NULL && ps->neps != ps->alt->bNumEndpoints))
		return -1;
	if (ps->nif < 0 || ps->ifs[ps->nif].altsetting[0].bInterfaceNumber != d[2])
		if (++ps->nif >= ps->c->bNumInterfaces)
			return -1;
	itf = &ps->ifs[ps->nif];
	alts = realloc((struct libusb_interface_descriptor *)itf->altsetting,
	    (size_t)(itf->num_altsetting + 1) * sizeof(*alts));
	if (alts == NULL)
		return -1;
	itf->altsetting = alts;
	ps->alt = &alts[itf->num_altsetting++];
	memset(ps->alt, 0, sizeof(*ps->alt));
	ps->alt->bLength = d[0];
	ps->alt->bDescriptorType = d[1];
	ps->alt->bInterfaceNumber = d[2];
	ps->alt->bAlternateSetting = d[3];
	ps->alt->bNumEndpoints = d[4];
	ps->alt->bInterfaceClass = d[5];
	ps->alt->bInterfaceSubClass = d[6];
	ps->alt->bInterfaceProtocol = d[7];
	ps->alt->iInterface = d[8];
	ps->neps = 0;
	ps->eps = NULL;
	if (d[4] > 0 && (ps->eps = calloc(d[4], sizeof(*ps->eps))) == NULL)
		return -1;
	ps->alt->endpoint = ps->eps;
	ps->xp = &ps->alt->extra;
	ps->xlen = &ps->alt->extra_length;
	return 0;
}

static int
parse_endpoint(struct parse *ps, const uint8_t *d, size_t len)
{
	struct libusb_endpoint_descriptor *e;

	if (ps->alt == NULL || len < 7 || ps->neps >= ps->alt->bNumEndpoints)
		return -1;
	e = &ps->eps[ps->neps++];
	e->bLength = d[0];
	e->bDescriptorType = d[1];
	e->bEndpointAddress = d[2];
	e->bmAttributes = d[3];
	e->wMaxPacketSize = le16(d + 4);
	e->bInterval = d[6];
	if (len >= 9) {
		e->bRefresh = d[7];
		e->bSynchAddress = d[8];
	}
	ps->xp = &e->extra;
	ps->xlen = &e->extra_length;
	return 0;
}

int
fake_usb_parse_config(const uint8_t *p, size_t n, struct libusb_config_descriptor **cfgp)
{
	struct parse ps = { .nif = -1 };
	size_t pos, total, len;
	int r = 0;

	if (n < 9 || p[0] < 9 || p[1] != LIBUSB_DT_CONFIG)
		return LIBUSB_ERROR_IO;
	total = le16(p + 2);
	if (total < p[0] || total > n)
		return LIBUSB_ERROR_IO;
	if ((ps.c = calloc(1, sizeof(*ps.c))) == NULL)
		return LIBUSB_ERROR_NO_MEM;
	ps.c->bLength = p[0];
	ps.c->bDescriptorType = p[1];
	ps.c->wTotalLength = (uint16_t)total;
	ps.c->bNumInterfaces = p[4];
	ps.c->bConfigurationValue = p[5];
	ps.c->iConfiguration = p[6];
	ps.c->bmAttributes = p[7];
	ps.c->MaxPower = p[8];
	if ((ps.ifs = calloc(p[4] > 0 ? p[4] : 1, sizeof(*ps.ifs))) == NULL) {
		free(ps.c);
		return LIBUSB_ERROR_NO_MEM;
	}
	ps.c->interface = ps.ifs;
	ps.xp = &ps.c->extra;
	ps.xlen = &ps.c->extra_length;
	for (pos = p[0]; r == 0 && pos < total; pos += len) {
		len = p[pos];
		if (len < 2 || len > total - pos) {
			r = -1;
			break;
		}
		if (p[pos + 1] == LIBUSB_DT_INTERFACE)
			r = parse_interface(&ps, p + pos, len);
		else if (p[pos + 1] == LIBUSB_DT_ENDPOINT)
			r = parse_endpoint(&ps, p + pos, len);
		else
			r = extra_add(ps.xp, ps.xlen, p + pos, len);
	}
	if (r == 0 && ((ps.alt != NULL && ps.neps != ps.alt->bNumEndpoints) ||
	    ps.nif + 1 != ps.c->bNumInterfaces))
		r = -1;
	if (r != 0) {
		libusb_free_config_descriptor(ps.c);
		return LIBUSB_ERROR_IO;
	}
	*cfgp = ps.c;
	return 0;
}
