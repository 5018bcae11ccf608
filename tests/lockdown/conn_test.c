/*
 * conn_test.c - ib_conn over socketpairs: plist and raw I/O, timeouts,
 * interrupts, framing limits, and TLS in place: start, carry requests,
 * stop back to plaintext and start again on one connection, for an old
 * (iOS 6.1: TLS 1.0) and a new (iOS 17.5: TLS 1.2+) profile, with the
 * host or the root certificate, with a SHA-1/PKCS#1 record, and refused
 * with a certificate the device does not trust.
 *
 * Run with --strict-openssl-cnf it first points OPENSSL_CONF at a
 * configuration like the distributions' (MinProtocol TLSv1.2,
 * SECLEVEL=2) and checks the policy still wins.
 */
#include "ib_test.h"

#include "ib_plist.h"
#include "ib_util.h"
#include "ld_pair.h"
#include "ld_msg.h"
#include "ld_tls.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/pem.h>

static int strict_cnf;

/* --- helpers ------------------------------------------------------------ */

static int
pair_fds(struct ib_conn **host, struct ib_conn **dev)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return IB_ERR_SYSTEM;
	if (ib_conn_new_fd(sv[0], IB_CONN_ROLE_HOST, 1, host) != IB_OK ||
	    ib_conn_new_fd(sv[1], IB_CONN_ROLE_DEVICE, 1, dev) != IB_OK)
		return IB_ERR_INTERNAL;
	ib_conn_set_timeout(*host, 10000);
	ib_conn_set_timeout(*dev, 10000);
	return IB_OK;
}

static plist_t
msg(const char *verb)
{
	plist_t d = plist_new_dict();

	plist_dict_set_item(d, "Request", plist_new_string(verb));
	return d;
}

static int
send_msg(struct ib_conn *c, const char *verb)
{
	plist_t m = msg(verb);
	int r = ib_conn_send_plist(c, m);

	plist_free(m);
	return r;
}

/* Receive a message and check its Request. */
static int
expect(struct ib_conn *c, const char *verb)
{
	plist_t m = NULL;
	const char *s;
	int r;

	if ((r = ib_conn_recv_plist(c, &m)) != IB_OK)
		return r;
	r = ib_plist_dict_get_string(m, "Request", &s) == IB_OK && strcmp(s, verb) == 0 ?
	    IB_OK : IB_ERR_FORMAT;
	plist_free(m);
	return r;
}

/* Keys and certificates: a record and the device's own key. */
struct keys {
	struct ib_pair_record *rec;
	struct ib_tls_identity *device;         /* device cert + device key */
	struct ib_tls_identity *root;           /* root cert only (trust) */
};

static int
keys_from_record(struct keys *k, const uint8_t *dev_key_pem, size_t dev_key_len)
{
	plist_t full = ib_pair_record_to_plist(k->rec);
	const uint8_t *dc, *rc;
	size_t dn, rn;
	int r;

	if (full == NULL)
		return IB_ERR_NOMEM;
	r = ib_plist_dict_get_data(full, "DeviceCertificate", &dc, &dn);
	if (r == IB_OK)
		r = ib_plist_dict_get_data(full, "RootCertificate", &rc, &rn);
	if (r == IB_OK)
		r = ib_tls_identity_new(dc, dn, dev_key_pem, dev_key_len, &k->device);
	if (r == IB_OK)
		r = ib_tls_identity_new(rc, rn, NULL, 0, &k->root);
	ib_pair_record_plist_free(full);
	return r;
}

static int
keys_generate(struct keys *k)
{
	EVP_PKEY *dk = EVP_RSA_gen(2048);
	uint8_t *pub = NULL, *priv = NULL;
	size_t pn, kn;
	int r;

	memset(k, 0, sizeof(*k));
	if (dk == NULL)
		return IB_ERR_CERT;
	r = ld_pem_write_rsa_public_key(dk, &pub, &pn);
	if (r == IB_OK)
		r = ld_pem_write_private_key(dk, &priv, &kn);
	if (r == IB_OK)
		r = ib_pair_record_generate(pub, pn, 17, "BUID", &k->rec);
	if (r == IB_OK)
		r = keys_from_record(k, priv, kn);
	free(pub);
	ib_pair_record_bytes_free(priv, kn);
	EVP_PKEY_free(dk);
	return r;
}

