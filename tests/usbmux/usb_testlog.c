/*
 * usb_testlog.c - see usb_testlog.h.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "ib_log.h"
#include "usb_testlog.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char lines[1 << 17];
static int worst = IB_LOG_TRACE + 1;

static void
sink(void *ctx, int level, const char *line)
{
	size_t n;

	(void)ctx;
	pthread_mutex_lock(&mu);
	n = strlen(lines);
	snprintf(lines + n, sizeof(lines) - n, "%s\n", line);
	if (level < worst)
		worst = level;
	pthread_mutex_unlock(&mu);
}

void
testlog_start(int level)
{
	pthread_mutex_lock(&mu);
	lines[0] = '\0';
	worst = IB_LOG_TRACE + 1;
	pthread_mutex_unlock(&mu);
	ib_log_set_level(level);
	ib_log_set_sink(sink, NULL);
}

void
testlog_stop(void)
{
	ib_log_set_sink(NULL, NULL);
}

int
testlog_has(const char *s)
{
	int r;

	pthread_mutex_lock(&mu);
	r = strstr(lines, s) != NULL;
	pthread_mutex_unlock(&mu);
	return r;
}

int
testlog_worst(void)
{
	int w;

	pthread_mutex_lock(&mu);
	w = worst;
	pthread_mutex_unlock(&mu);
	return w;
}

void
testlog_dump(void)
{
	pthread_mutex_lock(&mu);
	fprintf(stderr, "%s", lines);
	pthread_mutex_unlock(&mu);
}
