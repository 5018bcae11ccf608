/*
 * mb2_crypto.h - the cryptography of encrypted iOS backups, both sides:
 * the host reading (decrypting) a backup and the virtual device producing
 * one the way iOS does. Facts: mobilebackup2.md sections 5.3-5.4 and 6.
 *
 *   Manifest.plist BackupKeyBag ──parse──> keybag ──unlock(password)──>
 *   class keys ──unwrap ManifestKey──> Manifest.db key ──AES-CBC──> SQLite
 *             └─unwrap MBFile EncryptionKey──> file key ──AES-CBC──> payload
 *
 * Host side (extract / files / verify); Manifest.plist and the MBFile
 * are parsed by their own modules, this one takes their byte fields:
 *   ib_mb2_keybag_parse(BackupKeyBag bytes)  -> IB_ERR_KEYBAG if damaged
 *   ib_mb2_keybag_unlock(kb, password)       -> IB_ERR_WRONG_PASSWORD
 *   ib_mb2_keybag_unwrap_manifest_key(kb, ManifestKey bytes) -> db key
 *   ib_mb2_manifest_db_decrypt_fd(in, out, db key)
 *   ib_mb2_keybag_unwrap_file_key(kb, EncryptionKey NS.data, ProtectionClass)
 *   ib_mb2_decrypt_fd(in, out, file key, MBFile Size)  (or the streaming
 *   ib_mb2_cipher_* context when the bytes come from elsewhere)
 *
 * Device side (virtual device's backup agent):
 *   ib_mb2_keybag_create(password, params)   -> unlocked keybag, fresh keys
 *   ib_mb2_keybag_serialize(kb)              -> BackupKeyBag bytes
 *   ib_mb2_keybag_new_key(kb, class)         -> random key + 44-byte blob
 *     (ManifestKey with IB_MB2_MANIFEST_KEY_CLASS, EncryptionKey with the
 *     file's ProtectionClass)
 *   ib_mb2_encrypt_fd(in, out, key)          -> payload / Manifest.db
 *   ib_mb2_keybag_change_password(kb, new)   -> ChangePassword (after
 *     ib_mb2_keybag_unlock with the old one)
 *
 * Algorithms (all through OpenSSL 3 EVP):
 *   password key = PBKDF2-HMAC-SHA1(k1, SALT, ITER, 32) where
 *     k1 = PBKDF2-HMAC-SHA256(password, DPSL, DPIC, 32) when the keybag has
 *     DPSL and DPIC (iOS >= 10.2), else the raw password bytes;
 *   class key = RFC 3394 AES-256 key unwrap of WPKY (40 -> 32 bytes);
 *   ManifestKey / EncryptionKey = u32 LITTLE-endian class + 40-byte wrapped
 *     key, unwrapped with that class's key;
 *   data = AES-256-CBC, IV of 16 zero bytes, PKCS#7 padding.
 *
 * Secrets: passwords are borrowed and never copied; every derived key,
 * class key and EVP context is wiped (OPENSSL_cleanse / EVP_*_free) as
 * soon as it is not needed and when its owner is freed. Nothing here logs
 * a key, a password or a wrapped key, at any level.
 *
 * Errors (besides IB_ERR_NOMEM, IB_ERR_INVALID_ARG, IB_ERR_SYSTEM and the
 * other errno mappings of file I/O): IB_ERR_KEYBAG (malformed keybag, with
 * a detail naming the tag), IB_ERR_WRONG_PASSWORD, IB_ERR_DECRYPT (a key
 * blob or ciphertext that does not decrypt, bad padding, wrong size),
 * IB_ERR_CRYPTO (OpenSSL itself failed), IB_ERR_STATE (keybag locked).
 *
 * Objects are not thread-safe; distinct objects may be used from distinct
 * threads. A keybag is read-only after unlock, so several threads may
 * unwrap file keys from one unlocked keybag at once.
 */
#ifndef MB2_CRYPTO_H
#define MB2_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define IB_MB2_KEY_LEN 32u         /* AES-256 key: class, file, db keys */
#define IB_MB2_WRAPPED_LEN 40u     /* RFC 3394 wrap of a 32-byte key */
#define IB_MB2_KEY_BLOB_LEN 44u    /* u32 LE class + wrapped key */
#define IB_MB2_SALT_LEN 20u        /* SALT and DPSL */
#define IB_MB2_UUID_LEN 16u
#define IB_MB2_AES_BLOCK 16u

/* Iteration counts iOS writes: ITER (SHA-1 round) and DPIC (SHA-256
 * round, iOS >= 10.2) [PY-T]; DPIC costs a few seconds per unlock. */
