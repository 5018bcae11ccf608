/*
 * manifest_db.c - Manifest.db writer and untrusted-input reader
 * (manifest_db.h).
 */
#include "manifest_db.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Rows per transaction while writing: big enough that commits do not
 * dominate, small enough that the journal stays modest. */
#define WRITER_BATCH 100000u

static const char *const schema_files =
    "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, "
    "flags INTEGER, file BLOB)";
/* Built at the end; Properties last, as sqlite_master lists them in a
 * real Manifest.db. user_version and auto_vacuum as seen there too. */
static const char *const schema_tail =
    "CREATE INDEX FilesDomainIdx ON Files(domain);"
    "CREATE INDEX FilesRelativePathIdx ON Files(relativePath);"
    "CREATE INDEX FilesFlagsIdx ON Files(flags);"
    "CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);";

static int
sqlite_err(sqlite3 *db, int rc, const char *what)
{
	ib_err_detail_set("Manifest.db: %s: %s", what,
	    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	if (rc == SQLITE_NOMEM)
		return IB_ERR_NOMEM;
	if (rc == SQLITE_CONSTRAINT)
		return IB_ERR_EXISTS;
	if (rc == SQLITE_INTERRUPT)
		return IB_ERR_INTERRUPTED;
	return IB_ERR_SQLITE;
}

static int
digest_id(EVP_MD_CTX *ctx, const char *domain, const char *rel, char out[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, domain, strlen(domain)) != 1 ||
	    EVP_DigestUpdate(ctx, "-", 1) != 1 ||
	    EVP_DigestUpdate(ctx, rel, strlen(rel)) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &n) != 1 || n != 20)
		return IB_ERR_CRYPTO;
	ib_hex(md, 20, out);
	return IB_OK;
}

int
ib_manifest_file_id(const char *domain, const char *relative_path, char out[41])
{
	EVP_MD_CTX *ctx;
	int r;

	if (domain == NULL || relative_path == NULL)
		return IB_ERR_INVALID_ARG;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return IB_ERR_NOMEM;
	r = digest_id(ctx, domain, relative_path, out);
	EVP_MD_CTX_free(ctx);
	return r;
}

/* --- writer ----------------------------------------------------------- */

struct ib_manifest_writer {
	sqlite3 *db;
	sqlite3_stmt *insert;
	EVP_MD_CTX *md;
	char *path;
	uint64_t in_batch;
};

static int
exec(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? IB_OK : sqlite_err(db, rc, "writing");
}

int
ib_manifest_writer_create(const char *path, struct ib_manifest_writer **wp)
{
	struct ib_manifest_writer *w = NULL;
	int fd, rc, r;

	*wp = NULL;
	/* A new file only: never rewrite a backup's index in place. */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return ib_err_from_errno(errno, path);
	close(fd);
	if ((w = calloc(1, sizeof(*w))) == NULL || (w->path = strdup(path)) == NULL ||
	    (w->md = EVP_MD_CTX_new()) == NULL) {
		r = IB_ERR_NOMEM;
		goto fail;
	}
	rc = sqlite3_open_v2(path, &w->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		r = sqlite_err(w->db, rc, "opening for writing");
		goto fail;
	}
	/* A fresh file that is thrown away on failure: no journal needed
	 * beyond memory, no fsync per commit (one fsync at the end). */
	if ((r = exec(w->db, "PRAGMA page_size=4096; PRAGMA auto_vacuum=INCREMENTAL;"
	    "PRAGMA user_version=2; PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF;"
	    "PRAGMA cache_size=-65536;")) != IB_OK ||
	    (r = exec(w->db, schema_files)) != IB_OK ||
	    (r = exec(w->db, "BEGIN")) != IB_OK)
		goto fail;
	rc = sqlite3_prepare_v2(w->db, "INSERT INTO Files (fileID, domain, relativePath, flags, file) "
	    "VALUES (?1, ?2, ?3, ?4, ?5)", -1, &w->insert, NULL);
	if (rc != SQLITE_OK) {
		r = sqlite_err(w->db, rc, "preparing insert");
		goto fail;
	}
	*wp = w;
	return IB_OK;
fail:
	ib_manifest_writer_free(w);
	return r;
}

