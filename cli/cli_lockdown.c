/*
 * cli_lockdown.c - lockdown helpers for the commands.
 */
#include "cli_lockdown.h"

#include <string.h>

void
cli_pair_message(void *ctx, enum ib_lockdown_event ev, const char *text)
{
	struct cli *c = ctx;

	if (c->json) {
		static const char *const names[] = {
			"", "trust_prompt", "device_locked", "reconnect", "paired",
		};
		struct cli_json j;

		cli_json_begin(&j, stdout);
		cli_json_obj_open(&j, NULL);
		cli_json_str(&j, "event", (unsigned)ev < 5 ? names[ev] : "pairing");
		cli_json_str(&j, "message", text);
		cli_json_obj_close(&j);
		cli_json_end(&j);
		return;
	}
	if (ev == IB_LD_EVENT_TRUST_PROMPT) {
		if (c->trust_prompted)
			return;
		c->trust_prompted = 1;
	}
	if (ev == IB_LD_EVENT_PAIRED)
		return;   /* the command says it with the device's name */
	cli_say(c, "%s", text);
}

void
cli_pair_prompt(struct cli *c)
{
	cli_pair_message(c, IB_LD_EVENT_TRUST_PROMPT,
	    "Unlock the iPhone, tap Trust, and enter its passcode.");
}

void
cli_lockdown_opts(struct cli *c, struct ib_lockdown_opts *o, int pair_timeout_ms)
{
	(void)c;
	memset(o, 0, sizeof(*o));
	o->label = "ibackup";
	o->pair_timeout_ms = pair_timeout_ms;
}
