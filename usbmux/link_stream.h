/*
 * link_stream.h - options of the stream link (link_stream.c) beyond
 * ib_mux_link_stream_new() in mux_link.h. Internal to usbmux/ and sim/.
 *
 * Kept apart from mux_link.h so that the link implementations do not
 * share one header that every transport edits.
 */
#ifndef IB_LINK_STREAM_H
#define IB_LINK_STREAM_H

#include <stdint.h>

#include "mux_link.h"

/*
 * ib_mux_link_stream_new() (declared in mux_link.h) makes the socket
 * non-blocking and owns it from then on; when it fails the caller still
 * owns fd.
 */

/*
 * Fault for the virtual device (the sim's `split` knob): write the byte
 * stream in random-sized write() calls, from 1 byte to a few packets, so
 * packets are split across writes and several packets share one write.
 * The peer's framing must cope; every byte still arrives in order.
 * seed makes the sizes reproducible. Call before the runtime starts.
 */
void ib_mux_link_stream_set_random_writes(struct ib_mux_link *link, uint32_t seed);

#endif /* IB_LINK_STREAM_H */
