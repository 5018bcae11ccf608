/*
 * main.c - `ibackup [global options] COMMAND [options] [arguments]`.
 *
 * Every command and option is described once, in the tables of the
 * cmd_*.c files and below; `ibackup help`, `ibackup help CMD`, --help and
 * the man page (`ibackup help --man`) are all printed from them.
 */
#include "cli.h"
#include "cli_cmds.h"
#include "cli_globals.h"
#include "ib_config.h"
#include "ib_err.h"
#include "ib_log.h"
#include "ib_util.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const struct cli_opt cli_global_opts[] = {
	{ "udid", 'u', "UDID", "Use the device with this UDID (needed when several are connected)." },
	{ "transport", OPT_TRANSPORT, "T", "How to reach devices: usb (ibackup's own USB multiplexer), "
	  "usbmuxd (a running usbmuxd, at $USBMUXD_SOCKET_ADDRESS or /var/run/usbmuxd), "
	  "sim:PATH (virtual devices of `ibackup-sim --listen PATH`) or auto (the default: "
	  "usb if an Apple device answers, else usbmuxd)." },
	{ "pair-records", OPT_PAIR_RECORDS, "DIR", "Keep pairing records in DIR instead of "
	  "/var/lib/lockdown (when writable) or $XDG_CONFIG_HOME/ibackup/lockdown." },
	{ "verbose", 'v', NULL, "Show protocol detail; repeat for more (-vv steps, -vvv packets)." },
	{ "quiet", 'q', NULL, "Print nothing but errors." },
	{ "json", OPT_JSON, NULL, "Print machine-readable JSON (one object per line for events)." },
	{ "help", 'h', NULL, "Show help for the command." },
	{ "version", OPT_VERSION, NULL, "Print the version." },
	{ NULL, 0, NULL, NULL },
};

/* Exit statuses; ib_err.h assigns one to every error value. */
static const struct {
	int status;
	const char *meaning;
} exit_statuses[] = {
	{ 0, "success" },
	{ 1, "failure that fits no other status (a bug, or an unexpected system error)" },
	{ 2, "invalid command line, or a choice is needed (several devices or backups match)" },
	{ 3, "no device connected, or the device was unplugged" },
	{ 4, "this computer is not (or no longer) trusted by the device: run `ibackup pair`" },
	{ 5, "the user tapped Don't Trust on the device" },
	{ 6, "timed out (waiting for Trust, a device, or the sync lock)" },
	{ 7, "the device is locked, or its passcode was not entered" },
	{ 8, "protocol error: the device or a peer sent malformed data" },
	{ 9, "the device sent an unsafe path (nothing was written outside the backup)" },
	{ 10, "the device reported that the operation failed" },
	{ 11, "not enough free space on this computer" },
	{ 12, "the backup is missing, incomplete or damaged" },
	{ 13, "the backup password is wrong or missing" },
	{ 14, "the backup comes from a newer iOS than the device runs" },
	{ 15, "file system or permission error on this computer" },
	{ 16, "the device refused the connection or lacks the service" },
	{ 130, "interrupted (Ctrl-C)" },
};

static const struct cli_cmd cmd_help;

const struct cli_cmd *const cli_commands[] = {
	&cli_cmd_devices,
	&cli_cmd_info,
	&cli_cmd_pair,
	&cli_cmd_unpair,
	&cli_cmd_validate,
	&cli_cmd_muxd,
	&cmd_help,
	NULL,
};

int
cli_global_option(struct cli *c, int key, const char *arg)
{
	switch (key) {
	case 'u':
		c->udid = arg;
		return 0;
	case OPT_TRANSPORT:
		c->mux.transport = arg;
		return 0;
	case OPT_PAIR_RECORDS:
		c->mux.pair_record_dir = arg;
		return 0;
	case 'v':
		c->verbose++;
		ib_log_set_level(IB_LOG_WARN + c->verbose);
		return 0;
	case 'q':
		c->quiet = 1;
		ib_log_set_level(IB_LOG_ERROR);
		return 0;
	case OPT_JSON:
		c->json = 1;
		return 0;
	case 'h':
		cli_help_command(stdout, c->cmd);
		exit(0);
	case OPT_VERSION:
		printf("ibackup %s\n", IB_VERSION);
		exit(0);
	default:
		return -1;
	}
}

