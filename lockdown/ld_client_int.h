/*
 * ld_client_int.h - internals of the host client shared by ld_client.c
 * (requests) and ld_session.c (pairing loop, sessions, info), and the
 * seam through which tests run the client without a mux.
 */
#ifndef IB_LD_CLIENT_INT_H
#define IB_LD_CLIENT_INT_H

#include "ib_lockdown.h"
#include "ib_usbmux.h"
#include "ld_pair.h"

/*
 * What the client needs from below: connections to device ports and the
 * pair-record store. ib_lockdown_open fills it from ib_usbmux.h; tests
 * give socketpairs to the device-side engine and an in-memory store.
 * read_record returns IB_ERR_NOT_FOUND (or IB_ERR_PAIR_RECORD_MISSING)
 * when there is none.
 */
struct ld_env {
	int (*dial)(void *ctx, const char *udid, uint16_t port, struct ib_conn **cp);
	int (*read_record)(void *ctx, const char *udid, uint8_t **datap, size_t *lenp);
	int (*save_record)(void *ctx, const char *udid, const uint8_t *data, size_t len);
	int (*delete_record)(void *ctx, const char *udid);
	int (*read_buid)(void *ctx, char **buidp);
	void *ctx;
};

struct ib_lockdown {
	struct ld_env env;
	char udid[IB_UDID_MAX + 1];
	char *label;
	int timeout_ms;
	int tls_root_cert;
	struct ib_conn *conn;
	char product_version[32];
	char device_class[32];
	unsigned ios_major, ios_minor;
	struct ib_pair_record *rec;     /* loaded, or made by pairing */
	char *session_id;               /* while a session is active */
	unsigned retry_ms;              /* pairing retry interval */
};

/* ib_lockdown_open / _session_open on an explicit environment. */
int ld_open_env(const struct ld_env *env, const char *udid,
    const struct ib_lockdown_opts *opts, struct ib_lockdown **ldp);
int ld_session_open_env(const struct ld_env *env, const char *udid,
    const struct ib_lockdown_opts *opts, ib_lockdown_message_fn fn, void *ctx,
    struct ib_lockdown **ldp);
int ld_query_info_env(const struct ld_env *env, const char *udid,
    const struct ib_lockdown_opts *opts, struct ib_lockdown_info *info);

/* (Re)connect ld->conn to lockdownd and check QueryType. */
int ld_connect(struct ib_lockdown *ld);
/* Load this host's record for ld->udid into ld->rec:
 * IB_ERR_LD_NOT_PAIRED when there is none. */
int ld_load_record(struct ib_lockdown *ld);
/* The record's TLS client identity per ld->tls_root_cert. */
int ld_tls_params(struct ib_lockdown *ld, struct ib_tls_identity **idp,
    struct ib_tls_params *tp);

/* A default-domain string value into out (n bytes, cut to fit); out is
 * left alone on failure. */
int ld_get_short_string(struct ib_lockdown *ld, const char *key, char *out, size_t n);

/* Parse "17.5.1" into major/minor; 0/0 when not a version. */
void ld_parse_version(const char *s, unsigned *majorp, unsigned *minorp);

#endif /* IB_LD_CLIENT_INT_H */
