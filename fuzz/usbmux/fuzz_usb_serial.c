/*
 * fuzz_usb_serial - the serial number string descriptor (usb_setup.c) as
 * a device may send it: what comes out is printable ASCII that fits.
 */
#include <stdlib.h>
#include <string.h>

#include "ib_log.h"
#include "ib_usbmux.h"
#include "link_libusb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[IB_UDID_MAX + 1];
	size_t i, n;

	ib_log_set_level(IB_LOG_ERROR);
	memset(out, 'X', sizeof(out));
	if (ib_usb_serial_from_desc(data, size, out, sizeof(out)) != 0)
		return 0;
	n = strnlen(out, sizeof(out));
	if (n == 0 || n == sizeof(out))
		abort();
	for (i = 0; i < n; i++)
		if (out[i] < 0x20 || out[i] > 0x7e)
			abort();
	return 0;
}
