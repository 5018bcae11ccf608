/*
 * sim_layers.c - the protocol layers of the virtual device, in start-up
 * order. Each step adds its layer's line.
 */
#include "sim_layers.h"

extern const struct ib_sim_layer ib_sim_layer_test;
extern const struct ib_sim_layer ib_sim_layer_lockdown;
extern const struct ib_sim_layer ib_sim_layer_services;

const struct ib_sim_layer *const ib_sim_layers[] = {
	&ib_sim_layer_test,
	&ib_sim_layer_lockdown,
	&ib_sim_layer_services,         /* after lockdown: registers with it */
	NULL,
};
