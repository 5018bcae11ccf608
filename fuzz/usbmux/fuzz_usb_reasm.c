/*
 * fuzz_usb_reasm - reassembly of bulk IN completions into mux packets
 * (link_libusb.c) on arbitrary completion sequences. Input: records of
 * u8 kind, u16 big-endian n, n bytes. kind bit 0 makes the completion a
 * full IB_USB_RX_SIZE transfer (the n bytes, then zeros), so short
 * inputs reach the continuation paths; otherwise the completion is the
 * n bytes (n > 0). Every packet handed out must be a whole mux packet:
 * its header length equals its size, at most IB_MUX_MRU.
 */
#include <stdlib.h>
#include <string.h>

#include "ib_buf.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "link_libusb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t full[IB_USB_RX_SIZE];
	struct ib_usb_reasm *r;
	struct ib_buf in, b;
	const uint8_t *p, *pkt;
	uint8_t kind;
	uint16_t n;
	uint32_t hdr;
	size_t len;

	ib_log_set_level(IB_LOG_ERROR);
	if ((r = ib_usb_reasm_new("fuzz")) == NULL)
		return 0;
	ib_buf_init_ro(&in, data, size);
	while (ib_buf_get_u8(&in, &kind) == 0 && ib_buf_get_u16be(&in, &n) == 0) {
		if (n > IB_USB_RX_SIZE)
			n = IB_USB_RX_SIZE;
		if (n > ib_buf_len(&in))
			n = (uint16_t)ib_buf_len(&in);
		if (ib_buf_get_ptr(&in, n, &p) != 0)
			break;
		if (kind & 1) {
			memset(full, 0, sizeof(full));
			memcpy(full, p, n);
			p = full;
			n = IB_USB_RX_SIZE;
		} else if (n == 0) {
			continue;
		}
		if (ib_usb_reasm_feed(r, p, n, &pkt, &len) != 1)
			continue;
		ib_buf_init_ro(&b, pkt, len);
		if (len < 8 || len > IB_MUX_MRU || ib_buf_consume(&b, 4) != 0 ||
		    ib_buf_get_u32be(&b, &hdr) != 0 || hdr != len)
			abort();
	}
	ib_usb_reasm_free(r);
	return 0;
}