int
ib_manifest_writer_add(struct ib_manifest_writer *w, const char *domain,
    const char *relative_path, int64_t flags, const uint8_t *blob, size_t blob_len)
{
	char id[41];
	int rc, r;

	if (w == NULL || domain == NULL || relative_path == NULL || blob_len > IB_MBFILE_MAX)
		return IB_ERR_INVALID_ARG;
	if ((r = digest_id(w->md, domain, relative_path, id)) != IB_OK)
		return r;
	sqlite3_reset(w->insert);
	if (sqlite3_bind_text(w->insert, 1, id, 40, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_text(w->insert, 2, domain, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(w->insert, 3, relative_path, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(w->insert, 4, flags) != SQLITE_OK ||
	    (blob != NULL ? sqlite3_bind_blob(w->insert, 5, blob, (int)blob_len, SQLITE_STATIC) :
	    sqlite3_bind_null(w->insert, 5)) != SQLITE_OK)
		return sqlite_err(w->db, SQLITE_ERROR, "binding a row");
	rc = sqlite3_step(w->insert);
	sqlite3_clear_bindings(w->insert);
	if (rc != SQLITE_DONE)
		return sqlite_err(w->db, rc, "inserting a row");
	if (++w->in_batch >= WRITER_BATCH) {
		w->in_batch = 0;
		if ((r = exec(w->db, "COMMIT; BEGIN")) != IB_OK)
			return r;
	}
	return IB_OK;
}

int
ib_manifest_writer_finish(struct ib_manifest_writer *w)
{
	int fd, r;

	if (w == NULL)
		return IB_ERR_INVALID_ARG;
	sqlite3_finalize(w->insert);
	w->insert = NULL;
	if ((r = exec(w->db, "COMMIT")) != IB_OK || (r = exec(w->db, schema_tail)) != IB_OK)
		goto out;
	if (sqlite3_close(w->db) != SQLITE_OK) {
		r = sqlite_err(w->db, SQLITE_ERROR, "closing");
		goto out;
	}
	w->db = NULL;
	/* synchronous=OFF skipped every fsync: make the result durable. */
	if ((fd = open(w->path, O_RDONLY | O_CLOEXEC)) < 0 || fsync(fd) != 0) {
		r = ib_err_from_errno(errno, w->path);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	r = IB_OK;
out:
	ib_manifest_writer_free(w);
	return r;
}

void
ib_manifest_writer_free(struct ib_manifest_writer *w)
{
	if (w == NULL)
		return;
	sqlite3_finalize(w->insert);
	if (w->db != NULL) {
		sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(w->db);
	}
	EVP_MD_CTX_free(w->md);
	free(w->path);
	free(w);
}

/* --- reader ----------------------------------------------------------- */

struct ib_manifest_reader {
	sqlite3 *db;
};

static int
interrupt_check(void *ctx)
{
	(void)ctx;
	return ib_interrupted();
}

/* Refuse a Files that is a view (it could run any query) or lacks the
 * columns we read. */
static int
check_schema(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *type;
	int rc, r;

	rc = sqlite3_prepare_v2(db, "SELECT type FROM sqlite_master WHERE name = 'Files'", -1,
	    &st, NULL);
	if (rc != SQLITE_OK)
		return sqlite_err(db, rc, "reading the schema");
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? IB_ERR_SQLITE : sqlite_err(db, rc, "reading the schema");
		if (rc == SQLITE_DONE)
			ib_err_detail_set("Manifest.db has no Files table");
		goto out;
	}
	type = sqlite3_column_text(st, 0);
	if (type == NULL || strcmp((const char *)type, "table") != 0) {
		ib_err_detail_set("Manifest.db: Files is not a table");
		r = IB_ERR_SQLITE;
		goto out;
	}
	r = IB_OK;
out:
	sqlite3_finalize(st);
	return r;
}

int
ib_manifest_reader_open(const char *path, struct ib_manifest_reader **rp)
{
	struct ib_manifest_reader *r = NULL;
	int rc, e;

	*rp = NULL;
	if (path == NULL)
		return IB_ERR_INVALID_ARG;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return IB_ERR_NOMEM;
	rc = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		e = sqlite_err(r->db, rc, "opening");
		goto fail;
	}
	/* Untrusted file: no schema-defined code, no writes, bounded values. */
	sqlite3_db_config(r->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(r->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(r->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
	sqlite3_db_config(r->db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL);
	sqlite3_limit(r->db, SQLITE_LIMIT_LENGTH, (int)(IB_MBFILE_MAX + 4 * IB_PATH_MAX));
	sqlite3_progress_handler(r->db, 10000, interrupt_check, NULL);
	if ((rc = sqlite3_exec(r->db, "PRAGMA query_only=1; PRAGMA cell_size_check=ON;",
	    NULL, NULL, NULL)) != SQLITE_OK) {
		e = sqlite_err(r->db, rc, "configuring");
		goto fail;
	}
	if ((e = check_schema(r->db)) != IB_OK)
		goto fail;
	*rp = r;
	return IB_OK;
fail:
	ib_manifest_reader_free(r);
	return e;
}

void
ib_manifest_reader_free(struct ib_manifest_reader *r)
{
	if (r == NULL)
		return;
	sqlite3_close(r->db);
	free(r);
}

static int
prepare(struct ib_manifest_reader *r, const char *what,
    const struct ib_manifest_filter *f, sqlite3_stmt **stp)
{
	char sql[256];
	int rc;

	snprintf(sql, sizeof(sql), "SELECT %s FROM Files WHERE (?1 IS NULL OR domain = ?1) "
	    "AND (?2 IS NULL OR relativePath GLOB ?2) AND (?3 = 0 OR flags = ?3)", what);
	rc = sqlite3_prepare_v2(r->db, sql, -1, stp, NULL);
	if (rc != SQLITE_OK)
		return sqlite_err(r->db, rc, "preparing a query");
	if (f != NULL) {
		if ((f->domain != NULL &&
		    sqlite3_bind_text(*stp, 1, f->domain, -1, SQLITE_STATIC) != SQLITE_OK) ||
		    (f->path_glob != NULL &&
		    sqlite3_bind_text(*stp, 2, f->path_glob, -1, SQLITE_STATIC) != SQLITE_OK))
			return sqlite_err(r->db, SQLITE_ERROR, "binding a filter");
	}
	if (sqlite3_bind_int64(*stp, 3, f != NULL ? f->flags : 0) != SQLITE_OK)
		return sqlite_err(r->db, SQLITE_ERROR, "binding a filter");
	return IB_OK;
}

/* A TEXT column without NUL bytes. */
static const char *
text_col(sqlite3_stmt *st, int i)
{
	const char *s;

	if (sqlite3_column_type(st, i) != SQLITE_TEXT)
		return NULL;
	s = (const char *)sqlite3_column_text(st, i);
	if (s == NULL || strlen(s) != (size_t)sqlite3_column_bytes(st, i))
		return NULL;
	return s;
}

static int
row_from(sqlite3_stmt *st, struct ib_manifest_row *row)
{
	int t;

	memset(row, 0, sizeof(*row));
	row->file_id = text_col(st, 0);
	row->domain = text_col(st, 1);
	row->relative_path = text_col(st, 2);
	if (row->file_id == NULL || row->domain == NULL || row->relative_path == NULL ||
	    sqlite3_column_type(st, 3) != SQLITE_INTEGER) {
		ib_err_detail_set("Manifest.db: a Files row has a column of the wrong type");
		return IB_ERR_BACKUP_INVALID;
	}
	row->flags = sqlite3_column_int64(st, 3);
	t = sqlite3_column_type(st, 4);
	if (t == SQLITE_NULL)
		return IB_OK;
	if (t != SQLITE_BLOB) {
		ib_err_detail_set("Manifest.db: a file column is not a blob");
		return IB_ERR_BACKUP_INVALID;
	}
	row->blob = sqlite3_column_blob(st, 4);
	row->blob_len = (size_t)sqlite3_column_bytes(st, 4);
	if (row->blob_len > IB_MBFILE_MAX) {
		ib_err_detail_set("Manifest.db: a file blob of %zu bytes", row->blob_len);
		return IB_ERR_BACKUP_INVALID;
	}
	if (row->blob == NULL)
		row->blob = (const uint8_t *)"";
	return IB_OK;
}

int
ib_manifest_reader_foreach(struct ib_manifest_reader *r,
    const struct ib_manifest_filter *filter, ib_manifest_row_fn fn, void *ctx)
{
	struct ib_manifest_row row;
	sqlite3_stmt *st = NULL;
	int rc, e;

	if (r == NULL || fn == NULL)
		return IB_ERR_INVALID_ARG;
	if ((e = prepare(r, "fileID, domain, relativePath, flags, file", filter, &st)) != IB_OK)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((e = row_from(st, &row)) != IB_OK || (e = fn(ctx, &row)) != IB_OK)
			goto out;
	}
	e = rc == SQLITE_DONE ? IB_OK : sqlite_err(r->db, rc, "reading rows");
out:
	sqlite3_finalize(st);
	return e;
}

int
ib_manifest_reader_count(struct ib_manifest_reader *r,
    const struct ib_manifest_filter *filter, uint64_t *countp)
{
	sqlite3_stmt *st = NULL;
	int rc, e;

	*countp = 0;
	if (r == NULL)
		return IB_ERR_INVALID_ARG;
	if ((e = prepare(r, "count(*)", filter, &st)) != IB_OK)
		goto out;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		e = sqlite_err(r->db, rc, "counting rows");
		goto out;
	}
	*countp = (uint64_t)sqlite3_column_int64(st, 0);
	e = IB_OK;
out:
	sqlite3_finalize(st);
	return e;
}
