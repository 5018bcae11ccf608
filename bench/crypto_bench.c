/*
 * crypto_bench - throughput of the encrypted-backup crypto on one core:
 * AES-256-CBC through the streaming API (1 MiB chunks, in memory and from
 * a file descriptor), per-file key unwraps, and the cost of creating a
 * keybag with iOS's iteration counts (one PBKDF2 run, as in an unlock).
 *
 *   build/bench/crypto_bench [MiB]     (default 512)
 *
 * Times are this thread's CPU time (user + system), so the figures mean
 * "per core" even on a machine shared with other work.
 */
#include "ib_err.h"
#include "ib_util.h"
#include "mb2_crypto.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define CHUNK IB_MB2_FD_CHUNK

/* CPU milliseconds of this thread. */
static uint64_t
cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static double
mibps(uint64_t bytes, uint64_t ms)
{
	return ms == 0 ? 0.0 :
	    (double)bytes / (1024.0 * 1024.0) / ((double)ms / 1000.0);
}

/* n bytes of src through a fresh cipher into dst (n + 16 bytes). */
static int
run(enum ib_mb2_cipher_mode mode, uint64_t expected, const uint8_t *key,
    const uint8_t *src, size_t n, uint8_t *dst)
{
	struct ib_mb2_cipher *c = NULL;
	size_t done = 0, pos = 0, got;
	int r;

	if ((r = ib_mb2_cipher_new(mode, key, expected, &c)) != IB_OK)
		return r;
	while (r == IB_OK && done < n) {
		size_t piece = n - done < CHUNK ? n - done : CHUNK;

		r = ib_mb2_cipher_update(c, src + done, piece, dst + pos,
		    n + 16 - pos, &got);
		done += piece;
		pos += got;
	}
	if (r == IB_OK)
		r = ib_mb2_cipher_final(c, dst + pos, n + 16 - pos, &got);
	ib_mb2_cipher_free(c);
	return r;
}

static int
bench_cipher(size_t mib)
{
	size_t total = mib * CHUNK, i;
	uint8_t key[32], *plain = malloc(total + 16), *enc = malloc(total + 16);
	uint64_t t0;
	int fd = -1, out = -1, r = 1;

	if (plain == NULL || enc == NULL)
		goto out;
	memset(key, 0x42, sizeof(key));
	memset(enc, 0, total + 16);     /* fault the pages in before timing */
	for (i = 0; i < total; i++)
		plain[i] = (uint8_t)(i * 31 + (i >> 12));
	t0 = cpu_ms();
	if (run(IB_MB2_ENCRYPT, IB_MB2_SIZE_ANY, key, plain, total, enc) != IB_OK)
		goto out;
	printf("encrypt  AES-256-CBC, memory, %zu MiB: %8.1f MiB/s\n", mib,
	    mibps(total, cpu_ms() - t0));
	t0 = cpu_ms();
	if (run(IB_MB2_DECRYPT, total, key, enc, total + 16, plain) != IB_OK)
		goto out;
	printf("decrypt  AES-256-CBC, memory, %zu MiB: %8.1f MiB/s\n", mib,
	    mibps(total, cpu_ms() - t0));
	/* From an anonymous file to /dev/null: read + decrypt + write calls. */
	if ((fd = memfd_create("bench", 0)) < 0 ||
	    (out = open("/dev/null", O_WRONLY)) < 0 ||
	    write(fd, enc, total + 16) != (ssize_t)(total + 16) ||
	    lseek(fd, 0, SEEK_SET) != 0)
		goto out;
	t0 = cpu_ms();
	if (ib_mb2_decrypt_fd(fd, out, key, total, NULL) != IB_OK)
		goto out;
	printf("decrypt  fd -> /dev/null,     %zu MiB: %8.1f MiB/s\n", mib,
	    mibps(total, cpu_ms() - t0));
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (out >= 0)
		close(out);
	free(plain);
	free(enc);
	return r;
}

static int
bench_keybag(void)
{
	const struct ib_mb2_keybag_params ios = { IB_MB2_ITER_IOS, IB_MB2_DPIC_IOS };
	struct ib_mb2_keybag *kb = NULL;
	uint8_t key[32], blob[44], got[32];
	uint64_t t0, ms;
	int i, r = 1;

	t0 = cpu_ms();
	if (ib_mb2_keybag_create("bench", 5, &ios, &kb) != IB_OK)
		goto out;
	printf("keybag   PBKDF2 ITER 10000 + DPIC 10000000: %6llu ms\n",
	    (unsigned long long)(cpu_ms() - t0));
	if (ib_mb2_keybag_new_key(kb, 3, key, blob) != IB_OK)
		goto out;
	t0 = cpu_ms();
	for (i = 0; i < 100000; i++)
		if (ib_mb2_keybag_unwrap_file_key(kb, blob, 44, 3, got) != IB_OK)
			goto out;
	ms = cpu_ms() - t0;
	printf("unwrap   file keys: %8.0f per second\n",
	    ms ? 100000.0 * 1000.0 / (double)ms : 0.0);
	r = 0;
out:
	ib_mb2_keybag_free(kb);
	return r;
}

int
main(int argc, char **argv)
{
	size_t mib = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 512;

	if (mib == 0)
		return 2;
	return bench_cipher(mib) || bench_keybag();
}
