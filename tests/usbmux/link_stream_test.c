/*
 * The stream link: packets cut from a byte stream by the header length,
 * whatever the write() boundaries; bad lengths kill the link; EOF hands
 * out what is complete first; the random-writes fault keeps the bytes.
 */
#include "ib_limits.h"
#include "ib_test.h"
#include "link_stream.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct pkts {
	uint8_t *bytes;         /* all packets back to back */
	size_t len;
	size_t *ends;           /* end offset of each packet */
	size_t n;
};

static uint32_t rng = 12345;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* n packets of random sizes up to max (some tiny, some at max). */
static void
make_pkts(struct pkts *p, size_t n, uint32_t max)
{
	size_t i, j;

	memset(p, 0, sizeof(*p));
	p->ends = calloc(n, sizeof(*p->ends));
	p->bytes = malloc(n * IB_MUX_MRU);
	for (i = 0; i < n; i++) {
		uint32_t len;

		switch (rnd() % 4) {
		case 0: len = 8; break;
		case 1: len = max; break;
		default: len = 8 + rnd() % (max - 8); break;
		}
		put_be32(p->bytes + p->len, 6);
		put_be32(p->bytes + p->len + 4, len);
		for (j = 8; j < len; j++)
			p->bytes[p->len + j] = (uint8_t)rnd();
		p->len += len;
		p->ends[i] = p->len;
	}
	p->n = n;
}

static void
free_pkts(struct pkts *p)
{
	free(p->bytes);
	free(p->ends);
}

/* Drain complete packets from the link and check them against p. */
static int
take(struct ib_mux_link *l, const struct pkts *p, size_t *got)
{
	const uint8_t *pkt;
	size_t len;
	int r;

	while ((r = l->ops->recv(l->impl, &pkt, &len)) == IB_OK) {
		size_t start = *got ? p->ends[*got - 1] : 0;

		if (*got >= p->n || len != p->ends[*got] - start ||
		    memcmp(pkt, p->bytes + start, len) != 0)
			return IB_ERR_FORMAT;
		(*got)++;
	}
	return r == IB_ERR_WOULD_BLOCK ? IB_OK : r;
}

/* Feed p through a socket in chunks of 1..maxchunk and expect exactly p. */
static int
feed(const struct pkts *p, size_t maxchunk)
{
	struct ib_mux_link l;
	size_t off = 0, got = 0;
	int sv[2], r = IB_OK;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return IB_ERR_SYSTEM;
	if (ib_mux_link_stream_new(sv[0], &l) != IB_OK)
		return IB_ERR_INTERNAL;
	while (r == IB_OK && got < p->n) {
		size_t k = 1 + rnd() % maxchunk;
		ssize_t w;

		if (k > p->len - off)
			k = p->len - off;
		w = k > 0 ? send(sv[1], p->bytes + off, k, MSG_DONTWAIT) : 0;
		if (w > 0)
			off += (size_t)w;
		if ((r = l.ops->service(l.impl, POLLIN)) == IB_OK)
			r = take(&l, p, &got);
	}
	close(sv[1]);
	l.ops->free(l.impl);
	return r;
}

IB_TEST(link_cuts_packets_at_any_write_boundary)
{
	struct pkts p;

	make_pkts(&p, 200, IB_MUX_MRU);
	IB_CHECK_OK(feed(&p, 3 * IB_MUX_MTU));     /* several packets per write */
	IB_CHECK_OK(feed(&p, 100));                /* many writes per packet */
	free_pkts(&p);
}

IB_TEST(link_cuts_packets_fed_byte_at_a_time)
{
	struct pkts p;

	make_pkts(&p, 12, IB_MUX_MRU);
	IB_CHECK_OK(feed(&p, 1));
	free_pkts(&p);
}

static int
feed_bad_length(uint32_t len)
{
	uint8_t hdr[16] = { 0, 0, 0, 6 };
	struct ib_mux_link l;
	const uint8_t *pkt;
	size_t plen;
	int sv[2], r;

	put_be32(hdr + 4, len);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || ib_mux_link_stream_new(sv[0], &l) != IB_OK)
		return IB_ERR_INTERNAL;
	if (send(sv[1], hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr))
		return IB_ERR_INTERNAL;
	l.ops->service(l.impl, POLLIN);
	r = l.ops->recv(l.impl, &pkt, &plen);
	/* Once dead, always dead: also for service() and send(). */
	if (l.ops->service(l.impl, POLLIN) != r || l.ops->send(l.impl, hdr, 8) != IB_ERR_NO_DEVICE)
		r = IB_ERR_INTERNAL;
	close(sv[1]);
	l.ops->free(l.impl);
	return r;
}

