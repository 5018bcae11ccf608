/*
 * fuzz_crypto.h - what the keybag/decrypt harnesses and their seed
 * generator agree on.
 */
#ifndef FUZZ_CRYPTO_H
#define FUZZ_CRYPTO_H

#include <stdint.h>

#include "mb2_crypto.h"

/* The password fuzz_keybag unlocks with; seeds made with it unlock. */
#define FUZZ_PASSWORD "fuzz password"
/* Caps of fuzz_keybag: iOS's real counts (10,000 / 10,000,000) would make
 * one input take seconds; seeds meant to unlock stay under these. */
#define FUZZ_ITER_MAX 2000u
#define FUZZ_DPIC_MAX 2000u

/*
 * fuzz_decrypt input: u32 BE claimed plaintext size, one flags byte, then
 * the ciphertext. flags & 3: 0/1 payload with the claimed size, 2 payload
 * of any size, 3 Manifest.db; flags >> 2: update chunk size - 1.
 */
#define FUZZ_DECRYPT_HDR 5u
static const uint8_t fuzz_key[IB_MB2_KEY_LEN] = {
	0xf0, 0x0d, 0xfa, 0xce, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 0x11, 0x22, 0x33, 0x44,
	0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc,
};

#endif /* FUZZ_CRYPTO_H */
