/*
 * ld_conn.c - a plist/raw connection over a socket with optional TLS in
 * place (see ib_conn.h).
 *
 * Every operation is "try, then poll on would-block": a non-blocking fd,
 * poll() in slices so that ib_interrupted() is noticed within
 * SLICE_MS, and one deadline per top-level call.
 */
#include "ib_conn.h"

#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_plist.h"
#include "ib_usbmux.h"
#include "ib_util.h"
#include "ld_msg.h"
#include "ld_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

/* Longest single poll(): how quickly an interrupt is noticed. */
#define SLICE_MS 100
/* Bytes read per call when receiving a plist message. */
#define RECV_CHUNK 16384u

struct ib_conn {
	int fd;
	int own_fd;
	struct ib_stream *stream;       /* owned, may be NULL */
	enum ib_conn_role role;
	int timeout_ms;
	struct ld_msg_dec *dec;
	SSL_CTX *ctx;
	SSL *ssl;
	struct ib_tls_identity trust;   /* device role: own reference */
	/* Host role: has a read through TLS succeeded since the handshake?
	 * Until then a TLS failure means the device refused our
	 * certificate (TLS 1.3 reports that only at the first read). */
	int tls_confirmed;
};

static int
conn_new(int fd, enum ib_conn_role role, struct ib_conn **cp)
{
	struct ib_conn *c;
	int fl, r;

	*cp = NULL;
	if (fd < 0)
		return IB_ERR_INVALID_ARG;
	if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return ib_err_from_errno(errno, "fcntl O_NONBLOCK");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return IB_ERR_NOMEM;
	if ((r = ld_msg_dec_new(IB_PLIST_MSG_MAX, &c->dec)) != IB_OK) {
		free(c);
		return r;
	}
	c->fd = fd;
	c->role = role;
	c->timeout_ms = IB_CONN_TIMEOUT_DEFAULT_MS;
	*cp = c;
	return IB_OK;
}

int
ib_conn_new_fd(int fd, enum ib_conn_role role, int own_fd, struct ib_conn **cp)
{
	int r = conn_new(fd, role, cp);

	if (r == IB_OK)
		(*cp)->own_fd = own_fd;
	return r;
}

int
ib_conn_new_stream(struct ib_stream *s, struct ib_conn **cp)
{
	int r;

	*cp = NULL;
	if (s == NULL)
		return IB_ERR_INVALID_ARG;
	if ((r = conn_new(ib_stream_fd(s), IB_CONN_ROLE_HOST, cp)) != IB_OK)
		return r;
	(*cp)->stream = s;
	return IB_OK;
}

static void
tls_drop(struct ib_conn *c)
{
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	X509_free(c->trust.cert);
	c->ssl = NULL;
	c->ctx = NULL;
	c->trust.cert = NULL;
	c->tls_confirmed = 0;
}

void
ib_conn_free(struct ib_conn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		/* One non-blocking close_notify, no wait: the peer may be gone. */
		(void)SSL_shutdown(c->ssl);
		ERR_clear_error();
	}
	tls_drop(c);
	ld_msg_dec_free(c->dec);
	if (c->stream != NULL)
		ib_stream_close(c->stream);
	else if (c->own_fd)
		close(c->fd);
	free(c);
}

void
ib_conn_set_timeout(struct ib_conn *c, int ms)
{
	c->timeout_ms = ms;
}

int
ib_conn_timeout(const struct ib_conn *c)
{
	return c->timeout_ms;
}

int
ib_conn_fd(const struct ib_conn *c)
{
	return c->fd;
}

enum ib_conn_role
ib_conn_role(const struct ib_conn *c)
{
	return c->role;
}

/* --- waiting ----------------------------------------------------------- */

static uint64_t
deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? UINT64_MAX : ib_now_ms() + (uint64_t)timeout_ms;
}

/* Wait for events on the fd until the deadline. POLLHUP/POLLERR count
 * as ready: the next read or write reports what happened. */
