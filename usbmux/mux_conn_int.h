/*
 * mux_conn_int.h - what the two halves of the mux runtime share: the
 * runtime thread (mux_conn.c) and the API other threads call
 * (mux_conn_api.c). Private to those two files.
 *
 * Ownership: the runtime thread alone touches the engine, the link and
 * the runtime side of every stream (struct rstream). Other threads talk
 * to it through fields under c->mu (connect requests, shutdown, faults)
 * and the wake eventfd. What a stream's user sees after the end (error
 * and RST text) lives in a refcounted struct stream_pub, so a stream
 * outlives its conn.
 */
#ifndef IB_MUX_CONN_INT_H
#define IB_MUX_CONN_INT_H

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "ib_limits.h"
#include "mux_conn.h"
#include "transport.h"

/* Bytes read from a stream socket per recv(): at most one engine window,
 * enough for several full packets. */
#define CONN_SCRATCH (256u * 1024u)
/* Faults queued by ib_mux_conn_inject_malformed before the thread runs. */
#define CONN_INJECT_MAX 8u

struct stream_pub {
	pthread_mutex_t mu;
	int refs;
	int err;
	char text[IB_MUX_TEXT_MAX + 1];
};

struct rstream {
	uint32_t id;
	uint16_t port;
	int fd;                 /* runtime end of the socketpair */
	int in_eof;             /* the user end will send nothing more */
	uint64_t eof_ms;        /* when in_eof was seen (linger deadline) */
	int hup;                /* the user end is closed */
	int user_gone;          /* writes to the user fail: drop what arrives */
	int out_blocked;        /* last write hit EAGAIN: wait for POLLOUT */
	int ended;              /* peer, link or we ended it; bytes may remain */
	struct stream_pub *pub; /* host role; NULL on the device */
	int pidx;               /* slot in the pollfd array, -1 if none */
	struct rstream *next;
};

enum { REQ_QUEUED, REQ_SENT, REQ_DONE };

struct creq {
	uint16_t port;
	int state;
	int abandoned;          /* the caller timed out; runtime frees it */
	uint32_t id;
	int result;
	char text[IB_MUX_TEXT_MAX + 1];
	struct ib_stream *stream;
	struct creq *next;
};

struct ib_mux_conn {
	struct ib_mux_conn_cfg cfg;
	char name[64];
	pthread_t thread;
	int wake_fd;
	/* under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	int shutdown_err;
	int inject[CONN_INJECT_MAX];
	unsigned ninject;
	int control_pending;    /* one CONTROL message to send */
	uint8_t control_type;
	char control_text[IB_MUX_TEXT_MAX + 1];
	struct creq *reqs;
	int ready;
	uint32_t version;
	int link_err;
	char link_desc[96];
	atomic_uint_fast64_t bytes;
	/* runtime thread only */
	struct ib_mux_engine *eng;
	struct ib_mux_link link;
	int link_dead;
	struct rstream *streams;
	struct pollfd *pfds;
	size_t pfds_alloc;
	int poll_ms;            /* poll timeout: -1, or until a linger ends */
	uint8_t *scratch;
};

/* mux_conn_api.c */
extern const struct ib_stream_ops ib_mux_conn_stream_ops;
void ib_mux_conn_pub_unref(struct stream_pub *p);
void ib_mux_conn_pub_set_end(struct stream_pub *p, int err, const char *text);
void ib_mux_conn_wake(struct ib_mux_conn *c);
/* Connect requests, under c->mu. */
struct creq *ib_mux_conn_req_find(struct ib_mux_conn *c, uint32_t id);
void ib_mux_conn_req_unlink(struct ib_mux_conn *c, struct creq *q);
void ib_mux_conn_req_finish(struct ib_mux_conn *c, struct creq *q, int result,
    const char *text);

/* mux_conn.c: the runtime thread. */
void *ib_mux_conn_run(void *arg);

#endif /* IB_MUX_CONN_INT_H */
