/*
 * Tests of the AFC host client against the virtual device's handler over
 * socketpairs: the sync-lock sequence (immediate, busy, held, a second
 * host, a dropped holder, interrupted), the restore's file round trip,
 * and devices that answer wrongly.
 */
#include "afc.h"
#include "ib_buf.h"
#include "ib_conn.h"
#include "ib_limits.h"
#include "ib_plist.h"
#include "ib_test.h"
#include "ib_util.h"
#include "services_peer.h"
#include "sim_services_int.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct dut {
	struct sim_services *S;
	struct ib_afc *afc;
	struct peer *peer;
};

static int
dut_new(struct sim_services *S, struct dut *d)
{
	struct ib_conn *conn;
	int r;

	memset(d, 0, sizeof(*d));
	d->S = S;
	if ((r = peer_serve(sim_services_serve_afc, S, &conn, &d->peer)) != IB_OK)
		return r;
	return ib_afc_new(conn, &d->afc);
}

static void
dut_free(struct dut *d)
{
	ib_afc_free(d->afc);
	peer_join(d->peer);
}

static struct sim_services *
services(uint64_t busy, int held)
{
	struct sim_services_cfg cfg = { .apps = 1, .afc = { .lock_busy = busy,
		.lock_held = held } };
	struct sim_services *S;

	return sim_services_new(&cfg, &S) == IB_OK ? S : NULL;
}

struct lock_seen {
	struct sim_afc *afc;
	unsigned calls;
	uint64_t attempts_then;
	int file_then;
	int fail_with;
};

/* The syncLockRequest post goes here: after the open, before a lock. */
static int
on_lock_requested(void *arg)
{
	struct lock_seen *ls = arg;

	ls->calls++;
	ls->attempts_then = sim_afc_lock_attempts(ls->afc);
	ls->file_then = sim_afc_exists(ls->afc, IB_AFC_SYNC_LOCK_PATH);
	return ls->fail_with;
}

IB_TEST(afc_sync_lock_production_policy)
{
	/* The values every reference client uses; tests pass their own. */
	IB_CHECK_EQ(IB_AFC_LOCK_ATTEMPTS, 50);
	IB_CHECK_EQ(IB_AFC_LOCK_DELAY_MS, 200);
}

IB_TEST(afc_sync_lock_immediate)
{
	struct sim_services *S = services(0, 0);
	struct lock_seen ls = { 0 };
	struct dut d;
	unsigned tries;
	uint64_t h;

	IB_CHECK(S != NULL);
	ls.afc = sim_services_afc(S);
	IB_CHECK_OK(dut_new(S, &d));
	IB_CHECK_OK(ib_afc_sync_lock_ex(d.afc, 50, 1, on_lock_requested, &ls, &h, &tries));
	IB_CHECK_EQ(tries, 1);
	IB_CHECK_EQ(ls.calls, 1);
	IB_CHECK_EQ(ls.attempts_then, 0);
	IB_CHECK(ls.file_then);
	IB_CHECK(sim_afc_locked_ex(ls.afc, IB_AFC_SYNC_LOCK_PATH));
	IB_CHECK_OK(ib_afc_sync_unlock(d.afc, h));
	IB_CHECK(!sim_afc_locked_ex(ls.afc, IB_AFC_SYNC_LOCK_PATH));
	/* The handle is closed. */
	IB_CHECK_ERR(ib_afc_file_close(d.afc, h), IB_ERR_AFC);
	IB_CHECK_EQ(ib_afc_last_status(d.afc), IB_AFC_INVALID_ARG);
	dut_free(&d);
	sim_services_free(S);
}

IB_TEST(afc_sync_lock_busy_three_times)
{
	struct sim_services *S = services(3, 0);
	struct dut d;
	unsigned tries;
	uint64_t h, t0;

	IB_CHECK(S != NULL);
	IB_CHECK_OK(dut_new(S, &d));
	t0 = ib_now_ms();
	IB_CHECK_OK(ib_afc_sync_lock_ex(d.afc, 50, 20, NULL, NULL, &h, &tries));
	IB_CHECK_EQ(tries, 4);
	IB_CHECK_EQ(sim_afc_lock_attempts(sim_services_afc(S)), 4);
	/* Three waits of the given delay between the four attempts. */
	IB_CHECK(ib_now_ms() - t0 >= 60);
	IB_CHECK(sim_afc_locked_ex(sim_services_afc(S), IB_AFC_SYNC_LOCK_PATH));
	IB_CHECK_OK(ib_afc_sync_unlock(d.afc, h));
	dut_free(&d);
	sim_services_free(S);
}

