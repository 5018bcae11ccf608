/*
 * Unit tests of the error space: unique values, sentences, exit codes.
 */
#include "ib_err.h"
#include "ib_test.h"

#include <errno.h>

static const int all_values[] = {
#define V_(name, value, exit, text) value,
	IB_ERR_LIST(V_)
#undef V_
};

IB_TEST(err_values_are_unique_and_named)
{
	size_t i, j, n = sizeof(all_values) / sizeof(all_values[0]);

	for (i = 0; i < n; i++) {
		IB_CHECK(all_values[i] <= 0);
		IB_CHECK(strcmp(ib_strerror(all_values[i]), "unknown error") != 0);
		IB_CHECK(strncmp(ib_errname(all_values[i]), "IB_", 3) == 0);
		for (j = i + 1; j < n; j++)
			IB_CHECK(all_values[i] != all_values[j]);
	}
}

IB_TEST(err_ranges_follow_the_layers)
{
	IB_CHECK(IB_ERR_PLIST_PARSE <= -100 && IB_ERR_PLIST_PARSE > -200);
	IB_CHECK(IB_ERR_NO_DEVICE <= -200 && IB_ERR_NO_DEVICE > -300);
	IB_CHECK(IB_ERR_LD_INVALID_HOST_ID <= -400 && IB_ERR_LD_INVALID_HOST_ID > -500);
	IB_CHECK(IB_ERR_MB2_UNSAFE_PATH <= -600 && IB_ERR_MB2_UNSAFE_PATH > -700);
}

IB_TEST(err_unknown_values_have_text)
{
	IB_CHECK_STR(ib_strerror(-31337), "unknown error");
	IB_CHECK_STR(ib_errname(-31337), "IB_ERR_-31337");
	IB_CHECK_EQ(ib_err_exit_code(-31337), 1);
}

IB_TEST(err_exit_codes_distinguish_user_outcomes)
{
	IB_CHECK_EQ(ib_err_exit_code(IB_OK), 0);
	IB_CHECK_EQ(ib_err_exit_code(IB_ERR_USAGE), 2);
	IB_CHECK(ib_err_exit_code(IB_ERR_LD_USER_DENIED_PAIRING) !=
	    ib_err_exit_code(IB_ERR_TIMEOUT));
	IB_CHECK(ib_err_exit_code(IB_ERR_LD_PASSWORD_PROTECTED) !=
	    ib_err_exit_code(IB_ERR_LD_USER_DENIED_PAIRING));
	IB_CHECK_EQ(ib_err_exit_code(IB_ERR_INTERRUPTED), 130);
}

IB_TEST(err_detail_is_per_thread_text)
{
	ib_err_detail_clear();
	IB_CHECK_STR(ib_err_detail(), "");
	ib_err_detail_set("lockdownd answered %s", "InvalidHostID");
	IB_CHECK_STR(ib_err_detail(), "lockdownd answered InvalidHostID");
	IB_CHECK_EQ(ib_err_from_errno(ENOENT, "open x"), IB_ERR_NOT_FOUND);
	IB_CHECK(strstr(ib_err_detail(), "open x") != NULL);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
