/*
 * ib_log.c - leveled diagnostics.
 */
#include "ib_log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* One log line; longer messages are cut, never split. */
#define LOG_LINE_MAX 2048
/* Bytes shown by ib_log_hexdump before "...". */
#define LOG_HEXDUMP_MAX 256

static atomic_int log_level = IB_LOG_WARN;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_prefix[64] = "ibackup";
static ib_log_sink_fn log_sink;
static void *log_sink_ctx;

static const char *const level_names[] = {
	"error", "warning", "info", "debug", "trace",
};

void
ib_log_set_level(int level)
{
	if (level < IB_LOG_ERROR)
		level = IB_LOG_ERROR;
	if (level > IB_LOG_TRACE)
		level = IB_LOG_TRACE;
	atomic_store(&log_level, level);
}

int
ib_log_get_level(void)
{
	return atomic_load(&log_level);
}

void
ib_log_set_prefix(const char *prefix)
{
	pthread_mutex_lock(&log_lock);
	snprintf(log_prefix, sizeof(log_prefix), "%s", prefix != NULL ? prefix : "");
	pthread_mutex_unlock(&log_lock);
}

void
ib_log_set_sink(ib_log_sink_fn fn, void *ctx)
{
	pthread_mutex_lock(&log_lock);
	log_sink = fn;
	log_sink_ctx = ctx;
	pthread_mutex_unlock(&log_lock);
}

void
ib_vlogf(int level, const char *func, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	int n;

	if (!ib_log_enabled(level))
		return;
	if (level < IB_LOG_ERROR || level > IB_LOG_TRACE)
		level = IB_LOG_ERROR;
	pthread_mutex_lock(&log_lock);
	/* Function names are protocol detail: shown from -vv on. */
	if (ib_log_get_level() >= IB_LOG_DEBUG && func != NULL)
		n = snprintf(line, sizeof(line), "%s: %s: %s: ", log_prefix,
		    level_names[level], func);
	else
		n = snprintf(line, sizeof(line), "%s: %s: ", log_prefix,
		    level_names[level]);
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (log_sink != NULL)
		log_sink(log_sink_ctx, level, line);
	else
		fprintf(stderr, "%s\n", line);
	pthread_mutex_unlock(&log_lock);
}

void
ib_logf(int level, const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ib_vlogf(level, func, fmt, ap);
	va_end(ap);
}

void
ib_log_hexdump(const char *func, const char *what, const void *p, size_t n)
{
	char hex[LOG_HEXDUMP_MAX * 3 + 8];
	const unsigned char *b = p;
	size_t i, shown = n < LOG_HEXDUMP_MAX ? n : LOG_HEXDUMP_MAX;
	size_t o = 0;

	if (!ib_log_enabled(IB_LOG_TRACE))
		return;
	for (i = 0; i < shown; i++)
		o += (size_t)snprintf(hex + o, sizeof(hex) - o, "%02x%s", b[i],
		    (i + 1) % 4 == 0 && i + 1 < shown ? " " : "");
	if (shown < n)
		snprintf(hex + o, sizeof(hex) - o, " ...");
	ib_logf(IB_LOG_TRACE, func, "%s (%zu bytes): %s", what, n, hex);
}
