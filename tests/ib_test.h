/*
 * ib_test.h - the minimal unit-test harness every test binary uses.
 *
 *   IB_TEST(buf_reads_u32) { ... IB_CHECK(x == 1); IB_CHECK_OK(f()); }
 *   int main(int argc, char **argv) { return ib_test_main(argc, argv); }
 *
 * Tests register themselves through a constructor, run in file order,
 * and a failing check prints file:line and the expression, marks the test
 * failed and returns from it. `prog NAME` runs only tests whose name
 * contains NAME. Exit status is non-zero when any test failed.
 */
#ifndef IB_TEST_H
#define IB_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ib_err.h"

typedef void (*ib_test_fn)(void);

struct ib_test_case {
	const char *name;
	ib_test_fn fn;
	struct ib_test_case *next;
};

void ib_test_register(struct ib_test_case *tc);
int ib_test_main(int argc, char **argv);
void ib_test_fail(const char *file, int line, const char *expr);
int ib_test_failed(void);

#define IB_TEST(name) \
	static void name(void); \
	static struct ib_test_case name##_case = { #name, name, NULL }; \
	__attribute__((constructor)) static void name##_register(void) \
	{ ib_test_register(&name##_case); } \
	static void name(void)

#define IB_CHECK(expr) do { \
	if (!(expr)) { ib_test_fail(__FILE__, __LINE__, #expr); return; } \
} while (0)

#define IB_CHECK_EQ(a, b) do { \
	long long ib_a_ = (long long)(a), ib_b_ = (long long)(b); \
	if (ib_a_ != ib_b_) { \
		fprintf(stderr, "    %s = %lld, %s = %lld\n", #a, ib_a_, #b, ib_b_); \
		ib_test_fail(__FILE__, __LINE__, #a " == " #b); return; \
	} \
} while (0)

#define IB_CHECK_OK(expr) do { \
	int ib_r_ = (expr); \
	if (ib_r_ != IB_OK) { \
		fprintf(stderr, "    -> %s (%s) %s\n", ib_errname(ib_r_), \
		    ib_strerror(ib_r_), ib_err_detail()); \
		ib_test_fail(__FILE__, __LINE__, #expr); return; \
	} \
} while (0)

#define IB_CHECK_ERR(expr, want) do { \
	int ib_r_ = (expr); \
	if (ib_r_ != (want)) { \
		fprintf(stderr, "    -> %s, wanted %s\n", ib_errname(ib_r_), \
		    ib_errname(want)); \
		ib_test_fail(__FILE__, __LINE__, #expr); return; \
	} \
} while (0)

#define IB_CHECK_STR(a, b) do { \
	const char *ib_a_ = (a), *ib_b_ = (b); \
	if (ib_a_ == NULL || ib_b_ == NULL || strcmp(ib_a_, ib_b_) != 0) { \
		fprintf(stderr, "    \"%s\" != \"%s\"\n", ib_a_ ? ib_a_ : "(null)", \
		    ib_b_ ? ib_b_ : "(null)"); \
		ib_test_fail(__FILE__, __LINE__, #a " == " #b); return; \
	} \
} while (0)

#endif /* IB_TEST_H */