static int
keys_fixture(struct keys *k, const char *name)
{
	const char *root = getenv("IB_SOURCE_ROOT");
	char path[1024];
	uint8_t *data = NULL, *key = NULL;
	size_t n, kn;
	int r;

	memset(k, 0, sizeof(*k));
	snprintf(path, sizeof(path), "%s/tests/lockdown/fixtures/%s.plist", root, name);
	if ((r = ib_file_read(path, 1 << 20, &data, &n)) != IB_OK)
		return r;
	snprintf(path, sizeof(path), "%s/tests/lockdown/fixtures/device_key_%s.pem", root, name);
	if ((r = ib_file_read(path, 1 << 20, &key, &kn)) == IB_OK &&
	    (r = ib_pair_record_parse(data, n, &k->rec)) == IB_OK)
		r = keys_from_record(k, key, kn);
	free(data);
	free(key);
	return r;
}

static void
keys_free(struct keys *k)
{
	ib_pair_record_free(k->rec);
	ib_tls_identity_free(k->device);
	ib_tls_identity_free(k->root);
}

/* --- the device side of a session, on a thread ----------------------- */

struct dev_script {
	struct ib_conn *c;
	struct ib_tls_params tp;
	int result;
	enum ib_tls_version v1, v2;
	int saw_root_cert;
};

/* StartSession -> TLS -> GetValue -> StopSession -> plaintext ->
 * StartSession -> TLS -> GetValue -> StopSession -> Goodbye (plaintext). */
static void *
device_session(void *arg)
{
	struct dev_script *s = arg;
	int round, r = IB_OK;

	for (round = 0; round < 2 && r == IB_OK; round++) {
		if ((r = expect(s->c, "StartSession")) != IB_OK ||
		    (r = send_msg(s->c, "StartSession")) != IB_OK ||
		    (r = ib_conn_tls_start(s->c, &s->tp)) != IB_OK)
			break;
		if (round == 0) {
			uint8_t *der = NULL, *rder = NULL;
			size_t n;
			int rn;

			s->v1 = ib_conn_tls_version(s->c);
			if (ib_conn_tls_peer_cert(s->c, &der, &n) == IB_OK) {
				rn = i2d_X509(s->tp.trust->cert, &rder);
				s->saw_root_cert = rn > 0 && (size_t)rn == n &&
				    memcmp(der, rder, n) == 0;
			}
			free(der);
			OPENSSL_free(rder);
		} else {
			s->v2 = ib_conn_tls_version(s->c);
		}
		if ((r = expect(s->c, "GetValue")) != IB_OK ||
		    (r = send_msg(s->c, "GetValue")) != IB_OK ||
		    (r = expect(s->c, "StopSession")) != IB_OK ||
		    (r = send_msg(s->c, "StopSession")) != IB_OK ||
		    (r = ib_conn_tls_stop(s->c)) != IB_OK)
			break;
	}
	if (r == IB_OK && (r = expect(s->c, "Goodbye")) == IB_OK)
		r = send_msg(s->c, "Goodbye");
	s->result = r;
	return NULL;
}

static void
run_session(struct keys *k, enum ib_pair_cert which, unsigned major, unsigned minor,
    enum ib_tls_version want_min, enum ib_tls_version want_max)
{
	struct ib_conn *host = NULL, *dev = NULL;
	struct ib_tls_identity *hid = NULL;
	struct ib_tls_params hp;
	struct dev_script s;
	pthread_t th;
	int round;

	IB_CHECK_OK(pair_fds(&host, &dev));
	IB_CHECK_OK(ib_pair_record_tls_identity(k->rec, which, &hid));
	memset(&s, 0, sizeof(s));
	s.c = dev;
	s.tp.self = k->device;
	s.tp.trust = k->root;
	s.tp.ios_major = major;
	s.tp.ios_minor = minor;
	memset(&hp, 0, sizeof(hp));
	hp.self = hid;
	hp.ios_major = major;
	hp.ios_minor = minor;
	IB_CHECK(pthread_create(&th, NULL, device_session, &s) == 0);
	for (round = 0; round < 2; round++) {
		IB_CHECK_OK(send_msg(host, "StartSession"));
		IB_CHECK_OK(expect(host, "StartSession"));
		IB_CHECK_OK(ib_conn_tls_start(host, &hp));
		IB_CHECK(ib_conn_tls_active(host));
		IB_CHECK(ib_conn_tls_version(host) >= want_min);
		IB_CHECK(ib_conn_tls_version(host) <= want_max);
		IB_CHECK_OK(send_msg(host, "GetValue"));
		IB_CHECK_OK(expect(host, "GetValue"));
		IB_CHECK_OK(send_msg(host, "StopSession"));
		IB_CHECK_OK(expect(host, "StopSession"));
		IB_CHECK_OK(ib_conn_tls_stop(host));
		IB_CHECK(!ib_conn_tls_active(host));
	}
	IB_CHECK_OK(send_msg(host, "Goodbye"));
	IB_CHECK_OK(expect(host, "Goodbye"));
	pthread_join(th, NULL);
	IB_CHECK_OK(s.result);
	IB_CHECK(s.v1 >= want_min && s.v1 <= want_max);
	IB_CHECK_EQ(s.v2, s.v1);
	IB_CHECK_EQ(s.saw_root_cert, which == IB_PAIR_CERT_ROOT);
	ib_tls_identity_free(hid);
	ib_conn_free(host);
	ib_conn_free(dev);
}

