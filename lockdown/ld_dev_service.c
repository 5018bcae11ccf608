/*
 * ld_dev_service.c - StartService on the device side: the registry of
 * services other layers plug in, and the hand-over of the connection a
 * host makes to the port we named.
 */
#include "ld_device_int.h"

#include "ib_err.h"
#include "ib_log.h"
#include "ib_plist.h"
#include "ib_util.h"

#include <stdlib.h>
#include <string.h>

/* First iOS whose services ask for TLS (LIMD#793; AFC on iOS 12 did not,
 * LIMD#694). */
#define SERVICE_SSL_FROM_IOS 13

int
ld_device_add_service(struct ld_device *d, const char *name,
    ld_device_service_fn fn, void *owner, void *arg, unsigned flags)
{
	struct ld_service *s;

	if (name == NULL || fn == NULL)
		return IB_ERR_INVALID_ARG;
	pthread_mutex_lock(&d->mu);
	for (s = d->services; s != NULL; s = s->next)
		if (strcmp(s->name, name) == 0)
			break;
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL ||
		    (s->name = strdup(name)) == NULL) {
			free(s);
			pthread_mutex_unlock(&d->mu);
			return IB_ERR_NOMEM;
		}
		s->next = d->services;
		d->services = s;
	}
	s->fn = fn;
	s->owner = owner;
	s->arg = arg;
	s->flags = flags;
	pthread_mutex_unlock(&d->mu);
	return IB_OK;
}

static void
pending_free(struct ld_svc_pending *p)
{
	if (p == NULL)
		return;
	free(p->svc.name);
	free(p->host_id);
	ld_dev_identity_clear(&p->self);
	ld_dev_identity_clear(&p->trust);
	free(p);
}

void
ld_dev_services_free(struct ld_device *d)
{
	while (d->services != NULL) {
		struct ld_service *s = d->services;

		d->services = s->next;
		free(s->name);
		free(s);
	}
	while (d->pending != NULL) {
		struct ld_svc_pending *p = d->pending;

		d->pending = p->next;
		pending_free(p);
	}
}

/* The host connected to a service port: hand the connection over. */
void
ld_device_accept(void *token, int fd)
{
	struct ld_svc_pending *p = token, **pp;
	struct ld_device *d = p->d;
	struct ld_service_start st;
	struct ib_tls_params tp;
	struct ib_conn *c = NULL;
	int found = 0;

	/* Take it off the device's list: from now on it is ours to free. */
	pthread_mutex_lock(&d->mu);
	for (pp = &d->pending; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&d->mu);
	if (!found)
		return;
	if (ib_conn_new_fd(fd, IB_CONN_ROLE_DEVICE, 0, &c) != IB_OK)
		goto out;
	ib_conn_set_timeout(c, -1);
	if (p->tls) {
		memset(&tp, 0, sizeof(tp));
		tp.self = &p->self;
		tp.trust = &p->trust;
		tp.ios_major = d->ios_major;
		tp.ios_minor = d->ios_minor;
		if (ib_conn_tls_start(c, &tp) != IB_OK) {
			ib_info("virtual lockdownd: %s: TLS handshake failed: %s",
			    p->svc.name, ib_err_detail());
			goto out;
		}
	}
	pthread_mutex_lock(&d->mu);
	d->stats.services++;
	pthread_mutex_unlock(&d->mu);
	memset(&st, 0, sizeof(st));
	st.service = p->svc.name;
	st.host_id = p->host_id;
	st.escrow_bag_ok = p->escrow_ok;
	st.tls = p->tls;
	st.ios_major = d->ios_major;
	st.ios_minor = d->ios_minor;
	p->svc.fn(p->svc.owner, c, &st, p->svc.arg);
out:
	ib_conn_free(c);
	pending_free(p);
}

/* Did the request carry this pairing's escrow bag? */
static int
escrow_matches(plist_t req, const struct ld_pairing *pr)
{
	const uint8_t *bag;
	size_t n;

	return pr != NULL && ib_plist_dict_get_data(req, "EscrowBag", &bag, &n) == IB_OK &&
	    n == sizeof(pr->escrow) && CRYPTO_memcmp(bag, pr->escrow, n) == 0;
}

