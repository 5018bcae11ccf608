/*
 * ld_pair.c - pair-record generation, storage format and parsing (see
 * ld_pair.h for the format and the certificate profile).
 */
#include "ld_pair.h"

#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_plist.h"
#include "ib_util.h"
#include "ld_tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

/* Certificate lifetime: 10 x 365 days, as LIMD and PMD3 use. */
#define PAIR_VALID_SECS (10L * 365L * 24L * 60L * 60L)

struct blob {
	uint8_t *p;
	size_t n;
};

struct ib_pair_record {
	struct blob device_cert, host_cert, root_cert;
	struct blob host_key, root_key;         /* secret */
	struct blob escrow;                     /* secret */
	char *host_id, *system_buid, *wifi_mac, *udid;
};

static void
blob_wipe(struct blob *b)
{
	if (b->p != NULL)
		explicit_bzero(b->p, b->n);
	free(b->p);
	b->p = NULL;
	b->n = 0;
}

static int
blob_set(struct blob *b, const uint8_t *p, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);

	if (copy == NULL)
		return IB_ERR_NOMEM;
	if (n)
		memcpy(copy, p, n);
	blob_wipe(b);
	b->p = copy;
	b->n = n;
	return IB_OK;
}

static int
str_set(char **dst, const char *s)
{
	char *copy = NULL;

	if (s != NULL && (copy = strdup(s)) == NULL)
		return IB_ERR_NOMEM;
	free(*dst);
	*dst = copy;
	return IB_OK;
}

void
ib_pair_record_free(struct ib_pair_record *rec)
{
	if (rec == NULL)
		return;
	blob_wipe(&rec->device_cert);
	blob_wipe(&rec->host_cert);
	blob_wipe(&rec->root_cert);
	blob_wipe(&rec->host_key);
	blob_wipe(&rec->root_key);
	blob_wipe(&rec->escrow);
	free(rec->host_id);
	free(rec->system_buid);
	free(rec->wifi_mac);
	free(rec->udid);
	free(rec);
}

/* --- certificates ------------------------------------------------------- */

enum cert_kind { CERT_ROOT, CERT_HOST, CERT_DEVICE };

static int
add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);
	int ok;

	if (ext == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

/*
 * One certificate of the profile in ld_pair.h: subject_key's public half,
 * signed by issuer_key (issuer_cert NULL: self-signed root).
 */
static int
make_cert(enum cert_kind kind, EVP_PKEY *subject_key, EVP_PKEY *issuer_key,
    X509 *issuer_cert, const EVP_MD *md, X509 **outp)
{
	X509 *x = X509_new();
	X509_NAME *empty = X509_NAME_new();
	X509V3_CTX v3;
	char e[512];
	int ok;

	*outp = NULL;
	ok = x != NULL && empty != NULL &&
	    X509_set_version(x, 2) == 1 &&
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 0) == 1 &&
	    X509_set_subject_name(x, empty) == 1 &&
	    X509_set_issuer_name(x, empty) == 1 &&
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL &&
	    X509_gmtime_adj(X509_getm_notAfter(x), PAIR_VALID_SECS) != NULL &&
	    /* Before the extensions: SKI "hash" is taken from this key. */
	    X509_set_pubkey(x, subject_key) == 1;
	if (ok) {
		X509V3_set_ctx(&v3, issuer_cert != NULL ? issuer_cert : x, x, NULL, NULL, 0);
		if (kind == CERT_ROOT)
			ok = add_ext(x, &v3, NID_basic_constraints, "critical,CA:TRUE");
		else
			ok = add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE") &&
			    (kind != CERT_DEVICE ||
			    add_ext(x, &v3, NID_subject_key_identifier, "hash")) &&
			    add_ext(x, &v3, NID_key_usage,
			    "critical,digitalSignature,keyEncipherment");
	}
	ok = ok && X509_sign(x, issuer_key, md) > 0;
	X509_NAME_free(empty);
	if (!ok) {
		ib_err_detail_set("building a pairing certificate: %s",
		    ld_tls_errstr(e, sizeof(e)));
		X509_free(x);
		return IB_ERR_CERT;
	}
	*outp = x;
	return IB_OK;
}

/* Take over a PEM buffer made by ld_pem_write_*. */
static int
blob_take(int r, uint8_t *pem, size_t n, struct blob *b)
{
	if (r != IB_OK)
		return r;
	blob_wipe(b);
	b->p = pem;
	b->n = n;
	return IB_OK;
}

static int
cert_to_blob(X509 *x, struct blob *b)
{
	uint8_t *pem = NULL;
	size_t n = 0;
	int r = ld_pem_write_cert(x, &pem, &n);

	return blob_take(r, pem, n, b);
}