static struct keys gen_keys;

static int
have_keys(void)
{
	return gen_keys.rec != NULL || keys_generate(&gen_keys) == IB_OK;
}

/* --- tests ------------------------------------------------------------- */

IB_TEST(conn_strict_system_config_applies)
{
	SSL_CTX *ctx;

	if (!strict_cnf)
		return;
	/* The configuration is really in force for a default context ... */
	ctx = SSL_CTX_new(TLS_client_method());
	IB_CHECK(ctx != NULL);
	IB_CHECK_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	IB_CHECK(SSL_CTX_get_security_level(ctx) >= 2);
	SSL_CTX_free(ctx);
	/* ... and the sessions below still negotiate TLS 1.0 for iOS 6. */
}

IB_TEST(conn_tls_session_ios6_tls10)
{
	IB_CHECK(have_keys());
	/* device profile 6.1: TLS 1.0 only; host allows 1.0..1.2 */
	run_session(&gen_keys, IB_PAIR_CERT_HOST, 6, 1, IB_TLS_1_0, IB_TLS_1_0);
}

IB_TEST(conn_tls_session_ios17_modern)
{
	IB_CHECK(have_keys());
	run_session(&gen_keys, IB_PAIR_CERT_HOST, 17, 5, IB_TLS_1_2, IB_TLS_1_3);
}

IB_TEST(conn_tls_root_certificate_accepted)
{
	IB_CHECK(have_keys());
	/* libimobiledevice's OpenSSL build presents the root certificate */
	run_session(&gen_keys, IB_PAIR_CERT_ROOT, 17, 5, IB_TLS_1_2, IB_TLS_1_3);
	run_session(&gen_keys, IB_PAIR_CERT_ROOT, 6, 1, IB_TLS_1_0, IB_TLS_1_0);
}

IB_TEST(conn_tls_sha1_pkcs1_record)
{
	struct keys k;

	/* SHA-1 certificates need security level 0 ("ca md too weak") */
	IB_CHECK_OK(keys_fixture(&k, "sha1_pkcs1"));
	run_session(&k, IB_PAIR_CERT_HOST, 6, 1, IB_TLS_1_0, IB_TLS_1_0);
	run_session(&k, IB_PAIR_CERT_HOST, 17, 5, IB_TLS_1_2, IB_TLS_1_3);
	run_session(&k, IB_PAIR_CERT_ROOT, 12, 5, IB_TLS_1_2, IB_TLS_1_3);
	keys_free(&k);
}

IB_TEST(conn_tls_libimobiledevice_record)
{
	struct keys k;

	IB_CHECK_OK(keys_fixture(&k, "limd_format"));
	run_session(&k, IB_PAIR_CERT_HOST, 18, 2, IB_TLS_1_2, IB_TLS_1_3);
	keys_free(&k);
}

struct refuse {
	struct ib_conn *c;
	struct ib_tls_params tp;
	int result;
};

static void *
device_refuses(void *arg)
{
	struct refuse *s = arg;

	s->result = ib_conn_tls_start(s->c, &s->tp);
	/* keep the fd open until the host has read the alert */
	if (s->result != IB_OK)
		usleep(200 * 1000);
	return NULL;
}

/* The device trusts another root: the host sees IB_ERR_TLS_HANDSHAKE,
 * during the handshake (TLS <= 1.2) or at its first read (TLS 1.3). */
