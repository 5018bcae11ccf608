/*
 * sim_harness.h - helpers for tests that run the virtual device in
 * process and reach it through ib_usbmux (transport sim:PATH).
 */
#ifndef IB_SIM_HARNESS_H
#define IB_SIM_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "ib_sim.h"
#include "ib_usbmux.h"

/* Generous: tests run under ASan on a shared 2-core machine. */
#define H_TIMEOUT_MS 60000

struct harness {
	struct ib_sim *sim;
	struct ib_usbmux *mux;
	char path[108];
};

/* A simulator with ndev devices and knobs serving on a fresh socket, and
 * an ib_usbmux context on it. */
int h_start(struct harness *h, unsigned ndev, const char *const *knobs);
void h_stop(struct harness *h);
/* UDID of sim device i. */
const char *h_udid(struct harness *h, unsigned i);

/* Read and drop until EOF (a wait longer than H_TIMEOUT_MS fails);
 * *gotp (if set) counts what was dropped. Whole-buffer I/O is
 * ib_sim_write_full / ib_sim_read_full (sim_test.h). */
int h_read_to_eof(int fd, uint64_t *gotp);

/* Sink: send n bytes of the PRNG stream of seed, check the device's
 * SHA-256 of them. Source: ask for n bytes of seed and check each byte. */
int h_sink(struct ib_usbmux *m, const char *udid, uint64_t n, uint64_t seed);
int h_source(struct ib_usbmux *m, const char *udid, uint64_t n, uint64_t seed);
/* Requests only: open the stream and send the request; the caller reads. */
int h_source_open(struct ib_usbmux *m, const char *udid, uint64_t n, uint64_t seed,
    struct ib_stream **sp);
/* Read n bytes from fd and compare them with the stream of seed. */
int h_source_check(int fd, uint64_t n, uint64_t seed);

/* Wait until the context lists exactly n devices. */
int h_wait_count(struct ib_usbmux *m, size_t n);

#endif /* IB_SIM_HARNESS_H */
