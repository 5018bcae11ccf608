/*
 * cli_util.c - option parsing, error reporting, JSON and progress output.
 */
#include "cli.h"
#include "cli_globals.h"
#include "ib_err.h"
#include "ib_log.h"
#include "ib_util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Options of one command plus the globals, as getopt_long wants them. */
#define CLI_MAX_OPTS 64

static size_t
count_opts(const struct cli_opt *o)
{
	size_t n = 0;

	while (o != NULL && o[n].name != NULL)
		n++;
	return n;
}

static void
add_opts(const struct cli_opt *o, struct option *lo, size_t *n, char *shortopts, size_t *sn)
{
	for (; o != NULL && o->name != NULL; o++) {
		lo[*n].name = o->name;
		lo[*n].has_arg = o->arg != NULL ? required_argument : no_argument;
		lo[*n].flag = NULL;
		lo[*n].val = o->key;
		(*n)++;
		if (o->key > 0 && o->key < 128) {
			shortopts[(*sn)++] = (char)o->key;
			if (o->arg != NULL)
				shortopts[(*sn)++] = ':';
		}
	}
}

int
cli_parse(struct cli *c, int argc, char **argv, cli_opt_fn fn, void *ctx)
{
	return cli_parse_ex(c, argc, argv, fn, ctx, 0);
}

int
cli_parse_ex(struct cli *c, int argc, char **argv, cli_opt_fn fn, void *ctx,
    int stop_at_operand)
{
	struct option lo[CLI_MAX_OPTS + 1];
	char shortopts[2 * CLI_MAX_OPTS + 2];
	size_t n = 0, sn = 0;
	int key;

	if (count_opts(cli_global_opts) + count_opts(c->cmd->opts) > CLI_MAX_OPTS)
		return -1;
	/* The command name ends the global options; commands accept
	 * options after their operands (`files BACKUP --domain D`). */
	if (stop_at_operand)
		shortopts[sn++] = '+';
	add_opts(cli_global_opts, lo, &n, shortopts, &sn);
	add_opts(c->cmd->opts, lo, &n, shortopts, &sn);
	memset(&lo[n], 0, sizeof(lo[n]));
	shortopts[sn] = '\0';
	optind = 0;   /* glibc: full re-initialisation for a new argv */
	opterr = 0;
	while ((key = getopt_long(argc, argv, shortopts, lo, NULL)) != -1) {
		if (key == '?' || key == ':') {
			const char *bad = argv[optind - 1];
			cli_usage_error(c, "%s: %s", optopt != 0 && key == ':' ?
			    "option needs a value" : "unknown option", bad);
			return -1;
		}
		if (cli_global_option(c, key, optarg) == 0)
			continue;
		if (fn == NULL || fn(c, key, optarg, ctx) != 0)
			return -1;
	}
	return optind;
}

int
cli_usage_error(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ibackup: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry `ibackup help %s`.\n", c->cmd != NULL ? c->cmd->name : "");
	return ib_err_exit_code(IB_ERR_USAGE);
}

int
cli_fail(struct cli *c, int err)
{
	const char *detail = ib_err_detail();

	if (err == IB_OK)
		return 0;
	if (c->json) {
		struct cli_json j;

		cli_json_begin(&j, stdout);
		cli_json_obj_open(&j, NULL);
		cli_json_str(&j, "event", "error");
		cli_json_str(&j, "error", ib_errname(err));
		cli_json_str(&j, "message", ib_strerror(err));
		if (detail[0] != '\0')
			cli_json_str(&j, "detail", detail);
		cli_json_int(&j, "exit", ib_err_exit_code(err));
		cli_json_obj_close(&j);
		cli_json_end(&j);
	}
	fprintf(stderr, "ibackup: %s\n", ib_strerror(err));
	if (c->verbose > 0 && detail[0] != '\0')
		fprintf(stderr, "ibackup: detail: %s (%s)\n", detail, ib_errname(err));
	else if (c->verbose > 0)
		fprintf(stderr, "ibackup: (%s)\n", ib_errname(err));
	return ib_err_exit_code(err);
}

