/*
 * sim_test.h - the virtual device's test services (test_services.c), for
 * tests and benchmarks that stress mux streams and check what arrives.
 *
 *   echo    port 7:  writes back every byte it reads, until EOF.
 *   sink    port 9:  reads u64 N (big-endian), then N bytes; answers the
 *                    32-byte SHA-256 of those N bytes; then waits for EOF.
 *   source  port 19: reads u64 N and u64 SEED (big-endian), sends the
 *                    first N bytes of the stream ib_sim_prng(SEED); then
 *                    waits for EOF.
 *   burst   port 21: like source, but closes the stream right after the
 *                    last byte (a service that answers and hangs up:
 *                    the host must still get every byte, then EOF).
 *   discard port 20: reads u64 N, then N bytes it drops unlooked-at;
 *                    answers u64 N; then waits for EOF (for benchmarks:
 *                    no hashing on the device side).
 *
 * The services wait for the host to close after answering so that the
 * host decides when a stream ends.
 *
 * The byte stream of SEED is SplitMix64: state = SEED; for each block of
 * 8 bytes, state += 0x9E3779B97F4A7C15, z = state,
 * z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9,
 * z = (z ^ (z >> 27)) * 0x94D049BB133111EB, z ^= z >> 31, and the block
 * is z in little-endian byte order. N bytes are the first N bytes of the
 * concatenated blocks.
 *
 * Knob: slow_reader=MS makes echo, sink and discard sleep MS milliseconds before
 * every read (a slow application on the device).
 */
#ifndef IB_SIM_TEST_H
#define IB_SIM_TEST_H

#include <stddef.h>
#include <stdint.h>

#define IB_SIM_PORT_ECHO 7
#define IB_SIM_PORT_SINK 9
#define IB_SIM_PORT_SOURCE 19
#define IB_SIM_PORT_DISCARD 20
#define IB_SIM_PORT_BURST 21

struct ib_sim_prng {
	uint64_t state;
	uint8_t block[8];
	unsigned used;          /* bytes of block already handed out */
};

void ib_sim_prng_init(struct ib_sim_prng *g, uint64_t seed);
/* Next n bytes of the stream. */
void ib_sim_prng_fill(struct ib_sim_prng *g, uint8_t *out, size_t n);

/* A test service request: u64 N (and u64 SEED for the source), big-endian,
 * into out; returns its length (8, or 16 with a seed). */
size_t ib_sim_test_request(uint8_t out[16], uint64_t n, int with_seed, uint64_t seed);

/* Blocking whole-buffer I/O on a stream socket (services, benchmarks):
 * IB_OK, or IB_ERR_EOF when the peer closed or the socket failed. */
int ib_sim_write_full(int fd, const void *p, size_t n);
int ib_sim_read_full(int fd, void *p, size_t n);

#endif /* IB_SIM_TEST_H */
