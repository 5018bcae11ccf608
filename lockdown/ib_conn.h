/*
 * ib_conn.h - one connection to a device port: lockdownd (62078) or a
 * service started through it. Used by the host (ibackup) and by the
 * virtual device alike, so both speak through the same framing (ld_msg.h)
 * and the same TLS policy.
 *
 * A connection wraps a connected SOCK_STREAM socket: the fd of an
 * ib_stream from ib_usbmux_connect(), one end of a socketpair in tests,
 * or the fd a virtual-device service handler receives. The fd is switched
 * to non-blocking mode; every operation waits with poll() up to the
 * connection's timeout and gives up early with IB_ERR_INTERRUPTED when
 * ib_interrupted() becomes true.
 *
 * Ending: when the peer closes, reads fail with IB_ERR_EOF, or, when an
 * ib_stream is attached, with the stream's end reason (IB_ERR_NO_DEVICE
 * "the device was unplugged", IB_ERR_MUX_RESET, ...).
 *
 * TLS (lockdown.md section 5): started in place on the same fd
 * (ib_conn_tls_start: right after the StartSession reply, or right after
 * connecting to a service that answered EnableServiceSSL=true) and
 * stopped back to plaintext (ib_conn_tls_stop: close_notify sent and the
 * peer's consumed, after the StopSession reply). While TLS is on, every
 * read and write below goes through it. The policy is fixed here:
 * security level 0, legacy renegotiation allowed, unexpected EOF
 * tolerated, peer verification off on the host, protocol range chosen by
 * the device's iOS version (see struct ib_tls_params), whatever the
 * system's openssl.cnf says.
 *
 * A connection is used by one thread at a time.
 */
#ifndef IB_CONN_H
#define IB_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <plist/plist.h>

struct ib_conn;
struct ib_stream;
struct ib_tls_identity;

enum ib_conn_role {
	IB_CONN_ROLE_HOST = 0,      /* TLS client */
	IB_CONN_ROLE_DEVICE = 1,    /* TLS server (virtual device) */
};

/* Default timeout of every operation: lockdownd answers at once, a
 * device that stays silent this long is gone. */
#define IB_CONN_TIMEOUT_DEFAULT_MS 30000

/*
 * Wrap a connected socket. With own_fd the connection closes fd on
 * ib_conn_free; otherwise the caller keeps ownership (a virtual-device
 * handler's fd, closed by the framework).
 */
int ib_conn_new_fd(int fd, enum ib_conn_role role, int own_fd, struct ib_conn **cp);
/* Host side over a usbmux stream; takes ownership of s (closed on free). */
int ib_conn_new_stream(struct ib_stream *s, struct ib_conn **cp);
/* Sends close_notify if TLS is on (best effort, no wait), closes what it
 * owns, wipes buffered bytes; NULL is a no-op. */
void ib_conn_free(struct ib_conn *c);

/* Timeout of each following operation in ms; negative waits forever. */
void ib_conn_set_timeout(struct ib_conn *c, int ms);
int ib_conn_timeout(const struct ib_conn *c);
int ib_conn_fd(const struct ib_conn *c);
enum ib_conn_role ib_conn_role(const struct ib_conn *c);

/* --- plist messages (4-byte big-endian length + plist) --------------- */

/* Send one message as XML (what lockdownd and its services expect). */
int ib_conn_send_plist(struct ib_conn *c, plist_t msg);
/* Send one message as a binary plist (DeviceLink). */
int ib_conn_send_plist_bin(struct ib_conn *c, plist_t msg);
/*
 * Receive one message (XML or binary, any plist type; callers check the
 * type). *msgp is the caller's (plist_free). A timeout leaves a partly
 * received message buffered, so the next call resumes it. Errors:
 * IB_ERR_TIMEOUT, IB_ERR_INTERRUPTED, IB_ERR_EOF or the stream's end
 * reason, IB_ERR_TOO_LARGE (length above IB_PLIST_MSG_MAX; the
 * connection is unusable after it), IB_ERR_PLIST_*, IB_ERR_TLS_IO,
 * IB_ERR_TLS_HANDSHAKE (the peer rejected our certificate: with TLS 1.3
 * the client learns it at its first read).
 */
