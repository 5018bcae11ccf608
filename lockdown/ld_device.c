/*
 * ld_device.c - the device side of lockdownd (see ld_device.h): state,
 * scenarios, pairing and sessions. Values live in ld_dev_values.c,
 * request dispatch and services in ld_dev_serve.c.
 */
#include "ld_device_int.h"

#include "ib_err.h"
#include "ib_log.h"
#include "ib_plist.h"
#include "ib_util.h"
#include "ld_tls.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>


static const struct {
	const char *ios, *version, *build, *type;
} profiles[] = {
	{ "6.1", "6.1", "10B141", "iPhone5,1" },
	{ "12.5", "12.5", "16H20", "iPhone7,2" },
	{ "17.5", "17.5", "21F79", "iPhone14,5" },
	{ "18.2", "18.2", "22C152", "iPhone16,1" },
};

int
ld_device_profile(const char *ios, struct ld_device_config *cfg)
{
	size_t i;

	for (i = 0; ios != NULL && i < IB_ARRAY_LEN(profiles); i++) {
		if (strcmp(ios, profiles[i].ios) == 0) {
			cfg->product_version = profiles[i].version;
			cfg->build_version = profiles[i].build;
			cfg->product_type = profiles[i].type;
			return IB_OK;
		}
	}
	ib_err_detail_set("ios=%s: supported profiles are 6.1, 12.5, 17.5, 18.2",
	    ios != NULL ? ios : "");
	return IB_ERR_USAGE;
}

/* Decimal of at most 6 digits, whole string. */
static int
small_number(const char *s, unsigned *vp)
{
	unsigned v = 0, n = 0;

	for (; *s >= '0' && *s <= '9' && n < 6; s++, n++)
		v = v * 10 + (unsigned)(*s - '0');
	if (n == 0 || *s != '\0')
		return IB_ERR_USAGE;
	*vp = v;
	return IB_OK;
}

int
ld_device_parse_trust(const char *s, struct ld_device_config *cfg)
{
	if (s == NULL || strcmp(s, "accept") == 0)
		cfg->trust = LD_TRUST_ACCEPT;
	else if (strcmp(s, "deny") == 0)
		cfg->trust = LD_TRUST_DENY;
	else if (strcmp(s, "manual") == 0)
		cfg->trust = LD_TRUST_MANUAL;
	else if (strncmp(s, "pending:", 8) == 0 &&
	    small_number(s + 8, &cfg->trust_n) == IB_OK)
		cfg->trust = LD_TRUST_PENDING_N;
	else if (strncmp(s, "pending_s:", 10) == 0 &&
	    small_number(s + 10, &cfg->trust_n) == IB_OK)
		cfg->trust = LD_TRUST_PENDING_S;
	else {
		ib_err_detail_set("trust=%s: use accept, pending:N, pending_s:T, deny "
		    "or manual", s);
		return IB_ERR_USAGE;
	}
	return IB_OK;
}

/* --- lifetime ------------------------------------------------------------ */

static char *
dup_or(const char *s, const char *def)
{
	return strdup(s != NULL && s[0] != '\0' ? s : def);
}

static int
copy_config(struct ld_device *d, const struct ld_device_config *in)
{
	struct ld_device_config *c = &d->cfg;
	const char *wifi = in->wifi_address;

	*c = *in;
	/* The store indexes the MAC's characters: only the 17-char form. */
	if (wifi == NULL || strlen(wifi) != 17)
		wifi = "f0:18:98:3c:5a:01";
	c->udid = dup_or(in->udid, "00008110-001A2B3C4D5E6F70");
	c->product_type = dup_or(in->product_type, profiles[2].type);
	c->product_version = dup_or(in->product_version, profiles[2].version);
	c->build_version = dup_or(in->build_version, profiles[2].build);
	c->device_name = dup_or(in->device_name, "Virtual iPhone");
	c->serial_number = dup_or(in->serial_number, "F2LXK0QJHG7F");
	c->device_class = dup_or(in->device_class, "iPhone");
	c->wifi_address = strdup(wifi);
	c->unlock_file = in->unlock_file != NULL ? strdup(in->unlock_file) : NULL;
	if (c->udid == NULL || c->product_type == NULL || c->product_version == NULL ||
	    c->build_version == NULL || c->device_name == NULL ||
	    c->serial_number == NULL || c->device_class == NULL ||
	    c->wifi_address == NULL || (in->unlock_file != NULL && c->unlock_file == NULL))
		return IB_ERR_NOMEM;
	return IB_OK;
}

