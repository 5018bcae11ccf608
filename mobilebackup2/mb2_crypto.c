/*
 * mb2_crypto.c - primitives (PBKDF2, RFC 3394 key wrap) and the
 * streaming AES-256-CBC of encrypted backups; the keybag is in
 * mb2_keybag.c. Everything goes through OpenSSL 3 EVP.
 */
#include "mb2_crypto.h"

#include "ib_err.h"
#include "ib_log.h"
#include "ib_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

/* EVP takes int lengths: feed it at most this much per call. */
#define EVP_PIECE_MAX (1u << 30)
/* Smallest SQLite page: a Manifest.db is a whole number of them. */
#define SQLITE_PAGE_MIN 512u

/* OpenSSL failures carry no peer detail; keep the queue clean so a later
 * caller does not report our stale error. */
static int
crypto_fail(const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char msg[160];

	ERR_error_string_n(e, msg, sizeof(msg));
	ERR_clear_error();
	ib_err_detail_set("%s failed: %s", what, e != 0 ? msg : "no OpenSSL error");
	return IB_ERR_CRYPTO;
}

static int
pbkdf2(const char *digest, const void *pw, size_t pw_len, const uint8_t *salt,
    size_t salt_len, uint32_t iter, uint8_t *out, size_t out_len)
{
	static const uint8_t empty[1];
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[6];
	uint64_t iterations = iter;
	/* PKCS#5 mode: no SP 800-132 lower bounds (tests use 1 iteration,
	 * and an old keybag may have anything). */
	int pkcs5 = 1;
	int r = IB_ERR_CRYPTO;

	if ((kdf = EVP_KDF_fetch(NULL, "PBKDF2", NULL)) == NULL ||
	    (kctx = EVP_KDF_CTX_new(kdf)) == NULL) {
		r = crypto_fail("PBKDF2 setup");
		goto out;
	}
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
	    (void *)(pw_len > 0 ? pw : empty), pw_len);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)salt, salt_len);
	params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_ITER, &iterations);
	params[3] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)digest, 0);
	params[4] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_PKCS5, &pkcs5);
	params[5] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, out_len, params) != 1) {
		OPENSSL_cleanse(out, out_len);
		r = crypto_fail("PBKDF2");
		goto out;
	}
	r = IB_OK;
out:
	EVP_KDF_CTX_free(kctx);         /* clears its copy of the password */
	EVP_KDF_free(kdf);
	return r;
}

int
ib_mb2_password_key(const void *password, size_t password_len,
    const uint8_t salt[IB_MB2_SALT_LEN], uint32_t iter,
    const uint8_t *dpsl, uint32_t dpic, uint8_t out[IB_MB2_KEY_LEN])
{
	uint8_t k1[IB_MB2_KEY_LEN];
	int r;

	if ((password == NULL && password_len > 0) || salt == NULL ||
	    out == NULL || iter == 0)
		return IB_ERR_INVALID_ARG;
	if (dpsl == NULL || dpic == 0)
		return pbkdf2("SHA1", password, password_len, salt,
		    IB_MB2_SALT_LEN, iter, out, IB_MB2_KEY_LEN);
	if ((r = pbkdf2("SHA256", password, password_len, dpsl,
	    IB_MB2_SALT_LEN, dpic, k1, sizeof(k1))) == IB_OK)
		r = pbkdf2("SHA1", k1, sizeof(k1), salt, IB_MB2_SALT_LEN, iter,
		    out, IB_MB2_KEY_LEN);
	OPENSSL_cleanse(k1, sizeof(k1));
	return r;
}

/*
 * One RFC 3394 operation. The integrity check of an unwrap shows up as a
 * failing EVP_CipherUpdate, which we report as IB_ERR_DECRYPT: the caller
 * knows whether that means "wrong password" or "damaged blob".
 */
