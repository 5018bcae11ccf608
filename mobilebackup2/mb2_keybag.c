/*
 * mb2_keybag.c - the backup keybag (Manifest.plist BackupKeyBag): TLV
 * parsing, unlocking with the backup password, and unwrapping the key
 * blobs (ManifestKey, MBFile EncryptionKey). Format: mobilebackup2.md
 * section 6.2.
 *
 * The device side (serialise, create, change password, wrap) is in
 * mb2_keybag_make.c; the tables both use are described in
 * mb2_keybag_int.h.
 */
#include "mb2_keybag_int.h"

#include "ib_buf.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

const struct ib_mb2_kdf_limits ib_mb2_kdf_limits_default = {
	IB_KEYBAG_ITER_MAX, IB_KEYBAG_DPIC_MAX,
};

#define HF(t, f, k, l, m) { t, f, k, l, offsetof(struct kb_header, m), 0 }
#define CF(t, f, k, l, m) { t, f, k, l, offsetof(struct kb_class, m), 0 }

const struct kb_field mb2_kb_header_fields[] = {
	HF(TAG('V', 'E', 'R', 'S'), F_VERS, FK_U32, 4, vers),
	HF(TAG('T', 'Y', 'P', 'E'), F_TYPE, FK_U32, 4, type),
	HF(T_UUID, F_UUID, FK_FIXED, IB_MB2_UUID_LEN, uuid),
	{ TAG('H', 'M', 'C', 'K'), F_HMCK, FK_VAR, KB_BLOB_MAX,
	  offsetof(struct kb_header, hmck), offsetof(struct kb_header, hmck_len) },
	HF(TAG('W', 'R', 'A', 'P'), F_WRAP, FK_U32, 4, wrap),
	HF(TAG('S', 'A', 'L', 'T'), F_SALT, FK_FIXED, IB_MB2_SALT_LEN, salt),
	HF(TAG('I', 'T', 'E', 'R'), F_ITER, FK_U32, 4, iter),
	HF(TAG('D', 'P', 'W', 'T'), F_DPWT, FK_U32, 4, dpwt),
	HF(TAG('D', 'P', 'I', 'C'), F_DPIC, FK_U32, 4, dpic),
	HF(TAG('D', 'P', 'S', 'L'), F_DPSL, FK_FIXED, IB_MB2_SALT_LEN, dpsl),
};

const struct kb_field mb2_kb_class_fields[] = {
	CF(T_UUID, C_UUID, FK_FIXED, IB_MB2_UUID_LEN, uuid),
	CF(TAG('C', 'L', 'A', 'S'), C_CLAS, FK_U32, 4, clas),
	CF(TAG('W', 'R', 'A', 'P'), C_WRAP, FK_U32, 4, wrap),
	CF(TAG('K', 'T', 'Y', 'P'), C_KTYP, FK_U32, 4, ktyp),
	{ TAG('W', 'P', 'K', 'Y'), C_WPKY, FK_VAR, KB_BLOB_MAX,
	  offsetof(struct kb_class, wpky), offsetof(struct kb_class, wpky_len) },
	{ TAG('P', 'B', 'K', 'Y'), C_PBKY, FK_VAR, KB_BLOB_MAX,
	  offsetof(struct kb_class, pbky), offsetof(struct kb_class, pbky_len) },
};
const size_t mb2_kb_header_nfields = IB_ARRAY_LEN(mb2_kb_header_fields);
const size_t mb2_kb_class_nfields = IB_ARRAY_LEN(mb2_kb_class_fields);

/* Printable form of a tag for details and logs (peer bytes). */
static const char *
tag_name(uint32_t tag, char out[5])
{
	int i;

	for (i = 0; i < 4; i++) {
		char ch = (char)(tag >> (24 - 8 * i));

		out[i] = ch >= 0x20 && ch < 0x7f ? ch : '?';
	}
	out[4] = '\0';
	return out;
}

static const struct kb_field *
find_field(const struct kb_field *tab, size_t n, uint32_t tag)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (tab[i].tag == tag)
			return &tab[i];
	return NULL;
}

