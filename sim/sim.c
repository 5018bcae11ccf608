/*
 * sim.c - the simulator: knob registry and parsing, the device set.
 *
 * Knobs are strings so that every layer can define its own without a
 * central table; the registry only knows names (for --help and to refuse
 * typos at start-up) and each layer parses its values.
 */
#include "ib_sim.h"
#include "sim_int.h"
#include "sim_layers.h"

#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest knob name, value, and device prefix we accept. */
#define KNOB_NAME_MAX 32u
#define KNOB_VALUE_MAX 256u

struct knob_name {
	char name[KNOB_NAME_MAX + 1];
	char help[160];
};

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct knob_name registry[SIM_KNOB_NAMES_MAX];
static size_t registry_n;
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;

void
ib_sim_knob_register(const char *name, const char *help)
{
	size_t i;

	if (name == NULL || strlen(name) > KNOB_NAME_MAX)
		return;
	pthread_mutex_lock(&registry_mu);
	for (i = 0; i < registry_n && strcmp(registry[i].name, name) != 0; i++)
		;
	if (i == registry_n && registry_n < SIM_KNOB_NAMES_MAX)
		registry_n++;
	if (i < registry_n) {
		snprintf(registry[i].name, sizeof(registry[i].name), "%s", name);
		snprintf(registry[i].help, sizeof(registry[i].help), "%s",
		    help != NULL ? help : "");
	}
	pthread_mutex_unlock(&registry_mu);
}

static void
register_builtin(void)
{
	const struct ib_sim_layer *const *l;

	ib_sim_knob_register("window",
	    "BYTES: the device's receive window per stream (256..256k, default 128k)");
	ib_sim_knob_register("split",
	    "0|1: random payload sizes per packet and random write() sizes on the byte stream");
	ib_sim_knob_register("rst_port",
	    "PORT: connections to PORT are refused with an RST that gives a reason");
	ib_sim_knob_register("unplug_after",
	    "BYTES: unplug after BYTES of mux packets in either direction (counted from plug)");
	ib_sim_knob_register("malformed",
	    "BYTES[,KIND]: once BYTES of mux packets went by since plug, send one malformed "
	    "packet to each attached host: short (TCP "
	    "header cut), magic (bad v2 magic), stream (data for an unknown stream), protocol "
	    "(unknown protocol number), flags (FIN on an open stream), framing (a header length "
	    "no byte-stream peer can frame), or 1-6 (default short)");
	ib_sim_knob_register("mux_version",
	    "1|2: highest mux protocol version the device answers (default 2)");
	for (l = ib_sim_layers; *l != NULL; l++)
		if ((*l)->register_knobs != NULL)
			(*l)->register_knobs();
}

void
sim_register_all(void)
{
	pthread_once(&registry_once, register_builtin);
}

int
sim_knob_is_registered(const char *name)
{
	size_t i;
	int found = 0;

	sim_register_all();
	pthread_mutex_lock(&registry_mu);
	for (i = 0; i < registry_n && !found; i++)
		found = strcmp(registry[i].name, name) == 0;
	pthread_mutex_unlock(&registry_mu);
	return found;
}

void
ib_sim_knob_foreach(void (*fn)(void *ctx, const char *name, const char *help), void *ctx)
{
	struct knob_name copy[SIM_KNOB_NAMES_MAX];
	size_t i, n;

	sim_register_all();
	pthread_mutex_lock(&registry_mu);
	n = registry_n;
	memcpy(copy, registry, n * sizeof(copy[0]));
	pthread_mutex_unlock(&registry_mu);
	for (i = 0; i < n; i++)
		fn(ctx, copy[i].name, copy[i].help);
}

int
sim_parse_u64(const char *s, uint64_t *vp)
{
	uint64_t v = 0, mul = 1;
	const char *p = s;

	*vp = 0;
	if (s == NULL || !isdigit((unsigned char)*p))
		return IB_ERR_USAGE;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return IB_ERR_USAGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	switch (*p) {
	case '\0':
		break;
	case 'k': case 'K':
		mul = 1024u;
		p++;
		break;
	case 'M':
		mul = 1024u * 1024u;
		p++;
		break;
	case 'G':
		mul = 1024u * 1024u * 1024u;
		p++;
		break;
	default:
		return IB_ERR_USAGE;
	}
	if (*p != '\0' || (v != 0 && v > UINT64_MAX / mul))
		return IB_ERR_USAGE;
	*vp = v * mul;
	return IB_OK;
}

