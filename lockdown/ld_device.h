/*
 * ld_device.h - the device side of lockdownd: what a real iPhone's
 * lockdownd answers, as an engine the virtual device (sim/sim_lockdownd.c)
 * wraps and tests drive over socketpairs without any mux.
 *
 * It speaks through the same codec and TLS code as the host (ib_conn.h):
 * QueryType, GetValue/SetValue/RemoveValue with realistic values and
 * domains (only the untrusted subset before a session), Pair (checks
 * that the device certificate carries the device's key and is signed by
 * the root certificate sent; answers an EscrowBag), ValidatePair,
 * Unpair, StartSession (known HostID, then TLS as server presenting the
 * pairing's device certificate and accepting the root or host
 * certificate), StopSession, StartService for registered services on
 * fresh ports, Goodbye. User scenarios (the Trust dialog, a locked
 * device, a reset of trusted hosts) follow struct ld_device_config.
 *
 * Thread safety: every function may be called from any thread; each
 * lockdownd connection runs ld_device_serve on its own thread.
 */
#ifndef IB_LD_DEVICE_H
#define IB_LD_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include <plist/plist.h>

#include "ib_conn.h"

struct ld_device;

enum ld_trust_mode {
	LD_TRUST_ACCEPT = 0,    /* Pair succeeds at once */
	LD_TRUST_PENDING_N,     /* pending for trust_n attempts, then accepted */
	LD_TRUST_PENDING_S,     /* pending for trust_n seconds, then accepted */
	LD_TRUST_DENY,          /* pending once, then UserDeniedPairing */
	LD_TRUST_MANUAL,        /* pending until ld_device_control trust/deny */
};

enum ld_forget_mode {
	LD_FORGET_HOSTID = 0,   /* reset-privacy: StartSession -> InvalidHostID */
	LD_FORGET_TLS = 1,      /* reset-privacy: HostIDs kept, TLS refused */
};

struct ld_device_config {
	/* Identity (copied). NULL or "" picks the profile's value. */
	const char *udid, *product_type, *product_version, *build_version;
	const char *device_name, *serial_number, *device_class, *wifi_address;
	uint64_t ecid;
	/* Scenario. */
	enum ld_trust_mode trust;
	unsigned trust_n;
	int trust_reset;        /* drop the connection once when accepted */
	int locked;
	const char *unlock_file;        /* unlock when this path exists */
	enum ld_forget_mode forget;
	unsigned idle_timeout_s;        /* 0 = never */
};

/* Fill product_version/build_version/product_type from one of the
 * supported profiles "6.1", "12.5", "17.5", "18.2" (IB_ERR_USAGE for
 * others). The strings are static. */
int ld_device_profile(const char *ios, struct ld_device_config *cfg);
/* Parse "accept", "pending:N", "pending_s:T", "deny", "manual". */
int ld_device_parse_trust(const char *s, struct ld_device_config *cfg);

/* What the framework must offer: a port for one service connection. */
struct ld_device_ops {
	/*
	 * Open a fresh port for one connection to service `name`; when the
	 * host connects, call ld_device_accept(token, fd) on a thread of its
	 * own and close fd once it returns. Return the port in *portp. A
	 * token never accepted is freed by ld_device_free.
	 */
	int (*listen_once)(void *ctx, const char *name, void *token, uint16_t *portp);
	void *ctx;
};

/* The host connected to a port opened by listen_once: run the service
 * (TLS first when StartService said so). fd is not closed here. */
void ld_device_accept(void *token, int fd);

int ld_device_new(const struct ld_device_config *cfg,
    const struct ld_device_ops *ops, struct ld_device **dp);
/* Frees pairings (wiped), values, registered services and service ports
 * never connected to; NULL is a no-op. No connection may be running. */
void ld_device_free(struct ld_device *d);

/* Serve one lockdownd connection on fd (not closed here) until Goodbye,
 * EOF, an idle timeout or a fatal error. */
void ld_device_serve(struct ld_device *d, int fd);

/* Passed to a service handler: what StartService carried. */
struct ld_service_start {
	const char *service;
	const char *host_id;            /* NULL without a session */
	int escrow_bag_ok;
	int tls;
	unsigned ios_major, ios_minor;
};
typedef void (*ld_device_service_fn)(void *owner, struct ib_conn *conn,
    const struct ld_service_start *st, void *arg);

#define LD_SERVICE_NO_SESSION 0x1u      /* may start unpaired and locked */
#define LD_SERVICE_NO_SSL 0x2u          /* never EnableServiceSSL */

/* Register (or replace) a service StartService may start. The handler
 * gets conn in IB_CONN_ROLE_DEVICE, TLS'd when the reply said so. */
int ld_device_add_service(struct ld_device *d, const char *name,
    ld_device_service_fn fn, void *owner, void *arg, unsigned flags);

/* "trust", "deny" (answer the dialog), "unlock", "lock",
 * "reset-privacy" (forget pairings per config.forget).
 * IB_ERR_NOT_FOUND for other actions. */
int ld_device_control(struct ld_device *d, const char *action);

/* Values (domain NULL: default). set copies; get returns a copy. */
int ld_device_set_value(struct ld_device *d, const char *domain, const char *key,
    plist_t value);
int ld_device_get_value(struct ld_device *d, const char *domain, const char *key,
    plist_t *valuep);

int ld_device_is_locked(struct ld_device *d);
unsigned ld_device_pairings(struct ld_device *d);
void ld_device_version(const struct ld_device *d, unsigned *majorp, unsigned *minorp);

/* Counters for tests. */
struct ld_device_stats {
	unsigned pair_requests;         /* Pair requests received */
	unsigned pair_private_keys;     /* ... that carried a private key */
	unsigned pairings_made;
	unsigned sessions;              /* sessions started (TLS up) */
	unsigned tls_refused;           /* handshakes that failed */
	unsigned services;              /* service connections handed over */
	unsigned client_root_cert;      /* sessions where the host showed its root cert */
	unsigned client_host_cert;      /* ... its host cert */
};
void ld_device_get_stats(struct ld_device *d, struct ld_device_stats *st);

#endif /* IB_LD_DEVICE_H */
