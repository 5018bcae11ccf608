/*
 * fake_backend.h - an in-memory backend for the usbmuxd-compatible server
 * in tests: devices attached and detached on demand, an echo service on
 * port 7 (a thread behind a socketpair), a sink on port 9, a source on
 * port 19 (FAKE_SOURCE_BYTES of fake_source_byte(), then the device
 * closes), pair records and a BUID in memory. Other ports refuse.
 */
#ifndef IB_TEST_FAKE_BACKEND_H
#define IB_TEST_FAKE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "muxd_server.h"

#define FAKE_BUID "00112233-4455-6677-8899-AABBCCDDEEFF"
#define FAKE_SOURCE_BYTES (3u * 1024u * 1024u + 17u)

static inline uint8_t
fake_source_byte(size_t i)
{
	return (uint8_t)((i * 7u + i / 251u) & 0xffu);
}

struct fake_backend;

struct fake_backend *fake_backend_new(void);
void fake_backend_free(struct fake_backend *fb);
const struct ib_muxd_backend *fake_backend_ops(void);

/* Attach a device (subscribers hear it); returns its handle (1, 2, ...). */
uint32_t fake_backend_attach(struct fake_backend *fb, const char *udid);
void fake_backend_detach(struct fake_backend *fb, uint32_t handle);
enum fake_stat {
	FAKE_LAST_PORT,         /* port of the last connect attempt */
	FAKE_OPEN_STREAMS,      /* streams open now */
	FAKE_SUNK,              /* bytes the sink on port 9 swallowed */
};
uint64_t fake_backend_stat(struct fake_backend *fb, enum fake_stat what);
/* Called at the start of every list(): lets a test race events. */
void fake_backend_on_list(struct fake_backend *fb, void (*fn)(void *arg), void *arg);

#endif /* IB_TEST_FAKE_BACKEND_H */
