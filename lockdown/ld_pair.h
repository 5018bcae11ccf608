/*
 * ld_pair.h - pair records: the certificates and keys that make a host
 * trusted by a device (lockdown.md sections 3 and 4).
 *
 * Generation: RSA 2048 (e = 65537) root and host keys; three X.509 v3
 * certificates, serial 0, empty subject and issuer, valid now -> +10
 * years, SHA-256 (SHA-1 when the device runs iOS < 4):
 *   root    basicConstraints critical CA:TRUE, self-signed;
 *   host    basicConstraints critical CA:FALSE, keyUsage critical
 *           digitalSignature+keyEncipherment, signed by root;
 *   device  the device's own public key (GetValue DevicePublicKey),
 *           basicConstraints critical CA:FALSE, subjectKeyIdentifier
 *           hash, keyUsage critical as host, signed by root.
 * HostID is a CSPRNG UUID in uppercase.
 *
 * Storage format: the usbmuxd/libimobiledevice record, a plist dict with
 * PEM text inside <data> for DeviceCertificate, HostCertificate,
 * HostPrivateKey, RootCertificate, RootPrivateKey, strings HostID,
 * SystemBUID, WiFiMACAddress, UDID (optional), data EscrowBag. Private
 * keys are written PKCS#8; readers accept PKCS#8 and PKCS#1 keys and
 * SHA-1 signed certificates. A record is at most IB_MUXD_MSG_MAX bytes
 * (records travel in usbmuxd messages).
 *
 * Secrets (private keys, escrow bag) are wiped when the record is freed;
 * plists and buffers holding them are handed out with a matching wipe
 * function.
 */
#ifndef IB_LD_PAIR_H
#define IB_LD_PAIR_H

#include <stddef.h>
#include <stdint.h>

#include <plist/plist.h>

#include "ib_conn.h"

struct ib_pair_record;

/*
 * A fresh record for the device whose DevicePublicKey (PEM bytes as the
 * device sends them, PKCS#1 or SubjectPublicKeyInfo) is given.
 * ios_major selects the signature hash (SHA-1 below 4; 0 = unknown =
 * SHA-256). system_buid is this host's SystemBUID. IB_ERR_CERT when the
 * device key is not an RSA public key.
 */
int ib_pair_record_generate(const uint8_t *device_pubkey_pem, size_t len,
    unsigned ios_major, const char *system_buid, struct ib_pair_record **recp);

/*
 * Load a stored record (binary or XML plist). Checks every certificate
 * and key parses and that each private key belongs to its certificate.
 * IB_ERR_PAIR_RECORD_INVALID (detail says which entry) otherwise.
 */
int ib_pair_record_parse(const uint8_t *data, size_t len, struct ib_pair_record **recp);
/* The whole record as an XML plist for storage; wipe with
 * ib_pair_record_bytes_free. */
int ib_pair_record_serialize(const struct ib_pair_record *rec, uint8_t **outp,
    size_t *lenp);
void ib_pair_record_bytes_free(uint8_t *p, size_t len);

/*
 * The PairRecord dict sent in Pair, ValidatePair and Unpair:
 * DeviceCertificate, HostCertificate, RootCertificate, HostID,
 * SystemBUID, plus WiFiMACAddress when known. Never a private key or
 * the escrow bag. Caller frees (plist_free).
 */
plist_t ib_pair_record_request_plist(const struct ib_pair_record *rec);
/* Every field, secrets included (what serialize writes); free with
 * ib_pair_record_plist_free. */
plist_t ib_pair_record_to_plist(const struct ib_pair_record *rec);
/* Overwrite the secret values inside p (ib_plist_key_is_secret), then
 * plist_free it. NULL is a no-op. */
void ib_pair_record_plist_free(plist_t p);
/* The wipe alone (top-level secret keys of a dict), plist kept. */
void ib_pair_record_plist_wipe(plist_t p);

void ib_pair_record_free(struct ib_pair_record *rec);

const char *ib_pair_record_host_id(const struct ib_pair_record *rec);
/* NULL when the stored record has none. */
const char *ib_pair_record_system_buid(const struct ib_pair_record *rec);
const char *ib_pair_record_wifi_mac(const struct ib_pair_record *rec);
/* IB_ERR_NOT_FOUND when the record has no escrow bag (Apple Watch). */
int ib_pair_record_escrow_bag(const struct ib_pair_record *rec,
    const uint8_t **pp, size_t *lenp);

int ib_pair_record_set_escrow_bag(struct ib_pair_record *rec, const uint8_t *p,
    size_t len);
int ib_pair_record_set_wifi_mac(struct ib_pair_record *rec, const char *mac);
int ib_pair_record_set_udid(struct ib_pair_record *rec, const char *udid);
int ib_pair_record_set_system_buid(struct ib_pair_record *rec, const char *buid);

enum ib_pair_cert {
	IB_PAIR_CERT_HOST = 0,  /* HostCertificate + HostPrivateKey */
	IB_PAIR_CERT_ROOT = 1,  /* RootCertificate + RootPrivateKey */
};
/*
 * The TLS client identity. The host presents the host certificate, as
 * libimobiledevice with GnuTLS, pymobiledevice3, go-ios and idevice do;
 * libimobiledevice's OpenSSL path presents the root certificate. Devices
 * accept both. IB_ERR_PAIR_RECORD_INVALID when the record lacks the key.
 */
int ib_pair_record_tls_identity(const struct ib_pair_record *rec,
    enum ib_pair_cert which, struct ib_tls_identity **idp);

#endif /* IB_LD_PAIR_H */
