/*
 * services_peer.h - a device end for the service tests: a thread that
 * serves the device side of a socketpair, either with a virtual-device
 * handler (sim_services_serve_*) or with a script of raw bytes, while the
 * test drives a host client over the other end.
 */
#ifndef SERVICES_PEER_H
#define SERVICES_PEER_H

#include <stddef.h>

struct ib_conn;
struct sim_services;

typedef void (*peer_serve_fn)(struct sim_services *S, struct ib_conn *conn);

struct peer;

/* Start serve(S, device conn) on a thread; *hostp is the host end
 * (HOST role, owns its fd). */
int peer_serve(peer_serve_fn serve, struct sim_services *S, struct ib_conn **hostp,
    struct peer **pp);
/* A device that sends the n bytes at p (copied) and closes its sending
 * side, then reads and drops whatever the host sends until it closes. */
int peer_script(const void *p, size_t n, struct ib_conn **hostp, struct peer **pp);
/* Wait for the device thread to end (close the host end first). */
void peer_join(struct peer *p);

/* Poll cond(arg) every millisecond for up to ms; its last value. */
int peer_wait_for(int (*cond)(void *arg), void *arg, unsigned ms);

#endif /* SERVICES_PEER_H */