#define IB_MB2_ITER_IOS 10000u
#define IB_MB2_DPIC_IOS 10000000u

/* Class whose key wraps the ManifestKey on the device side: Practical
 * Mobile Forensics says class 4 [PMF]; pyiosbackup's synthetic fixture
 * uses 2. Readers take the class from the blob, so both decrypt. */
#define IB_MB2_MANIFEST_KEY_CLASS 4u

/* "Do not check the plaintext size" for ib_mb2_cipher_new / decrypt_fd. */
#define IB_MB2_SIZE_ANY UINT64_MAX

/* Chunk of the fd helpers: bounded memory for any file size [J-U]. */
#define IB_MB2_FD_CHUNK (1024u * 1024u)

/* ---------------------------------------------------------------------
 * Primitives (exposed for tests and for callers that hold raw keys).
 */

/*
 * Password key of a keybag. dpsl NULL (or dpic 0) means a keybag without
 * DPSL/DPIC: only the SHA-1 round on the raw password. The password is
 * taken as bytes (iOS encodes it as UTF-8 and does not normalise it).
 * Does not check iteration caps (ib_mb2_keybag_unlock does).
 */
int ib_mb2_password_key(const void *password, size_t password_len,
    const uint8_t salt[IB_MB2_SALT_LEN], uint32_t iter,
    const uint8_t *dpsl, uint32_t dpic, uint8_t out[IB_MB2_KEY_LEN]);

/* RFC 3394 AES-256 key wrap / unwrap with the default IV A6A6A6A6A6A6A6A6.
 * Unwrap fails with IB_ERR_DECRYPT when the integrity check fails; out is
 * then zeroed. */
int ib_mb2_aes_wrap(const uint8_t kek[IB_MB2_KEY_LEN],
    const uint8_t key[IB_MB2_KEY_LEN], uint8_t out[IB_MB2_WRAPPED_LEN]);
int ib_mb2_aes_unwrap(const uint8_t kek[IB_MB2_KEY_LEN],
    const uint8_t wrapped[IB_MB2_WRAPPED_LEN], uint8_t out[IB_MB2_KEY_LEN]);

/* Fresh random key (OpenSSL's private DRBG). */
int ib_mb2_random_key(uint8_t out[IB_MB2_KEY_LEN]);

/* ---------------------------------------------------------------------
 * Keybag (Manifest.plist BackupKeyBag).
 */
struct ib_mb2_keybag;

/*
 * Caps on the work a keybag may ask of us. ITER and DPIC come from the
 * (untrusted) keybag: without a cap a hostile one could make unlock spin
 * for hours. NULL means ib_mb2_kdf_limits_default. Harnesses pass lower
 * caps so that fuzzing stays fast.
 */
struct ib_mb2_kdf_limits {
	uint32_t iter_max;      /* SHA-1 round (ITER) */
	uint32_t dpic_max;      /* SHA-256 round (DPIC) */
};
extern const struct ib_mb2_kdf_limits ib_mb2_kdf_limits_default;

/*
 * Parse a serialised keybag (TLV: 4-byte ASCII tag, u32 BE length, value).
 * Copies what it needs; data may be freed afterwards. The result is
 * locked. Unknown tags are skipped (their length is still checked).
 * Fails with IB_ERR_KEYBAG (detail names the tag) on truncation, oversize,
 * a duplicate or missing mandatory tag, a wrong fixed length, a keybag
 * that is not a backup keybag (TYPE & 0x3FFFFFFF != 1), more class keys
 * than IB_KEYBAG_CLASSES_MAX, or a class number seen twice.
 */
int ib_mb2_keybag_parse(const uint8_t *data, size_t len,
    struct ib_mb2_keybag **kbp);

/*
 * Derive the password key and unwrap every class key that is wrapped by
 * it (WRAP & 2, KTYP 0). Curve25519 classes (KTYP 1) are skipped: backup
 * tools never need them. Returns IB_ERR_WRONG_PASSWORD when an unwrap
 * fails its integrity check (never "success with garbage"),
 * IB_ERR_KEYBAG when ITER/DPIC exceed the limits or no class key is
 * password-wrapped. Unlocking again (e.g. to check an old password before
 * ChangePassword) re-derives; on failure the keybag keeps its previous
 * state. Blocks for the PBKDF2 rounds (seconds with iOS's DPIC).
 */
int ib_mb2_keybag_unlock(struct ib_mb2_keybag *kb, const void *password,
    size_t password_len, const struct ib_mb2_kdf_limits *limits);

int ib_mb2_keybag_is_unlocked(const struct ib_mb2_keybag *kb);