/* Under d->mu: check the rules and build the pending hand-over. */
static int
prepare(struct ld_device *d, const char *host_id, plist_t req, const char *name,
    struct ld_svc_pending **pp)
{
	struct ld_service *s;
	struct ld_pairing *pr;
	struct ld_svc_pending *p;
	int r;

	*pp = NULL;
	for (s = d->services; s != NULL; s = s->next)
		if (strcmp(s->name, name) == 0)
			break;
	if (s == NULL)
		return IB_ERR_LD_INVALID_SERVICE;
	if (host_id == NULL && !(s->flags & LD_SERVICE_NO_SESSION))
		return IB_ERR_LD_SESSION_INACTIVE;
	pr = ld_dev_find_pairing(d, host_id);
	if (host_id != NULL && pr == NULL && !(s->flags & LD_SERVICE_NO_SESSION))
		return IB_ERR_LD_INVALID_HOST_ID;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return IB_ERR_NOMEM;
	p->d = d;
	p->svc = *s;
	p->svc.next = NULL;
	p->escrow_ok = escrow_matches(req, pr);
	ld_dev_refresh_lock(d);
	/* The escrow bag unlocks the keybag like the passcode does. */
	if (d->locked && !p->escrow_ok && !(s->flags & LD_SERVICE_NO_SESSION)) {
		free(p);
		return IB_ERR_LD_PASSWORD_PROTECTED;
	}
	p->tls = d->ios_major >= SERVICE_SSL_FROM_IOS && pr != NULL &&
	    !(s->flags & LD_SERVICE_NO_SSL);
	if ((p->svc.name = strdup(name)) == NULL ||
	    (host_id != NULL && (p->host_id = strdup(host_id)) == NULL)) {
		r = IB_ERR_NOMEM;
		goto fail;
	}
	if (p->tls && (r = ld_dev_tls_identity(d, host_id, &p->self, &p->trust)) != IB_OK)
		goto fail;
	*pp = p;
	return IB_OK;
fail:
	pending_free(p);
	return r;
}

plist_t
ld_dev_start_service(struct ld_device *d, const char *host_id, plist_t req)
{
	struct ld_svc_pending *p = NULL, **pp;
	const char *name = NULL;
	uint16_t port = 0;
	plist_t reply;
	int r, tls = 0;

	if (ib_plist_dict_get_string(req, "Service", &name) != IB_OK)
		return ld_dev_reply_error("StartService", IB_ERR_LD_MISSING_SERVICE);
	if (d->ops.listen_once == NULL)
		return ld_dev_reply_error("StartService", IB_ERR_LD_SERVICE_PROHIBITED);
	pthread_mutex_lock(&d->mu);
	r = prepare(d, host_id, req, name, &p);
	if (r == IB_OK) {
		tls = p->tls;
		p->next = d->pending;
		d->pending = p;
	}
	pthread_mutex_unlock(&d->mu);
	if (r != IB_OK)
		return ld_dev_reply_error("StartService", r);
	/* p is on the list: ld_device_accept or ld_device_free frees it. */
	if ((r = d->ops.listen_once(d->ops.ctx, name, p, &port)) != IB_OK) {
		pthread_mutex_lock(&d->mu);
		for (pp = &d->pending; *pp != NULL; pp = &(*pp)->next)
			if (*pp == p) {
				*pp = p->next;
				pending_free(p);
				break;
			}
		pthread_mutex_unlock(&d->mu);
		return ld_dev_reply_error("StartService", IB_ERR_LD_SERVICE_LIMIT);
	}
	reply = ld_dev_reply_new("StartService");
	plist_dict_set_item(reply, "Service", plist_new_string(name));
	plist_dict_set_item(reply, "Port", plist_new_uint(port));
	/* Old iOS leaves the key out entirely (LIMD#694). */
	if (d->ios_major >= SERVICE_SSL_FROM_IOS)
		plist_dict_set_item(reply, "EnableServiceSSL", plist_new_bool(tls));
	return reply;
}