void
cli_say(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	if (c->quiet)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cli_usbmux_open(struct cli *c, struct ib_usbmux **mp)
{
	int r;

	if ((r = ib_usbmux_new(&c->mux, mp)) != IB_OK)
		return r;
	ib_info("transport: %s", ib_usbmux_describe(*mp));
	return IB_OK;
}

/* When a choice is needed, show what there is to choose from. */
static void
list_devices_for_choice(struct cli *c, struct ib_usbmux *m)
{
	struct ib_device *devs = NULL;
	size_t n = 0, i;

	if (c->quiet || ib_usbmux_list(m, &devs, &n) != IB_OK)
		return;
	if (n > 0)
		fprintf(stderr, "ibackup: connected devices:\n");
	for (i = 0; i < n; i++)
		fprintf(stderr, "  %s\n", devs[i].udid);
	free(devs);
}

int
cli_select_device(struct cli *c, struct ib_usbmux **mp, struct ib_device *devp)
{
	struct ib_usbmux *m = NULL;
	int r;

	*mp = NULL;
	if ((r = cli_usbmux_open(c, &m)) != IB_OK)
		return r;
	if ((r = ib_usbmux_select(m, c->udid, devp)) != IB_OK) {
		if (r == IB_ERR_DEVICE_AMBIGUOUS || r == IB_ERR_DEVICE_NOT_FOUND)
			list_devices_for_choice(c, m);
		ib_usbmux_free(m);
		return r;
	}
	*mp = m;
	return IB_OK;
}

long long
cli_parse_count(const char *s)
{
	char *end = NULL;
	unsigned long long v;

	if (s == NULL || *s == '\0' || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		return -1;
	{
		unsigned long long mult = 1;

		switch (*end) {
		case 'k': case 'K': mult = 1024ull; end++; break;
		case 'M': mult = 1024ull * 1024; end++; break;
		case 'G': mult = 1024ull * 1024 * 1024; end++; break;
		default: break;
		}
		if (v > (unsigned long long)LLONG_MAX / mult)
			return -1;
		v *= mult;
	}
	if (*end != '\0' || v > (unsigned long long)LLONG_MAX)
		return -1;
	return (long long)v;
}

/* --- JSON ------------------------------------------------------------ */

void
cli_json_begin(struct cli_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

static void
json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", f);
		else if (ch == '\t')
			fputs("\\t", f);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void
json_key(struct cli_json *j, const char *key)
{
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	j->need_comma[j->depth] = 1;
	if (key != NULL) {
		json_string(j->f, key);
		fputc(':', j->f);
	}
}

static void
json_open(struct cli_json *j, const char *key, char ch)
{
	json_key(j, key);
	fputc(ch, j->f);
	if (j->depth + 1 < (int)IB_ARRAY_LEN(j->need_comma))
		j->depth++;
	j->need_comma[j->depth] = 0;
}

static void
json_close(struct cli_json *j, char ch)
{
	fputc(ch, j->f);
	if (j->depth > 0)
		j->depth--;
}

void cli_json_obj_open(struct cli_json *j, const char *key) { json_open(j, key, '{'); }
void cli_json_obj_close(struct cli_json *j) { json_close(j, '}'); }
void cli_json_arr_open(struct cli_json *j, const char *key) { json_open(j, key, '['); }
void cli_json_arr_close(struct cli_json *j) { json_close(j, ']'); }

void
cli_json_str(struct cli_json *j, const char *key, const char *v)
{
	json_key(j, key);
	if (v == NULL)
		fputs("null", j->f);
	else
		json_string(j->f, v);
}

void
cli_json_int(struct cli_json *j, const char *key, long long v)
{
	json_key(j, key);
	fprintf(j->f, "%lld", v);
}

void
cli_json_uint(struct cli_json *j, const char *key, unsigned long long v)
{
	json_key(j, key);
	fprintf(j->f, "%llu", v);
}

void
cli_json_real(struct cli_json *j, const char *key, double v)
{
	json_key(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.3f", v);
	else
		fputs("null", j->f);
}

void
cli_json_bool(struct cli_json *j, const char *key, int v)
{
	json_key(j, key);
	fputs(v ? "true" : "false", j->f);
}

void
cli_json_null(struct cli_json *j, const char *key)
{
	json_key(j, key);
	fputs("null", j->f);
}

void
cli_json_end(struct cli_json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}

/* --- progress ------------------------------------------------------- */

/* Redraw interval: fast enough to look alive, slow enough to stay cheap. */
#define PROGRESS_REDRAW_MS 200

const char *
cli_human_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KB", "MB", "GB", "TB" };
	double v = (double)n;
	size_t u = 0;

	while (v >= 1000.0 && u + 1 < IB_ARRAY_LEN(units)) {
		v /= 1000.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

void
cli_progress_init(struct cli_progress *p, struct cli *c, const char *what)
{
	memset(p, 0, sizeof(*p));
	p->c = c;
	p->what = what;
	p->start_ms = ib_now_ms();
	p->percent = -1;
}

static void
progress_eta(const struct cli_progress *p, double rate, char *buf, size_t len)
{
	double left = -1;

	if (p->total_bytes > p->bytes && rate > 0)
		left = (double)(p->total_bytes - p->bytes) / rate;
	else if (p->percent > 0.5 && p->percent < 100.0) {
		double elapsed = (double)(ib_now_ms() - p->start_ms) / 1000.0;
		left = elapsed * (100.0 - p->percent) / p->percent;
	}
	if (left < 0)
		snprintf(buf, len, "--:--");
	else if (left >= 3600)
		snprintf(buf, len, "%d:%02d:%02d", (int)left / 3600,
		    ((int)left / 60) % 60, (int)left % 60);
	else
		snprintf(buf, len, "%02d:%02d", (int)left / 60, (int)left % 60);
}

void
cli_progress_update(struct cli_progress *p, int force)
{
	uint64_t now = ib_now_ms();
	double secs = (double)(now - p->start_ms) / 1000.0;
	double rate = secs > 0.05 ? (double)p->bytes / secs : 0;
	char b1[32], b2[32], eta[32];

	if (p->c->quiet)
		return;
	if (!force && now - p->last_draw_ms < PROGRESS_REDRAW_MS)
		return;
	p->last_draw_ms = now;
	if (p->c->json) {
		struct cli_json j;

		cli_json_begin(&j, stdout);
		cli_json_obj_open(&j, NULL);
		cli_json_str(&j, "event", "progress");
		cli_json_str(&j, "operation", p->what);
		if (p->percent >= 0)
			cli_json_real(&j, "percent", p->percent);
		else
			cli_json_null(&j, "percent");
		cli_json_uint(&j, "bytes", p->bytes);
		cli_json_uint(&j, "files", p->files);
		cli_json_real(&j, "rate", rate);
		cli_json_real(&j, "elapsed", secs);
		cli_json_obj_close(&j);
		cli_json_end(&j);
		return;
	}
	if (!p->c->tty)
		return;
	progress_eta(p, rate, eta, sizeof(eta));
	if (p->percent >= 0)
		fprintf(stderr, "\r\033[K%s %5.1f%%  %s  %llu files  %s/s  ETA %s",
		    p->what, p->percent, cli_human_bytes(p->bytes, b1, sizeof(b1)),
		    (unsigned long long)p->files,
		    cli_human_bytes((uint64_t)rate, b2, sizeof(b2)), eta);
	else
		fprintf(stderr, "\r\033[K%s  %s  %llu files  %s/s",
		    p->what, cli_human_bytes(p->bytes, b1, sizeof(b1)),
		    (unsigned long long)p->files,
		    cli_human_bytes((uint64_t)rate, b2, sizeof(b2)));
	fflush(stderr);
	p->drawn = 1;
}

void
cli_progress_clear(struct cli_progress *p)
{
	if (p->drawn) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
		p->drawn = 0;
	}
}