/* What `ibackup info`/`verify` may show; nothing secret. */
struct ib_mb2_keybag_info {
	uint32_t version;       /* VERS */
	uint32_t type;          /* TYPE & 0x3FFFFFFF (1) */
	uint32_t iter;          /* ITER */
	uint32_t dpic;          /* DPIC, 0 when absent */
	int has_dp;             /* DPSL/DPIC present (iOS >= 10.2 scheme) */
	size_t classes;         /* class-key entries */
	uint8_t uuid[IB_MB2_UUID_LEN];
};
void ib_mb2_keybag_get_info(const struct ib_mb2_keybag *kb,
    struct ib_mb2_keybag_info *infop);

/*
 * ManifestKey (Manifest.plist, data): u32 LE class + 40-byte wrapped key.
 * Needs an unlocked keybag (IB_ERR_STATE). IB_ERR_DECRYPT when the blob
 * has the wrong length, names a class without an unlocked key, or fails
 * the unwrap check. key is written only on success.
 */
int ib_mb2_keybag_unwrap_manifest_key(const struct ib_mb2_keybag *kb,
    const uint8_t *blob, size_t blob_len, uint8_t key[IB_MB2_KEY_LEN]);

/*
 * MBFile EncryptionKey NS.data (44 bytes) with the MBFile's
 * ProtectionClass. The blob repeats the class in its first 4 bytes. On
 * disagreement ProtectionClass wins (what iphone_backup_decrypt and
 * dinosec's backup10 use); if its key fails the RFC 3394 check, the
 * prefix's class is tried (what pyiosbackup uses). The integrity check
 * makes the fallback safe: a wrong key cannot pass it. Errors as above.
 */
int ib_mb2_keybag_unwrap_file_key(const struct ib_mb2_keybag *kb,
    const uint8_t *blob, size_t blob_len, uint32_t protection_class,
    uint8_t key[IB_MB2_KEY_LEN]);

/* Wipe and free; NULL is a no-op. */
void ib_mb2_keybag_free(struct ib_mb2_keybag *kb);

/* --- device side --- */

struct ib_mb2_keybag_params {
	uint32_t iter;          /* ITER; 0 = IB_MB2_ITER_IOS */
	/* DPIC; IB_MB2_DPIC_IOS is what iOS writes. Tests and the simulator
	 * use 1000-10000 to stay fast. 0 = legacy keybag without
	 * DPWT/DPIC/DPSL (iOS < 10.2 scheme). */
	uint32_t dpic;
};

/*
 * New backup keybag for password, unlocked: random UUID, SALT, DPSL and
 * class keys for protection classes 1-11 (ThisDeviceOnly-style classes 5,
 * 9, 10, 11 carry WRAP 3 as in iOS keybags, the others WRAP 2; all are
 * wrapped only by the password key since a simulator has no device UID
 * key, which no host reader uses anyway). params NULL = iOS values.
 */
int ib_mb2_keybag_create(const void *password, size_t password_len,
    const struct ib_mb2_keybag_params *params, struct ib_mb2_keybag **kbp);

/*
 * Serialise in iOS's tag order (VERS TYPE UUID HMCK WRAP SALT ITER
 * [DPWT DPIC DPSL], then per class UUID CLAS WRAP KTYP WPKY [PBKY]).
 * Unknown tags of a parsed keybag are not kept. *outp is malloc'd; free()
 * it (it holds only wrapped keys).
 */
int ib_mb2_keybag_serialize(const struct ib_mb2_keybag *kb, uint8_t **outp,
    size_t *lenp);

/*
 * ChangePassword: keep the class keys (existing backups stay readable
 * with their ManifestKey/EncryptionKeys), draw new SALT and DPSL and
 * re-wrap every class key with the new password's key. Needs an unlocked
 * keybag (IB_ERR_STATE): unlock with the old password first, which is how
 * the old password is checked. IB_ERR_UNSUPPORTED if a password-wrapped
 * class could not be unlocked (Curve25519). On failure nothing changes.
 */
int ib_mb2_keybag_change_password(struct ib_mb2_keybag *kb,
    const void *new_password, size_t new_password_len);

/*
 * Wrap a key with a class key: blob = u32 LE class + RFC 3394 wrap.
 * ib_mb2_keybag_new_key draws the key at random (a file's or the
 * Manifest.db's key). IB_ERR_STATE when locked, IB_ERR_NOT_FOUND when the
 * class has no unlocked key.
 */
int ib_mb2_keybag_wrap_key(const struct ib_mb2_keybag *kb, uint32_t clas,
    const uint8_t key[IB_MB2_KEY_LEN], uint8_t blob[IB_MB2_KEY_BLOB_LEN]);
