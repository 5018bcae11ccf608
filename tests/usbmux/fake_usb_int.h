/*
 * fake_usb_int.h - state shared by the parts of the libusb test double:
 * fake_libusb.c (bus, devices, transfers, the device's end of the mux
 * pipe), fake_usb_api.c (contexts, events, hotplug, device queries) and
 * fake_usb_handle.c (handles, control requests, scripting).
 */
#ifndef FAKE_USB_INT_H
#define FAKE_USB_INT_H

#include <pthread.h>

#include "fake_libusb.h"

/* Host->device packets the device holds before it stops reading (NAK). */
#define FAKE_RX_MAX (256u * 1024u)
#define EP_IDX(ep) (((ep) & 0x0f) | (((ep) & 0x80) ? 16 : 0))

enum { X_IDLE, X_PENDING, X_QUEUED, X_ORPHAN };

/* Private part placed in front of every libusb_transfer. */
struct fake_xfer {
	struct fake_xfer *next;
	struct libusb_context *ctx;
	struct libusb_device *dev;      /* referenced while not idle */
	int state;
	int cancel_req;
	int mux_in;                     /* counted in dev->in_pending/in_queued */
};
#define XT(fx) ((struct libusb_transfer *)(void *)((char *)(fx) + sizeof(struct fake_xfer)))
#define FX(t) ((struct fake_xfer *)(void *)((char *)(t) - sizeof(struct fake_xfer)))

struct hp_cb {
	struct hp_cb *next;
	int handle, events, vid, pid;
	libusb_hotplug_callback_fn fn;
	void *user;
};

struct hp_ev {
	struct hp_ev *next;
	struct libusb_device *dev;
	libusb_hotplug_event ev;
};

struct libusb_context {
	struct libusb_context *next;
	struct hp_cb *cbs;
	struct hp_ev *ev_head, *ev_tail;
	struct fake_xfer *cq_head, *cq_tail;
	int interrupted;
	pthread_mutex_t ev_lock;        /* one event handler at a time */
};

struct pkt {
	struct pkt *next;
	size_t len, off;
	uint8_t data[];
};

struct libusb_device {
	struct libusb_device *next;     /* on the bus */
	unsigned refs;
	int plugged;
	const struct fake_usb_spec *spec;
	char serial[80];
	uint8_t bus, port, addr;
	int speed;
	uint8_t config;
	uint32_t drivers[8], claimed[8], ifaces[8];
	struct libusb_device_handle *claimer;
	int cfg_err[256];
	int open_error, claim_error, cancel_stuck;
	int ep_fail[32];
	char oplog[2048];
	/* the active configuration */
	uint8_t mux_out, mux_in;
	uint16_t mps_out, mps_in;
	uint8_t ep_iface[32];           /* interface number + 1, 0: none */
	struct fake_xfer *pend_head, *pend_tail;
	unsigned in_pending, in_queued;
	/* the device's end of the mux pipe */
	uint8_t *asm_buf;
	size_t asm_len;
	int asm_bad;
	struct pkt *rx_head, *rx_tail, *link_cur;
	size_t rx_bytes;
	struct pkt *tx_head, *tx_tail;
	size_t tx_bytes;
	int link_state;                 /* 0 none, 1 live, 2 freed */
	int efd;
	uint32_t *out_lens;
	size_t n_out, cap_out;
	struct fake_usb_in_stats st;
};

struct libusb_device_handle {
	struct libusb_device *dev;
	struct libusb_context *ctx;
};

struct fake_bus {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int hotplug;
	struct libusb_device *bus;
	struct libusb_context *ctxs;
	struct fake_xfer *orphans;
	unsigned live;
	unsigned delivering;            /* callbacks running now */
	uint8_t next_addr, next_port;
	int next_cb;
};
extern struct fake_bus fk;

#define LOCK() pthread_mutex_lock(&fk.mu)
#define UNLOCK() pthread_mutex_unlock(&fk.mu)

static inline void
fk_bit_set(uint32_t *m, unsigned i, int on)
{
	if (on)
		m[i / 32] |= 1u << (i % 32);
	else
		m[i / 32] &= ~(1u << (i % 32));
}

static inline int
fk_bit_get(const uint32_t *m, unsigned i)
{
	return (m[i / 32] >> (i % 32)) & 1;
}

/* All under fk.mu. */
void fk_oplog(struct libusb_device *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void fk_dev_unref_locked(struct libusb_device *d);
int fk_config_by_value(const struct libusb_device *d, uint8_t value,
    struct libusb_config_descriptor **cfgp);
int fk_config_offset(const struct libusb_device *d, unsigned idx, size_t *offp);
int fk_activate_locked(struct libusb_device *d, uint8_t value);
void fk_complete_locked(struct fake_xfer *fx, int status, int actual);
void fk_pump_locked(struct libusb_device *d);
void fk_queue_hotplug_locked(struct libusb_device *d, libusb_hotplug_event ev);

#endif /* FAKE_USB_INT_H */