/* Help text is wrapped to fit an 80-column terminal. */
#define HELP_WIDTH 79

/* Print text from column `indent` (the cursor is there already),
 * wrapping at word boundaries with the same indent. */
static void
print_wrapped(FILE *f, const char *text, int indent)
{
	int col = indent;
	const char *p = text;

	while (*p != '\0') {
		const char *w = p;
		int len;

		while (*w == ' ')
			w++;
		len = (int)strcspn(w, " ");
		if (len == 0)
			break;
		if (col > indent && col + 1 + len > HELP_WIDTH) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		fwrite(w, 1, (size_t)len, f);
		col += len;
		p = w + len;
	}
	fputc('\n', f);
}

static void
print_opts(FILE *f, const struct cli_opt *o)
{
	for (; o != NULL && o->name != NULL; o++) {
		char left[64];

		if (o->key > 0 && o->key < 128)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->key, o->name,
			    o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name,
			    o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(f, "  %-26s ", left);
		print_wrapped(f, o->help, 29);
	}
}

void
cli_help_command(FILE *f, const struct cli_cmd *cmd)
{
	if (cmd == NULL || cmd == &cmd_help) {
		cli_help_main(f);
		return;
	}
	fprintf(f, "usage: ibackup [global options] %s [options]%s%s\n\n%s.\n\n",
	    cmd->name, cmd->usage[0] ? " " : "", cmd->usage, cmd->summary);
	print_wrapped(f, cmd->description, 0);
	if (cmd->opts != NULL && cmd->opts[0].name != NULL) {
		fprintf(f, "\noptions:\n");
		print_opts(f, cmd->opts);
	}
	fprintf(f, "\nglobal options:\n");
	print_opts(f, cli_global_opts);
}

void
cli_help_main(FILE *f)
{
	size_t i;

	fprintf(f, "usage: ibackup [global options] COMMAND [options] [arguments]\n\n"
	    "Back up, list and restore iPhones and iPads over USB, without usbmuxd.\n\n"
	    "commands:\n");
	for (i = 0; cli_commands[i] != NULL; i++)
		fprintf(f, "  %-12s %s\n", cli_commands[i]->name, cli_commands[i]->summary);
	fprintf(f, "\nglobal options:\n");
	print_opts(f, cli_global_opts);
	fprintf(f, "\nexit status:\n");
	for (i = 0; i < IB_ARRAY_LEN(exit_statuses); i++)
		fprintf(f, "  %-4d %s\n", exit_statuses[i].status, exit_statuses[i].meaning);
	fprintf(f, "\nRun `ibackup help COMMAND` for a command's options.\n");
}

/* roff text: escape backslashes and leading dots/quotes. */
static void
man_text(FILE *f, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else if (*s == '\n') {
			fputc('\n', f);
			if (s[1] == '.' || s[1] == '\'')
				fputs("\\&", f);
		} else
			fputc(*s, f);
	}
}

static void
man_opts(FILE *f, const struct cli_opt *o)
{
	for (; o != NULL && o->name != NULL; o++) {
		fputs(".TP\n", f);
		if (o->key > 0 && o->key < 128)
			fprintf(f, "\\fB\\-%c\\fR, ", o->key);
		fputs("\\fB\\-\\-", f);
		man_text(f, o->name);
		fputs("\\fR", f);
		if (o->arg != NULL) {
			fputs(" \\fI", f);
			man_text(f, o->arg);
			fputs("\\fR", f);
		}
		fputc('\n', f);
		man_text(f, o->help);
		fputc('\n', f);
	}
}