static int
key_to_blob(EVP_PKEY *k, struct blob *b)
{
	uint8_t *pem = NULL;
	size_t n = 0;
	int r = ld_pem_write_private_key(k, &pem, &n);

	return blob_take(r, pem, n, b);
}

int
ib_pair_record_generate(const uint8_t *device_pubkey_pem, size_t len,
    unsigned ios_major, const char *system_buid, struct ib_pair_record **recp)
{
	struct ib_pair_record *rec = NULL;
	EVP_PKEY *dev_key = NULL, *root_key = NULL, *host_key = NULL;
	X509 *root = NULL, *host = NULL, *dev = NULL;
	/* iOS 3 rejects SHA-256 certificates (LIMD, PMD3). */
	const EVP_MD *md = ios_major > 0 && ios_major < 4 ? EVP_sha1() : EVP_sha256();
	char host_id[37];
	int r;

	*recp = NULL;
	if ((r = ld_pem_public_key(device_pubkey_pem, len, &dev_key)) != IB_OK)
		return r;
	if (EVP_PKEY_get_base_id(dev_key) != EVP_PKEY_RSA) {
		ib_err_detail_set("the device public key is not an RSA key");
		r = IB_ERR_CERT;
		goto out;
	}
	if ((rec = calloc(1, sizeof(*rec))) == NULL) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	if ((r = ld_rsa_key_new(&root_key)) != IB_OK ||
	    (r = ld_rsa_key_new(&host_key)) != IB_OK ||
	    (r = make_cert(CERT_ROOT, root_key, root_key, NULL, md, &root)) != IB_OK ||
	    (r = make_cert(CERT_HOST, host_key, root_key, root, md, &host)) != IB_OK ||
	    (r = make_cert(CERT_DEVICE, dev_key, root_key, root, md, &dev)) != IB_OK)
		goto out;
	if ((r = cert_to_blob(root, &rec->root_cert)) != IB_OK ||
	    (r = cert_to_blob(host, &rec->host_cert)) != IB_OK ||
	    (r = cert_to_blob(dev, &rec->device_cert)) != IB_OK ||
	    (r = key_to_blob(root_key, &rec->root_key)) != IB_OK ||
	    (r = key_to_blob(host_key, &rec->host_key)) != IB_OK)
		goto out;
	if ((r = ib_uuid_upper(host_id)) != IB_OK ||
	    (r = str_set(&rec->host_id, host_id)) != IB_OK ||
	    (r = str_set(&rec->system_buid, system_buid)) != IB_OK)
		goto out;
	*recp = rec;
	rec = NULL;
	r = IB_OK;
out:
	X509_free(root);
	X509_free(host);
	X509_free(dev);
	EVP_PKEY_free(dev_key);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(host_key);
	ib_pair_record_free(rec);
	return r;
}

/* --- plist form ------------------------------------------------------- */

static int
put_data(plist_t d, const char *key, const struct blob *b)
{
	plist_t v;

	if (b->p == NULL)
		return IB_OK;
	if ((v = plist_new_data((const char *)b->p, b->n)) == NULL)
		return IB_ERR_NOMEM;
	plist_dict_set_item(d, key, v);
	return IB_OK;
}

static int
put_string(plist_t d, const char *key, const char *s)
{
	plist_t v;

	if (s == NULL)
		return IB_OK;
	if ((v = plist_new_string(s)) == NULL)
		return IB_ERR_NOMEM;
	plist_dict_set_item(d, key, v);
	return IB_OK;
}

/* The public part, shared by the request and the stored forms. */
static plist_t
public_plist(const struct ib_pair_record *rec)
{
	plist_t d = plist_new_dict();

	if (d == NULL ||
	    put_data(d, "DeviceCertificate", &rec->device_cert) != IB_OK ||
	    put_data(d, "HostCertificate", &rec->host_cert) != IB_OK ||
	    put_data(d, "RootCertificate", &rec->root_cert) != IB_OK ||
	    put_string(d, "HostID", rec->host_id) != IB_OK ||
	    put_string(d, "SystemBUID", rec->system_buid) != IB_OK ||
	    put_string(d, "WiFiMACAddress", rec->wifi_mac) != IB_OK) {
		plist_free(d);
		return NULL;
	}
	return d;
}

plist_t
ib_pair_record_request_plist(const struct ib_pair_record *rec)
{
	return public_plist(rec);
}

