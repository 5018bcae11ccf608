/*
 * fuzz_afc - bytes from a device through the AFC decoder, in the chunk
 * sizes the first input byte picks; every packet goes through the
 * host's reply checks (echo matched and not), the GetFileInfo parser
 * for DATA, and the device's request parser.
 */
#include "afc.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
use_packet(const struct ib_afc_packet *pkt)
{
	struct ib_afc_reply rep;
	struct ib_afc_req req;
	plist_t info = NULL;

	(void)ib_afc_reply_parse(pkt, pkt->packet_num + 1, &rep);
	if (ib_afc_reply_parse(pkt, pkt->packet_num, &rep) == 0 &&
	    rep.op == IB_AFC_OP_DATA && ib_afc_info_parse(rep.data, rep.len, &info) == 0)
		plist_free(info);
	(void)ib_afc_req_parse(pkt, &req);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ib_afc_dec *dec;
	struct ib_afc_packet pkt;
	size_t off = 1, used, step;

	if (size < 1 || ib_afc_dec_new(&dec) != 0)
		return 0;
	step = (size_t)data[0] % 64 + 1;
	while (off < size) {
		size_t n = size - off < step ? size - off : step;

		if (ib_afc_dec_feed(dec, data + off, n, &used) != 0)
			break;
		off += used;
		if (ib_afc_dec_packet(dec, &pkt) == 0) {
			use_packet(&pkt);
			ib_afc_dec_next(dec);
		}
	}
	ib_afc_dec_free(dec);
	return 0;
}