static void
refused(enum ib_tls_version max)
{
	struct keys other;
	struct ib_conn *host = NULL, *dev = NULL;
	struct ib_tls_identity *hid = NULL;
	struct ib_tls_params hp;
	struct refuse s;
	pthread_t th;
	plist_t m = NULL;
	int r;

	IB_CHECK(have_keys());
	IB_CHECK_OK(keys_generate(&other));
	IB_CHECK_OK(pair_fds(&host, &dev));
	memset(&s, 0, sizeof(s));
	s.c = dev;
	s.tp.self = gen_keys.device;
	s.tp.trust = other.root;
	s.tp.ios_major = 17;
	s.tp.max_version = max;
	memset(&hp, 0, sizeof(hp));
	IB_CHECK_OK(ib_pair_record_tls_identity(gen_keys.rec, IB_PAIR_CERT_HOST, &hid));
	hp.self = hid;
	hp.ios_major = 17;
	IB_CHECK(pthread_create(&th, NULL, device_refuses, &s) == 0);
	r = ib_conn_tls_start(host, &hp);
	if (r == IB_OK) {
		/* TLS 1.3: the verdict arrives with the first read */
		IB_CHECK(max != IB_TLS_1_2);
		(void)send_msg(host, "GetValue");
		r = ib_conn_recv_plist(host, &m);
	}
	IB_CHECK_ERR(r, IB_ERR_TLS_HANDSHAKE);
	IB_CHECK(strstr(ib_strerror(r), "ibackup pair") != NULL);
	pthread_join(th, NULL);
	IB_CHECK_ERR(s.result, IB_ERR_TLS_HANDSHAKE);
	plist_free(m);
	ib_tls_identity_free(hid);
	ib_conn_free(host);
	ib_conn_free(dev);
	keys_free(&other);
}

IB_TEST(conn_tls_unknown_certificate_refused_tls12)
{
	refused(IB_TLS_1_2);
}

IB_TEST(conn_tls_unknown_certificate_refused_tls13)
{
	refused(IB_TLS_ANY);
}

IB_TEST(conn_tls_handshake_timeout)
{
	struct ib_conn *host = NULL, *dev = NULL;
	struct ib_tls_identity *hid = NULL;
	struct ib_tls_params hp;
	uint64_t t0;

	IB_CHECK(have_keys());
	IB_CHECK_OK(pair_fds(&host, &dev));
	IB_CHECK_OK(ib_pair_record_tls_identity(gen_keys.rec, IB_PAIR_CERT_HOST, &hid));
	memset(&hp, 0, sizeof(hp));
	hp.self = hid;
	ib_conn_set_timeout(host, 300);
	t0 = ib_now_ms();
	/* nobody answers the ClientHello */
	IB_CHECK_ERR(ib_conn_tls_start(host, &hp), IB_ERR_TIMEOUT);
	IB_CHECK(ib_now_ms() - t0 >= 250);
	IB_CHECK(!ib_conn_tls_active(host));
	ib_tls_identity_free(hid);
	ib_conn_free(host);
	ib_conn_free(dev);
}

IB_TEST(conn_plain_messages_and_raw)
{
	struct ib_conn *host = NULL, *dev = NULL;
	uint8_t buf[16];
	size_t got;

	IB_CHECK_OK(pair_fds(&host, &dev));
	IB_CHECK_OK(send_msg(host, "QueryType"));
	IB_CHECK_OK(expect(dev, "QueryType"));
	IB_CHECK_OK(ib_conn_write(dev, "hello, host", 11));
	IB_CHECK_OK(ib_conn_read(host, buf, 5));
	IB_CHECK(memcmp(buf, "hello", 5) == 0);
	IB_CHECK_OK(ib_conn_read_some(host, buf, sizeof(buf), &got));
	IB_CHECK(got >= 1 && got <= 6);
	IB_CHECK(memcmp(buf, ", host", got) == 0);
	ib_conn_free(dev);
	/* the peer is gone: EOF (no stream to ask for a reason) */
	IB_CHECK_ERR(ib_conn_read(host, buf, 1), IB_ERR_EOF);
	IB_CHECK_ERR(expect(host, "x"), IB_ERR_EOF);
	ib_conn_free(host);
}

IB_TEST(conn_does_not_read_past_a_message)
{
	struct ib_conn *host = NULL, *dev = NULL;
	plist_t a = msg("First"), b = msg("Second");
	uint8_t *fa = NULL, *fb = NULL, *both, *raw;
	size_t na, nb;

	IB_CHECK_OK(pair_fds(&host, &dev));
	IB_CHECK_OK(ld_msg_encode(a, LD_MSG_XML, &fa, &na));
	IB_CHECK_OK(ld_msg_encode(b, LD_MSG_BINARY, &fb, &nb));
	both = malloc(na + nb);
	memcpy(both, fa, na);
	memcpy(both + na, fb, nb);
	/* one write: both messages arrive together */
	IB_CHECK_OK(ib_conn_write(dev, both, na + nb));
	IB_CHECK_OK(expect(host, "First"));
	/* what follows is untouched: read it raw, byte for byte */
	raw = malloc(nb);
	IB_CHECK_OK(ib_conn_read(host, raw, nb));
	IB_CHECK(memcmp(raw, fb, nb) == 0);
	free(raw);
	free(both);
	free(fa);
	free(fb);
	plist_free(a);
	plist_free(b);
	ib_conn_free(host);
	ib_conn_free(dev);
}

