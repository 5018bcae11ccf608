/*
 * manifest_db_test - Manifest.db: the exact real schema, fileID vectors,
 * a 100k-row write and read back, filters, and corrupt or hostile
 * databases that must fail with IB_ERR_SQLITE / IB_ERR_BACKUP_INVALID.
 */
#include "ib_test.h"
#include "ib_limits.h"
#include "ib_util.h"
#include "manifest_db.h"
#include "mbfile.h"
#include "mb2_test_util.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

#define mkdir_tmp() tu_mkdtemp(dir, sizeof(dir), "manifest")
#define rm_tmp() tu_rmrf(dir)
#define path_in(out, n, name) tu_path((out), (n), dir, (name))

IB_TEST(manifest_file_id_vectors)
{
	char id[41];

	IB_CHECK_OK(ib_manifest_file_id("HomeDomain", "Library/SMS/sms.db", id));
	IB_CHECK_STR(id, "3d0d7e5fb2ce288813306e4d4636395e047a3d28");
	/* Two rows of a real Manifest.db (mvt fixture), one a domain root. */
	IB_CHECK_OK(ib_manifest_file_id("CameraRollDomain", "Media/PhotoData/momentanalysis", id));
	IB_CHECK_STR(id, "e79835db903d8fd76a82abf9dda1294ec027e317");
	IB_CHECK_OK(ib_manifest_file_id("AppDomainPlugin-com.apple.mobilemail.MailQuickLookExtension",
	    "", id));
	IB_CHECK_STR(id, "865e565f7ee3b2842ce05bf30d5cbc3d68352edd");
}

