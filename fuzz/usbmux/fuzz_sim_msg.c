/*
 * fuzz_sim_msg.c - the virtual device's socket protocol as the host reads
 * it (doc/sim-protocol.md): a byte stream of length-prefixed plist
 * messages, each checked as a reply, a device list and an event.
 */
#include "ib_buf.h"
#include "ib_err.h"
#include "ib_plist.h"
#include "sim_proto.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ib_sim_devinfo *devs = NULL, one;
	struct ib_buf in;
	plist_t msg = NULL, dev;
	const char *s;
	size_t n;
	int i;

	ib_buf_init_ro(&in, data, size);
	for (i = 0; i < 16 && ib_sim_msg_take(&in, &msg) == IB_OK; i++) {
		(void)ib_sim_reply_status(msg);
		if (ib_sim_devinfo_list(msg, &devs, &n) == IB_OK)
			free(devs);
		devs = NULL;
		if (ib_plist_dict_get_dict(msg, "Device", &dev) == IB_OK)
			(void)ib_sim_devinfo_from_plist(dev, &one);
		(void)ib_plist_dict_get_string(msg, "Event", &s);
		plist_free(msg);
		msg = NULL;
	}
	return 0;
}
