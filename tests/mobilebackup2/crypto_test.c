/*
 * crypto_test.c - encrypted-backup cryptography (mobilebackup2/mb2_crypto.h).
 *
 * Expected values never come from the code under test: RFC 3394's own
 * vector, PBKDF2 keys computed with Python's hashlib
 * (gen_crypto_vectors.py), the public pyiosbackup fixture's facts, and the
 * openssl command-line tool as an independent implementation that
 * decrypts what we encrypt and encrypts what we decrypt.
 */
#include "ib_test.h"

#include "ib_limits.h"
#include "ib_util.h"
#include "mb2_crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

extern char **environ;

/* --- known answers (gen_crypto_vectors.py, Python hashlib) ------------ */
static const uint8_t kat_legacy[32] = {
	0xb9, 0xf3, 0xfc, 0xdf, 0x2e, 0x12, 0x35, 0xfc,
	0x5f, 0x27, 0x59, 0x1c, 0xcf, 0xe0, 0x01, 0x32,
	0x2b, 0xc6, 0x48, 0x91, 0x42, 0xa9, 0x53, 0xe9,
	0x15, 0x8b, 0x78, 0xd7, 0x44, 0x9c, 0xb4, 0x9d,
};
static const uint8_t kat_two_round[32] = {
	0xb6, 0xe0, 0x1b, 0xd7, 0xde, 0x7d, 0x3b, 0xeb,
	0xba, 0xcc, 0x6d, 0x7a, 0x6f, 0xc8, 0xea, 0xa5,
	0xaa, 0x7b, 0xef, 0x4c, 0x38, 0x9d, 0x26, 0x29,
	0x87, 0x98, 0x9e, 0x09, 0xfa, 0x71, 0xf5, 0xa7,
};
static const uint8_t kat_utf8_one_iter[32] = {
	0x15, 0x9d, 0xd3, 0x66, 0xce, 0x0b, 0x7c, 0x99,
	0x1a, 0xae, 0x72, 0xeb, 0xc0, 0x81, 0xe0, 0x85,
	0x87, 0xbb, 0xf0, 0xdc, 0x1b, 0x7b, 0x60, 0xf8,
	0x97, 0x6e, 0x39, 0x76, 0xba, 0xfc, 0x27, 0xb2,
};
static const uint8_t kat_empty_password[32] = {
	0xdb, 0x8e, 0xa1, 0x7a, 0x54, 0x71, 0x2a, 0x47,
	0x6c, 0xea, 0x7b, 0x5b, 0xdf, 0xa9, 0x2d, 0xf7,
	0x35, 0x1a, 0x16, 0xac, 0x75, 0x9a, 0x5e, 0x65,
	0xce, 0xe4, 0xbc, 0xc7, 0x1e, 0xd2, 0xb5, 0xc0,
};
static const uint8_t kat_pyiosbackup_fixture[32] = {
	0xec, 0x8e, 0xdc, 0x16, 0x0b, 0x57, 0x45, 0xcc,
	0xae, 0x00, 0x0b, 0xfb, 0x47, 0x87, 0x63, 0x0f,
	0x32, 0x28, 0x21, 0x19, 0x1f, 0xba, 0x7e, 0xea,
	0x38, 0xfe, 0xab, 0x2c, 0x63, 0x07, 0xcd, 0x9b,
};

/* --- small helpers --------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void
fill(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(rng() >> 24);
}

static void
unhex(const char *h, uint8_t *out, size_t n)
{
	size_t i;
	unsigned v;

	for (i = 0; i < n; i++) {
		sscanf(h + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

/* Keybag TLV writer for hand-built keybags. */
struct tb {
	uint8_t d[96 * 1024];
	size_t n;
};
static struct tb T;

static void
tb_hdr(struct tb *t, const char *tag, uint32_t len)
{
	memcpy(t->d + t->n, tag, 4);
	t->d[t->n + 4] = (uint8_t)(len >> 24);
	t->d[t->n + 5] = (uint8_t)(len >> 16);
	t->d[t->n + 6] = (uint8_t)(len >> 8);
	t->d[t->n + 7] = (uint8_t)len;
	t->n += 8;
}

static void
tb_bytes(struct tb *t, const char *tag, const void *p, size_t n)
{
	tb_hdr(t, tag, (uint32_t)n);
	if (n > 0)
		memcpy(t->d + t->n, p, n);
	t->n += n;
}

static void
tb_u32(struct tb *t, const char *tag, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v };

	tb_bytes(t, tag, b, 4);
}

static const uint8_t zeros[64];

/* Header in iOS's order; dpsl NULL = legacy (no DPWT/DPIC/DPSL). */
static void
tb_header(struct tb *t, uint32_t vers, const uint8_t *salt, uint32_t iter,
    const uint8_t *dpsl, uint32_t dpic)
{
	t->n = 0;
	tb_u32(t, "VERS", vers);
	tb_u32(t, "TYPE", 1);
	tb_bytes(t, "UUID", zeros, 16);
	tb_bytes(t, "HMCK", zeros, 40);
	tb_u32(t, "WRAP", 0);
	tb_bytes(t, "SALT", salt, 20);
	tb_u32(t, "ITER", iter);
	if (dpsl != NULL) {
		tb_u32(t, "DPWT", 1);
		tb_u32(t, "DPIC", dpic);
		tb_bytes(t, "DPSL", dpsl, 20);
	}
}

static void
tb_class(struct tb *t, uint32_t clas, uint32_t wrap, uint32_t ktyp,
    const uint8_t wpky[40])
{
	tb_bytes(t, "UUID", zeros, 16);
	tb_u32(t, "CLAS", clas);
	tb_u32(t, "WRAP", wrap);
	tb_u32(t, "KTYP", ktyp);
	tb_bytes(t, "WPKY", wpky, 40);
}

