/*
 * ib_util.h - small helpers every layer needs: randomness, UUIDs, clocks,
 * hex, and whole-file I/O with atomic replacement.
 */
#ifndef IB_UTIL_H
#define IB_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define IB_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define IB_MIN(a, b) ((a) < (b) ? (a) : (b))
#define IB_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Cryptographically secure random bytes (getrandom). */
int ib_random_bytes(void *buf, size_t n);
/* Random RFC 4122 v4 UUID, uppercase, 36 chars + NUL, into out[37]. */
int ib_uuid_upper(char out[37]);

/* Monotonic milliseconds (for timeouts and rates). */
uint64_t ib_now_ms(void);
/* Wall-clock Unix seconds. */
int64_t ib_unix_now(void);
/* Sleep, restarting on EINTR unless the interrupt flag is set. */
void ib_sleep_ms(unsigned ms);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void ib_hex(const void *p, size_t n, char *out);

/*
 * Read a whole regular file of at most max bytes (IB_ERR_TOO_LARGE beyond).
 * *datap is malloc'd with a NUL after the data.
 */
int ib_file_read(const char *path, size_t max, uint8_t **datap, size_t *lenp);
/*
 * Replace path atomically: write a temporary file in the same directory
 * with the given mode, fsync it, rename it over path, fsync the directory.
 * A failure leaves the old file untouched.
 */
int ib_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode);
/* mkdir -p with the given mode for created directories. */
int ib_mkdir_p(const char *path, unsigned mode);

/*
 * Process-wide interrupt flag, set by the CLI's SIGINT/SIGTERM handler.
 * Long loops poll it and end with IB_ERR_INTERRUPTED through their normal
 * cleanup path (device told, locks released).
 */
void ib_interrupt_set(void);
int ib_interrupted(void);
void ib_interrupt_clear(void);

/* strdup that returns NULL for NULL. */
char *ib_strdup(const char *s);
/* Overwrite and free a NUL-terminated secret; NULL is a no-op. */
void ib_free_secret(char *s);

#endif /* IB_UTIL_H */
