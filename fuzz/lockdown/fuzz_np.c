/*
 * fuzz_np - bytes from a device through the plist framing (ld_msg) in
 * the chunk sizes the first input byte picks, and every message through
 * what a notification_proxy host makes of it.
 */
#include "ld_msg.h"
#include "np.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ld_msg_dec *dec;
	const char *name;
	plist_t msg;
	size_t off = 1, used, step;

	if (size < 1 || ld_msg_dec_new(0, &dec) != 0)
		return 0;
	step = (size_t)data[0] % 128 + 1;
	while (off < size) {
		size_t n = size - off < step ? size - off : step;

		if (ld_msg_dec_feed(dec, data + off, n, &used, &msg) != 0)
			break;
		off += used;
		if (msg != NULL) {
			(void)ib_np_host_input(msg, &name);
			plist_free(msg);
		}
	}
	ld_msg_dec_free(dec);
	return 0;
}