IB_TEST(manifest_schema_is_exact)
{
	static const char *const want[][3] = {
		{ "table", "Files", "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, "
		  "relativePath TEXT, flags INTEGER, file BLOB)" },
		{ "index", "sqlite_autoindex_Files_1", NULL },
		{ "index", "FilesDomainIdx", "CREATE INDEX FilesDomainIdx ON Files(domain)" },
		{ "index", "FilesRelativePathIdx", "CREATE INDEX FilesRelativePathIdx ON Files(relativePath)" },
		{ "index", "FilesFlagsIdx", "CREATE INDEX FilesFlagsIdx ON Files(flags)" },
		{ "table", "Properties", "CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB)" },
		{ "index", "sqlite_autoindex_Properties_1", NULL },
	};
	struct ib_manifest_writer *w = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char p[128];
	size_t i = 0;

	mkdir_tmp();
	path_in(p, sizeof(p), "Manifest.db");
	IB_CHECK_OK(ib_manifest_writer_create(p, &w));
	IB_CHECK_OK(ib_manifest_writer_add(w, "HomeDomain", "Library/SMS/sms.db", 1, NULL, 0));
	IB_CHECK_OK(ib_manifest_writer_finish(w));
	/* The path exists now: a writer never reuses it. */
	IB_CHECK_ERR(ib_manifest_writer_create(p, &w), IB_ERR_EXISTS);

	IB_CHECK_EQ(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	IB_CHECK_EQ(sqlite3_prepare_v2(db, "SELECT type, name, sql FROM sqlite_master ORDER BY rowid",
	    -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *sql = (const char *)sqlite3_column_text(st, 2);

		IB_CHECK(i < sizeof(want) / sizeof(want[0]));
		IB_CHECK_STR((const char *)sqlite3_column_text(st, 0), want[i][0]);
		IB_CHECK_STR((const char *)sqlite3_column_text(st, 1), want[i][1]);
		IB_CHECK((sql == NULL) == (want[i][2] == NULL));
		if (sql != NULL)
			IB_CHECK_STR(sql, want[i][2]);
		i++;
	}
	IB_CHECK_EQ(i, sizeof(want) / sizeof(want[0]));
	sqlite3_finalize(st);
	IB_CHECK_EQ(sqlite3_prepare_v2(db, "SELECT fileID FROM Files", -1, &st, NULL), SQLITE_OK);
	IB_CHECK_EQ(sqlite3_step(st), SQLITE_ROW);
	IB_CHECK_STR((const char *)sqlite3_column_text(st, 0), "3d0d7e5fb2ce288813306e4d4636395e047a3d28");
	sqlite3_finalize(st);
	IB_CHECK_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	IB_CHECK_EQ(sqlite3_step(st), SQLITE_ROW);
	IB_CHECK_EQ(sqlite3_column_int(st, 0), 2);
	sqlite3_finalize(st);
	sqlite3_close(db);
	rm_tmp();
}

struct readback {
	uint64_t rows, bad, blobs;
};

static int
check_row(void *ctx, const struct ib_manifest_row *row)
{
	struct readback *rb = ctx;
	char id[41];

	rb->rows++;
	if (ib_manifest_file_id(row->domain, row->relative_path, id) != IB_OK ||
	    strcmp(id, row->file_id) != 0)
		rb->bad++;
	if (row->blob != NULL) {
		struct ib_mbfile *f = NULL;

		if (ib_mbfile_decode(row->blob, row->blob_len, &f) != IB_OK ||
		    strcmp(f->relative_path, row->relative_path) != 0 ||
		    (int64_t)f->size != row->flags * 1000)
			rb->bad++;
		else
			rb->blobs++;
		ib_mbfile_free(f);
	}
	return IB_OK;
}

static int
count_rows(struct ib_manifest_reader *r, const char *domain, const char *glob, int64_t flags,
    uint64_t *np)
{
	struct ib_manifest_filter f = { domain, glob, flags };
	struct readback rb = { 0, 0, 0 };
	uint64_t c = 0;
	int e;

	if ((e = ib_manifest_reader_foreach(r, &f, check_row, &rb)) != IB_OK)
		return e;
	if ((e = ib_manifest_reader_count(r, &f, &c)) != IB_OK)
		return e;
	if (c != rb.rows || rb.bad != 0)
		return IB_ERR_INTERNAL;
	*np = c;
	return IB_OK;
}

IB_TEST(manifest_100k_rows_round_trip_and_filters)
{
	struct ib_manifest_writer *w = NULL;
	struct ib_manifest_reader *r = NULL;
	struct readback rb = { 0, 0, 0 };
	static const char *const domains[] = { "HomeDomain", "MediaDomain", "AppDomain-com.x.y",
	    "CameraRollDomain" };
	char p[128], rel[128];
	uint64_t n = 0, t0, i;

	mkdir_tmp();
	path_in(p, sizeof(p), "Manifest.db");
	IB_CHECK_OK(ib_manifest_writer_create(p, &w));
	t0 = ib_now_ms();
	for (i = 0; i < 100000; i++) {
		int64_t flags = i % 10 == 0 ? 2 : i % 97 == 0 ? 4 : 1;
		uint8_t *blob = NULL;
		size_t bn = 0;

		snprintf(rel, sizeof(rel), "Library/%s/d%02llu/file%llu.db", i % 3 ? "SMS" : "Notes",
		    (unsigned long long)(i % 50), (unsigned long long)i);
		if (i % 100 == 0) {
			struct ib_mbfile *f = ib_mbfile_new();

			f->relative_path = strdup(rel);
			f->size = (uint64_t)flags * 1000;
			IB_CHECK_OK(ib_mbfile_encode(f, &blob, &bn));
			ib_mbfile_free(f);
		}
		IB_CHECK_OK(ib_manifest_writer_add(w, domains[i % 4], rel, flags, blob, bn));
		free(blob);
	}
	/* The same (domain, path) twice is refused. */
	IB_CHECK_ERR(ib_manifest_writer_add(w, "HomeDomain", "Library/Notes/d00/file0.db", 1, NULL, 0),
	    IB_ERR_EXISTS);
	IB_CHECK_OK(ib_manifest_writer_finish(w));
	printf("wrote 100000 rows in %llu ms\n", (unsigned long long)(ib_now_ms() - t0));

	IB_CHECK_OK(ib_manifest_reader_open(p, &r));
	IB_CHECK_OK(ib_manifest_reader_foreach(r, NULL, check_row, &rb));
	IB_CHECK_EQ(rb.rows, 100000);
	IB_CHECK_EQ(rb.bad, 0);
	IB_CHECK_EQ(rb.blobs, 1000);
	IB_CHECK_OK(count_rows(r, "HomeDomain", NULL, 0, &n));
	IB_CHECK_EQ(n, 25000);
	IB_CHECK_OK(count_rows(r, NULL, NULL, 2, &n));
	IB_CHECK_EQ(n, 10000);
	/* '*' crosses '/': every Notes file, in any subfolder. */
	IB_CHECK_OK(count_rows(r, NULL, "Library/Notes/*", 0, &n));
	IB_CHECK_EQ(n, 33334);
	IB_CHECK_OK(count_rows(r, "MediaDomain", "Library/SMS/d0[0-4]/*", 0, &n));
	IB_CHECK_OK(count_rows(r, NULL, "library/*", 0, &n));
	IB_CHECK_EQ(n, 0);      /* case-sensitive */
	IB_CHECK_OK(count_rows(r, "HomeDomain", "Library/Notes/d00/file0.db", 1, &n));
	IB_CHECK_EQ(n, 0);      /* row 0 is a directory */
	IB_CHECK_OK(count_rows(r, "HomeDomain", "Library/?otes/d00/file0.db", 2, &n));
	IB_CHECK_EQ(n, 1);
	IB_CHECK_OK(count_rows(r, "NoSuchDomain", NULL, 0, &n));
	IB_CHECK_EQ(n, 0);
	ib_manifest_reader_free(r);
	rm_tmp();
}

/* A database made directly with sqlite, for hostile shapes. */
static int
make_db(const char *p, const char *sql)
{
	sqlite3 *db = NULL;
	int rc;

	unlink(p);
	if (sqlite3_open(p, &db) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static int
noop_row(void *ctx, const struct ib_manifest_row *row)
{
	(void)row;
	++*(uint64_t *)ctx;
	return IB_OK;
}

/* Open and read every row; the first error. */
static int
read_all(const char *p)
{
	struct ib_manifest_reader *r = NULL;
	uint64_t n = 0;
	int e;

	if ((e = ib_manifest_reader_open(p, &r)) != IB_OK)
		return e;
	e = ib_manifest_reader_foreach(r, NULL, noop_row, &n);
	ib_manifest_reader_free(r);
	return e;
}

#define FILES5 "CREATE TABLE Files (fileID, domain, relativePath, flags, file);"

static const struct {
	const char *sql;
	int want, also;
} bad_dbs[] = {
	{ "CREATE TABLE Other (x)", IB_ERR_SQLITE, IB_ERR_SQLITE },
	/* Files as a view that could run arbitrary SQL. */
	{ "CREATE TABLE T (fileID, domain, relativePath, flags, file);"
	  "CREATE VIEW Files AS SELECT * FROM T", IB_ERR_SQLITE, IB_ERR_SQLITE },
	{ "CREATE TABLE Files (fileID TEXT, domain TEXT)", IB_ERR_SQLITE, IB_ERR_SQLITE },
	/* Wrong column types, NUL inside text, an oversized blob. */
	{ FILES5 "INSERT INTO Files VALUES ('id', 'D', 'p', 'one', NULL)",
	  IB_ERR_BACKUP_INVALID, IB_ERR_BACKUP_INVALID },
	{ FILES5 "INSERT INTO Files VALUES ('id', 'D', 12, 1, NULL)",
	  IB_ERR_BACKUP_INVALID, IB_ERR_BACKUP_INVALID },
	{ FILES5 "INSERT INTO Files VALUES ('id', 'D', CAST(x'61006263' AS TEXT), 1, NULL)",
	  IB_ERR_BACKUP_INVALID, IB_ERR_BACKUP_INVALID },
	{ FILES5 "INSERT INTO Files VALUES ('id', 'D', 'p', 1, 'text')",
	  IB_ERR_BACKUP_INVALID, IB_ERR_BACKUP_INVALID },
	{ FILES5 "INSERT INTO Files VALUES ('id', 'D', 'p', 1, zeroblob(300000))",
	  IB_ERR_BACKUP_INVALID, IB_ERR_SQLITE },
};

IB_TEST(manifest_hostile_databases)
{
	char p[128], cmd[512];
	size_t i;
	int fd, e;

	mkdir_tmp();
	path_in(p, sizeof(p), "bad.db");
	IB_CHECK_ERR(read_all(p), IB_ERR_SQLITE);       /* missing */
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	IB_CHECK(fd >= 0);
	IB_CHECK_EQ(write(fd, "this is not a database at all, just some bytes.........", 56), 56);
	close(fd);
	IB_CHECK_ERR(read_all(p), IB_ERR_SQLITE);
	IB_CHECK(strstr(ib_err_detail(), "not a database") != NULL);

	for (i = 0; i < sizeof(bad_dbs) / sizeof(bad_dbs[0]); i++) {
		IB_CHECK_EQ(make_db(p, bad_dbs[i].sql), 0);
		e = read_all(p);
		if (e != bad_dbs[i].want && e != bad_dbs[i].also)
			fprintf(stderr, "    case %zu: %s\n", i, ib_errname(e));
		IB_CHECK(e == bad_dbs[i].want || e == bad_dbs[i].also);
	}

	/* A real-shaped database with its pages overwritten: an error, never
	 * a crash (ASan watches). */
	{
		struct ib_manifest_writer *w = NULL;
		char rel[64];

		unlink(p);
		IB_CHECK_OK(ib_manifest_writer_create(p, &w));
		for (i = 0; i < 3000; i++) {
			snprintf(rel, sizeof(rel), "Library/f%zu", i);
			IB_CHECK_OK(ib_manifest_writer_add(w, "HomeDomain", rel, 1,
			    (const uint8_t *)"blobblobblob", 12));
		}
		IB_CHECK_OK(ib_manifest_writer_finish(w));
		IB_CHECK_OK(read_all(p));
		snprintf(cmd, sizeof(cmd), "dd if=/dev/urandom of='%s' bs=1 seek=8192 count=20000 "
		    "conv=notrunc 2>/dev/null", p);
		IB_CHECK_EQ(system(cmd), 0);
		e = read_all(p);
		IB_CHECK(e == IB_ERR_SQLITE || e == IB_ERR_BACKUP_INVALID);
		IB_CHECK_EQ(truncate(p, 6000), 0);
		e = read_all(p);
		IB_CHECK(e == IB_ERR_SQLITE || e == IB_ERR_BACKUP_INVALID);
	}
	rm_tmp();
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
