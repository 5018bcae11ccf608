/*
 * fuzz_keybag - BackupKeyBag bytes into the parser, then the properties
 * that must hold for anything it accepts:
 *   - serialise(parse(x)) parses again and serialises to the same bytes;
 *   - unlock with a fixed password under low iteration caps (a parameter
 *     of ib_mb2_keybag_unlock, so the harness stays fast) either fails
 *     cleanly or yields class keys that wrap and unwrap consistently and
 *     survive a password change.
 */
#include "fuzz_crypto.h"

#include "ib_err.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct ib_mb2_kdf_limits limits = { FUZZ_ITER_MAX, FUZZ_DPIC_MAX };

static void
check_round_trip(const struct ib_mb2_keybag *kb)
{
	struct ib_mb2_keybag *again = NULL;
	uint8_t *s1 = NULL, *s2 = NULL;
	size_t l1 = 0, l2 = 0;

	if (ib_mb2_keybag_serialize(kb, &s1, &l1) != IB_OK ||
	    ib_mb2_keybag_parse(s1, l1, &again) != IB_OK ||
	    ib_mb2_keybag_serialize(again, &s2, &l2) != IB_OK ||
	    l1 != l2 || memcmp(s1, s2, l1) != 0)
		abort();
	free(s1);
	free(s2);
	ib_mb2_keybag_free(again);
}

static void
check_unlocked(struct ib_mb2_keybag *kb, const uint8_t *data, size_t size)
{
	struct ib_mb2_keybag *again = NULL;
	uint8_t key[IB_MB2_KEY_LEN], got[IB_MB2_KEY_LEN], blob[IB_MB2_KEY_BLOB_LEN];
	uint8_t *s = NULL;
	size_t l = 0;
	uint32_t clas;

	/* Input bytes as a key blob: must not crash, whatever it says. */
	if (size >= IB_MB2_KEY_BLOB_LEN)
		(void)ib_mb2_keybag_unwrap_file_key(kb,
		    data + size - IB_MB2_KEY_BLOB_LEN, IB_MB2_KEY_BLOB_LEN,
		    data[0], got);
	for (clas = 0; clas < 16; clas++)
		if (ib_mb2_keybag_new_key(kb, clas, key, blob) == IB_OK)
			break;
	if (clas == 16)
		return;
	if (ib_mb2_keybag_unwrap_file_key(kb, blob, sizeof(blob), clas, got) !=
	    IB_OK || memcmp(got, key, sizeof(key)) != 0)
		abort();
	if (ib_mb2_keybag_change_password(kb, "new", 3) != IB_OK)
		return;         /* e.g. a Curve25519 class: refused cleanly */
	if (ib_mb2_keybag_serialize(kb, &s, &l) != IB_OK ||
	    ib_mb2_keybag_parse(s, l, &again) != IB_OK ||
	    ib_mb2_keybag_unlock(again, "new", 3, &limits) != IB_OK ||
	    ib_mb2_keybag_unwrap_manifest_key(again, blob, sizeof(blob), got) !=
	    IB_OK || memcmp(got, key, sizeof(key)) != 0)
		abort();
	free(s);
	ib_mb2_keybag_free(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ib_mb2_keybag *kb = NULL;
	int r;

	if (ib_mb2_keybag_parse(data, size, &kb) != IB_OK)
		return 0;
	check_round_trip(kb);
	r = ib_mb2_keybag_unlock(kb, FUZZ_PASSWORD, strlen(FUZZ_PASSWORD),
	    &limits);
	if (r == IB_OK)
		check_unlocked(kb, data, size);
	else if (r != IB_ERR_WRONG_PASSWORD && r != IB_ERR_KEYBAG)
		abort();
	ib_mb2_keybag_free(kb);
	return 0;
}