static void
free_config(struct ld_device_config *c)
{
	free((char *)c->udid);
	free((char *)c->product_type);
	free((char *)c->product_version);
	free((char *)c->build_version);
	free((char *)c->device_name);
	free((char *)c->serial_number);
	free((char *)c->device_class);
	free((char *)c->wifi_address);
	free((char *)c->unlock_file);
}

int
ld_device_new(const struct ld_device_config *cfg, const struct ld_device_ops *ops,
    struct ld_device **dp)
{
	struct ld_device *d;
	unsigned major = 0, minor = 0;
	const char *v;
	int r;

	*dp = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return IB_ERR_NOMEM;
	pthread_mutex_init(&d->mu, NULL);
	if (ops != NULL)
		d->ops = *ops;
	if ((r = copy_config(d, cfg)) != IB_OK)
		goto out;
	/* "17.5" -> 17, 5 (the profile strings are well formed). */
	for (v = d->cfg.product_version; *v >= '0' && *v <= '9'; v++)
		major = major * 10 + (unsigned)(*v - '0');
	if (*v == '.')
		for (v++; *v >= '0' && *v <= '9'; v++)
			minor = minor * 10 + (unsigned)(*v - '0');
	d->ios_major = major;
	d->ios_minor = minor;
	d->locked = cfg->locked;
	if ((r = ldv_new(&d->cfg, &d->values)) != IB_OK)
		goto out;
	*dp = d;
	d = NULL;
out:
	ld_device_free(d);
	return r;
}

static void
pairing_free(struct ld_pairing *p)
{
	if (p == NULL)
		return;
	free(p->host_id);
	free(p->system_buid);
	X509_free(p->root);
	X509_free(p->device_cert);
	explicit_bzero(p->escrow, sizeof(p->escrow));
	free(p);
}

