/*
 * cli.h - shared pieces of the `ibackup` command: the command/option
 * tables (the single source of --help and the man page), global options,
 * output in human, quiet and JSON form, progress lines, and error
 * reporting.
 */
#ifndef IB_CLI_H
#define IB_CLI_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ib_usbmux.h"

/* One option of a command (or a global option). */
struct cli_opt {
	const char *name;       /* long name without "--" */
	int key;                /* short letter, or a value >= 256 */
	const char *arg;        /* metavariable, NULL for a flag */
	const char *help;       /* one sentence */
};

struct cli;

struct cli_cmd {
	const char *name;
	const char *usage;      /* arguments after the name, e.g. "[DIR]" */
	const char *summary;    /* one line for the command list */
	const char *description; /* paragraph(s) for `ibackup help CMD` and the man page */
	const struct cli_opt *opts; /* terminated by a zero entry */
	/* argv[0] is the command name; options already include globals. */
	int (*run)(struct cli *c, int argc, char **argv);
};

/* Global state from the global options. */
struct cli {
	const char *udid;               /* -u */
	struct ib_usbmux_opts mux;      /* --transport, --pair-records */
	int verbose;                    /* -v count */
	int quiet;                      /* -q */
	int json;                       /* --json */
	int tty;                        /* stderr is a terminal: progress lines */
	const struct cli_cmd *cmd;
	int trust_prompted;             /* the Trust sentence was printed */
};

/* Every command, in help order (defined in main.c). */
extern const struct cli_cmd *const cli_commands[];

/*
 * Parse command options: like getopt_long over c->cmd->opts plus the
 * global options (accepted after the command name too). Calls fn for
 * each command option; returns the index of the first operand, or -1
 * after printing a usage error.
 */
typedef int (*cli_opt_fn)(struct cli *c, int key, const char *arg, void *ctx);
int cli_parse(struct cli *c, int argc, char **argv, cli_opt_fn fn, void *ctx);
int cli_parse_ex(struct cli *c, int argc, char **argv, cli_opt_fn fn, void *ctx,
    int stop_at_operand);

/* Report err as one sentence (+ detail under -v); returns the exit status. */
int cli_fail(struct cli *c, int err);
/* Usage error for the current command; returns exit status 2. */
int cli_usage_error(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Message for the person at the terminal (stderr), suppressed by -q. */
void cli_say(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Open the usbmux context from the global options (logs the transport
 * under -v). */
int cli_usbmux_open(struct cli *c, struct ib_usbmux **mp);
/* Open and pick the device (-u or the only one). */
int cli_select_device(struct cli *c, struct ib_usbmux **mp, struct ib_device *devp);

/* Parse a non-negative integer with optional k/M/G suffix; -1 if invalid. */
long long cli_parse_count(const char *s);

/* --- JSON output (one value per call site; no pretty printing) --- */
struct cli_json {
	FILE *f;
	int depth;
	int need_comma[32];
};
void cli_json_begin(struct cli_json *j, FILE *f);
void cli_json_obj_open(struct cli_json *j, const char *key);
void cli_json_obj_close(struct cli_json *j);
void cli_json_arr_open(struct cli_json *j, const char *key);
void cli_json_arr_close(struct cli_json *j);
void cli_json_str(struct cli_json *j, const char *key, const char *v);
void cli_json_int(struct cli_json *j, const char *key, long long v);
void cli_json_uint(struct cli_json *j, const char *key, unsigned long long v);
void cli_json_real(struct cli_json *j, const char *key, double v);
void cli_json_bool(struct cli_json *j, const char *key, int v);
void cli_json_null(struct cli_json *j, const char *key);
/* Ends the top-level value with a newline. */
void cli_json_end(struct cli_json *j);

/* --- progress --- */
struct cli_progress {
	struct cli *c;
	const char *what;       /* "backup", "restore" */
	uint64_t start_ms;
	uint64_t last_draw_ms;
	int drawn;              /* a line is on screen */
	double percent;         /* device's own value, < 0 unknown */
	uint64_t bytes;
	uint64_t files;
	uint64_t total_bytes;   /* 0 unknown */
};
void cli_progress_init(struct cli_progress *p, struct cli *c, const char *what);
/* Redraw at most every 200 ms on a terminal; JSON event per call with
 * --json (rate-limited the same way); nothing with -q or when piped. */
void cli_progress_update(struct cli_progress *p, int force);
/* Erase the line (terminal) before printing something else. */
void cli_progress_clear(struct cli_progress *p);
/* Human size "1.5 GB" into buf. */
const char *cli_human_bytes(uint64_t n, char *buf, size_t len);

#endif /* IB_CLI_H */
