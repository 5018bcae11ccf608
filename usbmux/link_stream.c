/*
 * link_stream.c - the mux link over a byte-stream socket (mux_link.h):
 * the "sim:PATH" transport's attach connection on the host side and the
 * virtual device's side of it.
 *
 * A socket has no transfer boundaries, so packets are cut from the byte
 * stream by the header's length field. The first 8 bytes of a v1 and a
 * v2 header are the same (u32 protocol, u32 length, big-endian), so the
 * link needs no version state. A length below a header or above
 * IB_MUX_MRU cannot be resynchronised: the link is dead with
 * IB_ERR_MUX_PROTOCOL.
 *
 * Nothing blocks: the socket is non-blocking, output is queued, and the
 * runtime keeps the queue bounded by looking at queued().
 */
#include "link_stream.h"

#include "ib_buf.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bytes asked for per read(): several full packets per system call. */
#define LINK_READ_CHUNK (256u * 1024u)
/* Input storage: one whole packet plus a read's worth behind it, so a
 * complete packet always fits after compaction. */
#define LINK_IN_CAP (IB_MUX_MRU + LINK_READ_CHUNK)
/* The runtime keeps the output queue far below this; past it send()
 * refuses rather than grow without bound. */
#define LINK_OUT_MAX (16u * 1024u * 1024u)
/* Largest write() of the random-writes fault: merges up to 3 packets. */
#define LINK_RANDOM_WRITE_MAX (3u * IB_MUX_MTU)
/* Smallest packet: the 8 bytes every header starts with. */
#define LINK_HDR_MIN 8u

struct stream_link {
	int fd;
	int eof;                /* peer closed its end */
	int err;                /* IB_OK, or why the link is dead */
	uint8_t *in;            /* [in_off, in_end) unparsed input */
	size_t in_off, in_end;
	uint8_t *out;           /* [out_off, out_end) queued output */
	size_t out_off, out_end, out_alloc;
	int random_writes;
	uint32_t rng;
	char desc[48];
};

static uint32_t
xorshift32(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

static int
out_reserve(struct stream_link *l, size_t n)
{
	size_t len = l->out_end - l->out_off;
	size_t nalloc;
	uint8_t *nd;

	if (l->out_alloc - l->out_end >= n)
		return IB_OK;
	if (len + n > LINK_OUT_MAX)
		return IB_ERR_TOO_LARGE;
	if (l->out_off > 0 && l->out_alloc - len >= n) {
		memmove(l->out, l->out + l->out_off, len);
		l->out_off = 0;
		l->out_end = len;
		return IB_OK;
	}
	nalloc = l->out_alloc > 0 ? l->out_alloc : 4u * IB_MUX_MTU;
	while (nalloc < len + n)
		nalloc *= 2;
	if ((nd = malloc(nalloc)) == NULL)
		return IB_ERR_NOMEM;
	if (len > 0)
		memcpy(nd, l->out + l->out_off, len);
	if (l->out != NULL) {
		explicit_bzero(l->out, l->out_alloc);
		free(l->out);
	}
	l->out = nd;
	l->out_alloc = nalloc;
	l->out_off = 0;
	l->out_end = len;
	return IB_OK;
}

static int
op_send(void *impl, const uint8_t *pkt, size_t len)
{
	struct stream_link *l = impl;
	int r;

	if (l->err != IB_OK || l->eof)
		return IB_ERR_NO_DEVICE;
	if (len > IB_MUX_MTU)
		return IB_ERR_TOO_LARGE;
	if ((r = out_reserve(l, len)) != IB_OK)
		return r;
	memcpy(l->out + l->out_end, pkt, len);
	l->out_end += len;
	return IB_OK;
}

static size_t
op_queued(void *impl)
{
	struct stream_link *l = impl;

	return l->out_end - l->out_off;
}

static void
op_pollfd(void *impl, struct pollfd *pfd)
{
	struct stream_link *l = impl;

	pfd->fd = l->err == IB_OK && !l->eof ? l->fd : -1;
	pfd->events = POLLIN;
	if (l->out_end > l->out_off)
		pfd->events |= POLLOUT;
	pfd->revents = 0;
}

static int
die(struct stream_link *l, int err)
{
	if (l->err == IB_OK)
		l->err = err;
	return l->err;
}

static int
write_out(struct stream_link *l)
{
	while (l->out_end > l->out_off) {
		size_t n = l->out_end - l->out_off;
		ssize_t w;

		if (l->random_writes) {
			size_t lim = 1 + xorshift32(&l->rng) %
			    ((xorshift32(&l->rng) & 1) ? 64u : LINK_RANDOM_WRITE_MAX);

			n = n < lim ? n : lim;
		}
		w = send(l->fd, l->out + l->out_off, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return IB_OK;
			ib_debug("%s: send: %s", l->desc, strerror(errno));
			return die(l, IB_ERR_NO_DEVICE);
		}
		l->out_off += (size_t)w;
	}
	l->out_off = l->out_end = 0;
	return IB_OK;
}

static int
read_in(struct stream_link *l)
{
	size_t len = l->in_end - l->in_off;

	if (l->in_off > 0 && len <= IB_MUX_MRU) {
		/* The unparsed tail is at most one packet: cheap to move. */
		memmove(l->in, l->in + l->in_off, len);
		l->in_off = 0;
		l->in_end = len;
	}
	while (!l->eof && l->in_end < LINK_IN_CAP) {
		ssize_t got = recv(l->fd, l->in + l->in_end, LINK_IN_CAP - l->in_end,
		    MSG_DONTWAIT);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			ib_debug("%s: recv: %s", l->desc, strerror(errno));
			l->eof = 1;
			break;
		}
		if (got == 0) {
			l->eof = 1;
			break;
		}
		l->in_end += (size_t)got;
	}
	return IB_OK;
}

