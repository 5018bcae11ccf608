/*
 * interop_util.c - see interop_util.h.
 */
#include "interop_util.h"
#include "ib_err.h"
#include "ib_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int
in_path(const char *tool)
{
	const char *path = getenv("PATH"), *p, *end;
	char full[4096];

	for (p = path != NULL ? path : "/usr/bin:/bin"; *p != '\0'; p = *end ? end + 1 : end) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		snprintf(full, sizeof(full), "%.*s/%s", (int)(end - p), p, tool);
		if (access(full, X_OK) == 0)
			return 1;
	}
	return 0;
}

void
interop_require_tools(const char *const *tools)
{
	size_t i;

	for (i = 0; tools[i] != NULL; i++) {
		if (!in_path(tools[i])) {
			printf("SKIP: %s is not installed (Debian: libimobiledevice-utils, "
			    "libusbmuxd-tools)\n", tools[i]);
			exit(77);
		}
	}
}

static pid_t
start(char *const argv[], const char *sock, int in_fd, int out_fd)
{
	char env[512];
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	snprintf(env, sizeof(env), "UNIX:%s", sock);
	setenv("USBMUXD_SOCKET_ADDRESS", env, 1);
	if (in_fd >= 0)
		dup2(in_fd, 0);
	if (out_fd >= 0)
		dup2(out_fd, 1);
	execvp(argv[0], argv);
	_exit(127);
}

static int
reap(pid_t pid, int timeout_ms, int *statusp)
{
	uint64_t end = ib_now_ms() + (uint64_t)timeout_ms;
	int st = 0, r = IB_OK;

	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (ib_now_ms() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			r = IB_ERR_TIMEOUT;
			break;
		}
		ib_sleep_ms(5);
	}
	*statusp = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return r;
}

/* One round of the stdin/stdout loop; returns 0 to go on, 1 when done. */
static int
pump(struct tool_run *r, int *in_fd, int out_fd, size_t *sent)
{
	struct pollfd pfd[2];
	size_t room, n;
	ssize_t k;
	int np = 0;

	room = r->in_len - *sent;
	if (r->window > 0 && *sent - r->out_len < r->window)
		room = IB_MIN(room, r->window - (*sent - r->out_len));
	else if (r->window > 0)
		room = 0;
	if (*in_fd >= 0 && room > 0) {
		pfd[np].fd = *in_fd;
		pfd[np++].events = POLLOUT;
	}
	pfd[np].fd = out_fd;
	pfd[np++].events = POLLIN;
	if (poll(pfd, (nfds_t)np, 200) < 0)
		return errno == EINTR ? 0 : 1;
	if (np == 2 && (pfd[0].revents & (POLLOUT | POLLERR))) {
		n = IB_MIN(room, (size_t)65536);
		if ((k = write(*in_fd, r->in + *sent, n)) > 0)
			*sent += (size_t)k;
		else if (k < 0 && errno != EAGAIN)
			return 1;
	}
	if (pfd[np - 1].revents & (POLLIN | POLLHUP)) {
		k = read(out_fd, r->out + r->out_len, r->out_max - r->out_len);
		if (k <= 0)
			return 1;
		r->out_len += (size_t)k;
	}
	if (*in_fd >= 0 && *sent == r->in_len && r->out_len >= r->want) {
		close(*in_fd);
		*in_fd = -1;
	}
	return r->out_len == r->out_max;
}

int
interop_run(char *const argv[], const char *sock, struct tool_run *r)
{
	int ip[2], op[2], in_fd, out_fd, rc;
	uint64_t end = ib_now_ms() + (uint64_t)r->timeout_ms;
	size_t sent = 0;
	pid_t pid;

	r->out_len = 0;
	r->status = -1;
	if (pipe2(ip, O_CLOEXEC) != 0)
		return IB_ERR_SYSTEM;
	if (pipe2(op, O_CLOEXEC) != 0) {
		close(ip[0]);
		close(ip[1]);
		return IB_ERR_SYSTEM;
	}
	pid = start(argv, sock, ip[0], op[1]);
	close(ip[0]);
	close(op[1]);
	in_fd = ip[1];
	out_fd = op[0];
	fcntl(in_fd, F_SETFL, O_NONBLOCK);
	if (pid < 0) {
		close(in_fd);
		close(out_fd);
		return IB_ERR_SYSTEM;
	}
	while (ib_now_ms() < end && !pump(r, &in_fd, out_fd, &sent))
		;
	if (in_fd >= 0)
		close(in_fd);
	close(out_fd);
	rc = reap(pid, (int)IB_MAX((int64_t)end - (int64_t)ib_now_ms(), 1000), &r->status);
	return rc;
}

int
interop_spawn(char *const argv[], const char *sock, pid_t *pidp)
{
	*pidp = start(argv, sock, -1, -1);
	return *pidp > 0 ? IB_OK : IB_ERR_SYSTEM;
}

void
interop_stop(pid_t pid)
{
	int st;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	if (reap(pid, 5000, &st) != IB_OK)
		fprintf(stderr, "    pid %ld needed SIGKILL\n", (long)pid);
}

uint16_t
interop_free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	uint16_t port = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

int
interop_tcp_connect(uint16_t port, int timeout_ms, int *fdp)
{
	struct sockaddr_in sin;
	uint64_t end = ib_now_ms() + (uint64_t)timeout_ms;
	int fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	do {
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			return IB_ERR_SYSTEM;
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
			*fdp = fd;
			return IB_OK;
		}
		close(fd);
		ib_sleep_ms(50);
	} while (ib_now_ms() < end);
	return IB_ERR_TIMEOUT;
}

int
interop_exchange(int fd, const uint8_t *out, size_t out_len, uint8_t *in, size_t in_len,
    size_t window, int timeout_ms)
{
	uint64_t end = ib_now_ms() + (uint64_t)timeout_ms;
	size_t sent = 0, got = 0;
	struct pollfd pfd;
	ssize_t k;

	while ((sent < out_len || got < in_len) && ib_now_ms() < end) {
		size_t room = out_len - sent;

		if (window > 0)
			room = sent - got >= window ? 0 : IB_MIN(room, window - (sent - got));
		pfd.fd = fd;
		pfd.events = (short)((room > 0 ? POLLOUT : 0) | (got < in_len ? POLLIN : 0));
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		if ((pfd.revents & POLLOUT) && room > 0) {
			k = send(fd, out + sent, IB_MIN(room, (size_t)262144),
			    MSG_DONTWAIT | MSG_NOSIGNAL);
			if (k > 0)
				sent += (size_t)k;
			else if (k < 0 && errno != EAGAIN)
				return IB_ERR_EOF;
		}
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) && got < in_len) {
			k = recv(fd, in + got, in_len - got, MSG_DONTWAIT);
			if (k == 0)
				return IB_ERR_EOF;
			if (k > 0)
				got += (size_t)k;
			else if (errno != EAGAIN)
				return IB_ERR_EOF;
		}
	}
	return sent == out_len && got == in_len ? IB_OK : IB_ERR_TIMEOUT;
}