IB_TEST(afc_sync_lock_held_times_out)
{
	struct sim_services *S = services(0, 1);
	struct lock_seen ls = { 0 };
	struct dut d;
	unsigned tries;
	uint64_t h = 99;

	IB_CHECK(S != NULL);
	ls.afc = sim_services_afc(S);
	IB_CHECK_OK(dut_new(S, &d));
	IB_CHECK_ERR(ib_afc_sync_lock_ex(d.afc, 50, 1, on_lock_requested, &ls, &h, &tries),
	    IB_ERR_AFC_LOCK_TIMEOUT);
	IB_CHECK_EQ(h, 0);
	IB_CHECK_EQ(tries, 50);
	IB_CHECK_EQ(sim_afc_lock_attempts(ls.afc), 50);
	IB_CHECK(strstr(ib_err_detail(), "50 attempts") != NULL);
	/* The client still works: the lock file was closed, not leaked. */
	IB_CHECK_OK(ib_afc_make_dir(d.afc, "/still/works"));
	dut_free(&d);
	sim_services_free(S);
}

static void *
interrupt_soon(void *arg)
{
	(void)arg;
	ib_sleep_ms(50);
	ib_interrupt_set();
	return NULL;
}

IB_TEST(afc_sync_lock_caller_abort_and_interrupt)
{
	struct sim_services *S = services(5, 0);
	struct lock_seen ls = { .fail_with = IB_ERR_NP };
	struct dut d;
	pthread_t th;
	unsigned tries;
	uint64_t h, t0;
	int r;

	IB_CHECK(S != NULL);
	ls.afc = sim_services_afc(S);
	IB_CHECK_OK(dut_new(S, &d));
	/* The syncLockRequest post failed: no lock attempt at all. */
	IB_CHECK_ERR(ib_afc_sync_lock_ex(d.afc, 50, 1, on_lock_requested, &ls, &h, &tries),
	    IB_ERR_NP);
	IB_CHECK_EQ(tries, 0);
	IB_CHECK_EQ(sim_afc_lock_attempts(ls.afc), 0);
	/* Ctrl-C while waiting for a busy lock: the wait ends after the
	 * current delay, not after 50 attempts. */
	IB_CHECK(pthread_create(&th, NULL, interrupt_soon, NULL) == 0);
	t0 = ib_now_ms();
	r = ib_afc_sync_lock_ex(d.afc, 50, 300, NULL, NULL, &h, &tries);
	pthread_join(th, NULL);
	ib_interrupt_clear();
	IB_CHECK_ERR(r, IB_ERR_INTERRUPTED);
	IB_CHECK_EQ(tries, 1);
	IB_CHECK(ib_now_ms() - t0 < 1000);
	dut_free(&d);
	sim_services_free(S);
}

static int
unlocked(void *arg)
{
	return !sim_afc_locked_ex(arg, IB_AFC_SYNC_LOCK_PATH);
}

