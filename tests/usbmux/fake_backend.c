/*
 * fake_backend.c - see fake_backend.h.
 */
#include "fake_backend.h"
#include "ib_err.h"
#include "ib_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FAKE_MAX_DEVS 64
#define FAKE_MAX_SUBS 8
#define FAKE_MAX_RECORDS 16

struct fake_stream {
	struct fake_backend *fb;
	int fd;                 /* the server's end */
	int peer;               /* the service's end */
	uint16_t port;
	pthread_t thread;
};

struct fake_record {
	char udid[IB_UDID_MAX + 1];
	uint8_t *data;
	size_t len;
};

struct fake_backend {
	pthread_mutex_t lock;
	pthread_mutex_t event_lock;     /* serialises subscriber calls */
	struct ib_device devs[FAKE_MAX_DEVS];
	size_t ndevs;
	uint32_t next_handle;
	struct {
		ib_usbmux_event_fn fn;
		void *arg;
	} subs[FAKE_MAX_SUBS];
	struct fake_record records[FAKE_MAX_RECORDS];
	uint16_t last_port;
	unsigned open_streams;
	uint64_t sunk;
	void (*on_list)(void *);
	void *on_list_arg;
};

struct fake_backend *
fake_backend_new(void)
{
	struct fake_backend *fb = calloc(1, sizeof(*fb));

	if (fb == NULL)
		return NULL;
	pthread_mutex_init(&fb->lock, NULL);
	pthread_mutex_init(&fb->event_lock, NULL);
	return fb;
}

void
fake_backend_free(struct fake_backend *fb)
{
	size_t i;

	if (fb == NULL)
		return;
	for (i = 0; i < FAKE_MAX_RECORDS; i++)
		free(fb->records[i].data);
	pthread_mutex_destroy(&fb->lock);
	pthread_mutex_destroy(&fb->event_lock);
	free(fb);
}

static void
notify(struct fake_backend *fb, int attached, const struct ib_device *dev)
{
	size_t i;

	pthread_mutex_lock(&fb->event_lock);
	for (i = 0; i < FAKE_MAX_SUBS; i++)
		if (fb->subs[i].fn != NULL)
			fb->subs[i].fn(fb->subs[i].arg, attached, dev);
	pthread_mutex_unlock(&fb->event_lock);
}

uint32_t
fake_backend_attach(struct fake_backend *fb, const char *udid)
{
	struct ib_device d;

	memset(&d, 0, sizeof(d));
	pthread_mutex_lock(&fb->lock);
	d.handle = ++fb->next_handle;
	snprintf(d.udid, sizeof(d.udid), "%s", udid);
	d.product_id = 0x12a8;
	d.location = 0x10000 | d.handle;
	d.speed_bps = 480000000;
	d.conn = IB_CONN_SIM;
	snprintf(d.conn_detail, sizeof(d.conn_detail), "USB");
	if (fb->ndevs < FAKE_MAX_DEVS)
		fb->devs[fb->ndevs++] = d;
	pthread_mutex_unlock(&fb->lock);
	notify(fb, 1, &d);
	return d.handle;
}