static int
op_service(void *impl, short revents)
{
	struct stream_link *l = impl;

	if (l->err != IB_OK)
		return l->err;
	if ((revents & POLLOUT) != 0 && write_out(l) != IB_OK)
		return l->err;
	if ((revents & (POLLIN | POLLHUP | POLLERR)) != 0)
		read_in(l);
	/* Packets already received are still handed out by recv(). */
	return l->eof ? IB_ERR_NO_DEVICE : IB_OK;
}

static int
op_recv(void *impl, const uint8_t **pktp, size_t *lenp)
{
	struct stream_link *l = impl;
	size_t avail = l->in_end - l->in_off;
	struct ib_buf b;
	uint32_t plen;

	*pktp = NULL;
	*lenp = 0;
	if (l->err != IB_OK)
		return l->err;
	ib_buf_init_ro(&b, l->in + l->in_off, avail);
	if (ib_buf_peek_u32be(&b, 4, &plen) != IB_OK)
		goto short_input;
	if (plen < LINK_HDR_MIN || plen > IB_MUX_MRU) {
		ib_warn("%s: mux packet length %u is outside %u..%u; cannot "
		    "resynchronise the byte stream", l->desc, (unsigned)plen,
		    LINK_HDR_MIN, IB_MUX_MRU);
		return die(l, IB_ERR_MUX_PROTOCOL);
	}
	if (avail < plen)
		goto short_input;
	*pktp = l->in + l->in_off;
	*lenp = plen;
	l->in_off += plen;
	return IB_OK;
short_input:
	if (!l->eof)
		return IB_ERR_WOULD_BLOCK;
	if (avail > 0)
		ib_debug("%s: %zu bytes of a partial packet at end of stream",
		    l->desc, avail);
	return die(l, IB_ERR_NO_DEVICE);
}

static const char *
op_describe(void *impl)
{
	struct stream_link *l = impl;

	return l->desc;
}

static void
op_free(void *impl)
{
	struct stream_link *l = impl;

	if (l == NULL)
		return;
	if (l->fd >= 0)
		close(l->fd);
	if (l->in != NULL) {
		explicit_bzero(l->in, LINK_IN_CAP);
		free(l->in);
	}
	if (l->out != NULL) {
		explicit_bzero(l->out, l->out_alloc);
		free(l->out);
	}
	free(l);
}

static const struct ib_mux_link_ops stream_link_ops = {
	.send = op_send,
	.queued = op_queued,
	.pollfd = op_pollfd,
	.service = op_service,
	.recv = op_recv,
	.describe = op_describe,
	.free = op_free,
};

int
ib_mux_link_stream_new(int fd, struct ib_mux_link *linkp)
{
	struct stream_link *l = NULL;
	int fl, r;

	if (fd < 0)
		return IB_ERR_INVALID_ARG;
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->in = malloc(LINK_IN_CAP)) == NULL) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	l->fd = -1;
	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		r = ib_err_from_errno(errno, "fcntl(O_NONBLOCK)");
		goto out;
	}
	l->fd = fd;
	snprintf(l->desc, sizeof(l->desc), "stream link fd %d", fd);
	linkp->ops = &stream_link_ops;
	linkp->impl = l;
	l = NULL;
	r = IB_OK;
out:
	if (l != NULL) {
		free(l->in);
		free(l);
	}
	return r;
}

void
ib_mux_link_stream_set_random_writes(struct ib_mux_link *link, uint32_t seed)
{
	struct stream_link *l;

	if (link == NULL || link->ops != &stream_link_ops)
		return;
	l = link->impl;
	l->random_writes = 1;
	l->rng = seed != 0 ? seed : 0x9e3779b9u;
}
