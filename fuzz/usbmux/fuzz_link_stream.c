/*
 * fuzz_link_stream.c - the stream link's framing (link_stream.c): bytes a
 * peer writes to the socket, in chunks whose sizes the first input byte
 * chooses, cut into packets by the header length.
 */
#include "ib_err.h"
#include "link_stream.h"

#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ib_mux_link l;
	const uint8_t *pkt;
	size_t len, off = 1, chunk;
	int sv[2], r = IB_OK;
	volatile uint8_t sink = 0;

	if (size < 1 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 0;
	if (ib_mux_link_stream_new(sv[0], &l) != IB_OK) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	chunk = 1 + (size_t)data[0] * 97;
	while (r == IB_OK) {
		if (off < size) {
			size_t k = size - off < chunk ? size - off : chunk;
			ssize_t w = send(sv[1], data + off, k, MSG_DONTWAIT);

			if (w > 0)
				off += (size_t)w;
		} else if (sv[1] >= 0) {
			close(sv[1]);
			sv[1] = -1;
		}
		r = l.ops->service(l.impl, POLLIN);
		while (l.ops->recv(l.impl, &pkt, &len) == IB_OK)
			sink ^= pkt[len - 1];
		if (r == IB_OK && l.ops->recv(l.impl, &pkt, &len) != IB_ERR_WOULD_BLOCK)
			break;
	}
	(void)sink;
	if (sv[1] >= 0)
		close(sv[1]);
	l.ops->free(l.impl);
	return 0;
}
