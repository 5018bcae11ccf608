/*
 * tr_usbmuxd.c - the "usbmuxd" transport: ibackup as a client of a
 * usbmuxd-protocol server (libimobiledevice's usbmuxd, Apple's, usbmuxd2,
 * or `ibackup muxd`), usbmux.md section 3.
 *
 *   where     "usbmuxd:SPEC" or $USBMUXD_SOCKET_ADDRESS, read like
 *             libusbmuxd (muxd_sock.c), default /var/run/usbmuxd;
 *   form      plist messages; one fall back to binary when the server
 *             answers BADVERSION (old usbmuxd), as libusbmuxd does;
 *   devices   a Listen socket owned by a thread reports Attached and
 *             Detached to the core; open() adds a ListDevices snapshot so
 *             the list is complete when it returns. When the server goes
 *             away every device is reported detached and the thread tries
 *             again every second;
 *   streams   a fresh socket per Connect; the Result is read exactly (the
 *             bytes after it are the device's) and the socket itself is
 *             the stream's fd;
 *   records   Read/Save/DeletePairRecord and ReadBUID go to the server.
 * Every reply is awaited for at most 5 s (libusbmuxd's timeout).
 */
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_util.h"
#include "muxd_proto.h"
#include "transport.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REPLY_TIMEOUT_MS 5000
/* Binary servers have no ListDevices: the initial Attached burst after
 * Listen is over when the socket stays quiet this long (libusbmuxd). */
#define QUIET_MS 100
#define RECONNECT_MS 1000
/* Longest wait for that burst at open. */
#define SETTLE_MAX_MS 2000

struct muxd_stream {
	struct muxd_tr *t;              /* NULL once the transport closed */
	int fd;
	uint32_t handle;
	int err;
	struct muxd_stream *next;
};

struct muxd_tr {
	struct ib_usbmux *core;
	struct ib_muxd_addr addr;
	char desc[600];
	pthread_mutex_t lock;           /* binary, tag, known, gone, settled */
	pthread_cond_t settled_cond;
	int binary;
	uint32_t tag;
	/* Devices reported to the core; report_lock keeps the set and the
	 * core's view in step (a Detached never overtakes its Attached). */
	pthread_mutex_t report_lock;
	uint32_t *known;
	size_t nknown, cap_known;
	/* Handles detached while open() builds its snapshot. */
	uint32_t *gone;
	size_t ngone, cap_gone;
	int opening;
	int settled;
	/* Listen connection, owned by the thread once it runs. */
	int lfd;
	int stop_fd;
	pthread_t thread;
	int thread_started;
	struct ib_muxd_decoder dec;
	struct muxd_stream *streams;    /* under stream_lock */
};

/* Links streams and transports: a stream may outlive its transport. */
static pthread_mutex_t stream_lock = PTHREAD_MUTEX_INITIALIZER;

/* --- device bookkeeping ------------------------------------------------------ */

static int
set_has(const uint32_t *set, size_t n, uint32_t v, size_t *ip)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (set[i] == v) {
			if (ip != NULL)
				*ip = i;
			return 1;
		}
	}
	return 0;
}

static int
set_add(uint32_t **set, size_t *n, size_t *cap, uint32_t v)
{
	uint32_t *ns;
	size_t ncap;

	if (*n == *cap) {
		ncap = *cap ? *cap * 2 : 8;
		if (ncap > IB_MUXD_MAX_DEVICES)
			return IB_ERR_TOO_LARGE;
		if ((ns = realloc(*set, ncap * sizeof(*ns))) == NULL)
			return IB_ERR_NOMEM;
		*set = ns;
		*cap = ncap;
	}
	(*set)[(*n)++] = v;
	return IB_OK;
}

static void
report_attached(struct muxd_tr *t, const struct ib_device *dev, int from_snapshot)
{
	int add;

	pthread_mutex_lock(&t->report_lock);
	pthread_mutex_lock(&t->lock);
	add = !set_has(t->known, t->nknown, dev->handle, NULL) &&
	    !(from_snapshot && set_has(t->gone, t->ngone, dev->handle, NULL)) &&
	    set_add(&t->known, &t->nknown, &t->cap_known, dev->handle) == IB_OK;
	pthread_mutex_unlock(&t->lock);
	if (add) {
		ib_debug("usbmuxd: device %u attached (%s, %s)", dev->handle, dev->udid,
		    dev->conn_detail);
		ib_usbmux_core_attached(t->core, dev);
	}
	pthread_mutex_unlock(&t->report_lock);
}

