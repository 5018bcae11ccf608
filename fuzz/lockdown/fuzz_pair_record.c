/*
 * fuzz_pair_record - loading a pair record from the store: plist
 * parsing, the typed fields, PEM certificates and keys (PKCS#8, PKCS#1),
 * the key/certificate match; then everything a loaded record is used
 * for (storage form, the PairRecord sent to the device, TLS identities).
 * Seeds (fuzz/corpus/pair_record): records this code writes, a record in
 * libimobiledevice's layout, and one with SHA-1 certificates and PKCS#1
 * keys (tests/lockdown/gen_seeds.c, tests/lockdown/fixtures/).
 */
#include "ib_err.h"
#include "ld_pair.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ib_pair_record *rec = NULL;
	struct ib_tls_identity *id = NULL;
	uint8_t *out = NULL;
	size_t n = 0;
	const uint8_t *bag;
	plist_t p;

	if (ib_pair_record_parse(data, size, &rec) != IB_OK)
		return 0;
	if (ib_pair_record_serialize(rec, &out, &n) == IB_OK) {
		struct ib_pair_record *again = NULL;

		/* what we write we must read back */
		if (ib_pair_record_parse(out, n, &again) != IB_OK)
			abort();
		ib_pair_record_free(again);
		ib_pair_record_bytes_free(out, n);
	}
	p = ib_pair_record_request_plist(rec);
	if (p != NULL && (plist_dict_get_item(p, "HostPrivateKey") != NULL ||
	    plist_dict_get_item(p, "RootPrivateKey") != NULL ||
	    plist_dict_get_item(p, "EscrowBag") != NULL))
		abort();
	plist_free(p);
	(void)ib_pair_record_escrow_bag(rec, &bag, &n);
	if (ib_pair_record_tls_identity(rec, IB_PAIR_CERT_HOST, &id) == IB_OK)
		ib_tls_identity_free(id);
	if (ib_pair_record_tls_identity(rec, IB_PAIR_CERT_ROOT, &id) == IB_OK)
		ib_tls_identity_free(id);
	ib_pair_record_free(rec);
	return 0;
}
