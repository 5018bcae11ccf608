/*
 * sim_services_int.h - private to sim_services.c and sim_afc.c: the
 * device-side engines of the small services, usable without a running
 * virtual device (unit tests drive them directly).
 */
#ifndef IB_SIM_SERVICES_INT_H
#define IB_SIM_SERVICES_INT_H

#include <stddef.h>
#include <stdint.h>

#include <plist/plist.h>

struct ib_afc_packet;
struct ib_buf;

/* --- AFC: a small in-memory file tree with flock-like locks --------------- */

/* Bytes all files of one device may hold (NO_SPACE_LEFT beyond). */
#define SIM_AFC_BYTES_MAX (64u * 1024u * 1024u)
/* Files and directories one device may hold. */
#define SIM_AFC_NODES_MAX 4096u

struct sim_afc;
/* One host connection: owns the handles it opened. */
struct sim_afc_session;

struct sim_afc_cfg {
	uint64_t lock_busy;     /* first N lock attempts answer OP_WOULD_BLOCK */
	int lock_held;          /* every lock attempt answers OP_WOULD_BLOCK */
};

int sim_afc_new(const struct sim_afc_cfg *cfg, struct sim_afc **afcp);
void sim_afc_free(struct sim_afc *afc);

int sim_afc_session_new(struct sim_afc *afc, struct sim_afc_session **sp);
/* Closes the session's handles, releasing their locks (a dropped
 * connection does the same as closing every file). */
void sim_afc_session_free(struct sim_afc_session *s);

/*
 * Answer one request packet: appends exactly one reply packet (same
 * packet_num) to out. Fails only when out cannot take the reply.
 */
int sim_afc_handle(struct sim_afc_session *s, const struct ib_afc_packet *pkt,
    struct ib_buf *out);

/* Device-side access for the sim, the backup agent and tests. */
int sim_afc_put(struct sim_afc *afc, const char *path, const void *p, size_t n);
int sim_afc_get(struct sim_afc *afc, const char *path, uint8_t **datap, size_t *lenp);
int sim_afc_exists(struct sim_afc *afc, const char *path);
/* Is path locked exclusively by some session? */
int sim_afc_locked_ex(struct sim_afc *afc, const char *path);
/* FileLock requests that asked for a lock (not unlocks) so far. */
uint64_t sim_afc_lock_attempts(struct sim_afc *afc);

/* --- notification_proxy: observers and relays ------------------------------ */

struct sim_np;
struct sim_np_conn;

int sim_np_new(struct sim_np **npp);
void sim_np_free(struct sim_np *np);
/* A connection; its fd sim_np_conn_wake_fd() becomes readable when a
 * relay is queued for it. */
int sim_np_conn_new(struct sim_np *np, struct sim_np_conn **cp);
void sim_np_conn_free(struct sim_np_conn *c);
int sim_np_conn_wake_fd(const struct sim_np_conn *c);
/* Record an ObserveNotification (a repeated name is kept once;
 * IB_ERR_TOO_LARGE past IB_NP_OBSERVE_MAX). */
int sim_np_conn_observe(struct sim_np_conn *c, const char *name);
/*
 * Take the next queued relay name (malloc'd) or NULL; *overflowp is set
 * when relays were dropped because the host did not read them.
 */
int sim_np_conn_next(struct sim_np_conn *c, char **namep, int *overflowp);
/*
 * Post name on the device: queue a relay on every connection observing
 * it. from_host counts it in the posted log. Returns the number of
 * connections it was queued on (>= 0) or an IB_ERR_*.
 */
int sim_np_post(struct sim_np *np, const char *name, int from_host);
unsigned sim_np_posted(struct sim_np *np, const char *name);
unsigned sim_np_observers(struct sim_np *np, const char *name);

/* --- installation_proxy: the fake app list ----------------------------------- */

/* Array of n app dicts (CFBundleIdentifier, ApplicationType "User",
 * ApplicationSINF, iTunesMetadata, ...), the same for every run. */
plist_t sim_apps_new(unsigned n);
/*
 * Answer one request message with the messages to send, in order,
 * appended to the array replies (Browse: pages of IB_INSTPROXY_PAGE then
 * Complete; unknown command: an Error dict).
 */
int sim_instproxy_answer(plist_t apps, int with_total, plist_t request, plist_t replies);

/* --- one device's services state, and the connection handlers --------------- */

struct ib_conn;
struct sim_services;

struct sim_services_cfg {
	unsigned apps;          /* knob apps */
	int instproxy_total;    /* knob instproxy_total */
	struct sim_afc_cfg afc; /* knobs afc_lock_busy, afc_lock_held */
};

int sim_services_new(const struct sim_services_cfg *cfg, struct sim_services **sp);
void sim_services_free(struct sim_services *S);
struct sim_np *sim_services_np(struct sim_services *S);
struct sim_afc *sim_services_afc(struct sim_services *S);
plist_t sim_services_apps(struct sim_services *S);

/* Serve one host connection until it ends (device role; the caller
 * frees conn). */
void sim_services_serve_np(struct sim_services *S, struct ib_conn *conn);
void sim_services_serve_afc(struct sim_services *S, struct ib_conn *conn);
void sim_services_serve_instproxy(struct sim_services *S, struct ib_conn *conn);

#endif /* IB_SIM_SERVICES_INT_H */