plist_t
ib_pair_record_to_plist(const struct ib_pair_record *rec)
{
	plist_t d = public_plist(rec);

	if (d == NULL)
		return NULL;
	if (put_data(d, "HostPrivateKey", &rec->host_key) != IB_OK ||
	    put_data(d, "RootPrivateKey", &rec->root_key) != IB_OK ||
	    put_data(d, "EscrowBag", &rec->escrow) != IB_OK ||
	    put_string(d, "UDID", rec->udid) != IB_OK) {
		ib_pair_record_plist_free(d);
		return NULL;
	}
	return d;
}

void
ib_pair_record_plist_free(plist_t p)
{
	ib_pair_record_plist_wipe(p);
	plist_free(p);
}

void
ib_pair_record_plist_wipe(plist_t p)
{
	plist_dict_iter it = NULL;
	char *key = NULL;
	plist_t val = NULL;

	if (p != NULL && plist_get_node_type(p) == PLIST_DICT) {
		plist_dict_new_iter(p, &it);
		for (;;) {
			plist_dict_next_item(p, it, &key, &val);
			if (val == NULL)
				break;
			/* libplist frees without clearing; clear in place first
			 * (the node is ours, its buffer writable). */
			if (ib_plist_key_is_secret(key) &&
			    plist_get_node_type(val) == PLIST_DATA) {
				uint64_t n = 0;
				const char *d = plist_get_data_ptr(val, &n);

				if (d != NULL)
					explicit_bzero((void *)(uintptr_t)d, (size_t)n);
			}
			free(key);
			key = NULL;
		}
		free(it);
	}
}

void
ib_pair_record_bytes_free(uint8_t *p, size_t len)
{
	if (p != NULL)
		explicit_bzero(p, len);
	free(p);
}

int
ib_pair_record_serialize(const struct ib_pair_record *rec, uint8_t **outp, size_t *lenp)
{
	plist_t d;
	char *xml = NULL;
	size_t n = 0;
	int r;

	*outp = NULL;
	*lenp = 0;
	if ((d = ib_pair_record_to_plist(rec)) == NULL)
		return IB_ERR_NOMEM;
	r = ib_plist_to_xml(d, &xml, &n);
	ib_pair_record_plist_free(d);
	if (r != IB_OK)
		return r;
	*outp = (uint8_t *)xml;
	*lenp = n;
	return IB_OK;
}

/* --- parsing ------------------------------------------------------------ */

static int
invalid(const char *what, const char *key)
{
	ib_err_detail_set("pair record: %s %s", key, what);
	return IB_ERR_PAIR_RECORD_INVALID;
}

static int
get_blob(plist_t d, const char *key, int required, struct blob *b)
{
	const uint8_t *p;
	size_t n;
	int r = ib_plist_dict_get_data(d, key, &p, &n);

	if (r == IB_ERR_PLIST_MISSING && !required)
		return IB_OK;
	if (r == IB_ERR_PLIST_MISSING)
		return invalid("is missing", key);
	if (r != IB_OK || n == 0)
		return invalid("is not PEM data", key);
	return blob_set(b, p, n);
}

static int
get_str(plist_t d, const char *key, int required, char **sp)
{
	const char *s;
	int r = ib_plist_dict_get_string(d, key, &s);

	if (r == IB_ERR_PLIST_MISSING && !required)
		return IB_OK;
	if (r == IB_ERR_PLIST_MISSING)
		return invalid("is missing", key);
	if (r != IB_OK || s[0] == '\0')
		return invalid("is not a string", key);
	return str_set(sp, s);
}

/* The certificate parses and, when given, the key parses and belongs to it. */
static int
check_pair(const struct blob *cert, const struct blob *key, const char *name)
{
	struct ib_tls_identity *id = NULL;
	int r;

	r = ib_tls_identity_new(cert->p, cert->n, key->p, key->n, &id);
	ib_tls_identity_free(id);
	if (r != IB_OK) {
		char why[256];

		snprintf(why, sizeof(why), "%s", ib_err_detail());
		ib_err_detail_set("pair record: %s certificate/key unusable (%s)",
		    name, why);
		return IB_ERR_PAIR_RECORD_INVALID;
	}
	return IB_OK;
}