void
ld_device_free(struct ld_device *d)
{
	if (d == NULL)
		return;
	while (d->pairings != NULL) {
		struct ld_pairing *p = d->pairings;

		d->pairings = p->next;
		pairing_free(p);
	}
	ld_dev_services_free(d);
	ldv_free(d->values);
	EVP_PKEY_free(d->key);
	free(d->pubkey_pem);
	free_config(&d->cfg);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

/* --- device key ------------------------------------------------------------ */

int
ld_dev_key(struct ld_device *d)
{
	EVP_PKEY *k;
	int r;

	/* Caller holds d->mu. Generated on first use: a device that is
	 * never paired with never pays for it. */
	if (d->key != NULL)
		return IB_OK;
	if ((r = ld_rsa_key_new(&k)) != IB_OK)
		return r;
	if ((r = ld_pem_write_rsa_public_key(k, &d->pubkey_pem, &d->pubkey_len)) != IB_OK) {
		EVP_PKEY_free(k);
		return r;
	}
	d->key = k;
	return IB_OK;
}

/* --- scenarios ------------------------------------------------------------ */

void
ld_dev_refresh_lock(struct ld_device *d)
{
	if (d->locked && d->cfg.unlock_file != NULL &&
	    access(d->cfg.unlock_file, F_OK) == 0) {
		ib_info("virtual device unlocked (%s exists)", d->cfg.unlock_file);
		d->locked = 0;
	}
}

int
ld_device_control(struct ld_device *d, const char *action)
{
	int r = IB_OK;

	pthread_mutex_lock(&d->mu);
	if (strcmp(action, "trust") == 0)
		d->dlg_answer = LD_DLG_ACCEPTED;
	else if (strcmp(action, "deny") == 0)
		d->dlg_answer = LD_DLG_DENIED;
	else if (strcmp(action, "unlock") == 0)
		d->locked = 0;
	else if (strcmp(action, "lock") == 0)
		d->locked = 1;
	else if (strcmp(action, "reset-privacy") == 0)
		ld_dev_forget(d);
	else
		r = IB_ERR_NOT_FOUND;
	pthread_mutex_unlock(&d->mu);
	if (r == IB_OK)
		ib_info("virtual device: %s", action);
	return r;
}

void
ld_dev_forget(struct ld_device *d)
{
	struct ld_pairing *p;

	if (d->cfg.forget == LD_FORGET_TLS) {
		for (p = d->pairings; p != NULL; p = p->next)
			p->poisoned = 1;
		return;
	}
	while (d->pairings != NULL) {
		p = d->pairings;
		d->pairings = p->next;
		pairing_free(p);
	}
}

/*
 * The Trust dialog. Called under d->mu for each Pair that passed the
 * checks; returns what the device answers.
 */
enum ld_verdict
ld_dev_trust_verdict(struct ld_device *d)
{
	const struct ld_device_config *c = &d->cfg;
	enum ld_verdict v = LD_VERDICT_PENDING;

	if (!d->dlg_shown) {
		d->dlg_shown = 1;
		d->dlg_attempts = 0;
		d->dlg_since_ms = ib_now_ms();
	}
	if (d->dlg_answer == LD_DLG_ACCEPTED)
		v = LD_VERDICT_ACCEPT;
	else if (d->dlg_answer == LD_DLG_DENIED)
		v = LD_VERDICT_DENY;
	else if (c->trust == LD_TRUST_ACCEPT)
		v = LD_VERDICT_ACCEPT;
	else if (c->trust == LD_TRUST_PENDING_N)
		v = d->dlg_attempts >= c->trust_n ? LD_VERDICT_ACCEPT : LD_VERDICT_PENDING;
	else if (c->trust == LD_TRUST_PENDING_S)
		v = ib_now_ms() - d->dlg_since_ms >= (uint64_t)c->trust_n * 1000u ?
		    LD_VERDICT_ACCEPT : LD_VERDICT_PENDING;
	else if (c->trust == LD_TRUST_DENY)
		v = d->dlg_attempts >= 1 ? LD_VERDICT_DENY : LD_VERDICT_PENDING;
	if (v == LD_VERDICT_PENDING) {
		d->dlg_attempts++;
		return v;
	}
	/* The user answered: iOS 7+ may reset the connection now, once. */
	if (v == LD_VERDICT_ACCEPT && c->trust_reset && d->dlg_attempts > 0 &&
	    !d->dlg_reset_done) {
		d->dlg_reset_done = 1;
		return LD_VERDICT_RESET;
	}
	/* Next pairing shows a fresh dialog. */
	d->dlg_shown = 0;
	d->dlg_answer = LD_DLG_NONE;
	d->dlg_reset_done = 0;
	return v;
}

/* --- pairings ------------------------------------------------------------- */

struct ld_pairing *
ld_dev_find_pairing(struct ld_device *d, const char *host_id)
{
	struct ld_pairing *p;

	for (p = d->pairings; host_id != NULL && p != NULL; p = p->next)
		if (strcmp(p->host_id, host_id) == 0)
			return p;
	return NULL;
}

/*
 * Pair request checks a real device makes: the device certificate
 * carries this device's key and is signed by the root sent, the host
 * certificate too. Caller holds d->mu and has generated the key.
 */
static int
check_certs(struct ld_device *d, X509 *root, X509 *host, X509 *dev)
{
	EVP_PKEY *root_pub = X509_get0_pubkey(root);
	EVP_PKEY *dev_pub = X509_get0_pubkey(dev);

	if (root_pub == NULL || dev_pub == NULL)
		return IB_ERR_LD_INVALID_PAIR_RECORD;
	if (EVP_PKEY_eq(dev_pub, d->key) != 1) {
		ib_warn("Pair: DeviceCertificate does not carry this device's key");
		return IB_ERR_LD_INVALID_PAIR_RECORD;
	}
	if (X509_verify(dev, root_pub) != 1 || X509_verify(host, root_pub) != 1) {
		ib_warn("Pair: certificates are not signed by RootCertificate");
		return IB_ERR_LD_INVALID_PAIR_RECORD;
	}
	return IB_OK;
}

static int
record_cert(plist_t rec, const char *key, X509 **xp)
{
	const uint8_t *p;
	size_t n;

	*xp = NULL;
	if (ib_plist_dict_get_data(rec, key, &p, &n) != IB_OK ||
	    ld_pem_cert(p, n, xp) != IB_OK) {
		ib_warn("Pair: %s missing or not a PEM certificate", key);
		return IB_ERR_LD_INVALID_PAIR_RECORD;
	}
	return IB_OK;
}

static void
free_certs(X509 *certs[3])
{
	X509_free(certs[0]);
	X509_free(certs[1]);
	X509_free(certs[2]);
}

/* root, host, device certificates of a PairRecord, checked. */
static int
record_certs(struct ld_device *d, plist_t rec, X509 *certs[3])
{
	int r;

	certs[0] = certs[1] = certs[2] = NULL;
	if ((r = record_cert(rec, "RootCertificate", &certs[0])) != IB_OK ||
	    (r = record_cert(rec, "HostCertificate", &certs[1])) != IB_OK ||
	    (r = record_cert(rec, "DeviceCertificate", &certs[2])) != IB_OK ||
	    (r = check_certs(d, certs[0], certs[1], certs[2])) != IB_OK) {
		free_certs(certs);
		certs[0] = certs[1] = certs[2] = NULL;
	}
	return r;
}

int
ld_dev_check_record(struct ld_device *d, plist_t rec)
{
	X509 *certs[3];
	const char *host_id;
	int r;

	if (ib_plist_dict_get_string(rec, "HostID", &host_id) != IB_OK ||
	    host_id[0] == '\0')
		return IB_ERR_LD_MISSING_HOST_ID;
	if ((r = record_certs(d, rec, certs)) == IB_OK)
		free_certs(certs);
	return r;
}

/* Store (or replace) the pairing a Pair request describes. Caller holds
 * d->mu and has checked the record. On success *escrowp points at the
 * new pairing's bag. */
int
ld_dev_add_pairing(struct ld_device *d, plist_t rec, const uint8_t **escrowp)
{
	struct ld_pairing *p = NULL, **pp;
	X509 *certs[3] = { NULL, NULL, NULL };
	const char *host_id = NULL, *buid = NULL;
	int r;

	*escrowp = NULL;
	(void)ib_plist_dict_get_string(rec, "SystemBUID", &buid);
	if ((r = ld_dev_check_record(d, rec)) != IB_OK ||
	    (r = record_certs(d, rec, certs)) != IB_OK)
		return r;
	(void)ib_plist_dict_get_string(rec, "HostID", &host_id);
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->host_id = strdup(host_id)) == NULL ||
	    (buid != NULL && (p->system_buid = strdup(buid)) == NULL)) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	if ((r = ib_random_bytes(p->escrow, sizeof(p->escrow))) != IB_OK)
		goto out;
	p->root = certs[0];
	p->device_cert = certs[2];
	certs[0] = certs[2] = NULL;
	/* A host pairing again replaces its old pairing. */
	for (pp = &d->pairings; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->host_id, host_id) == 0) {
			struct ld_pairing *old = *pp;

			*pp = old->next;
			pairing_free(old);
			break;
		}
	}
	p->next = d->pairings;
	d->pairings = p;
	*escrowp = p->escrow;
	p = NULL;
	d->stats.pairings_made++;