static void
report_detached(struct muxd_tr *t, uint32_t handle)
{
	size_t i;
	int known;

	pthread_mutex_lock(&t->report_lock);
	pthread_mutex_lock(&t->lock);
	if ((known = set_has(t->known, t->nknown, handle, &i)))
		t->known[i] = t->known[--t->nknown];
	if (t->opening)
		(void)set_add(&t->gone, &t->ngone, &t->cap_gone, handle);
	pthread_mutex_unlock(&t->lock);
	if (known) {
		ib_debug("usbmuxd: device %u detached", handle);
		ib_usbmux_core_detached(t->core, handle);
	}
	pthread_mutex_unlock(&t->report_lock);
}

/* The daemon is gone: so are its devices (libusbmuxd does the same). */
static void
report_all_detached(struct muxd_tr *t)
{
	uint32_t h;

	for (;;) {
		pthread_mutex_lock(&t->lock);
		if (t->nknown == 0) {
			pthread_mutex_unlock(&t->lock);
			return;
		}
		h = t->known[t->nknown - 1];
		pthread_mutex_unlock(&t->lock);
		report_detached(t, h);
	}
}

static int
is_known(struct muxd_tr *t, uint32_t handle)
{
	int k;

	pthread_mutex_lock(&t->lock);
	k = set_has(t->known, t->nknown, handle, NULL);
	pthread_mutex_unlock(&t->lock);
	return k;
}

/* --- requests -------------------------------------------------------------- */

static void
new_request(struct muxd_tr *t, struct ib_muxd_msg *m, enum ib_muxd_kind kind, int force_plist)
{
	int plist;
	uint32_t tag;

	pthread_mutex_lock(&t->lock);
	plist = force_plist || !t->binary;
	/* libusbmuxd starts at 1; tags only help reading logs. */
	tag = ++t->tag;
	pthread_mutex_unlock(&t->lock);
	ib_muxd_msg_init(m, kind, plist, tag);
}

/* A plist request got BADVERSION: the server wants binary messages.
 * Switch (once, for every later request) and say whether to retry. */
static int
fall_back_to_binary(struct muxd_tr *t, const struct ib_muxd_msg *req, int r)
{
	int switched = 0;

	if (r != IB_ERR_MUXD_BADVERSION || !req->plist)
		return 0;
	pthread_mutex_lock(&t->lock);
	if (!t->binary) {
		t->binary = 1;
		switched = 1;
	}
	pthread_mutex_unlock(&t->lock);
	if (switched)
		ib_info("usbmuxd at %s refuses plist messages: using the binary protocol", t->desc);
	return 1;
}

/*
 * One request on a fresh socket. On IB_OK *reply holds the checked
 * reply and, when fdp is not NULL, *fdp the socket (Connect).
 */
static int
exchange(struct muxd_tr *t, const struct ib_muxd_msg *req, struct ib_muxd_msg *reply, int *fdp)
{
	int fd = -1, r;

	memset(reply, 0, sizeof(*reply));
	if (fdp != NULL)
		*fdp = -1;
	if ((r = ib_muxd_addr_connect(&t->addr, REPLY_TIMEOUT_MS, &fd)) != IB_OK)
		return r;
	if ((r = ib_muxd_send_msg(fd, req)) != IB_OK ||
	    (r = ib_muxd_recv_msg(fd, REPLY_TIMEOUT_MS, reply)) != IB_OK)
		goto out;
	if (reply->tag != req->tag)
		ib_debug("usbmuxd answered tag %u to tag %u", reply->tag, req->tag);
	r = ib_muxd_reply_check(req->kind, reply);
 out:
	if (r != IB_OK) {
		ib_muxd_msg_clear(reply);
		close(fd);
	} else if (fdp != NULL) {
		*fdp = fd;
	} else {
		close(fd);
	}
	return r;
}

/* --- the Listen connection --------------------------------------------------- */

static void
handle_event(struct muxd_tr *t, const struct ib_muxd_msg *m)
{
	switch (m->kind) {
	case IB_MUXD_K_ATTACHED:
		report_attached(t, &m->dev, 0);
		break;
	case IB_MUXD_K_DETACHED:
		report_detached(t, m->device_id);
		break;
	case IB_MUXD_K_PAIRED:
		ib_debug("usbmuxd: device %u paired", m->device_id);
		break;
	default:
		ib_debug("usbmuxd: ignoring %s on the listen socket", ib_muxd_kind_name(m->kind));
		break;
	}
}

/* Bytes from the Listen socket: IB_OK, or an error that ends it. A
 * malformed message is skipped (libusbmuxd does too); broken framing is
 * not recoverable. */
