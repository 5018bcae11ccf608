/*
 * muxd_pipe.c - raw byte pipe between a usbmuxd client and a device
 * stream (see muxd_pipe.h). splice(2) moves socket pages into a kernel
 * pipe and from there into the other socket, so bytes never pass through
 * user space; the pipe is enlarged to 1 MiB so that one wake-up moves a
 * lot. Where splice is refused (EINVAL: an fd type without splice
 * support) a direction falls back to read/write through its own buffer.
 */
#include "muxd_pipe.h"
#include "ib_err.h"
#include "ib_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* Kernel pipe size asked for (the unprivileged maximum by default). */
#define PIPE_BYTES (1024 * 1024)
/* User-space buffer of the read/write fallback. */
#define COPY_BYTES (256 * 1024)

struct dir {
	int from, to;
	int p[2];               /* kernel pipe; p[0] < 0 in copy mode */
	uint8_t *buf;           /* copy mode: bytes [off, off + inflight) */
	size_t off;
	size_t inflight;        /* read from `from`, not yet written to `to` */
	size_t cap;
	int eof;
	int full;               /* the pipe took nothing although `from` was readable */
};

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return IB_ERR_SYSTEM;
	return IB_OK;
}

static int
to_copy_mode(struct dir *d)
{
	size_t cap = IB_MAX((size_t)COPY_BYTES, d->cap);
	ssize_t n;

	if ((d->buf = malloc(cap)) == NULL)
		return IB_ERR_NOMEM;
	/* Bytes already in the kernel pipe move into the buffer. */
	d->off = 0;
	while (d->p[0] >= 0 && d->off < d->inflight) {
		n = read(d->p[0], d->buf + d->off, d->inflight - d->off);
		if (n <= 0)
			return IB_ERR_EOF;
		d->off += (size_t)n;
	}
	d->off = 0;
	if (d->p[0] >= 0) {
		close(d->p[0]);
		close(d->p[1]);
		d->p[0] = d->p[1] = -1;
	}
	d->cap = cap;
	return IB_OK;
}

static int
dir_init(struct dir *d, int from, int to)
{
	int sz;

	d->from = from;
	d->to = to;
	d->p[0] = d->p[1] = -1;
	if (pipe2(d->p, O_CLOEXEC | O_NONBLOCK) != 0)
		return to_copy_mode(d);
	/* A user's pipe budget may be spent: keep the default then. */
	(void)fcntl(d->p[1], F_SETPIPE_SZ, PIPE_BYTES);
	sz = fcntl(d->p[1], F_GETPIPE_SZ);
	d->cap = sz > 0 ? (size_t)sz : 65536;
	return IB_OK;
}

static void
dir_release(struct dir *d)
{
	if (d->p[0] >= 0) {
		close(d->p[0]);
		close(d->p[1]);
	}
	free(d->buf);
}

/* Read from `from`: IB_OK (maybe nothing), or IB_ERR_EOF on a reset. */
static int
dir_fill(struct dir *d)
{
	ssize_t n;

	if (d->p[0] >= 0) {
		n = splice(d->from, NULL, d->p[1], NULL, d->cap - d->inflight,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0 && errno == EINVAL && d->inflight == 0) {
			if (to_copy_mode(d) != IB_OK)
				return IB_ERR_EOF;
			return dir_fill(d);
		}
	} else {
		if (d->off > 0 && d->inflight == 0)
			d->off = 0;
		n = read(d->from, d->buf + d->off + d->inflight,
		    d->cap - d->off - d->inflight);
	}
	if (n > 0) {
		d->inflight += (size_t)n;
		return IB_OK;
	}
	if (n == 0) {
		d->eof = 1;
		return IB_OK;
	}
	if (errno == EAGAIN || errno == EINTR) {
		/* Readable but nothing taken: the pipe is full (its slots
		 * hold partial pages); wait for a drain before polling again. */
		d->full = d->inflight > 0;
		return IB_OK;
	}
	return IB_ERR_EOF;
}

static int
dir_drain(struct dir *d)
{
	ssize_t n;

	if (d->p[0] >= 0) {
		n = splice(d->p[0], NULL, d->to, NULL, d->inflight,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0 && errno == EINVAL) {
			if (to_copy_mode(d) != IB_OK)
				return IB_ERR_EOF;
			return dir_drain(d);
		}
	} else {
		n = write(d->to, d->buf + d->off, d->inflight);
		if (n > 0)
			d->off += (size_t)n;
	}
	if (n > 0) {
		d->inflight -= (size_t)n;
		d->full = 0;
		if (d->buf != NULL && d->inflight == 0)
			d->off = 0;
		return IB_OK;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return IB_OK;
	return IB_ERR_EOF;
}

static int
wants_read(const struct dir *d)
{
	size_t room = d->buf != NULL ? d->cap - d->off - d->inflight : d->cap - d->inflight;

	return !d->eof && !d->full && room > 0;
}

/* One poll entry per socket; an fd that hung up stays out of the set
 * unless there is something to do on it, or poll would spin on POLLHUP. */
static void
build_poll(struct pollfd *pfd, int fd, int in, int out, int hup)
{
	pfd->fd = fd;
	pfd->events = (short)((in ? POLLIN : 0) | (out ? POLLOUT : 0));
	pfd->revents = 0;
	if (hup && pfd->events == 0)
		pfd->fd = -1;
}

static int
step(struct dir *d, const struct pollfd *pfd)
{
	int i, r;

	/* d[0]: a -> b, d[1]: b -> a; pfd[0] is a, pfd[1] is b. */
	for (i = 0; i < 2; i++) {
		short rin = pfd[i].revents, rout = pfd[1 - i].revents;

		if (d[i].inflight > 0 && (rout & (POLLOUT | POLLERR | POLLHUP)) &&
		    (r = dir_drain(&d[i])) != IB_OK)
			return r;
		if (wants_read(&d[i]) && (rin & (POLLIN | POLLERR | POLLHUP)) &&
		    (r = dir_fill(&d[i])) != IB_OK)
			return r;
	}
	return IB_OK;
}

int
muxd_pipe_run(int a, int b, int wake_fd)
{
	struct dir d[2] = { { .p = { -1, -1 } }, { .p = { -1, -1 } } };
	struct pollfd pfd[3];
	int hup[2] = { 0, 0 }, r, i;

	if ((r = set_nonblock(a)) != IB_OK || (r = set_nonblock(b)) != IB_OK ||
	    (r = dir_init(&d[0], a, b)) != IB_OK || (r = dir_init(&d[1], b, a)) != IB_OK)
		goto out;
	for (;;) {
		/* Either side ended and what it sent is delivered: done. */
		if ((d[0].eof && d[0].inflight == 0) || (d[1].eof && d[1].inflight == 0)) {
			r = IB_OK;
			break;
		}
		build_poll(&pfd[0], a, wants_read(&d[0]), d[1].inflight > 0, hup[0]);
		build_poll(&pfd[1], b, wants_read(&d[1]), d[0].inflight > 0, hup[1]);
		pfd[2].fd = wake_fd;
		pfd[2].events = POLLIN;
		pfd[2].revents = 0;
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = IB_ERR_SYSTEM;
			break;
		}
		if (pfd[2].revents & POLLIN) {
			r = IB_ERR_INTERRUPTED;
			break;
		}
		for (i = 0; i < 2; i++)
			if (pfd[i].revents & (POLLHUP | POLLERR))
				hup[i] = 1;
		if ((r = step(d, pfd)) != IB_OK)
			break;
	}
 out:
	dir_release(&d[0]);
	dir_release(&d[1]);
	return r;
}
