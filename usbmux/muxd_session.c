/*
 * muxd_session.c - per-client state machine of the usbmuxd-compatible
 * server (usbmux.md 3.7), without I/O. See muxd_session.h.
 */
#include "muxd_session.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Device events that arrive while a Listen is being set up (between the
 * device snapshot and the switch to LISTEN); a handful in practice. */
#define PENDING_MAX 256u

struct pending_ev {
	int attached;
	struct ib_device dev;
};

struct muxd_session {
	struct muxd_host host;
	unsigned number;
	pthread_mutex_t lock;           /* everything below but dec */
	struct ib_muxd_decoder dec;     /* client thread only */
	enum muxd_state state;
	int plist;                      /* client sent a plist: answer in plist */
	int listen_pending;
	int overflowed;
	struct ib_buf out;              /* capped at IB_MUXD_CLIENT_BACKLOG */
	/* Devices this listener has been told about (Attached sent). */
	uint32_t *announced;
	size_t nannounced, cap_announced;
	struct pending_ev *pend;
	size_t npend;
	/* CONNECTED */
	int stream_fd;
	void *stream;
	int stream_taken;
	/* ListListeners information from the client's requests. */
	char prog_name[IB_MUXD_NAME_MAX + 1];
	char bundle_id[IB_MUXD_NAME_MAX + 1];
	uint64_t lib_version;
};

