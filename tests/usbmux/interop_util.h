/*
 * interop_util.h - running libimobiledevice's command-line tools against
 * ibackup's usbmuxd-compatible server in tests: finding them, feeding
 * them, reading what they print.
 */
#ifndef IB_TEST_INTEROP_UTIL_H
#define IB_TEST_INTEROP_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit with meson's "skipped" status (77) and a reason unless every
 * named tool is in $PATH. */
void interop_require_tools(const char *const *tools);

struct tool_run {
	const uint8_t *in;      /* bytes for the tool's stdin */
	size_t in_len;
	/* Keep at most window bytes written but not yet read back (echo
	 * through inetcat, whose non-blocking writes drop bytes when the
	 * socket is full); 0 = no limit. */
	size_t window;
	uint8_t *out;           /* stdout goes here */
	size_t out_max;
	/* Close stdin once this many bytes came out (0: once in is sent). */
	size_t want;
	int timeout_ms;
	/* results */
	size_t out_len;
	int status;             /* exit status, or 128 + signal */
};

/* Run argv with USBMUXD_SOCKET_ADDRESS=UNIX:sock; IB_OK when it ran to
 * its end (look at r->status), IB_ERR_TIMEOUT if it had to be killed. */
int interop_run(char *const argv[], const char *sock, struct tool_run *r);

/* Start argv in the background with that socket; *pidp for stop. */
int interop_spawn(char *const argv[], const char *sock, pid_t *pidp);
void interop_stop(pid_t pid);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
uint16_t interop_free_port(void);
/* Connect to 127.0.0.1:port, retrying for up to timeout_ms. */
int interop_tcp_connect(uint16_t port, int timeout_ms, int *fdp);
/* Write all of out while reading exactly in_len bytes into in, with at
 * most window bytes written and not yet read back (0: no limit). */
int interop_exchange(int fd, const uint8_t *out, size_t out_len, uint8_t *in, size_t in_len,
    size_t window, int timeout_ms);

#endif /* IB_TEST_INTEROP_UTIL_H */