static int
aes_wrap_op(int enc, const uint8_t kek[IB_MB2_KEY_LEN], const uint8_t *in,
    size_t in_len, uint8_t *out, size_t out_len)
{
	EVP_CIPHER *cipher = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t tmp[IB_MB2_WRAPPED_LEN + 16];
	int n = 0, fin = 0, r;

	if ((cipher = EVP_CIPHER_fetch(NULL, "AES-256-WRAP", NULL)) == NULL ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL) {
		r = crypto_fail("AES-256-WRAP setup");
		goto out;
	}
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	/* NULL IV: RFC 3394's default A6A6A6A6A6A6A6A6. */
	if (EVP_CipherInit_ex2(ctx, cipher, kek, NULL, enc, NULL) != 1) {
		r = crypto_fail("AES-256-WRAP init");
		goto out;
	}
	if (EVP_CipherUpdate(ctx, tmp, &n, in, (int)in_len) != 1) {
		ERR_clear_error();
		r = IB_ERR_DECRYPT;
		goto out;
	}
	if ((size_t)n != out_len ||
	    EVP_CipherFinal_ex(ctx, tmp + n, &fin) != 1 || fin != 0) {
		r = crypto_fail("AES-256-WRAP");
		goto out;
	}
	memcpy(out, tmp, out_len);
	r = IB_OK;
out:
	if (r != IB_OK)
		OPENSSL_cleanse(out, out_len);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(cipher);
	return r;
}

int
ib_mb2_aes_wrap(const uint8_t kek[IB_MB2_KEY_LEN],
    const uint8_t key[IB_MB2_KEY_LEN], uint8_t out[IB_MB2_WRAPPED_LEN])
{
	if (kek == NULL || key == NULL || out == NULL)
		return IB_ERR_INVALID_ARG;
	return aes_wrap_op(1, kek, key, IB_MB2_KEY_LEN, out, IB_MB2_WRAPPED_LEN);
}

int
ib_mb2_aes_unwrap(const uint8_t kek[IB_MB2_KEY_LEN],
    const uint8_t wrapped[IB_MB2_WRAPPED_LEN], uint8_t out[IB_MB2_KEY_LEN])
{
	if (kek == NULL || wrapped == NULL || out == NULL)
		return IB_ERR_INVALID_ARG;
	return aes_wrap_op(0, kek, wrapped, IB_MB2_WRAPPED_LEN, out,
	    IB_MB2_KEY_LEN);
}

int
ib_mb2_random_key(uint8_t out[IB_MB2_KEY_LEN])
{
	if (out == NULL)
		return IB_ERR_INVALID_ARG;
	if (RAND_priv_bytes(out, IB_MB2_KEY_LEN) != 1)
		return crypto_fail("RAND_priv_bytes");
	return IB_OK;
}

/* ------------------------------------------------------------------ */

/*
 * Decryption withholds the last 16 ciphertext bytes from EVP (padding is
 * off in EVP) so that final can judge the padding itself: strictly for
 * payloads, tolerantly for Manifest.db (see the header).
 */
struct ib_mb2_cipher {
	EVP_CIPHER_CTX *ctx;
	enum ib_mb2_cipher_mode mode;
	int failed;             /* an error happened: only _free is allowed */
	int finished;           /* final returned */
	uint64_t expected;      /* plaintext size, or IB_MB2_SIZE_ANY */
	uint64_t in_max;        /* ciphertext bytes the size allows */
	uint64_t total_in;
	uint64_t total_out;
	uint8_t held[IB_MB2_AES_BLOCK]; /* last ciphertext bytes (decrypt) */
	size_t held_len;
};

int
ib_mb2_cipher_new(enum ib_mb2_cipher_mode mode,
    const uint8_t key[IB_MB2_KEY_LEN], uint64_t expected_size,
    struct ib_mb2_cipher **cp)
{
	static const uint8_t zero_iv[IB_MB2_AES_BLOCK];
	struct ib_mb2_cipher *c = NULL;
	EVP_CIPHER *cipher = NULL;
	int enc = mode == IB_MB2_ENCRYPT, r;

