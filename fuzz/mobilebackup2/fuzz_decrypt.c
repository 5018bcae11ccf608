/*
 * fuzz_decrypt - ciphertext into the streaming decryptor with a fixed key,
 * a claimed size and a chunking taken from the input (layout in
 * fuzz_crypto.h). Whatever a payload decryption accepts must re-encrypt
 * to the very same ciphertext (CBC + PKCS#7 is a bijection), and its size
 * must be the claimed one.
 */
#include "fuzz_crypto.h"

#include "ib_err.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Run in through c in chunks; *outp malloc'd. */
static int
run(struct ib_mb2_cipher *c, const uint8_t *in, size_t n, size_t chunk,
    uint8_t **outp, size_t *lenp)
{
	size_t cap = n + 2 * IB_MB2_AES_BLOCK, pos = 0, done = 0, got;
	uint8_t *out = malloc(cap);
	int r = IB_OK;

	*outp = out;
	*lenp = 0;
	if (out == NULL)
		return IB_ERR_NOMEM;
	while (done < n && r == IB_OK) {
		size_t piece = n - done < chunk ? n - done : chunk;

		r = ib_mb2_cipher_update(c, in + done, piece, out + pos,
		    cap - pos, &got);
		done += piece;
		pos += r == IB_OK ? got : 0;
	}
	if (r == IB_OK && (r = ib_mb2_cipher_final(c, out + pos, cap - pos,
	    &got)) == IB_OK)
		pos += got;
	*lenp = pos;
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ib_mb2_cipher *c = NULL, *e = NULL;
	enum ib_mb2_cipher_mode mode = IB_MB2_DECRYPT;
	uint8_t *plain = NULL, *enc = NULL;
	size_t plen = 0, elen = 0, chunk;
	uint64_t claimed;
	int r;

	if (size < FUZZ_DECRYPT_HDR)
		return 0;
	claimed = (uint64_t)data[0] << 24 | (uint64_t)data[1] << 16 |
	    (uint64_t)data[2] << 8 | data[3];
	if ((data[4] & 3) == 2)
		claimed = IB_MB2_SIZE_ANY;
	if ((data[4] & 3) == 3)
		mode = IB_MB2_DECRYPT_MANIFEST_DB;
	chunk = (size_t)(data[4] >> 2) + 1;
	data += FUZZ_DECRYPT_HDR;
	size -= FUZZ_DECRYPT_HDR;
	if (ib_mb2_cipher_new(mode, fuzz_key, claimed, &c) != IB_OK)
		abort();
	r = run(c, data, size, chunk, &plain, &plen);
	if (r != IB_OK && r != IB_ERR_DECRYPT)
		abort();
	if (r == IB_OK && mode == IB_MB2_DECRYPT) {
		if (claimed != IB_MB2_SIZE_ANY && plen != claimed)
			abort();
		if (ib_mb2_cipher_new(IB_MB2_ENCRYPT, fuzz_key, IB_MB2_SIZE_ANY,
		    &e) != IB_OK ||
		    run(e, plain, plen, 4096, &enc, &elen) != IB_OK ||
		    elen != size || memcmp(enc, data, size) != 0)
			abort();
	}
	if (r == IB_OK && mode == IB_MB2_DECRYPT_MANIFEST_DB &&
	    (plen > size || size - plen > IB_MB2_AES_BLOCK))
		abort();
	free(plain);
	free(enc);
	ib_mb2_cipher_free(c);
	ib_mb2_cipher_free(e);
	return 0;
}
