/*
 * mb2_keybag_int.h - what the keybag's two halves share: mb2_keybag.c
 * (parse, unlock, unwrap: the host side) and mb2_keybag_make.c
 * (serialise, create, change password, wrap: the device side). Private
 * to mobilebackup2/.
 *
 * Each known tag has a row in a field table naming its scope (keybag
 * header or class-key entry), its form (u32 BE, fixed-size bytes, bounded
 * bytes) and where it is stored; the parser and the serialiser walk the
 * same tables, so they agree on tag order and sizes by construction.
 */
#ifndef MB2_KEYBAG_INT_H
#define MB2_KEYBAG_INT_H

#include "ib_limits.h"
#include "mb2_crypto.h"

#include <stddef.h>
#include <stdint.h>

#define TAG(a, b, c, d) \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#define T_UUID TAG('U', 'U', 'I', 'D')

/* TYPE keeps flags in its top two bits [D-KB]; 1 = backup keybag. */
#define KB_TYPE_MASK 0x3FFFFFFFu
#define KB_TYPE_BACKUP 1u
/* WRAP bit 2: wrapped by the passcode (here: backup password) key;
 * bit 1: by the device UID key, which only the device has [D-KB]. */
#define KB_WRAP_PASSWORD 2u
#define KB_KTYP_AES 0u
#define KB_KTYP_CURVE25519 1u
/* Largest HMCK/WPKY/PBKY we keep; iOS writes 40/40/32 bytes. */
#define KB_BLOB_MAX 64u
/* VERS we write: pyiosbackup's fixture of an iOS >= 10.2 keybag says 5;
 * for the legacy scheme 3 (unverified; no reader checks VERS). */
#define KB_VERS_DP 5u
#define KB_VERS_LEGACY 3u
/* DPWT we write: the fixture's value; its meaning is unknown. */
#define KB_DPWT 1u
#define KB_HMCK_LEN 40u

enum {
	F_VERS = 1u << 0, F_TYPE = 1u << 1, F_UUID = 1u << 2, F_HMCK = 1u << 3,
	F_WRAP = 1u << 4, F_SALT = 1u << 5, F_ITER = 1u << 6, F_DPWT = 1u << 7,
	F_DPIC = 1u << 8, F_DPSL = 1u << 9,
};

enum {
	C_UUID = 1u << 0, C_CLAS = 1u << 1, C_WRAP = 1u << 2, C_KTYP = 1u << 3,
	C_WPKY = 1u << 4, C_PBKY = 1u << 5,
};
#define C_MANDATORY (C_UUID | C_CLAS | C_WRAP | C_WPKY)

struct kb_header {
	unsigned seen;
	uint32_t vers, type, wrap, iter, dpwt, dpic;
	uint8_t uuid[IB_MB2_UUID_LEN];
	uint8_t salt[IB_MB2_SALT_LEN];
	uint8_t dpsl[IB_MB2_SALT_LEN];
	uint8_t hmck[KB_BLOB_MAX];
	size_t hmck_len;
};

struct kb_class {
	unsigned seen;
	uint32_t clas, wrap, ktyp;
	uint8_t uuid[IB_MB2_UUID_LEN];
	uint8_t wpky[KB_BLOB_MAX];
	size_t wpky_len;
	uint8_t pbky[KB_BLOB_MAX];
	size_t pbky_len;
	int unlocked;
	uint8_t key[IB_MB2_KEY_LEN];    /* secret: valid when unlocked */
};

struct ib_mb2_keybag {
	struct kb_header hdr;
	size_t nclasses;
	struct kb_class classes[IB_KEYBAG_CLASSES_MAX];
	int unlocked;
};

enum field_kind { FK_U32, FK_FIXED, FK_VAR };

struct kb_field {
	uint32_t tag;
	unsigned flag;
	enum field_kind kind;
	size_t len;             /* FK_FIXED: exact size; FK_VAR: maximum */
	size_t off;             /* value in the scope's struct */
	size_t len_off;         /* FK_VAR: its size_t length */
};

/* In the order iOS writes them (pyiosbackup's fixture). */
extern const struct kb_field mb2_kb_header_fields[];
extern const size_t mb2_kb_header_nfields;
extern const struct kb_field mb2_kb_class_fields[];
extern const size_t mb2_kb_class_nfields;

/* Password key of this keybag's header (scheme chosen by DPSL/DPIC). */
int mb2_kb_derive(const struct kb_header *h, const void *pw, size_t pw_len,
    uint8_t key[IB_MB2_KEY_LEN]);
/* Class entry with that protection class, or NULL. */
const struct kb_class *mb2_kb_find_class(const struct ib_mb2_keybag *kb,
    uint32_t clas);

#endif /* MB2_KEYBAG_INT_H */
