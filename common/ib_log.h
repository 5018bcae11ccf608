/*
 * ib_log.h - leveled diagnostics on stderr (or a sink the program sets).
 *
 * Levels map to the CLI's -v count: errors and warnings always, -v adds
 * INFO (which transport, device log lines), -vv DEBUG (protocol steps),
 * -vvv TRACE (packets and property lists, with secrets redacted).
 *
 * Nothing secret may be logged at any level: private keys, escrow bags,
 * pair-record data and passwords are redacted by ib_plist_log() and must
 * never be passed to the format functions directly.
 */
#ifndef IB_LOG_H
#define IB_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum ib_log_level {
	IB_LOG_ERROR = 0,
	IB_LOG_WARN = 1,
	IB_LOG_INFO = 2,
	IB_LOG_DEBUG = 3,
	IB_LOG_TRACE = 4,
};

typedef void (*ib_log_sink_fn)(void *ctx, int level, const char *line);

void ib_log_set_level(int level);
int ib_log_get_level(void);
/* Text put before every line, e.g. "ibackup" or "ibackup-sim"; copied. */
void ib_log_set_prefix(const char *prefix);
/* Replace the stderr writer (NULL restores it). The sink gets one complete
 * line without the newline; calls are serialised. */
void ib_log_set_sink(ib_log_sink_fn fn, void *ctx);

void ib_logf(int level, const char *func, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ib_vlogf(int level, const char *func, const char *fmt, va_list ap);
/* Hex dump of at most the first 256 bytes, at TRACE level only. */
void ib_log_hexdump(const char *func, const char *what, const void *p, size_t n);

#define ib_log_enabled(level) ((level) <= ib_log_get_level())
#define ib_error(...) ib_logf(IB_LOG_ERROR, __func__, __VA_ARGS__)
#define ib_warn(...) ib_logf(IB_LOG_WARN, __func__, __VA_ARGS__)
#define ib_info(...) ib_logf(IB_LOG_INFO, __func__, __VA_ARGS__)
#define ib_debug(...) ib_logf(IB_LOG_DEBUG, __func__, __VA_ARGS__)
#define ib_trace(...) ib_logf(IB_LOG_TRACE, __func__, __VA_ARGS__)

#endif /* IB_LOG_H */
