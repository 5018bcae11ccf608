/*
 * mbfile.h - the MBFile record of a Manifest.db row (`file` column): an
 * NSKeyedArchiver binary plist (backup-directory-files.md, mobilebackup2.md
 * section 5.4):
 *
 *   {$archiver:"NSKeyedArchiver", $version:100000, $top:{root:UID 1},
 *    $objects:["$null", {$class:UID -> {$classname:"MBFile", ...},
 *                        LastModified, LastStatusChange, Birth, Size, Mode,
 *                        UserID, GroupID, InodeNumber, Flags, ProtectionClass,
 *                        RelativePath:UID -> string, Target:UID -> string,
 *                        EncryptionKey:UID -> {NS.data:<44 bytes>,
 *                                              $class:UID -> NSMutableData}},
 *              ...]}
 *
 * Decoding treats the blob as untrusted: at most IB_MBFILE_MAX bytes,
 * parsed through ib_plist with its caps, every type checked, every UID
 * checked against $objects (an out-of-range or wrongly typed reference is
 * IB_ERR_BACKUP_INVALID, never a crash; references are followed at most
 * two levels, so cycles cannot loop). Unknown keys are ignored; missing
 * integer keys read as 0.
 */
#ifndef IB_MBFILE_H
#define IB_MBFILE_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of EncryptionKey we accept (real ones: 4-byte class + 40). */
#define IB_MBFILE_KEY_MAX 256u

struct ib_mbfile {
	int64_t last_modified;          /* Unix seconds */
	int64_t last_status_change;
	int64_t birth;
	uint64_t size;                  /* <= INT64_MAX after decoding */
	uint32_t mode;                  /* st_mode: 0100644 file, 040755 dir, 0120755 link */
	int64_t user_id, group_id;      /* signed: real records hold -2 (nobody) */
	uint64_t inode;
	uint32_t flags;
	uint32_t protection_class;
	char *relative_path;            /* owned; NULL when absent */
	char *target;                   /* owned; symlink target or NULL */
	uint8_t *encryption_key;        /* owned, wiped on free; NULL when absent */
	size_t encryption_key_len;
};

/* A zeroed record (NULL when out of memory); free with ib_mbfile_free,
 * which wipes the key; NULL is a no-op. */
struct ib_mbfile *ib_mbfile_new(void);
void ib_mbfile_free(struct ib_mbfile *f);

/*
 * Decode a blob. IB_ERR_TOO_LARGE above IB_MBFILE_MAX, IB_ERR_PLIST_* when
 * ib_plist refuses the bytes, IB_ERR_BACKUP_INVALID for a well-formed
 * plist that is not an MBFile archive (detail says what).
 */
int ib_mbfile_decode(const uint8_t *blob, size_t len, struct ib_mbfile **outp);
/* Encode as the device does; *outp malloc'd (free()). */
int ib_mbfile_encode(const struct ib_mbfile *f, uint8_t **outp, size_t *lenp);

#endif /* IB_MBFILE_H */
