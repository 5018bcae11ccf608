/*
 * mb2_keybag_make.c - the device side of the backup keybag: a new keybag
 * for a password (what iOS's MKBKeyBagCreateBackup gives BackupAgent2),
 * its TLV serialisation, ChangePassword (re-wrapping the same class
 * keys), and wrapping file and Manifest.db keys into 44-byte blobs.
 */
#include "mb2_keybag_int.h"

#include "ib_buf.h"
#include "ib_err.h"
#include "ib_util.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

static int
put_fields(struct ib_buf *b, const struct kb_field *tab, size_t n,
    const void *base, unsigned seen)
{
	const uint8_t *src;
	uint32_t u;
	size_t i, len;
	int r = IB_OK;

	for (i = 0; i < n && r == IB_OK; i++) {
		if (!(seen & tab[i].flag))
			continue;
		src = (const uint8_t *)base + tab[i].off;
		len = tab[i].len;
		if (tab[i].kind == FK_VAR)
			memcpy(&len, (const uint8_t *)base + tab[i].len_off,
			    sizeof(len));
		if ((r = ib_buf_put_u32be(b, tab[i].tag)) != IB_OK)
			break;
		if (tab[i].kind == FK_U32) {
			memcpy(&u, src, sizeof(u));
			if ((r = ib_buf_put_u32be(b, 4)) == IB_OK)
				r = ib_buf_put_u32be(b, u);
		} else if ((r = ib_buf_put_u32be(b, (uint32_t)len)) == IB_OK) {
			r = ib_buf_put(b, src, len);
		}
	}
	return r;
}

int
ib_mb2_keybag_serialize(const struct ib_mb2_keybag *kb, uint8_t **outp,
    size_t *lenp)
{
	struct ib_buf *b = NULL;
	uint8_t *out = NULL;
	size_t i, len;
	int r;

	if (outp != NULL)
		*outp = NULL;
	if (lenp != NULL)
		*lenp = 0;
	if (kb == NULL || outp == NULL || lenp == NULL)
		return IB_ERR_INVALID_ARG;
	if ((b = ib_buf_new(IB_KEYBAG_MAX)) == NULL)
		return IB_ERR_NOMEM;
	r = put_fields(b, mb2_kb_header_fields, mb2_kb_header_nfields, &kb->hdr,
	    kb->hdr.seen);
	for (i = 0; i < kb->nclasses && r == IB_OK; i++)
		r = put_fields(b, mb2_kb_class_fields, mb2_kb_class_nfields,
		    &kb->classes[i], kb->classes[i].seen);
	if (r != IB_OK)
		goto out;
	len = ib_buf_len(b);
	if ((out = malloc(len > 0 ? len : 1)) == NULL) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	memcpy(out, ib_buf_ptr(b), len);
	*outp = out;
	*lenp = len;
out:
	ib_buf_free(b);
	return r;
}

static int
random_bytes(void *p, size_t n)
{
	if (RAND_bytes(p, (int)n) != 1) {
		ib_err_detail_set("RAND_bytes failed");
		return IB_ERR_CRYPTO;
	}
	return IB_OK;
}

/*
 * Wrap every unlocked class key with a new password under fresh SALT (and
 * DPSL): the core of create and change_password. All-or-nothing.
 */
static int
rewrap(struct ib_mb2_keybag *kb, const void *pw, size_t pw_len)
{
	struct kb_header h = kb->hdr;
	uint8_t pwkey[IB_MB2_KEY_LEN];
	uint8_t wpky[IB_KEYBAG_CLASSES_MAX][IB_MB2_WRAPPED_LEN];
	size_t i;
	int r;

	if ((r = random_bytes(h.salt, sizeof(h.salt))) != IB_OK ||
	    ((h.seen & F_DPSL) &&
	    (r = random_bytes(h.dpsl, sizeof(h.dpsl))) != IB_OK) ||
	    (r = mb2_kb_derive(&h, pw, pw_len, pwkey)) != IB_OK)
		goto out;
	for (i = 0; i < kb->nclasses; i++)
		if (kb->classes[i].unlocked &&
		    (r = ib_mb2_aes_wrap(pwkey, kb->classes[i].key, wpky[i])) != IB_OK)
			goto out;
	for (i = 0; i < kb->nclasses; i++) {
		if (!kb->classes[i].unlocked)
			continue;
		memcpy(kb->classes[i].wpky, wpky[i], IB_MB2_WRAPPED_LEN);
		kb->classes[i].wpky_len = IB_MB2_WRAPPED_LEN;
	}
	kb->hdr = h;
out:
	OPENSSL_cleanse(pwkey, sizeof(pwkey));
	OPENSSL_cleanse(&h, sizeof(h));
	return r;
}

int
ib_mb2_keybag_change_password(struct ib_mb2_keybag *kb,
    const void *new_password, size_t new_password_len)
{
	size_t i;

	if (kb == NULL || (new_password == NULL && new_password_len > 0))
		return IB_ERR_INVALID_ARG;
	if (!kb->unlocked)
		return IB_ERR_STATE;
	for (i = 0; i < kb->nclasses; i++)
		if ((kb->classes[i].wrap & KB_WRAP_PASSWORD) &&
		    !kb->classes[i].unlocked) {
			ib_err_detail_set("class %lu is password-wrapped but cannot "
			    "be re-wrapped (KTYP %lu)",
			    (unsigned long)kb->classes[i].clas,
			    (unsigned long)kb->classes[i].ktyp);
			return IB_ERR_UNSUPPORTED;
		}
	return rewrap(kb, new_password, new_password_len);
}