static int
listen_input(struct muxd_tr *t, const uint8_t *p, size_t n)
{
	struct ib_muxd_msg m;
	size_t used;
	int r;

	while (n > 0) {
		if ((r = ib_muxd_decoder_feed(&t->dec, p, n, &used)) != IB_OK)
			return r;
		p += used;
		n -= used;
		if (ib_muxd_decoder_want(&t->dec) != 0)
			continue;
		if ((r = ib_muxd_decoder_next(&t->dec, &m)) == IB_OK)
			handle_event(t, &m);
		else
			ib_debug("usbmuxd: bad notification skipped: %s", ib_err_detail());
		ib_muxd_msg_clear(&m);
	}
	return IB_OK;
}

/* Connect and Listen; on success t->lfd is the notification socket. */
static int
start_listen(struct muxd_tr *t)
{
	struct ib_muxd_msg req, reply;
	int r, fd = -1, attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		new_request(t, &req, IB_MUXD_K_LISTEN, 0);
		r = exchange(t, &req, &reply, &fd);
		ib_muxd_msg_clear(&reply);
		if (r == IB_OK || !fall_back_to_binary(t, &req, r))
			break;
	}
	if (r != IB_OK)
		return r;
	ib_muxd_decoder_release(&t->dec);
	ib_muxd_decoder_init(&t->dec);
	t->lfd = fd;
	return IB_OK;
}

static void
mark_settled(struct muxd_tr *t)
{
	pthread_mutex_lock(&t->lock);
	t->settled = 1;
	pthread_cond_broadcast(&t->settled_cond);
	pthread_mutex_unlock(&t->lock);
}

/* Read notifications until the socket ends or the transport stops. */
static int
listen_loop(struct muxd_tr *t)
{
	uint8_t buf[16384];
	struct pollfd pfd[2];
	ssize_t n;
	int k, wait;

	for (;;) {
		pthread_mutex_lock(&t->lock);
		wait = t->settled ? -1 : QUIET_MS;
		pthread_mutex_unlock(&t->lock);
		pfd[0].fd = t->lfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = t->stop_fd;
		pfd[1].events = POLLIN;
		if ((k = poll(pfd, 2, wait)) < 0 && errno != EINTR)
			return IB_ERR_SYSTEM;
		if (pfd[1].revents & POLLIN)
			return IB_ERR_INTERRUPTED;
		if (k == 0) {
			mark_settled(t);
			continue;
		}
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = recv(t->lfd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return IB_ERR_EOF;
		if (listen_input(t, buf, (size_t)n) != IB_OK)
			return IB_ERR_MUXD_PROTOCOL;
	}
}

static void *
listen_main(void *arg)
{
	struct muxd_tr *t = arg;
	struct pollfd pfd;
	int r;

	for (;;) {
		r = listen_loop(t);
		close(t->lfd);
		t->lfd = -1;
		mark_settled(t);
		if (r == IB_ERR_INTERRUPTED)
			return NULL;
		ib_info("usbmuxd at %s went away (%s): its devices are gone", t->desc,
		    ib_strerror(r));
		report_all_detached(t);
		/* Wait for the daemon to come back, as libusbmuxd does. */
		do {
			pfd.fd = t->stop_fd;
			pfd.events = POLLIN;
			if (poll(&pfd, 1, RECONNECT_MS) > 0)
				return NULL;
		} while (start_listen(t) != IB_OK);
		ib_info("usbmuxd at %s is back", t->desc);
	}
}

/* --- transport ops ---------------------------------------------------------- */

static void
tr_close(void *arg)
{
	struct muxd_tr *t = arg;
	struct muxd_stream *s;
	uint64_t one = 1;

	if (t == NULL)
		return;
	if (t->thread_started) {
		(void)!write(t->stop_fd, &one, sizeof(one));
		pthread_join(t->thread, NULL);
	}
	pthread_mutex_lock(&stream_lock);
	for (s = t->streams; s != NULL; s = s->next) {
		s->t = NULL;
		s->err = IB_ERR_NO_DEVICE;
		shutdown(s->fd, SHUT_RDWR);
	}
	t->streams = NULL;
	pthread_mutex_unlock(&stream_lock);
	if (t->lfd >= 0)
		close(t->lfd);
	if (t->stop_fd >= 0)
		close(t->stop_fd);
	ib_muxd_decoder_release(&t->dec);
	free(t->known);
	free(t->gone);
	pthread_cond_destroy(&t->settled_cond);
	pthread_mutex_destroy(&t->report_lock);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* Binary servers (and plist ones without ListDevices) only have the
 * Listen burst: wait until it is over, at most SETTLE_MAX_MS. */
static void
wait_settled(struct muxd_tr *t)
{
	uint64_t deadline = ib_now_ms() + SETTLE_MAX_MS;
	struct timespec ts;

	pthread_mutex_lock(&t->lock);
	while (!t->settled && ib_now_ms() < deadline) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += QUIET_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&t->settled_cond, &t->lock, &ts);
	}
	pthread_mutex_unlock(&t->lock);
}

