/*
 * backup_dir.h - the backup folder model on the host: <root>/<UDID>/ with
 * Info.plist (written by the host), Status.plist and Manifest.plist
 * (written by the device), Manifest.db, payloads in xx/ subfolders, and
 * Snapshot/ during a run (mobilebackup2.md section 5,
 * backup-directory-files.md). Also the "Latest Backups" scan of a root,
 * the running-backup lock, and `extract`.
 *
 * Every file read here is untrusted: plists go through ib_plist with
 * IB_PLIST_MSG_MAX, every key is type-checked (a wrong type is
 * IB_ERR_BACKUP_INVALID with the key in the detail; a missing optional
 * key is simply absent). Metadata files are replaced atomically
 * (ib_file_write_atomic) with mode 0600.
 */
#ifndef IB_BACKUP_DIR_H
#define IB_BACKUP_DIR_H

#include <stddef.h>
#include <stdint.h>

#include <plist/plist.h>

struct ib_mbfile;

/* --- Info.plist (host-written, section 5.1) ---------------------------- */

/*
 * Filled by the backup driver from lockdown values and the app list.
 * Strings are borrowed; NULL strings are left out, except:
 * udid is required (Target Identifier; Unique Identifier = its uppercase),
 * display_name defaults to device_name, guid to 32 random uppercase hex
 * digits, itunes_version to "10.0.1" (idevicebackup2's fallback),
 * last_backup_date (Unix seconds) 0 to now. Plists are borrowed and
 * copied: applications (dict bundle id -> {ApplicationSINF,
 * iTunesMetadata, PlaceholderIcon}; NULL = {}), installed_applications
 * (array of bundle ids; NULL = the keys of applications), itunes_files
 * (dict name -> data; NULL = {}), itunes_settings (dict; NULL = {}).
 */
struct ib_info_plist {
	const char *udid, *device_name, *display_name;
	const char *build_version, *product_type, *product_version, *serial_number;
	const char *iccid, *imei, *meid, *phone_number;         /* optional */
	const char *guid, *itunes_version;
	int64_t last_backup_date;
	plist_t applications, installed_applications, itunes_files, itunes_settings;
	const uint8_t *ibooks_data;     /* "iBooks Data 2"; NULL = left out */
	size_t ibooks_len;
};

int ib_info_plist_build(const struct ib_info_plist *info, plist_t *outp);
/* Write <backup_dir>/Info.plist as XML, atomically, 0600. */
int ib_info_plist_write(const char *backup_dir, const struct ib_info_plist *info);

/* --- Status.plist (section 5.2) ---------------------------------------- */

struct ib_status_plist {
	char backup_state[32];          /* "new", "empty" */
	char snapshot_state[32];        /* "uploading", "moving", "removing", "finished" */
	char uuid[64];
	char version[16];               /* "3.3" */
	int64_t date;                   /* Unix seconds, 0 when absent */
	int is_full_backup;
};

/* Parse (binary or XML). A string longer than its field is invalid. */
int ib_status_plist_parse(const uint8_t *data, size_t len, struct ib_status_plist *outp);
int ib_status_plist_read(const char *path, struct ib_status_plist *outp);
/* Binary, as the device writes it; empty strings are left out. */
int ib_status_plist_build(const struct ib_status_plist *st, uint8_t **outp, size_t *lenp);
/* Atomic write (device side, and the host's pre-seeding). */
int ib_status_plist_write(const char *path, const struct ib_status_plist *st);

/* --- Manifest.plist (section 5.3) ------------------------------------ */

struct ib_manifest_plist {
	int is_encrypted, was_passcode_set;
	/* Lockdown.DeviceName, ProductVersion, ProductType, SerialNumber,
	 * UniqueDeviceID, and the top-level Version (owned, NULL if absent) */
	char *device_name, *product_version, *product_type, *serial_number;
	char *unique_device_id, *version;
	int64_t date;                   /* Date, Unix seconds */
	plist_t applications;           /* owned copy, or NULL */
	uint8_t *backup_keybag;         /* owned, wiped on free (for mb2_crypto) */
	size_t backup_keybag_len;
	uint8_t *manifest_key;          /* owned, wiped on free */
	size_t manifest_key_len;
};

int ib_manifest_plist_parse(const uint8_t *data, size_t len, struct ib_manifest_plist **outp);
int ib_manifest_plist_read(const char *path, struct ib_manifest_plist **outp);
void ib_manifest_plist_free(struct ib_manifest_plist *m);
/* Binary, as the device writes it (the virtual device uploads it). */
int ib_manifest_plist_build(const struct ib_manifest_plist *m, uint8_t **outp, size_t *lenp);

/* --- the running-backup lock ------------------------------------------ */

/*
 * A backup in progress holds an exclusive flock on <root>/.ibackup-<UDID>.lock
 * for its whole run (the file sits outside the device's folder, where
 * no DeviceLink request is supposed to reach it; the backup driver should
 * also scope mb2_fs to <UDID>). A second backup of the same device fails
 * with IB_ERR_BUSY; the scan reports the folder as in progress. The lock
 * ends with the process, so a crash never leaves a stale "in progress".
 */
struct ib_backup_lock;
int ib_backup_lock_acquire(const char *root, const char *udid, struct ib_backup_lock **lockp);
void ib_backup_lock_release(struct ib_backup_lock *lock);
/* 1 if another open file description holds the lock now, else 0. */
int ib_backup_lock_held(const char *root, const char *udid);

/* --- Latest Backups ---------------------------------------------------- */