void
fake_backend_detach(struct fake_backend *fb, uint32_t handle)
{
	struct ib_device d;
	size_t i;
	int found = 0;

	pthread_mutex_lock(&fb->lock);
	for (i = 0; i < fb->ndevs; i++) {
		if (fb->devs[i].handle == handle) {
			d = fb->devs[i];
			fb->devs[i] = fb->devs[--fb->ndevs];
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&fb->lock);
	if (found)
		notify(fb, 0, &d);
}

uint64_t
fake_backend_stat(struct fake_backend *fb, enum fake_stat what)
{
	uint64_t v;

	pthread_mutex_lock(&fb->lock);
	v = what == FAKE_LAST_PORT ? fb->last_port :
	    what == FAKE_OPEN_STREAMS ? fb->open_streams : fb->sunk;
	pthread_mutex_unlock(&fb->lock);
	return v;
}

void
fake_backend_on_list(struct fake_backend *fb, void (*fn)(void *arg), void *arg)
{
	fb->on_list = fn;
	fb->on_list_arg = arg;
}

/* --- ops ------------------------------------------------------------------ */

static int
fb_list(void *ctx, struct ib_device **devsp, size_t *np)
{
	struct fake_backend *fb = ctx;
	struct ib_device *d;

	if (fb->on_list != NULL)
		fb->on_list(fb->on_list_arg);
	pthread_mutex_lock(&fb->lock);
	d = malloc((fb->ndevs + 1) * sizeof(*d));
	if (d != NULL)
		memcpy(d, fb->devs, fb->ndevs * sizeof(*d));
	*np = fb->ndevs;
	pthread_mutex_unlock(&fb->lock);
	*devsp = d;
	return d != NULL ? IB_OK : IB_ERR_NOMEM;
}

static void *
service_main(void *arg)
{
	struct fake_stream *fs = arg;
	uint8_t buf[65536];
	ssize_t n, w, off;

	if (fs->port == 19) {
		/* Source: FAKE_SOURCE_BYTES of pattern, then the device closes. */
		size_t sent = 0, i;

		while (sent < FAKE_SOURCE_BYTES) {
			n = (ssize_t)IB_MIN(sizeof(buf), FAKE_SOURCE_BYTES - sent);
			for (i = 0; i < (size_t)n; i++)
				buf[i] = fake_source_byte(sent + i);
			for (off = 0; off < n; off += w)
				if ((w = send(fs->peer, buf + off, (size_t)(n - off), MSG_NOSIGNAL)) <= 0)
					return NULL;
			sent += (size_t)n;
		}
		shutdown(fs->peer, SHUT_WR);
		return NULL;
	}
	while ((n = read(fs->peer, buf, sizeof(buf))) > 0) {
		if (fs->port == 9) {
			pthread_mutex_lock(&fs->fb->lock);
			fs->fb->sunk += (uint64_t)n;
			pthread_mutex_unlock(&fs->fb->lock);
			continue;
		}
		for (off = 0; off < n; off += w)
			if ((w = send(fs->peer, buf + off, (size_t)(n - off), MSG_NOSIGNAL)) <= 0)
				return NULL;
	}
	return NULL;
}

static int
fb_connect(void *ctx, const struct ib_device *dev, uint16_t port, int *fdp, void **hp)
{
	struct fake_backend *fb = ctx;
	struct fake_stream *fs;
	int sv[2], known = 0;
	size_t i;

	*fdp = -1;
	*hp = NULL;
	pthread_mutex_lock(&fb->lock);
	fb->last_port = port;
	for (i = 0; i < fb->ndevs; i++)
		known |= fb->devs[i].handle == dev->handle;
	pthread_mutex_unlock(&fb->lock);
	if (!known)
		return IB_ERR_NO_DEVICE;
	if (port != 7 && port != 9 && port != 19)
		return IB_ERR_MUX_REFUSED;
	if ((fs = calloc(1, sizeof(*fs))) == NULL)
		return IB_ERR_NOMEM;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		free(fs);
		return IB_ERR_SYSTEM;
	}
	fs->fb = fb;
	fs->fd = sv[0];
	fs->peer = sv[1];
	fs->port = port;
	if (pthread_create(&fs->thread, NULL, service_main, fs) != 0) {
		close(sv[0]);
		close(sv[1]);
		free(fs);
		return IB_ERR_SYSTEM;
	}
	pthread_mutex_lock(&fb->lock);
	fb->open_streams++;
	pthread_mutex_unlock(&fb->lock);
	*fdp = fs->fd;
	*hp = fs;
	return IB_OK;
}

static void
fb_close_stream(void *ctx, void *h)
{
	struct fake_backend *fb = ctx;
	struct fake_stream *fs = h;

	shutdown(fs->fd, SHUT_RDWR);
	pthread_join(fs->thread, NULL);
	close(fs->fd);
	close(fs->peer);
	free(fs);
	pthread_mutex_lock(&fb->lock);
	fb->open_streams--;
	pthread_mutex_unlock(&fb->lock);
}