int
muxd_session_new(const struct muxd_host *host, unsigned number, struct muxd_session **sp)
{
	struct muxd_session *s;

	*sp = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return IB_ERR_NOMEM;
	s->host = *host;
	s->number = number;
	s->state = MUXD_COMMAND;
	s->stream_fd = -1;
	if ((s->pend = calloc(PENDING_MAX, sizeof(*s->pend))) == NULL) {
		free(s);
		return IB_ERR_NOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	ib_muxd_decoder_init(&s->dec);
	ib_buf_init(&s->out, IB_MUXD_CLIENT_BACKLOG);
	*sp = s;
	return IB_OK;
}

void
muxd_session_free(struct muxd_session *s)
{
	if (s == NULL)
		return;
	if (s->stream != NULL && !s->stream_taken)
		s->host.be->close_stream(s->host.be_ctx, s->stream);
	ib_muxd_decoder_release(&s->dec);
	ib_buf_free(&s->out);
	free(s->announced);
	free(s->pend);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

enum muxd_state
muxd_session_state(struct muxd_session *s, size_t *pendingp, int *overflowedp)
{
	enum muxd_state st;

	pthread_mutex_lock(&s->lock);
	st = s->state;
	if (pendingp != NULL)
		*pendingp = ib_buf_len(&s->out);
	if (overflowedp != NULL)
		*overflowedp = s->overflowed;
	pthread_mutex_unlock(&s->lock);
	return st;
}

size_t
muxd_session_want(struct muxd_session *s)
{
	enum muxd_state st = muxd_session_state(s, NULL, NULL);

	if (st != MUXD_COMMAND && st != MUXD_LISTEN)
		return 0;
	return ib_muxd_decoder_want(&s->dec);
}

/* --- output (lock held) --------------------------------------------------- */

static void
queue_msg(struct muxd_session *s, struct ib_muxd_msg *m)
{
	int r;

	m->plist = s->plist;
	m->version = s->plist ? 1 : 0;
	if ((r = ib_muxd_encode(&s->out, m)) != IB_OK) {
		/* Backlog full (a listener that does not read) or a reply we
		 * cannot build: the server drops this client. */
		ib_debug("client %u: cannot queue %s: %s", s->number,
		    ib_muxd_kind_name(m->kind), ib_strerror(r));
		s->overflowed = 1;
	}
}

static void
queue_result(struct muxd_session *s, uint32_t tag, uint32_t number)
{
	struct ib_muxd_msg m;

	ib_muxd_msg_init(&m, IB_MUXD_K_RESULT, s->plist, tag);
	m.number = number;
	queue_msg(s, &m);
}

static void
reply_result(struct muxd_session *s, uint32_t tag, uint32_t number)
{
	pthread_mutex_lock(&s->lock);
	queue_result(s, tag, number);
	pthread_mutex_unlock(&s->lock);
}

static int
announced_index(const struct muxd_session *s, uint32_t handle, size_t *ip)
{
	size_t i;

	for (i = 0; i < s->nannounced; i++) {
		if (s->announced[i] == handle) {
			*ip = i;
			return 1;
		}
	}
	return 0;
}

/* Tell a listener about a device once; dedupes the snapshot against live
 * events. Returns 1 when output was queued. */
static int
apply_event(struct muxd_session *s, int attached, const struct ib_device *dev)
{
	struct ib_muxd_msg m;
	uint32_t *na;
	size_t i, ncap;
	int known = announced_index(s, dev->handle, &i);

	if (attached == known)
		return 0;
	if (attached) {
		if (s->nannounced == s->cap_announced) {
			ncap = s->cap_announced ? s->cap_announced * 2 : 8;
			if (ncap > IB_MUXD_MAX_DEVICES ||
			    (na = realloc(s->announced, ncap * sizeof(*na))) == NULL) {
				s->overflowed = 1;
				return 0;
			}
			s->announced = na;
			s->cap_announced = ncap;
		}
		s->announced[s->nannounced++] = dev->handle;
		ib_muxd_msg_init(&m, IB_MUXD_K_ATTACHED, s->plist, 0);
		m.dev = *dev;
	} else {
		s->announced[i] = s->announced[--s->nannounced];
		ib_muxd_msg_init(&m, IB_MUXD_K_DETACHED, s->plist, 0);
		m.device_id = dev->handle;
	}
	queue_msg(s, &m);
	return 1;
}

/* --- commands ----------------------------------------------------------- */

static int
find_device(struct muxd_session *s, uint32_t id, struct ib_device *out)
{
	struct ib_device *devs = NULL;
	size_t i, n = 0;
	int r;

	if ((r = s->host.be->list(s->host.be_ctx, &devs, &n)) != IB_OK)
		return r;
	r = IB_ERR_DEVICE_NOT_FOUND;
	for (i = 0; i < n; i++) {
		if (devs[i].handle == id) {
			*out = devs[i];
			r = IB_OK;
			break;
		}
	}
	free(devs);
	return r;
}

static void
do_listen(struct muxd_session *s, const struct ib_muxd_msg *req)
{
	struct ib_device *devs = NULL;
	size_t i, n = 0;
	int r;

	/* Events from now on are kept until the snapshot is sent, then
	 * replayed through the dedupe: nothing is lost or told twice. */
	pthread_mutex_lock(&s->lock);
	s->listen_pending = 1;
	pthread_mutex_unlock(&s->lock);
	r = s->host.be->list(s->host.be_ctx, &devs, &n);
	pthread_mutex_lock(&s->lock);
	s->listen_pending = 0;
	if (r != IB_OK) {
		s->npend = 0;
		queue_result(s, req->tag, IB_MUXD_RESULT_BADCOMMAND);
		goto out;
	}
	queue_result(s, req->tag, IB_MUXD_RESULT_OK);
	for (i = 0; i < n; i++)
		(void)apply_event(s, 1, &devs[i]);
	for (i = 0; i < s->npend; i++)
		(void)apply_event(s, s->pend[i].attached, &s->pend[i].dev);
	s->npend = 0;
	s->state = MUXD_LISTEN;
	ib_debug("client %u: listening (%zu devices)", s->number, n);
 out:
	pthread_mutex_unlock(&s->lock);
	free(devs);
}

static uint32_t
connect_result(int r)
{
	switch (r) {
	case IB_ERR_NO_DEVICE:
	case IB_ERR_DEVICE_NOT_FOUND:
	case IB_ERR_MUXD_BADDEV:
		return IB_MUXD_RESULT_BADDEV;
	default:
		/* Refused, timed out, out of ports: usbmuxd says 3. */
		return IB_MUXD_RESULT_CONNREFUSED;
	}
}

static void
do_connect(struct muxd_session *s, const struct ib_muxd_msg *req)
{
	struct ib_device dev;
	void *h = NULL;
	int fd = -1, r;

	/* usbmuxd checks DeviceID before PortNumber. */
	if (!req->has_device_id) {
		reply_result(s, req->tag, IB_MUXD_RESULT_BADDEV);
		return;
	}
	if (!req->has_port) {
		reply_result(s, req->tag, IB_MUXD_RESULT_BADCOMMAND);
		return;
	}
	if ((r = find_device(s, req->device_id, &dev)) == IB_OK)
		r = s->host.be->connect(s->host.be_ctx, &dev, req->port, &fd, &h);
	ib_debug("client %u: connect device %u port %u: %s", s->number, req->device_id,
	    req->port, ib_strerror(r));
	pthread_mutex_lock(&s->lock);
	if (r == IB_OK) {
		s->stream_fd = fd;
		s->stream = h;
		queue_result(s, req->tag, IB_MUXD_RESULT_OK);
		s->state = MUXD_CONNECTED;
	} else {
		queue_result(s, req->tag, connect_result(r));
	}
	pthread_mutex_unlock(&s->lock);
}

/* Pair-record failures travel as errno values (usbmux.md 3.6). */
static uint32_t
errno_of(int r)
{
	switch (r) {
	case IB_OK:
		return 0;
	case IB_ERR_NOT_FOUND:
		return ENOENT;
	case IB_ERR_INVALID_ARG:
	case IB_ERR_FORMAT:
	case IB_ERR_TOO_LARGE:
	case IB_ERR_PLIST_PARSE:
	case IB_ERR_PLIST_TYPE:
	case IB_ERR_PLIST_DEPTH:
	case IB_ERR_PLIST_MISSING:
	case IB_ERR_PLIST_TOO_MANY:
		return EINVAL;
	default:
		return EIO;
	}
}

/* UDIDs equal, ignoring the hyphen of 24-character serials. */
static int
udid_eq(const char *a, const char *b)
{
	for (;;) {
		while (*a == '-')
			a++;
		while (*b == '-')
			b++;
		if (*a != *b)
			return 0;
		if (*a == '\0')
			return 1;
		a++;
		b++;
	}
}

static void
do_pair_record(struct muxd_session *s, const struct ib_muxd_msg *req)
{
	const struct ib_muxd_backend *be = s->host.be;
	struct ib_muxd_msg m;
	struct ib_device dev;
	uint8_t *data = NULL;
	size_t len = 0;
	int r = IB_ERR_INVALID_ARG;

	if (!req->has_record_id)
		goto reply;
	switch (req->kind) {
	case IB_MUXD_K_READ_PAIR_RECORD:
		if ((r = be->read_pair_record(s->host.be_ctx, req->record_id, &data, &len)) != IB_OK)
			goto reply;
		ib_muxd_msg_init(&m, IB_MUXD_K_PAIR_RECORD_DATA, s->plist, req->tag);
		m.data = data;
		m.data_len = len;
		pthread_mutex_lock(&s->lock);
		queue_msg(s, &m);
		pthread_mutex_unlock(&s->lock);
		explicit_bzero(data, len);
		free(data);
		return;
	case IB_MUXD_K_SAVE_PAIR_RECORD:
		if (!req->has_data)
			goto reply;
		r = be->save_pair_record(s->host.be_ctx, req->record_id, req->data, req->data_len);
		/* Listeners hear Paired when the DeviceID names a connected
		 * device with that UDID, as usbmuxd does. */
		if (r == IB_OK && req->has_device_id && req->device_id != 0 &&
		    find_device(s, req->device_id, &dev) == IB_OK &&
		    udid_eq(dev.udid, req->record_id) && s->host.paired != NULL)
			s->host.paired(s->host.hctx, req->device_id);
		break;
	default:
		r = be->delete_pair_record(s->host.be_ctx, req->record_id);
		break;
	}
 reply:
	ib_debug("client %u: %s: %s", s->number, ib_muxd_kind_name(req->kind), ib_strerror(r));
	reply_result(s, req->tag, errno_of(r));
}

static void
do_list(struct muxd_session *s, const struct ib_muxd_msg *req)
{
	struct ib_muxd_msg m;
	struct ib_device *devs = NULL;
	struct ib_muxd_listener *ls = NULL;
	char *buid = NULL;
	size_t n = 0;
	int r;

	ib_muxd_msg_init(&m, req->kind == IB_MUXD_K_LIST_DEVICES ? IB_MUXD_K_DEVICE_LIST :
	    req->kind == IB_MUXD_K_LIST_LISTENERS ? IB_MUXD_K_LISTENER_LIST : IB_MUXD_K_BUID,
	    s->plist, req->tag);
	if (req->kind == IB_MUXD_K_LIST_DEVICES) {
		r = s->host.be->list(s->host.be_ctx, &devs, &n);
		m.devs = devs;
		m.ndevs = n;
	} else if (req->kind == IB_MUXD_K_LIST_LISTENERS) {
		r = s->host.listeners(s->host.hctx, &ls, &n);
		m.listeners = ls;
		m.nlisteners = n;
	} else {
		r = s->host.be->read_buid(s->host.be_ctx, &buid);
		if (r == IB_OK && (buid[0] == '\0' || strlen(buid) > IB_MUXD_NAME_MAX))
			r = IB_ERR_FORMAT;
		if (r == IB_OK)
			snprintf(m.buid, sizeof(m.buid), "%s", buid);
	}
	pthread_mutex_lock(&s->lock);
	if (r == IB_OK)
		queue_msg(s, &m);
	else
		queue_result(s, req->tag, req->kind == IB_MUXD_K_READ_BUID ? EIO :
		    IB_MUXD_RESULT_BADCOMMAND);
	pthread_mutex_unlock(&s->lock);
	free(devs);
	free(ls);
	free(buid);
}

static void
set_state(struct muxd_session *s, enum muxd_state st)
{
	pthread_mutex_lock(&s->lock);
	s->state = st;
	pthread_mutex_unlock(&s->lock);
}

/* Replies that carry no MessageType: from a client they are a plist
 * without MessageType, which usbmuxd answers by closing. */
static int
is_untyped_reply(enum ib_muxd_kind k)
{
	return k == IB_MUXD_K_DEVICE_LIST || k == IB_MUXD_K_LISTENER_LIST ||
	    k == IB_MUXD_K_BUID || k == IB_MUXD_K_PAIR_RECORD_DATA;
}

static void
dispatch(struct muxd_session *s, const struct ib_muxd_msg *m, int r)
{
	if (muxd_session_state(s, NULL, NULL) == MUXD_LISTEN) {
		/* A listener takes no commands (usbmux.md 3.7). */
		pthread_mutex_lock(&s->lock);
		queue_result(s, m->tag, IB_MUXD_RESULT_BADCOMMAND);
		s->state = MUXD_CLOSED;
		pthread_mutex_unlock(&s->lock);
		return;
	}
	if (r == IB_ERR_MUXD_BADVERSION) {
		reply_result(s, m->tag, IB_MUXD_RESULT_BADVERSION);
		return;
	}
	if (r != IB_OK || (m->plist && is_untyped_reply(m->kind))) {
		/* usbmuxd drops a client whose plist does not parse or has no
		 * MessageType; a malformed binary message gets BADCOMMAND. */
		ib_debug("client %u: bad message: %s %s", s->number, ib_strerror(r),
		    ib_err_detail());
		if (m->plist)
			set_state(s, MUXD_CLOSED);
		else
			reply_result(s, m->tag, IB_MUXD_RESULT_BADCOMMAND);
		return;
	}
	if (m->plist) {
		pthread_mutex_lock(&s->lock);
		s->plist = 1;
		snprintf(s->prog_name, sizeof(s->prog_name), "%s", m->prog_name);
		snprintf(s->bundle_id, sizeof(s->bundle_id), "%s", m->bundle_id);
		s->lib_version = m->lib_version;
		pthread_mutex_unlock(&s->lock);
	}
	switch (m->kind) {
	case IB_MUXD_K_LISTEN:
		do_listen(s, m);
		break;
	case IB_MUXD_K_CONNECT:
		do_connect(s, m);
		break;
	case IB_MUXD_K_LIST_DEVICES:
	case IB_MUXD_K_LIST_LISTENERS:
	case IB_MUXD_K_READ_BUID:
		do_list(s, m);
		break;
	case IB_MUXD_K_READ_PAIR_RECORD:
	case IB_MUXD_K_SAVE_PAIR_RECORD:
	case IB_MUXD_K_DELETE_PAIR_RECORD:
		do_pair_record(s, m);
		break;
	default:
		ib_debug("client %u: unknown command %s", s->number,
		    m->message_type[0] ? m->message_type : ib_muxd_kind_name(m->kind));
		reply_result(s, m->tag, IB_MUXD_RESULT_BADCOMMAND);
		break;
	}
}

void
muxd_session_input(struct muxd_session *s, const uint8_t *p, size_t n, size_t *usedp)
{
	struct ib_muxd_msg m;
	enum muxd_state st;
	size_t used = 0, u;
	int r;

	while (used < n) {
		st = muxd_session_state(s, NULL, NULL);
		if (st != MUXD_COMMAND && st != MUXD_LISTEN)
			break;
		if (ib_muxd_decoder_feed(&s->dec, p + used, n - used, &u) != IB_OK) {
			ib_debug("client %u: %s", s->number, ib_err_detail());
			set_state(s, MUXD_CLOSED);
			used += u;
			break;
		}
		used += u;
		if (ib_muxd_decoder_want(&s->dec) != 0)
			continue;
		r = ib_muxd_decoder_next(&s->dec, &m);
		dispatch(s, &m, r);
		ib_muxd_msg_clear(&m);
	}
	*usedp = used;
}

/* --- called from other threads -------------------------------------------- */

int
muxd_session_notify(struct muxd_session *s, int attached, const struct ib_device *dev)
{
	int queued = 0;

	pthread_mutex_lock(&s->lock);
	if (s->state == MUXD_LISTEN) {
		queued = apply_event(s, attached != 0, dev);
	} else if (s->listen_pending) {
		if (s->npend == PENDING_MAX) {
			s->overflowed = 1;
		} else {
			s->pend[s->npend].attached = attached != 0;
			s->pend[s->npend].dev = *dev;
			s->npend++;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return queued;
}

int
muxd_session_notify_paired(struct muxd_session *s, uint32_t device_id)
{
	struct ib_muxd_msg m;
	size_t i;
	int queued = 0;

	pthread_mutex_lock(&s->lock);
	if (s->state == MUXD_LISTEN && announced_index(s, device_id, &i)) {
		ib_muxd_msg_init(&m, IB_MUXD_K_PAIRED, s->plist, 0);
		m.device_id = device_id;
		queue_msg(s, &m);
		queued = 1;
	}
	pthread_mutex_unlock(&s->lock);
	return queued;
}

int
muxd_session_output(struct muxd_session *s, muxd_write_fn write_fn, void *arg)
{
	ssize_t n;
	int r = IB_OK;

	pthread_mutex_lock(&s->lock);
	while (ib_buf_len(&s->out) > 0) {
		n = write_fn(arg, ib_buf_ptr(&s->out), ib_buf_len(&s->out));
		if (n < 0) {
			r = (int)n;
			break;
		}
		if (n == 0)
			break;
		(void)ib_buf_consume(&s->out, (size_t)n);
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

int
muxd_session_take_stream(struct muxd_session *s, int *fdp, void **hp)
{
	int r = IB_ERR_STATE;

	*fdp = -1;
	*hp = NULL;
	pthread_mutex_lock(&s->lock);
	if (s->state == MUXD_CONNECTED && !s->stream_taken) {
		*fdp = s->stream_fd;
		*hp = s->stream;
		s->stream_taken = 1;
		r = IB_OK;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

int
muxd_session_listener_info(struct muxd_session *s, struct ib_muxd_listener *l)
{
	int listening;

	memset(l, 0, sizeof(*l));
	pthread_mutex_lock(&s->lock);
	listening = s->state == MUXD_LISTEN;
	if (listening) {
		snprintf(l->prog_name, sizeof(l->prog_name), "%s",
		    s->prog_name[0] != '\0' ? s->prog_name : "unknown");
		snprintf(l->id, sizeof(l->id), "%u-%.48s", s->number, l->prog_name);
		snprintf(l->bundle_id, sizeof(l->bundle_id), "%s", s->bundle_id);
		l->version = s->lib_version;
	}
	pthread_mutex_unlock(&s->lock);
	return listening;
}
