/*
 * ld_device_int.h - state of the device-side lockdownd shared by
 * ld_device.c (state, scenarios, pairings) and ld_dev_serve.c (request
 * dispatch, sessions, services).
 */
#ifndef IB_LD_DEVICE_INT_H
#define IB_LD_DEVICE_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ld_dev_values.h"
#include "ld_device.h"
#include "ld_tls.h"

/* Escrow bag size: 32 bytes, as logged from a real device (LIMD#153). */
#define LD_ESCROW_BAG_LEN 32

struct ld_pairing {
	char *host_id;
	char *system_buid;
	X509 *root;             /* RootCertificate the host sent */
	X509 *device_cert;      /* DeviceCertificate (our TLS certificate) */
	uint8_t escrow[LD_ESCROW_BAG_LEN];
	int poisoned;           /* forgotten in LD_FORGET_TLS mode */
	struct ld_pairing *next;
};

struct ld_service {
	char *name;
	ld_device_service_fn fn;
	void *owner, *arg;
	unsigned flags;
	struct ld_service *next;
};

/* A StartService answered, waiting for the host to connect. */
struct ld_svc_pending {
	struct ld_device *d;
	struct ld_service svc;          /* copy; name owned */
	struct ib_tls_identity self, trust;
	char *host_id;
	int tls, escrow_ok, taken;
	struct ld_svc_pending *next;
};

enum ld_dlg_answer { LD_DLG_NONE = 0, LD_DLG_ACCEPTED, LD_DLG_DENIED };
enum ld_verdict {
	LD_VERDICT_PENDING, LD_VERDICT_ACCEPT, LD_VERDICT_DENY, LD_VERDICT_RESET
};

struct ld_device {
	pthread_mutex_t mu;             /* guards everything below */
	struct ld_device_config cfg;    /* strings owned */
	struct ld_device_ops ops;
	unsigned ios_major, ios_minor;
	EVP_PKEY *key;                  /* device key, made on first use */
	uint8_t *pubkey_pem;            /* PKCS#1 PEM of its public half */
	size_t pubkey_len;
	struct ldv *values;
	struct ld_pairing *pairings;
	struct ld_service *services;
	struct ld_svc_pending *pending;
	int locked;
	/* The Trust dialog. */
	int dlg_shown;
	unsigned dlg_attempts;
	uint64_t dlg_since_ms;
	enum ld_dlg_answer dlg_answer;
	int dlg_reset_done;
	struct ld_device_stats stats;
};

/* ld_device.c, all under d->mu */
int ld_dev_key(struct ld_device *d);
void ld_dev_refresh_lock(struct ld_device *d);
void ld_dev_forget(struct ld_device *d);
enum ld_verdict ld_dev_trust_verdict(struct ld_device *d);
struct ld_pairing *ld_dev_find_pairing(struct ld_device *d, const char *host_id);
int ld_dev_check_record(struct ld_device *d, plist_t rec);
int ld_dev_add_pairing(struct ld_device *d, plist_t rec, const uint8_t **escrowp);
int ld_dev_remove_pairing(struct ld_device *d, const char *host_id);
int ld_dev_tls_identity(struct ld_device *d, const char *host_id,
    struct ib_tls_identity *self, struct ib_tls_identity *trust);
void ld_dev_identity_clear(struct ib_tls_identity *id);

/* ld_dev_serve.c: {Request: verb} and {Request: verb, Error: string}. */
plist_t ld_dev_reply_new(const char *verb);
plist_t ld_dev_reply_error(const char *verb, int err);

/* ld_dev_service.c */
void ld_dev_services_free(struct ld_device *d);
/* StartService for a connection whose session belongs to host_id (NULL
 * without a session); returns the reply. */
plist_t ld_dev_start_service(struct ld_device *d, const char *host_id, plist_t req);

#endif /* IB_LD_DEVICE_INT_H */
