/*
 * mux_store.c - the mux engine's data structures: intrusive stream
 * lists, fixed hash tables (stream id, port pair) and byte rings. Sized
 * once, nothing allocated per packet.
 */
#include "mux_engine_int.h"
#include "ib_err.h"

#include <stdlib.h>
#include <string.h>

/* --- intrusive lists ---------------------------------------------------- */

void
mux_list_push(struct ib_mux_engine *e, int k, struct mux_stream *s)
{
	struct mux_list *l = &e->list[k];
	struct mux_node *n = &s->node[k];

	if (n->on)
		return;
	n->on = 1;
	n->next = NULL;
	n->prev = l->tail;
	if (l->tail != NULL)
		l->tail->node[k].next = s;
	else
		l->head = s;
	l->tail = s;
}

void
mux_list_remove(struct ib_mux_engine *e, int k, struct mux_stream *s)
{
	struct mux_list *l = &e->list[k];
	struct mux_node *n = &s->node[k];

	if (!n->on)
		return;
	if (n->prev != NULL)
		n->prev->node[k].next = n->next;
	else
		l->head = n->next;
	if (n->next != NULL)
		n->next->node[k].prev = n->prev;
	else
		l->tail = n->prev;
	memset(n, 0, sizeof(*n));
}

/* --- hash tables: open addressing, linear probing, backward-shift delete --- */

static uint32_t
home(uint32_t key)
{
	/* Fibonacci hashing spreads sequential ids and ports evenly. */
	return (key * 2654435769u) >> (32 - MUX_TAB_BITS);
}

struct mux_stream *
mux_tab_get(const struct mux_slot *t, uint32_t key)
{
	uint32_t i;

	for (i = home(key); t[i].s != NULL; i = (i + 1) & (MUX_TAB_SIZE - 1))
		if (t[i].key == key)
			return t[i].s;
	return NULL;
}

/* Callers keep the table at most half full (stream cap), so a free slot
 * always exists. */
void
mux_tab_put(struct mux_slot *t, uint32_t key, struct mux_stream *s)
{
	uint32_t i = home(key);

	while (t[i].s != NULL)
		i = (i + 1) & (MUX_TAB_SIZE - 1);
	t[i].key = key;
	t[i].s = s;
}

void
mux_tab_del(struct mux_slot *t, uint32_t key)
{
	uint32_t mask = MUX_TAB_SIZE - 1, i, j;

	for (i = home(key); t[i].s != NULL && t[i].key != key; i = (i + 1) & mask)
		;
	if (t[i].s == NULL)
		return;
	/* Pull later entries of the probe run back so lookups never meet a
	 * hole before their key: no tombstones, no rehash. */
	for (j = (i + 1) & mask; t[j].s != NULL; j = (j + 1) & mask) {
		if (((j - home(t[j].key)) & mask) >= ((j - i) & mask)) {
			t[i] = t[j];
			i = j;
		}
	}
	t[i].s = NULL;
	t[i].key = 0;
}

/* --- rings -------------------------------------------------------------- */

int
mux_ring_ready(struct mux_ring *r, uint32_t cap)
{
	if (r->d == NULL) {
		if ((r->d = malloc(cap)) == NULL)
			return IB_ERR_NOMEM;
		r->cap = cap;
		r->head = 0;
		r->used = 0;
	}
	return IB_OK;
}

void
mux_ring_free(struct mux_ring *r)
{
	free(r->d);
	memset(r, 0, sizeof(*r));
}

/* Caller checked that n fits (n <= cap - used). */
void
mux_ring_write(struct mux_ring *r, const uint8_t *p, uint32_t n)
{
	uint32_t tail = r->head + r->used, first;

	if (tail >= r->cap)
		tail -= r->cap;
	first = r->cap - tail < n ? r->cap - tail : n;
	memcpy(r->d + tail, p, first);
	if (n > first)
		memcpy(r->d, p + first, n - first);
	r->used += n;
}

void
mux_ring_consume(struct mux_ring *r, uint32_t n)
{
	r->used -= n;
	r->head += n;
	if (r->head >= r->cap)
		r->head -= r->cap;
	if (r->used == 0)
		r->head = 0;    /* keeps the next peek contiguous */
}

/* Caller checked n <= used. */
void
mux_ring_read(struct mux_ring *r, uint8_t *out, uint32_t n)
{
	uint32_t first = r->cap - r->head < n ? r->cap - r->head : n;

	memcpy(out, r->d + r->head, first);
	if (n > first)
		memcpy(out + first, r->d, n - first);
	mux_ring_consume(r, n);
}