/* The snapshot that makes the device list complete when open returns. */
static int
initial_devices(struct muxd_tr *t)
{
	struct ib_muxd_msg req, reply;
	size_t i;
	int r;

	if (t->binary) {
		wait_settled(t);
		return IB_OK;
	}
	new_request(t, &req, IB_MUXD_K_LIST_DEVICES, 1);
	if ((r = exchange(t, &req, &reply, NULL)) != IB_OK) {
		/* libusbmuxd falls back to the Listen burst the same way. */
		ib_debug("usbmuxd ListDevices: %s; using the Listen burst", ib_strerror(r));
		wait_settled(t);
		return IB_OK;
	}
	for (i = 0; i < reply.ndevs; i++)
		report_attached(t, &reply.devs[i], 1);
	ib_muxd_msg_clear(&reply);
	return IB_OK;
}

static int
tr_open(struct ib_usbmux *core, const char *spec, void **tp)
{
	struct muxd_tr *t;
	char where[sizeof(t->desc) - 16];
	int r;

	*tp = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return IB_ERR_NOMEM;
	t->core = core;
	t->lfd = -1;
	pthread_mutex_init(&t->lock, NULL);
	pthread_mutex_init(&t->report_lock, NULL);
	pthread_cond_init(&t->settled_cond, NULL);
	ib_muxd_decoder_init(&t->dec);
	ib_muxd_addr_parse(spec != NULL ? spec : getenv("USBMUXD_SOCKET_ADDRESS"), &t->addr);
	ib_muxd_addr_format(&t->addr, where, sizeof(where));
	snprintf(t->desc, sizeof(t->desc), "usbmuxd (%s)", where);
	if ((t->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		r = ib_err_from_errno(errno, "eventfd");
		goto fail;
	}
	if ((r = start_listen(t)) != IB_OK) {
		/* Nobody answers: nothing to offer here (auto probing). */
		if (r == IB_ERR_MUXD_CONNECT)
			r = IB_ERR_TRANSPORT;
		goto fail;
	}
	t->opening = 1;
	if (pthread_create(&t->thread, NULL, listen_main, t) != 0) {
		r = IB_ERR_SYSTEM;
		goto fail;
	}
	t->thread_started = 1;
	if ((r = initial_devices(t)) != IB_OK)
		goto fail;
	pthread_mutex_lock(&t->lock);
	t->opening = 0;
	t->ngone = 0;
	pthread_mutex_unlock(&t->lock);
	ib_debug("transport %s (%s protocol)", t->desc, t->binary ? "binary" : "plist");
	*tp = t;
	return IB_OK;
 fail:
	tr_close(t);
	return r;
}

static const char *
tr_describe(void *arg)
{
	return ((struct muxd_tr *)arg)->desc;
}

static int
stream_error(const struct ib_stream *st)
{
	struct muxd_stream *s = st->impl;
	int err, gone = 0;
	char c;

	pthread_mutex_lock(&stream_lock);
	err = s->err;
	if (err == IB_OK && s->t != NULL)
		gone = !is_known(s->t, s->handle);
	pthread_mutex_unlock(&stream_lock);
	if (err != IB_OK)
		return err;
	if (gone)
		return IB_ERR_NO_DEVICE;
	/* usbmuxd closes the socket when the device resets the stream. */
	if (recv(s->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
		return IB_ERR_MUX_RESET;
	return IB_OK;
}

static const char *
stream_error_text(const struct ib_stream *st)
{
	(void)st;
	return "";
}

static void
stream_close(struct ib_stream *st)
{
	struct muxd_stream *s = st->impl, **pp;

	pthread_mutex_lock(&stream_lock);
	if (s->t != NULL) {
		for (pp = &s->t->streams; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == s) {
				*pp = s->next;
				break;
			}
		}
	}
	pthread_mutex_unlock(&stream_lock);
	close(s->fd);
	free(s);
	st->impl = NULL;
	st->fd = -1;
}

static const struct ib_stream_ops muxd_stream_ops = {
	.error = stream_error,
	.error_text = stream_error_text,
	.close = stream_close,
};

static int
tr_connect(void *arg, const struct ib_device *dev, uint16_t port, struct ib_stream **sp)
{
	struct muxd_tr *t = arg;
	struct ib_muxd_msg req, reply;
	struct ib_stream *st = NULL;
	struct muxd_stream *s = NULL;
	int fd = -1, r, attempt;

	*sp = NULL;
	for (attempt = 0; attempt < 2; attempt++) {
		new_request(t, &req, IB_MUXD_K_CONNECT, 0);
		req.device_id = dev->handle;
		req.port = port;
		r = exchange(t, &req, &reply, &fd);
		ib_muxd_msg_clear(&reply);
		if (r == IB_OK || !fall_back_to_binary(t, &req, r))
			break;
	}
	if (r == IB_ERR_MUXD_BADDEV && !is_known(t, dev->handle))
		r = IB_ERR_NO_DEVICE;
	if (r != IB_OK) {
		ib_debug("usbmuxd connect to device %u port %u: %s", dev->handle, port,
		    ib_strerror(r));
		return r;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL || (s = calloc(1, sizeof(*s))) == NULL) {
		free(st);
		close(fd);
		return IB_ERR_NOMEM;
	}
	s->fd = fd;
	s->handle = dev->handle;
	st->fd = fd;
	st->ops = &muxd_stream_ops;
	st->impl = s;
	pthread_mutex_lock(&stream_lock);
	s->t = t;
	s->next = t->streams;
	t->streams = s;
	pthread_mutex_unlock(&stream_lock);
	*sp = st;
	return IB_OK;
}

static int
record_request(struct muxd_tr *t, enum ib_muxd_kind kind, const char *udid,
    struct ib_muxd_msg *req)
{
	if (udid == NULL || strlen(udid) == 0 || strlen(udid) > IB_UDID_MAX)
		return IB_ERR_INVALID_ARG;
	/* Pair records exist only in the plist protocol. */
	new_request(t, req, kind, 1);
	snprintf(req->record_id, sizeof(req->record_id), "%s", udid);
	return IB_OK;
}

static int
tr_read_pair_record(void *arg, const char *udid, uint8_t **datap, size_t *lenp)
{
	struct ib_muxd_msg req, reply;
	int r;

	*datap = NULL;
	*lenp = 0;
	if ((r = record_request(arg, IB_MUXD_K_READ_PAIR_RECORD, udid, &req)) != IB_OK ||
	    (r = exchange(arg, &req, &reply, NULL)) != IB_OK)
		return r;
	*datap = reply.data;
	*lenp = reply.data_len;
	reply.data = NULL;
	ib_muxd_msg_clear(&reply);
	return IB_OK;
}

static int
tr_save_pair_record(void *arg, const char *udid, const uint8_t *data, size_t len,
    uint32_t handle)
{
	struct ib_muxd_msg req, reply;
	int r;

	if ((r = record_request(arg, IB_MUXD_K_SAVE_PAIR_RECORD, udid, &req)) != IB_OK)
		return r;
	req.data = (uint8_t *)(uintptr_t)data;
	req.data_len = len;
	req.has_device_id = handle != 0;
	req.device_id = handle;
	if ((r = exchange(arg, &req, &reply, NULL)) == IB_OK)
		ib_muxd_msg_clear(&reply);
	return r;
}

static int
tr_delete_pair_record(void *arg, const char *udid)
{
	struct ib_muxd_msg req, reply;
	int r;

	if ((r = record_request(arg, IB_MUXD_K_DELETE_PAIR_RECORD, udid, &req)) != IB_OK)
		return r;
	if ((r = exchange(arg, &req, &reply, NULL)) == IB_OK)
		ib_muxd_msg_clear(&reply);
	return r;
}

static int
tr_read_buid(void *arg, char **buidp)
{
	struct ib_muxd_msg req, reply;
	int r;

	*buidp = NULL;
	new_request(arg, &req, IB_MUXD_K_READ_BUID, 1);
	if ((r = exchange(arg, &req, &reply, NULL)) != IB_OK)
		return r;
	if ((*buidp = strdup(reply.buid)) == NULL)
		r = IB_ERR_NOMEM;
	ib_muxd_msg_clear(&reply);
	return r;
}

const struct ib_transport_ops ib_transport_usbmuxd = {
	.name = "usbmuxd",
	.open = tr_open,
	.close = tr_close,
	.describe = tr_describe,
	.connect = tr_connect,
	.read_pair_record = tr_read_pair_record,
	.save_pair_record = tr_save_pair_record,
	.delete_pair_record = tr_delete_pair_record,
	.read_buid = tr_read_buid,
};
