/*
 * pair_test.c - pair records: generated certificates checked with
 * OpenSSL's own APIs (profile, chains, key of the device certificate),
 * storage round trip, records made by other tools (fixtures made with
 * the openssl CLI: libimobiledevice layout; SHA-1 certificates and
 * PKCS#1 keys), and the refusal of broken records.
 */
#include "ib_test.h"

#include "ib_plist.h"
#include "ib_util.h"
#include "ld_pair.h"
#include "ld_tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static EVP_PKEY *device_key;
static uint8_t *device_pub;     /* PKCS#1 PEM, as a device sends it */
static size_t device_pub_len;

static int
setup_device_key(void)
{
	if (device_key != NULL)
		return 1;
	device_key = EVP_RSA_gen(2048);
	return device_key != NULL &&
	    ld_pem_write_rsa_public_key(device_key, &device_pub, &device_pub_len) == IB_OK;
}

static X509 *
cert_of(plist_t rec, const char *key)
{
	const uint8_t *p;
	size_t n;
	X509 *x = NULL;

	if (ib_plist_dict_get_data(rec, key, &p, &n) != IB_OK)
		return NULL;
	if (ld_pem_cert(p, n, &x) != IB_OK)
		return NULL;
	return x;
}

static int
ext_critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	return i >= 0 && X509_EXTENSION_get_critical(X509_get_ext(x, i)) == 1;
}

/* The profile of ld_pair.h, checked field by field. */
static int
check_profile(X509 *x, int sig_nid)
{
	const ASN1_TIME *nb = X509_get0_notBefore(x), *na = X509_get0_notAfter(x);
	int days = 0, secs = 0;

	if (X509_get_version(x) != 2)
		return 0;
	if (ASN1_INTEGER_get(X509_get0_serialNumber(x)) != 0)
		return 0;
	if (X509_NAME_entry_count(X509_get_subject_name(x)) != 0 ||
	    X509_NAME_entry_count(X509_get_issuer_name(x)) != 0)
		return 0;
	if (X509_get_signature_nid(x) != sig_nid)
		return 0;
	if (!ASN1_TIME_diff(&days, &secs, nb, na) || days != 3650)
		return 0;
	if (X509_cmp_current_time(nb) > 0)
		return 0;
	return 1;
}

/*
 * root issued leaf, as OpenSSL judges it: names match, the root may sign
 * (X509_check_issued, X509_check_ca) and the signature verifies. A store
 * walk (X509_verify_cert) cannot be used: with the empty names every
 * implementation writes, a leaf looks self-issued to path building.
 */
static int
verify_chain(X509 *root, X509 *leaf)
{
	return X509_check_ca(root) >= 1 &&
	    X509_check_issued(root, leaf) == X509_V_OK &&
	    X509_verify(leaf, X509_get0_pubkey(root)) == 1;
}

