/*
 * ld_testnet.h - a pretend network for lockdown tests: ports served by
 * handler threads, reached through socketpairs, no mux involved. Plus a
 * ready-made virtual lockdownd (ld_device) on port 62078 and the host
 * environment (dial, in-memory pair-record store, SystemBUID) to run the
 * host client against it.
 */
#ifndef LD_TESTNET_H
#define LD_TESTNET_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "ld_client_int.h"
#include "ld_device.h"

struct testnet;

typedef void (*testnet_fn)(void *arg, int fd);

int testnet_new(struct testnet **tp);
/* Joins every handler thread: close host ends first. */
void testnet_free(struct testnet *t);
/* Serve port with fn (count connections, 0 = unlimited). */
int testnet_listen(struct testnet *t, uint16_t port, testnet_fn fn, void *arg,
    unsigned count);
/* A fresh port >= 49152. */
int testnet_listen_dynamic(struct testnet *t, testnet_fn fn, void *arg,
    unsigned count, uint16_t *portp);
/* Connect: the host end of a socketpair; the handler runs on the other
 * end in its own thread. IB_ERR_MUX_REFUSED when nothing listens. */
int testnet_dial(struct testnet *t, uint16_t port, int *fdp);
/* Connections made so far to port (0 = all). */
unsigned testnet_dials(struct testnet *t, uint16_t port);

/* A virtual iPhone reachable by the host client. */
struct tdev {
	struct testnet *net;
	struct ld_device *dev;
	struct ld_env env;      /* for ld_open_env & co. */
	char udid[64];
	/* the host's pair-record store */
	uint8_t *record;
	size_t record_len;
	unsigned saves;
	char buid[37];
};

/* cfg NULL: defaults (iOS 17.5, trust=accept). */
int tdev_new(const struct ld_device_config *cfg, struct tdev **tp);
void tdev_free(struct tdev *t);
/* Config with the iOS profile ios ("17.5") and trust mode applied. */
void tdev_config(struct ld_device_config *cfg, const char *ios, const char *trust);

/* Open a host client / session against the virtual device. */
int tdev_open(struct tdev *t, struct ib_lockdown **ldp);
/* A session without pairing on first use (IB_ERR_LD_NOT_PAIRED instead). */
int tdev_session(struct tdev *t, struct ib_lockdown **ldp);
/* Pair with trust=accept semantics (interactive loop, no callback). */
int tdev_pair(struct tdev *t);

/* Take RSA keys from a small reused pool instead of generating each
 * (generation dominates run time; pair_test still checks real ones). */
void tdev_fast_keys(void);

/* Capture every log line at TRACE level (tests for secrets in logs). */
struct tlog {
	pthread_mutex_t mu;
	char *text;             /* the lines, NUL-terminated; free() it */
	size_t len;
	int old_level;
};
void tlog_start(struct tlog *l);
void tlog_stop(struct tlog *l);

#endif /* LD_TESTNET_H */