out:
	pairing_free(p);
	free_certs(certs);
	return r;
}

int
ld_dev_remove_pairing(struct ld_device *d, const char *host_id)
{
	struct ld_pairing **pp;

	for (pp = &d->pairings; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->host_id, host_id) == 0) {
			struct ld_pairing *old = *pp;

			*pp = old->next;
			pairing_free(old);
			return IB_OK;
		}
	}
	return IB_ERR_LD_INVALID_HOST_ID;
}

/*
 * TLS parameters for a connection of the pairing host_id: our identity is
 * the pairing's device certificate with the device key; we trust the
 * pairing's root (or, once "forgotten" in tls mode, our own device
 * certificate, which no host can present). Caller holds d->mu.
 */
int
ld_dev_tls_identity(struct ld_device *d, const char *host_id,
    struct ib_tls_identity *self, struct ib_tls_identity *trust)
{
	struct ld_pairing *p = ld_dev_find_pairing(d, host_id);
	X509 *trusted;

	memset(self, 0, sizeof(*self));
	memset(trust, 0, sizeof(*trust));
	if (p == NULL || d->key == NULL)
		return IB_ERR_LD_INVALID_HOST_ID;
	trusted = p->poisoned ? p->device_cert : p->root;
	if (X509_up_ref(p->device_cert) != 1)
		return IB_ERR_TLS_SETUP;
	if (EVP_PKEY_up_ref(d->key) != 1) {
		X509_free(p->device_cert);
		return IB_ERR_TLS_SETUP;
	}
	if (X509_up_ref(trusted) != 1) {
		X509_free(p->device_cert);
		EVP_PKEY_free(d->key);
		return IB_ERR_TLS_SETUP;
	}
	self->cert = p->device_cert;
	self->key = d->key;
	trust->cert = trusted;
	return IB_OK;
}

