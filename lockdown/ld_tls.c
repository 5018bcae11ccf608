/*
 * ld_tls.c - PEM loading, the TLS policy and a SIGPIPE-free socket BIO.
 *
 * Policy (lockdown.md section 5, "OpenSSL 3 pitfalls"), applied after
 * SSL_CTX_new so that it overrides the system openssl.cnf (Debian sets
 * security level 2 in the library, other distributions MinProtocol =
 * TLSv1.2 and CipherString = DEFAULT@SECLEVEL=2 in system_default):
 *   - security level 0: TLS 1.0/1.1 need SHA-1, records from GOIOS, old
 *     libimobiledevice and iOS < 4 pairings are SHA-1 signed;
 *   - SSL_OP_LEGACY_SERVER_CONNECT: iOS <= 5 lacks secure renegotiation;
 *   - SSL_OP_IGNORE_UNEXPECTED_EOF: devices close without close_notify;
 *   - explicit minimum and maximum protocol versions;
 *   - the host does not verify the device (nobody can: the device
 *     certificate is signed by our own root, the device's TLS key is its
 *     own).
 */
#include "ld_tls.h"

#include "ib_err.h"
#include "ib_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/bio.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>

/* Cipher list: everything with authentication and encryption, at
 * security level 0 (the level in the string wins over openssl.cnf's
 * CipherString too). */
#define LD_TLS_CIPHERS "ALL:!aNULL:!eNULL:@SECLEVEL=0"

const char *
ld_tls_errstr(char *buf, size_t n)
{
	unsigned long e;
	size_t o = 0;

	if (n == 0)
		return "";
	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		char one[256];

		ERR_error_string_n(e, one, sizeof(one));
		if (o + 2 < n) {
			int k = snprintf(buf + o, n - o, "%s%s", o ? "; " : "", one);
			if (k > 0)
				o += (size_t)k < n - o ? (size_t)k : n - o - 1;
		}
	}
	return buf;
}

static void
cert_error(const char *what)
{
	char e[512];

	ib_err_detail_set("%s: %s", what, ld_tls_errstr(e, sizeof(e)));
}

/* Bounded memory BIO over caller bytes (len checked against INT_MAX). */
static BIO *
mem_bio(const uint8_t *pem, size_t len)
{
	if (pem == NULL || len == 0 || len > (size_t)INT32_MAX)
		return NULL;
	return BIO_new_mem_buf(pem, (int)len);
}

int
ld_pem_cert(const uint8_t *pem, size_t len, X509 **certp)
{
	BIO *b;
	X509 *x = NULL;

	*certp = NULL;
	ERR_clear_error();
	if ((b = mem_bio(pem, len)) != NULL)
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if (x == NULL) {
		cert_error("not a PEM certificate");
		return IB_ERR_CERT;
	}
	*certp = x;
	return IB_OK;
}

int
ld_pem_private_key(const uint8_t *pem, size_t len, EVP_PKEY **keyp)
{
	BIO *b;
	EVP_PKEY *k = NULL;

	*keyp = NULL;
	ERR_clear_error();
	/* Reads "PRIVATE KEY" (PKCS#8) and "RSA PRIVATE KEY" (PKCS#1). An
	 * empty passphrase callback keeps OpenSSL from prompting on a tty
	 * for an encrypted key. */
	if ((b = mem_bio(pem, len)) != NULL)
		k = PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"");
	BIO_free(b);
	if (k == NULL) {
		cert_error("not a PEM private key");
		return IB_ERR_CERT;
	}
	*keyp = k;
	return IB_OK;
}

int
ld_pem_public_key(const uint8_t *pem, size_t len, EVP_PKEY **keyp)
{
	BIO *b;
	EVP_PKEY *k = NULL;

	*keyp = NULL;
	ERR_clear_error();
	/* OpenSSL 3's decoder behind PEM_read_bio_PUBKEY also takes the
	 * PKCS#1 "BEGIN RSA PUBLIC KEY" form devices send. */
	if ((b = mem_bio(pem, len)) != NULL)
		k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	BIO_free(b);
	if (k == NULL) {
		cert_error("not a PEM public key");
		return IB_ERR_CERT;
	}
	*keyp = k;
	return IB_OK;
}