int ib_mb2_keybag_new_key(const struct ib_mb2_keybag *kb, uint32_t clas,
    uint8_t key[IB_MB2_KEY_LEN], uint8_t blob[IB_MB2_KEY_BLOB_LEN]);

/* ---------------------------------------------------------------------
 * Streaming AES-256-CBC, zero IV, PKCS#7, bounded memory.
 */
enum ib_mb2_cipher_mode {
	/* Encrypt and pad (payloads and Manifest.db; see below). */
	IB_MB2_ENCRYPT = 1,
	/*
	 * Decrypt a payload: padding must be valid and the plaintext must be
	 * exactly expected_size bytes (the MBFile Size), else
	 * IB_ERR_DECRYPT. Ciphertext longer than the size allows fails
	 * early, in update. Real backups have been seen where Size and the
	 * payload disagree for a few SQLite files changed during the backup
	 * (iOSbackup PR #26: ~30 of 3,800 files): an extract that prefers a
	 * warning to a failure passes IB_MB2_SIZE_ANY (padding still
	 * checked) and compares ib_mb2_cipher_total_out() itself.
	 */
	IB_MB2_DECRYPT = 2,
	/*
	 * Decrypt Manifest.db. Whether iOS pads it is unverified
	 * (mobilebackup2.md section 10): readers never strip padding and
	 * pymobiledevice3 re-encrypts without any, while a re-encrypting
	 * tool was told iTunes rejects a Manifest.db whose padding is wrong
	 * (iTunes-Backup-Explorer PR #66). We strip the last block's
	 * padding only when it is valid PKCS#7 AND what remains is a
	 * multiple of 512 bytes (the smallest SQLite page): a padded
	 * database (a page multiple + one full padding block) loses exactly
	 * its padding, an unpadded one is never cut (no 1-16 byte cut of a
	 * page multiple is a page multiple). Either way the output is the
	 * SQLite file. The ciphertext must be a non-empty multiple of 16.
	 * The device side pads, like every other file.
	 */
	IB_MB2_DECRYPT_MANIFEST_DB = 3,
};

struct ib_mb2_cipher;

/* expected_size: see IB_MB2_DECRYPT; ignored by the other modes (pass
 * IB_MB2_SIZE_ANY). The key is copied into the EVP context only. */
int ib_mb2_cipher_new(enum ib_mb2_cipher_mode mode,
    const uint8_t key[IB_MB2_KEY_LEN], uint64_t expected_size,
    struct ib_mb2_cipher **cp);

/*
 * Feed any number of bytes in any split. out must have room for
 * in_len + IB_MB2_AES_BLOCK bytes; *out_lenp gets what was produced
 * (decryption holds back the last block until final). After an error the
 * context only accepts _free (IB_ERR_STATE).
 */
int ib_mb2_cipher_update(struct ib_mb2_cipher *c, const uint8_t *in,
    size_t in_len, uint8_t *out, size_t out_cap, size_t *out_lenp);

/*
 * End of input: out needs IB_MB2_AES_BLOCK bytes (encrypt: the padding
 * block; decrypt: the last block without its padding). Decryption checks
 * padding and size here. Plaintext already handed out by update is only
 * trustworthy once final returned IB_OK: write it to a temporary file and
 * discard it on error.
 */
int ib_mb2_cipher_final(struct ib_mb2_cipher *c, uint8_t *out,
    size_t out_cap, size_t *out_lenp);

/* Bytes produced so far (the plaintext size after a decrypt's final). */
uint64_t ib_mb2_cipher_total_out(const struct ib_mb2_cipher *c);

/* Wipe (EVP context, held-back block) and free; NULL is a no-op. */
void ib_mb2_cipher_free(struct ib_mb2_cipher *c);

/*
 * Whole-file helpers over file descriptors (read to EOF, write all),
 * IB_MB2_FD_CHUNK at a time, polling ib_interrupted(). On error out_fd
 * holds partial output the caller must discard. sizep (may be NULL) gets
 * the plaintext size on success.
 */
int ib_mb2_encrypt_fd(int in_fd, int out_fd, const uint8_t key[IB_MB2_KEY_LEN],
    uint64_t *sizep);
int ib_mb2_decrypt_fd(int in_fd, int out_fd, const uint8_t key[IB_MB2_KEY_LEN],
    uint64_t expected_size, uint64_t *sizep);
int ib_mb2_manifest_db_decrypt_fd(int in_fd, int out_fd,
    const uint8_t key[IB_MB2_KEY_LEN], uint64_t *sizep);

#endif /* MB2_CRYPTO_H */
