/*
 * muxd_sock.c - the socket side of the usbmuxd protocol: where the socket
 * is ($USBMUXD_SOCKET_ADDRESS read the way libusbmuxd 2.0.x reads it,
 * usbmux.md 3.9), connecting to it, and sending / receiving whole
 * messages on a blocking socket.
 */
#include "muxd_proto.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_util.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void
set_default(struct ib_muxd_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->is_unix = 1;
	a->is_default = 1;
	snprintf(a->name, sizeof(a->name), "%s", IB_MUXD_DEFAULT_SOCKET);
}

static void
set_name(struct ib_muxd_addr *a, const char *s, size_t len)
{
	if (len >= sizeof(a->name)) {
		a->name_too_long = 1;
		len = sizeof(a->name) - 1;
	}
	memcpy(a->name, s, len);
	a->name[len] = '\0';
}

void
ib_muxd_addr_parse(const char *spec, struct ib_muxd_addr *a)
{
	const char *colon, *host, *end;
	char *endp = NULL;
	long port;

	set_default(a);
	if (spec == NULL || spec[0] == '\0')
		return;
	if (strncmp(spec, "UNIX:", 5) == 0) {
		/* "UNIX:" alone means the default, as in libusbmuxd. */
		if (spec[5] != '\0') {
			a->is_default = 0;
			set_name(a, spec + 5, strlen(spec + 5));
		}
		return;
	}
	if ((colon = strrchr(spec, ':')) == NULL)
		return;
	/* libusbmuxd uses strtol: leading blanks and a sign are accepted,
	 * trailing text is not. */
	errno = 0;
	port = strtol(colon + 1, &endp, 10);
	if (endp == NULL || *endp != '\0' || errno != 0 || port <= 0 || port > 65535)
		return;
	host = spec;
	end = colon;
	if (spec[0] == '[') {
		/* "[v6]:port": the text between '[' and the last ']' before the
		 * port; without a ']' everything up to the colon. */
		const char *rb = NULL, *q;

		host = spec + 1;
		for (q = host; q < colon; q++)
			if (*q == ']')
				rb = q;
		if (rb != NULL)
			end = rb;
	}
	if (end <= host)
		return;
	a->is_unix = 0;
	a->is_default = 0;
	a->port = (uint16_t)port;
	set_name(a, host, (size_t)(end - host));
}

void
ib_muxd_addr_format(const struct ib_muxd_addr *a, char *out, size_t outlen)
{
	if (a->is_unix)
		snprintf(out, outlen, "UNIX:%s", a->name);
	else if (strchr(a->name, ':') != NULL)
		snprintf(out, outlen, "[%s]:%u", a->name, a->port);
	else
		snprintf(out, outlen, "%s:%u", a->name, a->port);
}

/* Non-blocking connect with a deadline, then back to blocking mode. A
 * UNIX socket whose backlog is full says EAGAIN (nothing in progress):
 * try again until the deadline. */
static int
connect_timed(int fd, const struct sockaddr *sa, socklen_t salen, int timeout_ms)
{
	uint64_t deadline = ib_now_ms() + (uint64_t)timeout_ms;
	struct pollfd pfd;
	socklen_t elen = sizeof(int);
	int flags, err = 0, n;

	if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return errno;
	while (connect(fd, sa, salen) != 0) {
		if (errno == EAGAIN && ib_now_ms() < deadline) {
			ib_sleep_ms(10);
			continue;
		}
		if (errno != EINPROGRESS)
			return errno;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do {
			n = poll(&pfd, 1, timeout_ms);
		} while (n < 0 && errno == EINTR);
		if (n == 0)
			return ETIMEDOUT;
		if (n < 0)
			return errno;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
			return errno;
		if (err != 0)
			return err;
		break;
	}
	if (fcntl(fd, F_SETFL, flags) < 0)
		return errno;
	return 0;
}

static int
connect_unix(const struct ib_muxd_addr *a, int timeout_ms, int *fdp)
{
	struct sockaddr_un sun;
	int fd, err;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (a->name_too_long || strlen(a->name) >= sizeof(sun.sun_path))
		return ENAMETOOLONG;
	memcpy(sun.sun_path, a->name, strlen(a->name));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return errno;
	if ((err = connect_timed(fd, (struct sockaddr *)&sun, sizeof(sun), timeout_ms)) != 0) {
		close(fd);
		return err;
	}
	*fdp = fd;
	return 0;
}