/* Copy a memory BIO's content out, NUL-terminated. */
static int
bio_take(BIO *b, uint8_t **pemp, size_t *lenp)
{
	char *p = NULL;
	long n = BIO_get_mem_data(b, &p);
	uint8_t *out;

	if (n <= 0 || p == NULL)
		return IB_ERR_CERT;
	if ((out = malloc((size_t)n + 1)) == NULL)
		return IB_ERR_NOMEM;
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	*pemp = out;
	*lenp = (size_t)n;
	return IB_OK;
}

int
ld_pem_write_cert(X509 *cert, uint8_t **pemp, size_t *lenp)
{
	BIO *b = BIO_new(BIO_s_mem());
	int r = IB_ERR_CERT;

	*pemp = NULL;
	*lenp = 0;
	if (b != NULL && PEM_write_bio_X509(b, cert) == 1)
		r = bio_take(b, pemp, lenp);
	BIO_free(b);
	return r;
}

int
ld_pem_write_private_key(EVP_PKEY *key, uint8_t **pemp, size_t *lenp)
{
	BIO *b = BIO_new(BIO_s_secmem());
	int r = IB_ERR_CERT;

	*pemp = NULL;
	*lenp = 0;
	if (b == NULL)
		b = BIO_new(BIO_s_mem());
	if (b != NULL && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1)
		r = bio_take(b, pemp, lenp);
	BIO_free(b);    /* a secure-memory BIO clears itself */
	return r;
}

int
ld_pem_write_rsa_public_key(EVP_PKEY *key, uint8_t **pemp, size_t *lenp)
{
	OSSL_ENCODER_CTX *e;
	unsigned char *out = NULL;
	size_t n = 0;
	int r = IB_ERR_CERT;

	*pemp = NULL;
	*lenp = 0;
	/* "type-specific" is PKCS#1 for RSA. */
	e = OSSL_ENCODER_CTX_new_for_pkey(key, EVP_PKEY_PUBLIC_KEY, "PEM",
	    "type-specific", NULL);
	if (e != NULL && OSSL_ENCODER_to_data(e, &out, &n) == 1 && out != NULL) {
		uint8_t *copy = malloc(n + 1);

		if (copy == NULL)
			r = IB_ERR_NOMEM;
		else {
			memcpy(copy, out, n);
			copy[n] = '\0';
			*pemp = copy;
			*lenp = n;
			r = IB_OK;
		}
	}
	OPENSSL_free(out);
	OSSL_ENCODER_CTX_free(e);
	return r;
}

/* --- RSA keys -------------------------------------------------------------- */

/* Key size of every key we make (all implementations agree, lockdown.md
 * section 3). */
#define LD_RSA_BITS 2048

static int (*key_source)(EVP_PKEY **keyp);

void
ld_rsa_key_source_set(int (*fn)(EVP_PKEY **keyp))
{
	key_source = fn;
}

int
ld_rsa_key_new(EVP_PKEY **keyp)
{
	char e[512];

	*keyp = NULL;
	if (key_source != NULL)
		return key_source(keyp);
	/* EVP_RSA_gen uses the public exponent 65537. */
	if ((*keyp = EVP_RSA_gen(LD_RSA_BITS)) == NULL) {
		ib_err_detail_set("RSA key generation: %s", ld_tls_errstr(e, sizeof(e)));
		return IB_ERR_CERT;
	}
	return IB_OK;
}

/* --- identity ----------------------------------------------------------- */

int
ib_tls_identity_new(const uint8_t *cert_pem, size_t cert_len,
    const uint8_t *key_pem, size_t key_len, struct ib_tls_identity **idp)
{
	struct ib_tls_identity *id;
	int r;

	*idp = NULL;
	if ((id = calloc(1, sizeof(*id))) == NULL)
		return IB_ERR_NOMEM;
	if ((r = ld_pem_cert(cert_pem, cert_len, &id->cert)) != IB_OK)
		goto out;
	if (key_pem != NULL) {
		if ((r = ld_pem_private_key(key_pem, key_len, &id->key)) != IB_OK)
			goto out;
		if (X509_check_private_key(id->cert, id->key) != 1) {
			cert_error("the private key does not belong to the certificate");
			r = IB_ERR_CERT;
			goto out;
		}
	}
	*idp = id;
	id = NULL;
	r = IB_OK;
out:
	ib_tls_identity_free(id);
	return r;
}

void
ib_tls_identity_free(struct ib_tls_identity *id)
{
	if (id == NULL)
		return;
	X509_free(id->cert);
	EVP_PKEY_free(id->key);     /* clears the private bignums */
	free(id);
}

