/*
 * fake_core.c - see fake_core.h.
 */
#include "fake_core.h"
#include "ib_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define FAKE_CORE_EVENTS 4096

struct ib_usbmux {
	pthread_mutex_t lock;
	struct {
		int attached;
		struct ib_device dev;
	} ev[FAKE_CORE_EVENTS];
	size_t nev;
	uint32_t next_handle;
};

struct ib_usbmux *
fake_core_new(void)
{
	struct ib_usbmux *c = calloc(1, sizeof(*c));

	if (c != NULL)
		pthread_mutex_init(&c->lock, NULL);
	return c;
}

void
fake_core_free(struct ib_usbmux *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void
record(struct ib_usbmux *c, int attached, const struct ib_device *dev)
{
	pthread_mutex_lock(&c->lock);
	if (c->nev < FAKE_CORE_EVENTS) {
		c->ev[c->nev].attached = attached;
		c->ev[c->nev].dev = *dev;
		c->nev++;
	}
	pthread_mutex_unlock(&c->lock);
}

void
ib_usbmux_core_attached(struct ib_usbmux *core, const struct ib_device *dev)
{
	record(core, 1, dev);
}

void
ib_usbmux_core_detached(struct ib_usbmux *core, uint32_t handle)
{
	struct ib_device d;

	memset(&d, 0, sizeof(d));
	d.handle = handle;
	record(core, 0, &d);
}

uint32_t
ib_usbmux_core_next_handle(struct ib_usbmux *core)
{
	uint32_t h;

	pthread_mutex_lock(&core->lock);
	h = ++core->next_handle;
	pthread_mutex_unlock(&core->lock);
	return h;
}

size_t
fake_core_events(struct ib_usbmux *c)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->nev;
	pthread_mutex_unlock(&c->lock);
	return n;
}

int
fake_core_wait_events(struct ib_usbmux *c, size_t n, int timeout_ms)
{
	uint64_t end = ib_now_ms() + (uint64_t)timeout_ms;

	while (fake_core_events(c) < n) {
		if (ib_now_ms() >= end)
			return 0;
		ib_sleep_ms(5);
	}
	return 1;
}

int
fake_core_event(struct ib_usbmux *c, size_t i, struct ib_device *dev)
{
	int a = -1;

	pthread_mutex_lock(&c->lock);
	if (i < c->nev) {
		a = c->ev[i].attached;
		*dev = c->ev[i].dev;
	}
	pthread_mutex_unlock(&c->lock);
	return a;
}

size_t
fake_core_present(struct ib_usbmux *c)
{
	size_t i, j, n = 0;
	int alive;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->nev; i++) {
		if (!c->ev[i].attached)
			continue;
		alive = 1;
		for (j = i + 1; j < c->nev; j++)
			if (!c->ev[j].attached && c->ev[j].dev.handle == c->ev[i].dev.handle)
				alive = 0;
		n += (size_t)alive;
	}
	pthread_mutex_unlock(&c->lock);
	return n;
}

int
fake_core_wait_present(struct ib_usbmux *c, size_t n, int timeout_ms)
{
	uint64_t end = ib_now_ms() + (uint64_t)timeout_ms;

	while (fake_core_present(c) != n) {
		if (ib_now_ms() >= end)
			return 0;
		ib_sleep_ms(5);
	}
	return 1;
}