	if (cp != NULL)
		*cp = NULL;
	if (key == NULL || cp == NULL || (mode != IB_MB2_ENCRYPT &&
	    mode != IB_MB2_DECRYPT && mode != IB_MB2_DECRYPT_MANIFEST_DB))
		return IB_ERR_INVALID_ARG;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return IB_ERR_NOMEM;
	c->mode = mode;
	c->expected = mode == IB_MB2_DECRYPT ? expected_size : IB_MB2_SIZE_ANY;
	c->in_max = UINT64_MAX;
	/* PKCS#7 always adds 1..16 bytes: size rounded down to a block + 16. */
	if (c->expected <= UINT64_MAX - IB_MB2_AES_BLOCK)
		c->in_max = c->expected - c->expected % IB_MB2_AES_BLOCK +
		    IB_MB2_AES_BLOCK;
	if ((cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL)) == NULL ||
	    (c->ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex2(c->ctx, cipher, key, zero_iv, enc, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c->ctx, enc) != 1) {
		r = crypto_fail("AES-256-CBC setup");
		goto out;
	}
	*cp = c;
	c = NULL;
	r = IB_OK;
out:
	EVP_CIPHER_free(cipher);
	ib_mb2_cipher_free(c);
	return r;
}

void
ib_mb2_cipher_free(struct ib_mb2_cipher *c)
{
	if (c == NULL)
		return;
	EVP_CIPHER_CTX_free(c->ctx);    /* wipes the key schedule */
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

uint64_t
ib_mb2_cipher_total_out(const struct ib_mb2_cipher *c)
{
	return c != NULL ? c->total_out : 0;
}

/* EVP_CipherUpdate in int-sized pieces; out gets at most n + 15 bytes. */
static int
evp_feed(struct ib_mb2_cipher *c, const uint8_t *in, size_t n, uint8_t *out,
    size_t *producedp)
{
	size_t done = 0, total = 0;

	while (done < n) {
		size_t piece = IB_MIN(n - done, (size_t)EVP_PIECE_MAX);
		int outl = 0;

		if (EVP_CipherUpdate(c->ctx, out + total, &outl, in + done,
		    (int)piece) != 1)
			return crypto_fail("AES-256-CBC update");
		total += (size_t)outl;
		done += piece;
	}
	*producedp = total;
	return IB_OK;
}

static int
decrypt_update(struct ib_mb2_cipher *c, const uint8_t *in, size_t in_len,
    uint8_t *out, size_t *out_lenp)
{
	size_t give, g1, g2, p1 = 0, p2 = 0, keep;
	int r;

	if (in_len > c->in_max - c->total_in) {
		ib_err_detail_set("ciphertext is longer than %llu bytes, which "
		    "is all a %llu-byte file can have",
		    (unsigned long long)c->in_max,
		    (unsigned long long)c->expected);
		return IB_ERR_DECRYPT;
	}
	c->total_in += in_len;
	if (c->held_len + in_len <= IB_MB2_AES_BLOCK) {
		memcpy(c->held + c->held_len, in, in_len);
		c->held_len += in_len;
		*out_lenp = 0;
		return IB_OK;
	}
	/* Decrypt all but the last 16 bytes of (held + in). */
	give = c->held_len + in_len - IB_MB2_AES_BLOCK;
	g1 = IB_MIN(c->held_len, give);
	g2 = give - g1;
	if ((r = evp_feed(c, c->held, g1, out, &p1)) != IB_OK ||
	    (r = evp_feed(c, in, g2, out + p1, &p2)) != IB_OK)
		return r;
	keep = c->held_len - g1;
	memmove(c->held, c->held + g1, keep);
	memcpy(c->held + keep, in + g2, in_len - g2);
	c->held_len = IB_MB2_AES_BLOCK;
	*out_lenp = p1 + p2;
	return IB_OK;
}

int
ib_mb2_cipher_update(struct ib_mb2_cipher *c, const uint8_t *in,
    size_t in_len, uint8_t *out, size_t out_cap, size_t *out_lenp)
{
	size_t produced = 0;
	int r;

	if (out_lenp != NULL)
		*out_lenp = 0;
	if (c == NULL || out_lenp == NULL || (in == NULL && in_len > 0) ||
	    out == NULL || in_len > SIZE_MAX - IB_MB2_AES_BLOCK ||
	    out_cap < in_len + IB_MB2_AES_BLOCK)
		return IB_ERR_INVALID_ARG;
	if (c->failed || c->finished)
		return IB_ERR_STATE;
	if (c->mode == IB_MB2_ENCRYPT) {
		if (in_len > UINT64_MAX - c->total_in) {
			r = IB_ERR_OVERFLOW;
			goto out;
		}
		c->total_in += in_len;
		r = evp_feed(c, in, in_len, out, &produced);
	} else {
		r = decrypt_update(c, in, in_len, out, &produced);
	}
out:
	if (r != IB_OK) {
		c->failed = 1;
		return r;
	}
	c->total_out += produced;
	*out_lenp = produced;
	return IB_OK;
}

/* Valid PKCS#7 for a 16-byte block: 1..16 bytes all equal to their count. */
static size_t
pkcs7_pad_len(const uint8_t block[IB_MB2_AES_BLOCK])
{
	uint8_t n = block[IB_MB2_AES_BLOCK - 1];
	unsigned bad = 0;
	size_t i;

	if (n == 0 || n > IB_MB2_AES_BLOCK)
		return 0;
	for (i = IB_MB2_AES_BLOCK - n; i < IB_MB2_AES_BLOCK; i++)
		bad |= block[i] ^ n;
	return bad == 0 ? n : 0;
}

static int
decrypt_final(struct ib_mb2_cipher *c, uint8_t *out, size_t *out_lenp)
{
	uint8_t block[2 * IB_MB2_AES_BLOCK];
	size_t produced = 0, pad, keep;
	int fin = 0, r;

	if (c->total_in == 0 || c->total_in % IB_MB2_AES_BLOCK != 0) {
		ib_err_detail_set("ciphertext of %llu bytes is not a non-empty "
		    "multiple of 16", (unsigned long long)c->total_in);
		return IB_ERR_DECRYPT;
	}
	if ((r = evp_feed(c, c->held, c->held_len, block, &produced)) != IB_OK)
		goto out;
	if (produced != IB_MB2_AES_BLOCK ||
	    EVP_CipherFinal_ex(c->ctx, block + produced, &fin) != 1 || fin != 0) {
		r = crypto_fail("AES-256-CBC final");
		goto out;
	}
	pad = pkcs7_pad_len(block);
	if (c->mode == IB_MB2_DECRYPT_MANIFEST_DB) {
		keep = IB_MB2_AES_BLOCK;
		if (pad > 0 && (c->total_out + IB_MB2_AES_BLOCK - pad) %
		    SQLITE_PAGE_MIN == 0)
			keep = IB_MB2_AES_BLOCK - pad;
	} else if (pad == 0) {
		ib_err_detail_set("invalid PKCS#7 padding (wrong key or damaged file)");
		r = IB_ERR_DECRYPT;
		goto out;
	} else {
		keep = IB_MB2_AES_BLOCK - pad;
		if (c->expected != IB_MB2_SIZE_ANY &&
		    c->total_out + keep != c->expected) {
			ib_err_detail_set("decrypted %llu bytes, the file's Size "
			    "says %llu", (unsigned long long)(c->total_out + keep),
			    (unsigned long long)c->expected);
			r = IB_ERR_DECRYPT;
			goto out;
		}
	}
	memcpy(out, block, keep);
	c->total_out += keep;
	*out_lenp = keep;
	r = IB_OK;
out:
	OPENSSL_cleanse(block, sizeof(block));
	return r;
}

int
ib_mb2_cipher_final(struct ib_mb2_cipher *c, uint8_t *out, size_t out_cap,
    size_t *out_lenp)
{
	int fin = 0, r;
	size_t produced = 0;

	if (out_lenp != NULL)
		*out_lenp = 0;
	if (c == NULL || out == NULL || out_lenp == NULL ||
	    out_cap < IB_MB2_AES_BLOCK)
		return IB_ERR_INVALID_ARG;
	if (c->failed || c->finished)
		return IB_ERR_STATE;
	if (c->mode == IB_MB2_ENCRYPT) {
		r = IB_OK;
		if (EVP_CipherFinal_ex(c->ctx, out, &fin) != 1)
			r = crypto_fail("AES-256-CBC final");
		else
			c->total_out += (size_t)fin;
		produced = (size_t)fin;
	} else {
		r = decrypt_final(c, out, &produced);
	}
	if (r != IB_OK) {
		c->failed = 1;
		return r;
	}
	c->finished = 1;
	*out_lenp = produced;
	return IB_OK;
}

/* ------------------------------------------------------------------ */

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR && !ib_interrupted())
				continue;
			return ib_err_from_errno(errno, "write");
		}
		p += w;
		n -= (size_t)w;
	}
	return IB_OK;
}

