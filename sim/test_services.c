/*
 * test_services.c - the virtual device's test layer: echo, sink, source
 * and discard services (sim_test.h) to stress mux streams and check what
 * arrives, and the slow_reader knob.
 */
#include "ib_sim.h"
#include "sim_int.h"
#include "sim_layers.h"
#include "sim_test.h"

#include "ib_buf.h"
#include "ib_err.h"
#include "ib_log.h"
#include "ib_util.h"

#include <errno.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bytes moved per read()/write() by the services. */
#define TEST_IO_CHUNK (256u * 1024u)
/* Longest slow_reader delay (a typo should not hang a test for hours). */
#define TEST_SLOW_MAX_MS 10000u

struct test_state {
	unsigned slow_ms;
};

void
ib_sim_prng_init(struct ib_sim_prng *g, uint64_t seed)
{
	memset(g, 0, sizeof(*g));
	g->state = seed;
	g->used = sizeof(g->block);
}

uint64_t
sim_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void
store_le64(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* One 8-byte store instead of eight: the source runs at memory speed. */
	memcpy(p, &v, sizeof(v));
#else
	unsigned i;

	for (i = 0; i < 8; i++, v >>= 8)
		p[i] = (uint8_t)v;
#endif
}

void
ib_sim_prng_fill(struct ib_sim_prng *g, uint8_t *out, size_t n)
{
	while (n > 0 && g->used < sizeof(g->block)) {
		*out++ = g->block[g->used++];
		n--;
	}
	for (; n >= 8; n -= 8, out += 8)
		store_le64(out, sim_splitmix64(&g->state));
	if (n > 0) {
		store_le64(g->block, sim_splitmix64(&g->state));
		memcpy(out, g->block, n);
		g->used = (unsigned)n;
	}
}

/* --- blocking I/O on the service's socket ---------------------------------- */

/* The slow_reader delay, cut short when the stream goes away (so an
 * unplug or the end of the simulator does not wait for it). */
static void
slow(struct ib_sim_dev *dev, int fd)
{
	struct test_state *st = dev != NULL ? ib_sim_dev_get_ext(dev, IB_SIM_EXT_TEST) : NULL;
	struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };

	if (st != NULL && st->slow_ms > 0)
		(void)poll(&pfd, 1, (int)st->slow_ms);
}

/* Up to n bytes; 0 at EOF, -1 on error. */
static ssize_t
read_some(struct ib_sim_dev *dev, int fd, uint8_t *p, size_t n)
{
	ssize_t got;

	slow(dev, fd);
	while ((got = recv(fd, p, n, 0)) < 0 && errno == EINTR)
		;
	return got;
}

/* Reads of a service go through slow() (the slow_reader knob). */
static int
read_full(struct ib_sim_dev *dev, int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t got = read_some(dev, fd, p, n);

		if (got <= 0)
			return IB_ERR_EOF;
		p += got;
		n -= (size_t)got;
	}
	return IB_OK;
}

int
ib_sim_read_full(int fd, void *p, size_t n)
{
	return read_full(NULL, fd, p, n);
}

int
ib_sim_write_full(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return IB_ERR_EOF;
		b += w;
		n -= (size_t)w;
	}
	return IB_OK;
}

size_t
ib_sim_test_request(uint8_t out[16], uint64_t n, int with_seed, uint64_t seed)
{
	struct ib_buf b;
	size_t len = with_seed ? 16 : 8;

	/* 16 bytes always fit the cap: the puts cannot fail. */
	ib_buf_init(&b, 16);
	if (ib_buf_put_u64be(&b, n) != IB_OK ||
	    (with_seed && ib_buf_put_u64be(&b, seed) != IB_OK))
		len = 0;
	memcpy(out, ib_buf_ptr(&b), len);
	ib_buf_free(&b);
	return len;
}

/* Read the request's big-endian u64 fields. */
static int
read_u64s(struct ib_sim_dev *dev, int fd, uint64_t *a, uint64_t *b)
{
	uint8_t raw[16];
	struct ib_buf in;
	size_t n = b != NULL ? 16 : 8;
	int r;

	if ((r = read_full(dev, fd, raw, n)) != IB_OK)
		return r;
	ib_buf_init_ro(&in, raw, n);
	if ((r = ib_buf_get_u64be(&in, a)) != IB_OK ||
	    (b != NULL && (r = ib_buf_get_u64be(&in, b)) != IB_OK))
		return r;
	return ib_buf_get_end(&in);
}

/* After answering, the host decides when the stream ends. */
static void
wait_eof(int fd)
{
	uint8_t junk[256];
	ssize_t got;

	while ((got = recv(fd, junk, sizeof(junk), 0)) > 0 || (got < 0 && errno == EINTR))
		;
}

/* --- the services ------------------------------------------------------------ */

