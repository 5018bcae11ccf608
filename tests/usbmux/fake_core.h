/*
 * fake_core.h - stands in for the usbmux core (usbmux.c) so a transport
 * can be tested alone: records what the transport reports through the
 * ib_usbmux_core_* calls of transport.h.
 */
#ifndef IB_TEST_FAKE_CORE_H
#define IB_TEST_FAKE_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "transport.h"

struct ib_usbmux *fake_core_new(void);
void fake_core_free(struct ib_usbmux *core);
/* Wait up to timeout_ms until the core has seen at least n events. */
int fake_core_wait_events(struct ib_usbmux *core, size_t n, int timeout_ms);
size_t fake_core_events(struct ib_usbmux *core);
/* Event i: 1 attached / 0 detached, and the device (handle only for a
 * detach). Returns -1 past the end. */
int fake_core_event(struct ib_usbmux *core, size_t i, struct ib_device *dev);
/* Devices attached and not detached since. */
size_t fake_core_present(struct ib_usbmux *core);
/* Wait up to timeout_ms until exactly n devices are present. */
int fake_core_wait_present(struct ib_usbmux *core, size_t n, int timeout_ms);

#endif /* IB_TEST_FAKE_CORE_H */
