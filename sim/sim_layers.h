/*
 * sim_layers.h - how each protocol layer plugs its device side into the
 * virtual device. sim_layers.c lists the layers in start-up order.
 */
#ifndef IB_SIM_LAYERS_H
#define IB_SIM_LAYERS_H

#include "ib_sim.h"

struct ib_sim_layer {
	const char *name;
	/* Register the knobs this layer understands (ib_sim_knob_register). */
	void (*register_knobs)(void);
	/* Called once per device after creation: set the extension slot,
	 * bind fixed-port services, register control actions. */
	int (*attach)(struct ib_sim_dev *dev);
};

/* NULL-terminated, in start-up order. */
extern const struct ib_sim_layer *const ib_sim_layers[];

#endif /* IB_SIM_LAYERS_H */