static void
svc_echo(struct ib_sim_dev *dev, int fd, void *arg)
{
	uint8_t *buf = malloc(TEST_IO_CHUNK);
	ssize_t got;

	(void)arg;
	while (buf != NULL && (got = read_some(dev, fd, buf, TEST_IO_CHUNK)) > 0)
		if (ib_sim_write_full(fd, buf, (size_t)got) != IB_OK)
			break;
	free(buf);
}

static void
svc_sink(struct ib_sim_dev *dev, int fd, void *arg)
{
	uint8_t *buf = malloc(TEST_IO_CHUNK), md[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	unsigned mdlen = 0;
	uint64_t n;

	(void)arg;
	if (buf == NULL || h == NULL || read_u64s(dev, fd, &n, NULL) != IB_OK ||
	    EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1)
		goto out;
	while (n > 0) {
		ssize_t got = read_some(dev, fd, buf, (size_t)IB_MIN(n, TEST_IO_CHUNK));

		if (got <= 0 || EVP_DigestUpdate(h, buf, (size_t)got) != 1)
			goto out;
		n -= (uint64_t)got;
	}
	if (EVP_DigestFinal_ex(h, md, &mdlen) != 1 || ib_sim_write_full(fd, md, mdlen) != IB_OK)
		goto out;
	wait_eof(fd);
out:
	EVP_MD_CTX_free(h);
	free(buf);
}

/* arg non-NULL: the burst variant, which hangs up after the last byte. */
static void
svc_source(struct ib_sim_dev *dev, int fd, void *arg)
{
	uint8_t *buf = malloc(TEST_IO_CHUNK);
	struct ib_sim_prng g;
	uint64_t n, seed;

	if (buf == NULL || read_u64s(dev, fd, &n, &seed) != IB_OK)
		goto out;
	ib_sim_prng_init(&g, seed);
	while (n > 0) {
		size_t k = (size_t)IB_MIN(n, TEST_IO_CHUNK);

		ib_sim_prng_fill(&g, buf, k);
		if (ib_sim_write_full(fd, buf, k) != IB_OK)
			goto out;
		n -= k;
	}
	if (arg == NULL)
		wait_eof(fd);
out:
	free(buf);
}

static void
svc_discard(struct ib_sim_dev *dev, int fd, void *arg)
{
	uint8_t *buf = malloc(TEST_IO_CHUNK), ans[16];
	uint64_t n, left;

	(void)arg;
	if (buf == NULL || read_u64s(dev, fd, &n, NULL) != IB_OK)
		goto out;
	for (left = n; left > 0;) {
		ssize_t got = read_some(dev, fd, buf, (size_t)IB_MIN(left, TEST_IO_CHUNK));

		if (got <= 0)
			goto out;
		left -= (uint64_t)got;
	}
	if (ib_sim_write_full(fd, ans, ib_sim_test_request(ans, n, 0, 0)) == IB_OK)
		wait_eof(fd);
out:
	free(buf);
}

/* --- the layer ------------------------------------------------------------------- */

static void
register_knobs(void)
{
	ib_sim_knob_register("slow_reader",
	    "MS: the echo, sink and discard test services sleep MS milliseconds before every read");
}

static int
attach(struct ib_sim_dev *dev)
{
	const char *v = ib_sim_dev_knob(dev, "slow_reader");
	struct test_state *st;
	uint64_t ms = 0;
	int r;

	if (v != NULL && (sim_parse_u64(v, &ms) != IB_OK || ms > TEST_SLOW_MAX_MS)) {
		ib_err_detail_set("knob slow_reader=%s: expected milliseconds up to %u",
		    v, TEST_SLOW_MAX_MS);
		return IB_ERR_USAGE;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return IB_ERR_NOMEM;
	st->slow_ms = (unsigned)ms;
	ib_sim_dev_set_ext(dev, IB_SIM_EXT_TEST, st, free);
	if ((r = ib_sim_dev_listen(dev, IB_SIM_PORT_ECHO, "echo", svc_echo, NULL)) != IB_OK ||
	    (r = ib_sim_dev_listen(dev, IB_SIM_PORT_SINK, "sink", svc_sink, NULL)) != IB_OK ||
	    (r = ib_sim_dev_listen(dev, IB_SIM_PORT_SOURCE, "source", svc_source, NULL)) != IB_OK ||
	    (r = ib_sim_dev_listen(dev, IB_SIM_PORT_DISCARD, "discard", svc_discard, NULL)) != IB_OK ||
	    (r = ib_sim_dev_listen(dev, IB_SIM_PORT_BURST, "burst", svc_source, dev)) != IB_OK)
		return r;
	return IB_OK;
}

const struct ib_sim_layer ib_sim_layer_test = {
	.name = "test",
	.register_knobs = register_knobs,
	.attach = attach,
};