static struct fake_record *
find_record(struct fake_backend *fb, const char *udid, int create)
{
	size_t i;

	for (i = 0; i < FAKE_MAX_RECORDS; i++)
		if (fb->records[i].data != NULL && strcmp(fb->records[i].udid, udid) == 0)
			return &fb->records[i];
	if (!create)
		return NULL;
	for (i = 0; i < FAKE_MAX_RECORDS; i++) {
		if (fb->records[i].data == NULL) {
			snprintf(fb->records[i].udid, sizeof(fb->records[i].udid), "%s", udid);
			return &fb->records[i];
		}
	}
	return NULL;
}

static int
fb_read_pair_record(void *ctx, const char *udid, uint8_t **datap, size_t *lenp)
{
	struct fake_backend *fb = ctx;
	struct fake_record *rec;
	int r = IB_ERR_NOT_FOUND;

	*datap = NULL;
	*lenp = 0;
	pthread_mutex_lock(&fb->lock);
	if ((rec = find_record(fb, udid, 0)) != NULL) {
		if ((*datap = malloc(rec->len)) != NULL) {
			memcpy(*datap, rec->data, rec->len);
			*lenp = rec->len;
			r = IB_OK;
		} else {
			r = IB_ERR_NOMEM;
		}
	}
	pthread_mutex_unlock(&fb->lock);
	return r;
}

static int
fb_save_pair_record(void *ctx, const char *udid, const uint8_t *data, size_t len)
{
	struct fake_backend *fb = ctx;
	struct fake_record *rec;
	uint8_t *copy;
	int r = IB_OK;

	/* Like the directory store: a record is a plist, at least 8 bytes. */
	if (len < 8 || strncmp(udid, "bad", 3) == 0)
		return IB_ERR_INVALID_ARG;
	if ((copy = malloc(len)) == NULL)
		return IB_ERR_NOMEM;
	memcpy(copy, data, len);
	pthread_mutex_lock(&fb->lock);
	if ((rec = find_record(fb, udid, 1)) != NULL) {
		free(rec->data);
		rec->data = copy;
		rec->len = len;
	} else {
		free(copy);
		r = IB_ERR_PAIR_RECORD_WRITE;
	}
	pthread_mutex_unlock(&fb->lock);
	return r;
}

static int
fb_delete_pair_record(void *ctx, const char *udid)
{
	struct fake_backend *fb = ctx;
	struct fake_record *rec;
	int r = IB_ERR_NOT_FOUND;

	pthread_mutex_lock(&fb->lock);
	if ((rec = find_record(fb, udid, 0)) != NULL) {
		free(rec->data);
		memset(rec, 0, sizeof(*rec));
		r = IB_OK;
	}
	pthread_mutex_unlock(&fb->lock);
	return r;
}

static int
fb_read_buid(void *ctx, char **buidp)
{
	(void)ctx;
	*buidp = strdup(FAKE_BUID);
	return *buidp != NULL ? IB_OK : IB_ERR_NOMEM;
}

static int
fb_subscribe(void *ctx, ib_usbmux_event_fn fn, void *arg, int *idp)
{
	struct fake_backend *fb = ctx;
	int i;

	pthread_mutex_lock(&fb->event_lock);
	for (i = 0; i < FAKE_MAX_SUBS; i++) {
		if (fb->subs[i].fn == NULL) {
			fb->subs[i].fn = fn;
			fb->subs[i].arg = arg;
			*idp = i;
			pthread_mutex_unlock(&fb->event_lock);
			return IB_OK;
		}
	}
	pthread_mutex_unlock(&fb->event_lock);
	return IB_ERR_BUSY;
}

static void
fb_unsubscribe(void *ctx, int id)
{
	struct fake_backend *fb = ctx;

	pthread_mutex_lock(&fb->event_lock);
	if (id >= 0 && id < FAKE_MAX_SUBS)
		fb->subs[id].fn = NULL;
	pthread_mutex_unlock(&fb->event_lock);
}

static const struct ib_muxd_backend fake_ops = {
	.list = fb_list,
	.connect = fb_connect,
	.close_stream = fb_close_stream,
	.read_pair_record = fb_read_pair_record,
	.save_pair_record = fb_save_pair_record,
	.delete_pair_record = fb_delete_pair_record,
	.read_buid = fb_read_buid,
	.subscribe = fb_subscribe,
	.unsubscribe = fb_unsubscribe,
};

const struct ib_muxd_backend *
fake_backend_ops(void)
{
	return &fake_ops;
}