static int
parse_fields(plist_t d, struct ib_pair_record *rec)
{
	X509 *x = NULL;
	int r;

	if ((r = get_blob(d, "DeviceCertificate", 1, &rec->device_cert)) != IB_OK ||
	    (r = get_blob(d, "HostCertificate", 1, &rec->host_cert)) != IB_OK ||
	    (r = get_blob(d, "HostPrivateKey", 1, &rec->host_key)) != IB_OK ||
	    (r = get_blob(d, "RootCertificate", 1, &rec->root_cert)) != IB_OK ||
	    /* Only for presenting the root certificate; some tools omit it. */
	    (r = get_blob(d, "RootPrivateKey", 0, &rec->root_key)) != IB_OK ||
	    (r = get_blob(d, "EscrowBag", 0, &rec->escrow)) != IB_OK ||
	    (r = get_str(d, "HostID", 1, &rec->host_id)) != IB_OK ||
	    /* Fallback: the host's SystemBUID at session time. */
	    (r = get_str(d, "SystemBUID", 0, &rec->system_buid)) != IB_OK ||
	    (r = get_str(d, "WiFiMACAddress", 0, &rec->wifi_mac)) != IB_OK ||
	    (r = get_str(d, "UDID", 0, &rec->udid)) != IB_OK)
		return r;
	if ((r = check_pair(&rec->host_cert, &rec->host_key, "host")) != IB_OK)
		return r;
	if (rec->root_key.p != NULL)
		r = check_pair(&rec->root_cert, &rec->root_key, "root");
	else if ((r = ld_pem_cert(rec->root_cert.p, rec->root_cert.n, &x)) != IB_OK)
		r = invalid("is not a certificate", "RootCertificate");
	X509_free(x);
	x = NULL;
	if (r != IB_OK)
		return r;
	if (ld_pem_cert(rec->device_cert.p, rec->device_cert.n, &x) != IB_OK)
		r = invalid("is not a certificate", "DeviceCertificate");
	X509_free(x);
	return r;
}

int
ib_pair_record_parse(const uint8_t *data, size_t len, struct ib_pair_record **recp)
{
	struct ib_pair_record *rec = NULL;
	plist_t d = NULL;
	int r;

	*recp = NULL;
	if ((r = ib_plist_parse_dict(data, len, IB_MUXD_MSG_MAX, &d)) != IB_OK) {
		ib_err_detail_set("pair record is not a plist dict (%s)", ib_strerror(r));
		return IB_ERR_PAIR_RECORD_INVALID;
	}
	if ((rec = calloc(1, sizeof(*rec))) == NULL) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	if ((r = parse_fields(d, rec)) != IB_OK)
		goto out;
	*recp = rec;
	rec = NULL;
out:
	ib_pair_record_plist_free(d);
	ib_pair_record_free(rec);
	return r;
}

/* --- accessors ---------------------------------------------------------- */

const char *
ib_pair_record_host_id(const struct ib_pair_record *rec)
{
	return rec->host_id;
}

const char *
ib_pair_record_system_buid(const struct ib_pair_record *rec)
{
	return rec->system_buid;
}

const char *
ib_pair_record_wifi_mac(const struct ib_pair_record *rec)
{
	return rec->wifi_mac;
}

int
ib_pair_record_escrow_bag(const struct ib_pair_record *rec, const uint8_t **pp,
    size_t *lenp)
{
	*pp = rec->escrow.p;
	*lenp = rec->escrow.n;
	return rec->escrow.p != NULL ? IB_OK : IB_ERR_NOT_FOUND;
}

int
ib_pair_record_set_escrow_bag(struct ib_pair_record *rec, const uint8_t *p, size_t len)
{
	if (p == NULL) {
		blob_wipe(&rec->escrow);
		return IB_OK;
	}
	return blob_set(&rec->escrow, p, len);
}

int
ib_pair_record_set_wifi_mac(struct ib_pair_record *rec, const char *mac)
{
	return str_set(&rec->wifi_mac, mac);
}

int
ib_pair_record_set_udid(struct ib_pair_record *rec, const char *udid)
{
	return str_set(&rec->udid, udid);
}

int
ib_pair_record_set_system_buid(struct ib_pair_record *rec, const char *buid)
{
	return str_set(&rec->system_buid, buid);
}

int
ib_pair_record_tls_identity(const struct ib_pair_record *rec,
    enum ib_pair_cert which, struct ib_tls_identity **idp)
{
	const struct blob *c = which == IB_PAIR_CERT_ROOT ? &rec->root_cert : &rec->host_cert;
	const struct blob *k = which == IB_PAIR_CERT_ROOT ? &rec->root_key : &rec->host_key;
	int r;

	*idp = NULL;
	if (c->p == NULL || k->p == NULL) {
		ib_err_detail_set("pair record has no %s private key",
		    which == IB_PAIR_CERT_ROOT ? "root" : "host");
		return IB_ERR_PAIR_RECORD_INVALID;
	}
	if ((r = ib_tls_identity_new(c->p, c->n, k->p, k->n, idp)) != IB_OK)
		return IB_ERR_PAIR_RECORD_INVALID;
	return IB_OK;
}