IB_TEST(afc_sync_lock_second_client_and_dropped_holder)
{
	struct sim_services *S = services(0, 0);
	struct dut a, b;
	unsigned tries;
	uint64_t ha, hb;

	IB_CHECK(S != NULL);
	IB_CHECK_OK(dut_new(S, &a));
	IB_CHECK_OK(dut_new(S, &b));
	IB_CHECK_OK(ib_afc_sync_lock_ex(a.afc, 50, 1, NULL, NULL, &ha, &tries));
	/* Another host while the first holds it: 19 every time. */
	IB_CHECK_ERR(ib_afc_sync_lock_ex(b.afc, 5, 1, NULL, NULL, &hb, &tries),
	    IB_ERR_AFC_LOCK_TIMEOUT);
	IB_CHECK_EQ(tries, 5);
	IB_CHECK_OK(ib_afc_sync_unlock(a.afc, ha));
	IB_CHECK_OK(ib_afc_sync_lock_ex(b.afc, 5, 1, NULL, NULL, &hb, &tries));
	IB_CHECK_EQ(tries, 1);
	/* The holder's connection drops without unlocking: the device
	 * releases the lock when it sees the connection end. */
	IB_CHECK_ERR(ib_afc_sync_lock_ex(a.afc, 3, 1, NULL, NULL, &ha, &tries),
	    IB_ERR_AFC_LOCK_TIMEOUT);
	dut_free(&b);
	IB_CHECK_OK(ib_afc_sync_lock_ex(a.afc, 500, 2, NULL, NULL, &ha, &tries));
	IB_CHECK(sim_afc_locked_ex(sim_services_afc(S), IB_AFC_SYNC_LOCK_PATH));
	dut_free(&a);
	IB_CHECK(peer_wait_for(unlocked, sim_services_afc(S), 2000));
	sim_services_free(S);
}

IB_TEST(afc_client_restore_file_round_trip)
{
	struct sim_services *S = services(0, 0);
	static const char path[] = "/iTunesRestore/RestoreApplications.plist";
	size_t n = 3 * IB_AFC_IO_CHUNK + 123, got;
	uint8_t *data = malloc(n), *back = malloc(n + 10), *dev;
	struct dut d;
	uint64_t h, v;
	plist_t info;
	const char *s;
	size_t i, dlen;

	IB_CHECK(S != NULL && data != NULL && back != NULL);
	for (i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 13 + 5);
	IB_CHECK_OK(dut_new(S, &d));
	IB_CHECK_ERR(ib_afc_file_open(d.afc, path, IB_AFC_FOPEN_WRONLY, &h), IB_ERR_NOT_FOUND);
	IB_CHECK_EQ(ib_afc_last_status(d.afc), IB_AFC_OBJECT_NOT_FOUND);
	IB_CHECK_OK(ib_afc_make_dir(d.afc, "/iTunesRestore"));
	IB_CHECK_OK(ib_afc_file_open(d.afc, path, IB_AFC_FOPEN_WRONLY, &h));
	IB_CHECK_OK(ib_afc_file_write(d.afc, h, data, n));
	IB_CHECK_OK(ib_afc_file_close(d.afc, h));
	IB_CHECK_OK(sim_afc_get(sim_services_afc(S), path, &dev, &dlen));
	IB_CHECK_EQ(dlen, n);
	IB_CHECK(memcmp(dev, data, n) == 0);
	free(dev);
	IB_CHECK_OK(ib_afc_get_file_info(d.afc, path, &info));
	IB_CHECK_OK(ib_plist_dict_get_uint(info, "st_size", &v));
	IB_CHECK_EQ(v, n);
	IB_CHECK_OK(ib_plist_dict_get_string(info, "st_ifmt", &s));
	IB_CHECK_STR(s, "S_IFREG");
	plist_free(info);
	IB_CHECK_OK(ib_afc_file_open(d.afc, path, IB_AFC_FOPEN_RDONLY, &h));
	IB_CHECK_OK(ib_afc_file_read(d.afc, h, back, n + 10, &got));
	IB_CHECK_EQ(got, n);
	IB_CHECK(memcmp(back, data, n) == 0);
	IB_CHECK_OK(ib_afc_file_close(d.afc, h));
	IB_CHECK_ERR(ib_afc_remove_path(d.afc, "/iTunesRestore"), IB_ERR_AFC);
	IB_CHECK_EQ(ib_afc_last_status(d.afc), IB_AFC_UNKNOWN_ERROR);
	IB_CHECK_OK(ib_afc_remove_path(d.afc, path));
	IB_CHECK_OK(ib_afc_remove_path(d.afc, "/iTunesRestore"));
	IB_CHECK_ERR(ib_afc_get_file_info(d.afc, path, &info), IB_ERR_NOT_FOUND);
	IB_CHECK_ERR(ib_afc_file_open(d.afc, "", IB_AFC_FOPEN_RDONLY, &h), IB_ERR_INVALID_ARG);
	/* An argument error does not break the client. */
	IB_CHECK_OK(ib_afc_make_dir(d.afc, "/ok"));
	dut_free(&d);
	sim_services_free(S);
	free(data);
	free(back);
}