static int
connect_tcp(const struct ib_muxd_addr *a, int timeout_ms, int *fdp)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[8];
	int fd, err = ECONNREFUSED, gai;

	if (a->name_too_long)
		return ENAMETOOLONG;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%u", a->port);
	if ((gai = getaddrinfo(a->name, port, &hints, &res)) != 0)
		return gai == EAI_SYSTEM ? errno : EHOSTUNREACH;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if ((err = connect_timed(fd, ai->ai_addr, ai->ai_addrlen, timeout_ms)) == 0) {
			*fdp = fd;
			break;
		}
		close(fd);
	}
	freeaddrinfo(res);
	return err;
}

int
ib_muxd_addr_connect(const struct ib_muxd_addr *a, int timeout_ms, int *fdp)
{
	char where[600], msg[128];
	int err;

	*fdp = -1;
	err = a->is_unix ? connect_unix(a, timeout_ms, fdp) : connect_tcp(a, timeout_ms, fdp);
	if (err == 0)
		return IB_OK;
	ib_muxd_addr_format(a, where, sizeof(where));
	snprintf(msg, sizeof(msg), "%s", strerror(err));
	ib_err_detail_set("cannot connect to usbmuxd at %s: %s", where, msg);
	return IB_ERR_MUXD_CONNECT;
}

int
ib_muxd_send_msg(int fd, const struct ib_muxd_msg *m)
{
	struct ib_buf b;
	const uint8_t *p;
	size_t left;
	ssize_t n;
	int r;

	ib_buf_init(&b, IB_MUXD_MSG_MAX);
	if ((r = ib_muxd_encode(&b, m)) != IB_OK)
		goto out;
	p = ib_buf_ptr(&b);
	for (left = ib_buf_len(&b); left > 0; left -= (size_t)n, p += n) {
		n = send(fd, p, left, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			(void)ib_err_from_errno(n < 0 ? errno : EPIPE, "usbmuxd socket");
			r = IB_ERR_EOF;
			goto out;
		}
	}
 out:
	ib_buf_free(&b);
	return r;
}

/* Read exactly n bytes before the deadline (ms since ib_now_ms's epoch,
 * 0 = none). */
static int
read_exact(int fd, uint8_t *p, size_t n, uint64_t deadline)
{
	struct pollfd pfd;
	ssize_t got;
	int wait, k;

	while (n > 0) {
		wait = -1;
		if (deadline != 0) {
			uint64_t now = ib_now_ms();

			if (now >= deadline)
				return IB_ERR_TIMEOUT;
			wait = (int)IB_MIN(deadline - now, (uint64_t)INT32_MAX);
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if ((k = poll(&pfd, 1, wait)) < 0 && errno != EINTR)
			return ib_err_from_errno(errno, "poll");
		if (k <= 0)
			continue;
		got = recv(fd, p, n, MSG_DONTWAIT);
		if (got == 0) {
			ib_err_detail_set("usbmuxd closed the connection");
			return IB_ERR_EOF;
		}
		if (got < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			(void)ib_err_from_errno(errno, "usbmuxd socket");
			return IB_ERR_EOF;
		}
		p += got;
		n -= (size_t)got;
	}
	return IB_OK;
}

int
ib_muxd_recv_msg(int fd, int timeout_ms, struct ib_muxd_msg *m)
{
	uint8_t hdr[IB_MUXD_HEADER_LEN], *buf = NULL;
	uint32_t len, version, type, tag;
	uint64_t deadline = timeout_ms >= 0 ? ib_now_ms() + (uint64_t)timeout_ms : 0;
	int r;

	memset(m, 0, sizeof(*m));
	if ((r = read_exact(fd, hdr, sizeof(hdr), deadline)) != IB_OK)
		return r;
	if ((r = ib_muxd_header_parse(hdr, sizeof(hdr), &len, &version, &type, &tag)) != IB_OK)
		return r;
	/* len <= IB_MUXD_MSG_MAX (checked by the header parser). */
	if ((buf = malloc(len)) == NULL)
		return IB_ERR_NOMEM;
	memcpy(buf, hdr, sizeof(hdr));
	if ((r = read_exact(fd, buf + sizeof(hdr), len - sizeof(hdr), deadline)) == IB_OK)
		r = ib_muxd_decode(buf, len, m);
	explicit_bzero(buf, len);
	free(buf);
	return r;
}