int ib_conn_recv_plist(struct ib_conn *c, plist_t *msgp);

/* --- raw bytes (AFC, DeviceLink file data) ---------------------------- */

/* Write all n bytes. */
int ib_conn_write(struct ib_conn *c, const void *p, size_t n);
/* Read exactly n bytes. On any error the number of bytes already taken
 * from the stream is unspecified: treat the connection as broken. */
int ib_conn_read(struct ib_conn *c, void *p, size_t n);
/* Read between 1 and n bytes (whatever is available after waiting). */
int ib_conn_read_some(struct ib_conn *c, void *p, size_t n, size_t *gotp);
/* Wait until a read would not block (data, or EOF) for at most
 * timeout_ms (negative: the connection's timeout). IB_ERR_TIMEOUT if not. */
int ib_conn_wait_readable(struct ib_conn *c, int timeout_ms);

/* --- TLS ---------------------------------------------------------------- */

/*
 * A certificate and, optionally, its private key, parsed from PEM (the
 * pair-record form). The key is accepted as PKCS#8 or PKCS#1; a SHA-1
 * signed certificate is fine. The key is wiped on free.
 */
int ib_tls_identity_new(const uint8_t *cert_pem, size_t cert_len,
    const uint8_t *key_pem, size_t key_len, struct ib_tls_identity **idp);
void ib_tls_identity_free(struct ib_tls_identity *id);

enum ib_tls_version {
	IB_TLS_ANY = 0,     /* as the policy says */
	IB_TLS_SSL3 = 1,    /* only where this OpenSSL still has SSLv3 */
	IB_TLS_1_0 = 2,
	IB_TLS_1_1 = 3,
	IB_TLS_1_2 = 4,
	IB_TLS_1_3 = 5,
};

struct ib_tls_params {
	/* Our certificate and key (required in both roles). The host
	 * presents the pair record's HostCertificate/HostPrivateKey; the
	 * device its DeviceCertificate and device key. */
	const struct ib_tls_identity *self;
	/* Device role only: accept a client certificate only if it is this
	 * certificate or is signed by its key (the pairing's root), and
	 * fail the handshake otherwise. NULL accepts any client. */
	const struct ib_tls_identity *trust;
	/* The device's iOS version ("17.5" -> 17, 5); 0 = unknown. Selects
	 * the protocol range (lockdown.md section 5):
	 *   host:   < 5: SSLv3..TLS 1.0; 5..9: TLS 1.0..1.2; >= 10 or
	 *           unknown: TLS 1.0..newest;
	 *   device (the virtual iPhone): < 5: SSLv3..TLS 1.0; 5..9: TLS 1.0
	 *           only; >= 10: TLS 1.2..newest; unknown: TLS 1.0..newest. */
	unsigned ios_major, ios_minor;
	/* Override the policy's range (IB_TLS_ANY keeps it). */
	enum ib_tls_version min_version, max_version;
};

/*
 * Run the TLS handshake on the connection, in its role. Nothing may be
 * buffered (a partial plist message): IB_ERR_STATE. Errors:
 * IB_ERR_TLS_HANDSHAKE (with the OpenSSL reason in the error detail; its
 * sentence tells the user to run `ibackup pair`), IB_ERR_TLS_SETUP (our
 * side could not configure OpenSSL), IB_ERR_TIMEOUT, IB_ERR_INTERRUPTED,
 * or the stream's end reason when the device went away.
 */
int ib_conn_tls_start(struct ib_conn *c, const struct ib_tls_params *tp);
/*
 * Leave TLS: send close_notify, read until the peer's close_notify, and
 * continue in plaintext on the same fd. Application data from the peer
 * in between is an error (IB_ERR_TLS_IO).
 */
int ib_conn_tls_stop(struct ib_conn *c);
int ib_conn_tls_active(const struct ib_conn *c);
/* Negotiated protocol, IB_TLS_ANY when TLS is off. */
enum ib_tls_version ib_conn_tls_version(const struct ib_conn *c);
/* DER of the certificate the peer presented (malloc'd), IB_ERR_NOT_FOUND
 * when none. */
int ib_conn_tls_peer_cert(const struct ib_conn *c, uint8_t **derp, size_t *lenp);

#endif /* IB_CONN_H */