static void
print_man(FILE *f)
{
	size_t i;

	fprintf(f, ".TH IBACKUP 1 \"\" \"ibackup %s\" \"User Commands\"\n", IB_VERSION);
	fputs(".SH NAME\nibackup \\- back up and restore iPhones and iPads over USB\n"
	    ".SH SYNOPSIS\n\\fBibackup\\fR [\\fIglobal options\\fR] \\fICOMMAND\\fR "
	    "[\\fIoptions\\fR] [\\fIarguments\\fR]\n.SH GLOBAL OPTIONS\n", f);
	man_opts(f, cli_global_opts);
	fputs(".SH COMMANDS\n", f);
	for (i = 0; cli_commands[i] != NULL; i++) {
		const struct cli_cmd *cmd = cli_commands[i];

		fputs(".SS ", f);
		man_text(f, cmd->name);
		if (cmd->usage[0] != '\0') {
			fputc(' ', f);
			man_text(f, cmd->usage);
		}
		fputc('\n', f);
		man_text(f, cmd->summary);
		fputs(".\n.PP\n", f);
		man_text(f, cmd->description);
		fputc('\n', f);
		man_opts(f, cmd->opts);
	}
	fputs(".SH EXIT STATUS\n", f);
	for (i = 0; i < IB_ARRAY_LEN(exit_statuses); i++) {
		fprintf(f, ".TP\n%d\n", exit_statuses[i].status);
		man_text(f, exit_statuses[i].meaning);
		fputc('\n', f);
	}
}

int
cli_exit_status_documented(int status)
{
	size_t i;

	for (i = 0; i < IB_ARRAY_LEN(exit_statuses); i++)
		if (exit_statuses[i].status == status)
			return 1;
	return 0;
}

static const struct cli_opt help_opts[] = {
	{ "man", 'm', NULL, "Print the manual page (roff) instead." },
	{ NULL, 0, NULL, NULL },
};

static int
help_opt(struct cli *c, int key, const char *arg, void *ctx)
{
	(void)c;
	(void)arg;
	*(int *)ctx = key == 'm';
	return 0;
}

static int
run_help(struct cli *c, int argc, char **argv)
{
	int man = 0, i, k;

	if ((i = cli_parse(c, argc, argv, help_opt, &man)) < 0)
		return 2;
	if (man) {
		print_man(stdout);
		return 0;
	}
	if (i >= argc) {
		cli_help_main(stdout);
		return 0;
	}
	for (k = 0; cli_commands[k] != NULL; k++)
		if (strcmp(cli_commands[k]->name, argv[i]) == 0) {
			cli_help_command(stdout, cli_commands[k]);
			return 0;
		}
	return cli_usage_error(c, "no command named `%s`", argv[i]);
}

static const struct cli_cmd cmd_help = {
	"help", "[COMMAND]", "Show help for ibackup or one command",
	"Without a command, list the commands, the global options and the exit statuses.",
	help_opts, run_help,
};

static void
on_signal(int sig)
{
	static volatile sig_atomic_t count;

	(void)sig;
	/* First Ctrl-C: finish cleanly (device told, lock released).
	 * Second: the person means it. */
	if (++count > 1)
		_exit(130);
	ib_interrupt_set();
}

static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* Writes to a dead socket must return EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
}

int
ibackup_main(int argc, char **argv)
{
	struct cli c;
	int i, k;

	memset(&c, 0, sizeof(c));
	c.tty = isatty(STDERR_FILENO);
	ib_log_set_prefix("ibackup");
	install_signals();

	/* Global options before the command. */
	c.cmd = &cmd_help;
	if ((i = cli_parse_ex(&c, argc, argv, NULL, NULL, 1)) < 0)
		return 2;
	if (i >= argc) {
		cli_help_main(stderr);
		return 2;
	}
	for (k = 0; cli_commands[k] != NULL; k++) {
		if (strcmp(cli_commands[k]->name, argv[i]) == 0) {
			c.cmd = cli_commands[k];
			return c.cmd->run(&c, argc - i, argv + i);
		}
	}
	fprintf(stderr, "ibackup: no command named `%s`\n", argv[i]);
	cli_help_main(stderr);
	return 2;
}
