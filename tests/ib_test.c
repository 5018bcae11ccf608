/*
 * ib_test.c - runner for IB_TEST cases.
 */
#include "ib_test.h"

static struct ib_test_case *head, *tail;
static int current_failed;

void
ib_test_register(struct ib_test_case *tc)
{
	if (tail == NULL)
		head = tc;
	else
		tail->next = tc;
	tail = tc;
}

void
ib_test_fail(const char *file, int line, const char *expr)
{
	fprintf(stderr, "    FAILED %s:%d: %s\n", file, line, expr);
	current_failed = 1;
}

int
ib_test_failed(void)
{
	return current_failed;
}

int
ib_test_main(int argc, char **argv)
{
	struct ib_test_case *tc;
	int passed = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (tc = head; tc != NULL; tc = tc->next) {
		if (argc > 1 && strstr(tc->name, argv[1]) == NULL)
			continue;
		current_failed = 0;
		ib_err_detail_clear();
		tc->fn();
		printf("%s %s\n", current_failed ? "FAIL" : "ok  ", tc->name);
		if (current_failed)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed > 0 ? 1 : 0;
}
