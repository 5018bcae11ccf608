/*
 * fuzz_afc - bytes from a device, two ways:
 *   - through the AFC decoder in the chunk sizes the first input byte
 *     picks, each packet through the host's reply checks (echo matched
 *     and not), the GetFileInfo parser for DATA, and the device's
 *     request parser;
 *   - as the whole reply stream of a device to the host client running
 *     a backup's and a restore's AFC steps (sync lock, file info, read,
 *     directory, write, remove, unlock), over a socketpair whose device
 *     end has already said everything.
 */
#include "afc.h"
#include "ib_conn.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The socket buffer must hold a whole input: no device thread reads. */
#define CONVERSATION_MAX 65536u

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

static void
packets(const uint8_t *data, size_t size)
{
	struct ib_afc_dec *dec;
	struct ib_afc_packet pkt;
	size_t off = 1, used, step;

	if (ib_afc_dec_new(&dec) != 0)
		return;
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
}

static void
client_steps(struct ib_afc *afc)
{
	uint8_t buf[256];
	uint64_t lock = 0, h = 0;
	unsigned tries;
	plist_t info = NULL;
	size_t got;

	(void)ib_afc_sync_lock_ex(afc, 3, 0, NULL, NULL, &lock, &tries);
	if (ib_afc_get_file_info(afc, "/Books/iBooksData2.plist", &info) == 0)
		plist_free(info);
	(void)ib_afc_file_open(afc, "/Books/iBooksData2.plist", IB_AFC_FOPEN_RDONLY, &h);
	(void)ib_afc_file_read(afc, h, buf, sizeof(buf), &got);
	(void)ib_afc_make_dir(afc, "/iTunesRestore");
	(void)ib_afc_file_open(afc, "/iTunesRestore/RestoreApplications.plist",
	    IB_AFC_FOPEN_WRONLY, &h);
	(void)ib_afc_file_write(afc, h, "<plist/>", 8);
	(void)ib_afc_file_close(afc, h);
	(void)ib_afc_remove_path(afc, "/iTunesRestore/RestoreApplications.plist");
	(void)ib_afc_sync_unlock(afc, lock);
}

static void
conversation(const uint8_t *data, size_t size)
{
	struct ib_conn *conn;
	struct ib_afc *afc;
	int sv[2];

	if (size > CONVERSATION_MAX || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return;
	if (write(sv[1], data, size) != (ssize_t)size ||
	    shutdown(sv[1], SHUT_WR) != 0 ||
	    ib_conn_new_fd(sv[0], IB_CONN_ROLE_HOST, 1, &conn) != 0) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	if (ib_afc_new(conn, &afc) == 0) {
		ib_afc_set_timeout(afc, 1000);
		client_steps(afc);
		ib_afc_free(afc);
	}
	close(sv[1]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	packets(data, size);
	conversation(data + 1, size - 1);
	return 0;
}
