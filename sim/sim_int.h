/*
 * sim_int.h - what sim.c, sim_dev.c and sim_serve.c share (private to
 * sim/).
 */
#ifndef IB_SIM_INT_H
#define IB_SIM_INT_H

#include <pthread.h>
#include <stdint.h>

#include "ib_sim.h"
#include "sim_proto.h"

/* Knobs one simulator accepts on its command line. */
#define SIM_KNOBS_MAX 128u
/* Names registered by all layers together. */
#define SIM_KNOB_NAMES_MAX 128u

struct sim_knob {
	char *name;
	char *value;
	unsigned dev;           /* 0 = every device, else device number */
};

struct sim_server;

struct ib_sim {
	uint32_t seed;
	unsigned ndev;
	struct ib_sim_dev **devs;
	struct sim_knob *knobs;
	size_t nknobs;
	/* Orders plug/unplug with Watch snapshots: held while a device's
	 * plugged state changes and its event is queued (before dev->mu). */
	pthread_mutex_t mu;
	struct sim_server *server;
};

/* sim.c */
/* Register the built-in and every layer's knobs (once per process). */
void sim_register_all(void);
int sim_knob_is_registered(const char *name);
/* Value for device number devno (1-based): its own setting, else the
 * global one, else NULL. */
const char *sim_knob_value(const struct ib_sim *sim, unsigned devno, const char *name);
/* Strict number with k/M/G (powers of 1024): IB_ERR_USAGE if invalid. */
int sim_parse_u64(const char *s, uint64_t *vp);

/* test_services.c: the SplitMix64 step behind identities and the source
 * service's stream (sim_test.h). */
uint64_t sim_splitmix64(uint64_t *state);

/* sim_dev.c */
int sim_dev_new(struct ib_sim *sim, unsigned index, struct ib_sim_dev **devp);
/* Detach every host, join every service thread, free. */
void sim_dev_free(struct ib_sim_dev *dev);
/* sim_identity.c: identity of device index (0-based) for seed. */
void sim_identity(uint32_t seed, unsigned index, struct ib_sim_identity *id);
void sim_dev_devinfo(const struct ib_sim_dev *dev, struct ib_sim_devinfo *out);

/* sim_serve.c */
/* A device was plugged (1) or unplugged (0); called with sim->mu held. */
void sim_serve_notify(struct sim_server *srv, const struct ib_sim_dev *dev, int plugged);
void sim_serve_stop(struct sim_server *srv);

#endif /* IB_SIM_INT_H */