enum ib_backup_state {
	IB_BACKUP_COMPLETE,     /* SnapshotState finished, non-empty Manifest.plist and .db, no Snapshot/ */
	IB_BACKUP_IN_PROGRESS,  /* the lock above is held */
	IB_BACKUP_INTERRUPTED,  /* anything else; why says what */
};

struct ib_backup_summary {
	char *udid;                     /* the folder name */
	char *device_name;              /* Manifest.plist Lockdown, else Info.plist */
	char *product_type;             /* model, e.g. iPhone14,2 */
	char *product_version;          /* iOS version */
	int64_t date;                   /* last complete backup (Unix s), 0 unknown */
	uint64_t size;                  /* bytes of payload files (xx/ folders) */
	uint64_t files;                 /* number of payload files */
	int encrypted;
	enum ib_backup_state state;
	char *why;                      /* interrupted: the first reason found */
};

/* One folder <root>/<udid>; IB_ERR_BACKUP_NOT_FOUND when it does not exist. */
int ib_backup_inspect(const char *root, const char *udid, struct ib_backup_summary *outp);
/* Every backup folder of root (subfolders holding Info/Status/Manifest
 * files or Snapshot/, or a held lock), newest first. Symlinks are not
 * followed. *listp is NULL when there is none. */
int ib_backup_scan(const char *root, struct ib_backup_summary **listp, size_t *countp);
void ib_backup_summary_clear(struct ib_backup_summary *s);
void ib_backup_summaries_free(struct ib_backup_summary *list, size_t count);
const char *ib_backup_state_name(enum ib_backup_state state);

/* --- extract ------------------------------------------------------------ */

/*
 * Hook for encrypted backups (mb2_crypto, step 4). Without it an
 * encrypted backup is IB_ERR_BACKUP_ENCRYPTED.
 *   open_manifest: given the backup's Manifest.db and Manifest.plist,
 *     produce a plain SQLite copy and return its path (malloc'd; extract
 *     frees the string, the hook removes the file in done());
 *   copy_file: decrypt one payload from in_fd into out_fd (bounded
 *     memory; f->size plaintext bytes expected);
 *   done: called once at the end if open_manifest succeeded.
 */
struct ib_extract_decryptor {
	void *ctx;
	int (*open_manifest)(void *ctx, const char *manifest_db,
	    const struct ib_manifest_plist *mp, char **plain_pathp);
	int (*copy_file)(void *ctx, const struct ib_mbfile *f, int in_fd, int out_fd);
	void (*done)(void *ctx);
};

struct ib_extract_opts {
	const char *domain;             /* exact domain; NULL = all */
	const char *path_glob;          /* GLOB on relativePath (manifest_db.h); NULL = all */
	const struct ib_extract_decryptor *decrypt;
	/* Called after each file; a non-IB_OK return stops (returned). */
	int (*progress)(void *ctx, const char *domain, const char *relative_path,
	    uint64_t bytes);
	void *progress_ctx;
};

struct ib_extract_stats {
	uint64_t files;                 /* regular files written */
	uint64_t dirs;                  /* directories created */
	uint64_t bytes;
	uint64_t links_skipped;         /* symlink rows: never created */
	uint64_t unsafe_skipped;        /* rows refused: hostile domain/path/fileID */
	uint64_t missing;               /* payload file absent from the backup */
	uint64_t size_mismatch;         /* payload size differs from MBFile Size */
	uint64_t errors;                /* write failures (first one in the detail) */
};

/*
 * Write OUTDIR/<domain>/<relativePath> for every selected row of
 * <root>/<udid>/Manifest.db: flag-1 rows from <root>/<udid>/<xx>/<fileID>
 * (streamed, 64 KiB at a time) with mode (& 0777) and mtime from the
 * MBFile, flag-2 rows as directories (mode | 0700 and mtime applied after
 * their files), flag-4 rows (symlinks) are NOT created: each is skipped
 * with an info line and counted, so nothing extracted can point outside
 * OUTDIR. All output goes through mb2_fs confined to OUTDIR (created if
 * missing): a domain with '/', "." or "..", a relativePath that is
 * absolute or has ".." / empty components, a fileID that is not 40
 * lowercase hex digits, or a symlink already inside OUTDIR never leads
 * outside it; such rows are skipped and counted.
 * Returns IB_OK when every selected row was written; IB_ERR_BACKUP_IO when
 * some failed to be written, else IB_ERR_UNSAFE_PATH when some were
 * refused (the rest is extracted in both cases); IB_ERR_BACKUP_ENCRYPTED
 * for an encrypted backup without decryptor ("needs the password support
 * of step 4"); IB_ERR_BACKUP_NOT_FOUND without <root>/<udid>;
 * IB_ERR_BACKUP_INCOMPLETE without its Manifest.db; IB_ERR_SQLITE /
 * IB_ERR_BACKUP_INVALID for a bad Manifest.db;
 * IB_ERR_INTERRUPTED when ib_interrupted() is set. stats may be NULL.
 */
int ib_backup_extract(const char *root, const char *udid, const char *outdir,
    const struct ib_extract_opts *opts, struct ib_extract_stats *stats);

/*
 * The checks extract applies to one row: *outp = "<domain>/<relativePath>"
 * (just the domain for a directory row with an empty path), malloc'd.
 * IB_ERR_UNSAFE_PATH when the domain is not one safe name, the path is not
 * a safe relative path, the fileID is not 40 lowercase hex digits, a file
 * row has an empty path, or the result exceeds IB_PATH_MAX.
 */
int ib_backup_entry_path(const char *domain, const char *relative_path,
    const char *file_id, int64_t flags, char **outp);

#endif /* IB_BACKUP_DIR_H */