static int
wait_io(struct ib_conn *c, short events, uint64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { c->fd, events, 0 };
		uint64_t now = ib_now_ms();
		int slice = SLICE_MS, k;

		if (ib_interrupted())
			return IB_ERR_INTERRUPTED;
		if (now >= deadline) {
			ib_err_detail_set("no answer within %d ms", c->timeout_ms);
			return IB_ERR_TIMEOUT;
		}
		if (deadline - now < (uint64_t)slice)
			slice = (int)(deadline - now);
		k = poll(&pfd, 1, slice);
		if (k < 0 && errno != EINTR)
			return ib_err_from_errno(errno, "poll");
		if (k > 0)
			return IB_OK;
	}
}

/* The peer is gone: the stream knows why (unplugged, reset), else EOF. */
static int
ended(struct ib_conn *c)
{
	int se = c->stream != NULL ? ib_stream_error(c->stream) : IB_OK;

	if (se != IB_OK) {
		const char *t = ib_stream_error_text(c->stream);

		ib_err_detail_set("connection ended: %s%s%s", ib_strerror(se),
		    t[0] ? ": " : "", t);
		return se;
	}
	ib_err_detail_set("the peer closed the connection");
	return IB_ERR_EOF;
}

/* Map a failed TLS operation to an error value. */
static int
tls_failed(struct ib_conn *c, int sslerr, const char *what)
{
	char e[512];
	int se = c->stream != NULL ? ib_stream_error(c->stream) : IB_OK;

	ld_tls_errstr(e, sizeof(e));
	if (se != IB_OK)
		return ended(c);
	if (c->role == IB_CONN_ROLE_HOST && !c->tls_confirmed) {
		ib_err_detail_set("TLS %s failed (the device refused this computer's "
		    "certificate?)%s%s", what, e[0] ? ": " : "", e);
		return IB_ERR_TLS_HANDSHAKE;
	}
	if (sslerr == SSL_ERROR_ZERO_RETURN ||
	    (sslerr == SSL_ERROR_SYSCALL && e[0] == '\0'))
		return ended(c);
	ib_err_detail_set("TLS %s: %s", what, e[0] ? e : "connection broken");
	return IB_ERR_TLS_IO;
}

/* A TLS call failed with err: wait for what it needs (IB_OK: call it
 * again), or map the failure. */
static int
tls_retry(struct ib_conn *c, int err, uint64_t deadline, const char *what)
{
	if (err == SSL_ERROR_WANT_READ)
		return wait_io(c, POLLIN, deadline);
	if (err == SSL_ERROR_WANT_WRITE)
		return wait_io(c, POLLOUT, deadline);
	return tls_failed(c, err, what);
}

/* --- raw I/O, plaintext or TLS ----------------------------------------- */

static int
io_read(struct ib_conn *c, void *p, size_t n, size_t *gotp, uint64_t deadline)
{
	int r;

	*gotp = 0;
	for (;;) {
		if (c->ssl != NULL) {
			ERR_clear_error();
			if (SSL_read_ex(c->ssl, p, n, gotp) == 1) {
				c->tls_confirmed = 1;
				return IB_OK;
			}
			r = tls_retry(c, SSL_get_error(c->ssl, 0), deadline, "read");
		} else {
			ssize_t k = recv(c->fd, p, n, 0);

			if (k > 0) {
				*gotp = (size_t)k;
				return IB_OK;
			}
			if (k == 0 || errno == ECONNRESET)
				return ended(c);
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return ib_err_from_errno(errno, "recv");
			r = wait_io(c, POLLIN, deadline);
		}
		if (r != IB_OK)
			return r;
	}
}

static int
io_write(struct ib_conn *c, const void *p, size_t n, uint64_t deadline)
{
	const uint8_t *b = p;
	int r;

	while (n > 0) {
		size_t done = 0;

		if (c->ssl != NULL) {
			ERR_clear_error();
			if (SSL_write_ex(c->ssl, b, n, &done) == 1) {
				b += done;
				n -= done;
				continue;
			}
			r = tls_retry(c, SSL_get_error(c->ssl, 0), deadline, "write");
		} else {
			ssize_t k = send(c->fd, b, n, MSG_NOSIGNAL);

			if (k > 0) {
				b += k;
				n -= (size_t)k;
				continue;
			}
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0 && (errno == EPIPE || errno == ECONNRESET))
				return ended(c);
			if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
				return ib_err_from_errno(errno, "send");
			r = wait_io(c, POLLOUT, deadline);
		}
		if (r != IB_OK)
			return r;
	}
	return IB_OK;
}