/* --- policy ------------------------------------------------------------- */

static int
openssl_version(enum ib_tls_version v)
{
	switch (v) {
	case IB_TLS_SSL3: return SSL3_VERSION;
	case IB_TLS_1_0: return TLS1_VERSION;
	case IB_TLS_1_1: return TLS1_1_VERSION;
	case IB_TLS_1_2: return TLS1_2_VERSION;
	case IB_TLS_1_3: return TLS1_3_VERSION;
	default: return 0;
	}
}

enum ib_tls_version
ld_tls_version_of(int v)
{
	switch (v) {
	case SSL3_VERSION: return IB_TLS_SSL3;
	case TLS1_VERSION: return IB_TLS_1_0;
	case TLS1_1_VERSION: return IB_TLS_1_1;
	case TLS1_2_VERSION: return IB_TLS_1_2;
	case TLS1_3_VERSION: return IB_TLS_1_3;
	default: return IB_TLS_ANY;
	}
}

/* The range of ib_conn.h's table; 0 = OpenSSL's newest. */
static void
policy_range(enum ib_conn_role role, const struct ib_tls_params *tp,
    int *minp, int *maxp)
{
	unsigned v = tp->ios_major;

	*minp = TLS1_VERSION;
	*maxp = 0;
	if (v == 0) {
		/* unknown: widest range */
	} else if (v < 5) {
		/* "TLS v1.2 is supported since iOS 5" (PMD3); iOS 3 needed
		 * SSLv3, which Debian's OpenSSL no longer has. */
		*minp = SSL3_VERSION;
		*maxp = TLS1_VERSION;
	} else if (v < 10) {
		*maxp = role == IB_CONN_ROLE_HOST ? TLS1_2_VERSION : TLS1_VERSION;
	} else if (role == IB_CONN_ROLE_DEVICE) {
		*minp = TLS1_2_VERSION;
	}
	if (tp->min_version != IB_TLS_ANY)
		*minp = openssl_version(tp->min_version);
	if (tp->max_version != IB_TLS_ANY)
		*maxp = openssl_version(tp->max_version);
}

/*
 * Device role: accept a client certificate that is the pairing's root
 * certificate or is signed by its key (the host presents the host
 * certificate; libimobiledevice's OpenSSL path presents the root one).
 * Replaces OpenSSL's chain building, which would reject our empty-name,
 * self-issued certificates.
 */
static int
verify_client(X509_STORE_CTX *sc, void *arg)
{
	const struct ib_tls_identity *trust = arg;
	X509 *peer = X509_STORE_CTX_get0_cert(sc);
	EVP_PKEY *root_pub;

	if (peer == NULL)
		return 0;
	if (X509_cmp(peer, trust->cert) == 0)
		return 1;
	root_pub = X509_get0_pubkey(trust->cert);
	if (root_pub != NULL && X509_verify(peer, root_pub) == 1)
		return 1;
	ERR_clear_error();
	X509_STORE_CTX_set_error(sc, X509_V_ERR_CERT_SIGNATURE_FAILURE);
	return 0;
}

