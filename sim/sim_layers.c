/*
 * sim_layers.c - the protocol layers of the virtual device, in start-up
 * order. Each step adds its layer's line.
 */
#include "sim_layers.h"

extern const struct ib_sim_layer ib_sim_layer_test;

const struct ib_sim_layer *const ib_sim_layers[] = {
	&ib_sim_layer_test,
	NULL,
};