int
ib_conn_write(struct ib_conn *c, const void *p, size_t n)
{
	return io_write(c, p, n, deadline_of(c->timeout_ms));
}

int
ib_conn_read(struct ib_conn *c, void *p, size_t n)
{
	uint64_t deadline = deadline_of(c->timeout_ms);
	uint8_t *b = p;
	int r;

	if (!ld_msg_dec_idle(c->dec))
		return IB_ERR_STATE;
	while (n > 0) {
		size_t got;

		if ((r = io_read(c, b, n, &got, deadline)) != IB_OK)
			return r;
		b += got;
		n -= got;
	}
	return IB_OK;
}

int
ib_conn_read_some(struct ib_conn *c, void *p, size_t n, size_t *gotp)
{
	*gotp = 0;
	if (!ld_msg_dec_idle(c->dec))
		return IB_ERR_STATE;
	if (n == 0)
		return IB_OK;
	return io_read(c, p, n, gotp, deadline_of(c->timeout_ms));
}

int
ib_conn_wait_readable(struct ib_conn *c, int timeout_ms)
{
	if (c->ssl != NULL && SSL_pending(c->ssl) > 0)
		return IB_OK;
	return wait_io(c, POLLIN, deadline_of(timeout_ms < 0 ? c->timeout_ms : timeout_ms));
}

/* --- plist messages ----------------------------------------------------- */

static int
send_fmt(struct ib_conn *c, plist_t msg, enum ld_msg_format fmt)
{
	uint8_t *frame = NULL;
	size_t len = 0;
	int r;

	if ((r = ld_msg_encode(msg, fmt, &frame, &len)) != IB_OK)
		return r;
	if (ib_log_enabled(IB_LOG_TRACE))
		ib_plist_log(__func__, c->role == IB_CONN_ROLE_HOST ?
		    "host sends" : "device sends", msg);
	r = ib_conn_write(c, frame, len);
	explicit_bzero(frame, len);     /* may hold a pair record or escrow bag */
	free(frame);
	return r;
}

int
ib_conn_send_plist(struct ib_conn *c, plist_t msg)
{
	return send_fmt(c, msg, LD_MSG_XML);
}

int
ib_conn_send_plist_bin(struct ib_conn *c, plist_t msg)
{
	return send_fmt(c, msg, LD_MSG_BINARY);
}

int
ib_conn_recv_plist(struct ib_conn *c, plist_t *msgp)
{
	uint64_t deadline = deadline_of(c->timeout_ms);
	uint8_t *buf;
	plist_t msg = NULL;
	int r = IB_OK;

	*msgp = NULL;
	if ((buf = malloc(RECV_CHUNK)) == NULL)
		return IB_ERR_NOMEM;
	while (msg == NULL) {
		size_t want = ld_msg_dec_want(c->dec), got = 0, used = 0;

		if (want == 0) {
			/* A previous framing error: the stream is lost. */
			r = ld_msg_dec_feed(c->dec, buf, 0, &used, &msg);
			break;
		}
		/* Never past the end of this message: TLS may start or stop
		 * right after it on the same fd. */
		if ((r = io_read(c, buf, IB_MIN(want, RECV_CHUNK), &got, deadline)) != IB_OK)
			break;
		if ((r = ld_msg_dec_feed(c->dec, buf, got, &used, &msg)) != IB_OK)
			break;
	}
	explicit_bzero(buf, RECV_CHUNK);
	free(buf);
	if (r != IB_OK)
		return r;
	if (ib_log_enabled(IB_LOG_TRACE))
		ib_plist_log(__func__, c->role == IB_CONN_ROLE_HOST ?
		    "host receives" : "device receives", msg);
	*msgp = msg;
	return IB_OK;
}

/* --- TLS ------------------------------------------------------------------ */