/* "name=value" or "N:name=value" into *k (strings malloc'd). */
static int
parse_knob(const char *spec, unsigned ndev, struct sim_knob *k)
{
	const char *eq = strchr(spec, '='), *name = spec, *colon;
	size_t nlen;
	uint64_t devno = 0;

	memset(k, 0, sizeof(*k));
	if (eq == NULL)
		goto bad;
	colon = memchr(spec, ':', (size_t)(eq - spec));
	if (colon != NULL) {
		char num[16];
		size_t dl = (size_t)(colon - spec);

		if (dl == 0 || dl >= sizeof(num))
			goto bad;
		memcpy(num, spec, dl);
		num[dl] = '\0';
		if (sim_parse_u64(num, &devno) != IB_OK || !isdigit((unsigned char)num[dl - 1]) ||
		    devno == 0 || devno > ndev) {
			ib_err_detail_set("knob \"%.80s\": no device %s (there are %u)",
			    spec, num, ndev);
			return IB_ERR_USAGE;
		}
		name = colon + 1;
	}
	nlen = (size_t)(eq - name);
	if (nlen == 0 || nlen > KNOB_NAME_MAX || strlen(eq + 1) > KNOB_VALUE_MAX)
		goto bad;
	if ((k->name = strndup(name, nlen)) == NULL || (k->value = strdup(eq + 1)) == NULL) {
		free(k->name);
		k->name = NULL;
		return IB_ERR_NOMEM;
	}
	if (!sim_knob_is_registered(k->name)) {
		ib_err_detail_set("unknown knob \"%s\" (ibackup-sim --help lists them)", k->name);
		free(k->name);
		free(k->value);
		memset(k, 0, sizeof(*k));
		return IB_ERR_USAGE;
	}
	k->dev = (unsigned)devno;
	return IB_OK;
bad:
	ib_err_detail_set("knob \"%.80s\" is not [N:]name=value", spec);
	return IB_ERR_USAGE;
}

const char *
sim_knob_value(const struct ib_sim *sim, unsigned devno, const char *name)
{
	const char *global = NULL, *own = NULL;
	size_t i;

	/* Later settings win, a device's own over the global one. */
	for (i = 0; i < sim->nknobs; i++) {
		if (strcmp(sim->knobs[i].name, name) != 0)
			continue;
		if (sim->knobs[i].dev == 0)
			global = sim->knobs[i].value;
		else if (sim->knobs[i].dev == devno)
			own = sim->knobs[i].value;
	}
	return own != NULL ? own : global;
}

int
ib_sim_new(unsigned ndevices, const char *const *knobs, uint32_t seed,
    struct ib_sim **simp)
{
	struct ib_sim *sim;
	size_t n = 0;
	unsigned i;
	int r;

	*simp = NULL;
	if (ndevices == 0 || ndevices > IB_SIM_MAX_DEVICES) {
		ib_err_detail_set("the simulator serves 1 to %u devices", IB_SIM_MAX_DEVICES);
		return IB_ERR_USAGE;
	}
	sim_register_all();
	while (knobs != NULL && knobs[n] != NULL)
		n++;
	if (n > SIM_KNOBS_MAX) {
		ib_err_detail_set("more than %u knobs", SIM_KNOBS_MAX);
		return IB_ERR_USAGE;
	}
	if ((sim = calloc(1, sizeof(*sim))) == NULL)
		return IB_ERR_NOMEM;
	pthread_mutex_init(&sim->mu, NULL);
	sim->seed = seed;
	if ((sim->knobs = calloc(n > 0 ? n : 1, sizeof(*sim->knobs))) == NULL ||
	    (sim->devs = calloc(ndevices, sizeof(*sim->devs))) == NULL) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	for (; sim->nknobs < n; sim->nknobs++)
		if ((r = parse_knob(knobs[sim->nknobs], ndevices, &sim->knobs[sim->nknobs])) != IB_OK)
			goto out;
	for (i = 0; i < ndevices; i++) {
		if ((r = sim_dev_new(sim, i, &sim->devs[i])) != IB_OK)
			goto out;
		sim->ndev++;
	}
	*simp = sim;
	sim = NULL;
	r = IB_OK;
out:
	ib_sim_free(sim);
	return r;
}

void
ib_sim_free(struct ib_sim *sim)
{
	size_t i;

	if (sim == NULL)
		return;
	sim_serve_stop(sim->server);
	sim->server = NULL;
	for (i = 0; i < sim->ndev; i++)
		sim_dev_free(sim->devs[i]);
	for (i = 0; i < sim->nknobs; i++) {
		free(sim->knobs[i].name);
		free(sim->knobs[i].value);
	}
	free(sim->knobs);
	free(sim->devs);
	pthread_mutex_destroy(&sim->mu);
	free(sim);
}

unsigned
ib_sim_count(const struct ib_sim *sim)
{
	return sim->ndev;
}

struct ib_sim_dev *
ib_sim_get(struct ib_sim *sim, unsigned i)
{
	return i < sim->ndev ? sim->devs[i] : NULL;
}

struct ib_sim_dev *
ib_sim_find(struct ib_sim *sim, const char *udid)
{
	unsigned i;

	if (udid == NULL)
		return NULL;
	for (i = 0; i < sim->ndev; i++) {
		const struct ib_sim_identity *id = ib_sim_dev_identity(sim->devs[i]);

		if (strcasecmp(id->udid, udid) == 0 || strcasecmp(id->usb_serial, udid) == 0)
			return sim->devs[i];
	}
	return NULL;
}
