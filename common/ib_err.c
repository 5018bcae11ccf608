/*
 * ib_err.c - names, sentences and exit statuses of the error space.
 */
#include "ib_err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct err_entry {
	int value;
	int exit_status;
	const char *name;
	const char *text;
};

static const struct err_entry err_table[] = {
#define IB_ERR_ROW_(name, value, exit, text) { (value), (exit), #name, (text) },
	IB_ERR_LIST(IB_ERR_ROW_)
#undef IB_ERR_ROW_
};

static const struct err_entry *
err_lookup(int err)
{
	size_t i;

	for (i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
		if (err_table[i].value == err)
			return &err_table[i];
	return NULL;
}

const char *
ib_strerror(int err)
{
	const struct err_entry *e = err_lookup(err);

	return e != NULL ? e->text : "unknown error";
}

const char *
ib_errname(int err)
{
	static _Thread_local char buf[32];
	const struct err_entry *e = err_lookup(err);

	if (e != NULL)
		return e->name;
	snprintf(buf, sizeof(buf), "IB_ERR_%d", err);
	return buf;
}

int
ib_err_exit_code(int err)
{
	const struct err_entry *e = err_lookup(err);

	if (err == IB_OK)
		return 0;
	return e != NULL ? e->exit_status : 1;
}

/* Long enough for a request name, a key and a peer's error string. */
#define ERR_DETAIL_MAX 512

static _Thread_local char err_detail[ERR_DETAIL_MAX];

void
ib_err_detail_vset(const char *fmt, va_list ap)
{
	vsnprintf(err_detail, sizeof(err_detail), fmt, ap);
}

void
ib_err_detail_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ib_err_detail_vset(fmt, ap);
	va_end(ap);
}

const char *
ib_err_detail(void)
{
	return err_detail;
}

void
ib_err_detail_clear(void)
{
	err_detail[0] = '\0';
}

int
ib_err_from_errno(int errnum, const char *what)
{
	char msg[128];

	/* strerror_r has two incompatible prototypes; strerror's static
	 * buffer is only read here, so copy it at once. */
	snprintf(msg, sizeof(msg), "%s", strerror(errnum));
	ib_err_detail_set("%s: %s", what != NULL ? what : "system call", msg);
	switch (errnum) {
	case 0:
		return IB_ERR_INTERNAL;
	case ENOMEM:
		return IB_ERR_NOMEM;
	case ETIMEDOUT:
		return IB_ERR_TIMEOUT;
	case EINTR:
		return IB_ERR_INTERRUPTED;
	case ENOENT:
		return IB_ERR_NOT_FOUND;
	case EEXIST:
		return IB_ERR_EXISTS;
	case EAGAIN:
		return IB_ERR_WOULD_BLOCK;
	case EPIPE:
	case ECONNRESET:
		return IB_ERR_EOF;
	case ENODEV:
	case ENXIO:
		return IB_ERR_NO_DEVICE;
	case ECONNREFUSED:
		return IB_ERR_MUX_REFUSED;
	case ENOSPC:
		return IB_ERR_MB2_NO_SPACE;
	default:
		return IB_ERR_SYSTEM;
	}
}