static int
read_some(int fd, uint8_t *p, size_t cap, size_t *np)
{
	*np = 0;
	for (;;) {
		ssize_t n = read(fd, p, cap);

		if (n >= 0) {
			*np = (size_t)n;
			return IB_OK;
		}
		if (errno != EINTR || ib_interrupted())
			return ib_err_from_errno(errno, "read");
	}
}

/* Run a whole fd through c; both buffers are wiped (they hold plaintext). */
static int
pump(struct ib_mb2_cipher *c, int in_fd, int out_fd, uint64_t *sizep)
{
	const size_t out_cap = IB_MB2_FD_CHUNK + IB_MB2_AES_BLOCK;
	uint8_t *in = malloc(IB_MB2_FD_CHUNK), *out = malloc(out_cap);
	size_t n = 0, produced = 0;
	int r;

	if (in == NULL || out == NULL) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		if (ib_interrupted()) {
			r = IB_ERR_INTERRUPTED;
			goto out;
		}
		if ((r = read_some(in_fd, in, IB_MB2_FD_CHUNK, &n)) != IB_OK)
			goto out;
		if (n == 0)
			break;
		if ((r = ib_mb2_cipher_update(c, in, n, out, out_cap,
		    &produced)) != IB_OK ||
		    (r = write_all(out_fd, out, produced)) != IB_OK)
			goto out;
	}
	if ((r = ib_mb2_cipher_final(c, out, out_cap, &produced)) != IB_OK ||
	    (r = write_all(out_fd, out, produced)) != IB_OK)
		goto out;
	if (sizep != NULL)
		*sizep = c->mode == IB_MB2_ENCRYPT ? c->total_in : c->total_out;
