/*
 * manifest_db.h - Manifest.db (iOS 10+ backup index) with libsqlite3.
 *
 * Schema, exactly as a real backup has it (backup-directory-files.md):
 *   CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT,
 *                       relativePath TEXT, flags INTEGER, file BLOB)
 *   CREATE INDEX FilesDomainIdx ON Files(domain)
 *   CREATE INDEX FilesRelativePathIdx ON Files(relativePath)
 *   CREATE INDEX FilesFlagsIdx ON Files(flags)
 *   CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB)
 * fileID = lowercase hex SHA-1 of "<domain>-<relativePath>"; flags 1 file,
 * 2 directory, 4 symlink; file = an MBFile archive (mbfile.h); payloads
 * live at <UDID>/<fileID[0..2]>/<fileID>.
 *
 * Writer (the virtual device builds one; tests build fixtures): creates a
 * new file (fails if the path exists), inserts rows inside big
 * transactions and builds the indexes and Properties at the end, so
 * sqlite_master lists the objects in the real order. Nothing is durable
 * before ib_manifest_db_finish() returns IB_OK.
 *
 * Reader (the host: list, extract): opens read-only (SQLITE_OPEN_READONLY,
 * defensive mode, no views or triggers, untrusted schema), checks that
 * Files is a plain table with the expected columns, and walks rows with
 * an optional domain filter and a GLOB on relativePath. The database is
 * untrusted: corruption or a wrong schema is IB_ERR_SQLITE with sqlite's
 * message in the detail; a row with wrongly typed columns, text with NUL
 * bytes or a blob above IB_MBFILE_MAX is IB_ERR_BACKUP_INVALID.
 */
#ifndef IB_MANIFEST_DB_H
#define IB_MANIFEST_DB_H

#include <stddef.h>
#include <stdint.h>

#define IB_MANIFEST_FLAG_FILE 1
#define IB_MANIFEST_FLAG_DIR 2
#define IB_MANIFEST_FLAG_SYMLINK 4

/* fileID of domain + "-" + relative_path into out[41]. */
int ib_manifest_file_id(const char *domain, const char *relative_path, char out[41]);

/* --- writer ----------------------------------------------------------- */

struct ib_manifest_writer;

int ib_manifest_writer_create(const char *path, struct ib_manifest_writer **wp);
/* Insert one row; fileID computed here. blob may be NULL (NULL column). */
int ib_manifest_writer_add(struct ib_manifest_writer *w, const char *domain,
    const char *relative_path, int64_t flags, const uint8_t *blob, size_t blob_len);
/* Commit, build the indexes and Properties, close. The writer is freed
 * whatever the result. */
int ib_manifest_writer_finish(struct ib_manifest_writer *w);
/* Abandon: roll back and close (the file stays, incomplete). NULL ok. */
void ib_manifest_writer_free(struct ib_manifest_writer *w);

/* --- reader ----------------------------------------------------------- */

struct ib_manifest_reader;

struct ib_manifest_row {
	const char *file_id;            /* borrowed: valid during the callback */
	const char *domain;
	const char *relative_path;
	int64_t flags;
	const uint8_t *blob;            /* NULL when the column is NULL */
	size_t blob_len;
};

struct ib_manifest_filter {
	const char *domain;             /* exact domain, NULL = all */
	const char *path_glob;          /* sqlite GLOB on relativePath: case-
	                                 * sensitive, '*' and '?' also match '/',
	                                 * [...] classes; NULL = all */
	int64_t flags;                  /* exact flags value, 0 = all */
};

int ib_manifest_reader_open(const char *path, struct ib_manifest_reader **rp);
void ib_manifest_reader_free(struct ib_manifest_reader *r);
/*
 * Call fn for each matching row, in rowid order. fn returns IB_OK to go
 * on or an IB_ERR_* to stop (returned as is). filter may be NULL.
 */
typedef int (*ib_manifest_row_fn)(void *ctx, const struct ib_manifest_row *row);
int ib_manifest_reader_foreach(struct ib_manifest_reader *r,
    const struct ib_manifest_filter *filter, ib_manifest_row_fn fn, void *ctx);
/* Number of matching rows. */
int ib_manifest_reader_count(struct ib_manifest_reader *r,
    const struct ib_manifest_filter *filter, uint64_t *countp);

#endif /* IB_MANIFEST_DB_H */
