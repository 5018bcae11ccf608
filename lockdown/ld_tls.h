/*
 * ld_tls.h - OpenSSL plumbing private to the lockdown layer: PEM
 * loading, the TLS policy (lockdown.md section 5) and a socket BIO that
 * never raises SIGPIPE.
 */
#ifndef IB_LD_TLS_H
#define IB_LD_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "ib_conn.h"

struct ib_tls_identity {
	X509 *cert;
	EVP_PKEY *key;          /* NULL for a trust anchor */
};

/* PEM (no NUL needed) -> object. IB_ERR_CERT with the OpenSSL reason in
 * the detail when the bytes are not a certificate / key. Private keys
 * are accepted as PKCS#8 or PKCS#1, public keys as SubjectPublicKeyInfo
 * or PKCS#1 ("BEGIN RSA PUBLIC KEY", what devices send). */
int ld_pem_cert(const uint8_t *pem, size_t len, X509 **certp);
int ld_pem_private_key(const uint8_t *pem, size_t len, EVP_PKEY **keyp);
int ld_pem_public_key(const uint8_t *pem, size_t len, EVP_PKEY **keyp);

/* object -> PEM (malloc'd, no NUL counted in *lenp, one after it). */
int ld_pem_write_cert(X509 *cert, uint8_t **pemp, size_t *lenp);
/* PKCS#8 "BEGIN PRIVATE KEY"; the caller wipes the buffer before free. */
int ld_pem_write_private_key(EVP_PKEY *key, uint8_t **pemp, size_t *lenp);
/* PKCS#1 "BEGIN RSA PUBLIC KEY", the form DevicePublicKey takes. */
int ld_pem_write_rsa_public_key(EVP_PKEY *key, uint8_t **pemp, size_t *lenp);

/* A fresh RSA 2048 key (e = 65537) for pairing certificates and the
 * virtual device. IB_ERR_CERT on failure. */
int ld_rsa_key_new(EVP_PKEY **keyp);
/* Tests only: take keys from fn instead of generating them (NULL
 * restores generation). Key generation dominates test run time. */
void ld_rsa_key_source_set(int (*fn)(EVP_PKEY **keyp));

/* Up to n-1 characters of the OpenSSL error queue (emptied), or "". */
const char *ld_tls_errstr(char *buf, size_t n);

/* An SSL_CTX configured for role and parameters (policy in ib_conn.h). */
int ld_tls_ctx_new(enum ib_conn_role role, const struct ib_tls_params *tp,
    SSL_CTX **ctxp);
/* An SSL on fd (non-blocking socket, not owned) in the role's state. */
int ld_tls_ssl_new(SSL_CTX *ctx, enum ib_conn_role role, int fd, SSL **sslp);
/* ib_tls_version of an OpenSSL protocol number. */
enum ib_tls_version ld_tls_version_of(int openssl_version);

#endif /* IB_LD_TLS_H */