out:
	if (in != NULL)
		OPENSSL_cleanse(in, IB_MB2_FD_CHUNK);
	if (out != NULL)
		OPENSSL_cleanse(out, out_cap);
	free(in);
	free(out);
	return r;
}

static int
run_fd(enum ib_mb2_cipher_mode mode, int in_fd, int out_fd,
    const uint8_t key[IB_MB2_KEY_LEN], uint64_t expected, uint64_t *sizep)
{
	struct ib_mb2_cipher *c = NULL;
	int r;

	if (in_fd < 0 || out_fd < 0)
		return IB_ERR_INVALID_ARG;
	if ((r = ib_mb2_cipher_new(mode, key, expected, &c)) == IB_OK)
		r = pump(c, in_fd, out_fd, sizep);
	ib_mb2_cipher_free(c);
	return r;
}

int
ib_mb2_encrypt_fd(int in_fd, int out_fd, const uint8_t key[IB_MB2_KEY_LEN],
    uint64_t *sizep)
{
	return run_fd(IB_MB2_ENCRYPT, in_fd, out_fd, key, IB_MB2_SIZE_ANY, sizep);
}

int
ib_mb2_decrypt_fd(int in_fd, int out_fd, const uint8_t key[IB_MB2_KEY_LEN],
    uint64_t expected_size, uint64_t *sizep)
{
	return run_fd(IB_MB2_DECRYPT, in_fd, out_fd, key, expected_size, sizep);
}

int
ib_mb2_manifest_db_decrypt_fd(int in_fd, int out_fd,
    const uint8_t key[IB_MB2_KEY_LEN], uint64_t *sizep)
{
	return run_fd(IB_MB2_DECRYPT_MANIFEST_DB, in_fd, out_fd, key,
	    IB_MB2_SIZE_ANY, sizep);
}