int
ib_conn_tls_start(struct ib_conn *c, const struct ib_tls_params *tp)
{
	struct ib_tls_params p;
	uint64_t deadline = deadline_of(c->timeout_ms);
	int r;

	if (c->ssl != NULL || !ld_msg_dec_idle(c->dec))
		return IB_ERR_STATE;
	if (tp == NULL)
		return IB_ERR_INVALID_ARG;
	p = *tp;
	if (c->role == IB_CONN_ROLE_DEVICE && tp->trust != NULL) {
		/* Keep our own reference: the callback uses it per handshake. */
		if (X509_up_ref(tp->trust->cert) != 1)
			return IB_ERR_TLS_SETUP;
		c->trust.cert = tp->trust->cert;
		p.trust = &c->trust;
	} else {
		p.trust = NULL;
	}
	if ((r = ld_tls_ctx_new(c->role, &p, &c->ctx)) != IB_OK ||
	    (r = ld_tls_ssl_new(c->ctx, c->role, c->fd, &c->ssl)) != IB_OK)
		goto fail;
	for (;;) {
		ERR_clear_error();
		if (SSL_do_handshake(c->ssl) == 1)
			break;
		r = tls_retry(c, SSL_get_error(c->ssl, 0), deadline, "handshake");
		/* The device hung up or refused mid-handshake. */
		if (r == IB_ERR_EOF || r == IB_ERR_TLS_IO)
			r = IB_ERR_TLS_HANDSHAKE;
		if (r != IB_OK)
			goto fail;
	}
	ib_debug("TLS %s as %s", SSL_get_version(c->ssl),
	    c->role == IB_CONN_ROLE_HOST ? "client" : "server");
	/* TLS 1.2 and older: the server has checked our certificate by now. */
	c->tls_confirmed = SSL_version(c->ssl) < TLS1_3_VERSION;
	return IB_OK;
fail:
	tls_drop(c);
	return r;
}

int
ib_conn_tls_stop(struct ib_conn *c)
{
	uint64_t deadline = deadline_of(c->timeout_ms);
	uint8_t junk[64];
	int r = IB_OK, k, err;

	if (c->ssl == NULL || !ld_msg_dec_idle(c->dec))
		return IB_ERR_STATE;
	/* Send our close_notify. */
	for (;;) {
		ERR_clear_error();
		if ((k = SSL_shutdown(c->ssl)) >= 0)
			break;
		if ((r = tls_retry(c, SSL_get_error(c->ssl, k), deadline, "shutdown")) != IB_OK)
			goto out;
	}
	/* Consume the peer's (k == 1: it came already). The device sends one
	 * encrypted alert record; nothing else may come before it. */
	while (k == 0) {
		size_t got = 0;

		ERR_clear_error();
		if (SSL_read_ex(c->ssl, junk, sizeof(junk), &got) == 1) {
			ib_err_detail_set("%zu bytes of data after StopSession", got);
			r = IB_ERR_TLS_IO;
			goto out;
		}
		if ((err = SSL_get_error(c->ssl, 0)) == SSL_ERROR_ZERO_RETURN)
			break;
		if ((r = tls_retry(c, err, deadline, "shutdown")) != IB_OK)
			goto out;
	}
out:
	explicit_bzero(junk, sizeof(junk));
	tls_drop(c);
	return r;
}

int
ib_conn_tls_active(const struct ib_conn *c)
{
	return c->ssl != NULL;
}

enum ib_tls_version
ib_conn_tls_version(const struct ib_conn *c)
{
	return c->ssl != NULL ? ld_tls_version_of(SSL_version(c->ssl)) : IB_TLS_ANY;
}

int
ib_conn_tls_peer_cert(const struct ib_conn *c, uint8_t **derp, size_t *lenp)
{
	X509 *peer;
	unsigned char *der = NULL;
	int n;

	*derp = NULL;
	*lenp = 0;
	if (c->ssl == NULL || (peer = SSL_get0_peer_certificate(c->ssl)) == NULL)
		return IB_ERR_NOT_FOUND;
	if ((n = i2d_X509(peer, &der)) <= 0)
		return IB_ERR_CERT;
	if ((*derp = malloc((size_t)n)) == NULL) {
		OPENSSL_free(der);
		return IB_ERR_NOMEM;
	}
	memcpy(*derp, der, (size_t)n);
	*lenp = (size_t)n;
	OPENSSL_free(der);
	return IB_OK;
}