IB_TEST(conn_timeout_resumes_partial_message)
{
	struct ib_conn *host = NULL, *dev = NULL;
	plist_t m = msg("Slow"), got = NULL;
	uint8_t *f = NULL;
	size_t n;

	IB_CHECK_OK(pair_fds(&host, &dev));
	IB_CHECK_OK(ld_msg_encode(m, LD_MSG_XML, &f, &n));
	ib_conn_set_timeout(host, 100);
	IB_CHECK_ERR(ib_conn_recv_plist(host, &got), IB_ERR_TIMEOUT);
	IB_CHECK_OK(ib_conn_write(dev, f, 10));
	IB_CHECK_ERR(ib_conn_recv_plist(host, &got), IB_ERR_TIMEOUT);
	/* raw reads are refused while a message is half in */
	IB_CHECK_ERR(ib_conn_read(host, f, 1), IB_ERR_STATE);
	IB_CHECK_OK(ib_conn_write(dev, f + 10, n - 10));
	IB_CHECK_OK(ib_conn_recv_plist(host, &got));
	IB_CHECK(got != NULL);
	plist_free(got);
	plist_free(m);
	free(f);
	ib_conn_free(host);
	ib_conn_free(dev);
}

IB_TEST(conn_oversized_message)
{
	struct ib_conn *host = NULL, *dev = NULL;
	static const uint8_t hdr[4] = { 0x01, 0x00, 0x00, 0x01 };
	plist_t got = NULL;

	IB_CHECK_OK(pair_fds(&host, &dev));
	IB_CHECK_OK(ib_conn_write(dev, hdr, 4));
	IB_CHECK_ERR(ib_conn_recv_plist(host, &got), IB_ERR_TOO_LARGE);
	/* the connection stays failed */
	IB_CHECK_ERR(ib_conn_recv_plist(host, &got), IB_ERR_TOO_LARGE);
	ib_conn_free(host);
	ib_conn_free(dev);
}

static void *
interrupt_soon(void *arg)
{
	(void)arg;
	usleep(150 * 1000);
	ib_interrupt_set();
	return NULL;
}

IB_TEST(conn_interrupt_ends_wait)
{
	struct ib_conn *host = NULL, *dev = NULL;
	plist_t got = NULL;
	pthread_t th;
	uint64_t t0 = ib_now_ms();

	IB_CHECK_OK(pair_fds(&host, &dev));
	ib_conn_set_timeout(host, -1);
	IB_CHECK(pthread_create(&th, NULL, interrupt_soon, NULL) == 0);
	IB_CHECK_ERR(ib_conn_recv_plist(host, &got), IB_ERR_INTERRUPTED);
	pthread_join(th, NULL);
	IB_CHECK(ib_now_ms() - t0 < 2000);
	ib_interrupt_clear();
	ib_conn_free(host);
	ib_conn_free(dev);
}

IB_TEST(conn_tls_state_errors)
{
	struct ib_conn *host = NULL, *dev = NULL;

	IB_CHECK_OK(pair_fds(&host, &dev));
	IB_CHECK_ERR(ib_conn_tls_stop(host), IB_ERR_STATE);
	IB_CHECK_ERR(ib_conn_tls_start(host, NULL), IB_ERR_INVALID_ARG);
	IB_CHECK_EQ(ib_conn_tls_version(host), IB_TLS_ANY);
	ib_conn_free(host);
	ib_conn_free(dev);
	ib_conn_free(NULL);
}

int
main(int argc, char **argv)
{
	int r;

	if (argc > 1 && strcmp(argv[1], "--strict-openssl-cnf") == 0) {
		char path[1024];

		/* Before OpenSSL reads any configuration. */
		snprintf(path, sizeof(path), "%s/tests/lockdown/fixtures/openssl-strict.cnf",
		    getenv("IB_SOURCE_ROOT"));
		setenv("OPENSSL_CONF", path, 1);
		strict_cnf = 1;
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	r = ib_test_main(argc, argv);
	keys_free(&gen_keys);
	return r;
}