/* ThisDeviceOnly-style classes carry WRAP 3 in iOS keybags (fixture). */
static uint32_t
created_wrap(uint32_t clas)
{
	return clas == 5 || clas >= 9 ? 3u : KB_WRAP_PASSWORD;
}

int
ib_mb2_keybag_create(const void *password, size_t password_len,
    const struct ib_mb2_keybag_params *params, struct ib_mb2_keybag **kbp)
{
	static const uint32_t nclasses = 11;
	struct ib_mb2_keybag *kb = NULL;
	struct kb_header *h;
	uint32_t dpic = params != NULL ? params->dpic : IB_MB2_DPIC_IOS;
	size_t i;
	int r;

	if (kbp != NULL)
		*kbp = NULL;
	if (kbp == NULL || (password == NULL && password_len > 0))
		return IB_ERR_INVALID_ARG;
	if ((kb = calloc(1, sizeof(*kb))) == NULL)
		return IB_ERR_NOMEM;
	h = &kb->hdr;
	h->seen = F_VERS | F_TYPE | F_UUID | F_HMCK | F_WRAP | F_SALT | F_ITER;
	h->vers = dpic > 0 ? KB_VERS_DP : KB_VERS_LEGACY;
	h->type = KB_TYPE_BACKUP;
	h->wrap = 0;
	h->iter = params != NULL && params->iter > 0 ? params->iter :
	    IB_MB2_ITER_IOS;
	if (dpic > 0) {
		h->seen |= F_DPWT | F_DPIC | F_DPSL;
		h->dpwt = KB_DPWT;
		h->dpic = dpic;
	}
	/* HMCK: iOS's is a device-wrapped HMAC key no host reader uses; ours
	 * is opaque random bytes of the same size. */
	h->hmck_len = KB_HMCK_LEN;
	if ((r = random_bytes(h->uuid, sizeof(h->uuid))) != IB_OK ||
	    (r = random_bytes(h->hmck, h->hmck_len)) != IB_OK)
		goto out;
	/* Classes 11 down to 1, as in the fixture. Each entry repeats the
	 * keybag's UUID (unverified; readers use UUID only as a delimiter). */
	for (i = 0; i < nclasses; i++) {
		struct kb_class *k = &kb->classes[i];

		k->seen = C_UUID | C_CLAS | C_WRAP | C_KTYP | C_WPKY;
		memcpy(k->uuid, h->uuid, sizeof(k->uuid));
		k->clas = nclasses - (uint32_t)i;
		k->wrap = created_wrap(k->clas);
		k->ktyp = KB_KTYP_AES;
		if ((r = ib_mb2_random_key(k->key)) != IB_OK)
			goto out;
		k->unlocked = 1;
	}
	kb->nclasses = nclasses;
	kb->unlocked = 1;
	if ((r = rewrap(kb, password, password_len)) != IB_OK)
		goto out;
	*kbp = kb;
	kb = NULL;
out:
	ib_mb2_keybag_free(kb);
	return r;
}

int
ib_mb2_keybag_wrap_key(const struct ib_mb2_keybag *kb, uint32_t clas,
    const uint8_t key[IB_MB2_KEY_LEN], uint8_t blob[IB_MB2_KEY_BLOB_LEN])
{
	const struct kb_class *k;
	struct ib_buf b;
	uint8_t *p;
	int r;

	if (kb == NULL || key == NULL || blob == NULL)
		return IB_ERR_INVALID_ARG;
	if (!kb->unlocked)
		return IB_ERR_STATE;
	if ((k = mb2_kb_find_class(kb, clas)) == NULL || !k->unlocked) {
		ib_err_detail_set("no unlocked key for protection class %lu",
		    (unsigned long)clas);
		return IB_ERR_NOT_FOUND;
	}
	ib_buf_init(&b, IB_MB2_KEY_BLOB_LEN);
	if ((r = ib_buf_put_u32le(&b, clas)) == IB_OK &&
	    (r = ib_buf_reserve(&b, IB_MB2_WRAPPED_LEN, &p)) == IB_OK &&
	    (r = ib_mb2_aes_wrap(k->key, key, p)) == IB_OK)
		memcpy(blob, ib_buf_ptr(&b), IB_MB2_KEY_BLOB_LEN);
	ib_buf_free(&b);
	return r;
}

int
ib_mb2_keybag_new_key(const struct ib_mb2_keybag *kb, uint32_t clas,
    uint8_t key[IB_MB2_KEY_LEN], uint8_t blob[IB_MB2_KEY_BLOB_LEN])
{
	uint8_t k[IB_MB2_KEY_LEN];
	int r;

	if (key == NULL || blob == NULL)
		return IB_ERR_INVALID_ARG;
	if ((r = ib_mb2_random_key(k)) == IB_OK &&
	    (r = ib_mb2_keybag_wrap_key(kb, clas, k, blob)) == IB_OK)
		memcpy(key, k, sizeof(k));
	OPENSSL_cleanse(k, sizeof(k));
	return r;
}