static void
check_generated(unsigned ios_major, int sig_nid)
{
	struct ib_pair_record *rec = NULL;
	plist_t full = NULL;
	X509 *root = NULL, *host = NULL, *dev = NULL;
	const ASN1_OCTET_STRING *ski;
	const char *id;

	IB_CHECK(setup_device_key());
	IB_CHECK_OK(ib_pair_record_generate(device_pub, device_pub_len, ios_major,
	    "30142955-444094379208051516", &rec));
	IB_CHECK((full = ib_pair_record_to_plist(rec)) != NULL);
	IB_CHECK((root = cert_of(full, "RootCertificate")) != NULL);
	IB_CHECK((host = cert_of(full, "HostCertificate")) != NULL);
	IB_CHECK((dev = cert_of(full, "DeviceCertificate")) != NULL);
	IB_CHECK(check_profile(root, sig_nid));
	IB_CHECK(check_profile(host, sig_nid));
	IB_CHECK(check_profile(dev, sig_nid));
	/* root: CA:TRUE critical; self-signed */
	IB_CHECK(ext_critical(root, NID_basic_constraints));
	IB_CHECK((X509_get_extension_flags(root) & EXFLAG_CA) != 0);
	IB_CHECK(X509_verify(root, X509_get0_pubkey(root)) == 1);
	/* host and device: CA:FALSE critical, keyUsage critical */
	IB_CHECK(ext_critical(host, NID_basic_constraints));
	IB_CHECK((X509_get_extension_flags(host) & EXFLAG_CA) == 0);
	IB_CHECK(ext_critical(host, NID_key_usage));
	IB_CHECK_EQ(X509_get_key_usage(host), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	IB_CHECK(X509_get_ext_by_NID(host, NID_subject_key_identifier, -1) < 0);
	IB_CHECK(ext_critical(dev, NID_basic_constraints));
	IB_CHECK((X509_get_extension_flags(dev) & EXFLAG_CA) == 0);
	IB_CHECK(ext_critical(dev, NID_key_usage));
	IB_CHECK_EQ(X509_get_key_usage(dev), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	/* device: SKI present, the hash of the DEVICE key (set before SKI) */
	IB_CHECK((ski = X509_get0_subject_key_id(dev)) != NULL);
	{
		unsigned char md[20];
		unsigned int mdlen = 0;

		IB_CHECK(X509_pubkey_digest(dev, EVP_sha1(), md, &mdlen) == 1);
		IB_CHECK_EQ(ASN1_STRING_length(ski), 20);
		IB_CHECK(memcmp(ASN1_STRING_get0_data(ski), md, 20) == 0);
	}
	/* the device certificate carries the device's own key */
	IB_CHECK(EVP_PKEY_eq(X509_get0_pubkey(dev), device_key) == 1);
	IB_CHECK(EVP_PKEY_eq(X509_get0_pubkey(host), device_key) != 1);
	/* chains root -> host and root -> device */
	IB_CHECK(verify_chain(root, host));
	IB_CHECK(verify_chain(root, dev));
	IB_CHECK(X509_verify(dev, X509_get0_pubkey(host)) != 1);
	/* RSA 2048, e = 65537 */
	{
		BIGNUM *e = NULL;

		IB_CHECK_EQ(EVP_PKEY_get_bits(X509_get0_pubkey(root)), 2048);
		IB_CHECK_EQ(EVP_PKEY_get_bits(X509_get0_pubkey(host)), 2048);
		IB_CHECK(EVP_PKEY_get_bn_param(X509_get0_pubkey(host), "e", &e) == 1);
		IB_CHECK(BN_get_word(e) == 65537);
		BN_free(e);
	}
	/* HostID: uppercase UUID */
	id = ib_pair_record_host_id(rec);
	IB_CHECK(strlen(id) == 36 && id[8] == '-' && id[13] == '-' && id[18] == '-' &&
	    id[23] == '-');
	for (; *id; id++)
		IB_CHECK(*id == '-' || (*id >= '0' && *id <= '9') || (*id >= 'A' && *id <= 'F'));
	IB_CHECK_STR(ib_pair_record_system_buid(rec), "30142955-444094379208051516");
	X509_free(root);
	X509_free(host);
	X509_free(dev);
	ib_pair_record_plist_free(full);
	ib_pair_record_free(rec);
}

IB_TEST(pair_generated_certificates_sha256)
{
	check_generated(17, NID_sha256WithRSAEncryption);
}

IB_TEST(pair_generated_certificates_sha1_for_ios3)
{
	check_generated(3, NID_sha1WithRSAEncryption);
}

IB_TEST(pair_device_key_pem_forms)
{
	struct ib_pair_record *rec = NULL;
	BIO *b = BIO_new(BIO_s_mem());
	char *spki = NULL;
	long n;
	EVP_PKEY *ec;

	IB_CHECK(setup_device_key());
	/* devices send PKCS#1 */
	IB_CHECK(memcmp(device_pub, "-----BEGIN RSA PUBLIC KEY-----", 30) == 0);
	/* SubjectPublicKeyInfo is accepted too */
	IB_CHECK(PEM_write_bio_PUBKEY(b, device_key) == 1);
	n = BIO_get_mem_data(b, &spki);
	IB_CHECK(memcmp(spki, "-----BEGIN PUBLIC KEY-----", 26) == 0);
	IB_CHECK_OK(ib_pair_record_generate((uint8_t *)spki, (size_t)n, 0, "B", &rec));
	ib_pair_record_free(rec);
	BIO_free(b);
	/* not a key; an EC key */
	IB_CHECK_ERR(ib_pair_record_generate((const uint8_t *)"garbage", 7, 0, "B", &rec),
	    IB_ERR_CERT);
	IB_CHECK(rec == NULL);
	ec = EVP_EC_gen("P-256");
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(b, ec);
	n = BIO_get_mem_data(b, &spki);
	IB_CHECK_ERR(ib_pair_record_generate((uint8_t *)spki, (size_t)n, 0, "B", &rec), IB_ERR_CERT);
	BIO_free(b);
	EVP_PKEY_free(ec);
}

IB_TEST(pair_request_record_has_no_private_keys)
{
	struct ib_pair_record *rec = NULL;
	plist_t req;
	char *xml = NULL;
	size_t n;
	const char *s;

	IB_CHECK(setup_device_key());
	IB_CHECK_OK(ib_pair_record_generate(device_pub, device_pub_len, 17, "BUID", &rec));
	IB_CHECK_OK(ib_pair_record_set_escrow_bag(rec, (const uint8_t *)"0123456789abcdefghijklmnopqrstuv", 32));
	IB_CHECK_OK(ib_pair_record_set_wifi_mac(rec, "f0:18:98:aa:bb:cc"));
	IB_CHECK((req = ib_pair_record_request_plist(rec)) != NULL);
	IB_CHECK(plist_dict_get_item(req, "HostPrivateKey") == NULL);
	IB_CHECK(plist_dict_get_item(req, "RootPrivateKey") == NULL);
	IB_CHECK(plist_dict_get_item(req, "EscrowBag") == NULL);
	IB_CHECK(plist_dict_get_item(req, "DeviceCertificate") != NULL);
	IB_CHECK(plist_dict_get_item(req, "HostCertificate") != NULL);
	IB_CHECK(plist_dict_get_item(req, "RootCertificate") != NULL);
	IB_CHECK_OK(ib_plist_dict_get_string(req, "HostID", &s));
	IB_CHECK_OK(ib_plist_dict_get_string(req, "SystemBUID", &s));
	IB_CHECK_OK(ib_plist_dict_get_string(req, "WiFiMACAddress", &s));
	/* and nothing in it looks like a private key */
	IB_CHECK_OK(ib_plist_to_xml(req, &xml, &n));
	{
		/* "PRIVATE KEY" in base64 of PEM would appear as the base64 of
		 * "-----BEGIN PRIVATE" / "RSA PRIVATE"; check the decoded data. */
		plist_dict_iter it = NULL;
		char *key = NULL;
		plist_t val = NULL;

		plist_dict_new_iter(req, &it);
		for (;;) {
			const uint8_t *p;
			size_t len;

			plist_dict_next_item(req, it, &key, &val);
			if (val == NULL)
				break;
			if (ib_plist_get_data(val, &p, &len) == IB_OK)
				IB_CHECK(memmem(p, len, "PRIVATE KEY", 11) == NULL);
			free(key);
			key = NULL;
		}
		free(it);
	}
	free(xml);
	plist_free(req);
	ib_pair_record_free(rec);
}

IB_TEST(pair_record_round_trip)
{
	struct ib_pair_record *rec = NULL, *back = NULL;
	uint8_t *a = NULL, *b = NULL;
	size_t na, nb;
	const uint8_t *bag;
	size_t bn;

	IB_CHECK(setup_device_key());
	IB_CHECK_OK(ib_pair_record_generate(device_pub, device_pub_len, 17, "BUID-1", &rec));
	IB_CHECK_OK(ib_pair_record_set_escrow_bag(rec, (const uint8_t *)"0123456789abcdefghijklmnopqrstuv", 32));
	IB_CHECK_OK(ib_pair_record_set_wifi_mac(rec, "f0:18:98:aa:bb:cc"));
	IB_CHECK_OK(ib_pair_record_set_udid(rec, "00008110-000A1B2C3D4E5F60"));
	IB_CHECK_OK(ib_pair_record_serialize(rec, &a, &na));
	/* stored form: XML, PEM text inside <data>, PKCS#8 keys */
	IB_CHECK(memmem(a, na, "<key>HostPrivateKey</key>", 25) != NULL);
	IB_CHECK(memmem(a, na, "<key>EscrowBag</key>", 20) != NULL);
	{
		plist_t d = NULL;
		const uint8_t *p;
		size_t n;

		IB_CHECK_OK(ib_plist_parse_dict(a, na, na, &d));
		IB_CHECK_OK(ib_plist_dict_get_data(d, "HostPrivateKey", &p, &n));
		IB_CHECK(memcmp(p, "-----BEGIN PRIVATE KEY-----", 27) == 0);
		IB_CHECK(p[n - 1] == '\n');     /* no trailing NUL stored */
		IB_CHECK_OK(ib_plist_dict_get_data(d, "RootCertificate", &p, &n));
		IB_CHECK(memcmp(p, "-----BEGIN CERTIFICATE-----", 27) == 0);
		ib_pair_record_plist_free(d);
	}
	IB_CHECK_OK(ib_pair_record_parse(a, na, &back));
	IB_CHECK_OK(ib_pair_record_serialize(back, &b, &nb));
	IB_CHECK_EQ(na, nb);
	IB_CHECK(memcmp(a, b, na) == 0);
	IB_CHECK_STR(ib_pair_record_host_id(back), ib_pair_record_host_id(rec));
	IB_CHECK_STR(ib_pair_record_wifi_mac(back), "f0:18:98:aa:bb:cc");
	IB_CHECK_OK(ib_pair_record_escrow_bag(back, &bag, &bn));
	IB_CHECK_EQ(bn, 32);
	ib_pair_record_bytes_free(a, na);
	ib_pair_record_bytes_free(b, nb);
	ib_pair_record_free(rec);
	ib_pair_record_free(back);
}

static int
read_fixture(const char *name, uint8_t **datap, size_t *lenp)
{
	const char *root = getenv("IB_SOURCE_ROOT");
	char path[1024];

	snprintf(path, sizeof(path), "%s/tests/lockdown/fixtures/%s",
	    root != NULL ? root : ".", name);
	return ib_file_read(path, 1 << 20, datap, lenp);
}

static void
check_fixture(const char *name)
{
	struct ib_pair_record *rec = NULL;
	struct ib_tls_identity *id = NULL;
	uint8_t *data = NULL;
	size_t n;
	const uint8_t *bag;
	size_t bn;

	IB_CHECK_OK(read_fixture(name, &data, &n));
	IB_CHECK_OK(ib_pair_record_parse(data, n, &rec));
	IB_CHECK_STR(ib_pair_record_host_id(rec), "5D3B1D2C-7A0F-4B5E-9C61-2E8F4A7B9C10");
	IB_CHECK_STR(ib_pair_record_system_buid(rec), "30142955-444094379208051516");
	IB_CHECK_STR(ib_pair_record_wifi_mac(rec), "f0:18:98:aa:bb:cc");
	IB_CHECK_OK(ib_pair_record_escrow_bag(rec, &bag, &bn));
	IB_CHECK_EQ(bn, 32);
	IB_CHECK_EQ(bag[31], 31);
	IB_CHECK_OK(ib_pair_record_tls_identity(rec, IB_PAIR_CERT_HOST, &id));
	ib_tls_identity_free(id);
	IB_CHECK_OK(ib_pair_record_tls_identity(rec, IB_PAIR_CERT_ROOT, &id));
	ib_tls_identity_free(id);
	ib_pair_record_free(rec);
	free(data);
}

IB_TEST(pair_fixture_libimobiledevice_layout)
{
	check_fixture("limd_format.plist");
}

IB_TEST(pair_fixture_sha1_certs_pkcs1_keys)
{
	uint8_t *data = NULL;
	size_t n;

	check_fixture("sha1_pkcs1.plist");
	IB_CHECK_OK(read_fixture("sha1_pkcs1.plist", &data, &n));
	/* the fixture really is what it claims: base64 of "-----BEGIN RSA PRIVATE" */
	IB_CHECK(memmem(data, n, "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVkt", 36) != NULL);
	free(data);
}

IB_TEST(pair_fixture_binary_plist_accepted)
{
	uint8_t *data = NULL, *bin = NULL;
	size_t n, bn;
	plist_t d = NULL;
	struct ib_pair_record *rec = NULL;

	/* usbmuxd accepts binary records (LIMD hands it binary) */
	IB_CHECK_OK(read_fixture("limd_format.plist", &data, &n));
	IB_CHECK_OK(ib_plist_parse_dict(data, n, n, &d));
	IB_CHECK_OK(ib_plist_to_bin(d, &bin, &bn));
	IB_CHECK_OK(ib_pair_record_parse(bin, bn, &rec));
	ib_pair_record_free(rec);
	ib_pair_record_plist_free(d);
	ib_pair_record_bytes_free(bin, bn);
	free(data);
}

/* Load the LIMD fixture, change it with fn, expect parse to fail. */
static int
parse_modified(void (*fn)(plist_t))
{
	uint8_t *data = NULL, *out = NULL;
	size_t n, on;
	plist_t d = NULL;
	struct ib_pair_record *rec = NULL;
	int r;

	if (read_fixture("limd_format.plist", &data, &n) != IB_OK ||
	    ib_plist_parse_dict(data, n, n, &d) != IB_OK)
		return IB_ERR_INTERNAL;
	fn(d);
	ib_plist_to_bin(d, &out, &on);
	r = ib_pair_record_parse(out, on, &rec);
	ib_pair_record_free(rec);
	plist_free(d);
	free(out);
	free(data);
	return r;
}

static void drop_host_id(plist_t d) { plist_dict_remove_item(d, "HostID"); }
static void drop_host_key(plist_t d) { plist_dict_remove_item(d, "HostPrivateKey"); }
static void drop_root_key(plist_t d) { plist_dict_remove_item(d, "RootPrivateKey"); }
static void host_id_uint(plist_t d) { plist_dict_set_item(d, "HostID", plist_new_uint(7)); }
static void cert_as_string(plist_t d)
{
	plist_dict_set_item(d, "HostCertificate", plist_new_string("-----BEGIN CERTIFICATE-----"));
}
static void garbage_pem(plist_t d)
{
	plist_dict_set_item(d, "DeviceCertificate", plist_new_data("-----BEGIN CERTIFICATE-----\nAAAA\n", 33));
}
static void swapped_keys(plist_t d)
{
	/* the host key no longer belongs to the host certificate */
	plist_t root = plist_copy(plist_dict_get_item(d, "RootPrivateKey"));

	plist_dict_set_item(d, "HostPrivateKey", root);
}

IB_TEST(pair_broken_records_refused)
{
	struct ib_pair_record *rec = NULL;

	IB_CHECK_ERR(parse_modified(drop_host_id), IB_ERR_PAIR_RECORD_INVALID);
	IB_CHECK(strstr(ib_err_detail(), "HostID") != NULL);
	IB_CHECK_ERR(parse_modified(drop_host_key), IB_ERR_PAIR_RECORD_INVALID);
	IB_CHECK_ERR(parse_modified(host_id_uint), IB_ERR_PAIR_RECORD_INVALID);
	IB_CHECK_ERR(parse_modified(cert_as_string), IB_ERR_PAIR_RECORD_INVALID);
	IB_CHECK_ERR(parse_modified(garbage_pem), IB_ERR_PAIR_RECORD_INVALID);
	IB_CHECK_ERR(parse_modified(swapped_keys), IB_ERR_PAIR_RECORD_INVALID);
	IB_CHECK(strstr(ib_err_detail(), "host") != NULL);
	/* RootPrivateKey is optional, but then the root cannot be presented */
	IB_CHECK_OK(parse_modified(drop_root_key));
	IB_CHECK_ERR(ib_pair_record_parse((const uint8_t *)"<plist><array/></plist>", 23, &rec),
	    IB_ERR_PAIR_RECORD_INVALID);
	IB_CHECK_ERR(ib_pair_record_parse((const uint8_t *)"", 0, &rec),
	    IB_ERR_PAIR_RECORD_INVALID);
	IB_CHECK(rec == NULL);
}

IB_TEST(pair_plist_wipe_clears_secret_values_only)
{
	plist_t d = plist_new_dict();
	const char *p;
	uint64_t n;
	size_t i;

	plist_dict_set_item(d, "HostPrivateKey", plist_new_data("SECRETSECRET1234", 16));
	plist_dict_set_item(d, "EscrowBag", plist_new_data("BAGBAGBAGBAGBAG!", 16));
	plist_dict_set_item(d, "HostCertificate", plist_new_data("PUBLICPUBLIC5678", 16));
	ib_pair_record_plist_wipe(d);
	p = plist_get_data_ptr(plist_dict_get_item(d, "HostPrivateKey"), &n);
	for (i = 0; i < n; i++)
		IB_CHECK(p[i] == 0);
	p = plist_get_data_ptr(plist_dict_get_item(d, "EscrowBag"), &n);
	for (i = 0; i < n; i++)
		IB_CHECK(p[i] == 0);
	p = plist_get_data_ptr(plist_dict_get_item(d, "HostCertificate"), &n);
	IB_CHECK(memcmp(p, "PUBLICPUBLIC5678", 16) == 0);
	plist_free(d);
}

int
main(int argc, char **argv)
{
	int r = ib_test_main(argc, argv);

	EVP_PKEY_free(device_key);
	free(device_pub);
	return r;
}