static int keybag_error(uint32_t tag, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
keybag_error(uint32_t tag, const char *fmt, ...)
{
	char name[5], msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ib_err_detail_set("keybag tag %s: %s", tag_name(tag, name), msg);
	return IB_ERR_KEYBAG;
}

/* Store one value of a known tag into its scope's struct. */
static int
store_field(const struct kb_field *f, void *base, unsigned *seenp,
    const uint8_t *v, size_t len)
{
	uint8_t *dst = (uint8_t *)base + f->off;
	struct ib_buf vb;
	uint32_t u;

	if (*seenp & f->flag)
		return keybag_error(f->tag, "appears twice");
	switch (f->kind) {
	case FK_U32:
		ib_buf_init_ro(&vb, v, len);
		if (ib_buf_get_u32be(&vb, &u) != IB_OK || ib_buf_get_end(&vb) != IB_OK)
			return keybag_error(f->tag, "%zu bytes, 4 expected", len);
		memcpy(dst, &u, sizeof(u));
		break;
	case FK_FIXED:
		if (len != f->len)
			return keybag_error(f->tag, "%zu bytes, %zu expected", len,
			    f->len);
		memcpy(dst, v, len);
		break;
	case FK_VAR:
		if (len > f->len)
			return keybag_error(f->tag, "%zu bytes, at most %zu expected",
			    len, f->len);
		memcpy(dst, v, len);
		memcpy((uint8_t *)base + f->len_off, &len, sizeof(len));
		break;
	}
	*seenp |= f->flag;
	return IB_OK;
}

static int
check_class(const struct ib_mb2_keybag *kb, size_t idx)
{
	const struct kb_class *k = &kb->classes[idx];
	size_t i;

	if ((k->seen & C_MANDATORY) != C_MANDATORY) {
		ib_err_detail_set("keybag class entry %zu lacks %s", idx + 1,
		    !(k->seen & C_CLAS) ? "CLAS" : !(k->seen & C_WRAP) ? "WRAP" :
		    "WPKY");
		return IB_ERR_KEYBAG;
	}
	for (i = 0; i < idx; i++)
		if (kb->classes[i].clas == k->clas) {
			ib_err_detail_set("keybag has protection class %lu twice",
			    (unsigned long)k->clas);
			return IB_ERR_KEYBAG;
		}
	return IB_OK;
}

static int
check_header(const struct kb_header *h)
{
	static const struct { unsigned flag; const char *name; } need[] = {
		{ F_VERS, "VERS" }, { F_TYPE, "TYPE" }, { F_UUID, "UUID" },
		{ F_SALT, "SALT" }, { F_ITER, "ITER" },
	};
	size_t i;

	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (!(h->seen & need[i].flag)) {
			ib_err_detail_set("keybag lacks %s", need[i].name);
			return IB_ERR_KEYBAG;
		}
	if ((h->type & KB_TYPE_MASK) != KB_TYPE_BACKUP) {
		ib_err_detail_set("keybag TYPE %lu is not a backup keybag (1)",
		    (unsigned long)(h->type & KB_TYPE_MASK));
		return IB_ERR_KEYBAG;
	}
	/* Two-round scheme or not is decided by DPSL/DPIC being there, not by
	 * a version string: pyiosbackup switches for ProductVersion > 10.2,
	 * iOSbackup for >= 10.2, and both would misread a keybag the other
	 * way round. Half of the pair is a damaged keybag. */
	if (!(h->seen & F_DPSL) != !(h->seen & F_DPIC)) {
		ib_err_detail_set("keybag has %s without %s",
		    h->seen & F_DPSL ? "DPSL" : "DPIC",
		    h->seen & F_DPSL ? "DPIC" : "DPSL");
		return IB_ERR_KEYBAG;
	}
	if (h->iter == 0 || ((h->seen & F_DPIC) && h->dpic == 0)) {
		ib_err_detail_set("keybag asks for zero PBKDF2 iterations");
		return IB_ERR_KEYBAG;
	}
	return IB_OK;
}

/* One TLV: UUID after the header's opens a class entry; each other tag
 * must belong to the current scope; unknown tags are skipped. */
static int
parse_tlv(struct ib_mb2_keybag *kb, uint32_t tag, const uint8_t *v,
    size_t len)
{
	const struct kb_field *f;
	struct kb_class *cur;
	char name[5];
	int r;

	if (tag == T_UUID && (kb->hdr.seen & F_UUID)) {
		if (kb->nclasses > 0 &&
		    (r = check_class(kb, kb->nclasses - 1)) != IB_OK)
			return r;
		if (kb->nclasses == IB_KEYBAG_CLASSES_MAX)
			return keybag_error(tag, "more than %u class keys",
			    IB_KEYBAG_CLASSES_MAX);
		kb->nclasses++;
	}
	if (kb->nclasses == 0) {
		if ((f = find_field(mb2_kb_header_fields, mb2_kb_header_nfields,
		    tag)) != NULL)
			return store_field(f, &kb->hdr, &kb->hdr.seen, v, len);
		if (find_field(mb2_kb_class_fields, mb2_kb_class_nfields, tag))
			return keybag_error(tag, "before the first class UUID");
	} else {
		cur = &kb->classes[kb->nclasses - 1];
		if ((f = find_field(mb2_kb_class_fields, mb2_kb_class_nfields,
		    tag)) != NULL)
			return store_field(f, cur, &cur->seen, v, len);
		if (find_field(mb2_kb_header_fields, mb2_kb_header_nfields, tag))
			return keybag_error(tag, "inside class entry %zu",
			    kb->nclasses);
	}
	ib_debug("keybag: skipping unknown tag %s (%zu bytes)",
	    tag_name(tag, name), len);
	return IB_OK;
}

int
ib_mb2_keybag_parse(const uint8_t *data, size_t len, struct ib_mb2_keybag **kbp)
{
	struct ib_mb2_keybag *kb = NULL;
	struct ib_buf b;
	const uint8_t *v;
	uint32_t tag, vlen;
	int r;

	if (kbp != NULL)
		*kbp = NULL;
	if ((data == NULL && len > 0) || kbp == NULL)
		return IB_ERR_INVALID_ARG;
	if (len > IB_KEYBAG_MAX) {
		ib_err_detail_set("keybag of %zu bytes exceeds %u", len,
		    IB_KEYBAG_MAX);
		return IB_ERR_KEYBAG;
	}
	if ((kb = calloc(1, sizeof(*kb))) == NULL)
		return IB_ERR_NOMEM;
	ib_buf_init_ro(&b, data, len);
	while (ib_buf_len(&b) > 0) {
		if (ib_buf_get_u32be(&b, &tag) != IB_OK ||
		    ib_buf_get_u32be(&b, &vlen) != IB_OK) {
			ib_err_detail_set("keybag ends inside a tag header");
			r = IB_ERR_KEYBAG;
			goto out;
		}
		if (vlen > IB_KEYBAG_VALUE_MAX) {
			r = keybag_error(tag, "length %lu over the limit of %u bytes",
			    (unsigned long)vlen, IB_KEYBAG_VALUE_MAX);
			goto out;
		}
		if (vlen > ib_buf_len(&b)) {
			r = keybag_error(tag, "length %lu but %zu bytes left",
			    (unsigned long)vlen, ib_buf_len(&b));
			goto out;
		}
		if ((r = ib_buf_get_ptr(&b, vlen, &v)) != IB_OK ||
		    (r = parse_tlv(kb, tag, v, vlen)) != IB_OK) {
			if (r != IB_ERR_KEYBAG)
				r = IB_ERR_INTERNAL;
			goto out;
		}
	}
	if ((r = check_header(&kb->hdr)) != IB_OK)
		goto out;
	if (kb->nclasses == 0) {
		ib_err_detail_set("keybag has no class keys");
		r = IB_ERR_KEYBAG;
		goto out;
	}
	if ((r = check_class(kb, kb->nclasses - 1)) != IB_OK)
		goto out;
	*kbp = kb;
	kb = NULL;
out:
	ib_mb2_keybag_free(kb);
	return r;
}

void
ib_mb2_keybag_free(struct ib_mb2_keybag *kb)
{
	if (kb == NULL)
		return;
	OPENSSL_cleanse(kb, sizeof(*kb));
	free(kb);
}

int
ib_mb2_keybag_is_unlocked(const struct ib_mb2_keybag *kb)
{
	return kb != NULL && kb->unlocked;
}

void
ib_mb2_keybag_get_info(const struct ib_mb2_keybag *kb,
    struct ib_mb2_keybag_info *infop)
{
	if (infop == NULL)
		return;
	memset(infop, 0, sizeof(*infop));
	if (kb == NULL)
		return;
	infop->version = kb->hdr.vers;
	infop->type = kb->hdr.type & KB_TYPE_MASK;
	infop->iter = kb->hdr.iter;
	infop->has_dp = (kb->hdr.seen & F_DPSL) != 0;
	infop->dpic = infop->has_dp ? kb->hdr.dpic : 0;
	infop->classes = kb->nclasses;
	memcpy(infop->uuid, kb->hdr.uuid, sizeof(infop->uuid));
}

/* Is this class's key one the password unwraps (and that we can use)? */
static int
password_wrapped(const struct kb_class *k)
{
	return (k->wrap & KB_WRAP_PASSWORD) && k->ktyp == KB_KTYP_AES;
}

static int
check_limits(const struct kb_header *h, const struct ib_mb2_kdf_limits *lim)
{
	if (h->iter > lim->iter_max) {
		ib_err_detail_set("keybag ITER %lu exceeds the limit %lu",
		    (unsigned long)h->iter, (unsigned long)lim->iter_max);
		return IB_ERR_KEYBAG;
	}
	if ((h->seen & F_DPIC) && h->dpic > lim->dpic_max) {
		ib_err_detail_set("keybag DPIC %lu exceeds the limit %lu",
		    (unsigned long)h->dpic, (unsigned long)lim->dpic_max);
		return IB_ERR_KEYBAG;
	}
	return IB_OK;
}

int
ib_mb2_keybag_unlock(struct ib_mb2_keybag *kb, const void *password,
    size_t password_len, const struct ib_mb2_kdf_limits *limits)
{
	uint8_t pwkey[IB_MB2_KEY_LEN];
	uint8_t keys[IB_KEYBAG_CLASSES_MAX][IB_MB2_KEY_LEN];
	int ok[IB_KEYBAG_CLASSES_MAX] = { 0 };
	size_t i, nok = 0;
	int r;

	if (kb == NULL || (password == NULL && password_len > 0))
		return IB_ERR_INVALID_ARG;
	if ((r = check_limits(&kb->hdr, limits != NULL ? limits :
	    &ib_mb2_kdf_limits_default)) != IB_OK)
		return r;
	if ((r = mb2_kb_derive(&kb->hdr, password, password_len, pwkey)) != IB_OK)
		goto out;
	for (i = 0; i < kb->nclasses; i++) {
		const struct kb_class *k = &kb->classes[i];

		if (!password_wrapped(k)) {
			ib_debug("keybag: class %lu (WRAP %lu, KTYP %lu) is not an "
			    "AES key wrapped by the password: skipped",
			    (unsigned long)k->clas, (unsigned long)k->wrap,
			    (unsigned long)k->ktyp);
			continue;
		}
		if (k->wpky_len != IB_MB2_WRAPPED_LEN) {
			ib_err_detail_set("keybag class %lu: WPKY of %zu bytes, "
			    "40 expected", (unsigned long)k->clas, k->wpky_len);
			r = IB_ERR_KEYBAG;
			goto out;
		}
		if ((r = ib_mb2_aes_unwrap(pwkey, k->wpky, keys[i])) != IB_OK) {
			if (r == IB_ERR_DECRYPT) {
				ib_err_detail_set("class key %lu failed the RFC 3394 "
				    "integrity check", (unsigned long)k->clas);
				r = IB_ERR_WRONG_PASSWORD;
			}
			goto out;
		}
		ok[i] = 1;
		nok++;
	}
	if (nok == 0) {
		ib_err_detail_set("no class key of the keybag is wrapped by the "
		    "password");
		r = IB_ERR_KEYBAG;
		goto out;
	}
	for (i = 0; i < kb->nclasses; i++) {
		kb->classes[i].unlocked = ok[i];
		if (ok[i])
			memcpy(kb->classes[i].key, keys[i], IB_MB2_KEY_LEN);
		else
			OPENSSL_cleanse(kb->classes[i].key, IB_MB2_KEY_LEN);
	}
	kb->unlocked = 1;
	r = IB_OK;
out:
	OPENSSL_cleanse(pwkey, sizeof(pwkey));
	OPENSSL_cleanse(keys, sizeof(keys));
	return r;
}

static int
unwrap_with_class(const struct ib_mb2_keybag *kb, uint32_t clas,
    const uint8_t *wrapped, uint8_t key[IB_MB2_KEY_LEN])
{
	const struct kb_class *k = mb2_kb_find_class(kb, clas);
	int r;

	if (k == NULL || !k->unlocked) {
		ib_err_detail_set("no unlocked key for protection class %lu",
		    (unsigned long)clas);
		return IB_ERR_DECRYPT;
	}
	if ((r = ib_mb2_aes_unwrap(k->key, wrapped, key)) == IB_ERR_DECRYPT)
		ib_err_detail_set("key wrapped with class %lu failed the RFC 3394 "
		    "integrity check", (unsigned long)clas);
	return r;
}

/* Split a 44-byte blob: u32 little-endian class, 40-byte wrapped key. */
static int
split_blob(const uint8_t *blob, size_t len, uint32_t *clasp,
    const uint8_t **wrappedp)
{
	struct ib_buf b;

	ib_buf_init_ro(&b, blob, len);
	if (ib_buf_get_u32le(&b, clasp) != IB_OK ||
	    ib_buf_get_ptr(&b, IB_MB2_WRAPPED_LEN, wrappedp) != IB_OK ||
	    ib_buf_get_end(&b) != IB_OK) {
		ib_err_detail_set("wrapped key blob of %zu bytes, 44 expected", len);
		return IB_ERR_DECRYPT;
	}
	return IB_OK;
}

/*
 * Unwrap a 44-byte blob with the key of its own class (ManifestKey) or,
 * for an EncryptionKey, with protection_class's key first and the blob's
 * class second (see the header for why both).
 */
static int
unwrap_blob(const struct ib_mb2_keybag *kb, const uint8_t *blob,
    size_t blob_len, const uint32_t *protection_class,
    uint8_t key[IB_MB2_KEY_LEN])
{
	const uint8_t *wrapped;
	uint32_t clas;
	int r;

	if (kb == NULL || (blob == NULL && blob_len > 0) || key == NULL)
		return IB_ERR_INVALID_ARG;
	if (!kb->unlocked)
		return IB_ERR_STATE;
	if ((r = split_blob(blob, blob_len, &clas, &wrapped)) != IB_OK)
		return r;
	if (protection_class == NULL || *protection_class == clas)
		return unwrap_with_class(kb, clas, wrapped, key);
	r = unwrap_with_class(kb, *protection_class, wrapped, key);
	if (r == IB_ERR_DECRYPT) {
		ib_debug("EncryptionKey names class %lu, ProtectionClass %lu: "
		    "trying the key's own class", (unsigned long)clas,
		    (unsigned long)*protection_class);
		r = unwrap_with_class(kb, clas, wrapped, key);
	}
	return r;
}

int
ib_mb2_keybag_unwrap_manifest_key(const struct ib_mb2_keybag *kb,
    const uint8_t *blob, size_t blob_len, uint8_t key[IB_MB2_KEY_LEN])
{
	return unwrap_blob(kb, blob, blob_len, NULL, key);
}

int
ib_mb2_keybag_unwrap_file_key(const struct ib_mb2_keybag *kb,
    const uint8_t *blob, size_t blob_len, uint32_t protection_class,
    uint8_t key[IB_MB2_KEY_LEN])
{
	return unwrap_blob(kb, blob, blob_len, &protection_class, key);
}

int
mb2_kb_derive(const struct kb_header *h, const void *pw, size_t pw_len,
    uint8_t key[IB_MB2_KEY_LEN])
{
	int dp = (h->seen & F_DPSL) != 0;

	return ib_mb2_password_key(pw, pw_len, h->salt, h->iter,
	    dp ? h->dpsl : NULL, dp ? h->dpic : 0, key);
}

const struct kb_class *
mb2_kb_find_class(const struct ib_mb2_keybag *kb, uint32_t clas)
{
	size_t i;

	for (i = 0; i < kb->nclasses; i++)
		if (kb->classes[i].clas == clas)
			return &kb->classes[i];
	return NULL;
}
