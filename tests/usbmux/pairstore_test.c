/*
 * Pair-record directory store: layout, modes, atomicity, name safety.
 */
#include "ib_plist.h"
#include "ib_test.h"
#include "pairstore.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/ib-pairstore-XXXXXX";

static struct ib_pairstore *
fresh_store(void)
{
	struct ib_pairstore *ps = NULL;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s/*", tmpdir);
	if (system(cmd) != 0)
		return NULL;
	if (ib_pairstore_open(tmpdir, &ps) != IB_OK)
		return NULL;
	return ps;
}

IB_TEST(pairstore_round_trip_is_xml_and_0600)
{
	struct ib_pairstore *ps = fresh_store();
	plist_t d = plist_new_dict(), back = NULL;
	uint8_t *bin = NULL, *data = NULL;
	size_t blen, len;
	const char *s;
	struct stat st;
	char path[256];

	IB_CHECK(ps != NULL);
	plist_dict_set_item(d, "HostID", plist_new_string("1234-ABCD"));
	plist_dict_set_item(d, "HostPrivateKey", plist_new_data("k", 1));
	IB_CHECK_OK(ib_plist_to_bin(d, &bin, &blen));
	IB_CHECK_OK(ib_pairstore_save(ps, "00008110-001A2B3C4D5E6F70", bin, blen));
	snprintf(path, sizeof(path), "%s/00008110-001A2B3C4D5E6F70.plist", tmpdir);
	IB_CHECK(stat(path, &st) == 0);
	IB_CHECK_EQ(st.st_mode & 0777, 0600);
	IB_CHECK_OK(ib_pairstore_read(ps, "00008110-001A2B3C4D5E6F70", &data, &len));
	IB_CHECK(len > 5 && memcmp(data, "<?xml", 5) == 0);
	IB_CHECK_OK(ib_plist_parse_dict(data, len, 1 << 20, &back));
	IB_CHECK_OK(ib_plist_dict_get_string(back, "HostID", &s));
	IB_CHECK_STR(s, "1234-ABCD");
	IB_CHECK_OK(ib_pairstore_delete(ps, "00008110-001A2B3C4D5E6F70"));
	IB_CHECK_ERR(ib_pairstore_delete(ps, "00008110-001A2B3C4D5E6F70"), IB_ERR_NOT_FOUND);
	free(data);
	data = NULL;
	IB_CHECK_ERR(ib_pairstore_read(ps, "00008110-001A2B3C4D5E6F70", &data, &len),
	    IB_ERR_NOT_FOUND);
	plist_free(back);
	plist_free(d);
	free(bin);
	ib_pairstore_free(ps);
}

IB_TEST(pairstore_refuses_names_that_escape_the_directory)
{
	struct ib_pairstore *ps = fresh_store();
	uint8_t *data = NULL;
	size_t len;
	static const char rec[] = "<plist><dict><key>a</key><string>b</string></dict></plist>";

	IB_CHECK(ps != NULL);
	IB_CHECK_ERR(ib_pairstore_save(ps, "../evil", (const uint8_t *)rec, sizeof(rec) - 1),
	    IB_ERR_INVALID_ARG);
	IB_CHECK_ERR(ib_pairstore_save(ps, "a/b", (const uint8_t *)rec, sizeof(rec) - 1),
	    IB_ERR_INVALID_ARG);
	IB_CHECK_ERR(ib_pairstore_read(ps, "", &data, &len), IB_ERR_INVALID_ARG);
	IB_CHECK_ERR(ib_pairstore_delete(ps, ".."), IB_ERR_INVALID_ARG);
	ib_pairstore_free(ps);
}

IB_TEST(pairstore_refuses_non_dict_records)
{
	struct ib_pairstore *ps = fresh_store();
	static const char arr[] = "<plist><array><string>b</string></array></plist>";

	IB_CHECK(ps != NULL);
	IB_CHECK_ERR(ib_pairstore_save(ps, "abc", (const uint8_t *)arr, sizeof(arr) - 1),
	    IB_ERR_PLIST_TYPE);
	IB_CHECK_ERR(ib_pairstore_save(ps, "abc", (const uint8_t *)"x", 1), IB_ERR_FORMAT);
	ib_pairstore_free(ps);
}

IB_TEST(pairstore_buid_is_created_once_and_persists)
{
	struct ib_pairstore *ps = fresh_store(), *ps2 = NULL;
	char *a = NULL, *b = NULL;

	IB_CHECK(ps != NULL);
	IB_CHECK_OK(ib_pairstore_buid(ps, &a));
	IB_CHECK_EQ(strlen(a), 36);
	IB_CHECK(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
	IB_CHECK(strpbrk(a, "abcdef") == NULL);
	IB_CHECK_OK(ib_pairstore_open(tmpdir, &ps2));
	IB_CHECK_OK(ib_pairstore_buid(ps2, &b));
	IB_CHECK_STR(a, b);
	free(a);
	free(b);
	ib_pairstore_free(ps);
	ib_pairstore_free(ps2);
}

IB_TEST(pairstore_default_dir_prefers_explicit_then_xdg)
{
	char *d = NULL;

	IB_CHECK_OK(ib_pairstore_default_dir("/x/y", &d));
	IB_CHECK_STR(d, "/x/y");
	free(d);
	if (access("/var/lib/lockdown", W_OK) != 0) {
		setenv("XDG_CONFIG_HOME", "/tmp/xdgtest", 1);
		IB_CHECK_OK(ib_pairstore_default_dir(NULL, &d));
		IB_CHECK_STR(d, "/tmp/xdgtest/ibackup/lockdown");
		free(d);
		unsetenv("XDG_CONFIG_HOME");
		setenv("HOME", "/tmp/hometest", 1);
		IB_CHECK_OK(ib_pairstore_default_dir(NULL, &d));
		IB_CHECK_STR(d, "/tmp/hometest/.config/ibackup/lockdown");
		free(d);
	}
}

int
main(int argc, char **argv)
{
	int r;

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	r = ib_test_main(argc, argv);
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd) != 0)
			r = 1;
	}
	return r;
}