static int
configure(SSL_CTX *ctx, enum ib_conn_role role, const struct ib_tls_params *tp)
{
	int minv, maxv;

	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_options(ctx, SSL_OP_LEGACY_SERVER_CONNECT |
	    SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* read_ahead must stay off: TLS may stop on this fd and plaintext
	 * follow, so OpenSSL must not read past the record it needs. */
	SSL_CTX_set_read_ahead(ctx, 0);
	policy_range(role, tp, &minv, &maxv);
	if (SSL_CTX_set_min_proto_version(ctx, minv) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, maxv) != 1)
		return 0;
	if (SSL_CTX_set_cipher_list(ctx, LD_TLS_CIPHERS) != 1)
		return 0;
	if (SSL_CTX_use_certificate(ctx, tp->self->cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, tp->self->key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		return 0;
	if (role == IB_CONN_ROLE_HOST) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	} else {
		SSL_CTX_set_num_tickets(ctx, 0);
		if (tp->trust != NULL) {
			SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
			    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
			SSL_CTX_set_cert_verify_callback(ctx, verify_client,
			    (void *)tp->trust);
		} else {
			SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		}
	}
	return 1;
}

int
ld_tls_ctx_new(enum ib_conn_role role, const struct ib_tls_params *tp, SSL_CTX **ctxp)
{
	SSL_CTX *ctx;
	char e[512];

	*ctxp = NULL;
	if (tp == NULL || tp->self == NULL || tp->self->cert == NULL ||
	    tp->self->key == NULL)
		return IB_ERR_INVALID_ARG;
	ERR_clear_error();
	ctx = SSL_CTX_new(role == IB_CONN_ROLE_HOST ? TLS_client_method() :
	    TLS_server_method());
	if (ctx == NULL || !configure(ctx, role, tp)) {
		ib_err_detail_set("TLS setup: %s", ld_tls_errstr(e, sizeof(e)));
		SSL_CTX_free(ctx);
		return IB_ERR_TLS_SETUP;
	}
	*ctxp = ctx;
	return IB_OK;
}

/* --- socket BIO ------------------------------------------------------- */

/*
 * OpenSSL's socket BIO writes with write(2), which raises SIGPIPE when
 * the device has gone; a library must not change the process's signal
 * disposition, so this BIO uses send(MSG_NOSIGNAL). It also reads no
 * more than asked, like the stock one.
 */
struct fdbio {
	int fd;
	int eof;
};

static int
fdbio_write(BIO *b, const char *p, int n)
{
	struct fdbio *f = BIO_get_data(b);
	ssize_t k;

	BIO_clear_retry_flags(b);
	k = send(f->fd, p, (size_t)n, MSG_NOSIGNAL);
	if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_write(b);
	return (int)k;
}

static int
fdbio_read(BIO *b, char *p, int n)
{
	struct fdbio *f = BIO_get_data(b);
	ssize_t k;

	BIO_clear_retry_flags(b);
	k = recv(f->fd, p, (size_t)n, 0);
	if (k == 0)
		f->eof = 1;
	else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_read(b);
	return (int)k;
}

static int
fdbio_puts(BIO *b, const char *s)
{
	return fdbio_write(b, s, (int)strlen(s));
}

static long
fdbio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct fdbio *f = BIO_get_data(b);

	(void)num;
	switch (cmd) {
	case BIO_CTRL_EOF:
		return f != NULL && f->eof;
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_C_GET_FD:
		if (f == NULL)
			return -1;
		if (ptr != NULL)
			*(int *)ptr = f->fd;
		return f->fd;
	default:
		return 0;
	}
}

static int
fdbio_create(BIO *b)
{
	struct fdbio *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return 0;
	f->fd = -1;
	BIO_set_data(b, f);
	BIO_set_init(b, 1);
	return 1;
}

static int
fdbio_destroy(BIO *b)
{
	free(BIO_get_data(b));
	BIO_set_data(b, NULL);
	return 1;
}

static BIO_METHOD *fdbio_method;
static pthread_once_t fdbio_once = PTHREAD_ONCE_INIT;

static void
fdbio_init_method(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
	    "ibackup socket");

	if (m == NULL)
		return;
	BIO_meth_set_write(m, fdbio_write);
	BIO_meth_set_read(m, fdbio_read);
	BIO_meth_set_puts(m, fdbio_puts);
	BIO_meth_set_ctrl(m, fdbio_ctrl);
	BIO_meth_set_create(m, fdbio_create);
	BIO_meth_set_destroy(m, fdbio_destroy);
	fdbio_method = m;   /* lives for the process, like OpenSSL's own */
}

int
ld_tls_ssl_new(SSL_CTX *ctx, enum ib_conn_role role, int fd, SSL **sslp)
{
	SSL *ssl = NULL;
	BIO *b = NULL;
	struct fdbio *f;
	char e[512];

	*sslp = NULL;
	pthread_once(&fdbio_once, fdbio_init_method);
	if (fdbio_method == NULL || (ssl = SSL_new(ctx)) == NULL ||
	    (b = BIO_new(fdbio_method)) == NULL) {
		ib_err_detail_set("TLS setup: %s", ld_tls_errstr(e, sizeof(e)));
		SSL_free(ssl);
		return IB_ERR_TLS_SETUP;
	}
	f = BIO_get_data(b);
	f->fd = fd;
	SSL_set_bio(ssl, b, b);     /* ssl owns b (one reference for both) */
	if (role == IB_CONN_ROLE_HOST)
		SSL_set_connect_state(ssl);
	else
		SSL_set_accept_state(ssl);
	*sslp = ssl;
	return IB_OK;
}
