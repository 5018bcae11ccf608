/*
 * gen_crypto_seeds - write the seed corpora of fuzz_keybag and
 * fuzz_decrypt from the device-side code (real-format keybags and
 * ciphertexts), into ROOT/keybag/ and ROOT/decrypt/:
 *
 *   build/fuzz/mobilebackup2/gen_crypto_seeds fuzz/corpus
 *
 * Keys and salts are random, so every run writes different bytes of the
 * same shapes; commit the result when a shape changes.
 */
#include "fuzz_crypto.h"

#include "ib_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

static const char *root;

static int
save(const char *dir, const char *name, const void *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", root, dir, name);
	if ((f = fopen(path, "wb")) == NULL ||
	    (n > 0 && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	return 0;
}

static void
keybag_seed(const char *name, const char *pw, uint32_t iter, uint32_t dpic)
{
	const struct ib_mb2_keybag_params p = { iter, dpic };
	struct ib_mb2_keybag *kb = NULL;
	uint8_t *s = NULL;
	size_t n;

	if (ib_mb2_keybag_create(pw, strlen(pw), &p, &kb) != IB_OK ||
	    ib_mb2_keybag_serialize(kb, &s, &n) != IB_OK)
		exit(1);
	save("keybag", name, s, n);
	free(s);
	ib_mb2_keybag_free(kb);
}

static size_t
tlv(uint8_t *d, size_t off, const char *tag, const void *v, uint32_t n)
{
	memcpy(d + off, tag, 4);
	d[off + 4] = (uint8_t)(n >> 24);
	d[off + 5] = (uint8_t)(n >> 16);
	d[off + 6] = (uint8_t)(n >> 8);
	d[off + 7] = (uint8_t)n;
	memcpy(d + off + 8, v, n);
	return off + 8 + n;
}

static size_t
tlv32(uint8_t *d, size_t off, const char *tag, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v };

	return tlv(d, off, tag, b, 4);
}

/* A legacy keybag with a Curve25519 class (PBKY), an unknown tag and one
 * AES class that FUZZ_PASSWORD unlocks. */
static void
keybag_mixed_seed(void)
{
	uint8_t d[1024], z[40] = { 0 }, salt[20], pwkey[32], ck[32], wpky[40];
	size_t o = 0;

	memset(salt, 0x5a, sizeof(salt));
	memset(ck, 0x33, sizeof(ck));
	if (ib_mb2_password_key(FUZZ_PASSWORD, strlen(FUZZ_PASSWORD), salt, 50,
	    NULL, 0, pwkey) != IB_OK || ib_mb2_aes_wrap(pwkey, ck, wpky) != IB_OK)
		exit(1);
	o = tlv32(d, o, "VERS", 3);
	o = tlv32(d, o, "TYPE", 0x40000001u);
	o = tlv(d, o, "UUID", z, 16);
	o = tlv(d, o, "HMCK", z, 40);
	o = tlv32(d, o, "WRAP", 1);
	o = tlv(d, o, "SALT", salt, 20);
	o = tlv32(d, o, "ITER", 50);
	o = tlv(d, o, "ZZZZ", "unknown", 7);
	o = tlv(d, o, "UUID", z, 16);
	o = tlv32(d, o, "CLAS", 2);
	o = tlv32(d, o, "WRAP", 2);
	o = tlv32(d, o, "KTYP", 1);
	o = tlv(d, o, "WPKY", z, 40);
	o = tlv(d, o, "PBKY", z, 32);
	o = tlv(d, o, "UUID", z, 16);
	o = tlv32(d, o, "CLAS", 3);
	o = tlv32(d, o, "WRAP", 3);
	o = tlv32(d, o, "KTYP", 0);
	o = tlv(d, o, "WPKY", wpky, 40);
	save("keybag", "legacy_curve25519_unknown_tag", d, o);
}

static void
decrypt_seed(const char *name, uint32_t claimed, uint8_t flags,
    const uint8_t *plain, size_t n, int pad)
{
	static const uint8_t iv[16];
	uint8_t *buf = malloc(FUZZ_DECRYPT_HDR + n + 16);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0;

	if (buf == NULL || ctx == NULL ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, fuzz_key, iv) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, pad) != 1 ||
	    EVP_EncryptUpdate(ctx, buf + FUZZ_DECRYPT_HDR, &l1, plain, (int)n) != 1 ||
	    EVP_EncryptFinal_ex(ctx, buf + FUZZ_DECRYPT_HDR + l1, &l2) != 1)
		exit(1);
	buf[0] = (uint8_t)(claimed >> 24);
	buf[1] = (uint8_t)(claimed >> 16);
	buf[2] = (uint8_t)(claimed >> 8);
	buf[3] = (uint8_t)claimed;
	buf[4] = flags;
	save("decrypt", name, buf, FUZZ_DECRYPT_HDR + (size_t)(l1 + l2));
	EVP_CIPHER_CTX_free(ctx);
	free(buf);
}

int
main(int argc, char **argv)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 100, 4096 };
	uint8_t plain[4096];
	char name[64];
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_ROOT\n", argv[0]);
		return 2;
	}
	root = argv[1];
	keybag_seed("ios_format_unlocks", FUZZ_PASSWORD, 100, 100);
	keybag_seed("ios_format_other_password", "not the fuzz password", 100, 100);
	keybag_seed("legacy_unlocks", FUZZ_PASSWORD, 100, 0);
	/* iOS's own counts: over the harness caps, takes the refusal path. */
	keybag_seed("ios_real_iteration_counts", FUZZ_PASSWORD, IB_MB2_ITER_IOS,
	    IB_MB2_DPIC_IOS);
	keybag_mixed_seed();

	for (i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(i * 7 + 3);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(name, sizeof(name), "payload_%zu", sizes[i]);
		decrypt_seed(name, (uint32_t)sizes[i], (uint8_t)(i << 3), plain,
		    sizes[i], 1);
	}
	decrypt_seed("payload_size_mismatch", 99, 0x10, plain, 100, 1);
	decrypt_seed("payload_any_size", 0, 0x22, plain, 333, 1);
	decrypt_seed("manifest_db_padded", 0, 0xff, plain, 1024, 1);
	decrypt_seed("manifest_db_unpadded", 0, 0x03, plain, 1024, 0);
	decrypt_seed("payload_no_padding", 64, 0x04, plain, 64, 0);
	return 0;
}
