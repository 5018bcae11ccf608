/*
 * ib_util.c - randomness, clocks, hex, files.
 */
#include "ib_util.h"
#include "ib_err.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int
ib_random_bytes(void *buf, size_t n)
{
	uint8_t *p = buf;

	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			return ib_err_from_errno(errno, "getrandom");
		}
		p += got;
		n -= (size_t)got;
	}
	return IB_OK;
}

int
ib_uuid_upper(char out[37])
{
	uint8_t b[16];
	int r;

	if ((r = ib_random_bytes(b, sizeof(b))) != IB_OK)
		return r;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
	    "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
	    b[11], b[12], b[13], b[14], b[15]);
	return IB_OK;
}

uint64_t
ib_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t
ib_unix_now(void)
{
	return (int64_t)time(NULL);
}

void
ib_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !ib_interrupted())
		;
}

void
ib_hex(const void *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

int
ib_file_read(const char *path, size_t max, uint8_t **datap, size_t *lenp)
{
	struct stat st;
	uint8_t *d = NULL;
	size_t got = 0;
	int fd, r;

	*datap = NULL;
	*lenp = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return ib_err_from_errno(errno, path);
	if (fstat(fd, &st) != 0) {
		r = ib_err_from_errno(errno, path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ib_err_detail_set("%s is not a regular file", path);
		r = IB_ERR_FORMAT;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		ib_err_detail_set("%s is larger than %zu bytes", path, max);
		r = IB_ERR_TOO_LARGE;
		goto out;
	}
	if ((d = malloc((size_t)st.st_size + 1)) == NULL) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, d + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = ib_err_from_errno(errno, path);
			goto out;
		}
		if (n == 0)
			break;   /* file shrank: return what is there */
		got += (size_t)n;
	}
	d[got] = '\0';
	*datap = d;
	*lenp = got;
	d = NULL;
	r = IB_OK;
out:
	free(d);
	close(fd);
	return r;
}

static int
write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
ib_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
	char *tmp = NULL, *dircopy = NULL;
	size_t n = strlen(path) + 32;
	uint8_t rnd[6];
	char rhex[13];
	int fd = -1, dfd = -1, r;

	if ((tmp = malloc(n)) == NULL || (dircopy = strdup(path)) == NULL) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	if ((r = ib_random_bytes(rnd, sizeof(rnd))) != IB_OK)
		goto out;
	ib_hex(rnd, sizeof(rnd), rhex);
	snprintf(tmp, n, "%s.tmp-%s", path, rhex);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		r = ib_err_from_errno(errno, tmp);
		goto out;
	}
	/* open() applies the umask; pair records must be exactly 0600. */
	if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 ||
	    fsync(fd) != 0) {
		r = ib_err_from_errno(errno, tmp);
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		r = ib_err_from_errno(errno, tmp);
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		r = ib_err_from_errno(errno, path);
		goto fail;
	}
	if ((dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	r = IB_OK;
	goto out;
fail:
	unlink(tmp);
out:
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(dircopy);
	return r;
}

int
ib_mkdir_p(const char *path, unsigned mode)
{
	char *p, *s;
	int r = IB_OK;

	if ((p = strdup(path)) == NULL)
		return IB_ERR_NOMEM;
	for (s = p + 1; ; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, mode) != 0 && errno != EEXIST) {
			r = ib_err_from_errno(errno, p);
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return r;
}

static atomic_int interrupt_flag;

void
ib_interrupt_set(void)
{
	atomic_store(&interrupt_flag, 1);
}

int
ib_interrupted(void)
{
	return atomic_load(&interrupt_flag);
}

void
ib_interrupt_clear(void)
{
	atomic_store(&interrupt_flag, 0);
}

char *
ib_strdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

void
ib_free_secret(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}