/* A device that answers with the given reply packets, whatever is asked. */
static int
scripted(const struct ib_afc_reply *reps, const uint64_t *nums, size_t n,
    struct ib_afc **afcp, struct peer **pp)
{
	struct ib_conn *conn;
	struct ib_buf b;
	size_t i;
	int r = IB_OK;

	ib_buf_init(&b, 1 << 20);
	for (i = 0; i < n && r == IB_OK; i++)
		r = ib_afc_reply_encode(&b, nums[i], &reps[i]);
	if (r == IB_OK && (r = peer_script(ib_buf_ptr(&b), ib_buf_len(&b), &conn, pp)) == IB_OK)
		r = ib_afc_new(conn, afcp);
	ib_buf_free(&b);
	return r;
}

IB_TEST(afc_client_refuses_a_misbehaving_device)
{
	const struct ib_afc_reply open_ok = { .op = IB_AFC_OP_FILE_OPEN_RES, .value = 3 };
	const struct ib_afc_reply st7 = { .op = IB_AFC_OP_STATUS, .value = 7 };
	const struct ib_afc_reply st0 = { .op = IB_AFC_OP_STATUS, .value = 0 };
	const struct ib_afc_reply data = { .op = IB_AFC_OP_DATA, .data = (const uint8_t *)"xy",
		.len = 2 };
	struct ib_afc_reply reps[3];
	uint64_t nums[3] = { 1, 2, 3 }, h;
	struct ib_afc *afc;
	struct peer *p;
	unsigned tries;
	size_t got;
	uint8_t buf[1];

	/* A lock error other than 19 ends the loop at once (file closed). */
	reps[0] = open_ok; reps[1] = st7; reps[2] = st0;
	IB_CHECK_OK(scripted(reps, nums, 3, &afc, &p));
	IB_CHECK_ERR(ib_afc_sync_lock_ex(afc, 50, 1, NULL, NULL, &h, &tries), IB_ERR_AFC);
	IB_CHECK_EQ(tries, 1);
	IB_CHECK_EQ(ib_afc_last_status(afc), 0);
	ib_afc_free(afc);
	peer_join(p);
	/* A reply to the wrong packet number breaks the client for good. */
	nums[0] = 2;
	IB_CHECK_OK(scripted(reps, nums, 1, &afc, &p));
	IB_CHECK_ERR(ib_afc_file_open(afc, "/x", IB_AFC_FOPEN_RW, &h), IB_ERR_AFC_PROTOCOL);
	IB_CHECK_ERR(ib_afc_make_dir(afc, "/y"), IB_ERR_AFC_PROTOCOL);
	ib_afc_free(afc);
	peer_join(p);
	/* A success status where a handle was due; DATA to a lock. */
	nums[0] = 1;
	reps[0] = st0;
	IB_CHECK_OK(scripted(reps, nums, 1, &afc, &p));
	IB_CHECK_ERR(ib_afc_file_open(afc, "/x", IB_AFC_FOPEN_RW, &h), IB_ERR_AFC_PROTOCOL);
	ib_afc_free(afc);
	peer_join(p);
	reps[0] = data;
	IB_CHECK_OK(scripted(reps, nums, 1, &afc, &p));
	IB_CHECK_ERR(ib_afc_file_lock(afc, 3, IB_AFC_LOCK_EX), IB_ERR_AFC_PROTOCOL);
	ib_afc_free(afc);
	peer_join(p);
	/* More data than asked for. */
	IB_CHECK_OK(scripted(reps, nums, 1, &afc, &p));
	IB_CHECK_ERR(ib_afc_file_read(afc, 3, buf, 1, &got), IB_ERR_AFC_PROTOCOL);
	ib_afc_free(afc);
	peer_join(p);
	/* The device hangs up mid-conversation. */
	IB_CHECK_OK(scripted(reps, nums, 0, &afc, &p));
	IB_CHECK_ERR(ib_afc_file_close(afc, 3), IB_ERR_EOF);
	ib_afc_free(afc);
	peer_join(p);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
