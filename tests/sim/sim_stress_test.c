/*
 * Stress: 2 devices x 8 concurrent echo streams, 64 MiB each way per
 * stream, devices with a 1 KiB receive window and the split fault
 * (random payload sizes, random write() chunking). Every byte is checked
 * by SHA-256 of what was sent against what came back.
 */
#include "ib_test.h"
#include "ib_util.h"
#include "sim_harness.h"
#include "sim_test.h"

#include <errno.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define STRESS_DEVICES 2u
#define STRESS_STREAMS 8u
#define STRESS_BYTES (64ull * 1024 * 1024)
#define STRESS_CHUNK (64u * 1024u)

struct job {
	struct harness *h;
	unsigned dev, idx;
	int result;
	uint64_t ms;
};

static int
pump(int fd, uint64_t seed)
{
	uint8_t *out = malloc(STRESS_CHUNK), *in = malloc(STRESS_CHUNK);
	uint8_t md_out[EVP_MAX_MD_SIZE], md_in[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *hs = EVP_MD_CTX_new(), *hr = EVP_MD_CTX_new();
	uint64_t sent = 0, got = 0;
	size_t out_len = 0, out_off = 0;
	struct ib_sim_prng g;
	unsigned l1 = 0, l2 = 0;
	int r = IB_OK;

	if (out == NULL || in == NULL || hs == NULL || hr == NULL ||
	    EVP_DigestInit_ex(hs, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestInit_ex(hr, EVP_sha256(), NULL) != 1) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	ib_sim_prng_init(&g, seed);
	while (r == IB_OK && got < STRESS_BYTES) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (out_off == out_len && sent < STRESS_BYTES) {
			out_len = (size_t)IB_MIN(STRESS_BYTES - sent, STRESS_CHUNK);
			out_off = 0;
			ib_sim_prng_fill(&g, out, out_len);
			EVP_DigestUpdate(hs, out, out_len);
			sent += out_len;
		}
		if (out_off < out_len)
			pfd.events |= POLLOUT;
		if (poll(&pfd, 1, H_TIMEOUT_MS) <= 0) {
			r = IB_ERR_TIMEOUT;
			break;
		}
		if (pfd.revents & POLLOUT) {
			n = send(fd, out + out_off, out_len - out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0)
				out_off += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				r = IB_ERR_EOF;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(fd, in, STRESS_CHUNK, MSG_DONTWAIT);
			if (n > 0) {
				EVP_DigestUpdate(hr, in, (size_t)n);
				got += (uint64_t)n;
			} else if (n == 0 || errno != EAGAIN) {
				r = IB_ERR_EOF;
			}
		}
	}
	if (r == IB_OK) {
		EVP_DigestFinal_ex(hs, md_out, &l1);
		EVP_DigestFinal_ex(hr, md_in, &l2);
		if (l1 != l2 || memcmp(md_out, md_in, l1) != 0)
			r = IB_ERR_FORMAT;
	}
out:
	EVP_MD_CTX_free(hs);
	EVP_MD_CTX_free(hr);
	free(out);
	free(in);
	return r;
}

static void *
run_job(void *arg)
{
	struct job *j = arg;
	struct ib_stream *s = NULL;
	uint64_t t0 = ib_now_ms();

	j->result = ib_usbmux_connect(j->h->mux, h_udid(j->h, j->dev), IB_SIM_PORT_ECHO, &s);
	if (j->result == IB_OK) {
		j->result = pump(ib_stream_fd(s), j->dev * 100 + j->idx);
		if (j->result == IB_ERR_EOF && ib_stream_error(s) != IB_OK)
			j->result = ib_stream_error(s);
	}
	ib_stream_close(s);
	j->ms = ib_now_ms() - t0;
	return NULL;
}

IB_TEST(stress_two_devices_eight_streams_each)
{
	const char *knobs[] = { "window=1024", "split=1", NULL };
	struct job jobs[STRESS_DEVICES * STRESS_STREAMS];
	pthread_t th[STRESS_DEVICES * STRESS_STREAMS];
	struct harness h;
	unsigned i;
	uint64_t t0 = ib_now_ms();

	IB_CHECK_OK(h_start(&h, STRESS_DEVICES, knobs));
	for (i = 0; i < STRESS_DEVICES * STRESS_STREAMS; i++) {
		jobs[i] = (struct job){ &h, i / STRESS_STREAMS, i % STRESS_STREAMS, IB_ERR_INTERNAL, 0 };
		IB_CHECK(pthread_create(&th[i], NULL, run_job, &jobs[i]) == 0);
	}
	for (i = 0; i < STRESS_DEVICES * STRESS_STREAMS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < STRESS_DEVICES * STRESS_STREAMS; i++) {
		if (jobs[i].result != IB_OK)
			fprintf(stderr, "    stream %u/%u: %s\n", jobs[i].dev, jobs[i].idx,
			    ib_errname(jobs[i].result));
		IB_CHECK_OK(jobs[i].result);
	}
	printf("    %u streams x %llu MiB each way in %llu ms\n",
	    STRESS_DEVICES * STRESS_STREAMS, (unsigned long long)(STRESS_BYTES >> 20),
	    (unsigned long long)(ib_now_ms() - t0));
	h_stop(&h);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