void
ld_dev_identity_clear(struct ib_tls_identity *id)
{
	X509_free(id->cert);
	EVP_PKEY_free(id->key);
	id->cert = NULL;
	id->key = NULL;
}

/* --- accessors ------------------------------------------------------------ */

int
ld_device_set_value(struct ld_device *d, const char *domain, const char *key,
    plist_t value)
{
	int r;

	pthread_mutex_lock(&d->mu);
	r = ldv_force_set(d->values, domain, key, value);
	pthread_mutex_unlock(&d->mu);
	return r;
}

int
ld_device_get_value(struct ld_device *d, const char *domain, const char *key,
    plist_t *valuep)
{
	int r;

	pthread_mutex_lock(&d->mu);
	r = ldv_get(d->values, domain, key, 1, NULL, valuep);
	pthread_mutex_unlock(&d->mu);
	return r == IB_ERR_LD_MISSING_VALUE ? IB_ERR_NOT_FOUND : r;
}

int
ld_device_is_locked(struct ld_device *d)
{
	int v;

	pthread_mutex_lock(&d->mu);
	ld_dev_refresh_lock(d);
	v = d->locked;
	pthread_mutex_unlock(&d->mu);
	return v;
}

unsigned
ld_device_pairings(struct ld_device *d)
{
	struct ld_pairing *p;
	unsigned n = 0;

	pthread_mutex_lock(&d->mu);
	for (p = d->pairings; p != NULL; p = p->next)
		n++;
	pthread_mutex_unlock(&d->mu);
	return n;
}

void
ld_device_version(const struct ld_device *d, unsigned *majorp, unsigned *minorp)
{
	*majorp = d->ios_major;
	*minorp = d->ios_minor;
}

void
ld_device_get_stats(struct ld_device *d, struct ld_device_stats *st)
{
	pthread_mutex_lock(&d->mu);
	*st = d->stats;
	pthread_mutex_unlock(&d->mu);
}