IB_TEST(link_dies_on_lengths_it_cannot_frame)
{
	IB_CHECK_ERR(feed_bad_length(0), IB_ERR_MUX_PROTOCOL);
	IB_CHECK_ERR(feed_bad_length(7), IB_ERR_MUX_PROTOCOL);
	IB_CHECK_ERR(feed_bad_length(IB_MUX_MRU + 1), IB_ERR_MUX_PROTOCOL);
	IB_CHECK_ERR(feed_bad_length(0xffffffffu), IB_ERR_MUX_PROTOCOL);
}

IB_TEST(link_hands_out_complete_packets_before_eof)
{
	uint8_t data[20 + 10] = { 0, 0, 0, 6, 0, 0, 0, 20 };
	struct ib_mux_link l;
	const uint8_t *pkt;
	size_t len;
	int sv[2];

	/* One whole packet, then 10 bytes of a packet claiming 30. */
	data[20 + 3] = 6;
	data[20 + 7] = 30;
	IB_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	IB_CHECK_OK(ib_mux_link_stream_new(sv[0], &l));
	IB_CHECK(send(sv[1], data, sizeof(data), 0) == (ssize_t)sizeof(data));
	close(sv[1]);
	IB_CHECK_ERR(l.ops->service(l.impl, POLLIN | POLLHUP), IB_ERR_NO_DEVICE);
	IB_CHECK_OK(l.ops->recv(l.impl, &pkt, &len));
	IB_CHECK_EQ(len, 20);
	IB_CHECK_ERR(l.ops->recv(l.impl, &pkt, &len), IB_ERR_NO_DEVICE);
	l.ops->free(l.impl);
}

/* What the link writes, with and without the random-writes fault, is the
 * packets back to back; a reader framing it gets them all. */
static int
send_and_check(int random_writes)
{
	static const uint8_t big[IB_MUX_MTU + 1];
	struct ib_mux_link out, in;
	struct pkts p;
	size_t got = 0, sent = 0;
	int sv[2], r = IB_OK;

	make_pkts(&p, 100, IB_MUX_MTU);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 ||
	    ib_mux_link_stream_new(sv[0], &out) != IB_OK ||
	    ib_mux_link_stream_new(sv[1], &in) != IB_OK)
		return IB_ERR_INTERNAL;
	if (random_writes)
		ib_mux_link_stream_set_random_writes(&out, 99);
	if (out.ops->send(out.impl, big, sizeof(big)) != IB_ERR_TOO_LARGE)
		r = IB_ERR_INTERNAL;
	while (r == IB_OK && got < p.n) {
		if (sent < p.n && out.ops->queued(out.impl) < 4 * IB_MUX_MTU) {
			size_t start = sent ? p.ends[sent - 1] : 0;

			r = out.ops->send(out.impl, p.bytes + start, p.ends[sent] - start);
			sent++;
		}
		if (r == IB_OK)
			r = out.ops->service(out.impl, POLLOUT);
		if (r == IB_OK)
			r = in.ops->service(in.impl, POLLIN);
		if (r == IB_OK)
			r = take(&in, &p, &got);
	}
	out.ops->free(out.impl);
	in.ops->free(in.impl);
	free_pkts(&p);
	return r;
}

IB_TEST(link_output_is_the_packets_in_order)
{
	IB_CHECK_OK(send_and_check(0));
}

IB_TEST(link_random_writes_keep_every_byte)
{
	IB_CHECK_OK(send_and_check(1));
}

IB_TEST(link_peer_close_is_no_device)
{
	struct ib_mux_link l;
	const uint8_t *pkt;
	size_t len;
	int sv[2];

	IB_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	IB_CHECK_OK(ib_mux_link_stream_new(sv[0], &l));
	close(sv[1]);
	IB_CHECK_ERR(l.ops->service(l.impl, POLLIN), IB_ERR_NO_DEVICE);
	IB_CHECK_ERR(l.ops->recv(l.impl, &pkt, &len), IB_ERR_NO_DEVICE);
	IB_CHECK_ERR(l.ops->send(l.impl, (const uint8_t *)"12345678", 8), IB_ERR_NO_DEVICE);
	l.ops->free(l.impl);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