static int
parse_tb(struct tb *t, struct ib_mb2_keybag **kbp)
{
	return ib_mb2_keybag_parse(t->d, t->n, kbp);
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Offset of the value of the nth (0-based) occurrence of tag, by walking
 * the TLVs (independently of the parser under test); -1 if absent. */
static long
tlv_find(const uint8_t *d, size_t n, const char *tag, int nth)
{
	size_t off = 0;

	while (off + 8 <= n) {
		uint32_t len = be32(d + off + 4);

		if (memcmp(d + off, tag, 4) == 0 && nth-- == 0)
			return (long)(off + 8);
		off += 8 + len;
	}
	return -1;
}

static uint32_t
tlv_u32(const uint8_t *d, size_t n, const char *tag, int nth)
{
	long o = tlv_find(d, n, tag, nth);

	return o < 0 ? 0 : be32(d + o);
}

static char tmpdir[64];

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static const char *
tmp_path(const char *name)
{
	static char paths[8][256];
	static int next;
	char *p = paths[next++ % 8];

	if (tmpdir[0] == '\0') {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/ib_crypto_XXXXXX");
		if (mkdtemp(tmpdir) == NULL)
			abort();
	}
	snprintf(p, 256, "%s/%s", tmpdir, name);
	return p;
}

static int
write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int ok = fd >= 0 && write(fd, p, n) == (ssize_t)n;

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

static uint8_t *
read_path(const char *path, size_t *np)
{
	uint8_t *d = NULL;

	*np = 0;
	if (ib_file_read(path, 64u * 1024u * 1024u, &d, np) != IB_OK)
		return NULL;
	return d;
}

/* Run a command (argv[0] looked up in PATH, stdout discarded, stderr
 * kept for the test log); its exit status or -1. Paths from tmp_path()
 * are only valid for the next few calls: copy those kept longer. */
static int
run(const char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, r;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	r = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (r == 0)
		r = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv,
		    environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return -1;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* An anonymous file holding n bytes, positioned at 0. */
static int
mem_fd(const void *p, size_t n)
{
	int fd = memfd_create("ib_crypto_test", 0);

	if (fd < 0)
		return -1;
	if ((n > 0 && write(fd, p, n) != (ssize_t)n) ||
	    lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static uint8_t *
fd_contents(int fd, size_t *np)
{
	off_t end = lseek(fd, 0, SEEK_END);
	uint8_t *d;

	*np = 0;
	if (end < 0 || lseek(fd, 0, SEEK_SET) != 0 ||
	    (d = malloc((size_t)end + 1)) == NULL)
		return NULL;
	if (end > 0 && read(fd, d, (size_t)end) != end) {
		free(d);
		return NULL;
	}
	*np = (size_t)end;
	return d;
}

/* --- primitives ------------------------------------------------------ */

/* RFC 3394 section 4.6: 256-bit KEK, 256-bit key data. */
IB_TEST(rfc3394_vector_wrap_and_unwrap)
{
	uint8_t kek[32], data[32], want[40], got[40], back[32];

	unhex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
	    kek, 32);
	unhex("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
	    data, 32);
	unhex("28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43B"
	    "FB988B9B7A02DD21", want, 40);
	IB_CHECK_OK(ib_mb2_aes_wrap(kek, data, got));
	IB_CHECK(memcmp(got, want, 40) == 0);
	IB_CHECK_OK(ib_mb2_aes_unwrap(kek, want, back));
	IB_CHECK(memcmp(back, data, 32) == 0);
	/* Integrity check: any flipped bit or wrong KEK fails, output zeroed. */
	want[17] ^= 0x01;
	memset(back, 0xAA, sizeof(back));
	IB_CHECK_ERR(ib_mb2_aes_unwrap(kek, want, back), IB_ERR_DECRYPT);
	IB_CHECK(memcmp(back, zeros, 32) == 0);
	want[17] ^= 0x01;
	kek[0] ^= 0x80;
	IB_CHECK_ERR(ib_mb2_aes_unwrap(kek, want, back), IB_ERR_DECRYPT);
}

IB_TEST(pbkdf2_known_answers)
{
	uint8_t salt[20], dpsl[20], key[32];
	const char *utf8 = "p\xc3\xa4ssw\xc3\xb6rd\xe2\x98\x83";
	size_t i;

	for (i = 0; i < 20; i++)
		salt[i] = (uint8_t)(i + 1);
	IB_CHECK_OK(ib_mb2_password_key("ibackup legacy", 14, salt, 10000,
	    NULL, 0, key));
	IB_CHECK(memcmp(key, kat_legacy, 32) == 0);
	/* dpic 0 means legacy even with a DPSL pointer. */
	IB_CHECK_OK(ib_mb2_password_key("ibackup legacy", 14, salt, 10000,
	    zeros, 0, key));
	IB_CHECK(memcmp(key, kat_legacy, 32) == 0);

	for (i = 0; i < 20; i++) {
		salt[i] = (uint8_t)(0x40 + i);
		dpsl[i] = (uint8_t)(0x20 + i);
	}
	IB_CHECK_OK(ib_mb2_password_key("correct horse battery staple", 28,
	    salt, 10000, dpsl, 1000, key));
	IB_CHECK(memcmp(key, kat_two_round, 32) == 0);

	memset(dpsl, 0xff, sizeof(dpsl));
	IB_CHECK_OK(ib_mb2_password_key(utf8, strlen(utf8), zeros, 1, dpsl, 1,
	    key));
	IB_CHECK(memcmp(key, kat_utf8_one_iter, 32) == 0);

	for (i = 0; i < 20; i++)
		salt[i] = (uint8_t)(20 - i);
	IB_CHECK_OK(ib_mb2_password_key(NULL, 0, salt, 1, NULL, 0, key));
	IB_CHECK(memcmp(key, kat_empty_password, 32) == 0);

	IB_CHECK_ERR(ib_mb2_password_key("x", 1, salt, 0, NULL, 0, key),
	    IB_ERR_INVALID_ARG);
}

/* --- keybag: fixtures from public facts --------------------------------- */

/* pyiosbackup tests/conftest.py + test_keybag.py (facts only): password
 * "0000", zero SALT/DPSL/UUIDs, ITER 10000, DPIC 10,000,000, classes 11..1
 * (WRAP 3 for 11, 10, 9, 5) all with one WPKY that unwraps to zeros, and a
 * class-2 EncryptionKey whose 16-byte ciphertext is "Test data". */
static const char fixture_wpky[] =
    "528c9c5171bf8bef1ea397cf29d2a838c90529df02a6ad2f823a1c6f3a5b2040e2a309c520c6a2ab";
static const char fixture_file_key[] =
    "0200000097317494343807e690fd1e431413963dc0e3deb4907fb89fa36ce65126d0ea1301381fb3a2941e2f";
static const char fixture_ciphertext[] = "78b51ca5374c3ad575174288688cda49";

static void
build_fixture(struct tb *t)
{
	uint8_t wpky[40];
	uint32_t c;

	unhex(fixture_wpky, wpky, 40);
	tb_header(t, 5, zeros, 10000, zeros, 10000000);
	for (c = 11; c >= 1; c--)
		tb_class(t, c, c == 11 || c == 10 || c == 9 || c == 5 ? 3 : 2, 0,
		    wpky);
}

IB_TEST(fixture_wpky_unwraps_under_python_derived_key)
{
	uint8_t wpky[40], key[32];

	unhex(fixture_wpky, wpky, 40);
	IB_CHECK_OK(ib_mb2_aes_unwrap(kat_pyiosbackup_fixture, wpky, key));
	IB_CHECK(memcmp(key, zeros, 32) == 0);
}

IB_TEST(fixture_keybag_unlocks_and_decrypts_test_data)
{
	struct ib_mb2_keybag *kb = NULL;
	struct ib_mb2_keybag_info info;
	uint8_t blob[44], ct[16], key[32], out[64];
	size_t n1 = 0, n2 = 0;
	struct ib_mb2_cipher *c = NULL;

	build_fixture(&T);
	IB_CHECK_OK(parse_tb(&T, &kb));
	ib_mb2_keybag_get_info(kb, &info);
	IB_CHECK_EQ(info.version, 5);
	IB_CHECK_EQ(info.type, 1);
	IB_CHECK_EQ(info.iter, 10000);
	IB_CHECK_EQ(info.dpic, 10000000);
	IB_CHECK(info.has_dp);
	IB_CHECK_EQ(info.classes, 11);
	IB_CHECK(!ib_mb2_keybag_is_unlocked(kb));
	IB_CHECK_OK(ib_mb2_keybag_unlock(kb, "0000", 4, NULL));   /* ~3 s */
	IB_CHECK(ib_mb2_keybag_is_unlocked(kb));
	unhex(fixture_file_key, blob, 44);
	unhex(fixture_ciphertext, ct, 16);
	/* pyiosbackup also uses this blob as ManifestKey (class 2). */
	IB_CHECK_OK(ib_mb2_keybag_unwrap_manifest_key(kb, blob, 44, key));
	IB_CHECK_OK(ib_mb2_keybag_unwrap_file_key(kb, blob, 44, 2, key));
	IB_CHECK_OK(ib_mb2_cipher_new(IB_MB2_DECRYPT, key, 9, &c));
	IB_CHECK_OK(ib_mb2_cipher_update(c, ct, 16, out, sizeof(out), &n1));
	IB_CHECK_OK(ib_mb2_cipher_final(c, out + n1, sizeof(out) - n1, &n2));
	IB_CHECK_EQ(n1 + n2, 9);
	IB_CHECK(memcmp(out, "Test data", 9) == 0);
	ib_mb2_cipher_free(c);
	ib_mb2_keybag_free(kb);
}

/* Hand-built keybags for the Python-derived keys: the parser, the
 * scheme choice (by tag presence) and unlock against independent values. */
static void
kat_bag_round_trip(const uint8_t pwkey[32], const char *pw,
    const uint8_t *salt, uint32_t iter, const uint8_t *dpsl, uint32_t dpic,
    int *okp)
{
	struct ib_mb2_keybag *kb = NULL;
	uint8_t ck[32], wpky[40], fk[32], blob[44], got[32];

	*okp = 0;
	fill(ck, 32);
	fill(fk, 32);
	if (ib_mb2_aes_wrap(pwkey, ck, wpky) != IB_OK)
		return;
	tb_header(&T, dpsl ? 5 : 3, salt, iter, dpsl, dpic);
	tb_class(&T, 3, 2, 0, wpky);
	/* blob = class 3 LE + wrap(ck, fk) */
	blob[0] = 3;
	blob[1] = blob[2] = blob[3] = 0;
	if (ib_mb2_aes_wrap(ck, fk, blob + 4) != IB_OK ||
	    parse_tb(&T, &kb) != IB_OK)
		goto out;
	if (ib_mb2_keybag_unlock(kb, pw, strlen(pw), NULL) != IB_OK ||
	    ib_mb2_keybag_unwrap_file_key(kb, blob, 44, 3, got) != IB_OK)
		goto out;
	*okp = memcmp(got, fk, 32) == 0;
out:
	ib_mb2_keybag_free(kb);
}

IB_TEST(keybag_unlocks_with_python_derived_keys)
{
	uint8_t salt[20], dpsl[20];
	size_t i;
	int ok;

	for (i = 0; i < 20; i++)
		salt[i] = (uint8_t)(i + 1);
	kat_bag_round_trip(kat_legacy, "ibackup legacy", salt, 10000, NULL, 0,
	    &ok);
	IB_CHECK(ok);
	for (i = 0; i < 20; i++) {
		salt[i] = (uint8_t)(0x40 + i);
		dpsl[i] = (uint8_t)(0x20 + i);
	}
	kat_bag_round_trip(kat_two_round, "correct horse battery staple", salt,
	    10000, dpsl, 1000, &ok);
	IB_CHECK(ok);
	/* The same bag read as legacy (no DPSL/DPIC) must not unlock. */
	tb_header(&T, 5, salt, 10000, NULL, 0);
	{
		uint8_t ck[32] = { 1 }, wpky[40];
		struct ib_mb2_keybag *kb = NULL;

		IB_CHECK_OK(ib_mb2_aes_wrap(kat_two_round, ck, wpky));
		tb_class(&T, 3, 2, 0, wpky);
		IB_CHECK_OK(parse_tb(&T, &kb));
		IB_CHECK_ERR(ib_mb2_keybag_unlock(kb,
		    "correct horse battery staple", 28, NULL),
		    IB_ERR_WRONG_PASSWORD);
		ib_mb2_keybag_free(kb);
	}
}

/* --- keybag: device side round trips ------------------------------------ */

static const struct ib_mb2_keybag_params fast = { 1000, 1000 };

IB_TEST(keybag_create_serialize_parse_unlock)
{
	struct ib_mb2_keybag *dev = NULL, *host = NULL;
	struct ib_mb2_keybag_info di, hi;
	uint8_t *s1 = NULL, *s2 = NULL, key[32], blob[44], got[32];
	size_t l1, l2;
	uint32_t c;

	IB_CHECK_OK(ib_mb2_keybag_create("s3cret", 6, &fast, &dev));
	IB_CHECK(ib_mb2_keybag_is_unlocked(dev));
	IB_CHECK_OK(ib_mb2_keybag_serialize(dev, &s1, &l1));
	/* iOS layout, checked by an independent TLV walk. */
	IB_CHECK(memcmp(s1, "VERS", 4) == 0);
	IB_CHECK_EQ(tlv_u32(s1, l1, "TYPE", 0), 1);
	IB_CHECK_EQ(tlv_u32(s1, l1, "ITER", 0), 1000);
	IB_CHECK_EQ(tlv_u32(s1, l1, "DPIC", 0), 1000);
	IB_CHECK(tlv_find(s1, l1, "DPSL", 0) >= 0);
	IB_CHECK(tlv_find(s1, l1, "UUID", 11) >= 0);
	IB_CHECK(tlv_find(s1, l1, "UUID", 12) < 0);
	IB_CHECK_EQ(tlv_u32(s1, l1, "CLAS", 0), 11);
	IB_CHECK_EQ(tlv_u32(s1, l1, "CLAS", 10), 1);
	IB_CHECK(l1 < 2048);

	IB_CHECK_OK(ib_mb2_keybag_parse(s1, l1, &host));
	ib_mb2_keybag_get_info(dev, &di);
	ib_mb2_keybag_get_info(host, &hi);
	IB_CHECK(memcmp(&di, &hi, sizeof(di)) == 0);
	IB_CHECK_EQ(hi.classes, 11);
	IB_CHECK_ERR(ib_mb2_keybag_unwrap_manifest_key(host, blob, 44, got),
	    IB_ERR_STATE);
	IB_CHECK_OK(ib_mb2_keybag_unlock(host, "s3cret", 6, NULL));
	for (c = 1; c <= 11; c++) {
		IB_CHECK_OK(ib_mb2_keybag_new_key(dev, c, key, blob));
		IB_CHECK_EQ(blob[0], c);
		IB_CHECK(blob[1] == 0 && blob[2] == 0 && blob[3] == 0);
		IB_CHECK_OK(ib_mb2_keybag_unwrap_file_key(host, blob, 44, c, got));
		IB_CHECK(memcmp(got, key, 32) == 0);
	}
	IB_CHECK_OK(ib_mb2_keybag_new_key(dev, IB_MB2_MANIFEST_KEY_CLASS, key,
	    blob));
	IB_CHECK_OK(ib_mb2_keybag_unwrap_manifest_key(host, blob, 44, got));
	IB_CHECK(memcmp(got, key, 32) == 0);
	/* Serialisation is canonical: parse + serialise gives the same bytes. */
	IB_CHECK_OK(ib_mb2_keybag_serialize(host, &s2, &l2));
	IB_CHECK(l1 == l2 && memcmp(s1, s2, l1) == 0);
	IB_CHECK_ERR(ib_mb2_keybag_wrap_key(dev, 42, key, blob), IB_ERR_NOT_FOUND);
	free(s1);
	free(s2);
	ib_mb2_keybag_free(dev);
	ib_mb2_keybag_free(host);
}

IB_TEST(keybag_wrong_password)
{
	struct ib_mb2_keybag *dev = NULL, *host = NULL;
	uint8_t *s = NULL, key[32], blob[44], got[32];
	size_t l;

	IB_CHECK_OK(ib_mb2_keybag_create("right", 5, &fast, &dev));
	IB_CHECK_OK(ib_mb2_keybag_new_key(dev, 4, key, blob));
	IB_CHECK_OK(ib_mb2_keybag_serialize(dev, &s, &l));
	IB_CHECK_OK(ib_mb2_keybag_parse(s, l, &host));
	IB_CHECK_ERR(ib_mb2_keybag_unlock(host, "wrong", 5, NULL),
	    IB_ERR_WRONG_PASSWORD);
	IB_CHECK(strstr(ib_err_detail(), "integrity") != NULL);
	IB_CHECK_ERR(ib_mb2_keybag_unlock(host, "righ", 4, NULL),
	    IB_ERR_WRONG_PASSWORD);
	IB_CHECK_ERR(ib_mb2_keybag_unlock(host, NULL, 0, NULL),
	    IB_ERR_WRONG_PASSWORD);
	IB_CHECK(!ib_mb2_keybag_is_unlocked(host));
	IB_CHECK_ERR(ib_mb2_keybag_unwrap_manifest_key(host, blob, 44, got),
	    IB_ERR_STATE);
	IB_CHECK_OK(ib_mb2_keybag_unlock(host, "right", 5, NULL));
	/* A failed re-unlock keeps the keybag as it was (unlocked). */
	IB_CHECK_ERR(ib_mb2_keybag_unlock(host, "wrong", 5, NULL),
	    IB_ERR_WRONG_PASSWORD);
	IB_CHECK(ib_mb2_keybag_is_unlocked(host));
	IB_CHECK_OK(ib_mb2_keybag_unwrap_manifest_key(host, blob, 44, got));
	IB_CHECK(memcmp(got, key, 32) == 0);
	free(s);
	ib_mb2_keybag_free(dev);
	ib_mb2_keybag_free(host);
}

IB_TEST(keybag_legacy_without_dpsl)
{
	static const struct ib_mb2_keybag_params legacy = { 1000, 0 };
	struct ib_mb2_keybag *dev = NULL, *host = NULL;
	struct ib_mb2_keybag_info info;
	uint8_t *s = NULL, key[32], blob[44], got[32];
	size_t l;

	IB_CHECK_OK(ib_mb2_keybag_create("old", 3, &legacy, &dev));
	IB_CHECK_OK(ib_mb2_keybag_serialize(dev, &s, &l));
	IB_CHECK(tlv_find(s, l, "DPSL", 0) < 0);
	IB_CHECK(tlv_find(s, l, "DPIC", 0) < 0);
	IB_CHECK(tlv_find(s, l, "DPWT", 0) < 0);
	IB_CHECK_OK(ib_mb2_keybag_parse(s, l, &host));
	ib_mb2_keybag_get_info(host, &info);
	IB_CHECK(!info.has_dp);
	IB_CHECK_EQ(info.dpic, 0);
	IB_CHECK_ERR(ib_mb2_keybag_unlock(host, "new", 3, NULL),
	    IB_ERR_WRONG_PASSWORD);
	IB_CHECK_OK(ib_mb2_keybag_unlock(host, "old", 3, NULL));
	IB_CHECK_OK(ib_mb2_keybag_new_key(dev, 3, key, blob));
	IB_CHECK_OK(ib_mb2_keybag_unwrap_file_key(host, blob, 44, 3, got));
	IB_CHECK(memcmp(got, key, 32) == 0);
	free(s);
	ib_mb2_keybag_free(dev);
	ib_mb2_keybag_free(host);
}

IB_TEST(keybag_tampered_wpky_is_wrong_password)
{
	struct ib_mb2_keybag *dev = NULL, *host = NULL;
	uint8_t *s = NULL;
	size_t l;
	long off;
	int nth;

	IB_CHECK_OK(ib_mb2_keybag_create("pw", 2, &fast, &dev));
	IB_CHECK_OK(ib_mb2_keybag_serialize(dev, &s, &l));
	for (nth = 0; nth < 11; nth += 5) {
		off = tlv_find(s, l, "WPKY", nth);
		IB_CHECK(off > 0);
		s[off + 39 - nth] ^= 0x04;
		IB_CHECK_OK(ib_mb2_keybag_parse(s, l, &host));
		IB_CHECK_ERR(ib_mb2_keybag_unlock(host, "pw", 2, NULL),
		    IB_ERR_WRONG_PASSWORD);
		ib_mb2_keybag_free(host);
		host = NULL;
		s[off + 39 - nth] ^= 0x04;
	}
	free(s);
	ib_mb2_keybag_free(dev);
}

IB_TEST(keybag_change_password_keeps_class_keys)
{
	struct ib_mb2_keybag *dev = NULL, *host = NULL;
	uint8_t *s1 = NULL, *s2 = NULL, key[32], blob[44], got[32];
	size_t l1, l2;

	IB_CHECK_OK(ib_mb2_keybag_create("old password", 12, &fast, &dev));
	IB_CHECK_OK(ib_mb2_keybag_new_key(dev, 3, key, blob));
	IB_CHECK_OK(ib_mb2_keybag_serialize(dev, &s1, &l1));
	/* The agent's flow: parse the stored bag, check the old password,
	 * re-wrap, store. */
	IB_CHECK_OK(ib_mb2_keybag_parse(s1, l1, &host));
	IB_CHECK_ERR(ib_mb2_keybag_change_password(host, "new", 3), IB_ERR_STATE);
	IB_CHECK_ERR(ib_mb2_keybag_unlock(host, "bad", 3, NULL),
	    IB_ERR_WRONG_PASSWORD);
	IB_CHECK_OK(ib_mb2_keybag_unlock(host, "old password", 12, NULL));
	IB_CHECK_OK(ib_mb2_keybag_change_password(host, "new password", 12));
	IB_CHECK_OK(ib_mb2_keybag_serialize(host, &s2, &l2));
	IB_CHECK_EQ(l1, l2);
	IB_CHECK(memcmp(s1 + tlv_find(s1, l1, "SALT", 0),
	    s2 + tlv_find(s2, l2, "SALT", 0), 20) != 0);
	IB_CHECK(memcmp(s1 + tlv_find(s1, l1, "DPSL", 0),
	    s2 + tlv_find(s2, l2, "DPSL", 0), 20) != 0);
	IB_CHECK(memcmp(s1 + tlv_find(s1, l1, "UUID", 0),
	    s2 + tlv_find(s2, l2, "UUID", 0), 16) == 0);
	ib_mb2_keybag_free(host);
	IB_CHECK_OK(ib_mb2_keybag_parse(s2, l2, &host));
	IB_CHECK_ERR(ib_mb2_keybag_unlock(host, "old password", 12, NULL),
	    IB_ERR_WRONG_PASSWORD);
	IB_CHECK_OK(ib_mb2_keybag_unlock(host, "new password", 12, NULL));
	/* Keys wrapped before the change still open. */
	IB_CHECK_OK(ib_mb2_keybag_unwrap_file_key(host, blob, 44, 3, got));
	IB_CHECK(memcmp(got, key, 32) == 0);
	free(s1);
	free(s2);
	ib_mb2_keybag_free(dev);
	ib_mb2_keybag_free(host);
}

IB_TEST(file_key_class_prefix_and_protection_class)
{
	struct ib_mb2_keybag *kb = NULL;
	uint8_t key[32], blob[44], got[32];

	IB_CHECK_OK(ib_mb2_keybag_create("pw", 2, &fast, &kb));
	IB_CHECK_OK(ib_mb2_keybag_new_key(kb, 3, key, blob));
	/* ProtectionClass disagrees with the prefix: the prefix's class is
	 * tried after ProtectionClass's key fails the integrity check. */
	IB_CHECK_OK(ib_mb2_keybag_unwrap_file_key(kb, blob, 44, 4, got));
	IB_CHECK(memcmp(got, key, 32) == 0);
	IB_CHECK_OK(ib_mb2_keybag_unwrap_file_key(kb, blob, 44, 99, got));
	IB_CHECK(memcmp(got, key, 32) == 0);
	/* Prefix wrong, ProtectionClass right: ProtectionClass wins. */
	blob[0] = 4;
	IB_CHECK_OK(ib_mb2_keybag_unwrap_file_key(kb, blob, 44, 3, got));
	IB_CHECK(memcmp(got, key, 32) == 0);
	/* Neither right. */
	IB_CHECK_ERR(ib_mb2_keybag_unwrap_file_key(kb, blob, 44, 5, got),
	    IB_ERR_DECRYPT);
	IB_CHECK_ERR(ib_mb2_keybag_unwrap_manifest_key(kb, blob, 44, got),
	    IB_ERR_DECRYPT);
	blob[0] = 99;
	IB_CHECK_ERR(ib_mb2_keybag_unwrap_manifest_key(kb, blob, 44, got),
	    IB_ERR_DECRYPT);
	IB_CHECK(strstr(ib_err_detail(), "class 99") != NULL);
	blob[0] = 3;
	IB_CHECK_ERR(ib_mb2_keybag_unwrap_file_key(kb, blob, 43, 3, got),
	    IB_ERR_DECRYPT);
	IB_CHECK_ERR(ib_mb2_keybag_unwrap_file_key(kb, blob, 45, 3, got),
	    IB_ERR_DECRYPT);
	blob[30] ^= 1;
	IB_CHECK_ERR(ib_mb2_keybag_unwrap_file_key(kb, blob, 44, 3, got),
	    IB_ERR_DECRYPT);
	ib_mb2_keybag_free(kb);
}

/* --- keybag: malformed input ------------------------------------------- */

static int
parse_rc(void)
{
	struct ib_mb2_keybag *kb = NULL;
	int r = parse_tb(&T, &kb);

	if ((r == IB_OK) != (kb != NULL))
		return IB_ERR_INTERNAL;
	ib_mb2_keybag_free(kb);
	return r;
}

static void
good_bag(unsigned nclasses)
{
	unsigned c;

	tb_header(&T, 5, zeros, 10, zeros, 10);
	for (c = 1; c <= nclasses; c++)
		tb_class(&T, c, 2, 0, zeros);
}

IB_TEST(keybag_truncated_at_every_length)
{
	struct ib_mb2_keybag *dev = NULL, *kb = NULL;
	struct ib_mb2_keybag_info info;
	uint8_t *s = NULL;
	size_t l, cut, boundary = 0;
	int r;

	IB_CHECK_OK(ib_mb2_keybag_create("pw", 2, &fast, &dev));
	IB_CHECK_OK(ib_mb2_keybag_serialize(dev, &s, &l));
	for (cut = 0; cut < l; cut++) {
		uint8_t *copy = malloc(cut + 1);

		IB_CHECK(copy != NULL);
		memcpy(copy, s, cut);
		r = ib_mb2_keybag_parse(copy, cut, &kb);
		free(copy);
		/* Mid-TLV cuts always fail; a cut on a TLV boundary may leave
		 * a complete keybag with fewer classes. */
		while (boundary < cut)
			boundary += 8 + be32(s + boundary + 4);
		if (r == IB_OK) {
			IB_CHECK(boundary == cut);
			ib_mb2_keybag_get_info(kb, &info);
			IB_CHECK(info.classes < 11);
			ib_mb2_keybag_free(kb);
			kb = NULL;
		} else {
			IB_CHECK_ERR(r, IB_ERR_KEYBAG);
			IB_CHECK(kb == NULL);
		}
	}
	free(s);
	ib_mb2_keybag_free(dev);
}

IB_TEST(keybag_oversized_and_hostile_lengths)
{
	uint8_t big[IB_KEYBAG_VALUE_MAX + 1] = { 0 };

	good_bag(2);
	IB_CHECK_OK(parse_rc());
	/* Length field beyond the data. */
	tb_hdr(&T, "XXXX", 0xFFFFFFFFu);
	IB_CHECK_ERR(parse_rc(), IB_ERR_KEYBAG);
	IB_CHECK(strstr(ib_err_detail(), "XXXX") != NULL);
	/* Unknown tag over the value cap (while the data is all there). */
	good_bag(2);
	tb_bytes(&T, "ZZZZ", big, sizeof(big));
	IB_CHECK_ERR(parse_rc(), IB_ERR_KEYBAG);
	/* Unknown tags within the cap are skipped, in both scopes. */
	tb_header(&T, 5, zeros, 10, zeros, 10);
	tb_bytes(&T, "ZZZZ", big, IB_KEYBAG_VALUE_MAX);
	tb_class(&T, 1, 2, 0, zeros);
	tb_bytes(&T, "\x01\x02\x03\x04", big, 3);
	IB_CHECK_OK(parse_rc());
	/* Whole keybag over IB_KEYBAG_MAX. */
	good_bag(1);
	while (T.n <= IB_KEYBAG_MAX)
		tb_bytes(&T, "ZZZZ", big, IB_KEYBAG_VALUE_MAX);
	IB_CHECK_ERR(parse_rc(), IB_ERR_KEYBAG);
	/* Too many class keys. */
	good_bag(IB_KEYBAG_CLASSES_MAX);
	IB_CHECK_OK(parse_rc());
	tb_class(&T, IB_KEYBAG_CLASSES_MAX + 1, 2, 0, zeros);
	IB_CHECK_ERR(parse_rc(), IB_ERR_KEYBAG);
	/* WPKY over its own cap, fixed fields with the wrong size. */
	good_bag(1);
	tb_bytes(&T, "PBKY", big, 65);
	IB_CHECK_ERR(parse_rc(), IB_ERR_KEYBAG);
	tb_header(&T, 5, zeros, 10, zeros, 10);
	T.n -= 28;                      /* drop DPSL */
	tb_bytes(&T, "DPSL", zeros, 19);
	tb_class(&T, 1, 2, 0, zeros);
	IB_CHECK_ERR(parse_rc(), IB_ERR_KEYBAG);
	IB_CHECK(strstr(ib_err_detail(), "DPSL") != NULL);
	good_bag(0);
	tb_bytes(&T, "UUID", zeros, 16);
	tb_bytes(&T, "CLAS", zeros, 5);
	IB_CHECK_ERR(parse_rc(), IB_ERR_KEYBAG);
}

IB_TEST(keybag_missing_duplicate_and_misplaced_tags)
{
	struct ib_mb2_keybag *kb = NULL;

	good_bag(1);
	tb_u32(&T, "CLAS", 7);          /* second CLAS in the entry */
	IB_CHECK_ERR(parse_rc(), IB_ERR_KEYBAG);
	IB_CHECK(strstr(ib_err_detail(), "twice") != NULL);

	tb_header(&T, 5, zeros, 10, zeros, 10);
	tb_bytes(&T, "SALT", zeros, 20);
	tb_class(&T, 1, 2, 0, zeros);
	IB_CHECK_ERR(parse_rc(), IB_ERR_KEYBAG);
	IB_CHECK(strstr(ib_err_detail(), "SALT") != NULL);

	/* Missing mandatory header tag: rebuild without ITER. */
	T.n = 0;
	tb_u32(&T, "VERS", 5);
	tb_u32(&T, "TYPE", 1);
	tb_bytes(&T, "UUID", zeros, 16);
	tb_bytes(&T, "SALT", zeros, 20);
	tb_class(&T, 1, 2, 0, zeros);
	IB_CHECK_ERR(parse_rc(), IB_ERR_KEYBAG);
	IB_CHECK(strstr(ib_err_detail(), "ITER") != NULL);

	/* Class tag before any class UUID; header tag inside a class. */
	tb_header(&T, 5, zeros, 10, zeros, 10);
	tb_u32(&T, "CLAS", 1);
	IB_CHECK_ERR(parse_rc(), IB_ERR_KEYBAG);
	good_bag(1);
	tb_u32(&T, "ITER", 5);
	IB_CHECK_ERR(parse_rc(), IB_ERR_KEYBAG);
	IB_CHECK(strstr(ib_err_detail(), "ITER") != NULL);

	/* The same protection class twice; a class entry without WPKY. */
	good_bag(2);
	tb_class(&T, 2, 2, 0, zeros);
	IB_CHECK_ERR(parse_rc(), IB_ERR_KEYBAG);
	good_bag(1);
	tb_bytes(&T, "UUID", zeros, 16);
	tb_u32(&T, "CLAS", 2);
	tb_u32(&T, "WRAP", 2);
	IB_CHECK_ERR(parse_rc(), IB_ERR_KEYBAG);
	IB_CHECK(strstr(ib_err_detail(), "WPKY") != NULL);

	/* No class at all; empty input. */
	good_bag(0);
	IB_CHECK_ERR(parse_rc(), IB_ERR_KEYBAG);
	IB_CHECK_ERR(ib_mb2_keybag_parse(NULL, 0, &kb), IB_ERR_KEYBAG);

	/* DPIC without DPSL; zero iterations. */
	tb_header(&T, 5, zeros, 10, NULL, 0);
	tb_u32(&T, "DPIC", 10);
	tb_class(&T, 1, 2, 0, zeros);
	IB_CHECK_ERR(parse_rc(), IB_ERR_KEYBAG);
	tb_header(&T, 5, zeros, 0, zeros, 10);
	tb_class(&T, 1, 2, 0, zeros);
	IB_CHECK_ERR(parse_rc(), IB_ERR_KEYBAG);

	/* TYPE: only backup keybags; the top two bits are flags. */
	T.n = 0;
	tb_u32(&T, "VERS", 5);
	tb_u32(&T, "TYPE", 0);
	tb_bytes(&T, "UUID", zeros, 16);
	tb_bytes(&T, "SALT", zeros, 20);
	tb_u32(&T, "ITER", 1);
	tb_class(&T, 1, 2, 0, zeros);
	IB_CHECK_ERR(parse_rc(), IB_ERR_KEYBAG);
	T.d[23] = 0x01;
	T.d[20] = 0xC0;                 /* TYPE 0xC0000001 */
	IB_CHECK_OK(parse_rc());
}

IB_TEST(keybag_iteration_caps)
{
	struct ib_mb2_keybag *kb = NULL;
	const struct ib_mb2_kdf_limits low = { 999, 999 };
	const struct ib_mb2_kdf_limits iter_ok = { 1000, 999 };

	tb_header(&T, 5, zeros, 1000, zeros, 1000);
	tb_class(&T, 1, 2, 0, zeros);
	IB_CHECK_OK(parse_tb(&T, &kb));
	IB_CHECK_ERR(ib_mb2_keybag_unlock(kb, "x", 1, &low), IB_ERR_KEYBAG);
	IB_CHECK(strstr(ib_err_detail(), "ITER") != NULL);
	IB_CHECK_ERR(ib_mb2_keybag_unlock(kb, "x", 1, &iter_ok), IB_ERR_KEYBAG);
	IB_CHECK(strstr(ib_err_detail(), "DPIC") != NULL);
	ib_mb2_keybag_free(kb);
	kb = NULL;
	/* Hostile counts are refused before any work with the default caps
	 * (without the cap this unlock would run for hours and time out). */
	tb_header(&T, 5, zeros, 10, zeros, 0xFFFFFFFFu);
	tb_class(&T, 1, 2, 0, zeros);
	IB_CHECK_OK(parse_tb(&T, &kb));
	IB_CHECK_ERR(ib_mb2_keybag_unlock(kb, "x", 1, NULL), IB_ERR_KEYBAG);
	IB_CHECK(strstr(ib_err_detail(), "DPIC") != NULL);
	ib_mb2_keybag_free(kb);
	kb = NULL;
	tb_header(&T, 5, zeros, IB_KEYBAG_ITER_MAX + 1, NULL, 0);
	tb_class(&T, 1, 2, 0, zeros);
	IB_CHECK_OK(parse_tb(&T, &kb));
	IB_CHECK_ERR(ib_mb2_keybag_unlock(kb, "x", 1, NULL), IB_ERR_KEYBAG);
	ib_mb2_keybag_free(kb);
}

IB_TEST(keybag_curve25519_and_unwrapped_classes_skipped)
{
	struct ib_mb2_keybag *kb = NULL;
	uint8_t pwkey[32], ck[32] = { 7 }, wpky[40], fk[32] = { 9 };
	uint8_t blob[44] = { 2 }, got[32];

	IB_CHECK_OK(ib_mb2_password_key("pw", 2, zeros, 1, NULL, 0, pwkey));
	IB_CHECK_OK(ib_mb2_aes_wrap(pwkey, ck, wpky));
	tb_header(&T, 4, zeros, 1, NULL, 0);
	tb_class(&T, 2, 2, 1, zeros);               /* Curve25519 */
	tb_bytes(&T, "PBKY", zeros, 32);
	tb_class(&T, 6, 1, 0, zeros);               /* device-only wrap */
	tb_class(&T, 3, 2, 0, wpky);
	IB_CHECK_OK(parse_tb(&T, &kb));
	IB_CHECK_OK(ib_mb2_keybag_unlock(kb, "pw", 2, NULL));
	IB_CHECK_OK(ib_mb2_aes_wrap(ck, fk, blob + 4));
	blob[0] = 3;
	IB_CHECK_OK(ib_mb2_keybag_unwrap_file_key(kb, blob, 44, 3, got));
	IB_CHECK(memcmp(got, fk, 32) == 0);
	blob[0] = 2;
	IB_CHECK_ERR(ib_mb2_keybag_unwrap_file_key(kb, blob, 44, 2, got),
	    IB_ERR_DECRYPT);
	IB_CHECK_ERR(ib_mb2_keybag_change_password(kb, "new", 3),
	    IB_ERR_UNSUPPORTED);
	ib_mb2_keybag_free(kb);
	kb = NULL;
	/* Nothing the password can open: a damaged keybag, not success. */
	tb_header(&T, 4, zeros, 1, NULL, 0);
	tb_class(&T, 2, 2, 1, zeros);
	IB_CHECK_OK(parse_tb(&T, &kb));
	IB_CHECK_ERR(ib_mb2_keybag_unlock(kb, "pw", 2, NULL), IB_ERR_KEYBAG);
	ib_mb2_keybag_free(kb);
	kb = NULL;
	/* A password-wrapped AES class with a short WPKY. */
	tb_header(&T, 4, zeros, 1, NULL, 0);
	tb_bytes(&T, "UUID", zeros, 16);
	tb_u32(&T, "CLAS", 1);
	tb_u32(&T, "WRAP", 2);
	tb_bytes(&T, "WPKY", zeros, 24);
	IB_CHECK_OK(parse_tb(&T, &kb));
	IB_CHECK_ERR(ib_mb2_keybag_unlock(kb, "pw", 2, NULL), IB_ERR_KEYBAG);
	ib_mb2_keybag_free(kb);
}

/* --- streaming AES-256-CBC ---------------------------------------------- */

static const uint8_t key_a[32] = { 0x60, 0x3d, 0xeb, 0x10, 0x15, 0xca, 0x71,
    0xbe, 0x2b, 0x73, 0xae, 0xf0, 0x85, 0x7d, 0x77, 0x81, 0x1f, 0x35, 0x2c,
    0x07, 0x3b, 0x61, 0x08, 0xd7, 0x2d, 0x98, 0x10, 0xa3, 0x09, 0x14, 0xdf,
    0xf4 };

/* Run a buffer through the streaming API in random pieces of 1..max_split
 * bytes. *outp is malloc'd (n + 32 bytes) even on error. */
static int
stream(enum ib_mb2_cipher_mode mode, const uint8_t key[32], uint64_t expected,
    const uint8_t *in, size_t n, size_t max_split, uint8_t **outp,
    size_t *lenp)
{
	struct ib_mb2_cipher *c = NULL;
	size_t cap = n + 32, pos = 0, done = 0, got;
	uint8_t *out = malloc(cap);
	int r;

	*outp = out;
	*lenp = 0;
	if (out == NULL)
		return IB_ERR_NOMEM;
	if ((r = ib_mb2_cipher_new(mode, key, expected, &c)) != IB_OK)
		return r;
	while (done < n) {
		size_t piece = 1 + (size_t)(rng() % max_split);

		piece = IB_MIN(piece, n - done);
		if ((r = ib_mb2_cipher_update(c, in + done, piece, out + pos,
		    cap - pos, &got)) != IB_OK)
			goto out;
		done += piece;
		pos += got;
	}
	if ((r = ib_mb2_cipher_final(c, out + pos, cap - pos, &got)) != IB_OK)
		goto out;
	pos += got;
	if (ib_mb2_cipher_total_out(c) != pos)
		r = IB_ERR_INTERNAL;
	*lenp = pos;
out:
	ib_mb2_cipher_free(c);
	return r;
}

static const size_t round_trip_sizes[] = {
	0, 1, 15, 16, 17, 1024 * 1024 - 1, 1024 * 1024, 1024 * 1024 + 1,
	5 * 1024 * 1024,
};

IB_TEST(cipher_round_trip_sizes_random_splits)
{
	size_t i, n, elen, dlen;
	uint8_t *plain, *enc = NULL, *dec = NULL;

	for (i = 0; i < IB_ARRAY_LEN(round_trip_sizes); i++) {
		n = round_trip_sizes[i];
		plain = malloc(n + 1);
		IB_CHECK(plain != NULL);
		fill(plain, n);
		IB_CHECK_OK(stream(IB_MB2_ENCRYPT, key_a, IB_MB2_SIZE_ANY, plain,
		    n, n < 64 ? 3 : 300000, &enc, &elen));
		IB_CHECK_EQ(elen, (n / 16 + 1) * 16);
		IB_CHECK_OK(stream(IB_MB2_DECRYPT, key_a, n, enc, elen,
		    n < 64 ? 1 : 200000, &dec, &dlen));
		IB_CHECK_EQ(dlen, n);
		IB_CHECK(n == 0 || memcmp(dec, plain, n) == 0);
		free(dec);
		/* Claimed size one off either way. */
		IB_CHECK_ERR(stream(IB_MB2_DECRYPT, key_a, n + 1, enc, elen,
		    1 << 20, &dec, &dlen), IB_ERR_DECRYPT);
		free(dec);
		if (n > 0) {
			IB_CHECK_ERR(stream(IB_MB2_DECRYPT, key_a, n - 1, enc,
			    elen, 1 << 20, &dec, &dlen), IB_ERR_DECRYPT);
			free(dec);
		}
		/* Size unchecked. */
		IB_CHECK_OK(stream(IB_MB2_DECRYPT, key_a, IB_MB2_SIZE_ANY, enc,
		    elen, 1 << 20, &dec, &dlen));
		IB_CHECK_EQ(dlen, n);
		free(dec);
		free(enc);
		free(plain);
	}
}

IB_TEST(cipher_fd_round_trip)
{
	static const size_t sizes[] = { 0, 17, 1024 * 1024, 5 * 1024 * 1024 + 3 };
	size_t i, n, got;
	uint8_t *plain, *back;
	uint64_t sz;
	int in, mid, out;

	for (i = 0; i < IB_ARRAY_LEN(sizes); i++) {
		n = sizes[i];
		plain = malloc(n + 1);
		IB_CHECK(plain != NULL);
		fill(plain, n);
		in = mem_fd(plain, n);
		mid = mem_fd(NULL, 0);
		out = mem_fd(NULL, 0);
		IB_CHECK(in >= 0 && mid >= 0 && out >= 0);
		IB_CHECK_OK(ib_mb2_encrypt_fd(in, mid, key_a, &sz));
		IB_CHECK_EQ(sz, n);
		IB_CHECK_EQ(lseek(mid, 0, SEEK_END), (off_t)((n / 16 + 1) * 16));
		IB_CHECK_EQ(lseek(mid, 0, SEEK_SET), 0);
		IB_CHECK_OK(ib_mb2_decrypt_fd(mid, out, key_a, n, &sz));
		IB_CHECK_EQ(sz, n);
		back = fd_contents(out, &got);
		IB_CHECK(back != NULL);
		IB_CHECK_EQ(got, n);
		IB_CHECK(n == 0 || memcmp(back, plain, n) == 0);
		free(back);
		IB_CHECK_EQ(lseek(mid, 0, SEEK_SET), 0);
		IB_CHECK_ERR(ib_mb2_decrypt_fd(mid, out, key_a, n + 16, NULL),
		    IB_ERR_DECRYPT);
		close(in);
		close(mid);
		close(out);
		free(plain);
	}
}

IB_TEST(cipher_corrupted_padding_and_lengths)
{
	static const size_t sizes[] = { 17, 100, 1024 * 1024 };
	uint8_t key_b[32], *plain, *enc, *dec = NULL;
	size_t i, n, elen, dlen;

	for (i = 0; i < IB_ARRAY_LEN(sizes); i++) {
		n = sizes[i];
		plain = malloc(n);
		IB_CHECK(plain != NULL);
		fill(plain, n);
		IB_CHECK_OK(stream(IB_MB2_ENCRYPT, key_a, IB_MB2_SIZE_ANY, plain,
		    n, 4096, &enc, &elen));
		/* CBC: flipping the second-last block's last byte by the pad
		 * value turns the last plaintext byte into 0, never valid. */
		enc[elen - 17] ^= (uint8_t)(16 - n % 16);
		IB_CHECK_ERR(stream(IB_MB2_DECRYPT, key_a, n, enc, elen, 4096,
		    &dec, &dlen), IB_ERR_DECRYPT);
		IB_CHECK(strstr(ib_err_detail(), "padding") != NULL);
		free(dec);
		IB_CHECK_ERR(stream(IB_MB2_DECRYPT, key_a, IB_MB2_SIZE_ANY, enc,
		    elen, 4096, &dec, &dlen), IB_ERR_DECRYPT);
		free(dec);
		enc[elen - 17] ^= (uint8_t)(16 - n % 16);
		/* Truncated: not a multiple of 16, or a block short. */
		IB_CHECK_ERR(stream(IB_MB2_DECRYPT, key_a, n, enc, elen - 1, 4096,
		    &dec, &dlen), IB_ERR_DECRYPT);
		free(dec);
		IB_CHECK_ERR(stream(IB_MB2_DECRYPT, key_a, n, enc, elen - 16,
		    4096, &dec, &dlen), IB_ERR_DECRYPT);
		free(dec);
		free(enc);
		free(plain);
	}
	/* One-block file under the wrong key: padding check fails. */
	IB_CHECK_OK(stream(IB_MB2_ENCRYPT, key_a, IB_MB2_SIZE_ANY,
	    (const uint8_t *)"hello", 5, 5, &enc, &elen));
	memcpy(key_b, key_a, 32);
	key_b[31] ^= 1;
	IB_CHECK_ERR(stream(IB_MB2_DECRYPT, key_b, 5, enc, elen, 16, &dec, &dlen),
	    IB_ERR_DECRYPT);
	free(dec);
	free(enc);
	/* Empty ciphertext is never a valid payload. */
	IB_CHECK_ERR(stream(IB_MB2_DECRYPT, key_a, 0, NULL, 0, 1, &dec, &dlen),
	    IB_ERR_DECRYPT);
	free(dec);
}

IB_TEST(cipher_rejects_extra_ciphertext_early_and_bad_calls)
{
	struct ib_mb2_cipher *c = NULL;
	uint8_t in[64] = { 0 }, out[128];
	size_t got;

	/* A 5-byte file has one block; a second one fails in update. */
	IB_CHECK_OK(ib_mb2_cipher_new(IB_MB2_DECRYPT, key_a, 5, &c));
	IB_CHECK_OK(ib_mb2_cipher_update(c, in, 16, out, sizeof(out), &got));
	IB_CHECK_EQ(got, 0);
	IB_CHECK_ERR(ib_mb2_cipher_update(c, in, 1, out, sizeof(out), &got),
	    IB_ERR_DECRYPT);
	/* After an error only _free. */
	IB_CHECK_ERR(ib_mb2_cipher_final(c, out, sizeof(out), &got),
	    IB_ERR_STATE);
	ib_mb2_cipher_free(c);
	IB_CHECK_OK(ib_mb2_cipher_new(IB_MB2_ENCRYPT, key_a, IB_MB2_SIZE_ANY, &c));
	IB_CHECK_ERR(ib_mb2_cipher_update(c, in, 64, out, 64 + 15, &got),
	    IB_ERR_INVALID_ARG);
	IB_CHECK_OK(ib_mb2_cipher_update(c, in, 64, out, 64 + 16, &got));
	IB_CHECK_EQ(got, 64);
	IB_CHECK_OK(ib_mb2_cipher_final(c, out, 16, &got));
	IB_CHECK_EQ(got, 16);
	IB_CHECK_ERR(ib_mb2_cipher_final(c, out, 16, &got), IB_ERR_STATE);
	IB_CHECK_ERR(ib_mb2_cipher_update(c, in, 1, out, 17, &got), IB_ERR_STATE);
	ib_mb2_cipher_free(c);
	ib_mb2_cipher_free(NULL);
	IB_CHECK_ERR(ib_mb2_cipher_new((enum ib_mb2_cipher_mode)9, key_a, 0, &c),
	    IB_ERR_INVALID_ARG);
	IB_CHECK(c == NULL);
}

/* --- Manifest.db -------------------------------------------------------- */

/* A small Manifest.db with the real schema (mobilebackup2.md 5.4). */
static int
make_db(const char *path, int rows)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char id[41], rel[64];
	uint8_t blob[200];
	int i, r = -1;

	unlink(path);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA page_size=4096;"
	    "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, "
	    "relativePath TEXT, flags INTEGER, file BLOB);"
	    "CREATE INDEX FilesDomainIdx ON Files(domain);"
	    "CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);"
	    "BEGIN;", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO Files VALUES (?, ?, ?, 1, ?)",
	    -1, &st, NULL) != SQLITE_OK)
		goto out;
	for (i = 0; i < rows; i++) {
		fill(blob, sizeof(blob));
		ib_hex(blob, 20, id);
		snprintf(rel, sizeof(rel), "Library/file%d.db", i);
		if (sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
		    sqlite3_bind_text(st, 2, "HomeDomain", -1, SQLITE_STATIC) != SQLITE_OK ||
		    sqlite3_bind_text(st, 3, rel, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
		    sqlite3_bind_blob(st, 4, blob, sizeof(blob), SQLITE_TRANSIENT) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_DONE || sqlite3_reset(st) != SQLITE_OK)
			goto out;
	}
	if (sqlite3_exec(db, "COMMIT;", NULL, NULL, NULL) == SQLITE_OK)
		r = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return r;
}

static int
count_rows(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int n = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM Files WHERE flags = 1",
	    -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Decrypt a Manifest.db ciphertext in memory through the fd API. */
static uint8_t *
manifest_decrypt(const uint8_t key[32], const uint8_t *enc, size_t elen,
    size_t *np, int *rp)
{
	int in = mem_fd(enc, elen), out = mem_fd(NULL, 0);
	uint8_t *d = NULL;
	uint64_t sz = 0;

	*np = 0;
	*rp = ib_mb2_manifest_db_decrypt_fd(in, out, key, &sz);
	if (*rp == IB_OK) {
		d = fd_contents(out, np);
		if (d == NULL || *np != sz)
			*rp = IB_ERR_INTERNAL;
	}
	close(in);
	close(out);
	return d;
}

IB_TEST(manifest_db_round_trip_opens_in_sqlite)
{
	struct ib_mb2_keybag *dev = NULL, *host = NULL;
	char db[256], plain[256];
	uint8_t dbkey[32], blob[44], got[32], *ser = NULL, *orig, *dec, *enc;
	size_t olen, dlen, elen, slen;
	int in, out, r;

	snprintf(db, sizeof(db), "%s", tmp_path("Manifest.db"));
	snprintf(plain, sizeof(plain), "%s", tmp_path("plain.db"));
	IB_CHECK_EQ(make_db(db, 300), 0);
	orig = read_path(db, &olen);
	IB_CHECK(orig != NULL && olen > 0 && olen % 4096 == 0);
	/* Device: keybag, ManifestKey, encrypted Manifest.db. */
	IB_CHECK_OK(ib_mb2_keybag_create("db pw", 5, &fast, &dev));
	IB_CHECK_OK(ib_mb2_keybag_new_key(dev, IB_MB2_MANIFEST_KEY_CLASS, dbkey,
	    blob));
	IB_CHECK_OK(ib_mb2_keybag_serialize(dev, &ser, &slen));
	in = open(db, O_RDONLY);
	out = mem_fd(NULL, 0);
	IB_CHECK(in >= 0 && out >= 0);
	IB_CHECK_OK(ib_mb2_encrypt_fd(in, out, dbkey, NULL));
	close(in);
	enc = fd_contents(out, &elen);
	close(out);
	IB_CHECK(enc != NULL && elen == olen + 16);
	/* Host: unlock, unwrap the ManifestKey, decrypt, open. */
	IB_CHECK_OK(ib_mb2_keybag_parse(ser, slen, &host));
	IB_CHECK_OK(ib_mb2_keybag_unlock(host, "db pw", 5, NULL));
	IB_CHECK_OK(ib_mb2_keybag_unwrap_manifest_key(host, blob, 44, got));
	dec = manifest_decrypt(got, enc, elen, &dlen, &r);
	IB_CHECK_OK(r);
	IB_CHECK(dlen == olen && memcmp(dec, orig, olen) == 0);
	IB_CHECK_EQ(write_file(plain, dec, dlen), 0);
	IB_CHECK_EQ(count_rows(plain), 300);
	/* The ciphertext itself is no SQLite database. */
	IB_CHECK_EQ(write_file(plain, enc, elen), 0);
	IB_CHECK_EQ(count_rows(plain), -1);
	free(dec);
	free(enc);
	free(orig);
	free(ser);
	ib_mb2_keybag_free(dev);
	ib_mb2_keybag_free(host);
}

/* Encrypt without padding (what pymobiledevice3 writes), with EVP. */
static uint8_t *
encrypt_nopad(const uint8_t key[32], const uint8_t *p, size_t n)
{
	static const uint8_t iv[16];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t *out = malloc(n + 16);
	int l1 = 0, l2 = 0;

	if (ctx == NULL || out == NULL ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, key, iv) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_EncryptUpdate(ctx, out, &l1, p, (int)n) != 1 ||
	    EVP_EncryptFinal_ex(ctx, out + l1, &l2) != 1 ||
	    (size_t)(l1 + l2) != n) {
		free(out);
		out = NULL;
	}
	EVP_CIPHER_CTX_free(ctx);
	return out;
}

IB_TEST(manifest_db_padding_rule)
{
	uint8_t page[1024], *enc, *dec;
	size_t elen, dlen;
	int r;

	fill(page, sizeof(page));
	/* Unpadded page multiple whose tail looks like valid padding: kept. */
	page[1023] = 0x01;
	enc = encrypt_nopad(key_a, page, sizeof(page));
	IB_CHECK(enc != NULL);
	dec = manifest_decrypt(key_a, enc, sizeof(page), &dlen, &r);
	IB_CHECK_OK(r);
	IB_CHECK(dlen == sizeof(page) && memcmp(dec, page, dlen) == 0);
	free(dec);
	free(enc);
	memset(page + 1008, 0x10, 16);  /* a whole "padding block" */
	enc = encrypt_nopad(key_a, page, sizeof(page));
	IB_CHECK(enc != NULL);
	dec = manifest_decrypt(key_a, enc, sizeof(page), &dlen, &r);
	IB_CHECK_OK(r);
	IB_CHECK(dlen == sizeof(page) && memcmp(dec, page, dlen) == 0);
	free(dec);
	free(enc);
	/* Padded page multiple: exactly the padding goes. */
	IB_CHECK_OK(stream(IB_MB2_ENCRYPT, key_a, IB_MB2_SIZE_ANY, page,
	    sizeof(page), 100, &enc, &elen));
	dec = manifest_decrypt(key_a, enc, elen, &dlen, &r);
	IB_CHECK_OK(r);
	IB_CHECK(dlen == sizeof(page) && memcmp(dec, page, dlen) == 0);
	free(dec);
	free(enc);
	/* Padded non-page size: the rule keeps the padding (not SQLite). */
	IB_CHECK_OK(stream(IB_MB2_ENCRYPT, key_a, IB_MB2_SIZE_ANY, page, 1000,
	    100, &enc, &elen));
	dec = manifest_decrypt(key_a, enc, elen, &dlen, &r);
	IB_CHECK_OK(r);
	IB_CHECK(dlen == 1008 && memcmp(dec, page, 1000) == 0);
	free(dec);
	/* Not a multiple of 16, or empty: an error. */
	dec = manifest_decrypt(key_a, enc, elen - 3, &dlen, &r);
	IB_CHECK_ERR(r, IB_ERR_DECRYPT);
	free(dec);
	dec = manifest_decrypt(key_a, enc, 0, &dlen, &r);
	IB_CHECK_ERR(r, IB_ERR_DECRYPT);
	free(dec);
	free(enc);
}

/* --- interop with the openssl command-line tool ----------------------- */

static const char *
hexs(const uint8_t *p, size_t n)
{
	static char bufs[6][2 * 256 + 1];
	static int next;
	char *b = bufs[next++ % 6];

	ib_hex(p, n, b);
	return b;
}

/* PBKDF2 through `openssl kdf` into out[32]. */
static int
cli_pbkdf2(const char *digest, const uint8_t *pw, size_t pwlen,
    const uint8_t *salt, uint32_t iter, uint8_t out[32])
{
	char d[32], p[600], s[64], it[32];
	const char *path = tmp_path("kdf.bin");
	const char *argv[] = { "openssl", "kdf", "-keylen", "32", "-kdfopt", d,
	    "-kdfopt", p, "-kdfopt", s, "-kdfopt", it, "-binary", "-out", path,
	    "PBKDF2", NULL };
	uint8_t *k;
	size_t n;

	snprintf(d, sizeof(d), "digest:%s", digest);
	snprintf(p, sizeof(p), "hexpass:%s", hexs(pw, pwlen));
	snprintf(s, sizeof(s), "hexsalt:%s", hexs(salt, 20));
	snprintf(it, sizeof(it), "iter:%lu", (unsigned long)iter);
	if (run(argv) != 0 || (k = read_path(path, &n)) == NULL)
		return -1;
	if (n == 32)
		memcpy(out, k, 32);
	free(k);
	return n == 32 ? 0 : -1;
}

/* `openssl enc` with a raw key; mode "wrap"/"unwrap"/"enc"/"dec"/"encnopad". */
static int
cli_enc(const char *mode, const uint8_t key[32], const char *in, const char *out)
{
	int wrap = strstr(mode, "wrap") != NULL;
	int dec = strcmp(mode, "unwrap") == 0 || strcmp(mode, "dec") == 0;
	const char *argv[16];
	int i = 0;

	argv[i++] = "openssl";
	argv[i++] = "enc";
	argv[i++] = wrap ? "-id-aes256-wrap" : "-aes-256-cbc";
	argv[i++] = dec ? "-d" : "-e";
	if (strcmp(mode, "encnopad") == 0)
		argv[i++] = "-nopad";
	argv[i++] = "-K";
	argv[i++] = hexs(key, 32);
	argv[i++] = "-iv";
	argv[i++] = wrap ? "A6A6A6A6A6A6A6A6" : "00000000000000000000000000000000";
	argv[i++] = "-in";
	argv[i++] = in;
	argv[i++] = "-out";
	argv[i++] = out;
	argv[i] = NULL;
	return run(argv);
}

/* RFC 3394 wrap / unwrap of one 32-byte key by openssl. */
static int
cli_wrap(const uint8_t kek[32], const uint8_t key[32], uint8_t out[40])
{
	uint8_t *w;
	size_t n;

	if (write_file(tmp_path("cli_k.bin"), key, 32) != 0 ||
	    cli_enc("wrap", kek, tmp_path("cli_k.bin"), tmp_path("cli_w.bin")) != 0 ||
	    (w = read_path(tmp_path("cli_w.bin"), &n)) == NULL)
		return -1;
	if (n == 40)
		memcpy(out, w, 40);
	free(w);
	return n == 40 ? 0 : -1;
}

static int
cli_unwrap(const uint8_t kek[32], const uint8_t wrapped[40], uint8_t out[32])
{
	uint8_t *k;
	size_t n;

	if (write_file(tmp_path("cli_w.bin"), wrapped, 40) != 0 ||
	    cli_enc("unwrap", kek, tmp_path("cli_w.bin"), tmp_path("cli_k.bin")) != 0 ||
	    (k = read_path(tmp_path("cli_k.bin"), &n)) == NULL)
		return -1;
	if (n == 32)
		memcpy(out, k, 32);
	free(k);
	return n == 32 ? 0 : -1;
}

static int
cli_available(void)
{
	const char *argv[] = { "openssl", "version", NULL };

	if (run(argv) == 0)
		return 1;
	fprintf(stderr, "    the openssl command-line tool is needed "
	    "(tools/install-deps.sh test installs it)\n");
	return 0;
}

/* Everything our device side produces, opened by openssl alone: KDF,
 * class-key unwrap, file-key unwrap, payload and Manifest.db decryption.
 * The keybag is read with the test's own TLV walk, not our parser. */
IB_TEST(interop_openssl_decrypts_what_we_encrypt)
{
	static const struct ib_mb2_keybag_params p = { 2000, 3000 };
	const char *pw = "interop p\xc3\xa4ssword";
	struct ib_mb2_keybag *dev = NULL;
	uint8_t *ser = NULL, *plain, *back, blob[44], fk[32], k1[32], pwkey[32];
	uint8_t ck[32];
	size_t slen, n = 100007, blen;
	long salt, dpsl, wpky = -1;
	int in, out, j;

	IB_CHECK(cli_available());
	IB_CHECK_OK(ib_mb2_keybag_create(pw, strlen(pw), &p, &dev));
	IB_CHECK_OK(ib_mb2_keybag_new_key(dev, 3, fk, blob));
	IB_CHECK_OK(ib_mb2_keybag_serialize(dev, &ser, &slen));
	plain = malloc(n);
	IB_CHECK(plain != NULL);
	fill(plain, n);
	IB_CHECK_EQ(write_file(tmp_path("plain.bin"), plain, n), 0);
	in = open(tmp_path("plain.bin"), O_RDONLY);
	out = open(tmp_path("enc.bin"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	IB_CHECK(in >= 0 && out >= 0);
	IB_CHECK_OK(ib_mb2_encrypt_fd(in, out, fk, NULL));
	close(in);
	close(out);

	salt = tlv_find(ser, slen, "SALT", 0);
	dpsl = tlv_find(ser, slen, "DPSL", 0);
	IB_CHECK(salt > 0 && dpsl > 0);
	for (j = 0; j < 11; j++)
		if (tlv_u32(ser, slen, "CLAS", j) == 3)
			wpky = tlv_find(ser, slen, "WPKY", j);
	IB_CHECK(wpky > 0);
	IB_CHECK_EQ(cli_pbkdf2("SHA256", (const uint8_t *)pw, strlen(pw),
	    ser + dpsl, tlv_u32(ser, slen, "DPIC", 0), k1), 0);
	IB_CHECK_EQ(cli_pbkdf2("SHA1", k1, 32, ser + salt,
	    tlv_u32(ser, slen, "ITER", 0), pwkey), 0);
	IB_CHECK_EQ(cli_unwrap(pwkey, ser + wpky, ck), 0);
	IB_CHECK_EQ(cli_unwrap(ck, blob + 4, k1), 0);
	IB_CHECK(memcmp(k1, fk, 32) == 0);
	IB_CHECK_EQ(cli_enc("dec", fk, tmp_path("enc.bin"), tmp_path("dec.bin")), 0);
	back = read_path(tmp_path("dec.bin"), &blen);
	IB_CHECK(back != NULL && blen == n && memcmp(back, plain, n) == 0);
	free(back);
	/* A wrong password's key does not unwrap under openssl either. */
	pwkey[0] ^= 1;
	fprintf(stderr, "    (an openssl unwrap error is expected here)\n");
	IB_CHECK(cli_unwrap(pwkey, ser + wpky, ck) != 0);
	free(plain);
	free(ser);
	ib_mb2_keybag_free(dev);
}

/* The reverse: a backup whose every key and ciphertext openssl made.
 * Class keys 3 and 4 are wrapped by an openssl-derived password key; the
 * file key (class 3) and Manifest.db key (class 4) by those class keys. */
struct cli_backup {
	struct ib_mb2_keybag *kb;
	uint8_t fk[32], dk[32];
	uint8_t file_blob[44], manifest_blob[44];
};

static int
cli_backup_make(struct cli_backup *cb, const char *pw)
{
	uint8_t salt[20], dpsl[20], k1[32], pwkey[32], ck3[32], ck4[32];
	uint8_t wp3[40], wp4[40];

	fill(salt, 20);
	fill(dpsl, 20);
	fill(ck3, 32);
	fill(ck4, 32);
	fill(cb->fk, 32);
	fill(cb->dk, 32);
	if (cli_pbkdf2("SHA256", (const uint8_t *)pw, strlen(pw), dpsl, 2500,
	    k1) != 0 || cli_pbkdf2("SHA1", k1, 32, salt, 1500, pwkey) != 0 ||
	    cli_wrap(pwkey, ck3, wp3) != 0 || cli_wrap(pwkey, ck4, wp4) != 0 ||
	    cli_wrap(ck3, cb->fk, cb->file_blob + 4) != 0 ||
	    cli_wrap(ck4, cb->dk, cb->manifest_blob + 4) != 0)
		return -1;
	memcpy(cb->file_blob, "\x03\x00\x00\x00", 4);
	memcpy(cb->manifest_blob, "\x04\x00\x00\x00", 4);
	tb_header(&T, 5, salt, 1500, dpsl, 2500);
	tb_class(&T, 4, 2, 0, wp4);
	tb_class(&T, 3, 2, 0, wp3);
	cb->kb = NULL;
	return parse_tb(&T, &cb->kb) == IB_OK ? 0 : -1;
}

IB_TEST(interop_we_decrypt_payload_openssl_encrypted)
{
	const char *pw = "from openssl";
	struct cli_backup cb;
	uint8_t got[32], *plain, *back;
	size_t n = 70001, blen;
	uint64_t sz;
	int in, out;

	IB_CHECK(cli_available());
	IB_CHECK_EQ(cli_backup_make(&cb, pw), 0);
	IB_CHECK_OK(ib_mb2_keybag_unlock(cb.kb, pw, strlen(pw), NULL));
	IB_CHECK_OK(ib_mb2_keybag_unwrap_file_key(cb.kb, cb.file_blob, 44, 3,
	    got));
	IB_CHECK(memcmp(got, cb.fk, 32) == 0);
	plain = malloc(n);
	IB_CHECK(plain != NULL);
	fill(plain, n);
	IB_CHECK_EQ(write_file(tmp_path("plain.bin"), plain, n), 0);
	IB_CHECK_EQ(cli_enc("enc", cb.fk, tmp_path("plain.bin"),
	    tmp_path("enc.bin")), 0);
	in = open(tmp_path("enc.bin"), O_RDONLY);
	out = mem_fd(NULL, 0);
	IB_CHECK(in >= 0 && out >= 0);
	IB_CHECK_OK(ib_mb2_decrypt_fd(in, out, got, n, &sz));
	IB_CHECK_EQ(sz, n);
	back = fd_contents(out, &blen);
	IB_CHECK(back != NULL && blen == n && memcmp(back, plain, n) == 0);
	free(back);
	close(in);
	close(out);
	free(plain);
	ib_mb2_keybag_free(cb.kb);
}

/* Manifest.db padded (openssl's default) and unpadded (-nopad, what
 * pymobiledevice3 writes): both come out as the same SQLite file. */
IB_TEST(interop_we_decrypt_manifest_db_openssl_encrypted)
{
	const char *pw = "from openssl";
	struct cli_backup cb;
	char db[256];
	uint8_t got[32], *plain, *enc, *back;
	size_t olen, elen, blen;
	int r, pad;

	IB_CHECK(cli_available());
	snprintf(db, sizeof(db), "%s", tmp_path("cli.db"));
	IB_CHECK_EQ(cli_backup_make(&cb, pw), 0);
	IB_CHECK_OK(ib_mb2_keybag_unlock(cb.kb, pw, strlen(pw), NULL));
	IB_CHECK_OK(ib_mb2_keybag_unwrap_manifest_key(cb.kb, cb.manifest_blob,
	    44, got));
	IB_CHECK(memcmp(got, cb.dk, 32) == 0);
	IB_CHECK_EQ(make_db(db, 120), 0);
	plain = read_path(db, &olen);
	IB_CHECK(plain != NULL);
	for (pad = 0; pad < 2; pad++) {
		IB_CHECK_EQ(cli_enc(pad ? "enc" : "encnopad", cb.dk, db,
		    tmp_path("db.enc")), 0);
		enc = read_path(tmp_path("db.enc"), &elen);
		IB_CHECK(enc != NULL && elen == olen + (pad ? 16 : 0));
		back = manifest_decrypt(got, enc, elen, &blen, &r);
		IB_CHECK_OK(r);
		IB_CHECK(blen == olen && memcmp(back, plain, olen) == 0);
		IB_CHECK_EQ(write_file(tmp_path("dec.db"), back, blen), 0);
		IB_CHECK_EQ(count_rows(tmp_path("dec.db")), 120);
		free(back);
		free(enc);
	}
	free(plain);
	ib_mb2_keybag_free(cb.kb);
}

int
main(int argc, char **argv)
{
	int r = ib_test_main(argc, argv);

	if (tmpdir[0] != '\0')
		nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return r;
}
