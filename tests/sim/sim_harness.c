/*
 * sim_harness.c - see sim_harness.h.
 */
#include "sim_harness.h"

#include "ib_err.h"
#include "ib_util.h"
#include "sim_test.h"

#include <errno.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define H_CHUNK (128u * 1024u)

int
h_start(struct harness *h, unsigned ndev, const char *const *knobs)
{
	static unsigned counter;
	struct ib_usbmux_opts o = { 0 };
	int r;

	memset(h, 0, sizeof(*h));
	signal(SIGPIPE, SIG_IGN);
	snprintf(h->path, sizeof(h->path), "/tmp/ib-sim-test-%d-%u.sock", (int)getpid(),
	    __atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST));
	if ((r = ib_sim_new(ndev, knobs, 1234, &h->sim)) != IB_OK ||
	    (r = ib_sim_serve(h->sim, h->path)) != IB_OK)
		goto fail;
	{
		char spec[128];

		snprintf(spec, sizeof(spec), "sim:%s", h->path);
		o.transport = spec;
		if ((r = ib_usbmux_new(&o, &h->mux)) != IB_OK)
			goto fail;
	}
	return IB_OK;
fail:
	h_stop(h);
	return r;
}

void
h_stop(struct harness *h)
{
	ib_usbmux_free(h->mux);
	ib_sim_free(h->sim);
	h->mux = NULL;
	h->sim = NULL;
}

const char *
h_udid(struct harness *h, unsigned i)
{
	return ib_sim_dev_identity(ib_sim_get(h->sim, i))->udid;
}

static int
wait_fd(int fd, short ev)
{
	struct pollfd pfd = { .fd = fd, .events = ev };
	int n;

	while ((n = poll(&pfd, 1, H_TIMEOUT_MS)) < 0 && errno == EINTR)
		;
	return n > 0 ? IB_OK : IB_ERR_TIMEOUT;
}

int
h_read_to_eof(int fd, uint64_t *gotp)
{
	uint8_t buf[16384];
	uint64_t total = 0;
	int r;

	for (;;) {
		ssize_t got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
			if ((r = wait_fd(fd, POLLIN)) != IB_OK)
				return r;
			continue;
		}
		if (got <= 0)
			break;
		total += (uint64_t)got;
	}
	if (gotp != NULL)
		*gotp = total;
	return IB_OK;
}

int
h_sink(struct ib_usbmux *m, const char *udid, uint64_t n, uint64_t seed)
{
	uint8_t *buf = malloc(H_CHUNK), want[EVP_MAX_MD_SIZE], got[32], hdr[16];
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	struct ib_stream *s = NULL;
	struct ib_sim_prng g;
	unsigned mdlen = 0;
	int r;

	if (buf == NULL || h == NULL || EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	if ((r = ib_usbmux_connect(m, udid, IB_SIM_PORT_SINK, &s)) != IB_OK)
		goto out;
	if ((r = ib_sim_write_full(ib_stream_fd(s), hdr, ib_sim_test_request(hdr, n, 0, 0))) != IB_OK)
		goto out;
	ib_sim_prng_init(&g, seed);
	while (n > 0) {
		size_t k = (size_t)IB_MIN(n, H_CHUNK);

		ib_sim_prng_fill(&g, buf, k);
		EVP_DigestUpdate(h, buf, k);
		if ((r = ib_sim_write_full(ib_stream_fd(s), buf, k)) != IB_OK)
			goto out;
		n -= k;
	}
	EVP_DigestFinal_ex(h, want, &mdlen);
	if ((r = ib_sim_read_full(ib_stream_fd(s), got, sizeof(got))) != IB_OK)
		goto out;
	r = memcmp(got, want, sizeof(got)) == 0 ? IB_OK : IB_ERR_FORMAT;
out:
	if (r != IB_OK && s != NULL && ib_stream_error(s) != IB_OK)
		r = ib_stream_error(s);
	ib_stream_close(s);
	EVP_MD_CTX_free(h);
	free(buf);
	return r;
}

int
h_source_open(struct ib_usbmux *m, const char *udid, uint64_t n, uint64_t seed,
    struct ib_stream **sp)
{
	struct ib_stream *s = NULL;
	uint8_t req[16];
	int r;

	*sp = NULL;
	if ((r = ib_usbmux_connect(m, udid, IB_SIM_PORT_SOURCE, &s)) != IB_OK)
		return r;
	if ((r = ib_sim_write_full(ib_stream_fd(s), req, ib_sim_test_request(req, n, 1, seed))) != IB_OK) {
		ib_stream_close(s);
		return r;
	}
	*sp = s;
	return IB_OK;
}

int
h_source_check(int fd, uint64_t n, uint64_t seed)
{
	uint8_t *buf = malloc(H_CHUNK), *want = malloc(H_CHUNK);
	struct ib_sim_prng g;
	int r = IB_OK;

	if (buf == NULL || want == NULL)
		r = IB_ERR_NOMEM;
	ib_sim_prng_init(&g, seed);
	while (r == IB_OK && n > 0) {
		size_t k = (size_t)IB_MIN(n, H_CHUNK);

		if ((r = ib_sim_read_full(fd, buf, k)) != IB_OK)
			break;
		ib_sim_prng_fill(&g, want, k);
		if (memcmp(buf, want, k) != 0)
			r = IB_ERR_FORMAT;
		n -= k;
	}
	free(buf);
	free(want);
	return r;
}

int
h_source(struct ib_usbmux *m, const char *udid, uint64_t n, uint64_t seed)
{
	struct ib_stream *s = NULL;
	int r;

	if ((r = h_source_open(m, udid, n, seed, &s)) != IB_OK)
		return r;
	r = h_source_check(ib_stream_fd(s), n, seed);
	if (r == IB_ERR_EOF && ib_stream_error(s) != IB_OK)
		r = ib_stream_error(s);
	ib_stream_close(s);
	return r;
}

int
h_wait_count(struct ib_usbmux *m, size_t n)
{
	uint64_t deadline = ib_now_ms() + H_TIMEOUT_MS;

	while (ib_now_ms() < deadline) {
		struct ib_device *d = NULL;
		size_t have = 0;

		if (ib_usbmux_list(m, &d, &have) != IB_OK)
			return IB_ERR_NOMEM;
		free(d);
		if (have == n)
			return IB_OK;
		ib_sleep_ms(10);
	}
	return IB_ERR_TIMEOUT;
}
